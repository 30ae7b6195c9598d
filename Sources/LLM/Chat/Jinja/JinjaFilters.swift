import Foundation

/// jinja2's built-in filters and tests that chat templates use, with transformers' `tojson`
/// (no HTML escaping, non-ASCII kept, Python's separators).
extension JinjaInterpreter {
    func applyFilter(_ name: String, to value: JinjaValue, _ arguments: JinjaCallArguments,
                     at location: SourceLocation) throws -> JinjaValue {
        func text() -> String { value.pythonString }
        func stringArgument(_ position: Int, _ key: String, default fallback: String? = nil) throws -> String {
            switch arguments.value(position, key) {
            case .string(let string)?: return string
            case let other?:
                throw ChatTemplateError.runtime("filter '\(name)': argument '\(key)' must be a string, not \(other.typeName)", at: location)
            case nil:
                if let fallback { return fallback }
                throw ChatTemplateError.runtime("filter '\(name)' needs the argument '\(key)'", at: location)
            }
        }
        func flag(_ position: Int, _ key: String) -> Bool { arguments.value(position, key)?.isTruthy ?? false }

        switch name {
        case "trim":
            let chars = try arguments.value(0, "chars").map { _ in try stringArgument(0, "chars") }
            return .string(PythonString.strip(text(), chars))
        case "upper": return .string(text().uppercased())
        case "lower": return .string(text().lowercased())
        case "capitalize": return .string(PythonString.capitalize(text()))
        case "title": return .string(PythonString.titleFilter(text()))
        case "string": return .string(text())
        case "safe": return value
        case "escape", "e":
            var escaped = ""
            for character in text() {
                switch character {
                case "&": escaped += "&amp;"
                case "<": escaped += "&lt;"
                case ">": escaped += "&gt;"
                case "\"": escaped += "&#34;"
                case "'": escaped += "&#39;"
                default: escaped.append(character)
                }
            }
            return .string(escaped)
        case "length", "count":
            switch value {
            case .string(let string): return .int(string.unicodeScalars.count)
            case .array(let items): return .int(items.count)
            case .object(let object), .namespace(let object): return .int(object.count)
            case .undefined: return .int(0)
            default: throw ChatTemplateError.runtime("a \(value.typeName) has no length", at: location)
            }
        case "default", "d":
            let useDefault = value == .undefined || (flag(1, "boolean") && !value.isTruthy)
            return useDefault ? (arguments.value(0, "default_value") ?? .string("")) : value
        case "replace":
            let count = arguments.value(2, "count")?.integerIndex ?? -1
            return .string(PythonString.replace(text(), try stringArgument(0, "old"), try stringArgument(1, "new"), count: count))
        case "indent":
            let width = arguments.value(0, "width") ?? .int(4)
            let indentation = width.integerIndex.map { String(repeating: " ", count: max(0, $0)) } ?? width.pythonString
            return .string(PythonString.indent(text(), by: indentation, first: flag(1, "first"), blank: flag(2, "blank")))
        case "tojson":
            return .string(try toJSON(value, arguments, at: location))
        case "join":
            let separator = try stringArgument(0, "d", default: "")
            var items = try iterate(value, at: location)
            if let attribute = arguments.value(1, "attribute") {
                items = try items.map { try lookup(path: attribute, in: $0, at: location) }
            }
            return .string(items.map(\.pythonString).joined(separator: separator))
        case "first", "last":
            let items = try iterate(value, at: location)
            return (name == "first" ? items.first : items.last) ?? .undefined
        case "list":
            return .array(try iterate(value, at: location))
        case "reverse":
            if case .string(let string) = value { return .string(String(string.reversed())) }
            return .array(try iterate(value, at: location).reversed())
        case "unique":
            var seen: [JinjaValue] = []
            for item in try iterate(value, at: location) where !seen.contains(where: { $0.isEqual(to: item) }) {
                seen.append(item)
            }
            return .array(seen)
        case "items":
            switch value {
            case .object(let object), .namespace(let object): return .array(object.pairs.map { .array([.string($0.key), $0.value]) })
            case .undefined: return .array([])
            default: throw ChatTemplateError.runtime("filter 'items' needs a dict, not \(value.typeName)", at: location)
            }
        case "dictsort":
            guard case .object(let object) = value else {
                throw ChatTemplateError.runtime("filter 'dictsort' needs a dict, not \(value.typeName)", at: location)
            }
            let pairs = object.pairs.sorted { $0.key.lowercased() < $1.key.lowercased() }
            return .array(pairs.map { .array([.string($0.key), $0.value]) })
        case "int":
            let fallback = arguments.value(0, "default") ?? .int(0)
            switch value {
            case .int: return value
            case .bool(let flag): return .int(flag ? 1 : 0)
            case .float(let number): return number.isFinite ? .int(Int(number)) : fallback
            case .string(let string):
                let trimmed = PythonString.strip(string, nil).replacingOccurrences(of: "_", with: "")
                if let number = Int(trimmed) { return .int(number) }
                if let number = Double(trimmed), number.isFinite { return .int(Int(number)) }
                return fallback
            default: return fallback
            }
        case "float":
            let fallback = arguments.value(0, "default") ?? .float(0)
            if let number = value.numericValue { return .float(number) }
            if case .string(let string) = value, let number = Double(PythonString.strip(string, nil)) { return .float(number) }
            return fallback
        case "abs":
            switch value {
            case .int(let number): return .int(abs(number))
            case .float(let number): return .float(abs(number))
            default: throw ChatTemplateError.runtime("filter 'abs' needs a number, not \(value.typeName)", at: location)
            }
        case "round":
            guard let number = value.numericValue else {
                throw ChatTemplateError.runtime("filter 'round' needs a number, not \(value.typeName)", at: location)
            }
            let precision = arguments.value(0, "precision")?.integerIndex ?? 0
            let scale = Foundation.pow(10.0, Double(precision))
            return .float((number * scale).rounded(.toNearestOrAwayFromZero) / scale)
        case "selectattr", "rejectattr", "select", "reject":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var rest = arguments
            var attribute: JinjaValue?
            if byAttribute {
                guard !rest.positional.isEmpty else {
                    throw ChatTemplateError.runtime("filter '\(name)' needs an attribute name", at: location)
                }
                attribute = rest.positional.removeFirst()
            }
            let testName: String?
            if rest.positional.isEmpty {
                testName = nil
            } else if case .string(let test) = rest.positional.removeFirst() {
                testName = test
            } else {
                throw ChatTemplateError.runtime("filter '\(name)': the test name must be a string", at: location)
            }
            return .array(try iterate(value, at: location).filter { item in
                let subject = try attribute.map { try lookup(path: $0, in: item, at: location) } ?? item
                let passes = try testName.map { try applyTest($0, to: subject, rest, at: location) } ?? subject.isTruthy
                return passes == keep
            })
        case "map":
            let items = try iterate(value, at: location)
            if let attribute = arguments.named("attribute") {
                let fallback = arguments.named("default")
                return .array(try items.map {
                    let found = try lookup(path: attribute, in: $0, at: location)
                    return found == .undefined ? (fallback ?? found) : found
                })
            }
            guard case .string(let filter)? = arguments.positional.first else {
                throw ChatTemplateError.runtime("filter 'map' needs attribute= or a filter name", at: location)
            }
            var rest = arguments
            rest.positional.removeFirst()
            return .array(try items.map { try applyFilter(filter, to: $0, rest, at: location) })
        default:
            throw ChatTemplateError.runtime("unknown filter '\(name)'", at: location)
        }
    }

