/// A JSON value parsed strictly from untrusted bytes (RFC 8259).
///
/// Used for the safetensors header and the JSON files of Hugging Face model folders. Unlike
/// Foundation's `JSONSerialization` it refuses duplicate object keys (two readers of one file must
/// never see different tensors), bounds nesting depth, keeps integers exact up to 64 bits, keeps object
/// keys in file order, and reports the byte offset of every error.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number, kept as its source text so integers stay exact (`intValue`, `doubleValue`).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in file order; keys are unique.
    case object([(key: String, value: JSONValue)])

    /// Nesting deeper than this is refused (no JSON file Sparrow reads comes close).
    public static let maxDepth = 64

    /// Parses a complete JSON text (surrounding whitespace allowed). Throws `FormatError` naming
    /// `file` and the absolute offset (`baseOffset` + index in `bytes`).
    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String, baseOffset: Int = 0) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes, file: file, baseOffset: baseOffset)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected data after the JSON value") }
        return value
    }

    /// Parses a JSON text held in an array.
    public static func parse(_ bytes: [UInt8], file: String) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0, file: file) }
    }

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The member `key` of an object, or nil (also for non-objects).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [(key: String, value: JSONValue)]? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// The exact integer value of a number written without fraction or exponent, nil otherwise or
    /// when it does not fit in an `Int`.
    public var intValue: Int? {
        guard case .number(let text) = self, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
        return Int(text)
    }

    /// The value of a number as a double (integers too).
    public var doubleValue: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }

    /// A short description of the kind of value, for error messages.
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a bool"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Recursive-descent parser over a byte buffer; every read is bounds-checked.
private struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let file: String
    let baseOffset: Int
    var index = 0

    init(bytes: UnsafeRawBufferPointer, file: String, baseOffset: Int) {
        self.bytes = bytes
        self.file = file
        self.baseOffset = baseOffset
    }

    func error(_ message: String, at position: Int? = nil) -> FormatError {
        FormatError(file: file, offset: baseOffset + (position ?? index), message: "invalid JSON: \(message)")
    }

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { index += 1 }
    }

    mutating func expect(_ literal: StaticString) throws {
        let start = index
        for i in 0..<literal.utf8CodeUnitCount {
            guard peek == literal.utf8Start[i] else { throw error("expected '\(literal)'", at: start) }
            index += 1
        }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard let c = peek else { throw error("unexpected end of the text") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character 0x\(String(c, radix: 16))")
        }
    }

    mutating func object(depth: Int) throws -> JSONValue {
        guard depth <= JSONValue.maxDepth else { throw error("nested deeper than \(JSONValue.maxDepth) levels") }
        index += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        var seen = Set<[UInt8]>()  // byte-exact: "\u{00C5}" and "\u{212B}" are different keys, as in serde_json
        skipWhitespace()
        if peek == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            let keyStart = index
            guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try string()
            guard seen.insert(Array(key.utf8)).inserted else { throw error("duplicate key '\(key)'", at: keyStart) }
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw error("expected ':' after key '\(key)'") }
            index += 1
            skipWhitespace()
            members.append((key, try value(depth: depth)))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(members)
            default: throw error(peek == nil ? "unexpected end of file in an object" : "expected ',' or '}' in an object")
            }
        }
    }

    mutating func array(depth: Int) throws -> JSONValue {
        guard depth <= JSONValue.maxDepth else { throw error("nested deeper than \(JSONValue.maxDepth) levels") }
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw error(peek == nil ? "unexpected end of file in an array" : "expected ',' or ']' in an array")
            }
        }
    }

    mutating func number() throws -> JSONValue {
        let start = index
        func digits() -> Int {
            let s = index
            while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { index += 1 }
            return index - s
        }
        if peek == UInt8(ascii: "-") { index += 1 }
        let intStart = index
        let n = digits()
        guard n > 0 else { throw error("a number needs digits", at: start) }
        guard n == 1 || bytes[intStart] != UInt8(ascii: "0") else { throw error("a number has a leading zero", at: start) }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw error("a number needs digits after '.'", at: start) }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw error("a number needs exponent digits", at: start) }
        }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw error("bad hex digit in a \\u escape")
            }
            v = v << 4 | UInt32(d)
            index += 1
        }
        return v
    }

    /// A string literal; the text must be valid UTF-8 and escapes must form valid scalars.
    mutating func string() throws -> String {
        let start = index
        index += 1  // "
        var out: [UInt8] = []
        var runStart = index
        while true {
            guard let c = peek else { throw error("unterminated string", at: start) }
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw error("control character in a string") }
            if c != UInt8(ascii: "\\") { index += 1; continue }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
            index += 1
            guard let e = peek else { throw error("unterminated string", at: start) }
            index += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard peek == UInt8(ascii: "\\") else { throw error("unpaired surrogate escape") }
                    index += 1
                    guard peek == UInt8(ascii: "u") else { throw error("unpaired surrogate escape") }
                    index += 1
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("escape is not a Unicode scalar") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw error("unknown escape '\\\(Character(Unicode.Scalar(e)))'")
            }
            runStart = index
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
        index += 1  // "
        guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8", at: start) }
        return s
    }
}
