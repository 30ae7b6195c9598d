import ArgumentParser
import Foundation
import SparrowLLM
import SparrowRuntime

/// `sparrow perplexity`: llama-perplexity's protocol on a text file.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a text file (independent chunks, each scored on its second half, as llama-perplexity).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Text file to score.")
    var file: String

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError("cannot read \(file)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let loaded = try modelOptions.load()
        let start = Date()
        let result = try Perplexity.compute(
            model: loaded.model, tokenizer: loaded.tokenizer, text: text, contextLength: modelOptions.context
        ) { chunk, chunks, ppl in
            printError(String(format: "[%d/%d] %.4f", chunk + 1, chunks, ppl))
        }
        printError(String(format: "%d chunks of %d tokens, %d scored, %.1f s", result.chunkCount, modelOptions.context,
                          result.scoredTokens, Date().timeIntervalSince(start)))
        print(String(format: "PPL = %.4f +/- %.5f", result.value, result.error))
    }
}
