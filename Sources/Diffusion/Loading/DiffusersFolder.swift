import Foundation
import SparrowRuntime

/// A Stable Diffusion pipeline saved by diffusers (`save_pretrained`, or a hub download):
///
///     model_index.json
///     text_encoder/config.json + model.safetensors
///     tokenizer/vocab.json + merges.txt (+ tokenizer_config.json, special_tokens_map.json)
///     unet/config.json + diffusion_pytorch_model.safetensors
///     vae/config.json + diffusion_pytorch_model.safetensors
///     scheduler/scheduler_config.json
///
/// Weight files may be the plain name, the `.fp16` variant, or shards (`…-00001-of-00002.safetensors`).
public struct DiffusersFolder: Sendable {
    public let path: String

    /// What a first-time user needs to know when the folder is not there or incomplete.
    public static let layoutHelp = """
        A Stable Diffusion model is a diffusers folder (model_index.json, text_encoder/, tokenizer/, unet/, vae/, \
        scheduler/ with their config.json and .safetensors files) — e.g. stabilityai/sd-turbo or \
        stable-diffusion-v1-5/stable-diffusion-v1-5 downloaded with `huggingface-cli download REPO --local-dir DIR` \
        on a machine with internet — or a single-file .safetensors checkpoint; see weights-manifest/ for sources, sizes and hashes.
        """

    public init(path: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
            throw DiffusionError("\(path) is not a folder. \(Self.layoutHelp)")
        }
        guard FileManager.default.fileExists(atPath: path + "/model_index.json") else {
            throw DiffusionError("\(path) has no model_index.json. \(Self.layoutHelp)")
        }
        self.path = path
    }

    /// The component's folder (`unet`, `vae`, …), or an error naming what is missing.
    public func folder(_ component: String) throws -> String {
        let p = path + "/" + component
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: p, isDirectory: &isFolder), isFolder.boolValue else {
            throw DiffusionError("\(path) has no \(component)/ folder. \(Self.layoutHelp)")
        }
        return p
    }

    /// The component's config.json.
    public func configuration(_ component: String, file: String = "config.json") throws -> String {
        let p = try folder(component) + "/" + file
        guard FileManager.default.fileExists(atPath: p) else { throw DiffusionError("\(p) is missing. \(Self.layoutHelp)") }
        return p
    }

    /// The component's safetensors files: the plain weights, else the fp16 variant, else every shard.
    public func weightFiles(_ component: String) throws -> [SafetensorsFile] {
        let dir = try folder(component)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let weights = names.filter { $0.hasSuffix(".safetensors") }.sorted()
        let plain = weights.filter { $0 == "model.safetensors" || $0 == "diffusion_pytorch_model.safetensors" }
        let half = weights.filter { $0.hasSuffix(".fp16.safetensors") && !$0.contains("-of-") }
        let shards = weights.filter { $0.contains("-of-") }
        guard let chosen = [plain, half, shards].first(where: { !$0.isEmpty }) else {
            let pickle = names.contains { $0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") }
            throw DiffusionError("\(dir) has no .safetensors weights" + (pickle
                ? " (only PyTorch pickle files, which Sparrow does not load: download the safetensors variant)." : ". \(Self.layoutHelp)"))
        }
        return try chosen.map { try SafetensorsFile(path: dir + "/" + $0) }
    }

    public func textEncoder(weights precision: WeightPrecision = .stored) throws -> CLIPTextEncoder {
        let configuration = try CLIPTextConfiguration(jsonFile: try self.configuration("text_encoder"))
        // transformers ≥ 5.6 saves CLIPTextModel without the `text_model.` level; older versions with it.
        let weights = try ComponentWeights(component: "text encoder", files: try weightFiles("text_encoder"),
                                           rename: OriginalCheckpointNames.clip)
        return try CLIPTextEncoder(configuration: configuration, weights: weights.kept(as: precision, .textEncoder))
    }

    public func unet(weights precision: WeightPrecision = .stored) throws -> UNetModel {
        try UNetModel(configuration: try UNetConfiguration(jsonFile: try configuration("unet")),
                      weights: try ComponentWeights(component: "UNet", files: try weightFiles("unet")).kept(as: precision, .unet))
    }

    public func autoencoder(weights precision: WeightPrecision = .stored) throws -> AutoencoderKL {
        try AutoencoderKL(configuration: try AutoencoderConfiguration(jsonFile: try configuration("vae")),
                          weights: try ComponentWeights(component: "VAE", files: try weightFiles("vae")).kept(as: precision, .autoencoder))
    }

    public func schedulerConfiguration() throws -> SchedulerConfiguration {
        try SchedulerConfiguration(jsonFile: try configuration("scheduler", file: "scheduler_config.json"))
    }
}

extension TinyAutoencoder {
    /// TAESD saved by diffusers (`config.json` + `diffusion_pytorch_model.safetensors` in `path`).
    public convenience init(folder path: String) throws {
        let files = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]
        guard let file = files.map({ path + "/" + $0 }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw DiffusionError("\(path) has no diffusion_pytorch_model.safetensors; TAESD is the diffusers folder of madebyollin/taesd")
        }
        try self.init(configuration: try TinyAutoencoderConfiguration(jsonFile: path + "/config.json"),
                      weights: try ComponentWeights(component: "TAESD", files: [try SafetensorsFile(path: file)]))
    }
}
