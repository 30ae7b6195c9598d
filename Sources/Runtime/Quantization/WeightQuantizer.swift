import CSparrowKernels

/// Float weights to ggml blocks and back, for writing model files.
///
/// The quantizers are bit-identical to llama.cpp's `quantize_row_*_ref` (what `llama-quantize` writes
/// without an importance matrix); block layouts are documented in CSparrowKernels/quantize_weights.c.
/// Matrices are row-major `[rows, columns]`; each row is quantized on its own, so `columns` must be a
/// multiple of the type's block size (32, or 256 for the K types).
public enum WeightQuantizer {
    /// The block types this quantizer writes.
    public static let supportedTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    /// Quantization error of one tensor: dequantize(quantize(w)) against w.
    public struct ErrorStatistics: Sendable, Equatable {
        /// Root mean square error over all elements.
        public var rootMeanSquareError: Double
        /// Largest absolute error of any element.
        public var maxAbsoluteError: Double
    }

    /// Whether `type` can hold rows of `columns` weights.
    public static func canQuantize(to type: GGMLType, columns: Int) -> Bool {
        sp_quantized_row_bytes(Int32(type.rawValue), Int64(columns)) > 0
    }

    /// Quantizes `weights` (`[rows, columns]`, row-major) to `type`; throws when the type is not one of
    /// `supportedTypes` or `columns` is not a multiple of its block size.
    public static func quantize(_ weights: UnsafeBufferPointer<Float>, rows: Int, columns: Int, to type: GGMLType) throws -> [UInt8] {
        let rowBytes = try checkedRowBytes(type, rows: rows, columns: columns, count: weights.count)
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        guard rows > 0 else { return out }
        let written = out.withUnsafeMutableBytes { y in
            sp_quantize_weights_ref(Int32(type.rawValue), weights.baseAddress, y.baseAddress, Int64(rows), Int64(columns))
        }
        precondition(written == out.count, "sp_quantize_weights_ref wrote \(written) of \(out.count) bytes")
        return out
    }

    /// Quantizes an array of `[rows, columns]` weights (see the pointer overload).
    public static func quantize(_ weights: [Float], rows: Int, columns: Int, to type: GGMLType) throws -> [UInt8] {
        try weights.withUnsafeBufferPointer { try quantize($0, rows: rows, columns: columns, to: type) }
    }

    /// The exact inverse of `quantize` (the runtime's reference dequantizer, bit-identical to ggml's
    /// dequantize_row_*), for any of `supportedTypes`.
    public static func dequantize(_ blocks: [UInt8], rows: Int, columns: Int, type: GGMLType) throws -> [Float] {
        let rowBytes = try checkedRowBytes(type, rows: rows, columns: columns, count: rows * columns)
        guard blocks.count == rows * rowBytes else {
            throw QuantizationError("\(type) data for [\(rows), \(columns)] must be \(rows * rowBytes) bytes, found \(blocks.count)")
        }
        var out = [Float](repeating: 0, count: rows * columns)
        guard rows > 0 else { return out }
        blocks.withUnsafeBytes { y in
            out.withUnsafeMutableBufferPointer { x in
                for r in 0..<rows {
                    sp_dequantize_row_ref(Int32(type.rawValue), y.baseAddress! + r * rowBytes, x.baseAddress! + r * columns, Int64(columns))
                }
            }
        }
        return out
    }

    /// RMSE and largest absolute error of `reconstruction` against `weights` (same length).
    public static func errorStatistics(of reconstruction: [Float], against weights: UnsafeBufferPointer<Float>) -> ErrorStatistics {
        precondition(reconstruction.count == weights.count, "error statistics need equal lengths")
        var sum = 0.0, worst = 0.0
        for i in 0..<weights.count {
            let e = Double(reconstruction[i]) - Double(weights[i])
            sum += e * e
            worst = max(worst, abs(e))
        }
        let rmse = weights.isEmpty ? 0 : (sum / Double(weights.count)).squareRoot()
        return ErrorStatistics(rootMeanSquareError: rmse, maxAbsoluteError: worst)
    }

    /// Converts `elements` values stored as `type` (any type `sp_dequantize_row` reads: F32, F16, BF16 and
    /// the block types the kernels compute with) to floats; throws for other types.
    public static func floats(from data: UnsafeRawPointer, type: GGMLType, elements: Int, tensorName: String) throws -> [Float] {
        guard canRead(type) else {
            throw QuantizationError(
                "tensor '\(tensorName)' is \(type), which Sparrow cannot dequantize; quantize from the F16, BF16 or F32 model instead")
        }
        var out = [Float](repeating: 0, count: elements)
        guard elements > 0 else { return out }
        out.withUnsafeMutableBufferPointer { sp_dequantize_row(Int32(type.rawValue), data, $0.baseAddress, Int64(elements)) }
        return out
    }

    /// Whether `floats(from:type:…)` can convert `type`.
    public static func canRead(_ type: GGMLType) -> Bool {
        type != .q8_1 && sp_row_bytes(Int32(type.rawValue), Int64(type.blockSize)) > 0
    }

    private static func checkedRowBytes(_ type: GGMLType, rows: Int, columns: Int, count: Int) throws -> Int {
        guard supportedTypes.contains(type) else {
            throw QuantizationError("cannot quantize to \(type); supported types are \(supportedTypes.map(\.description).joined(separator: ", "))")
        }
        let rowBytes = Int(sp_quantized_row_bytes(Int32(type.rawValue), Int64(columns)))
        guard rowBytes > 0 else {
            throw QuantizationError("\(type) needs rows of a multiple of \(type.blockSize) weights, found \(columns)")
        }
        let (elements, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, !overflow, elements == count else {
            throw QuantizationError("[\(rows), \(columns)] weights expected, found \(count)")
        }
        return rowBytes
    }
}

/// A quantization request that cannot be carried out (unsupported type or shape, unreadable source).
public struct QuantizationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
