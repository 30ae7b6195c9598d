import Foundation

/// Methods callable on values (`text.strip()`, `message.get('content')`, `d.items()`) and the global
/// functions transformers gives chat templates: `range`, `namespace`, `dict`, `raise_exception`,
/// `strftime_now`.
extension JinjaInterpreter {
    func callMethod(_ name: String, on value: JinjaValue, _ arguments: JinjaCallArguments,
                    at location: SourceLocation) throws -> JinjaValue {
        func stringArgument(_ position: Int) throws -> String? {
            guard position < arguments.positional.count else { return nil }
            switch arguments.positional[position] {
            case .string(let string): return string
            case .none: return nil
            case let other:
                throw ChatTemplateError.runtime("\(name)() argument \(position + 1) must be a string, not \(other.typeName)", at: location)
            }
        }
        switch value {
        case .string(let text):
            switch name {
            case "strip": return .string(PythonString.strip(text, try stringArgument(0)))
            case "lstrip": return .string(PythonString.strip(text, try stringArgument(0), trailing: false))
            case "rstrip": return .string(PythonString.strip(text, try stringArgument(0), leading: false))
            case "lower": return .string(text.lowercased())
            case "upper": return .string(text.uppercased())
            case "title": return .string(PythonString.title(text))
            case "capitalize": return .string(PythonString.capitalize(text))
            case "split":
                let maxSplit = arguments.value(1, "maxsplit")?.integerIndex ?? -1
                let separator: String?
                switch arguments.value(0, "sep") {
                case .string(let string)?: separator = string
                case nil, .none?: separator = nil
                case let other?: throw ChatTemplateError.runtime("split() separator must be a string, not \(other.typeName)", at: location)
                }
                guard let parts = PythonString.split(text, separator: separator, maxSplit: maxSplit) else {
                    throw ChatTemplateError.runtime("split() separator is empty", at: location)
                }
                return .array(parts.map { .string($0) })
            case "splitlines":
                var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { JinjaValue.string(String($0)) }
                if text.hasSuffix("\n") || text.isEmpty { lines.removeLast() }
                return .array(lines)
            case "startswith", "endswith":
                let candidates: [JinjaValue]
                switch arguments.positional.first {
                case .array(let items)?: candidates = items
                case let single?: candidates = [single]
                case nil: throw ChatTemplateError.runtime("\(name)() needs an argument", at: location)
                }
                for candidate in candidates {
                    guard case .string(let affix) = candidate else {
                        throw ChatTemplateError.runtime("\(name)() arguments must be strings", at: location)
                    }
                    let (whole, part) = (Array(text.unicodeScalars), Array(affix.unicodeScalars))
                    let matches = name == "startswith" ? whole.starts(with: part) : whole.reversed().starts(with: part.reversed())
                    if matches { return .bool(true) }
                }
                return .bool(false)
            case "replace":
                guard let old = try stringArgument(0), let new = try stringArgument(1) else {
                    throw ChatTemplateError.runtime("replace() needs two strings", at: location)
                }
                return .string(PythonString.replace(text, old, new, count: arguments.value(2, "count")?.integerIndex ?? -1))
            case "find":
                guard let needle = try stringArgument(0) else { throw ChatTemplateError.runtime("find() needs a string", at: location) }
                return .int(PythonString.find(Array(needle.unicodeScalars), in: Array(text.unicodeScalars)) ?? -1)
            case "count":
                guard let needle = try stringArgument(0) else { throw ChatTemplateError.runtime("count() needs a string", at: location) }
                return .int(PythonString.count(text, needle))
            case "join":
                guard let items = arguments.positional.first else { throw ChatTemplateError.runtime("join() needs a list", at: location) }
                return .string(try iterate(items, at: location).map(\.pythonString).joined(separator: text))
            case "isdigit": return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal })
            case "isalpha": return .bool(!text.isEmpty && text.allSatisfy(\.isLetter))
            case "isspace": return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy(PythonString.isWhitespace))
            case "islower": return .bool(text.contains(where: \.isLetter) && text == text.lowercased())
            case "isupper": return .bool(text.contains(where: \.isLetter) && text == text.uppercased())
            default: break
            }
        case .object(let object), .namespace(let object):
            switch name {
            case "items": return .array(object.pairs.map { .array([.string($0.key), $0.value]) })
            case "keys": return .array(object.keys.map { .string($0) })
            case "values": return .array(object.pairs.map(\.value))
            case "get":
                guard case .string(let key)? = arguments.positional.first else {
                    throw ChatTemplateError.runtime("get() needs a string key", at: location)
                }
                return object[key] ?? arguments.value(1, "default") ?? .none
            default: break
            }
        case .undefined:
            throw ChatTemplateError.runtime("cannot call '\(name)()' on an undefined value", at: location)
        default:
            break
        }
        throw ChatTemplateError.runtime("a \(value.typeName) has no method '\(name)'", at: location)
    }

    func callGlobalFunction(_ name: String, _ arguments: JinjaCallArguments,
                            at location: SourceLocation) throws -> JinjaValue {
        switch name {
        case "raise_exception":
            let message = arguments.positional.first?.pythonString ?? "raise_exception() was called"
            throw ChatTemplateError.raised(message: message, line: location.line, column: location.column)
        case "range":
            let numbers = arguments.positional.map(\.integerIndex)
            let bounds = numbers.compactMap { $0 }
            guard !numbers.isEmpty, numbers.count <= 3, bounds.count == numbers.count else {
                throw ChatTemplateError.runtime("range() takes one to three integers", at: location)
            }
            let (start, stop, step) = bounds.count == 1 ? (0, bounds[0], 1) : (bounds[0], bounds[1], bounds.count == 3 ? bounds[2] : 1)
            guard step != 0 else { throw ChatTemplateError.runtime("range() step must not be zero", at: location) }
            let values = stride(from: start, to: stop, by: step)
            guard values.underestimatedCount <= Limits.maxRangeLength else {
                throw ChatTemplateError.runtime("range() is longer than \(Limits.maxRangeLength) items", at: location)
            }
            return .array(values.map { .int($0) })
        case "namespace", "dict":
            var object = JinjaObject()
            if case .object(let initial)? = arguments.positional.first { object = initial }
            for (key, value) in arguments.keyword { object[key] = value }
            return name == "namespace" ? .namespace(object) : .object(object)
        case "strftime_now":
            guard case .string(let format)? = arguments.positional.first else {
                throw ChatTemplateError.runtime("strftime_now() needs a format string", at: location)
            }
            return .string(try Self.strftime(format, date: Date(), at: location))
        default:
            throw ChatTemplateError.runtime("unknown function '\(name)'", at: location)
        }
    }

    /// Python `datetime.now().strftime(format)` for the directives chat templates use, in the local time zone.
    static func strftime(_ format: String, date: Date, at location: SourceLocation) throws -> String {
        let calendar = Calendar(identifier: .gregorian)
        let parts = calendar.dateComponents(in: TimeZone.current, from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        func padded(_ value: Int?, _ width: Int = 2) -> String {
            let digits = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var result = ""
        var iterator = format.makeIterator()
        while let character = iterator.next() {
            guard character == "%" else {
                result.append(character)
                continue
            }
            guard let directive = iterator.next() else { break }
            let month = months[max(0, min(11, (parts.month ?? 1) - 1))]
            let day = days[max(0, min(6, (parts.weekday ?? 1) - 1))]
            switch directive {
            case "Y": result += String(parts.year ?? 0)
            case "y": result += padded((parts.year ?? 0) % 100)
            case "m": result += padded(parts.month)
            case "d": result += padded(parts.day)
            case "-": // %-d, %-m: no padding (glibc)
                guard let next = iterator.next() else { break }
                switch next {
                case "d": result += String(parts.day ?? 0)
                case "m": result += String(parts.month ?? 0)
                default: throw ChatTemplateError.runtime("strftime_now: unsupported directive %-\(next)", at: location)
                }
            case "H": result += padded(parts.hour)
            case "M": result += padded(parts.minute)
            case "S": result += padded(parts.second)
            case "B": result += month
            case "b": result += String(month.prefix(3))
            case "A": result += day
            case "a": result += String(day.prefix(3))
            case "%": result += "%"
            default: throw ChatTemplateError.runtime("strftime_now: unsupported directive %\(directive)", at: location)
            }
        }
        return result
    }
}
