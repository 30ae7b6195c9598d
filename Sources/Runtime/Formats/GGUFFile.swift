/// A parsed GGUF file (versions 2 and 3): metadata, tensor table and the mapped tensor data.
///
/// Layout (matches ggml/docs/gguf.md): magic "GGUF", u32 version, u64 tensor count, u64 metadata
/// count; metadata key/value pairs; tensor infos (name, u32 dimension count, u64 dimensions with the
/// fastest-varying first, u32 type, u64 offset relative to the data section); padding to
/// `general.alignment` (default 32); the data section. The file is treated as hostile: every count,
/// length, offset and product is checked before use, and each failure names the file, the key or
/// tensor, and the byte offset.
public final class GGUFFile: @unchecked Sendable {
    public struct TensorInfo: Sendable {
        public let name: String
        /// Dimensions, fastest-varying first (ggml's ne[0], ne[1], …).
        public let dimensions: [Int]
        public let type: GGMLType
        /// Offset relative to the data section.
        public let relativeOffset: Int
        /// Absolute offset in the file.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { dimensions.reduce(1, *) }
    }

    /// Limits that keep a hostile file from making the reader allocate or loop without bound.
    public enum Limits {
        public static let maxStringBytes = 1 << 26         // 64 MiB
        public static let maxDimensions = 4                // GGML_MAX_DIMS
        public static let maxArrayNesting = 8
        public static let maxElements = 1 << 40
    }

    public let file: MappedFile
    public let version: UInt32
    public let alignment: Int
    public let dataOffset: Int
    /// Metadata in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    public let tensors: [TensorInfo]
    private let tensorIndex: [String: Int]

