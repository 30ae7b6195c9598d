import Foundation
import SparrowRuntime

/// An original single-file Stable Diffusion checkpoint (`.safetensors` with `model.diffusion_model.*`,
/// `first_stage_model.*` and `cond_stage_model.*` tensors), loaded through the rename tables of
/// `OriginalCheckpointNames`. Such a file carries no configuration: the structure comes from a diffusers
/// folder of the same model family (its config.json files; diffusers' `from_single_file(config=…)`).
/// Loading is strict: every tensor of each component must be used and have the configured shape.
public struct SingleFileCheckpoint: Sendable {
    public let file: SafetensorsFile
    public let configurations: DiffusersFolder

    /// SD 1.x keeps transformers' CLIP names; SD 2.x stores OpenCLIP's.
    public enum TextEncoderLayout: Sendable { case clip, openCLIP }
    public let textEncoderLayout: TextEncoderLayout

    public init(path: String, configurations: DiffusersFolder) throws {
        file = try SafetensorsFile(path: path)
        self.configurations = configurations
        let names = file.tensorNames
        guard names.contains(where: { $0.hasPrefix(OriginalCheckpointNames.unetPrefix) }) else {
            throw DiffusionError("\(path) has no model.diffusion_model.* tensors: it is not an original Stable Diffusion checkpoint. \(DiffusersFolder.layoutHelp)")
        }
        if names.contains(where: { $0.hasPrefix(OriginalCheckpointNames.openCLIPPrefix) }) {
            textEncoderLayout = .openCLIP
        } else if names.contains(where: { $0.hasPrefix(OriginalCheckpointNames.clipPrefix) }) {
            textEncoderLayout = .clip
        } else {
            throw DiffusionError("\(path) has no cond_stage_model.* text encoder; Sparrow needs a checkpoint that includes it")
        }
    }

    public func textEncoder(weights precision: WeightPrecision = .stored) throws -> CLIPTextEncoder {
        let configuration = try CLIPTextConfiguration(jsonFile: try configurations.configuration("text_encoder"))
        let weights: ComponentWeights
        switch textEncoderLayout {
        case .clip:
            weights = try ComponentWeights(component: "text encoder", file: file, prefix: OriginalCheckpointNames.clipPrefix,
                                           rename: OriginalCheckpointNames.clip)
        case .openCLIP:
            weights = try ComponentWeights(component: "text encoder", file: file, prefix: OriginalCheckpointNames.openCLIPPrefix) {
                try OriginalCheckpointNames.openCLIP($0, layerCount: configuration.layerCount)
            }
        }
        return try CLIPTextEncoder(configuration: configuration, weights: weights.kept(as: precision, .textEncoder))
    }

    public func unet(weights precision: WeightPrecision = .stored) throws -> UNetModel {
        let configuration = try UNetConfiguration(jsonFile: try configurations.configuration("unet"))
        let weights = try ComponentWeights(component: "UNet", file: file, prefix: OriginalCheckpointNames.unetPrefix) {
            try OriginalCheckpointNames.unet($0, layersPerBlock: configuration.layersPerBlock)
        }
        return try UNetModel(configuration: configuration, weights: weights.kept(as: precision, .unet))
    }

    public func autoencoder(weights precision: WeightPrecision = .stored) throws -> AutoencoderKL {
        let configuration = try AutoencoderConfiguration(jsonFile: try configurations.configuration("vae"))
        let weights = try ComponentWeights(component: "VAE", file: file, prefix: OriginalCheckpointNames.vaePrefix) {
            try OriginalCheckpointNames.vae($0, blockCount: configuration.blockChannels.count)
        }
        return try AutoencoderKL(configuration: configuration, weights: weights.kept(as: precision, .autoencoder))
    }
}
