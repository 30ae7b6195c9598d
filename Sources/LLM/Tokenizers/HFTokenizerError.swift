import SparrowRuntime
import Foundation

/// Why a Hugging Face tokenizer (`tokenizer.json`, `tokenizer_config.json`, or a model folder) could
/// not be read. Every case names the file and the JSON field (a path such as `model.merges[12]`) and
/// says what to do.
public enum HFTokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(file: String, reason: String)
    /// The file is not valid JSON; `offset` is the byte where parsing stopped.
    case malformedJSON(file: String, offset: Int, reason: String)
    /// A required field is absent.
    case missingField(file: String, field: String)
    /// A field holds a value of the wrong type.
    case wrongType(file: String, field: String, expected: String, found: String)
    /// A field's value is well-formed but not something this runtime implements.
    case unsupported(file: String, field: String, value: String, supported: [String])
    /// A field's value is inconsistent (duplicate token, id out of range, …).
    case invalid(file: String, field: String, reason: String)
    /// A model folder has neither `tokenizer.json` nor `tokenizer.model`.
    case noTokenizer(folder: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read the file (\(reason)); check the path and permissions"
        case let .malformedJSON(file, offset, reason):
            return "\(file): not valid JSON at byte \(offset) (\(reason)); the file is truncated or corrupt, download it again"
        case let .missingField(file, field):
            return "\(file): required field '\(field)' is missing; the file is incomplete or not a Hugging Face tokenizer file"
        case let .wrongType(file, field, expected, found):
            return "\(file): field '\(field)' must be \(expected) but is \(found); the file is corrupt or from an incompatible writer"
        case let .unsupported(file, field, value, supported):
            return "\(file): field '\(field)' = \(value) is not supported (supported: \(supported.joined(separator: ", "))); use a model whose tokenizer is one of these"
        case let .invalid(file, field, reason):
            return "\(file): field '\(field)' is invalid: \(reason); fix or re-download the file"
        case let .noTokenizer(folder):
            return "\(folder): no tokenizer.json or tokenizer.model in the model folder; download the model's tokenizer files next to its weights"
        }
    }
}

/// Typed access to the fields of a parsed JSON file, throwing `HFTokenizerError` that names the
/// file and the field's path.
struct JSONFields {
    let file: String

    /// Reads and parses a JSON file.
    static func load(_ path: String) throws -> JSONValue {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw HFTokenizerError.unreadable(file: path, reason: "\(error)")
        }
        do {
            return try JSONValue.parse(bytes, file: path)
        } catch let e as FormatError {
            // The description already says "not valid JSON"; drop the parser's own prefix.
            let reason = e.message.hasPrefix("invalid JSON: ") ? String(e.message.dropFirst("invalid JSON: ".count)) : e.message
            throw HFTokenizerError.malformedJSON(file: path, offset: e.offset ?? 0, reason: reason)
        }
    }

    func wrongType(_ field: String, _ expected: String, _ value: JSONValue) -> HFTokenizerError {
        .wrongType(file: file, field: field, expected: expected, found: value.kind)
    }

    /// The member `key` of `object` (nil if absent or JSON null).
    func optional(_ object: JSONValue, _ key: String, at path: String) throws -> JSONValue? {
        guard case .object = object else { throw wrongType(path, "an object", object) }
        guard let value = object[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func required(_ object: JSONValue, _ key: String, at path: String) throws -> JSONValue {
        guard let value = try optional(object, key, at: path) else {
            throw HFTokenizerError.missingField(file: file, field: Self.join(path, key))
        }
        return value
    }

    func string(_ object: JSONValue, _ key: String, at path: String) throws -> String? {
        guard let value = try optional(object, key, at: path) else { return nil }
        guard case .string(let s) = value else { throw wrongType(Self.join(path, key), "a string", value) }
        return s
    }

    func bool(_ object: JSONValue, _ key: String, at path: String) throws -> Bool? {
        guard let value = try optional(object, key, at: path) else { return nil }
        guard case .bool(let b) = value else { throw wrongType(Self.join(path, key), "true or false", value) }
        return b
    }

    func array(_ object: JSONValue, _ key: String, at path: String) throws -> [JSONValue]? {
        guard let value = try optional(object, key, at: path) else { return nil }
        guard case .array(let a) = value else { throw wrongType(Self.join(path, key), "an array", value) }
        return a
    }

    /// A non-negative integer that fits Int32 (token ids, counts).
    func tokenIndex(_ value: JSONValue, at path: String) throws -> Int {
        guard let v = value.intValue, v >= 0, v < Int(Int32.max) else {
            throw wrongType(path, "a non-negative integer below 2^31", value)
        }
        return v
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
