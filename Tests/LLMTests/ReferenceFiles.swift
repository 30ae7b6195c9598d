import Foundation
import SparrowLLM
import Testing

/// A llama.cpp greedy-decoding reference (../shared/reference/*/greedy-*.txt): prompt ids, generated
/// ids and the top-5 (id, logit) at every step.
struct GreedyReference {
    var promptIDs: [Int32] = []
    var generatedIDs: [Int32] = []
    var generatedText = ""
    var prompt = ""
    var steps: [[(id: Int32, logit: Float)]] = []

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("PROMPT_IDS=") {
                promptIDs = GreedyReference.ids(line.dropFirst("PROMPT_IDS=".count))
            } else if line.hasPrefix("GEN_IDS=") {
                generatedIDs = GreedyReference.ids(line.dropFirst("GEN_IDS=".count))
            } else if line.hasPrefix("GEN_TEXT=") {
                generatedText = GreedyReference.unquote(line.dropFirst("GEN_TEXT=".count))
            } else if line.hasPrefix("CHAT_PROMPT=") || line.hasPrefix("PROMPT=") {
                if prompt.isEmpty { prompt = GreedyReference.unquote(line.drop { $0 != "=" }.dropFirst()) }
            } else if line.hasPrefix("step") {
                let parts = line.split(separator: ":", maxSplits: 1)
                let pairs = parts[1].split(separator: " ").compactMap { pair -> (Int32, Float)? in
                    let kv = pair.split(separator: ":")
                    guard kv.count == 2, let id = Int32(kv[0]), let logit = Float(kv[1]) else { return nil }
                    return (id, logit)
                }
                steps.append(pairs.map { (id: $0.0, logit: $0.1) })
            }
        }
    }

    /// The first step whose top-2 logits are closer than `gap` (a near-tie), or steps.count.
    func firstNearTie(gap: Float) -> Int {
        steps.firstIndex { $0.count >= 2 && $0[0].logit - $0[1].logit < gap } ?? steps.count
    }

    private static func ids<S: StringProtocol>(_ s: S) -> [Int32] {
        s.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",").compactMap {
            Int32($0.trimmingCharacters(in: .whitespaces))
        }
    }

    /// Undoes the C-style quoting of the reference files ("…\n…").
    static func unquote<S: StringProtocol>(_ s: S) -> String {
        var body = Substring(s.trimmingCharacters(in: .whitespaces))
        if body.hasPrefix("'") || body.hasPrefix("\"") { body = body.dropFirst().dropLast() }
        var out = ""
        var escaping = false
        for ch in body {
            if escaping {
                switch ch {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\\": out.append("\\")
                case "\"": out.append("\"")
                case "'": out.append("'")
                default: out.append("\\"); out.append(ch)
                }
                escaping = false
            } else if ch == "\\" {
                escaping = true
            } else {
                out.append(ch)
            }
        }
        return out
    }
}

extension GreedyReference {
    /// Top-5 of llama.cpp at each step must be Sparrow's top-5 values within `tolerance`, and greedy
    /// decoding must follow llama.cpp's tokens up to the first top-2 gap below `nearTie`.
    func checkGreedy(model: LanguageModel, tolerance: Float, nearTie: Float) throws {
        try #require(!promptIDs.isEmpty && !steps.isEmpty)
        let stop = firstNearTie(gap: nearTie)
        var logits = Array(try model.evaluate(promptIDs, allLogits: false))
        // Logits are compared at every step up to and including the first near-tie; greedy choices
        // before it.
        for step in 0...min(stop, generatedIDs.count - 1) {
            for (id, expected) in steps[step] {
                #expect(abs(logits[Int(id)] - expected) < tolerance,
                        "step \(step) token \(id): \(logits[Int(id)]) vs llama.cpp \(expected)")
            }
            if step == stop { break }
            let argmax = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            #expect(argmax == generatedIDs[step], "step \(step): greedy token \(argmax), llama.cpp \(generatedIDs[step])")
            guard argmax == generatedIDs[step] else { return }
            logits = Array(try model.evaluate([argmax], allLogits: false))
        }
    }
}
