import SparrowRuntime

/// Text <-> token ids for a language model.
///
/// Ids are `Int32` as in GGUF and llama.cpp. Encoding and decoding never fail: every string has an
/// encoding, and every id (even one outside the vocabulary, which decodes to nothing) has bytes.
public protocol Tokenizer: Sendable {
    /// The number of tokens in the vocabulary (the model's embedding rows).
    var vocabularySize: Int { get }
    /// The beginning-of-sequence token, if the model has one.
    var bosTokenID: Int32? { get }
    /// The end-of-sequence token, if the model has one.
    var eosTokenID: Int32? { get }
    /// Whether `encode(_:addSpecial: true, …)` puts BOS first (`tokenizer.ggml.add_bos_token`, else
    /// llama.cpp's default for the vocabulary type and pre-tokenizer).
    var addBOS: Bool { get }
    /// Whether `encode(_:addSpecial: true, …)` puts EOS last (`tokenizer.ggml.add_eos_token`).
    var addEOS: Bool { get }
    /// Token ids that end a turn or generation (EOS, EOT such as `<|im_end|>`, `<|eot_id|>`,
    /// `<end_of_turn>`, …), derived as llama.cpp's vocabulary does.
    var endOfGenerationTokenIDs: Set<Int32> { get }

    /// Encodes text. `addSpecial` adds BOS/EOS as `addBOS`/`addEOS` say. With `parseSpecial`, the text of
    /// a control token (such as `<|im_start|>`) becomes that token, as llama.cpp's
    /// `tokenize(parse_special: true)`; user-defined tokens are always matched.
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32]
    /// The bytes a token stands for. Control and unknown tokens give their text only if
    /// `renderSpecial`; ids outside the vocabulary give no bytes.
    func tokenBytes(_ id: Int32, renderSpecial: Bool) -> [UInt8]
    /// Appends the bytes of `tokenBytes(id, renderSpecial:)` to `bytes` (no allocation once `bytes`
    /// has grown: the streaming detokenizer calls this once per generated token).
    func appendTokenBytes(_ id: Int32, renderSpecial: Bool, to bytes: inout [UInt8])
    /// The text of a token sequence (the concatenated token bytes, invalid UTF-8 repaired as U+FFFD).
    func decode(_ ids: [Int32], renderSpecial: Bool) -> String
    /// The raw vocabulary string of a token (byte-level BPE shows a space as "Ġ"); "" if out of range.
    func tokenText(_ id: Int32) -> String
    /// The id whose raw vocabulary string is exactly `text`, or nil.
    func tokenID(_ text: String) -> Int32?
}

extension Tokenizer {
    /// The bytes `appendTokenBytes` appends, in a new array.
    public func tokenBytes(_ id: Int32, renderSpecial: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        appendTokenBytes(id, renderSpecial: renderSpecial, to: &bytes)
        return bytes
    }
}

/// The role of a vocabulary entry (`tokenizer.ggml.token_type`; values as llama.cpp's
/// `llama_token_type`). Unknown values read as `.undefined`, as in llama.cpp.
public enum TokenKind: Int32, Sendable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6

    /// Tokens matched as whole strings before pre-tokenization (control and unknown only when the
    /// caller asks to parse special tokens).
    var isSpecial: Bool { self == .control || self == .userDefined || self == .unknown }
}

/// Builds the tokenizer a GGUF file describes, dispatching on `tokenizer.ggml.model`.
///
/// Supported: "gpt2" (byte-level BPE) and "gemma4" (BPE on "▁"-escaped UTF-8), both `BPETokenizer`;
/// "llama" (SentencePiece-style vocabularies with scores and byte fallback: Llama 1/2, Mistral, Phi-3,
/// Gemma 1-3, …; `SPMTokenizer`). Other models (WordPiece "bert", unigram "t5", …) throw
/// `TokenizerError.unsupportedModel`.
public func makeTokenizer(gguf: GGUFFile) throws -> any Tokenizer {
    let metadata = TokenizerMetadata(gguf: gguf)
    let model = try metadata.requiredString("tokenizer.ggml.model")
    switch model {
    case "gpt2", "gemma4":
        return try BPETokenizer(gguf: gguf)
    case "llama":
        return try SPMTokenizer(gguf: gguf)
    default:
        throw TokenizerError.unsupportedModel(file: gguf.path, model: model, supported: supportedTokenizerModels)
    }
}

/// The `tokenizer.ggml.model` values `makeTokenizer(gguf:)` accepts.
let supportedTokenizerModels = ["gemma4", "gpt2", "llama"]

/// Typed access to `tokenizer.ggml.*` keys that throws `TokenizerError` naming the key.
struct TokenizerMetadata {
    let gguf: GGUFFile
    var file: String { gguf.path }

    func string(_ key: String) throws -> String? {
        guard let value = gguf.metadata[key] else { return nil }
        guard case .string(let s) = value else { throw TokenizerError.wrongType(file: file, key: key, expected: "a string") }
        return s
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw TokenizerError.missingKey(file: file, key: key) }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = gguf.metadata[key] else { return nil }
        guard case .bool(let b) = value else { throw TokenizerError.wrongType(file: file, key: key, expected: "a bool") }
        return b
    }

    func stringArray(_ key: String) throws -> [String]? {
        guard let value = gguf.metadata[key] else { return nil }
        guard case .array(.string, let values) = value else {
            throw TokenizerError.wrongType(file: file, key: key, expected: "an array of strings")
        }
        return values.map { $0.stringValue ?? "" }  // elements of a string array are strings
    }

    func intArray(_ key: String) throws -> [Int]? {
        guard let value = gguf.metadata[key] else { return nil }
        guard case .array(_, let values) = value else {
            throw TokenizerError.wrongType(file: file, key: key, expected: "an array of integers")
        }
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for v in values {
            guard let i = v.intValue else { throw TokenizerError.wrongType(file: file, key: key, expected: "an array of integers") }
            result.append(i)
        }
        return result
    }

    /// An array of numbers (float32 as written by converters; integer arrays are accepted as llama.cpp does).
    func floatArray(_ key: String) throws -> [Float]? {
        guard let value = gguf.metadata[key] else { return nil }
        guard case .array(_, let values) = value else {
            throw TokenizerError.wrongType(file: file, key: key, expected: "an array of numbers")
        }
        var result: [Float] = []
        result.reserveCapacity(values.count)
        for v in values {
            if case .float32(let f) = v {
                result.append(f)
            } else if let i = v.intValue {
                result.append(Float(i))
            } else {
                throw TokenizerError.wrongType(file: file, key: key, expected: "an array of numbers")
            }
        }
        return result
    }

    /// A token id key, checked against the vocabulary size.
    func tokenID(_ key: String, vocabularySize: Int) throws -> Int32? {
        guard let value = gguf.metadata[key] else { return nil }
        guard let id = value.intValue else { throw TokenizerError.wrongType(file: file, key: key, expected: "an integer token id") }
        guard id >= 0, id < vocabularySize else {
            throw TokenizerError.badTokenID(file: file, key: key, id: id, vocabularySize: vocabularySize)
        }
        return Int32(id)
    }
}
