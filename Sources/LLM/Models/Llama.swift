import SparrowRuntime

/// Hyper-parameters of a Llama-style model, read from GGUF `llama.*` metadata or a Hugging Face
/// config.json (`init(huggingFace:)` in Llama+HuggingFace.swift).
public struct LlamaConfiguration: Sendable, Equatable {
    public var vocabularySize: Int
    public var embeddingLength: Int           // D
    public var layerCount: Int
    public var feedForwardLength: Int         // F
    public var headCount: Int                 // Hq
    public var kvHeadCount: Int               // Hkv
    public var headDimension: Int             // Dh
    public var ropeDimensionCount: Int
    public var ropeFrequencyBase: Double
    public var rmsNormEpsilon: Float
    public var trainingContextLength: Int

    /// Reads and validates the `llama.*` keys (matches llama.cpp's llm_load_hparams for LLM_ARCH_LLAMA).
    public init(gguf: GGUFFile) throws {
        let arch = try gguf.string("general.architecture")
        guard arch == "llama" else { throw ModelError.unsupportedArchitecture(arch, file: gguf.path) }
        func key(_ k: String) -> String { "\(arch).\(k)" }
        embeddingLength = try gguf.int(key("embedding_length"))
        layerCount = try gguf.int(key("block_count"))
        feedForwardLength = try gguf.int(key("feed_forward_length"))
        headCount = try gguf.int(key("attention.head_count"))
        kvHeadCount = (try? gguf.int(key("attention.head_count_kv"))) ?? headCount
        trainingContextLength = try gguf.int(key("context_length"))
        rmsNormEpsilon = Float(try gguf.float(key("attention.layer_norm_rms_epsilon")))
        ropeFrequencyBase = (try? gguf.float(key("rope.freq_base"))) ?? 10000
        guard headCount > 0, kvHeadCount > 0, headCount % kvHeadCount == 0, embeddingLength % headCount == 0 else {
            throw FormatError(
                file: gguf.path, offset: nil,
                message: "inconsistent heads: \(headCount) query heads, \(kvHeadCount) KV heads, embedding \(embeddingLength)")
        }
        headDimension = (try? gguf.int(key("attention.key_length"))) ?? embeddingLength / headCount
        ropeDimensionCount = (try? gguf.int(key("rope.dimension_count"))) ?? headDimension
        if let tokens = gguf.value("tokenizer.ggml.tokens")?.arrayValue {
            vocabularySize = tokens.count
        } else {
            vocabularySize = try gguf.int(key("vocab_size"))
        }
        let limits = [embeddingLength, layerCount, feedForwardLength, headDimension, vocabularySize, trainingContextLength]
        guard limits.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }), layerCount <= 1024,
              ropeDimensionCount > 0, ropeDimensionCount <= headDimension, ropeDimensionCount % 2 == 0,
              rmsNormEpsilon > 0, ropeFrequencyBase > 0 else {
            throw FormatError(file: gguf.path, offset: nil, message: "llama hyper-parameters out of range: \(self)")
        }
    }
}

/// A Llama-architecture decoder (LLaMA 1/2/3, SmolLM, Mistral-style GQA) over GGUF weights.
///
/// Pre-norm blocks: h = x + Wo·attn(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x)); out = h + W2·(silu(W1·n(h)) ⊙ W3·n(h)),
/// n = RMSNorm. Output logits use `output.weight`, or the token embeddings when the file ties them.
/// Weights stay in the mapped file; only activations and the KV cache are allocated, once.
public final class LlamaModel: LanguageModel {
    public let configuration: LlamaConfiguration
    public let context: ExecutionContext
    public let contextLength: Int
    public var position: Int { cache.count }
    public var vocabularySize: Int { configuration.vocabularySize }
    /// Tokens processed per forward step when evaluating a long prompt.
    public let batchSize: Int

    /// Keeps the mapped weights alive.
    private let weights: any WeightSource
    private let tokenEmbedding: WeightMatrix   // [V, D]
    private let output: WeightMatrix           // [V, D]
    private let outputNorm: [Float]
    private let layers: [Layer]
    private let rope: RotaryEmbedding
    private let cache: KVCache
    private let buffers: ActivationBuffers

    private struct Layer {
        let attentionNorm: [Float]
        let q, k, v, o: WeightMatrix
        let feedForwardNorm: [Float]
        let gate, up, down: WeightMatrix
    }

    /// Loads a GGUF llama file (Q/K rows permuted by the converter to the adjacent RoPE pairing).
    /// - Parameters:
    ///   - contextLength: KV cache positions (default 4096), capped by the training context.
    ///   - batchSize: prompt tokens per forward step (default 512).
    public convenience init(gguf: GGUFFile, contextLength: Int = 4096, batchSize: Int = 512, context: ExecutionContext) throws {
        try self.init(
            configuration: LlamaConfiguration(gguf: gguf), weights: gguf, ropePairing: .adjacent,
            contextLength: contextLength, batchSize: batchSize, context: context)
    }

