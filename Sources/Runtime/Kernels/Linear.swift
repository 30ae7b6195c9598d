import COpenBLAS

/// Dense float32 linear layers (projections in the diffusion models' attention and feed-forward
/// blocks, CLIP's MLPs) through OpenBLAS SGEMM, parallelised by the runtime's thread pool.
/// Scalar twin: `DiffusionOpsReference.linear`.
extension Kernels {
    /// OpenBLAS must never start threads of its own: our pool splits the product.
    private static let linearBLASSingleThreaded: Void = { openblas_set_num_threads(1) }()

    /// Token rows per thread below which `linear` splits output features instead of tokens.
    static let linearMinimumTokensPerThread = 64

    /// y[t, o] = Σ_i x[t, i] · W[o, i] + b[o] (torch.nn.functional.linear): x [tokens, inFeatures],
    /// W [outFeatures, inFeatures] row-major (PyTorch's layout), b [outFeatures] or nil, y [tokens, outFeatures].
    /// Large batches split tokens over the threads (each thread one SGEMM over its rows); short ones
    /// (CLIP's 77 tokens, a timestep embedding) split output features. `y` must not overlap `x` or `W`.
    public static func linear(
        _ x: UnsafePointer<Float>, tokens: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        inFeatures: Int, outFeatures: Int, into y: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        precondition(tokens >= 0 && inFeatures > 0 && outFeatures > 0, "linear: \(tokens) × \(inFeatures) → \(outFeatures)")
        guard tokens > 0 else { return }
        _ = linearBLASSingleThreaded
        let start = OpAccounting.now()
        let threads = context.threadCount
        // Rows [t0, t1) × output features [o0, o1): bias first, then Y += X · Wᵀ.
        func product(tokens t: Range<Int>, features o: Range<Int>) {
            guard !t.isEmpty && !o.isEmpty else { return }
            let yy = y + t.lowerBound * outFeatures + o.lowerBound
            if let bias {
                for r in 0..<t.count { (yy + r * outFeatures).update(from: bias + o.lowerBound, count: o.count) }
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t.count), Int32(o.count), Int32(inFeatures), 1,
                x + t.lowerBound * inFeatures, Int32(inFeatures), weight + o.lowerBound * inFeatures, Int32(inFeatures),
                bias == nil ? 0 : 1, yy, Int32(outFeatures))
        }
        if threads == 1 || tokens * outFeatures * inFeatures < 1 << 18 {
            product(tokens: 0..<tokens, features: 0..<outFeatures)
        } else if tokens >= threads * linearMinimumTokensPerThread {
            context.pool.parallelFor(tokens, granularity: 16) { r in product(tokens: r, features: 0..<outFeatures) }
        } else {
            context.pool.parallelFor(outFeatures, granularity: 16) { r in product(tokens: 0..<tokens, features: r) }
        }
        context.accounting.record(
            .other, since: start, bytes: (tokens * (inFeatures + outFeatures) + outFeatures * inFeatures) * 4,
            macs: tokens * outFeatures * inFeatures)
    }
}
