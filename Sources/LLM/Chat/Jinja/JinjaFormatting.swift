/// Text forms of values: Python's `str()` (what `{{ x }}` prints), Python's `repr()` (inside lists and
/// dicts), and JSON as Python's `json.dumps` writes it (what transformers' `tojson` filter produces).
extension JinjaValue {
    /// Python `str(value)`; undefined prints as the empty string.
    public var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let text): return text
        default: return pythonRepr
        }
    }

    /// Python `repr(value)`: `None`, `True`, `'text'`, `[1, 'a']`, `{'key': 'value'}`.
    public var pythonRepr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let value): return value ? "True" : "False"
        case .int(let value): return String(value)
        case .float(let value): return Self.pythonFloat(value)
        case .string(let text): return Self.pythonQuoted(text)
        case .array(let items): return "[" + items.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .object(let object):
            return "{" + object.pairs.map { Self.pythonQuoted($0.key) + ": " + $0.value.pythonRepr }.joined(separator: ", ") + "}"
        case .namespace(let object):
            return "<Namespace " + JinjaValue.object(object).pythonRepr + ">"
        }
    }

    /// Python's shortest round-trip float text (Swift's `description` uses the same rules).
    static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return value.description
    }

    private static func pythonQuoted(_ text: String) -> String {
        let quote: Unicode.Scalar = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var result = String.UnicodeScalarView([quote])
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": result.append(contentsOf: "\\n".unicodeScalars)
            case "\r": result.append(contentsOf: "\\r".unicodeScalars)
            case "\t": result.append(contentsOf: "\\t".unicodeScalars)
            case quote: result.append(contentsOf: ["\\", quote])
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result.append(contentsOf: ("\\x" + hex(scalar.value, width: 2)).unicodeScalars)
                } else {
                    result.append(scalar)
                }
            }
        }
        result.append(quote)
        return String(result)
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Options of Python's `json.dumps` that chat templates pass to `tojson`.
    struct JSONOptions {
        var indent: String?
        var itemSeparator: String
        var keySeparator: String
        var sortKeys = false
        var asciiOnly = false

        /// json.dumps defaults: `", "` and `": "`, or `","` and `": "` when indenting.
        init(indent: String?, separators: (String, String)? = nil, sortKeys: Bool = false, asciiOnly: Bool = false) {
            self.indent = indent
            (itemSeparator, keySeparator) = separators ?? (indent == nil ? ", " : ",", ": ")
            self.sortKeys = sortKeys
            self.asciiOnly = asciiOnly
        }
    }

    /// JSON text as Python's `json.dumps(value, ...)` writes it; nil for values JSON cannot hold
    /// (undefined, namespaces).
    func json(_ options: JSONOptions, level: Int = 0) -> String? {
        func newline(_ depth: Int) -> String {
            guard let indent = options.indent else { return "" }
            return "\n" + String(repeating: indent, count: depth)
        }
        switch self {
        case .undefined, .namespace: return nil
        case .none: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .float(let value):
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
            return value.description
        case .string(let text): return Self.jsonQuoted(text, asciiOnly: options.asciiOnly)
        case .array(let items):
            if items.isEmpty { return "[]" }
            var parts: [String] = []
            for item in items {
                guard let text = item.json(options, level: level + 1) else { return nil }
                parts.append(text)
            }
            return "[" + newline(level + 1) + parts.joined(separator: options.itemSeparator + newline(level + 1))
                + newline(level) + "]"
        case .object(let object):
            if object.isEmpty { return "{}" }
            var pairs = object.pairs
            if options.sortKeys { pairs.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } }
            var parts: [String] = []
            for pair in pairs {
                guard let text = pair.value.json(options, level: level + 1) else { return nil }
                parts.append(Self.jsonQuoted(pair.key, asciiOnly: options.asciiOnly) + options.keySeparator + text)
            }
            return "{" + newline(level + 1) + parts.joined(separator: options.itemSeparator + newline(level + 1))
                + newline(level) + "}"
        }
    }

    private static func jsonQuoted(_ text: String, asciiOnly: Bool) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            default:
                if scalar.value < 0x20 {
                    result += "\\u" + hex(scalar.value, width: 4)
                } else if asciiOnly && scalar.value > 0x7E {
                    for unit in String(scalar).utf16 { result += "\\u" + hex(UInt32(unit), width: 4) }
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
