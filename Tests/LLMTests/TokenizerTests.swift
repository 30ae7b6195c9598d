import Foundation
import Testing
import SparrowLLM
import SparrowRuntime

/// Byte-level BPE against llama.cpp: its tokenizer test strings and expected ids (SmolLM2's own file
/// and llama.cpp's vocab-only GGUFs), the ids of a real chat prompt, and invariants (decode inverts
/// encode; streaming equals one-shot decode).
@Suite struct TokenizerTests {
    // MARK: SmolLM2 (the real model file)

    static func smolLM2() throws -> BPETokenizer {
        try BPETokenizer(gguf: GGUFFile(path: TestModels.smolLM2()))
    }

    @Test func smolLM2EncodesLlamaCppTestStringsToReferenceIDs() throws {
        let tokenizer = try Self.smolLM2()
        let dir = TestModels.referenceDirectory + "/llm"
        let cases = try VocabTestCases(input: dir + "/smollm2-tokenizer.inp", output: dir + "/smollm2-tokenizer.out")
        #expect(cases.count == 46)
        for (text, expected) in cases.cases {
            // test-tokenizer-0 tokenizes with add_special = false, parse_special = false.
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            #expect(ids == expected, "encoding \(text.debugDescription)")
            #expect(tokenizer.decode(ids, renderSpecial: false) == text, "round trip of \(text.debugDescription)")
        }
    }

    @Test func smolLM2ChatPromptMatchesLlamaCppPromptIDs() throws {
        let tokenizer = try Self.smolLM2()
        let reference = try ChatReference(path: TestModels.referenceDirectory + "/llm/greedy-q4_1-chat.txt")
        let ids = tokenizer.encode(reference.prompt, addSpecial: true, parseSpecial: true)
        #expect(ids == reference.promptIDs)
        #expect(tokenizer.decode(ids, renderSpecial: true) == reference.prompt)
        #expect(tokenizer.decode(reference.generatedIDs, renderSpecial: true) == reference.generatedText)
        // Without parseSpecial the markers are ordinary text.
        let plain = tokenizer.encode(reference.prompt, addSpecial: false, parseSpecial: false)
        #expect(!plain.contains(1) && !plain.contains(2))
        #expect(tokenizer.decode(plain, renderSpecial: false) == reference.prompt)
    }

    @Test func smolLM2SpecialTokensFollowLlamaCppRules() throws {
        let tokenizer = try Self.smolLM2()
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
        #expect(!tokenizer.addBOS && !tokenizer.addEOS)  // tokenizer.ggml.add_bos_token = false
        // EOS <|im_end|> (2); <|endoftext|> (0) by its text; <reponame> (4) as the FIM repo token.
        #expect(tokenizer.endOfGenerationTokenIDs == [0, 2, 4])
        #expect(tokenizer.tokenID("<|im_end|>") == 2)
        #expect(tokenizer.tokenText(2) == "<|im_end|>")
        #expect(tokenizer.tokenText(198) == "Ċ")  // byte-level "\n"
        #expect(tokenizer.tokenBytes(198, renderSpecial: false) == [0x0A])
        #expect(tokenizer.tokenBytes(2, renderSpecial: false).isEmpty)
        #expect(tokenizer.tokenBytes(2, renderSpecial: true) == Array("<|im_end|>".utf8))
        #expect(tokenizer.tokenBytes(-1, renderSpecial: true).isEmpty)
        #expect(tokenizer.tokenBytes(49152, renderSpecial: true).isEmpty)
        #expect(tokenizer.preTokenizer == .starcoder && tokenizer.preTokenizerName == "smollm")
    }

