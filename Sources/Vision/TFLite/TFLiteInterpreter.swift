import SparrowRuntime

/// Runs the main subgraph of a `.tflite` model on SparrowRuntime's kernels (NHWC float32, batch 1).
///
/// Loading lowers the graph once: DEQUANTIZE of constant weights (fp16 or int8) is evaluated at load,
/// convolution weights are packed for the GEMM micro-kernel, an activation that follows a convolution
/// is fused into it when nothing else reads the convolution's raw output, and every intermediate
/// tensor gets an offset in one arena whose slots are reused once a tensor is dead (`TFLiteMemoryPlan`).
/// `invoke()` then runs the steps with no allocation.
public final class TFLiteInterpreter: @unchecked Sendable {
    /// One lowered operator.
    public struct Step {
        public let kind: TFLiteStepKind
        /// Tensor indices read (constants included) and the tensor written.
        public let inputs: [Int]
        public let output: Int
        /// The graph operator this step came from (for error messages and per-op reports).
        public let operatorIndex: Int
        /// Dense multiply-accumulates of one run.
        public let macs: Int
        /// The weights tensor of a convolution step (for gates that scale by the weights' size).
        public let weights: Int?
    }

    public let model: TFLiteModel
    public let context: ExecutionContext
    public let steps: [Step]
    /// Shapes of every tensor of the subgraph, as feature maps (batch 1).
    public let shapes: [FeatureMapShape]
    public let inputIndices: [Int]
    public let outputIndices: [Int]
    /// Tensor names, by index.
    public let tensorNames: [String]
    /// Bytes of the activation arena (all intermediates, after reuse).
    public let arenaBytes: Int
    /// True when every tensor has its own storage, kept across invocations.
    public let keepsEveryTensor: Bool

    let plan: TFLiteMemoryPlan
    /// Tensors kept readable after `invoke()` (graph outputs and `preserving`).
    let kept: Set<Int>
    let constants: TFLiteConstants
    private let arena: UnsafeMutablePointer<Float>
    /// Float pointer of every tensor: constants' storage or an arena slot (`nil` if unused).
    let pointers: [UnsafeMutablePointer<Float>?]

    /// Opens and lowers `model`'s first subgraph.
    /// - Parameters:
    ///   - preserving: names of intermediate tensors that must stay readable after `invoke()` (their
    ///     arena slots are never reused), e.g. a backbone feature map.
    ///   - keepingEveryTensor: give every tensor its own storage, kept across invocations (what the
    ///     Skip-Conv executor needs: unchanged pixels keep last frame's values).
    public init(model: TFLiteModel, context: ExecutionContext, preserving: Set<String> = [],
                keepingEveryTensor: Bool = false) throws {
        guard let graph = model.subgraphs.first else {
            throw TFLiteInterpreterError.invalidGraph("the model has no subgraph")
        }
        self.model = model
        self.context = context
        let lowered = try TFLiteLowering(model: model, graph: graph)
        steps = lowered.steps
        shapes = lowered.shapes
        constants = lowered.constants
        inputIndices = graph.inputs
        outputIndices = graph.outputs
        tensorNames = graph.tensors.map(\.name)
        var kept = Set(graph.outputs)
        for name in preserving {
            guard let index = tensorNames.firstIndex(of: name) else {
                throw TFLiteInterpreterError.invalidGraph("no tensor named '\(name)' to preserve")
            }
            kept.insert(index)
        }
        if keepingEveryTensor { kept.formUnion(0..<graph.tensors.count) }
        keepsEveryTensor = keepingEveryTensor
        self.kept = kept
        let plan = try TFLiteMemoryPlan(steps: lowered.steps, shapes: lowered.shapes, inputs: graph.inputs, kept: kept,
                                        isConstant: { lowered.constants.pointer($0) != nil }, aliases: lowered.aliases)
        self.plan = plan
        arenaBytes = plan.floatCount * MemoryLayout<Float>.size
        let base = UnsafeMutablePointer<Float>.allocate(capacity: max(plan.floatCount, 1))
        base.initialize(repeating: 0, count: max(plan.floatCount, 1))
        arena = base
        pointers = (0..<graph.tensors.count).map { index in
            if let constant = lowered.constants.pointer(index) { return constant }
            if let offset = plan.offsets[index] { return base + offset }
            return nil
        }
    }

    deinit { arena.deallocate() }

    /// Dense multiply-accumulates of one `invoke()`.
    public var macsPerInvoke: Int { steps.reduce(0) { $0 + $1.macs } }

    /// Writable storage of graph input `i` (fill it, then `invoke()`).
    public func input(_ i: Int = 0) -> UnsafeMutableBufferPointer<Float> {
        let index = inputIndices[i]
        return UnsafeMutableBufferPointer(start: pointers[index], count: shapes[index].count)
    }

    /// Graph output `i` after `invoke()`; valid until the next `invoke()`.
    public func output(_ i: Int = 0) -> UnsafeBufferPointer<Float> {
        tensor(outputIndices[i])
    }

