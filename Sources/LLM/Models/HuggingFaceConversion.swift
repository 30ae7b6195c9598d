import CSparrowKernels
import Foundation
import SparrowRuntime

// Hugging Face LlamaForCausalLM folder → GGUF llama model in float, laid out as llama.cpp's
// converter lays it out (matches convert_hf_to_gguf.py's LlamaModel for the keys and tensors written
// here), so that `sparrow quantize` can start from a folder and the result loads in llama.cpp too.

extension HuggingFaceFolder {
    /// The folder as a GGUF llama model: llama.* hyper-parameters from config.json, tensors under their
    /// GGUF names (F16 kept, F32 and BF16 as F32) with Q/K rows permuted from the halves to the
    /// adjacent RoPE pairing (as the converter's `permute`), the tokenizer as
    /// `tokenizer.ggml.*` keys (see `tokenizerMetadata`) and the chat template.
    public func ggufWriter() throws -> GGUFWriter {
        let arch = try architecture()
        guard arch == "LlamaForCausalLM" else { throw ModelError.unsupportedArchitecture(arch, file: config.path) }
        let c = try LlamaConfiguration(huggingFace: config)
        let ties = try config.bool("tie_word_embeddings", default: false)
        let weights = try HuggingFaceLlamaWeights(checkpoint: checkpoint, configuration: c, tiesWordEmbeddings: ties)

        var w = GGUFWriter()
        w.setMetadata("general.architecture", .string("llama"))
        w.setMetadata("general.name", .string(String(path.split(separator: "/").last ?? "model")))
        let p = "llama."
        w.setMetadata(p + "vocab_size", .uint32(UInt32(c.vocabularySize)))
        w.setMetadata(p + "context_length", .uint32(UInt32(c.trainingContextLength)))
        w.setMetadata(p + "embedding_length", .uint32(UInt32(c.embeddingLength)))
        w.setMetadata(p + "block_count", .uint32(UInt32(c.layerCount)))
        w.setMetadata(p + "feed_forward_length", .uint32(UInt32(c.feedForwardLength)))
        w.setMetadata(p + "rope.dimension_count", .uint32(UInt32(c.ropeDimensionCount)))
        w.setMetadata(p + "attention.head_count", .uint32(UInt32(c.headCount)))
        w.setMetadata(p + "attention.head_count_kv", .uint32(UInt32(c.kvHeadCount)))
        w.setMetadata(p + "attention.key_length", .uint32(UInt32(c.headDimension)))
        w.setMetadata(p + "attention.value_length", .uint32(UInt32(c.headDimension)))
        w.setMetadata(p + "rope.freq_base", .float32(Float(c.ropeFrequencyBase)))
        w.setMetadata(p + "attention.layer_norm_rms_epsilon", .float32(c.rmsNormEpsilon))
        try addTokenizer(to: &w, vocabularySize: c.vocabularySize)
        if let template = try chatTemplateSource() { w.setMetadata("tokenizer.chat_template", .string(template)) }

        for name in weights.tensorNames {
            guard let source = weights.sourceTensor(name), let shard = checkpoint.shard(holding: source),
                  let info = shard.tensor(named: source) else { continue }
            guard [.f32, .f16, .bf16].contains(info.type) else {
                throw FormatError(file: shard.path, offset: info.offset, message: "tensor '\(source)' is \(info.type); a Hugging Face Llama folder must hold F32, F16 or BF16 weights")
            }
            let bytes = shard.bytes(of: info)
            let rows = info.shape.count == 2 ? info.shape[0] : 1, columns = info.shape.last ?? 0
            let heads = name.hasSuffix(".attn_q.weight") ? c.headCount : name.hasSuffix(".attn_k.weight") ? c.kvHeadCount : 0
            let type: GGMLType = info.type == .f16 ? .f16 : .f32
            let elementBytes = type == .f16 ? 2 : 4
            var data = [UInt8](repeating: 0, count: rows * columns * elementBytes)
            data.withUnsafeMutableBytes { out in
                for r in 0..<rows {
                    let from = heads > 0 ? Self.halvesRow(r, rows: rows, heads: heads) : r
                    let src = bytes.baseAddress! + from * columns * (info.type == .f32 ? 4 : 2)
                    let dst = out.baseAddress! + r * columns * elementBytes
                    switch info.type {
                    case .f16, .f32: dst.copyMemory(from: src, byteCount: columns * elementBytes)
                    default: sp_dequantize_row(Int32(info.type.rawValue), src, dst.assumingMemoryBound(to: Float.self), Int64(columns))
                    }
                }
            }
            // GGUF dimensions run fastest first.
            w.addTensor(name: name, type: type, dimensions: info.shape.count == 2 ? [columns, rows] : [columns], data: data)
        }
        return w
    }

    /// The source row of GGUF row `r` of a Q or K projection: llama.cpp's converter reshapes the rows
    /// to [heads, 2, half] and swaps the last two axes, so row (h, i, j) of the result is row
    /// (h, j, i) of the Hugging Face weight (adjacent pairs from the halves).
    static func halvesRow(_ r: Int, rows: Int, heads: Int) -> Int {
        let perHead = rows / heads, half = perHead / 2
        let h = r / perHead, within = r % perHead
        return h * perHead + (within % 2) * half + within / 2
    }

