import CSparrowKernels

/// Activation fused into an op's output (TFLite fused activations we support).
public enum FusedActivation: Sendable, Equatable {
    case none, relu, relu6, reluMinus1To1

    /// The clamp range the activation is (−inf…+inf for `.none`).
    public var bounds: (lower: Float, upper: Float) {
        switch self {
        case .none: return (-.infinity, .infinity)
        case .relu: return (0, .infinity)
        case .relu6: return (0, 6)
        case .reluMinus1To1: return (-1, 1)
        }
    }
}

extension FusedActivation {
    /// Applies the activation in place to `count` floats.
    public func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        guard self != .none, count > 0 else { return }
        let (lo, hi) = bounds
        sp_conv_clamp(values, Int64(count), lo, hi)
    }
}

/// Height × width × channels of one NHWC feature map (batch 1).
public struct FeatureMapShape: Hashable, Sendable, CustomStringConvertible {
    public var height: Int, width: Int, channels: Int

    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    public var pixelCount: Int { height * width }
    public var count: Int { height * width * channels }
    public var description: String { "\(height)×\(width)×\(channels)" }
}

/// Zero padding in pixels on each side of a feature map.
public struct Padding2D: Hashable, Sendable {
    public var top: Int, left: Int, bottom: Int, right: Int

    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top
        self.left = left
        self.bottom = bottom
        self.right = right
    }

    public static let zero = Padding2D(top: 0, left: 0, bottom: 0, right: 0)

    /// TFLite's SAME / VALID rule (matches tensorflow/lite/kernels/padding.h): output size and the
    /// padding before/after for one axis. `same == false` means VALID. The odd pixel of SAME padding
    /// goes after.
    public static func tflite(same: Bool, input: Int, kernel: Int, stride: Int, dilation: Int)
        -> (output: Int, before: Int, after: Int)
    {
        let effective = (kernel - 1) * dilation + 1
        let output = same ? (input + stride - 1) / stride : (input + stride - effective) / stride
        let total = max(0, (output - 1) * stride + effective - input)
        return (output, total / 2, total - total / 2)
    }

    /// Both axes of `tflite(same:input:kernel:stride:dilation:)` for an input map.
    public static func tflite(
        same: Bool, input: FeatureMapShape, kernelHeight: Int, kernelWidth: Int,
        strideY: Int, strideX: Int, dilationY: Int = 1, dilationX: Int = 1
    ) -> Padding2D {
        let y = tflite(same: same, input: input.height, kernel: kernelHeight, stride: strideY, dilation: dilationY)
        let x = tflite(same: same, input: input.width, kernel: kernelWidth, stride: strideX, dilation: dilationX)
        return Padding2D(top: y.before, left: x.before, bottom: y.after, right: x.after)
    }
}

/// Output size of a convolution along one axis with explicit padding.
@inline(__always)
func convolutionOutputSize(input: Int, kernel: Int, stride: Int, dilation: Int, before: Int, after: Int) -> Int {
    let effective = (kernel - 1) * dilation + 1
    return (input + before + after - effective) / stride + 1
}

/// How a layer keeps its weights resident. All compute in fp32; `.float16` and `.int8` (symmetric,
/// one scale per output channel) are widened a cache-sized chunk at a time inside the kernel, so they
/// cut weight memory to a half and a quarter of fp32.
public enum WeightStorage: String, Sendable, CaseIterable {
    case float32, float16, int8

    var kernelType: Int32 {
        switch self {
        case .float32: return Int32(SP_CONV_WEIGHTS_F32.rawValue)
        case .float16: return Int32(SP_CONV_WEIGHTS_F16.rawValue)
        case .int8: return Int32(SP_CONV_WEIGHTS_I8.rawValue)
        }
    }
}

/// The order of a dense convolution's weights as handed to `Convolution2D`.
public enum ConvolutionWeightLayout: Sendable {
    /// [Cout, kH, kW, Cin] (TFLite).
    case ohwi
    /// [Cout, Cin, kH, kW] (PyTorch `Conv2d.weight`), packed without a transposed copy.
    case oihw
}

/// How a dense convolution computes its sums.
public enum ConvolutionAlgorithm: String, Sendable, CaseIterable {
    /// The GEMM micro-kernel over gathered input pixels, for every geometry; a sparse (Skip-Conv) run
    /// gives each listed pixel exactly the dense run's bits.
    case direct
    /// Winograd F(2×2, 3×3) (Sources/CSparrowKernels/conv_winograd.c) for dense runs of 3×3 convolutions
    /// with stride 1 and dilation 1: 16 instead of 36 products per 2×2 output pixels and channel pair,
    /// on the same micro-kernel. Other geometries and sparse runs use `direct`. Sums differ from
    /// `direct` by float32 rounding.
    case winograd
}

