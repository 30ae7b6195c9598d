import CSparrowKernels
import Foundation
import Testing
import SparrowRuntime

/// Tolerances of float ops against their Double-accumulating reference twins.
enum OpTolerance {
    /// Float32 arithmetic in another order: relative to the magnitude of the values involved.
    static let float32Reordered: Float = 2e-5
    /// Values that went through an F16 KV cache (11-bit mantissa).
    static let f16Cache: Float = 2e-3
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct OpsTests {
    let context = ExecutionContext(threadCount: 2)

    @Test func rmsNormMatchesReference() {
        var g = SplitMix64(seed: 1)
        let n = 576, rows = 3
        let x = g.floats(rows * n, scale: 3), w = g.floats(n)
        var y = [Float](repeating: 0, count: rows * n)
        Kernels.rmsNorm(x, weight: w, epsilon: 1e-5, rows: rows, n: n, output: &y, context: context)
        let ref = ReferenceKernels.rmsNorm(x, weight: w, epsilon: 1e-5, n: n)
        #expect(maxAbsDifference(y, ref) < OpTolerance.float32Reordered * 4)
    }

    @Test(arguments: [RotaryEmbedding.Pairing.adjacent, .halves])
    func ropeMatchesReference(pairing: RotaryEmbedding.Pairing) {
        var g = SplitMix64(seed: 2)
        let D = 64, heads = 3
        let rope = RotaryEmbedding(dimensionCount: D, base: 100_000, pairing: pairing, maxPositions: 4096)
        for position in [0, 1, 17, 4095] {
            var x = g.floats(heads * D)
            let original = x
            rope.apply(&x, heads: heads, headDimension: D, position: position)
            for h in 0..<heads {
                let ref = ReferenceKernels.rope(
                    Array(original[(h * D)..<((h + 1) * D)]), position: position, dimensionCount: D, base: 100_000,
                    halves: pairing == .halves)
                #expect(maxAbsDifference(Array(x[(h * D)..<((h + 1) * D)]), ref) < 1e-5, "position \(position)")
            }
        }
    }

    /// Rotation preserves each pair's norm, and position 0 is the identity.
    @Test func ropeIsARotation() {
        var g = SplitMix64(seed: 3)
        let rope = RotaryEmbedding(dimensionCount: 64, base: 10_000, pairing: .adjacent, maxPositions: 128)
        var x = g.floats(64)
        let original = x
        rope.apply(&x, heads: 1, headDimension: 64, position: 0)
        #expect(x == original)
        rope.apply(&x, heads: 1, headDimension: 64, position: 100)
        for i in 0..<32 {
            let a = original[2 * i] * original[2 * i] + original[2 * i + 1] * original[2 * i + 1]
            let b = x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1]
            #expect(abs(a - b) < 1e-5)
        }
    }

    /// Cached attention (F16 KV, fast path) against the Double reference on F16-rounded keys/values,
    /// for a prompt batch and then single decoded tokens, with grouped KV heads, with and without a
    /// sliding window.
    @Test(arguments: [(H: 9, Hkv: 3, D: 64, window: 0), (H: 4, Hkv: 1, D: 256, window: 5)])
    func attentionWithGroupedHeadsMatchesReference(H: Int, Hkv: Int, D: Int, window: Int) {
        var g = SplitMix64(seed: 4)
        let layers = 2, T = 7
        let cache = KVCache(layerCount: layers, capacity: 32, kvHeadCount: Hkv, headDimension: D, threadCount: 2)
        var allK: [Float] = [], allV: [Float] = []
        let scale = 1 / Float(D).squareRoot()
        var p0 = 0
        for step in 0..<3 {
            let tokens = step == 0 ? T : 1
            let q = g.floats(tokens * H * D, scale: 2), k = g.floats(tokens * Hkv * D, scale: 2), v = g.floats(tokens * Hkv * D)
            cache.store(layer: 1, firstPosition: p0, tokens: tokens, keys: k, values: v)
            allK += k.map { Float(Float16($0)) }
            allV += v.map { Float(Float16($0)) }
            var out = [Float](repeating: 0, count: tokens * H * D)
            Kernels.attention(query: q, cache: cache, layer: 1, firstPosition: p0, tokens: tokens, heads: H, scale: scale, window: window, output: &out, context: context)
            let ref = ReferenceKernels.attention(
                q: q, keys: allK, values: allV, tokens: tokens, firstPosition: p0, heads: H, kvHeads: Hkv, headDimension: D, scale: scale,
                window: window)
            #expect(maxAbsDifference(out, ref) < OpTolerance.float32Reordered * 10, "step \(step)")
            p0 += tokens
        }
    }

    @Test func swiGLUMatchesReference() {
        var g = SplitMix64(seed: 5)
        var gate = g.floats(1536, scale: 8)
        let up = g.floats(1536, scale: 2)
        let ref = ReferenceKernels.swiGLU(gate: gate, up: up)
        Kernels.swiGLU(gate: &gate, up: up, count: gate.count, context: context)
        #expect(maxAbsDifference(gate, ref) < OpTolerance.float32Reordered * 8)
    }

    /// The fused three-weight matmul equals the scalar reference kernel for each weight, for a
    /// single token and a batch.
    @Test(arguments: [1, 5])
    func fusedMatmulMatchesReference(tokens: Int) {
        var g = SplitMix64(seed: 7)
        let K = 64, type = Int32(SP_TYPE_Q8_0)
        let rows = [48, 16, 33]
        let mats = rows.map { randomWeights(type: type, rows: $0, k: K, rng: &g).bytes }
        let x = g.floats(tokens * K)
        let outs = rows.map { UnsafeMutablePointer<Float>.allocate(capacity: tokens * $0) }
        defer { outs.forEach { $0.deallocate() } }
        let data = mats.map { bytes -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
            p.copyMemory(from: bytes, byteCount: bytes.count)
            return p
        }
        defer { data.forEach { $0.deallocate() } }
        let ws = (0..<3).map { WeightMatrix(name: "w\($0)", type: .q8_0, rows: rows[$0], columns: K, data: data[$0]) }
        Kernels.matmul(
            input: x, tokens: tokens, context: context, op: .other,
            MatmulTarget(ws[0], outs[0]), MatmulTarget(ws[1], outs[1]), MatmulTarget(ws[2], outs[2]))

        let xqRow = sp_row_bytes(type, Int64(K))
        var xq = [UInt8](repeating: 0, count: tokens * xqRow)
        xq.withUnsafeMutableBytes { q in
            for t in 0..<tokens { sp_quantize_row_ref(type, Array(x[(t * K)..<((t + 1) * K)]), q.baseAddress! + t * xqRow, Int64(K)) }
        }
        for (i, w) in ws.enumerated() {
            var ref = [Float](repeating: 0, count: tokens * w.rows)
            sp_matmul_ref(type, w.data, w.rowBytes, Int64(K), xq, xqRow, Int64(tokens), &ref, Int64(w.rows), 0, Int64(w.rows))
            let got = Array(UnsafeBufferPointer(start: outs[i], count: tokens * w.rows))
            #expect(maxAbsDifference(got, ref) < 1e-4, "weight \(i)")
        }
    }
}
