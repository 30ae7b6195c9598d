import Foundation
import SparrowRuntime
import Testing

/// The diffusion ops against PyTorch: Fixtures/diffusion-op-goldens.json, made by
/// Scripts/make-diffusion-op-goldens.py (torch CPU float32; the file records the command and version).
/// PyTorch's group norm is NCHW and its attention [heads, L, D]: the tests transpose to NHWC and to
/// [L, heads · D] rows.
struct DiffusionOpsGoldenTests {
    /// Float32 against float32 computed in another order (and with another exp / erf).
    static let normTolerance: Float = 3e-5
    static let attentionTolerance: Float = 3e-5
    /// As DiffusionOpsParityTests.activationRelative (float rounding of the exp argument dominates).
    static let activationRelative: Float = 8e-6
    static let activationAbsolute: Float = 1e-30
    /// torch's float GELU is x/2 · (1 + erf(x/√2)): for x ≪ 0 the sum cancels, leaving an absolute
    /// error of about an ulp of 1 times |x| (at x = −5 torch gives −1.19e-6 for −1.43e-6; at −8, 0).
    /// Ours evaluates erfc and keeps the tail's relative accuracy, so against torch the tail gets this.
    static let torchGELUTailAbsolute: Float = 1e-6
    static let linearTolerance: Float = 3e-5

    struct Golden {
        let cases: [String: Any]

        init() throws {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/diffusion-op-goldens.json")
            let object = try JSONSerialization.jsonObject(with: try Data(contentsOf: url)) as? [String: Any]
            cases = try #require(object?["cases"] as? [String: Any])
        }

        func object(_ name: String) throws -> [String: Any] { try #require(cases[name] as? [String: Any], "case \(name)") }
    }

    static func floats(_ o: [String: Any], _ key: String) throws -> [Float] {
        try #require(o[key] as? [Double], "array \(key)").map { Float($0) }
    }