/// A 2-D convolution with weights packed once for the GEMM micro-kernel (NHWC, one map or a batch).
///
/// Output pixels are rows of a GEMM whose columns are output channels; each row gathers its
/// kH·kW input pixels through an indirection list (see Sources/CSparrowKernels/conv.c).
public final class Convolution2D: @unchecked Sendable {
    public let inputChannels: Int, outputChannels: Int, kernelHeight: Int, kernelWidth: Int
    public let strideY: Int, strideX: Int, dilationY: Int, dilationX: Int
    public let padding: Padding2D
    public let activation: FusedActivation
    public let storage: WeightStorage
    public let algorithm: ConvolutionAlgorithm
    /// [ceil(Cout / 16)] panels of kH·kW·Cin rows × 16 values of `storage`.
    private let packed: UnsafeMutableRawPointer
    /// Bytes of `packed`.
    public let packedBytes: Int
    /// Bias and (int8) scales, 16·panels floats each (zero / one past Cout).
    private let bias: UnsafeMutablePointer<Float>, scale: UnsafeMutablePointer<Float>
    private let panelFloats: Int
    /// At least Cin zeros: the row padding taps read.
    private let zeroRow: UnsafeMutablePointer<Float>

    /// - weights: [Cout, kH, kW, Cin] (TFLite's OHWI layout), or [Cout, Cin, kH, kW] with `layout: .oihw`;
    ///   bias: [Cout] or nil (zero).
    public init(
        weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outputChannels: Int,
        kernelHeight: Int, kernelWidth: Int, inputChannels: Int, strideY: Int, strideX: Int,
        dilationY: Int = 1, dilationX: Int = 1, padding: Padding2D, activation: FusedActivation,
        storage: WeightStorage = .float32, algorithm: ConvolutionAlgorithm = .direct, layout: ConvolutionWeightLayout = .ohwi
    ) {
        precondition(outputChannels > 0 && inputChannels > 0 && kernelHeight > 0 && kernelWidth > 0)
        precondition(strideY > 0 && strideX > 0 && dilationY > 0 && dilationX > 0)
        precondition(kernelHeight * kernelWidth <= Self.maximumTaps, "kernels have at most \(Self.maximumTaps) taps")
        precondition(padding.top >= 0 && padding.left >= 0 && padding.bottom >= 0 && padding.right >= 0)
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideY = strideY
        self.strideX = strideX
        self.dilationY = dilationY
        self.dilationX = dilationX
        self.padding = padding
        self.activation = activation
        self.storage = storage
        self.algorithm = algorithm
        let k = kernelHeight * kernelWidth * inputChannels
        packedBytes = sp_conv_packed_bytes(Int64(outputChannels), Int64(k), storage.kernelType)
        packed = UnsafeMutableRawPointer.allocate(byteCount: packedBytes, alignment: 64)
        panelFloats = (outputChannels + 15) / 16 * 16
        self.bias = .allocate(capacity: panelFloats)
        self.bias.initialize(repeating: 0, count: panelFloats)
        if let bias { self.bias.update(from: bias, count: outputChannels) }
        scale = .allocate(capacity: panelFloats)
        scale.initialize(repeating: 1, count: panelFloats)
        sp_conv_pack_weights(weights, Int64(outputChannels), Int64(k), layout == .oihw ? Int64(kernelHeight * kernelWidth) : 0,
                             storage.kernelType, packed,
                             storage == .int8 ? scale : nil)
        zeroRow = UnsafeMutablePointer<Float>.allocate(capacity: max(inputChannels, 16))
        zeroRow.initialize(repeating: 0, count: max(inputChannels, 16))
    }

    deinit {
        packed.deallocate()
        bias.deallocate()
        scale.deallocate()
        zeroRow.deallocate()
    }

    /// Largest kH·kW the kernels accept.
    public static let maximumTaps = 1024

    /// Bytes this convolution keeps resident (packed weights, bias, scales).
    public var residentBytes: Int { packedBytes + 2 * panelFloats * 4 }

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

    /// Multiply-accumulates per output pixel: Cin·kH·kW·Cout.
    public var macsPerOutputPixel: Int { inputChannels * kernelHeight * kernelWidth * outputChannels }

    /// Geometry handed to the C kernels.
    func kernelShape(for input: FeatureMapShape) -> sp_conv_shape {
        precondition(input.channels == inputChannels, "input has \(input.channels) channels, the convolution \(inputChannels)")
        return sp_conv_shape(input: input, output: outputShape(for: input), kernelHeight: kernelHeight, kernelWidth: kernelWidth,
                             strideY: strideY, strideX: strideX, dilationY: dilationY, dilationX: dilationX, padding: padding,
                             activation: activation)
    }

