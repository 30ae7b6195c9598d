import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// Helpers shared by the GGUF tests: fixtures, hashing, deterministic bytes, and locating and
/// patching fields inside a serialized GGUF file.
enum GGUFTestSupport {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func fixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name))
        return try JSONDecoder().decode(T.self, from: data)
    }

    static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var ctx = sp_sha256_ctx()
        sp_sha256_init(&ctx)
        sp_sha256_update(&ctx, bytes.baseAddress, bytes.count)
        var digest = [UInt8](repeating: 0, count: 32)
        sp_sha256_final(&ctx, &digest)
        return hex(digest)
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { sha256Hex($0) }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.utf8.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            out.append(UInt8(nibble(hi) << 4 | nibble(lo)))
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8 {
        c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : c - UInt8(ascii: "a") + 10
    }

    /// The bytes gguf-py's golden script uses for sample tensors (`sample_bytes` there).
    static func sampleBytes(_ n: Int, seed: Int) -> [UInt8] {
        (0..<n).map { UInt8(($0 * 37 + seed * 11 + 5) % 256) }
    }

    /// The canonical encoding the golden script hashes for arrays: strings as u64 length + UTF-8,
    /// numbers little-endian in their own width, bools as one byte.
    static func canonicalEncoding(_ values: [GGUFValue]) -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        for v in values {
            switch v {
            case .string(let s): put(UInt64(s.utf8.count)); out += s.utf8
            case .uint8(let x): put(x)
            case .int8(let x): put(x)
            case .uint16(let x): put(x)
            case .int16(let x): put(x)
            case .uint32(let x): put(x)
            case .int32(let x): put(x)
            case .uint64(let x): put(x)
            case .int64(let x): put(x)
            case .float32(let x): put(x.bitPattern)
            case .float64(let x): put(x.bitPattern)
            case .bool(let b): put(UInt8(b ? 1 : 0))
            case .array: out += [0xFF]  // not expected in the fixtures; makes the hash differ
            }
        }
        return out
    }

    // MARK: Finding and patching fields

    /// The offset of the only occurrence of `needle`'s UTF-8 bytes in `bytes`.
    static func offset(of needle: String, in bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let n = Array(needle.utf8)
        var hits: [Int] = []
        if bytes.count >= n.count {
            for i in 0...(bytes.count - n.count) where bytes[i] == n[0] && Array(bytes[i..<(i + n.count)]) == n {
                hits.append(i)
            }
        }
        #expect(hits.count == 1, "'\(needle)' occurs \(hits.count) times", sourceLocation: sourceLocation)
        return hits.first ?? 0
    }

    /// Offsets of one metadata entry: its key length field, its type field and its value.
    struct EntryLayout {
        let start: Int
        let type: Int
        let value: Int
    }

    static func entry(_ key: String, in bytes: [UInt8]) -> EntryLayout {
        let at = offset(of: key, in: bytes)
        return EntryLayout(start: at - 8, type: at + key.utf8.count, value: at + key.utf8.count + 4)
    }

    /// Offsets of one tensor info: its name length field, dimension count, dimensions, type, offset.
    struct TensorLayout {
        let start: Int
        let dimensionCount: Int
        let dimensions: [Int]
        let type: Int
        let offset: Int
    }

    static func tensorInfo(_ name: String, dimensionCount: Int, in bytes: [UInt8]) -> TensorLayout {
        let at = offset(of: name, in: bytes)
        let nDims = at + name.utf8.count
        let dims = (0..<dimensionCount).map { nDims + 4 + 8 * $0 }
        let type = nDims + 4 + 8 * dimensionCount
        return TensorLayout(start: at - 8, dimensionCount: nDims, dimensions: dims, type: type, offset: type + 4)
    }

    static func patched<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, _ value: T) -> [UInt8] {
        var out = bytes
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (i, b) in raw.enumerated() { out[offset + i] = b }
        }
        return out
    }

    static func read<T: FixedWidthInteger>(_ type: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        var v: T = 0
        withUnsafeMutableBytes(of: &v) { raw in
            for i in 0..<MemoryLayout<T>.size { raw[i] = bytes[offset + i] }
        }
        return T(littleEndian: v)
    }

    /// Parses `bytes` expecting a `FormatError` at `offset` whose message contains every fragment.
    static func expectFormatError(
        _ bytes: [UInt8], offset: Int?, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let file = try GGUFFile(bytes: bytes, name: "hostile.gguf")
            Issue.record("parsed a hostile file (\(file.tensors.count) tensors)", sourceLocation: sourceLocation)
        } catch let error as FormatError {
            #expect(error.file == "hostile.gguf", sourceLocation: sourceLocation)
            #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(error.message.contains(fragment), "'\(fragment)' not in: \(error.message)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected a FormatError, got \(error)", sourceLocation: sourceLocation)
        }
    }
}
