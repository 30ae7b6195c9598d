import SparrowRuntime

// Hugging Face `LlamaForCausalLM` checkpoints: config.json keys and the tensor rename table to the
// GGUF names `LlamaModel` uses. This file is the one place Hugging Face Llama names appear.
//
// RoPE layout: Hugging Face keeps q_proj/k_proj rows in Meta's original order and rotates the pairs
// (x[i], x[i + d/2]) of each head ("rotate_half"). llama.cpp's converter permutes those rows so that
// GGUF llama files rotate adjacent pairs (x[2i], x[2i+1]). Instead of permuting rows at load time,
// Hugging Face weights are used as stored with the `.halves` pairing — the same rotation, so the
// attention scores are identical; only the order of the rotated coordinates differs, and the scores
// are dot products over all of them.

extension LlamaConfiguration {
    /// The `rope_type`s Sparrow implements (plain RoPE; scaled variants change the frequencies).
    public static let supportedRopeTypes: Set<String> = ["default"]

    /// Reads and validates a Hugging Face `LlamaConfig` (config.json): `hidden_size`,
    /// `intermediate_size`, `num_hidden_layers`, `num_attention_heads`, `num_key_value_heads`,
    /// `head_dim`, `rms_norm_eps`, `rope_theta` (or transformers 5's `rope_parameters`),
    /// `max_position_embeddings`, `vocab_size`. Scaled RoPE, biases and activations other than SiLU
    /// are refused with a message naming the key.
    public init(huggingFace config: HuggingFaceJSON) throws {
        func fail(_ message: String) -> FormatError { FormatError(file: config.path, offset: nil, message: message) }
        embeddingLength = try config.int("hidden_size")
        feedForwardLength = try config.int("intermediate_size")
        layerCount = try config.int("num_hidden_layers")
        headCount = try config.int("num_attention_heads")
        kvHeadCount = try config.int("num_key_value_heads", default: headCount)
        trainingContextLength = try config.int("max_position_embeddings")
        vocabularySize = try config.int("vocab_size")
        rmsNormEpsilon = Float(try config.double("rms_norm_eps", default: 1e-6))
        guard headCount > 0, kvHeadCount > 0, headCount % kvHeadCount == 0 else {
            throw fail("inconsistent heads: \(headCount) query heads, \(kvHeadCount) KV heads")
        }
        if config["head_dim"] == nil, embeddingLength % headCount != 0 {
            throw fail("hidden_size \(embeddingLength) is not a multiple of num_attention_heads \(headCount) and head_dim is absent")
        }
        headDimension = try config.int("head_dim", default: embeddingLength / max(headCount, 1))
        ropeDimensionCount = headDimension

        // transformers 5 writes rope_parameters {rope_theta, rope_type, …}; earlier versions write
        // rope_theta and rope_scaling {type or rope_type, factor, …} at the top level.
        let rope = config["rope_parameters"] ?? config["rope_scaling"]
        if let rope, rope.objectValue == nil { throw fail("'rope_parameters'/'rope_scaling' is \(rope.kind), expected an object") }
        let ropeType = rope?["rope_type"]?.stringValue ?? rope?["type"]?.stringValue ?? "default"
        guard Self.supportedRopeTypes.contains(ropeType) else {
            throw fail("RoPE scaling '\(ropeType)' is not supported yet (supported: \(Self.supportedRopeTypes.sorted().joined(separator: ", ")))")
        }
        if let theta = rope?["rope_theta"], !theta.isNull {
            guard let t = theta.doubleValue else { throw fail("'rope_theta' is \(theta.kind), expected a number") }
            ropeFrequencyBase = t
        } else {
            ropeFrequencyBase = try config.double("rope_theta", default: 10000)
        }
        if let partial = rope?["partial_rotary_factor"]?.doubleValue ?? config["partial_rotary_factor"]?.doubleValue, partial != 1 {
            throw fail("partial_rotary_factor \(partial) is not supported (Llama rotates whole heads)")
        }

        let activation = try config.string("hidden_act") ?? "silu"
        guard activation == "silu" else { throw fail("hidden_act '\(activation)' is not supported (LlamaForCausalLM uses silu)") }
        for key in ["attention_bias", "mlp_bias"] {
            if try config.bool(key, default: false) {
                throw fail("'\(key)' is true: biased projections are not part of the llama architecture as Sparrow implements it")
            }
        }

        let sizes = [embeddingLength, layerCount, feedForwardLength, headDimension, vocabularySize, trainingContextLength]
        guard sizes.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }), layerCount <= 1024, headCount <= 1 << 12,
              headDimension % 2 == 0, rmsNormEpsilon > 0, rmsNormEpsilon.isFinite, ropeFrequencyBase > 0 else {
            throw fail("llama hyper-parameters out of range: \(self)")
        }
    }
}

