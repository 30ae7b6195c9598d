/// Decoding of the builtin options tables Sparrow runs (matches tensorflow/lite/schema/schema.fbs:
/// the `BuiltinOptions` union numbers and each options table's field order), and of MediaPipe's
/// custom Convolution2DTransposeBias parameters.
extension TFLiteOperatorOptions {
    /// The schema's `BuiltinOptions` union type numbers of the tables decoded here.
    enum OptionsType {
        static let conv2D: UInt8 = 1
        static let depthwiseConv2D: UInt8 = 2
        static let pool2D: UInt8 = 5
        static let concatenation: UInt8 = 10
        static let add: UInt8 = 11
        static let resizeBilinear: UInt8 = 15
        static let reshape: UInt8 = 17
        static let mul: UInt8 = 21
        static let reducer: UInt8 = 27
        static let transposeConv: UInt8 = 49
    }

    /// Name of MediaPipe's custom transposed convolution.
    static let convolution2DTransposeBias = "Convolution2DTransposeBias"

    /// Decodes the options of one operator. An options table that is absent means all schema
    /// defaults, except for RESHAPE, whose new shape then comes from its second input (`.none`).
    /// Options of another op's type, unknown paddings, unsupported fused activations (TANH,
    /// SIGN_BIT) and non-positive strides, dilations or filter sizes are `FormatError`s naming the op.
    static func decode(
        code: TFLiteOperatorCode, optionsType: UInt8, table: FlatBufferTable?, customOptions: [UInt8], buffer: FlatBuffer,
        at: Int, what: String
    ) throws -> TFLiteOperatorOptions {
        let op: TFLiteBuiltinOperator
        switch code {
        case .custom(let name):
            if name == convolution2DTransposeBias {
                return try transposeConvolutionParameters(customOptions, buffer: buffer, at: at, what: what)
            }
            return optionsType == 0 ? .none : .other(optionsType: Int(optionsType))
        case .builtin(let builtin):
            op = builtin
        }
        let expected: UInt8
        switch op {
        case .conv2D: expected = OptionsType.conv2D
        case .depthwiseConv2D: expected = OptionsType.depthwiseConv2D
        case .averagePool2D, .maxPool2D: expected = OptionsType.pool2D
        case .add: expected = OptionsType.add
        case .mul: expected = OptionsType.mul
        case .concatenation: expected = OptionsType.concatenation
        case .reshape: expected = OptionsType.reshape
        case .resizeBilinear: expected = OptionsType.resizeBilinear
        case .mean: expected = OptionsType.reducer
        case .transposeConv: expected = OptionsType.transposeConv
        default: return optionsType == 0 ? .none : .other(optionsType: Int(optionsType))
        }
        guard optionsType == 0 || optionsType == expected else {
            throw buffer.error(at, "\(what) carries builtin options of type \(optionsType), expected type \(expected) (corrupt)")
        }
        let f = OptionsFields(table: table, buffer: buffer, at: at, what: what)
        switch op {
        case .conv2D:
            // Conv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 fused_activation_function, 4 dilation_w, 5 dilation_h.
            return .conv2D(
                padding: try f.padding(0), strideX: try f.positive(1, 0, "stride_w"), strideY: try f.positive(2, 0, "stride_h"),
                dilationX: try f.positive(4, 1, "dilation_w_factor"), dilationY: try f.positive(5, 1, "dilation_h_factor"),
                activation: try f.activation(3))
        case .depthwiseConv2D:
            // DepthwiseConv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 depth_multiplier, 4 activation, 5/6 dilations.
            return .depthwiseConv2D(
                padding: try f.padding(0), strideX: try f.positive(1, 0, "stride_w"), strideY: try f.positive(2, 0, "stride_h"),
                multiplier: try f.nonNegative(3, "depth_multiplier"), dilationX: try f.positive(5, 1, "dilation_w_factor"),
                dilationY: try f.positive(6, 1, "dilation_h_factor"), activation: try f.activation(4))
        case .averagePool2D, .maxPool2D:
            // Pool2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 filter_width, 4 filter_height, 5 activation.
            return .pool2D(
                padding: try f.padding(0), strideX: try f.positive(1, 0, "stride_w"), strideY: try f.positive(2, 0, "stride_h"),
                filterWidth: try f.positive(3, 0, "filter_width"), filterHeight: try f.positive(4, 0, "filter_height"),
                activation: try f.activation(5))
        case .add:
            return .add(activation: try f.activation(0))  // AddOptions: 0 activation, 1 pot_scale_int16
        case .mul:
            return .mul(activation: try f.activation(0))  // MulOptions: 0 activation
        case .concatenation:
            // ConcatenationOptions: 0 axis (may be negative: counts from the last axis), 1 activation.
            return .concatenation(axis: Int(try f.int32(0, 0, "axis")), activation: try f.activation(1))
        case .reshape:
            guard let table else { return .none }
            return .reshape(newShape: try table.scalars(0, as: Int32.self, "\(what): new_shape").map(Int.init))
        case .resizeBilinear:
            // ResizeBilinearOptions: 0 and 1 are deprecated new_height/new_width, 2 align_corners, 3 half_pixel_centers.
            return .resizeBilinear(alignCorners: try f.bool(2, "align_corners"), halfPixelCenters: try f.bool(3, "half_pixel_centers"))
        case .mean:
            return .reducer(keepDims: try f.bool(0, "keep_dims"))  // ReducerOptions: 0 keep_dims
        default:
            // TransposeConvOptions: 0 padding, 1 stride_w, 2 stride_h, 3 activation (none is all we run).
            let activation = try f.activation(3)
            guard activation == .none else {
                throw buffer.error(at, "\(what): a fused activation (\(activation)) on TRANSPOSE_CONV is not supported")
            }
            return .transposeConv(
                padding: try f.padding(0), strideX: try f.positive(1, 0, "stride_w"), strideY: try f.positive(2, 0, "stride_h"))
        }
    }

