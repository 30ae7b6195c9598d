import SparrowRuntime

/// A decoder-only language model with its own KV cache: feed tokens, get next-token logits.
///
/// Generation code (`TokenIterator`, perplexity, chat sessions) talks to this protocol only, so every
/// architecture file plugs in the same way.
public protocol LanguageModel: AnyObject {
    var vocabularySize: Int { get }
    /// Positions the KV cache holds (the context option, capped by the training context).
    var contextLength: Int { get }
    /// Tokens currently in the cache (the position of the next token).
    var position: Int { get }
    /// The execution context the model computes with (thread pool, per-op accounting).
    var context: ExecutionContext { get }
    /// Bytes of weights read to decode one token.
    var weightBytesPerToken: Int { get }
    /// Bytes the KV cache reserves at full context.
    var kvCacheBytes: Int { get }

    /// Appends `tokens` at the current position and returns next-token logits: for the last token
    /// (`allLogits` false, `[vocabularySize]`) or for every token (`[tokens.count, vocabularySize]`).
    /// The buffer is valid until the next call.
    func evaluate(_ tokens: [Int32], allLogits: Bool) throws -> UnsafeBufferPointer<Float>

    /// Forgets cached positions from `position` on (0 clears the cache).
    func truncate(to position: Int)
}

/// Errors of running a model (loading errors are `FormatError`s naming the file).
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case contextFull(needed: Int, capacity: Int)
    case tokenOutOfRange(Int32, vocabularySize: Int)
    case unsupportedArchitecture(String, file: String)
    case emptyInput

    public var description: String {
        switch self {
        case .contextFull(let needed, let capacity):
            return "the context holds \(capacity) tokens but \(needed) are needed; raise --context or shorten the input"
        case .tokenOutOfRange(let t, let v):
            return "token id \(t) is outside the vocabulary of \(v) tokens"
        case .unsupportedArchitecture(let a, let file):
            return "\(file): architecture '\(a)' is not supported (supported: llama, gemma3)"
        case .emptyInput:
            return "nothing to evaluate: the input has no tokens"
        }
    }
}
