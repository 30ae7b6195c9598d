import CSparrowKernels

/// A parsed `.safetensors` file: the JSON header's tensor table and the mapped tensor data.
///
/// Layout (matches https://github.com/huggingface/safetensors#format): u64 little-endian header
/// length N; N bytes of UTF-8 JSON, an object mapping each tensor name to
/// `{"dtype": "F16", "shape": [rows, columns], "data_offsets": [begin, end]}` plus an optional
/// `"__metadata__"` string-to-string map; then the data section, which offsets are relative to.
/// Tensors are row-major (last dimension fastest). The file is treated as hostile: the header length,
/// JSON syntax (duplicate keys included), every shape product, byte span and offset are checked with
/// overflow-safe arithmetic, tensors may neither overlap nor leave holes (as the reference reader
/// requires), and each failure is a `FormatError` naming the file, tensor and byte offset.
public final class SafetensorsFile: WeightSource, @unchecked Sendable {
    /// One entry of the tensor table, checked to lie inside the data section.
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        /// F32, F16, BF16, or I8 (the integer values of a weight quantized by `sparrow quantize`, whose
        /// scales are a separate tensor).
        public let type: GGMLType
        /// Dimensions, slowest-varying first (`[rows, columns]` for a matrix).
        public let shape: [Int]
        /// Absolute offset in the file.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// Limits that keep a hostile file from making the reader allocate or loop without bound.
    public enum Limits {
        /// The reference implementation's limit on the header length.
        public static let maxHeaderBytes = 100_000_000
        public static let maxDimensions = 8
        public static let maxElements = 1 << 40
    }

    public let file: MappedFile
    public var path: String { file.path }
    /// Absolute offset of the data section (8 + header length).
    public let dataOffset: Int
    /// The optional `__metadata__` map.
    public let metadata: [String: String]
    /// Tensors in data order.
    public let tensors: [TensorInfo]
    private let tensorIndex: [String: Int]

