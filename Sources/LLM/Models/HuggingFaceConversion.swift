import CSparrowKernels
import Foundation
import SparrowRuntime

// Hugging Face LlamaForCausalLM folder → GGUF llama model in float, laid out as llama.cpp's
// converter lays it out (matches convert_hf_to_gguf.py's LlamaModel for the keys and tensors written
// here), so that `sparrow quantize` can start from a folder and the result loads in llama.cpp too.

extension HuggingFaceFolder {
    /// The folder as a GGUF llama model: llama.* hyper-parameters from config.json, tensors under their
    /// GGUF names (F16 kept, F32 and BF16 as F32) with Q/K rows permuted from the halves to the
    /// adjacent RoPE pairing (as the converter's `permute`), the SentencePiece `tokenizer.model` as
    /// `tokenizer.ggml.*` keys (`llama` vocabulary: pieces, scores, types, special ids, add-BOS/EOS
    /// from tokenizer_config.json) and the chat template. A folder with only a `tokenizer.json` is
    /// refused (its GGUF pre-tokenizer name cannot be inferred safely).
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
        let modelPath = path + "/tokenizer.model"
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw FormatError(
                file: path, offset: nil,
                message: "no tokenizer.model: converting a folder's tokenizer.json to GGUF keys is not supported; use llama.cpp's convert_hf_to_gguf.py, or load the folder directly with --model")
        }
        let configPath = path + "/tokenizer_config.json"
        let settings = FileManager.default.fileExists(atPath: configPath) ? try HFTokenizerConfig(contentsOf: configPath) : HFTokenizerConfig()
        let sp = try SentencePieceTokenizer(
            contentsOf: modelPath, addBOS: settings.addBOS, addEOS: settings.addEOS, bosToken: settings.bosToken, eosToken: settings.eosToken)
        guard sp.vocabularySize <= vocabularySize else {
            throw FormatError(file: modelPath, offset: nil, message: "\(sp.vocabularySize) pieces but the model has \(vocabularySize) embedding rows")
        }
        // Rows past the tokenizer's pieces (padded vocabularies) get placeholder tokens, as the converter does.
        let ids = (0..<Int32(vocabularySize))
        let inRange: (Int32) -> Bool = { Int($0) < sp.vocabularySize }
        w.setMetadata("tokenizer.ggml.model", .string("llama"))
        w.setMetadata("tokenizer.ggml.pre", .string("default"))
        w.setMetadata("tokenizer.ggml.tokens", .array(.string, ids.map { .string(inRange($0) ? sp.pieces[Int($0)] : "[PAD\($0)]") }))
        w.setMetadata("tokenizer.ggml.scores", .array(.float32, ids.map { .float32(inRange($0) ? sp.score($0) : -1000) }))
        w.setMetadata("tokenizer.ggml.token_type", .array(.int32, ids.map {
            .int32(inRange($0) ? sp.kind($0).rawValue : TokenKind.userDefined.rawValue)
        }))
        if let bos = sp.bosID { w.setMetadata("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos))) }
        if let eos = sp.eosID { w.setMetadata("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos))) }
        if let unk = sp.unknownID { w.setMetadata("tokenizer.ggml.unknown_token_id", .uint32(UInt32(unk))) }
        if let pad = sp.padID { w.setMetadata("tokenizer.ggml.padding_token_id", .uint32(UInt32(pad))) }
        w.setMetadata("tokenizer.ggml.add_bos_token", .bool(sp.addBOS))
        w.setMetadata("tokenizer.ggml.add_eos_token", .bool(sp.addEOS))
    }
}
