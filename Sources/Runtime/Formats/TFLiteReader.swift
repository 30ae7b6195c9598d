/// Reads and checks a whole .tflite flatbuffer (matches tensorflow/lite/schema/schema.fbs): field
/// numbers below are the schema's field order within each table.
struct TFLiteReader {
    let buffer: FlatBuffer
    var file: MappedFile { buffer.file }

    /// Everything `TFLiteModel` keeps.
    struct Parsed {
        var version: Int
        var description: String?
        var operatorCodes: [TFLiteOperatorCode]
        var subgraphs: [TFLiteSubgraph]
        var bufferRanges: [Range<Int>]
    }

    /// The 4-byte file identifier after the root offset.
    static let identifier: [UInt8] = Array("TFL3".utf8)

    func read() throws -> Parsed {
        let head = try file.bytes(at: 0, count: 8, what: "flatbuffer header (root offset and file identifier)")
        let id = Array(head[4..<8])
        guard id == Self.identifier else {
            let shown = id.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
            throw buffer.error(4, "file identifier is \"\(shown)\", not \"TFL3\": this is not a TensorFlow Lite model (or not one this reader knows)")
        }
        let model = try buffer.root("model table")
        let version = try model.scalar(0, UInt32(0), "model version")
        let codes = try model.tables(1, "operator codes", element: { "operator code \($0)" })
        let operatorCodes = try codes.enumerated().map { try operatorCode($1, index: $0) }
        let graphs = try model.tables(2, "subgraphs", element: { "subgraph \($0)" })
        guard !graphs.isEmpty else {
            throw buffer.error(model.position, "the model has no subgraphs; a model needs at least its main graph")
        }
        let description = try model.string(3, "model description")
        let buffers = try model.tables(4, "buffers", element: { "buffer \($0)" })
        let bufferRanges = try buffers.enumerated().map { try bufferRange($1, index: $0) }
        var subgraphs: [TFLiteSubgraph] = []
        for (i, graph) in graphs.enumerated() {
            subgraphs.append(try subgraph(graph, index: i, operatorCodes: operatorCodes, bufferRanges: bufferRanges))
        }
        return Parsed(
            version: Int(version), description: description, operatorCodes: operatorCodes, subgraphs: subgraphs,
            bufferRanges: bufferRanges)
    }

    /// OperatorCode: 0 deprecated_builtin_code (i8), 1 custom_code, 2 version, 3 builtin_code (i32).
    private func operatorCode(_ t: FlatBufferTable, index: Int) throws -> TFLiteOperatorCode {
        let what = "operator code \(index)"
        let deprecated = try t.scalar(0, Int8(0), "\(what): deprecated_builtin_code")
        let builtin = try t.scalar(3, Int32(0), "\(what): builtin_code")
        // The schema: old files set only the int8 field, new ones both; the larger is the code.
        let code = max(Int32(deprecated), builtin)
        guard code >= 0 else {
            throw buffer.error(t.position, "\(what): builtin code \(code) is negative (corrupt)")
        }
        if code == TFLiteBuiltinOperator.custom.rawValue {
            guard let name = try t.string(1, "\(what): custom_code") else {
                throw buffer.error(t.position, "\(what) is CUSTOM but has no custom_code name (corrupt)")
            }
            return .custom(name)
        }
        return .builtin(TFLiteBuiltinOperator(rawValue: code))
    }

    /// Buffer: 0 data (u8 vector), or 1 offset + 2 size (u64) into the file past the flatbuffer, used
    /// by files over 2 GB; the schema counts an offset ≤ 1 as unset.
    private func bufferRange(_ t: FlatBufferTable, index: Int) throws -> Range<Int> {
        let what = "buffer \(index)"
        let offset = try t.scalar(1, UInt64(0), "\(what): offset")
        if offset > 1 {
            let size = try t.scalar(2, UInt64(0), "\(what): size")
            let fileCount = UInt64(file.count)
            guard offset <= fileCount, size <= fileCount - offset else {
                throw buffer.error(t.position, "\(what): \(size) bytes at offset \(offset) run past the end of the \(file.count)-byte file (truncated or corrupt)")
            }
            return Int(offset)..<Int(offset + size)
        }
        guard let (start, count) = try t.vector(0, elementSize: 1, "\(what): data") else { return 0..<0 }
        return start..<(start + count)
    }

