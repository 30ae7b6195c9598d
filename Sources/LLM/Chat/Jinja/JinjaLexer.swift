/// One lexical token of a Jinja template.
enum JinjaTokenKind: Equatable, Sendable {
    /// Literal template text between tags, after whitespace control.
    case text(String)
    case expressionOpen, expressionClose      // {{ }}
    case statementOpen, statementClose        // {% %}
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    /// Operators and punctuation: + - * / // % ** ~ == != < > <= >= = ( ) [ ] { } , . : |
    case symbol(String)
    case end
}

struct JinjaToken: Sendable {
    var kind: JinjaTokenKind
    var location: SourceLocation
}

/// Splits template source into tokens, applying whitespace control the way Hugging Face renders
/// chat templates (jinja2 with `trim_blocks=True`, `lstrip_blocks=True`, `keep_trailing_newline=False`):
/// - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all whitespace after;
/// - trim_blocks: the first newline after a `%}` or `#}` is removed;
/// - lstrip_blocks: spaces and tabs between a line start and `{%` / `{#` are removed (not before `{%+`);
/// - newlines are normalised to `\n` and one trailing newline of the source is dropped.
/// Comments `{# … #}` produce no tokens.
struct JinjaLexer {
    private let scalars: [Unicode.Scalar]
    private let lineStarts: [Int]
    private var position = 0
    private var tokens: [JinjaToken] = []

    static func tokenize(_ source: String) throws -> [JinjaToken] {
        var lexer = JinjaLexer(source: source)
        try lexer.run()
        return lexer.tokens
    }

    private init(source: String) {
        var normalized = source.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if normalized.hasSuffix("\n") { normalized.removeLast() }
        scalars = Array(normalized.unicodeScalars)
        var starts = [0]
        for (index, scalar) in scalars.enumerated() where scalar == "\n" { starts.append(index + 1) }
        lineStarts = starts
    }

