import Foundation

/// The weights of a Hugging Face checkpoint folder: one `model.safetensors`, or shards listed by
/// `model.safetensors.index.json`.
///
/// The index's `weight_map` maps every tensor name to its shard's file name. Each shard is opened
/// once; a shard name that is not a plain file name in the folder, a tensor listed twice, a listed
/// tensor missing from its shard and a shard tensor the index does not list are all errors naming the
/// tensor and the file.
public final class SafetensorsCheckpoint: WeightSource, @unchecked Sendable {
    /// The file name of a single-file checkpoint.
    public static let singleFileName = "model.safetensors"
    /// The file name of a sharded checkpoint's index.
    public static let indexFileName = "model.safetensors.index.json"
    /// Index files larger than this are refused (a 1000-shard index of a large model is a few MB).
    public static let maxIndexBytes = 64 << 20

    /// The folder the checkpoint was read from.
    public let path: String
    /// Shards in file-name order (one element for a single-file checkpoint).
    public let shards: [SafetensorsFile]
    /// Tensor names, sorted.
    public let tensorNames: [String]
    /// Tensor name → index into `shards`.
    private let shardOfTensor: [String: Int]

    /// Opens the checkpoint in `folder`: the index and its shards when the index exists, else
    /// `model.safetensors`.
    public init(folder: String) throws {
        path = folder
        let fm = FileManager.default
        let indexPath = folder + "/" + Self.indexFileName
        if fm.fileExists(atPath: indexPath) {
            (shards, shardOfTensor) = try Self.openShards(indexPath: indexPath, folder: folder)
        } else if fm.fileExists(atPath: folder + "/" + Self.singleFileName) {
            let file = try SafetensorsFile(path: folder + "/" + Self.singleFileName)
            shards = [file]
            shardOfTensor = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, 0) })
        } else {
            throw FormatError(
                file: folder, offset: nil,
                message: "no \(Self.singleFileName) or \(Self.indexFileName) in this folder; expected a Hugging Face safetensors checkpoint")
        }
        tensorNames = shardOfTensor.keys.sorted()
    }

    private static func openShards(indexPath: String, folder: String) throws -> ([SafetensorsFile], [String: Int]) {
        func fail(_ message: String) -> FormatError { FormatError(file: indexPath, offset: nil, message: message) }
        let indexFile = try MappedFile(path: indexPath)
        guard indexFile.count <= maxIndexBytes else { throw fail("index is \(indexFile.count) bytes, more than the limit of \(maxIndexBytes)") }
        let index = try JSONValue.parse(try indexFile.bytes(at: 0, count: indexFile.count, what: "index"), file: indexPath)
        guard let weightMap = index["weight_map"]?.objectValue else { throw fail("no 'weight_map' object") }

        var shardNames: [String] = []
        var listed: [String: String] = [:]  // tensor → shard file name
        for (tensor, value) in weightMap {
            guard let shard = value.stringValue else { throw fail("weight_map entry of tensor '\(tensor)' is \(value.kind), expected a file name") }
            guard !shard.isEmpty, shard != ".", shard != "..", !shard.contains("/"), !shard.contains("\0") else {
                throw fail("weight_map puts tensor '\(tensor)' in '\(shard)', which is not a file name inside the folder")
            }
            listed[tensor] = shard
            shardNames.append(shard)
        }
        let names = Array(Set(shardNames)).sorted()
        // Each shard is mapped once, whatever the number of tensors it holds.
        let files = try names.map { try SafetensorsFile(path: folder + "/" + $0) }
        let shardIndex = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })

        var owner: [String: Int] = [:]
        for (i, file) in files.enumerated() {
            for t in file.tensors {
                if let other = owner[t.name] {
                    throw FormatError(
                        file: file.path, offset: t.offset,
                        message: "tensor '\(t.name)' is stored twice (also in \(names[other])); the checkpoint is inconsistent")
                }
                guard listed[t.name] == names[i] else {
                    let listing = listed[t.name].map { "lists it in \($0)" } ?? "does not list it"
                    throw FormatError(
                        file: file.path, offset: t.offset,
                        message: "tensor '\(t.name)' is in this shard but \(indexFileName) \(listing); the checkpoint is inconsistent")
                }
                owner[t.name] = i
            }
        }
        for (tensor, shard) in listed.sorted(by: { $0.key < $1.key }) where owner[tensor] == nil {
            throw FormatError(
                file: files[shardIndex[shard]!].path, offset: nil,
                message: "tensor '\(tensor)' is listed in \(indexFileName) for this shard but the shard does not hold it")
        }
        return (files, owner)
    }

    /// The shard holding `name`, or nil.
    public func shard(holding name: String) -> SafetensorsFile? {
        shardOfTensor[name].map { shards[$0] }
    }

    public func containsTensor(_ name: String) -> Bool { shardOfTensor[name] != nil }

    public func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
        try source(of: name).matrix(name, rows: rows, columns: columns)
    }

    public func vector(_ name: String, count: Int) throws -> [Float] {
        try source(of: name).vector(name, count: count)
    }

    private func source(of name: String) throws -> SafetensorsFile {
        guard let file = shard(holding: name) else {
            throw FormatError(file: path, offset: nil, message: "tensor '\(name)' is missing from the checkpoint")
        }
        return file
    }
}
