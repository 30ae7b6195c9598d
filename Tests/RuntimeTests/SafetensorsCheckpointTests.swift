import Foundation
import SparrowRuntime
import Testing

/// Sharded checkpoints (`model.safetensors.index.json` + shards) built in a temporary folder: a
/// consistent index loads every tensor from its shard; every inconsistency names the tensor and file.
@Suite struct SafetensorsCheckpointTests {
    static func shard(_ names: [String]) -> [UInt8] {
        var w = SafetensorsWriter()
        for (i, name) in names.enumerated() {
            w.addTensor(name: name, dtype: "F32", shape: [2], data: [Float(i), Float(i) + 0.5].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } })
        }
        return w.serialize()
    }

    /// A folder with shards s1 (a, b) and s2 (c) and the given index text.
    static func folder(index: String, shards: [String: [String]] = ["s1.safetensors": ["a", "b"], "s2.safetensors": ["c"]]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-shards-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, tensors) in shards {
            try Data(shard(tensors)).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        try Data(index.utf8).write(to: URL(fileURLWithPath: dir + "/" + SafetensorsCheckpoint.indexFileName))
        return dir
    }

    static let goodIndex = #"{"metadata":{"total_size":24},"weight_map":{"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors"}}"#

    static func expectError(index: String, shards: [String: [String]]? = nil, file: String, _ fragments: String...,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try shards.map { try folder(index: index, shards: $0) } ?? folder(index: index)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = #expect(throws: FormatError.self, sourceLocation: sourceLocation) { try SafetensorsCheckpoint(folder: dir) }
        #expect(error?.file == dir + "/" + file, "\(String(describing: error))", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error?.message.contains(fragment) == true, "'\(fragment)' not in: \(String(describing: error))", sourceLocation: sourceLocation)
        }
    }

    @Test func consistentShardsLoadEveryTensorFromItsShard() throws {
        let dir = try Self.folder(index: Self.goodIndex)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let checkpoint = try SafetensorsCheckpoint(folder: dir)
        #expect(checkpoint.shards.count == 2)
        #expect(checkpoint.tensorNames == ["a", "b", "c"])
        #expect(try checkpoint.vector("b", count: 2) == [1, 1.5])
        #expect(try checkpoint.vector("c", count: 2) == [0, 0.5])
        #expect(checkpoint.shard(holding: "c")?.path == dir + "/s2.safetensors")
        // The same shard object serves every tensor it holds (each shard is mapped once).
        #expect(checkpoint.shard(holding: "a") === checkpoint.shard(holding: "b"))
        let missing = #expect(throws: FormatError.self) { try checkpoint.vector("d", count: 2) }
        #expect(missing?.message == "tensor 'd' is missing from the checkpoint")
    }

    @Test func inconsistentIndexesAreRefused() throws {
        let index = SafetensorsCheckpoint.indexFileName
        try Self.expectError(
            index: #"{"weight_map":{"a":"s1.safetensors","a":"s2.safetensors","b":"s1.safetensors","c":"s2.safetensors"}}"#,
            file: index, "duplicate key 'a'")
        try Self.expectError(
            index: #"{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s2.safetensors"}}"#,
            file: "s1.safetensors", "tensor 'b' is in this shard but \(index) lists it in s2.safetensors")
        try Self.expectError(
            index: #"{"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}}"#,
            file: "s1.safetensors", "tensor 'b' is in this shard but \(index) does not list it")
        try Self.expectError(
            index: #"{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors","d":"s2.safetensors"}}"#,
            file: "s2.safetensors", "tensor 'd' is listed in \(index) for this shard but the shard does not hold it")
        try Self.expectError(
            index: Self.goodIndex, shards: ["s1.safetensors": ["a", "b"], "s2.safetensors": ["c", "a"]],
            file: "s2.safetensors", "tensor 'a' is stored twice (also in s1.safetensors)")
        try Self.expectError(index: #"{"weight_map":{"a":"../s1.safetensors"}}"#, file: index, "not a file name inside the folder")
        try Self.expectError(index: #"{"weight_map":{"a":3}}"#, file: index, "weight_map entry of tensor 'a' is a number")
        try Self.expectError(index: #"{"metadata":{}}"#, file: index, "no 'weight_map' object")
        try Self.expectError(index: #"{"weight_map":{"a":"s3.safetensors"}}"#, file: "s3.safetensors", "cannot open")
        try Self.expectError(index: #"{"weight_map":{"a":"s1.safetensors""#, file: index, "invalid JSON")
    }

    @Test func folderWithoutWeightsIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-empty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = #expect(throws: FormatError.self) { try SafetensorsCheckpoint(folder: dir) }
        #expect(error?.message.contains("no model.safetensors or model.safetensors.index.json") == true)
    }

    @Test func jsonNumbersStayExact() throws {
        let value = try JSONValue.parse(Array(#"{"big":9007199254740993,"neg":-3,"f":1.5e3,"max":18446744073709551615}"#.utf8), file: "n.json")
        #expect(value["big"]?.intValue == 9_007_199_254_740_993)  // not representable as a Double
        #expect(value["neg"]?.intValue == -3)
        #expect(value["f"]?.intValue == nil && value["f"]?.doubleValue == 1500)
        #expect(value["max"]?.intValue == nil)  // does not fit in Int
        #expect(value.objectValue?.map(\.key) == ["big", "neg", "f", "max"])
    }
}
