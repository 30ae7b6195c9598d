/// A .tflite flatbuffer, memory-mapped and fully bounds-checked at open.
///
/// Opening reads the whole graph (matches tensorflow/lite/schema/schema.fbs): operator codes,
/// subgraphs with their tensors and operators, and the buffer table. Every offset, count and index
/// is checked; constant tensors must hold exactly element count × element size bytes; options of
/// the operators Sparrow runs are decoded (`TFLiteOperatorOptions`). Buffer bytes stay in the
/// mapping and are handed out by `buffer(_:)`.
public final class TFLiteModel: @unchecked Sendable {
    /// The schema version the file declares (3 for every current converter).
    public let version: Int
    public let description: String?
    public let operatorCodes: [TFLiteOperatorCode]
    /// Subgraph 0 is the main graph.
    public let subgraphs: [TFLiteSubgraph]
    /// Number of entries in the model's buffer table (buffer 0 is the empty sentinel).
    public var bufferCount: Int { bufferRanges.count }
    /// The path (or name) errors refer to.
    public var path: String { file.path }

    private let file: MappedFile
    /// Byte range in the file of each buffer.
    private let bufferRanges: [Range<Int>]

    /// Maps and checks the .tflite file at `path`.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Checks an in-memory file; `name` stands for the path in errors (for tests of hostile inputs).
    public convenience init(bytes: [UInt8], name: String) throws {
        try self.init(file: MappedFile(bytes: bytes, name: name))
    }

    private init(file: MappedFile) throws {
        let parsed = try TFLiteReader(buffer: FlatBuffer(file: file)).read()
        self.file = file
        version = parsed.version
        description = parsed.description
        operatorCodes = parsed.operatorCodes
        subgraphs = parsed.subgraphs
        bufferRanges = parsed.bufferRanges
    }

    /// Bytes of buffer `index` (empty buffers → empty). Valid while the model lives.
    public func buffer(_ index: Int) throws -> UnsafeRawBufferPointer {
        guard index >= 0, index < bufferRanges.count else {
            throw FormatError(file: file.path, offset: nil, message: "buffer \(index) does not exist; the model has \(bufferRanges.count) buffers")
        }
        let range = bufferRanges[index]
        return try file.bytes(at: range.lowerBound, count: range.count, what: "buffer \(index)")
    }

    /// The constant bytes of `tensor` (its buffer; empty for activations and inputs).
    public func data(of tensor: TFLiteTensor) throws -> UnsafeRawBufferPointer {
        try buffer(tensor.buffer)
    }
}

/// What an operator code names: a builtin operator or a custom op by its string.
public enum TFLiteOperatorCode: Hashable, Sendable {
    /// Builtin code = max(deprecated_builtin_code, builtin_code), the schema's rule for old and new files.
    case builtin(TFLiteBuiltinOperator)
    case custom(String)

    /// "CONV_2D", "Convolution2DTransposeBias", …
    public var name: String {
        switch self {
        case .builtin(let op): return op.name
        case .custom(let name): return name
        }
    }
}

/// Element type of a tensor (the schema's `TensorType`).
public enum TFLiteTensorType: Hashable, Sendable {
    case float32, float16, int32, uint8, int64, int8, int16, bool
    /// Any other schema type (string, complex, 4-bit, …) by its raw value.
    case other(Int8)

    init(rawValue: Int8) {
        switch rawValue {
        case 0: self = .float32
        case 1: self = .float16
        case 2: self = .int32
        case 3: self = .uint8
        case 4: self = .int64
        case 6: self = .bool
        case 7: self = .int16
        case 9: self = .int8
        default: self = .other(rawValue)
        }
    }

    /// Bytes per element, nil for types without a fixed one-element size.
    public var byteSize: Int? {
        switch self {
        case .float32, .int32: return 4
        case .float16, .int16: return 2
        case .uint8, .int8, .bool: return 1
        case .int64: return 8
        case .other: return nil
        }
    }
}

/// Affine quantization parameters: real = scale × (q − zeroPoint), per tensor or per channel.
public struct TFLiteQuantization: Hashable, Sendable {
    public var scales: [Float]
    public var zeroPoints: [Int64]
    /// The axis the per-channel parameters run along.
    public var quantizedDimension: Int

    public init(scales: [Float], zeroPoints: [Int64], quantizedDimension: Int) {
        self.scales = scales
        self.zeroPoints = zeroPoints
        self.quantizedDimension = quantizedDimension
    }
}

/// One tensor of a subgraph.
public struct TFLiteTensor: Hashable, Sendable {
    public var name: String
    /// Dimensions, outermost first ([] for a scalar).
    public var shape: [Int]
    public var type: TFLiteTensorType
    /// Index into the model's buffers; a constant tensor's buffer is non-empty.
    public var buffer: Int
    public var quantization: TFLiteQuantization?
    public var isVariable: Bool

    /// Product of the dimensions (checked against overflow at load).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// TFLite's padding rule for convolutions and pools.
public enum TFLitePadding: Hashable, Sendable { case same, valid }

/// Decoded options of an operator (the schema's `BuiltinOptions` tables Sparrow runs).
public enum TFLiteOperatorOptions: Hashable, Sendable {
    case none
    case conv2D(padding: TFLitePadding, strideX: Int, strideY: Int, dilationX: Int, dilationY: Int, activation: FusedActivation)
    case depthwiseConv2D(
        padding: TFLitePadding, strideX: Int, strideY: Int, multiplier: Int, dilationX: Int, dilationY: Int, activation: FusedActivation)
    case pool2D(padding: TFLitePadding, strideX: Int, strideY: Int, filterWidth: Int, filterHeight: Int, activation: FusedActivation)
    case add(activation: FusedActivation)
    case mul(activation: FusedActivation)
    case concatenation(axis: Int, activation: FusedActivation)
    case reshape(newShape: [Int])
    case resizeBilinear(alignCorners: Bool, halfPixelCenters: Bool)
    case reducer(keepDims: Bool)
    /// TRANSPOSE_CONV, and MediaPipe's custom Convolution2DTransposeBias (whose custom_options hold
    /// the C struct TfLiteTransposeConvParams: int32 padding, stride_width, stride_height).
    case transposeConv(padding: TFLitePadding, strideX: Int, strideY: Int)
    /// Options present but not decoded: the schema's `BuiltinOptions` type number.
    case other(optionsType: Int)
}

/// One operator: what it runs and on which tensors.
public struct TFLiteOperator: Hashable, Sendable {
    /// Index into `TFLiteModel.operatorCodes`.
    public var opcodeIndex: Int
    /// Tensor indices in the subgraph; -1 = absent optional input.
    public var inputs: [Int]
    public var outputs: [Int]
    public var options: TFLiteOperatorOptions
    /// Raw custom options bytes (custom ops).
    public var customOptions: [UInt8]
}

/// One graph: tensors, the operators in execution order, and the graph's inputs and outputs.
public struct TFLiteSubgraph: Hashable, Sendable {
    public var name: String?
    public var tensors: [TFLiteTensor]
    public var inputs: [Int]
    public var outputs: [Int]
    public var operators: [TFLiteOperator]
}
