/// A bounds-checked reader of one FlatBuffers buffer held in a `MappedFile`.
///
/// FlatBuffers layout (flatbuffers.dev, "internals"): the buffer starts with a u32 offset to the root
/// table. A table starts with an i32 `soffset`; its vtable sits at `table - soffset` and holds a u16
/// vtable size in bytes, a u16 table size in bytes, then one u16 offset per field (0 = absent, the
/// schema default applies). Fields holding tables, vectors or strings store a u32 offset relative to
/// the field's own address. A vector is a u32 element count followed by the elements; a string is a
/// byte vector followed by a 0 terminator.
///
/// Every offset, length and count is checked with overflow-safe arithmetic against the file before
/// use, and the elements a whole file may decode are capped by `elementBudget`, so that a hostile
/// file that points many vectors at one long vector cannot make the reader allocate far more memory
/// than the file's own size.
final class FlatBuffer {
    let file: MappedFile
    /// Vector elements the rest of the decoding may still copy out.
    private(set) var elementBudget: Int

    init(file: MappedFile) {
        self.file = file
        // Honest files decode each vector about once; sharing allows a little slack.
        elementBudget = max(1 << 20, file.count.multipliedReportingOverflow(by: 4).overflow ? Int.max : file.count * 4)
    }

    var path: String { file.path }

    func error(_ offset: Int?, _ message: String) -> FormatError {
        FormatError(file: file.path, offset: offset, message: message)
    }

    /// The root table: a u32 offset at byte 0.
    func root(_ what: String) throws -> FlatBufferTable {
        try table(at: try target(of: 0, what), what)
    }

    /// Follows the u32 offset stored at `position` (relative to `position`), checked to land inside the file.
    func target(of position: Int, _ what: @autoclosure () -> String) throws -> Int {
        let relative = try file.read(UInt32.self, at: position, what: "offset to \(what())")
        let target = position + Int(relative)  // position < file.count and relative < 2^32: no overflow
        guard target < file.count else {
            throw error(position, "\(what()): offset \(relative) points past the end of the \(file.count)-byte file (truncated or corrupt)")
        }
        return target
    }

    /// The table at `position`, with its vtable checked.
    func table(at position: Int, _ what: @autoclosure () -> String) throws -> FlatBufferTable {
        let soffset = try file.read(Int32.self, at: position, what: "\(what()) (table)")
        let (vtable, overflow) = position.subtractingReportingOverflow(Int(soffset))
        guard !overflow, vtable >= 0, vtable < file.count else {
            throw error(position, "\(what()): vtable offset \(soffset) points outside the file (corrupt)")
        }
        let vtableSize = Int(try file.read(UInt16.self, at: vtable, what: "\(what()) (vtable size)"))
        let tableSize = Int(try file.read(UInt16.self, at: vtable + 2, what: "\(what()) (table size)"))
        guard vtableSize >= 4, vtableSize % 2 == 0 else {
            throw error(vtable, "\(what()): vtable size \(vtableSize) is not an even number ≥ 4 (corrupt)")
        }
        guard tableSize >= 4 else {
            throw error(vtable + 2, "\(what()): table size \(tableSize) is smaller than its own 4-byte header (corrupt)")
        }
        try file.checkRange(vtable, vtableSize, what: "\(what()) (vtable)")
        try file.checkRange(position, tableSize, what: "\(what()) (table)")
        return FlatBufferTable(buffer: self, position: position, vtable: vtable, fieldCount: (vtableSize - 4) / 2, size: tableSize)
    }

    /// Takes `count` elements from the budget, or throws when the file asks for more than it may.
    func spend(_ count: Int, at offset: Int, _ what: @autoclosure () -> String) throws {
        guard count <= elementBudget else {
            throw error(offset, "\(what()): decoding \(count) more elements passes the limit for a \(file.count)-byte file (corrupt: vectors shared too often)")
        }
        elementBudget -= count
    }

    /// A vector at `position` (its u32 count): the first element's offset and the count, checked
    /// to fit in the file with `elementSize` bytes per element.
    func vector(at position: Int, elementSize: Int, _ what: @autoclosure () -> String) throws -> (start: Int, count: Int) {
        let count = Int(try file.read(UInt32.self, at: position, what: "\(what()) (vector length)"))
        let start = position + 4
        let available = max(0, file.count - start)
        guard count <= available / elementSize else {
            throw error(position, "\(what()): vector of \(count) \(elementSize)-byte elements cannot fit in the \(available) bytes left in the file (truncated or corrupt)")
        }
        return (start, count)
    }

    /// A string at `position`: length, bytes, 0 terminator, valid UTF-8.
    func string(at position: Int, _ what: @autoclosure () -> String) throws -> String {
        let (start, count) = try vector(at: position, elementSize: 1, what())
        let terminator = start + count
        guard try file.read(UInt8.self, at: terminator, what: "\(what()) (string terminator)") == 0 else {
            throw error(terminator, "\(what()): string of \(count) bytes is not followed by its 0 terminator (corrupt)")
        }
        try spend(count, at: position, what())
        let bytes = try file.bytes(at: start, count: count, what: what())
        let b = bytes.assumingMemoryBound(to: UInt8.self)
        guard GGUFCursor.isValidUTF8(b) else {
            throw error(start, "\(what()): string is not valid UTF-8 (corrupt)")
        }
        return String(decoding: b, as: UTF8.self)
    }
}

