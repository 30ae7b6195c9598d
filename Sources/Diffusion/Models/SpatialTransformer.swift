import SparrowRuntime

/// Multi-head attention with separate q/k/v projections (diffusers' `Attention` as the UNet and VAE use
/// it: `to_q`, `to_k`, `to_v` without bias unless stated, `to_out.0` with bias). Queries come from
/// `x` [T, C]; keys and values from `context` [S, Cc] (cross-attention) or from `x` (self-attention).
struct AttentionLayer {
    let heads: Int, channels: Int
    let query: LinearWeights, key: LinearWeights, value: LinearWeights, output: LinearWeights

    init(_ w: ComponentWeights, _ p: String, channels: Int, contextChannels: Int?, heads: Int, projectionBias: Bool = false) throws {
        guard heads > 0, channels % heads == 0 else {
            throw DiffusionError("\(p): \(channels) channels do not split into \(heads) attention heads")
        }
        self.heads = heads
        self.channels = channels
        let source = contextChannels ?? channels
        query = try LinearWeights(w, p + "to_q", inputs: channels, outputs: channels, hasBias: projectionBias)
        key = try LinearWeights(w, p + "to_k", inputs: source, outputs: channels, hasBias: projectionBias)
        value = try LinearWeights(w, p + "to_v", inputs: source, outputs: channels, hasBias: projectionBias)
        output = try LinearWeights(w, p + "to_out.0", inputs: channels, outputs: channels)
    }

    /// out [T, C] = to_out(softmax(q kᵀ / √D) v) for one batch element. `x` [T, C]; `context` [S, Cc] or nil.
    func callAsFunction(_ x: UnsafePointer<Float>, tokens T: Int, context: UnsafePointer<Float>?, contextTokens S: Int,
                        into out: UnsafeMutablePointer<Float>, execution: ExecutionContext) {
        let C = channels, D = C / heads
        let keySource = context ?? x, keyCount = context == nil ? T : S
        var q = [Float](repeating: 0, count: T * C), k = [Float](repeating: 0, count: keyCount * C)
        var v = [Float](repeating: 0, count: keyCount * C), a = [Float](repeating: 0, count: T * C)
        q.withUnsafeMutableBufferPointer { q in
            k.withUnsafeMutableBufferPointer { k in
                v.withUnsafeMutableBufferPointer { v in
                    a.withUnsafeMutableBufferPointer { a in
                        query.apply(x, tokens: T, into: q.baseAddress!, context: execution)
                        key.apply(keySource, tokens: keyCount, into: k.baseAddress!, context: execution)
                        value.apply(keySource, tokens: keyCount, into: v.baseAddress!, context: execution)
                        Kernels.attention(query: q.baseAddress!, queryStride: C, key: k.baseAddress!, keyStride: C,
                                          value: v.baseAddress!, valueStride: C, queries: T, keys: keyCount, heads: heads,
                                          headDimension: D, scale: 1 / Float(D).squareRoot(), causal: false,
                                          into: a.baseAddress!, outStride: C, context: execution)
                        output.apply(a.baseAddress!, tokens: T, into: out, context: execution)
                    }
                }
            }
        }
    }
}

/// diffusers' `Transformer2DModel` with `BasicTransformerBlock`s, as SD's UNet uses it: group norm,
/// proj_in (1×1 convolution, or a linear layer with `use_linear_projection`), per block
/// x += attn1(ln1(x)); x += attn2(ln2(x), text); x += ff(ln3(x)) with a GEGLU feed-forward, proj_out,
/// plus the input.
struct SpatialTransformer {
    let norm: GroupNormLayer
    let projectIn: LinearWeights, projectOut: LinearWeights
    let blocks: [Block]
    let channels: Int

    struct Block {
        let norm1: LayerNormWeights, norm2: LayerNormWeights, norm3: LayerNormWeights
        let selfAttention: AttentionLayer, crossAttention: AttentionLayer
        let hidden: LinearWeights, gate: LinearWeights, down: LinearWeights   // GEGLU halves and ff.net.2
    }

