import Foundation
import SparrowRuntime
import Testing

/// Hostile GGUF files, each made from a valid written file by corrupting one field: every one must be
/// refused with a `FormatError` whose offset and message name the field; no input may crash the reader.
@Suite struct GGUFHostileFileTests {
    typealias S = GGUFTestSupport
    static let huge = UInt64(1) << 63

    /// A small valid file: a few metadata kinds and two tensors (Q4_0 [64, 2] at 0, F32 [4] at 96).
    static func baseWriter() -> GGUFWriter {
        var w = GGUFWriter()
        w.setMetadata("general.architecture", .string("llama"))
        w.setMetadata("test.flag", .bool(true))
        w.setMetadata("test.list", .array(.uint32, [1, 2, 3].map { .uint32($0) }))
        w.setMetadata("test.bools", .array(.bool, [.bool(false), .bool(true)]))
        w.setMetadata("test.names", .array(.string, [.string("ab"), .string("c")]))
        w.addTensor(name: "a.weight", type: .q4_0, dimensions: [64, 2], data: S.sampleBytes(72, seed: 1))
        w.addTensor(name: "b.weight", type: .f32, dimensions: [4], data: S.sampleBytes(16, seed: 2))
        return w
    }

    static let base = baseWriter().serialize()
    static let a = S.tensorInfo("a.weight", dimensionCount: 2, in: base)
    static let b = S.tensorInfo("b.weight", dimensionCount: 1, in: base)
    static var dataOffset: Int { (try? GGUFFile(bytes: base).dataOffset) ?? -1 }

    @Test func baseFileIsValid() throws {
        let file = try GGUFFile(bytes: Self.base)
        #expect(file.tensors.map(\.name) == ["a.weight", "b.weight"])
        #expect(file.tensor(named: "b.weight")?.relativeOffset == 96)
    }

    @Test func everyTruncationIsRefused() throws {
        let file = try GGUFFile(bytes: Self.base)
        let dataEnd = file.tensors.map { $0.offset + $0.byteCount }.max() ?? 0
        for n in 0..<dataEnd {
            do {
                _ = try GGUFFile(bytes: Array(Self.base.prefix(n)), name: "hostile.gguf")
                Issue.record("a \(n)-byte prefix parsed")
            } catch let error as FormatError {
                #expect(error.message.contains("past the end") || error.message.contains("cannot fit"), "\(n): \(error)")
            }
        }
        // Only the zero padding after the last tensor may be cut.
        for n in dataEnd...Self.base.count {
            #expect(try GGUFFile(bytes: Array(Self.base.prefix(n))).tensors.count == 2)
        }
    }

    @Test func headerFields() {
        S.expectFormatError(S.patched(Self.base, at: 0, UInt8(ascii: "X")), offset: 0, "bad magic")
        S.expectFormatError(S.patched(Self.base, at: 4, UInt32(1)), offset: 4, "version 1 is not supported")
        S.expectFormatError(S.patched(Self.base, at: 4, UInt32(4)), offset: 4, "version 4 is not supported")
        S.expectFormatError(S.patched(Self.base, at: 8, Self.huge), offset: 8, "tensor count 9223372036854775808 cannot fit")
        S.expectFormatError(S.patched(Self.base, at: 16, Self.huge), offset: 16, "metadata count 9223372036854775808 cannot fit")
        S.expectFormatError(S.patched(Self.base, at: 16, UInt64.max), offset: 16, "metadata count")
    }

    @Test func stringLengths() {
        let arch = S.entry("general.architecture", in: Self.base)
        S.expectFormatError(S.patched(Self.base, at: arch.start, Self.huge), offset: arch.start, "key of metadata entry 0", "claims 9223372036854775808 bytes")
        S.expectFormatError(S.patched(Self.base, at: arch.value, Self.huge), offset: arch.value, "value of 'general.architecture'", "claims")
        S.expectFormatError(S.patched(Self.base, at: arch.value, UInt64(1 << 20)), offset: arch.value + 8, "value of 'general.architecture'", "past the end")
        S.expectFormatError(S.patched(Self.base, at: Self.a.start, Self.huge), offset: Self.a.start, "name of tensor 0", "claims")
        let names = S.entry("test.names", in: Self.base)
        S.expectFormatError(S.patched(Self.base, at: names.value + 12, Self.huge), offset: names.value + 12, "value of 'test.names'")
    }

