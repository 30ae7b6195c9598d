/// Why a tokenizer could not be built from a model file. Every case names the file and the GGUF key
/// involved and says what to do about it.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A required `tokenizer.ggml.*` key is absent.
    case missingKey(file: String, key: String)
    /// A key holds a value of the wrong type (`expected` says which).
    case wrongType(file: String, key: String, expected: String)
    /// A token id stored under `key` lies outside the vocabulary.
    case badTokenID(file: String, key: String, id: Int, vocabularySize: Int)
    /// `tokenizer.ggml.model` names a tokenizer family this runtime does not implement.
    case unsupportedModel(file: String, model: String, supported: [String])
    /// `tokenizer.ggml.pre` names a pre-tokenizer this runtime does not implement.
    case unsupportedPreTokenizer(file: String, pre: String, supported: [String])
    /// Two vocabulary entries have the same text, so text -> id would be ambiguous.
    case duplicateToken(file: String, text: String, firstID: Int, secondID: Int)
    /// An array key is shorter than the token list it describes.
    case countMismatch(file: String, key: String, count: Int, expected: Int)
    /// The model asks for BOS/EOS to be added but does not say which token that is.
    case missingSpecialToken(file: String, key: String, requiredBy: String)

    public var description: String {
        switch self {
        case let .missingKey(file, key):
            return "\(file): metadata key '\(key)' is missing; the file has no usable tokenizer (re-convert it with a current llama.cpp convert_hf_to_gguf.py)"
        case let .wrongType(file, key, expected):
            return "\(file): metadata key '\(key)' must be \(expected); the file is corrupt or was written by an incompatible converter"
        case let .badTokenID(file, key, id, size):
            return "\(file): '\(key)' = \(id) is outside the vocabulary of \(size) tokens; fix the key (e.g. with gguf-py's gguf_set_metadata.py) or re-convert the model"
        case let .unsupportedModel(file, model, supported):
            return "\(file): tokenizer.ggml.model '\(model)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case let .unsupportedPreTokenizer(file, pre, supported):
            return "\(file): tokenizer.ggml.pre '\(pre)' is not supported (supported: \(supported.joined(separator: ", "))); use a model whose pre-tokenizer is one of these"
        case let .duplicateToken(file, text, first, second):
            return "\(file): tokens \(first) and \(second) both have the text \(text.debugDescription); the vocabulary in 'tokenizer.ggml.tokens' is corrupt"
        case let .countMismatch(file, key, count, expected):
            return "\(file): '\(key)' has \(count) entries but the vocabulary has \(expected); the file is corrupt, re-convert the model"
        case let .missingSpecialToken(file, key, requiredBy):
            return "\(file): '\(requiredBy)' is true but '\(key)' is missing; set the key or turn '\(requiredBy)' off"
        }
    }
}
