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

    /// out [B·T, C] = to_out(softmax(q kᵀ / √D) v) for `batch` elements one after another: `x` [B·T, C];
    /// `context` [B·S, Cc] or nil (self-attention). Projections run over the whole batch at once (each
    /// weight chunk serves every element); attention per element.
    func callAsFunction(_ x: UnsafePointer<Float>, batch B: Int, tokens T: Int, context: UnsafePointer<Float>?,
                        contextTokens S: Int, into out: UnsafeMutablePointer<Float>, execution: ExecutionContext) {
        let C = channels, D = C / heads
        let keySource = context ?? x, keyCount = context == nil ? T : S
        var q = [Float](repeating: 0, count: B * T * C), k = [Float](repeating: 0, count: B * keyCount * C)
        var v = [Float](repeating: 0, count: B * keyCount * C), a = [Float](repeating: 0, count: B * T * C)
        q.withUnsafeMutableBufferPointer { q in
            k.withUnsafeMutableBufferPointer { k in
                v.withUnsafeMutableBufferPointer { v in
                    a.withUnsafeMutableBufferPointer { a in
                        query.apply(x, tokens: B * T, into: q.baseAddress!, context: execution)
                        key.apply(keySource, tokens: B * keyCount, into: k.baseAddress!, context: execution)
                        value.apply(keySource, tokens: B * keyCount, into: v.baseAddress!, context: execution)
                        for b in 0..<B {
                            let (qo, ko) = (b * T * C, b * keyCount * C)
                            Kernels.attention(query: q.baseAddress! + qo, queryStride: C, key: k.baseAddress! + ko, keyStride: C,
                                              value: v.baseAddress! + ko, valueStride: C, queries: T, keys: keyCount,
                                              heads: heads, headDimension: D, scale: 1 / Float(D).squareRoot(), causal: false,
                                              into: a.baseAddress! + qo, outStride: C, context: execution)
                        }
                        output.apply(a.baseAddress!, tokens: B * T, into: out, context: execution)
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
        let geglu: LinearWeights, down: LinearWeights   // ff.net.0.proj ([hidden | gate]) and ff.net.2
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
            return Block(
                norm1: try LayerNormWeights(w, b + "norm1", channels: C), norm2: try LayerNormWeights(w, b + "norm2", channels: C),
                norm3: try LayerNormWeights(w, b + "norm3", channels: C),
                selfAttention: try AttentionLayer(w, b + "attn1.", channels: C, contextChannels: nil, heads: heads),
                crossAttention: try AttentionLayer(w, b + "attn2.", channels: C, contextChannels: contextChannels, heads: heads),
                geglu: try LinearWeights(w, b + "ff.net.0.proj", inputs: C, outputs: 8 * C),
                down: try LinearWeights(w, b + "ff.net.2", inputs: 4 * C, outputs: C))
        }
    }

    /// `text`: [B, S, Cc] encoder hidden states. Every token-wise layer runs over the whole batch.
    func callAsFunction(_ x: FeatureMaps, text: [Float], textTokens S: Int, context: ExecutionContext) -> FeatureMaps {
        let C = channels, B = x.batch, N = B * x.shape.pixelCount
        let normed = norm(x, silu: false, context: context)
        var h = [Float](repeating: 0, count: N * C), n = h, delta = h
        var projected = [Float](repeating: 0, count: N * 8 * C), gated = [Float](repeating: 0, count: N * 4 * C)
        projectIn.apply(normed.values, tokens: N, into: &h, context: context)
        for block in blocks {
            block.norm1.apply(h, tokens: N, into: &n, epsilon: 1e-5, context: context)
            attend(block.selfAttention, n, B, nil, 0, &delta, context)
            addResidual(delta, into: &h, context: context)
            block.norm2.apply(h, tokens: N, into: &n, epsilon: 1e-5, context: context)
            text.withUnsafeBufferPointer { t in attend(block.crossAttention, n, B, t.baseAddress!, S, &delta, context) }
            addResidual(delta, into: &h, context: context)
            block.norm3.apply(h, tokens: N, into: &n, epsilon: 1e-5, context: context)
            block.geglu.apply(n, tokens: N, into: &projected, context: context)
            projected.withUnsafeBufferPointer { p in
                gated.withUnsafeMutableBufferPointer { g in
                    Kernels.geglu(p.baseAddress!, tokens: N, innerFeatures: 4 * C, into: g.baseAddress!, context: context)
                }
            }
            block.down.apply(gated, tokens: N, into: &delta, context: context)
            addResidual(delta, into: &h, context: context)
        }
        var out = x
        projectOut.apply(h, tokens: N, into: &delta, context: context)
        addResidual(delta, into: &out.values, context: context)
        return out
    }

    private func attend(_ layer: AttentionLayer, _ x: [Float], _ B: Int, _ text: UnsafePointer<Float>?, _ S: Int,
                        _ out: inout [Float], _ context: ExecutionContext) {
        let T = x.count / (B * channels)
        x.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                layer(x.baseAddress!, batch: B, tokens: T, context: text, contextTokens: S, into: o.baseAddress!, execution: context)
            }
        }
    }
}
