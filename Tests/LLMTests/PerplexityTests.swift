import Foundation
import SparrowLLM
import SparrowRuntime
import Testing

/// llama-perplexity on the same file and text (../shared/reference/llm/README.md):
/// Q4_1 `-c 512 -b 512` on /usr/share/common-licenses/GPL-3 gives PPL = 18.3914 over 14 chunks.
enum PerplexityReference {
    static let textPath = "/usr/share/common-licenses/GPL-3"
    static let q4_1 = 18.3914
    static let chunks = 14
    /// Within 0.5% of llama.cpp (issue 2 asked for 1%; issue 3 for fast paths that move it by less
    /// than 0.5%). Sparrow measured 18.3645 (−0.15%).
    static let relativeTolerance = 0.005
}

@Suite struct PerplexityTests {
    @Test func perplexityOnGPL3MatchesLlamaCppWithinOnePercent() throws {
        let text = try String(contentsOfFile: PerplexityReference.textPath, encoding: .utf8)
        let loaded = try LoadedModel(path: TestModels.smolLM2(), contextLength: 512)
        let result = try Perplexity.compute(model: loaded.model, tokenizer: loaded.tokenizer, text: text, contextLength: 512)
        #expect(result.chunkCount == PerplexityReference.chunks)
        #expect(result.scoredTokens == PerplexityReference.chunks * 255)
        let relative = abs(result.value - PerplexityReference.q4_1) / PerplexityReference.q4_1
        #expect(relative < PerplexityReference.relativeTolerance, "PPL \(result.value) vs llama.cpp \(PerplexityReference.q4_1)")
    }

    @Test func tooShortTextIsAClearError() throws {
        let loaded = try LoadedModel(path: TestModels.smolLM2(), contextLength: 512)
        #expect(throws: PerplexityError.self) {
            _ = try Perplexity.compute(model: loaded.model, tokenizer: loaded.tokenizer, text: "Too short.", contextLength: 512)
        }
    }
}
