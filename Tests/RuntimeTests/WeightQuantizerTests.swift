import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// Weight quantizers against llama.cpp's reference bytes, their inverses against the kernels'
/// dequantizers, and the per-tensor type recipe against llama.cpp's rules.
@Suite struct WeightQuantizerTests {
    /// One fixture case: a float row and the bytes libggml-base's quantize_row_*_ref made of it.
    struct ReferenceCase {
        let type: GGMLType
        let rows: Int, columns: Int
        let input: [Float]
        let expected: [UInt8]
    }

    /// Reads Fixtures/quantize/reference-blocks.bin (layout in Scripts/make-quantize-fixtures.py).
    static func referenceCases() throws -> [ReferenceCase] {
        let url = GGUFTestSupport.fixtures.appendingPathComponent("quantize/reference-blocks.bin")
        let bytes = [UInt8](try Data(contentsOf: url))
        var offset = 0
        func u32() throws -> Int {
            try #require(offset + 4 <= bytes.count, "fixture truncated at \(offset)")
            defer { offset += 4 }
            return Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
        }
        try #require(Array(bytes.prefix(4)) == Array("SPQF".utf8))
        offset = 4
        try #require(try u32() == 1)
        offset += try u32()  // provenance text
        var cases: [ReferenceCase] = []
        for _ in 0..<(try u32()) {
            let type = try #require(GGMLType(rawValue: UInt32(try u32())))
            let rows = try u32(), columns = try u32()
            let n = rows * columns
            try #require(offset + 4 * n <= bytes.count)
            let input = (0..<n).map { i in
                Float(bitPattern: UInt32(bytes[offset + 4 * i]) | UInt32(bytes[offset + 4 * i + 1]) << 8
                    | UInt32(bytes[offset + 4 * i + 2]) << 16 | UInt32(bytes[offset + 4 * i + 3]) << 24)
            }
            offset += 4 * n
            let count = try u32()
            try #require(offset + count <= bytes.count)
            cases.append(ReferenceCase(type: type, rows: rows, columns: columns, input: input, expected: Array(bytes[offset..<(offset + count)])))
            offset += count
        }
        return cases
    }

    @Test func quantizersMatchLlamaCppReferenceBytes() throws {
        let cases = try Self.referenceCases()
        #expect(Set(cases.map(\.type)) == Set(WeightQuantizer.supportedTypes))
        for (i, c) in cases.enumerated() {
            let got = try WeightQuantizer.quantize(c.input, rows: c.rows, columns: c.columns, to: c.type)
            #expect(got == c.expected, "case \(i) (\(c.type), row kind \(i % 8)) differs from quantize_row_\(c.type)_ref")
        }
    }

    /// For the types the kernels read, the stats inverse equals sp_dequantize_row_ref bit for bit.
    @Test func statisticsInverseEqualsKernelDequantizer() throws {
        for c in try Self.referenceCases() where [.q4_0, .q4_1, .q8_0].contains(c.type) {
            let ours = try WeightQuantizer.dequantize(c.expected, rows: c.rows, columns: c.columns, type: c.type)
            var kernel = [Float](repeating: 0, count: c.input.count)
            c.expected.withUnsafeBytes { b in
                sp_dequantize_row_ref(Int32(c.type.rawValue), b.baseAddress, &kernel, Int64(c.input.count))
            }
            #expect(ours.map(\.bitPattern) == kernel.map(\.bitPattern), "\(c.type)")
        }
    }

    /// Round trip through the kernels' dequantizer: every weight comes back within half a step of its
    /// block, a full step where Q4_0 clamps (plus the f16 rounding of the scale and minimum).
    @Test func roundTripErrorStaysWithinTheQuantizationStep() throws {
        let columns = 256
        var rng = SplitMix64(seed: 7)
        let weights = (0..<(4 * columns)).map { i in rng.nextFloat() * (i % 97 == 0 ? 1.0 : 0.02) }
        for type in [GGMLType.q4_0, .q4_1, .q8_0] {
            let blocks = try WeightQuantizer.quantize(weights, rows: 4, columns: columns, to: type)
            var back = [Float](repeating: 0, count: weights.count)
            blocks.withUnsafeBytes { sp_dequantize_row(Int32(type.rawValue), $0.baseAddress, &back, Int64(weights.count)) }
            for b in 0..<(weights.count / 32) {
                let block = weights[(32 * b)..<(32 * b + 32)]
                let amax = block.map(abs).max()!
                // Q4_0 clamps +8 steps to +7 on the side opposite the largest magnitude: one full step there.
                let bound: Float
                switch type {
                case .q4_0: bound = amax / 8 * (1 + Tolerance.f16ScaleSlack)
                case .q4_1: bound = (block.max()! - block.min()!) / 15 * (0.5 + Tolerance.f16ScaleSlack) + amax * Tolerance.f16ScaleSlack
                default: bound = amax / 127 * (0.5 + Tolerance.f16ScaleSlack) + amax * Tolerance.f16ScaleSlack
                }
                for j in (32 * b)..<(32 * b + 32) {
                    #expect(abs(back[j] - weights[j]) <= bound, "\(type) block \(b) element \(j)")
                }
            }
        }
    }

