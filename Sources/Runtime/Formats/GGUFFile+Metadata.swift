/// Typed metadata access: each accessor throws a `FormatError` naming the key when it is missing
/// or has another type.
extension GGUFFile {
    /// The value stored under `key`, or nil.
    public func value(_ key: String) -> GGUFValue? { metadata[key] }

    /// A string value.
    public func string(_ key: String) throws -> String {
        let v = try required(key)
        guard let s = v.stringValue else { throw wrongType(key, v, "string") }
        return s
    }

    /// Any integer value that fits in `Int`.
    public func int(_ key: String) throws -> Int {
        let v = try required(key)
        guard let i = v.intValue else { throw wrongType(key, v, "integer") }
        return i
    }

    /// Any numeric value, as a Double.
    public func float(_ key: String) throws -> Double {
        let v = try required(key)
        guard let d = v.doubleValue else { throw wrongType(key, v, "number") }
        return d
    }

    /// A bool value.
    public func bool(_ key: String) throws -> Bool {
        let v = try required(key)
        guard let b = v.boolValue else { throw wrongType(key, v, "bool") }
        return b
    }

    /// An array of strings (e.g. `tokenizer.ggml.tokens`).
    public func stringArray(_ key: String) throws -> [String] {
        let v = try required(key)
        guard case .array(.string, let a) = v else { throw wrongType(key, v, "array of strings") }
        var result: [String] = []
        result.reserveCapacity(a.count)
        for element in a {
            guard case .string(let s) = element else { throw wrongType(key, v, "array of strings") }
            result.append(s)
        }
        return result
    }

    /// An array of any integer type whose elements fit in `Int`.
    public func intArray(_ key: String) throws -> [Int] {
        let v = try required(key)
        guard case .array(_, let a) = v else { throw wrongType(key, v, "array of integers") }
        var result: [Int] = []
        result.reserveCapacity(a.count)
        for element in a {
            guard let i = element.intValue else { throw wrongType(key, v, "array of integers") }
            result.append(i)
        }
        return result
    }

    /// An array of any numeric type, as Floats.
    public func floatArray(_ key: String) throws -> [Float] {
        let v = try required(key)
        guard case .array(_, let a) = v else { throw wrongType(key, v, "array of numbers") }
        var result: [Float] = []
        result.reserveCapacity(a.count)
        for element in a {
            guard let d = element.doubleValue else { throw wrongType(key, v, "array of numbers") }
            result.append(Float(d))
        }
        return result
    }

    private func required(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else {
            throw FormatError(file: file.path, offset: nil, message: "metadata key '\(key)' is missing")
        }
        return v
    }

    private func wrongType(_ key: String, _ v: GGUFValue, _ expected: String) -> FormatError {
        let found: String
        if case .array(let elementType, _) = v { found = "array of \(elementType)" } else { found = "\(v.type)" }
        return FormatError(file: file.path, offset: nil, message: "metadata key '\(key)' is \(found), expected \(expected)")
    }
}
