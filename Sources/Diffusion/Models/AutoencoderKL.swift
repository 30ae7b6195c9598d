import Foundation
import SparrowRuntime

/// The VAE's structure (diffusers' `AutoencoderKL` config.json).
public struct AutoencoderConfiguration: Sendable, Equatable {
    public var imageChannels: Int
    public var latentChannels: Int
    public var blockChannels: [Int]
    public var layersPerBlock: Int
    public var groupCount: Int
    /// Latents are divided by this before decoding (and multiplied after encoding): 0.18215 for SD.
    public var scalingFactor: Float
    public var usesQuantConvolutions: Bool
    public var midBlockAttention: Bool

    public init(jsonFile path: String) throws {
        let j = try ConfigurationFile(path: path)
        imageChannels = try j.int("in_channels", default: 3)
        let outChannels = try j.int("out_channels", default: 3)
        try j.require(outChannels == imageChannels, "in_channels and out_channels differ; Sparrow's VAE maps images to images")
        latentChannels = try j.int("latent_channels", default: 4)
        blockChannels = try j.ints("block_out_channels", default: [64])
        layersPerBlock = try j.int("layers_per_block", default: 1)
        groupCount = try j.int("norm_num_groups", default: 32)
        scalingFactor = Float(try j.double("scaling_factor", default: 0.18215))
        usesQuantConvolutions = try j.bool("use_quant_conv", default: true) && (try j.bool("use_post_quant_conv", default: true))
        midBlockAttention = try j.bool("mid_block_add_attention", default: true)
        let n = blockChannels.count
        for (key, name) in [("down_block_types", "DownEncoderBlock2D"), ("up_block_types", "UpDecoderBlock2D")] {
            let kinds = try j.strings(key, default: Array(repeating: name, count: n))
            try j.require(kinds.count == n && kinds.allSatisfy { $0 == name }, "\(key) must be \(n) × \(name)")
        }
        try j.require(n > 0 && layersPerBlock > 0 && latentChannels > 0 && groupCount > 0, "sizes must be positive")
    }

    /// Image pixels per latent pixel along each axis.
    public var downscale: Int { 1 << (blockChannels.count - 1) }
}

/// Stable Diffusion's KL autoencoder (matches diffusers' `AutoencoderKL`): the decoder turns latents
/// into images in [−1, 1]; the encoder gives the mean of the latent distribution (image-to-image).
public final class AutoencoderKL: @unchecked Sendable {
    public let configuration: AutoencoderConfiguration
    private let decoder: Coder, encoder: Coder?
    private let postQuant: ConvolutionLayer?, quant: ConvolutionLayer?

    /// One half: conv_in, stages of ResNets with a resampler, a ResNet–attention–ResNet middle, norm, conv_out.
    private struct Coder {
        var convIn: ConvolutionLayer
        var stages: [(resnets: [ResnetBlock], down: DownsampleLayer?, up: UpsampleLayer?)]
        var mid: (ResnetBlock, VAEAttention?, ResnetBlock)
        var normOut: GroupNormLayer
        var convOut: ConvolutionLayer
        var midFirst: Bool

        func callAsFunction(_ x: FeatureMaps, context: ExecutionContext) -> FeatureMaps {
            var x = convIn(x, context: context)
            func middle() {
                x = mid.0(x, timeEmbedding: nil, context: context)
                if let a = mid.1 { x = a(x, context: context) }
                x = mid.2(x, timeEmbedding: nil, context: context)
            }
            if midFirst { middle() }
            for stage in stages {
                for r in stage.resnets { x = r(x, timeEmbedding: nil, context: context) }
                if let d = stage.down { x = d(x, context: context) }
                if let u = stage.up { x = u(x, context: context) }
            }
            if !midFirst { middle() }
            return convOut(normOut(x, silu: true, context: context), context: context)
        }
    }

