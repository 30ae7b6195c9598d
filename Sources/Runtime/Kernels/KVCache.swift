import CSparrowKernels

/// Keys and values of past positions, per layer: [layers][capacity, kvHeads, headDimension], stored as
/// IEEE half floats like llama.cpp's default cache (half the memory and the bytes read per token).
///
/// Allocated once at its full capacity (the context length), so generation allocates nothing.
public final class KVCache: @unchecked Sendable {
    public let layerCount: Int
    public let capacity: Int
    public let kvHeadCount: Int
    public let headDimension: Int
    /// Positions filled so far (the next token's position).
    public var count = 0
    private let keys: UnsafeMutablePointer<UInt16>
    private let values: UnsafeMutablePointer<UInt16>
    /// Per-thread attention scratch (a score row, or the prompt kernel's blocks): [threads, scratchFloats].
    let scores: UnsafeMutablePointer<Float>
    let scoreThreads: Int
    let scratchFloats: Int

    public init(layerCount: Int, capacity: Int, kvHeadCount: Int, headDimension: Int, threadCount: Int) {
        self.layerCount = layerCount
        self.capacity = capacity
        self.kvHeadCount = kvHeadCount
        self.headDimension = headDimension
        let n = layerCount * capacity * kvHeadCount * headDimension
        keys = .allocate(capacity: n)
        values = .allocate(capacity: n)
        scoreThreads = max(1, threadCount)
        scratchFloats = (sp_attention_gqa_scratch_floats(Int64(headDimension), Int64(capacity)) + 15) / 16 * 16
        scores = .allocate(capacity: scoreThreads * scratchFloats)
        // Left uninitialised on purpose: pages are touched only as positions fill, so a 4096-token
        // cache costs resident memory only for the tokens actually used.
    }

    deinit {
        keys.deallocate()
        values.deallocate()
        scores.deallocate()
    }

    /// Bytes held for keys and values.
    public var byteCount: Int { 2 * layerCount * capacity * kvHeadCount * headDimension * 2 }

    var rowStride: Int { kvHeadCount * headDimension }

    @inline(__always)
    func key(layer: Int, position: Int) -> UnsafeMutablePointer<UInt16> {
        keys + (layer * capacity + position) * rowStride
    }

    @inline(__always)
    func value(layer: Int, position: Int) -> UnsafeMutablePointer<UInt16> {
        values + (layer * capacity + position) * rowStride
    }

    /// Stores `tokens` rows of keys and values ([tokens, kvHeads, headDimension] floats) at positions
    /// `firstPosition…` of `layer`, rounded to half precision.
    public func store(layer: Int, firstPosition: Int, tokens: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>) {
        precondition(firstPosition >= 0 && firstPosition + tokens <= capacity, "KV cache overflow")
        sp_f32_to_f16(k, key(layer: layer, position: firstPosition), Int64(tokens * rowStride))
        sp_f32_to_f16(v, value(layer: layer, position: firstPosition), Int64(tokens * rowStride))
    }

    /// Forgets every position from `position` on.
    public func truncate(to position: Int) {
        count = min(count, max(0, position))
    }
}

