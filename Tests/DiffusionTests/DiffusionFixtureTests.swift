import Foundation
import SparrowRuntime
import Testing

/// Where the diffusion fixtures live (made by Scripts/make-diffusion-goldens.py, see Fixtures/README.md).
enum DiffusionFixtures {
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()

    static func safetensors(_ relativePath: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: directory + "/" + relativePath)
    }
}

/// The tiny CLIP encoders keep the real vocabulary: token embeddings are [49408, hidden 8].
private let clipVocabularySize = 49408
private let tinyTextHidden = 8

/// Every golden file holds F32 tensors with the names and NCHW / NHWC shapes the README documents.
@Test func diffusionGoldensHaveDocumentedTensors() throws {
    let expected: [(file: String, tensors: [(String, [Int])])] = [
        ("goldens-sd1.safetensors", [
            ("text/cond", [1, 77, tinyTextHidden]), ("text/uncond_clip_skip1", [1, 77, tinyTextHidden]),
            ("unet/sample", [2, 4, 4, 8]), ("unet/encoder_hidden_states", [2, 77, tinyTextHidden]),
            ("unet/output", [2, 4, 4, 8]), ("unet/timestep", [1]),
            ("vae/decode/input", [1, 4, 4, 8]), ("vae/decode/output", [1, 3, 8, 16]),
            ("vae/encode/mean", [1, 4, 4, 8]), ("guidance_embedding/dim16", [4, 16]),
            ("t2i_euler-a_4/initial_noise", [1, 4, 4, 8]), ("t2i_euler-a_4/step3/noise", [1, 4, 4, 8]),
            ("t2i_ddim_4/step0/noise_pred_text", [1, 4, 4, 8]), ("t2i_lcm_2/step1/denoised", [1, 4, 4, 8]),
            ("t2i_lcm_1/image", [1, 8, 16, 3]), ("i2i_ddim_4/noised_latents", [1, 4, 4, 8]),
        ]),
        ("goldens-sd2.safetensors", [
            ("text/cond", [1, 77, tinyTextHidden]), ("text/cond_all_layers", [1, 77, tinyTextHidden]),
            ("unet/output", [2, 4, 8, 6]), ("vae/decode/output", [1, 3, 32, 24]),
            ("t2i_euler-a_trailing_4/step2/noise", [1, 4, 8, 6]), ("t2i_euler_linspace_4/latents", [1, 4, 8, 6]),
            ("t2i_ddim_trailing_2/image", [1, 32, 24, 3]), ("i2i_euler-a_trailing_4/encode_std", [1, 4, 8, 6]),
        ]),
        ("goldens-taesd.safetensors", [
            ("decode/latents", [1, 4, 8, 6]), ("decode/output", [1, 3, 32, 24]), ("encode/latents", [1, 4, 8, 6]),
            ("sd2_t2i_euler-a_trailing_2_taesd/image", [1, 32, 24, 3]),
        ]),
    ]
    for (file, tensors) in expected {
        let goldens = try DiffusionFixtures.safetensors(file)
        #expect(goldens.tensors.allSatisfy { $0.type == .f32 }, "\(file) should hold only F32 tensors")
        #expect(goldens.metadata["command"]?.contains("make-diffusion-goldens.py") == true)
        for (name, shape) in tensors {
            let info = try #require(goldens.tensor(named: name), "\(file) lacks \(name)")
            #expect(info.shape == shape, "\(file) \(name)")
        }
    }
}

/// The single-file checkpoints use the original LDM / OpenCLIP names and hold exactly the folder's weights
/// (sd2 fuses q/k/v into in_proj and carries OpenCLIP's 24th resblock and text projection on top).
@Test func diffusionSingleFilesUseOriginalLayout() throws {
    let prefixes = ["model.diffusion_model.", "first_stage_model.", "cond_stage_model."]
    let components = ["unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                      "text_encoder/model.safetensors"]
    for (flavour, type) in [("sd1", GGMLType.f16), ("sd2", GGMLType.bf16)] {
        let single = try DiffusionFixtures.safetensors("\(flavour)-tiny.safetensors")
        #expect(single.tensors.allSatisfy { $0.type == type })
        #expect(single.tensorNames.allSatisfy { name in prefixes.contains { name.hasPrefix($0) } })
        let folderCount = try components.map { try DiffusionFixtures.safetensors("\(flavour)-tiny/\($0)").tensors.count }
            .reduce(0, +)
        let textLayers = flavour == "sd1" ? 0 : 23
        // sd2: 6 q/k/v tensors become 2 per layer; + one 12-tensor resblock + text_projection.
        let expected = flavour == "sd1" ? folderCount : folderCount - 4 * textLayers + 12 + 1
        #expect(single.tensors.count == expected, "\(flavour) single file tensor count")
    }
    let sd1 = try DiffusionFixtures.safetensors("sd1-tiny.safetensors")
    #expect(sd1.tensor(named: "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight")?.shape
        == [clipVocabularySize, tinyTextHidden])
    #expect(sd1.tensor(named: "model.diffusion_model.input_blocks.1.1.proj_in.weight")?.shape == [8, 8, 1, 1])
    #expect(sd1.tensor(named: "first_stage_model.decoder.mid.attn_1.q.weight")?.shape == [16, 16, 1, 1])
    let sd2 = try DiffusionFixtures.safetensors("sd2-tiny.safetensors")
    #expect(sd2.tensor(named: "cond_stage_model.model.token_embedding.weight")?.shape == [clipVocabularySize, tinyTextHidden])
    #expect(sd2.tensor(named: "cond_stage_model.model.transformer.resblocks.23.attn.in_proj_weight")?.shape
        == [3 * tinyTextHidden, tinyTextHidden])
    #expect(sd2.tensor(named: "cond_stage_model.model.transformer.resblocks.24.ln_1.weight") == nil)
    #expect(sd2.tensor(named: "model.diffusion_model.input_blocks.1.1.proj_in.weight")?.shape == [8, 8])
}

/// The folders keep both CLIP naming schemes real downloads have (sd1 with `text_model.`, sd2 flat).
@Test func diffusionFoldersHoldBothTextEncoderNamings() throws {
    let sd1 = try DiffusionFixtures.safetensors("sd1-tiny/text_encoder/model.safetensors")
    #expect(sd1.tensor(named: "text_model.embeddings.token_embedding.weight")?.shape == [clipVocabularySize, tinyTextHidden])
    let sd2 = try DiffusionFixtures.safetensors("sd2-tiny/text_encoder/model.safetensors")
    #expect(sd2.tensor(named: "embeddings.token_embedding.weight")?.type == .bf16)
    #expect(sd2.tensor(named: "encoder.layers.22.self_attn.q_proj.weight")?.shape == [tinyTextHidden, tinyTextHidden])
    #expect(sd2.tensor(named: "encoder.layers.23.self_attn.q_proj.weight") == nil)
    let vocabulary = try String(contentsOfFile: DiffusionFixtures.directory + "/sd2-tiny/tokenizer/vocab.json", encoding: .utf8)
    #expect(vocabulary.contains("\"<|endoftext|>\": 49407"))
}
