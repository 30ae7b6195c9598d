import Foundation
import SparrowRuntime

/// A multi-turn conversation with a model: renders the model's chat template, reuses the KV cache
/// for the part of the conversation already evaluated, and drops the oldest turns (keeping the
/// system prompt) when the context fills.
public final class ChatSession {
    public let loaded: LoadedModel
    public let template: ChatTemplate
    public var systemPrompt: String?
    public private(set) var messages: [ChatMessage] = []
    /// Tokens currently evaluated into the model's KV cache, in order.
    private var cachedTokens: [Int32] = []

    public enum Error: Swift.Error, CustomStringConvertible {
        case noChatTemplate(model: String)
        case emptyMessage
        case messageTooLong(tokens: Int, context: Int)

        public var description: String {
            switch self {
            case .noChatTemplate(let m):
                return "\(m) has no chat template (tokenizer.chat_template): it is a base model; use `sparrow generate` for raw completion"
            case .emptyMessage:
                return "the message is empty; type some text"
            case .messageTooLong(let n, let c):
                return "the message needs \(n) tokens but the context holds \(c); raise --context or shorten it"
            }
        }
    }

    public init(loaded: LoadedModel, systemPrompt: String? = nil) throws {
        guard let template = loaded.chatTemplate else { throw Error.noChatTemplate(model: loaded.name) }
        self.loaded = loaded
        self.template = template
        self.systemPrompt = systemPrompt
    }

    /// Forgets the conversation (not the system prompt).
    public func reset() {
        messages = []
        cachedTokens = []
        loaded.model.truncate(to: 0)
    }

    /// The conversation as the template renders it, ending with the assistant's generation prompt.
    func renderPrompt(_ history: [ChatMessage]) throws -> [Int32] {
        var all: [ChatMessage] = []
        if let systemPrompt, !systemPrompt.isEmpty { all.append(ChatMessage(role: "system", content: systemPrompt)) }
        all += history
        let bos = loaded.tokenText(loaded.tokenizer.bosTokenID), eos = loaded.tokenText(loaded.tokenizer.eosTokenID)
        let text = try template.render(messages: all, addGenerationPrompt: true, bosToken: bos, eosToken: eos)
        let addBOS = loaded.tokenizer.addBOS && (bos.isEmpty || !text.hasPrefix(bos))
        var ids = loaded.tokenizer.encode(text, addSpecial: false, parseSpecial: true)
        if addBOS, let b = loaded.tokenizer.bosTokenID { ids.insert(b, at: 0) }
        return ids
    }

    /// Adds the user's message and returns a token iterator for the reply, plus how many old
    /// messages were dropped to fit the context. Call `finish(_:)` with the iterator afterwards.
    /// - Parameter reserve: tokens to keep free for the reply.
    public func respond(
        to userText: String, sampler: Sampler, maxTokens: Int?, stopStrings: [String] = [], reserve: Int = 256
    ) throws -> (iterator: TokenIterator, droppedMessages: Int) {
        guard !userText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw Error.emptyMessage }
        let capacity = loaded.model.contextLength
        var history = messages + [ChatMessage(role: "user", content: userText)]
        var prompt = try renderPrompt(history)
        var dropped = 0
        let budget = max(1, capacity - min(reserve, capacity / 2))
        while prompt.count > budget, history.count > 1 {
            // Drop the oldest exchange (user + assistant), never the new message.
            let n = history.count >= 3 ? 2 : 1
            history.removeFirst(n)
            dropped += n
            prompt = try renderPrompt(history)
        }
        guard prompt.count < capacity else { throw Error.messageTooLong(tokens: prompt.count, context: capacity) }
        messages = history

        // Reuse the cached prefix; at least the last prompt token is evaluated to get logits. The
        // model's cache may have been truncated by someone else: trust only what it still holds.
        cachedTokens = Array(cachedTokens.prefix(loaded.model.position))
        var common = 0
        while common < min(cachedTokens.count, prompt.count - 1), cachedTokens[common] == prompt[common] { common += 1 }
        loaded.model.truncate(to: common)
        cachedTokens = Array(prompt[..<common])
        let stopTokens = loaded.endOfGenerationTokenIDs
        let iterator = TokenIterator(
            model: loaded.model, tokenizer: loaded.tokenizer, prompt: Array(prompt[common...]), sampler: sampler,
            stop: StopConditions(maxTokens: maxTokens, stopStrings: stopStrings, stopTokens: stopTokens))
        return (iterator, dropped)
    }

    /// Records the assistant's reply after the iterator has run (fully or cancelled).
    public func finish(_ iterator: TokenIterator, replyText: String) {
        let evaluated = loaded.model.position - cachedTokens.count
        cachedTokens += iterator.tokens.prefix(max(0, evaluated))
        messages.append(ChatMessage(role: "assistant", content: replyText))
    }
}
