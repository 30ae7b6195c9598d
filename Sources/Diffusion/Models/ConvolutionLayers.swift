import SparrowRuntime

/// A PyTorch `Conv2d` (weights [out, in, kH, kW], zero padding, square stride) on the runtime's NHWC
/// `Convolution2D` (weights packed straight from PyTorch's OIHW order at load and kept as
/// `ComponentWeights.storage` says); a batch of maps runs in one call, so each weight chunk serves
/// every map. 3×3 stride-1 layers run as Winograd F(2×2, 3×3) (no Skip-Conv here, so nothing needs
/// the direct kernel's exact bits).
struct ConvolutionLayer {
    let convolution: Convolution2D
    let outputChannels: Int

    init(_ w: ComponentWeights, _ name: String, inputs: Int, outputs: Int, kernel: Int, stride: Int = 1, padding: Padding2D? = nil,
         hasBias: Bool = true) throws {
        let oihw = try w.floats(name + ".weight", shape: [outputs, inputs, kernel, kernel])
        let bias = hasBias ? try w.floats(name + ".bias", shape: [outputs]) : nil
        let pad = padding ?? Padding2D(top: kernel / 2, left: kernel / 2, bottom: kernel / 2, right: kernel / 2)
        convolution = Convolution2D(weights: oihw, bias: bias, outputChannels: outputs, kernelHeight: kernel, kernelWidth: kernel,
                                    inputChannels: inputs, strideY: stride, strideX: stride, padding: pad, activation: .none,
                                    storage: w.storage(of: name + ".weight"), algorithm: .winograd, layout: .oihw)
        outputChannels = outputs
    }

    func callAsFunction(_ x: FeatureMaps, context: ExecutionContext) -> FeatureMaps {
        let outShape = convolution.outputShape(for: x.shape)
        return FeatureMaps(shape: outShape, batch: x.batch) { o in
            x.values.withUnsafeBufferPointer { input in
                convolution.run(input.baseAddress!, shape: x.shape, batch: x.batch, into: o, context: context)
            }
        }
    }
}

/// A `GroupNorm` (affine) over NHWC maps, optionally followed by SiLU (diffusers' norm → act pairs).
struct GroupNormLayer {
    let groups: Int
    let epsilon: Float
    let gamma: [Float], beta: [Float]

    init(_ w: ComponentWeights, _ name: String, channels: Int, groups: Int, epsilon: Float) throws {
        guard groups > 0, channels % groups == 0 else {
            throw DiffusionError("\(name): \(channels) channels do not split into \(groups) groups; check norm_num_groups in config.json")
        }
        self.groups = groups
        self.epsilon = epsilon
        gamma = try w.floats(name + ".weight", shape: [channels])
        beta = try w.floats(name + ".bias", shape: [channels])
    }

    func callAsFunction(_ x: FeatureMaps, silu: Bool, context: ExecutionContext) -> FeatureMaps {
        return FeatureMaps(shape: x.shape, batch: x.batch) { o in
            gamma.withUnsafeBufferPointer { g in
                beta.withUnsafeBufferPointer { b in
                    x.withElements { i, input in
                        Kernels.groupNorm(input, pixels: x.shape.pixelCount, channels: x.shape.channels, groups: groups,
                                          epsilon: epsilon, gamma: g.baseAddress!, beta: b.baseAddress!, silu: silu,
                                          into: o + i * x.shape.count, context: context)
                    }
                }
            }
        }
    }
}

/// diffusers' `ResnetBlock2D` (default "default" time-embedding norm): h = conv1(silu(norm1(x)));
/// h += proj(silu(temb)) per channel; h = conv2(silu(norm2(h))); out = (shortcut(x) + h) / scale.
struct ResnetBlock {
    let norm1: GroupNormLayer, norm2: GroupNormLayer
    let conv1: ConvolutionLayer, conv2: ConvolutionLayer
    let timeProjection: LinearWeights?
    let shortcut: ConvolutionLayer?
    let outputScale: Float