    /// Weights under diffusers' names (`decoder.up_blocks.0.resnets.0.conv1.weight`, …). Without
    /// `encoder.*` tensors only decoding is available.
    public init(configuration c: AutoencoderConfiguration, weights w: ComponentWeights) throws {
        configuration = c
        let G = c.groupCount, eps: Float = 1e-6, top = c.blockChannels.last!, n = c.blockChannels.count
        func mid(_ p: String) throws -> (ResnetBlock, VAEAttention?, ResnetBlock) {
            (try ResnetBlock(w, p + "mid_block.resnets.0.", inputs: top, outputs: top, timeChannels: nil, groups: G, epsilon: eps),
             c.midBlockAttention ? try VAEAttention(w, p + "mid_block.attentions.0.", channels: top, groups: G) : nil,
             try ResnetBlock(w, p + "mid_block.resnets.1.", inputs: top, outputs: top, timeChannels: nil, groups: G, epsilon: eps))
        }
        // Decoder: up blocks from the widest channels down, layersPerBlock + 1 ResNets each.
        var channels = top
        var stages: [(resnets: [ResnetBlock], down: DownsampleLayer?, up: UpsampleLayer?)] = []
        for (i, out) in c.blockChannels.reversed().enumerated() {
            let p = "decoder.up_blocks.\(i)."
            var resnets: [ResnetBlock] = []
            for j in 0...c.layersPerBlock {
                resnets.append(try ResnetBlock(w, p + "resnets.\(j).", inputs: channels, outputs: out, timeChannels: nil, groups: G, epsilon: eps))
                channels = out
            }
            stages.append((resnets, nil, i < n - 1 ? try UpsampleLayer(w, p + "upsamplers.0.", channels: out) : nil))
        }
        decoder = Coder(convIn: try ConvolutionLayer(w, "decoder.conv_in", inputs: c.latentChannels, outputs: top, kernel: 3),
                        stages: stages, mid: try mid("decoder."),
                        normOut: try GroupNormLayer(w, "decoder.conv_norm_out", channels: channels, groups: G, epsilon: eps),
                        convOut: try ConvolutionLayer(w, "decoder.conv_out", inputs: channels, outputs: c.imageChannels, kernel: 3),
                        midFirst: true)
        postQuant = c.usesQuantConvolutions
            ? try ConvolutionLayer(w, "post_quant_conv", inputs: c.latentChannels, outputs: c.latentChannels, kernel: 1) : nil
        if w.contains("encoder.conv_in.weight") {
            channels = c.blockChannels[0]
            var stages: [(resnets: [ResnetBlock], down: DownsampleLayer?, up: UpsampleLayer?)] = []
            for (i, out) in c.blockChannels.enumerated() {
                let p = "encoder.down_blocks.\(i)."
                var resnets: [ResnetBlock] = []
                for j in 0..<c.layersPerBlock {
                    resnets.append(try ResnetBlock(w, p + "resnets.\(j).", inputs: channels, outputs: out, timeChannels: nil, groups: G, epsilon: eps))
                    channels = out
                }
                // diffusers pads the encoder's downsamplers by (0, 1, 0, 1) and convolves without padding.
                stages.append((resnets, i < n - 1 ? try DownsampleLayer(w, p + "downsamplers.0.", channels: out, padding: .bottomRight) : nil, nil))
            }
            encoder = Coder(convIn: try ConvolutionLayer(w, "encoder.conv_in", inputs: c.imageChannels, outputs: c.blockChannels[0], kernel: 3),
                            stages: stages, mid: try mid("encoder."),
                            normOut: try GroupNormLayer(w, "encoder.conv_norm_out", channels: top, groups: G, epsilon: eps),
                            convOut: try ConvolutionLayer(w, "encoder.conv_out", inputs: top, outputs: 2 * c.latentChannels, kernel: 3),
                            midFirst: false)
            quant = c.usesQuantConvolutions
                ? try ConvolutionLayer(w, "quant_conv", inputs: 2 * c.latentChannels, outputs: 2 * c.latentChannels, kernel: 1) : nil
        } else {
            encoder = nil
            quant = nil
        }
        try w.verifyAllUsed()
    }

