import CSparrowKernels

/// Element-wise NHWC ops of TFLite vision models (ADD, MUL, PRELU, RELU, HARD_SWISH, LOGISTIC), with
/// the formulas of TFLite's reference kernels. Fast paths: image_ops.h (one vector template, three
/// instruction sets); scalar twins: `ImageOpsReference`.
extension Kernels {
    /// Element-wise work below this many output floats runs on the calling thread.
    static let imageOpsParallelThreshold = 65536

    /// How one operand of a broadcasting op covers the output.
    enum BroadcastOperand: Int32 {
        case full = 0, perChannel = 1, scalar = 2   // SP_OPERAND_FULL, _CHANNEL, _SCALAR
    }

    /// The output shape of a broadcasting element-wise op, and how each operand covers it: shapes
    /// equal, or one side is [1,1,1] (a scalar), or one side is [1,1,C] with the other's C (per
    /// channel). Nil when the shapes do not broadcast that way.
    static func broadcast(_ a: FeatureMapShape, _ b: FeatureMapShape)
        -> (shape: FeatureMapShape, a: BroadcastOperand, b: BroadcastOperand)?
    {
        let unit = FeatureMapShape(height: 1, width: 1, channels: 1)
        if a == b { return (a, .full, .full) }
        if a == unit { return (b, .scalar, .full) }
        if b == unit { return (a, .full, .scalar) }
        if a.height == 1 && a.width == 1 && a.channels == b.channels { return (b, .perChannel, .full) }
        if b.height == 1 && b.width == 1 && b.channels == a.channels { return (a, .full, .perChannel) }
        return nil
    }

    /// The output shape of `add` / `multiply` / `prelu` for these operand shapes, or nil when they do
    /// not broadcast (equal shapes, a [1,1,1] scalar, or a [1,1,C] per-channel operand).
    public static func broadcastShape(_ a: FeatureMapShape, _ b: FeatureMapShape) -> FeatureMapShape? {
        broadcast(a, b)?.shape
    }

    /// The clamp TFLite applies for a fused activation (ActivationFunctionWithMinMax), nil for none.
    static func clampBounds(_ activation: FusedActivation) -> (lo: Float, hi: Float)? {
        switch activation {
        case .none: return nil
        case .relu: return (0, .infinity)
        case .relu6: return (0, 6)
        case .reluMinus1To1: return (-1, 1)
        }
    }

    /// out = act(a + b) with broadcasting: shapes equal, or one side [1,1,C] (per channel) or
    /// [1,1,1] (scalar); either side may be the broadcast one; out has the larger shape.
    /// Matches tensorflow/lite/kernels/internal/reference/add.h (float).
    public static func add(
        _ a: UnsafePointer<Float>, _ aShape: FeatureMapShape, _ b: UnsafePointer<Float>, _ bShape: FeatureMapShape,
        into out: UnsafeMutablePointer<Float>, activation: FusedActivation, context: ExecutionContext
    ) {
        binary(Int32(SP_BINARY_ADD), a, aShape, b, bShape, into: out, activation: activation, context: context)
    }

    /// out = act(a · b) with the broadcasting of `add`. Matches reference/mul.h (float).
    public static func multiply(
        _ a: UnsafePointer<Float>, _ aShape: FeatureMapShape, _ b: UnsafePointer<Float>, _ bShape: FeatureMapShape,
        into out: UnsafeMutablePointer<Float>, activation: FusedActivation, context: ExecutionContext
    ) {
        binary(Int32(SP_BINARY_MUL), a, aShape, b, bShape, into: out, activation: activation, context: context)
    }

    /// PReLU: out = x ≥ 0 ? x : alpha · x, alpha broadcast like `add` ([1,1,C] in face_landmark).
    /// Matches reference/prelu.h (float). The output has x's shape.
    public static func prelu(
        _ x: UnsafePointer<Float>, shape: FeatureMapShape, alpha: UnsafePointer<Float>, alphaShape: FeatureMapShape,
        into out: UnsafeMutablePointer<Float>
    ) {
        guard let layout = broadcast(shape, alphaShape), layout.shape == shape else {
            preconditionFailure("prelu: alpha \(alphaShape) does not broadcast to input \(shape)")
        }
        sp_image_binary(Int32(SP_BINARY_PRELU), x, layout.a.rawValue, alpha, layout.b.rawValue, out,
                        0, Int64(shape.pixelCount), Int64(shape.channels), 0, 0, 0)
    }

    /// Runs a broadcasting binary op, splitting output pixels over threads for large maps.
    private static func binary(
        _ op: Int32, _ a: UnsafePointer<Float>, _ aShape: FeatureMapShape, _ b: UnsafePointer<Float>,
        _ bShape: FeatureMapShape, into out: UnsafeMutablePointer<Float>, activation: FusedActivation,
        context: ExecutionContext
    ) {
        guard let layout = broadcast(aShape, bShape) else {
            preconditionFailure("element-wise op: shapes \(aShape) and \(bShape) do not broadcast")
        }
        let start = OpAccounting.now()
        let shape = layout.shape, channels = Int64(shape.channels)
        let clamp = clampBounds(activation)
        let run = { (range: Range<Int>) in
            sp_image_binary(op, a, layout.a.rawValue, b, layout.b.rawValue, out, Int64(range.lowerBound),
                            Int64(range.upperBound), channels, clamp == nil ? 0 : 1, clamp?.lo ?? 0, clamp?.hi ?? 0)
        }
        if context.threadCount > 1 && shape.count >= imageOpsParallelThreshold {
            context.pool.parallelFor(shape.pixelCount, granularity: max(1, 1024 / max(1, shape.channels)), run)
        } else if shape.pixelCount > 0 {
            run(0..<shape.pixelCount)
        }
        context.accounting.record(.elementwise, since: start, bytes: shape.count * 12, macs: shape.count)
    }

    /// out[i] = max(x[i], 0). Matches reference Relu (float). In place allowed.
    public static func relu(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        sp_image_unary(Int32(SP_UNARY_RELU), x, out, Int64(count))
    }

    /// Hard swish: out[i] = x · min(max(x + 3, 0), 6) / 6. Matches reference/hard_swish.h (float).
    /// In place allowed.
    public static func hardSwish(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        sp_image_unary(Int32(SP_UNARY_HARD_SWISH), x, out, Int64(count))
    }

    /// Logistic (sigmoid): out[i] = 1 / (1 + e^-x), with TFLite's cutoffs (1 above 16.619047, e^x
    /// below −9; matches reference/logistic.h). The vector exp is within a few ulp of libm's.
    /// In place allowed.
    public static func logistic(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        sp_image_unary(Int32(SP_UNARY_LOGISTIC), x, out, Int64(count))
    }
}
