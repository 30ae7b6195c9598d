import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// The diffusion ops' fast paths (diffusion_ops.h: AVX-512 and portable code, forced per thread with
/// `sp_set_isa`; 1 and 2 threads) against `DiffusionOpsReference` (Double) and the `_ref` activations,
/// on the shapes of Stable Diffusion 1.5 / 2.x and CLIP, with channel, query and key counts that leave
/// vector and tile tails. Plus invariants that hold whatever the reference says.
@Suite(.serialized)
struct DiffusionOpsParityTests {
    /// Float32 sums in another order than the Double reference, inputs in [-1, 1): absolute error.
    static let normTolerance: Float = 2e-5
    /// Attention: float32 scores over D ≤ 160, vector exp (a few ulp), sums over up to 4096 keys.
    static let attentionTolerance: Float = 2e-5
    /// Exact GELU / GEGLU / quickGELU / SiLU: relative to the exact value, plus an absolute floor for
    /// results below ~1e-30 (the vector exp clamps its argument at −87). Dominated by rounding the exp
    /// argument to float (−z², −1.702x: half an ulp of |arg| ≤ 87 is ≤ 5.2e-6 relative after exp), which
    /// libm-based float code (the portable path, PyTorch) shares.
    static let activationRelative: Float = 8e-6
    static let activationAbsolute: Float = 1e-30
    /// SGEMM against a Double dot product over ≤ 1280 products of values in [-1, 1).
    static let linearTolerance: Float = 2e-4
    /// Invariants: output of one key is that key's value bit for bit; group statistics after norm.
    static let exact: Float = 0
    static let normalizedMean: Double = 1e-5
    static let normalizedVariance: Double = 1e-4

    static let contexts = [ExecutionContext(threadCount: 1), ExecutionContext(threadCount: 2)]
    static var isas: [sp_isa] {
        [SP_ISA_SCALAR, SP_ISA_AVX512].filter { $0.rawValue <= sp_detected_isa().rawValue }
    }

    /// Runs `body` per instruction set (forced on the calling thread) and context.
    static func forEachISA(_ body: (sp_isa, ExecutionContext) throws -> Void) rethrows {
        let saved = sp_active_isa()
        defer { sp_set_isa(saved) }
        for isa in isas {
            sp_set_isa(isa)
            for context in contexts { try body(isa, context) }
        }
    }

    /// The largest |got − want| (infinity on NaN or a count mismatch).
    static func worst(_ got: [Float], _ want: [Float]) -> Float {
        guard got.count == want.count else { return .infinity }
        var w: Float = 0
        for i in got.indices {
            let e = abs(got[i] - want[i])
            w = max(w, e.isNaN ? .infinity : e)
        }
        return w
    }

    /// Columns [offset, offset + width) of the given rows of a matrix with row stride `stride`.
    static func gather(_ a: [Float], rows: [Int], offset: Int = 0, width: Int, stride: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(rows.count * width)
        for r in rows {
            let start: Int = r * stride + offset
            out.append(contentsOf: a[start..<(start + width)])
        }
        return out
    }

    static func output(_ count: Int, _ kernel: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        out.withUnsafeMutableBufferPointer { kernel($0.baseAddress!) }
        return out
    }

    // MARK: - Norms