extension Kernels {
    /// Causal multi-head attention with grouped KV heads over the cache.
    ///
    /// query: [tokens, heads, D] at positions firstPosition…; keys/values of positions
    /// 0…firstPosition+tokens-1 must already be in `cache` for `layer`. Query head h reads KV head
    /// h / (heads / kvHeads). output: [tokens, heads, D] = softmax(q·Kᵀ·scale, causal) · V.
    /// With `window` > 0 a query at position p sees only positions p - window + 1 … p (sliding-window
    /// layers, as llama.cpp's standard SWA mask).
    public static func attention(
        query: UnsafePointer<Float>, cache: KVCache, layer: Int, firstPosition: Int, tokens: Int,
        heads: Int, scale: Float, window: Int = 0, output: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        let start = OpAccounting.now()
        let D = cache.headDimension, kvHeads = cache.kvHeadCount
        let items = tokens * heads
        precondition(context.threadCount <= cache.scoreThreads)
        let keys = cache.key(layer: layer, position: 0), values = cache.value(layer: layer, position: 0)
        if tokens == 1 {
            context.pool.run(AttentionJob(
                query: query, output: output, keys: keys, values: values, scores: cache.scores,
                scratchFloats: cache.scratchFloats, stride: cache.rowStride, D: D, heads: heads, group: heads / kvHeads,
                firstPosition: firstPosition, window: window, items: items, scale: scale))
        } else {
            let chunks = (tokens * (heads / kvHeads) + PromptAttentionJob.queriesPerItem - 1) / PromptAttentionJob.queriesPerItem
            context.pool.resetClaims()
            context.pool.run(PromptAttentionJob(
                pool: context.pool, query: query, output: output, keys: keys, values: values, scratch: cache.scores,
                scratchFloats: cache.scratchFloats, stride: cache.rowStride, D: D, heads: heads, group: heads / kvHeads,
                firstPosition: firstPosition, window: window, queries: tokens * (heads / kvHeads), chunks: chunks,
                items: chunks * kvHeads, scale: scale))
        }
        // Each query token reads the keys and values of its prefix (2 bytes a value) per query head;
        // heads of one group share cache lines, so count KV bytes once per KV head.
        var positions = tokens * firstPosition + tokens * (tokens + 1) / 2
        if window > 0 {
            positions = (firstPosition..<(firstPosition + tokens)).reduce(0) { $0 + min($1 + 1, window) }
        }
        context.accounting.record(
            .attention, since: start, bytes: positions * kvHeads * D * 4 + items * D * 8,
            macs: positions * heads * D * 2)
    }
}

/// Attention of one decoded token: its heads split evenly over the threads.
private struct AttentionJob: ParallelJob {
    let query: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let keys: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<UInt16>
    let scores: UnsafeMutablePointer<Float>
    let scratchFloats, stride, D, heads, group, firstPosition, window, items: Int
    let scale: Float

    static let entryPoint: sp_task_fn = { ctx, i, n in
        ctx!.assumingMemoryBound(to: AttentionJob.self).pointee.run(thread: Int(i), of: Int(n))
    }

    func run(thread: Int, of threads: Int) {
        let range = ThreadPool.partition(items, part: thread, of: threads, granularity: 1)
        let rowScores = scores + thread * scratchFloats
        for item in range {
            let t = item / heads, h = item % heads
            let kvh = h / group, position = firstPosition + t
            let lo = window > 0 ? max(0, position + 1 - window) : 0
            sp_attention_head_f16(
                query + (t * heads + h) * D, keys + lo * stride + kvh * D, stride, values + lo * stride + kvh * D, stride,
                Int64(position + 1 - lo), Int64(D), scale, rowScores, output + (t * heads + h) * D)
        }
    }
}

/// Attention of a prompt batch: items are (KV head, 16 consecutive queries of its group in token
/// order), claimed from a shared counter, last (longest causal prefix) first, so both threads finish
/// together although later tokens cost more.
private struct PromptAttentionJob: ParallelJob {
    static let queriesPerItem = 16
    let pool: ThreadPool
    let query: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let keys: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<UInt16>
    let scratch: UnsafeMutablePointer<Float>
    let scratchFloats, stride, D, heads, group, firstPosition, window, queries, chunks, items: Int
    let scale: Float

    static let entryPoint: sp_task_fn = { ctx, i, n in
        ctx!.assumingMemoryBound(to: PromptAttentionJob.self).pointee.run(thread: Int(i), of: Int(n))
    }

    func run(thread: Int, of threads: Int) {
        let threadScratch = scratch + thread * scratchFloats
        while true {
            let claimed = pool.claim(1)
            if claimed >= items { break }
            let item = items - 1 - claimed
            let kvHead = item % (items / chunks), chunk = item / (items / chunks)
            let first = chunk * Self.queriesPerItem
            sp_attention_gqa_f16(
                query, output, Int64(heads), Int64(group), Int64(kvHead), Int64(first),
                Int64(min(Self.queriesPerItem, queries - first)), Int64(firstPosition), Int64(window), keys, values, stride,
                Int64(D), scale, threadScratch)
        }
    }
}
