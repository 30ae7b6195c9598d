import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// Products and activation quantization of the Q4_K_M / Q5_K_M formats (Q5_0, Q5_1, IQ4_NL, Q2_K …
/// Q6_K): every instruction set against the scalar reference, on the shapes of real models, and the
/// reference against a dot product of dequantized values in Double.
@Suite(.serialized)
struct QuantParityTests {
    static let blockTypes: [GGMLType] = [.q5_0, .q5_1, .iq4_nl]
    static let superBlockTypes: [GGMLType] = [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
    /// Row counts covering every row tile and remainder (tiles of 1, 2, 4 and 8 rows).
    static let rowCounts = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33]

    /// Byte offsets of the f16 fields in one block (ggml-common.h), which the generator keeps finite.
    static func f16Offsets(_ type: GGMLType) -> [Int] {
        switch type {
        case .q5_0, .iq4_nl: return [0]
        case .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q2_K: return [80, 82]
        case .q3_K: return [108]
        case .q6_K: return [208]
        default: return []
        }
    }

    /// Random blocks: random bytes, f16 scales of both signs with magnitudes 2^-10 … 2^-4.
    static func weights(_ type: GGMLType, rows: Int, k: Int, rng: inout SplitMix64) -> TestWeights {
        let t = Int32(type.rawValue)
        var bytes = (0..<(rows * sp_row_bytes(t, Int64(k)))).map { _ in rng.nextByte() }
        let blockBytes = type.blockGeometry.bytes
        for o in stride(from: 0, to: bytes.count, by: blockBytes) {
            for f in f16Offsets(type) {
                let h = sp_f32_to_f16_1(rng.nextFloat() * 0x1p-4 + (rng.nextFloat() < 0 ? 0x1p-10 : -0x1p-10))
                bytes[o + f] = UInt8(truncatingIfNeeded: h)
                bytes[o + f + 1] = UInt8(truncatingIfNeeded: h >> 8)
            }
        }
        return TestWeights(type: t, rows: rows, k: k, bytes: bytes)
    }

    /// Per element, |w| plus the magnitude of the min term the kernels add separately (Q5_1 m,
    /// K-quant dmin · min): the scale of a dot product's rounding error, as `TestWeights.absDots`.
    static func magnitudes(_ w: TestWeights, _ x: ActivationRows) -> [[Double]] {
        let type = GGMLType(rawValue: UInt32(w.type))!
        var out = [[Double]](repeating: [Double](repeating: 0, count: w.rows), count: x.count)
        let xs = (0..<x.count).map { x.values($0).map { abs(Double($0)) } }
        var row = [Float](repeating: 0, count: w.k)
        let blockBytes = type.blockGeometry.bytes, blockSize = type.blockSize
        for r in 0..<w.rows {
            let base = r * w.rowBytes
            Array(w.bytes[base..<(base + w.rowBytes)]).withUnsafeBytes { sp_dequantize_row_ref(w.type, $0.baseAddress, &row, Int64(w.k)) }
            for i in 0..<w.k {
                let o = base + i / blockSize * blockBytes
                func f16(_ at: Int) -> Double { Double(sp_f16_to_f32_1(UInt16(w.bytes[at]) | UInt16(w.bytes[at + 1]) << 8)) }
                var m = 0.0
                switch type {
                case .q5_1: m = abs(f16(o + 2))
                case .q2_K: m = abs(f16(o + 82)) * 15
                case .q4_K, .q5_K: m = abs(f16(o + 2)) * 63
                default: break
                }
                for t in 0..<x.count { out[t][r] += (abs(Double(row[i])) + m) * xs[t][i] }
            }
        }
        return out
    }

    /// Float sums reordered, relative to the magnitude above (as KernelParityTests.float32Reordered).
    static let float32Reordered = 1e-5