    @Test func arrays() {
        let list = S.entry("test.list", in: Self.base)
        S.expectFormatError(S.patched(Self.base, at: list.value + 4, Self.huge), offset: list.value + 4, "'test.list'", "cannot fit")
        S.expectFormatError(S.patched(Self.base, at: list.value + 4, UInt64(1 << 20)), offset: list.value + 4, "'test.list'", "cannot fit")
        let names = S.entry("test.names", in: Self.base)
        S.expectFormatError(S.patched(Self.base, at: names.value + 4, Self.huge), offset: names.value + 4, "'test.names'", "cannot fit")
        S.expectFormatError(S.patched(Self.base, at: list.value, UInt32(13)), offset: list.value, "'test.list'", "unknown array element type 13")
        let bools = S.entry("test.bools", in: Self.base)
        S.expectFormatError(S.patched(Self.base, at: bools.value + 13, UInt8(7)), offset: bools.value + 13, "'test.bools'", "bool byte is 7")
    }

    @Test func arraysNestedPastTheLimit() throws {
        func nested(_ levels: Int) -> [UInt8] {
            var value = GGUFValue.array(.uint8, [.uint8(1)])
            for _ in 1..<levels { value = .array(.array, [value]) }
            var w = GGUFWriter()
            w.setMetadata("deep", value)
            return w.serialize()
        }
        let limit = GGUFFile.Limits.maxArrayNesting
        #expect(try GGUFFile(bytes: nested(limit)).value("deep") != nil)
        let tooDeep = nested(limit + 1)
        // Each level is a u32 element type and a u64 count; the refused level starts after `limit` of them.
        let at = S.entry("deep", in: tooDeep).value + 12 * limit
        S.expectFormatError(tooDeep, offset: at, "'deep'", "nested deeper than \(limit)")
        S.expectFormatError(nested(1000), offset: S.entry("deep", in: nested(1000)).value + 12 * limit, "nested deeper")
    }

    @Test func valueTypesAndBools() {
        let flag = S.entry("test.flag", in: Self.base)
        S.expectFormatError(S.patched(Self.base, at: flag.type, UInt32(13)), offset: flag.type, "'test.flag'", "unknown value type 13")
        S.expectFormatError(S.patched(Self.base, at: flag.type, UInt32.max), offset: flag.type, "unknown value type 4294967295")
        S.expectFormatError(S.patched(Self.base, at: flag.value, UInt8(2)), offset: flag.value, "'test.flag'", "bool byte is 2")
    }

    @Test func nonUTF8Strings() {
        let arch = S.entry("general.architecture", in: Self.base)
        S.expectFormatError(S.patched(Self.base, at: arch.value + 9, UInt8(0xFF)), offset: arch.value + 8, "value of 'general.architecture'", "not valid UTF-8")
        S.expectFormatError(S.patched(Self.base, at: arch.start + 8, UInt8(0xC0)), offset: arch.start + 8, "key of metadata entry 0", "not valid UTF-8")
        S.expectFormatError(S.patched(Self.base, at: Self.a.start + 8, UInt8(0x80)), offset: Self.a.start + 8, "name of tensor 0", "not valid UTF-8")
        let names = S.entry("test.names", in: Self.base)
        S.expectFormatError(S.patched(Self.base, at: names.value + 20, UInt8(0xED)), offset: names.value + 20, "value of 'test.names'", "not valid UTF-8")
    }

    @Test func duplicates() {
        // "test.list" → "test.flag": the second key now repeats the first.
        let list = S.entry("test.list", in: Self.base)
        var bytes = Self.base
        bytes.replaceSubrange((list.start + 8)..<(list.start + 17), with: Array("test.flag".utf8))
        S.expectFormatError(bytes, offset: list.start, "duplicate metadata key 'test.flag'")
        bytes = S.patched(Self.base, at: Self.b.start + 8, UInt8(ascii: "a"))
        S.expectFormatError(bytes, offset: Self.b.start, "duplicate tensor name 'a.weight'")
    }

    @Test func tensorShapesAndTypes() {
        let a = Self.a
        S.expectFormatError(S.patched(Self.base, at: a.type, UInt32(4)), offset: a.type, "'a.weight'", "unknown tensor type 4")
        S.expectFormatError(S.patched(Self.base, at: a.type, UInt32(1000)), offset: a.type, "unknown tensor type 1000")
        S.expectFormatError(S.patched(Self.base, at: a.dimensionCount, UInt32(0)), offset: a.dimensionCount, "'a.weight' has 0 dimensions")
        S.expectFormatError(S.patched(Self.base, at: a.dimensionCount, UInt32(5)), offset: a.dimensionCount, "'a.weight' has 5 dimensions")
        S.expectFormatError(S.patched(Self.base, at: a.dimensions[1], UInt64(0)), offset: a.dimensions[1], "'a.weight' dimension 1 is 0")
        S.expectFormatError(S.patched(Self.base, at: a.dimensions[1], UInt64.max), offset: a.dimensions[1], "dimension 1 is 18446744073709551615")
        // 2^32 × 2^32 overflows Int64.
        let overflow = S.patched(S.patched(Self.base, at: a.dimensions[0], UInt64(1) << 32), at: a.dimensions[1], UInt64(1) << 32)
        S.expectFormatError(overflow, offset: a.dimensions[1], "'a.weight' element count overflows at dimension 1")
        S.expectFormatError(S.patched(Self.base, at: a.dimensions[0], UInt64(48)), offset: a.dimensions[0], "row length 48 is not a multiple of Q4_0's block size 32")
    }

