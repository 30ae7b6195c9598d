/// Renders parsed Jinja statements against a context of variables.
///
/// Scoping follows jinja2: a `for` loop gets its own scope (assignments inside it persist across its
/// iterations but not after it), `if` does not, a macro call gets a fresh scope on top of the caller's,
/// and `namespace()` objects are the way to carry state out of a loop.
struct JinjaInterpreter {
    struct Frame {
        var variables: [String: JinjaValue] = [:]
        var macros: [String: JinjaMacro] = [:]
    }

    enum Flow {
        case normal, breakLoop, continueLoop
    }

    /// Limits that keep a hostile template from exhausting the stack or memory.
    enum Limits {
        static let maxCallDepth = 64
        static let maxEvaluationDepth = 256
        static let maxLoopIterations = 1 << 18
        static let maxRangeLength = 1 << 20
        static let maxOutputScalars = 1 << 26
    }

    var frames: [Frame]
    var output = ""
    private var loopDepth = 0
    private var callDepth = 0
    private var evaluationDepth = 0
    private var loopIterations = 0

    init(context: [String: JinjaValue]) {
        frames = [Frame(variables: context)]
    }

    /// Renders a whole template.
    mutating func render(_ statements: [JinjaStatement]) throws -> String {
        _ = try execute(statements)
        return output
    }

    // MARK: - Statements

