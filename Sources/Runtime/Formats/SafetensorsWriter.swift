/// Builds a `.safetensors` file in memory (tests, sharding tools): tensors are laid out back to back
/// in the order added, and the header is padded with spaces to a multiple of 8 bytes, as the
/// reference writer does, so every tensor stays aligned to its elements.
public struct SafetensorsWriter {
    private struct Entry { let name: String; let dtype: String; let shape: [Int]; let data: [UInt8] }
    private var entries: [Entry] = []
    /// The `__metadata__` map (omitted when empty).
    public var metadata: [String: String] = [:]

    public init() {}

    /// Adds a tensor; `dtype` is the safetensors name ("F32", "F16", "BF16", …), `data` its raw bytes.
    public mutating func addTensor(name: String, dtype: String, shape: [Int], data: [UInt8]) {
        entries.append(Entry(name: name, dtype: dtype, shape: shape, data: data))
    }

    /// Adds the tensor `info` of `file` with its bytes unchanged.
    public mutating func copyTensor(_ info: SafetensorsFile.TensorInfo, from file: SafetensorsFile) {
        addTensor(name: info.name, dtype: info.type.description, shape: info.shape, data: Array(file.bytes(of: info)))
    }

    /// The JSON header text (before padding).
    public func headerJSON() -> String {
        var members: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(Self.quoted($0.key)):\(Self.quoted($0.value))" }
            members.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for e in entries {
            let shape = e.shape.map(String.init).joined(separator: ",")
            members.append(
                "\(Self.quoted(e.name)):{\"dtype\":\(Self.quoted(e.dtype)),\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.data.count)]}")
            offset += e.data.count
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// The complete file.
    public func serialize() -> [UInt8] {
        var header = Array(headerJSON().utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + entries.reduce(0) { $0 + $1.data.count })
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for e in entries { out.append(contentsOf: e.data) }
        return out
    }

    /// A JSON string literal.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
