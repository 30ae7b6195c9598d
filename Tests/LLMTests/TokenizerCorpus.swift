import Foundation
import SparrowRuntime

/// Fixtures/tokenizers/corpus.json: a varied text corpus and the ids reference encoders give for it
/// (made by Scripts/make-tokenizer-corpus.py; its header records the command and library versions).
struct TokenizerCorpus: Decodable {
    struct Header: Decodable {
        let command: String
        let sentencepiece: String
        let tokenizers: String
    }

    /// Ids (and decodings) the Hugging Face `tokenizers` library gives for one tokenizer.json.
    struct Expected: Decodable {
        let texts: [[Int32]]
        let specialTexts: [[Int32]]
        let decoded: [String]
    }

    struct MetaspaceVariant: Decodable {
        let replacements: [[String]]
        let texts: [[Int32]]
        let specialTexts: [[Int32]]
        let decoded: [String]
    }

    struct Tiny: Decodable {
        let texts: [String]
        let ids: [String: [[Int32]]]
    }

    let header: Header
    let texts: [String]
    let specialTexts: [String]
    /// Model id (weights-manifest) -> ids by Python sentencepiece, per text.
    let sentencepiece: [String: [[Int32]]]
    /// Fixture file name -> ids by `tokenizers`.
    let tokenizerJSON: [String: Expected]
    let metaspaceVariant: MetaspaceVariant
    let tiny: Tiny

    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizers")
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func load() throws -> TokenizerCorpus {
        try JSONDecoder().decode(TokenizerCorpus.self, from: Data(contentsOf: directory.appendingPathComponent("corpus.json")))
    }

    /// The four mistral-common SentencePiece models, by manifest id.
    static let sentencePieceModelIDs = [
        "mistral-7b-v0.1-tokenizer", "mistral-instruct-v2-tokenizer", "mistral-instruct-v3-tokenizer", "mistral-instruct-v7-tokenizer",
    ]

    /// A scratch folder under the temporary directory, removed by the caller.
    static func scratchFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-hftok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