    /// Any tensor kept by the plan (inputs, outputs, constants, preserved ones) after `invoke()`.
    public func tensor(_ index: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: pointers[index], count: shapes[index].count)
    }

    /// True when tensor `index` stays readable after `invoke()`.
    public func isPreserved(_ index: Int) -> Bool { kept.contains(index) }

    /// Index of the tensor named `name`, if any.
    public func tensorIndex(named name: String) -> Int? { tensorNames.firstIndex(of: name) }

    /// Runs every step once.
    public func invoke() {
        for step in steps { run(step) }
    }

    /// Runs one step densely (also used by the Skip-Conv executor for ops it does not gate).
    func run(_ step: Step) {
        let out = pointers[step.output]!
        let outShape = shapes[step.output]
        func input(_ i: Int) -> UnsafeMutablePointer<Float> { pointers[step.inputs[i]]! }
        func shape(_ i: Int) -> FeatureMapShape { shapes[step.inputs[i]] }
        switch step.kind {
        case .convolution(let conv):
            conv.run(input(0), shape: shape(0), into: out, context: context)
        case .depthwise(let conv):
            conv.run(input(0), shape: shape(0), into: out, context: context)
        case .transposed(let conv):
            conv.run(input(0), shape: shape(0), into: out, outputShape: outShape, context: context)
        case .add(let activation):
            Kernels.add(input(0), shape(0), input(1), shape(1), into: out, activation: activation, context: context)
        case .multiply(let activation):
            Kernels.multiply(input(0), shape(0), input(1), shape(1), into: out, activation: activation, context: context)
        case .hardSwish:
            Kernels.hardSwish(input(0), count: outShape.count, into: out)
        case .relu:
            Kernels.relu(input(0), count: outShape.count, into: out)
        case .logistic:
            Kernels.logistic(input(0), count: outShape.count, into: out)
        case .activation(let activation):
            if out != input(0) { out.update(from: input(0), count: outShape.count) }
            activation.apply(out, count: outShape.count)
        case .prelu:
            Kernels.prelu(input(0), shape: shape(0), alpha: input(1), alphaShape: shape(1), into: out)
        case .averagePool(let pool):
            Kernels.averagePool2D(input(0), shape: shape(0), filterHeight: pool.filterHeight, filterWidth: pool.filterWidth,
                                  strideY: pool.strideY, strideX: pool.strideX, padding: pool.padding,
                                  activation: pool.activation, into: out, context: context)
        case .maxPool(let pool):
            Kernels.maxPool2D(input(0), shape: shape(0), filterHeight: pool.filterHeight, filterWidth: pool.filterWidth,
                              strideY: pool.strideY, strideX: pool.strideX, padding: pool.padding,
                              activation: pool.activation, into: out, context: context)
        case .mean:
            Kernels.meanOverPixels(input(0), shape: shape(0), into: out)
        case .resizeBilinear(let alignCorners, let halfPixelCenters):
            Kernels.resizeBilinear(input(0), shape: shape(0), outputHeight: outShape.height, outputWidth: outShape.width,
                                   alignCorners: alignCorners, halfPixelCenters: halfPixelCenters, into: out, context: context)
        case .pad(let before, let after):
            Kernels.pad(input(0), shape: shape(0), before: before, after: after, into: out)
        case .concatenate(let outerCount, let innerSizes):
            let parts = zip(step.inputs, innerSizes).map { (UnsafePointer(pointers[$0]!), $1) }
            Kernels.concatenate(parts, outerCount: outerCount, into: out)
        case .reshape:
            // The memory plan aliases a reshape's output to its input; copy only if it could not.
            if out != input(0) { out.update(from: input(0), count: outShape.count) }
        }
    }
}

/// What a lowered step computes.
public enum TFLiteStepKind {
    case convolution(Convolution2D)
    case depthwise(DepthwiseConvolution2D)
    case transposed(TransposedConvolution2D)
    case add(FusedActivation)
    case multiply(FusedActivation)
    case hardSwish, relu, logistic
    /// RELU6 / RELU_N1_TO_1 as standalone operators.
    case activation(FusedActivation)
    case prelu
    case averagePool(TFLitePool), maxPool(TFLitePool)
    case mean
    case resizeBilinear(alignCorners: Bool, halfPixelCenters: Bool)
    case pad(before: (y: Int, x: Int, c: Int), after: (y: Int, x: Int, c: Int))
    /// Row-major concatenation: `outerCount` repetitions of each input's inner block, in input order.
    case concatenate(outerCount: Int, innerSizes: [Int])
    case reshape

    /// The TFLite operator name, for reports.
    public var name: String {
        switch self {
        case .convolution: return "CONV_2D"
        case .depthwise: return "DEPTHWISE_CONV_2D"
        case .transposed: return "TRANSPOSE_CONV"
        case .add: return "ADD"
        case .multiply: return "MUL"
        case .hardSwish: return "HARD_SWISH"
        case .relu: return "RELU"
        case .logistic: return "LOGISTIC"
        case .activation: return "ACTIVATION"
        case .prelu: return "PRELU"
        case .averagePool: return "AVERAGE_POOL_2D"
        case .maxPool: return "MAX_POOL_2D"
        case .mean: return "MEAN"
        case .resizeBilinear: return "RESIZE_BILINEAR"
        case .pad: return "PAD"
        case .concatenate: return "CONCATENATION"
        case .reshape: return "RESHAPE"
        }
    }
}

/// A pooling window.
public struct TFLitePool {
    public let filterHeight: Int, filterWidth: Int, strideY: Int, strideX: Int
    public let padding: Padding2D
    public let activation: FusedActivation
}

/// Why a model cannot run.
public enum TFLiteInterpreterError: Error, CustomStringConvertible, Equatable {
    case unsupportedOperators([String])
    case invalidGraph(String)

    public var description: String {
        switch self {
        case .unsupportedOperators(let names):
            return "the model uses operators Sparrow's TFLite interpreter does not implement: \(names.joined(separator: ", ")). "
                + "Supported: \(TFLiteLowering.supportedOperatorNames.sorted().joined(separator: ", "))."
        case .invalidGraph(let message):
            return "the model's graph cannot run: \(message)"
        }
    }
}
