import CSparrowKernels
import Foundation
import Testing

/// Fast CPU kernels against their scalar references, for every weight type and every instruction set
/// this CPU has (forced with `sp_set_isa`). Products may differ from the reference only by float
/// summation order; conversions and activation quantization must be bit-identical.
@Suite(.serialized)
struct KernelParityTests {
    /// Float sums reordered: relative to the sum of |terms| (f32, up to 11008 terms in blocks of 32).
    static let float32Reordered = 1e-5

    static let weightTypes: [(name: String, type: Int32)] = [
        ("F32", Int32(SP_TYPE_F32)), ("F16", Int32(SP_TYPE_F16)), ("BF16", Int32(SP_TYPE_BF16)),
        ("Q4_0", Int32(SP_TYPE_Q4_0)), ("Q4_1", Int32(SP_TYPE_Q4_1)), ("Q8_0", Int32(SP_TYPE_Q8_0)),
    ]

    /// The instruction sets this CPU supports, scalar first.
    static var isas: [sp_isa] {
        [SP_ISA_SCALAR, SP_ISA_AVX2, SP_ISA_AVX512].filter { $0.rawValue <= sp_detected_isa().rawValue }
    }

    /// Runs `body` once per available instruction set and restores the active one afterwards.
    static func forEachISA(_ body: (sp_isa) throws -> Void) rethrows {
        let saved = sp_active_isa()
        defer { sp_set_isa(saved) }
        for isa in isas {
            sp_set_isa(isa)
            try body(isa)
        }
    }

    @Test func matvecAndMatmulMatchReferenceForEveryTypeAndISA() {
        var rng = SplitMix64(seed: 0x5EED)
        for (name, type) in Self.weightTypes {
            for k in [32, 64, 576, 1536, 2048] {
                for rows in [1, 3, 17, 576] {
                    let w = randomWeights(type: type, rows: rows, k: k, rng: &rng)
                    let x = ActivationRows(type: type, count: 6, k: k, rng: &rng)
                    Self.checkProducts(name: name, weights: w, activations: x)
                }
            }
        }
    }

    @Test func bigRowsMatchReference() {
        var rng = SplitMix64(seed: 0xB16)
        for (name, type) in Self.weightTypes {
            for k in [4096, 11008, 14336] {
                let w = randomWeights(type: type, rows: 5, k: k, rng: &rng)
                let x = ActivationRows(type: type, count: 5, k: k, rng: &rng)
                Self.checkProducts(name: name, weights: w, activations: x)
            }
        }
    }

    /// Vocabulary-sized outputs (32000 to 262144 rows, small K): row tiles, remainders and the
    /// prefetcher over many rows.
    @Test func vocabularyRowCountsMatchReference() {
        var rng = SplitMix64(seed: 0x7AB)
        for (name, type) in Self.weightTypes {
            for rows in [32000, 151_937, 262_144] {
                let w = randomWeights(type: type, rows: rows, k: 32, rng: &rng)
                let x = ActivationRows(type: type, count: 2, k: 32, rng: &rng)
                Self.checkProducts(name: name, weights: w, activations: x)
            }
        }
    }

    /// SwiGLU against silu(g) · u in Double, on every ISA: the vector exp is within a few ulp, so
    /// the result is within `swiGLURelative` of the exact value; for g < -87, where the exp input is
    /// clamped at 88, at most |g · u| · e^-88 (< 1e-38 |g · u|) in magnitude.
    static let swiGLURelative = 1e-6

