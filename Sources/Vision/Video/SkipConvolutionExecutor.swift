import SparrowRuntime

/// Runs a TFLite graph frame after frame with Skip-Convolutions: every convolution recomputes only
/// the output positions whose gate is on and keeps last frame's output elsewhere; every other step
/// runs only on the pixels whose inputs changed.
///
/// Matches Habibian et al., "Skip-Convolutions for Efficient Video Processing" (CVPR 2021) and
/// Qualcomm-AI-research/Skip-Conv: the norm gate thresholds AvgPool over the receptive field of the
/// residual r_t = x_t − x_{t−1} (‖·‖₁ over channels; the output-norm variant scales it by mean |W|),
/// gates are max-pooled over S×S blocks, and a key frame runs densely. Where the paper adds
/// W ∗ r_t to the stored output, this executor recomputes W ∗ x_t + b at the same positions: equal by
/// linearity, but without accumulating rounding drift, and with ε = 0 the result is the dense one bit
/// for bit. Work is real: active positions go through gather → GEMM → scatter on the dense
/// convolution's micro-kernel (`Convolution2D.run(_:shape:pixels:into:context:)`).
public final class SkipConvolutionExecutor {
    public let interpreter: TFLiteInterpreter
    public var options: SkipConvolutionOptions
    /// Frames run since the last key frame (0 before the first frame).
    public private(set) var framesSinceKeyframe = 0

    private let masks: [ChangeMask]
    private var layers: [Int: GatedLayer] = [:]
    private let previousInput: UnsafeMutablePointer<Float>
    private let inputCount: Int
    private var needsKeyframe = true

    /// - Parameter interpreter: built with `keepingEveryTensor: true`.
    public init(interpreter: TFLiteInterpreter, options: SkipConvolutionOptions) throws {
        guard SkipConvolutionOptions.blockSizes.contains(options.blockSize), options.threshold >= 0,
              (options.keyframeInterval ?? 1) >= 1 else {
            throw SkipConvolutionError("block size must be one of \(SkipConvolutionOptions.blockSizes), threshold ≥ 0, key-frame interval ≥ 1")
        }
        guard interpreter.inputIndices.count == 1 else { throw SkipConvolutionError("Skip-Conv runs graphs with one input") }
        guard interpreter.keepsEveryTensor else {
            throw SkipConvolutionError("the interpreter must be built with keepingEveryTensor: true (unchanged pixels keep last frame's values)")
        }
        self.interpreter = interpreter
        self.options = options
        masks = interpreter.shapes.map { ChangeMask(width: $0.width, height: $0.height) }
        inputCount = interpreter.shapes[interpreter.inputIndices[0]].count
        previousInput = .allocate(capacity: max(inputCount, 1))
        previousInput.initialize(repeating: 0, count: max(inputCount, 1))
        for (index, step) in interpreter.steps.enumerated() {
            switch step.kind {
            case .convolution, .depthwise:
                let weights = step.weights.map { interpreter.tensor($0) }
                layers[index] = GatedLayer(step: step, interpreter: interpreter, weights: weights)
            default: continue
            }
        }
    }

    deinit { previousInput.deallocate() }

    /// Makes the next frame a key frame.
    public func reset() { needsKeyframe = true }

