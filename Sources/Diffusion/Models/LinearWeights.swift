import SparrowRuntime

/// A dense layer, W [out, in] (PyTorch's layout) and bias [out]: y = x Wᵀ + b over tokens, run as
/// the runtime's 1×1 `Convolution2D` (tokens are its pixels), so fp16 and int8 weights stay compact
/// and are widened a chunk at a time inside the kernel.
struct LinearWeights {
    let inputs: Int, outputs: Int
    let layer: Convolution2D

    init(inputs: Int, outputs: Int, weight: [Float], bias: [Float]?, storage: WeightStorage) {
        precondition(weight.count == inputs * outputs && (bias?.count ?? outputs) == outputs)
        self.inputs = inputs
        self.outputs = outputs
        layer = weight.withUnsafeBufferPointer { w in
            let make = { (b: UnsafePointer<Float>?) in
                Convolution2D(weights: w.baseAddress!, bias: b, outputChannels: outputs, kernelHeight: 1, kernelWidth: 1,
                              inputChannels: inputs, strideY: 1, strideX: 1, padding: .zero, activation: .none,
                              storage: storage)
            }
            guard let bias else { return make(nil) }
            return bias.withUnsafeBufferPointer { make($0.baseAddress!) }
        }
    }

    /// `name.weight` and, when `hasBias`, `name.bias`.
    init(_ w: ComponentWeights, _ name: String, inputs: Int, outputs: Int, hasBias: Bool = true) throws {
        try self.init(stacking: [name], in: w, inputs: inputs, outputs: outputs, hasBias: hasBias)
    }

    /// Several layers that share their input, stacked along the outputs ([Σ out, in]) so that one
    /// GEMM computes them all; each part has `outputs` rows.
    init(stacking names: [String], in w: ComponentWeights, inputs: Int, outputs: Int, hasBias: Bool = true) throws {
        var weight: [Float] = [], bias: [Float] = []
        for name in names {
            weight += try w.floats(name + ".weight", shape: [outputs, inputs])
            if hasBias { bias += try w.floats(name + ".bias", shape: [outputs]) }
        }
        self.init(inputs: inputs, outputs: outputs * names.count, weight: weight, bias: hasBias ? bias : nil,
                  storage: w.storage(of: names[0] + ".weight"))
    }

    /// A 1×1 convolution's weights [out, in, 1, 1] used as a dense layer over pixels.
    init(pointwise w: ComponentWeights, _ name: String, inputs: Int, outputs: Int) throws {
        self.init(inputs: inputs, outputs: outputs, weight: try w.floats(name + ".weight", shape: [outputs, inputs, 1, 1]),
                  bias: try w.floats(name + ".bias", shape: [outputs]), storage: w.storage(of: name + ".weight"))
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
        guard tokens > 0 else { return }
        layer.run(x, shape: FeatureMapShape(height: tokens, width: 1, channels: inputs), into: y, context: context)
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
