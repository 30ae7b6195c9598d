import Foundation
import SparrowRuntime

/// TAESD's structure (diffusers' `AutoencoderTiny` config.json), decoder side.
public struct TinyAutoencoderConfiguration: Sendable, Equatable {
    public var latentChannels: Int
    public var imageChannels: Int
    public var blockChannels: [Int]
    public var blockCounts: [Int]
    public var scalingFactor: Float

    public init(jsonFile path: String) throws {
        let j = try ConfigurationFile(path: path)
        latentChannels = try j.int("latent_channels", default: 4)
        imageChannels = try j.int("out_channels", default: 3)
        let shared = try j.ints("block_out_channels", default: [64, 64, 64, 64])
        blockChannels = try j.ints("decoder_block_out_channels", default: shared)
        blockCounts = try j.ints("num_decoder_blocks", default: [3, 3, 3, 1])
        scalingFactor = Float(try j.double("scaling_factor", default: 1))
        let act = try j.string("act_fn", default: "relu"), upsample = try j.string("upsample_fn", default: "nearest")
        let factor = try j.int("upsampling_scaling_factor", default: 2)
        try j.require(act == "relu" && upsample == "nearest" && factor == 2,
                      "Sparrow's tiny autoencoder runs act_fn relu with nearest 2× upsampling (TAESD)")
        try j.require(!blockChannels.isEmpty && blockChannels.count == blockCounts.count && blockChannels.allSatisfy { $0 > 0 },
                      "decoder_block_out_channels and num_decoder_blocks need one positive entry per block")
    }
}

/// TAESD's decoder (matches diffusers' `DecoderTiny`): a fast stand-in for the KL VAE's decoder.
/// tanh(z/3)·3, conv + ReLU, per block n residual blocks (three 3×3 convolutions with ReLUs, plus the
/// input, then ReLU), nearest 2× upsampling and a convolution; output mapped from [0, 1] to [−1, 1].
public final class TinyAutoencoder: @unchecked Sendable {
    public let configuration: TinyAutoencoderConfiguration
    private let convIn: ConvolutionLayer
    private let stages: [(blocks: [[ConvolutionLayer]], upsample: Bool, conv: ConvolutionLayer)]

    /// Weights under diffusers' names (`decoder.layers.2.conv.0.weight`, …); encoder weights, if any,
    /// are not used.
    public init(configuration c: TinyAutoencoderConfiguration, weights w: ComponentWeights) throws {
        configuration = c
        convIn = try ConvolutionLayer(w, "decoder.layers.0", inputs: c.latentChannels, outputs: c.blockChannels[0], kernel: 3)
        var index = 2   // after the first convolution and its ReLU
        var stages: [(blocks: [[ConvolutionLayer]], upsample: Bool, conv: ConvolutionLayer)] = []
        var channels = c.blockChannels[0]
        for (i, count) in c.blockCounts.enumerated() {
            let C = c.blockChannels[i], final = i == c.blockCounts.count - 1
            guard C == channels else { throw DiffusionError("TAESD blocks must keep their channel count (\(channels) → \(C))") }
            var blocks: [[ConvolutionLayer]] = []
            for _ in 0..<count {
                let p = "decoder.layers.\(index).conv."
                blocks.append(try [0, 2, 4].map { try ConvolutionLayer(w, p + "\($0)", inputs: C, outputs: C, kernel: 3) })
                index += 1
            }
            if !final { index += 1 }   // nn.Upsample has no weights
            let out = final ? c.imageChannels : C
            let conv = try ConvolutionLayer(w, "decoder.layers.\(index)", inputs: C, outputs: out, kernel: 3, hasBias: final)
            index += 1
            stages.append((blocks, !final, conv))
            channels = out
        }
        self.stages = stages
        for name in w.names where name.hasPrefix("encoder.") { w.ignore(name) }
        try w.verifyAllUsed()
    }

    /// Images [B, 8h, 8w, 3] in about [−1, 1] from latents [B, h, w, 4] (divided by the scaling factor).
    public func decode(_ latents: FeatureMaps, context: ExecutionContext) throws -> FeatureMaps {
        guard latents.shape.channels == configuration.latentChannels else {
            throw DiffusionError("TAESD decodes \(configuration.latentChannels)-channel latents, got \(latents.shape.channels)")
        }
        var x = latents
        for i in x.values.indices { x.values[i] = Float(tanh(Double(x.values[i] / 3))) * 3 }
        x = relu(convIn(x, context: context))
        for stage in stages {
            for block in stage.blocks {
                var h = relu(block[0](x, context: context))
                h = relu(block[1](h, context: context))
                h = block[2](h, context: context)
                h.add(x, context: context)
                x = relu(h)
            }
            if stage.upsample { x = UpsampleLayer.nearest2x(x) }
            x = stage.conv(x, context: context)
        }
        for i in x.values.indices { x.values[i] = x.values[i] * 2 - 1 }
        return x
    }

    private func relu(_ x: FeatureMaps) -> FeatureMaps {
        var y = x
        x.values.withUnsafeBufferPointer { v in
            y.values.withUnsafeMutableBufferPointer { Kernels.relu(v.baseAddress!, count: v.count, into: $0.baseAddress!) }
        }
        return y
    }
}
