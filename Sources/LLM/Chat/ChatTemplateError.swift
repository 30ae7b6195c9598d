/// Why a chat template could not be parsed or rendered. Lines and columns are 1-based positions in
/// the template source.
public enum ChatTemplateError: Error, Equatable, CustomStringConvertible {
    /// The template source is not valid Jinja (or uses a construct this engine does not support).
    case syntax(message: String, line: Int, column: Int)
    /// Rendering failed: a type error, an unknown filter or function, a bad argument.
    case runtime(message: String, line: Int, column: Int)
    /// The template called `raise_exception(message)`: it rejects this conversation.
    case raised(message: String, line: Int, column: Int)

    public var description: String {
        switch self {
        case let .syntax(message, line, column):
            return "chat template syntax error at line \(line), column \(column): \(message). "
                + "Fix the template source or pass a different template."
        case let .runtime(message, line, column):
            return "chat template error at line \(line), column \(column): \(message)"
        case let .raised(message, line, column):
            return "the chat template rejected the conversation (raise_exception at line \(line), "
                + "column \(column)): \(message)"
        }
    }
}

/// A 1-based line and column in a template's source.
struct SourceLocation: Sendable, Equatable {
    var line: Int
    var column: Int
}

extension ChatTemplateError {
    static func syntax(_ message: String, at location: SourceLocation) -> ChatTemplateError {
        .syntax(message: message, line: location.line, column: location.column)
    }

    static func runtime(_ message: String, at location: SourceLocation) -> ChatTemplateError {
        .runtime(message: message, line: location.line, column: location.column)
    }
}
