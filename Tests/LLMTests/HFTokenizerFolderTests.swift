import Foundation
import SparrowLLM
import SparrowRuntime
import Testing

/// `makeTokenizer(folder:)` and the errors of malformed Hugging Face tokenizer files.
@Suite struct HFTokenizerFolderTests {
    static func folder(_ files: [String: String], links: [String: String] = [:]) throws -> URL {
        let url = try TokenizerCorpus.scratchFolder()
        for (name, text) in files { try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        for (name, target) in links {
            try FileManager.default.createSymbolicLink(atPath: url.appendingPathComponent(name).path, withDestinationPath: target)
        }
        return url
    }

    @Test func hfTokenizerFolderPrefersTokenizerJSONAndReadsConfig() throws {
        let config = #"{"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>", "eos_token": {"content": "</s>", "special": true}, "model_max_length": 32768}"#
        let model = try ModelStore.resolve(modelArgument: "mistral-7b-v0.1-tokenizer")
        let url = try Self.folder(["tokenizer_config.json": config],
                                  links: ["tokenizer.json": TokenizerCorpus.path("mistral-v1.tokenizer.json"), "tokenizer.model": model])
        defer { try? FileManager.default.removeItem(at: url) }
        let tokenizer = try makeTokenizer(folder: url.path)
        #expect(tokenizer is SentencePieceBPETokenizer)
        #expect(tokenizer.addBOS && !tokenizer.addEOS && tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
        #expect(tokenizer.encode("Hello world, how are you?", addSpecial: true, parseSpecial: false) == [1, 22557, 1526, 28725, 910, 460, 368, 28804])
        #expect(tokenizer.endOfGenerationTokenIDs.contains(2))
    }

    @Test func hfTokenizerFolderFallsBackToTokenizerModel() throws {
        let model = try ModelStore.resolve(modelArgument: "mistral-instruct-v3-tokenizer")
        let url = try Self.folder(["tokenizer_config.json": #"{"add_bos_token": false, "add_eos_token": true}"#], links: ["tokenizer.model": model])
        defer { try? FileManager.default.removeItem(at: url) }
        let tokenizer = try makeTokenizer(folder: url.path)
        let spm = try #require(tokenizer as? SentencePieceTokenizer)
        #expect(tokenizer.encode("Hi", addSpecial: true, parseSpecial: false) == spm.encode("Hi") + [2])
    }

    @Test func hfTokenizerFolderWithoutTokenizerIsATypedError() throws {
        let url = try Self.folder(["config.json": "{}"])
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: HFTokenizerError.noTokenizer(folder: url.path)) { try makeTokenizer(folder: url.path) }
    }

    /// Each malformed file gives the error that names its file and field.
    @Test func hfTokenizerMalformedFilesNameFileAndField() throws {
        let bpe = #""model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#
        let cases: [(String, (String) -> HFTokenizerError)] = [
            (#"{"model": {"type": "BPE", "vocab": {"a": 0"#, { .malformedJSON(file: $0, offset: 42, reason: "unexpected end of file in an object") }),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}}}"#, { .missingField(file: $0, field: "model.merges") }),
            (#"{"version": "1.0"}"#, { .missingField(file: $0, field: "model") }),
            (#"{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}"#,
             { .wrongType(file: $0, field: "model.vocab.a", expected: "a non-negative integer below 2^31", found: "a string") }),
            (#"{"model": {"type": "WordPiece", "vocab": {}}}"#, { .unsupported(file: $0, field: "model.type", value: "WordPiece", supported: ["BPE"]) }),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}}"#,
             { .wrongType(file: $0, field: "model.merges[0]", expected: "\"A B\" or [\"A\", \"B\"]", found: "a number") }),
            ("{\(bpe), \"added_tokens\": [{\"id\": 1, \"content\": \"zz\"}]}", {
                .invalid(file: $0, field: "added_tokens[0]", reason: "id 1 is given to both \"b\" and \"zz\"") }),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#,
             { .invalid(file: $0, field: "model.merges[0]", reason: "\"a b\" is not two vocabulary tokens whose concatenation is a token") }),
            ("{\(bpe), \"pre_tokenizer\": {\"type\": \"Whitespace\"}}", {
                .unsupported(file: $0, field: "pre_tokenizer", value: "Whitespace",
                             supported: ["ByteLevel", "Split(regex) + ByteLevel", "Digits + ByteLevel", "Metaspace", "none"]) }),
            ("{\(bpe), \"normalizer\": {\"type\": \"Lowercase\"}}", {
                .unsupported(file: $0, field: "normalizer.type", value: "Lowercase", supported: ["NFC", "NFKC", "Prepend", "Replace", "Sequence"]) }),
        ]
        let url = try TokenizerCorpus.scratchFolder()
        defer { try? FileManager.default.removeItem(at: url) }
        for (i, (text, error)) in cases.enumerated() {
            let path = url.appendingPathComponent("case\(i).json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: error(path), "case \(i)") { try makeTokenizer(tokenizerJSON: path) }
        }
        // A config naming a BOS token the vocabulary lacks.
        let configPath = url.appendingPathComponent("tokenizer_config.json").path
        try #"{"bos_token": 5}"#.write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(throws: HFTokenizerError.wrongType(file: configPath, field: "bos_token", expected: "a string or an object with 'content'", found: "a number")) {
            try HFTokenizerConfig(contentsOf: configPath)
        }
        let config = HFTokenizerConfig(bosToken: "<nope>")
        #expect(throws: HFTokenizerError.invalid(file: "tokenizer_config.json", field: "bos_token",
                                                 reason: "\"<nope>\" is not a token of \(TokenizerCorpus.path("tiny-plain.tokenizer.json"))")) {
            try makeTokenizer(tokenizerJSON: TokenizerCorpus.path("tiny-plain.tokenizer.json"), config: config)
        }
    }

    /// Byte-exact vocabulary: canonically equivalent but distinct strings stay distinct tokens.
    @Test func hfTokenizerVocabularyKeepsCanonicallyEquivalentTokensApart() throws {
        let text = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"\u{00C5}\": 0, \"\u{212B}\": 1, \"e\u{0301}\": 2, \"\u{00E9}\": 3}, \"merges\": []}}"
        let url = try TokenizerCorpus.scratchFolder()
        defer { try? FileManager.default.removeItem(at: url) }
        let path = url.appendingPathComponent("tokenizer.json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let tokenizer = try makeTokenizer(tokenizerJSON: path)
        #expect(tokenizer.vocabularySize == 4)
        #expect(tokenizer.encode("\u{212B}\u{00C5}\u{00E9}", addSpecial: false, parseSpecial: false) == [1, 0, 3])
    }
}
