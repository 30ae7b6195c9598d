import Foundation
import SparrowRuntime

/// Hyper-parameters of a Gemma 3 text model, read from GGUF `gemma3.*` metadata (matches llama.cpp's
/// llama_model_gemma3::load_arch_hparams).
public struct Gemma3Configuration: Sendable, Equatable {
    public var vocabularySize: Int
    public var embeddingLength: Int           // D
    public var layerCount: Int
    public var feedForwardLength: Int         // F
    public var headCount: Int                 // Hq
    public var kvHeadCount: Int               // Hkv
    public var headDimension: Int             // Dh
    public var rmsNormEpsilon: Float
    public var trainingContextLength: Int
    /// RoPE base of the global-attention layers (`rope.freq_base`).
    public var ropeFrequencyBase: Double
    /// RoPE base of the sliding-window layers (`rope.freq_base_swa`, default 10000).
    public var slidingRopeFrequencyBase: Double
    /// Frequency scale of the global layers (1 / `rope.scaling.factor` for linear scaling, else 1).
    public var ropeFrequencyScale: Double
    /// Positions a sliding-window layer sees (`attention.sliding_window`); 0: every layer is global.
    public var slidingWindow: Int
    /// Every `slidingWindowPattern`-th layer is global, the others slide (`attention.sliding_window_pattern`, default 6).
    public var slidingWindowPattern: Int
    /// Scale applied to queries: 1/√Dh (1/√(D/Hq) for the 62-layer 27B model, as Gemma's reference code).
    public var attentionScale: Float
    /// tanh soft-capping of the logits (`final_logit_softcapping`), nil when absent.
    public var finalLogitSoftcap: Float?

    /// Reads and validates the `gemma3.*` keys.
    public init(gguf: GGUFFile) throws {
        let arch = try gguf.string("general.architecture")
        guard arch == "gemma3" else { throw ModelError.unsupportedArchitecture(arch, file: gguf.path) }
        func key(_ k: String) -> String { "gemma3.\(k)" }
        embeddingLength = try gguf.int(key("embedding_length"))
        layerCount = try gguf.int(key("block_count"))
        feedForwardLength = try gguf.int(key("feed_forward_length"))
        headCount = try gguf.int(key("attention.head_count"))
        kvHeadCount = (try? gguf.int(key("attention.head_count_kv"))) ?? headCount
        trainingContextLength = try gguf.int(key("context_length"))
        rmsNormEpsilon = Float(try gguf.float(key("attention.layer_norm_rms_epsilon")))
        ropeFrequencyBase = (try? gguf.float(key("rope.freq_base"))) ?? 10000
        slidingRopeFrequencyBase = (try? gguf.float(key("rope.freq_base_swa"))) ?? 10000
        if let type = gguf.value(key("rope.scaling.type"))?.stringValue, type != "none" {
            guard type == "linear", let factor = try? gguf.float(key("rope.scaling.factor")), factor > 0 else {
                throw FormatError(file: gguf.path, offset: nil, message: "RoPE scaling '\(type)' is not supported (supported: linear)")
            }
            ropeFrequencyScale = 1 / factor
        } else {
            ropeFrequencyScale = 1
        }
        slidingWindow = (try? gguf.int(key("attention.sliding_window"))) ?? 0
        slidingWindowPattern = (try? gguf.int(key("attention.sliding_window_pattern"))) ?? 6
        guard headCount > 0, kvHeadCount > 0, headCount % kvHeadCount == 0 else {
            throw FormatError(file: gguf.path, offset: nil, message: "inconsistent heads: \(headCount) query heads, \(kvHeadCount) KV heads")
        }
        headDimension = (try? gguf.int(key("attention.key_length"))) ?? embeddingLength / headCount
        if let valueLength = try? gguf.int(key("attention.value_length")), valueLength != headDimension {
            throw FormatError(file: gguf.path, offset: nil, message: "key length \(headDimension) and value length \(valueLength) differ; not supported")
        }
        if let tokens = gguf.value("tokenizer.ggml.tokens")?.arrayValue {
            vocabularySize = tokens.count
        } else {
            vocabularySize = try gguf.int(key("vocab_size"))
        }
        attentionScale = layerCount == 62
            ? 1 / Float(embeddingLength / headCount).squareRoot()
            : 1 / Float(headDimension).squareRoot()
        let cap = (try? gguf.float(key("final_logit_softcapping"))).map(Float.init)
        finalLogitSoftcap = (cap ?? 0) > 0 ? cap : nil
        let limits = [embeddingLength, layerCount, feedForwardLength, headDimension, vocabularySize, trainingContextLength]
        guard limits.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }), layerCount <= 1024, headDimension % 2 == 0,
              slidingWindow >= 0, slidingWindowPattern > 0, rmsNormEpsilon > 0, ropeFrequencyBase > 0,
              slidingRopeFrequencyBase > 0 else {
            throw FormatError(file: gguf.path, offset: nil, message: "gemma3 hyper-parameters out of range: \(self)")
        }
    }

    /// Whether layer `i` attends through the sliding window (llama.cpp's set_swa_pattern: all but
    /// every `slidingWindowPattern`-th layer, counting from 1).
    public func isSliding(layer i: Int) -> Bool {
        slidingWindow > 0 && i % slidingWindowPattern < slidingWindowPattern - 1
    }
}

