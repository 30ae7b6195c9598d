/// A value inside a Jinja template: what variables hold and expressions produce.
///
/// Mirrors the Python values a Hugging Face chat template sees: `None`, booleans, integers, floats,
/// strings, lists and dicts (keys keep insertion order, as in Python), plus Jinja's own `undefined`
/// (a name or key that does not exist) and `namespace()` objects (the only values a template may mutate).
public enum JinjaValue: Sendable, Equatable {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case array([JinjaValue])
    case object(JinjaObject)
    /// A `namespace(...)` object; `{% set ns.key = value %}` writes into it.
    case namespace(JinjaObject)

    /// Python truthiness: empty strings, lists and dicts, zero, `None` and undefined are false.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let value): return value
        case .int(let value): return value != 0
        case .float(let value): return value != 0
        case .string(let value): return !value.isEmpty
        case .array(let value): return !value.isEmpty
        case .object(let value): return !value.isEmpty
        case .namespace: return true
        }
    }

    /// The Python type name, used in error messages.
    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "none"
        case .bool: return "boolean"
        case .int: return "integer"
        case .float: return "float"
        case .string: return "string"
        case .array: return "list"
        case .object: return "dict"
        case .namespace: return "namespace"
        }
    }

    /// The number as a Double when the value is numeric (booleans count, as in Python).
    var numericValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .float(let value): return value
        case .bool(let value): return value ? 1 : 0
        default: return nil
        }
    }

    /// Python `==`: numbers compare by value across int/float/bool, dicts ignore key order.
    func isEqual(to other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isEqual(to: $1) }
        case (.object(let a), .object(let b)), (.namespace(let a), .namespace(let b)):
            return a.count == b.count && a.keys.allSatisfy { key in
                guard let left = a[key], let right = b[key] else { return false }
                return left.isEqual(to: right)
            }
        case (.int(let a), .int(let b)): return a == b
        default:
            if let a = numericValue, let b = other.numericValue { return a == b }
            return false
        }
    }
}

extension JinjaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JinjaValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JinjaValue)...) { self = .object(JinjaObject(elements)) }
    public init(nilLiteral: ()) { self = .none }
}

/// A string-keyed dictionary that remembers insertion order (Python `dict` semantics).
public struct JinjaObject: Sendable, Equatable {
    /// Keys in insertion order.
    public private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]

    /// An empty object.
    public init() {}

    /// An object from key/value pairs; a repeated key keeps its first position and last value.
    public init(_ pairs: [(String, JinjaValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// The value for `key`, or nil; assigning nil removes the key.
    public subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Key/value pairs in insertion order.
    public var pairs: [(key: String, value: JinjaValue)] {
        keys.map { ($0, storage[$0] ?? .undefined) }
    }
}
