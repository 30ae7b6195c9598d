import Foundation
import SparrowLLM
import SparrowRuntime
import Testing

/// Hugging Face `tokenizer.json` tokenizers against the `tokenizers` library (0.23.3) on the corpus in
/// Fixtures/tokenizers/corpus.json (Scripts/make-tokenizer-corpus.py).
@Suite struct HFTokenizerTests {
    static func load(_ name: String) throws -> any Tokenizer {
        try makeTokenizer(tokenizerJSON: TokenizerCorpus.path(name))
    }

    /// Legacy Llama layout (Prepend + Replace normalizer, BPE with byte fallback) made from Mistral
    /// v1's tokenizer.model. Added tokens are always parsed by `tokenizers`, so parseSpecial is on.
    @Test func sentencePieceStyleTokenizerJSONMatchesTokenizersLibrary() throws {
        let corpus = try TokenizerCorpus.load()
        let name = "mistral-v1.tokenizer.json"
        let expected = try #require(corpus.tokenizerJSON[name])
        try #require(expected.texts.count == corpus.texts.count && expected.decoded.count == corpus.texts.count
                     && expected.specialTexts.count == corpus.specialTexts.count)
        let tokenizer = try Self.load(name)
        #expect(tokenizer is SentencePieceBPETokenizer)
        #expect(tokenizer.vocabularySize == 32000)
        #expect(!tokenizer.addBOS)  // no post-processor and no tokenizer_config.json
        for (i, text) in corpus.texts.enumerated() {
            let ids = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
            #expect(ids == expected.texts[i], "\(text.debugDescription)")
            #expect(tokenizer.decode(expected.texts[i], renderSpecial: true) == expected.decoded[i], "\(text.debugDescription)")
        }
        for (text, ids) in zip(corpus.specialTexts, expected.specialTexts) {
            #expect(tokenizer.encode(text, addSpecial: false, parseSpecial: true) == ids, "\(text.debugDescription)")
        }
    }

    /// Where no special-token text is involved, the converted tokenizer.json and libsentencepiece on
    /// the original model give the same ids.
    @Test func sentencePieceStyleTokenizerJSONAgreesWithSentencePieceModel() throws {
        let corpus = try TokenizerCorpus.load()
        let reference = try #require(corpus.sentencepiece["mistral-7b-v0.1-tokenizer"])
        let tokenizer = try Self.load("mistral-v1.tokenizer.json")
        var compared = 0
        for (text, ids) in zip(corpus.texts, reference) where !["<s>", "</s>", "<unk>"].contains(where: text.contains) {
            #expect(tokenizer.encode(text, addSpecial: false, parseSpecial: false) == ids, "\(text.debugDescription)")
            compared += 1
        }
        #expect(compared >= corpus.texts.count - 2)
    }

    /// Metaspace layout (prepend_scheme "first", BOS from a TemplateProcessing post-processor),
    /// made from the legacy file by the textual replacements recorded in the corpus.
    @Test func metaspaceTokenizerJSONMatchesTokenizersLibrary() throws {
        let corpus = try TokenizerCorpus.load()
        var text = try String(contentsOfFile: TokenizerCorpus.path("mistral-v1.tokenizer.json"), encoding: .utf8)
        for pair in corpus.metaspaceVariant.replacements {
            try #require(pair.count == 2 && text.contains(pair[0]))
            text = text.replacingOccurrences(of: pair[0], with: pair[1])
        }
        let folder = try TokenizerCorpus.scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("tokenizer.json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let tokenizer = try makeTokenizer(tokenizerJSON: path)
        #expect(tokenizer.addBOS && tokenizer.bosTokenID == 1)
        let variant = corpus.metaspaceVariant
        try #require(variant.texts.count == corpus.texts.count && variant.decoded.count == corpus.texts.count)
        for (i, text) in corpus.texts.enumerated() {
            #expect(tokenizer.encode(text, addSpecial: true, parseSpecial: true) == variant.texts[i], "\(text.debugDescription)")
            // The Metaspace decoder has no ByteFallback step: `tokenizers` prints byte tokens as "<0x0A>";
            // here they are bytes, so only texts without byte tokens are compared.
            if !variant.decoded[i].contains("<0x") {
                #expect(tokenizer.decode(variant.texts[i], renderSpecial: false) == variant.decoded[i], "\(text.debugDescription)")
            }
        }
        for (text, ids) in zip(corpus.specialTexts, variant.specialTexts) {
            #expect(tokenizer.encode(text, addSpecial: true, parseSpecial: true) == ids, "\(text.debugDescription)")
        }
    }

    /// Byte-level BPE (SmolLM2's vocabulary, Digits + ByteLevel pre-tokenizer).
    @Test func byteLevelTokenizerJSONMatchesTokenizersLibrary() throws {
        let corpus = try TokenizerCorpus.load()
        let name = "smollm2.tokenizer.json"
        let expected = try #require(corpus.tokenizerJSON[name])
        try #require(expected.texts.count == corpus.texts.count && expected.decoded.count == corpus.texts.count
                     && expected.specialTexts.count == corpus.specialTexts.count)
        let tokenizer = try Self.load(name)
        #expect((tokenizer as? BPETokenizer)?.preTokenizer == .starcoder)
        for (i, text) in corpus.texts.enumerated() {
            #expect(tokenizer.encode(text, addSpecial: true, parseSpecial: true) == expected.texts[i], "\(text.debugDescription)")
            #expect(tokenizer.decode(expected.texts[i], renderSpecial: true) == expected.decoded[i], "\(text.debugDescription)")
        }
        for (text, ids) in zip(corpus.specialTexts, expected.specialTexts) {
            #expect(tokenizer.encode(text, addSpecial: false, parseSpecial: true) == ids, "\(text.debugDescription)")
        }
    }

    /// The tokenizer.json built from SmolLM2's GGUF vocabulary tokenizes exactly as the GGUF does.
    @Test func byteLevelTokenizerJSONAgreesWithGGUFTokenizer() throws {
        let corpus = try TokenizerCorpus.load()
        let gguf = try makeTokenizer(gguf: GGUFFile(path: TestModels.smolLM2()))
        let json = try Self.load("smollm2.tokenizer.json")
        #expect(json.vocabularySize == gguf.vocabularySize)
        for text in corpus.texts + corpus.specialTexts {
            #expect(json.encode(text, addSpecial: false, parseSpecial: true) == gguf.encode(text, addSpecial: false, parseSpecial: true), "\(text.debugDescription)")
        }
        #expect(json.endOfGenerationTokenIDs.isSuperset(of: gguf.endOfGenerationTokenIDs.subtracting([gguf.eosTokenID].compactMap { $0 })))
    }

    /// unk_token, fuse_unk, ignore_merges and byte_fallback on tiny vocabularies.
    @Test func modelFlagsMatchTokenizersLibrary() throws {
        let corpus = try TokenizerCorpus.load()
        #expect(corpus.tiny.ids.count == 5)
        for (name, expected) in corpus.tiny.ids.sorted(by: { $0.key < $1.key }) {
            let tokenizer = try Self.load(name)
            try #require(expected.count == corpus.tiny.texts.count)
            for (text, ids) in zip(corpus.tiny.texts, expected) {
                #expect(tokenizer.encode(text, addSpecial: false, parseSpecial: false) == ids, "\(name): \(text.debugDescription)")
            }
        }
        let fallback = try Self.load("tiny-byte-fallback.tokenizer.json")
        #expect(fallback.tokenBytes(6, renderSpecial: false) == [0x78])  // <0x78> is the byte 'x'
        #expect(fallback.decode([4, 6], renderSpecial: false) == "abx")
    }
}
