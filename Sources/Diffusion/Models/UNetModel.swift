import Foundation
import SparrowRuntime

/// Stable Diffusion's denoising UNet (matches diffusers' `UNet2DConditionModel` for SD 1.x / 2.x
/// configs): sinusoidal timestep embedding → MLP; conv_in; down blocks of ResNet (+ spatial
/// transformer) layers with strided-convolution downsamplers, each output kept for a skip connection;
/// a ResNet–transformer–ResNet middle; up blocks that concatenate the skips, with nearest-2× upsamplers;
/// group norm, SiLU, conv_out. NHWC throughout.
public final class UNetModel: @unchecked Sendable {
    public let configuration: UNetConfiguration
    private let timeLinear1: LinearWeights, timeLinear2: LinearWeights
    private let guidanceProjection: LinearWeights?
    private let convIn: ConvolutionLayer, convOut: ConvolutionLayer
    private let normOut: GroupNormLayer
    private let down: [Stage], up: [Stage]
    private let mid: (ResnetBlock, SpatialTransformer, ResnetBlock)

    /// One down or up block: its ResNets, their transformers (empty for plain blocks) and a resampler.
    private struct Stage {
        var resnets: [ResnetBlock]
        var transformers: [SpatialTransformer]
        var downsample: DownsampleLayer?
        var upsample: UpsampleLayer?
    }

    /// Weights under diffusers' names (`down_blocks.0.resnets.0.conv1.weight`, …).
    public init(configuration c: UNetConfiguration, weights w: ComponentWeights) throws {
        configuration = c
        let C0 = c.blockChannels[0], T = c.timeEmbeddingChannels, G = c.groupCount, eps = c.normEpsilon
        timeLinear1 = try LinearWeights(w, "time_embedding.linear_1", inputs: C0, outputs: T)
        timeLinear2 = try LinearWeights(w, "time_embedding.linear_2", inputs: T, outputs: T)
        guidanceProjection = try c.guidanceEmbeddingChannels.map {
            try LinearWeights(w, "time_embedding.cond_proj", inputs: $0, outputs: C0, hasBias: false)
        }
        convIn = try ConvolutionLayer(w, "conv_in", inputs: c.inputChannels, outputs: C0, kernel: 3)
        func transformer(_ p: String, _ channels: Int, _ heads: Int) throws -> SpatialTransformer {
            try SpatialTransformer(w, p, channels: channels, heads: heads, contextChannels: c.crossAttentionChannels,
                                   layers: c.transformerLayers, groups: G, linearProjection: c.linearProjection)
        }
        // Channels of the skip connections, in the order the down path pushes them.
        var skips = [C0]
        var channels = C0
        var down: [Stage] = []
        for (i, kind) in c.downBlocks.enumerated() {
            let out = c.blockChannels[i], p = "down_blocks.\(i)."
            var stage = Stage(resnets: [], transformers: [], downsample: nil, upsample: nil)
            for j in 0..<c.layersPerBlock {
                stage.resnets.append(try ResnetBlock(w, p + "resnets.\(j).", inputs: channels, outputs: out, timeChannels: T, groups: G, epsilon: eps))
                if kind == .crossAttention { stage.transformers.append(try transformer(p + "attentions.\(j).", out, c.headCounts[i])) }
                channels = out
                skips.append(channels)
            }
            if i < c.downBlocks.count - 1 {
                stage.downsample = try DownsampleLayer(w, p + "downsamplers.0.", channels: channels)
                skips.append(channels)
            }
            down.append(stage)
        }
        self.down = down
        let top = c.blockChannels.last!
        mid = (try ResnetBlock(w, "mid_block.resnets.0.", inputs: top, outputs: top, timeChannels: T, groups: G, epsilon: eps),
               try transformer("mid_block.attentions.0.", top, c.headCounts.last!),
               try ResnetBlock(w, "mid_block.resnets.1.", inputs: top, outputs: top, timeChannels: T, groups: G, epsilon: eps))
        let reversedChannels = Array(c.blockChannels.reversed()), reversedHeads = Array(c.headCounts.reversed())
        var up: [Stage] = []
        for (i, kind) in c.upBlocks.enumerated() {
            let out = reversedChannels[i], p = "up_blocks.\(i)."
            var stage = Stage(resnets: [], transformers: [], downsample: nil, upsample: nil)
            for j in 0...c.layersPerBlock {
                let skip = skips.removeLast()
                stage.resnets.append(try ResnetBlock(w, p + "resnets.\(j).", inputs: channels + skip, outputs: out, timeChannels: T,
                                                     groups: G, epsilon: eps))
                if kind == .crossAttention { stage.transformers.append(try transformer(p + "attentions.\(j).", out, reversedHeads[i])) }
                channels = out
            }
            if i < c.upBlocks.count - 1 { stage.upsample = try UpsampleLayer(w, p + "upsamplers.0.", channels: channels) }
            up.append(stage)
        }
        self.up = up
        normOut = try GroupNormLayer(w, "conv_norm_out", channels: channels, groups: G, epsilon: eps)
        convOut = try ConvolutionLayer(w, "conv_out", inputs: channels, outputs: c.outputChannels, kernel: 3)
        try w.verifyAllUsed()
    }

