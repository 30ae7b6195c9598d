import SparrowRuntime

/// Partial runs of element-wise steps, for the Skip-Conv executor: the same kernels as `run(_:)`,
/// called on a contiguous slice of pixels.
extension TFLiteInterpreter {
    /// Runs a unary element-wise step (HARD_SWISH, RELU, LOGISTIC, RELU6…) on `elementCount` floats
    /// starting at `elementOffset` of its input and output.
    func runElementwise(_ step: Step, elementOffset: Int, elementCount: Int) {
        let x = pointers[step.inputs[0]]! + elementOffset, out = pointers[step.output]! + elementOffset
        switch step.kind {
        case .hardSwish: Kernels.hardSwish(x, count: elementCount, into: out)
        case .relu: Kernels.relu(x, count: elementCount, into: out)
        case .logistic: Kernels.logistic(x, count: elementCount, into: out)
        case .activation(let activation):
            if out != x { out.update(from: x, count: elementCount) }
            activation.apply(out, count: elementCount)
        default: preconditionFailure("runElementwise on \(step.kind.name)")
        }
    }

    /// Runs ADD / MUL on output pixels `pixelOffset ..< pixelOffset + pixelCount`; an operand with the
    /// output's shape is sliced, a per-channel or scalar operand is passed whole.
    func runBinary(_ step: Step, pixelOffset: Int, pixelCount: Int) {
        let outShape = shapes[step.output]
        let c = outShape.channels
        let slice = FeatureMapShape(height: 1, width: pixelCount, channels: c)
        func operand(_ i: Int) -> (UnsafePointer<Float>, FeatureMapShape) {
            let t = step.inputs[i]
            return shapes[t] == outShape ? (UnsafePointer(pointers[t]! + pixelOffset * c), slice) : (UnsafePointer(pointers[t]!), shapes[t])
        }
        let (a, sa) = operand(0), (b, sb) = operand(1)
        let out = pointers[step.output]! + pixelOffset * c
        switch step.kind {
        case .add(let activation): Kernels.add(a, sa, b, sb, into: out, activation: activation, context: context)
        case .multiply(let activation): Kernels.multiply(a, sa, b, sb, into: out, activation: activation, context: context)
        default: preconditionFailure("runBinary on \(step.kind.name)")
        }
    }

    /// Storage of tensor `index` (nil for tensors the plan dropped).
    func pointer(_ index: Int) -> UnsafeMutablePointer<Float>? { pointers[index] }
}
