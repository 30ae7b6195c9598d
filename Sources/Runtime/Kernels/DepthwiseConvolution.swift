import CSparrowKernels

/// Depthwise convolution (channel multiplier m ≥ 1: output channel c·m+j reads input channel c).
///
/// Direct NHWC kernel vectorised over channels; each output pixel sums only its in-bounds taps, so
/// padding costs nothing (see `sp_dwconv2d` in Sources/CSparrowKernels/conv.c).
public final class DepthwiseConvolution2D: @unchecked Sendable {
    public let channels: Int, multiplier: Int, kernelHeight: Int, kernelWidth: Int
    public let strideY: Int, strideX: Int, dilationY: Int, dilationX: Int
    public let padding: Padding2D
    public let activation: FusedActivation
    private let weights: UnsafeMutablePointer<Float>  // [kH, kW, C·m]
    private let bias: UnsafeMutablePointer<Float>  // [C·m]

    /// - weights: [1, kH, kW, C·m] (TFLite layout); bias [C·m] or nil.
    public init(
        weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, channels: Int, multiplier: Int,
        kernelHeight: Int, kernelWidth: Int, strideY: Int, strideX: Int,
        dilationY: Int = 1, dilationX: Int = 1, padding: Padding2D, activation: FusedActivation
    ) {
        precondition(channels > 0 && multiplier > 0 && kernelHeight > 0 && kernelWidth > 0)
        precondition(strideY > 0 && strideX > 0 && dilationY > 0 && dilationX > 0)
        precondition(kernelHeight * kernelWidth <= Convolution2D.maximumTaps, "kernels have at most \(Convolution2D.maximumTaps) taps")
        precondition(padding.top >= 0 && padding.left >= 0 && padding.bottom >= 0 && padding.right >= 0)
        self.channels = channels
        self.multiplier = multiplier
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideY = strideY
        self.strideX = strideX
        self.dilationY = dilationY
        self.dilationX = dilationX
        self.padding = padding
        self.activation = activation
        let outputChannels = channels * multiplier
        let count = kernelHeight * kernelWidth * outputChannels
        self.weights = UnsafeMutablePointer<Float>.allocate(capacity: count)
        self.weights.initialize(from: weights, count: count)
        self.bias = UnsafeMutablePointer<Float>.allocate(capacity: outputChannels)
        if let bias {
            self.bias.initialize(from: bias, count: outputChannels)
        } else {
            self.bias.initialize(repeating: 0, count: outputChannels)
        }
    }

    deinit {
        weights.deallocate()
        bias.deallocate()
    }

    /// Output channels C·m.
    public var outputChannels: Int { channels * multiplier }

    public func outputShape(for input: FeatureMapShape) -> FeatureMapShape {
        FeatureMapShape(
            height: convolutionOutputSize(
                input: input.height, kernel: kernelHeight, stride: strideY, dilation: dilationY,
                before: padding.top, after: padding.bottom),
            width: convolutionOutputSize(
                input: input.width, kernel: kernelWidth, stride: strideX, dilation: dilationX,
                before: padding.left, after: padding.right),
            channels: outputChannels)
    }

    /// Multiply-accumulates per output pixel: kH·kW·C·m (padding taps included).
    public var macsPerOutputPixel: Int { kernelHeight * kernelWidth * outputChannels }

    func kernelShape(for input: FeatureMapShape) -> sp_conv_shape {
        precondition(input.channels == channels, "input has \(input.channels) channels, the convolution \(channels)")
        return sp_conv_shape(input: input, output: outputShape(for: input), kernelHeight: kernelHeight, kernelWidth: kernelWidth,
                             strideY: strideY, strideX: strideX, dilationY: dilationY, dilationX: dilationX, padding: padding,
                             activation: activation)
    }

    /// Dense: output[Ho, Wo, C·m] = act(depthwise(input) + bias). Threads over output pixels.
    public func run(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, into output: UnsafeMutablePointer<Float>,
        context: ExecutionContext
    ) {
        execute(input, shape: shape, pixels: nil, into: output, accumulate: false, context: context)
    }

    /// Sparse recompute (Skip-Conv): output[p, :] = act(depthwise(input)[p, :] + bias) for each listed
    /// output pixel p only, exactly the dense value; the others are left as they are.
    public func run(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, pixels: UnsafeBufferPointer<Int32>,
        into output: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        execute(input, shape: shape, pixels: pixels, into: output, accumulate: false, context: context)
    }

    /// Sparse (Skip-Conv): output[p, :] += depthwise(input)[p, :] for each listed output pixel p, with
    /// no bias and no activation. `pixels` are output pixel indices, any order, no duplicates.
    public func accumulate(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, pixels: UnsafeBufferPointer<Int32>,
        into output: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        execute(input, shape: shape, pixels: pixels, into: output, accumulate: true, context: context)
    }

    /// Every output pixel (`pixels` nil) or the listed ones, stored (act(conv + bias)) or accumulated.
    private func execute(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, pixels: UnsafeBufferPointer<Int32>?,
        into output: UnsafeMutablePointer<Float>, accumulate: Bool, context: ExecutionContext
    ) {
        let start = OpAccounting.now()
        let s = kernelShape(for: shape)
        let list = pixels?.baseAddress, count = pixels?.count ?? Int(s.out_h * s.out_w)
        guard count > 0 else { return }
        let weights = UnsafePointer(weights), bias = accumulate ? nil : UnsafePointer(bias)
        let mode: Int32 = accumulate ? 1 : 0
        Kernels.convolutionPixels(count, macsPerPixel: macsPerOutputPixel, context: context) { range in
            var s = s
            sp_dwconv2d(&s, weights, bias, input, list, Int64(range.lowerBound), Int64(range.upperBound), output, mode)
        }
        let read = pixels == nil ? shape.count : count * macsPerOutputPixel / multiplier
        context.accounting.record(
            .convolution, since: start, bytes: (read + count * (accumulate ? 2 : 1) * outputChannels + macsPerOutputPixel) * 4,
            macs: count * macsPerOutputPixel)
    }
}
