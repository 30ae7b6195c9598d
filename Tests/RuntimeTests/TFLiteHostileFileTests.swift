import Foundation
import SparrowRuntime
import Testing

/// Hostile .tflite files, made from the minimal fixture (fields located by the `flatbuffers` package,
/// see minimal.json) and from a real model: each must be refused with a `FormatError` that says what
/// is wrong; no input may crash or hang the reader.
@Suite struct TFLiteHostileFileTests {
    typealias S = TFLiteTestSupport

    static let minimal = (try? S.fixtureBytes("minimal.tflite")) ?? []
    static let facts = try? S.json(S.Minimal.self, "minimal.json")

    /// Position of a named field in minimal.tflite.
    static func at(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        guard let p = facts?.positions[name] else {
            Issue.record("minimal.json has no position '\(name)'", sourceLocation: sourceLocation)
            return 0
        }
        return p
    }

    static func patched<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, _ value: T) -> [UInt8] {
        var out = bytes
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (i, b) in raw.enumerated() { out[offset + i] = b }
        }
        return out
    }

    /// Parses `bytes` expecting a `FormatError` (at `offset` when given) whose message holds every fragment.
    static func expectFormatError(
        _ bytes: [UInt8], offset: Int? = nil, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let model = try TFLiteModel(bytes: bytes, name: "hostile.tflite")
            Issue.record("parsed a hostile file (\(model.subgraphs.count) subgraphs)", sourceLocation: sourceLocation)
        } catch let error as FormatError {
            #expect(error.file == "hostile.tflite", sourceLocation: sourceLocation)
            if let offset { #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation) }
            for fragment in fragments {
                #expect(error.message.contains(fragment), "'\(fragment)' not in: \(error.message)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected a FormatError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Parses `bytes`, which may be valid or not; anything thrown must be a `FormatError`.
    static func parsesOrRefuses(_ bytes: [UInt8], _ label: @autoclosure () -> String) -> Bool {
        do {
            _ = try TFLiteModel(bytes: bytes, name: "fuzzed.tflite")
            return true
        } catch is FormatError {
            return false
        } catch {
            Issue.record("\(label()): expected a FormatError, got \(error)")
            return false
        }
    }

    @Test func baseFixtureIsValid() throws {
        #expect(try TFLiteModel(bytes: Self.minimal, name: "minimal.tflite").subgraphs[0].operators.count == 3)
    }

    @Test func everyTruncationOfTheMinimalModelIsRefused() {
        for n in 0..<Self.minimal.count {
            Self.expectFormatError(Array(Self.minimal.prefix(n)))
        }
        // An external buffer cut short: the flatbuffer itself is whole.
        if let bytes = try? S.fixtureBytes("minimal-external.tflite") {
            Self.expectFormatError(Array(bytes.dropLast()), "buffer 2", "past the end")
        }
    }

    @Test func truncationsOfARealModelAreRefused() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try S.modelPath(id: "face-detection-short-range", file: "face_detection_short_range.tflite"))))
        var cuts = Array(0..<64)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<150 { cuts.append(Int(rng.next() % UInt64(bytes.count))) }
        for n in cuts {
            #expect(!Self.parsesOrRefuses(Array(bytes.prefix(n)), "\(n)-byte prefix"), "a \(n)-byte prefix parsed")
        }
    }

    @Test func headerAndRoot() {
        Self.expectFormatError(Array("TFL3".utf8), offset: 0, "past the end")
        Self.expectFormatError(Self.patched(Self.minimal, at: 4, UInt32(0x3244_4C46)), offset: 4, "\"FLD2\"", "not \"TFL3\"")
        Self.expectFormatError(Self.patched(Self.minimal, at: 4, UInt32(0x0000_0000)), offset: 4, "\"\\x0\\x0\\x0\\x0\"", "not a TensorFlow Lite model")
        Self.expectFormatError(Self.patched(Self.minimal, at: 0, UInt32(0xFFFF_FF00)), offset: 0, "model table", "points past the end")
        Self.expectFormatError(Self.patched(Self.minimal, at: 0, UInt32(Self.minimal.count - 2)), "model table")
    }

    @Test func vtablesAndTables() {
        let table = Self.at("modelTable"), vtable = Self.at("modelVtable")
        Self.expectFormatError(Self.patched(Self.minimal, at: table, Int32.min), offset: table, "model table", "vtable offset", "outside the file")
        Self.expectFormatError(Self.patched(Self.minimal, at: table, Int32(-4000)), offset: table, "outside the file")
        Self.expectFormatError(Self.patched(Self.minimal, at: vtable, UInt16(3)), offset: vtable, "vtable size 3")
        Self.expectFormatError(Self.patched(Self.minimal, at: vtable, UInt16(0xFFFE)), "model table (vtable)", "past the end")
        Self.expectFormatError(Self.patched(Self.minimal, at: vtable + 2, UInt16(0xFFFF)), "model table (table)", "past the end")
        Self.expectFormatError(Self.patched(Self.minimal, at: vtable + 2, UInt16(2)), offset: vtable + 2, "table size 2")
        // The subgraphs field (vtable entry 2) pointed outside its table.
        Self.expectFormatError(Self.patched(Self.minimal, at: vtable + 8, UInt16(0xFFF0)), offset: vtable + 8, "subgraphs", "outside its")
        // A table reference far past the end.
        let subgraphs = Self.at("subgraphsVector")
        Self.expectFormatError(Self.patched(Self.minimal, at: subgraphs + 4, UInt32(0x7FFF_FFFF)), offset: subgraphs + 4, "subgraph 0", "past the end")
    }

    @Test func vectorLengthsAndHugeCounts() {
        let codes = Self.at("operatorCodesVector")
        Self.expectFormatError(Self.patched(Self.minimal, at: codes, UInt32(0x7FFF_FFFF)), offset: codes, "operator codes", "cannot fit")
        Self.expectFormatError(Self.patched(Self.minimal, at: codes, UInt32.max), offset: codes, "cannot fit")
        let shape = Self.at("tensor0ShapeVector")
        Self.expectFormatError(Self.patched(Self.minimal, at: shape, UInt32(1 << 30)), offset: shape, "tensor 0 ('input')", "shape", "cannot fit")
        let buffers = Self.at("buffersVector")
        Self.expectFormatError(Self.patched(Self.minimal, at: buffers, UInt32(1 << 28)), offset: buffers, "buffers", "cannot fit")
        let data = Self.at("buffer1DataVector")
        Self.expectFormatError(Self.patched(Self.minimal, at: data, UInt32(1 << 20)), offset: data, "buffer 1: data", "cannot fit")
        // Zero subgraphs: no main graph.
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("subgraphsVector"), UInt32(0)), "no subgraphs")
    }

    @Test func stringsWithoutTerminatorOrUTF8() {
        let description = Self.at("descriptionString")
        let length = Int(Self.minimal[description]) | Int(Self.minimal[description + 1]) << 8
        let end = description + 4 + length
        Self.expectFormatError(Self.patched(Self.minimal, at: end, UInt8(ascii: "X")), offset: end, "model description", "terminator")
        let name = Self.at("tensor0NameString")
        Self.expectFormatError(Self.patched(Self.minimal, at: name + 4, UInt8(0xFF)), offset: name + 4, "tensor 0", "not valid UTF-8")
        let graphName = Self.at("subgraphNameString")
        Self.expectFormatError(Self.patched(Self.minimal, at: graphName, UInt32(0x7FFF_0000)), offset: graphName, "subgraph 0: name", "cannot fit")
    }

    @Test func tensorAndBufferIndices() {
        let inputs = Self.at("subgraphInputsVector")
        Self.expectFormatError(Self.patched(Self.minimal, at: inputs + 4, Int32(7)), "subgraph 0: inputs", "tensor 7", "has 7 tensors")
        Self.expectFormatError(Self.patched(Self.minimal, at: inputs + 4, Int32(-2)), "subgraph 0: inputs", "tensor -2")
        let convInputs = Self.at("convInputsVector")
        Self.expectFormatError(Self.patched(Self.minimal, at: convInputs + 8, Int32(99)), "operator 1 (CONV_2D) of subgraph 0: inputs", "entry 1 is tensor 99")
        Self.expectFormatError(Self.patched(Self.minimal, at: convInputs + 4, Int32.min), "operator 1 (CONV_2D)", "tensor -2147483648")
        // -1 marks an absent optional input (the bias here) and is accepted.
        let noBias = Self.patched(Self.minimal, at: convInputs + 12, Int32(-1))
        #expect((try? TFLiteModel(bytes: noBias, name: "x").subgraphs[0].operators[1].inputs) == [0, 3, -1])
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("tensor1Buffer"), UInt32(9)), "tensor 1 ('conv/weights_f16')", "buffer 9", "4 buffers")
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("tensor1Buffer"), UInt32.max), "buffer 4294967295")
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("convOpcodeIndex"), UInt32(3)), "operator 1 of subgraph 0", "opcode_index 3", "3 operator codes")
    }

    @Test func constantSizesAndShapes() {
        // Buffer 1 holds 12 bytes for [3,1,1,2] float16: 10 bytes, or a float32 type, do not match.
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("buffer1DataVector"), UInt32(10)), "constant tensor 1 ('conv/weights_f16')", "needs 12 bytes", "holds 10")
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("tensor1Type"), Int8(0)), "'conv/weights_f16'", "float32", "needs 24 bytes")
        let shape = Self.at("tensor1ShapeVector")
        var huge = Self.minimal
        for d in 0..<4 { huge = Self.patched(huge, at: shape + 4 + 4 * d, Int32.max) }
        Self.expectFormatError(huge, "tensor 1 ('conv/weights_f16')", "element count overflows")
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("tensor0ShapeVector") + 8, Int32(-5)), "tensor 0 ('input')", "dimension 1 is -5")
    }

    @Test func unionsAndOptions() {
        // Union type set, value missing (its vtable entry zeroed); value present with type NONE.
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("convOptionsVtableEntry"), UInt16(0)), "CONV_2D", "union type 1 is set but its value is missing")
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("convOptionsType"), UInt8(0)), "CONV_2D", "type is NONE")
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("convOptionsType"), UInt8(5)), "CONV_2D", "options of type 5, expected type 1")
        let activation = Self.at("convOptionsActivation")
        Self.expectFormatError(Self.patched(Self.minimal, at: activation, Int8(4)), "operator 1 (CONV_2D)", "TANH is not supported")
        Self.expectFormatError(Self.patched(Self.minimal, at: activation, Int8(5)), "operator 1 (CONV_2D)", "SIGN_BIT is not supported")
        Self.expectFormatError(Self.patched(Self.minimal, at: activation, Int8(9)), "fused activation 9 is unknown")
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("convOptionsPadding"), Int8(7)), "CONV_2D", "padding 7")
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("convOptionsStrideW"), Int32(0)), "CONV_2D", "stride_w is 0")
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("convOptionsStrideW"), Int32(-3)), "stride_w is -3")
        // deprecated_builtin_code -1 with builtin_code 0: max(-1, 0) makes the op ADD, which then
        // carries the wrong options type.
        Self.expectFormatError(Self.patched(Self.minimal, at: Self.at("operatorCode1Deprecated"), Int8(-1)), "operator 1 (ADD)", "expected type 11")
    }

    @Test func customTransposeConvolutionParameters() throws {
        let path = try S.modelPath(id: "selfie-segmentation", file: "selfie_segmentation.tflite")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let params: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]
        let at = try #require(Self.find(params, in: bytes))
        Self.expectFormatError(Self.patched(bytes, at: at, Int32(0)), "Convolution2DTransposeBias", "padding 0 is not 1 (SAME) or 2 (VALID)")
        Self.expectFormatError(Self.patched(bytes, at: at + 4, Int32(0)), "Convolution2DTransposeBias", "strides 0×2")
        // Custom options shorter than the struct (its vector length cut to 8).
        Self.expectFormatError(Self.patched(bytes, at: at - 4, UInt32(8)), "Convolution2DTransposeBias", "hold 8 bytes")
        let valid = Self.patched(bytes, at: at, Int32(2))
        let model = try TFLiteModel(bytes: valid, name: "x")
        #expect(model.subgraphs[0].operators.contains { $0.options == .transposeConv(padding: .valid, strideX: 2, strideY: 2) })
    }

    @Test func externalBufferOutOfRange() throws {
        let facts = try #require(Self.facts)
        let bytes = try S.fixtureBytes("minimal-external.tflite")
        var offsetBytes = [UInt8](repeating: 0, count: 8)
        withUnsafeBytes(of: UInt64(facts.externalBiasOffset).littleEndian) { for (i, b) in $0.enumerated() { offsetBytes[i] = b } }
        let at = try #require(Self.find(offsetBytes, in: bytes))
        Self.expectFormatError(Self.patched(bytes, at: at, UInt64(1) << 40), "buffer 2", "past the end")
        Self.expectFormatError(Self.patched(bytes, at: at, UInt64.max), "buffer 2", "past the end")
        Self.expectFormatError(Self.patched(bytes, at: at, UInt64(bytes.count - 8)), "buffer 2", "12 bytes", "past the end")
    }

    @Test func sharedVectorsCannotAmplifyDecoding() throws {
        // 1000 subgraph entries → one subgraph of 1000 tensor entries → one tensor whose shape has
        // 1000 dimensions: 10^9 elements from 12 KB if decoded naively.
        let bytes = try S.fixtureBytes("amplified.tflite")
        #expect(bytes.count < 16_384)
        Self.expectFormatError(bytes, "passes the limit")
    }

    @Test func everySingleByteChangeOfTheMinimalModelParsesOrThrows() {
        var refused = 0
        for i in 0..<Self.minimal.count {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0xFF] where Self.minimal[i] != value {
                var bytes = Self.minimal
                bytes[i] = value
                if !Self.parsesOrRefuses(bytes, "byte \(i) = \(value)") { refused += 1 }
            }
        }
        #expect(refused > Self.minimal.count)  // most structural bytes matter
    }

    @Test func randomCorruptionOfARealModelParsesOrThrows() throws {
        let path = try S.modelPath(id: "face-detection-short-range", file: "face_detection_short_range.tflite")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        // The converter writes the buffers' data first and the graph's tables after it (the last
        // ~10% of this file); the root and buffer table sit in the first bytes. Corrupt those regions.
        let graphStart = bytes.count - bytes.count / 10
        var rng = SplitMix64(seed: 11)
        var refused = 0
        for trial in 0..<300 {
            var mutated = bytes
            for _ in 0..<3 {
                let i = trial % 5 == 0 ? Int(rng.next() % 1024) : graphStart + Int(rng.next() % UInt64(bytes.count - graphStart))
                mutated[i] = rng.nextByte()
            }
            if !Self.parsesOrRefuses(mutated, "trial \(trial)") { refused += 1 }
        }
        #expect(refused > 0)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { i in haystack[i..<(i + needle.count)].elementsEqual(needle) }
    }
}