    @Test(arguments: [(64 * 64, 320, 32), (16 * 16, 640, 32), (8 * 8, 1280, 32), (7 * 5, 72, 8), (1, 96, 32), (130, 20, 4)])
    func groupNormMatchesReference(_ c: (pixels: Int, channels: Int, groups: Int)) {
        var rng = SplitMix64(seed: UInt64(c.channels * 7 + c.pixels))
        // An offset per channel makes the shifted moments matter.
        let offsets = rng.floats(c.channels, scale: 3)
        let x = (0..<(c.pixels * c.channels)).map { rng.nextFloat() + offsets[$0 % c.channels] }
        let gamma = rng.floats(c.channels), beta = rng.floats(c.channels)
        for silu in [false, true] {
            let want = DiffusionOpsReference.groupNorm(x, pixels: c.pixels, channels: c.channels, groups: c.groups, epsilon: 1e-5,
                                                       gamma: gamma, beta: beta, silu: silu)
            Self.forEachISA { isa, context in
                let got = Self.output(x.count) {
                    Kernels.groupNorm(x, pixels: c.pixels, channels: c.channels, groups: c.groups, epsilon: 1e-5, gamma: gamma,
                                      beta: beta, silu: silu, into: $0, context: context)
                }
                #expect(Self.worst(got, want) <= Self.normTolerance, "groupNorm \(c) silu \(silu) isa \(isa.rawValue) threads \(context.threadCount)")
            }
        }
    }

    @Test func groupNormOutputHasZeroMeanAndUnitVariancePerGroup() {
        var rng = SplitMix64(seed: 0x6E)
        let pixels = 300, channels = 320, groups = 32, perGroup = channels / groups
        let x = rng.floats(pixels * channels, scale: 5).map { $0 + 10 }
        let ones = [Float](repeating: 1, count: channels), zeros = [Float](repeating: 0, count: channels)
        for context in Self.contexts {
            let y = Self.output(x.count) {
                Kernels.groupNorm(x, pixels: pixels, channels: channels, groups: groups, epsilon: 1e-7, gamma: ones, beta: zeros,
                                  silu: false, into: $0, context: context)
            }
            for g in 0..<groups {
                var sum = 0.0, ss = 0.0
                for p in 0..<pixels {
                    for c in (g * perGroup)..<((g + 1) * perGroup) { sum += Double(y[p * channels + c]) }
                }
                let mean = sum / Double(pixels * perGroup)
                for p in 0..<pixels {
                    for c in (g * perGroup)..<((g + 1) * perGroup) { ss += (Double(y[p * channels + c]) - mean) * (Double(y[p * channels + c]) - mean) }
                }
                #expect(abs(mean) <= Self.normalizedMean, "group \(g) mean \(mean)")
                #expect(abs(ss / Double(pixels * perGroup) - 1) <= Self.normalizedVariance, "group \(g) variance")
            }
        }
    }

    @Test(arguments: [(77, 768), (77, 1024), (4096 / 8, 320), (3, 17), (1, 1280)])
    func layerNormMatchesReference(_ c: (tokens: Int, channels: Int)) {
        var rng = SplitMix64(seed: UInt64(c.tokens * 31 + c.channels))
        let x = rng.floats(c.tokens * c.channels).map { $0 * 2 + 0.5 }
        let gamma = rng.floats(c.channels), beta = rng.floats(c.channels)
        let want = DiffusionOpsReference.layerNorm(x, channels: c.channels, epsilon: 1e-5, gamma: gamma, beta: beta)
        Self.forEachISA { isa, context in
            let got = Self.output(x.count) {
                Kernels.layerNorm(x, tokens: c.tokens, channels: c.channels, epsilon: 1e-5, gamma: gamma, beta: beta, into: $0, context: context)
            }
            #expect(Self.worst(got, want) <= Self.normTolerance, "layerNorm \(c) isa \(isa.rawValue) threads \(context.threadCount)")
        }
    }

    // MARK: - Attention

    struct AttentionCase: CustomStringConvertible, Sendable {
        let queries: Int, keys: Int, heads: Int, D: Int, causal: Bool
        var description: String { "\(queries)×\(keys) \(heads)×\(D)\(causal ? " causal" : "")" }
    }