    static func check(_ type: GGMLType, rows: Int, k: Int, tokens: Int, rng: inout SplitMix64) -> String? {
        let w = weights(type, rows: rows, k: k, rng: &rng)
        let x = ActivationRows(type: w.type, count: tokens, k: k, rng: &rng)
        var expected = [Float](repeating: 0, count: tokens * rows)
        w.bytes.withUnsafeBytes { wp in
            x.quantized.withUnsafeBytes { xp in
                sp_matmul_ref(w.type, wp.baseAddress, w.rowBytes, Int64(k), xp.baseAddress, x.rowBytes,
                              Int64(tokens), &expected, Int64(rows), 0, Int64(rows))
            }
        }
        let magnitude = magnitudes(w, x)
        var failure: String?
        KernelParityTests.forEachISA { isa in
            var y = [Float](repeating: .nan, count: rows)
            var yy = [Float](repeating: .nan, count: tokens * rows)
            let r0 = rows > 2 ? 1 : 0
            w.bytes.withUnsafeBytes { wp in
                x.quantized.withUnsafeBytes { xp in
                    sp_matvec(w.type, wp.baseAddress, w.rowBytes, Int64(k), xp.baseAddress, &y, 0, Int64(rows))
                    sp_matmul(w.type, wp.baseAddress, w.rowBytes, Int64(k), xp.baseAddress, x.rowBytes,
                              Int64(tokens), &yy, Int64(rows), Int64(r0), Int64(rows))
                }
            }
            for r in 0..<rows where failure == nil {
                if !(abs(Double(y[r]) - Double(expected[r])) <= float32Reordered * magnitude[0][r] + 1e-30) {
                    failure = "matvec \(type) isa \(isa.rawValue) K \(k) rows \(rows) row \(r): \(y[r]) vs \(expected[r])"
                }
            }
            for t in 0..<tokens where failure == nil {
                for r in r0..<rows where failure == nil {
                    let got = yy[t * rows + r], want = expected[t * rows + r]
                    if !(abs(Double(got) - Double(want)) <= float32Reordered * magnitude[t][r] + 1e-30) {
                        failure = "matmul \(type) isa \(isa.rawValue) K \(k) rows \(rows) N \(tokens) [\(t), \(r)]: \(got) vs \(want)"
                    }
                }
                for r in 0..<r0 where !yy[t * rows + r].isNaN { failure = "matmul \(type) wrote outside [r0, r1)" }
            }
        }
        return failure
    }

    @Test(arguments: blockTypes + superBlockTypes)
    func productsMatchReferenceOnEveryISA(type: GGMLType) {
        var rng = SplitMix64(seed: 0x4B0 + UInt64(type.rawValue))
        // Gemma-3 270M: K = 640 (Q5_0 fallback rows) and 2048 / 1024 (K-quant rows).
        let ks = type.blockSize == 256 ? [256, 1024, 2048] : [32, 640, 2048]
        for k in ks {
            for rows in Self.rowCounts {
                let tokens = 1 + (rows + k / 32) % 5  // 1 … 5 activation rows
                let failure = Self.check(type, rows: rows, k: k, tokens: tokens, rng: &rng)
                #expect(failure == nil, "\(failure ?? "")")
                if failure != nil { return }
            }
        }
    }

    /// The reference dot product against Σ dequantized weight · dequantized activation in Double:
    /// ties the integer formulation (scales applied per block, mins through bsums) to the formats.
    @Test(arguments: blockTypes + superBlockTypes)
    func referenceDotEqualsDequantizedDot(type: GGMLType) {
        var rng = SplitMix64(seed: 0xD07 + UInt64(type.rawValue))
        let k = 1024
        let w = Self.weights(type, rows: 3, k: k, rng: &rng)
        let x = ActivationRows(type: w.type, count: 1, k: k, rng: &rng)
        let xv = x.values(0)
        let magnitude = Self.magnitudes(w, x)[0]
        var row = [Float](repeating: 0, count: k)
        for r in 0..<3 {
            let bytes = Array(w.bytes[(r * w.rowBytes)..<((r + 1) * w.rowBytes)])
            bytes.withUnsafeBytes { sp_dequantize_row_ref(w.type, $0.baseAddress, &row, Int64(k)) }
            var want = 0.0
            for i in 0..<k { want += Double(row[i]) * Double(xv[i]) }
            var got: Float = 0
            bytes.withUnsafeBytes { wp in
                x.quantized.withUnsafeBytes { xp in sp_matvec_ref(w.type, wp.baseAddress, w.rowBytes, Int64(k), xp.baseAddress, &got, 0, 1) }
            }
            // Q5_1's block term m · s uses s rounded to f16 (as llama.cpp): f16 rounding of each s.
            let slack = type == .q5_1 ? 0x1p-11 * magnitude[r] : 0
            #expect(abs(Double(got) - want) <= Self.float32Reordered * magnitude[r] + slack, "\(type) row \(r): \(got) vs \(want)")
        }
    }

