import Foundation
import SparrowRuntime
import Testing

/// The GGUF reader and writer against gguf-py (the reference implementation) and against each other.
/// Goldens come from Scripts/make-gguf-golden.py (gguf==0.19.0); see the provenance in each fixture.
@Suite struct GGUFReaderTests {
    typealias S = GGUFTestSupport

    // MARK: Fixture shapes

    struct Scalar: Decodable {
        var string: String?
        var bool: Bool?
        var int: Int64?
        var float: Double?
        var bits: UInt64?
    }

    struct Header: Decodable {
        var version: UInt32
        var tensor_count: Int
        var kv_count: Int
        var alignment: Int
        var data_offset: Int
        var file_bytes: Int
    }

    struct MetadataEntry: Decodable {
        var key: String
        var type: String
        var value: Scalar?
        var element_type: String?
        var count: Int?
        var first: [Scalar]?
        var last: [Scalar]?
        var sha256: String?
    }

    struct TensorRow: Decodable {
        var name: String
        var type: String
        var type_id: UInt32
        var dimensions: [Int]
        var relative_offset: Int
        var offset: Int
        var byte_count: Int
        var head_sha256: String
    }

    struct ModelTable: Decodable {
        var header: Header
        var metadata: [MetadataEntry]
        var tensors: [TensorRow]
    }

    struct WrittenSample: Decodable {
        var header: Header
        var metadata_keys: [String]
        var tensors: [TensorRow]
        var sha256: String
        var hex: String
    }

    /// True when `value` is exactly the golden scalar (floats by bit pattern).
    static func matches(_ value: GGUFValue, _ golden: Scalar) -> Bool {
        switch value {
        case .string(let s): return golden.string == s
        case .bool(let b): return golden.bool == b
        case .float32(let f): return golden.bits == UInt64(f.bitPattern) && golden.float == Double(f)
        case .float64(let d): return golden.bits == d.bitPattern && golden.float == d
        case .uint64(let v): return golden.int.map { Int64(exactly: v) == $0 } ?? false
        case .array: return false
        default: return golden.int == value.intValue.map(Int64.init)
        }
    }

    static func checkTensors(_ file: GGUFFile, _ rows: [TensorRow], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(file.tensors.count == rows.count, sourceLocation: sourceLocation)
        for (info, row) in zip(file.tensors, rows) {
            #expect(info.name == row.name, sourceLocation: sourceLocation)
            #expect(info.type.rawValue == row.type_id && "\(info.type)" == row.type, "\(info.name)", sourceLocation: sourceLocation)
            #expect(info.dimensions == row.dimensions, "\(info.name)", sourceLocation: sourceLocation)
            #expect(info.relativeOffset == row.relative_offset, "\(info.name)", sourceLocation: sourceLocation)
            #expect(info.offset == row.offset, "\(info.name)", sourceLocation: sourceLocation)
            #expect(info.byteCount == row.byte_count, "\(info.name)", sourceLocation: sourceLocation)
            let head = UnsafeRawBufferPointer(start: file.data(of: info), count: min(info.byteCount, 4096))
            #expect(S.sha256Hex(head) == row.head_sha256, "data of \(info.name)", sourceLocation: sourceLocation)
            #expect(file.tensor(named: row.name)?.offset == row.offset, sourceLocation: sourceLocation)
        }
    }

    // MARK: The real model

    @Test func smolLM2MatchesGGUFPyTable() throws {
        let path = ModelStore.path(id: "smollm2-135m-instruct", fileName: "SmolLM2-135M-Instruct.Q4_1.gguf")
        try #require(
            FileManager.default.fileExists(atPath: path),
            "model file missing at \(path): run Scripts/fetch-models.sh (or `sparrow models fetch`)")
        let golden = try S.fixture(ModelTable.self, "smollm2-gguf-table.json")
        let file = try GGUFFile(path: path)

        #expect(file.version == golden.header.version)
        #expect(file.version == 3)
        #expect(file.file.count == golden.header.file_bytes)
        #expect(file.alignment == golden.header.alignment)
        #expect(file.dataOffset == golden.header.data_offset)
        #expect(file.metadataKeys.count == golden.header.kv_count)
        #expect(file.metadataKeys == golden.metadata.map(\.key))
        for entry in golden.metadata {
            let value = try #require(file.value(entry.key))
            #expect("\(value.type)" == entry.type, "\(entry.key)")
            if case .array(let elementType, let elements) = value {
                #expect("\(elementType)" == entry.element_type, "\(entry.key)")
                #expect(elements.count == entry.count, "\(entry.key)")
                let first = entry.first ?? [], last = entry.last ?? []
                #expect(zip(elements.prefix(first.count), first).allSatisfy { Self.matches($0, $1) }, "\(entry.key) first elements")
                #expect(zip(elements.suffix(last.count), last).allSatisfy { Self.matches($0, $1) }, "\(entry.key) last elements")
                #expect(S.sha256Hex(S.canonicalEncoding(elements)) == entry.sha256, "\(entry.key) elements")
            } else {
                let golden = try #require(entry.value, "\(entry.key)")
                #expect(Self.matches(value, golden), "\(entry.key): \(value)")
            }
        }
        #expect(golden.header.tensor_count == 272)
        Self.checkTensors(file, golden.tensors)

