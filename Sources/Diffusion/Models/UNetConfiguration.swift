import SparrowRuntime

/// A Stable Diffusion UNet's structure (diffusers' `UNet2DConditionModel` config.json). Only what SD
/// 1.x / 2.x use is supported; anything else is refused by name.
public struct UNetConfiguration: Sendable, Equatable {
    public enum DownBlock: String, Sendable { case crossAttention = "CrossAttnDownBlock2D", plain = "DownBlock2D" }
    public enum UpBlock: String, Sendable { case crossAttention = "CrossAttnUpBlock2D", plain = "UpBlock2D" }

    public var inputChannels: Int
    public var outputChannels: Int
    public var blockChannels: [Int]
    public var downBlocks: [DownBlock]
    public var upBlocks: [UpBlock]
    public var layersPerBlock: Int
    /// Attention heads per down block (diffusers reads SD's `attention_head_dim` as the head count).
    public var headCounts: [Int]
    public var crossAttentionChannels: Int
    public var groupCount: Int
    public var normEpsilon: Float
    public var linearProjection: Bool
    public var transformerLayers: Int
    public var flipSinToCos: Bool
    public var frequencyShift: Float
    /// The latent size the model was trained at (`sample_size`; 64 for 512×512 images).
    public var sampleSize: Int
    /// LCM-distilled UNets embed the guidance scale w (`time_cond_proj_dim`, e.g. 256); nil otherwise.
    public var guidanceEmbeddingChannels: Int?

    public init(jsonFile path: String) throws {
        let j = try ConfigurationFile(path: path)
        inputChannels = try j.int("in_channels", default: 4)
        outputChannels = try j.int("out_channels", default: 4)
        blockChannels = try j.ints("block_out_channels", default: [320, 640, 1280, 1280])
        let n = blockChannels.count
        try j.require(n > 0 && blockChannels.allSatisfy { $0 > 0 }, "block_out_channels must be positive")
        downBlocks = try j.strings("down_block_types", default: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"])
            .map { name in
                guard let b = DownBlock(rawValue: name) else { throw FormatError(file: path, offset: nil, message: "down block '\(name)' is not supported (SD 1.x/2.x UNets use CrossAttnDownBlock2D and DownBlock2D)") }
                return b
            }
        upBlocks = try j.strings("up_block_types", default: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])
            .map { name in
                guard let b = UpBlock(rawValue: name) else { throw FormatError(file: path, offset: nil, message: "up block '\(name)' is not supported (SD 1.x/2.x UNets use CrossAttnUpBlock2D and UpBlock2D)") }
                return b
            }
        try j.require(downBlocks.count == n && upBlocks.count == n, "down_block_types and up_block_types need one entry per block_out_channels entry")
        layersPerBlock = try j.int("layers_per_block", default: 2)
        if j.value("num_attention_heads") != nil {
            headCounts = try j.ints("num_attention_heads", count: n, default: [])
        } else {
            headCounts = try j.ints("attention_head_dim", count: n, default: Array(repeating: 8, count: n))
        }
        crossAttentionChannels = try j.int("cross_attention_dim", default: 1280)
        groupCount = try j.int("norm_num_groups", default: 32)
        normEpsilon = Float(try j.double("norm_eps", default: 1e-5))
        linearProjection = try j.bool("use_linear_projection", default: false)
        if let list = j.value("transformer_layers_per_block"), list.arrayValue != nil {
            let layers = try j.ints("transformer_layers_per_block", count: n, default: [])
            try j.require(Set(layers).count == 1, "transformer_layers_per_block must be the same for every block")
            transformerLayers = layers[0]
        } else {
            transformerLayers = try j.int("transformer_layers_per_block", default: 1)
        }
        flipSinToCos = try j.bool("flip_sin_to_cos", default: true)
        frequencyShift = Float(try j.double("freq_shift", default: 0))
        sampleSize = try j.int("sample_size", default: 64)
        guidanceEmbeddingChannels = j.value("time_cond_proj_dim") == nil ? nil : try j.int("time_cond_proj_dim")
        let midType = try j.string("mid_block_type", default: "UNetMidBlock2DCrossAttn")
        try j.require(midType == "UNetMidBlock2DCrossAttn", "mid_block_type '\(midType)' is not supported")
        let act = try j.string("act_fn", default: "silu")
        try j.require(act == "silu", "act_fn '\(act)' is not supported (SD uses silu)")
        for key in ["class_embed_type", "addition_embed_type", "encoder_hid_proj", "encoder_hid_dim"] {
            try j.require(j.value(key) == nil, "'\(key)' is set; Sparrow runs SD 1.x/2.x UNets without it")
        }
        try j.require(layersPerBlock > 0 && transformerLayers > 0 && groupCount > 0 && crossAttentionChannels > 0,
                      "layer counts, norm_num_groups and cross_attention_dim must be positive")
        try j.require(headCounts.allSatisfy { $0 > 0 }, "attention heads must be positive")
    }

    /// Channels of the timestep embedding's MLP (4 × the first block's channels).
    public var timeEmbeddingChannels: Int { blockChannels[0] * 4 }
}