    init(_ w: ComponentWeights, _ p: String, inputs: Int, outputs: Int, timeChannels: Int?, groups: Int, epsilon: Float,
         outputScale: Float = 1) throws {
        norm1 = try GroupNormLayer(w, p + "norm1", channels: inputs, groups: groups, epsilon: epsilon)
        conv1 = try ConvolutionLayer(w, p + "conv1", inputs: inputs, outputs: outputs, kernel: 3)
        timeProjection = try timeChannels.map { try LinearWeights(w, p + "time_emb_proj", inputs: $0, outputs: outputs) }
        norm2 = try GroupNormLayer(w, p + "norm2", channels: outputs, groups: groups, epsilon: epsilon)
        conv2 = try ConvolutionLayer(w, p + "conv2", inputs: outputs, outputs: outputs, kernel: 3)
        shortcut = inputs == outputs ? nil : try ConvolutionLayer(w, p + "conv_shortcut", inputs: inputs, outputs: outputs, kernel: 1)
        self.outputScale = outputScale
    }

    /// `timeEmbedding`: silu(temb) per batch element, [B, timeChannels] (nil for the VAE).
    func callAsFunction(_ x: FeatureMaps, timeEmbedding: [Float]?, context: ExecutionContext) -> FeatureMaps {
        var h = conv1(norm1(x, silu: true, context: context), context: context)
        if let timeProjection, let timeEmbedding {
            var bias = [Float](repeating: 0, count: x.batch * timeProjection.outputs)
            timeProjection.apply(timeEmbedding, tokens: x.batch, into: &bias, context: context)
            let C = h.shape.channels, plane = h.shape.pixelCount
            for b in 0..<x.batch {
                for p in 0..<plane {
                    for c in 0..<C { h.values[(b * plane + p) * C + c] += bias[b * C + c] }
                }
            }
        }
        h = conv2(norm2(h, silu: true, context: context), context: context)
        var out = shortcut.map { $0(x, context: context) } ?? x
        out.add(h, context: context)
        if outputScale != 1 {
            for i in out.values.indices { out.values[i] /= outputScale }
        }
        return out
    }
}

/// diffusers' `Downsample2D` with a convolution: 3×3, stride 2, padding 1 (the UNet), or padded by one
/// row and column at the bottom and right only (the VAE encoder's `padding=0` variant).
struct DownsampleLayer {
    enum Padding { case symmetric, bottomRight }
    let convolution: ConvolutionLayer
    init(_ w: ComponentWeights, _ p: String, channels: Int, padding: Padding = .symmetric) throws {
        let pad = padding == .symmetric ? Padding2D(top: 1, left: 1, bottom: 1, right: 1) : Padding2D(top: 0, left: 0, bottom: 1, right: 1)
        convolution = try ConvolutionLayer(w, p + "conv", inputs: channels, outputs: channels, kernel: 3, stride: 2, padding: pad)
    }
    func callAsFunction(_ x: FeatureMaps, context: ExecutionContext) -> FeatureMaps { convolution(x, context: context) }
}

/// diffusers' `Upsample2D` with a convolution: nearest-neighbour 2× then 3×3.
struct UpsampleLayer {
    let convolution: ConvolutionLayer
    init(_ w: ComponentWeights, _ p: String, channels: Int) throws {
        convolution = try ConvolutionLayer(w, p + "conv", inputs: channels, outputs: channels, kernel: 3)
    }
    func callAsFunction(_ x: FeatureMaps, context: ExecutionContext) -> FeatureMaps {
        convolution(Self.nearest2x(x), context: context)
    }

    /// Each pixel repeated over a 2×2 block.
    static func nearest2x(_ x: FeatureMaps) -> FeatureMaps {
        let big = FeatureMapShape(height: x.shape.height * 2, width: x.shape.width * 2, channels: x.shape.channels)
        return FeatureMaps(shape: big, batch: x.batch) { o in
            x.withElements { b, input in Kernels.upsampleNearest2x(input, shape: x.shape, into: o + b * big.count) }
        }
    }
}
