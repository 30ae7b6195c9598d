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

    private let previous: UnsafeMutablePointer<Float>   // [H_in, W_in, C_in] last frame's input
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

    /// Gates, recomputes the active output positions, marks them in `output`; returns their count.
    func run(_ interpreter: TFLiteInterpreter, input: ChangeMask, output: ChangeMask, options: SkipConvolutionOptions) -> Int {
        guard input.state != .none else {
            output.setNone()
            return 0
        }
        let x = interpreter.pointer(step.inputs[0])!
        let c = inputShape.channels
        let (ho, wo, wi) = (outputShape.height, outputShape.width, inputShape.width)
        gate.update(repeating: 0, count: outputShape.pixelCount)
        let pointwise = kernelHeight == 1 && kernelWidth == 1 && strideY == 1 && strideX == 1 && padTop == 0 && padLeft == 0
        input.forEachRun { start, count in
            for q in start..<(start + count) {
                let n = Self.residualNorm(x + q * c, previous + q * c, c)
                guard n > 0 else { continue }
                if pointwise {
                    gate[q] += n
                    continue
                }
                // Output positions whose receptive field holds input pixel (iy, ix).
                let (iy, ix) = (q / wi, q % wi)
                for ky in 0..<kernelHeight {
                    let ty = iy + padTop - ky * dilationY
                    guard ty >= 0, ty % strideY == 0, ty / strideY < ho else { continue }
                    let row = ty / strideY * wo
                    for kx in 0..<kernelWidth {
                        let tx = ix + padLeft - kx * dilationX
                        guard tx >= 0, tx % strideX == 0, tx / strideX < wo else { continue }
                        gate[row + tx / strideX] += n
                    }
                }
            }
        }
        // gate = mean over the receptive field × (1 or mean |W|) > ε, i.e. Σ > ε·k² / scale.
        let scale = options.gate == .outputNorm ? meanAbsoluteWeight : 1
        let limit = options.threshold * Float(kernelHeight * kernelWidth) / max(scale, .leastNormalMagnitude)
        output.beginSome()
        var n = 0
        let s = options.blockSize
        if s == 1 {
            for p in 0..<outputShape.pixelCount where gate[p] > limit {
                active[n] = Int32(p)
                output.mark(p)
                n += 1
            }
        } else {
            for by in stride(from: 0, to: ho, by: s) {
                for bx in stride(from: 0, to: wo, by: s) {
                    let (ys, xs) = (by..<min(by + s, ho), bx..<min(bx + s, wo))
                    guard ys.contains(where: { y in xs.contains { gate[y * wo + $0] > limit } }) else { continue }
                    for y in ys {
                        for x in xs {
                            active[n] = Int32(y * wo + x)
                            output.mark(y * wo + x)
                            n += 1
                        }
                    }
                }
            }
        }
        output.finish(markedCount: n)
        if n > 0 {
            let pixels = UnsafeBufferPointer(start: active, count: n)
            let out = interpreter.pointer(step.output)!
            switch step.kind {
            case .convolution(let conv): conv.run(x, shape: inputShape, pixels: pixels, into: out, context: interpreter.context)
            case .depthwise(let conv): conv.run(x, shape: inputShape, pixels: pixels, into: out, context: interpreter.context)
            default: break
            }
        }
        return n
    }

    /// ‖x − previous‖₁ over `c` channels; then previous := x.
    @inline(__always)
    private static func residualNorm(_ x: UnsafeMutablePointer<Float>, _ previous: UnsafeMutablePointer<Float>, _ c: Int) -> Float {
        var acc = SIMD16<Float>()
        var k = 0
        while k + 16 <= c {
            let a = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD16<Float>.self)
            let b = UnsafeRawPointer(previous + k).loadUnaligned(as: SIMD16<Float>.self)
            let d = a - b
            acc += pointwiseMax(d, -d)
            UnsafeMutableRawPointer(previous + k).storeBytes(of: a, as: SIMD16<Float>.self)
            k += 16
        }
        var sum = acc.sum()
        while k < c {
            sum += abs(x[k] - previous[k])
            previous[k] = x[k]
            k += 1
        }
        return sum
    }
}
