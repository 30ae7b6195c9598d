import Foundation
import SparrowRuntime

/// A Hugging Face model folder as `save_pretrained` writes it: `config.json`, optional
/// `generation_config.json` and `tokenizer_config.json` (or `chat_template.jinja`), tokenizer files, and
/// safetensors weights (`model.safetensors`, or shards listed by `model.safetensors.index.json`).
///
/// The JSON files are parsed strictly (`JSONValue`: duplicate keys and malformed text are errors);
/// every error is a `FormatError` naming the file and the key.
public struct HuggingFaceFolder: @unchecked Sendable {
    /// The folder.
    public let path: String
    /// `config.json`.
    public let config: HuggingFaceJSON
    /// `generation_config.json`, nil when absent.
    public let generationConfig: HuggingFaceJSON?
    /// `tokenizer_config.json`, nil when absent.
    public let tokenizerConfig: HuggingFaceJSON?
    /// The weights (mapped; nothing is read until a model asks for a tensor).
    public let checkpoint: SafetensorsCheckpoint

    /// JSON files larger than this are refused (config files are a few kB; tokenizer_config.json with
    /// a long added-token table a few MB).
    public static let maxJSONBytes = 64 << 20

    /// Whether `path` is a directory (so `LoadedModel(path:)` reads it as a Hugging Face folder).
    public static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Reads the folder's JSON files and opens (maps) its safetensors checkpoint.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path + "/config.json") else {
            throw FormatError(file: path, offset: nil, message: "no config.json: not a Hugging Face model folder")
        }
        config = try HuggingFaceJSON(path: path + "/config.json")
        generationConfig = try HuggingFaceJSON(optionalPath: path + "/generation_config.json")
        tokenizerConfig = try HuggingFaceJSON(optionalPath: path + "/tokenizer_config.json")
        checkpoint = try SafetensorsCheckpoint(folder: path)
    }

    /// The model class `config.json` names (`architectures[0]`, e.g. "LlamaForCausalLM").
    public func architecture() throws -> String {
        guard let list = config.value["architectures"]?.arrayValue, let first = list.first?.stringValue else {
            throw FormatError(file: config.path, offset: nil, message: "'architectures' must be a non-empty list of class names")
        }
        return first
    }

    /// The chat template: `chat_template.jinja` if present, else `chat_template` in
    /// tokenizer_config.json (a string, or a list of `{name, template}` of which "default" is used);
    /// nil for base models without one.
    public func chatTemplateSource() throws -> String? {
        let jinjaPath = path + "/chat_template.jinja"
        if FileManager.default.fileExists(atPath: jinjaPath) {
            let file = try MappedFile(path: jinjaPath)
            guard file.count <= Self.maxJSONBytes else {
                throw FormatError(file: jinjaPath, offset: nil, message: "chat template of \(file.count) bytes is too large")
            }
            guard let text = String(validating: try file.bytes(at: 0, count: file.count), as: UTF8.self) else {
                throw FormatError(file: jinjaPath, offset: nil, message: "chat template is not valid UTF-8")
            }
            return text
        }
        guard let tokenizerConfig, let value = tokenizerConfig.value["chat_template"], !value.isNull else { return nil }
        if let text = value.stringValue { return text }
        if let named = value.arrayValue {
            for entry in named where entry["name"]?.stringValue == "default" {
                if let text = entry["template"]?.stringValue { return text }
            }
            throw FormatError(file: tokenizerConfig.path, offset: nil, message: "'chat_template' is a list without a \"default\" template")
        }
        throw FormatError(file: tokenizerConfig.path, offset: nil, message: "'chat_template' is \(value.kind), expected a string or a list of named templates")
    }

    /// Token ids that end generation: `eos_token_id` of generation_config.json (an id or a list),
    /// else of config.json.
    public func endOfGenerationTokenIDs() throws -> [Int32] {
        for json in [generationConfig, config].compactMap({ $0 }) {
            guard let value = json.value["eos_token_id"], !value.isNull else { continue }
            let list = value.arrayValue ?? [value]
            return try list.map { v in
                guard let id = v.intValue, id >= 0, id <= Int(Int32.max) else {
                    throw FormatError(file: json.path, offset: nil, message: "'eos_token_id' must be a token id or a list of them")
                }
                return Int32(id)
            }
        }
        return []
    }
}

/// A parsed JSON file of a model folder with typed, error-naming accessors for its top-level keys.
public struct HuggingFaceJSON: @unchecked Sendable {
    public let path: String
    public let value: JSONValue

    /// Parses the JSON object at `path`.
    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        guard file.count <= HuggingFaceFolder.maxJSONBytes else {
            throw FormatError(file: path, offset: nil, message: "\(file.count) bytes is too large for a model configuration file")
        }
        value = try JSONValue.parse(try file.bytes(at: 0, count: file.count), file: path)
        guard value.objectValue != nil else {
            throw FormatError(file: path, offset: 0, message: "expected a JSON object, found \(value.kind)")
        }
    }

    /// Parses the file when it exists, else nil.
    public init?(optionalPath path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        try self.init(path: path)
    }

    private func fail(_ key: String, _ problem: String) -> FormatError {
        FormatError(file: path, offset: nil, message: "'\(key)' \(problem)")
    }

    /// The member `key`, nil when absent or null.
    public subscript(key: String) -> JSONValue? {
        guard let v = value[key], !v.isNull else { return nil }
        return v
    }

    /// An integer key that must be present.
    public func int(_ key: String) throws -> Int {
        guard let v = self[key] else { throw fail(key, "is missing") }
        guard let i = v.intValue else { throw fail(key, "is \(v.kind), expected an integer") }
        return i
    }

    /// An optional integer key.
    public func int(_ key: String, default fallback: Int) throws -> Int {
        self[key] == nil ? fallback : try int(key)
    }

    /// An optional number key.
    public func double(_ key: String, default fallback: Double) throws -> Double {
        guard let v = self[key] else { return fallback }
        guard let d = v.doubleValue, d.isFinite else { throw fail(key, "is \(v.kind), expected a finite number") }
        return d
    }

    /// An optional bool key.
    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let v = self[key] else { return fallback }
        guard let b = v.boolValue else { throw fail(key, "is \(v.kind), expected true or false") }
        return b
    }

    /// An optional string key.
    public func string(_ key: String) throws -> String? {
        guard let v = self[key] else { return nil }
        guard let s = v.stringValue else { throw fail(key, "is \(v.kind), expected a string") }
        return s
    }
}