    init(_ w: ComponentWeights, _ p: String, channels C: Int, heads: Int, contextChannels: Int, layers: Int, groups: Int,
         linearProjection: Bool) throws {
        channels = C
        norm = try GroupNormLayer(w, p + "norm", channels: C, groups: groups, epsilon: 1e-6)
        if linearProjection {
            projectIn = try LinearWeights(w, p + "proj_in", inputs: C, outputs: C)
            projectOut = try LinearWeights(w, p + "proj_out", inputs: C, outputs: C)
        } else {
            projectIn = try LinearWeights(pointwise: w, p + "proj_in", inputs: C, outputs: C)
            projectOut = try LinearWeights(pointwise: w, p + "proj_out", inputs: C, outputs: C)
        }
        blocks = try (0..<layers).map { i in
            let b = p + "transformer_blocks.\(i)."
            let inner = 4 * C
            let geglu = try LinearWeights(w, b + "ff.net.0.proj", inputs: C, outputs: 2 * inner)
            return Block(
                norm1: try LayerNormWeights(w, b + "norm1", channels: C), norm2: try LayerNormWeights(w, b + "norm2", channels: C),
                norm3: try LayerNormWeights(w, b + "norm3", channels: C),
                selfAttention: try AttentionLayer(w, b + "attn1.", channels: C, contextChannels: nil, heads: heads),
                crossAttention: try AttentionLayer(w, b + "attn2.", channels: C, contextChannels: contextChannels, heads: heads),
                hidden: geglu.rows(0..<inner), gate: geglu.rows(inner..<(2 * inner)),
                down: try LinearWeights(w, b + "ff.net.2", inputs: inner, outputs: C))
        }
    }

    /// `text`: [B, S, Cc] encoder hidden states.
    func callAsFunction(_ x: FeatureMaps, text: [Float], textTokens S: Int, context: ExecutionContext) -> FeatureMaps {
        let C = channels, T = x.shape.pixelCount
        let normed = norm(x, silu: false, context: context)
        var out = x
        let Cc = text.count / max(x.batch * S, 1)
        var h = [Float](repeating: 0, count: T * C), n = h, delta = h
        var hidden = [Float](repeating: 0, count: T * 4 * C), gate = hidden
        for b in 0..<x.batch {
            normed.values.withUnsafeBufferPointer { v in projectIn.apply(v.baseAddress! + b * T * C, tokens: T, into: &h, context: context) }
            for block in blocks {
                block.norm1.apply(h, tokens: T, into: &n, epsilon: 1e-5, context: context)
                attend(block.selfAttention, n, T, nil, 0, &delta, context)
                addResidual(delta, into: &h, count: T * C, context: context)
                block.norm2.apply(h, tokens: T, into: &n, epsilon: 1e-5, context: context)
                text.withUnsafeBufferPointer { t in attend(block.crossAttention, n, T, t.baseAddress! + b * S * Cc, S, &delta, context) }
                addResidual(delta, into: &h, count: T * C, context: context)
                block.norm3.apply(h, tokens: T, into: &n, epsilon: 1e-5, context: context)
                block.hidden.apply(n, tokens: T, into: &hidden, context: context)
                block.gate.apply(n, tokens: T, into: &gate, context: context)
                gate.withUnsafeMutableBufferPointer { g in
                    hidden.withUnsafeBufferPointer { u in Kernels.gelu(gate: g.baseAddress!, up: u.baseAddress!, count: T * 4 * C) }
                }
                block.down.apply(gate, tokens: T, into: &delta, context: context)
                addResidual(delta, into: &h, count: T * C, context: context)
            }
            projectOut.apply(h, tokens: T, into: &delta, context: context)
            addResidual(delta, into: &out.values, at: b * T * C, count: T * C, context: context)
        }
        return out
    }

    private func attend(_ layer: AttentionLayer, _ x: [Float], _ T: Int, _ text: UnsafePointer<Float>?, _ S: Int,
                        _ out: inout [Float], _ context: ExecutionContext) {
        x.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                layer(x.baseAddress!, tokens: T, context: text, contextTokens: S, into: o.baseAddress!, execution: context)
            }
        }
    }
}

extension LinearWeights {
    /// The layer made of output rows `range` only (e.g. one half of a GEGLU projection).
    func rows(_ range: Range<Int>) -> LinearWeights {
        LinearWeights(inputs: inputs, outputs: range.count, weight: Array(weight[(range.lowerBound * inputs)..<(range.upperBound * inputs)]),
                      bias: bias.map { Array($0[range]) })
    }
}
