/// One token still in the running, with its (possibly processed) logit.
public struct TokenCandidate: Sendable, Equatable {
    public var id: Int32
    public var logit: Float

    public init(id: Int32, logit: Float) {
        self.id = id
        self.logit = logit
    }
}

/// The tokens still in the running while a sampler narrows the choice; the first `count` entries are
/// live. Storage is sized once for the vocabulary and reused for every token, so sampling allocates
/// nothing after the first call.
public struct TokenCandidates {
    private var storage: [TokenCandidate] = []
    /// How many candidates are live.
    public internal(set) var count = 0
    /// Whether the live candidates are in descending logit order.
    public internal(set) var isSortedDescending = false

    public init() {}

    /// The live candidate at `index` (< count).
    public subscript(index: Int) -> TokenCandidate {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// Ids of the live candidates, in their current order.
    public var ids: [Int32] { storage[0..<count].map(\.id) }

    /// Makes every token of `logits` a candidate (id = index), unsorted.
    public mutating func load(_ logits: UnsafeBufferPointer<Float>) {
        if storage.count < logits.count {
            storage = Array(repeating: TokenCandidate(id: 0, logit: 0), count: logits.count)
        }
        storage.withUnsafeMutableBufferPointer { entries in
            for index in 0..<logits.count {
                entries[index] = TokenCandidate(id: Int32(truncatingIfNeeded: index), logit: logits[index])
            }
        }
        count = logits.count
        isSortedDescending = false
    }

    /// Calls `body` with the live candidates.
    mutating func withLive<R>(_ body: (UnsafeMutableBufferPointer<TokenCandidate>) throws -> R) rethrows -> R {
        let live = count
        return try storage.withUnsafeMutableBufferPointer { try body(UnsafeMutableBufferPointer(rebasing: $0[0..<live])) }
    }

    /// The largest live logit (-infinity when empty).
    public var maxLogit: Float {
        if isSortedDescending, count > 0 { return storage[0].logit }
        var best = -Float.infinity
        for index in 0..<count where storage[index].logit > best { best = storage[index].logit }
        return best
    }

    /// Keeps only the first `newCount` live candidates.
    mutating func truncate(to newCount: Int) {
        count = min(count, max(0, newCount))
    }

    /// Moves the `m` highest-logit candidates to the front in descending order (the rest stay live,
    /// behind them, unordered). A bounded min-heap makes this O(count · log m) instead of a full sort.
    mutating func sortPrefix(_ m: Int) {
        let m = min(m, count)
        guard m > 0 else { return }
        withLive { Self.selectTop(m, in: $0) }
        if m == count { isSortedDescending = true }
    }

    private static func selectTop(_ m: Int, in entries: UnsafeMutableBufferPointer<TokenCandidate>) {
        guard let base = entries.baseAddress else { return }
        let n = entries.count
        // Min-heap on base[0..<size]: parent i, children 2i+1 and 2i+2.
        @inline(__always) func siftDown(_ start: Int, _ size: Int) {
            var parent = start
            let moving = base[parent]
            while true {
                let left = 2 * parent + 1
                if left >= size { break }
                var child = left
                if left + 1 < size, base[left + 1].logit < base[left].logit { child = left + 1 }
                if base[child].logit >= moving.logit { break }
                base[parent] = base[child]
                parent = child
            }
            base[parent] = moving
        }
        var index = m / 2 - 1
        while index >= 0 {
            siftDown(index, m)
            index -= 1
        }
        var minimum = base[0].logit
        for index in m..<n where base[index].logit > minimum {
            let entry = base[index]
            base[index] = base[0]
            base[0] = entry
            siftDown(0, m)
            minimum = base[0].logit
        }
        // Heap sort: move the minimum to the end each time, leaving base[0..<m] descending.
        var end = m - 1
        while end > 0 {
            let smallest = base[0]
            base[0] = base[end]
            base[end] = smallest
            siftDown(0, end)
            end -= 1
        }
    }
}
