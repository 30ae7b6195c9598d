import Foundation
import SparrowLLM
import SparrowRuntime
import Testing

@Suite(.serialized)
struct GenerationTests {
    static func load(context: Int = 1024) throws -> LoadedModel {
        try LoadedModel(path: TestModels.smolLM2(), contextLength: context, threadCount: 2)
    }

    func generate(_ loaded: LoadedModel, prompt: String, parameters: SamplingParameters, stop: StopConditions) -> (String, TokenIterator) {
        loaded.model.truncate(to: 0)
        let ids = loaded.tokenizer.encode(prompt, addSpecial: true, parseSpecial: false)
        var it = TokenIterator(model: loaded.model, tokenizer: loaded.tokenizer, prompt: ids, sampler: Sampler(parameters: parameters), stop: stop)
        var text = ""
        while let t = it.next() { text += t.text }
        return (text, it)
    }

    /// The streamed pieces concatenate to the decoding of the generated ids, and greedy generation
    /// is the reference's greedy continuation (../shared/reference/llm, up to its near-tie at step 5).
    @Test func streamedTextEqualsDecodedTokensAndFollowsGreedyReference() throws {
        let loaded = try Self.load()
        let (text, it) = generate(loaded, prompt: "The capital of France is", parameters: .greedy, stop: StopConditions(maxTokens: 24))
        let generated = Array(it.tokens.dropFirst(it.promptTokenCount))
        #expect(generated.count == 24)
        #expect(text == loaded.tokenizer.decode(generated, renderSpecial: false))
        #expect(text.hasPrefix(" Paris.\n\n"))
        #expect(it.stopReason == .maxTokens)
    }

    @Test func sameSeedGivesSameTextAndAnotherSeedDiffers() throws {
        let loaded = try Self.load()
        var p = SamplingParameters()
        p.temperature = 1.0
        p.seed = 42
        let stop = StopConditions(maxTokens: 40)
        let a = generate(loaded, prompt: "Once upon a time", parameters: p, stop: stop).0
        let b = generate(loaded, prompt: "Once upon a time", parameters: p, stop: stop).0
        p.seed = 43
        let c = generate(loaded, prompt: "Once upon a time", parameters: p, stop: stop).0
        #expect(a == b)
        #expect(a != c)
    }

    /// A stop string ends generation; neither it nor anything after it is emitted.
    @Test func stopStringEndsGenerationAndIsNotEmitted() throws {
        let loaded = try Self.load()
        let full = generate(loaded, prompt: "The capital of France is", parameters: .greedy, stop: StopConditions(maxTokens: 24)).0
        let (text, it) = generate(
            loaded, prompt: "The capital of France is", parameters: .greedy, stop: StopConditions(maxTokens: 24, stopStrings: ["\n\n"]))
        #expect(it.stopReason == .stopString("\n\n"))
        #expect(text == " Paris.")
        #expect(full.hasPrefix(text + "\n\n"))
    }

    @Test func chatReplyMatchesLlamaCppGreedyReply() throws {
        let loaded = try Self.load()
        let session = try ChatSession(loaded: loaded, systemPrompt: "You are a helpful assistant.")
        var (it, dropped) = try session.respond(to: "What is the capital of France?", sampler: Sampler(parameters: .greedy), maxTokens: 64)
        var text = ""
        while let t = it.next() { text += t.text }
        #expect(dropped == 0)
        // ../shared/reference/llm/greedy-q4_1-chat.txt: GEN_TEXT without the end-of-turn token.
        #expect(text == "The capital of France is Paris.")
        #expect(it.stopReason == .endOfGeneration(token: 2))
        session.finish(it, replyText: text)
        #expect(session.messages.count == 2)
    }

    /// A second turn reuses the cached conversation and gives the same logits as evaluating the
    /// whole rendered conversation from scratch.
    @Test func secondTurnWithCacheReuseMatchesFreshEvaluation() throws {
        let loaded = try Self.load()
        let session = try ChatSession(loaded: loaded, systemPrompt: "You are a helpful assistant.")
        for question in ["What is the capital of France?", "And of Spain?"] {
            var (it, _) = try session.respond(to: question, sampler: Sampler(parameters: .greedy), maxTokens: 16)
            var text = ""
            while let t = it.next() { text += t.text }
            session.finish(it, replyText: text)
        }
        let cachedReply = session.messages.last!.content
        #expect(loaded.model.position > 40, "the second turn must have reused the first turn's cache")
        // The same history, evaluated from an empty cache.
        loaded.model.truncate(to: 0)
        session.reset()
        let replay = try ChatSession(loaded: loaded, systemPrompt: "You are a helpful assistant.")
        var r1 = try replay.respond(to: "What is the capital of France?", sampler: Sampler(parameters: .greedy), maxTokens: 16).iterator
        var t1 = ""
        while let t = r1.next() { t1 += t.text }
        replay.finish(r1, replyText: t1)
        loaded.model.truncate(to: 0)
        var r2 = try replay.respond(to: "And of Spain?", sampler: Sampler(parameters: .greedy), maxTokens: 16).iterator
        #expect(r2.promptTokenCount > 40, "the replay must evaluate the whole conversation")
        var t2 = ""
        while let t = r2.next() { t2 += t.text }
        #expect(t2 == cachedReply)
    }

    /// When the conversation outgrows the context, the oldest turns go and the system prompt stays.
    @Test func fullContextDropsOldestTurnsKeepingSystemPrompt() throws {
        let loaded = try Self.load(context: 160)
        let session = try ChatSession(loaded: loaded, systemPrompt: "You are a helpful assistant.")
        var droppedTotal = 0
        for i in 0..<6 {
            var (it, dropped) = try session.respond(
                to: "Tell me a fact about the number \(i).", sampler: Sampler(parameters: .greedy), maxTokens: 24, reserve: 32)
            droppedTotal += dropped
            var text = ""
            while let t = it.next() { text += t.text }
            session.finish(it, replyText: text)
            #expect(loaded.model.position <= loaded.model.contextLength)
        }
        #expect(droppedTotal > 0)
        #expect(session.systemPrompt == "You are a helpful assistant.")
        #expect(session.messages.first?.role == "user")
    }

    @Test func emptyMessageIsAClearError() throws {
        let session = try ChatSession(loaded: try Self.load(), systemPrompt: nil)
        #expect(throws: ChatSession.Error.self) {
            _ = try session.respond(to: "   \n", sampler: Sampler(parameters: .greedy), maxTokens: 8)
        }
    }
}