    static func int(_ o: [String: Any], _ key: String) throws -> Int { try #require(o[key] as? Int, "integer \(key)") }

    /// [C, P] (NCHW, batch 1) ↔ [P, C] (NHWC).
    static func transpose(_ a: [Float], rows: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: a.count)
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = a[r * columns + c] } }
        return out
    }

    /// [heads, L, D] → [L, heads · D].
    static func interleaveHeads(_ a: [Float], heads: Int, length: Int, D: Int) -> [Float] {
        var out = [Float](repeating: 0, count: a.count)
        for h in 0..<heads { for t in 0..<length { for d in 0..<D { out[(t * heads + h) * D + d] = a[(h * length + t) * D + d] } } }
        return out
    }

    static func worst(_ got: [Float], _ want: [Float]) -> Float {
        guard got.count == want.count else { return .infinity }
        return zip(got, want).reduce(Float(0)) { w, p in max(w, abs(p.0 - p.1).isNaN ? .infinity : abs(p.0 - p.1)) }
    }

    /// The largest error relative to the torch value, ignoring errors below `absolute`.
    static func relativeWorst(_ got: [Float], _ want: [Float], absolute: Float = activationAbsolute) -> Float {
        guard got.count == want.count else { return .infinity }
        var w: Float = 0
        for (g, t) in zip(got, want) {
            let e = abs(g - t)
            if e.isNaN { return .infinity }
            if e > absolute { w = max(w, e / abs(t)) }
        }
        return w
    }

    static let context = ExecutionContext(threadCount: 2)

    @Test func groupNormMatchesTorch() throws {
        let o = try Golden().object("group_norm")
        let shape = try #require(o["shape_nchw"] as? [Int])
        let C = shape[1], P = shape[2] * shape[3], groups = try Self.int(o, "groups")
        let epsilon = Float(try #require(o["epsilon"] as? Double))
        let x = Self.transpose(try Self.floats(o, "x"), rows: C, columns: P)
        let gamma = try Self.floats(o, "gamma"), beta = try Self.floats(o, "beta")
        for (silu, key) in [(false, "y"), (true, "y_silu")] {
            var y = [Float](repeating: .nan, count: x.count)
            Kernels.groupNorm(x, pixels: P, channels: C, groups: groups, epsilon: epsilon, gamma: gamma, beta: beta, silu: silu,
                              into: &y, context: Self.context)
            let want = Self.transpose(try Self.floats(o, key), rows: C, columns: P)
            #expect(Self.worst(y, want) <= Self.normTolerance, "silu \(silu)")
        }
    }

    @Test func layerNormMatchesTorch() throws {
        let o = try Golden().object("layer_norm")
        let tokens = try Self.int(o, "tokens"), channels = try Self.int(o, "channels")
        let x = try Self.floats(o, "x")
        var y = [Float](repeating: .nan, count: x.count)
        Kernels.layerNorm(x, tokens: tokens, channels: channels, epsilon: Float(try #require(o["epsilon"] as? Double)),
                          gamma: try Self.floats(o, "gamma"), beta: try Self.floats(o, "beta"), into: &y, context: Self.context)
        #expect(Self.worst(y, try Self.floats(o, "y")) <= Self.normTolerance)
    }

    @Test func attentionMatchesTorchScaledDotProductAttention() throws {
        let cases = try #require(try Golden().cases["attention"] as? [[String: Any]])
        #expect(cases.count == 2)
        for o in cases {
            let queries = try Self.int(o, "queries"), keys = try Self.int(o, "keys"), heads = try Self.int(o, "heads")
            let D = try Self.int(o, "head_dimension"), causal = try #require(o["causal"] as? Bool)
            let q = Self.interleaveHeads(try Self.floats(o, "q"), heads: heads, length: queries, D: D)
            let k = Self.interleaveHeads(try Self.floats(o, "k"), heads: heads, length: keys, D: D)
            let v = Self.interleaveHeads(try Self.floats(o, "v"), heads: heads, length: keys, D: D)
            let width = heads * D
            var out = [Float](repeating: .nan, count: queries * width)
            Kernels.attention(query: q, queryStride: width, key: k, keyStride: width, value: v, valueStride: width, queries: queries,
                              keys: keys, heads: heads, headDimension: D, scale: Float(try #require(o["scale"] as? Double)),
                              causal: causal, into: &out, outStride: width, context: Self.context)
            let want = Self.interleaveHeads(try Self.floats(o, "out"), heads: heads, length: queries, D: D)
            #expect(Self.worst(out, want) <= Self.attentionTolerance, "\(queries)×\(keys) causal \(causal)")
        }
    }

    @Test func activationsMatchTorch() throws {
        let golden = try Golden()
        let o = try golden.object("activations")
        let x = try Self.floats(o, "x")
        var gelu = x, quick = x, silu = x
        Kernels.gelu(&gelu, count: gelu.count)
        Kernels.quickGELU(&quick, count: quick.count)
        Kernels.silu(&silu, count: silu.count)
        #expect(Self.relativeWorst(gelu, try Self.floats(o, "gelu"), absolute: Self.torchGELUTailAbsolute) <= Self.activationRelative)
        #expect(Self.relativeWorst(quick, try Self.floats(o, "quick_gelu")) <= Self.activationRelative)
        #expect(Self.relativeWorst(silu, try Self.floats(o, "silu")) <= Self.activationRelative)

        let g = try golden.object("geglu")
        let tokens = try Self.int(g, "tokens"), inner = try Self.int(g, "inner")
        var out = [Float](repeating: .nan, count: tokens * inner)
        Kernels.geglu(try Self.floats(g, "projected"), tokens: tokens, innerFeatures: inner, into: &out, context: Self.context)
        #expect(Self.relativeWorst(out, try Self.floats(g, "out"), absolute: Self.torchGELUTailAbsolute) <= Self.activationRelative)
    }

    @Test func linearAndUpsamplingMatchTorch() throws {
        let golden = try Golden()
        let o = try golden.object("linear")
        let tokens = try Self.int(o, "tokens"), inF = try Self.int(o, "in"), outF = try Self.int(o, "out")
        var y = [Float](repeating: .nan, count: tokens * outF)
        Kernels.linear(try Self.floats(o, "x"), tokens: tokens, weight: try Self.floats(o, "weight"), bias: try Self.floats(o, "bias"),
                       inFeatures: inF, outFeatures: outF, into: &y, context: Self.context)
        #expect(Self.worst(y, try Self.floats(o, "y")) <= Self.linearTolerance)

        let u = try golden.object("upsample_nearest_2x")
        let shape = try #require(u["shape_nchw"] as? [Int])
        let C = shape[1], H = shape[2], W = shape[3]
        let x = Self.transpose(try Self.floats(u, "x"), rows: C, columns: H * W)
        var up = [Float](repeating: .nan, count: 4 * x.count)
        Kernels.upsampleNearest2x(x, shape: FeatureMapShape(height: H, width: W, channels: C), into: &up)
        #expect(up == Self.transpose(try Self.floats(u, "y"), rows: C, columns: 4 * H * W))
    }
}
