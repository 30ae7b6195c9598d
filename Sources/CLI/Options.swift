import ArgumentParser
import Foundation
import SparrowLLM
import SparrowRuntime

/// `--model`, `--threads`, `--context`: shared by every command that runs a language model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model file path or manifest id (see `sparrow models list`).")
    var model: String = "smollm2-135m-instruct"

    @Option(name: .long, help: "Threads for every op (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Context length in tokens (capped by the model's training context).")
    var context: Int = 4096

    func validate() throws {
        if let threads, threads < 1 || threads > 512 { throw ValidationError("--threads must be between 1 and 512") }
        if context < 16 { throw ValidationError("--context must be at least 16") }
    }

    /// Resolves --model and loads it.
    func load() throws -> LoadedModel {
        let path = try resolveModelPath(model)
        return try LoadedModel(path: path, contextLength: context, threadCount: threads)
    }
}

/// Sampling flags, named as llama.cpp names them.
struct SamplingOptions: ParsableArguments {
    @Option(name: .long, help: "Tokens to generate at most.")
    var maxTokens: Int = 512

    @Option(name: .long, help: "Sampling temperature; 0 means greedy.")
    var temperature: Float = 0.8

    @Option(name: .long, help: "Keep the k most likely tokens (0 disables).")
    var topK: Int = 40

    @Option(name: .long, help: "Nucleus sampling: keep tokens up to this cumulative probability (1 disables).")
    var topP: Float = 0.95

    @Option(name: .long, help: "Drop tokens below this fraction of the top token's probability (0 disables).")
    var minP: Float = 0.05

    @Option(name: .long, help: "Penalty for repeating recent tokens (1 disables).")
    var repeatPenalty: Float = 1.0

    @Option(name: .long, help: "Random seed (default: random, printed on stderr).")
    var seed: UInt64?

    func validate() throws {
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if temperature < 0 || !temperature.isFinite { throw ValidationError("--temperature must be 0 or more") }
        if topK < 0 { throw ValidationError("--top-k must be 0 or more") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if !(minP >= 0 && minP <= 1) { throw ValidationError("--min-p must be in [0, 1]") }
        if !(repeatPenalty > 0) { throw ValidationError("--repeat-penalty must be positive") }
    }

    /// The parameters, with a concrete seed (random when not given).
    func parameters() -> SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repeatPenalty = repeatPenalty
        p.seed = seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
        return p
    }
}

/// Writes to standard error (diagnostics; stdout carries only results).
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write((text + terminator).data(using: .utf8)!)
}

/// Writes text to stdout immediately (streaming tokens), without allocating per call.
func printFlushed(_ text: String) {
    var text = text
    text.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
    fflush(stdout)
}

/// A user-facing failure found while running a command (after option parsing): printed as
/// "Error: message" without the usage text that ArgumentParser adds to validation errors.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
