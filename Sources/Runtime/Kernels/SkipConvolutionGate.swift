import CSparrowKernels

/// The Skip-Convolution norm gate's kernels (matches Habibian et al., CVPR 2021, §3.2 and
/// Qualcomm-AI-research/Skip-Conv's norm gate): C loops in skip_conv.c, shared by regular and
/// depthwise convolutions through their geometry.
public enum SkipConvolutionGate {
    /// The norm gate with per-pixel references: each input pixel q marked in `changed` (nil: every
    /// pixel) whose residual n(q) = ‖x(q) − reference(q)‖₁ (over channels) exceeds `limit` is accepted:
    /// reference(q) := x(q), and n(q) is added to `gate[p]` for every output p whose receptive field
    /// holds q. Returns the number of accepted pixels.
    ///
    /// A negative `limit` is the exact reach: every pixel marked in `changed` is accepted with n = 1
    /// and neither `x` nor `reference` is read.
    ///
    /// Comparing with the value a pixel had when last accepted (rather than with the previous frame)
    /// keeps every skipped output within 2·limit of its inputs for good: slow changes cannot add up.
    /// - Parameters: `x`, `reference`: [H_in, W_in, C_in]; `gate`: [H_out, W_out] (overwritten).
    @discardableResult
    public static func sums(
        _ convolution: Convolution2D, input x: UnsafePointer<Float>, shape: FeatureMapShape, reference: UnsafeMutablePointer<Float>,
        changed: UnsafePointer<UInt8>?, limit: Float, into gate: UnsafeMutablePointer<Float>
    ) -> Int {
        var s = convolution.kernelShape(for: shape)
        return Int(sp_skip_gate(x, reference, changed, limit, &s, gate))
    }

    /// The depthwise overload of `sums`.
    @discardableResult
    public static func sums(
        _ convolution: DepthwiseConvolution2D, input x: UnsafePointer<Float>, shape: FeatureMapShape,
        reference: UnsafeMutablePointer<Float>, changed: UnsafePointer<UInt8>?, limit: Float, into gate: UnsafeMutablePointer<Float>
    ) -> Int {
        var s = convolution.kernelShape(for: shape)
        return Int(sp_skip_gate(x, reference, changed, limit, &s, gate))
    }

    /// Output pixels whose S×S block holds a gate sum above `limit`: indices into `active`, 1 in `mask`
    /// (0 elsewhere). Returns how many.
    public static func activePixels(
        _ gate: UnsafePointer<Float>, height: Int, width: Int, limit: Float, blockSize: Int,
        into active: UnsafeMutablePointer<Int32>, mask: UnsafeMutablePointer<UInt8>
    ) -> Int {
        Int(sp_skip_active(gate, Int64(height), Int64(width), limit, Int32(blockSize), active, mask))
    }

    /// mask[p] = 1 where pixel p of `x` differs from `previous` (then previous := x); returns the count.
    public static func changedPixels(
        _ x: UnsafePointer<Float>, previous: UnsafeMutablePointer<Float>, shape: FeatureMapShape,
        into mask: UnsafeMutablePointer<UInt8>
    ) -> Int {
        Int(sp_skip_changed_pixels(x, previous, Int64(shape.pixelCount), Int64(shape.channels), mask))
    }
}
