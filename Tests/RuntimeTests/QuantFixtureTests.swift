import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// Dequantization of the formats of Q4_K_M / Q5_K_M files against gguf-py's numpy reference
/// (fixtures from Scripts/make-quant-fixtures.py, gguf 0.19.0): every float bit for bit, for the scalar
/// reference and for the dispatching fast path on every instruction set. Both sides compute each
/// element with the same f32 operations in the same order (ggml-quants.c dequantize_row_*), so no
/// tolerance is needed.
@Suite(.serialized)
struct QuantFixtureTests {
    static let directory = GGUFTestSupport.fixtures.appendingPathComponent("quants")

    static let types: [GGMLType] = [.q5_0, .q5_1, .iq4_nl, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    static func load(_ type: GGMLType) throws -> (blocks: [UInt8], expected: [Float]) {
        let blocks = [UInt8](try Data(contentsOf: directory.appendingPathComponent("\(type).blocks")))
        let raw = try Data(contentsOf: directory.appendingPathComponent("\(type).f32"))
        let expected = raw.withUnsafeBytes { p in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        return (blocks, expected)
    }

    @Test(arguments: types)
    func dequantizationMatchesGGUFPyBitForBit(type: GGMLType) throws {
        let (blocks, expected) = try Self.load(type)
        let n = expected.count
        try #require(type.byteCount(elements: n) == blocks.count, "fixture size of \(type)")
        try #require(sp_row_bytes(Int32(type.rawValue), Int64(n)) == blocks.count)
        var got = [Float](repeating: .nan, count: n)
        sp_dequantize_row_ref(Int32(type.rawValue), blocks, &got, Int64(n))
        let firstBad = (0..<n).first { got[$0].bitPattern != expected[$0].bitPattern }
        #expect(firstBad == nil, "\(type) reference element \(firstBad ?? 0): \(got[firstBad ?? 0]) vs \(expected[firstBad ?? 0])")
        KernelParityTests.forEachISA { isa in
            var fast = [Float](repeating: .nan, count: n)
            sp_dequantize_row(Int32(type.rawValue), blocks, &fast, Int64(n))
            let bad = (0..<n).first { fast[$0].bitPattern != expected[$0].bitPattern }
            #expect(bad == nil, "\(type) isa \(isa.rawValue) element \(bad ?? 0): \(fast[bad ?? 0]) vs \(expected[bad ?? 0])")
        }
    }

    /// The types of Q4_K_M / Q5_K_M files compute, pair with llama.cpp's activation formats, and
    /// have the geometry ggml gives them.
    @Test func newTypesAreSupportedWithLlamaCppActivationFormats() {
        let pairs: [(GGMLType, GGMLType)] = [
            (.q5_0, .q8_0), (.iq4_nl, .q8_0), (.q5_1, .q8_1),
            (.q2_K, .q8_K), (.q3_K, .q8_K), (.q4_K, .q8_K), (.q5_K, .q8_K), (.q6_K, .q8_K),
        ]
        for (type, act) in pairs {
            #expect(type.isSupported, "\(type)")
            #expect(sp_vec_dot_type(Int32(type.rawValue)) == Int32(act.rawValue), "\(type) activations")
            #expect(sp_row_bytes(Int32(type.rawValue), 2048) == type.byteCount(elements: 2048)!, "\(type) row bytes")
        }
        #expect(sp_row_bytes(Int32(GGMLType.q8_K.rawValue), 512) == 2 * 292)
        #expect(sp_row_bytes(Int32(GGMLType.q4_K.rawValue), 640) == 0, "K-quant rows are whole 256-value blocks")
    }
}