    @Test func swiGLUMatchesDoubleReference() {
        var rng = SplitMix64(seed: 0x511)
        var g: [Float] = [0, -0.0, 1e-8, -1e-8, 1, -1, 20, -20, 80, -80, 87, -87, 88, -88, 89, -89, 100, -100, 1e4, -1e4]
        g += (g.count..<1037).map { _ in rng.nextFloat() * 24 }
        let u = (0..<g.count).map { _ in rng.nextFloat() * 3 }
        Self.forEachISA { isa in
            for n in [g.count, 15, 7, 1] {
                var out = Array(g[0..<n])
                sp_swiglu(&out, u, Int64(n))
                for i in 0..<n {
                    let gd = Double(g[i]), want = gd / (1 + exp(-gd)) * Double(u[i])
                    let err = abs(Double(out[i]) - want)
                    #expect(err <= Self.swiGLURelative * abs(want) || (g[i] < -87 && abs(Double(out[i])) <= 1e-38 * abs(gd * Double(u[i]))),
                            "swiGLU isa \(isa.rawValue) g \(g[i]) u \(u[i]): \(out[i]) vs \(want)")
                }
            }
        }
    }

    /// The prompt-batch attention kernel (16 queries on lanes, online softmax) against the per-query
    /// reference, on every ISA: grouped and plain heads, head sizes of real models (64, 128) and an
    /// odd one, query counts that leave partial lane groups and cross key blocks, a cache prefix, and a
    /// sliding window shorter than the prefix (Gemma 3's local layers).
    @Test(arguments: [(heads: 9, kvHeads: 3, D: 64, window: 0), (heads: 4, kvHeads: 4, D: 128, window: 0),
                      (heads: 8, kvHeads: 2, D: 40, window: 0), (heads: 4, kvHeads: 1, D: 256, window: 19)])
    func promptAttentionMatchesReference(heads: Int, kvHeads: Int, D: Int, window: Int) {
        var rng = SplitMix64(seed: UInt64(heads * 1000 + D))
        let tokens = 37, firstPosition = 21, positions = firstPosition + tokens, group = heads / kvHeads
        let q = (0..<(tokens * heads * D)).map { _ in rng.nextFloat() * 3 }
        let kv = (0..<(2 * positions * kvHeads * D)).map { _ in sp_f32_to_f16_1(rng.nextFloat() * 2) }
        let scratchCount = sp_attention_gqa_scratch_floats(Int64(D), Int64(positions))
        var scratch = [Float](repeating: 0, count: scratchCount)
        func run(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int64, Int64, Int64, Int64, Int64, Int64, Int64,
                            UnsafePointer<UInt16>, UnsafePointer<UInt16>, Int, Int64, Float, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var out = [Float](repeating: .nan, count: tokens * heads * D)
            kv.withUnsafeBufferPointer { kvp in
                let k = kvp.baseAddress!, v = k + positions * kvHeads * D
                for h in 0..<kvHeads {
                    // Uneven splits of the group's queries, as threads claim them (with the window, one call
                    // starts where its lanes' windows begin in different key blocks).
                    var first = 0
                    for n in [16, 5, 3, 20, 1, 100] where first < tokens * group {
                        let count = min(n, tokens * group - first)
                        kernel(q, &out, Int64(heads), Int64(group), Int64(h), Int64(first), Int64(count), Int64(firstPosition),
                               Int64(window), k, v, kvHeads * D, Int64(D), 1 / Float(D).squareRoot(), &scratch)
                        first += count
                    }
                }
            }
            return out
        }
        let want = run(sp_attention_gqa_f16_ref)
        Self.forEachISA { isa in
            let got = run(sp_attention_gqa_f16)
            var worst: Float = 0
            for i in 0..<want.count { worst = max(worst, abs(got[i] - want[i])) }
            #expect(worst <= 1e-5, "isa \(isa.rawValue) heads \(heads)/\(kvHeads) D \(D): max difference \(worst)")
        }
    }

    /// GeGLU: the reference equals the Double tanh-GELU up to the two roundings to half precision
    /// llama.cpp applies (input and result, 2⁻¹¹ relative each, times the slope; inputs below half's
    /// subnormals become 0) and tanhf's absolute error where 1 + tanh cancels (large negative x); the
    /// fast path (a table) is bit-identical.
    @Test func geGLUMatchesReference() {
        var rng = SplitMix64(seed: 0x6e1)
        var g: [Float] = [0, -0.0, 1e-8, -1e-8, 1, -1, 3, -3, 9.99, -9.99, 10, -10, 10.01, -10.01, 100, -100]
        g += (g.count..<1037).map { _ in rng.nextFloat() * 12 }
        let u = (0..<g.count).map { _ in rng.nextFloat() * 3 }
        var ref = g
        sp_geglu_ref(&ref, u, Int64(g.count))
        for i in 0..<g.count {
            let x = Double(g[i])
            let gelu = x <= -10 ? 0 : x >= 10 ? x : 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
            let want = gelu * Double(u[i])
            // Rounding x to half flushes |x| < 3e-8 (half the smallest subnormal) to zero: 3e-8 · |u| absolute.
            #expect(abs(Double(ref[i]) - want) <= 4e-3 * abs(want) + 1e-7 * abs(x * Double(u[i])) + 3e-8 * Double(abs(u[i])),
                    "reference x \(x)")
        }
        Self.forEachISA { isa in
            for n in [g.count, 15, 7, 1] {
                var out = Array(g[0..<n])
                sp_geglu(&out, u, Int64(n))
                #expect(out == Array(ref[0..<n]), "geGLU isa \(isa.rawValue), \(n) values")
            }
        }
    }

    /// sp_matvec on row ranges that start anywhere and cover every row-tile size the kernels use
    /// (8, 4 and single rows, as a thread's share of a split matrix has), against sp_matvec_ref.
    @Test func matvecOnRowRangesMatchesReference() {
        var rng = SplitMix64(seed: 0x7A9E)
        for (name, type) in Self.weightTypes {
            for k in [576, 1536] {
                let rows = 29
                let w = randomWeights(type: type, rows: rows, k: k, rng: &rng)
                let x = ActivationRows(type: type, count: 1, k: k, rng: &rng)
                var expected = [Float](repeating: 0, count: rows)
                w.bytes.withUnsafeBytes { wp in
                    x.quantized.withUnsafeBytes { xp in
                        sp_matvec_ref(w.type, wp.baseAddress, w.rowBytes, Int64(k), xp.baseAddress, &expected, 0, Int64(rows))
                    }
                }
                let magnitude = w.absDots(with: [x.values(0)])[0]
                Self.forEachISA { isa in
                    var failure: String?
                    for (r0, r1) in [(0, 29), (3, 16), (1, 13), (5, 9), (7, 8)] {
                        var y = [Float](repeating: .nan, count: r1 - r0)
                        w.bytes.withUnsafeBytes { wp in
                            x.quantized.withUnsafeBytes { xp in
                                sp_matvec(w.type, wp.baseAddress, w.rowBytes, Int64(k), xp.baseAddress, &y, Int64(r0), Int64(r1))
                            }
                        }
                        for r in r0..<r1 where failure == nil {
                            if !(abs(Double(y[r - r0]) - Double(expected[r])) <= Self.float32Reordered * magnitude[r] + 1e-30) {
                                failure = "matvec \(name) isa \(isa.rawValue) K \(k) rows [\(r0), \(r1)) row \(r): \(y[r - r0]) vs \(expected[r])"
                            }
                        }
                    }
                    #expect(failure == nil, "\(failure ?? "")")
                }
            }
        }
    }

    /// sp_matvec (first activation row) and sp_matmul (all rows, on a row range that does not start
    /// at 0) against sp_matvec_ref / sp_matmul_ref, on every ISA.
    static func checkProducts(name: String, weights w: TestWeights, activations x: ActivationRows) {
        let n = x.count, rows = w.rows
        var expected = [Float](repeating: 0, count: n * rows)
        w.bytes.withUnsafeBytes { wp in
            x.quantized.withUnsafeBytes { xp in
                sp_matmul_ref(w.type, wp.baseAddress, w.rowBytes, Int64(w.k), xp.baseAddress, x.rowBytes,
                              Int64(n), &expected, Int64(rows), 0, Int64(rows))
            }
        }
        let magnitude = w.absDots(with: (0..<n).map { x.values($0) })
        forEachISA { isa in
            var y = [Float](repeating: .nan, count: rows)
            var yy = [Float](repeating: .nan, count: n * rows)
            let r0 = rows > 2 ? 1 : 0
            w.bytes.withUnsafeBytes { wp in
                x.quantized.withUnsafeBytes { xp in
                    sp_matvec(w.type, wp.baseAddress, w.rowBytes, Int64(w.k), xp.baseAddress, &y, 0, Int64(rows))
                    sp_matmul(w.type, wp.baseAddress, w.rowBytes, Int64(w.k), xp.baseAddress, x.rowBytes,
                              Int64(n), &yy, Int64(rows), Int64(r0), Int64(rows))
                }
            }
            // One expectation per check (a failing row is named), not one per row: vocabulary-sized
            // outputs would otherwise spend seconds in the test framework.
            var failure: String?
            for r in 0..<rows where failure == nil {
                let tol = float32Reordered * magnitude[0][r] + 1e-30
                if !(abs(Double(y[r]) - Double(expected[r])) <= tol) {
                    failure = "matvec \(name) isa \(isa.rawValue) K \(w.k) rows \(rows) row \(r): \(y[r]) vs \(expected[r])"
                }
            }
            for t in 0..<n where failure == nil {
                for r in r0..<rows where failure == nil {
                    let got = yy[t * rows + r], want = expected[t * rows + r]
                    if !(abs(Double(got) - Double(want)) <= float32Reordered * magnitude[t][r] + 1e-30) {
                        failure = "matmul \(name) isa \(isa.rawValue) K \(w.k) rows \(rows) [\(t), \(r)]: \(got) vs \(want)"
                    }
                }
                for r in 0..<r0 where !yy[t * rows + r].isNaN { failure = "matmul wrote outside [r0, r1)" }
            }
            #expect(failure == nil, "\(failure ?? "")")
        }
    }

    @Test func quantizeRowIsBitIdenticalToReference() {
        var rng = SplitMix64(seed: 0x0A7)
        // Ties: amax 127 makes the scale exactly 1, so these values round half away from zero.
        var crafted: [Float] = [127, 0.5, -0.5, 1.5, -2.5, 3.5, 126.5, -126.5, 0, -0.0, 1e-30]
        crafted += (crafted.count..<64).map { Float($0) - 40.25 }
        let inputs: [[Float]] = [
            crafted,
            [Float](repeating: 0, count: 64),
            (0..<2048).map { _ in rng.nextFloat() * 3 },
            (0..<576).map { i in i % 7 == 0 ? rng.nextFloat() * 1e4 : rng.nextFloat() * 1e-3 },
        ]
        for act in [Int32(SP_TYPE_Q8_0), Int32(SP_TYPE_Q8_1)] {
            for x in inputs {
                let bytes = sp_row_bytes(act, Int64(x.count))
                var want = [UInt8](repeating: 0, count: bytes)
                sp_quantize_row_ref(act, x, &want, Int64(x.count))
                Self.forEachISA { isa in
                    var got = [UInt8](repeating: 0xAA, count: bytes)
                    sp_quantize_row(act, x, &got, Int64(x.count))
                    #expect(got == want, "quantize type \(act) isa \(isa.rawValue) n \(x.count)")
                }
            }
        }
    }

    @Test func dequantizeRowIsExact() {
        var rng = SplitMix64(seed: 0xDE0)
        let types = Self.weightTypes + [("Q8_1", Int32(SP_TYPE_Q8_1))]
        for (name, type) in types {
            let k = 1536
            let w = type == Int32(SP_TYPE_Q8_1)
                ? TestWeights(type: type, rows: 1, k: k, bytes: ActivationRows(type: Int32(SP_TYPE_Q4_1), count: 1, k: k, rng: &rng).quantized)
                : randomWeights(type: type, rows: 1, k: k, rng: &rng)
            var want = [Float](repeating: 0, count: k)
            sp_dequantize_row_ref(type, w.bytes, &want, Int64(k))
            Self.forEachISA { isa in
                var got = [Float](repeating: .nan, count: k)
                sp_dequantize_row(type, w.bytes, &got, Int64(k))
                #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "dequantize \(name) isa \(isa.rawValue)")
            }
        }
    }

    @Test func f16ToF32IsExactForAllInputs() {
        let all = (0...0xFFFF).map { UInt16($0) }
        let want = all.map { sp_f16_to_f32_1($0).bitPattern }
        Self.forEachISA { isa in
            var got = [Float](repeating: 0, count: all.count)
            sp_f16_to_f32(all, &got, Int64(all.count))
            #expect(got.map(\.bitPattern) == want, "f16 -> f32 isa \(isa.rawValue)")
        }
    }

    @Test func f32ToF16RoundTripsFiniteValuesAndRoundsTiesToEven() {
        for h in 0...0xFFFF {
            let bits = UInt16(h)
            guard bits & 0x7C00 != 0x7C00 else { continue }  // inf and NaN
            #expect(sp_f32_to_f16_1(sp_f16_to_f32_1(bits)) == bits, "round trip of f16 \(bits)")
        }
        // Halfway cases go to the even neighbour; just past halfway goes up.
        #expect(sp_f32_to_f16_1(1 + 0x1p-11) == 0x3C00)             // 1 | 1 + 2^-10
        #expect(sp_f32_to_f16_1(1 + 3 * 0x1p-11) == 0x3C02)         // 1 + 2^-10 | 1 + 2^-9
        #expect(sp_f32_to_f16_1(1 + 0x1p-11 + 0x1p-20) == 0x3C01)
        #expect(sp_f32_to_f16_1(65520) == 0x7C00)                   // max finite 65504 | 65536 (inf)
        #expect(sp_f32_to_f16_1(0x1p-25) == 0x0000)                 // 0 | smallest subnormal 2^-24
        #expect(sp_f32_to_f16_1(3 * 0x1p-25) == 0x0002)             // 2^-24 | 2^-23
        #expect(sp_f32_to_f16_1(-2.5 * 0x1p-24) == 0x8002)
    }
}

