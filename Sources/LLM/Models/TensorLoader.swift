import SparrowRuntime

/// Reads a model's tensors from a `WeightSource` under their GGUF names and remembers which were
/// used, so that a loader can refuse a file that holds tensors its architecture does not know
/// (loading refuses to guess: an unknown tensor means a different model).
final class TensorLoader {
    let source: any WeightSource
    private var used = Set<String>()

    init(_ source: any WeightSource) { self.source = source }

    func matrix(_ name: String, _ rows: Int, _ columns: Int) throws -> WeightMatrix {
        used.insert(name)
        return try source.matrix(name, rows: rows, columns: columns)
    }

    func vector(_ name: String, _ count: Int) throws -> [Float] {
        used.insert(name)
        return try source.vector(name, count: count)
    }

    /// `output.weight` when the file has one, else the token embeddings (tied weights).
    func output(tiedTo embedding: WeightMatrix) throws -> WeightMatrix {
        source.containsTensor("output.weight") ? try matrix("output.weight", embedding.rows, embedding.columns) : embedding
    }

    /// Throws for the first tensor of the source no `matrix`/`vector` call asked for.
    func refuseUnused(architecture: String) throws {
        if let unknown = source.tensorNames.first(where: { !used.contains($0) }) {
            throw FormatError(
                file: source.path, offset: nil,
                message: "tensor '\(unknown)' is not part of the \(architecture) architecture as Sparrow implements it")
        }
    }
}

extension WeightMatrix {
    /// Writes the embedding rows of `tokens` to `x` ([tokens, columns]), times `scale`, and records
    /// the op.
    func embed(_ tokens: ArraySlice<Int32>, into x: UnsafeMutablePointer<Float>, scale: Float = 1, context: ExecutionContext) {
        let start = OpAccounting.now()
        for (i, t) in tokens.enumerated() {
            let row = x + i * columns
            dequantizeRow(Int(t), into: row)
            if scale != 1 { for j in 0..<columns { row[j] *= scale } }
        }
        context.accounting.record(.embedding, since: start, bytes: tokens.count * (rowBytes + columns * 4), macs: scale != 1 ? tokens.count * columns : 0)
    }
}
