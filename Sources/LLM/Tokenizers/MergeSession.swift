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
/// a doubly linked list (each covering bytes `starts[i]..<ends[i]` of the word, `ids[i]` naming it),
/// and the queue of candidate merges.
///
/// Every tokenizer here that merges pairs starts from `reset(count:)` (one symbol per byte, or per
/// id the caller sets) or `resetCharacters(of:)` (one symbol per UTF-8 character) and joins symbols
/// with `join`: BPE by merge rank through `applyMerges` (GGUF byte-level and Gemma 4, `tokenizer.json`),
/// SPM by token score in `SPMTokenizer`.
struct MergeSession {
    var ids: [Int32] = []
    var starts: [Int32] = []
    var ends: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var alive: [Bool] = []
    var heap = BigramHeap<Bigram>()
    /// Byte-level text of a word (`ignoresMerges`), and "▁"-escaped text (Gemma 4, SPM).
    var encoded: [UInt8] = []
    var escaped: [UInt8] = []

    /// One symbol per byte (or per initial id), ids unset (-1).
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

    /// One symbol per UTF-8 character (the length from the lead byte as llama.cpp's
    /// `unicode_len_utf8`, cut at the end of the word), ids unset (-1).
    mutating func resetCharacters(of word: UnsafeBufferPointer<UInt8>) {
        clear()
        var offset = 0
        var index: Int32 = 0
        while offset < word.count {
            let n = min(Self.sequenceLength(word[offset]), word.count - offset)
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

    /// Joins the adjacent symbols `left` and `right` into `left`, unlinking `right`.
    @inline(__always)
    mutating func join(_ left: Int, _ right: Int) {
        ends[left] = ends[right]
        alive[right] = false
        let after = next[right]
        next[left] = after
        if after >= 0 { prev[Int(after)] = Int32(left) }
    }

    /// Merges the symbols in `ids` (set after a reset): repeatedly the adjacent pair of lowest rank,
    /// leftmost on ties, until no pair has a merge (matches llama.cpp `llm_tokenizer_bpe_session` and
    /// tokenizers' `BPE::merge_word`). Symbol ids < 0 never merge.
    mutating func applyMerges(_ merges: MergeTable) {
        guard ids.count > 1 else { return }
        for i in 1..<ids.count { addPair(i - 1, i, merges) }
        while let pair = heap.pop() {
            let left = Int(pair.left), right = Int(pair.right)
            // Skip pairs made stale by an earlier merge of either side.
            guard alive[left], alive[right], ids[left] == pair.leftID, ids[right] == pair.rightID else { continue }
            ids[left] = pair.result
            join(left, right)
            if prev[left] >= 0 { addPair(Int(prev[left]), left, merges) }
            if next[left] >= 0 { addPair(left, Int(next[left]), merges) }
        }
    }

    @inline(__always)
    private mutating func addPair(_ left: Int, _ right: Int, _ merges: MergeTable) {
        let a = ids[left], b = ids[right]
        guard a >= 0, b >= 0, let merge = merges.lookup(a, b) else { return }
        heap.push(Bigram(rank: merge.rank, left: Int32(left), right: Int32(right), leftID: a, rightID: b, result: merge.result))
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
