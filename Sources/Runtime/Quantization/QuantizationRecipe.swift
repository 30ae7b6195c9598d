/// Which type each tensor of a model gets when quantizing (matches llama.cpp src/llama-quant.cpp
/// llama_tensor_get_type for dense models without an importance matrix).
///
/// Rules, applied per tensor in file order:
/// 1. Only tensors with at least 2 dimensions whose name ends in `weight` are quantized; norms
///    (`*_norm.weight`), `position_embd`, `token_types`, `ffn_gate_inp`, `attn_rel_b`, `ssm_conv1d`
///    and similar small tensors keep their source type (1-D tensors stay as they are, usually F32).
/// 2. `output.weight`, or `token_embd.weight` when the model has no `output.weight` (tied embeddings),
///    gets Q6_K (Q8_0 stays Q8_0; Q8_0 when its row length is not a multiple of the recipe type's block).
/// 3. Q4_K_M only: attention-V-like tensors (`attn_v`, `attn_qkv`, `attn_kv_b`) and `ffn_down` get Q6_K
///    in the layers where llama.cpp's use_more_bits(i, n) holds (i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2;
///    i counts those tensors in file order, n is their count, or `block_count` for ffn_down); the rest Q4_K.
/// 4. `q4_k` and `q5_k` are pure (every quantized tensor gets that type, as llama-quantize --pure).
/// 5. Fallback when the row length is not a multiple of the block size: Q4_K -> Q5_0, Q5_K -> Q5_1,
///    Q6_K -> Q8_0; when even that does not fit (or a 32-block type does not), F16.
/// Not modelled: Falcon, mixture-of-experts and 70B-specific rules, imatrix-dependent choices.
public enum QuantizationRecipe: String, CaseIterable, Sendable, CustomStringConvertible {
    case q4_0, q4_1, q5_0, q5_1, q8_0, q4_k, q5_k, q6_k, q4_k_m

    public var description: String { rawValue }

    /// The type most tensors get.
    public var defaultType: GGMLType {
        switch self {
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q4_k, .q4_k_m: return .q4_K
        case .q5_k: return .q5_K
        case .q6_k: return .q6_K
        }
    }

    /// The `general.file_type` value llama.cpp writes (enum llama_ftype); pure q4_k / q5_k record
    /// the nearest mixture, Q4_K_S / Q5_K_S.
    public var fileType: UInt32 {
        switch self {
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q4_k: return 14
        case .q4_k_m: return 15
        case .q5_k: return 16
        case .q6_k: return 18
        }
    }

    private var isPure: Bool { self == .q4_k || self == .q5_k }

    /// One tensor's decision.
    public struct Choice: Sendable, Equatable {
        public let name: String
        /// The type to write; equal to the source type for tensors that are copied unchanged.
        public let type: GGMLType
        /// Whether the recipe quantizes this tensor (false: it keeps its source type and bytes).
        public let isQuantized: Bool
        /// Set when the row length forced a fallback, e.g. "576 columns not a multiple of 256: Q4_K -> Q5_0".
        public let fallback: String?
    }

    /// The type of every tensor (name, dimensions fastest-varying first, source type), in order.
    /// `layerCount` is the model's `block_count` (used by the ffn_down rule).
    public func plan(_ tensors: [(name: String, dimensions: [Int], type: GGMLType)], layerCount: Int) -> [Choice] {
        let attentionVCount = tensors.filter { Self.isAttentionVLike($0.name) }.count
        let tiedEmbeddings = !tensors.contains { $0.name == "output.weight" }
        var attentionVIndex = 0, ffnDownIndex = 0
        var out: [Choice] = []
        for t in tensors {
            guard Self.allowsQuantization(t.name, dimensions: t.dimensions) else {
                out.append(Choice(name: t.name, type: t.type, isQuantized: false, fallback: nil))
                continue
            }
            let columns = t.dimensions[0]
            var type = defaultType
            if !isPure {
                if t.name == "output.weight" || (tiedEmbeddings && t.name == "token_embd.weight") {
                    if columns % type.blockSize != 0 {
                        type = .q8_0
                    } else if type != .q8_0 {
                        type = .q6_K
                    }
                } else if Self.isAttentionVLike(t.name) {
                    if self == .q4_k_m && Self.useMoreBits(attentionVIndex, attentionVCount) { type = .q6_K }
                    attentionVIndex += 1
                } else if t.name.contains("ffn_down") {
                    if self == .q4_k_m && Self.useMoreBits(ffnDownIndex, layerCount) { type = .q6_K }
                    ffnDownIndex += 1
                }
            }
            var fallback: String? = nil
            if columns % type.blockSize != 0 {
                var smaller: GGMLType
                switch type {
                case .q4_K: smaller = .q5_0
                case .q5_K: smaller = .q5_1
                case .q6_K: smaller = .q8_0
                default: smaller = type
                }
                if columns % smaller.blockSize != 0 { smaller = .f16 }
                fallback = "\(columns) columns not a multiple of \(type.blockSize): \(type) -> \(smaller)"
                type = smaller
            }
            out.append(Choice(name: t.name, type: type, isQuantized: true, fallback: fallback))
        }
        return out
    }

    /// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third in between.
    static func useMoreBits(_ i: Int, _ n: Int) -> Bool {
        i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
    }

    static func isAttentionVLike(_ name: String) -> Bool {
        // Category order of llama.cpp: output and token_embd are matched before attention names.
        guard name != "output.weight", name != "token_embd.weight" else { return false }
        return name.contains("attn_qkv.weight") || name.contains("attn_kv_b.weight") || name.contains("attn_v.weight")
    }

    /// Matches llama-quant.cpp tensor_allows_quantization for the architectures Sparrow loads.
    static func allowsQuantization(_ name: String, dimensions: [Int]) -> Bool {
        guard dimensions.count >= 2, name.hasSuffix("weight") else { return false }
        let excluded = [
            "_norm.weight", "ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj", "ssm_conv1d",
            "shortconv.conv.weight", "attn_rel_b.weight", ".position_embd", ".rel_pos", ".patch_embd",
        ]
        if excluded.contains(where: { name.contains($0) }) { return false }
        return name != "position_embd.weight" && name != "token_types.weight"
    }
}