    private func location(_ index: Int) -> SourceLocation {
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= index { low = mid } else { high = mid - 1 }
        }
        return SourceLocation(line: low + 1, column: index - lineStarts[low] + 1)
    }

    private func scalar(at index: Int) -> Unicode.Scalar? {
        index < scalars.count ? scalars[index] : nil
    }

    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    private mutating func run() throws {
        var lineStarting = true
        while position < scalars.count {
            var tagStart = position
            while tagStart < scalars.count {
                if scalars[tagStart] == "{", let next = scalar(at: tagStart + 1), next == "{" || next == "%" || next == "#" {
                    break
                }
                tagStart += 1
            }
            var textEnd = tagStart
            if tagStart < scalars.count {
                let kind = scalars[tagStart + 1]
                let control = scalar(at: tagStart + 2)
                if control == "-" {
                    while textEnd > position, Self.isWhitespace(scalars[textEnd - 1]) { textEnd -= 1 }
                } else if control != "+", kind != "{" {
                    var lineStart = textEnd
                    while lineStart > position, scalars[lineStart - 1] != "\n" { lineStart -= 1 }
                    let atLineStart = lineStart > position || lineStarting
                    if atLineStart, lineStart < textEnd, scalars[lineStart..<textEnd].allSatisfy(Self.isWhitespace) {
                        textEnd = lineStart
                    }
                }
            }
            if textEnd > position {
                var text = String.UnicodeScalarView()
                text.append(contentsOf: scalars[position..<textEnd])
                tokens.append(JinjaToken(kind: .text(String(text)), location: location(position)))
            }
            guard tagStart < scalars.count else { break }
            lineStarting = try lexTag(at: tagStart)
        }
        tokens.append(JinjaToken(kind: .end, location: location(scalars.count)))
    }

    /// Lexes one tag starting at `start` (its `{`); returns whether the text after it starts a line.
    private mutating func lexTag(at start: Int) throws -> Bool {
        let kind = scalars[start + 1]
        position = start + 2
        if let control = scalar(at: position), control == "-" || control == "+" { position += 1 }
        var stripAfter = false
        switch kind {
        case "#":
            var index = position
            while index + 1 < scalars.count, !(scalars[index] == "#" && scalars[index + 1] == "}") { index += 1 }
            guard index + 1 < scalars.count else {
                throw ChatTemplateError.syntax("unclosed comment: add `#}`", at: location(start))
            }
            stripAfter = index > position && scalars[index - 1] == "-"
            position = index + 2
        case "{":
            tokens.append(JinjaToken(kind: .expressionOpen, location: location(start)))
            stripAfter = try lexInterior(closing: "}", open: start)
            tokens.append(JinjaToken(kind: .expressionClose, location: location(position - 2)))
        default:
            tokens.append(JinjaToken(kind: .statementOpen, location: location(start)))
            stripAfter = try lexInterior(closing: "%", open: start)
            tokens.append(JinjaToken(kind: .statementClose, location: location(position - 2)))
        }
        if stripAfter {
            var last: Unicode.Scalar?
            while let next = scalar(at: position), Self.isWhitespace(next) {
                last = next
                position += 1
            }
            return last == "\n"
        }
        if kind != "{", scalar(at: position) == "\n" {
            position += 1
            return true
        }
        return false
    }

    /// Lexes expression tokens up to the closing `}}` or `%}`; returns whether it was `-}}` / `-%}`.
    private mutating func lexInterior(closing: Unicode.Scalar, open: Int) throws -> Bool {
        var depth = 0
        while true {
            while let next = scalar(at: position), Self.isWhitespace(next) { position += 1 }
            guard let current = scalar(at: position) else {
                let tag = closing == "}" ? "}}" : "%}"
                throw ChatTemplateError.syntax("tag is never closed: add `\(tag)`", at: location(open))
            }
            if depth == 0 {
                if (current == "-" || current == "+"), scalar(at: position + 1) == closing, scalar(at: position + 2) == "}" {
                    position += 3
                    return current == "-"
                }
                if current == closing, scalar(at: position + 1) == "}" {
                    position += 2
                    return false
                }
            }
            let tokenStart = position
            let kind: JinjaTokenKind
            if current == "'" || current == "\"" {
                kind = .string(try lexString(quote: current))
            } else if ("0"..."9").contains(current) {
                kind = lexNumber()
            } else if current == "_" || current.properties.isAlphabetic {
                var name = String.UnicodeScalarView()
                while let next = scalar(at: position), next == "_" || next.properties.isAlphabetic || ("0"..."9").contains(next) {
                    name.append(next)
                    position += 1
                }
                kind = .name(String(name))
            } else {
                let symbol = try lexSymbol()
                if symbol == "(" || symbol == "[" || symbol == "{" { depth += 1 }
                if symbol == ")" || symbol == "]" || symbol == "}" { depth = max(0, depth - 1) }
                kind = .symbol(symbol)
            }
            tokens.append(JinjaToken(kind: kind, location: location(tokenStart)))
        }
    }

    private static let symbols = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=",
                                  "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"]

    private mutating func lexSymbol() throws -> String {
        for symbol in Self.symbols {
            let symbolScalars = Array(symbol.unicodeScalars)
            if position + symbolScalars.count <= scalars.count,
               Array(scalars[position..<position + symbolScalars.count]) == symbolScalars {
                position += symbolScalars.count
                return symbol
            }
        }
        throw ChatTemplateError.syntax("unexpected character '\(scalars[position])'", at: location(position))
    }

    private mutating func lexNumber() -> JinjaTokenKind {
        func digits() -> String {
            var text = ""
            while let next = scalar(at: position), ("0"..."9").contains(next) || next == "_" {
                if next != "_" { text.unicodeScalars.append(next) }
                position += 1
            }
            return text
        }
        var text = digits()
        var isFloat = false
        if scalar(at: position) == ".", let after = scalar(at: position + 1), ("0"..."9").contains(after) {
            position += 1
            text += "." + digits()
            isFloat = true
        }
        if let e = scalar(at: position), e == "e" || e == "E" {
            var lookahead = position + 1
            if let sign = scalar(at: lookahead), sign == "+" || sign == "-" { lookahead += 1 }
            if let digit = scalar(at: lookahead), ("0"..."9").contains(digit) {
                text += "e" + (lookahead > position + 1 ? String(scalars[position + 1]) : "")
                position = lookahead
                text += digits()
                isFloat = true
            }
        }
        if isFloat { return .float(Double(text) ?? 0) }
        if let value = Int(text) { return .integer(value) }
        return .float(Double(text) ?? .infinity)
    }

    /// A quoted string with Python escapes (`\n`, `\t`, `\\`, `\'`, `\"`, `\xhh`, `\uXXXX`, …);
    /// an unknown escape keeps its backslash, as Python does.
    private mutating func lexString(quote: Unicode.Scalar) throws -> String {
        let start = position
        position += 1
        var value = String.UnicodeScalarView()
        while true {
            guard let current = scalar(at: position) else {
                throw ChatTemplateError.syntax("string literal is never closed: add \(quote)", at: location(start))
            }
            position += 1
            if current == quote { return String(value) }
            guard current == "\\", let escaped = scalar(at: position) else {
                value.append(current)
                continue
            }
            position += 1
            switch escaped {
            case "n": value.append("\n")
            case "t": value.append("\t")
            case "r": value.append("\r")
            case "b": value.append("\u{08}")
            case "f": value.append("\u{0C}")
            case "v": value.append("\u{0B}")
            case "a": value.append("\u{07}")
            case "0": value.append("\0")
            case "\\", "'", "\"": value.append(escaped)
            case "\n": break  // line continuation
            case "x", "u", "U":
                let width = escaped == "x" ? 2 : (escaped == "u" ? 4 : 8)
                var hex = ""
                for offset in 0..<width {
                    guard let digit = scalar(at: position + offset), digit.properties.isASCIIHexDigit else { break }
                    hex.unicodeScalars.append(digit)
                }
                guard hex.count == width, let code = UInt32(hex, radix: 16), let decoded = Unicode.Scalar(code) else {
                    throw ChatTemplateError.syntax("bad \\\(escaped) escape in string literal", at: location(position - 2))
                }
                position += width
                value.append(decoded)
            default:
                value.append("\\")
                value.append(escaped)
            }
        }
    }
}
