import Foundation
import SparrowRuntime

/// Perplexity of a text following llama-perplexity's protocol (matches llama.cpp
/// tools/perplexity/perplexity.cpp, `perplexity()`): the tokens are cut into independent chunks of
/// `contextLength` tokens, each evaluated from an empty cache, and each scored on its second half
/// (the predictions of tokens first+1 … n-1 with first = n/2). With add_bos, the chunk's first token
/// is replaced by BOS.
public struct Perplexity: Sendable {
    public var value: Double
    /// Standard error, propagated as llama.cpp does: sqrt((E[nll²] − E[nll]²) / (N − 1)) · PPL.
    public var error: Double
    public var chunkCount: Int
    public var scoredTokens: Int

    /// - Parameter progress: called after each chunk with (chunk index, chunks, running PPL).
    public static func compute(
        model: LanguageModel, tokenizer: any Tokenizer, text: String, contextLength: Int,
        progress: (Int, Int, Double) -> Void = { _, _, _ in }
    ) throws -> Perplexity {
        let tokens = tokenizer.encode(text, addSpecial: tokenizer.addBOS, parseSpecial: false)
        let n = contextLength
        guard n >= 2 else { throw PerplexityError.contextTooSmall(n) }
        guard n <= model.contextLength else { throw PerplexityError.contextTooLarge(n, model.contextLength) }
        let chunks = tokens.count / n
        guard chunks > 0 else { throw PerplexityError.textTooShort(tokens: tokens.count, needed: n) }
        let V = model.vocabularySize
        let first = n / 2
        var nll = 0.0, nll2 = 0.0
        var count = 0
        for c in 0..<chunks {
            var chunk = Array(tokens[(c * n)..<((c + 1) * n)])
            if tokenizer.addBOS, let bos = tokenizer.bosTokenID { chunk[0] = bos }
            model.truncate(to: 0)
            let logits = try model.evaluate(chunk, allLogits: true)
            for i in first..<(n - 1) {
                let row = UnsafeBufferPointer(rebasing: logits[(i * V)..<((i + 1) * V)])
                let target = Int(chunk[i + 1])
                var maxLogit = -Float.infinity
                for v in row where v > maxLogit { maxLogit = v }
                var sum = 0.0
                for v in row { sum += Double(expf(v - maxLogit)) }
                let logProb = Double(row[target] - maxLogit) - log(sum)
                nll -= logProb
                nll2 += logProb * logProb
                count += 1
            }
            progress(c, chunks, exp(nll / Double(count)))
        }
        model.truncate(to: 0)
        let mean = nll / Double(count)
        let ppl = exp(mean)
        let variance = nll2 / Double(count) - mean * mean
        let err = variance > 0 && count > 1 ? (variance / Double(count - 1)).squareRoot() * ppl : 0
        return Perplexity(value: ppl, error: err, chunkCount: chunks, scoredTokens: count)
    }
}

public enum PerplexityError: Error, CustomStringConvertible {
    case contextTooSmall(Int)
    case contextTooLarge(Int, Int)
    case textTooShort(tokens: Int, needed: Int)

    public var description: String {
        switch self {
        case .contextTooSmall(let n): return "--context \(n) is too small for perplexity (at least 2)"
        case .contextTooLarge(let n, let m): return "--context \(n) exceeds the model's context of \(m)"
        case .textTooShort(let t, let n): return "the text has \(t) tokens, fewer than one chunk of \(n); use a longer file or a smaller --context"
        }
    }
}