    /// SubGraph: 0 tensors, 1 inputs, 2 outputs, 3 operators, 4 name.
    private func subgraph(
        _ t: FlatBufferTable, index: Int, operatorCodes: [TFLiteOperatorCode], bufferRanges: [Range<Int>]
    ) throws -> TFLiteSubgraph {
        let what = "subgraph \(index)"
        let tensorTables = try t.tables(0, "\(what): tensors", element: { "tensor \($0) of \(what)" })
        var tensors: [TFLiteTensor] = []
        tensors.reserveCapacity(tensorTables.count)
        for (i, table) in tensorTables.enumerated() {
            tensors.append(try tensor(table, index: i, subgraph: index, bufferRanges: bufferRanges))
        }
        let inputs = try tensorIndices(t, 1, "\(what): inputs", tensorCount: tensors.count)
        let outputs = try tensorIndices(t, 2, "\(what): outputs", tensorCount: tensors.count)
        let operatorTables = try t.tables(3, "\(what): operators", element: { "operator \($0) of \(what)" })
        var operators: [TFLiteOperator] = []
        operators.reserveCapacity(operatorTables.count)
        for (i, table) in operatorTables.enumerated() {
            operators.append(try self.operator(table, index: i, subgraph: index, operatorCodes: operatorCodes, tensorCount: tensors.count))
        }
        let name = try t.string(4, "\(what): name")
        return TFLiteSubgraph(name: name, tensors: tensors, inputs: inputs, outputs: outputs, operators: operators)
    }

    /// A vector of tensor indices, each -1 (absent optional) or a tensor of the subgraph.
    private func tensorIndices(_ t: FlatBufferTable, _ field: Int, _ what: String, tensorCount: Int) throws -> [Int] {
        let values = try t.scalars(field, as: Int32.self, what)
        for (i, v) in values.enumerated() where v < -1 || Int(v) >= tensorCount {
            throw buffer.error(t.position, "\(what): entry \(i) is tensor \(v), but the subgraph has \(tensorCount) tensors (corrupt)")
        }
        return values.map(Int.init)
    }

