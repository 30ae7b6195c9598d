import ArgumentParser
import Foundation
import SparrowLLM
import SparrowRuntime

/// `sparrow bench`: prompt-processing and token-generation speed, like llama-bench.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing (pp) and token generation (tg) speed, like llama-bench.")

    @Option(name: .long, help: "Model file path or manifest id.")
    var model: String = "smollm2-135m-instruct"

    @Option(name: .long, help: "Comma-separated thread counts.")
    var threads: String = "\(ThreadPool.availableCores)"

    @Option(name: .long, help: "Prompt tokens per pp run (0 skips pp).")
    var promptTokens: Int = 512

    @Option(name: .long, help: "Generated tokens per tg run (0 skips tg).")
    var genTokens: Int = 128

    @Option(name: .long, help: "Runs per measurement; medians are reported.")
    var repetitions: Int = 5

    @Flag(name: .long, help: "Print JSON (a list of runs).")
    var json = false

    func validate() throws {
        guard threadCounts != nil else { throw ValidationError("--threads takes a comma-separated list of positive numbers, e.g. 1,2") }
        if promptTokens < 0 || genTokens < 0 || promptTokens + genTokens == 0 {
            throw ValidationError("--prompt-tokens and --gen-tokens must be non-negative and not both 0")
        }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1") }
    }

    var threadCounts: [Int]? {
        let parts = threads.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.map { $0! }
    }

    struct Run: Codable {
        var threads: Int
        var prompt_tokens: Int
        var gen_tokens: Int
        var pp_tokens_per_second: Double?
        var pp_spread: [Double]?
        var tg_tokens_per_second: Double?
        var tg_spread: [Double]?
        var weight_bytes_per_token: Int
    }

    func run() throws {
        let path = try resolveModelPath(model)
        var runs: [Run] = []
        for t in threadCounts! {
            let loaded = try LoadedModel(path: path, contextLength: max(promptTokens + genTokens + 1, 64), threadCount: t)
            let lm = loaded.model
            // Deterministic token ids spread over the vocabulary (content does not affect speed).
            let tokens = (0..<max(promptTokens, 1)).map { Int32(($0 * 7919 + 13) % lm.vocabularySize) }
            _ = try lm.evaluate(Array(tokens.prefix(8)), allLogits: false)  // warm-up: page in weights
            lm.truncate(to: 0)
            var pp: [Double] = [], tg: [Double] = []
            for _ in 0..<repetitions {
                if promptTokens > 0 {
                    lm.truncate(to: 0)
                    let s = OpAccounting.now()
                    _ = try lm.evaluate(tokens, allLogits: false)
                    pp.append(Double(promptTokens) / (Double(OpAccounting.now() &- s) / 1e9))
                }
                if genTokens > 0 {
                    // Like llama-bench's tg: generation from an empty cache, one token at a time.
                    lm.truncate(to: 0)
                    var next: Int32 = tokens[0]
                    let s = OpAccounting.now()
                    for _ in 0..<genTokens {
                        let logits = try lm.evaluate([next], allLogits: false)
                        next = Int32(argmax(logits))
                    }
                    tg.append(Double(genTokens) / (Double(OpAccounting.now() &- s) / 1e9))
                }
            }
            runs.append(Run(
                threads: t, prompt_tokens: promptTokens, gen_tokens: genTokens,
                pp_tokens_per_second: pp.isEmpty ? nil : median(pp), pp_spread: pp.isEmpty ? nil : [pp.min()!, pp.max()!],
                tg_tokens_per_second: tg.isEmpty ? nil : median(tg), tg_spread: tg.isEmpty ? nil : [tg.min()!, tg.max()!],
                weight_bytes_per_token: lm.weightBytesPerToken))
            if !json {
                printError("done: \(t) thread(s)")
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(runs), as: UTF8.self))
        } else {
            print("model: \(path)")
            print("| threads | test | tok/s (median) | min – max |")
            print("|---:|---|---:|---|")
            for r in runs {
                if let v = r.pp_tokens_per_second, let s = r.pp_spread {
                    print(String(format: "| %d | pp%d | %.1f | %.1f – %.1f |", r.threads, r.prompt_tokens, v, s[0], s[1]))
                }
                if let v = r.tg_tokens_per_second, let s = r.tg_spread {
                    print(String(format: "| %d | tg%d | %.1f | %.1f – %.1f |", r.threads, r.gen_tokens, v, s[0], s[1]))
                }
            }
        }
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func argmax(_ xs: UnsafeBufferPointer<Float>) -> Int {
    var best = 0
    for i in 1..<xs.count where xs[i] > xs[best] { best = i }
    return best
}