    /// Maps and parses the safetensors file at `path`.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Parses safetensors bytes held in memory; `name` stands for the path in errors.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        try self.init(file: MappedFile(bytes: bytes, name: name))
    }

    /// Parses an already mapped file.
    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        func fail(_ offset: Int?, _ message: String) -> FormatError { FormatError(file: path, offset: offset, message: message) }

        let headerLength = try file.read(UInt64.self, at: 0, what: "safetensors header length")
        guard headerLength <= UInt64(Limits.maxHeaderBytes) else {
            throw fail(0, "header length \(headerLength) is more than the limit of \(Limits.maxHeaderBytes) bytes (not a safetensors file, or corrupt)")
        }
        let headerBytes = try file.bytes(at: 8, count: Int(headerLength), what: "safetensors header")
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail(8, "header does not start with '{' (not a safetensors file, or corrupt)")
        }
        let header = try JSONValue.parse(headerBytes, file: path, baseOffset: 8)
        guard let members = header.objectValue else { throw fail(8, "header is \(header.kind), expected a JSON object") }
        dataOffset = 8 + Int(headerLength)
        let dataSize = file.count - dataOffset

        var meta: [String: String] = [:]
        var infos: [TensorInfo] = []
        infos.reserveCapacity(members.count)
        for (name, entry) in members {
            if name == "__metadata__" {
                guard let pairs = entry.objectValue else { throw fail(8, "__metadata__ is \(entry.kind), expected an object of strings") }
                for (key, value) in pairs {
                    guard let s = value.stringValue else {
                        throw fail(8, "__metadata__ value of '\(key)' is \(value.kind), expected a string")
                    }
                    meta[key] = s
                }
                continue
            }
            infos.append(try Self.tensorInfo(name: name, entry: entry, dataOffset: dataOffset, dataSize: dataSize, path: path))
        }
        metadata = meta

        // The data section is covered exactly: no overlaps, no holes, nothing after the last tensor.
        infos.sort { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        var end = dataOffset
        var previous: TensorInfo?
        for t in infos {
            if t.offset < end, let previous {
                throw fail(t.offset, "tensor '\(t.name)' overlaps tensor '\(previous.name)'")
            }
            guard t.offset == end else {
                throw fail(end, "\(t.offset - end) bytes before tensor '\(t.name)' belong to no tensor (safetensors data may not have holes)")
            }
            end = t.offset + t.byteCount
            previous = t
        }
        guard end == file.count else {
            throw fail(end, "\(file.count - end) bytes after the last tensor belong to no tensor (truncated header or corrupt file)")
        }
        tensors = infos
        tensorIndex = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    /// Validates one header entry: fields, dtype, shape product × element size == byte span, range
    /// inside the data section, alignment to the element size.
    private static func tensorInfo(name: String, entry: JSONValue, dataOffset: Int, dataSize: Int, path: String) throws -> TensorInfo {
        func fail(_ offset: Int?, _ message: String) -> FormatError { FormatError(file: path, offset: offset, message: "tensor '\(name)' \(message)") }
        guard let fields = entry.objectValue else { throw fail(8, "is \(entry.kind) in the header, expected an object") }
        if let unknown = fields.first(where: { !["dtype", "shape", "data_offsets"].contains($0.key) }) {
            throw fail(8, "has unknown header field '\(unknown.key)'")
        }
        guard let dtype = entry["dtype"]?.stringValue else { throw fail(8, "has no string 'dtype'") }
        let type: GGMLType
        switch dtype {
        case "F32": type = .f32
        case "F16": type = .f16
        case "BF16": type = .bf16
        case "I8": type = .i8
        default: throw fail(8, "has dtype \(dtype), which Sparrow cannot load (supported: F32, F16, BF16, I8); convert the checkpoint")
        }
        guard let dims = entry["shape"]?.arrayValue else { throw fail(8, "has no 'shape' array") }
        guard dims.count <= Limits.maxDimensions else { throw fail(8, "has \(dims.count) dimensions (at most \(Limits.maxDimensions) allowed)") }
        var shape: [Int] = []
        var elements = 1
        for (i, d) in dims.enumerated() {
            guard let v = d.intValue, v >= 0 else { throw fail(8, "shape dimension \(i) is not a non-negative integer") }
            let (p, overflow) = elements.multipliedReportingOverflow(by: v)
            guard !overflow, p <= Limits.maxElements else {
                throw fail(8, "element count overflows at dimension \(i) (limit \(Limits.maxElements))")
            }
            elements = p
            shape.append(v)
        }
        guard let offsets = entry["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, begin <= end else {
            throw fail(8, "needs 'data_offsets' [begin, end] with 0 <= begin <= end")
        }
        // elements <= 2^40 and the element size is at most 4: no overflow.
        let byteCount = elements * type.byteCount(elements: 1)!
        guard end - begin == byteCount else {
            throw fail(8, "spans \(end - begin) bytes but shape \(shape) of \(dtype) needs \(byteCount)")
        }
        guard end <= dataSize else {
            throw fail(dataOffset + min(begin, dataSize), "data [\(begin), \(end)) runs past the end of the \(dataSize)-byte data section (truncated or corrupt)")
        }
        let offset = dataOffset + begin
        let elementSize = type.byteCount(elements: 1)!
        guard offset % elementSize == 0 else {
            throw fail(offset, "data at byte \(offset) is not aligned to its \(elementSize)-byte elements; re-save the checkpoint")
        }
        return TensorInfo(name: name, type: type, shape: shape, offset: offset, byteCount: byteCount)
    }

    /// The tensor info for `name`, or nil.
    public func tensor(named name: String) -> TensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor of this file (already checked to lie inside it).
    public func bytes(of info: TensorInfo) -> UnsafeRawBufferPointer {
        guard let base = file.base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + info.offset, count: info.byteCount)
    }

    public var tensorNames: [String] { tensors.map(\.name) }
    public func containsTensor(_ name: String) -> Bool { tensorIndex[name] != nil }

    /// The 2-D tensor `name` of shape `[rows, columns]` as a weight matrix over the mapped bytes.
    public func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
        let info = try checkedTensor(name, shape: [rows, columns])
        guard info.type.isSupported else {
            throw FormatError(file: path, offset: info.offset,
                              message: "tensor '\(name)' is \(info.type), which has no matrix kernel (I8 weights are read as floats with their scales)")
        }
        guard let base = file.base, rows > 0, columns > 0 else {
            throw FormatError(file: path, offset: info.offset, message: "tensor '\(name)' is empty")
        }
        return WeightMatrix(name: name, type: info.type, rows: rows, columns: columns, data: base + info.offset)
    }

    /// The 1-D tensor `name` of `count` elements as floats (converted from F32, F16, BF16 or I8).
    public func vector(_ name: String, count: Int) throws -> [Float] {
        floats(of: try checkedTensor(name, shape: [count]))
    }

    /// Every element of a tensor of this file as floats, in stored (row-major) order, converted from
    /// F32, F16 or BF16; I8 gives the integers themselves (−128…127, no scale applied).
    public func floats(of info: TensorInfo) -> [Float] {
        let count = info.elementCount
        guard count > 0 else { return [] }
        let source = bytes(of: info)
        // Every element is written below, so the array is not zeroed first (a 100 MB tensor's memset
        // was a tenth of pipeline loading).
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if info.type == .i8 {
                for i in 0..<count { out[i] = Float(Int8(bitPattern: source[i])) }
            } else {
                sp_dequantize_row(Int32(info.type.rawValue), source.baseAddress!, out.baseAddress!, Int64(count))
            }
            initialized = count
        }
    }

    /// Drops the tensor's pages from resident memory (see `MappedFile.release`); reading it again works.
    public func release(_ info: TensorInfo) {
        file.release(offset: info.offset, length: info.byteCount)
    }

    private func checkedTensor(_ name: String, shape: [Int]) throws -> TensorInfo {
        guard let info = tensor(named: name) else {
            throw FormatError(file: path, offset: nil, message: "tensor '\(name)' is missing")
        }
        guard info.shape == shape else {
            throw FormatError(file: path, offset: info.offset, message: "tensor '\(name)' has shape \(info.shape), expected \(shape)")
        }
        return info
    }
}
