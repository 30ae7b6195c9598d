import SparrowRuntime

/// SentencePiece-style tokenization of GGUF vocabularies with `tokenizer.ggml.model = "llama"`
/// (Llama 1/2, Mistral v0.1, Phi-3, Gemma 1-3, …), as llama.cpp runs them.
///
/// Encoding (matches llama.cpp src/llama-vocab.cpp `llm_tokenizer_spm_session` and the SPM branch of
/// `tokenize`): special tokens are cut out of the text first; each remaining piece gets a leading space
/// if it starts the text or follows a special token and `addSpacePrefix` is set, every space becomes
/// "▁" (U+2581), and the piece is split into UTF-8 characters. Adjacent symbols whose concatenation is
/// a token are merged, highest token score first (leftmost on ties), until no pair is a token. A final
/// symbol that is not a token is emitted as byte tokens `<0xXX>`.
///
/// Decoding turns "▁" back into spaces and byte tokens into their bytes; `decode` also drops the
/// space `addSpacePrefix` put in front of the first token, as llama.cpp's `detokenize` does.
public final class SPMTokenizer: Tokenizer {
    public let vocabularySize: Int
    public let bosTokenID: Int32?
    public let eosTokenID: Int32?
    /// The token for text that cannot be encoded (`tokenizer.ggml.unknown_token_id`, default 0).
    public let unknownTokenID: Int32?
    public let addBOS: Bool
    public let addEOS: Bool
    /// Whether a space is put in front of the text (and after each special token) before encoding
    /// (`tokenizer.ggml.add_space_prefix`, default true; Gemma sets it false).
    public let addSpacePrefix: Bool
    public let endOfGenerationTokenIDs: Set<Int32>

    /// Token texts (spaces shown as "▁"), roles and the byte-keyed table.
    let vocabulary: Vocabulary
    /// Token scores by id (higher merges first).
    let scores: [Float]
    /// The token of each byte for byte fallback: `<0xXX>`, else the one-byte text (-1 if neither).
    let byteTokens: [Int32]
    /// Cuts special tokens out of input text.
    let specialTokens: SpecialTokenMatcher

    /// Reads the `tokenizer.ggml.*` keys of a GGUF file with `tokenizer.ggml.model = "llama"`.
    public init(gguf: GGUFFile) throws {
        let metadata = TokenizerMetadata(gguf: gguf)
        let file = gguf.path
        let model = try metadata.requiredString("tokenizer.ggml.model")
        guard model == "llama" else { throw TokenizerError.unsupportedModel(file: file, model: model, supported: ["llama"]) }

        var vocabulary = try Vocabulary(metadata: metadata)
        let n = vocabulary.count
        vocabularySize = n

        // Scores order the merges; a vocabulary without them merges left to right (llama.cpp uses 0).
        if let scores = try metadata.floatArray("tokenizer.ggml.scores") {
            guard scores.count >= n else {
                throw TokenizerError.countMismatch(file: file, key: "tokenizer.ggml.scores", count: scores.count, expected: n)
            }
            self.scores = Array(scores.prefix(n))
        } else {
            scores = [Float](repeating: 0, count: n)
        }

        var byteTokens = vocabulary.byteTokenIDs()
        for b in 0..<256 where byteTokens[b] < 0 {
            if let id = [UInt8(b)].withUnsafeBufferPointer({ vocabulary.table.find($0) }) { byteTokens[b] = id }
        }
        self.byteTokens = byteTokens

        // Special ids: llama.cpp's SPM defaults (BOS 1, EOS 2, unknown 0) where the vocabulary is large
        // enough, replaced by the keys. Out-of-range keys are errors (llama.cpp warns and keeps the default).
        func id(_ key: String, default value: Int32) throws -> Int32? {
            try metadata.tokenID(key, vocabularySize: n) ?? (Int(value) < n ? value : nil)
        }
        bosTokenID = try id("tokenizer.ggml.bos_token_id", default: 1)
        eosTokenID = try id("tokenizer.ggml.eos_token_id", default: 2)
        unknownTokenID = try id("tokenizer.ggml.unknown_token_id", default: 0)
        _ = try metadata.tokenID("tokenizer.ggml.padding_token_id", vocabularySize: n)
        addBOS = try metadata.bool("tokenizer.ggml.add_bos_token") ?? true
        addEOS = try metadata.bool("tokenizer.ggml.add_eos_token") ?? false
        addSpacePrefix = try metadata.bool("tokenizer.ggml.add_space_prefix") ?? true
        if addBOS, bosTokenID == nil {
            throw TokenizerError.missingSpecialToken(file: file, key: "tokenizer.ggml.bos_token_id", requiredBy: "tokenizer.ggml.add_bos_token")
        }
        if addEOS, eosTokenID == nil {
            throw TokenizerError.missingSpecialToken(file: file, key: "tokenizer.ggml.eos_token_id", requiredBy: "tokenizer.ggml.add_eos_token")
        }

        let keyed = try SpecialTokens.Keyed(metadata: metadata, vocabularySize: n)
        let resolved = SpecialTokens(tokens: vocabulary.texts, kinds: &vocabulary.kinds, eos: eosTokenID, keyed: keyed)
        endOfGenerationTokenIDs = resolved.endOfGeneration
        specialTokens = SpecialTokenMatcher(kinds: vocabulary.kinds, table: vocabulary.table, modelName: try metadata.string("general.name"),
                                            preTokenizer: try metadata.string("tokenizer.ggml.pre"),
                                            architecture: try metadata.string("general.architecture"))
        self.vocabulary = vocabulary
    }

    /// The role of a token (`.undefined` for ids outside the vocabulary).
    public func tokenKind(_ id: Int32) -> TokenKind { vocabulary.kind(of: id) }

    public func tokenText(_ id: Int32) -> String { vocabulary.text(of: id) }

    public func tokenID(_ text: String) -> Int32? { vocabulary.id(of: text) }

    /// The score of a token (higher merges first); 0 for ids outside the vocabulary.
    public func tokenScore(_ id: Int32) -> Float {
        guard id >= 0, Int(id) < vocabularySize else { return 0 }
        return scores[Int(id)]
    }

    /// The text of a token sequence (matches llama.cpp `detokenize` with `remove_special` false): with
    /// `addSpacePrefix`, one leading space of the first token is dropped.
    public func decode(_ ids: [Int32], renderSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for (i, id) in ids.enumerated() {
            let start = bytes.count
            appendTokenBytes(id, renderSpecial: renderSpecial, to: &bytes)
            if i == 0, addSpacePrefix, bytes.count > start, bytes[start] == 0x20 { bytes.remove(at: start) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Matches llama.cpp `token_to_piece` for SPM: control and unknown text only when rendering
    /// specials, user-defined text verbatim, normal tokens with "▁" as a space, byte tokens as their
    /// byte, unused and undefined tokens nothing.
    public func appendTokenBytes(_ id: Int32, renderSpecial: Bool, to bytes: inout [UInt8]) {
        vocabulary.appendBytes(of: id, renderSpecial: renderSpecial, to: &bytes) { SpaceEscaping.appendUnescaped($0, to: &$1) }
    }
}