    private func addTokenizer(to w: inout GGUFWriter, vocabularySize: Int) throws {
        for (key, value) in try tokenizerMetadata(vocabularySize: vocabularySize) { w.setMetadata(key, value) }
    }

    /// The folder's tokenizer as GGUF `tokenizer.ggml.*` keys for a model with `vocabularySize`
    /// embedding rows (rows past the tokenizer's own get placeholder tokens, as the converter does):
    /// a SentencePiece `tokenizer.model` becomes a `llama` vocabulary (pieces, scores, types); a
    /// byte-level BPE `tokenizer.json` becomes a `gpt2` vocabulary with its merges and the matching
    /// pre-tokenizer name (gpt-2, llama-bpe, qwen2, starcoder, …). Special ids and add-BOS/EOS come from
    /// tokenizer_config.json. Other tokenizer.json kinds are refused with a message.
    public func tokenizerMetadata(vocabularySize: Int) throws -> [(key: String, value: GGUFValue)] {
        let configPath = path + "/tokenizer_config.json"
        let settings = FileManager.default.fileExists(atPath: configPath) ? try HFTokenizerConfig(contentsOf: configPath) : HFTokenizerConfig()
        var keys: [(key: String, value: GGUFValue)] = []
        func padded<T>(_ values: [T], _ filler: (Int) -> T) -> [T] {
            values.count >= vocabularySize ? values : values + (values.count..<vocabularySize).map(filler)
        }
        let modelPath = path + "/tokenizer.model", jsonPath = path + "/tokenizer.json"
        let count: Int, bos: Int32?, eos: Int32?, addBOS: Bool, addEOS: Bool
        if FileManager.default.fileExists(atPath: modelPath) {
            let sp = try SentencePieceTokenizer(
                contentsOf: modelPath, addBOS: settings.addBOS, addEOS: settings.addEOS, bosToken: settings.bosToken, eosToken: settings.eosToken)
            count = sp.vocabularySize
            let ids = (0..<Int32(count))
            keys.append(("tokenizer.ggml.model", .string("llama")))
            keys.append(("tokenizer.ggml.pre", .string("default")))
            keys.append(("tokenizer.ggml.tokens", .array(.string, padded(sp.pieces.map { .string($0) }) { .string("[PAD\($0)]") })))
            keys.append(("tokenizer.ggml.scores", .array(.float32, padded(ids.map { .float32(sp.score($0)) }) { _ in .float32(-1000) })))
            keys.append(("tokenizer.ggml.token_type", .array(.int32, padded(ids.map { .int32(sp.kind($0).rawValue) }) { _ in
                .int32(TokenKind.userDefined.rawValue)
            })))
            if let unk = sp.unknownID { keys.append(("tokenizer.ggml.unknown_token_id", .uint32(UInt32(unk)))) }
            if let pad = sp.padID { keys.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(pad)))) }
            (bos, eos, addBOS, addEOS) = (sp.bosID, sp.eosID, sp.addBOS, sp.addEOS)
        } else if FileManager.default.fileExists(atPath: jsonPath) {
            let json = try HFTokenizerJSON(path: jsonPath)
            let preNames: [PreTokenizer: String] = [
                .gpt2: "gpt-2", .llama3: "llama-bpe", .qwen2: "qwen2", .qwen35: "qwen35", .starcoder: "starcoder",
                .falcon: "falcon", .deepseekCoder: "deepseek-coder", .deepseekLLM: "deepseek-llm", .default: "default",
            ]
            guard case .byteLevel(let pre) = json.segmentation, let preName = preNames[pre] else {
                throw FormatError(
                    file: jsonPath, offset: nil,
                    message: "only byte-level BPE tokenizer.json files whose pre-tokenizer GGUF names convert to GGUF keys; use llama.cpp's convert_hf_to_gguf.py, or load the folder directly with --model")
            }
            count = json.tokens.count
            keys.append(("tokenizer.ggml.model", .string("gpt2")))
            keys.append(("tokenizer.ggml.pre", .string(preName)))
            keys.append(("tokenizer.ggml.tokens", .array(.string, padded(json.tokens.map { .string($0) }) { .string("[PAD\($0)]") })))
            keys.append(("tokenizer.ggml.token_type", .array(.int32, padded(json.kinds.map { .int32($0.rawValue) }) { _ in
                .int32(TokenKind.userDefined.rawValue)
            })))
            keys.append(("tokenizer.ggml.merges", .array(.string, json.merges.map { .string($0.left + " " + $0.right) })))
            bos = settings.bosToken.flatMap(json.tokenID) ?? json.templateBOS
            eos = settings.eosToken.flatMap(json.tokenID) ?? json.templateEOS
            addBOS = settings.addBOS ?? (json.templateBOS != nil)
            addEOS = settings.addEOS ?? (json.templateEOS != nil)
        } else {
            throw FormatError(file: path, offset: nil, message: "no tokenizer.model or tokenizer.json to convert")
        }
        guard count <= vocabularySize else {
            throw FormatError(file: path, offset: nil, message: "the tokenizer has \(count) tokens but the model has \(vocabularySize) embedding rows")
        }
        if let bos { keys.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))) }
        if let eos { keys.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos)))) }
        keys.append(("tokenizer.ggml.add_bos_token", .bool(addBOS)))
        keys.append(("tokenizer.ggml.add_eos_token", .bool(addEOS)))
        return keys
    }
}
