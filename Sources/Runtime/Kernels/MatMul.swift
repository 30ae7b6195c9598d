import COpenBLAS
import CSparrowKernels

/// One output of a (possibly fused) matrix product: `output[t * weight.rows + r] = dot(W[r], x[t])`.
public struct MatmulTarget {
    public let weight: WeightMatrix
    public let output: UnsafeMutablePointer<Float>

    public init(_ weight: WeightMatrix, _ output: UnsafeMutablePointer<Float>) {
        self.weight = weight
        self.output = output
    }
}

/// Namespace of the runtime's ops. Models call these; the ISA-specific work happens in CSparrowKernels.
public enum Kernels {}

extension Kernels {
    /// Rows handed to a thread at a time (a multiple of every kernel's row tile).
    public static let rowGranularity = 16

    /// Y = X · Wᵀ for up to three weights that share the input X ([tokens, K]), in one thread-pool
    /// dispatch. Activations are converted once to the weights' activation format (Q8_0 / Q8_1 / F32).
    public static func matmul(
        input: UnsafePointer<Float>, tokens: Int, context: ExecutionContext, op: OpClass,
        _ a: MatmulTarget, _ b: MatmulTarget? = nil, _ c: MatmulTarget? = nil
    ) {
        let K = a.weight.columns
        let act = a.weight.activationType
        // Fuse only what shares the activation format; anything else runs on its own.
        if let b, b.weight.activationType != act || b.weight.columns != K {
            matmul(input: input, tokens: tokens, context: context, op: op, a, nil, c)
            matmul(input: input, tokens: tokens, context: context, op: op, b)
            return
        }
        if let c, c.weight.activationType != act || c.weight.columns != K {
            matmul(input: input, tokens: tokens, context: context, op: op, a, b)
            matmul(input: input, tokens: tokens, context: context, op: op, c)
            return
        }
        let start = OpAccounting.now()
        let rowsA = a.weight.rows, rowsB = b?.weight.rows ?? 0, rowsC = c?.weight.rows ?? 0
        let totalRows = rowsA + rowsB + rowsC
        let weightBytes = a.weight.byteCount + (b?.weight.byteCount ?? 0) + (c?.weight.byteCount ?? 0)
        defer {
            context.accounting.record(
                op, since: start, bytes: weightBytes + tokens * (K + totalRows) * 4, macs: tokens * totalRows * K)
        }
        if tokens >= blasMinimumTokens && usesBLAS(a.weight.type) && usesBLAS(b?.weight.type ?? .f32)
            && usesBLAS(c?.weight.type ?? .f32) {
            blasMatmul(input: input, tokens: tokens, context: context, a, b, c)
            return
        }
        let xq = quantizeActivations(input, tokens: tokens, columns: K, type: act, context: context)
        let xqRowBytes = sp_row_bytes(Int32(act.rawValue), Int64(K))
        let threads = context.threadCount
        // Guided schedule: chunk k covers [bounds[k], bounds[k + 1]); threads claim chunks from a shared
        // counter, so a thread slowed by another process hands its remaining rows to the other one.
        // Chunks start large (long prefetched streams) and shrink toward the end (no thread waits long).
        let maxChunks = 64
        withUnsafeTemporaryAllocation(of: Int.self, capacity: maxChunks + 1) { bounds in
            let chunkCount = guidedSchedule(rows: totalRows, threads: threads, into: bounds)
            context.pool.resetClaims()
            context.pool.run(MatmulJob(
                pool: context.pool, bounds: UnsafePointer(bounds.baseAddress!), chunkCount: chunkCount,
                a: a, b: b, c: c, rowsA: rowsA, rowsB: rowsB, xq: xq, xqRowBytes: xqRowBytes, tokens: tokens))
        }
    }

    /// One fused matmul dispatch: threads claim chunks of the guided schedule until none are left.
    /// (A job struct rather than a closure: dispatching allocates nothing.)
    private struct MatmulJob: ParallelJob {
        let pool: ThreadPool
        let bounds: UnsafePointer<Int>
        let chunkCount: Int
        let a: MatmulTarget
        let b, c: MatmulTarget?
        let rowsA, rowsB: Int
        let xq: UnsafeRawPointer
        let xqRowBytes, tokens: Int

        static let entryPoint: sp_task_fn = { ctx, i, n in
            ctx!.assumingMemoryBound(to: MatmulJob.self).pointee.run(thread: Int(i), of: Int(n))
        }

