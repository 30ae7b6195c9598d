import SparrowRuntime

/// Where each intermediate tensor lives in one activation arena.
///
/// A tensor is live from the step that writes it (graph inputs: from the start) to the last step that
/// reads it (graph outputs and preserved tensors: to the end). Tensors are placed largest first at the
/// lowest offset that overlaps no already-placed tensor live at the same time — the greedy-by-size
/// strategy of TFLite's arena planner (matches tensorflow/lite/simple_memory_arena.cc in spirit).
/// A step's output never shares memory with its inputs, because both are live at that step.
/// A reshape's output is an alias of its input: one slot, with the union of both lifetimes.
struct TFLiteMemoryPlan {
    /// Float offset of every planned tensor (constants and unused tensors have none).
    let offsets: [Int: Int]
    /// Arena size in floats.
    let floatCount: Int

    /// Offsets are multiples of 16 floats (64 bytes), so every tensor starts on a cache line.
    static let alignment = 16

    init(steps: [TFLiteInterpreter.Step], shapes: [FeatureMapShape], inputs: [Int], kept: Set<Int>,
         isConstant: (Int) -> Bool, aliases: [Int: Int]) throws {
        func root(_ t: Int) -> Int {
            var t = t
            while let next = aliases[t] { t = next }
            return t
        }
        let end = steps.count
        var first: [Int: Int] = [:], last: [Int: Int] = [:]
        func touch(_ tensor: Int, at time: Int) {
            guard !isConstant(tensor) else { return }
            let r = root(tensor)
            first[r] = min(first[r] ?? time, time)
            last[r] = max(last[r] ?? time, time)
        }
        for t in inputs { touch(t, at: -1) }
        for (time, step) in steps.enumerated() {
            for t in step.inputs { touch(t, at: time) }
            touch(step.output, at: time)
        }
        for t in kept { touch(t, at: end) }

        struct Placed { let offset: Int, size: Int, first: Int, last: Int }
        var placed: [Placed] = []
        var rootOffsets: [Int: Int] = [:]
        var total = 0
        let order = first.keys.sorted { a, b in
            let (sa, sb) = (shapes[a].count, shapes[b].count)
            return sa != sb ? sa > sb : a < b
        }
        for tensor in order {
            let size = (shapes[tensor].count + Self.alignment - 1) / Self.alignment * Self.alignment
            let (lo, hi) = (first[tensor]!, last[tensor]!)
            let clashes = placed.filter { $0.first <= hi && lo <= $0.last }.sorted { $0.offset < $1.offset }
            var offset = 0
            for other in clashes {
                if offset + size <= other.offset { break }
                offset = max(offset, other.offset + other.size)
            }
            placed.append(Placed(offset: offset, size: size, first: lo, last: hi))
            rootOffsets[tensor] = offset
            total = max(total, offset + size)
        }
        var offsets: [Int: Int] = [:]
        for t in 0..<shapes.count where !isConstant(t) {
            if let offset = rootOffsets[root(t)] { offsets[t] = offset }
        }
        self.offsets = offsets
        floatCount = total
    }
}