        // The typed accessors see the same values.
        #expect(try file.stringArray("tokenizer.ggml.tokens").count == 49152)
        #expect(try file.stringArray("tokenizer.ggml.merges").count == 48900)
        #expect(try file.intArray("tokenizer.ggml.token_type").count == 49152)
        #expect(try file.int("llama.block_count") == 30)
        #expect(try file.float("llama.attention.layer_norm_rms_epsilon") == Double(Float(1e-5)))
        #expect(throws: FormatError.self) { try file.string("llama.block_count") }
        #expect(throws: FormatError.self) { try file.int("no.such.key") }
    }

    // MARK: Against gguf-py's writer

    /// The content of `write_sample` in Scripts/make-gguf-golden.py, built with GGUFWriter.
    static func ggufPySample() -> GGUFWriter {
        var w = GGUFWriter()
        w.setMetadata("general.architecture", .string("sparrow-test"))
        w.setMetadata("general.alignment", .uint32(64))
        w.setMetadata("test.u8", .uint8(200))
        w.setMetadata("test.i8", .int8(-100))
        w.setMetadata("test.u16", .uint16(60000))
        w.setMetadata("test.i16", .int16(-30000))
        w.setMetadata("test.u32", .uint32(4_000_000_000))
        w.setMetadata("test.i32", .int32(-2_000_000_000))
        w.setMetadata("test.f32", .float32(1.5))
        w.setMetadata("test.bool", .bool(true))
        w.setMetadata("test.string", .string("héllo wörld ✓"))
        w.setMetadata("test.u64", .uint64(.max))
        w.setMetadata("test.i64", .int64(.min))
        w.setMetadata("test.f64", .float64(-0.1))
        w.setMetadata("test.array.u8", .array(.uint8, [0, 1, 255].map { .uint8($0) }))
        w.setMetadata("test.array.i8", .array(.int8, [-128, 127].map { .int8($0) }))
        w.setMetadata("test.array.u16", .array(.uint16, [65535, 7].map { .uint16($0) }))
        w.setMetadata("test.array.i16", .array(.int16, [-32768, 3].map { .int16($0) }))
        w.setMetadata("test.array.u32", .array(.uint32, [1, 4_294_967_295].map { .uint32($0) }))
        w.setMetadata("test.array.i32", .array(.int32, [-1, 2, -3].map { .int32($0) }))
        w.setMetadata("test.array.f32", .array(.float32, [0.25, -2.0, 1e30].map { .float32($0) }))
        w.setMetadata("test.array.bool", .array(.bool, [true, false, true].map { .bool($0) }))
        w.setMetadata("test.array.string", .array(.string, ["a", "", "Ġthe", "日本"].map { .string($0) }))
        w.setMetadata("test.array.u64", .array(.uint64, [0, .max].map { .uint64($0) }))
        w.setMetadata("test.array.i64", .array(.int64, [.min, .max].map { .int64($0) }))
        w.setMetadata("test.array.f64", .array(.float64, [0.5, -1e300].map { .float64($0) }))
        let ints: [[Int32]] = [[1, 2], [3], [4, 5, 6]]
        w.setMetadata("test.nested.ints", .array(.array, ints.map { .array(.int32, $0.map { .int32($0) }) }))
        w.setMetadata("test.nested.strings", .array(.array, [["x", "y"], ["z"]].map { .array(.string, $0.map { .string($0) }) }))
        let deep: [[[Float]]] = [[[0.5, 1.5]], [[2.5]]]
        w.setMetadata("test.nested.deep", .array(.array, deep.map { .array(.array, $0.map { .array(.float32, $0.map { .float32($0) }) }) }))
        w.addTensor(name: "f32.matrix", type: .f32, dimensions: [3, 2], data: S.sampleBytes(24, seed: 1))
        w.addTensor(name: "f16.vector", type: .f16, dimensions: [5], data: S.sampleBytes(10, seed: 2))
        w.addTensor(name: "q4_0.matrix", type: .q4_0, dimensions: [64, 3], data: S.sampleBytes(108, seed: 3))
        w.addTensor(name: "q8_0.cube", type: .q8_0, dimensions: [32, 2, 2], data: S.sampleBytes(136, seed: 4))
        w.addTensor(name: "q4_k.row", type: .q4_K, dimensions: [256], data: S.sampleBytes(144, seed: 5))
        return w
    }

    @Test func swiftWriterMatchesGGUFPyByteForByte() throws {
        let golden = try S.fixture(WrittenSample.self, "gguf-py-written.json")
        let expected = S.bytes(hex: golden.hex)
        #expect(S.sha256Hex(expected) == golden.sha256)
        let written = Self.ggufPySample().serialize()
        #expect(written.count == expected.count)
        if let i = (0..<min(written.count, expected.count)).first(where: { written[$0] != expected[$0] }) {
            Issue.record("first differing byte at offset \(i)")
        }
        #expect(written == expected)
    }

    @Test func readerMatchesGGUFPyOnItsOwnFile() throws {
        let golden = try S.fixture(WrittenSample.self, "gguf-py-written.json")
        let file = try GGUFFile(bytes: S.bytes(hex: golden.hex), name: "gguf-py-written.gguf")
        #expect(file.version == golden.header.version)
        #expect(file.alignment == golden.header.alignment)
        #expect(file.dataOffset == golden.header.data_offset)
        #expect(file.metadataKeys == golden.metadata_keys)
        Self.checkTensors(file, golden.tensors)
        let sample = Self.ggufPySample()
        for key in sample.metadataKeys {
            #expect(file.value(key) == sample.metadata[key], "\(key)")
        }
    }
}
