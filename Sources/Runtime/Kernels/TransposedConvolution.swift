import CSparrowKernels

/// Transposed convolution with bias (TFLite TRANSPOSE_CONV / MediaPipe's Convolution2DTransposeBias).
///
/// Computed as a GEMM of the input pixels [H·W, Cin] with the weights as [Cin, kH·kW·Cout] on the
/// convolution micro-kernel, then a scatter of each pixel's kH·kW·Cout products onto the output
/// (col2im): output pixel (iy·sy − top + ky, ix·sx − left + kx) receives tap (ky, kx) of input
/// pixel (iy, ix); taps that fall outside the output are dropped (the padding crops).
public final class TransposedConvolution2D: @unchecked Sendable {
    public let inputChannels: Int, outputChannels: Int, kernelHeight: Int, kernelWidth: Int
    public let strideY: Int, strideX: Int
    public let padding: Padding2D
    /// The taps as a 1×1 convolution: output channel (ky·kW + kx)·Cout + co of input pixel p.
    private let taps: Convolution2D
    private let bias: [Float]

    /// - weights: [Cout, kH, kW, Cin]; bias [Cout] or nil. Output size given explicitly (from the graph).
    ///   Only `padding.top` and `padding.left` matter: they shift the output window (the bottom and
    ///   right crops follow from the output size passed to `run`).
    public init(
        weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outputChannels: Int, kernelHeight: Int,
        kernelWidth: Int, inputChannels: Int, strideY: Int, strideX: Int, padding: Padding2D
    ) {
        precondition(outputChannels > 0 && inputChannels > 0 && kernelHeight > 0 && kernelWidth > 0)
        precondition(strideY > 0 && strideX > 0 && padding.top >= 0 && padding.left >= 0)
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideY = strideY
        self.strideX = strideX
        self.padding = padding
        // [Cout, kH, kW, Cin] → [kH, kW, Cout, Cin]: rows of the tap GEMM.
        let tapCount = kernelHeight * kernelWidth
        var rows = [Float](repeating: 0, count: tapCount * outputChannels * inputChannels)
        for co in 0..<outputChannels {
            for t in 0..<tapCount {
                for ci in 0..<inputChannels {
                    rows[(t * outputChannels + co) * inputChannels + ci] = weights[(co * tapCount + t) * inputChannels + ci]
                }
            }
        }
        taps = rows.withUnsafeBufferPointer {
            Convolution2D(
                weights: $0.baseAddress!, bias: nil, outputChannels: tapCount * outputChannels, kernelHeight: 1,
                kernelWidth: 1, inputChannels: inputChannels, strideY: 1, strideX: 1, padding: .zero, activation: .none)
        }
        self.bias = bias.map { Array(UnsafeBufferPointer(start: $0, count: outputChannels)) }
            ?? [Float](repeating: 0, count: outputChannels)
    }

    /// TFLite's output size and padding rule for one axis (matches MediaPipe's transpose_conv_bias.cc,
    /// which follows tensorflow/lite/kernels/transpose_conv.cc): VALID gives (in − 1)·s + k and no
    /// padding; SAME pads total = max(0, k − (in − 1) mod s − 1), output (in − 1)·s + k − total
    /// (= in·s for even inputs of 2×2 stride 2, in·s − 1 for odd ones), `before` = total / 2.
    public static func tflite(same: Bool, input: Int, kernel: Int, stride: Int) -> (output: Int, before: Int, after: Int) {
        let total = same ? max(0, kernel - (input - 1) % stride - 1) : 0
        return ((input - 1) * stride + kernel - total, total / 2, total - total / 2)
    }

    /// The output size of `tflite(same:input:kernel:stride:)` for both axes.
    public func outputShape(for input: FeatureMapShape, same: Bool) -> FeatureMapShape {
        FeatureMapShape(
            height: Self.tflite(same: same, input: input.height, kernel: kernelHeight, stride: strideY).output,
            width: Self.tflite(same: same, input: input.width, kernel: kernelWidth, stride: strideX).output,
            channels: outputChannels)
    }

    /// Multiply-accumulates per input pixel: Cin·kH·kW·Cout.
    public var macsPerInputPixel: Int { inputChannels * kernelHeight * kernelWidth * outputChannels }

    /// output[outputShape] = bias + Σ scattered taps (no activation: the TFLite ops have none).
    public func run(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, into output: UnsafeMutablePointer<Float>,
        outputShape: FeatureMapShape, context: ExecutionContext
    ) {
        precondition(shape.channels == inputChannels, "input has \(shape.channels) channels, the convolution \(inputChannels)")
        precondition(outputShape.channels == outputChannels, "output has \(outputShape.channels) channels, the convolution \(outputChannels)")
        let start = OpAccounting.now()
        let columns = kernelHeight * kernelWidth * outputChannels
        // [H·W, kH·kW·Cout] tap products.
        let products = context.scratch(bytes: shape.pixelCount * columns * 4).bindMemory(
            to: Float.self, capacity: shape.pixelCount * columns)
        var accounting = context.accounting
        taps.run(input, shape: FeatureMapShape(height: shape.height, width: shape.width, channels: inputChannels),
                 into: products, context: context)
        context.accounting = accounting
        let geometry = sp_conv_shape(
            in_h: Int64(shape.height), in_w: Int64(shape.width), cin: Int64(inputChannels),
            out_h: Int64(outputShape.height), out_w: Int64(outputShape.width), cout: Int64(outputChannels),
            kh: Int32(kernelHeight), kw: Int32(kernelWidth), stride_y: Int32(strideY), stride_x: Int32(strideX),
            dilation_y: 1, dilation_x: 1, pad_top: Int32(padding.top), pad_left: Int32(padding.left),
            act_min: -.infinity, act_max: .infinity)
        withUnsafePointer(to: geometry) { g in
            bias.withUnsafeBufferPointer { sp_conv_col2im(g, products, $0.baseAddress, output) }
        }
        accounting.record(
            .convolution, since: start, bytes: (shape.count + outputShape.count + macsPerInputPixel / shape.channels) * 4,
            macs: shape.pixelCount * macsPerInputPixel)
        context.accounting = accounting
    }
}