/// One table of a `FlatBuffer`: fields by their index in the schema (0, 1, 2, …), read with defaults.
struct FlatBufferTable {
    let buffer: FlatBuffer
    let position: Int
    let vtable: Int
    let fieldCount: Int
    let size: Int

    /// File offset of field `index`, or nil when absent; checked to hold `byteCount` bytes inside the table.
    func fieldOffset(_ index: Int, byteCount: Int, _ what: @autoclosure () -> String) throws -> Int? {
        guard index < fieldCount else { return nil }
        let entry = vtable + 4 + 2 * index
        let relative = Int(try buffer.file.read(UInt16.self, at: entry, what: "\(what()) (vtable entry)"))
        if relative == 0 { return nil }
        guard relative >= 4, relative + byteCount <= size else {
            throw buffer.error(entry, "\(what()): field offset \(relative) with \(byteCount) bytes lies outside its \(size)-byte table (corrupt)")
        }
        return position + relative
    }

    /// A fixed-width integer field, or `defaultValue` when absent.
    func scalar<T: FixedWidthInteger>(_ index: Int, _ defaultValue: T, _ what: @autoclosure () -> String) throws -> T {
        guard let at = try fieldOffset(index, byteCount: MemoryLayout<T>.size, what()) else { return defaultValue }
        return try buffer.file.read(T.self, at: at, what: what())
    }

    /// A bool field (one byte, 0 or 1), or `defaultValue` when absent.
    func bool(_ index: Int, _ defaultValue: Bool, _ what: @autoclosure () -> String) throws -> Bool {
        guard let at = try fieldOffset(index, byteCount: 1, what()) else { return defaultValue }
        let b = try buffer.file.read(UInt8.self, at: at, what: what())
        guard b <= 1 else { throw buffer.error(at, "\(what()): bool byte is \(b), must be 0 or 1 (corrupt)") }
        return b == 1
    }

    /// The file offset an offset field points to, or nil when absent.
    private func reference(_ index: Int, _ what: @autoclosure () -> String) throws -> Int? {
        guard let at = try fieldOffset(index, byteCount: 4, what()) else { return nil }
        return try buffer.target(of: at, what())
    }

    /// A sub-table field, or nil when absent.
    func table(_ index: Int, _ what: @autoclosure () -> String) throws -> FlatBufferTable? {
        guard let at = try reference(index, what()) else { return nil }
        return try buffer.table(at: at, what())
    }

    /// A string field, or nil when absent.
    func string(_ index: Int, _ what: @autoclosure () -> String) throws -> String? {
        guard let at = try reference(index, what()) else { return nil }
        return try buffer.string(at: at, what())
    }

    /// A vector field's first element offset and count (nil when absent), checked to fit in the file.
    func vector(_ index: Int, elementSize: Int, _ what: @autoclosure () -> String) throws -> (start: Int, count: Int)? {
        guard let at = try reference(index, what()) else { return nil }
        return try buffer.vector(at: at, elementSize: elementSize, what())
    }

    /// A vector of fixed-width scalars, decoded (empty when absent).
    func scalars<T: FixedWidthInteger>(_ index: Int, as type: T.Type, _ what: @autoclosure () -> String) throws -> [T] {
        let size = MemoryLayout<T>.size
        guard let (start, count) = try vector(index, elementSize: size, what()) else { return [] }
        try buffer.spend(count, at: start - 4, what())
        let raw = try buffer.file.bytes(at: start, count: count * size, what: what())
        return (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
    }

    /// A vector of 32-bit floats (empty when absent).
    func floats(_ index: Int, _ what: @autoclosure () -> String) throws -> [Float] {
        try scalars(index, as: UInt32.self, what()).map { Float(bitPattern: $0) }
    }

    /// A vector of tables (empty when absent); `what(i)` names element i in errors.
    func tables(_ index: Int, _ what: @autoclosure () -> String, element: (Int) -> String) throws -> [FlatBufferTable] {
        guard let (start, count) = try vector(index, elementSize: 4, what()) else { return [] }
        try buffer.spend(count, at: start - 4, what())
        var result: [FlatBufferTable] = []
        result.reserveCapacity(count)
        for i in 0..<count {
            let at = try buffer.target(of: start + 4 * i, element(i))
            result.append(try buffer.table(at: at, element(i)))
        }
        return result
    }

    /// A union: its u8 type field at `typeIndex` and its table at `typeIndex + 1`. Type 0 means none;
    /// a non-zero type without a value (or a value without a type) is corrupt.
    func union(_ typeIndex: Int, _ what: @autoclosure () -> String) throws -> (type: UInt8, table: FlatBufferTable?) {
        let type = try scalar(typeIndex, UInt8(0), "\(what()) type")
        let value = try table(typeIndex + 1, what())
        if type != 0 && value == nil {
            throw buffer.error(position, "\(what()): union type \(type) is set but its value is missing (corrupt)")
        }
        if type == 0 && value != nil {
            throw buffer.error(position, "\(what()): union value is present but its type is NONE (corrupt)")
        }
        return (type, value)
    }
}
