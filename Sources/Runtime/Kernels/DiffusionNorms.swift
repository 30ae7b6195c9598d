import CSparrowKernels

/// Group norm over NHWC maps and layer norm over token rows (Stable Diffusion's UNet, VAE and CLIP).
/// Fast paths: diffusion_ops.h; scalar twins: `DiffusionOpsReference`.
extension Kernels {
    /// Group norm of an NHWC map ([pixels, channels], batch 1) with `groups` groups of contiguous
    /// channels (channel c is in group c / (channels / groups)): each group is normalised with its own
    /// mean μ and biased variance σ² over all its pixels and channels,
    /// y = (x − μ) / √(σ² + ε) · γ[c] + β[c], then with `silu` y ← y · sigmoid(y) (GroupNorm + SiLU, fused).
    /// Matches torch.nn.functional.group_norm (NCHW there, NHWC here).
    ///
    /// Two passes: per-channel moments (shifted by each channel's first pixel, float over 64-pixel
    /// blocks, double across blocks and threads; channels combined into groups with Chan's parallel
    /// variance formula), then the normalisation. Both split pixels over the pool's threads.
    /// `y` may alias `x`.
    public static func groupNorm(
        _ x: UnsafePointer<Float>, pixels: Int, channels: Int, groups: Int, epsilon: Float,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, silu: Bool, into y: UnsafeMutablePointer<Float>,
        context: ExecutionContext
    ) {
        precondition(pixels > 0 && groups > 0 && channels % groups == 0, "groupNorm: \(channels) channels in \(groups) groups, \(pixels) pixels")
        let start = OpAccounting.now()
        let C = channels
        let threads = max(1, min(context.threadCount, pixels / 64))
        // Scratch: per-thread sum and sum of squares (doubles), then shift, center, scale (floats).
        let raw = context.scratch(bytes: threads * 2 * C * 8 + 3 * C * 4)
        let moments = raw.bindMemory(to: Double.self, capacity: threads * 2 * C)
        moments.initialize(repeating: 0, count: threads * 2 * C)
        let floats = (raw + threads * 2 * C * 8).bindMemory(to: Float.self, capacity: 3 * C)
        let shift = floats, center = floats + C, scale = floats + 2 * C
        shift.update(from: x, count: C)

        let partition = { (thread: Int, of: Int) -> Range<Int> in
            ThreadPool.partition(pixels, part: thread, of: of, granularity: 64)
        }
        let runThreads = { (body: (Int, Int) -> Void) in
            if threads == 1 { body(0, 1) } else { context.pool.run { i, n in body(i, n) } }
        }
        runThreads { i, n in
            // Pools larger than `threads` leave the extra threads idle.
            guard i < threads else { return }
            let r = partition(i, min(n, threads))
            let sum = moments + i * 2 * C
            sp_channel_moments(x, Int64(r.lowerBound), Int64(r.upperBound), Int64(C), shift, sum, sum + C)
        }

        // Per channel: mean and sum of squared deviations; per group: Chan et al.'s combination.
        let n = Double(pixels), perGroup = C / groups
        for g in 0..<groups {
            var means = [Double](repeating: 0, count: perGroup), m2 = [Double](repeating: 0, count: perGroup)
            for j in 0..<perGroup {
                let c = g * perGroup + j
                var s1 = 0.0, s2 = 0.0
                for t in 0..<threads {
                    s1 += moments[t * 2 * C + c]
                    s2 += moments[t * 2 * C + C + c]
                }
                means[j] = Double(shift[c]) + s1 / n
                m2[j] = max(0, s2 - s1 * s1 / n)
            }
            let mean = means.reduce(0, +) / Double(perGroup)
            var total = 0.0
            for j in 0..<perGroup { total += m2[j] + n * (means[j] - mean) * (means[j] - mean) }
            let rstd = 1 / (total / (n * Double(perGroup)) + Double(epsilon)).squareRoot()
            for j in 0..<perGroup {
                let c = g * perGroup + j
                center[c] = Float(mean)
                scale[c] = Float(Double(gamma[c]) * rstd)
            }
        }
        runThreads { i, n in
            guard i < threads else { return }
            let r = partition(i, min(n, threads))
            sp_channel_affine(x, Int64(r.lowerBound), Int64(r.upperBound), Int64(C), center, scale, beta, silu ? 1 : 0, y)
        }
        context.accounting.record(.norm, since: start, bytes: pixels * C * 12, macs: pixels * C * 4)
    }

    /// Layer norm of each row of a [tokens, channels] matrix over its channels:
    /// y = (x − μ) / √(σ² + ε) · γ + β with the row's mean μ and biased variance σ²
    /// (torch.nn.functional.layer_norm over the last dimension). Threads over rows. `y` may alias `x`.
    public static func layerNorm(
        _ x: UnsafePointer<Float>, tokens: Int, channels: Int, epsilon: Float,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
        context: ExecutionContext
    ) {
        precondition(tokens >= 0 && channels > 0, "layerNorm: \(tokens) tokens of \(channels) channels")
        let start = OpAccounting.now()
        if context.threadCount > 1 && tokens * channels >= 32768 {
            context.pool.parallelFor(tokens, granularity: 4) { r in
                sp_layer_norm_rows(x, Int64(r.lowerBound), Int64(r.upperBound), Int64(channels), epsilon, gamma, beta, y)
            }
        } else {
            sp_layer_norm_rows(x, 0, Int64(tokens), Int64(channels), epsilon, gamma, beta, y)
        }
        context.accounting.record(.norm, since: start, bytes: tokens * channels * 8, macs: tokens * channels * 4)
    }
}
