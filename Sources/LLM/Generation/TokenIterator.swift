import SparrowRuntime

/// When generation stops.
public struct StopConditions: Sendable {
    /// Stop after this many generated tokens (nil: only the context limit).
    public var maxTokens: Int?
    /// Stop when the generated text contains one of these; the stop string itself is not emitted.
    public var stopStrings: [String]
    /// Tokens that end generation (EOS and end-of-turn tokens); they are not emitted as text.
    public var stopTokens: Set<Int32>

    public init(maxTokens: Int? = nil, stopStrings: [String] = [], stopTokens: Set<Int32> = []) {
        self.maxTokens = maxTokens
        self.stopStrings = stopStrings.filter { !$0.isEmpty }
        self.stopTokens = stopTokens
    }
}

/// Why a generation ended.
public enum StopReason: Sendable, Equatable {
    case endOfGeneration(token: Int32)
    case maxTokens
    case stopString(String)
    case contextFull
    case cancelled
}

/// One generated token and the text it completes (possibly empty while a multi-byte character or
/// a possible stop string is still pending). The last element of a sequence may carry only text held
/// back until the end (`id` nil).
public struct GeneratedToken: Sendable {
    public let id: Int32?
    public let text: String
}

/// Generates tokens one at a time: a `Sequence`, so the caller decides about printing, progress and
/// cancellation (matches the shape of mlx-swift-lm's TokenIterator).
///
/// The prompt is evaluated on the first `next()`; after the sequence ends, `stopReason` says why and
/// `error` holds a model error if one ended it.
public struct TokenIterator: Sequence, IteratorProtocol {
    public let model: LanguageModel
    public let tokenizer: any Tokenizer
    public private(set) var sampler: Sampler
    public let stop: StopConditions
    /// Tokens given as the prompt, then every generated token (the history repetition penalties see).
    public private(set) var tokens: [Int32]
    public private(set) var generatedCount = 0
    public private(set) var stopReason: StopReason?
    public private(set) var error: Error?
    /// Nanoseconds spent evaluating the prompt, and generating after it.
    public private(set) var promptNanoseconds: UInt64 = 0
    public private(set) var generationNanoseconds: UInt64 = 0
    public let promptTokenCount: Int
    /// Checked before each token; return true to stop (e.g. after Ctrl-C).
    public var isCancelled: () -> Bool = { false }

    private var pendingInput: [Int32]
    private var detokenizer: StreamingDetokenizer
    private var heldText = ""
    private let longestStop: Int

    /// - Parameter prompt: tokens to evaluate before generating; they are appended at the model's
    ///   current position (the caller truncates the cache to what it wants kept).
    public init(model: LanguageModel, tokenizer: any Tokenizer, prompt: [Int32], sampler: Sampler, stop: StopConditions) {
        self.model = model
        self.tokenizer = tokenizer
        self.sampler = sampler
        self.stop = stop
        tokens = prompt
        promptTokenCount = prompt.count
        pendingInput = prompt
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        longestStop = stop.stopStrings.map(\.count).max() ?? 0
    }

    public mutating func next() -> GeneratedToken? {
        guard stopReason == nil else { return nil }
        if isCancelled() { return finish(.cancelled) }
        if let max = stop.maxTokens, generatedCount >= max { return finish(.maxTokens) }
        guard !pendingInput.isEmpty else { return finish(.contextFull) }
        guard model.position + pendingInput.count <= model.contextLength else { return finish(.contextFull) }

        let start = OpAccounting.now()
        let logits: UnsafeBufferPointer<Float>
        do {
            logits = try model.evaluate(pendingInput, allLogits: false)
        } catch {
            self.error = error
            return finish(.contextFull)
        }
        let token = sampler.sample(logits: UnsafeMutableBufferPointer(mutating: logits), history: tokens)
        let elapsed = OpAccounting.now() &- start
        if generatedCount == 0 { promptNanoseconds = elapsed } else { generationNanoseconds += elapsed }
        generatedCount += 1
        tokens.append(token)
        pendingInput.removeAll(keepingCapacity: true)  // no allocation per token
        pendingInput.append(token)

        if stop.stopTokens.contains(token) {
            stopReason = .endOfGeneration(token: token)
            let rest = heldText + detokenizer.flush()
            heldText = ""
            return GeneratedToken(id: token, text: rest)
        }
        heldText += detokenizer.append(token)
        return GeneratedToken(id: token, text: releaseText())
    }

    /// Text safe to show now: everything except a tail that could still become a stop string.
    private mutating func releaseText() -> String {
        guard longestStop > 0 else {
            defer { heldText = "" }
            return heldText
        }
        for s in stop.stopStrings {
            if let range = heldText.range(of: s) {
                let before = String(heldText[..<range.lowerBound])
                heldText = ""
                stopReason = .stopString(s)
                return before
            }
        }
        // Hold back the longest suffix that is a prefix of some stop string.
        var keep = 0
        for s in stop.stopStrings {
            for n in stride(from: Swift.min(s.count - 1, heldText.count), to: 0, by: -1) where n > keep {
                if heldText.hasSuffix(s.prefix(n)) { keep = n; break }
            }
        }
        let cut = heldText.index(heldText.endIndex, offsetBy: -keep)
        defer { heldText = String(heldText[cut...]) }
        return String(heldText[..<cut])
    }

    private mutating func finish(_ reason: StopReason) -> GeneratedToken? {
        stopReason = reason
        let rest = heldText + detokenizer.flush()
        heldText = ""
        return rest.isEmpty ? nil : GeneratedToken(id: nil, text: rest)
    }

    /// Generated tokens per second after the first (prompt) step.
    public var generationTokensPerSecond: Double {
        generatedCount > 1 && generationNanoseconds > 0 ? Double(generatedCount - 1) / (Double(generationNanoseconds) / 1e9) : 0
    }

    /// Prompt tokens per second (the first step, which also samples the first token).
    public var promptTokensPerSecond: Double {
        promptNanoseconds > 0 ? Double(promptTokenCount) / (Double(promptNanoseconds) / 1e9) : 0
    }
}