    @Test func streamingDetokenizerYieldsOnlyCompleteCharacters() throws {
        let tokenizer = try Self.smolLM2()
        let text = " this is 🦙.cpp — 😶‍🌫️ ok 我想在apple工作"
        let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(stream.append(id)) }
        pieces.append(stream.flush())
        #expect(pieces.joined() == tokenizer.decode(ids, renderSpecial: false))
        #expect(pieces.joined() == text)
        // The llama emoji is split over byte tokens: some appends hold bytes back and return "".
        #expect(pieces.dropLast().contains(""))
        // Nothing returned is a fragment of a character.
        #expect(!pieces.contains { $0.unicodeScalars.contains("\u{FFFD}") })
        for piece in pieces where !piece.isEmpty {
            #expect(Array(piece.utf8) == Array(String(decoding: Array(piece.utf8), as: UTF8.self).utf8))
        }
    }

    @Test func streamingDetokenizerFlushesAnUnfinishedCharacter() throws {
        let tokenizer = try Self.smolLM2()
        let ids = tokenizer.encode("🦙", addSpecial: false, parseSpecial: false)
        #expect(ids.flatMap { tokenizer.tokenBytes($0, renderSpecial: false) } == Array("🦙".utf8))
        try #require(ids.count > 1, "the emoji should span several byte tokens")
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        var out = ""
        for id in ids.dropLast() { out += stream.append(id) }
        #expect(out.isEmpty)
        let fed = ids.dropLast().flatMap { tokenizer.tokenBytes($0, renderSpecial: false) }
        #expect(stream.flush() == String(decoding: fed, as: UTF8.self))
        #expect(stream.flush().isEmpty)
    }

    // MARK: llama.cpp vocab-only GGUFs

    static let llamaCppDirectory = ProcessInfo.processInfo.environment["SPARROW_LLAMA_CPP_DIR"]
        ?? "/work/dl/llamacpp/llama_cpp_python-0.3.36/vendor/llama.cpp"

    static func vocabFile(_ name: String) throws -> String {
        let path = llamaCppDirectory + "/models/ggml-vocab-\(name).gguf"
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingFile(description: "llama.cpp vocab file missing at \(path): unpack the llama-cpp-python==0.3.36 sdist and set SPARROW_LLAMA_CPP_DIR to its vendor/llama.cpp")
        }
        return path
    }

    /// Every BPE vocabulary in llama.cpp's models/ with test vectors, byte-level and Gemma 4's
    /// (bert-bge is WordPiece; llama-spm and phi-3 are SPM, tested in SPMTokenizerTests).
    @Test(arguments: ["gpt-2", "llama-bpe", "qwen2", "starcoder", "mpt", "refact", "command-r",
                      "falcon", "deepseek-coder", "deepseek-llm", "qwen35", "gemma-4"])
    func vocabFileEncodesLlamaCppTestStrings(name: String) throws {
        let path = try Self.vocabFile(name)
        let tokenizer = try makeTokenizer(gguf: GGUFFile(path: path))
        let cases = try VocabTestCases(input: path + ".inp", output: path + ".out")
        #expect(cases.count >= 46)
        for (text, expected) in cases.cases {
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            #expect(ids == expected, "\(name): encoding \(text.debugDescription)")
            #expect(tokenizer.decode(ids, renderSpecial: false) == text, "\(name): round trip of \(text.debugDescription)")
        }
    }

    @Test func llamaBPEAddsBOSAndEndsOnEOT() throws {
        let tokenizer = try BPETokenizer(gguf: GGUFFile(path: Self.vocabFile("llama-bpe")))
        #expect(tokenizer.addBOS)  // no add_bos_token key: llama.cpp's llama3 default
        #expect(tokenizer.encode("Hello", addSpecial: true, parseSpecial: false) == [128000, 9906])
        #expect(tokenizer.endOfGenerationTokenIDs == [128001, 128009])  // <|end_of_text|>, <|eot_id|>
        let header = tokenizer.encode("<|start_header_id|>user<|end_header_id|>", addSpecial: false, parseSpecial: true)
        #expect(header == [128006, 882, 128007])
    }

    // MARK: Pre-tokenizers (expected splits from the Python `regex` module on the patterns)

    @Test func preTokenizersSplitDigitsAsTheirPatternsSay() {
        #expect(PreTokenizer.gpt2.split("1234567") == ["1234567"])
        #expect(PreTokenizer.llama3.split("1234567") == ["123", "456", "7"])
        #expect(PreTokenizer.qwen2.split("1234567") == ["1", "2", "3", "4", "5", "6", "7"])
        #expect(PreTokenizer.starcoder.split("1234567") == ["1", "2", "3", "4", "5", "6", "7"])
        #expect(PreTokenizer.gpt2.split("abc 123") == ["abc", " 123"])
        #expect(PreTokenizer.llama3.split("abc 123") == ["abc", " ", "123"])
        #expect(PreTokenizer.starcoder.split("abc 123") == ["abc", " ", "1", "2", "3"])
        #expect(PreTokenizer.llama3.split("x = 12.5e3;;\r\n  y") == ["x", " =", " ", "12", ".", "5", "e", "3", ";;\r\n", " ", " y"])
        #expect(PreTokenizer.starcoder.split("x = 12.5e3;;\r\n  y") == ["x", " =", " ", "1", "2", ".", "5", "e", "3", ";;", "\r\n ", " y"])
    }

    @Test func preTokenizersSplitWhitespaceAndContractionsAsTheirPatternsSay() {
        #expect(PreTokenizer.gpt2.split("a   b\n\n  c") == ["a", "  ", " b", "\n\n ", " c"])
        #expect(PreTokenizer.llama3.split("a   b\n\n  c") == ["a", "  ", " b", "\n\n", " ", " c"])
        #expect(PreTokenizer.gpt2.split("I'M here's x's") == ["I", "'", "M", " here", "'s", " x", "'s"])
        #expect(PreTokenizer.qwen2.split("I'M here's x's") == ["I", "'M", " here", "'s", " x", "'s"])
        #expect(PreTokenizer.gpt2.split("Hello,  world!\n\n\tok") == ["Hello", ",", " ", " world", "!", "\n\n", "\t", "ok"])
        #expect(PreTokenizer.llama3.split("Hello,  world!\n\n\tok") == ["Hello", ",", " ", " world", "!\n\n", "\tok"])
        #expect(PreTokenizer.gpt2.split("").isEmpty)
    }

    @Test func defaultPreTokenizerIsolatesPunctuationNumbersAndDigitTriples() {
        #expect(PreTokenizer.default.split("x+=1234567; (a|b) `q` ~ok 12.5") ==
            ["x", "+=", "123", "456", "7", ";", " ", "(", "a", "|", "b", ")", " `", "q", "`", " ", "~", "ok", " ", "12", ".", "5"])
        #expect(PreTokenizer.default.split("Hello, world! it's 2024...\n\n  done") ==
            ["Hello", ",", " world", "!", " it", "'", "s", " ", "202", "4", "...", "\n\n ", " done"])
    }

    // MARK: Synthetic vocabularies (hand-written GGUFs)

    @Test func mergeThroughStringMissingFromVocabularyFallsBackToBytes() throws {
        // "a b" makes "ab", which is not a token; "ab c" makes "abc", which is.
        let path = try SyntheticVocab.write(tokens: ["a", "b", "c", "abc"], merges: ["a b", "ab c"])
        let tokenizer = try BPETokenizer(gguf: GGUFFile(path: path))
        #expect(tokenizer.encode("abc", addSpecial: false, parseSpecial: false) == [3])
        #expect(tokenizer.encode("ab", addSpecial: false, parseSpecial: false) == [0, 1])  // byte fallback
        #expect(tokenizer.encode("cab", addSpecial: false, parseSpecial: false) == [2, 0, 1])
        #expect(tokenizer.tokenID("ab") == nil)
    }

    @Test func unsupportedPreTokenizerIsAnErrorNamingSupportedOnes() throws {
        let path = try SyntheticVocab.write(tokens: ["a"], merges: [], pre: "no-such-pre")
        do {
            _ = try BPETokenizer(gguf: GGUFFile(path: path))
            Issue.record("expected an error")
        } catch let error as TokenizerError {
            guard case .unsupportedPreTokenizer(_, let pre, let supported) = error else { Issue.record("\(error)"); return }
            #expect(pre == "no-such-pre")
            #expect(supported.contains("smollm") && supported.contains("llama-bpe") && supported.contains("qwen2"))
            #expect(error.description.contains("tokenizer.ggml.pre"))
        }
    }

    @Test func missingMergesAndBadIDsAreErrorsNamingTheKey() throws {
        let noMerges = try SyntheticVocab.write(tokens: ["a"], merges: nil)
        #expect(throws: TokenizerError.missingKey(file: noMerges, key: "tokenizer.ggml.merges")) {
            try BPETokenizer(gguf: GGUFFile(path: noMerges))
        }
        let badBOS = try SyntheticVocab.write(tokens: ["a"], merges: [], bos: 7)
        #expect(throws: TokenizerError.badTokenID(file: badBOS, key: "tokenizer.ggml.bos_token_id", id: 7, vocabularySize: 1)) {
            try BPETokenizer(gguf: GGUFFile(path: badBOS))
        }
        let wordPiece = try SyntheticVocab.write(tokens: ["a"], merges: [], model: "bert")
        #expect(throws: TokenizerError.unsupportedModel(file: wordPiece, model: "bert", supported: ["gemma4", "gpt2", "llama"])) {
            try makeTokenizer(gguf: GGUFFile(path: wordPiece))
        }
    }
}

