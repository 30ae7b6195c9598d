/// Encoding: special-token partition, pre-tokenization and rank-ordered merging.
extension BPETokenizer {
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var output: [Int32] = []
        if addSpecial, addBOS, let bos = bosTokenID { output.append(bos) }
        let bytes = Array(text.utf8)
        output.reserveCapacity(bytes.count / 3 + 2)
        var session = MergeSession()
        bytes.withUnsafeBufferPointer { all in
            for fragment in specialTokens.fragments(all, parseSpecial: parseSpecial) {
                switch fragment {
                case .token(let id):
                    output.append(id)
                case .text(let range):
                    if escapesSpaces {
                        // Gemma 4: spaces become "▁" before splitting (llama.cpp `llama_escape_whitespace`).
                        session.escaped.removeAll(keepingCapacity: true)
                        for b in all[range] {
                            if b == 0x20 { session.escaped.append(contentsOf: [0xE2, 0x96, 0x81]) } else { session.escaped.append(b) }
                        }
                        let escaped = session.escaped
                        escaped.withUnsafeBufferPointer { encodePiece($0, session: &session, into: &output) }
                    } else {
                        encodePiece(UnsafeBufferPointer(rebasing: all[range]), session: &session, into: &output)
                    }
                }
            }
        }
        if addSpecial, addEOS, let eos = eosTokenID { output.append(eos) }
        return output
    }

    /// Pre-tokenizes one piece of text (no special tokens inside) and merges each word.
    private func encodePiece(_ bytes: UnsafeBufferPointer<UInt8>, session: inout MergeSession, into output: inout [Int32]) {
        // UTF-8 -> scalars, remembering where each scalar starts. The bytes come from a Swift String
        // cut at whole-token boundaries, so they are valid UTF-8.
        var scalars: [UInt32] = []
        var starts: [Int] = []
        scalars.reserveCapacity(bytes.count)
        starts.reserveCapacity(bytes.count + 1)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let length = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
            guard i + length <= bytes.count else {
                scalars.append(0xFFFD)
                starts.append(i)
                i += 1
                continue
            }
            var value = b0
            if length > 1 {
                value = b0 & (0x7F >> UInt32(length))
                for k in 1..<length { value = value << 6 | UInt32(bytes[i + k] & 0x3F) }
            }
            scalars.append(value)
            starts.append(i)
            i += length
        }
        starts.append(bytes.count)
        let classes = scalars.map(CodepointClass.of)

        for word in preTokenizer.split(scalars: scalars, classes: classes) {
            let wordBytes = UnsafeBufferPointer(rebasing: bytes[starts[word.lowerBound]..<starts[word.upperBound]])
            mergeWord(wordBytes, session: &session, into: &output)
        }
    }

    /// Byte-level BPE on one word (matches llama.cpp `llm_tokenizer_bpe_session::tokenize`): start
    /// with one symbol per byte, repeatedly merge the adjacent pair of lowest rank (leftmost on ties),
    /// then emit each symbol's token, or its bytes' tokens if the symbol is not in the vocabulary.
    private func mergeWord(_ word: UnsafeBufferPointer<UInt8>, session s: inout MergeSession, into output: inout [Int32]) {
        if ignoresMerges {
            s.encoded.removeAll(keepingCapacity: true)
            ByteLevel.encode(word, into: &s.encoded)
            if let id = s.encoded.withUnsafeBufferPointer({ table.find($0) }), Int(id) < vocabularySize {
                output.append(id)
                return
            }
        }
        if escapesSpaces {
            // Gemma 4 (llama.cpp PR 21343): a run of newlines that is a token is emitted whole.
            if word.allSatisfy({ $0 == 0x0A }), let id = table.find(word), Int(id) < vocabularySize {
                output.append(id)
                return
            }
            // Raw UTF-8: one symbol per character, named by its text.
            s.resetCharacters(of: word)
            for i in s.ids.indices {
                s.ids[i] = table.find(UnsafeBufferPointer(rebasing: word[Int(s.starts[i])..<Int(s.ends[i])])) ?? -1
            }
        } else {
            if word.count == 1 {
                emit(symbol: byteSymbols[Int(word[0])], bytes: word, into: &output)
                return
            }
            // Byte-level: one symbol per byte, named by the byte's stand-in character.
            s.reset(count: word.count)
            for (i, b) in word.enumerated() { s.ids[i] = byteSymbols[Int(b)] }
        }
        for i in s.ids.indices.dropFirst() { addPair(i - 1, i, session: &s) }

        while let pair = s.heap.pop() {
            let left = Int(pair.left), right = Int(pair.right)
            // Skip pairs made stale by an earlier merge of either side.
            guard s.alive[left], s.alive[right], s.ids[left] == pair.leftID, s.ids[right] == pair.rightID else { continue }
            s.ids[left] = pair.result
            s.ends[left] = s.ends[right]
            s.alive[right] = false
            let after = s.next[right]
            s.next[left] = after
            if after >= 0 { s.prev[Int(after)] = Int32(left) }
            if s.prev[left] >= 0 { addPair(Int(s.prev[left]), left, session: &s) }
            if after >= 0 { addPair(left, Int(after), session: &s) }
        }

        var i = 0
        while i >= 0 {
            let symbolBytes = UnsafeBufferPointer(rebasing: word[Int(s.starts[i])..<Int(s.ends[i])])
            emit(symbol: s.ids[i], bytes: symbolBytes, into: &output)
            i = Int(s.next[i])
        }
    }

    @inline(__always)
    private func addPair(_ left: Int, _ right: Int, session s: inout MergeSession) {
        let a = s.ids[left], b = s.ids[right]
        guard a >= 0, b >= 0, let merge = merges.lookup(a, b) else { return }
        s.heap.push(Bigram(rank: merge.rank, left: Int32(left), right: Int32(right), leftID: a, rightID: b, result: merge.result))
    }

    @inline(__always)
    private func emit(symbol id: Int32, bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        if id >= 0, Int(id) < vocabularySize {
            output.append(id)
            return
        }
        for b in bytes where byteFallback[Int(b)] >= 0 { output.append(byteFallback[Int(b)]) }
    }
}