    /// The noise (or v) prediction for `sample` [B, h, w, 4] at `timestep`, conditioned on `text`
    /// [B, S, crossAttentionChannels]. `guidance` is w for LCM UNets with a guidance embedding.
    public func predict(_ sample: FeatureMaps, timestep: Float, text: [Float], textTokens S: Int, guidance: Float? = nil,
                        context: ExecutionContext) throws -> FeatureMaps {
        let c = configuration
        guard sample.shape.channels == c.inputChannels else {
            throw DiffusionError("the UNet takes \(c.inputChannels)-channel latents, got \(sample.shape.channels)")
        }
        let factor = 1 << (c.blockChannels.count - 1)
        guard sample.shape.height % factor == 0, sample.shape.width % factor == 0 else {
            throw DiffusionError("latent height and width must be multiples of \(factor) (images: multiples of \(8 * factor) pixels)")
        }
        guard S > 0, text.count == sample.batch * S * c.crossAttentionChannels else {
            throw DiffusionError("text embeddings must be [\(sample.batch), \(S), \(c.crossAttentionChannels)]; the text encoder does not match this UNet")
        }
        let temb = timeEmbedding(timestep, guidance: guidance, batch: sample.batch, context: context)
        var x = convIn(sample, context: context)
        var skips = [x]
        for stage in down {
            for (j, resnet) in stage.resnets.enumerated() {
                x = resnet(x, timeEmbedding: temb, context: context)
                if j < stage.transformers.count { x = stage.transformers[j](x, text: text, textTokens: S, context: context) }
                skips.append(x)
            }
            if let d = stage.downsample {
                x = d(x, context: context)
                skips.append(x)
            }
        }
        x = mid.0(x, timeEmbedding: temb, context: context)
        x = mid.1(x, text: text, textTokens: S, context: context)
        x = mid.2(x, timeEmbedding: temb, context: context)
        for stage in up {
            for (j, resnet) in stage.resnets.enumerated() {
                x = resnet(FeatureMaps.concatenatingChannels(x, skips.removeLast()), timeEmbedding: temb, context: context)
                if j < stage.transformers.count { x = stage.transformers[j](x, text: text, textTokens: S, context: context) }
            }
            if let u = stage.upsample { x = u(x, context: context) }
        }
        return convOut(normOut(x, silu: true, context: context), context: context)
    }

    /// silu(MLP(sinusoid(t) [+ cond_proj(sinusoid(w))])) per batch element: [B, T], ready for every
    /// ResNet's time projection (they all apply SiLU first, so it is applied once here).
    private func timeEmbedding(_ t: Float, guidance: Float?, batch: Int, context: ExecutionContext) -> [Float] {
        let c = configuration, C0 = c.blockChannels[0]
        var base = Self.sinusoid(t, channels: C0, flipSinToCos: c.flipSinToCos, shift: c.frequencyShift)
        if let g = guidanceProjection, let w = guidance, let channels = c.guidanceEmbeddingChannels {
            // Matches diffusers' LCM get_guidance_scale_embedding: w is scaled by 1000, sin before cos.
            let wEmbedding = Self.sinusoid((w - 1) * 1000, channels: channels, flipSinToCos: false, shift: 1)
            var projected = [Float](repeating: 0, count: C0)
            g.apply(wEmbedding, tokens: 1, into: &projected, context: context)
            for i in 0..<C0 { base[i] += projected[i] }
        }
        var hidden = [Float](repeating: 0, count: c.timeEmbeddingChannels), out = hidden
        timeLinear1.apply(base, tokens: 1, into: &hidden, context: context)
        hidden.withUnsafeMutableBufferPointer { Kernels.silu($0.baseAddress!, count: $0.count) }
        timeLinear2.apply(hidden, tokens: 1, into: &out, context: context)
        out.withUnsafeMutableBufferPointer { Kernels.silu($0.baseAddress!, count: $0.count) }
        return Array((0..<batch).map { _ in out }.joined())
    }

    /// Matches diffusers' get_timestep_embedding in float32: e_i = exp(−ln(10000)·i / (half − shift)),
    /// [sin(t·e), cos(t·e)] (cos first when flipped).
    static func sinusoid(_ t: Float, channels: Int, flipSinToCos: Bool, shift: Float) -> [Float] {
        let half = channels / 2
        var out = [Float](repeating: 0, count: channels)
        for i in 0..<half {
            let exponent = -Float(log(10000.0)) * Float(i) / (Float(half) - shift)
            let angle = t * Float(exp(Double(exponent)))
            let (s, co) = (Float(sin(Double(angle))), Float(cos(Double(angle))))
            if flipSinToCos { (out[i], out[half + i]) = (co, s) } else { (out[i], out[half + i]) = (s, co) }
        }
        return out
    }
}
