/// A parsed GGUF file (versions 2 and 3): metadata, tensor table and the mapped tensor data.
///
/// Layout (matches ggml/docs/gguf.md): magic "GGUF", u32 version, u64 tensor count, u64 metadata
/// count; metadata key/value pairs; tensor infos (name, u32 dimension count, u64 dimensions with the
/// fastest-varying first, u32 type, u64 offset relative to the data section); padding to
/// `general.alignment` (default 32); the data section. The file is treated as hostile: every count,
/// length, offset and product is checked before use, and each failure names the file, the key or
/// tensor, and the byte offset.
public final class GGUFFile: @unchecked Sendable {
    /// One entry of the tensor table, checked to lie inside the file.
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
        /// Array elements in all metadata together (a 256k-token vocabulary with scores, types and
        /// merges has about 1M); bounds the memory `GGUFValue` arrays can take.
        public static let maxMetadataElements = 1 << 24
    }

    /// The alignment of the data section and of every tensor when `general.alignment` is absent.
    public static let defaultAlignment = 32

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

    /// Maps and parses the GGUF file at `path`.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Parses GGUF bytes held in memory; `name` stands for the path in errors.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        try self.init(file: MappedFile(bytes: bytes, name: name))
    }

    /// Parses an already mapped file.
    public init(file: MappedFile) throws {
        self.file = file
        var cursor = GGUFCursor(file: file)
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
        guard kvCount <= UInt64(cursor.remaining / 13) else {
            throw FormatError(file: file.path, offset: kvCountOffset, message: "metadata count \(kvCount) cannot fit in a \(file.count)-byte file")
        }
        guard tensorCount <= UInt64(cursor.remaining / 32) else {
            throw FormatError(file: file.path, offset: tensorCountOffset, message: "tensor count \(tensorCount) cannot fit in a \(file.count)-byte file")
        }

        // Metadata. Reservations are capped: the counts passed the size check but may still lie.
        var keys: [String] = []
        var meta: [String: GGUFValue] = [:]
        keys.reserveCapacity(min(Int(kvCount), 1024))
        meta.reserveCapacity(min(Int(kvCount), 1024))
        var alignmentOffset: Int?
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
            if key == "general.alignment" { alignmentOffset = typeOffset }
            meta[key] = try cursor.value(type, key: key, depth: 0)
            keys.append(key)
        }
        metadataKeys = keys
        metadata = meta

        var align = GGUFFile.defaultAlignment
        if let a = meta["general.alignment"] {
            guard case .uint32(let v) = a, v > 0, v.nonzeroBitCount == 1, v <= 1 << 20 else {
                throw FormatError(
                    file: file.path, offset: alignmentOffset,
                    message: "general.alignment must be a power-of-two uint32 of at most 2^20, found \(a)")
            }
            align = Int(v)
        }
        alignment = align

        // Tensor table.
        struct RawInfo { let name: String; let dims: [Int]; let type: GGMLType; let rel: Int; let at: Int }
        var raw: [RawInfo] = []
        raw.reserveCapacity(min(Int(tensorCount), 4096))
        var index: [String: Int] = [:]
        index.reserveCapacity(min(Int(tensorCount), 4096))
        for i in 0..<Int(tensorCount) {
            let at = cursor.offset
            let name = try cursor.string("name of tensor \(i)")
            guard index[name] == nil else {
                throw FormatError(file: file.path, offset: at, message: "duplicate tensor name '\(name)'")
            }
            let nDimsOffset = cursor.offset
            let nDims = try cursor.u32("dimension count of '\(name)'")
            guard nDims >= 1, nDims <= UInt32(Limits.maxDimensions) else {
                throw FormatError(
                    file: file.path, offset: nDimsOffset,
                    message: "tensor '\(name)' has \(nDims) dimensions (1 to \(Limits.maxDimensions) allowed)")
            }
            let dimsOffset = cursor.offset
            var dims: [Int] = []
            var elements = 1
            for d in 0..<Int(nDims) {
                let dimOffset = cursor.offset
                let v = try cursor.u64("dimension \(d) of '\(name)'")
                guard v >= 1 else {
                    throw FormatError(file: file.path, offset: dimOffset, message: "tensor '\(name)' dimension \(d) is 0")
                }
                guard v <= UInt64(Limits.maxElements) else {
                    throw FormatError(
                        file: file.path, offset: dimOffset,
                        message: "tensor '\(name)' dimension \(d) is \(v), more than the limit of \(Limits.maxElements) elements")
                }
                let (p, overflow) = elements.multipliedReportingOverflow(by: Int(v))
                guard !overflow, p <= Limits.maxElements else {
                    throw FormatError(
                        file: file.path, offset: dimOffset,
                        message: "tensor '\(name)' element count overflows at dimension \(d) (limit \(Limits.maxElements))")
                }
                elements = p
                dims.append(Int(v))
            }
            let typeOffset = cursor.offset
            let rawType = try cursor.u32("type of '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw FormatError(
                    file: file.path, offset: typeOffset,
                    message: "tensor '\(name)' has unknown tensor type \(rawType); this file needs a newer runtime")
            }
            guard dims[0] % type.blockSize == 0 else {
                throw FormatError(
                    file: file.path, offset: dimsOffset,
                    message: "tensor '\(name)' row length \(dims[0]) is not a multiple of \(type)'s block size \(type.blockSize)")
            }
            let offOffset = cursor.offset
            let rel = try cursor.u64("offset of '\(name)'")
            guard rel <= UInt64(file.count) else {
                throw FormatError(
                    file: file.path, offset: offOffset,
                    message: "tensor '\(name)' data offset \(rel) is past the end of the \(file.count)-byte file")
            }
            guard Int(rel) % align == 0 else {
                throw FormatError(
                    file: file.path, offset: offOffset,
                    message: "tensor '\(name)' data offset \(rel) is not aligned to \(align) bytes")
            }
            index[name] = i
            raw.append(RawInfo(name: name, dims: dims, type: type, rel: Int(rel), at: at))
        }
        let headerEnd = cursor.offset
        // headerEnd <= file.count and align <= 2^20: the padded offset cannot overflow.
        dataOffset = headerEnd + (align - headerEnd % align) % align

        var infos: [TensorInfo] = []
        infos.reserveCapacity(raw.count)
        for r in raw {
            let elements = r.dims.reduce(1, *)  // checked above: at most Limits.maxElements
            guard let bytes = r.type.byteCount(elements: elements) else {
                throw FormatError(file: file.path, offset: r.at, message: "tensor '\(r.name)' size overflows")
            }
            let (abs, o1) = dataOffset.addingReportingOverflow(r.rel)
            guard !o1 else { throw FormatError(file: file.path, offset: r.at, message: "tensor '\(r.name)' offset overflows") }
            try file.checkRange(abs, bytes, what: "data of tensor '\(r.name)' (\(r.type), \(r.dims))")
            infos.append(TensorInfo(name: r.name, dimensions: r.dims, type: r.type, relativeOffset: r.rel, offset: abs, byteCount: bytes))
        }
        // Tensors must not overlap one another (both ranges are inside the file: no overflow).
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

    /// The raw bytes of a tensor of this file (already checked to lie inside it).
    public func data(of info: TensorInfo) -> UnsafeRawPointer {
        guard let base = file.base else {
            preconditionFailure("data(of:) for tensor '\(info.name)' of an empty file: the info belongs to another file")
        }
        return base + info.offset
    }

    /// The raw bytes of a tensor of this file as a buffer of `info.byteCount` bytes.
    public func bytes(of info: TensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data(of: info), count: info.byteCount)
    }
}
