import Foundation
import SparrowRuntime
import Testing
@testable import SparrowDiffusion

/// transformers 5.23.0 CLIPTokenizer's ids for 300 varied strings on the real vocabulary
/// (Fixtures/clip-tokenizer-golden.json, made by Scripts/make-clip-tokenizer-goldens.py).
struct CLIPTokenizerGolden: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int32]
        let ids77: [Int32]
        let openCLIP: [Int32]?
    }
    let command: String
    let versions: [String: String]
    let cases: [Case]

    static func load() throws -> CLIPTokenizerGolden {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/clip-tokenizer-golden.json")
        return try JSONDecoder().decode(CLIPTokenizerGolden.self, from: Data(contentsOf: url))
    }
}

@Suite struct CLIPTokenizerTests {
    /// open_clip's vocabulary in the model store (weights-manifest entry clip-bpe-vocab).
    static func vocabularyPath() throws -> String {
        let path = ModelStore.path(id: "clip-bpe-vocab", fileName: "bpe_simple_vocab_16e6.txt")
        try #require(FileManager.default.fileExists(atPath: path), "clip-bpe-vocab is not fetched: run Scripts/fetch-models.sh clip-bpe-vocab")
        return path
    }

    static func openCLIPTokenizer() throws -> CLIPTokenizer {
        try CLIPTokenizer(openCLIPVocabulary: vocabularyPath())
    }

    /// A fresh temporary folder (removed by the caller).
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-clip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes a diffusers tokenizer folder (vocab.json, merges.txt with its header) for the open_clip
    /// vocabulary, so both loaders can be compared on the same data.
    static func writeDiffusersFolder(from tokenizer: CLIPTokenizer, vocabularyPath: String, to folder: URL) throws {
        var vocabulary: [String: Int] = [:]
        for (id, token) in tokenizer.tokens.enumerated() { vocabulary[token] = id }
        try JSONSerialization.data(withJSONObject: vocabulary).write(to: folder.appendingPathComponent("vocab.json"))
        let lines = try String(contentsOfFile: vocabularyPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let merges = lines[1...CLIPTokenizer.openCLIPMergeCount].joined(separator: "\n")
        try ("#version: 0.2\n" + merges + "\n").write(to: folder.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
    }

    @Test func encodeMatchesTransformersOnTheGoldenCorpus() throws {
        let golden = try CLIPTokenizerGolden.load()
        let tokenizer = try Self.openCLIPTokenizer()
        #expect(golden.cases.count == 300)
        var failures = 0
        for item in golden.cases {
            let ids = tokenizer.encode(item.text)
            if ids != item.ids {
                failures += 1
                Issue.record("encode(\(item.text.debugDescription)) = \(ids), transformers: \(item.ids)")
            }
            // transformers pads with <|endoftext|> (SD 1.x); the open_clip loader pads with "!".
            let padded = tokenizer.tokenize(item.text)
            let used = min(item.ids.count + 2, CLIPTokenizer.contextLength)
            #expect(padded.count == 77 && Array(padded[..<used]) == Array(item.ids77[..<used]), "tokenize(\(item.text.debugDescription))")
            #expect(padded[used...].allSatisfy { $0 == tokenizer.padToken } && item.ids77[used...].allSatisfy { $0 == tokenizer.endToken })
        }
        #expect(failures == 0)
    }

    @Test func diffusersFolderAndOpenCLIPFileGiveTheSameIds() throws {
        let golden = try CLIPTokenizerGolden.load()
        let path = try Self.vocabularyPath()
        let openCLIP = try CLIPTokenizer(openCLIPVocabulary: path)
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.writeDiffusersFolder(from: openCLIP, vocabularyPath: path, to: folder)

        let diffusers = try CLIPTokenizer(directory: folder.path)
        #expect(diffusers.tokens == openCLIP.tokens)
        #expect(diffusers.startToken == 49406 && diffusers.endToken == 49407)
        #expect(diffusers.padToken == 49407, "SD 1.x folders pad with <|endoftext|>")
        #expect(openCLIP.padToken == 0, "open_clip pads with zeros, i.e. \"!\"")
        for item in golden.cases {
            #expect(diffusers.tokenize(item.text) == item.ids77, "\(item.text.debugDescription)")
        }

        // SD 2.x folders name "!" as the pad token, as a string or as an AddedToken object.
        try #"{"pad_token": "!", "model_max_length": 77}"#.write(
            to: folder.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        #expect(try CLIPTokenizer(directory: folder.path).padToken == 0)
        try #"{"pad_token": {"content": "!", "lstrip": false, "normalized": true}}"#.write(
            to: folder.appendingPathComponent("special_tokens_map.json"), atomically: true, encoding: .utf8)
        let sd2 = try CLIPTokenizer(vocabularyFile: folder.appendingPathComponent("vocab.json").path,
                                    mergesFile: folder.appendingPathComponent("merges.txt").path,
                                    configurationFile: folder.appendingPathComponent("special_tokens_map.json").path)
        #expect(sd2.tokenize("a cat") == [49406, 320, 2368, 49407] + [Int32](repeating: 0, count: 73))
        try #"{"model_max_length": 77}"#.write(
            to: folder.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        #expect(try CLIPTokenizer(directory: folder.path).padToken == 0, "pad from special_tokens_map.json")
    }

    @Test func tokenizeTruncatesKeepingTheEndTokenLast() throws {
        let tokenizer = try Self.openCLIPTokenizer()
        let cat: Int32 = 2368
        let fits = tokenizer.tokenize(Array(repeating: "cat", count: 75).joined(separator: " "))
        #expect(fits == [49406] + [Int32](repeating: cat, count: 75) + [49407])
        let cut = tokenizer.tokenize(Array(repeating: "cat", count: 200).joined(separator: " "))
        #expect(cut.count == 77 && cut[76] == 49407 && cut[75] == cat)
        #expect(tokenizer.tokenize("", length: 5) == [49406, 49407, 0, 0, 0])
        #expect(tokenizer.tokenize("a photo of a cat", length: 4) == [49406, 320, 1125, 49407])
        #expect(tokenizer.tokenize("<|endoftext|>", length: 4) == [49406, 49407, 49407, 0])
        var sd1 = tokenizer
        sd1.padToken = sd1.endToken
        #expect(sd1.tokenize("", length: 4) == [49406, 49407, 49407, 49407])
    }

    @Test func concurrentTokenizeAgreesWithTheGoldens() throws {
        let golden = try CLIPTokenizerGolden.load()
        let tokenizer = try Self.openCLIPTokenizer()  // one shared word cache
        let mismatches = Mismatches()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for item in golden.cases.shuffled() where tokenizer.encode(item.text) != item.ids {
                mismatches.add("\(worker): \(item.text.debugDescription)")
            }
        }
        #expect(mismatches.all.isEmpty)
    }

