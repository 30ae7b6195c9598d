import Foundation
import SparrowRuntime
import Testing
import SparrowLLM

/// Gemma-3 270M Q4_K_M against llama.cpp (../shared/reference/gemma3): greedy tokens and top-5 logits.
///
/// Tolerance: both engines round every matmul input to 8 bits (Q8_0 / Q8_K blocks), and llama.cpp
/// also rounds the GeGLU through half precision (which Sparrow reproduces); float-level differences
/// upstream flip individual roundings. Gemma's activations have large outliers and its logits run
/// to ~26, so the noise is larger than SmolLM2's: measured, Sparrow's own batched and token-by-token
/// paths (same weights, different summation order before the 8-bit rounding) differ by up to 0.64,
/// and Sparrow vs llama.cpp by up to 0.76 on the reference steps; the same model with its weights
/// dequantized to F32 (so float activations) stays within 0.5 of llama.cpp on the raw prompts. A
/// "near tie" is a top-2 gap below that noise.
@Suite(.serialized)
struct Gemma3Tests {
    static let logitTolerance: Float = 1.0
    static let nearTieGap: Float = 1.0

    static func load(threads: Int = 2, context: Int = 512) throws -> Gemma3Model {
        let gguf = try GGUFFile(path: try TestModels.gemma3())
        return try Gemma3Model(gguf: gguf, contextLength: context, context: ExecutionContext(threadCount: threads))
    }

    static func reference(_ name: String) throws -> GreedyReference {
        try GreedyReference(path: TestModels.referenceDirectory + "/gemma3/" + name)
    }

    @Test(arguments: ["greedy-capital-of-france.txt", "greedy-once-upon-a-time.txt", "greedy-chat.txt"])
    func greedyDecodingFollowsLlamaCpp(file: String) throws {
        try Self.reference(file).checkGreedy(model: try Self.load(), tolerance: Self.logitTolerance, nearTie: Self.nearTieGap)
    }

    /// llama-perplexity -c 512 -b 512 on the GPL-3 text (BOS per chunk): 13.9062 over 14 chunks
    /// (../shared/reference/gemma3/README.md); within 1%, as the issue asks.
    @Test func perplexityOnGPL3MatchesLlamaCppWithinOnePercent() throws {
        let text = try String(contentsOfFile: PerplexityReference.textPath, encoding: .utf8)
        let loaded = try LoadedModel(path: TestModels.gemma3(), contextLength: 512)
        let result = try Perplexity.compute(model: loaded.model, tokenizer: loaded.tokenizer, text: text, contextLength: 512)
        #expect(result.chunkCount == 14)
        let reference = 13.9062
        #expect(abs(result.value - reference) / reference < 0.01, "PPL \(result.value) vs llama.cpp \(reference)")
    }

    /// The tokenizer the file describes (SPM, no space prefix) encodes the reference prompts as
    /// llama.cpp did (the files hold ids only; the texts are those of ../shared/reference/gemma3/README.md).
    @Test(arguments: [
        ("greedy-capital-of-france.txt", "The capital of France is"),
        ("greedy-once-upon-a-time.txt", "Once upon a time"),
        ("greedy-chat.txt", "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n"),
    ])
    func tokenizerEncodesReferencePrompts(file: String, text: String) throws {
        let ref = try Self.reference(file)
        let tokenizer = try makeTokenizer(gguf: GGUFFile(path: TestModels.gemma3()))
        #expect(tokenizer.encode(text, addSpecial: true, parseSpecial: true) == ref.promptIDs)
    }

    @Test func configurationReadsGemma3Metadata() throws {
        let c = try Self.load().configuration
        #expect(c.layerCount == 18 && c.embeddingLength == 640 && c.headCount == 4 && c.kvHeadCount == 1)
        #expect(c.headDimension == 256 && c.slidingWindow == 512 && c.vocabularySize == 262144)
        // Layers 5, 11 and 17 are global; the rest slide (pattern 6).
        #expect((0..<18).filter { !c.isSliding(layer: $0) } == [5, 11, 17])
    }

    /// A prompt longer than the sliding window, in one batch or token by token, gives the same
    /// logits (the window is applied the same way by the prompt and the decode kernels).
    @Test func batchedPromptMatchesTokenByTokenBeyondTheWindow() throws {
        var ids: [Int32] = [2]
        var g = UInt32(7)
        for _ in 0..<600 { g = g &* 1664525 &+ 1013904223; ids.append(Int32(1000 + g % 20000)) }
        let batched = try Self.load(context: 700)
        let a = Array(try batched.evaluate(ids, allLogits: false))
        let single = try Self.load(context: 700)
        _ = try single.evaluate(Array(ids[0..<520]), allLogits: false)
        var b: [Float] = []
        for t in ids[520...] { b = Array(try single.evaluate([t], allLogits: false)) }
        let maxDiff = zip(a, b).map { abs($0 - $1) }.max()!
        // Same noise bound as against llama.cpp (see the suite comment); the exact window checks are the
        // kernel-level tests in SparrowRuntimeTests (OpsTests, KernelParityTests).
        #expect(maxDiff < Self.logitTolerance, "max logit difference \(maxDiff)")
    }
}