    static let attentionCases = [
        AttentionCase(queries: 77, keys: 77, heads: 8, D: 40, causal: false),
        AttentionCase(queries: 17, keys: 4096, heads: 8, D: 40, causal: false),   // SD 1.5 self-attention keys
        AttentionCase(queries: 1, keys: 77, heads: 8, D: 40, causal: false),
        AttentionCase(queries: 70, keys: 77, heads: 8, D: 80, causal: false),     // cross-attention, SD 1.5 level 2
        AttentionCase(queries: 17, keys: 300, heads: 8, D: 160, causal: false),
        AttentionCase(queries: 130, keys: 257, heads: 5, D: 64, causal: false),   // SD 2 head size, key-tile tail
        AttentionCase(queries: 77, keys: 77, heads: 12, D: 64, causal: true),     // CLIP ViT-L text encoder
        AttentionCase(queries: 77, keys: 77, heads: 8, D: 40, causal: true),
        AttentionCase(queries: 300, keys: 300, heads: 1, D: 17, causal: true),    // several query and key tiles
    ]

    @Test(arguments: attentionCases)
    func attentionMatchesReference(_ c: AttentionCase) {
        var rng = SplitMix64(seed: UInt64(c.queries * 1000 + c.keys + c.D))
        let width = c.heads * c.D
        // Scores of a few units: a peaked softmax, as in trained models.
        let q = rng.floats(c.queries * width, scale: 2), k = rng.floats(c.keys * width, scale: 2), v = rng.floats(c.keys * width)
        let scale = 1 / Float(c.D).squareRoot()
        let want = DiffusionOpsReference.attention(q: q, k: k, v: v, queries: c.queries, keys: c.keys, heads: c.heads, headDimension: c.D,
                                                   scale: scale, causal: c.causal)
        Self.forEachISA { isa, context in
            let got = Self.output(c.queries * width) {
                Kernels.attention(query: q, queryStride: width, key: k, keyStride: width, value: v, valueStride: width, queries: c.queries,
                                  keys: c.keys, heads: c.heads, headDimension: c.D, scale: scale, causal: c.causal, into: $0,
                                  outStride: width, context: context)
            }
            #expect(Self.worst(got, want) <= Self.attentionTolerance, "attention \(c) isa \(isa.rawValue) threads \(context.threadCount)")
        }
    }

    /// Q, K, V as column views of one fused [tokens, 3 · width] projection, the output into a wider buffer.
    @Test func attentionReadsAndWritesStridedRows() {
        var rng = SplitMix64(seed: 0x57)
        let tokens = 70, heads = 8, D = 40, width = heads * D, outStride = width + 9
        let qkv = rng.floats(tokens * 3 * width, scale: 2)
        func column(_ part: Int) -> [Float] { Self.gather(qkv, rows: Array(0..<tokens), offset: part * width, width: width, stride: 3 * width) }
        let want = DiffusionOpsReference.attention(q: column(0), k: column(1), v: column(2), queries: tokens, keys: tokens, heads: heads,
                                                   headDimension: D, scale: 0.2, causal: false)
        for context in Self.contexts {
            var out = [Float](repeating: -7, count: tokens * outStride)
            qkv.withUnsafeBufferPointer { p in
                let b = p.baseAddress!
                Kernels.attention(query: b, queryStride: 3 * width, key: b + width, keyStride: 3 * width, value: b + 2 * width,
                                  valueStride: 3 * width, queries: tokens, keys: tokens, heads: heads, headDimension: D, scale: 0.2,
                                  causal: false, into: &out, outStride: outStride, context: context)
            }
            let got = Self.gather(out, rows: Array(0..<tokens), width: width, stride: outStride)
            #expect(Self.worst(got, want) <= Self.attentionTolerance, "strided, threads \(context.threadCount)")
            let padding = Self.gather(out, rows: Array(0..<tokens), offset: width, width: outStride - width, stride: outStride)
            #expect(padding.allSatisfy { $0 == -7 }, "padding columns of the output untouched")
        }
    }

