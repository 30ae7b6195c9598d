import Foundation
import SparrowRuntime
import Testing

/// GGUFWriter → GGUFFile round trips: every value type, nested arrays up to the nesting limit, every
/// tensor type, and the alignments 32, 64 and 4096. The oracles are the values written and the
/// invariant that re-writing a parsed file reproduces it byte for byte.
@Suite struct GGUFRoundTripTests {
    typealias S = GGUFTestSupport

    /// One value of every type, edge values included.
    static let scalars: [(String, GGUFValue)] = [
        ("u8", .uint8(.max)), ("i8", .int8(.min)), ("u16", .uint16(.max)), ("i16", .int16(.min)),
        ("u32", .uint32(.max)), ("i32", .int32(.min)), ("u64", .uint64(.max)), ("i64", .int64(.min)),
        ("f32", .float32(-0.0)), ("f32.inf", .float32(-.infinity)), ("f32.tiny", .float32(.leastNonzeroMagnitude)),
        ("f32.nan", .float32(Float(bitPattern: 0x7FC0_1234))),  // NaN payload must survive (checked by bytes)
        ("f64", .float64(.pi)), ("f64.nan", .float64(Double(bitPattern: 0xFFF8_0000_0000_0042))),
        ("bool.true", .bool(true)), ("bool.false", .bool(false)),
        ("string", .string("tab\t, NUL \0, emoji 🦜, CJK 語")), ("string.empty", .string("")),
    ]

    /// Arrays of every element type (including empty ones) and nested arrays.
    static var arrays: [(String, GGUFValue)] {
        var out: [(String, GGUFValue)] = []
        for (name, value) in scalars where !name.contains("nan") {
            out.append(("array.\(name)", .array(value.type, [value, value])))
            out.append(("array.empty.\(name)", .array(value.type, [])))
        }
        out.append(("array.empty.array", .array(.array, [])))
        out.append(("array.strings", .array(.string, (0..<300).map { .string("token \($0) ▁Ġ") })))
        out.append(("array.ragged", .array(.array, [.array(.int64, []), .array(.int64, [.int64(1)]), .array(.int64, [.int64(2), .int64(3)])])))
        // The deepest nesting the reader allows: maxArrayNesting arrays, one inside the other.
        var deep = GGUFValue.array(.string, [.string("bottom")])
        for _ in 1..<GGUFFile.Limits.maxArrayNesting { deep = .array(.array, [deep, deep]) }
        out.append(("array.deepest", deep))
        return out
    }

    static func writer(alignment: Int) -> GGUFWriter {
        var w = GGUFWriter(alignment: alignment)
        w.setMetadata("general.architecture", .string("sparrow-test"))
        for (key, value) in scalars + arrays { w.setMetadata("test.\(key)", value) }
        // Every tensor type: two blocks per row, three rows; the last type also gets 4 dimensions.
        for (i, type) in GGMLType.allCases.enumerated() {
            let dims = type == GGMLType.allCases.last ? [type.blockSize, 2, 1, 3] : [2 * type.blockSize, 3]
            let bytes = type.byteCount(elements: dims.reduce(1, *)) ?? 0
            w.addTensor(name: "tensor.\(type)", type: type, dimensions: dims, data: S.sampleBytes(bytes, seed: i))
        }
        return w
    }

