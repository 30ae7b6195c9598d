import SparrowRuntime

/// A language model ready to use: weights, tokenizer and chat template from one GGUF file.
public final class LoadedModel {
    public let gguf: GGUFFile
    public let model: LanguageModel
    public let tokenizer: any Tokenizer
    /// The model's own chat template (`tokenizer.chat_template`), nil for base models without one.
    public let chatTemplate: ChatTemplate?
    /// `general.name`, or the file name.
    public let name: String
    /// Wall-clock milliseconds the load took (mapping, parsing, tokenizer, template).
    public let loadMilliseconds: Double

    /// Loads a GGUF model file. The architecture comes from `general.architecture`.
    /// - Parameters:
    ///   - contextLength: KV cache positions (capped by the model's training context).
    ///   - threadCount: threads for every op (nil: all cores).
    public init(path: String, contextLength: Int = 4096, threadCount: Int? = nil) throws {
        let start = OpAccounting.now()
        gguf = try GGUFFile(path: path)
        let context = ExecutionContext(threadCount: threadCount)
        let arch = try gguf.string("general.architecture")
        switch arch {
        case "llama":
            model = try LlamaModel(gguf: gguf, contextLength: contextLength, context: context)
        case "gemma3":
            model = try Gemma3Model(gguf: gguf, contextLength: contextLength, context: context)
        default:
            throw ModelError.unsupportedArchitecture(arch, file: path)
        }
        tokenizer = try makeTokenizer(gguf: gguf)
        if let source = gguf.value("tokenizer.chat_template")?.stringValue {
            chatTemplate = try ChatTemplate(source: source)
        } else {
            chatTemplate = nil
        }
        name = gguf.value("general.name")?.stringValue ?? String(path.split(separator: "/").last ?? "")
        loadMilliseconds = Double(OpAccounting.now() &- start) / 1e6
    }

    /// The text of a special token id, or "" when absent.
    public func tokenText(_ id: Int32?) -> String {
        id.map { tokenizer.tokenText($0) } ?? ""
    }
}
