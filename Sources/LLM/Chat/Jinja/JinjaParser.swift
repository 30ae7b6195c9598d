/// Recursive-descent parser from tokens to statements, with jinja2's operator precedence (loosest
/// first): `x if c else y`, `or`, `and`, `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`,
/// unary `- +`, then primaries with `.attr`, `[index]`, `[a:b]`, calls, `| filter` and `is test`.
struct JinjaParser {
    private let tokens: [JinjaToken]
    private var index = 0

    init(tokens: [JinjaToken]) {
        self.tokens = tokens
    }

    /// Parses a whole template.
    mutating func parseTemplate() throws -> [JinjaStatement] {
        let (body, end) = try parseBody(until: [])
        precondition(end == nil)
        return body
    }

    // MARK: - Token helpers

    private var current: JinjaToken { tokens[index] }

    private mutating func advance() -> JinjaToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }
    private func isName(_ name: String) -> Bool { current.kind == .name(name) }

    private mutating func skipSymbol(_ symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        index += 1
        return true
    }

    private mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        index += 1
        return true
    }

    private func describe(_ kind: JinjaTokenKind) -> String {
        switch kind {
        case .text: return "template text"
        case .expressionOpen: return "'{{'"
        case .expressionClose: return "'}}'"
        case .statementOpen: return "'{%'"
        case .statementClose: return "'%}'"
        case .name(let name): return "'\(name)'"
        case .string: return "a string"
        case .integer(let value): return "'\(value)'"
        case .float(let value): return "'\(value)'"
        case .symbol(let symbol): return "'\(symbol)'"
        case .end: return "the end of the template"
        }
    }

    private func unexpected(expected: String) -> ChatTemplateError {
        .syntax("expected \(expected), found \(describe(current.kind))", at: current.location)
    }

    private mutating func expectSymbol(_ symbol: String) throws {
        guard skipSymbol(symbol) else { throw unexpected(expected: "'\(symbol)'") }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let name) = current.kind else { throw unexpected(expected: "a name") }
        index += 1
        return name
    }

    private mutating func expectStatementClose() throws {
        guard current.kind == .statementClose else { throw unexpected(expected: "'%}'") }
        index += 1
    }

    // MARK: - Statements

    /// Parses statements until one of the `until` block tags (`{% endfor %}`, `{% else %}`, …); returns
    /// the body and the tag name found (with the parser just after the tag name), or nil at the end.
    private mutating func parseBody(until endTags: Set<String>) throws -> ([JinjaStatement], String?) {
        var body: [JinjaStatement] = []
        while true {
            let token = advance()
            switch token.kind {
            case .text(let text):
                body.append(.text(text))
            case .expressionOpen:
                let expression = try parseExpression()
                guard current.kind == .expressionClose else { throw unexpected(expected: "'}}'") }
                index += 1
                body.append(.output(expression))
            case .statementOpen:
                let nameToken = current
                let keyword = try expectName()
                if endTags.contains(keyword) { return (body, keyword) }
                body.append(contentsOf: try parseStatement(keyword, at: nameToken.location))
            case .end:
                if !endTags.isEmpty {
                    let expected = endTags.sorted().map { "{% \($0) %}" }.joined(separator: " or ")
                    throw ChatTemplateError.syntax("unexpected end of template: missing \(expected)", at: token.location)
                }
                return (body, nil)
            default:
                throw ChatTemplateError.syntax("unexpected \(describe(token.kind))", at: token.location)
            }
        }
    }

    private mutating func parseStatement(_ keyword: String, at location: SourceLocation) throws -> [JinjaStatement] {
        switch keyword {
        case "if": return [try parseIf()]
        case "for": return [try parseFor(at: location)]
        case "set": return [try parseSet(at: location)]
        case "macro": return [try parseMacro()]
        case "filter":
            let name = try expectName()
            let arguments = isSymbol("(") ? try parseCallArguments() : JinjaArguments()
            try expectStatementClose()
            let (body, _) = try parseBody(until: ["endfilter"])
            try expectStatementClose()
            return [.filterBlock(name: name, arguments, body: body, location: location)]
        case "generation":
            // transformers' `{% generation %}` marks assistant text for training masks; it renders its body.
            try expectStatementClose()
            let (body, _) = try parseBody(until: ["endgeneration"])
            try expectStatementClose()
            return body
        case "break", "continue":
            try expectStatementClose()
            return [keyword == "break" ? .breakLoop(location) : .continueLoop(location)]
        default:
            throw ChatTemplateError.syntax("unknown or unsupported tag '\(keyword)'", at: location)
        }
    }

    private mutating func parseIf() throws -> JinjaStatement {
        var branches: [(condition: JinjaExpression, body: [JinjaStatement])] = []
        var condition = try parseExpression()
        while true {
            try expectStatementClose()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((condition, body))
            switch end {
            case "elif":
                condition = try parseExpression()
            case "else":
                try expectStatementClose()
                let (elseBody, _) = try parseBody(until: ["endif"])
                try expectStatementClose()
                return .ifBlock(branches: branches, elseBody: elseBody)
            default:
                try expectStatementClose()
                return .ifBlock(branches: branches, elseBody: [])
            }
        }
    }

    private mutating func parseTargets() throws -> [String] {
        let parenthesized = skipSymbol("(")
        var names = [try expectName()]
        while skipSymbol(",") { names.append(try expectName()) }
        if parenthesized { try expectSymbol(")") }
        return names
    }

    private mutating func parseFor(at location: SourceLocation) throws -> JinjaStatement {
        let targets = try parseTargets()
        guard skipName("in") else { throw unexpected(expected: "'in'") }
        let iterable = try parseOr()
        let condition = skipName("if") ? try parseExpression() : nil
        if skipName("recursive") {
            throw ChatTemplateError.syntax("recursive loops are not supported", at: location)
        }
        try expectStatementClose()
        let (body, end) = try parseBody(until: ["else", "endfor"])
        var elseBody: [JinjaStatement] = []
        try expectStatementClose()
        if end == "else" {
            (elseBody, _) = try parseBody(until: ["endfor"])
            try expectStatementClose()
        }
        return .forLoop(JinjaForLoop(targets: targets, iterable: iterable, condition: condition, body: body,
                                     elseBody: elseBody, location: location))
    }

    private mutating func parseSet(at location: SourceLocation) throws -> JinjaStatement {
        let first = try expectName()
        let target: JinjaSetTarget
        if skipSymbol(".") {
            target = .namespaceKey(namespace: first, key: try expectName())
        } else {
            var names = [first]
            while skipSymbol(",") { names.append(try expectName()) }
            target = .names(names)
        }
        if current.kind == .statementClose, case .names(let names) = target, names.count == 1 {
            index += 1
            let (body, _) = try parseBody(until: ["endset"])
            try expectStatementClose()
            return .setBlock(name: first, body: body)
        }
        try expectSymbol("=")
        let value = try parseExpression()
        try expectStatementClose()
        return .set(target, value, location: location)
    }

    private mutating func parseMacro() throws -> JinjaStatement {
        let name = try expectName()
        try expectSymbol("(")
        var parameters: [(name: String, defaultValue: JinjaExpression?)] = []
        while !skipSymbol(")") {
            if !parameters.isEmpty { try expectSymbol(",") }
            if skipSymbol(")") { break }
            let parameter = try expectName()
            parameters.append((parameter, skipSymbol("=") ? try parseExpression() : nil))
        }
        try expectStatementClose()
        let (body, _) = try parseBody(until: ["endmacro"])
        if case .name = current.kind { index += 1 }  // `{% endmacro name %}`
        try expectStatementClose()
        return .macro(JinjaMacro(name: name, parameters: parameters, body: body))
    }

    // MARK: - Expressions

    mutating func parseExpression() throws -> JinjaExpression {
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

    private mutating func parseOr() throws -> JinjaExpression {
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
            return JinjaExpression(kind: .unary(.not, try parseNot()), location: location)
        }
        return try parseComparison()
    }

    private static let comparisons: [String: JinjaBinaryOperator] = [
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
            expression = JinjaExpression(kind: .unary(op, try parseUnary(withFilters: false)), location: token.location)
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

    private mutating func parseCallArguments() throws -> JinjaArguments {
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
