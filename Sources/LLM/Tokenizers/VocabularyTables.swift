/// Text -> id for a vocabulary, keyed by raw UTF-8 bytes.
///
/// Swift `String` equality and hashing follow canonical equivalence, so two distinct token texts could
/// compare equal; tokenizers need byte equality (as llama.cpp's `std::string` keys give). All texts sit
/// in one byte buffer, and an open-addressing table of (hash, id, start, length) slots finds them with
/// one slot read and one byte comparison per hit. A key may be given as two pieces (`a` then `b`) so a
/// merge result can be found without building it; `Hash` lets callers reuse the hash of a prefix.
struct ByteStringTable: Sendable {
    private struct Slot {
        var id: Int32 = -1  // -1: empty
        var hash: UInt32 = 0
        var start: Int32 = 0
        var length: Int32 = 0
    }

    private var storage: [UInt8] = []
    private var slots: [Slot]
    private var mask: Int
    private var ranges: [Range<Int32>] = []

    /// The number of entries; ids are 0..<count in insertion order.
    var count: Int { ranges.count }

    init(expectedCount: Int, averageLength: Int = 8) {
        var capacity = 16
        while capacity < expectedCount * 2 { capacity <<= 1 }
        slots = [Slot](repeating: Slot(), count: capacity)
        mask = capacity - 1
        storage.reserveCapacity(expectedCount * averageLength)
        ranges.reserveCapacity(expectedCount)
    }

    /// The bytes of entry `id`.
    @inline(__always)
    func bytes(of id: Int) -> ArraySlice<UInt8> {
        let r = ranges[id]
        return storage[Int(r.lowerBound)..<Int(r.upperBound)]
    }

    /// The id of the entry equal to `a` followed by `b`, or nil.
    func find(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8> = .init(start: nil, count: 0)) -> Int32? {
        find(a, b, hash: Hash().adding(a).adding(b))
    }

    /// As `find(_:_:)`, with the hash of `a` + `b` already computed.
    func find(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, hash: Hash) -> Int32? {
        let h = hash.value
        let slot = probe(a, b, hash: h)
        return slots[slot].id < 0 ? nil : slots[slot].id
    }

    /// Finds `a` + `b` (with its hash), adding it as a new entry when absent; returns its id and
    /// whether it was added.
    mutating func findOrAppend(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8> = .init(start: nil, count: 0),
                               hash: Hash? = nil) -> (id: Int32, added: Bool) {
        if (count + 1) * 2 > slots.count { grow() }
        let h = (hash ?? Hash().adding(a).adding(b)).value
        let slot = probe(a, b, hash: h)
        if slots[slot].id >= 0 { return (slots[slot].id, false) }
        let id = Int32(count)
        let start = Int32(storage.count)
        storage.append(contentsOf: a)
        storage.append(contentsOf: b)
        let end = Int32(storage.count)
        ranges.append(start..<end)
        slots[slot] = Slot(id: id, hash: h, start: start, length: end - start)
        return (id, true)
    }

    /// The slot holding `a` + `b`, or the empty slot where it would go.
    @inline(__always)
    private func probe(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, hash h: UInt32) -> Int {
        let length = a.count + b.count
        return slots.withUnsafeBufferPointer { slots in
            storage.withUnsafeBufferPointer { storage in
                var i = Int(h) & mask
                while true {
                    let slot = slots[i]
                    if slot.id < 0 { return i }
                    if slot.hash == h, Int(slot.length) == length {
                        let base = Int(slot.start)
                        var same = true
                        for k in 0..<a.count where storage[base + k] != a[k] { same = false; break }
                        if same { for k in 0..<b.count where storage[base + a.count + k] != b[k] { same = false; break } }
                        if same { return i }
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot.id >= 0 {
            var i = Int(slot.hash) & mask
            while slots[i].id >= 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }

    /// FNV-1a over the bytes, with a final mix so the low bits index well. Adding `a` then `b` gives
    /// the hash of their concatenation.
    struct Hash {
        private var state: UInt64 = 0xcbf2_9ce4_8422_2325

        @inline(__always)
        func adding(_ bytes: UnsafeBufferPointer<UInt8>) -> Hash {
            var h = self
            for x in bytes { h.state = (h.state ^ UInt64(x)) &* 0x0000_0100_0000_01b3 }
            return h
        }

        var value: UInt32 {
            var h = state ^ (state >> 32)
            h = h &* 0xbf58_476d_1ce4_e5b9
            return UInt32(truncatingIfNeeded: h ^ (h >> 29))
        }
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