        func run(thread: Int, of threads: Int) {
            let totalRows = bounds[chunkCount]
            while true {
                let k = pool.claim(1)
                if k >= chunkCount { break }
                let range = bounds[k]..<bounds[k + 1]
                Kernels.run(a, rows: 0..<rowsA, clip: range, xq: xq, xqRowBytes: xqRowBytes, tokens: tokens)
                if let b { Kernels.run(b, rows: rowsA..<(rowsA + rowsB), clip: range, xq: xq, xqRowBytes: xqRowBytes, tokens: tokens) }
                if let c { Kernels.run(c, rows: (rowsA + rowsB)..<totalRows, clip: range, xq: xq, xqRowBytes: xqRowBytes, tokens: tokens) }
            }
        }
    }

    /// Splits `0..<rows` into chunks for `threads` threads: each chunk takes 1 / (2 · threads) of the
    /// rows still left (at least `rowGranularity`, a multiple of it), so early chunks are long and the
    /// last ones short. Writes the chunk bounds (count + 1 values, at most 65) and returns the count.
    public static func guidedSchedule(rows: Int, threads: Int, into bounds: UnsafeMutableBufferPointer<Int>) -> Int {
        bounds[0] = 0
        guard threads > 1 else {
            bounds[1] = rows
            return rows > 0 ? 1 : 0
        }
        var count = 0, start = 0
        while start < rows {
            let left = rows - start
            var size = (left / (2 * threads) + rowGranularity - 1) / rowGranularity * rowGranularity
            size = max(size, rowGranularity)
            if count + 1 == bounds.count - 1 || size >= left { size = left }
            start += size
            count += 1
            bounds[count] = start
        }
        return count
    }

    /// Runs the part of `target` (whose rows sit at `rows` in the fused row space) that falls in `clip`.
    @inline(__always)
    fileprivate static func run(
        _ target: MatmulTarget, rows: Range<Int>, clip: Range<Int>, xq: UnsafeRawPointer, xqRowBytes: Int, tokens: Int
    ) {
        let lo = max(rows.lowerBound, clip.lowerBound), hi = min(rows.upperBound, clip.upperBound)
        guard lo < hi else { return }
        let w = target.weight
        let r0 = Int64(lo - rows.lowerBound), r1 = Int64(hi - rows.lowerBound)
        if tokens == 1 {
            sp_matvec(Int32(w.type.rawValue), w.data, w.rowBytes, Int64(w.columns), xq, target.output + Int(r0), r0, r1)
        } else {
            sp_matmul(
                Int32(w.type.rawValue), w.data, w.rowBytes, Int64(w.columns), xq, xqRowBytes, Int64(tokens),
                target.output, Int64(w.rows), r0, r1)
        }
    }

    /// Converts [tokens, columns] floats to the activation format `type` in scratch memory (F32 needs
    /// no conversion and returns the input itself).
    static func quantizeActivations(
        _ input: UnsafePointer<Float>, tokens: Int, columns: Int, type: GGMLType, context: ExecutionContext
    ) -> UnsafeRawPointer {
        if type == .f32 { return UnsafeRawPointer(input) }
        let rowBytes = sp_row_bytes(Int32(type.rawValue), Int64(columns))
        let buffer = context.scratch(bytes: tokens * rowBytes)
        if tokens == 1 {
            sp_quantize_row(Int32(type.rawValue), input, buffer, Int64(columns))
        } else {
            context.pool.parallelFor(tokens) { range in
                for t in range {
                    sp_quantize_row(Int32(type.rawValue), input + t * columns, buffer + t * rowBytes, Int64(columns))
                }
            }
        }
        return UnsafeRawPointer(buffer)
    }
}

// MARK: - Prompt batches through OpenBLAS

extension Kernels {
    /// Batches of at least this many tokens go through `blasMatmul` when every weight's type allows.
    public static let blasMinimumTokens = 16
    /// Bytes of f32 weight rows dequantized per SGEMM call: half of a Sapphire Rapids core's 2 MiB L2
    /// (384 KiB to 1.5 MiB measured within noise on pp512; 1 MiB packs X fewest times while L2-resident).
    static let blasTileBytes = 1024 * 1024

    /// Rows per SGEMM call: as many as fit `blasTileBytes` (each call repacks all token rows of X, so
    /// taller tiles pack X fewer times), in a tile count that is a multiple of the thread count so the
    /// threads finish together.
    static func blasTileRows(totalRows: Int, columns: Int, threads: Int) -> Int {
        let fit = max(16, blasTileBytes / (columns * 4) / 16 * 16)
        var tiles = (totalRows + fit - 1) / fit
        tiles = (tiles + threads - 1) / threads * threads
        return ((totalRows + tiles - 1) / tiles + 15) / 16 * 16
    }

    /// OpenBLAS must never start threads of its own: our pool parallelises over row tiles.
    private static let blasSingleThreaded: Void = { openblas_set_num_threads(1) }()

