import Foundation
import SparrowRuntime
import Testing

/// Safetensors files written by `SafetensorsWriter` or by hand, valid and hostile: valid files read
/// back exact values; every corruption is refused with a `FormatError` naming the field, and no input
/// crashes the reader.
@Suite struct SafetensorsHostileFileTests {
    /// F16 [2, 4] = 1…8, F32 [3] = -1.5, 0, 2^-20, BF16 [2] = 1, -2, with a metadata entry.
    static func baseWriter() -> SafetensorsWriter {
        var w = SafetensorsWriter()
        w.metadata = ["format": "pt"]
        // F16 of 1…8: exponent 15 + e, 10-bit mantissa.
        let halves: [UInt16] = [0x3C00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600, 0x4700, 0x4800]
        w.addTensor(name: "a.weight", dtype: "F16", shape: [2, 4], data: halves.flatMap(le))
        w.addTensor(name: "b.bias", dtype: "F32", shape: [3], data: [Float(-1.5), 0, 0x1p-20].flatMap { le($0.bitPattern) })
        w.addTensor(name: "c.scale", dtype: "BF16", shape: [2], data: [UInt16(0x3F80), 0xC000].flatMap(le))
        return w
    }

    static let base = baseWriter().serialize()

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    /// A file with a hand-written header (space-padded to 8 bytes) followed by `dataBytes` zero bytes.
    static func file(header: String, dataBytes: Int = 0) -> [UInt8] {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(UInt8(ascii: " ")) }
        return le(UInt64(h.count)) + h + [UInt8](repeating: 0, count: dataBytes)
    }

    static func expectError(_ bytes: [UInt8], offset: Int?? = .none, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let file = try SafetensorsFile(bytes: bytes, name: "hostile.safetensors")
            Issue.record("parsed a hostile file (\(file.tensors.count) tensors)", sourceLocation: sourceLocation)
        } catch let error as FormatError {
            #expect(error.file == "hostile.safetensors", sourceLocation: sourceLocation)
            if let offset { #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation) }
            for fragment in fragments {
                #expect(error.message.contains(fragment), "'\(fragment)' not in: \(error.message)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected a FormatError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func baseFileReadsBackExactValues() throws {
        let file = try SafetensorsFile(bytes: Self.base)
        #expect(file.tensors.map(\.name) == ["a.weight", "b.bias", "c.scale"])
        #expect(file.metadata == ["format": "pt"])
        #expect(file.dataOffset % 8 == 0)
        #expect(try file.vector("b.bias", count: 3) == [-1.5, 0, 0x1p-20])
        #expect(try file.vector("c.scale", count: 2) == [1, -2])
        let m = try file.matrix("a.weight", rows: 2, columns: 4)
        #expect(m.type == .f16 && m.rowBytes == 8)
        var row = [Float](repeating: 0, count: 4)
        row.withUnsafeMutableBufferPointer { m.dequantizeRow(1, into: $0.baseAddress!) }
        #expect(row == [5, 6, 7, 8])
    }

    /// I8 (a `sparrow quantize` weight): one byte per element, read back as the integers; the byte span
    /// must match the shape at 1 byte each, and it is no matrix a kernel can use.
    @Test func int8TensorsReadBackTheirIntegers() throws {
        var w = Self.baseWriter()
        w.addTensor(name: "q.weight", dtype: "I8", shape: [2, 3], data: [0x80, 0xFF, 0x00, 0x01, 0x7F, 0x05])
        let file = try SafetensorsFile(bytes: w.serialize())
        let info = try #require(file.tensor(named: "q.weight"))
        #expect(info.type == .i8 && info.byteCount == 6)
        #expect(file.floats(of: info) == [-128, -1, 0, 1, 127, 5])
        #expect(throws: FormatError.self) { try file.matrix("q.weight", rows: 2, columns: 3) }
        Self.expectError(Self.file(header: "{\"t\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,12]}}", dataBytes: 12),
                         "spans 12 bytes", "needs 6")
    }

    @Test func shapeAndNameMismatchesNameTheTensor() throws {
        let file = try SafetensorsFile(bytes: Self.base, name: "w.safetensors")
        let shape = #expect(throws: FormatError.self) { try file.matrix("a.weight", rows: 4, columns: 2) }
        #expect(shape?.message == "tensor 'a.weight' has shape [2, 4], expected [4, 2]")
        let missing = #expect(throws: FormatError.self) { try file.vector("nope", count: 1) }
        #expect(missing?.message == "tensor 'nope' is missing")
        #expect(throws: FormatError.self) { try file.vector("a.weight", count: 8) }
    }

    @Test func everyTruncationIsRefused() {
        for n in 0..<Self.base.count {
            Self.expectError(Array(Self.base.prefix(n)))
        }
        Self.expectError(Self.base + [0], offset: Self.base.count, "1 bytes after the last tensor")
    }

    @Test func headerLength() {
        var bytes = Self.base
        bytes.replaceSubrange(0..<8, with: Self.le(UInt64(100_000_001)))
        Self.expectError(bytes, offset: 0, "header length 100000001 is more than the limit")
        bytes.replaceSubrange(0..<8, with: Self.le(UInt64.max))
        Self.expectError(bytes, offset: 0, "more than the limit")
        bytes.replaceSubrange(0..<8, with: Self.le(UInt64(Self.base.count)))
        Self.expectError(bytes, offset: 8, "safetensors header", "past the end")
        // Shorter than the JSON: the object is cut.
        bytes.replaceSubrange(0..<8, with: Self.le(UInt64(20)))
        Self.expectError(bytes, "invalid JSON")
        // Longer than the JSON: data bytes read as text after the object.
        bytes.replaceSubrange(0..<8, with: Self.le(UInt64(Self.base.count - 8 - 30)))
        Self.expectError(bytes, "invalid JSON")
    }

    @Test func badJSON() throws {
        Self.expectError(Self.file(header: "[]"), offset: 8, "does not start with '{'")
        Self.expectError(Self.file(header: " {}"), offset: 8, "does not start with '{'")
        Self.expectError(Self.file(header: "{\"a\":1} x"), offset: 16, "unexpected data after the JSON value")
        Self.expectError(Self.file(header: "{\"a\" 1}"), "expected ':'")
        Self.expectError(Self.file(header: "{\"a\":{\"dtype\":\"F32\",}}"), "expected a string key")
        Self.expectError(Self.file(header: "{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}"), offset: 33, "duplicate key 'k'")
        Self.expectError(Self.file(header: "{\"x\":\"\\q\"}"), "unknown escape")
        Self.expectError(Self.file(header: "{\"x\":\"\\ud800\"}"), "unpaired surrogate")
        Self.expectError(Self.file(header: "{\"x\":01}"), "leading zero")
        Self.expectError(Self.file(header: "{\"x\":\"a\nb\"}"), "control character")
        var invalid = Self.file(header: "{\"x\":\"ab\"}")
        invalid[8 + 6] = 0xFF
        Self.expectError(invalid, offset: 13, "not valid UTF-8")
        let deep = "{\"__metadata__\":" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        Self.expectError(Self.file(header: deep), "nested deeper than \(JSONValue.maxDepth) levels")
        Self.expectError(Self.file(header: "{\"__metadata__\":{\"k\":1}}"), offset: 8, "__metadata__ value of 'k' is a number")
        Self.expectError(Self.file(header: "{\"__metadata__\":[]}"), offset: 8, "__metadata__ is an array")
        #expect(try SafetensorsFile(bytes: Self.file(header: "{}  ")).tensors.isEmpty)
        #expect(try SafetensorsFile(bytes: Self.file(header: "{\"__metadata__\":{\"\\u00e9\\ud83d\\ude00\":\"x\\ty\"}}")).metadata == ["é😀": "x\ty"])
    }

    @Test func tensorEntries() {
        func entry(_ body: String, dataBytes: Int = 8) -> [UInt8] { Self.file(header: "{\"t\":{\(body)}}", dataBytes: dataBytes) }
        Self.expectError(Self.file(header: "{\"t\":[1]}"), "tensor 't' is an array in the header")
        Self.expectError(entry("\"shape\":[2],\"data_offsets\":[0,8]"), "tensor 't' has no string 'dtype'")
        Self.expectError(entry("\"dtype\":\"F32\",\"data_offsets\":[0,8]"), "tensor 't' has no 'shape' array")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[2]"), "tensor 't' needs 'data_offsets'")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]"), "needs 'data_offsets'")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]"), "needs 'data_offsets'")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]"), "needs 'data_offsets'")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1"), "unknown header field 'extra'")
        Self.expectError(entry("\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]"), "tensor 't' has dtype I32, which Sparrow cannot load (supported: F32, F16, BF16, I8)")
        Self.expectError(entry("\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[0,8]"), "tensor 't' has dtype F8_E4M3")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]"), "tensor 't' spans 8 bytes but shape [3] of F32 needs 12")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]"), "shape dimension 0 is not a non-negative integer")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]"), "shape dimension 0 is not a non-negative integer")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]"), "element count overflows at dimension 1")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]"), "overflows")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,8]"), "not a non-negative integer")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]"), "has 9 dimensions")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]"), "data [0, 16) runs past the end of the 8-byte data section")
        Self.expectError(entry("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[9223372036854775803,9223372036854775807]"), "runs past the end")
        // A 2-byte F16 before an F32 leaves the F32 misaligned.
        let header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}"
        Self.expectError(Self.file(header: header, dataBytes: 6), "tensor 'f' data at byte", "is not aligned to its 4-byte elements")
    }

    @Test func tensorsMayNeitherOverlapNorLeaveHoles() throws {
        func two(_ a: (Int, Int), _ b: (Int, Int), dataBytes: Int) -> [UInt8] {
            Self.file(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[\((a.1 - a.0) / 4)],\"data_offsets\":[\(a.0),\(a.1)]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[\((b.1 - b.0) / 4)],\"data_offsets\":[\(b.0),\(b.1)]}}", dataBytes: dataBytes)
        }
        #expect(try SafetensorsFile(bytes: two((0, 8), (8, 16), dataBytes: 16)).tensors.count == 2)
        let overlap = two((0, 8), (4, 12), dataBytes: 12)
        let dataOffset = overlap.count - 12
        Self.expectError(overlap, offset: dataOffset + 4, "tensor 'b' overlaps tensor 'a'")
        Self.expectError(two((0, 8), (0, 8), dataBytes: 8), "overlaps")
        Self.expectError(two((0, 16), (4, 8), dataBytes: 16), "overlaps tensor 'a'")
        Self.expectError(two((0, 8), (12, 16), dataBytes: 16), offset: dataOffset + 8, "4 bytes before tensor 'b' belong to no tensor")
        Self.expectError(two((4, 8), (8, 12), dataBytes: 12), "4 bytes before tensor 'a'")
        // Zero-element tensors take no bytes and may sit anywhere on a boundary.
        let empty = Self.file(header: "{\"e\":{\"dtype\":\"BF16\",\"shape\":[0,3],\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", dataBytes: 4)
        #expect(try SafetensorsFile(bytes: empty).tensor(named: "e")?.byteCount == 0)
    }

    /// Seeded random corruption of the valid file: every result parses or throws `FormatError`, and a
    /// file that parses satisfies the reader's guarantees.
    @Test func randomMutationsNeverCrash() {
        var rng = SplitMix64(seed: 0x5AFE_7E45)
        let dataOffset = (try? SafetensorsFile(bytes: Self.base).dataOffset) ?? 0
        let alphabet = Array("{}[]\",:0123456789-.eE \\u".utf8)
        var parsed = 0
        for _ in 0..<3000 {
            var bytes = Self.base
            for _ in 0...(rng.next() % 3) {
                let limit = min(dataOffset, bytes.count)
                guard limit > 0 else { break }
                let at = Int(rng.next() % UInt64(limit))
                switch rng.next() % 5 {
                case 0: bytes[at] ^= UInt8(1 << (rng.next() % 8))
                case 1: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 2: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 3: bytes.remove(at: at)
                default: bytes = Array(bytes.prefix(at + Int(rng.next() % 64)))
                }
            }
            do {
                let file = try SafetensorsFile(bytes: bytes, name: "fuzz.safetensors")
                parsed += 1
                var end = file.dataOffset
                for t in file.tensors {
                    #expect(t.offset == end && t.byteCount == t.elementCount * (t.type == .f32 ? 4 : 2))
                    end += t.byteCount
                }
                #expect(end == bytes.count)
            } catch is FormatError {
            } catch {
                Issue.record("not a FormatError: \(error)")
            }
        }
        #expect(parsed > 0)  // some mutations (e.g. in the padding or a name) leave a valid file
    }
}