    @Test func attentionWithOneKeyReturnsItsValue() {
        var rng = SplitMix64(seed: 0x1)
        let queries = 4096, heads = 8, D = 40, width = heads * D
        let q = rng.floats(queries * width, scale: 4), k = rng.floats(width), v = rng.floats(width)
        Self.forEachISA { isa, context in
            let got = Self.output(queries * width) {
                Kernels.attention(query: q, queryStride: width, key: k, keyStride: width, value: v, valueStride: width, queries: queries,
                                  keys: 1, heads: heads, headDimension: D, scale: 0.158, causal: false, into: $0, outStride: width,
                                  context: context)
            }
            let want = Self.gather(v, rows: [Int](repeating: 0, count: queries), width: width, stride: width)
            #expect(Self.worst(got, want) <= Self.exact, "isa \(isa.rawValue) threads \(context.threadCount)")
        }
    }

    /// 4096 × 4096 (SD 1.5's 64×64 latent self-attention), one head: rows spread over the query tiles
    /// checked against the reference run on just those rows (non-causal rows are independent).
    @Test func attentionOverFullLatentSequenceMatchesReferenceRows() {
        var rng = SplitMix64(seed: 0x4096)
        let n = 4096, D = 40
        let q = rng.floats(n * D, scale: 2), k = rng.floats(n * D, scale: 2), v = rng.floats(n * D)
        let rows = [0, 1, 63, 64, 1000, 2047, 4031, 4095]
        let subset = Self.gather(q, rows: rows, width: D, stride: D)
        let want = DiffusionOpsReference.attention(q: subset, k: k, v: v, queries: rows.count, keys: n, heads: 1, headDimension: D,
                                                   scale: 0.158, causal: false)
        let context = Self.contexts[1]
        let out = Self.output(n * D) {
            Kernels.attention(query: q, queryStride: D, key: k, keyStride: D, value: v, valueStride: D, queries: n, keys: n, heads: 1,
                              headDimension: D, scale: 0.158, causal: false, into: $0, outStride: D, context: context)
        }
        let got = Self.gather(out, rows: rows, width: D, stride: D)
        #expect(Self.worst(got, want) <= Self.attentionTolerance)
    }

    // MARK: - Activations, linear, upsampling

    /// Values over the activations' whole useful range and both tails.
    static func activationInputs() -> [Float] {
        var rng = SplitMix64(seed: 0xAC7)
        var x = rng.floats(1003, scale: 6)
        x += stride(from: Float(-40), through: 40, by: 0.37).map { $0 }
        x += [0, -0.0, 1e-20, -1e-20, 1e-3, -1e-3, 3, -3, 13, -13, 87, -87, 100, -100]
        return x
    }

    static func relativeWorst(_ got: [Float], _ want: [Float]) -> Float {
        var w: Float = 0
        for i in got.indices {
            let e = abs(got[i] - want[i])
            if e.isNaN { return .infinity }
            if e > activationAbsolute { w = max(w, e / abs(want[i])) }
        }
        return w
    }

    @Test func exactGELUFamilyMatchesReference() {
        let x = Self.activationInputs()
        var rng = SplitMix64(seed: 0x6E6)
        let up = rng.floats(x.count, scale: 3)
        let gelu = x.map(DiffusionOpsReference.gelu), quick = x.map(DiffusionOpsReference.quickGELU), silu = x.map(DiffusionOpsReference.silu)
        let geglu = DiffusionOpsReference.geglu(gate: x, up: up)
        // The C `_ref` functions are the same Double formulas.
        #expect(Self.output(x.count) { sp_gelu_erf_ref(x, $0, Int64(x.count)) } == gelu)
        #expect(Self.output(x.count) { sp_silu_ref(x, $0, Int64(x.count)) } == silu)
        Self.forEachISA { isa, context in
            var a = x, b = x, c = x, g = x, h = x
            Kernels.gelu(&a, count: a.count)
            Kernels.quickGELU(&b, count: b.count, context: context)
            Kernels.silu(&c, count: c.count)
            Kernels.gelu(gate: &g, up: up, count: g.count)
            Kernels.gelu(&h, count: h.count, context: context)
            let tag = "isa \(isa.rawValue) threads \(context.threadCount)"
            #expect(Self.relativeWorst(a, gelu) <= Self.activationRelative, "gelu \(tag)")
            #expect(Self.relativeWorst(h, gelu) <= Self.activationRelative, "gelu threaded \(tag)")
            #expect(Self.relativeWorst(b, quick) <= Self.activationRelative, "quickGELU \(tag)")
            #expect(Self.relativeWorst(c, silu) <= Self.activationRelative, "silu \(tag)")
            #expect(Self.relativeWorst(g, geglu) <= Self.activationRelative, "geglu \(tag)")
        }
    }

