/// A bounds-checked forward reader over the header of a GGUF file.
///
/// Every read is range-checked by `MappedFile`; every count is compared with the bytes left in the
/// file before anything is allocated for it, and the metadata as a whole may hold at most
/// `GGUFFile.Limits.maxMetadataElements` array elements, so a hostile file can neither crash the
/// reader nor make it allocate far more than the file's own size.
struct GGUFCursor {
    let file: MappedFile
    var offset = 0
    /// Array elements the rest of the metadata may still hold.
    private var elementBudget = GGUFFile.Limits.maxMetadataElements

    init(file: MappedFile) {
        self.file = file
    }

    /// Bytes between the cursor and the end of the file (never negative).
    var remaining: Int { max(0, file.count - offset) }

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

    /// A GGUF string: u64 byte length, then that many bytes of UTF-8 (no terminator).
    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let at = offset
        let length = try u64(what())
        guard length <= UInt64(GGUFFile.Limits.maxStringBytes) else {
            throw FormatError(
                file: file.path, offset: at,
                message: "\(what()) claims \(length) bytes (limit \(GGUFFile.Limits.maxStringBytes)); the file is corrupt")
        }
        let bytes = try file.bytes(at: offset, count: Int(length), what: what())
        guard let s = GGUFCursor.decodeUTF8(bytes) else {
            throw FormatError(file: file.path, offset: offset, message: "\(what()) is not valid UTF-8; the file is corrupt")
        }
        offset += Int(length)
        return s
    }

    /// The string, or nil when `bytes` is not valid UTF-8. The standard library's validating
    /// initializer is about 3x slower than this check plus the (then lossless) decoding one.
    private static func decodeUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
        let b = bytes.assumingMemoryBound(to: UInt8.self)
        guard isValidUTF8(b) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    /// UTF-8 well-formedness (Unicode 15, table 3-7): no overlong forms, no surrogates, nothing
    /// past U+10FFFF, no truncated sequences.
    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if c < 0x80 {
                i += 1
                continue
            }
            @inline(__always) func continuation(_ k: Int) -> UInt8? {
                guard i + k < n, b[i + k] & 0xC0 == 0x80 else { return nil }
                return b[i + k]
            }
            switch c {
            case 0xC2...0xDF:
                guard continuation(1) != nil else { return false }
                i += 2
            case 0xE0...0xEF:
                guard let c1 = continuation(1), continuation(2) != nil else { return false }
                if c == 0xE0 && c1 < 0xA0 { return false }  // overlong
                if c == 0xED && c1 >= 0xA0 { return false }  // UTF-16 surrogate
                i += 3
            case 0xF0...0xF4:
                guard let c1 = continuation(1), continuation(2) != nil, continuation(3) != nil else { return false }
                if c == 0xF0 && c1 < 0x90 { return false }  // overlong
                if c == 0xF4 && c1 >= 0x90 { return false }  // past U+10FFFF
                i += 4
            default:
                return false  // a continuation byte, an overlong 2-byte lead (C0, C1), or F5...FF
            }
        }
        return true
    }

    /// One metadata value of `type`; `key` names it in errors; `depth` counts enclosing arrays.
    mutating func value(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .string:
            return .string(try string("value of '\(key)'"))
        case .array:
            return try array(key: key, depth: depth)
        default:
            let at = offset
            let size = type.fixedSize ?? 1
            let raw = try file.bytes(at: at, count: size, what: "value of '\(key)'")
            offset += size
            return try GGUFCursor.scalar(type, raw, 0, file: file, at: at, key: key)
        }
    }

    /// An array: u32 element type, u64 count, then the elements.
    private mutating func array(key: String, depth: Int) throws -> GGUFValue {
        let at = offset
        guard depth < GGUFFile.Limits.maxArrayNesting else {
            throw FormatError(
                file: file.path, offset: at,
                message: "metadata key '\(key)': arrays nested deeper than \(GGUFFile.Limits.maxArrayNesting) levels; the file is corrupt")
        }
        let rawType = try u32("element type of '\(key)'")
        guard let elementType = GGUFValueType(rawValue: rawType) else {
            throw FormatError(file: file.path, offset: at, message: "metadata key '\(key)': unknown array element type \(rawType)")
        }
        let countAt = offset
        let count = try u64("element count of '\(key)'")
        // A count the rest of the file cannot hold is corrupt, and is refused before anything is
        // allocated for it; so is one past the metadata-wide element budget.
        guard count <= UInt64(remaining / elementType.minimumEncodedSize) else {
            throw FormatError(
                file: file.path, offset: countAt,
                message: "metadata key '\(key)': array of \(count) \(elementType) elements cannot fit in the \(remaining) bytes left in the file")
        }
        guard count <= UInt64(elementBudget) else {
            throw FormatError(
                file: file.path, offset: countAt,
                message: "metadata key '\(key)': array of \(count) elements exceeds the limit of \(GGUFFile.Limits.maxMetadataElements) metadata array elements")
        }
        let n = Int(count)
        elementBudget -= n

        if let size = elementType.fixedSize {
            // Fixed-size elements: one range check, then a tight decoding loop.
            let start = offset
            let raw = try file.bytes(at: start, count: n * size, what: "elements of '\(key)'")
            offset += n * size
            var values: [GGUFValue] = []
            values.reserveCapacity(n)
            for i in 0..<n {
                values.append(try GGUFCursor.scalar(elementType, raw, i * size, file: file, at: start + i * size, key: key))
            }
            return .array(elementType, values)
        }
        var values: [GGUFValue] = []
        // Strings and arrays are read one by one; the reservation stays modest so that a count that
        // passed the size check but lies about its contents costs little before it is caught.
        values.reserveCapacity(min(n, 1 << 16))
        for _ in 0..<n {
            values.append(try value(elementType, key: key, depth: depth + 1))
        }
        return .array(elementType, values)
    }

    /// Decodes the fixed-size scalar of `type` at `raw[index...]`; `at` is its file offset for errors.
    @inline(__always)
    private static func scalar(
        _ type: GGUFValueType, _ raw: UnsafeRawBufferPointer, _ index: Int, file: MappedFile, at: Int, key: String
    ) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(raw[index])
        case .int8: return .int8(Int8(bitPattern: raw[index]))
        case .uint16: return .uint16(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt16.self)))
        case .int16: return .int16(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: Int16.self)))
        case .uint32: return .uint32(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt32.self)))
        case .int32: return .int32(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: Int32.self)))
        case .float32:
            return .float32(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt32.self))))
        case .uint64: return .uint64(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
        case .int64: return .int64(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: Int64.self)))
        case .float64:
            return .float64(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))))
        case .bool:
            let b = raw[index]
            guard b <= 1 else {
                throw FormatError(file: file.path, offset: at, message: "metadata key '\(key)': bool byte is \(b), must be 0 or 1")
            }
            return .bool(b == 1)
        case .string, .array:
            preconditionFailure("scalar(_:) called for variable-length type \(type)")
        }
    }
}