/// A candidate merge of the symbols at `left` and `right`, valid while they still hold `leftID` and
/// `rightID`.
struct Bigram: HeapOrdered {
    var rank: Int32
    var left: Int32
    var right: Int32
    var leftID: Int32
    var rightID: Int32
    var result: Int32

    /// Lower rank first, then the leftmost pair (llama.cpp's `llm_bigram_bpe::comparator`).
    @inline(__always)
    func precedes(_ other: Bigram) -> Bool {
        rank != other.rank ? rank < other.rank : left < other.left
    }
}

/// Scratch buffers reused across the words of one `encode` call: the symbols of the current word as
/// a doubly linked list (each covering bytes `starts[i]..<ends[i]` of the word), and the queue of
/// candidate merges.
struct MergeSession {
    var ids: [Int32] = []
    var starts: [Int32] = []
    var ends: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var alive: [Bool] = []
    var heap = BigramHeap<Bigram>()
    var encoded: [UInt8] = []
    var escaped: [UInt8] = []

    /// One symbol per byte.
    mutating func reset(count: Int) {
        clear()
        for i in 0..<count {
            ids.append(-1)
            starts.append(Int32(i))
            ends.append(Int32(i + 1))
            prev.append(Int32(i - 1))
            next.append(i + 1 < count ? Int32(i + 1) : -1)
            alive.append(true)
        }
    }

    /// One symbol per UTF-8 character (the length from the lead byte, cut at the end of the word).
    mutating func resetCharacters(of word: UnsafeBufferPointer<UInt8>) {
        clear()
        var offset = 0
        var index: Int32 = 0
        while offset < word.count {
            let n = min(SymbolSession.sequenceLength(word[offset]), word.count - offset)
            ids.append(-1)
            starts.append(Int32(offset))
            ends.append(Int32(offset + n))
            prev.append(index - 1)
            offset += n
            next.append(offset < word.count ? index + 1 : -1)
            alive.append(true)
            index += 1
        }
    }

    private mutating func clear() {
        ids.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        alive.removeAll(keepingCapacity: true)
        heap.removeAll()
    }
}