    @Test(arguments: [32, 64, 4096])
    func writtenFileReadsBackExactly(alignment: Int) throws {
        let w = Self.writer(alignment: alignment)
        let bytes = w.serialize()
        let file = try GGUFFile(bytes: bytes, name: "round-trip.gguf")

        #expect(file.version == 3)
        #expect(file.alignment == alignment)
        #expect(file.dataOffset % alignment == 0)
        #expect(bytes.count % alignment == 0)
        #expect(file.metadataKeys == w.metadataKeys)
        #expect(w.metadataKeys.contains("general.alignment") == (alignment != 32))
        for key in w.metadataKeys {
            let written = try #require(w.metadata[key])
            if key.contains("nan") { continue }  // NaN != NaN; its bits are checked by the re-write below
            #expect(file.value(key) == written, "\(key)")
        }
        #expect(file.tensors.count == w.tensors.count)
        for (info, tensor) in zip(file.tensors, w.tensors) {
            #expect(info.name == tensor.name)
            #expect(info.type == tensor.type)
            #expect(info.dimensions == tensor.dimensions)
            #expect(info.byteCount == tensor.data.count)
            #expect(info.offset % alignment == 0 && info.relativeOffset % alignment == 0, "\(info.name)")
            #expect(Array(file.bytes(of: info)) == tensor.data, "\(info.name)")
        }

        // Writing the parsed content again gives the same bytes (covers NaN payloads and -0.0).
        var again = GGUFWriter(alignment: file.alignment)
        for key in file.metadataKeys { again.setMetadata(key, try #require(file.value(key))) }
        for info in file.tensors {
            again.addTensor(name: info.name, type: info.type, dimensions: info.dimensions, data: Array(file.bytes(of: info)))
        }
        #expect(again.serialize() == bytes)
    }

    @Test func writeToPathMatchesSerializeAndMapsBack() throws {
        let w = Self.writer(alignment: 64)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.gguf").path
        try w.write(to: path)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == w.serialize())
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        let file = try GGUFFile(path: path)
        #expect(file.tensors.count == GGMLType.allCases.count)
        #expect(try file.string("general.architecture") == "sparrow-test")

        let missingDir = dir.appendingPathComponent("no/such/dir/model.gguf").path
        #expect(throws: FormatError.self) { try w.write(to: missingDir) }
    }

    @Test func writerKeepsKeyOrderAndHonoursAlignmentKey() throws {
        var w = GGUFWriter()
        w.setMetadata("b", .uint8(1))
        w.setMetadata("a", .uint8(2))
        w.setMetadata("b", .uint8(3))  // replaced in place
        w.setMetadata("general.alignment", .uint32(128))
        w.addTensor(name: "t", type: .f32, dimensions: [3], data: S.sampleBytes(12, seed: 0))
        #expect(w.metadataKeys == ["b", "a", "general.alignment"])
        #expect(w.alignment == 128)
        let file = try GGUFFile(bytes: w.serialize())
        #expect(file.metadataKeys == ["b", "a", "general.alignment"])
        #expect(file.value("b") == .uint8(3))
        #expect(file.alignment == 128 && file.dataOffset % 128 == 0)
        w.removeMetadata("a")
        #expect(w.metadataKeys == ["b", "general.alignment"])
        #expect(try GGUFFile(bytes: w.serialize()).metadataKeys == ["b", "general.alignment"])
    }

    /// Valid 5-byte strings with up to two bytes replaced by UTF-8 edge bytes (overlong leads,
    /// surrogates, continuation bytes, F5...FF): the reader
    /// accepts exactly what the standard library's validating decoder accepts.
    @Test func stringValidationAgreesWithStandardLibrary() throws {
        var rng = SplitMix64(seed: 0x5EED_0001)
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                    0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        let validSamples = ["AAAAA", "éAAA", "A€A", "😀A", "ÿ߿A", "\u{FFFF}À", "\u{10FFFF}\u{7F}", "\u{D7FF}AA", "\u{E000}AA", "\u{80}AAA"]
        #expect(validSamples.allSatisfy { $0.utf8.count == 5 })
        var w = GGUFWriter()
        let placeholder = "\u{1}\u{1}\u{1}\u{1}\u{1}"
        w.setMetadata("utf8.sample", .string(placeholder))
        let base = w.serialize()
        let at = S.entry("utf8.sample", in: base).value + 8
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = base
            // A valid 5-byte string, then up to two bytes replaced by interesting ones.
            var sample = Array(validSamples[Int(rng.next() % UInt64(validSamples.count))].utf8)
            for _ in 0..<(rng.next() % 3) {
                sample[Int(rng.next() % 5)] = interesting[Int(rng.next() % UInt64(interesting.count))]
            }
            bytes.replaceSubrange(at..<(at + 5), with: sample)
            let expected = sample.withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) }
            do {
                let file = try GGUFFile(bytes: bytes, name: "utf8.gguf")
                #expect(file.value("utf8.sample") == expected.map { .string($0) }, "\(sample)")
                accepted += 1
            } catch let error as FormatError {
                #expect(expected == nil, "refused valid UTF-8 \(sample): \(error)")
                #expect(error.offset == at && error.message.contains("not valid UTF-8"))
            }
        }
        #expect(accepted > 100 && accepted < 2900)  // both outcomes exercised
    }
}