    @Test func gegluOnFusedProjectionMultipliesHiddenByGELUOfGate() {
        var rng = SplitMix64(seed: 0x9E)
        let tokens = 77, inner = 1280 + 7
        let projected = rng.floats(tokens * 2 * inner, scale: 4)
        let hidden: [Float], gate: [Float]
        hidden = Self.gather(projected, rows: Array(0..<tokens), width: inner, stride: 2 * inner)
        gate = Self.gather(projected, rows: Array(0..<tokens), offset: inner, width: inner, stride: 2 * inner)
        let want = DiffusionOpsReference.geglu(gate: gate, up: hidden)
        Self.forEachISA { isa, context in
            let got = Self.output(tokens * inner) { Kernels.geglu(projected, tokens: tokens, innerFeatures: inner, into: $0, context: context) }
            #expect(Self.relativeWorst(got, want) <= Self.activationRelative, "isa \(isa.rawValue) threads \(context.threadCount)")
        }
    }

    @Test(arguments: [(4096 / 16, 320, 1280), (77, 768, 320), (1, 320, 1280), (33, 17, 5)])
    func linearMatchesReference(_ c: (tokens: Int, inFeatures: Int, outFeatures: Int)) {
        var rng = SplitMix64(seed: UInt64(c.tokens + c.inFeatures * 3 + c.outFeatures))
        let x = rng.floats(c.tokens * c.inFeatures), w = rng.floats(c.outFeatures * c.inFeatures), b = rng.floats(c.outFeatures)
        for bias in [b, nil] {
            let want = DiffusionOpsReference.linear(x, weight: w, bias: bias, inFeatures: c.inFeatures, outFeatures: c.outFeatures)
            for context in Self.contexts {
                let got = Self.output(c.tokens * c.outFeatures) { y in
                    bias.withUnsafeBufferPointer { bp in
                        Kernels.linear(x, tokens: c.tokens, weight: w, bias: bp?.baseAddress, inFeatures: c.inFeatures,
                                       outFeatures: c.outFeatures, into: y, context: context)
                    }
                }
                #expect(Self.worst(got, want) <= Self.linearTolerance, "linear \(c) bias \(bias != nil) threads \(context.threadCount)")
            }
        }
    }

    @Test func upsampleNearest2xRepeatsEachPixelTwiceAlongBothAxes() {
        var rng = SplitMix64(seed: 0x2)
        for shape in [FeatureMapShape(height: 3, width: 5, channels: 17), FeatureMapShape(height: 1, width: 1, channels: 4),
                      FeatureMapShape(height: 8, width: 8, channels: 320)] {
            let x = rng.floats(shape.count)
            let got = Self.output(4 * shape.count) { Kernels.upsampleNearest2x(x, shape: shape, into: $0) }
            #expect(got == DiffusionOpsReference.upsampleNearest2x(x, shape: shape), "\(shape)")
        }
    }
}

extension Optional where Wrapped == [Float] {
    /// The array's buffer, or nil, for an optional pointer argument.
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>?) -> R) -> R {
        switch self {
        case .some(let a): return a.withUnsafeBufferPointer { body($0) }
        case .none: return body(nil)
        }
    }
}