    @Test func tensorOffsets() {
        let b = Self.b
        S.expectFormatError(S.patched(Self.base, at: b.offset, UInt64(100)), offset: b.offset, "'b.weight' data offset 100 is not aligned to 32")
        S.expectFormatError(S.patched(Self.base, at: b.offset, UInt64(1) << 40), offset: b.offset, "'b.weight' data offset 1099511627776 is past the end")
        S.expectFormatError(S.patched(Self.base, at: b.offset, Self.huge), offset: b.offset, "past the end")
        // Aligned, inside the file, but 16 bytes from there run past its end.
        let end = UInt64(Self.base.count - Self.dataOffset)
        S.expectFormatError(S.patched(Self.base, at: b.offset, end), offset: Self.base.count, "data of tensor 'b.weight'", "past the end")
        // b inside a's 72 bytes.
        S.expectFormatError(S.patched(Self.base, at: b.offset, UInt64(32)), offset: Self.dataOffset + 32, "tensor 'b.weight' overlaps tensor 'a.weight'")
        S.expectFormatError(S.patched(Self.base, at: b.offset, UInt64(64)), offset: Self.dataOffset + 64, "overlaps")
    }

    @Test(arguments: [GGUFValue.uint32(0), .uint32(3), .uint32(1 << 21), .int32(32), .uint64(32), .string("32")])
    func badAlignmentIsRefused(value: GGUFValue) {
        var w = Self.baseWriter()
        w.setMetadata("general.alignment", value)
        let bytes = w.serialize()
        S.expectFormatError(bytes, offset: S.entry("general.alignment", in: bytes).type, "general.alignment must be a power-of-two uint32")
    }

    @Test func nonRegularFilesAreRefusedWithoutBlocking() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("model.gguf").path
        try #require(mkfifo(fifo, 0o600) == 0)
        // Opening a FIFO for reading would block until a writer appears; the reader must refuse it.
        for path in [fifo, dir.path] {
            let error = #expect(throws: FormatError.self) { try GGUFFile(path: path) }
            #expect(error?.message == "not a regular file")
        }
        let missing = #expect(throws: FormatError.self) { try GGUFFile(path: dir.appendingPathComponent("absent.gguf").path) }
        #expect(missing?.message.contains("cannot open") == true)
    }

    /// Seeded random corruption of the valid file: every result parses or throws `FormatError`, and
    /// a file that parses satisfies the reader's guarantees.
    @Test func randomMutationsNeverCrash() throws {
        var rng = SplitMix64(seed: 0xF022_0001)
        let extremes: [UInt64] = [0, 1, 2, 3, 31, 32, 33, 255, 1 << 31, 1 << 32, (1 << 32) - 1, 1 << 40, 1 << 62,
                                  1 << 63, UInt64(Int64.max), .max, .max - 1, UInt64(Self.base.count), UInt64(Self.base.count - 8)]
        let headerEnd = Self.dataOffset
        var parsed = 0
        for _ in 0..<2000 {
            var bytes = Self.base
            for _ in 0...(rng.next() % 3) {
                let limit = min(headerEnd, bytes.count)
                guard limit > 0 else { break }
                let at = Int(rng.next() % UInt64(limit))
                switch rng.next() % 5 {
                case 0: bytes[at] ^= UInt8(1 << (rng.next() % 8))
                case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 2 where at + 8 <= bytes.count: bytes = S.patched(bytes, at: at, extremes[Int(rng.next() % UInt64(extremes.count))])
                case 3 where at + 4 <= bytes.count: bytes = S.patched(bytes, at: at, UInt32(truncatingIfNeeded: extremes[Int(rng.next() % UInt64(extremes.count))]))
                default: bytes = Array(bytes.prefix(at + Int(rng.next() % 64)))
                }
            }
            do {
                let file = try GGUFFile(bytes: bytes, name: "fuzz.gguf")
                parsed += 1
                for t in file.tensors {
                    #expect(t.offset >= file.dataOffset && t.offset + t.byteCount <= bytes.count)
                    #expect(t.offset % file.alignment == 0)
                    #expect(file.tensor(named: t.name)?.offset == t.offset)
                }
                let sorted = file.tensors.sorted { $0.offset < $1.offset }
                #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $0.offset + $0.byteCount <= $1.offset })
            } catch is FormatError {
            } catch {
                Issue.record("not a FormatError: \(error)")
            }
        }
        #expect(parsed > 0)  // some mutations (e.g. in string contents) leave a valid file
    }
}