    /// Tensor: 0 shape, 1 type, 2 buffer, 3 name, 4 quantization, 5 is_variable, 6 sparsity.
    private func tensor(_ t: FlatBufferTable, index: Int, subgraph: Int, bufferRanges: [Range<Int>]) throws -> TFLiteTensor {
        var what = "tensor \(index) of subgraph \(subgraph)"
        let name = try t.string(3, "\(what): name") ?? ""
        what = "tensor \(index) ('\(name)') of subgraph \(subgraph)"
        let dims = try t.scalars(0, as: Int32.self, "\(what): shape")
        var elementCount = 1
        for (i, d) in dims.enumerated() {
            guard d >= 0 else {
                throw buffer.error(t.position, "\(what): dimension \(i) is \(d); shapes must not be negative (corrupt)")
            }
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: Int(d))
            guard !overflow else {
                throw buffer.error(t.position, "\(what): element count overflows at dimension \(i) of \(dims) (corrupt)")
            }
            elementCount = product
        }
        let type = TFLiteTensorType(rawValue: try t.scalar(1, Int8(0), "\(what): type"))
        let bufferIndex = Int(try t.scalar(2, UInt32(0), "\(what): buffer"))
        guard bufferIndex < bufferRanges.count else {
            throw buffer.error(t.position, "\(what) refers to buffer \(bufferIndex), but the model has \(bufferRanges.count) buffers (corrupt)")
        }
        let byteCount = bufferRanges[bufferIndex].count
        if byteCount > 0, let size = type.byteSize {
            let (expected, overflow) = elementCount.multipliedReportingOverflow(by: size)
            guard !overflow, expected == byteCount else {
                throw buffer.error(
                    t.position,
                    "constant \(what) of shape \(dims) and type \(type) needs \(overflow ? "more than Int.max" : String(expected)) bytes, but its buffer \(bufferIndex) holds \(byteCount) (corrupt)")
            }
        }
        let quantization = try t.table(4, "\(what): quantization").flatMap { try self.quantization($0, what: what, shape: dims) }
        let isVariable = try t.bool(5, false, "\(what): is_variable")
        if try t.table(6, "\(what): sparsity") != nil {
            throw buffer.error(t.position, "\(what) is stored sparse (sparsity parameters); sparse tensors are not supported — use a dense model")
        }
        return TFLiteTensor(
            name: name, shape: dims.map(Int.init), type: type, buffer: bufferIndex, quantization: quantization, isVariable: isVariable)
    }

    /// QuantizationParameters: 2 scale, 3 zero_point, 6 quantized_dimension; nil when it holds no scales.
    private func quantization(_ t: FlatBufferTable, what: String, shape: [Int32]) throws -> TFLiteQuantization? {
        let scales = try t.floats(2, "\(what): quantization scales")
        let zeroPoints = try t.scalars(3, as: Int64.self, "\(what): quantization zero points")
        let dimension = Int(try t.scalar(6, Int32(0), "\(what): quantized_dimension"))
        if scales.isEmpty && zeroPoints.isEmpty { return nil }
        guard zeroPoints.isEmpty || zeroPoints.count == scales.count else {
            throw buffer.error(t.position, "\(what): \(scales.count) quantization scales but \(zeroPoints.count) zero points (corrupt)")
        }
        if scales.count > 1 {
            guard dimension >= 0, dimension < shape.count, Int(shape[dimension]) == scales.count else {
                throw buffer.error(
                    t.position, "\(what): \(scales.count) per-channel scales do not match quantized dimension \(dimension) of shape \(shape) (corrupt)")
            }
        }
        return TFLiteQuantization(scales: scales, zeroPoints: zeroPoints, quantizedDimension: dimension)
    }

    /// Operator: 0 opcode_index, 1 inputs, 2 outputs, 3/4 builtin_options (union), 5 custom_options,
    /// 9/10 large_custom_options offset/size.
    private func `operator`(
        _ t: FlatBufferTable, index: Int, subgraph: Int, operatorCodes: [TFLiteOperatorCode], tensorCount: Int
    ) throws -> TFLiteOperator {
        var what = "operator \(index) of subgraph \(subgraph)"
        let opcodeIndex = Int(try t.scalar(0, UInt32(0), "\(what): opcode_index"))
        guard opcodeIndex < operatorCodes.count else {
            throw buffer.error(t.position, "\(what): opcode_index \(opcodeIndex), but the model has \(operatorCodes.count) operator codes (corrupt)")
        }
        let code = operatorCodes[opcodeIndex]
        what = "operator \(index) (\(code.name)) of subgraph \(subgraph)"
        let inputs = try tensorIndices(t, 1, "\(what): inputs", tensorCount: tensorCount)
        let outputs = try tensorIndices(t, 2, "\(what): outputs", tensorCount: tensorCount)
        let (optionsType, optionsTable) = try t.union(3, "\(what): builtin options")
        var customOptions = try t.scalars(5, as: UInt8.self, "\(what): custom options")
        let largeOffset = try t.scalar(9, UInt64(0), "\(what): large_custom_options_offset")
        if largeOffset > 1 {
            let size = try t.scalar(10, UInt64(0), "\(what): large_custom_options_size")
            let fileCount = UInt64(file.count)
            guard largeOffset <= fileCount, size <= fileCount - largeOffset else {
                throw buffer.error(t.position, "\(what): \(size) bytes of custom options at offset \(largeOffset) run past the end of the \(file.count)-byte file (truncated or corrupt)")
            }
            try buffer.spend(Int(size), at: t.position, what)
            customOptions = Array(try file.bytes(at: Int(largeOffset), count: Int(size), what: "\(what): custom options"))
        }
        let options = try TFLiteOperatorOptions.decode(
            code: code, optionsType: optionsType, table: optionsTable, customOptions: customOptions, buffer: buffer,
            at: t.position, what: what)
        return TFLiteOperator(opcodeIndex: opcodeIndex, inputs: inputs, outputs: outputs, options: options, customOptions: customOptions)
    }
}