/// Weight rows of one type, stored as the kernels read them.
struct TestWeights {
    let type: Int32
    let rows: Int
    let k: Int
    let bytes: [UInt8]
    var rowBytes: Int { sp_row_bytes(type, Int64(k)) }

    /// [t][r]: sum_i (|w_ri| + |m_ri|) |x_ti| in Double, the scale of the rounding error of a dot
    /// product (m: the Q4_1 block minimum, whose term the kernels sum separately).
    func absDots(with xs: [[Float]]) -> [[Double]] {
        var out = [[Double]](repeating: [Double](repeating: 0, count: rows), count: xs.count)
        var w = [Float](repeating: 0, count: k)
        var aw = [Double](repeating: 0, count: k)
        let xd = xs.map { $0.map { abs(Double($0)) } }
        bytes.withUnsafeBytes { all in
            for r in 0..<rows {
                let base = r * rowBytes
                sp_dequantize_row_ref(type, all.baseAddress! + base, &w, Int64(k))
                for i in 0..<k {
                    var m = 0.0
                    if type == Int32(SP_TYPE_Q4_1) {
                        let o = base + i / 32 * 20 + 2
                        m = Double(sp_f16_to_f32_1(UInt16(all[o]) | UInt16(all[o + 1]) << 8))
                    }
                    aw[i] = abs(Double(w[i])) + abs(m)
                }
                for t in 0..<xd.count {
                    var sum = 0.0
                    for i in 0..<k { sum += aw[i] * xd[t][i] }
                    out[t][r] = sum
                }
            }
        }
        return out
    }
}