    /// Dense: output[b, Ho, Wo, Cout] = act(conv(input[b]) + bias) for each of `batch` maps stored one
    /// after another. Threads over output pixels and, when there are few, output channels.
    public func run(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, batch: Int = 1, into output: UnsafeMutablePointer<Float>,
        context: ExecutionContext
    ) {
        precondition(batch > 0)
        execute(input, shape: shape, batch: batch, pixels: nil, into: output, accumulate: false, context: context)
    }

    /// Sparse recompute (Skip-Conv): output[p, :] = act(conv(input)[p, :] + bias) for each listed output
    /// pixel p only; the others are left as they are. Gather → GEMM → scatter on the same micro-kernel
    /// as the dense `run`, so each listed pixel gets exactly the dense value.
    public func run(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, pixels: UnsafeBufferPointer<Int32>,
        into output: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        execute(input, shape: shape, batch: 1, pixels: pixels, into: output, accumulate: false, context: context)
    }

    /// Sparse (Skip-Conv): for each listed output pixel p, output[p, :] += conv(input)[p, :], with NO
    /// bias and NO activation (the caller keeps pre-activation state). Gather → GEMM → scatter-add on
    /// the SAME micro-kernel as `run`. `pixels` are output pixel indices, any order, no duplicates.
    public func accumulate(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, pixels: UnsafeBufferPointer<Int32>,
        into output: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        execute(input, shape: shape, batch: 1, pixels: pixels, into: output, accumulate: true, context: context)
    }

    /// Whether a dense run of geometry `s` takes Winograd F(2×2, 3×3): asked for, and a 3×3 stride-1
    /// convolution with at least 16 input and output channels (fewer leave the transforms dominant).
    func usesWinograd(_ s: sp_conv_shape) -> Bool {
        guard algorithm == .winograd, inputChannels >= 16, outputChannels >= 16 else { return false }
        return withUnsafePointer(to: s) { sp_conv_winograd_applies($0) } != 0
    }

    /// Every output pixel (`pixels` nil) or the listed ones, stored (act(conv + bias)) or accumulated.
    private func execute(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, batch: Int, pixels: UnsafeBufferPointer<Int32>?,
        into output: UnsafeMutablePointer<Float>, accumulate: Bool, context: ExecutionContext
    ) {
        let start = OpAccounting.now()
        let s = kernelShape(for: shape)
        let list = pixels?.baseAddress, count = pixels?.count ?? batch * Int(s.out_h * s.out_w)
        guard count > 0 else { return }
        var weights = sp_conv_weights(data: UnsafeRawPointer(packed), bias: UnsafePointer(bias),
                                      scale: UnsafePointer(scale), type: storage.kernelType)
        let zero = UnsafePointer(zeroRow)
        let mode: Int32 = accumulate ? 1 : 0
        let work: ConvolutionWork
        if pixels == nil && usesWinograd(s) {
            // Work in 2×2-pixel tiles, runs of the C driver's block.
            let (tiles, block) = withUnsafePointer(to: s) { (Int(sp_conv_winograd_tiles($0, Int64(batch))), Int(sp_conv_winograd_block($0))) }
            work = Kernels.convolutionWork(pixels: tiles, channels: outputChannels, macsPerPixel: 4 * macsPerOutputPixel,
                                           threads: context.threadCount, run: block)
            withUnsafePointer(to: &weights) { w in
                Kernels.run(work, context: context) { tiles, channels in
                    var s = s
                    sp_conv2d_winograd(&s, w, input, zero, Int64(tiles.lowerBound), Int64(tiles.upperBound),
                                       Int64(channels.lowerBound), Int64(channels.upperBound), output, mode)
                }
            }
        } else {
            work = Kernels.convolutionWork(pixels: count, channels: outputChannels, macsPerPixel: macsPerOutputPixel,
                                           threads: context.threadCount)
            withUnsafePointer(to: &weights) { w in
                Kernels.run(work, context: context) { pixels, channels in
                    var s = s
                    sp_conv2d(&s, w, input, zero, list, Int64(pixels.lowerBound), Int64(pixels.upperBound),
                              Int64(channels.lowerBound), Int64(channels.upperBound), output, mode)
                }
            }
        }
        // MACs are the direct convolution's (Winograd does fewer multiplications for the same result).
        let read = pixels == nil ? batch * shape.count : count * kernelHeight * kernelWidth * inputChannels
        context.accounting.record(
            .convolution, since: start,
            bytes: (read + count * (accumulate ? 2 : 1) * outputChannels) * 4 + work.pixelParts * packedBytes,
            macs: count * macsPerOutputPixel)
    }
}