    @Test func unsupportedTypesAndRowLengthsAreRefused() {
        #expect(throws: QuantizationError.self) { try WeightQuantizer.quantize([Float](repeating: 0, count: 64), rows: 1, columns: 64, to: .q2_K) }
        #expect(throws: QuantizationError.self) { try WeightQuantizer.quantize([Float](repeating: 0, count: 576), rows: 1, columns: 576, to: .q4_K) }
        #expect(throws: QuantizationError.self) { try WeightQuantizer.quantize([Float](repeating: 0, count: 48), rows: 1, columns: 48, to: .q8_0) }
        #expect(throws: QuantizationError.self) { try WeightQuantizer.quantize([Float](repeating: 0, count: 64), rows: 2, columns: 64, to: .q8_0) }
    }

    /// Q4_K_M on an 8-layer model: use_more_bits layers are {0, 3, 6, 7}; 576-wide rows fall back.
    @Test func q4KMRecipeFollowsLlamaCppRules() {
        var tensors: [(name: String, dimensions: [Int], type: GGMLType)] = [("token_embd.weight", [2048, 1000], .f16)]
        for i in 0..<8 {
            tensors.append(("blk.\(i).attn_norm.weight", [2048], .f32))
            tensors.append(("blk.\(i).attn_q.weight", [2048, 2048], .f16))
            tensors.append(("blk.\(i).attn_v.weight", [2048, 256], .f16))
            tensors.append(("blk.\(i).ffn_down.weight", [576, 2048], .f16))
        }
        let plan = QuantizationRecipe.q4_k_m.plan(tensors, layerCount: 8)
        let type = Dictionary(uniqueKeysWithValues: plan.map { ($0.name, $0.type) })
        #expect(type["token_embd.weight"] == .q6_K)  // tied: no output.weight
        for i in 0..<8 {
            let more = [0, 3, 6, 7].contains(i)
            #expect(type["blk.\(i).attn_norm.weight"] == .f32)
            #expect(type["blk.\(i).attn_q.weight"] == .q4_K)
            #expect(type["blk.\(i).attn_v.weight"] == (more ? .q6_K : .q4_K))
            #expect(type["blk.\(i).ffn_down.weight"] == (more ? .q8_0 : .q5_0), "layer \(i)")
        }
        #expect(plan.first { $0.name == "blk.1.ffn_down.weight" }?.fallback != nil)

        // Q4_0 sends the tied embedding to Q6_K; 1000-column output rows cannot, so Q8_0.
        let q40 = QuantizationRecipe.q4_0.plan([("token_embd.weight", [576, 10], .f16), ("output.weight", [1000, 10], .f16)], layerCount: 0)
        #expect(q40.map(\.type) == [.q4_0, .f16])  // 1000 is not a multiple of 32: F16
        #expect(QuantizationRecipe.q4_0.plan([("output.weight", [512, 4], .f32)], layerCount: 0).map(\.type) == [.q6_K])
        #expect(QuantizationRecipe.q4_k.plan([("output.weight", [512, 4], .f32)], layerCount: 0).map(\.type) == [.q4_K])
    }

    /// A small model through ModelQuantizer: metadata carried over, file type set, tensors quantized.
    @Test func modelQuantizerCarriesMetadataAndQuantizesWeights() throws {
        var rng = SplitMix64(seed: 3)
        let embedding = (0..<(64 * 8)).map { _ in rng.nextFloat() }
        let norm = (0..<64).map { _ in rng.nextFloat() }
        var w = GGUFWriter()
        w.setMetadata("general.architecture", .string("llama"))
        w.setMetadata("llama.block_count", .uint32(0))
        w.setMetadata("general.file_type", .uint32(0))
        w.setMetadata("tokenizer.chat_template", .string("{{ messages }}"))
        w.addTensor(name: "token_embd.weight", type: .f32, dimensions: [64, 8], data: embedding.withUnsafeBytes { Array($0) })
        w.addTensor(name: "output_norm.weight", type: .f32, dimensions: [64], data: norm.withUnsafeBytes { Array($0) })
        let source = try GGUFFile(bytes: w.serialize())
        let out = try GGUFFile(bytes: try ModelQuantizer.quantize(source, recipe: .q8_0).serialize())
        #expect(out.metadataKeys == ["general.architecture", "llama.block_count", "general.file_type", "tokenizer.chat_template", "general.quantization_version"])
        #expect(try out.int("general.file_type") == 7)
        #expect(try out.string("tokenizer.chat_template") == "{{ messages }}")
        #expect(out.tensors.map(\.name) == ["output_norm.weight", "token_embd.weight"])  // llama.cpp's order
        let embd = try #require(out.tensor(named: "token_embd.weight"))
        #expect(embd.type == .q8_0)
        #expect(Array(out.bytes(of: embd)) == (try WeightQuantizer.quantize(embedding, rows: 8, columns: 64, to: .q8_0)))
        let normOut = try #require(out.tensor(named: "output_norm.weight"))
        #expect(normOut.type == .f32 && Array(out.bytes(of: normOut)) == norm.withUnsafeBytes { Array($0) })
    }

    /// A tensor type Sparrow cannot dequantize is refused by name before anything is converted.
    @Test func unreadableSourceTensorIsRefused() throws {
        var w = GGUFWriter()
        w.addTensor(name: "blk.0.attn_q.weight", type: .iq2_xxs, dimensions: [256, 2], data: [UInt8](repeating: 0, count: 2 * 66))
        let source = try GGUFFile(bytes: w.serialize())
        #expect(throws: QuantizationError.self) { try ModelQuantizer.quantize(source, recipe: .q8_0) }
    }

    enum Tolerance {
        /// Relative rounding of an f16 scale or minimum (2^-11), with room for the clamp at the block edge.
        static let f16ScaleSlack: Float = 16.0 / 1024
    }
}
