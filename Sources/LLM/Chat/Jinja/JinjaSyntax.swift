/// The parsed form of a Jinja template: statements that produce text, and the expressions they evaluate.

/// An expression with the source position used in error messages.
struct JinjaExpression: Sendable {
    var kind: JinjaExpressionKind
    var location: SourceLocation
}

/// Positional and keyword arguments of a call, filter or test.
struct JinjaArguments: Sendable {
    var positional: [JinjaExpression] = []
    var keyword: [(name: String, value: JinjaExpression)] = []
}

enum JinjaBinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%", power = "**"
    case concatenate = "~"
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case contains = "in", notContains = "not in"
    case and, or
}

enum JinjaUnaryOperator: String, Sendable {
    case not, negate = "-", plus = "+"
}

indirect enum JinjaExpressionKind: Sendable {
    case literal(JinjaValue)
    case variable(String)
    case list([JinjaExpression])
    case dictionary([(key: JinjaExpression, value: JinjaExpression)])
    /// `object.name`
    case attribute(JinjaExpression, name: String)
    /// `object[index]`
    case `subscript`(JinjaExpression, index: JinjaExpression)
    /// `object[start:stop:step]`, each part optional
    case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?)
    case call(JinjaExpression, JinjaArguments)
    /// `value | name(arguments)`
    case filter(JinjaExpression, name: String, JinjaArguments)
    /// `value is [not] name(arguments)`
    case test(JinjaExpression, name: String, negated: Bool, JinjaArguments)
    case unary(JinjaUnaryOperator, JinjaExpression)
    case binary(JinjaBinaryOperator, JinjaExpression, JinjaExpression)
    /// `value if condition else alternative` (a missing alternative is undefined)
    case conditional(condition: JinjaExpression, value: JinjaExpression, alternative: JinjaExpression?)
}

/// Where `{% set %}` stores its value.
enum JinjaSetTarget: Sendable {
    /// `{% set a = … %}` or `{% set a, b = … %}`
    case names([String])
    /// `{% set ns.key = … %}`
    case namespaceKey(namespace: String, key: String)
}

struct JinjaForLoop: Sendable {
    var targets: [String]
    var iterable: JinjaExpression
    /// `{% for x in xs if condition %}`: items failing it are skipped before `loop` counts them.
    var condition: JinjaExpression?
    var body: [JinjaStatement]
    /// Rendered when the (filtered) iterable is empty.
    var elseBody: [JinjaStatement]
    var location: SourceLocation
}

struct JinjaMacro: Sendable {
    var name: String
    var parameters: [(name: String, defaultValue: JinjaExpression?)]
    var body: [JinjaStatement]
}

indirect enum JinjaStatement: Sendable {
    case text(String)
    case output(JinjaExpression)
    case ifBlock(branches: [(condition: JinjaExpression, body: [JinjaStatement])], elseBody: [JinjaStatement])
    case forLoop(JinjaForLoop)
    case set(JinjaSetTarget, JinjaExpression, location: SourceLocation)
    /// `{% set name %}…{% endset %}`
    case setBlock(name: String, body: [JinjaStatement])
    case macro(JinjaMacro)
    /// `{% filter name %}…{% endfilter %}`
    case filterBlock(name: String, JinjaArguments, body: [JinjaStatement], location: SourceLocation)
    case breakLoop(SourceLocation)
    case continueLoop(SourceLocation)
}
