import ArgumentParser
import Foundation
import SparrowLLM
import SparrowRuntime

/// `sparrow bench`: prompt processing and token generation speed (like llama-bench), this machine's
/// memory bandwidth and the share of its ceiling reached, and a per-op breakdown of a decoded token.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure pp/tg speed (like llama-bench), memory bandwidth, and a per-op breakdown of one token.")

    @Option(name: .long, help: "Model file path or manifest id.")
    var model: String = "smollm2-135m-instruct"

    @Option(name: .long, help: "Comma-separated thread counts.")
    var threads: String = "\(ThreadPool.availableCores)"

    @Option(name: .long, help: "Prompt tokens per pp run (0 skips pp).")
    var promptTokens: Int = 512

    @Option(name: .long, help: "Generated tokens per tg run (0 skips tg).")
    var genTokens: Int = 128

    @Option(name: .long, help: "Runs per measurement; medians and min–max are reported.")
    var repetitions: Int = 5

    @Flag(name: .long, help: "Skip the memory bandwidth measurement.")
    var noBandwidth = false

    @Flag(name: .long, help: "Also time tg with per-op accounting off, alternating, and report its overhead.")
    var accountingOverhead = false

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
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 && $0! <= 512 }) else { return nil }
        return parts.map { $0! }
    }

    struct Spread: Codable { var min: Double; var max: Double }

    struct OpRow: Codable {
        var op: String
        var calls_per_token: Double
        var microseconds_per_token: Double
        var bytes_per_token: Double
        var macs_per_token: Double
        var gigabytes_per_second: Double
    }

    struct Run: Codable {
        var model: String
        var threads: Int
        var prompt_tokens: Int
        var gen_tokens: Int
        var pp_tokens_per_second: Double?
        var pp_spread: Spread?
        var tg_tokens_per_second: Double?
        var tg_spread: Spread?
        var weight_bytes_per_token: Int
        var bandwidth_best_bytes_per_second: Double?
        var bandwidth_median_bytes_per_second: Double?
        var tg_ceiling_tokens_per_second: Double?
        var tg_share_of_ceiling: Double?
        var breakdown: [OpRow]
        var accounting_overhead_percent: Double?
        /// Direct estimate: records per token × measured cost of one record, as a share of a token.
        var accounting_cost_percent: Double?
    }

    func run() throws {
        let path = try resolveModelPath(model)
        var runs: [Run] = []
        for t in threadCounts! {
            let loaded = try LoadedModel(path: path, contextLength: max(promptTokens + genTokens + 1, 64), threadCount: t)
            let lm = loaded.model
            var bandwidth: MemoryBandwidth?
            if !noBandwidth {
                if !json { printError("measuring memory bandwidth with \(t) thread(s)…") }
                bandwidth = MemoryBandwidth.measure(pool: lm.context.pool)
            }
            // Token ids spread over the vocabulary (content does not change speed).
            let tokens = (0..<max(promptTokens, 8)).map { Int32(($0 * 7919 + 13) % lm.vocabularySize) }
            lm.truncate(to: 0)
            _ = try lm.evaluate(Array(tokens.prefix(8)), allLogits: false)  // warm-up: page in the weights
            var pp: [Double] = [], tg: [Double] = [], tgQuiet: [Double] = []
            for rep in 0..<repetitions {
                if promptTokens > 0 {
                    lm.truncate(to: 0)
                    let s = OpAccounting.now()
                    _ = try lm.evaluate(Array(tokens.prefix(promptTokens)), allLogits: false)
                    pp.append(Double(promptTokens) / seconds(since: s))
                }
                if genTokens > 0 {
                    tg.append(try generationSpeed(lm, first: tokens[0]))
                    if accountingOverhead {
                        lm.context.accounting.isEnabled = false
                        tgQuiet.append(try generationSpeed(lm, first: tokens[rep % tokens.count]))
                        lm.context.accounting.isEnabled = true
                    }
                }
                if !json { printError("threads \(t): repetition \(rep + 1)/\(repetitions)") }
            }
            let breakdown = genTokens > 0 ? try opBreakdown(lm, first: tokens[0]) : []
            let recordsPerToken = breakdown.filter { !$0.op.hasPrefix("thread sync") && !$0.op.hasPrefix("unaccounted") }
                .reduce(0) { $0 + $1.calls_per_token }
            let bytes = lm.weightBytesPerToken
            let tgMedian = tg.isEmpty ? nil : median(tg)
            let ceiling = bandwidth.map { $0.ceilingTokensPerSecond(bytesPerToken: bytes) }
            runs.append(Run(
                model: loaded.name, threads: t, prompt_tokens: promptTokens, gen_tokens: genTokens,
                pp_tokens_per_second: pp.isEmpty ? nil : median(pp), pp_spread: pp.isEmpty ? nil : Spread(min: pp.min()!, max: pp.max()!),
                tg_tokens_per_second: tgMedian, tg_spread: tg.isEmpty ? nil : Spread(min: tg.min()!, max: tg.max()!),
                weight_bytes_per_token: bytes,
                bandwidth_best_bytes_per_second: bandwidth?.best, bandwidth_median_bytes_per_second: bandwidth?.median,
                tg_ceiling_tokens_per_second: ceiling,
                tg_share_of_ceiling: tgMedian.flatMap { v in ceiling.map { v / $0 } },
                breakdown: breakdown,
                accounting_overhead_percent: tgQuiet.isEmpty ? nil : (median(tgQuiet) / median(tg) - 1) * 100,
                accounting_cost_percent: tgMedian.map { recordsPerToken * Self.recordCostNanoseconds() * $0 / 1e9 * 100 }))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(runs), as: UTF8.self))
        } else {
            printTables(runs, path: path)
        }
    }

    /// Nanoseconds one accounting record costs (two clock reads and the adds), measured.
    static func recordCostNanoseconds() -> Double {
        var accounting = OpAccounting()
        let n = 200_000
        let s = OpAccounting.now()
        for i in 0..<n { accounting.record(.other, since: OpAccounting.now(), bytes: i, macs: i) }
        return Double(OpAccounting.now() &- s) / Double(n)
    }

    /// tg: generation from an empty cache, one token at a time (as llama-bench's tg).
    private func generationSpeed(_ lm: LanguageModel, first: Int32) throws -> Double {
        lm.truncate(to: 0)
        var next = first
        let s = OpAccounting.now()
        for _ in 0..<genTokens {
            next = Int32(argmax(try lm.evaluate([next], allLogits: false)))
        }
        return Double(genTokens) / seconds(since: s)
    }

    /// Per-op accounting averaged over decoded tokens at the start of a generation.
    private func opBreakdown(_ lm: LanguageModel, first: Int32) throws -> [OpRow] {
        let n = min(genTokens, 32)
        lm.truncate(to: 0)
        let ctx = lm.context
        ctx.accounting.reset()
        let wait0 = ctx.pool.waitNanoseconds, dispatch0 = ctx.pool.dispatchCount
        var next = first
        let s = OpAccounting.now()
        for _ in 0..<n { next = Int32(argmax(try lm.evaluate([next], allLogits: false))) }
        let total = Double(OpAccounting.now() &- s) / 1e9
        let a = ctx.accounting
        var rows: [OpRow] = OpClass.allCases.compactMap { op in
            let e = a[op]
            guard e.calls > 0 else { return nil }
            return OpRow(
                op: op.description, calls_per_token: Double(e.calls) / Double(n),
                microseconds_per_token: Double(e.nanoseconds) / 1e3 / Double(n),
                bytes_per_token: Double(e.bytes) / Double(n), macs_per_token: Double(e.macs) / Double(n),
                gigabytes_per_second: e.nanoseconds > 0 ? Double(e.bytes) / Double(e.nanoseconds) : 0)
        }
        let waited = Double(ctx.pool.waitNanoseconds - wait0)
        rows.append(OpRow(
            op: "thread sync (inside the ops above)", calls_per_token: Double(ctx.pool.dispatchCount - dispatch0) / Double(n),
            microseconds_per_token: waited / 1e3 / Double(n), bytes_per_token: 0, macs_per_token: 0, gigabytes_per_second: 0))
        let accounted = Double(a.totalNanoseconds) / 1e9
        rows.append(OpRow(
            op: "unaccounted (sampling, glue)", calls_per_token: 1,
            microseconds_per_token: max(0, total - accounted) * 1e6 / Double(n), bytes_per_token: 0, macs_per_token: 0,
            gigabytes_per_second: 0))
        return rows
    }

    private func printTables(_ runs: [Run], path: String) {
        print("model: \(path)")
        if let r = runs.first { print(String(format: "weights read per token: %.2f MB", Double(r.weight_bytes_per_token) / 1e6)) }
        print("")
        print("| threads | test | tok/s (median) | min – max | memory GB/s (best) | tg ceiling tok/s | share of ceiling |")
        print("|---:|---|---:|---|---:|---:|---:|")
        for r in runs {
            let bw = r.bandwidth_best_bytes_per_second.map { String(format: "%.1f", $0 / 1e9) } ?? "–"
            if let v = r.pp_tokens_per_second, let s = r.pp_spread {
                print(String(format: "| %d | pp%d | %.1f | %.1f – %.1f | %@ | | |", r.threads, r.prompt_tokens, v, s.min, s.max, bw))
            }
            if let v = r.tg_tokens_per_second, let s = r.tg_spread {
                let ceiling = r.tg_ceiling_tokens_per_second.map { String(format: "%.1f", $0) } ?? "–"
                let share = r.tg_share_of_ceiling.map { String(format: "%.0f%%", $0 * 100) } ?? "–"
                print(String(format: "| %d | tg%d | %.1f | %.1f – %.1f | %@ | %@ | %@ |", r.threads, r.gen_tokens, v, s.min, s.max, bw, ceiling, share))
            }
            if let o = r.accounting_overhead_percent {
                print(String(format: "|   | accounting on vs off (tg A/B) | %+.2f%% | | | | |", o))
            }
            if let o = r.accounting_cost_percent {
                print(String(format: "|   | accounting cost (records × ns) | %.2f%% | | | | |", o))
            }
        }
        for r in runs where !r.breakdown.isEmpty {
            print("\nOne decoded token, \(r.threads) thread(s) (mean of the first 32 tokens):")
            print("| op | calls | µs | MB | MMAC | GB/s |")
            print("|---|---:|---:|---:|---:|---:|")
            for o in r.breakdown {
                print(String(format: "| %@ | %.0f | %.1f | %.2f | %.2f | %.1f |", o.op, o.calls_per_token, o.microseconds_per_token,
                             o.bytes_per_token / 1e6, o.macs_per_token / 1e6, o.gigabytes_per_second))
            }
        }
    }
}

func seconds(since start: UInt64) -> Double { Double(OpAccounting.now() &- start) / 1e9 }

func argmax(_ xs: UnsafeBufferPointer<Float>) -> Int {
    var best = 0
    for i in 1..<xs.count where xs[i] > xs[best] { best = i }
    return best
}