    public var path: String { file.path }

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        var cursor = Cursor(file: file)
        let magic = try cursor.u32("magic")
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            throw FormatError(file: file.path, offset: 0, message: "not a GGUF file (bad magic); expected a .gguf model")
        }
        version = try cursor.u32("version")
        guard version == 2 || version == 3 else {
            throw FormatError(
                file: file.path, offset: 4,
                message: "GGUF version \(version) is not supported (2 and 3 are); re-convert the model with a current llama.cpp")
        }
        let tensorCountOffset = cursor.offset
        let tensorCount = try cursor.u64("tensor count")
        let kvCountOffset = cursor.offset
        let kvCount = try cursor.u64("metadata count")
        // Every metadata entry needs at least 8 (key length) + 4 (type) + 1 bytes, every tensor info
        // at least 8 + 4 + 8 + 4 + 8: a count that cannot fit in the file is corrupt.
        guard kvCount <= UInt64(file.count / 13) else {
            throw FormatError(file: file.path, offset: kvCountOffset, message: "metadata count \(kvCount) cannot fit in a \(file.count)-byte file")
        }
        guard tensorCount <= UInt64(file.count / 32) else {
            throw FormatError(file: file.path, offset: tensorCountOffset, message: "tensor count \(tensorCount) cannot fit in a \(file.count)-byte file")
        }

        var keys: [String] = []
        var meta: [String: GGUFValue] = [:]
        keys.reserveCapacity(Int(kvCount))
        for i in 0..<Int(kvCount) {
            let keyOffset = cursor.offset
            let key = try cursor.string("key of metadata entry \(i)")
            guard meta[key] == nil else {
                throw FormatError(file: file.path, offset: keyOffset, message: "duplicate metadata key '\(key)'")
            }
            let typeOffset = cursor.offset
            let rawType = try cursor.u32("type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw FormatError(file: file.path, offset: typeOffset, message: "metadata key '\(key)' has unknown value type \(rawType)")
            }
            meta[key] = try cursor.value(type, key: key, depth: 0)
            keys.append(key)
        }
        metadataKeys = keys
        metadata = meta

        var align = 32
        if let a = meta["general.alignment"] {
            guard case .uint32(let v) = a, v > 0, v.nonzeroBitCount == 1, v <= 1 << 20 else {
                throw FormatError(file: file.path, offset: nil, message: "general.alignment must be a power-of-two u32, found \(a)")
            }
            align = Int(v)
        }
        alignment = align

        struct RawInfo { let name: String; let dims: [Int]; let type: GGMLType; let rel: Int; let at: Int }
        var raw: [RawInfo] = []
        raw.reserveCapacity(Int(tensorCount))
        var index: [String: Int] = [:]
        for i in 0..<Int(tensorCount) {
            let at = cursor.offset
            let name = try cursor.string("name of tensor \(i)")
            guard index[name] == nil else {
                throw FormatError(file: file.path, offset: at, message: "duplicate tensor name '\(name)'")
            }
            let nDimsOffset = cursor.offset
            let nDims = try cursor.u32("dimension count of '\(name)'")
            guard nDims >= 1, nDims <= UInt32(Limits.maxDimensions) else {
                throw FormatError(file: file.path, offset: nDimsOffset, message: "tensor '\(name)' has \(nDims) dimensions (1 to \(Limits.maxDimensions) allowed)")
            }
            var dims: [Int] = []
            var elements = 1
            for d in 0..<Int(nDims) {
                let dimOffset = cursor.offset
                let v = try cursor.u64("dimension \(d) of '\(name)'")
                guard v >= 1, v <= UInt64(Limits.maxElements) else {
                    throw FormatError(file: file.path, offset: dimOffset, message: "tensor '\(name)' dimension \(d) is \(v)")
                }
                let (p, overflow) = elements.multipliedReportingOverflow(by: Int(v))
                guard !overflow, p <= Limits.maxElements else {
                    throw FormatError(file: file.path, offset: dimOffset, message: "tensor '\(name)' element count overflows")
                }
                elements = p
                dims.append(Int(v))
            }
            let typeOffset = cursor.offset
            let rawType = try cursor.u32("type of '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw FormatError(file: file.path, offset: typeOffset, message: "tensor '\(name)' has unknown tensor type \(rawType); this file needs a newer runtime")
            }
            guard dims[0] % type.blockSize == 0 else {
                throw FormatError(
                    file: file.path, offset: at,
                    message: "tensor '\(name)' row length \(dims[0]) is not a multiple of \(type)'s block size \(type.blockSize)")
            }
            let offOffset = cursor.offset
            let rel = try cursor.u64("offset of '\(name)'")
            guard rel <= UInt64(file.count), Int(rel) % align == 0 else {
                throw FormatError(
                    file: file.path, offset: offOffset,
                    message: "tensor '\(name)' data offset \(rel) is \(rel > UInt64(file.count) ? "past the end of the file" : "not aligned to \(align) bytes")")
            }
            index[name] = i
            raw.append(RawInfo(name: name, dims: dims, type: type, rel: Int(rel), at: at))
        }
        let headerEnd = cursor.offset
        let (padded, overflow) = headerEnd.addingReportingOverflow((align - headerEnd % align) % align)
        guard !overflow else { throw FormatError(file: file.path, offset: headerEnd, message: "header size overflows") }
        dataOffset = padded

        var infos: [TensorInfo] = []
        infos.reserveCapacity(raw.count)
        for r in raw {
            let elements = r.dims.reduce(1, *)
            guard let bytes = r.type.byteCount(elements: elements) else {
                throw FormatError(file: file.path, offset: r.at, message: "tensor '\(r.name)' size overflows")
            }
            let (abs, o1) = dataOffset.addingReportingOverflow(r.rel)
            guard !o1 else { throw FormatError(file: file.path, offset: r.at, message: "tensor '\(r.name)' offset overflows") }
            do {
                try file.checkRange(abs, bytes, what: "tensor '\(r.name)' (\(r.type), \(r.dims))")
            }
            infos.append(TensorInfo(name: r.name, dimensions: r.dims, type: r.type, relativeOffset: r.rel, offset: abs, byteCount: bytes))
        }
        // Tensors must not overlap one another.
        let sorted = infos.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw FormatError(file: file.path, offset: b.offset, message: "tensor '\(b.name)' overlaps tensor '\(a.name)'")
        }
        tensors = infos
        tensorIndex = index
    }

    /// The tensor info for `name`, or nil.
    public func tensor(named name: String) -> TensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor (already checked to lie inside the file).
    public func data(of info: TensorInfo) -> UnsafeRawPointer {
        file.base! + info.offset
    }

    // MARK: Typed metadata access

    public func value(_ key: String) -> GGUFValue? { metadata[key] }

    public func string(_ key: String) throws -> String {
        guard let v = metadata[key] else { throw missing(key) }
        guard let s = v.stringValue else { throw wrongType(key, v, "string") }
        return s
    }

    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw missing(key) }
        guard let i = v.intValue else { throw wrongType(key, v, "integer") }
        return i
    }

    public func float(_ key: String) throws -> Double {
        guard let v = metadata[key] else { throw missing(key) }
        guard let d = v.doubleValue else { throw wrongType(key, v, "number") }
        return d
    }

    public func bool(_ key: String) throws -> Bool {
        guard let v = metadata[key] else { throw missing(key) }
        guard let b = v.boolValue else { throw wrongType(key, v, "bool") }
        return b
    }

    public func stringArray(_ key: String) throws -> [String] {
        guard let v = metadata[key] else { throw missing(key) }
        guard case .array(.string, let a) = v else { throw wrongType(key, v, "array of strings") }
        return a.map { $0.stringValue! }
    }

    public func intArray(_ key: String) throws -> [Int] {
        guard let v = metadata[key] else { throw missing(key) }
        guard case .array(_, let a) = v else { throw wrongType(key, v, "array of integers") }
        return try a.map { guard let i = $0.intValue else { throw wrongType(key, v, "array of integers") }; return i }
    }

    public func floatArray(_ key: String) throws -> [Float] {
        guard let v = metadata[key] else { throw missing(key) }
        guard case .array(_, let a) = v else { throw wrongType(key, v, "array of numbers") }
        return try a.map { guard let d = $0.doubleValue else { throw wrongType(key, v, "array of numbers") }; return Float(d) }
    }

    private func missing(_ key: String) -> FormatError {
        FormatError(file: file.path, offset: nil, message: "metadata key '\(key)' is missing")
    }

    private func wrongType(_ key: String, _ v: GGUFValue, _ expected: String) -> FormatError {
        FormatError(file: file.path, offset: nil, message: "metadata key '\(key)' is \(v.type), expected \(expected)")
    }
}

