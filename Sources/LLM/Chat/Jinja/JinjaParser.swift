/// Recursive-descent parser from tokens to statements, with jinja2's operator precedence (loosest
/// first): `x if c else y`, `or`, `and`, `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`,
/// unary `- +`, then primaries with `.attr`, `[index]`, `[a:b]`, calls, `| filter` and `is test`.
struct JinjaParser {
    let tokens: [JinjaToken]
    var index = 0
    /// Current nesting of blocks and sub-expressions; bounded so a hostile template cannot overflow the stack.
    var depth = 0
    static let maxNesting = 128

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

    var current: JinjaToken { tokens[index] }

    mutating func advance() -> JinjaToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }
    func isName(_ name: String) -> Bool { current.kind == .name(name) }

    mutating func skipSymbol(_ symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        index += 1
        return true
    }

    mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        index += 1
        return true
    }

    func describe(_ kind: JinjaTokenKind) -> String {
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

    func unexpected(expected: String) -> ChatTemplateError {
        .syntax("expected \(expected), found \(describe(current.kind))", at: current.location)
    }

    mutating func expectSymbol(_ symbol: String) throws {
        guard skipSymbol(symbol) else { throw unexpected(expected: "'\(symbol)'") }
    }

    mutating func expectName() throws -> String {
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

    /// Runs `body` one nesting level deeper, refusing templates nested beyond `maxNesting`.
    mutating func nested<T>(_ body: (inout JinjaParser) throws -> T) throws -> T {
        guard depth < Self.maxNesting else {
            throw ChatTemplateError.syntax("template nests deeper than \(Self.maxNesting) levels", at: current.location)
        }
        depth += 1
        defer { depth -= 1 }
        return try body(&self)
    }

    private mutating func parseStatement(_ keyword: String, at location: SourceLocation) throws -> [JinjaStatement] {
        try nested { try $0.parseStatementBody(keyword, at: location) }
    }

    private mutating func parseStatementBody(_ keyword: String, at location: SourceLocation) throws -> [JinjaStatement] {
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
}
