import Foundation

/// A read-only, memory-mapped file whose every read is bounds-checked.
///
/// Model files are untrusted input: every accessor takes a byte offset and a length, checks them with
/// overflow-safe arithmetic against the mapping, and throws `FormatError` naming the file and offset
/// instead of reading outside it.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    /// Base address of the mapping (nil for an empty file).
    public let base: UnsafeRawPointer?
    /// True when `base` is a heap copy (`init(bytes:name:)`) rather than a mapping.
    private let isHeapCopy: Bool

    /// Maps the regular file at `path` read-only.
    public init(path: String) throws {
        self.path = path
        isHeapCopy = false
        // O_NONBLOCK: opening a FIFO must not hang; it is then refused as not a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw FormatError(file: path, offset: nil, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw FormatError(file: path, offset: nil, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError(file: path, offset: nil, message: "not a regular file")
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw FormatError(file: path, offset: nil, message: "cannot map: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    /// A page-aligned heap copy of `bytes`, read through the same checked accessors (for files built
    /// in memory, e.g. by `GGUFWriter` in tests); `name` stands for the path in errors.
    public init(bytes: [UInt8], name: String) {
        path = name
        count = bytes.count
        isHeapCopy = true
        if bytes.isEmpty {
            base = nil
            return
        }
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 4096)
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        base = UnsafeRawPointer(p)
    }

    deinit {
        guard let base else { return }
        if isHeapCopy {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        }
    }

    /// Drops the pages of `[offset, offset + length)` from this process's resident memory once a loader
    /// has converted them (madvise MADV_DONTNEED; they stay in the page cache and fault back in if read
    /// again), so that loading a model does not hold the whole file resident on top of the weights
    /// built from it. No effect on heap copies or out-of-range requests.
    public func release(offset: Int, length: Int) {
        guard !isHeapCopy, let base, offset >= 0, length > 0, offset <= count, length <= count - offset else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page, end = min(count, (offset + length + page - 1) / page * page)
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// Checks that `[offset, offset + length)` lies inside the file.
    @inline(__always)
    public func checkRange(_ offset: Int, _ length: Int, what: @autoclosure () -> String) throws {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard offset >= 0, length >= 0, !overflow, end <= count else {
            throw FormatError(
                file: path, offset: offset,
                message: "\(what()) needs \(length) bytes at offset \(offset), past the end of the \(count)-byte file (truncated or corrupt)")
        }
    }

    /// The bytes `[offset, offset + length)`, checked.
    public func bytes(at offset: Int, count length: Int, what: @autoclosure () -> String = "data") throws -> UnsafeRawBufferPointer {
        try checkRange(offset, length, what: what())
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    /// A little-endian fixed-width integer at `offset`, checked.
    public func read<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, what: @autoclosure () -> String = "value") throws -> T {
        try checkRange(offset, MemoryLayout<T>.size, what: what())
        // In range and non-empty, so the file is not empty and `base` is set.
        return T(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

/// A malformed or unsupported file: names the file, the byte offset where known, and what is wrong.
public struct FormatError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let offset: Int?
    public let message: String

    public init(file: String, offset: Int?, message: String) {
        self.file = file
        self.offset = offset
        self.message = message
    }

    public var description: String {
        if let offset { return "\(file): at byte \(offset): \(message)" }
        return "\(file): \(message)"
    }
}
