import SparrowRuntime

/// A dense layer's weights, W [out, in] (PyTorch's layout) and bias [out], in float32:
/// y = x Wᵀ + b over tokens through the runtime's `Kernels.linear`.
struct LinearWeights {
    let inputs: Int, outputs: Int
    let weight: [Float]   // [out, in]
    let bias: [Float]?    // [out]

    init(inputs: Int, outputs: Int, weight: [Float], bias: [Float]?) {
        precondition(weight.count == inputs * outputs && (bias?.count ?? outputs) == outputs)
        self.inputs = inputs
        self.outputs = outputs
        self.weight = weight
        self.bias = bias
    }

    /// `name.weight` and, when `hasBias`, `name.bias`.
    init(_ w: ComponentWeights, _ name: String, inputs: Int, outputs: Int, hasBias: Bool = true) throws {
        self.inputs = inputs
        self.outputs = outputs
        weight = try w.floats(name + ".weight", shape: [outputs, inputs])
        bias = hasBias ? try w.floats(name + ".bias", shape: [outputs]) : nil
    }

    /// Several layers that share their input, stacked along the outputs ([Σ out, in]) so that one
    /// GEMM computes them all; each part has `outputs` rows.
    init(stacking names: [String], in w: ComponentWeights, inputs: Int, outputs: Int, hasBias: Bool = true) throws {
        let parts = try names.map { try LinearWeights(w, $0, inputs: inputs, outputs: outputs, hasBias: hasBias) }
        self.inputs = inputs
        self.outputs = outputs * names.count
        weight = parts.flatMap(\.weight)
        bias = hasBias ? parts.flatMap { $0.bias! } : nil
    }

    /// A 1×1 convolution's weights [out, in, 1, 1] used as a dense layer over pixels.
    init(pointwise w: ComponentWeights, _ name: String, inputs: Int, outputs: Int) throws {
        self.inputs = inputs
        self.outputs = outputs
        weight = try w.floats(name + ".weight", shape: [outputs, inputs, 1, 1])
        bias = try w.floats(name + ".bias", shape: [outputs])
    }

    /// y [tokens, out] = x [tokens, in] Wᵀ + b.
    func apply(_ x: [Float], tokens: Int, into y: inout [Float], context: ExecutionContext) {
        precondition(x.count >= tokens * inputs && y.count >= tokens * outputs)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                apply(x.baseAddress!, tokens: tokens, into: y.baseAddress!, context: context)
            }
        }
    }

    func apply(_ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>, context: ExecutionContext) {
        weight.withUnsafeBufferPointer { w in
            if let bias {
                bias.withUnsafeBufferPointer { b in
                    Kernels.linear(x, tokens: tokens, weight: w.baseAddress!, bias: b.baseAddress!, inFeatures: inputs,
                                   outFeatures: outputs, into: y, context: context)
                }
            } else {
                Kernels.linear(x, tokens: tokens, weight: w.baseAddress!, bias: nil, inFeatures: inputs, outFeatures: outputs,
                               into: y, context: context)
            }
        }
    }

    /// residual += x Wᵀ + b (`scratch` holds at least tokens · out floats).
    func addApplied(_ x: [Float], tokens: Int, to residual: inout [Float], scratch: inout [Float], context: ExecutionContext) {
        apply(x, tokens: tokens, into: &scratch, context: context)
        addResidual(scratch, into: &residual, count: tokens * outputs, context: context)
    }
}

/// A layer norm's affine parameters (`name.weight`, `name.bias`), applied per token over channels.
struct LayerNormWeights {
    let gamma: [Float], beta: [Float]

    init(_ w: ComponentWeights, _ name: String, channels: Int) throws {
        gamma = try w.floats(name + ".weight", shape: [channels])
        beta = try w.floats(name + ".bias", shape: [channels])
    }

    func apply(_ x: [Float], tokens: Int, into y: inout [Float], epsilon: Float, context: ExecutionContext) {
        let C = gamma.count
        precondition(x.count >= tokens * C && y.count >= tokens * C)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                gamma.withUnsafeBufferPointer { g in
                    beta.withUnsafeBufferPointer { b in
                        Kernels.layerNorm(x.baseAddress!, tokens: tokens, channels: C, epsilon: epsilon, gamma: g.baseAddress!,
                                          beta: b.baseAddress!, into: y.baseAddress!, context: context)
                    }
                }
            }
        }
    }
}
