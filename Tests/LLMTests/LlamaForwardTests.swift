import Foundation
import SparrowRuntime
import Testing
import SparrowLLM

/// Tolerances for comparing Sparrow's logits with llama.cpp's on the same file (named, per format).
///
/// F16 weights: both engines compute in float (llama.cpp rounds activations to f16), so logits agree
/// to a few hundredths and greedy decoding must agree up to the first top-2 gap below 0.05.
/// Q4_1 weights: both engines round every matmul input to 8 bits (Q8_1 blocks). Float-level
/// differences upstream (summation order, F16 KV rounding) flip individual roundings, and over 30
/// layers that moves logits by up to ~0.45 (measured: Sparrow with float activations reproduces
/// llama.cpp's F16 logits to 0.01, while llama.cpp's own Q4_1 run sits 0.2 above and Sparrow's
/// 8-bit run 0.2 below). So for Q4_1 a "near tie" is a gap below that noise.
enum LogitTolerance {
    static let f16Weights: Float = 0.05
    static let f16NearTieGap: Float = 0.05
    static let q4Weights: Float = 0.5
    static let q4NearTieGap: Float = 0.5
}

@Suite(.serialized)
struct LlamaForwardTests {
    static func load(threads: Int = 2, context: Int = 512, path: String? = nil) throws -> LlamaModel {
        let gguf = try GGUFFile(path: try path ?? TestModels.smolLM2())
        return try LlamaModel(gguf: gguf, contextLength: context, context: ExecutionContext(threadCount: threads))
    }

    static func reference(_ name: String) throws -> GreedyReference {
        try GreedyReference(path: TestModels.referenceDirectory + "/llm/" + name)
    }

    func checkGreedy(
        _ file: String, model: LlamaModel, tolerance: Float = LogitTolerance.q4Weights,
        nearTie: Float = LogitTolerance.q4NearTieGap
    ) throws {
        try Self.reference(file).checkGreedy(model: model, tolerance: tolerance, nearTie: nearTie)
    }

    @Test func greedyDecodingFollowsLlamaCppOnCapitalOfFrance() throws {
        try checkGreedy("greedy-q4_1-capital-of-france.txt", model: try Self.load())
    }

    @Test func greedyDecodingFollowsLlamaCppOnChatPrompt() throws {
        try checkGreedy("greedy-q4_1-chat.txt", model: try Self.load())
    }

    @Test func greedyDecodingFollowsLlamaCppWithF16Weights() throws {
        try checkGreedy(
            "greedy-f16-capital-of-france.txt", model: try Self.load(path: TestModels.smolLM2F16()),
            tolerance: LogitTolerance.f16Weights, nearTie: LogitTolerance.f16NearTieGap)
    }

    /// Evaluating a prompt in one batch or token by token gives the same logits up to float summation
    /// order (the batch takes the SGEMM and prompt-attention kernels, single tokens the mat-vec and
    /// decode ones). F16 weights, whose activations stay float: with 8-bit activations (Q4_1) a
    /// last-bit difference flips roundings and is amplified to tenths (see `LogitTolerance`).
    /// Measured: 0.0085 from SGEMM's summation order alone (prompt attention kernel disabled), 0.0067
    /// with everything on; the bound leaves 2x room.
    @Test func batchedPromptMatchesTokenByTokenPrompt() throws {
        let ids = try Self.reference("greedy-q4_1-chat.txt").promptIDs
        let path = try TestModels.smolLM2F16()
        let batched = try Self.load(path: path)
        let a = Array(try batched.evaluate(ids, allLogits: false))
        let single = try Self.load(path: path)
        var b: [Float] = []
        for t in ids { b = Array(try single.evaluate([t], allLogits: false)) }
        let maxDiff = zip(a, b).map { abs($0 - $1) }.max()!
        #expect(maxDiff < 0.02, "max logit difference \(maxDiff)")
    }

    @Test func contextOverflowIsAnErrorNotACrash() throws {
        let model = try Self.load(context: 8)
        #expect(throws: ModelError.contextFull(needed: 9, capacity: 8)) {
            _ = try model.evaluate(Array(repeating: 504, count: 9), allLogits: false)
        }
        #expect(throws: ModelError.tokenOutOfRange(49152, vocabularySize: 49152)) {
            _ = try model.evaluate([49152], allLogits: false)
        }
    }
}
