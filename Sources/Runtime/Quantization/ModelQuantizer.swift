import CSparrowKernels

/// Quantizes a whole GGUF model into a new GGUF: every metadata key is carried over in order (tokenizer,
/// chat template, …), `general.file_type` and `general.quantization_version` are set as llama.cpp sets
/// them, and each tensor gets the type `QuantizationRecipe.plan` chooses. Tensors whose chosen type
/// equals their source type are copied byte for byte (no requantization loss); the others are
/// converted to floats (any type `WeightQuantizer.canRead`) and quantized.
///
///     let writer = try ModelQuantizer.quantize(gguf, recipe: .q4_k_m) { event in print(event.name) }
///     try writer.write(to: out)
public enum ModelQuantizer {
    /// Reported once per tensor, after it is done.
    public struct TensorReport: Sendable {
        /// 0-based position and tensor count.
        public let index: Int, count: Int
        public let name: String
        public let sourceType: GGMLType
        public let type: GGMLType
        public let dimensions: [Int]
        /// Whether the bytes were copied unchanged.
        public let copied: Bool
        /// The recipe's fallback note, if any.
        public let fallback: String?
        /// dequantize(quantize(w)) against w, when statistics were requested and the tensor was converted.
        public let statistics: WeightQuantizer.ErrorStatistics?
    }

    /// The quantized model as a writer ready to `write(to:)`. `statistics` computes per-tensor errors
    /// (about doubles the time). Throws `QuantizationError` for tensors Sparrow cannot read.
    public static func quantize(
        _ model: GGUFFile, recipe: QuantizationRecipe, statistics: Bool = false,
        progress: (TensorReport) -> Void = { _ in }
    ) throws -> GGUFWriter {
        var writer = GGUFWriter(alignment: model.alignment)
        for key in model.metadataKeys {
            guard let value = model.metadata[key] else { continue }
            writer.setMetadata(key, value)
        }
        writer.setMetadata("general.quantization_version", .uint32(2))
        writer.setMetadata("general.file_type", .uint32(recipe.fileType))

        let tensors = llamaOrder(model.tensors)
        let plan = recipe.plan(tensors.map { ($0.name, $0.dimensions, $0.type) }, layerCount: Self.layerCount(of: model))
        // Refuse unreadable tensors before any work is done.
        for (info, choice) in zip(tensors, plan) where choice.type != info.type && !WeightQuantizer.canRead(info.type) {
            throw QuantizationError(
                "tensor '\(info.name)' of \(model.path) is \(info.type), which Sparrow cannot dequantize; quantize from the F16, BF16 or F32 model instead")
        }
        for (index, (info, choice)) in zip(tensors, plan).enumerated() {
            let source = model.bytes(of: info)
            var data: [UInt8]
            var stats: WeightQuantizer.ErrorStatistics? = nil
            let copied = choice.type == info.type
            if copied {
                data = Array(source)
            } else {
                let columns = info.dimensions[0], rows = info.elementCount / max(columns, 1)
                guard let base = source.baseAddress else {
                    throw QuantizationError("tensor '\(info.name)' in \(model.path) has no data")
                }
                let floats = try WeightQuantizer.floats(from: base, type: info.type, elements: info.elementCount, tensorName: info.name)
                (data, stats) = try convert(floats, rows: rows, columns: columns, to: choice.type, statistics: statistics)
            }
            writer.addTensor(name: info.name, type: choice.type, dimensions: info.dimensions, data: data)
            progress(TensorReport(
                index: index, count: plan.count, name: info.name, sourceType: info.type, type: choice.type,
                dimensions: info.dimensions, copied: copied, fallback: choice.fallback, statistics: stats))
        }
        return writer
    }

    /// Floats `[rows, columns]` in `type` (a quantized type, F16 or F32), with optional error statistics.
    static func convert(_ floats: [Float], rows: Int, columns: Int, to type: GGMLType, statistics: Bool) throws
        -> ([UInt8], WeightQuantizer.ErrorStatistics?)
    {
        switch type {
        case .f32:
            return (floats.withUnsafeBytes { Array($0) }, nil)
        case .f16:
            var halves = [UInt16](repeating: 0, count: floats.count)
            floats.withUnsafeBufferPointer { x in
                halves.withUnsafeMutableBufferPointer { sp_f32_to_f16(x.baseAddress, $0.baseAddress, Int64(floats.count)) }
            }
            var stats: WeightQuantizer.ErrorStatistics? = nil
            if statistics {
                let back = halves.map { sp_f16_to_f32_1($0) }
                stats = floats.withUnsafeBufferPointer { WeightQuantizer.errorStatistics(of: back, against: $0) }
            }
            return (halves.withUnsafeBytes { Array($0) }, stats)
        default:
            let blocks = try WeightQuantizer.quantize(floats, rows: rows, columns: columns, to: type)
            guard statistics else { return (blocks, nil) }
            let back = try WeightQuantizer.dequantize(blocks, rows: rows, columns: columns, type: type)
            return (blocks, floats.withUnsafeBufferPointer { WeightQuantizer.errorStatistics(of: back, against: $0) })
        }
    }

    /// Tensors in llama.cpp's order (llama-model-loader's weight_name_comparer): by `blk.N.` layer, tensors
    /// outside layers first, then by name bytes. The recipe's per-layer counters depend on it, and writing
    /// in this order makes the output file identical to llama-quantize's.
    static func llamaOrder(_ tensors: [GGUFFile.TensorInfo]) -> [GGUFFile.TensorInfo] {
        func layer(_ name: String) -> Int {
            guard name.hasPrefix("blk.") else { return -1 }
            let digits = name.dropFirst(4).prefix { $0.isASCII && $0.isNumber }
            return digits.isEmpty ? -1 : Int(digits) ?? -1
        }
        return tensors.sorted { a, b in
            let (la, lb) = (layer(a.name), layer(b.name))
            if la != lb { return la < lb }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    /// `<architecture>.block_count`, or one more than the largest `blk.N.` index.
    static func layerCount(of model: GGUFFile) -> Int {
        if let arch = try? model.string("general.architecture"), let n = try? model.int("\(arch).block_count") { return n }
        var count = 0
        for t in model.tensors where t.name.hasPrefix("blk.") {
            if let n = Int(t.name.dropFirst(4).prefix { $0 != "." }) { count = max(count, n + 1) }
        }
        return count
    }
}
