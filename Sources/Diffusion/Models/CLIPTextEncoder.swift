import CSparrowKernels
import SparrowRuntime

/// A CLIP text transformer's hyper-parameters (transformers' `CLIPTextConfig`, the `config.json` of a
/// diffusers `text_encoder/` folder).
public struct CLIPTextConfiguration: Sendable, Equatable {
    public enum Activation: String, Sendable { case quickGELU = "quick_gelu", gelu }

    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var maxPositions: Int
    public var activation: Activation
    public var layerNormEpsilon: Float

    public init(vocabularySize: Int = 49408, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
                maxPositions: Int = 77, activation: Activation = .quickGELU, layerNormEpsilon: Float = 1e-5) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.maxPositions = maxPositions
        self.activation = activation
        self.layerNormEpsilon = layerNormEpsilon
    }

    /// Reads `config.json` (unknown keys are ignored; missing ones take CLIPTextConfig's defaults).
    public init(jsonFile path: String) throws {
        let json = try ConfigurationFile(path: path)
        self.init(vocabularySize: try json.int("vocab_size", default: 49408), hiddenSize: try json.int("hidden_size", default: 512),
                  intermediateSize: try json.int("intermediate_size", default: 2048),
                  layerCount: try json.int("num_hidden_layers", default: 12), headCount: try json.int("num_attention_heads", default: 8),
                  maxPositions: try json.int("max_position_embeddings", default: 77),
                  activation: try json.enumeration("hidden_act", default: .quickGELU),
                  layerNormEpsilon: Float(try json.double("layer_norm_eps", default: 1e-5)))
        try json.require(hiddenSize % headCount == 0, "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)")
        try json.require(vocabularySize > 0 && layerCount > 0 && intermediateSize > 0 && maxPositions > 0, "sizes must be positive")
    }

    public var headDimension: Int { hiddenSize / headCount }
}

/// CLIP's text transformer (matches transformers' CLIPTextModel as Stable Diffusion uses it): token +
/// position embeddings, pre-norm causal self-attention blocks, a final layer norm. SD 1.x feeds the
/// UNet the final output; SD 2.x checkpoints ship an encoder whose last layer already is OpenCLIP's
/// penultimate one, and `skipLastLayers` (diffusers' `clip_skip`) takes an earlier layer's output
/// through the final layer norm.
public final class CLIPTextEncoder: @unchecked Sendable {
    public let configuration: CLIPTextConfiguration
    private let tokenEmbedding: EmbeddingRows   // [V, C]
    private let positionEmbedding: [Float]   // [P, C]
    private let layers: [Layer]
    private let finalNorm: LayerNormWeights

    /// Weights under transformers' names (`text_model.encoder.layers.0.self_attn.q_proj.weight`, …).
    public init(configuration c: CLIPTextConfiguration, weights w: ComponentWeights) throws {
        configuration = c
        let C = c.hiddenSize
        let table = "text_model.embeddings.token_embedding.weight"
        tokenEmbedding = EmbeddingRows(try w.floats(table, shape: [c.vocabularySize, C]), width: C,
                                       halfPrecision: w.storage(of: table) != .float32)
        positionEmbedding = try w.floats("text_model.embeddings.position_embedding.weight", shape: [c.maxPositions, C])
        layers = try (0..<c.layerCount).map { i in try Layer(configuration: c, weights: w, prefix: "text_model.encoder.layers.\(i).") }
        finalNorm = try LayerNormWeights(w, "text_model.final_layer_norm", channels: C)
        // transformers keeps position ids as a buffer in some versions; it carries no weights.
        w.ignore("text_model.embeddings.position_ids")
        try w.verifyAllUsed()
    }

    /// Hidden states [L, C] for `tokens` (L ≤ maxPositions): the last layer's output through the final
    /// layer norm, or, with `skipLastLayers` = k > 0, the output of layer `layerCount − k` through it.
    public func encode(_ tokens: [Int32], skipLastLayers: Int = 0, context: ExecutionContext) throws -> [Float] {
        let c = configuration, C = c.hiddenSize, L = tokens.count
        guard L > 0, L <= c.maxPositions else {
            throw DiffusionError("the text encoder takes 1…\(c.maxPositions) tokens, got \(L)")
        }
        guard skipLastLayers >= 0, skipLastLayers < c.layerCount else {
            throw DiffusionError("clip skip must be in 0..<\(c.layerCount), got \(skipLastLayers)")
        }
        var x = [Float](repeating: 0, count: L * C)   // [L, C]
        for (t, id) in tokens.enumerated() {
            guard id >= 0, Int(id) < c.vocabularySize else {
                throw DiffusionError("token id \(id) is outside the text encoder's vocabulary of \(c.vocabularySize)")
            }
            for k in 0..<C { x[t * C + k] = positionEmbedding[t * C + k] }
            x.withUnsafeMutableBufferPointer { tokenEmbedding.add(row: Int(id), into: $0.baseAddress! + t * C) }
        }
        var scratch = Scratch(tokens: L, configuration: c)
        for layer in layers.prefix(c.layerCount - skipLastLayers) {
            layer.forward(&x, tokens: L, scratch: &scratch, context: context)
        }
        var out = [Float](repeating: 0, count: L * C)
        finalNorm.apply(x, tokens: L, into: &out, epsilon: c.layerNormEpsilon, context: context)
        return out
    }

