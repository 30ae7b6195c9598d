import Foundation

/// Builds GGUF version 3 files: metadata in insertion order, the tensor table, then the tensor data.
///
/// Layout (matches ggml/docs/gguf.md, and gguf-py's `GGUFWriter` byte for byte for the same content):
/// the header, metadata and tensor infos are padded with zeros to the alignment; each tensor starts at
/// a multiple of the alignment relative to the data section, and its data is followed by zero padding
/// to the next multiple (the last tensor too). The alignment is the one given to `init(alignment:)`
/// (written as `general.alignment` when it is not the default 32) or a later valid `general.alignment`.
///
/// Metadata values are written as given, so tests can build files a reader must refuse (an invalid
/// `general.alignment` is written but does not change the layout). Tensor shapes and sizes are checked
/// with preconditions: the callers build them, and a mismatch is a programming error.
///
///     var w = GGUFWriter(alignment: 32)
///     w.setMetadata("general.architecture", .string("llama"))
///     w.addTensor(name: "token_embd.weight", type: .f32, dimensions: [576, 49152], data: bytes)
///     try w.write(to: path)
public struct GGUFWriter {
    /// One tensor to write: dimensions fastest-varying first, `data` its raw bytes in `type`'s layout.
    public struct Tensor: Sendable {
        public let name: String
        public let type: GGMLType
        public let dimensions: [Int]
        public let data: [UInt8]
    }

    /// The alignment of the data section and of each tensor.
    public private(set) var alignment: Int
    /// Metadata keys in the order they will be written.
    public private(set) var metadataKeys: [String] = []
    /// Metadata values by key.
    public private(set) var metadata: [String: GGUFValue] = [:]
    /// Tensors in the order they will be written.
    public private(set) var tensors: [Tensor] = []
    private var tensorNames: Set<String> = []

    /// A writer with no metadata and no tensors; a non-default `alignment` is recorded as
    /// `general.alignment` (uint32). `alignment` must be a power of two of at most 2^20.
    public init(alignment: Int = GGUFFile.defaultAlignment) {
        precondition(GGUFWriter.isValidAlignment(alignment), "GGUF alignment \(alignment) is not a power of two in 1...2^20")
        self.alignment = alignment
        if alignment != GGUFFile.defaultAlignment {
            setMetadata("general.alignment", .uint32(UInt32(alignment)))
        }
    }

    /// Sets `key` to `value`; a key set before keeps its position. Every element of an array must
    /// have the array's element type. A valid uint32 `general.alignment` also sets `alignment`.
    public mutating func setMetadata(_ key: String, _ value: GGUFValue) {
        GGUFWriter.checkElementTypes(value, key: key)
        if metadata.updateValue(value, forKey: key) == nil {
            metadataKeys.append(key)
        }
        if key == "general.alignment", case .uint32(let v) = value, GGUFWriter.isValidAlignment(Int(v)) {
            alignment = Int(v)
        }
    }

    /// Removes `key` if present.
    public mutating func removeMetadata(_ key: String) {
        guard metadata.removeValue(forKey: key) != nil else { return }
        metadataKeys.removeAll { $0 == key }
    }

    /// Appends a tensor. `dimensions` are fastest-varying first (1 to 4 of them, each at least 1, the
    /// first a multiple of `type`'s block size) and `data` holds exactly `type.byteCount` of them.
    public mutating func addTensor(name: String, type: GGMLType, dimensions: [Int], data: [UInt8]) {
        precondition(!tensorNames.contains(name), "duplicate tensor name '\(name)'")
        precondition((1...GGUFFile.Limits.maxDimensions).contains(dimensions.count), "tensor '\(name)' has \(dimensions.count) dimensions")
        var elements = 1
        for d in dimensions {
            precondition(d >= 1, "tensor '\(name)' has a dimension \(d)")
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            precondition(!overflow && p <= GGUFFile.Limits.maxElements, "tensor '\(name)' has too many elements")
            elements = p
        }
        precondition(dimensions[0] % type.blockSize == 0, "tensor '\(name)' row length \(dimensions[0]) is not a multiple of \(type)'s block size")
        precondition(
            type.byteCount(elements: elements) == data.count,
            "tensor '\(name)' (\(type), \(dimensions)) needs \(type.byteCount(elements: elements) ?? -1) bytes, given \(data.count)")
        tensorNames.insert(name)
        tensors.append(Tensor(name: name, type: type, dimensions: dimensions, data: data))
    }

