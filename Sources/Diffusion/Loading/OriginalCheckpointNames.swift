import Foundation

/// The rename tables from an original Stable Diffusion single-file checkpoint (CompVis / Stability
/// layout: `model.diffusion_model.*`, `first_stage_model.*`, `cond_stage_model.*`) to diffusers names,
/// the names Sparrow's models load. Matches the mapping diffusers' single_file_utils applies when it
/// converts such a checkpoint (read for the layout; written here from the two layouts).
public enum OriginalCheckpointNames {
    public static let unetPrefix = "model.diffusion_model."
    public static let vaePrefix = "first_stage_model."
    public static let clipPrefix = "cond_stage_model.transformer."   // SD 1.x: transformers' CLIPTextModel
    public static let openCLIPPrefix = "cond_stage_model.model."     // SD 2.x: OpenCLIP

    /// UNet: `input_blocks.i.j` / `middle_block.j` / `output_blocks.i.j` → down/mid/up blocks.
    /// `layersPerBlock` is the config's `layers_per_block`.
    public static func unet(_ name: String, layersPerBlock: Int) throws -> ComponentWeights.Renamed {
        let parts = name.split(separator: ".").map(String.init)
        func rest(_ from: Int) -> String { parts[from...].joined(separator: ".") }
        switch parts.first {
        case "time_embed":
            guard parts.count == 3, let i = Int(parts[1]) else { break }
            let target = ["0": "linear_1", "2": "linear_2"][parts[1]]
            guard let target, i == 0 || i == 2 else { break }
            return .name("time_embedding.\(target).\(parts[2])")
        case "out":
            guard parts.count == 3 else { break }
            guard let target = ["0": "conv_norm_out", "2": "conv_out"][parts[1]] else { break }
            return .name("\(target).\(parts[2])")
        case "input_blocks":
            guard parts.count >= 4, let i = Int(parts[1]), let j = Int(parts[2]) else { break }
            if i == 0 { return j == 0 ? .name("conv_in." + rest(3)) : .drop }
            let block = (i - 1) / (layersPerBlock + 1), layer = (i - 1) % (layersPerBlock + 1)
            if layer == layersPerBlock {
                // input_blocks.i.0.op.* is the downsampler's convolution.
                guard parts[3] == "op" else { break }
                return .name("down_blocks.\(block).downsamplers.0.conv." + rest(4))
            }
            if j == 0 { return .name("down_blocks.\(block).resnets.\(layer)." + resnet(rest(3))) }
            return .name("down_blocks.\(block).attentions.\(layer)." + rest(3))
        case "middle_block":
            guard parts.count >= 3, let j = Int(parts[1]) else { break }
            switch j {
            case 0: return .name("mid_block.resnets.0." + resnet(rest(2)))
            case 1: return .name("mid_block.attentions.0." + rest(2))
            case 2: return .name("mid_block.resnets.1." + resnet(rest(2)))
            default: break
            }
        case "output_blocks":
            guard parts.count >= 4, let i = Int(parts[1]), let j = Int(parts[2]) else { break }
            let block = i / (layersPerBlock + 1), layer = i % (layersPerBlock + 1)
            if j == 0 { return .name("up_blocks.\(block).resnets.\(layer)." + resnet(rest(3))) }
            // The upsampler is a module whose only child is `conv`; attention modules have none by that name.
            if parts[3] == "conv" { return .name("up_blocks.\(block).upsamplers.0.conv." + rest(4)) }
            return .name("up_blocks.\(block).attentions.\(layer)." + rest(3))
        default:
            break
        }
        throw unknown(name, in: "UNet")
    }

