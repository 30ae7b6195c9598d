import SparrowRuntime

/// A diffusers / transformers `config.json`, read through the runtime's hardened JSON parser, with typed
/// accessors whose errors name the file and the key. Unknown keys are ignored (configs carry many
/// that do not affect inference); a missing key takes the default the reference implementation uses.
public struct ConfigurationFile: Sendable {
    public let path: String
    public let json: JSONValue

    /// Larger config files are not configs.
    public static let maximumBytes = 4 << 20

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        guard file.count <= Self.maximumBytes else {
            throw FormatError(file: path, offset: nil, message: "is \(file.count) bytes; a config.json is far smaller — is this the right file?")
        }
        let json = try JSONValue.parse(UnsafeRawBufferPointer(start: file.base, count: file.count), file: path)
        guard json.objectValue != nil else {
            throw FormatError(file: path, offset: 0, message: "is not a JSON object")
        }
        self.init(path: path, json: json)
    }

    public init(path: String, json: JSONValue) {
        self.path = path
        self.json = json
    }

    /// The value of `key` unless absent or null.
    public func value(_ key: String) -> JSONValue? {
        guard let v = json[key], !v.isNull else { return nil }
        return v
    }

    public func int(_ key: String, default fallback: Int) throws -> Int {
        guard let v = value(key) else { return fallback }
        guard let i = v.intValue else { throw wrongType(key, "an integer", v) }
        return i
    }

    public func int(_ key: String) throws -> Int {
        guard let v = value(key) else { throw missing(key) }
        guard let i = v.intValue else { throw wrongType(key, "an integer", v) }
        return i
    }

    public func double(_ key: String, default fallback: Double) throws -> Double {
        guard let v = value(key) else { return fallback }
        guard let d = v.doubleValue else { throw wrongType(key, "a number", v) }
        return d
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let v = value(key) else { return fallback }
        guard let b = v.boolValue else { throw wrongType(key, "true or false", v) }
        return b
    }

    public func string(_ key: String, default fallback: String) throws -> String {
        guard let v = value(key) else { return fallback }
        guard let s = v.stringValue else { throw wrongType(key, "a string", v) }
        return s
    }

    /// A list of integers; a single integer stands for `count` copies of itself (diffusers accepts
    /// both for per-block settings such as `attention_head_dim`).
    public func ints(_ key: String, count: Int? = nil, default fallback: [Int]) throws -> [Int] {
        guard let v = value(key) else { return fallback }
        if let i = v.intValue, let count { return Array(repeating: i, count: count) }
        guard let items = v.arrayValue else { throw wrongType(key, "a list of integers", v) }
        let values = items.compactMap(\.intValue)
        guard values.count == items.count else { throw wrongType(key, "a list of integers", v) }
        if let count, values.count != count {
            throw FormatError(file: path, offset: nil, message: "'\(key)' has \(values.count) entries, expected \(count)")
        }
        return values
    }

    public func strings(_ key: String, default fallback: [String]) throws -> [String] {
        guard let v = value(key) else { return fallback }
        guard let items = v.arrayValue else { throw wrongType(key, "a list of strings", v) }
        let values = items.compactMap(\.stringValue)
        guard values.count == items.count else { throw wrongType(key, "a list of strings", v) }
        return values
    }

    /// A string key mapped onto an enum by raw value, listing the accepted values when it does not match.
    public func enumeration<T: RawRepresentable & Sendable>(_ key: String, default fallback: T) throws -> T where T.RawValue == String {
        guard let v = value(key) else { return fallback }
        guard let s = v.stringValue else { throw wrongType(key, "a string", v) }
        guard let e = T(rawValue: s) else {
            throw FormatError(file: path, offset: nil, message: "'\(key)' is \"\(s)\", which Sparrow does not support")
        }
        return e
    }

    /// Throws a FormatError with `message` unless `condition` holds.
    public func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        guard condition else { throw FormatError(file: path, offset: nil, message: message()) }
    }

    private func missing(_ key: String) -> FormatError {
        FormatError(file: path, offset: nil, message: "'\(key)' is missing")
    }

    private func wrongType(_ key: String, _ expected: String, _ found: JSONValue) -> FormatError {
        FormatError(file: path, offset: nil, message: "'\(key)' should be \(expected), found \(found.kind)")
    }
}
