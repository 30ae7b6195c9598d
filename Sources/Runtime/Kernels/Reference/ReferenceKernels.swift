import Foundation

/// Scalar reference twins of the runtime's ops: the plainest code that states each op's math, with
/// Double accumulation. Fast paths are tested against these; models never call them.
public enum ReferenceKernels {
    /// RMSNorm of each row: x / sqrt(mean(x²) + eps) · weight. x: [rows, n].
    public static func rmsNorm(_ x: [Float], weight: [Float], epsilon: Float, n: Int) -> [Float] {
        var y = x
        for r in 0..<(x.count / n) {
            var ss = 0.0
            for i in 0..<n { ss += Double(x[r * n + i]) * Double(x[r * n + i]) }
            let s = 1 / (ss / Double(n) + Double(epsilon)).squareRoot()
            for i in 0..<n { y[r * n + i] = Float(Double(x[r * n + i]) * s * Double(weight[i])) }
        }
        return y
    }

    /// Rotary embedding of one head vector at `position` (see `RotaryEmbedding` for the pairings),
    /// angles computed in Double from the definition θᵢ = pos · base^(−2i/d).
    public static func rope(_ v: [Float], position: Int, dimensionCount d: Int, base: Double, halves: Bool) -> [Float] {
        var out = v
        for i in 0..<(d / 2) {
            let theta = Double(position) * pow(base, -Double(2 * i) / Double(d))
            let (a, b) = halves ? (i, i + d / 2) : (2 * i, 2 * i + 1)
            let x0 = Double(v[a]), x1 = Double(v[b])
            out[a] = Float(x0 * cos(theta) - x1 * sin(theta))
            out[b] = Float(x0 * sin(theta) + x1 * cos(theta))
        }
        return out
    }

    /// Causal attention with grouped KV heads; with `window` > 0 a query at position p sees only
    /// positions p − window + 1 … p.
    /// q: [T, H, D] at positions p0…p0+T−1; keys, values: [p0+T, Hkv, D]; returns [T, H, D].
    public static func attention(
        q: [Float], keys: [Float], values: [Float], tokens T: Int, firstPosition p0: Int,
        heads H: Int, kvHeads: Int, headDimension D: Int, scale: Float, window: Int = 0
    ) -> [Float] {
        var out = [Float](repeating: 0, count: T * H * D)
        for t in 0..<T {
            for h in 0..<H {
                let kvh = h / (H / kvHeads)
                let n = p0 + t + 1, lo = window > 0 ? max(0, n - window) : 0
                var scores = [Double](repeating: -Double.infinity, count: n)
                for p in lo..<n {
                    var s = 0.0
                    for d in 0..<D { s += Double(q[(t * H + h) * D + d]) * Double(keys[(p * kvHeads + kvh) * D + d]) }
                    scores[p] = s * Double(scale)
                }
                let m = scores.max()!
                let e = scores.map { exp($0 - m) }
                let z = e.reduce(0, +)
                for d in 0..<D {
                    var acc = 0.0
                    for p in lo..<n { acc += e[p] / z * Double(values[(p * kvHeads + kvh) * D + d]) }
                    out[(t * H + h) * D + d] = Float(acc)
                }
            }
        }
        return out
    }

    /// silu(gate) · up, elementwise.
    public static func swiGLU(gate: [Float], up: [Float]) -> [Float] {
        zip(gate, up).map { g, u in Float(Double(g) / (1 + exp(-Double(g))) * Double(u)) }
    }
}