    /// Buffers one forward pass reuses across layers.
    fileprivate struct Scratch {
        var normed: [Float], qkv: [Float], attention: [Float], hidden: [Float], sum: [Float]
        init(tokens L: Int, configuration c: CLIPTextConfiguration) {
            sum = [Float](repeating: 0, count: L * c.hiddenSize)
            normed = [Float](repeating: 0, count: L * c.hiddenSize)
            qkv = [Float](repeating: 0, count: L * 3 * c.hiddenSize)
            attention = [Float](repeating: 0, count: L * c.hiddenSize)
            hidden = [Float](repeating: 0, count: L * c.intermediateSize)
        }
    }

    /// One pre-norm block: x += attn(ln1(x)); x += mlp(ln2(x)).
    private final class Layer {
        let c: CLIPTextConfiguration
        let norm1: LayerNormWeights, norm2: LayerNormWeights
        let projection: LinearWeights   // q, k, v stacked: [3C, C]
        let output: LinearWeights, fc1: LinearWeights, fc2: LinearWeights

        init(configuration c: CLIPTextConfiguration, weights w: ComponentWeights, prefix p: String) throws {
            self.c = c
            let C = c.hiddenSize
            norm1 = try LayerNormWeights(w, p + "layer_norm1", channels: C)
            norm2 = try LayerNormWeights(w, p + "layer_norm2", channels: C)
            projection = try LinearWeights(stacking: ["q_proj", "k_proj", "v_proj"].map { p + "self_attn." + $0 }, in: w,
                                           inputs: C, outputs: C)
            output = try LinearWeights(w, p + "self_attn.out_proj", inputs: C, outputs: C)
            fc1 = try LinearWeights(w, p + "mlp.fc1", inputs: C, outputs: c.intermediateSize)
            fc2 = try LinearWeights(w, p + "mlp.fc2", inputs: c.intermediateSize, outputs: C)
        }

        func forward(_ x: inout [Float], tokens L: Int, scratch s: inout Scratch, context: ExecutionContext) {
            let C = c.hiddenSize, D = c.headDimension
            norm1.apply(x, tokens: L, into: &s.normed, epsilon: c.layerNormEpsilon, context: context)
            projection.apply(s.normed, tokens: L, into: &s.qkv, context: context)   // [L, 3C]: q | k | v per token
            s.qkv.withUnsafeBufferPointer { qkv in
                s.attention.withUnsafeMutableBufferPointer { a in
                    Kernels.attention(query: qkv.baseAddress!, queryStride: 3 * C, key: qkv.baseAddress! + C, keyStride: 3 * C,
                                      value: qkv.baseAddress! + 2 * C, valueStride: 3 * C, queries: L, keys: L,
                                      heads: c.headCount, headDimension: D, scale: 1 / Float(D).squareRoot(), causal: true,
                                      into: a.baseAddress!, outStride: C, context: context)
                }
            }
            output.addApplied(s.attention, tokens: L, to: &x, scratch: &s.sum, context: context)
            norm2.apply(x, tokens: L, into: &s.normed, epsilon: c.layerNormEpsilon, context: context)
            fc1.apply(s.normed, tokens: L, into: &s.hidden, context: context)
            s.hidden.withUnsafeMutableBufferPointer { h in
                switch c.activation {
                case .quickGELU: Kernels.quickGELU(h.baseAddress!, count: L * c.intermediateSize)
                case .gelu: Kernels.gelu(h.baseAddress!, count: L * c.intermediateSize)
                }
            }
            fc2.addApplied(s.hidden, tokens: L, to: &x, scratch: &s.sum, context: context)
        }
    }
}

/// The rows of an embedding table ([rows, width]), kept as fp16 when the weights are stored in half
/// precision (exact for fp16 files: half the memory of CLIP's 49408 × 768 table) or as fp32.
struct EmbeddingRows {
    let width: Int
    private let floats: [Float], halves: [UInt16]

    init(_ values: [Float], width: Int, halfPrecision: Bool) {
        self.width = width
        if halfPrecision {
            var h = [UInt16](repeating: 0, count: values.count)
            sp_f32_to_f16(values, &h, Int64(values.count))
            (floats, halves) = ([], h)
        } else {
            (floats, halves) = (values, [])
        }
    }

    /// out[k] += table[row, k] for k < width (row checked by the caller).
    func add(row: Int, into out: UnsafeMutablePointer<Float>) {
        if halves.isEmpty {
            for k in 0..<width { out[k] += floats[row * width + k] }
            return
        }
        var values = [Float](repeating: 0, count: width)
        halves.withUnsafeBufferPointer { sp_f16_to_f32($0.baseAddress! + row * width, &values, Int64(width)) }
        for k in 0..<width { out[k] += values[k] }
    }
}
