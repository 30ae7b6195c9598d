/// Encoding: special-token partition, space escaping and score-ordered symbol merging.
extension SPMTokenizer {
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var output: [Int32] = []
        if addSpecial, addBOS, let bos = bosTokenID { output.append(bos) }
        let bytes = Array(text.utf8)
        output.reserveCapacity(bytes.count / 3 + 2)
        var session = SymbolSession()
        bytes.withUnsafeBufferPointer { all in
            // The first piece of text, and any piece after a special token, gets the space prefix.
            var previousWasSpecial = true
            for fragment in specialTokens.fragments(all, parseSpecial: parseSpecial) {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    previousWasSpecial = true
                case .text(let range):
                    session.escape(UnsafeBufferPointer(rebasing: all[range]), prefixSpace: addSpacePrefix && previousWasSpecial)
                    mergeSymbols(session: &session, into: &output)
                    previousWasSpecial = false
                }
            }
        }
        if addSpecial, addEOS, let eos = eosTokenID { output.append(eos) }
        return output
    }

    /// Segments `session.text` (matches llama.cpp `llm_tokenizer_spm_session::tokenize`): one symbol per
    /// UTF-8 character, then repeatedly merge the adjacent pair whose concatenation is the token of
    /// highest score (leftmost on ties), and emit each final symbol's token or its bytes' tokens.
    ///
    /// llama.cpp keeps a map from merged text back to its two parts to re-split symbols that are not
    /// tokens; a merge only happens when the merged text is a token, so only unmerged characters can
    /// miss the vocabulary, and those go to byte fallback directly.
    private func mergeSymbols(session s: inout SymbolSession, into output: inout [Int32]) {
        let escaped = s.text  // shares storage: `s.text` is not written while merging
        guard !escaped.isEmpty else { return }
        escaped.withUnsafeBufferPointer { text in
            s.resetSymbols(utf8: text)
            for i in 1..<s.start.count { addBigram(left: i - 1, right: i, text: text, session: &s) }

            while let bigram = s.heap.pop() {
                let left = Int(bigram.left), right = Int(bigram.right)
                // Skip pairs made stale by an earlier merge of either side.
                guard s.length[left] > 0, s.length[right] > 0, s.length[left] + s.length[right] == bigram.size else { continue }
                s.length[left] += s.length[right]
                s.length[right] = 0
                let after = s.next[right]
                s.next[left] = after
                if after >= 0 { s.prev[Int(after)] = Int32(left) }
                if s.prev[left] >= 0 { addBigram(left: Int(s.prev[left]), right: left, text: text, session: &s) }
                if after >= 0 { addBigram(left: left, right: Int(after), text: text, session: &s) }
            }

            var i = 0
            while i >= 0 {
                let start = Int(s.start[i])
                let symbol = UnsafeBufferPointer(rebasing: text[start..<start + Int(s.length[i])])
                if let id = table.find(symbol), Int(id) < vocabularySize {
                    output.append(id)
                } else {
                    for b in symbol { appendByteToken(b, to: &output) }
                }
                i = Int(s.next[i])
            }
        }
    }

    /// Queues the merge of two adjacent symbols if their concatenation is a token.
    @inline(__always)
    private func addBigram(left: Int, right: Int, text: UnsafeBufferPointer<UInt8>, session s: inout SymbolSession) {
        let start = Int(s.start[left])
        let size = s.length[left] + s.length[right]
        guard let id = table.find(UnsafeBufferPointer(rebasing: text[start..<start + Int(size)])), Int(id) < vocabularySize else { return }
        s.heap.push(SPMBigram(score: scores[Int(id)], left: Int32(left), right: Int32(right), size: size))
    }

    /// Byte fallback (matches llama.cpp `byte_to_token`). llama.cpp throws when a vocabulary has no
    /// token for a byte; here the unknown token stands in, or nothing if there is none.
    @inline(__always)
    private func appendByteToken(_ byte: UInt8, to output: inout [Int32]) {
        let id = byteTokens[Int(byte)]
        if id >= 0 {
            output.append(id)
        } else if let unknown = unknownTokenID {
            output.append(unknown)
        }
    }
}

/// A candidate merge of the symbols at `left` and `right`, valid while their lengths still add up to
/// `size` (matches llama.cpp `llm_bigram_spm`).
struct SPMBigram: HeapOrdered {
    var score: Float
    var left: Int32
    var right: Int32
    var size: Int32

    /// Higher score first, then the leftmost pair (llama.cpp's `llm_bigram_spm::comparator`).
    @inline(__always)
    func precedes(_ other: SPMBigram) -> Bool {
        score != other.score ? score > other.score : left < other.left
    }
}

/// Scratch buffers reused across the text pieces of one `encode` call: the escaped text and its
/// symbols as a doubly linked list (a merged-away symbol has length 0).
struct SymbolSession {
    var text: [UInt8] = []
    var start: [Int32] = []
    var length: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap = BigramHeap<SPMBigram>()

    /// Sets `text` to `piece` with an optional leading space and every space escaped as "▁"
    /// (matches llama.cpp `llama_escape_whitespace`).
    mutating func escape(_ piece: UnsafeBufferPointer<UInt8>, prefixSpace: Bool) {
        text.removeAll(keepingCapacity: true)
        text.reserveCapacity(piece.count + 3)
        if prefixSpace { text.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for b in piece {
            if b == 0x20 {
                text.append(contentsOf: [0xE2, 0x96, 0x81])
            } else {
                text.append(b)
            }
        }
    }

    /// One symbol per UTF-8 character of `utf8` (the length from the lead byte as llama.cpp's
    /// `unicode_len_utf8`, cut at the end of the text).
    mutating func resetSymbols(utf8: UnsafeBufferPointer<UInt8>) {
        start.removeAll(keepingCapacity: true)
        length.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll()
        var offset = 0
        var index: Int32 = 0
        while offset < utf8.count {
            let n = min(Self.sequenceLength(utf8[offset]), utf8.count - offset)
            start.append(Int32(offset))
            length.append(Int32(n))
            prev.append(index - 1)
            offset += n
            next.append(offset == utf8.count ? -1 : index + 1)
            index += 1
        }
    }

    /// The UTF-8 sequence length a byte announces (1 for ASCII and stray continuation bytes).
    @inline(__always)
    static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}