    /// `attribute` of `item`, where a string attribute may be a dotted path (`function.name`) and an
    /// integer picks a list element, as in jinja2's `attribute=` arguments.
    private func lookup(path: JinjaValue, in item: JinjaValue, at location: SourceLocation) throws -> JinjaValue {
        if case .int(let position) = path {
            guard case .array(let items) = item, items.indices.contains(position) else { return .undefined }
            return items[position]
        }
        var current = item
        for part in path.pythonString.split(separator: ".") {
            if current == .undefined { return .undefined }
            current = try attribute(String(part), of: current, at: location)
        }
        return current
    }

    private func toJSON(_ value: JinjaValue, _ arguments: JinjaCallArguments, at location: SourceLocation) throws -> String {
        var indent: String?
        switch arguments.value(0, "indent") {
        case .int(let width)?: indent = String(repeating: " ", count: max(0, width))
        case .string(let string)?: indent = string
        default: indent = nil
        }
        var separators: (String, String)?
        if case .array(let pair)? = arguments.named("separators"), pair.count == 2,
           case .string(let item) = pair[0], case .string(let key) = pair[1] {
            separators = (item, key)
        }
        let options = JinjaValue.JSONOptions(indent: indent, separators: separators,
                                             sortKeys: arguments.named("sort_keys")?.isTruthy ?? false,
                                             asciiOnly: arguments.named("ensure_ascii")?.isTruthy ?? false)
        guard let json = value.json(options) else {
            throw ChatTemplateError.runtime("tojson: a \(value.typeName) value (or one inside it) is not JSON-serialisable", at: location)
        }
        return json
    }

    func applyTest(_ name: String, to value: JinjaValue, _ arguments: JinjaCallArguments,
                   at location: SourceLocation) throws -> Bool {
        func operand() throws -> JinjaValue {
            guard let other = arguments.positional.first else {
                throw ChatTemplateError.runtime("test '\(name)' needs an argument", at: location)
            }
            return other
        }
        switch name {
        case "defined": return value != .undefined
        case "undefined": return value == .undefined
        case "none": return value == .none
        case "string": if case .string = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .float = value { return true } else { return false }
        case "number": return value.numericValue != nil
        case "mapping": if case .object = value { return true } else { return false }
        case "sequence", "iterable":
            switch value {
            case .string, .array, .object: return true
            default: return false
            }
        case "true": return value == .bool(true)
        case "false": return value == .bool(false)
        case "callable": return false
        case "lower": return value.pythonString == value.pythonString.lowercased()
        case "upper": return value.pythonString == value.pythonString.uppercased()
        case "odd", "even", "divisibleby":
            guard let number = value.integerIndex else {
                throw ChatTemplateError.runtime("test '\(name)' needs an integer, not \(value.typeName)", at: location)
            }
            if name == "odd" { return number % 2 != 0 }
            if name == "even" { return number % 2 == 0 }
            guard let divisor = try operand().integerIndex, divisor != 0 else {
                throw ChatTemplateError.runtime("test 'divisibleby' needs a non-zero integer", at: location)
            }
            return number % divisor == 0
        case "equalto", "eq", "==", "sameas": return value.isEqual(to: try operand())
        case "ne", "!=": return !value.isEqual(to: try operand())
        case "lt", "<", "le", "<=", "gt", ">", "ge", ">=":
            let symbols = ["lt": "<", "le": "<=", "gt": ">", "ge": ">="]
            let op = JinjaBinaryOperator(rawValue: symbols[name] ?? name) ?? .less
            return try binary(op, value, try operand(), at: location).isTruthy
        case "in": return try contains(try operand(), value, at: location)
        default:
            throw ChatTemplateError.runtime("unknown test '\(name)'", at: location)
        }
    }
}