    mutating func execute(_ statements: [JinjaStatement]) throws -> Flow {
        for statement in statements {
            let flow = try execute(statement)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private mutating func write(_ text: String, at location: SourceLocation) throws {
        output += text
        if output.unicodeScalars.count > Limits.maxOutputScalars {
            throw ChatTemplateError.runtime("rendered text exceeds \(Limits.maxOutputScalars) characters", at: location)
        }
    }

    private mutating func execute(_ statement: JinjaStatement) throws -> Flow {
        switch statement {
        case .text(let text):
            output += text
        case .output(let expression):
            try write(try evaluate(expression).pythonString, at: expression.location)
        case .ifBlock(let branches, let elseBody):
            for branch in branches where try evaluate(branch.condition).isTruthy {
                return try execute(branch.body)
            }
            return try execute(elseBody)
        case .forLoop(let loop):
            return try executeFor(loop)
        case .set(let target, let expression, let location):
            try assign(try evaluate(expression), to: target, at: location)
        case .setBlock(let name, let body):
            frames[frames.count - 1].variables[name] = .string(try capture(body))
        case .macro(let macro):
            frames[frames.count - 1].macros[macro.name] = macro
        case .filterBlock(let name, let arguments, let body, let location):
            let text = JinjaValue.string(try capture(body))
            let value = try applyFilter(name, to: text, try evaluate(arguments), at: location)
            try write(value.pythonString, at: location)
        case .breakLoop(let location), .continueLoop(let location):
            guard loopDepth > 0 else {
                throw ChatTemplateError.runtime("break/continue outside a for loop", at: location)
            }
            if case .breakLoop = statement { return .breakLoop }
            return .continueLoop
        }
        return .normal
    }

    /// Renders `body` into a string of its own (for `{% set x %}…{% endset %}` and filter blocks).
    private mutating func capture(_ body: [JinjaStatement]) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        _ = try execute(body)
        return output
    }

    private mutating func assign(_ value: JinjaValue, to target: JinjaSetTarget, at location: SourceLocation) throws {
        switch target {
        case .names(let names):
            let values = try unpack(value, into: names.count, at: location)
            for (name, value) in zip(names, values) { frames[frames.count - 1].variables[name] = value }
        case .namespaceKey(let namespace, let key):
            guard let frameIndex = frames.lastIndex(where: { $0.variables[namespace] != nil }),
                  case .namespace(var object) = frames[frameIndex].variables[namespace] else {
                throw ChatTemplateError.runtime(
                    "cannot set '\(namespace).\(key)': '\(namespace)' is not a namespace (make it with namespace())",
                    at: location)
            }
            object[key] = value
            frames[frameIndex].variables[namespace] = .namespace(object)
        }
    }

    private func unpack(_ value: JinjaValue, into count: Int, at location: SourceLocation) throws -> [JinjaValue] {
        if count == 1 { return [value] }
        guard case .array(let items) = value, items.count == count else {
            throw ChatTemplateError.runtime("cannot unpack \(value.typeName) into \(count) names", at: location)
        }
        return items
    }

    private mutating func executeFor(_ loop: JinjaForLoop) throws -> Flow {
        var items = try iterate(try evaluate(loop.iterable), at: loop.iterable.location)
        frames.append(Frame())
        loopDepth += 1
        defer {
            frames.removeLast()
            loopDepth -= 1
        }
        func bind(_ item: JinjaValue, in interpreter: inout JinjaInterpreter) throws {
            let values = try interpreter.unpack(item, into: loop.targets.count, at: loop.location)
            for (name, value) in zip(loop.targets, values) {
                interpreter.frames[interpreter.frames.count - 1].variables[name] = value
            }
        }
        if let condition = loop.condition {
            var kept: [JinjaValue] = []
            for item in items {
                try bind(item, in: &self)
                if try evaluate(condition).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try execute(loop.elseBody)
            return .normal
        }
        for (position, item) in items.enumerated() {
            loopIterations += 1
            guard loopIterations <= Limits.maxLoopIterations else {
                throw ChatTemplateError.runtime("loops ran more than \(Limits.maxLoopIterations) iterations", at: loop.location)
            }
            try bind(item, in: &self)
            let length = items.count
            frames[frames.count - 1].variables["loop"] = .object(JinjaObject([
                ("index", .int(position + 1)), ("index0", .int(position)),
                ("revindex", .int(length - position)), ("revindex0", .int(length - position - 1)),
                ("first", .bool(position == 0)), ("last", .bool(position == length - 1)),
                ("length", .int(length)),
                ("previtem", position > 0 ? items[position - 1] : .undefined),
                ("nextitem", position < length - 1 ? items[position + 1] : .undefined),
                ("depth", .int(1)), ("depth0", .int(0)),
            ]))
            if try execute(loop.body) == .breakLoop { break }
        }
        return .normal
    }

    /// The items a `for` loop (or a filter) walks: list elements, dict keys, string characters;
    /// undefined iterates as empty, as in jinja2.
    func iterate(_ value: JinjaValue, at location: SourceLocation) throws -> [JinjaValue] {
        switch value {
        case .array(let items): return items
        case .object(let object), .namespace(let object): return object.keys.map { .string($0) }
        case .string(let text): return text.map { .string(String($0)) }
        case .undefined: return []
        default: throw ChatTemplateError.runtime("cannot iterate over a \(value.typeName)", at: location)
        }
    }

    // MARK: - Expressions

    mutating func evaluate(_ arguments: JinjaArguments) throws -> JinjaCallArguments {
        var result = JinjaCallArguments()
        for expression in arguments.positional { result.positional.append(try evaluate(expression)) }
        for (name, expression) in arguments.keyword { result.keyword.append((name, try evaluate(expression))) }
        return result
    }

    func lookup(_ name: String) -> JinjaValue {
        for frame in frames.reversed() {
            if let value = frame.variables[name] { return value }
        }
        return .undefined
    }

    mutating func evaluate(_ expression: JinjaExpression) throws -> JinjaValue {
        guard evaluationDepth < Limits.maxEvaluationDepth else {
            throw ChatTemplateError.runtime("expression nests deeper than \(Limits.maxEvaluationDepth) levels",
                                            at: expression.location)
        }
        evaluationDepth += 1
        defer { evaluationDepth -= 1 }
        return try evaluateNode(expression)
    }

    private mutating func evaluateNode(_ expression: JinjaExpression) throws -> JinjaValue {
        let location = expression.location
        switch expression.kind {
        case .literal(let value):
            return value
        case .variable(let name):
            return lookup(name)
        case .list(let elements):
            return .array(try elements.map { try evaluate($0) })
        case .dictionary(let pairs):
            var object = JinjaObject()
            for pair in pairs {
                guard case .string(let key) = try evaluate(pair.key) else {
                    throw ChatTemplateError.runtime("dict keys must be strings", at: pair.key.location)
                }
                object[key] = try evaluate(pair.value)
            }
            return .object(object)
        case .attribute(let base, let name):
            return try attribute(name, of: try evaluate(base), at: location)
        case .subscript(let base, let indexExpression):
            return try subscriptValue(try evaluate(base), try evaluate(indexExpression), at: location)
        case .slice(let base, let start, let stop, let step):
            return try slice(try evaluate(base), start: try start.map { try evaluate($0) },
                             stop: try stop.map { try evaluate($0) }, step: try step.map { try evaluate($0) },
                             at: location)
        case .call(let callee, let arguments):
            return try call(callee, arguments, at: location)
        case .filter(let base, let name, let arguments):
            return try applyFilter(name, to: try evaluate(base), try evaluate(arguments), at: location)
        case .test(let base, let name, let negated, let arguments):
            let result = try applyTest(name, to: try evaluate(base), try evaluate(arguments), at: location)
            return .bool(result != negated)
        case .unary(let op, let operand):
            let value = try evaluate(operand)
            switch op {
            case .not: return .bool(!value.isTruthy)
            case .plus, .negate:
                switch value {
                case .int(let number): return .int(op == .negate ? -number : number)
                case .float(let number): return .float(op == .negate ? -number : number)
                case .bool(let flag): return .int(op == .negate ? -(flag ? 1 : 0) : (flag ? 1 : 0))
                default: throw ChatTemplateError.runtime("bad operand type for unary \(op.rawValue): \(value.typeName)", at: location)
                }
            }
        case .binary(let op, let left, let right):
            let leftValue = try evaluate(left)
            switch op {
            case .and: return leftValue.isTruthy ? try evaluate(right) : leftValue
            case .or: return leftValue.isTruthy ? leftValue : try evaluate(right)
            default: return try binary(op, leftValue, try evaluate(right), at: location)
            }
        case .conditional(let condition, let value, let alternative):
            if try evaluate(condition).isTruthy { return try evaluate(value) }
            return try alternative.map { try evaluate($0) } ?? .undefined
        }
    }

    func attribute(_ name: String, of value: JinjaValue, at location: SourceLocation) throws -> JinjaValue {
        switch value {
        case .object(let object), .namespace(let object):
            return object[name] ?? .undefined
        case .undefined:
            throw ChatTemplateError.runtime("cannot read attribute '\(name)' of an undefined value", at: location)
        default:
            return .undefined
        }
    }

    private func subscriptValue(_ value: JinjaValue, _ index: JinjaValue, at location: SourceLocation) throws -> JinjaValue {
        switch (value, index) {
        case (.object(let object), .string(let key)), (.namespace(let object), .string(let key)):
            return object[key] ?? .undefined
        case (.array(let items), _):
            guard let position = index.integerIndex else { return .undefined }
            let resolved = position < 0 ? position + items.count : position
            return items.indices.contains(resolved) ? items[resolved] : .undefined
        case (.string(let text), _):
            guard let position = index.integerIndex else { return .undefined }
            let characters = Array(text)
            let resolved = position < 0 ? position + characters.count : position
            return characters.indices.contains(resolved) ? .string(String(characters[resolved])) : .undefined
        case (.undefined, _):
            throw ChatTemplateError.runtime("cannot index an undefined value with \(index.pythonRepr)", at: location)
        default:
            return .undefined
        }
    }

    private func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?,
                       at location: SourceLocation) throws -> JinjaValue {
        func bound(_ value: JinjaValue?) throws -> Int? {
            guard let value, value != .none else { return nil }
            guard let number = value.integerIndex else {
                throw ChatTemplateError.runtime("slice indices must be integers, not \(value.typeName)", at: location)
            }
            return number
        }
        let stepValue = try bound(step) ?? 1
        guard stepValue != 0 else { throw ChatTemplateError.runtime("slice step cannot be zero", at: location) }
        let (startValue, stopValue) = (try bound(start), try bound(stop))
        func indices(count: Int) -> [Int] {
            // Python's slice.indices()
            func clamp(_ raw: Int?, default fallback: Int) -> Int {
                guard var index = raw else { return fallback }
                if index < 0 { index += count }
                if stepValue > 0 { return min(max(index, 0), count) }
                return min(max(index, -1), count - 1)
            }
            let first = clamp(startValue, default: stepValue > 0 ? 0 : count - 1)
            let last = clamp(stopValue, default: stepValue > 0 ? count : -1)
            return Array(stride(from: first, to: last, by: stepValue))
        }
        switch value {
        case .array(let items):
            return .array(indices(count: items.count).map { items[$0] })
        case .string(let text):
            let characters = Array(text)
            return .string(String(indices(count: characters.count).map { characters[$0] }))
        default:
            throw ChatTemplateError.runtime("cannot slice a \(value.typeName)", at: location)
        }
    }

    private mutating func call(_ callee: JinjaExpression, _ argumentExpressions: JinjaArguments,
                               at location: SourceLocation) throws -> JinjaValue {
        let arguments = try evaluate(argumentExpressions)
        switch callee.kind {
        case .attribute(let base, let name):
            return try callMethod(name, on: try evaluate(base), arguments, at: location)
        case .variable(let name):
            if let macro = frames.reversed().lazy.compactMap({ $0.macros[name] }).first {
                return try callMacro(macro, arguments, at: location)
            }
            if lookup(name) != .undefined {
                throw ChatTemplateError.runtime("'\(name)' is a \(lookup(name).typeName), not a function", at: location)
            }
            return try callGlobalFunction(name, arguments, at: location)
        default:
            throw ChatTemplateError.runtime("this expression is not callable", at: location)
        }
    }

    private mutating func callMacro(_ macro: JinjaMacro, _ arguments: JinjaCallArguments,
                                    at location: SourceLocation) throws -> JinjaValue {
        guard arguments.positional.count <= macro.parameters.count else {
            throw ChatTemplateError.runtime("macro '\(macro.name)' takes \(macro.parameters.count) arguments, "
                                            + "got \(arguments.positional.count)", at: location)
        }
        let names = Set(macro.parameters.map(\.name))
        if let unknown = arguments.keyword.first(where: { !names.contains($0.name) }) {
            throw ChatTemplateError.runtime("macro '\(macro.name)' has no parameter '\(unknown.name)'", at: location)
        }
        guard callDepth < Limits.maxCallDepth else {
            throw ChatTemplateError.runtime("macro calls nest deeper than \(Limits.maxCallDepth)", at: location)
        }
        var frame = Frame()
        for (position, parameter) in macro.parameters.enumerated() {
            if position < arguments.positional.count {
                frame.variables[parameter.name] = arguments.positional[position]
            } else if let value = arguments.named(parameter.name) {
                frame.variables[parameter.name] = value
            } else if let defaultValue = parameter.defaultValue {
                frame.variables[parameter.name] = try evaluate(defaultValue)
            } else {
                frame.variables[parameter.name] = .undefined
            }
        }
        let (savedOutput, savedLoopDepth) = (output, loopDepth)
        frames.append(frame)
        output = ""
        callDepth += 1
        loopDepth = 0
        defer {
            frames.removeLast()
            output = savedOutput
            callDepth -= 1
            loopDepth = savedLoopDepth
        }
        _ = try execute(macro.body)
        return .string(output)
    }
}

/// Evaluated arguments of a call, filter or test.
struct JinjaCallArguments {
    var positional: [JinjaValue] = []
    var keyword: [(name: String, value: JinjaValue)] = []

    func named(_ name: String) -> JinjaValue? {
        keyword.last(where: { $0.name == name })?.value
    }

    /// The argument at `position`, or passed as `name=`.
    func value(_ position: Int, _ name: String) -> JinjaValue? {
        position < positional.count ? positional[position] : named(name)
    }
}

extension JinjaValue {
    /// The value as a list index (ints and booleans), or nil.
    var integerIndex: Int? {
        switch self {
        case .int(let value): return value
        case .bool(let value): return value ? 1 : 0
        default: return nil
        }
    }
}