    /// Types whose batched product is faster as f32 SGEMM (measured with kernel-bench): the float
    /// types, and the 8-bit-activation types, for which activations rounded to Q8_0 and back to f32
    /// give the quantized kernels' result up to float summation order (their dequantized weights
    /// d · q are exact in f32). Q4_1 and Q5_1 pair with Q8_1, whose block sum is rounded to f16, and
    /// the K-quants' dequantized weights (d · scale) · q − dmin · min round in f32, so those keep
    /// their own kernels (and match llama.cpp's rounding).
    public static func usesBLAS(_ type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q5_0, .iq4_nl: return true
        default: return false
        }
    }

    /// Y = X · Wᵀ per target: each thread claims a tile of weight rows, dequantizes it to f32 and
    /// multiplies it with all tokens by SGEMM. Activations of 8-bit types are first rounded through
    /// their activation format, so results equal the quantized kernels' (see `usesBLAS`).
    static func blasMatmul(
        input: UnsafePointer<Float>, tokens: Int, context: ExecutionContext,
        _ a: MatmulTarget, _ b: MatmulTarget?, _ c: MatmulTarget?
    ) {
        _ = blasSingleThreaded
        let K = a.weight.columns, act = a.weight.activationType
        let threads = context.threadCount
        let rowsA = a.weight.rows, rowsB = b?.weight.rows ?? 0, rowsC = c?.weight.rows ?? 0
        let totalRows = rowsA + rowsB + rowsC
        let tileRows = blasTileRows(totalRows: totalRows, columns: K, threads: threads)
        let tileFloats = tileRows * K
        let roundTrip = act != .f32
        let xqRowBytes = roundTrip ? sp_row_bytes(Int32(act.rawValue), Int64(K)) : 0
        // Scratch: [tokens, K] rounded activations, [tokens] quantized rows, one f32 tile per thread.
        let xFloats = roundTrip ? tokens * K : 0
        let raw = context.scratch(bytes: (xFloats + threads * tileFloats) * 4 + tokens * xqRowBytes + 64)
        let scratch = raw.assumingMemoryBound(to: Float.self)
        let x: UnsafePointer<Float>
        if roundTrip {
            let xq = UnsafeMutableRawPointer(scratch + xFloats + threads * tileFloats)
            let type = Int32(act.rawValue)
            context.pool.parallelFor(tokens) { range in
                for t in range {
                    sp_quantize_row(type, input + t * K, xq + t * xqRowBytes, Int64(K))
                    sp_dequantize_row(type, xq + t * xqRowBytes, scratch + t * K, Int64(K))
                }
            }
            x = UnsafePointer(scratch)
        } else {
            x = input
        }
        let tiles = scratch + xFloats

        let tileCount = (totalRows + tileRows - 1) / tileRows
        context.pool.dynamicFor(tileCount, chunk: 1) { chunk, thread in
            let tile = tiles + thread * tileFloats
            for k in chunk {
                let range = (k * tileRows)..<min(totalRows, (k + 1) * tileRows)
                sgemm(a, rows: 0..<rowsA, clip: range, x: x, tokens: tokens, tile: tile)
                if let b { sgemm(b, rows: rowsA..<(rowsA + rowsB), clip: range, x: x, tokens: tokens, tile: tile) }
                if let c { sgemm(c, rows: (rowsA + rowsB)..<totalRows, clip: range, x: x, tokens: tokens, tile: tile) }
            }
        }
    }

    /// The rows of `target` (at `rows` in the fused row space) inside `clip`, for all tokens.
    @inline(__always)
    private static func sgemm(
        _ target: MatmulTarget, rows: Range<Int>, clip: Range<Int>, x: UnsafePointer<Float>, tokens: Int,
        tile: UnsafeMutablePointer<Float>
    ) {
        let lo = max(rows.lowerBound, clip.lowerBound) - rows.lowerBound
        let hi = min(rows.upperBound, clip.upperBound) - rows.lowerBound
        guard lo < hi else { return }
        let w = target.weight, K = w.columns
        let weights: UnsafePointer<Float>
        if w.type == .f32 {
            weights = (w.data + lo * w.rowBytes).assumingMemoryBound(to: Float.self)
        } else {
            for r in lo..<hi { w.dequantizeRow(r, into: tile + (r - lo) * K) }
            weights = UnsafePointer(tile)
        }
        // Y[t, lo..<hi] = X[t, :] · W[lo..<hi, :]ᵀ, row-major with leading dimension w.rows.
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(tokens), Int32(hi - lo), Int32(K), 1,
            x, Int32(K), weights, Int32(K), 0, target.output + lo, Int32(w.rows))
    }
}
