import Foundation
import SparrowDiffusion
import SparrowRuntime
import Testing

/// The tiny pipelines' goldens (Scripts/make-diffusion-goldens.py, diffusers 0.42.1 / transformers 5.23.0 /
/// torch 2.15.0 on CPU, fp32 compute of fp16/bf16 weights).
struct TinyPipeline: CustomStringConvertible, Sendable {
    let name: String   // "sd1" or "sd2"
    var description: String { name }

    static let sd1 = TinyPipeline(name: "sd1"), sd2 = TinyPipeline(name: "sd2")

    var folder: DiffusersFolder { get throws { try DiffusersFolder(path: DiffusionFixtures.directory + "/\(name)-tiny") } }
    var singleFile: SingleFileCheckpoint {
        get throws { try SingleFileCheckpoint(path: DiffusionFixtures.directory + "/\(name)-tiny.safetensors", configurations: try folder) }
    }

    func golden(_ tensor: String) throws -> [Float] { try Self.golden(file: "goldens-\(name).safetensors", tensor) }
    func golden(shape tensor: String) throws -> (values: [Float], shape: [Int]) {
        let file = try DiffusionFixtures.safetensors("goldens-\(name).safetensors")
        let info = try #require(file.tensor(named: tensor), "golden \(tensor) is missing")
        return (file.floats(of: info), info.shape)
    }

    static func golden(file: String, _ tensor: String) throws -> [Float] {
        let f = try DiffusionFixtures.safetensors(file)
        let info = try #require(f.tensor(named: tensor), "golden \(tensor) is missing from \(file)")
        return f.floats(of: info)
    }

    /// Token ids recorded in goldens.json for the prompt and the negative prompt.
    func promptIDs(negative: Bool = false) throws -> [Int32] {
        let data = try Data(contentsOf: URL(fileURLWithPath: DiffusionFixtures.directory + "/goldens.json"))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let section = try #require(json?[name] as? [String: Any])
        let ids = try #require(section[negative ? "negative_prompt_ids" : "prompt_ids"] as? [Int])
        return ids.map(Int32.init)
    }

    /// NCHW golden → NHWC maps.
    func maps(_ tensor: String) throws -> FeatureMaps {
        let (values, shape) = try golden(shape: tensor)
        try #require(shape.count == 4)
        return FeatureMaps(nchw: values, batch: shape[0], channels: shape[1], height: shape[2], width: shape[3])
    }
}

/// Float32 results computed in another order than PyTorch's: |a − b| ≤ tolerance · max(1, max |b|).
let float32Reordering: Float = 2e-4

func expectClose(_ a: [Float], _ b: [Float], tolerance: Float = float32Reordering, _ what: String) {
    #expect(a.count == b.count, "\(what): \(a.count) values, expected \(b.count)")
    guard a.count == b.count, !b.isEmpty else { return }
    let scale = max(1, b.map(abs).max()!)
    let worst = zip(a, b).map { abs($0 - $1) }.max()!
    #expect(worst <= tolerance * scale, "\(what): max |Δ| \(worst) (scale \(scale))")
}

/// One per use: tests run in parallel and an ExecutionContext is not shared across threads.
private var context: ExecutionContext { ExecutionContext(threadCount: 1) }

@Suite struct ModelGoldenTests {
    @Test(arguments: [TinyPipeline.sd1, .sd2])
    func textEncoderMatchesTransformers(_ p: TinyPipeline) throws {
        let encoder = try p.folder.textEncoder()
        expectClose(try encoder.encode(try p.promptIDs(), context: context), try p.golden("text/cond"), "\(p) cond")
        expectClose(try encoder.encode(try p.promptIDs(negative: true), context: context), try p.golden("text/uncond"), "\(p) uncond")
        expectClose(try encoder.encode(try p.promptIDs(), skipLastLayers: 1, context: context), try p.golden("text/cond_clip_skip1"),
                    "\(p) clip skip 1")
    }

    @Test(arguments: [TinyPipeline.sd1, .sd2])
    func singleFileLoadsTheFolderWeights(_ p: TinyPipeline) throws {
        let (folder, single) = (try p.folder, try p.singleFile)
        let ids = try p.promptIDs()
        expectClose(try single.textEncoder().encode(ids, context: context), try folder.textEncoder().encode(ids, context: context),
                    tolerance: 0, "\(p) single-file text encoder")
        let sample = try p.maps("unet/sample"), text = try p.golden("unet/encoder_hidden_states")
        expectClose(try single.unet().predict(sample, timestep: 981, text: text, textTokens: 77, context: context).values,
                    try folder.unet().predict(sample, timestep: 981, text: text, textTokens: 77, context: context).values,
                    tolerance: 0, "\(p) single-file UNet")
        let latents = try p.maps("vae/decode/input")
        expectClose(try single.autoencoder().decode(latents, context: context).values,
                    try folder.autoencoder().decode(latents, context: context).values, tolerance: 0, "\(p) single-file VAE")
    }

    @Test(arguments: [TinyPipeline.sd1, .sd2])
    func unetMatchesDiffusers(_ p: TinyPipeline) throws {
        let unet = try p.folder.unet()
        let timestep = try p.golden("unet/timestep")[0]
        let out = try unet.predict(try p.maps("unet/sample"), timestep: timestep, text: try p.golden("unet/encoder_hidden_states"),
                                   textTokens: 77, context: context)
        expectClose(out.nchw, try p.golden("unet/output"), "\(p) UNet")
    }

    @Test(arguments: [TinyPipeline.sd1, .sd2])
    func vaeDecoderMatchesDiffusers(_ p: TinyPipeline) throws {
        let image = try p.folder.autoencoder().decode(try p.maps("vae/decode/input"), context: context)
        expectClose(image.nchw, try p.golden("vae/decode/output"), "\(p) VAE decode")
    }

    @Test func vaeEncoderMatchesDiffusers() throws {
        let p = TinyPipeline.sd1
        let mean = try p.folder.autoencoder().encode(try p.maps("vae/encode/image"), context: context)
        expectClose(mean.nchw, try p.golden("vae/encode/mean"), "VAE encode mean")
    }

    @Test func tinyAutoencoderMatchesDiffusers() throws {
        let taesd = try TinyAutoencoder(folder: DiffusionFixtures.directory + "/taesd-tiny")
        let file = "goldens-taesd.safetensors"
        let f = try DiffusionFixtures.safetensors(file)
        let info = try #require(f.tensor(named: "decode/latents"))
        let latents = FeatureMaps(nchw: f.floats(of: info), batch: info.shape[0], channels: info.shape[1], height: info.shape[2],
                                  width: info.shape[3])
        expectClose(try taesd.decode(latents, context: context).nchw, try TinyPipeline.golden(file: file, "decode/output"), "TAESD decode")
    }

    @Test func corruptConfigurationIsRefusedByName() throws {
        let folder = TemporaryDiffusionFolder()
        let path = folder.write("config.json", #"{"block_out_channels": "wide"}"#)
        #expect(throws: FormatError.self) { try UNetConfiguration(jsonFile: path) }
        do {
            _ = try UNetConfiguration(jsonFile: path)
        } catch {
            #expect("\(error)".contains("block_out_channels"))
        }
        #expect(throws: DiffusionError.self) { try DiffusersFolder(path: folder.path + "/nowhere") }
    }
}

/// A fresh folder under the temporary directory, removed when dropped.
final class TemporaryDiffusionFolder {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sparrow-diffusion-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func write(_ name: String, _ text: String) -> String {
        let p = path + "/" + name
        FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }
}
