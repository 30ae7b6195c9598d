import Foundation
import SparrowRuntime
import Testing

/// Fixtures and real models of the TFLite tests. The real MediaPipe models are never committed: they
/// are found in `SPARROW_VISION_MODELS_DIR` (as `<dir>/<id>/<file>` or `<dir>/<file>`) when set, else
/// in the model store (`~/.cache/sparrow/models/<id>/<file>`). Their goldens
/// (Fixtures/tflite/<id>.json) were written by Scripts/make-tflite-fixtures.py from LiteRT 2.3.0.
enum TFLiteTestSupport {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tflite")

    static let realModels: [(id: String, file: String)] = [
        ("selfie-segmentation", "selfie_segmentation.tflite"),
        ("selfie-segmentation-landscape", "selfie_segmentation_landscape.tflite"),
        ("face-detection-short-range", "face_detection_short_range.tflite"),
        ("face-landmark", "face_landmark.tflite"),
    ]

    static func modelPath(id: String, file: String) throws -> String {
        var candidates: [String] = []
        if let dir = ProcessInfo.processInfo.environment["SPARROW_VISION_MODELS_DIR"] {
            candidates += [dir + "/" + id + "/" + file, dir + "/" + file]
        }
        candidates.append(ModelStore.path(id: id, fileName: file))
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw MissingModel(paths: candidates)
        }
        return path
    }

    struct MissingModel: Error, CustomStringConvertible {
        let paths: [String]
        var description: String {
            "TFLite model missing (looked at \(paths.joined(separator: ", "))): run Scripts/fetch-models.sh or set SPARROW_VISION_MODELS_DIR"
        }
    }

    static func fixtureBytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    static func json<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    /// Facts about minimal.tflite and the byte positions of its fields (found by the flatbuffers package).
    struct Minimal: Decodable {
        var fileBytes: Int
        var externalBiasOffset: Int
        var weightsFloat16: [Float]
        var bias: [Float]
        var positions: [String: Int]
    }

    /// A real model's golden, from LiteRT and its generated schema classes.
    struct Golden: Decodable {
        struct IO: Decodable {
            var name: String
            var shape: [Int]
            var type: String
        }
        struct Constant: Decodable {
            var index: Int
            var name: String
            var first: [Float]
        }
        var opCounts: [String: Int]
        var inputs: [IO]
        var outputs: [IO]
        /// [name, shape, type] per tensor.
        var tensors: [[JSONScalar]]
        var float16Constant: Constant
        var int32Constant: Constant
        /// [op name, inputs, outputs, options text] per operator.
        var operators: [[JSONScalar]]
    }

    /// A JSON value in the goldens' heterogeneous arrays: a string or an integer array.
    enum JSONScalar: Decodable, Equatable {
        case string(String)
        case ints([Int])

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .string(s) } else { self = .ints(try c.decode([Int].self)) }
        }
    }

    static func typeName(_ type: TFLiteTensorType) -> String {
        switch type {
        case .float32: return "float32"
        case .float16: return "float16"
        case .int32: return "int32"
        case .uint8: return "uint8"
        case .int64: return "int64"
        case .int8: return "int8"
        case .int16: return "int16"
        case .bool: return "bool"
        case .other(let raw): return "other(\(raw))"
        }
    }

    /// The canonical options text Scripts/make-tflite-fixtures.py writes (describe_options).
    static func describe(_ options: TFLiteOperatorOptions) -> String {
        func p(_ padding: TFLitePadding) -> String { padding == .same ? "same" : "valid" }
        func a(_ activation: FusedActivation) -> String {
            switch activation {
            case .none: return "none"
            case .relu: return "relu"
            case .relu6: return "relu6"
            case .reluMinus1To1: return "reluMinus1To1"
            }
        }
        switch options {
        case .none: return "none"
        case let .conv2D(padding, sx, sy, dx, dy, act): return "conv2D(\(p(padding)),\(sx),\(sy),\(dx),\(dy),\(a(act)))"
        case let .depthwiseConv2D(padding, sx, sy, m, dx, dy, act):
            return "depthwiseConv2D(\(p(padding)),\(sx),\(sy),\(m),\(dx),\(dy),\(a(act)))"
        case let .pool2D(padding, sx, sy, fw, fh, act): return "pool2D(\(p(padding)),\(sx),\(sy),\(fw),\(fh),\(a(act)))"
        case let .add(act): return "add(\(a(act)))"
        case let .mul(act): return "mul(\(a(act)))"
        case let .concatenation(axis, act): return "concatenation(\(axis),\(a(act)))"
        case let .reshape(shape): return "reshape(\(shape.map(String.init).joined(separator: ",")))"
        case let .resizeBilinear(ac, hp): return "resizeBilinear(\(ac),\(hp))"
        case let .reducer(keep): return "reducer(\(keep))"
        case let .transposeConv(padding, sx, sy): return "transposeConv(\(p(padding)),\(sx),\(sy))"
        case let .other(type): return "other(\(type))"
        }
    }

    static func float16s(_ raw: UnsafeRawBufferPointer) -> [Float] {
        (0..<(raw.count / 2)).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
    }

    static func floats(_ raw: UnsafeRawBufferPointer) -> [Float] {
        (0..<(raw.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
    }

    static func int32s(_ raw: UnsafeRawBufferPointer) -> [Int] {
        (0..<(raw.count / 4)).map { Int(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
    }
}

/// The reader against models whose contents are known from another implementation: a fixture built
/// with the `flatbuffers` package (and run by LiteRT), and the real MediaPipe models as LiteRT reads them.
@Suite struct TFLiteReaderTests {
    typealias S = TFLiteTestSupport

    @Test func minimalModelMatchesWhatItsScriptBuilt() throws {
        let facts = try S.json(S.Minimal.self, "minimal.json")
        let bytes = try S.fixtureBytes("minimal.tflite")
        #expect(bytes.count == facts.fileBytes)
        let model = try TFLiteModel(bytes: bytes, name: "minimal.tflite")
        #expect(model.version == 3)
        #expect(model.description == "Sparrow minimal TFLite fixture")
        // CONV_2D is stored only in the deprecated int8 field: the max rule still finds it.
        #expect(model.operatorCodes == [.builtin(.dequantize), .builtin(.conv2D), .builtin(.reshape)])
        #expect(model.operatorCodes.map(\.name) == ["DEQUANTIZE", "CONV_2D", "RESHAPE"])
        #expect(model.bufferCount == 4)
        #expect(model.subgraphs.count == 1)
        let g = try #require(model.subgraphs.first)
        #expect(g.name == "main")
        #expect(g.inputs == [0] && g.outputs == [6])
        #expect(g.tensors.map(\.name) == ["input", "conv/weights_f16", "conv/bias", "conv/weights", "conv_out", "reshape/shape", "output"])
        #expect(g.tensors.map(\.shape) == [[1, 4, 4, 2], [3, 1, 1, 2], [3], [3, 1, 1, 2], [1, 4, 4, 3], [2], [16, 3]])
        #expect(g.tensors.map(\.type) == [.float32, .float16, .float32, .float32, .float32, .int32, .float32])
        #expect(g.tensors.map(\.buffer) == [0, 1, 2, 0, 0, 3, 0])
        #expect(g.tensors.map(\.elementCount) == [32, 6, 3, 6, 48, 2, 48])
        #expect(g.tensors[0].quantization == TFLiteQuantization(scales: [0.25], zeroPoints: [0], quantizedDimension: 0))
        #expect(g.tensors[1].quantization == nil)
        #expect(g.tensors.allSatisfy { !$0.isVariable })
        #expect(g.operators.map(\.opcodeIndex) == [0, 1, 2])
        #expect(g.operators.map(\.inputs) == [[1], [0, 3, 2], [4, 5]])
        #expect(g.operators.map(\.outputs) == [[3], [4], [6]])
        #expect(g.operators[0].options == .none)
        #expect(g.operators[1].options == .conv2D(padding: .valid, strideX: 1, strideY: 1, dilationX: 1, dilationY: 1, activation: .relu6))
        #expect(g.operators[2].options == .reshape(newShape: [16, 3]))
        #expect(g.operators.allSatisfy { $0.customOptions.isEmpty })
        // Buffer contents: the values numpy packed (float16 converts to float exactly).
        #expect(try model.buffer(0).isEmpty)
        #expect(S.float16s(try model.buffer(1)) == facts.weightsFloat16)
        #expect(S.floats(try model.data(of: g.tensors[2])) == facts.bias)
        #expect(S.int32s(try model.buffer(3)) == [16, 3])
        #expect(throws: FormatError.self) { try model.buffer(4) }
        #expect(throws: FormatError.self) { try model.buffer(-1) }
    }

    @Test func externalBufferReadsTheBytesAfterTheFlatbuffer() throws {
        let facts = try S.json(S.Minimal.self, "minimal.json")
        let bytes = try S.fixtureBytes("minimal-external.tflite")
        let model = try TFLiteModel(bytes: bytes, name: "minimal-external.tflite")
        let bias = try model.buffer(2)
        #expect(bias.count == 12)
        #expect(S.floats(bias) == facts.bias)
        #expect(S.float16s(try model.buffer(1)) == facts.weightsFloat16)
        // The bytes are the file's own bytes at the recorded offset, not a copy.
        let file = try TFLiteModel(path: S.fixtures.appendingPathComponent("minimal-external.tflite").path)
        #expect(S.floats(try file.buffer(2)) == facts.bias)
        #expect(Array(bias) == Array(bytes[facts.externalBiasOffset..<(facts.externalBiasOffset + 12)]))
    }

    @Test func realModelsMatchLiteRT() throws {
        let totalOps = ["selfie-segmentation": 246, "selfie-segmentation-landscape": 246, "face-detection-short-range": 164, "face-landmark": 210]
        for (id, file) in S.realModels {
            let golden = try S.json(S.Golden.self, id + ".json")
            let model = try TFLiteModel(path: try S.modelPath(id: id, file: file))
            let g = try #require(model.subgraphs.first)
            #expect(model.subgraphs.count == 1, "\(id)")
            #expect(g.operators.count == totalOps[id], "\(id)")

            var counts: [String: Int] = [:]
            for op in g.operators { counts[model.operatorCodes[op.opcodeIndex].name, default: 0] += 1 }
            #expect(counts == golden.opCounts, "\(id)")

            #expect(g.inputs.map { g.tensors[$0].name } == golden.inputs.map(\.name), "\(id)")
            #expect(g.inputs.map { g.tensors[$0].shape } == golden.inputs.map(\.shape), "\(id)")
            #expect(g.inputs.map { S.typeName(g.tensors[$0].type) } == golden.inputs.map(\.type), "\(id)")
            #expect(g.outputs.map { g.tensors[$0].name } == golden.outputs.map(\.name), "\(id)")
            #expect(g.outputs.map { g.tensors[$0].shape } == golden.outputs.map(\.shape), "\(id)")

            let tensors = g.tensors.map { [S.JSONScalar.string($0.name), .ints($0.shape), .string(S.typeName($0.type))] }
            #expect(tensors == golden.tensors, "\(id)")
            let operators = g.operators.map {
                [S.JSONScalar.string(model.operatorCodes[$0.opcodeIndex].name), .ints($0.inputs), .ints($0.outputs), .string(S.describe($0.options))]
            }
            #expect(operators.count == golden.operators.count, "\(id)")
            for (i, (ours, theirs)) in zip(operators, golden.operators).enumerated() where ours != theirs {
                Issue.record("\(id) operator \(i): \(ours) != \(theirs)")
            }

            // Constant values as LiteRT's get_tensor returns them.
            let f16 = g.tensors[golden.float16Constant.index]
            #expect(f16.name == golden.float16Constant.name && f16.type == .float16, "\(id)")
            #expect(Array(S.float16s(try model.data(of: f16)).prefix(8)) == golden.float16Constant.first, "\(id)")
            let i32 = g.tensors[golden.int32Constant.index]
            #expect(i32.name == golden.int32Constant.name && i32.type == .int32, "\(id)")
            #expect(Array(S.int32s(try model.data(of: i32)).prefix(8)).map(Float.init) == golden.int32Constant.first, "\(id)")
        }
    }

    @Test func selfieTransposeConvolutionDecodesItsCustomParameters() throws {
        let model = try TFLiteModel(path: try S.modelPath(id: "selfie-segmentation", file: "selfie_segmentation.tflite"))
        let g = try #require(model.subgraphs.first)
        let custom = g.operators.filter { model.operatorCodes[$0.opcodeIndex] == .custom("Convolution2DTransposeBias") }
        #expect(custom.count == 1)
        let op = try #require(custom.first)
        // TfLiteTransposeConvParams {padding 1 (SAME), stride_width 2, stride_height 2}, little-endian.
        #expect(op.customOptions == [1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0])
        #expect(op.options == .transposeConv(padding: .same, strideX: 2, strideY: 2))
        #expect(op.inputs.count == 3 && op.outputs.count == 1)
    }

    @Test func builtinOperatorNamesFollowTheSchema() {
        #expect(TFLiteBuiltinOperator.add.name == "ADD")
        #expect(TFLiteBuiltinOperator.hardSwish.name == "HARD_SWISH")
        #expect(TFLiteBuiltinOperator.transposeConv.name == "TRANSPOSE_CONV")
        #expect(TFLiteBuiltinOperator.prelu.name == "PRELU")
        #expect(TFLiteBuiltinOperator(rawValue: 209).name == "STABLEHLO_CASE")
        #expect(TFLiteBuiltinOperator(rawValue: 210).name == "BUILTIN_210")
        #expect(TFLiteBuiltinOperator(rawValue: -3).name == "BUILTIN_-3")
        #expect(TFLiteOperatorCode.custom("Foo").name == "Foo")
    }
}
