import SparrowRuntime

/// Lowers a TFLite subgraph to interpreter steps: checks every operator is supported and its tensors
/// have the shapes our kernels produce, evaluates DEQUANTIZE of constants, packs convolution weights
/// and fuses an activation into the convolution before it.
struct TFLiteLowering {
    static let supportedOperatorNames: Set<String> = [
        "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "Convolution2DTransposeBias", "ADD", "MUL", "HARD_SWISH",
        "RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "PRELU", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN",
        "RESIZE_BILINEAR", "PAD", "CONCATENATION", "RESHAPE", "DEQUANTIZE",
    ]

    var steps: [TFLiteInterpreter.Step] = []
    var shapes: [FeatureMapShape]
    let constants: TFLiteConstants
    /// Tensors that share their input's storage (reshape output → input).
    var aliases: [Int: Int] = [:]
    /// Every tensor's declared dims (CONCATENATION's axis refers to them).
    private let tensorDims: [[Int]]

    init(model: TFLiteModel, graph: TFLiteSubgraph) throws {
        let names = graph.operators.map { op -> String in
            op.opcodeIndex < model.operatorCodes.count ? model.operatorCodes[op.opcodeIndex].name : "?"
        }
        let unsupported = Set(names).subtracting(Self.supportedOperatorNames)
        if !unsupported.isEmpty { throw TFLiteInterpreterError.unsupportedOperators(unsupported.sorted()) }
        shapes = try graph.tensors.map { try Self.featureMapShape($0) }
        for i in graph.inputs {
            guard i >= 0, i < graph.tensors.count else { throw TFLiteInterpreterError.invalidGraph("bad graph input \(i)") }
            try Self.requireBatchOne(graph.tensors[i])
        }
        tensorDims = graph.tensors.map(\.shape)
        constants = try TFLiteConstants(model: model, graph: graph, operatorNames: names)

        // How many steps read each tensor (for activation fusion).
        var readers = [Int](repeating: 0, count: graph.tensors.count)
        for op in graph.operators { for i in op.inputs where i >= 0 { readers[i] += 1 } }
        for i in graph.outputs { readers[i] += 1 }

        var skip = Set<Int>()
        for (index, op) in graph.operators.enumerated() where !skip.contains(index) {
            let name = names[index]
            if name == "DEQUANTIZE" { continue }     // evaluated at load (TFLiteConstants)
            guard op.outputs.count == 1, op.outputs[0] >= 0 else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (\(name)) must have one output")
            }
            var output = op.outputs[0]
            try Self.requireBatchOne(graph.tensors[output])
            // Fuse a following RELU / RELU6 into a convolution whose raw output nobody else reads.
            var fused: FusedActivation?
            if ["CONV_2D", "DEPTHWISE_CONV_2D"].contains(name), readers[output] == 1, index + 1 < graph.operators.count,
               case let next = graph.operators[index + 1], next.inputs.first == output, next.outputs.count == 1,
               let activation = Self.standaloneActivation(names[index + 1]), Self.activation(of: op.options) == FusedActivation.none {
                fused = activation
                output = next.outputs[0]
                skip.insert(index + 1)
            }
            let step = try lower(op, name: name, index: index, output: output, fused: fused)
            steps.append(step)
        }
    }

    private static func standaloneActivation(_ name: String) -> FusedActivation? {
        switch name {
        case "RELU": return .relu
        case "RELU6": return .relu6
        default: return nil
        }
    }

    private static func activation(of options: TFLiteOperatorOptions) -> FusedActivation? {
        switch options {
        case .conv2D(_, _, _, _, _, let activation): return activation
        case .depthwiseConv2D(_, _, _, _, _, _, let activation): return activation
        default: return nil
        }
    }

    /// A tensor's shape as a batch-1 feature map: [1,H,W,C], [1,N,C] → 1×N×C, [1,C] / [C] → 1×1×C.
    static func featureMapShape(_ tensor: TFLiteTensor) throws -> FeatureMapShape {
        let s = tensor.shape
        if s.contains(where: { $0 < 0 }) {
            throw TFLiteInterpreterError.invalidGraph("tensor '\(tensor.name)' has a dynamic shape \(s)")
        }
        switch s.count {
        case 0: return FeatureMapShape(height: 1, width: 1, channels: 1)
        case 1: return FeatureMapShape(height: 1, width: 1, channels: s[0])
        case 2 where s[0] == 1: return FeatureMapShape(height: 1, width: 1, channels: s[1])
        case 3 where s[0] == 1: return FeatureMapShape(height: 1, width: s[1], channels: s[2])
        case 4 where s[0] == 1: return FeatureMapShape(height: s[1], width: s[2], channels: s[3])
        default:
            // Constant weights such as [O, H, W, I] are kept flat; an activation of this shape is refused
            // where a step or the graph input uses it (`requireBatchOne`).
            return FeatureMapShape(height: 1, width: 1, channels: s.reduce(1, *))
        }
    }

    /// Refuses activations (graph inputs, step outputs) whose batch is not 1 or whose rank exceeds 4.
    static func requireBatchOne(_ tensor: TFLiteTensor) throws {
        let s = tensor.shape
        if s.count > 4 || (s.count >= 2 && s[0] != 1) {
            throw TFLiteInterpreterError.invalidGraph("tensor '\(tensor.name)' has shape \(s); only batch 1 (rank ≤ 4) is supported")
        }
    }

    private func requireShape(_ tensor: Int, _ expected: FeatureMapShape, _ what: String, _ index: Int) throws {
        guard shapes[tensor] == expected else {
            throw TFLiteInterpreterError.invalidGraph(
                "operator \(index) (\(what)): output has shape \(shapes[tensor]) but the kernel produces \(expected)")
        }
    }

    private func constant(_ tensor: Int, _ what: String, _ index: Int) throws -> UnsafeMutablePointer<Float> {
        guard tensor >= 0, let pointer = constants.pointer(tensor) else {
            throw TFLiteInterpreterError.invalidGraph("operator \(index) (\(what)): input \(tensor) must be a constant")
        }
        return pointer
    }

    private mutating func lower(_ op: TFLiteOperator, name: String, index: Int, output: Int,
                                fused: FusedActivation?) throws -> TFLiteInterpreter.Step {
        let inputs = op.inputs
        func need(_ n: Int) throws {
            guard inputs.count >= n, inputs.prefix(n).allSatisfy({ $0 >= 0 }) else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (\(name)) needs \(n) inputs")
            }
        }
        let outShape = shapes[output]
        func step(_ kind: TFLiteStepKind, _ ins: [Int], macs: Int = 0, weights: Int? = nil) -> TFLiteInterpreter.Step {
            TFLiteInterpreter.Step(kind: kind, inputs: ins, output: output, operatorIndex: index, macs: macs, weights: weights)
        }
        switch (name, op.options) {
        case ("CONV_2D", .conv2D(let padding, let strideX, let strideY, let dilationX, let dilationY, let activation)):
            try need(2)
            let (input, weightsShape) = (shapes[inputs[0]], constants.shape(inputs[1]))
            guard weightsShape.count == 4, weightsShape[3] == input.channels else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (CONV_2D): weights \(weightsShape) do not match input \(input)")
            }
            let (cout, kh, kw) = (weightsShape[0], weightsShape[1], weightsShape[2])
            let bias = inputs.count > 2 && inputs[2] >= 0 ? try constant(inputs[2], name, index) : nil
            let rows = Padding2D.tflite(same: padding == .same, input: input.height, kernel: kh, stride: strideY, dilation: dilationY)
            let cols = Padding2D.tflite(same: padding == .same, input: input.width, kernel: kw, stride: strideX, dilation: dilationX)
            let conv = Convolution2D(
                weights: try constant(inputs[1], name, index), bias: bias, outputChannels: cout, kernelHeight: kh,
                kernelWidth: kw, inputChannels: input.channels, strideY: strideY, strideX: strideX,
                dilationY: dilationY, dilationX: dilationX,
                padding: Padding2D(top: rows.before, left: cols.before, bottom: rows.after, right: cols.after),
                activation: fused ?? activation)
            try requireShape(output, conv.outputShape(for: input), name, index)
            return step(.convolution(conv), [inputs[0]], macs: outShape.pixelCount * conv.macsPerOutputPixel, weights: inputs[1])
        case ("DEPTHWISE_CONV_2D", .depthwiseConv2D(let padding, let strideX, let strideY, let multiplier, let dilationX,
                                                    let dilationY, let activation)):
            try need(2)
            let (input, weightsShape) = (shapes[inputs[0]], constants.shape(inputs[1]))
            guard weightsShape.count == 4, weightsShape[0] == 1, multiplier >= 1,
                  weightsShape[3] == input.channels * multiplier else {
                throw TFLiteInterpreterError.invalidGraph(
                    "operator \(index) (DEPTHWISE_CONV_2D): weights \(weightsShape) do not match input \(input) × \(multiplier)")
            }
            let (kh, kw) = (weightsShape[1], weightsShape[2])
            let bias = inputs.count > 2 && inputs[2] >= 0 ? try constant(inputs[2], name, index) : nil
            let rows = Padding2D.tflite(same: padding == .same, input: input.height, kernel: kh, stride: strideY, dilation: dilationY)
            let cols = Padding2D.tflite(same: padding == .same, input: input.width, kernel: kw, stride: strideX, dilation: dilationX)
            let conv = DepthwiseConvolution2D(
                weights: try constant(inputs[1], name, index), bias: bias, channels: input.channels, multiplier: multiplier,
                kernelHeight: kh, kernelWidth: kw, strideY: strideY, strideX: strideX, dilationY: dilationY,
                dilationX: dilationX, padding: Padding2D(top: rows.before, left: cols.before, bottom: rows.after, right: cols.after),
                activation: fused ?? activation)
            try requireShape(output, conv.outputShape(for: input), name, index)
            return step(.depthwise(conv), [inputs[0]], macs: outShape.pixelCount * conv.macsPerOutputPixel, weights: inputs[1])
        case (_, .transposeConv(let padding, let strideX, let strideY)):
            // TRANSPOSE_CONV: (output_shape, weights, input[, bias]); the MediaPipe custom op: (input, weights, bias).
            let custom = name == "Convolution2DTransposeBias"
            try need(3)
            let (inputIndex, weightsIndex) = custom ? (inputs[0], inputs[1]) : (inputs[2], inputs[1])
            let biasIndex = custom ? inputs[2] : (inputs.count > 3 ? inputs[3] : -1)
            let (input, weightsShape) = (shapes[inputIndex], constants.shape(weightsIndex))
            guard weightsShape.count == 4, weightsShape[3] == input.channels, weightsShape[0] == outShape.channels else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (\(name)): weights \(weightsShape) do not match input \(input)")
            }
            let (kh, kw) = (weightsShape[1], weightsShape[2])
            let rows = TransposedConvolution2D.tflite(same: padding == .same, input: input.height, kernel: kh, stride: strideY)
            let cols = TransposedConvolution2D.tflite(same: padding == .same, input: input.width, kernel: kw, stride: strideX)
            try requireShape(output, FeatureMapShape(height: rows.output, width: cols.output, channels: outShape.channels), name, index)
            let conv = TransposedConvolution2D(
                weights: try constant(weightsIndex, name, index), bias: biasIndex >= 0 ? try constant(biasIndex, name, index) : nil,
                outputChannels: outShape.channels, kernelHeight: kh, kernelWidth: kw, inputChannels: input.channels,
                strideY: strideY, strideX: strideX,
                padding: Padding2D(top: rows.before, left: cols.before, bottom: rows.after, right: cols.after))
            return step(.transposed(conv), [inputIndex], macs: input.pixelCount * conv.macsPerInputPixel, weights: weightsIndex)
        case ("ADD", .add(let activation)), ("MUL", .mul(let activation)):
            try need(2)
            let (a, b) = (shapes[inputs[0]], shapes[inputs[1]])
            guard Self.broadcasts(a, b) || Self.broadcasts(b, a) else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (\(name)): cannot broadcast \(a) with \(b)")
            }
            try requireShape(output, a.count >= b.count ? a : b, name, index)
            return step(name == "ADD" ? .add(activation) : .multiply(activation), [inputs[0], inputs[1]])
        case ("HARD_SWISH", _), ("RELU", _), ("LOGISTIC", _), ("RELU6", _), ("RELU_N1_TO_1", _):
            try need(1)
            try requireShape(output, shapes[inputs[0]], name, index)
            let kind: TFLiteStepKind = name == "HARD_SWISH" ? .hardSwish : name == "RELU" ? .relu : name == "LOGISTIC" ? .logistic
                : .activation(name == "RELU6" ? .relu6 : .reluMinus1To1)
            return step(kind, [inputs[0]])
        case ("PRELU", _):
            try need(2)
            _ = try constant(inputs[1], name, index)
            guard Self.broadcasts(shapes[inputs[0]], shapes[inputs[1]]) else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (PRELU): alpha \(shapes[inputs[1]]) does not broadcast")
            }
            try requireShape(output, shapes[inputs[0]], name, index)
            return step(.prelu, [inputs[0], inputs[1]])
        case ("AVERAGE_POOL_2D", .pool2D(let padding, let strideX, let strideY, let fw, let fh, let activation)),
             ("MAX_POOL_2D", .pool2D(let padding, let strideX, let strideY, let fw, let fh, let activation)):
            try need(1)
            let input = shapes[inputs[0]]
            let rows = Padding2D.tflite(same: padding == .same, input: input.height, kernel: fh, stride: strideY, dilation: 1)
            let cols = Padding2D.tflite(same: padding == .same, input: input.width, kernel: fw, stride: strideX, dilation: 1)
            try requireShape(output, FeatureMapShape(height: rows.output, width: cols.output, channels: input.channels), name, index)
            let pool = TFLitePool(filterHeight: fh, filterWidth: fw, strideY: strideY, strideX: strideX,
                                  padding: Padding2D(top: rows.before, left: cols.before, bottom: rows.after, right: cols.after),
                                  activation: activation)
            return step(name == "MAX_POOL_2D" ? .maxPool(pool) : .averagePool(pool), [inputs[0]])
        case ("MEAN", _):
            try need(2)
            let axes = try constants.integers(inputs[1]).sorted()
            let input = shapes[inputs[0]]
            guard axes == [1, 2], outShape == FeatureMapShape(height: 1, width: 1, channels: input.channels) else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (MEAN): only the mean over height and width is supported")
            }
            return step(.mean, [inputs[0]])
        case ("RESIZE_BILINEAR", .resizeBilinear(let alignCorners, let halfPixelCenters)):
            try need(1)
            let input = shapes[inputs[0]]
            guard outShape.channels == input.channels else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (RESIZE_BILINEAR): channels change")
            }
            if inputs.count > 1, inputs[1] >= 0, let size = try? constants.integers(inputs[1]),
               size != [outShape.height, outShape.width] {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (RESIZE_BILINEAR): size \(size) ≠ output \(outShape)")
            }
            return step(.resizeBilinear(alignCorners: alignCorners, halfPixelCenters: halfPixelCenters), [inputs[0]])
        case ("PAD", _):
            try need(2)
            let p = try constants.integers(inputs[1])
            let rank = p.count / 2
            guard p.count % 2 == 0, (1...4).contains(rank), p.allSatisfy({ $0 >= 0 }) else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (PAD): paddings \(p) are not supported")
            }
            // Pad the last three axes of a [1, H, W, C] (or lower-rank) tensor; the batch axis must not grow.
            let full = [Int](repeating: 0, count: 2 * (4 - rank)) + p
            guard full[0] == 0, full[1] == 0 else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (PAD): padding the batch axis is not supported")
            }
            let before = (y: full[2], x: full[4], c: full[6]), after = (y: full[3], x: full[5], c: full[7])
            let input = shapes[inputs[0]]
            try requireShape(output, FeatureMapShape(height: input.height + before.y + after.y, width: input.width + before.x + after.x,
                                                     channels: input.channels + before.c + after.c), name, index)
            return step(.pad(before: before, after: after), [inputs[0]])
        case ("CONCATENATION", .concatenation(let axis, let activation)):
            guard activation == .none, !inputs.isEmpty, inputs.allSatisfy({ $0 >= 0 }) else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (CONCATENATION): unsupported form")
            }
            let outDims = tensorDims[output]
            let rank = outDims.count
            let a = axis < 0 ? axis + rank : axis
            guard (0..<rank).contains(a) else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (CONCATENATION): axis \(axis) out of range")
            }
            let outer = outDims[..<a].reduce(1, *)
            let inner = inputs.map { shapes[$0].count / max(outer, 1) }
            guard inner.reduce(0, +) * outer == outShape.count else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (CONCATENATION): input sizes do not add up")
            }
            return step(.concatenate(outerCount: outer, innerSizes: inner), inputs)
        case ("RESHAPE", _):
            try need(1)
            guard shapes[inputs[0]].count == outShape.count else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (RESHAPE): element counts differ")
            }
            aliases[output] = inputs[0]
            return step(.reshape, [inputs[0]])
        default:
            throw TFLiteInterpreterError.invalidGraph("operator \(index) (\(name)) has options of the wrong kind")
        }
    }

    /// True when `b` broadcasts onto `a` (equal, per-channel [1,1,C] or scalar).
    static func broadcasts(_ a: FeatureMapShape, _ b: FeatureMapShape) -> Bool {
        b == a || (b.height == 1 && b.width == 1 && (b.channels == a.channels || b.channels == 1))
    }
}