struct MissingFile: Error, CustomStringConvertible {
    let description: String
}

/// llama.cpp's tokenizer test vectors: cases in `.inp` separated by "\n__ggml_vocab_test__\n", one line
/// of space-separated ids per case in `.out` (as tests/test-tokenizer-0.cpp reads them).
struct VocabTestCases {
    let cases: [(String, [Int32])]
    var count: Int { cases.count }

    init(input: String, output: String) throws {
        let inputText = try String(contentsOfFile: input, encoding: .utf8)
        let outputText = try String(contentsOfFile: output, encoding: .utf8)
        let separator = "\n__ggml_vocab_test__\n"
        var texts = inputText.components(separatedBy: separator)
        if texts.last == "" { texts.removeLast() }  // the file ends with a separator
        var lines = outputText.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        guard texts.count == lines.count else {
            throw MissingFile(description: "\(input): \(texts.count) cases but \(lines.count) lines of ids in \(output)")
        }
        cases = zip(texts, lines).map { text, line in
            (text, line.split(separator: " ").compactMap { Int32($0) })
        }
    }
}

/// The chat reference written by llama.cpp (../shared/reference/llm/greedy-q4_1-chat.txt).
struct ChatReference {
    let prompt: String
    let promptIDs: [Int32]
    let generatedIDs: [Int32]
    let generatedText: String

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        func value(_ key: String) throws -> String {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + "=") }) else {
                throw MissingFile(description: "\(path): no \(key)= line")
            }
            return String(line.dropFirst(key.count + 1))
        }
        func quoted(_ key: String) throws -> String {
            let raw = try value(key)
            return String(raw.dropFirst().dropLast()).replacingOccurrences(of: "\\n", with: "\n")
        }
        func ids(_ key: String) throws -> [Int32] {
            try value(key).dropFirst().dropLast().split(separator: ",").compactMap { Int32($0) }
        }
        prompt = try quoted("CHAT_PROMPT")
        promptIDs = try ids("PROMPT_IDS")
        generatedIDs = try ids("GEN_IDS")
        generatedText = try quoted("GEN_TEXT")
    }
}

