import Foundation

/// Rotary position embedding tables and application.
///
/// Two pairings exist in GGUF models (matches llama.cpp's ggml_rope modes): `.adjacent` rotates
/// (x[2i], x[2i+1]) — LLaMA-family GGUF files, whose Q/K weights the converter permuted — and
/// `.halves` rotates (x[i], x[i + d/2]) — NeoX style (Qwen2, Gemma, …). Pair i turns by
/// pos · base^(-2i/d), d the rotated dimension count.
public struct RotaryEmbedding: Sendable {
    public enum Pairing: Sendable { case adjacent, halves }

    public let dimensionCount: Int
    public let base: Double
    public let pairing: Pairing
    public let maxPositions: Int
    /// [maxPositions, dimensionCount / 2] cosines and sines.
    private let cosines: [Float]
    private let sines: [Float]

    public init(dimensionCount: Int, base: Double, pairing: Pairing, maxPositions: Int, frequencyScale: Double = 1) {
        precondition(dimensionCount % 2 == 0 && dimensionCount > 0)
        self.dimensionCount = dimensionCount
        self.base = base
        self.pairing = pairing
        self.maxPositions = maxPositions
        let half = dimensionCount / 2
        var c = [Float](repeating: 0, count: maxPositions * half)
        var s = [Float](repeating: 0, count: maxPositions * half)
        for i in 0..<half {
            let inverseFrequency = pow(base, -Double(2 * i) / Double(dimensionCount)) * frequencyScale
            for p in 0..<maxPositions {
                let angle = Double(p) * inverseFrequency
                c[p * half + i] = Float(cos(angle))
                s[p * half + i] = Float(sin(angle))
            }
        }
        cosines = c
        sines = s
    }

    /// Rotates `heads` vectors of `headDimension` values at `x` (head h at x + h·headDimension) for
    /// position `position`; only the first `dimensionCount` values of each head turn.
    @inline(__always)
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headDimension: Int, position: Int) {
        precondition(position >= 0 && position < maxPositions, "position beyond the RoPE table")
        let half = dimensionCount / 2
        cosines.withUnsafeBufferPointer { cp in
            sines.withUnsafeBufferPointer { sp in
                let c = cp.baseAddress! + position * half, s = sp.baseAddress! + position * half
                for h in 0..<heads {
                    let v = x + h * headDimension
                    switch pairing {
                    case .adjacent:
                        for i in 0..<half {
                            let a = v[2 * i], b = v[2 * i + 1]
                            v[2 * i] = a * c[i] - b * s[i]
                            v[2 * i + 1] = a * s[i] + b * c[i]
                        }
                    case .halves:
                        for i in 0..<half {
                            let a = v[i], b = v[i + half]
                            v[i] = a * c[i] - b * s[i]
                            v[i + half] = a * s[i] + b * c[i]
                        }
                    }
                }
            }
        }
    }
}

extension Kernels {
    /// Applies `rope` to `tokens` rows of [heads, headDimension] values at consecutive positions
    /// starting at `firstPosition`.
    public static func rope(
        _ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDimension: Int, firstPosition: Int,
        rope: RotaryEmbedding, context: ExecutionContext
    ) {
        let start = OpAccounting.now()
        let stride = heads * headDimension
        for t in 0..<tokens {
            rope.apply(x + t * stride, heads: heads, headDimension: headDimension, position: firstPosition + t)
        }
        context.accounting.record(.rope, since: start, bytes: tokens * stride * 8, macs: tokens * stride * 2)
    }
}