    /// TfLiteTransposeConvParams as raw little-endian bytes: int32 padding (TfLitePadding: 0 unknown,
    /// 1 same, 2 valid), int32 stride_width, int32 stride_height (later TFLite versions append fields).
    private static func transposeConvolutionParameters(
        _ bytes: [UInt8], buffer: FlatBuffer, at: Int, what: String
    ) throws -> TFLiteOperatorOptions {
        guard bytes.count >= 12 else {
            throw buffer.error(at, "\(what): custom options hold \(bytes.count) bytes; TfLiteTransposeConvParams needs 12 (corrupt)")
        }
        func int32(_ i: Int) -> Int {
            Int(Int32(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24))
        }
        let padding: TFLitePadding
        switch int32(0) {
        case 1: padding = .same
        case 2: padding = .valid
        case let p: throw buffer.error(at, "\(what): padding \(p) is not 1 (SAME) or 2 (VALID) (corrupt)")
        }
        let strideX = int32(4), strideY = int32(8)
        guard strideX >= 1, strideY >= 1 else {
            throw buffer.error(at, "\(what): strides \(strideX)×\(strideY) must be ≥ 1 (corrupt)")
        }
        return .transposeConv(padding: padding, strideX: strideX, strideY: strideY)
    }
}

/// Reads fields of an options table that may be absent (then every field has its schema default).
private struct OptionsFields {
    let table: FlatBufferTable?
    let buffer: FlatBuffer
    let at: Int
    let what: String

    func int32(_ index: Int, _ defaultValue: Int32, _ name: String) throws -> Int32 {
        try table?.scalar(index, defaultValue, "\(what): \(name)") ?? defaultValue
    }

    func bool(_ index: Int, _ name: String) throws -> Bool {
        try table?.bool(index, false, "\(what): \(name)") ?? false
    }

    /// An int32 field that must be ≥ 1 (strides, dilations, filter sizes).
    func positive(_ index: Int, _ defaultValue: Int32, _ name: String) throws -> Int {
        let v = try int32(index, defaultValue, name)
        guard v >= 1 else { throw buffer.error(at, "\(what): \(name) is \(v), must be ≥ 1 (corrupt)") }
        return Int(v)
    }

    func nonNegative(_ index: Int, _ name: String) throws -> Int {
        let v = try int32(index, 0, name)
        guard v >= 0 else { throw buffer.error(at, "\(what): \(name) is \(v), must be ≥ 0 (corrupt)") }
        return Int(v)
    }

    /// The schema's Padding (i8): 0 SAME, 1 VALID.
    func padding(_ index: Int) throws -> TFLitePadding {
        let v = try table?.scalar(index, Int8(0), "\(what): padding") ?? 0
        switch v {
        case 0: return .same
        case 1: return .valid
        default: throw buffer.error(at, "\(what): padding \(v) is not 0 (SAME) or 1 (VALID) (corrupt)")
        }
    }

    /// The schema's ActivationFunctionType (i8): 0 NONE, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6, 4 TANH, 5 SIGN_BIT.
    func activation(_ index: Int) throws -> FusedActivation {
        let v = try table?.scalar(index, Int8(0), "\(what): fused_activation_function") ?? 0
        switch v {
        case 0: return .none
        case 1: return .relu
        case 2: return .reluMinus1To1
        case 3: return .relu6
        case 4: throw buffer.error(at, "\(what): fused activation TANH is not supported (only NONE, RELU, RELU_N1_TO_1, RELU6)")
        case 5: throw buffer.error(at, "\(what): fused activation SIGN_BIT is not supported (only NONE, RELU, RELU_N1_TO_1, RELU6)")
        default: throw buffer.error(at, "\(what): fused activation \(v) is unknown (corrupt)")
        }
    }
}