/// Hugging Face tensor names ↔ the GGUF names `LlamaModel` asks for.
enum HuggingFaceLlamaNames {
    /// Per-layer suffixes: Hugging Face `model.layers.N.<key>` → GGUF `blk.N.<value>`.
    static let layerTensors: [String: String] = [
        "input_layernorm.weight": "attn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight",
        "self_attn.k_proj.weight": "attn_k.weight",
        "self_attn.v_proj.weight": "attn_v.weight",
        "self_attn.o_proj.weight": "attn_output.weight",
        "post_attention_layernorm.weight": "ffn_norm.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight",
        "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
    ]
    /// Whole-model tensors.
    static let globalTensors: [String: String] = [
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    ]
    /// Buffers some older checkpoints saved that carry no weights (the inverse RoPE frequencies,
    /// recomputed from rope_theta).
    static let derivedSuffix = ".self_attn.rotary_emb.inv_freq"

    /// The GGUF name of a Hugging Face tensor of a model with `layerCount` layers, nil if it has none.
    static func ggufName(_ name: String, layerCount: Int) -> String? {
        if let global = globalTensors[name] { return global }
        let prefix = "model.layers."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0, layer < layerCount,
              String(layer) == rest[..<dot], let suffix = layerTensors[String(rest[rest.index(after: dot)...])] else { return nil }
        return "blk.\(layer).\(suffix)"
    }
}

/// A safetensors checkpoint seen through the rename table: answers GGUF names, reads Hugging Face ones,
/// and refuses any checkpoint tensor the table does not know.
final class HuggingFaceLlamaWeights: WeightSource, @unchecked Sendable {
    let checkpoint: SafetensorsCheckpoint
    /// GGUF name → Hugging Face name.
    private let sourceName: [String: String]

    init(checkpoint: SafetensorsCheckpoint, configuration: LlamaConfiguration, tiesWordEmbeddings: Bool) throws {
        self.checkpoint = checkpoint
        var map: [String: String] = [:]
        for name in checkpoint.tensorNames {
            if name.hasSuffix(HuggingFaceLlamaNames.derivedSuffix) { continue }
            guard let gguf = HuggingFaceLlamaNames.ggufName(name, layerCount: configuration.layerCount) else {
                throw FormatError(
                    file: checkpoint.shard(holding: name)?.path ?? checkpoint.path, offset: nil,
                    message: "tensor '\(name)' is not part of LlamaForCausalLM (\(configuration.layerCount) layers) as Sparrow implements it")
            }
            map[gguf] = name
        }
        if tiesWordEmbeddings {
            // transformers ties lm_head to the embeddings whatever the file holds (older saves wrote a copy).
            map["output.weight"] = nil
        } else if map["output.weight"] == nil {
            throw FormatError(
                file: checkpoint.path, offset: nil,
                message: "tensor 'lm_head.weight' is missing and config.json says tie_word_embeddings is false")
        }
        sourceName = map
    }

    var path: String { checkpoint.path }
    var tensorNames: [String] { sourceName.keys.sorted() }
    /// The Hugging Face name of GGUF tensor `name`, nil if the checkpoint has none.
    func sourceTensor(_ name: String) -> String? { sourceName[name] }
    func containsTensor(_ name: String) -> Bool { sourceName[name] != nil }

    func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
        try checkpoint.matrix(try source(name), rows: rows, columns: columns)
    }

    func vector(_ name: String, count: Int) throws -> [Float] {
        try checkpoint.vector(try source(name), count: count)
    }

    /// The Hugging Face name of a GGUF tensor name; a missing tensor is named as the checkpoint names it.
    private func source(_ name: String) throws -> String {
        if let s = sourceName[name] { return s }
        let expected = HuggingFaceLlamaNames.globalTensors.first { $0.value == name }?.key
            ?? HuggingFaceLlamaNames.layerTensors.first { name.hasSuffix("." + $0.value) }.map { entry in
                "model.layers.\(name.split(separator: ".")[1]).\(entry.key)"
            }
            ?? name
        throw FormatError(file: path, offset: nil, message: "tensor '\(expected)' is missing from the checkpoint")
    }
}

extension LlamaModel {
    /// Loads a Hugging Face `LlamaForCausalLM` folder: configuration from config.json, weights from
    /// its safetensors checkpoint through the rename table, Q/K as stored with `.halves` RoPE.
    /// - Parameters:
    ///   - contextLength: KV cache positions (default 4096), capped by `max_position_embeddings`.
    ///   - batchSize: prompt tokens per forward step (default 512).
    public convenience init(huggingFace folder: HuggingFaceFolder, contextLength: Int = 4096, batchSize: Int = 512, context: ExecutionContext) throws {
        let configuration = try LlamaConfiguration(huggingFace: folder.config)
        let ties = try folder.config.bool("tie_word_embeddings", default: false)
        let weights = try HuggingFaceLlamaWeights(checkpoint: folder.checkpoint, configuration: configuration, tiesWordEmbeddings: ties)
        try self.init(
            configuration: configuration, weights: weights, ropePairing: .halves,
            contextLength: contextLength, batchSize: batchSize, context: context)
    }
}
