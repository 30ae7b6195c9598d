import SparrowRuntime

/// A language model ready to use: weights, tokenizer and chat template from one GGUF file or one
/// Hugging Face model folder.
public final class LoadedModel {
    /// The GGUF file, nil for a Hugging Face folder.
    public let gguf: GGUFFile?
    public let model: LanguageModel
    public let tokenizer: any Tokenizer
    /// The model's own chat template (`tokenizer.chat_template`, or tokenizer_config.json's
    /// `chat_template`), nil for base models without one.
    public let chatTemplate: ChatTemplate?
    /// `general.name`, or the file or folder name.
    public let name: String
    /// Tokens that end a reply: the tokenizer's end-of-generation tokens, plus a Hugging Face folder's
    /// `eos_token_id`s from generation_config.json (or config.json).
    public let endOfGenerationTokenIDs: Set<Int32>
    /// Bytes of the weight files (the GGUF file, or every safetensors shard).
    public let weightFileBytes: Int
    /// Wall-clock milliseconds the load took (mapping, parsing, tokenizer, template).
    public let loadMilliseconds: Double

    /// Loads a GGUF model file (architecture from `general.architecture`) or, when `path` is a
    /// directory, a Hugging Face model folder (architecture from config.json's `architectures`).
    /// - Parameters:
    ///   - contextLength: KV cache positions (capped by the model's training context).
    ///   - threadCount: threads for every op (nil: all cores).
    public init(path: String, contextLength: Int = 4096, threadCount: Int? = nil) throws {
        let start = OpAccounting.now()
        let context = ExecutionContext(threadCount: threadCount)
        let fileName = String(path.split(separator: "/").last ?? "")
        if HuggingFaceFolder.isFolder(path) {
            let folder = try HuggingFaceFolder(path: path)
            let arch = try folder.architecture()
            switch arch {
            case "LlamaForCausalLM":
                model = try LlamaModel(huggingFace: folder, contextLength: contextLength, context: context)
            default:
                throw ModelError.unsupportedArchitecture(arch, file: folder.config.path)
            }
            gguf = nil
            tokenizer = try makeTokenizer(folder: folder.path)
            chatTemplate = try folder.chatTemplateSource().map { try ChatTemplate(source: $0) }
            name = fileName
            weightFileBytes = folder.checkpoint.shards.reduce(0) { $0 + $1.file.count }
            endOfGenerationTokenIDs = tokenizer.endOfGenerationTokenIDs.union(try folder.endOfGenerationTokenIDs())
        } else {
            let gguf = try GGUFFile(path: path)
            self.gguf = gguf
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
            name = gguf.value("general.name")?.stringValue ?? fileName
            weightFileBytes = gguf.file.count
            endOfGenerationTokenIDs = tokenizer.endOfGenerationTokenIDs
        }
        loadMilliseconds = Double(OpAccounting.now() &- start) / 1e6
    }

    /// The text of a special token id, or "" when absent.
    public func tokenText(_ id: Int32?) -> String {
        id.map { tokenizer.tokenText($0) } ?? ""
    }
}
