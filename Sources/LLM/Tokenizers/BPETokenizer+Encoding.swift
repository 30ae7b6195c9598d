/// Encoding: special-token partition, pre-tokenization and rank-ordered merging.
extension BPETokenizer {
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var output: [Int32] = []
        if addSpecial, addBOS, let bos = bosTokenID { output.append(bos) }
        let bytes = Array(text.utf8)
        output.reserveCapacity(bytes.count / 3 + 2)
        var session = MergeSession()
        bytes.withUnsafeBufferPointer { all in
            for fragment in partitionSpecialTokens(all, order: specialTokenOrder, kinds: kinds, table: table, parseSpecial: parseSpecial) {
                switch fragment {
                case .token(let id):
                    output.append(id)
                case .text(let range):
                    encodePiece(UnsafeBufferPointer(rebasing: all[range]), session: &session, into: &output)
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
        if word.count == 1 {
            emit(symbol: byteSymbols[Int(word[0])], bytes: word, into: &output)
            return
        }

        s.reset(count: word.count)
        for (i, b) in word.enumerated() { s.ids[i] = byteSymbols[Int(b)] }
        s.applyMerges(merges)

        var i = 0
        while i >= 0 {
            let symbolBytes = UnsafeBufferPointer(rebasing: word[i..<Int(s.ends[i])])
            emit(symbol: s.ids[i], bytes: symbolBytes, into: &output)
            i = Int(s.next[i])
        }
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
struct Bigram {
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
/// a doubly linked list over byte positions, and the queue of candidate merges.
struct MergeSession {
    var ids: [Int32] = []
    var ends: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var alive: [Bool] = []
    var heap = BigramHeap()
    var encoded: [UInt8] = []

    mutating func reset(count: Int) {
        ids.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        alive.removeAll(keepingCapacity: true)
        for i in 0..<count {
            ids.append(-1)
            ends.append(Int32(i + 1))
            prev.append(Int32(i - 1))
            next.append(i + 1 < count ? Int32(i + 1) : -1)
            alive.append(true)
        }
        heap.removeAll()
    }

    /// Merges the symbols in `ids` (set after `reset`): repeatedly the adjacent pair of lowest rank,
    /// leftmost on ties, until no pair has a merge. Symbol ids < 0 never merge.
    mutating func applyMerges(_ merges: MergeTable) {
        guard ids.count > 1 else { return }
        for i in 1..<ids.count { addPair(i - 1, i, merges) }
        while let pair = heap.pop() {
            let left = Int(pair.left), right = Int(pair.right)
            // Skip pairs made stale by an earlier merge of either side.
            guard alive[left], alive[right], ids[left] == pair.leftID, ids[right] == pair.rightID else { continue }
            ids[left] = pair.result
            ends[left] = ends[right]
            alive[right] = false
            let after = next[right]
            next[left] = after
            if after >= 0 { prev[Int(after)] = Int32(left) }
            if prev[left] >= 0 { addPair(Int(prev[left]), left, merges) }
            if after >= 0 { addPair(left, Int(after), merges) }
        }
    }

    @inline(__always)
    private mutating func addPair(_ left: Int, _ right: Int, _ merges: MergeTable) {
        let a = ids[left], b = ids[right]
        guard a >= 0, b >= 0, let merge = merges.lookup(a, b) else { return }
        heap.push(Bigram(rank: merge.rank, left: Int32(left), right: Int32(right), leftID: a, rightID: b, result: merge.result))
    }
}

/// A binary min-heap of merge candidates ordered by `Bigram.precedes`.
struct BigramHeap {
    private var items: [Bigram] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ item: Bigram) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].precedes(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Bigram? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count, items[l].precedes(items[best]) { best = l }
                if r < items.count, items[r].precedes(items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