/// Writes tiny vocab-only GGUF v3 files (no tensors) for error and edge-case tests.
enum SyntheticVocab {
    static func write(tokens: [String], merges: [String]?, model: String = "gpt2", pre: String = "gpt-2", bos: UInt32? = nil) throws -> String {
        var kv: [(String, [UInt8])] = [
            ("tokenizer.ggml.model", string(model)),
            ("tokenizer.ggml.pre", string(pre)),
            ("tokenizer.ggml.tokens", stringArray(tokens)),
        ]
        if let merges { kv.append(("tokenizer.ggml.merges", stringArray(merges))) }
        if let bos { kv.append(("tokenizer.ggml.bos_token_id", u32(4) + u32(bos))) }
        var data: [UInt8] = Array("GGUF".utf8) + u32(3) + u64(0) + u64(UInt64(kv.count))
        for (key, value) in kv { data += str(key) + value }
        data += [UInt8](repeating: 0, count: (32 - data.count % 32) % 32)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-vocab-\(UUID().uuidString).gguf").path
        try Data(data).write(to: URL(fileURLWithPath: path))
        return path
    }

    private static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    private static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    private static func str(_ s: String) -> [UInt8] { u64(UInt64(s.utf8.count)) + Array(s.utf8) }
    private static func string(_ s: String) -> [UInt8] { u32(8) + str(s) }
    private static func stringArray(_ a: [String]) -> [UInt8] { u32(9) + u32(8) + u64(UInt64(a.count)) + a.flatMap(str) }
}
