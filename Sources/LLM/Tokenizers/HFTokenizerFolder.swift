import Foundation

/// The fields of a Hugging Face `tokenizer_config.json` that change how text is tokenized.
public struct HFTokenizerConfig: Sendable, Equatable {
    /// `add_bos_token` / `add_eos_token` (nil: not given, the tokenizer's own default applies).
    public var addBOS: Bool?
    public var addEOS: Bool?
    /// `bos_token` / `eos_token` texts (a string, or an object with `content`).
    public var bosToken: String?
    public var eosToken: String?

    public init(addBOS: Bool? = nil, addEOS: Bool? = nil, bosToken: String? = nil, eosToken: String? = nil) {
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.bosToken = bosToken
        self.eosToken = eosToken
    }

    /// Reads `tokenizer_config.json`; unknown fields are ignored, known ones must have their types.
    public init(contentsOf path: String) throws {
        let root = try JSONFields.load(path)
        let f = JSONFields(file: path)
        guard case .object = root else { throw f.wrongType("(top level)", "an object", root) }
        addBOS = try f.bool(root, "add_bos_token", at: "")
        addEOS = try f.bool(root, "add_eos_token", at: "")
        func tokenText(_ key: String) throws -> String? {
            guard let value = try f.optional(root, key, at: "") else { return nil }
            switch value {
            case .string(let s): return s
            case .object: return try f.string(value, "content", at: key)
            default: throw f.wrongType(key, "a string or an object with 'content'", value)
            }
        }
        bosToken = try tokenText("bos_token")
        eosToken = try tokenText("eos_token")
    }
}

/// Builds the tokenizer of a Hugging Face model folder: `tokenizer.json` when present (byte-level
/// BPE as `BPETokenizer`, SentencePiece-style BPE as `SentencePieceBPETokenizer`), else
/// `tokenizer.model` (`SentencePieceTokenizer`). `tokenizer_config.json`, when present, sets
/// add_bos_token / add_eos_token and the BOS/EOS tokens.
public func makeTokenizer(folder: String) throws -> any Tokenizer {
    let url = URL(fileURLWithPath: folder)
    let manager = FileManager.default
    let configPath = url.appendingPathComponent("tokenizer_config.json").path
    let config = manager.fileExists(atPath: configPath) ? try HFTokenizerConfig(contentsOf: configPath) : HFTokenizerConfig()
    let jsonPath = url.appendingPathComponent("tokenizer.json").path
    if manager.fileExists(atPath: jsonPath) {
        return try makeTokenizer(tokenizerJSON: jsonPath, config: config, configFile: configPath)
    }
    let modelPath = url.appendingPathComponent("tokenizer.model").path
    if manager.fileExists(atPath: modelPath) {
        return try SentencePieceTokenizer(contentsOf: modelPath, addBOS: config.addBOS, addEOS: config.addEOS,
                                          bosToken: config.bosToken, eosToken: config.eosToken)
    }
    throw HFTokenizerError.noTokenizer(folder: folder)
}

/// Builds the tokenizer a Hugging Face `tokenizer.json` describes. BOS/EOS come from `config`
/// (whose file `configFile` names in errors), else from the post-processor's template, which also
/// decides whether they are added by default.
public func makeTokenizer(tokenizerJSON path: String, config: HFTokenizerConfig = HFTokenizerConfig(),
                          configFile: String = "tokenizer_config.json") throws -> any Tokenizer {
    let json = try HFTokenizerJSON(path: path)
    func id(_ text: String?, field: String, fallback: Int32?) throws -> Int32? {
        guard let text else { return fallback }
        guard let id = json.tokenID(text) else {
            throw HFTokenizerError.invalid(file: configFile, field: field, reason: "\(text.debugDescription) is not a token of \(path)")
        }
        return id
    }
    let bos = try id(config.bosToken, field: "bos_token", fallback: json.templateBOS)
    let eos = try id(config.eosToken, field: "eos_token", fallback: json.templateEOS)
    let addBOS = config.addBOS ?? (json.templateBOS != nil)
    let addEOS = config.addEOS ?? (json.templateEOS != nil)
    if addBOS, bos == nil {
        throw HFTokenizerError.invalid(file: configFile, field: "add_bos_token", reason: "true, but no bos_token is given")
    }
    if addEOS, eos == nil {
        throw HFTokenizerError.invalid(file: configFile, field: "add_eos_token", reason: "true, but no eos_token is given")
    }
    switch json.segmentation {
    case .metaspace:
        return try SentencePieceBPETokenizer(json: json, bos: bos, eos: eos, addBOS: addBOS, addEOS: addEOS)
    case .byteLevel(let pre):
        // Byte-level vocabularies write a space as "Ġ", so "A B" is unambiguous.
        if let i = json.merges.firstIndex(where: { $0.left.contains(" ") || $0.right.contains(" ") }) {
            throw HFTokenizerError.invalid(file: path, field: "model.merges[\(i)]", reason: "a byte-level merge contains a raw space")
        }
        let vocabulary: Vocabulary
        do {
            vocabulary = try Vocabulary(file: path, texts: json.tokens, kinds: json.kinds, reservesRoomForMerges: true)
        } catch TokenizerError.duplicateToken(_, let text, let first, let second) {
            throw HFTokenizerError.invalid(file: path, field: "model.vocab", reason: "tokens \(first) and \(second) both have the text \(text.debugDescription)")
        }
        return BPETokenizer(
            vocabulary: vocabulary, merges: json.merges.map { $0.left + " " + $0.right },
            preTokenizer: pre, preTokenizerName: pre.rawValue, ignoresMerges: json.ignoresMerges,
            bos: bos, eos: eos, addBOS: addBOS, addEOS: addEOS, keyed: SpecialTokens.Keyed())
    }
}