    /// Runs one frame from the interpreter's input (fill `interpreter.input()` first); the output is
    /// then in `interpreter.output()`.
    public func run() -> SkipConvolutionFrameStats {
        let dense = interpreter.macsPerInvoke
        if needsKeyframe || (options.keyframeInterval.map { framesSinceKeyframe >= $0 } ?? false) {
            interpreter.invoke()
            previousInput.update(from: interpreter.input().baseAddress!, count: inputCount)
            for layer in layers.values { layer.snapshot(interpreter) }
            needsKeyframe = false
            framesSinceKeyframe = 1
            let stats = layers.keys.sorted().map { i -> SkipConvolutionFrameStats.Layer in
                let step = interpreter.steps[i], pixels = interpreter.shapes[step.output].pixelCount
                return .init(operatorIndex: step.operatorIndex, denseMACs: step.macs, executedMACs: step.macs,
                             activePixels: pixels, outputPixels: pixels)
            }
            return SkipConvolutionFrameStats(isKeyframe: true, denseMACs: dense, executedMACs: dense, layers: stats)
        }
        framesSinceKeyframe += 1
        markInputChanges()
        var executed = 0
        var layerStats: [SkipConvolutionFrameStats.Layer] = []
        for (index, step) in interpreter.steps.enumerated() {
            if let layer = layers[index] {
                let macs = layer.run(interpreter, input: masks[step.inputs[0]], output: masks[step.output], options: options)
                executed += macs
                layerStats.append(.init(operatorIndex: step.operatorIndex, denseMACs: step.macs, executedMACs: macs,
                                        activePixels: macs / max(layer.macsPerPixel, 1),
                                        outputPixels: layer.outputShape.pixelCount))
            } else {
                executed += runUngated(step)
            }
        }
        return SkipConvolutionFrameStats(isKeyframe: false, denseMACs: dense, executedMACs: executed, layers: layerStats)
    }

    /// Marks the input pixels that differ from the previous frame's, and remembers the new input.
    private func markInputChanges() {
        let index = interpreter.inputIndices[0]
        let mask = masks[index]
        mask.beginSparse()
        let marked = SkipConvolutionGate.changedPixels(interpreter.input().baseAddress!, previous: previousInput,
                                                       shape: interpreter.shapes[index], into: mask.bytes)
        mask.finish(markedCount: marked)
    }

    /// Runs a step that has no gate on the pixels whose inputs changed; returns the MACs it executed.
    /// Constants never change, so their masks stay empty.
    private func runUngated(_ step: TFLiteInterpreter.Step) -> Int {
        let out = masks[step.output]
        guard step.inputs.contains(where: { masks[$0].state != .none }) else {
            out.setNone()
            return 0
        }
        let shapes = interpreter.shapes
        switch step.kind {
        case .hardSwish, .relu, .logistic, .activation:
            let source = masks[step.inputs[0]]
            let c = shapes[step.output].channels
            source.forEachRun { start, count in
                interpreter.runElementwise(step, elementOffset: start * c, elementCount: count * c)
            }
            out.copy(from: source)
            return 0
        case .add, .multiply:
            let (a, b) = (step.inputs[0], step.inputs[1])
            if shapes[a] == shapes[b] {
                out.formUnion(masks[a], masks[b])
            } else {
                // One operand is per-channel (an SE block's scale) or a scalar: if it changed, every pixel did.
                let (full, small) = shapes[a].count >= shapes[b].count ? (a, b) : (b, a)
                if masks[small].state != .none {
                    interpreter.run(step)
                    out.setAll()
                    return 0
                }
                out.copy(from: masks[full])
            }
            out.forEachRun { start, count in interpreter.runBinary(step, pixelOffset: start, pixelCount: count) }
            return 0
        case .resizeBilinear:
            interpreter.run(step)
            out.markResized(from: masks[step.inputs[0]], inputShape: shapes[step.inputs[0]], outputShape: shapes[step.output])
            return 0
        case .transposed(let conv):
            interpreter.run(step)
            out.markTransposed(from: masks[step.inputs[0]], inputShape: shapes[step.inputs[0]], outputShape: shapes[step.output],
                               kernelHeight: conv.kernelHeight, kernelWidth: conv.kernelWidth, strideY: conv.strideY,
                               strideX: conv.strideX, padTop: conv.padding.top, padLeft: conv.padding.left)
            return step.macs
        case .convolution, .depthwise, .averagePool, .maxPool, .mean, .pad, .concatenate, .prelu, .reshape:
            interpreter.run(step)
            out.setAll()
            return step.macs
        }
    }
}

/// A Skip-Conv usage error (bad options).
public struct SkipConvolutionError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = "Skip-Conv: " + message }
}
