import CSparrowKernels
import SparrowRuntime
import Testing

/// The Swift reference quantizers: exact bytes for hand-built blocks, agreement with the C
/// references, and round-trip error within each format's bound.
struct QuantizationTests {
    /// Rounding of a value to f16: half an ulp, relative for normals, 2^-25 absolute for subnormals.
    static func f16Rounding(_ v: Float) -> Float { max(abs(v) * 0x1p-11, 0x1p-25) }
    /// Slack for the float arithmetic of quantizer and bounds, relative to the block's largest magnitude.
    static let boundSlack: Float = 1e-6

    static func block(_ head: [Float], fill: Float, _ tailHead: [Float] = [], tailFill: Float? = nil) -> [Float] {
        let lo = head + [Float](repeating: fill, count: 16 - head.count)
        let hi = tailHead + [Float](repeating: tailFill ?? fill, count: 16 - tailHead.count)
        return lo + hi
    }

    @Test func q8_0QuantizesHandBuiltBlockExactly() {
        // amax 127: d = 1 exactly, quants are roundf(x) (halves away from zero).
        let x = Self.block([127, -127, 0.5, -0.5, 1.5, -2.5, 3.49], fill: 0)
        let want: [UInt8] = [0x00, 0x3C, 127, 0x81, 1, 0xFF, 2, 0xFD, 3] + [UInt8](repeating: 0, count: 25)
        #expect(quantizeQ8_0(x) == want)
    }

    @Test func q4_0QuantizesHandBuiltBlockExactly() {
        // Largest magnitude -8: d = -8 / -8 = 1, quants min(15, trunc(x + 8.5)).
        let x = Self.block([-8, -7.5, 0, 3.4, 7, 7.9], fill: 0, [-1, 2.6])
        let qs: [UInt8] = [0x70, 0xB1, 0x88, 0x8B, 0x8F, 0x8F] + [UInt8](repeating: 0x88, count: 10)
        #expect(quantizeQ4_0(x) == [0x00, 0x3C] + qs)
    }

    @Test func q4_1QuantizesHandBuiltBlockExactly() {
        // min 2, max 17: d = 1, m = 2, quants min(15, trunc(x - 2 + 0.5)).
        let x = Self.block([2, 17, 2.5, 3.49, 16.6], fill: 9.2, [], tailFill: 5)
        let qs: [UInt8] = [0x30, 0x3F, 0x31, 0x31, 0x3F] + [UInt8](repeating: 0x37, count: 11)
        #expect(quantizeQ4_1(x) == [0x00, 0x3C, 0x00, 0x40] + qs)
    }

    @Test func handBuiltBlocksDequantizeToExactValues() {
        var q4_0 = [UInt8](repeating: 0x88, count: 18)
        q4_0[0] = 0x00; q4_0[1] = 0x38; q4_0[2] = 0x1F          // d = 0.5; nibbles 15 and 1
        let w0 = dequantizeQ4_0(q4_0)
        #expect(w0[0] == 3.5 && w0[16] == -3.5 && w0[1] == 0 && w0.count == 32)

        var q4_1 = [UInt8](repeating: 0x00, count: 20)
        q4_1[1] = 0x34; q4_1[3] = 0xBC; q4_1[4] = 0x1F           // d = 0.25, m = -1
        let w1 = dequantizeQ4_1(q4_1)
        #expect(w1[0] == 2.75 && w1[16] == -0.75 && w1[1] == -1)

        var q8_0 = [UInt8](repeating: 0x00, count: 34)
        q8_0[1] = 0x40; q8_0[2] = 0x81; q8_0[3] = 5               // d = 2
        let w8 = dequantizeQ8_0(q8_0)
        #expect(w8[0] == -254 && w8[1] == 10 && w8[2] == 0)
    }

    /// Random rows with blocks of very different scales.
    static func randomRow(count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { i in rng.nextFloat() * [0.01, 1, 30, 1e-4][i / 32 % 4] + (i / 32 % 3 == 0 ? 0.5 : 0) }
    }

    @Test func swiftQuantizersAgreeWithCReferences() {
        let x = Self.randomRow(count: 1024, seed: 7)
        var c = [UInt8](repeating: 0, count: sp_row_bytes(Int32(SP_TYPE_Q8_0), 1024))
        sp_quantize_row_ref(Int32(SP_TYPE_Q8_0), x, &c, 1024)
        #expect(quantizeQ8_0(x) == c)
        for (type, q, dq) in [(SP_TYPE_Q4_0, quantizeQ4_0, dequantizeQ4_0), (SP_TYPE_Q4_1, quantizeQ4_1, dequantizeQ4_1),
                              (SP_TYPE_Q8_0, quantizeQ8_0, dequantizeQ8_0)] {
            let bytes = q(x)
            var ref = [Float](repeating: 0, count: x.count)
            sp_dequantize_row_ref(Int32(type), bytes, &ref, Int64(x.count))
            #expect(dq(bytes).map(\.bitPattern) == ref.map(\.bitPattern), "dequantize type \(type)")
        }
    }

    @Test func roundTripErrorIsWithinEachFormatsBound() {
        let x = Self.randomRow(count: 2048, seed: 11)
        let d0 = dequantizeQ4_0(quantizeQ4_0(x)), d1 = dequantizeQ4_1(quantizeQ4_1(x)), d8 = dequantizeQ8_0(quantizeQ8_0(x))
        for b in 0..<(x.count / 32) {
            let v = x[(b * 32)..<(b * 32 + 32)]
            let amax = v.map(abs).max() ?? 0, lo = v.min() ?? 0, hi = v.max() ?? 0
            // Q4_0: step amax / 8; the value opposite the largest one may clamp a full step.
            let bound4_0 = amax / 8 + 8 * Self.f16Rounding(amax / 8) + amax * Self.boundSlack
            // Q4_1: half a step (max - min) / 15, plus f16 rounding of d (x 15) and of m.
            let step = (hi - lo) / 15
            let bound4_1 = step / 2 + 15 * Self.f16Rounding(step) + Self.f16Rounding(lo) + amax * Self.boundSlack
            // Q8_0: half a step amax / 127, plus f16 rounding of d (x 127).
            let bound8_0 = amax / 127 / 2 + 127 * Self.f16Rounding(amax / 127) + amax * Self.boundSlack
            for i in (b * 32)..<(b * 32 + 32) {
                #expect(abs(d0[i] - x[i]) <= bound4_0, "Q4_0 element \(i): \(d0[i]) vs \(x[i])")
                #expect(abs(d1[i] - x[i]) <= bound4_1, "Q4_1 element \(i): \(d1[i]) vs \(x[i])")
                #expect(abs(d8[i] - x[i]) <= bound8_0, "Q8_0 element \(i): \(d8[i]) vs \(x[i])")
            }
        }
    }
}