    /// VAE: `encoder.down.i.block.j`, `decoder.up.i.block.j` (up blocks numbered from the bottom),
    /// `mid.block_1/attn_1/block_2`, `norm_out`.
    public static func vae(_ name: String, blockCount: Int) throws -> ComponentWeights.Renamed {
        let parts = name.split(separator: ".").map(String.init)
        guard let half = parts.first else { throw unknown(name, in: "VAE") }
        if half == "quant_conv" || half == "post_quant_conv" { return .name(name) }
        if half == "loss" || half.hasPrefix("model_ema") { return .drop }
        guard half == "encoder" || half == "decoder", parts.count >= 3 else { throw unknown(name, in: "VAE") }
        func rest(_ from: Int) -> String { parts[from...].joined(separator: ".") }
        switch parts[1] {
        case "conv_in", "conv_out": return .name(name)
        case "norm_out": return .name("\(half).conv_norm_out." + rest(2))
        case "down", "up":
            guard parts.count >= 5, let i = Int(parts[2]), i < blockCount else { break }
            let block = parts[1] == "down" ? "\(half).down_blocks.\(i)" : "\(half).up_blocks.\(blockCount - 1 - i)"
            switch parts[3] {
            case "block": return .name("\(block).resnets.\(rest(4).replacingOccurrences(of: "nin_shortcut", with: "conv_shortcut"))")
            case "downsample": return .name("\(block).downsamplers.0." + rest(4))
            case "upsample": return .name("\(block).upsamplers.0." + rest(4))
            default: break
            }
        case "mid":
            guard parts.count >= 4 else { break }
            switch parts[2] {
            case "block_1": return .name("\(half).mid_block.resnets.0." + rest(3).replacingOccurrences(of: "nin_shortcut", with: "conv_shortcut"))
            case "block_2": return .name("\(half).mid_block.resnets.1." + rest(3).replacingOccurrences(of: "nin_shortcut", with: "conv_shortcut"))
            case "attn_1":
                let names = ["norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"]
                guard let target = names[parts[3]] else { break }
                return .name("\(half).mid_block.attentions.0.\(target)." + rest(4))
            default: break
            }
        default: break
        }
        throw unknown(name, in: "VAE")
    }

    /// SD 1.x text encoder: transformers' own names, with or without the `text_model.` level.
    public static func clip(_ name: String) -> ComponentWeights.Renamed {
        name.hasPrefix("text_model.") ? .name(name) : .name("text_model." + name)
    }

    /// SD 2.x OpenCLIP text encoder → transformers' CLIPTextModel names. `layerCount` layers are kept:
    /// diffusers' SD 2 text encoder stops at OpenCLIP's penultimate block, so the last one is dropped.
    public static func openCLIP(_ name: String, layerCount: Int) throws -> ComponentWeights.Renamed {
        let parts = name.split(separator: ".").map(String.init)
        switch name {
        case "token_embedding.weight": return .name("text_model.embeddings.token_embedding.weight")
        case "positional_embedding": return .name("text_model.embeddings.position_embedding.weight")
        case "ln_final.weight", "ln_final.bias": return .name("text_model.final_layer_norm." + parts[1])
        case "text_projection", "logit_scale", "attn_mask": return .drop
        default: break
        }
        guard parts.count >= 5, parts[0] == "transformer", parts[1] == "resblocks", let i = Int(parts[2]) else {
            throw unknown(name, in: "OpenCLIP text encoder")
        }
        if i >= layerCount { return .drop }
        let layer = "text_model.encoder.layers.\(i)."
        let tail = parts[3...].joined(separator: ".")
        switch tail {
        case "attn.in_proj_weight": return .split(["q_proj", "k_proj", "v_proj"].map { layer + "self_attn.\($0).weight" })
        case "attn.in_proj_bias": return .split(["q_proj", "k_proj", "v_proj"].map { layer + "self_attn.\($0).bias" })
        default: break
        }
        let names = ["attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2", "mlp.c_fc": "mlp.fc1",
                     "mlp.c_proj": "mlp.fc2"]
        let module = parts[3..<(parts.count - 1)].joined(separator: ".")
        guard let target = names[module] else { throw unknown(name, in: "OpenCLIP text encoder") }
        return .name(layer + target + "." + parts.last!)
    }

    /// A ResNet's inner names: in_layers.0 → norm1, in_layers.2 → conv1, emb_layers.1 → time_emb_proj,
    /// out_layers.0 → norm2, out_layers.3 → conv2, skip_connection → conv_shortcut.
    private static func resnet(_ name: String) -> String {
        let table = ["in_layers.0.": "norm1.", "in_layers.2.": "conv1.", "emb_layers.1.": "time_emb_proj.",
                     "out_layers.0.": "norm2.", "out_layers.3.": "conv2.", "skip_connection.": "conv_shortcut."]
        for (from, to) in table where name.hasPrefix(from) { return to + name.dropFirst(from.count) }
        return name
    }

    private static func unknown(_ name: String, in component: String) -> DiffusionError {
        DiffusionError("\(component): tensor '\(name)' of the single-file checkpoint has no diffusers name; is this a Stable Diffusion 1.x/2.x checkpoint?")
    }
}