/// How a dense convolution's output splits into work items: `pixelParts` runs of output pixels times
/// `channelParts` groups of output channels (multiples of 32), each item one sp_conv2d call.
struct ConvolutionWork {
    var pixels: Int, channels: Int, pixelParts: Int, channelParts: Int

    var items: Int { pixelParts * channelParts }

    /// Output pixels and channels of item i.
    func item(_ i: Int) -> (pixels: Range<Int>, channels: Range<Int>) {
        let (p, c) = (i / channelParts, i % channelParts)
        let pixelStep = ((pixels + pixelParts - 1) / pixelParts + 7) / 8 * 8
        let groups = (channels + 31) / 32, groupStep = (groups + channelParts - 1) / channelParts
        return (min(pixels, p * pixelStep)..<min(pixels, (p + 1) * pixelStep),
                min(channels, c * groupStep * 32)..<min(channels, (c + 1) * groupStep * 32))
    }
}

extension Kernels {
    /// Pixel runs of at most this many pixels (the C driver's block): a run streams the weights once.
    static let convolutionPixelRun = 256

    /// Splits a convolution of `pixels` output pixels × `channels` output channels for `threads`
    /// threads: pixel runs first (each streams all the weights); when they are fewer than four per
    /// thread, channel groups as well, so that a small map (the UNet's 8×8 and 16×16 levels) shares
    /// out disjoint weights instead of re-reading all of them per thread.
    static func convolutionWork(
        pixels: Int, channels: Int, macsPerPixel: Int, threads: Int, run: Int = convolutionPixelRun
    ) -> ConvolutionWork {
        if threads == 1 || pixels * macsPerPixel < convolutionParallelMinimumMACs || pixels < 16 {
            return ConvolutionWork(pixels: pixels, channels: channels, pixelParts: 1, channelParts: 1)
        }
        let target = 4 * threads
        let pixelParts = max((pixels + run - 1) / run, min(target, pixels / (run / 4)))
        let groups = (channels + 31) / 32
        let channelParts = max(1, min(groups, (target + pixelParts - 1) / pixelParts))
        return ConvolutionWork(pixels: pixels, channels: channels, pixelParts: pixelParts, channelParts: channelParts)
    }

    /// Runs `body` on every item of `work`, claimed dynamically by the pool's threads (on the calling
    /// thread alone when there is one item).
    static func run(_ work: ConvolutionWork, context: ExecutionContext, _ body: (Range<Int>, Range<Int>) -> Void) {
        if work.items == 1 {
            body(0..<work.pixels, 0..<work.channels)
            return
        }
        context.pool.dynamicFor(work.items, chunk: 1) { range, _ in
            for i in range {
                let (p, c) = work.item(i)
                if !p.isEmpty && !c.isEmpty { body(p, c) }
            }
        }
    }

    /// Ops with less work than this many multiply-accumulates run on the calling thread alone (a pool
    /// dispatch costs a few microseconds, ≈ 100k MACs of the GEMM micro-kernel).
    static let convolutionParallelMinimumMACs = 1 << 18

    /// Runs `body` over chunks of `0..<count` output pixels: on the calling thread for small ops,
    /// otherwise claimed dynamically by the pool's threads (≈ 4 chunks per thread, multiples of 8).
    static func convolutionPixels(
        _ count: Int, macsPerPixel: Int, context: ExecutionContext, _ body: (Range<Int>) -> Void
    ) {
        let threads = context.threadCount
        if threads == 1 || count * macsPerPixel < convolutionParallelMinimumMACs || count < 16 {
            if count > 0 { body(0..<count) }
            return
        }
        let chunk = max(8, (count + 4 * threads - 1) / (4 * threads) + 7) / 8 * 8
        context.pool.dynamicFor(count, chunk: chunk) { range, _ in body(range) }
    }
}

extension sp_conv_shape {
    /// The C kernels' geometry of a convolution (regular or depthwise) from `input` to `output`.
    init(input: FeatureMapShape, output: FeatureMapShape, kernelHeight: Int, kernelWidth: Int, strideY: Int, strideX: Int,
         dilationY: Int, dilationX: Int, padding: Padding2D, activation: FusedActivation) {
        precondition(output.height > 0 && output.width > 0, "input \(input) is smaller than the kernel")
        let (lo, hi) = activation.bounds
        self.init(
            in_h: Int64(input.height), in_w: Int64(input.width), cin: Int64(input.channels),
            out_h: Int64(output.height), out_w: Int64(output.width), cout: Int64(output.channels),
            kh: Int32(kernelHeight), kw: Int32(kernelWidth), stride_y: Int32(strideY), stride_x: Int32(strideX),
            dilation_y: Int32(dilationY), dilation_x: Int32(dilationX),
            pad_top: Int32(padding.top), pad_left: Int32(padding.left), act_min: lo, act_max: hi)
    }
}