/// A bounds-checked forward reader over a mapped file.
private struct Cursor {
    let file: MappedFile
    var offset = 0

    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 {
        let v = try file.read(UInt32.self, at: offset, what: what())
        offset += 4
        return v
    }

    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 {
        let v = try file.read(UInt64.self, at: offset, what: what())
        offset += 8
        return v
    }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let at = offset
        let length = try u64(what())
        guard length <= UInt64(GGUFFile.Limits.maxStringBytes) else {
            throw FormatError(file: file.path, offset: at, message: "\(what()) claims \(length) bytes (limit \(GGUFFile.Limits.maxStringBytes))")
        }
        let bytes = try file.bytes(at: offset, count: Int(length), what: what())
        offset += Int(length)
        // GGUF strings are UTF-8; invalid sequences are repaired rather than trusted.
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func value(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        let at = offset
        switch type {
        case .uint8: let v = try file.read(UInt8.self, at: at, what: key); offset += 1; return .uint8(v)
        case .int8: let v = try file.read(Int8.self, at: at, what: key); offset += 1; return .int8(v)
        case .uint16: let v = try file.read(UInt16.self, at: at, what: key); offset += 2; return .uint16(v)
        case .int16: let v = try file.read(Int16.self, at: at, what: key); offset += 2; return .int16(v)
        case .uint32: let v = try file.read(UInt32.self, at: at, what: key); offset += 4; return .uint32(v)
        case .int32: let v = try file.read(Int32.self, at: at, what: key); offset += 4; return .int32(v)
        case .float32:
            let v = try file.read(UInt32.self, at: at, what: key); offset += 4
            return .float32(Float(bitPattern: v))
        case .bool:
            let v = try file.read(UInt8.self, at: at, what: key); offset += 1
            guard v <= 1 else { throw FormatError(file: file.path, offset: at, message: "metadata key '\(key)': bool value \(v)") }
            return .bool(v == 1)
        case .string: return .string(try string("value of '\(key)'"))
        case .uint64: let v = try file.read(UInt64.self, at: at, what: key); offset += 8; return .uint64(v)
        case .int64: let v = try file.read(Int64.self, at: at, what: key); offset += 8; return .int64(v)
        case .float64:
            let v = try file.read(UInt64.self, at: at, what: key); offset += 8
            return .float64(Double(bitPattern: v))
        case .array:
            guard depth < GGUFFile.Limits.maxArrayNesting else {
                throw FormatError(file: file.path, offset: at, message: "metadata key '\(key)': arrays nested deeper than \(GGUFFile.Limits.maxArrayNesting)")
            }
            let rawType = try u32("element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw FormatError(file: file.path, offset: at, message: "metadata key '\(key)': unknown array element type \(rawType)")
            }
            let countAt = offset
            let count = try u64("element count of '\(key)'")
            // Each element takes at least one byte (strings 8): a count the rest of the file cannot
            // hold is corrupt, and is refused before anything is allocated for it.
            let minSize = UInt64(elementType.fixedSize ?? 8)
            let remaining = UInt64(file.count - offset)
            guard count <= remaining / minSize else {
                throw FormatError(file: file.path, offset: countAt, message: "metadata key '\(key)': array of \(count) elements cannot fit in the file")
            }
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                values.append(try value(elementType, key: key, depth: depth + 1))
            }
            return .array(elementType, values)
        }
    }
}
