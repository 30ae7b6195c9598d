import SparrowRuntime

/// The constant tensors of a subgraph as float32 (owned, 64-byte aligned), plus int32 constants
/// (paddings, axes, sizes) as integers.
///
/// float32 buffers are copied; DEQUANTIZE of a constant is evaluated here once: float16 → float32,
/// and int8 / uint8 with per-tensor or per-channel scale and zero point (matches TFLite's
/// reference Dequantize: (q − zero_point) · scale).
final class TFLiteConstants {
    private var floats: [Int: UnsafeMutablePointer<Float>] = [:]
    private var ints: [Int: [Int]] = [:]
    private let dims: [[Int]]
    private let names: [String]

    init(model: TFLiteModel, graph: TFLiteSubgraph, operatorNames: [String]) throws {
        dims = graph.tensors.map(\.shape)
        names = graph.tensors.map(\.name)
        for (index, tensor) in graph.tensors.enumerated() {
            let bytes = try model.buffer(tensor.buffer)
            guard bytes.count > 0 else { continue }
            let count = tensor.shape.reduce(1, *)
            switch tensor.type {
            case .float32:
                try Self.check(bytes.count == count * 4, tensor)
                let p = Self.allocate(count)
                UnsafeMutableRawPointer(p).copyMemory(from: bytes.baseAddress!, byteCount: count * 4)
                floats[index] = p
            case .int32:
                try Self.check(bytes.count == count * 4, tensor)
                ints[index] = (0..<count).map { Int(bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
            case .int64:
                try Self.check(bytes.count == count * 8, tensor)
                ints[index] = (0..<count).map { Int(bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            default:
                continue   // float16 / int8 weights are read by the DEQUANTIZE that consumes them
            }
        }
        for (index, op) in graph.operators.enumerated() where operatorNames[index] == "DEQUANTIZE" {
            guard op.inputs.count == 1, op.outputs.count == 1, op.inputs[0] >= 0, op.outputs[0] >= 0 else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (DEQUANTIZE) must have one input and one output")
            }
            let source = graph.tensors[op.inputs[0]], target = op.outputs[0]
            let bytes = try model.buffer(source.buffer)
            guard bytes.count > 0 else {
                throw TFLiteInterpreterError.invalidGraph(
                    "operator \(index) (DEQUANTIZE) reads '\(source.name)', which is not a constant; only constant weights can be dequantized")
            }
            let count = source.shape.reduce(1, *)
            guard graph.tensors[target].shape.reduce(1, *) == count else {
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (DEQUANTIZE): input and output sizes differ")
            }
            let p = Self.allocate(count)
            switch source.type {
            case .float16:
                try Self.check(bytes.count == count * 2, source)
                Kernels.halfToFloat(bytes.baseAddress!, into: p, count: count)
            case .int8, .uint8:
                try Self.check(bytes.count == count, source)
                try Self.dequantize(bytes, source, signed: source.type == .int8, into: p)
            default:
                p.deallocate()
                throw TFLiteInterpreterError.invalidGraph("operator \(index) (DEQUANTIZE): input type \(source.type) is not supported")
            }
            floats[target] = p
        }
    }

    deinit { for p in floats.values { p.deallocate() } }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    private static func check(_ ok: Bool, _ tensor: TFLiteTensor) throws {
        guard ok else {
            throw TFLiteInterpreterError.invalidGraph("constant '\(tensor.name)': buffer size does not match shape \(tensor.shape)")
        }
    }

    /// (q − zero_point) · scale, per tensor or per channel along `quantizedDimension`.
    private static func dequantize(_ bytes: UnsafeRawBufferPointer, _ tensor: TFLiteTensor, signed: Bool,
                                   into out: UnsafeMutablePointer<Float>) throws {
        guard let q = tensor.quantization, !q.scales.isEmpty, q.zeroPoints.isEmpty || q.zeroPoints.count == q.scales.count else {
            throw TFLiteInterpreterError.invalidGraph("'\(tensor.name)' has no quantization parameters to dequantize with")
        }
        let shape = tensor.shape
        var inner = 1, axisLength = 1
        if q.scales.count > 1 {
            guard (0..<shape.count).contains(q.quantizedDimension), shape[q.quantizedDimension] == q.scales.count else {
                throw TFLiteInterpreterError.invalidGraph("'\(tensor.name)': \(q.scales.count) scales for shape \(shape)")
            }
            axisLength = q.scales.count
            inner = shape[(q.quantizedDimension + 1)...].reduce(1, *)
        }
        for i in 0..<shape.reduce(1, *) {
            let channel = q.scales.count > 1 ? (i / inner) % axisLength : 0
            let raw = bytes[i]
            let value = signed ? Int(Int8(bitPattern: raw)) : Int(raw)
            let zero = q.zeroPoints.isEmpty ? 0 : Int(q.zeroPoints[channel])
            out[i] = Float(value - zero) * q.scales[channel]
        }
    }

    /// Float storage of constant tensor `index`, if it is one.
    func pointer(_ index: Int) -> UnsafeMutablePointer<Float>? { floats[index] }

    /// Declared dims of tensor `index`.
    func shape(_ index: Int) -> [Int] { dims[index] }

    /// Values of an int32 / int64 constant (paddings, axes, sizes).
    func integers(_ index: Int) throws -> [Int] {
        guard index >= 0, let values = ints[index] else {
            throw TFLiteInterpreterError.invalidGraph("tensor \(index >= 0 ? "'\(names[index])'" : "(absent)") must be an integer constant")
        }
        return values
    }
}
