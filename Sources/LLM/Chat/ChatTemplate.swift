/// A model's chat template (`tokenizer.chat_template`), parsed once and rendered per conversation.
///
/// The engine implements the Jinja subset that Hugging Face chat templates use, with the whitespace
/// settings transformers renders them with (`trim_blocks`, `lstrip_blocks`): text, `{{ }}`, `{% %}`,
/// `{# #}` with `-` whitespace control; `if`/`elif`/`else`, `for` (with `loop.*`, loop filters, `else`,
/// `break`/`continue`), `set` (also `namespace()` attributes and block sets), `macro`, `filter` blocks;
/// Python-like expressions, filters, tests and string/dict methods; and the functions `raise_exception`,
/// `range`, `namespace`, `dict`, `strftime_now`.
///
/// ```swift
/// let template = try ChatTemplate(source: try gguf.string("tokenizer.chat_template"))
/// let prompt = try template.render(messages: [ChatMessage(role: "user", content: "Hi!")],
///                                  addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>")
/// ```
public struct ChatTemplate: Sendable {
    /// The template source as given.
    public let source: String
    private let program: [JinjaStatement]

    /// Parses `source`. Throws `ChatTemplateError.syntax` with the line and column of the problem.
    public init(source: String) throws {
        self.source = source
        var parser = JinjaParser(tokens: try JinjaLexer.tokenize(source))
        program = try parser.parseTemplate()
    }

    /// Renders a conversation. The template sees `messages` (objects with `role` and `content`),
    /// `add_generation_prompt`, `bos_token` and `eos_token`, plus every entry of `extra` (for example
    /// `tools` or `date_string`); the named parameters take precedence over `extra` entries of the same name.
    /// Throws `ChatTemplateError.raised` when the template rejects the conversation (`raise_exception`)
    /// and `ChatTemplateError.runtime` for type errors, unknown filters and similar.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                       extra: [String: JinjaValue] = [:]) throws -> String {
        var context = extra
        context["messages"] = .array(messages.map(\.jinjaValue))
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        context["bos_token"] = .string(bosToken)
        context["eos_token"] = .string(eosToken)
        return try render(context: context)
    }

    /// Renders with a context of your own, for messages with fields beyond `role` and `content`
    /// (tool calls, images) or templates that need other variables.
    public func render(context: [String: JinjaValue]) throws -> String {
        var interpreter = JinjaInterpreter(context: context)
        return try interpreter.render(program)
    }
}
