import ArgumentParser
import Foundation
import SparrowRuntime

/// `sparrow inspect FILE`: a GGUF file's metadata and tensor table.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a GGUF file's metadata and tensor table, or how a PNG from `sparrow imagine` was made.",
        discussion: "Arrays longer than \(arrayPreview) elements show their first \(arrayPreview) and their length; strings are cut at \(stringPreview) characters.")

    static let arrayPreview = 6
    static let stringPreview = 60

    @Argument(help: "A .gguf file, a model id from `sparrow models list`, or a .png (its text chunks: `parameters` from `sparrow imagine`).")
    var file: String

    @Flag(help: "Print JSON (metadata with array previews, and the tensor table) instead of text.")
    var json = false

    @Flag(help: "Leave out the tensor table.")
    var noTensors = false

    func run() throws {
        if file.lowercased().hasSuffix(".png") {
            try inspectPNG()
            return
        }
        let gguf = try GGUFFile(path: ModelStore.resolve(modelArgument: file))
        if json {
            try printJSON(gguf)
        } else {
            printText(gguf)
        }
    }

    /// A PNG's size and text chunks (`parameters`: prompt and settings of `sparrow imagine`).
    private func inspectPNG() throws {
        let png = try PNGImage(contentsOf: file)
        if json {
            let report: [String: String] = png.text.merging(["file": file, "size": "\(png.width)x\(png.height)"]) { a, _ in a }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("file:       \(file)")
        print("size:       \(png.width)×\(png.height), \(png.layout)")
        guard !png.text.isEmpty else {
            print("no text chunks (not made by sparrow imagine, or written without its parameters)")
            return
        }
        for key in png.text.keys.sorted() {
            print("\n\(key):")
            for line in png.text[key]!.split(separator: "\n", omittingEmptySubsequences: false) { print("  " + line) }
        }
    }

    private func printText(_ gguf: GGUFFile) {
        let tensorBytes = gguf.tensors.reduce(0) { $0 + $1.byteCount }
        print("file:       \(gguf.path)")
        print("size:       \(gguf.file.count) bytes")
        print("version:    GGUF v\(gguf.version), alignment \(gguf.alignment), data at offset \(gguf.dataOffset)")
        print("tensors:    \(gguf.tensors.count), \(tensorBytes) bytes (\(typeCounts(gguf)))")
        print("\nmetadata (\(gguf.metadataKeys.count) keys):")
        let rows = gguf.metadataKeys.enumerated().compactMap { i, key -> [String]? in
            guard let value = gguf.metadata[key] else { return nil }
            return ["\(i + 1)", typeName(value), countText(value), "\(key) = \(preview(value))"]
        }
        printTable(header: ["#", "TYPE", "COUNT", "KEY = VALUE"], rows: rows, rightAligned: [0, 2])
        guard !noTensors else { return }
        print("\ntensors:")
        let tensorRows = gguf.tensors.enumerated().map { i, t in
            ["\(i + 1)", t.name, "\(t.type)", t.dimensions.map(String.init).joined(separator: " x "), "\(t.byteCount)", "\(t.offset)"]
        }
        printTable(header: ["#", "NAME", "TYPE", "DIMENSIONS", "BYTES", "OFFSET"], rows: tensorRows, rightAligned: [0, 4, 5])
    }

    private func printJSON(_ gguf: GGUFFile) throws {
        let metadata = gguf.metadataKeys.compactMap { key -> MetadataJSON? in
            guard let value = gguf.metadata[key] else { return nil }
            var count: Int?
            var elementType: String?
            if case .array(let type, let elements) = value {
                count = elements.count
                elementType = "\(type)"
            }
            return MetadataJSON(key: key, type: "\(value.type)", elementType: elementType, count: count, value: jsonValue(value))
        }
        let tensors = noTensors ? nil : gguf.tensors.map {
            TensorJSON(name: $0.name, type: "\($0.type)", dimensions: $0.dimensions, bytes: $0.byteCount, offset: $0.offset)
        }
        let report = ReportJSON(file: gguf.path, bytes: gguf.file.count, version: Int(gguf.version), alignment: gguf.alignment,
                                dataOffset: gguf.dataOffset, metadata: metadata, tensors: tensors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }

    // MARK: Formatting

    private func typeCounts(_ gguf: GGUFFile) -> String {
        var counts: [String: Int] = [:]
        for t in gguf.tensors { counts["\(t.type)", default: 0] += 1 }
        return counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    }

    /// `uint32`, or `[string]` for an array of strings (nested arrays nest the brackets).
    private func typeName(_ value: GGUFValue) -> String {
        guard case .array(let type, let elements) = value else { return "\(value.type)" }
        if type == .array, let first = elements.first { return "[" + typeName(first) + "]" }
        return "[\(type)]"
    }

    private func countText(_ value: GGUFValue) -> String {
        if case .array(_, let elements) = value { return "\(elements.count)" }
        return "1"
    }

    /// A one-line rendering: strings quoted and cut, arrays cut to their first elements.
    private func preview(_ value: GGUFValue) -> String {
        switch value {
        case .string(let s): return quoted(s)
        case .array(_, let elements):
            let shown = elements.prefix(Self.arrayPreview).map(preview)
            return "[" + shown.joined(separator: ", ") + (elements.count > Self.arrayPreview ? ", …" : "") + "]"
        case .bool(let b): return b ? "true" : "false"
        case .float32(let f): return "\(f)"
        case .float64(let d): return "\(d)"
        default: return value.intValue.map(String.init) ?? "\(value)"
        }
    }

    private func quoted(_ s: String) -> String {
        let cut = s.count > Self.stringPreview ? String(s.prefix(Self.stringPreview - 1)) + "…" : s
        var out = "\""
        for scalar in cut.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private func jsonValue(_ value: GGUFValue) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .float32(let f): return Double(f).isFinite ? .number(Double(f)) : .string("\(f)")
        case .float64(let d): return d.isFinite ? .number(d) : .string("\(d)")
        case .uint64(let v): return v <= UInt64(1 << 53) ? .number(Double(v)) : .string("\(v)")
        case .int64(let v): return abs(v) <= Int64(1 << 53) ? .number(Double(v)) : .string("\(v)")
        case .array(_, let elements): return .array(elements.prefix(Self.arrayPreview).map(jsonValue))
        default: return .number(Double(value.intValue ?? 0))
        }
    }
}

private struct ReportJSON: Encodable {
    let file: String
    let bytes, version, alignment, dataOffset: Int
    let metadata: [MetadataJSON]
    let tensors: [TensorJSON]?
}

/// One metadata key; for arrays, `value` holds the first elements and `count` the full length.
private struct MetadataJSON: Encodable {
    let key, type: String
    let elementType: String?
    let count: Int?
    let value: JSONValue
}

private struct TensorJSON: Encodable {
    let name, type: String
    let dimensions: [Int]
    let bytes, offset: Int
}

private enum JSONValue: Encodable {
    case string(String), number(Double), bool(Bool), array([JSONValue])

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .number(let d):
            if d == d.rounded(), abs(d) < 1e15 { try c.encode(Int64(d)) } else { try c.encode(d) }
        }
    }
}
