import SparrowRuntime
/// A Hugging Face `tokenizer.json` reduced to what the encoders here implement, validated on load.
///
/// Supported: `model.type` "BPE" (no dropout, no subword prefix/suffix) in two layouts:
/// - byte-level (GPT-2 style): a `ByteLevel` pre-tokenizer alone, or after `Split` with the GPT-2,
///   Llama 3 or Qwen2 regex, or after `Digits(individual_digits)`; optional NFC/NFKC normalizer.
/// - SentencePiece-converted (Llama/Mistral style): a `Prepend("▁")` + `Replace(" ", "▁")`
///   normalizer (the "legacy" layout) or a `Metaspace` pre-tokenizer, with byte fallback.
/// Anything else is an `HFTokenizerError.unsupported` naming the field, never a silent guess.
struct HFTokenizerJSON {
    /// How text becomes the words BPE merges within.
    enum Segmentation: Equatable {
        case byteLevel(PreTokenizer)
        case metaspace(Metaspace)
    }

    /// SentencePiece-style whitespace handling: spaces become `replacement`, and `prefix` says which
    /// text fragments get one prepended; `split` cuts words before each replacement character.
    struct Metaspace: Equatable {
        enum Prefix: String { case always, first, never }
        var replacement: String
        var replacesSpaces: Bool
        var prefix: Prefix
        var split: Bool
        /// The legacy `Prepend` normalizer prepends even to text that starts with a space; the
        /// `Metaspace` pre-tokenizer does not.
        var prependsBeforeReplacement: Bool
    }

    enum UnicodeForm { case none, nfc, nfkc }

    let file: String
    /// Vocabulary strings by id (holes between model and added-token ids become unused "[PAD<id>]").
    var tokens: [String] = []
    var kinds: [TokenKind] = []
    /// Merge pairs, rank = position.
    var merges: [(left: String, right: String)] = []
    var unknownID: Int32?
    var fusesUnknown = false
    var byteFallback = false
    var ignoresMerges = false
    var segmentation: Segmentation = .byteLevel(.gpt2)
    var unicodeForm: UnicodeForm = .none
    /// How decoding removes the space that encoding prefixed.
    enum LeadingSpace: Equatable {
        /// Nothing removed (no decoder, or one that keeps it).
        case kept
        /// One leading space of the decoded text removed (a `Strip` decoder with start >= 1).
        case stripOne
        /// Every "▁" of the first decoded token removed (tokenizers' `Metaspace` decoder).
        case dropFirstTokenMarks
    }
    var leadingSpace: LeadingSpace = .kept
    /// Tokens the post-processor's single-sequence template puts before / after the text.
    var templateBOS: Int32?
    var templateEOS: Int32?

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Reads and validates a `tokenizer.json` file.
    init(path: String) throws {
        try self.init(root: JSONFields.load(path), file: path)
    }

    init(root: JSONValue, file: String) throws {
        self.file = file
        let f = JSONFields(file: file)
        let model = try f.required(root, "model", at: "")
        let type = try f.string(model, "type", at: "model") ?? "BPE"
        guard type == "BPE" else { throw HFTokenizerError.unsupported(file: file, field: "model.type", value: type, supported: ["BPE"]) }
        if let dropout = try f.optional(model, "dropout", at: "model"), let p = dropout.doubleValue, p != 0 {
            throw HFTokenizerError.unsupported(file: file, field: "model.dropout", value: "\(p)", supported: ["null"])
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = try f.string(model, key, at: "model"), !value.isEmpty {
                throw HFTokenizerError.unsupported(file: file, field: "model.\(key)", value: value.debugDescription, supported: ["null"])
            }
        }
        fusesUnknown = try f.bool(model, "fuse_unk", at: "model") ?? false
        byteFallback = try f.bool(model, "byte_fallback", at: "model") ?? false
        ignoresMerges = try f.bool(model, "ignore_merges", at: "model") ?? false

        try readVocabulary(model: model, root: root, f: f)
        try readMerges(model: model, f: f)
        if let unk = try f.string(model, "unk_token", at: "model") {
            guard let id = tokenID(unk) else {
                throw HFTokenizerError.invalid(file: file, field: "model.unk_token", reason: "\(unk.debugDescription) is not in model.vocab")
            }
            unknownID = id
            kinds[Int(id)] = .unknown
        }
        if byteFallback {
            for (i, text) in tokens.enumerated() where kinds[i] == .normal && Vocabulary.byteValue(ofByteToken: ArraySlice(text.utf8)) != nil { kinds[i] = .byte }
        }
        try readSegmentation(root: root, f: f)
        try readPostProcessor(root: root, f: f)
    }