    /// The whole file.
    public func serialize() -> [UInt8] {
        var out = header()
        for t in tensors {
            out += t.data
            out += repeatElement(0, count: padding(after: t.data.count))
        }
        return out
    }

    /// Writes the file to `path` (through a temporary file beside it, renamed when complete).
    public func write(to path: String) throws {
        let partial = path + ".partial"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw writeError(path, "cannot create \(partial)") }
        var closed = false
        defer {
            if !closed {
                close(fd)
                unlink(partial)
            }
        }
        try writeAll(fd, header(), path)
        for t in tensors {
            try writeAll(fd, t.data, path)
            try writeAll(fd, [UInt8](repeating: 0, count: padding(after: t.data.count)), path)
        }
        closed = true
        guard close(fd) == 0 else {
            let error = writeError(path, "cannot finish writing \(partial)")
            unlink(partial)
            throw error
        }
        guard rename(partial, path) == 0 else {
            let error = writeError(path, "cannot rename \(partial) to it")
            unlink(partial)
            throw error
        }
    }

    // MARK: Encoding

    /// Header, metadata, tensor infos and the padding up to the data section.
    private func header() -> [UInt8] {
        var out: [UInt8] = []
        put(&out, UInt32(0x4655_4747))  // "GGUF"
        put(&out, UInt32(3))
        put(&out, UInt64(tensors.count))
        put(&out, UInt64(metadataKeys.count))
        for key in metadataKeys {
            guard let value = metadata[key] else { continue }
            putString(&out, key)
            put(&out, value.type.rawValue)
            putValue(&out, value)
        }
        var relative = 0
        for t in tensors {
            putString(&out, t.name)
            put(&out, UInt32(t.dimensions.count))
            for d in t.dimensions { put(&out, UInt64(d)) }
            put(&out, t.type.rawValue)
            put(&out, UInt64(relative))
            relative += t.data.count + padding(after: t.data.count)
        }
        out += repeatElement(0, count: padding(after: out.count))
        return out
    }

    private func padding(after count: Int) -> Int {
        (alignment - count % alignment) % alignment
    }

    private func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    private func putString(_ out: inout [UInt8], _ s: String) {
        put(&out, UInt64(s.utf8.count))
        out += s.utf8
    }

    /// A value without its type code (arrays carry their element type and count).
    private func putValue(_ out: inout [UInt8], _ value: GGUFValue) {
        switch value {
        case .uint8(let v): put(&out, v)
        case .int8(let v): put(&out, v)
        case .uint16(let v): put(&out, v)
        case .int16(let v): put(&out, v)
        case .uint32(let v): put(&out, v)
        case .int32(let v): put(&out, v)
        case .uint64(let v): put(&out, v)
        case .int64(let v): put(&out, v)
        case .float32(let v): put(&out, v.bitPattern)
        case .float64(let v): put(&out, v.bitPattern)
        case .bool(let v): put(&out, UInt8(v ? 1 : 0))
        case .string(let s): putString(&out, s)
        case .array(let elementType, let elements):
            put(&out, elementType.rawValue)
            put(&out, UInt64(elements.count))
            for e in elements { putValue(&out, e) }
        }
    }

    private static func checkElementTypes(_ value: GGUFValue, key: String) {
        guard case .array(let elementType, let elements) = value else { return }
        for e in elements {
            precondition(e.type == elementType, "metadata '\(key)': \(e.type) element in an array of \(elementType)")
            checkElementTypes(e, key: key)
        }
    }

    private static func isValidAlignment(_ a: Int) -> Bool {
        a > 0 && a.nonzeroBitCount == 1 && a <= 1 << 20
    }

    // MARK: File output

    private func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw writeError(path, "cannot write") }
                done += n
            }
        }
    }

    private func writeError(_ path: String, _ what: String) -> FormatError {
        FormatError(
            file: path, offset: nil,
            message: "\(what): \(String(cString: strerror(errno))); check that the directory exists, is writable and has space")
    }
}
