import Foundation

/// Scalar reference twins of the diffusion ops (DiffusionNorms.swift, TiledAttention.swift,
/// DiffusionActivations.swift, Linear.swift): the plainest loops that state each op's math, in Double,
/// on arrays. Tests hold the fast paths to these; models never call them.
public enum DiffusionOpsReference {
    /// Group norm of an NHWC map [pixels, channels]: per group of channels / groups contiguous channels,
    /// two-pass mean and biased variance over all its pixels and channels, then (x − μ)/√(σ² + ε)·γ + β,
    /// then optionally SiLU.
    public static func groupNorm(
        _ x: [Float], pixels: Int, channels: Int, groups: Int, epsilon: Float, gamma: [Float], beta: [Float], silu: Bool
    ) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        let perGroup = channels / groups, n = Double(pixels * perGroup)
        for g in 0..<groups {
            let cs = (g * perGroup)..<((g + 1) * perGroup)
            var sum = 0.0
            for p in 0..<pixels { for c in cs { sum += Double(x[p * channels + c]) } }
            let mean = sum / n
            var ss = 0.0
            for p in 0..<pixels { for c in cs { ss += (Double(x[p * channels + c]) - mean) * (Double(x[p * channels + c]) - mean) } }
            let rstd = 1 / (ss / n + Double(epsilon)).squareRoot()
            for p in 0..<pixels {
                for c in cs {
                    var r = (Double(x[p * channels + c]) - mean) * rstd * Double(gamma[c]) + Double(beta[c])
                    if silu { r = r / (1 + exp(-r)) }
                    y[p * channels + c] = Float(r)
                }
            }
        }
        return y
    }

    /// Layer norm of each row of [tokens, channels]: (x − μ)/√(σ² + ε)·γ + β, two-pass statistics.
    public static func layerNorm(_ x: [Float], channels: Int, epsilon: Float, gamma: [Float], beta: [Float]) -> [Float] {
        var y = x
        for r in 0..<(x.count / channels) {
            let row = x[(r * channels)..<((r + 1) * channels)].map(Double.init)
            let mean = row.reduce(0, +) / Double(channels)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(channels)
            let rstd = 1 / (variance + Double(epsilon)).squareRoot()
            for c in 0..<channels { y[r * channels + c] = Float((row[c] - mean) * rstd * Double(gamma[c]) + Double(beta[c])) }
        }
        return y
    }

    /// Multi-head attention with the full softmax per query. q: [queries, heads·D], k, v: [keys, heads·D]
    /// (contiguous); returns [queries, heads·D]. With `causal`, query i sees keys 0…i.
    public static func attention(
        q: [Float], k: [Float], v: [Float], queries: Int, keys: Int, heads: Int, headDimension D: Int, scale: Float, causal: Bool
    ) -> [Float] {
        let width = heads * D
        var out = [Float](repeating: 0, count: queries * width)
        var scores = [Double](repeating: 0, count: keys)
        for h in 0..<heads {
            for i in 0..<queries {
                let visible = causal ? min(keys, i + 1) : keys
                var m = -Double.infinity
                for j in 0..<visible {
                    var s = 0.0
                    for d in 0..<D { s += Double(q[i * width + h * D + d]) * Double(k[j * width + h * D + d]) }
                    scores[j] = s * Double(scale)
                    m = max(m, scores[j])
                }
                var z = 0.0
                for j in 0..<visible {
                    scores[j] = exp(scores[j] - m)
                    z += scores[j]
                }
                for d in 0..<D {
                    var acc = 0.0
                    for j in 0..<visible { acc += scores[j] * Double(v[j * width + h * D + d]) }
                    out[i * width + h * D + d] = Float(acc / z)
                }
            }
        }
        return out
    }

    /// Exact GELU: x/2 · erfc(−x/√2) = x · Φ(x).
    public static func gelu(_ x: Float) -> Float {
        Float(0.5 * Double(x) * erfc(-Double(x) / 2.0.squareRoot()))
    }

    /// GEGLU: up · gelu(gate), elementwise.
    public static func geglu(gate: [Float], up: [Float]) -> [Float] {
        zip(gate, up).map { g, u -> Float in
            let gd = Double(g)
            let phi: Double = 0.5 * erfc(-gd / 2.0.squareRoot())
            return Float(Double(u) * gd * phi)
        }
    }

    /// x · sigmoid(1.702 x).
    public static func quickGELU(_ x: Float) -> Float { Float(Double(x) / (1 + exp(-1.702 * Double(x)))) }

    /// x · sigmoid(x).
    public static func silu(_ x: Float) -> Float { Float(Double(x) / (1 + exp(-Double(x)))) }

    /// y[t, o] = Σ_i x[t, i]·W[o, i] + b[o] in Double. x: [tokens, inFeatures], W: [outFeatures, inFeatures].
    public static func linear(_ x: [Float], weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) -> [Float] {
        let tokens = x.count / inFeatures
        var y = [Float](repeating: 0, count: tokens * outFeatures)
        for t in 0..<tokens {
            for o in 0..<outFeatures {
                var acc = Double(bias?[o] ?? 0)
                for i in 0..<inFeatures { acc += Double(x[t * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                y[t * outFeatures + o] = Float(acc)
            }
        }
        return y
    }

    /// Nearest-neighbour 2× upsampling of an NHWC map: y[y', x', c] = x[y' / 2, x' / 2, c].
    public static func upsampleNearest2x(_ x: [Float], shape: FeatureMapShape) -> [Float] {
        let H = shape.height, W = shape.width, C = shape.channels
        var y = [Float](repeating: 0, count: 4 * x.count)
        for oy in 0..<(2 * H) {
            for ox in 0..<(2 * W) {
                for c in 0..<C { y[(oy * 2 * W + ox) * C + c] = x[((oy / 2) * W + ox / 2) * C + c] }
            }
        }
        return y
    }
}
