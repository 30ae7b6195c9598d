import Foundation
import SparrowRuntime

/// A float32 array read from a NumPy `.npy` file (format versions 1–3, little-endian `<f4`, C order),
/// as `numpy.save` writes it. Used for `--initial-latents`. The header is untrusted: its length, dtype,
/// order and shape are checked against the file before anything is read.
public struct NumpyArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        guard let base = file.base, file.count >= 10 else { throw FormatError(file: path, offset: 0, message: "is too short for a .npy file") }
        let bytes = UnsafeRawBufferPointer(start: base, count: file.count)
        guard bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw FormatError(file: path, offset: 0, message: "is not a .npy file (save the array with numpy.save)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: (headerLength, headerStart) = (Int(bytes[8]) | Int(bytes[9]) << 8, 10)
        case 2, 3:
            guard file.count >= 12 else { throw FormatError(file: path, offset: 8, message: "header length is cut off") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default: throw FormatError(file: path, offset: 6, message: ".npy version \(major) is not supported")
        }
        guard headerLength <= 1 << 16, headerStart + headerLength <= file.count else {
            throw FormatError(file: path, offset: 8, message: "header length \(headerLength) runs past the end of the file")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard header.contains("'descr': '<f4'") else {
            throw FormatError(file: path, offset: headerStart, message: "holds \(header.prefix(60))…; Sparrow reads float32 arrays (numpy.float32, little-endian)")
        }
        guard header.contains("'fortran_order': False") else {
            throw FormatError(file: path, offset: headerStart, message: "is in Fortran order; save a C-ordered array")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw FormatError(file: path, offset: headerStart, message: "has no shape in its header")
        }
        let dims = header[open.upperBound..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try dims.map { d -> Int in
            guard let n = Int(d), n >= 0, n <= 1 << 30 else { throw FormatError(file: path, offset: headerStart, message: "has a bad dimension '\(d)'") }
            return n
        }
        let (count, overflow) = shape.reduce((1, false)) { acc, n in
            let (p, o) = acc.0.multipliedReportingOverflow(by: n)
            return (p, acc.1 || o)
        }
        let start = headerStart + headerLength
        guard !overflow, count <= (file.count - start) / 4 else {
            throw FormatError(file: path, offset: start, message: "shape \(shape) needs \(count) floats but the file holds \((file.count - start) / 4)")
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count * 4)])) }
        self.shape = shape
        self.values = values
    }
}