    /// The id whose text is byte-for-byte `text` (linear; used only while loading).
    func tokenID(_ text: String) -> Int32? {
        tokens.firstIndex { $0.utf8.elementsEqual(text.utf8) }.map { Int32($0) }
    }

    private mutating func readVocabulary(model: JSONValue, root: JSONValue, f: JSONFields) throws {
        let vocab = try f.required(model, "vocab", at: "model")
        guard case .object(let members) = vocab else { throw f.wrongType("model.vocab", "an object of token: id", vocab) }
        var byID: [String?] = []
        func place(_ text: String, _ id: Int, field: String) throws {
            if id >= byID.count { byID.append(contentsOf: repeatElement(nil, count: id + 1 - byID.count)) }
            if let existing = byID[id], !existing.utf8.elementsEqual(text.utf8) {
                throw HFTokenizerError.invalid(file: file, field: field, reason: "id \(id) is given to both \(existing.debugDescription) and \(text.debugDescription)")
            }
            byID[id] = text
        }
        for member in members {
            try place(member.key, f.tokenIndex(member.value, at: "model.vocab.\(member.key)"), field: "model.vocab")
        }
        var addedKinds: [Int: TokenKind] = [:]
        for (i, entry) in (try f.array(root, "added_tokens", at: "") ?? []).enumerated() {
            let path = "added_tokens[\(i)]"
            let id = try f.tokenIndex(f.required(entry, "id", at: path), at: path + ".id")
            guard let content = try f.string(entry, "content", at: path) else { throw HFTokenizerError.missingField(file: file, field: path + ".content") }
            try place(content, id, field: path)
            addedKinds[id] = try f.bool(entry, "special", at: path) ?? false ? .control : .userDefined
        }
        guard !byID.isEmpty else { throw HFTokenizerError.invalid(file: file, field: "model.vocab", reason: "the vocabulary is empty") }
        tokens = byID.enumerated().map { $1 ?? "[PAD\($0)]" }
        kinds = byID.enumerated().map { i, text in text == nil ? .unused : addedKinds[i] ?? .normal }
    }

    private mutating func readMerges(model: JSONValue, f: JSONFields) throws {
        guard let list = try f.array(model, "merges", at: "model") else { throw HFTokenizerError.missingField(file: file, field: "model.merges") }
        merges.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            switch item {
            case .string(let s):
                // "A B": split at the first space after the first character (a token may be " ").
                guard let space = s.unicodeScalars.dropFirst().firstIndex(of: " ") else {
                    throw HFTokenizerError.invalid(file: file, field: "model.merges[\(i)]", reason: "\(s.debugDescription) is not two tokens separated by a space")
                }
                merges.append((String(s.unicodeScalars[..<space]), String(s.unicodeScalars[s.unicodeScalars.index(after: space)...])))
            case .array(let pair):
                guard pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] else {
                    throw f.wrongType("model.merges[\(i)]", "a pair of strings", item)
                }
                merges.append((a, b))
            default:
                throw f.wrongType("model.merges[\(i)]", "\"A B\" or [\"A\", \"B\"]", item)
            }
        }
    }
}
