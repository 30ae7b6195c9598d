import Foundation
import SparrowLLM
import SparrowRuntime
import Testing

/// Chat-template rendering checked against real renderings: llama.cpp's test-chat-template.cpp cases and
/// jinja2 renderings of llama.cpp's models/templates files (Fixtures/chat-templates.json, made by
/// Scripts/extract-chat-template-cases.py), and llama.cpp's rendering of SmolLM2's own template.
@Suite struct ChatTemplateTests {
    struct Fixture: Decodable {
        struct Message: Decodable {
            var role: String
            var content: String
        }

        struct Case: Decodable {
            var name: String
            var template: String
            var messages: [Message]
            var add_generation_prompt: Bool
            var bos_token: String
            var eos_token: String
            var extra: [String: String]
            var expected: String
        }

        var llama_cpp_commit: String
        var cases: [Case]
    }

    static var fixturesDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    /// A readable account of where two renderings first differ.
    static func firstDifference(_ actual: String, _ expected: String) -> String {
        let (a, e) = (Array(actual.unicodeScalars), Array(expected.unicodeScalars))
        let index = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
        func around(_ scalars: [Unicode.Scalar]) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[max(0, index - 30)..<min(scalars.count, index + 30)])
            return String(reflecting: String(view))
        }
        return "first difference at scalar \(index): got \(around(a)), expected \(around(e))"
    }

    @Test func rendersEveryFixtureCaseExactly() throws {
        let data = try Data(contentsOf: Self.fixturesDirectory.appendingPathComponent("chat-templates.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        #expect(fixture.llama_cpp_commit == "0c1e57098")
        #expect(fixture.cases.count >= 40)
        for testCase in fixture.cases {
            do {
                let template = try ChatTemplate(source: testCase.template)
                let output = try template.render(
                    messages: testCase.messages.map { ChatMessage(role: $0.role, content: $0.content) },
                    addGenerationPrompt: testCase.add_generation_prompt, bosToken: testCase.bos_token,
                    eosToken: testCase.eos_token, extra: testCase.extra.mapValues { .string($0) })
                #expect(output == testCase.expected,
                        "\(testCase.name): \(Self.firstDifference(output, testCase.expected))")
            } catch {
                Issue.record("\(testCase.name): \(error)")
            }
        }
    }

    /// Undoes Python's `repr()` of a string (the reference file stores renderings that way).
    static func pythonUnrepr(_ text: String) -> String {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        body = body.dropFirst().dropLast()  // quotes
        var result = ""
        var iterator = body.makeIterator()
        while let character = iterator.next() {
            guard character == "\\", let escaped = iterator.next() else {
                result.append(character)
                continue
            }
            switch escaped {
            case "n": result.append("\n")
            case "t": result.append("\t")
            case "r": result.append("\r")
            default: result.append(escaped)
            }
        }
        return result
    }

    @Test func smolLM2TemplateFromGGUFMatchesLlamaCppRendering() throws {
        let gguf = try GGUFFile(path: try TestModels.smolLM2())
        let template = try ChatTemplate(source: try gguf.string("tokenizer.chat_template"))
        let referencePath = TestModels.referenceDirectory + "/llm/chat-template-render.txt"
        var expected: [String: String] = [:]
        for line in try String(contentsOfFile: referencePath, encoding: .utf8).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            expected[String(line[..<equals])] = Self.pythonUnrepr(String(line[line.index(after: equals)...]))
        }

        let withSystem = try template.render(
            messages: [ChatMessage(role: "system", content: "You are a helpful assistant."),
                       ChatMessage(role: "user", content: "What is the capital of France?")],
            addGenerationPrompt: true, bosToken: "<|im_start|>", eosToken: "<|im_end|>")
        #expect(withSystem == expected["JINJA_WITH_SYSTEM"])

        // Without a system message the template inserts its own default system prompt.
        let multiTurn = try template.render(
            messages: [ChatMessage(role: "user", content: "Hi!"),
                       ChatMessage(role: "assistant", content: "Hello! How can I help?"),
                       ChatMessage(role: "user", content: "What is 2+2?")],
            addGenerationPrompt: true, bosToken: "<|im_start|>", eosToken: "<|im_end|>")
        #expect(multiTurn == expected["JINJA_NOSYS_MULTITURN"])
    }

    @Test func raiseExceptionThrowsTypedErrorWithTheTemplatesMessage() throws {
        // google/gemma-7b-it's template refuses system messages.
        let template = try ChatTemplate(source: """
            {% if messages[0]['role'] == 'system' %}
            {{ raise_exception('System role not supported') }}
            {% endif %}ok
            """)
        #expect(throws: ChatTemplateError.raised(message: "System role not supported", line: 2, column: 4)) {
            try template.render(messages: [ChatMessage(role: "system", content: "x")], addGenerationPrompt: true,
                                bosToken: "", eosToken: "")
        }
        let accepted = try template.render(messages: [ChatMessage(role: "user", content: "x")],
                                           addGenerationPrompt: true, bosToken: "", eosToken: "")
        #expect(accepted == "ok")
    }

    @Test func syntaxErrorsReportLineAndColumn() {
        #expect(throws: ChatTemplateError.syntax(message: "expected an expression, found '}}'", line: 2, column: 8)) {
            try ChatTemplate(source: "hello\n{{ 1 + }}")
        }
        #expect(throws: ChatTemplateError.syntax(message: "unexpected end of template: missing {% else %} or {% endfor %}",
                                                 line: 1, column: 31)) {
            try ChatTemplate(source: "{% for m in messages %}{{ m }}")
        }
        #expect(throws: ChatTemplateError.syntax(message: "tag is never closed: add `%}`", line: 1, column: 3)) {
            try ChatTemplate(source: "a {% if x ")
        }
        #expect(throws: ChatTemplateError.syntax(message: "unknown or unsupported tag 'include'", line: 1, column: 4)) {
            try ChatTemplate(source: "{% include 'x' %}")
        }
    }

    @Test func runtimeErrorsAreTypedNotSilent() throws {
        let unknownFilter = try ChatTemplate(source: "{{ 'a' | frobnicate }}")
        #expect(throws: ChatTemplateError.runtime(message: "unknown filter 'frobnicate'", line: 1, column: 8)) {
            try unknownFilter.render(context: [:])
        }
        let undefinedOperand = try ChatTemplate(source: "{{ 'a' + missing }}")
        #expect(throws: ChatTemplateError.self) { try undefinedOperand.render(context: [:]) }
    }
}