/// A Gemma 3 text decoder over GGUF weights (matches llama.cpp's gemma3 graph).
///
/// Embeddings are scaled by √D. Each block: h = x + N_post(Wo·attn(rope(N_q(Wq·n)), rope(N_k(Wk·n)), Wv·n)),
/// n = N_attn(x); out = h + N_ffpost(W2·(gelu(W1·N_ff(h)) ⊙ W3·N_ff(h))). Every N is an RMSNorm with its
/// own weight (N_q and N_k per head: QK-norm); RoPE pairs halves (NeoX); sliding-window layers use
/// their own RoPE base and see the last `slidingWindow` positions, every sixth layer is global. Logits
/// come from the tied token embeddings, soft-capped when the file says so.
public final class Gemma3Model: LanguageModel {
    public let configuration: Gemma3Configuration
    public let context: ExecutionContext
    public let contextLength: Int
    public var position: Int { cache.count }
    public var vocabularySize: Int { configuration.vocabularySize }
    /// Tokens processed per forward step when evaluating a long prompt.
    public let batchSize: Int

    private let gguf: GGUFFile
    private let tokenEmbedding: WeightMatrix   // [V, D]
    private let output: WeightMatrix           // [V, D]
    private let outputNorm: [Float]
    private let layers: [Layer]
    private let globalRope, slidingRope: RotaryEmbedding
    private let cache: KVCache
    private let buffers: ActivationBuffers

    private struct Layer {
        let attentionNorm, queryNorm, keyNorm, postAttentionNorm: [Float]
        let q, k, v, o: WeightMatrix
        let feedForwardNorm, postFeedForwardNorm: [Float]
        let gate, up, down: WeightMatrix
    }

