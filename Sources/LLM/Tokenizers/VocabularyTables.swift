/// Text -> id for a vocabulary, keyed by raw UTF-8 bytes.
///
/// Swift `String` equality and hashing follow canonical equivalence, so two distinct token texts could
/// compare equal; tokenizers need byte equality (as llama.cpp's `std::string` keys give). All texts sit
/// in one byte buffer, and an open-addressing table maps a byte-string hash to the id. Lookups accept a
/// key given as two pieces (`a` followed by `b`) so a merge result can be found without building it.
struct ByteStringTable: Sendable {
    private var storage: [UInt8] = []
    private var offsets: [Int] = [0]
    private var slots: [Int32]  // id, or -1 for an empty slot
    private var mask: Int

    /// The number of entries; ids are 0..<count in insertion order.
    var count: Int { offsets.count - 1 }

    init(expectedCount: Int, averageLength: Int = 8) {
        var capacity = 16
        while capacity < expectedCount * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        storage.reserveCapacity(expectedCount * averageLength)
        offsets.reserveCapacity(expectedCount + 1)
    }

    /// The bytes of entry `id`.
    @inline(__always)
    func bytes(of id: Int) -> ArraySlice<UInt8> {
        storage[offsets[id]..<offsets[id + 1]]
    }

    /// The id of the entry equal to `a` followed by `b`, or nil.
    func find(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8> = .init(start: nil, count: 0)) -> Int32? {
        var slot = Int(truncatingIfNeeded: Self.hash(a, b)) & mask
        while true {
            let id = slots[slot]
            if id < 0 { return nil }
            if equals(Int(id), a, b) { return id }
            slot = (slot + 1) & mask
        }
    }

    /// Finds `a` + `b`, adding it as a new entry when absent; returns its id.
    mutating func findOrAppend(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8> = .init(start: nil, count: 0)) -> Int32 {
        if let id = find(a, b) { return id }
        return append(a, b)
    }

    /// Adds `a` + `b` as a new entry without checking for an existing one; returns its id.
    @discardableResult
    mutating func append(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8> = .init(start: nil, count: 0)) -> Int32 {
        if (count + 1) * 2 > slots.count { grow() }
        let id = Int32(count)
        storage.append(contentsOf: a)
        storage.append(contentsOf: b)
        offsets.append(storage.count)
        insertSlot(id: id, hash: Self.hash(a, b))
        return id
    }

    private mutating func insertSlot(id: Int32, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = id
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        for id in 0..<count {
            let h = storage.withUnsafeBufferPointer { s in
                Self.hash(UnsafeBufferPointer(rebasing: s[offsets[id]..<offsets[id + 1]]), empty)
            }
            insertSlot(id: Int32(id), hash: h)
        }
    }

    private func equals(_ id: Int, _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = offsets[id]
        guard offsets[id + 1] - start == a.count + b.count else { return false }
        for i in 0..<a.count where storage[start + i] != a[i] { return false }
        let mid = start + a.count
        for i in 0..<b.count where storage[mid + i] != b[i] { return false }
        return true
    }

    /// FNV-1a over the bytes of `a` then `b`, with a final mix so the low bits index well.
    @inline(__always)
    static func hash(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in a { h = (h ^ UInt64(x)) &* 0x0000_0100_0000_01b3 }
        for x in b { h = (h ^ UInt64(x)) &* 0x0000_0100_0000_01b3 }
        h ^= h >> 32
        h = h &* 0xbf58_476d_1ce4_e5b9
        return h ^ (h >> 29)
    }
}

/// (left id, right id) -> (merge rank, merged id) for BPE merges, in an open-addressing table.
struct MergeTable: Sendable {
    private var keys: [UInt64]  // left << 32 | right; `empty` for a free slot
    private var ranks: [Int32]
    private var results: [Int32]
    private var mask: Int
    private static let empty = UInt64.max

    init(expectedCount: Int) {
        var capacity = 16
        while capacity < expectedCount * 2 { capacity <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: capacity)
        ranks = [Int32](repeating: 0, count: capacity)
        results = [Int32](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int {
        let h = key &* 0x9e37_79b9_7f4a_7c15
        return Int(truncatingIfNeeded: h >> 32) & mask
    }

    /// Records a merge unless the pair already has one (the first, lowest-ranked, entry wins).
    /// Callers size the table for every merge, so it never fills.
    mutating func insert(left: Int32, right: Int32, rank: Int32, result: Int32) {
        let k = Self.key(left, right)
        var s = slot(for: k)
        while keys[s] != Self.empty {
            if keys[s] == k { return }
            s = (s + 1) & mask
        }
        keys[s] = k
        ranks[s] = rank
        results[s] = result
    }

    /// The rank and merged id of the pair, or nil when the pair never merges.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, result: Int32)? {
        let k = Self.key(left, right)
        var s = slot(for: k)
        while true {
            let stored = keys[s]
            if stored == k { return (ranks[s], results[s]) }
            if stored == Self.empty { return nil }
            s = (s + 1) & mask
        }
    }
}