/// Random weights: floats in [-1, 1) for F32/F16/BF16; for block types random quants with random
/// positive f16 scales (and negative f16 minimums for Q4_1).
func randomWeights(type: Int32, rows: Int, k: Int, rng: inout SplitMix64) -> TestWeights {
    let rowBytes = sp_row_bytes(type, Int64(k))
    var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
    func putF16(_ v: Float, _ o: Int) {
        let h = sp_f32_to_f16_1(v)
        bytes[o] = UInt8(truncatingIfNeeded: h)
        bytes[o + 1] = UInt8(truncatingIfNeeded: h >> 8)
    }
    switch Int(type) {
    case Int(SP_TYPE_F32):
        for i in 0..<(rows * k) {
            let b = rng.nextFloat().bitPattern
            for j in 0..<4 { bytes[4 * i + j] = UInt8(truncatingIfNeeded: b >> (8 * UInt32(j))) }
        }
    case Int(SP_TYPE_F16):
        for i in 0..<(rows * k) { putF16(rng.nextFloat(), 2 * i) }
    case Int(SP_TYPE_BF16):
        for i in 0..<(rows * k) {
            let b = rng.nextFloat().bitPattern >> 16
            bytes[2 * i] = UInt8(truncatingIfNeeded: b)
            bytes[2 * i + 1] = UInt8(truncatingIfNeeded: b >> 8)
        }
    default:
        let blockBytes = rowBytes / (k / 32)
        for o in stride(from: 0, to: bytes.count, by: blockBytes) {
            for j in 0..<blockBytes { bytes[o + j] = rng.nextByte() }
            putF16(0.001 + 0.05 * (rng.nextFloat() + 1), o)
            if type == Int32(SP_TYPE_Q4_1) { putF16(-0.4 * (rng.nextFloat() + 1), o + 2) }
        }
    }
    return TestWeights(type: type, rows: rows, k: k, bytes: bytes)
}

/// Random activation rows converted (by the scalar reference) to the format `type` needs.
struct ActivationRows {
    let count: Int
    let k: Int
    let activationType: Int32
    let quantized: [UInt8]
    var rowBytes: Int { sp_row_bytes(activationType, Int64(k)) }

    init(type: Int32, count: Int, k: Int, rng: inout SplitMix64) {
        self.count = count
        self.k = k
        let act = sp_vec_dot_type(type)
        activationType = act
        let rb = sp_row_bytes(act, Int64(k))
        var q = [UInt8](repeating: 0, count: count * rb)
        for t in 0..<count {
            let x = (0..<k).map { _ in rng.nextFloat() * 4 }
            q.withUnsafeMutableBytes { sp_quantize_row_ref(act, x, $0.baseAddress! + t * rb, Int64(k)) }
        }
        quantized = q
    }

    /// Row `t` as the kernels see it (dequantized).
    func values(_ t: Int) -> [Float] {
        var y = [Float](repeating: 0, count: k)
        Array(quantized[(t * rowBytes)..<((t + 1) * rowBytes)]).withUnsafeBytes {
            sp_dequantize_row_ref(activationType, $0.baseAddress, &y, Int64(k))
        }
        return y
    }
}