    /// - Parameters:
    ///   - contextLength: KV cache positions (default 4096), capped by the training context.
    ///   - batchSize: prompt tokens per forward step (default 512).
    public init(gguf: GGUFFile, contextLength: Int = 4096, batchSize: Int = 512, context: ExecutionContext) throws {
        let c = try Gemma3Configuration(gguf: gguf)
        configuration = c
        self.gguf = gguf
        self.context = context
        self.contextLength = max(1, min(contextLength, c.trainingContextLength))
        self.batchSize = max(1, min(batchSize, self.contextLength))
        let D = c.embeddingLength, F = c.feedForwardLength, V = c.vocabularySize, Dh = c.headDimension
        let qDim = c.headCount * Dh, kvDim = c.kvHeadCount * Dh

        let loader = TensorLoader(gguf)
        tokenEmbedding = try loader.matrix("token_embd.weight", V, D)
        outputNorm = try loader.vector("output_norm.weight", D)
        output = try loader.output(tiedTo: tokenEmbedding)
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            return Layer(
                attentionNorm: try loader.vector(p + "attn_norm.weight", D),
                queryNorm: try loader.vector(p + "attn_q_norm.weight", Dh),
                keyNorm: try loader.vector(p + "attn_k_norm.weight", Dh),
                postAttentionNorm: try loader.vector(p + "post_attention_norm.weight", D),
                q: try loader.matrix(p + "attn_q.weight", qDim, D),
                k: try loader.matrix(p + "attn_k.weight", kvDim, D),
                v: try loader.matrix(p + "attn_v.weight", kvDim, D),
                o: try loader.matrix(p + "attn_output.weight", D, qDim),
                feedForwardNorm: try loader.vector(p + "ffn_norm.weight", D),
                postFeedForwardNorm: try loader.vector(p + "post_ffw_norm.weight", D),
                gate: try loader.matrix(p + "ffn_gate.weight", F, D),
                up: try loader.matrix(p + "ffn_up.weight", F, D),
                down: try loader.matrix(p + "ffn_down.weight", D, F))
        }
        try loader.refuseUnused(architecture: "gemma3 text")
        globalRope = RotaryEmbedding(
            dimensionCount: Dh, base: c.ropeFrequencyBase, pairing: .halves, maxPositions: self.contextLength,
            frequencyScale: c.ropeFrequencyScale)
        slidingRope = RotaryEmbedding(
            dimensionCount: Dh, base: c.slidingRopeFrequencyBase, pairing: .halves, maxPositions: self.contextLength)
        cache = KVCache(
            layerCount: c.layerCount, capacity: self.contextLength, kvHeadCount: c.kvHeadCount,
            headDimension: Dh, threadCount: context.threadCount)
        buffers = ActivationBuffers(batch: self.batchSize, D: D, F: F, qDim: qDim, kvDim: kvDim, V: V)
    }

    public var weightBytesPerToken: Int {
        var bytes = output.byteCount + tokenEmbedding.rowBytes
        for l in layers {
            bytes += [l.q, l.k, l.v, l.o, l.gate, l.up, l.down].reduce(0) { $0 + $1.byteCount }
            bytes += [l.attentionNorm, l.queryNorm, l.keyNorm, l.postAttentionNorm, l.feedForwardNorm, l.postFeedForwardNorm]
                .reduce(0) { $0 + $1.count * 4 }
        }
        return bytes + outputNorm.count * 4
    }

    public var kvCacheBytes: Int { cache.byteCount }

    public func truncate(to position: Int) { cache.truncate(to: position) }

    public func evaluate(_ tokens: [Int32], allLogits: Bool) throws -> UnsafeBufferPointer<Float> {
        try buffers.evaluateInBatches(
            tokens, allLogits: allLogits, position: cache.count, contextLength: contextLength,
            vocabularySize: vocabularySize, batchSize: batchSize, forward: forward)
    }

    private func forward(_ tokens: ArraySlice<Int32>, logitRows: Range<Int>?, logits: UnsafeMutablePointer<Float>) {
        let c = configuration, ctx = context, b = buffers
        let T = tokens.count, D = c.embeddingLength, F = c.feedForwardLength
        let Hq = c.headCount, Hkv = c.kvHeadCount, Dh = c.headDimension
        let p0 = cache.count, eps = c.rmsNormEpsilon

        tokenEmbedding.embed(tokens, into: b.x, scale: Float(D).squareRoot(), context: ctx)

        func norm(_ weight: [Float], _ x: UnsafePointer<Float>, rows: Int, n: Int, into y: UnsafeMutablePointer<Float>) {
            weight.withUnsafeBufferPointer { w in
                Kernels.rmsNorm(x, weight: w.baseAddress!, epsilon: eps, rows: rows, n: n, output: y, context: ctx)
            }
        }

        for (li, l) in layers.enumerated() {
            let sliding = c.isSliding(layer: li)
            let rope = sliding ? slidingRope : globalRope
            // Attention block.
            norm(l.attentionNorm, b.x, rows: T, n: D, into: b.xn)
            Kernels.matmul(
                input: b.xn, tokens: T, context: ctx, op: .matvecAttention,
                MatmulTarget(l.q, b.q), MatmulTarget(l.k, b.k), MatmulTarget(l.v, b.v))
            norm(l.queryNorm, b.q, rows: T * Hq, n: Dh, into: b.q)
            norm(l.keyNorm, b.k, rows: T * Hkv, n: Dh, into: b.k)
            Kernels.rope(b.q, tokens: T, heads: Hq, headDimension: Dh, firstPosition: p0, rope: rope, context: ctx)
            Kernels.rope(b.k, tokens: T, heads: Hkv, headDimension: Dh, firstPosition: p0, rope: rope, context: ctx)
            cache.store(layer: li, firstPosition: p0, tokens: T, keys: b.k, values: b.v)
            Kernels.attention(
                query: b.q, cache: cache, layer: li, firstPosition: p0, tokens: T, heads: Hq, scale: c.attentionScale,
                window: sliding ? c.slidingWindow : 0, output: b.attention, context: ctx)
            Kernels.matmul(input: b.attention, tokens: T, context: ctx, op: .matvecAttention, MatmulTarget(l.o, b.xn))
            norm(l.postAttentionNorm, b.xn, rows: T, n: D, into: b.xn)
            Kernels.add(b.xn, into: b.x, count: T * D, context: ctx)

            // Feed-forward block.
            norm(l.feedForwardNorm, b.x, rows: T, n: D, into: b.xn)
            Kernels.matmul(
                input: b.xn, tokens: T, context: ctx, op: .matvecFeedForward,
                MatmulTarget(l.gate, b.gate), MatmulTarget(l.up, b.up))
            Kernels.geGLU(gate: b.gate, up: b.up, count: T * F, context: ctx)
            Kernels.matmul(input: b.gate, tokens: T, context: ctx, op: .matvecFeedForward, MatmulTarget(l.down, b.xn))
            norm(l.postFeedForwardNorm, b.xn, rows: T, n: D, into: b.xn)
            Kernels.add(b.xn, into: b.x, count: T * D, context: ctx)
        }
        cache.count = p0 + T

        guard let rows = logitRows, !rows.isEmpty else { return }
        norm(outputNorm, b.x + rows.lowerBound * D, rows: rows.count, n: D, into: b.xn)
        Kernels.matmul(input: b.xn, tokens: rows.count, context: ctx, op: .matvecOutput, MatmulTarget(output, logits))
        if let cap = c.finalLogitSoftcap {
            let n = rows.count * vocabularySize
            for i in 0..<n { logits[i] = cap * tanh(logits[i] / cap) }
        }
    }
}