    @Test func q8_KQuantizationIsBitIdenticalOnEveryISA() {
        var rng = SplitMix64(seed: 0x08C)
        // Ties of iscale · x (max -127: iscale 1), equal magnitudes of both signs (first one wins),
        // a zero block, tiny and huge values.
        var crafted: [Float] = [0.5, -0.5, 1.5, -2.5, 126.5, 127, -127, 3.5]
        crafted += (crafted.count..<256).map { Float($0 % 50) - 24.5 }
        var negFirst = crafted
        negFirst[5] = -127; negFirst[6] = 127
        let inputs: [[Float]] = [
            crafted, negFirst, [Float](repeating: 0, count: 256),
            (0..<2048).map { _ in rng.nextFloat() * 3 },
            (0..<1024).map { i in i % 7 == 0 ? rng.nextFloat() * 1e4 : rng.nextFloat() * 1e-3 },
            [Float](repeating: 0, count: 256) + (0..<256).map { _ in rng.nextFloat() * 1e-30 },
        ]
        let act = Int32(SP_TYPE_Q8_K)
        for x in inputs {
            let bytes = sp_row_bytes(act, Int64(x.count))
            var want = [UInt8](repeating: 0x55, count: bytes)
            sp_quantize_row_ref(act, x, &want, Int64(x.count))
            // Dequantized values are within half a step of the input.
            var back = [Float](repeating: 0, count: x.count)
            sp_dequantize_row_ref(act, want, &back, Int64(x.count))
            for b in 0..<(x.count / 256) {
                let amax = x[(b * 256)..<(b * 256 + 256)].map(abs).max() ?? 0
                for i in (b * 256)..<(b * 256 + 256) where !(abs(back[i] - x[i]) <= amax / 127 * 0.5001) {
                    Issue.record("Q8_K element \(i): \(back[i]) vs \(x[i])")
                    break
                }
            }
            KernelParityTests.forEachISA { isa in
                var got = [UInt8](repeating: 0xAA, count: bytes)
                sp_quantize_row(act, x, &got, Int64(x.count))
                #expect(got == want, "Q8_K isa \(isa.rawValue) n \(x.count)")
            }
        }
    }

    /// `Kernels.matmul` end to end (activation conversion, thread split, ISA dispatch; 16 and 37
    /// tokens take the SGEMM path for the types `Kernels.usesBLAS` lists) against the reference
    /// product, two fused weights per type, 1 and 2 threads.
    @Test(arguments: [1, 5, 16, 37])
    func kernelsMatmulMatchesReference(tokens: Int) {
        var rng = SplitMix64(seed: 0xE2E &+ UInt64(tokens))
        let K = 1024, rows = [48, 21]
        for threads in [1, 2] {
            let context = ExecutionContext(threadCount: threads)
            for type in Self.blockTypes + Self.superBlockTypes {
                let weights = rows.map { Self.weights(type, rows: $0, k: K, rng: &rng) }
                let x = rng.floats(tokens * K, scale: 3)
                let act = sp_vec_dot_type(Int32(type.rawValue))
                let activations = ActivationRows(type: Int32(type.rawValue), values: x, k: K)
                let data = weights.map { w -> UnsafeMutableRawPointer in
                    let p = UnsafeMutableRawPointer.allocate(byteCount: w.bytes.count, alignment: 64)
                    p.copyMemory(from: w.bytes, byteCount: w.bytes.count)
                    return p
                }
                defer { data.forEach { $0.deallocate() } }
                let mats = (0..<2).map { WeightMatrix(name: "w\($0)", type: type, rows: rows[$0], columns: K, data: data[$0]) }
                #expect(mats[0].activationType.rawValue == UInt32(act))
                var out0 = [Float](repeating: .nan, count: tokens * rows[0])
                var out1 = [Float](repeating: .nan, count: tokens * rows[1])
                out0.withUnsafeMutableBufferPointer { o0 in
                    out1.withUnsafeMutableBufferPointer { o1 in
                        Kernels.matmul(input: x, tokens: tokens, context: context, op: .other,
                                       MatmulTarget(mats[0], o0.baseAddress!), MatmulTarget(mats[1], o1.baseAddress!))
                    }
                }
                let outs = [out0, out1]
                for i in 0..<2 {
                    var ref = [Float](repeating: 0, count: tokens * rows[i])
                    activations.quantized.withUnsafeBytes { xp in
                        sp_matmul_ref(Int32(type.rawValue), data[i], mats[i].rowBytes, Int64(K), xp.baseAddress, activations.rowBytes,
                                      Int64(tokens), &ref, Int64(rows[i]), 0, Int64(rows[i]))
                    }
                    let magnitude = Self.magnitudes(weights[i], activations)
                    var worst = 0.0
                    for t in 0..<tokens {
                        for r in 0..<rows[i] {
                            let err = abs(Double(outs[i][t * rows[i] + r]) - Double(ref[t * rows[i] + r]))
                            worst = max(worst, err / (magnitude[t][r] + 1e-30))
                        }
                    }
                    #expect(worst <= Self.float32Reordered, "\(type) tokens \(tokens) threads \(threads) weight \(i): relative error \(worst)")
                }
            }
        }
    }
}

extension ActivationRows {
    /// Given activation rows ([count, k] floats) converted by the scalar reference.
    init(type: Int32, values: [Float], k: Int) {
        let act = sp_vec_dot_type(type), rb = sp_row_bytes(act, Int64(k)), count = values.count / k
        var q = [UInt8](repeating: 0, count: count * rb)
        q.withUnsafeMutableBytes { p in
            for t in 0..<count {
                sp_quantize_row_ref(act, Array(values[(t * k)..<((t + 1) * k)]), p.baseAddress! + t * rb, Int64(k))
            }
        }
        self.count = count
        self.k = k
        activationType = act
        quantized = q
    }
}
