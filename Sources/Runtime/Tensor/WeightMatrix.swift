import CSparrowKernels

/// A 2-D weight tensor stored row-major in one of the GGML block formats, usually mapped from a file.
///
/// `rows` is the output dimension (ggml ne[1]), `columns` the input dimension K (ne[0]); row r starts
/// at `data + r * rowBytes`. The memory is not owned: whoever made the matrix keeps it alive (a mapped
/// file, or a `[UInt8]` buffer in tests).
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let rowBytes: Int
    public let data: UnsafeRawPointer

    public init(name: String, type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer) {
        precondition(type.isSupported, "\(type) has no kernel")
        precondition(columns % type.blockSize == 0)
        self.name = name
        self.type = type
        self.rows = rows
        self.columns = columns
        self.rowBytes = type.byteCount(elements: columns)!
        self.data = data
    }

    public var byteCount: Int { rows * rowBytes }

    /// The activation format this matrix's kernels consume: F32, Q8_0, Q8_1 or (for the K-quants) Q8_K.
    public var activationType: GGMLType { GGMLType(rawValue: UInt32(sp_vec_dot_type(Int32(type.rawValue))))! }

    /// Dequantizes row `r` into `out` (`columns` floats).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows)
        sp_dequantize_row(Int32(type.rawValue), data + r * rowBytes, out, Int64(columns))
    }
}

extension GGUFFile {
    /// The 2-D tensor `name` as a weight matrix of shape [rows, columns] (ggml ne = [columns, rows]).
    /// Throws naming the tensor and the file when it is missing, mis-shaped or of an unsupported type.
    public func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
        guard let info = tensor(named: name) else {
            throw FormatError(file: path, offset: nil, message: "tensor '\(name)' is missing")
        }
        let dims = info.dimensions
        guard dims.count == 2 || (dims.count > 2 && dims[2...].allSatisfy { $0 == 1 }) else {
            throw FormatError(file: path, offset: info.offset, message: "tensor '\(name)' has shape \(dims), expected [\(columns), \(rows)]")
        }
        guard dims[0] == columns, dims[1] == rows else {
            throw FormatError(file: path, offset: info.offset, message: "tensor '\(name)' has shape \(dims), expected [\(columns), \(rows)]")
        }
        guard info.type.isSupported else {
            throw FormatError(
                file: path, offset: info.offset,
                message: "tensor '\(name)' has type \(info.type), which Sparrow cannot compute with yet (supported: \(GGMLType.allCases.filter(\.isSupported).map(\.description).joined(separator: ", ")))")
        }
        return WeightMatrix(name: name, type: info.type, rows: rows, columns: columns, data: data(of: info))
    }

    /// The 1-D tensor `name` of `count` elements as floats (converted from F32, F16 or BF16).
    public func vector(_ name: String, count: Int) throws -> [Float] {
        guard let info = tensor(named: name) else {
            throw FormatError(file: path, offset: nil, message: "tensor '\(name)' is missing")
        }
        guard info.elementCount == count, info.dimensions[0] == count else {
            throw FormatError(file: path, offset: info.offset, message: "tensor '\(name)' has shape \(info.dimensions), expected [\(count)]")
        }
        guard info.type == .f32 || info.type == .f16 || info.type == .bf16 else {
            throw FormatError(file: path, offset: info.offset, message: "tensor '\(name)' has type \(info.type), expected F32, F16 or BF16")
        }
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer {
            sp_dequantize_row(Int32(info.type.rawValue), data(of: info), $0.baseAddress!, Int64(count))
        }
        return out
    }
}
