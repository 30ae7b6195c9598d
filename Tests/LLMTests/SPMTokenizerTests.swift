import Foundation
import Testing
import SparrowLLM
import SparrowRuntime

/// SPM (`tokenizer.ggml.model = "llama"`) against llama.cpp: its tokenizer test vectors for the Llama
/// and Phi-3 vocab-only GGUFs, ids llama.cpp gives with the Gemma-3 vocabulary
/// (Fixtures/gemma3-tokenizer.json, made by Scripts/make-gemma3-tokenizer-golden.py), and the
/// round-trip invariants of llama.cpp's tests/test-tokenizer-1-spm.cpp.
@Suite struct SPMTokenizerTests {
    static func vocab(_ name: String) throws -> SPMTokenizer {
        try SPMTokenizer(gguf: GGUFFile(path: TokenizerTests.vocabFile(name)))
    }

    static let gemma3Path = ModelStore.path(id: "gemma3-270m", fileName: "gemma-3-270m-q4_k_m.gguf")

    static func gemma3() throws -> SPMTokenizer {
        guard FileManager.default.fileExists(atPath: gemma3Path) else { throw TestModels.MissingModel(path: gemma3Path) }
        return try SPMTokenizer(gguf: GGUFFile(path: gemma3Path))
    }

    // MARK: llama.cpp test vectors

    @Test(arguments: ["llama-spm", "phi-3"])
    func vocabFileEncodesLlamaCppTestStrings(name: String) throws {
        let path = try TokenizerTests.vocabFile(name)
        let tokenizer = try makeTokenizer(gguf: GGUFFile(path: path))
        #expect(tokenizer is SPMTokenizer)
        let cases = try VocabTestCases(input: path + ".inp", output: path + ".out")
        #expect(cases.count == 46)
        for (text, expected) in cases.cases {
            // test-tokenizer-0 tokenizes with add_special = false, parse_special = false.
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            #expect(ids == expected, "\(name): encoding \(text.debugDescription)")
            #expect(tokenizer.decode(ids, renderSpecial: false) == text, "\(name): round trip of \(text.debugDescription)")
        }
    }

