import Foundation

/// Binary operators with Python semantics: `+` adds numbers and joins strings or lists, `/` is true
/// division, `//` and `%` floor toward negative infinity, `~` joins the string forms of both sides.
extension JinjaInterpreter {
    func binary(_ op: JinjaBinaryOperator, _ left: JinjaValue, _ right: JinjaValue,
                at location: SourceLocation) throws -> JinjaValue {
        func typeError() -> ChatTemplateError {
            if left == .undefined || right == .undefined {
                return .runtime("an operand of '\(op.rawValue)' is undefined (check the variable or key name, "
                                + "or guard it with `is defined`)", at: location)
            }
            return .runtime("unsupported operand types for '\(op.rawValue)': \(left.typeName) and \(right.typeName)",
                            at: location)
        }
        switch op {
        case .concatenate:
            return .string(left.pythonString + right.pythonString)
        case .equal:
            return .bool(left.isEqual(to: right))
        case .notEqual:
            return .bool(!left.isEqual(to: right))
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            let order: Int
            if let a = left.numericValue, let b = right.numericValue {
                order = a < b ? -1 : (a > b ? 1 : 0)
            } else if case .string(let a) = left, case .string(let b) = right {
                // Python compares strings by code point
                let (x, y) = (Array(a.unicodeScalars.map(\.value)), Array(b.unicodeScalars.map(\.value)))
                order = x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
            } else {
                throw typeError()
            }
            switch op {
            case .less: return .bool(order < 0)
            case .lessOrEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case .contains, .notContains:
            let found = try contains(right, left, at: location)
            return .bool(op == .contains ? found : !found)
        case .add:
            switch (left, right) {
            case (.string(let a), .string(let b)): return .string(a + b)
            case (.array(let a), .array(let b)): return .array(a + b)
            default: return try arithmetic(op, left, right, orThrow: typeError())
            }
        case .multiply:
            switch (left, right) {
            case (.string(let text), .int(let count)), (.int(let count), .string(let text)):
                return .string(String(repeating: text, count: max(0, min(count, Limits.maxOutputScalars / max(1, text.count)))))
            case (.array(let items), .int(let count)), (.int(let count), .array(let items)):
                return .array(Array([[JinjaValue]](repeating: items, count: max(0, min(count, Limits.maxRangeLength))).joined()))
            default: return try arithmetic(op, left, right, orThrow: typeError())
            }
        default:
            return try arithmetic(op, left, right, orThrow: typeError())
        }
    }

    private func arithmetic(_ op: JinjaBinaryOperator, _ left: JinjaValue, _ right: JinjaValue,
                            orThrow error: ChatTemplateError) throws -> JinjaValue {
        guard let a = left.numericValue, let b = right.numericValue else { throw error }
        let location = error.location
        if case .float = left {} else if case .float = right {} else if op != .divide,
            let x = left.integerIndex, let y = right.integerIndex {
            return try integerArithmetic(op, x, y, at: location)
        }
        switch op {
        case .add: return .float(a + b)
        case .subtract: return .float(a - b)
        case .multiply: return .float(a * b)
        case .power: return .float(Foundation.pow(a, b))
        case .divide, .floorDivide, .modulo:
            guard b != 0 else { throw ChatTemplateError.runtime("division by zero", at: location) }
            if op == .divide { return .float(a / b) }
            let quotient = (a / b).rounded(.down)
            return .float(op == .floorDivide ? quotient : a - quotient * b)
        default: throw error
        }
    }

    private func integerArithmetic(_ op: JinjaBinaryOperator, _ a: Int, _ b: Int, at location: SourceLocation) throws -> JinjaValue {
        let overflow = ChatTemplateError.runtime("integer overflow in '\(op.rawValue)'", at: location)
        switch op {
        case .add:
            let (value, overflowed) = a.addingReportingOverflow(b)
            if overflowed { throw overflow }
            return .int(value)
        case .subtract:
            let (value, overflowed) = a.subtractingReportingOverflow(b)
            if overflowed { throw overflow }
            return .int(value)
        case .multiply:
            let (value, overflowed) = a.multipliedReportingOverflow(by: b)
            if overflowed { throw overflow }
            return .int(value)
        case .floorDivide, .modulo:
            guard b != 0 else { throw ChatTemplateError.runtime("integer division or modulo by zero", at: location) }
            var quotient = a / b
            if (a % b != 0) && ((a < 0) != (b < 0)) { quotient -= 1 }
            return .int(op == .floorDivide ? quotient : a - quotient * b)
        case .power:
            if b < 0 { return .float(Foundation.pow(Double(a), Double(b))) }
            var (result, base, exponent) = (1, a, b)
            while exponent > 0 {
                if exponent & 1 == 1 {
                    let (value, overflowed) = result.multipliedReportingOverflow(by: base)
                    if overflowed { throw overflow }
                    result = value
                }
                exponent >>= 1
                if exponent > 0 {
                    let (square, overflowed) = base.multipliedReportingOverflow(by: base)
                    if overflowed { throw overflow }
                    base = square
                }
            }
            return .int(result)
        default:
            throw ChatTemplateError.runtime("unsupported integer operator '\(op.rawValue)'", at: location)
        }
    }

    /// Python `needle in container`: substring, list element, or dict key.
    func contains(_ container: JinjaValue, _ needle: JinjaValue, at location: SourceLocation) throws -> Bool {
        switch container {
        case .string(let text):
            guard case .string(let part) = needle else {
                throw ChatTemplateError.runtime("'in <string>' requires a string on the left, not \(needle.typeName)",
                                                at: location)
            }
            return part.isEmpty || text.contains(part)
        case .array(let items):
            return items.contains { $0.isEqual(to: needle) }
        case .object(let object), .namespace(let object):
            guard case .string(let key) = needle else { return false }
            return object[key] != nil
        case .undefined:
            return false
        default:
            throw ChatTemplateError.runtime("'in' needs a string, list or dict on the right, not \(container.typeName)",
                                            at: location)
        }
    }
}

extension ChatTemplateError {
    /// The source position the error points at.
    var location: SourceLocation {
        switch self {
        case let .syntax(_, line, column), let .runtime(_, line, column), let .raised(_, line, column):
            return SourceLocation(line: line, column: column)
        }
    }
}