    /// Builds the model over `weights` named as in GGUF (`token_embd.weight`, `blk.N.attn_q.weight`, …;
    /// other checkpoint formats map their names to these). Every tensor the source holds must be used.
    /// - Parameters:
    ///   - ropePairing: how Q/K rows pair for RoPE: `.adjacent` for GGUF llama files, `.halves` for
    ///     Hugging Face checkpoints, whose rows are in the original (unpermuted) order.
    ///   - contextLength: KV cache positions (default 4096), capped by the training context.
    ///   - batchSize: prompt tokens per forward step (default 512).
    public init(
        configuration c: LlamaConfiguration, weights: any WeightSource, ropePairing: RotaryEmbedding.Pairing,
        contextLength: Int = 4096, batchSize: Int = 512, context: ExecutionContext
    ) throws {
        configuration = c
        self.weights = weights
        self.context = context
        self.contextLength = max(1, min(contextLength, c.trainingContextLength))
        self.batchSize = max(1, min(batchSize, self.contextLength))
        let D = c.embeddingLength, F = c.feedForwardLength, V = c.vocabularySize
        let qDim = c.headCount * c.headDimension, kvDim = c.kvHeadCount * c.headDimension

        let loader = TensorLoader(weights)
        tokenEmbedding = try loader.matrix("token_embd.weight", V, D)
        outputNorm = try loader.vector("output_norm.weight", D)
        output = try loader.output(tiedTo: tokenEmbedding)
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            return Layer(
                attentionNorm: try loader.vector(p + "attn_norm.weight", D),
                q: try loader.matrix(p + "attn_q.weight", qDim, D),
                k: try loader.matrix(p + "attn_k.weight", kvDim, D),
                v: try loader.matrix(p + "attn_v.weight", kvDim, D),
                o: try loader.matrix(p + "attn_output.weight", D, qDim),
                feedForwardNorm: try loader.vector(p + "ffn_norm.weight", D),
                gate: try loader.matrix(p + "ffn_gate.weight", F, D),
                up: try loader.matrix(p + "ffn_up.weight", F, D),
                down: try loader.matrix(p + "ffn_down.weight", D, F))
        }
        // (rope_freqs.weight carries Llama 3.1 frequency scaling, which is not implemented yet.)
        try loader.refuseUnused(architecture: "llama")
        rope = RotaryEmbedding(
            dimensionCount: c.ropeDimensionCount, base: c.ropeFrequencyBase, pairing: ropePairing,
            maxPositions: self.contextLength)
        cache = KVCache(
            layerCount: c.layerCount, capacity: self.contextLength, kvHeadCount: c.kvHeadCount,
            headDimension: c.headDimension, threadCount: context.threadCount)
        buffers = ActivationBuffers(batch: self.batchSize, D: D, F: F, qDim: qDim, kvDim: kvDim, V: V)
    }

    public var weightBytesPerToken: Int {
        var bytes = output.byteCount + tokenEmbedding.rowBytes
        for l in layers {
            bytes += [l.q, l.k, l.v, l.o, l.gate, l.up, l.down].reduce(0) { $0 + $1.byteCount }
            bytes += (l.attentionNorm.count + l.feedForwardNorm.count) * 4
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

    /// One forward step over `tokens` (at most batchSize) at the cache position; writes logits of
    /// `logitRows` (indices into this batch) to `logits`.
    private func forward(_ tokens: ArraySlice<Int32>, logitRows: Range<Int>?, logits: UnsafeMutablePointer<Float>) {
        let c = configuration, ctx = context, b = buffers
        let T = tokens.count, D = c.embeddingLength, F = c.feedForwardLength
        let Hq = c.headCount, Hkv = c.kvHeadCount, Dh = c.headDimension
        let p0 = cache.count
        let scale = 1 / Float(Dh).squareRoot()

        tokenEmbedding.embed(tokens, into: b.x, context: ctx)

        for (li, l) in layers.enumerated() {
            // Attention block.
            l.attentionNorm.withUnsafeBufferPointer { w in
                Kernels.rmsNorm(b.x, weight: w.baseAddress!, epsilon: c.rmsNormEpsilon, rows: T, n: D, output: b.xn, context: ctx)
            }
            Kernels.matmul(
                input: b.xn, tokens: T, context: ctx, op: .matvecAttention,
                MatmulTarget(l.q, b.q), MatmulTarget(l.k, b.k), MatmulTarget(l.v, b.v))
            Kernels.rope(b.q, tokens: T, heads: Hq, headDimension: Dh, firstPosition: p0, rope: rope, context: ctx)
            Kernels.rope(b.k, tokens: T, heads: Hkv, headDimension: Dh, firstPosition: p0, rope: rope, context: ctx)
            cache.store(layer: li, firstPosition: p0, tokens: T, keys: b.k, values: b.v)
            Kernels.attention(
                query: b.q, cache: cache, layer: li, firstPosition: p0, tokens: T, heads: Hq, scale: scale,
                output: b.attention, context: ctx)
            Kernels.matmul(input: b.attention, tokens: T, context: ctx, op: .matvecAttention, MatmulTarget(l.o, b.xn))
            Kernels.add(b.xn, into: b.x, count: T * D, context: ctx)

            // Feed-forward block.
            l.feedForwardNorm.withUnsafeBufferPointer { w in
                Kernels.rmsNorm(b.x, weight: w.baseAddress!, epsilon: c.rmsNormEpsilon, rows: T, n: D, output: b.xn, context: ctx)
            }
            Kernels.matmul(
                input: b.xn, tokens: T, context: ctx, op: .matvecFeedForward,
                MatmulTarget(l.gate, b.gate), MatmulTarget(l.up, b.up))
            Kernels.swiGLU(gate: b.gate, up: b.up, count: T * F, context: ctx)
            Kernels.matmul(input: b.gate, tokens: T, context: ctx, op: .matvecFeedForward, MatmulTarget(l.down, b.xn))
            Kernels.add(b.xn, into: b.x, count: T * D, context: ctx)
        }
        cache.count = p0 + T

        guard let rows = logitRows, !rows.isEmpty else { return }
        let first = b.x + rows.lowerBound * D
        outputNorm.withUnsafeBufferPointer { w in
            Kernels.rmsNorm(first, weight: w.baseAddress!, epsilon: c.rmsNormEpsilon, rows: rows.count, n: D, output: b.xn, context: ctx)
        }
        Kernels.matmul(input: b.xn, tokens: rows.count, context: ctx, op: .matvecOutput, MatmulTarget(output, logits))
    }
}
