/// Expression parsing, loosest binding first (jinja2's precedence).
extension JinjaParser {
    mutating func parseExpression() throws -> JinjaExpression {
        try nested { try $0.parseConditional() }
    }

    private mutating func parseConditional() throws -> JinjaExpression {
        var value = try parseOr()
        while isName("if") {
            let location = advance().location
            let condition = try parseOr()
            let alternative = skipName("else") ? try parseExpression() : nil
            value = JinjaExpression(kind: .conditional(condition: condition, value: value, alternative: alternative),
                                    location: location)
        }
        return value
    }

    mutating func parseOr() throws -> JinjaExpression {
        var left = try parseAnd()
        while isName("or") {
            let location = advance().location
            left = JinjaExpression(kind: .binary(.or, left, try parseAnd()), location: location)
        }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpression {
        var left = try parseNot()
        while isName("and") {
            let location = advance().location
            left = JinjaExpression(kind: .binary(.and, left, try parseNot()), location: location)
        }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpression {
        if isName("not") {
            let location = advance().location
            return JinjaExpression(kind: .unary(.not, try nested { try $0.parseNot() }), location: location)
        }
        return try parseComparison()
    }

    static let comparisons: [String: JinjaBinaryOperator] = [
        "==": .equal, "!=": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
    ]

    /// Chained comparisons (`a < b < c`) mean `a < b and b < c`, as in Python.
    private mutating func parseComparison() throws -> JinjaExpression {
        let first = try parseAdditive()
        var result: JinjaExpression?
        var left = first
        while true {
            let location = current.location
            let op: JinjaBinaryOperator
            if case .symbol(let symbol) = current.kind, let comparison = Self.comparisons[symbol] {
                index += 1
                op = comparison
            } else if isName("in") {
                index += 1
                op = .contains
            } else if isName("not"), tokens[index + 1].kind == .name("in") {
                index += 2
                op = .notContains
            } else {
                break
            }
            let right = try parseAdditive()
            let comparison = JinjaExpression(kind: .binary(op, left, right), location: location)
            result = result.map { JinjaExpression(kind: .binary(.and, $0, comparison), location: location) } ?? comparison
            left = right
        }
        return result ?? first
    }

    private mutating func parseBinary(_ operators: [String: JinjaBinaryOperator],
                                      next: (inout JinjaParser) throws -> JinjaExpression) throws -> JinjaExpression {
        var left = try next(&self)
        while case .symbol(let symbol) = current.kind, let op = operators[symbol] {
            let location = advance().location
            left = JinjaExpression(kind: .binary(op, left, try next(&self)), location: location)
        }
        return left
    }

    private mutating func parseAdditive() throws -> JinjaExpression {
        try parseBinary(["+": .add, "-": .subtract]) { try $0.parseConcatenation() }
    }

    private mutating func parseConcatenation() throws -> JinjaExpression {
        try parseBinary(["~": .concatenate]) { try $0.parseMultiplicative() }
    }

    private mutating func parseMultiplicative() throws -> JinjaExpression {
        try parseBinary(["*": .multiply, "/": .divide, "//": .floorDivide, "%": .modulo]) { try $0.parsePower() }
    }

    private mutating func parsePower() throws -> JinjaExpression {
        try parseBinary(["**": .power]) { try $0.parseUnary(withFilters: true) }
    }

    private mutating func parseUnary(withFilters: Bool) throws -> JinjaExpression {
        var expression: JinjaExpression
        if isSymbol("-") || isSymbol("+") {
            let token = advance()
            let op: JinjaUnaryOperator = token.kind == .symbol("-") ? .negate : .plus
            let operand = try nested { try $0.parseUnary(withFilters: false) }
            expression = JinjaExpression(kind: .unary(op, operand), location: token.location)
        } else {
            expression = try parsePrimary()
        }
        expression = try parsePostfix(expression)
        return withFilters ? try parseFiltersAndTests(expression) : expression
    }

    private mutating func parsePrimary() throws -> JinjaExpression {
        let token = advance()
        let kind: JinjaExpressionKind
        switch token.kind {
        case .name(let name):
            switch name {
            case "true", "True": kind = .literal(.bool(true))
            case "false", "False": kind = .literal(.bool(false))
            case "none", "None": kind = .literal(.none)
            default: kind = .variable(name)
            }
        case .string(var value):
            while case .string(let next) = current.kind {  // adjacent literals concatenate
                value += next
                index += 1
            }
            kind = .literal(.string(value))
        case .integer(let value): kind = .literal(.int(value))
        case .float(let value): kind = .literal(.float(value))
        case .symbol("("):
            let items = try parseSequence(closing: ")")
            if items.count == 1 && !items.trailingComma { return items.values[0] }
            kind = .list(items.values)  // tuples behave like lists here
        case .symbol("["):
            kind = .list(try parseSequence(closing: "]").values)
        case .symbol("{"):
            var pairs: [(key: JinjaExpression, value: JinjaExpression)] = []
            while !skipSymbol("}") {
                if !pairs.isEmpty {
                    try expectSymbol(",")
                    if skipSymbol("}") { break }
                }
                let key = try parseExpression()
                try expectSymbol(":")
                pairs.append((key, try parseExpression()))
            }
            kind = .dictionary(pairs)
        default:
            index -= 1
            throw unexpected(expected: "an expression")
        }
        return JinjaExpression(kind: kind, location: token.location)
    }

    private mutating func parseSequence(closing: String) throws -> (values: [JinjaExpression], trailingComma: Bool, count: Int) {
        var values: [JinjaExpression] = []
        var trailingComma = false
        while !skipSymbol(closing) {
            if !values.isEmpty {
                try expectSymbol(",")
                trailingComma = true
                if skipSymbol(closing) { break }
            }
            values.append(try parseExpression())
            trailingComma = false
        }
        return (values, trailingComma, values.count)
    }

    private mutating func parsePostfix(_ base: JinjaExpression) throws -> JinjaExpression {
        var expression = base
        while true {
            let location = current.location
            if skipSymbol(".") {
                switch advance().kind {
                case .name(let name):
                    expression = JinjaExpression(kind: .attribute(expression, name: name), location: location)
                case .integer(let value):
                    let index = JinjaExpression(kind: .literal(.int(value)), location: location)
                    expression = JinjaExpression(kind: .subscript(expression, index: index), location: location)
                default:
                    index -= 1
                    throw unexpected(expected: "an attribute name after '.'")
                }
            } else if skipSymbol("[") {
                expression = try parseSubscript(expression, at: location)
            } else if isSymbol("(") {
                expression = JinjaExpression(kind: .call(expression, try parseCallArguments()), location: expression.location)
            } else {
                return expression
            }
        }
    }

    private mutating func parseSubscript(_ base: JinjaExpression, at location: SourceLocation) throws -> JinjaExpression {
        var parts: [JinjaExpression?] = [nil]
        var isSlice = false
        while !skipSymbol("]") {
            if skipSymbol(":") {
                isSlice = true
                parts.append(nil)
                guard parts.count <= 3 else { throw unexpected(expected: "']'") }
            } else {
                guard parts[parts.count - 1] == nil else { throw unexpected(expected: "':' or ']'") }
                parts[parts.count - 1] = try parseExpression()
            }
        }
        if isSlice {
            while parts.count < 3 { parts.append(nil) }
            return JinjaExpression(kind: .slice(base, start: parts[0], stop: parts[1], step: parts[2]), location: location)
        }
        guard let index = parts[0] else { throw ChatTemplateError.syntax("empty subscript", at: location) }
        return JinjaExpression(kind: .subscript(base, index: index), location: location)
    }

    mutating func parseCallArguments() throws -> JinjaArguments {
        try expectSymbol("(")
        var arguments = JinjaArguments()
        var first = true
        while !skipSymbol(")") {
            if !first {
                try expectSymbol(",")
                if skipSymbol(")") { break }
            }
            first = false
            if case .name(let name) = current.kind, tokens[index + 1].kind == .symbol("=") {
                index += 2
                arguments.keyword.append((name, try parseExpression()))
            } else {
                guard arguments.keyword.isEmpty else {
                    throw ChatTemplateError.syntax("positional argument after keyword argument", at: current.location)
                }
                arguments.positional.append(try parseExpression())
            }
        }
        return arguments
    }

    private mutating func parseFiltersAndTests(_ base: JinjaExpression) throws -> JinjaExpression {
        var expression = base
        while true {
            let location = current.location
            if skipSymbol("|") {
                var name = try expectName()
                while skipSymbol(".") { name += "." + (try expectName()) }
                let arguments = isSymbol("(") ? try parseCallArguments() : JinjaArguments()
                expression = JinjaExpression(kind: .filter(expression, name: name, arguments), location: location)
            } else if skipName("is") {
                let negated = skipName("not")
                let name = try expectName()
                var arguments = JinjaArguments()
                if isSymbol("(") {
                    arguments = try parseCallArguments()
                } else if startsTestArgument() {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                expression = JinjaExpression(kind: .test(expression, name: name, negated: negated, arguments),
                                             location: location)
            } else if isSymbol("(") {
                expression = JinjaExpression(kind: .call(expression, try parseCallArguments()), location: expression.location)
            } else {
                return expression
            }
        }
    }

    /// jinja2 lets a test take one argument without parentheses: `x is divisibleby 3`, `x is equalto 'a'`.
    private func startsTestArgument() -> Bool {
        switch current.kind {
        case .name(let name): return !["else", "or", "and", "if", "in", "is", "not"].contains(name)
        case .string, .integer, .float: return true
        case .symbol(let symbol): return symbol == "[" || symbol == "{"
        default: return false
        }
    }
}