    static func golden() throws -> Golden {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/gemma3-tokenizer.json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    @Test func gemma3EncodesAsLlamaCpp() throws {
        let tokenizer = try Self.gemma3()
        let golden = try Self.golden()
        #expect(golden.cases.count == 58)
        for c in golden.cases {
            let ids = tokenizer.encode(c.text, addSpecial: c.addSpecial, parseSpecial: c.parseSpecial)
            #expect(ids == c.ids, "encoding \(c.text.debugDescription) (addSpecial \(c.addSpecial), parseSpecial \(c.parseSpecial))")
            if !c.addSpecial {
                #expect(tokenizer.decode(ids, renderSpecial: c.parseSpecial) == c.text, "round trip of \(c.text.debugDescription)")
            }
        }
    }

    /// Phi-3's special tokens strip the whitespace after them (llama.cpp sets that attribute by the
    /// model name); the texts and ids come from the same fixture.
    @Test func phi3SpecialTokensStripFollowingWhitespace() throws {
        let tokenizer = try Self.vocab("phi-3")
        let cases = try Self.golden().phi3Cases
        #expect(cases.count == 3)
        for c in cases {
            #expect(tokenizer.encode(c.text, addSpecial: c.addSpecial, parseSpecial: c.parseSpecial) == c.ids, "encoding \(c.text.debugDescription)")
        }
        #expect(tokenizer.endOfGenerationTokenIDs == [2, 32000, 32007])  // </s> by its text, <|endoftext|> (EOS), <|end|>
    }

    struct Golden: Decodable {
        struct Case: Decodable {
            let text: String
            let addSpecial: Bool
            let parseSpecial: Bool
            let ids: [Int32]
        }
        let cases: [Case]
        let phi3Cases: [Case]
    }

    // MARK: Rules of the vocabulary

    @Test func llamaSPMAddsBOSAndSpacePrefixAndDecodeDropsIt() throws {
        let tokenizer = try Self.vocab("llama-spm")
        #expect(tokenizer.vocabularySize == 32000)
        #expect(tokenizer.addBOS && !tokenizer.addEOS && tokenizer.addSpacePrefix)
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2 && tokenizer.unknownTokenID == 0)
        #expect(tokenizer.endOfGenerationTokenIDs == [2])  // </s>
        let hello = tokenizer.encode("Hello world", addSpecial: true, parseSpecial: false)
        #expect(hello == [1, 15043, 3186])  // <s> ▁Hello ▁world
        #expect(tokenizer.decode(Array(hello.dropFirst()), renderSpecial: false) == "Hello world")
        // After BOS the prefix space is kept, as llama.cpp's detokenize does without remove_special.
        #expect(tokenizer.decode(hello, renderSpecial: false) == " Hello world")
        #expect(tokenizer.decode(hello, renderSpecial: true) == "<s> Hello world")
        // The text of a control token is ordinary text unless special tokens are parsed.
        #expect(tokenizer.encode("<s>", addSpecial: false, parseSpecial: true) == [1])
        #expect(!tokenizer.encode("<s>", addSpecial: false, parseSpecial: false).contains(1))
        // Byte fallback: a character with no token becomes its UTF-8 bytes.
        #expect(tokenizer.encode("\u{1F999}", addSpecial: false, parseSpecial: false) == [29871, 243, 162, 169, 156])
        #expect(tokenizer.tokenText(13) == "<0x0A>" && tokenizer.tokenBytes(13, renderSpecial: false) == [0x0A])
        #expect(tokenizer.tokenBytes(15043, renderSpecial: false) == Array(" Hello".utf8))
        #expect(tokenizer.tokenBytes(1, renderSpecial: false).isEmpty)
        #expect(tokenizer.tokenBytes(32000, renderSpecial: true).isEmpty)
        #expect(tokenizer.tokenID("▁Hello") == 15043)
    }

    @Test func gemma3HasNoSpacePrefixAndEndsOnEndOfTurn() throws {
        let gemma = try Self.gemma3()
        #expect(gemma.vocabularySize == 262_144)
        #expect(!gemma.addSpacePrefix && gemma.addBOS)
        #expect(gemma.bosTokenID == 2 && gemma.eosTokenID == 1)
        #expect(gemma.endOfGenerationTokenIDs.isSuperset(of: [1, 106]))  // <eos>, <end_of_turn>
        #expect(gemma.tokenID("<start_of_turn>") == 105 && gemma.tokenKind(105) == .control)
        #expect(gemma.tokenKind(107) == .userDefined)  // "\n"
    }

    // MARK: Invariants of llama.cpp's test-tokenizer-1-spm

    @Test func everyTokenSurvivesDecodeEncodeDecode() throws {
        let tokenizer = try Self.vocab("llama-spm")
        for id in 0..<Int32(tokenizer.vocabularySize) {
            let text = tokenizer.decode([id], renderSpecial: true)
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
            #expect(tokenizer.decode(ids, renderSpecial: true) == text, "token \(id) \(tokenizer.tokenText(id).debugDescription)")
        }
    }

    @Test func codepointsSurviveEncodeDecode() throws {
        let tokenizer = try Self.vocab("llama-spm")
        // Every 7th scalar value (test-tokenizer-1-spm tries them all; skipping keeps this test quick),
        // except U+2581, which decodes to a space, and the ranges that test skips.
        for value in stride(from: UInt32(1), to: 0x110000, by: 7) where value != 0x2581 && !(0x40000...0xE0000).contains(value) {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = String(Character(scalar))
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
            #expect(tokenizer.decode(ids, renderSpecial: true) == text, "U+\(String(value, radix: 16))")
        }
    }
}