    public var canEncode: Bool { encoder != nil }

    /// Images [B, 8h, 8w, 3] in about [−1, 1] from latents [B, h, w, 4] (already divided by the scaling factor).
    public func decode(_ latents: FeatureMaps, context: ExecutionContext) throws -> FeatureMaps {
        guard latents.shape.channels == configuration.latentChannels else {
            throw DiffusionError("the VAE decodes \(configuration.latentChannels)-channel latents, got \(latents.shape.channels)")
        }
        return decoder(postQuant.map { $0(latents, context: context) } ?? latents, context: context)
    }

    /// The latent distribution's mean [B, h, w, 4] for images [B, H, W, 3] in [−1, 1] (not yet scaled).
    public func encode(_ images: FeatureMaps, context: ExecutionContext) throws -> FeatureMaps {
        try encodeDistribution(images, context: context).mean
    }

    /// The latent distribution (diagonal Gaussian) for images [B, H, W, 3] in [−1, 1]: mean and standard
    /// deviation exp(½·clamp(log σ², −30, 20)), as diffusers' DiagonalGaussianDistribution.
    public func encodeDistribution(_ images: FeatureMaps, context: ExecutionContext) throws -> (mean: FeatureMaps, deviation: FeatureMaps) {
        guard let encoder else { throw DiffusionError("this VAE has no encoder weights; image-to-image needs the full AutoencoderKL") }
        let d = configuration.downscale
        guard images.shape.channels == configuration.imageChannels, images.shape.height % d == 0, images.shape.width % d == 0 else {
            throw DiffusionError("the VAE encodes \(configuration.imageChannels)-channel images whose sides are multiples of \(d)")
        }
        var moments = encoder(images, context: context)
        if let quant { moments = quant(moments, context: context) }
        // The first half of the channels is the mean, the second the log-variance.
        let L = configuration.latentChannels, pixels = moments.batch * moments.shape.pixelCount
        var mean = [Float](repeating: 0, count: pixels * L), deviation = mean
        for p in 0..<pixels {
            for c in 0..<L {
                mean[p * L + c] = moments.values[p * 2 * L + c]
                let logVariance = min(max(moments.values[p * 2 * L + L + c], -30), 20)
                deviation[p * L + c] = Float(exp(Double(0.5 * logVariance)))
            }
        }
        let shape = FeatureMapShape(height: moments.shape.height, width: moments.shape.width, channels: L)
        return (FeatureMaps(batch: moments.batch, shape: shape, values: mean), FeatureMaps(batch: moments.batch, shape: shape, values: deviation))
    }
}

/// The VAE's single-head self-attention over pixels (diffusers' `Attention` with group norm, biased
/// projections and a residual connection): x + to_out(attn(group_norm(x))).
struct VAEAttention {
    let norm: GroupNormLayer
    let attention: AttentionLayer

    init(_ w: ComponentWeights, _ p: String, channels: Int, groups: Int) throws {
        norm = try GroupNormLayer(w, p + "group_norm", channels: channels, groups: groups, epsilon: 1e-6)
        attention = try AttentionLayer(w, p, channels: channels, contextChannels: nil, heads: 1, projectionBias: true)
    }

    func callAsFunction(_ x: FeatureMaps, context: ExecutionContext) -> FeatureMaps {
        let normed = norm(x, silu: false, context: context)
        var out = x
        var delta = [Float](repeating: 0, count: x.values.count)
        normed.values.withUnsafeBufferPointer { n in
            delta.withUnsafeMutableBufferPointer { d in
                attention(n.baseAddress!, batch: x.batch, tokens: x.shape.pixelCount, context: nil, contextTokens: 0,
                          into: d.baseAddress!, execution: context)
            }
        }
        addResidual(delta, into: &out.values, context: context)
        return out
    }
}
