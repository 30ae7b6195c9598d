extension Kernels {
    /// RMSNorm over each of `rows` rows of `n` values: y = x / sqrt(mean(x²) + eps) · weight.
    /// Matches llama.cpp's ggml_rms_norm followed by the weight multiply (sum accumulated in float).
    /// `output` may alias `input`.
    public static func rmsNorm(
        _ input: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
        rows: Int, n: Int, output: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        let start = OpAccounting.now()
        for r in 0..<rows {
            let x = input + r * n, y = output + r * n
            let mean = VectorMath.sumOfSquares(x, n) / Float(n)
            let s = 1 / (mean + epsilon).squareRoot()
            for i in 0..<n { y[i] = x[i] * s * weight[i] }
        }
        context.accounting.record(.norm, since: start, bytes: rows * n * 8 + n * 4, macs: rows * n * 2)
    }
}
