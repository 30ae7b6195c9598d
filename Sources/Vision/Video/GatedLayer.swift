import SparrowRuntime

/// One convolution (regular or depthwise) under a Skip-Conv norm gate: last frame's input, the
/// per-pixel residual norms, the gate map and the list of active output positions.
final class GatedLayer {
    let step: TFLiteInterpreter.Step
    let inputShape: FeatureMapShape, outputShape: FeatureMapShape
    let kernelHeight: Int, kernelWidth: Int, strideY: Int, strideX: Int, dilationY: Int, dilationX: Int
    let padTop: Int, padLeft: Int
    let macsPerPixel: Int
    /// Mean |W| of the layer (the output-norm gate's scale).
    let meanAbsoluteWeight: Float

    private let previous: UnsafeMutablePointer<Float>   // [H_in, W_in, C_in] each input pixel when last accepted
    private let gate: UnsafeMutablePointer<Float>       // [H_out, W_out] Σ of residual norms over the receptive field
    private let active: UnsafeMutablePointer<Int32>     // active output pixel indices

    init(step: TFLiteInterpreter.Step, interpreter: TFLiteInterpreter, weights: UnsafeBufferPointer<Float>?) {
        self.step = step
        inputShape = interpreter.shapes[step.inputs[0]]
        outputShape = interpreter.shapes[step.output]
        switch step.kind {
        case .convolution(let c):
            (kernelHeight, kernelWidth, strideY, strideX) = (c.kernelHeight, c.kernelWidth, c.strideY, c.strideX)
            (dilationY, dilationX, padTop, padLeft) = (c.dilationY, c.dilationX, c.padding.top, c.padding.left)
            macsPerPixel = c.macsPerOutputPixel
        case .depthwise(let c):
            (kernelHeight, kernelWidth, strideY, strideX) = (c.kernelHeight, c.kernelWidth, c.strideY, c.strideX)
            (dilationY, dilationX, padTop, padLeft) = (c.dilationY, c.dilationX, c.padding.top, c.padding.left)
            macsPerPixel = c.macsPerOutputPixel
        default:
            preconditionFailure("GatedLayer needs a convolution step")
        }
        if let w = weights, !w.isEmpty {
            meanAbsoluteWeight = w.reduce(Float(0)) { $0 + abs($1) } / Float(w.count)
        } else {
            meanAbsoluteWeight = 1
        }
        previous = .allocate(capacity: max(inputShape.count, 1))
        previous.initialize(repeating: 0, count: max(inputShape.count, 1))
        gate = .allocate(capacity: max(outputShape.pixelCount, 1))
        gate.initialize(repeating: 0, count: max(outputShape.pixelCount, 1))
        active = .allocate(capacity: max(outputShape.pixelCount, 1))
    }

    deinit {
        previous.deallocate()
        gate.deallocate()
        active.deallocate()
    }

    /// Remembers the current input as "last frame's" (after a dense key frame).
    func snapshot(_ interpreter: TFLiteInterpreter) {
        previous.update(from: interpreter.pointer(step.inputs[0])!, count: inputShape.count)
    }

    /// Gates, recomputes the active output positions, marks them in `output`; returns the MACs executed.
    func run(_ interpreter: TFLiteInterpreter, input: ChangeMask, output: ChangeMask, options: SkipConvolutionOptions) -> Int {
        guard input.state != .none else {
            output.setNone()
            return 0
        }
        let x = interpreter.pointer(step.inputs[0])!
        let out = interpreter.pointer(step.output)!
        let exactReach: Bool
        if case .depthwise = step.kind { exactReach = !options.gatesDepthwise } else { exactReach = false }
        if exactReach && input.state == .all {
            runDense(interpreter, input: x, output: out)
            output.setAll()
            return macsPerPixel * outputShape.pixelCount
        }
        let changed = input.state == .all ? nil : UnsafePointer(input.bytes)
        // An input pixel is accepted when ‖r‖₁ / C_in (× mean |W| for the output-norm gate) > ε.
        // Dividing by C_in lets one ε serve layers of 3 and of 128 channels alike.
        let scale = options.gate == .outputNorm ? meanAbsoluteWeight : 1
        let limit = exactReach ? -1 : options.threshold * Float(inputShape.channels) / max(scale, .leastNormalMagnitude)
        switch step.kind {
        case .convolution(let conv):
            SkipConvolutionGate.sums(conv, input: x, shape: inputShape, reference: previous, changed: changed, limit: limit, into: gate)
        case .depthwise(let conv):
            SkipConvolutionGate.sums(conv, input: x, shape: inputShape, reference: previous, changed: changed, limit: limit,
                                     into: gate)
        default: break
        }
        output.beginSparse()
        let n = SkipConvolutionGate.activePixels(gate, height: outputShape.height, width: outputShape.width, limit: 0,
                                                 blockSize: options.blockSize, into: active, mask: output.bytes)
        output.finish(markedCount: n)
        guard n > 0 else { return 0 }
        if Float(n) > options.denseFallback * Float(outputShape.pixelCount) {
            // Past the crossover the dense kernel is faster than gather → GEMM → scatter, and exact.
            // Only the active positions are marked: elsewhere the change stayed under the gate.
            runDense(interpreter, input: x, output: out)
            return macsPerPixel * outputShape.pixelCount
        }
        let pixels = UnsafeBufferPointer(start: active, count: n)
        switch step.kind {
        case .convolution(let conv): conv.run(x, shape: inputShape, pixels: pixels, into: out, context: interpreter.context)
        case .depthwise(let conv): conv.run(x, shape: inputShape, pixels: pixels, into: out, context: interpreter.context)
        default: break
        }
        return macsPerPixel * n
    }

    private func runDense(_ interpreter: TFLiteInterpreter, input x: UnsafePointer<Float>, output out: UnsafeMutablePointer<Float>) {
        switch step.kind {
        case .convolution(let conv): conv.run(x, shape: inputShape, into: out, context: interpreter.context)
        case .depthwise(let conv): conv.run(x, shape: inputShape, into: out, context: interpreter.context)
        default: break
        }
    }
}