    @Test func decodeInvertsEncodeForCleanText() throws {
        let tokenizer = try Self.openCLIPTokenizer()
        for text in ["a photo of a cat", "東京タワー at night", "naïve café 😀"] {
            #expect(tokenizer.decode(tokenizer.encode(text)) == text.lowercased())
        }
    }

    @Test func corruptFilesAreTypedErrors() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func file(_ name: String, _ text: String) throws -> String {
            let url = folder.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        let missing = folder.appendingPathComponent("absent.txt").path
        #expect(throws: CLIPTokenizerError.fileNotFound(file: missing)) { try CLIPTokenizer(openCLIPVocabulary: missing) }

        let short = try file("short.txt", "\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n")
        #expect(throws: CLIPTokenizerError.wrongVocabularySize(file: short, found: 517, expected: 49408)) {
            try CLIPTokenizer(openCLIPVocabulary: short)
        }

        // A real vocabulary with one merge line broken.
        var lines = try String(contentsOfFile: Self.vocabularyPath(), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        lines[10] = "broken"
        let broken = try file("broken.txt", lines.joined(separator: "\n"))
        #expect(throws: CLIPTokenizerError.malformedMerge(file: broken, line: 11, text: "broken", reason: "found 1 symbols")) {
            try CLIPTokenizer(openCLIPVocabulary: broken)
        }

        let badJSON = try file("vocab.json", "{\"a\": 1,")
        let merges = try file("merges.txt", "#version: 0.2\n")
        #expect {
            try CLIPTokenizer(vocabularyFile: badJSON, mergesFile: merges)
        } throws: { error in
            guard case .invalidJSON(let f, _) = error as? CLIPTokenizerError else { return false }
            return f == badJSON
        }
        let tiny = try file("tiny.json", #"{"a": 0, "b": 1, "ab": 2}"#)
        #expect(throws: CLIPTokenizerError.wrongVocabularySize(file: tiny, found: 3, expected: 49408)) {
            try CLIPTokenizer(vocabularyFile: tiny, mergesFile: merges)
        }

        // The real vocabulary with a merge whose symbols it lacks, and a pad token it lacks.
        let real = try Self.openCLIPTokenizer()
        try Self.writeDiffusersFolder(from: real, vocabularyPath: Self.vocabularyPath(), to: folder)
        let vocabulary = folder.appendingPathComponent("vocab.json").path
        let foreign = try file("foreign.txt", "#version: 0.2\ni n\n☃ x\n")
        #expect(throws: CLIPTokenizerError.unknownMergeSymbol(file: foreign, line: 3, symbol: "☃")) {
            try CLIPTokenizer(vocabularyFile: vocabulary, mergesFile: foreign)
        }
        let config = try file("tokenizer_config.json", #"{"pad_token": "<pad>"}"#)
        #expect(throws: CLIPTokenizerError.invalidVocabulary(file: vocabulary, reason: "required token \"<pad>\" is missing")) {
            try CLIPTokenizer(vocabularyFile: vocabulary, mergesFile: folder.appendingPathComponent("merges.txt").path,
                              configurationFile: config)
        }
        let numericPad = try file("special_tokens_map.json", #"{"pad_token": 0}"#)
        #expect(throws: CLIPTokenizerError.invalidJSON(file: numericPad, reason: "pad_token must be a string or {\"content\": string}, found a number")) {
            try CLIPTokenizer(vocabularyFile: vocabulary, mergesFile: folder.appendingPathComponent("merges.txt").path,
                              configurationFile: numericPad)
        }
        // Every message says what to do.
        #expect(CLIPTokenizerError.fileNotFound(file: missing).description.contains("fetch-models.sh clip-bpe-vocab"))
    }
}

/// Texts a concurrent test saw mismatch, collected under a lock.
private final class Mismatches: @unchecked Sendable {
    private var texts: [String] = []
    private let lock = NSLock()
    func add(_ text: String) { lock.lock(); texts.append(text); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return texts }
}
