import ArgumentParser
import Foundation
import SparrowLLM
import SparrowRuntime

/// `sparrow generate`: one-shot completion; only the generated text goes to stdout.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a prompt (raw completion; --chat applies the chat template).",
        discussion: "The prompt comes from --prompt or, when absent, standard input.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .long, help: "The prompt text (default: read standard input).")
    var prompt: String?

    @Flag(name: .long, help: "Wrap the prompt as a user message in the model's chat template.")
    var chat = false

    @Option(name: .long, help: "System prompt (with --chat).")
    var system: String?

    @Option(name: .long, parsing: .singleValue, help: "Stop when this text is generated (repeatable).")
    var stop: [String] = []

    @Flag(name: .long, help: "Print a JSON object with the text, token counts and timings.")
    var json = false

    func run() throws {
        var text = prompt
        if text == nil {
            guard isatty(0) == 0 else {
                throw CLIError("no prompt: pass --prompt TEXT or pipe the prompt on standard input")
            }
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        guard let text, !text.isEmpty else { throw CLIError("the prompt is empty") }

        let loaded = try modelOptions.load()
        let params = sampling.parameters()
        if sampling.seed == nil && sampling.temperature > 0 { printError("seed: \(params.seed!)") }
        let sampler = Sampler(parameters: params)
        var iterator: TokenIterator
        if chat {
            let session = try ChatSession(loaded: loaded, systemPrompt: system)
            iterator = try session.respond(to: text, sampler: sampler, maxTokens: sampling.maxTokens, stopStrings: stop).iterator
        } else {
            let ids = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: true)
            guard !ids.isEmpty else { throw CLIError("the prompt encodes to no tokens") }
            guard ids.count < loaded.model.contextLength else {
                throw CLIError("the prompt has \(ids.count) tokens; the context holds \(loaded.model.contextLength) (raise --context)")
            }
            iterator = TokenIterator(
                model: loaded.model, tokenizer: loaded.tokenizer, prompt: ids, sampler: sampler,
                stop: StopConditions(maxTokens: sampling.maxTokens, stopStrings: stop, stopTokens: loaded.endOfGenerationTokenIDs))
        }
        Interrupts.install()
        var output = ""
        Interrupts.generation { isCancelled in
            iterator.isCancelled = isCancelled
            while let token = iterator.next() {
                output += token.text
                if !json { printFlushed(token.text) }
            }
        }
        if let error = iterator.error { throw error }
        if json {
            let result: [String: Any] = [
                "text": output,
                "prompt_tokens": iterator.promptTokenCount,
                "generated_tokens": iterator.generatedCount,
                "load_ms": loaded.loadMilliseconds,
                "prompt_ms": Double(iterator.promptNanoseconds) / 1e6,
                "prompt_tokens_per_second": iterator.promptTokensPerSecond,
                "generation_tokens_per_second": iterator.generationTokensPerSecond,
                "stop_reason": "\(iterator.stopReason.map { "\($0)" } ?? "none")",
                "seed": params.seed.map { Int($0) } ?? 0,
                "threads": loaded.model.context.threadCount,
                "model": loaded.name,
                "context": loaded.model.contextLength,
                "kv_cache_bytes": loaded.model.kvCacheBytes,
                "model_file_bytes": loaded.weightFileBytes,
            ]
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            if !output.hasSuffix("\n") { printFlushed("\n") }
            printError(String(
                format: "[%d prompt tokens, %.1f tok/s; %d generated, %.1f tok/s; load %.0f ms]",
                iterator.promptTokenCount, iterator.promptTokensPerSecond, iterator.generatedCount,
                iterator.generationTokensPerSecond, loaded.loadMilliseconds))
        }
    }
}
