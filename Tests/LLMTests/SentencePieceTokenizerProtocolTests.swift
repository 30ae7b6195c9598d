import Foundation
import SparrowLLM
import SparrowRuntime
import Testing

/// `SentencePieceTokenizer` as a `Tokenizer`, against Python sentencepiece 0.2.3 on the corpus in
/// Fixtures/tokenizers/corpus.json, for the four mistral-common models (fetched by Scripts/fetch-models.sh).
@Suite struct SentencePieceTokenizerProtocolTests {
    static func tokenizer(_ id: String, addBOS: Bool? = nil, addEOS: Bool? = nil) throws -> SentencePieceTokenizer {
        try SentencePieceTokenizer(contentsOf: ModelStore.resolve(modelArgument: id), addBOS: addBOS, addEOS: addEOS)
    }

    @Test(arguments: TokenizerCorpus.sentencePieceModelIDs)
    func sentencePieceEncodingMatchesPythonSentencePieceOnCorpus(modelID: String) throws {
        let corpus = try TokenizerCorpus.load()
        let expected = try #require(corpus.sentencepiece[modelID])
        try #require(expected.count == corpus.texts.count && corpus.texts.count >= 50)
        let tokenizer = try Self.tokenizer(modelID)
        #expect(tokenizer.addBOS && !tokenizer.addEOS)
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
        for (text, ids) in zip(corpus.texts, expected) {
            #expect(tokenizer.encode(text, addSpecial: false, parseSpecial: false) == ids, "\(text.debugDescription)")
            #expect(tokenizer.encode(text, addSpecial: true, parseSpecial: false) == [1] + ids, "\(text.debugDescription)")
            // Decoding through the protocol (token bytes) equals libsentencepiece's own decode.
            #expect(tokenizer.decode(ids, renderSpecial: false) == (try tokenizer.decode(ids)), "\(text.debugDescription)")
        }
    }

    /// With parseSpecial, control pieces are cut out and each fragment gets SentencePiece's dummy
    /// prefix: the same ids as Hugging Face `tokenizers` on the legacy Llama-layout tokenizer.json.
    @Test func parsedControlPiecesMatchTokenizersLegacyLayout() throws {
        let corpus = try TokenizerCorpus.load()
        let expected = try #require(corpus.tokenizerJSON["mistral-v1.tokenizer.json"])
        try #require(expected.specialTexts.count == corpus.specialTexts.count)
        let tokenizer = try Self.tokenizer("mistral-7b-v0.1-tokenizer")
        for (text, ids) in zip(corpus.specialTexts, expected.specialTexts) {
            #expect(tokenizer.encode(text, addSpecial: false, parseSpecial: true) == ids, "\(text.debugDescription)")
        }
        // Without parseSpecial, "<s>" is text.
        #expect(!tokenizer.encode("<s>", addSpecial: false, parseSpecial: false).contains(1))
    }

    @Test func instructControlTokensParseOnlyWhenAsked() throws {
        let tokenizer = try Self.tokenizer("mistral-instruct-v3-tokenizer")
        let inst = try #require(tokenizer.tokenID("[INST]"))
        let close = try #require(tokenizer.tokenID("[/INST]"))
        let parsed = tokenizer.encode("[INST] Hi [/INST]", addSpecial: true, parseSpecial: true)
        #expect(parsed == [1, inst] + tokenizer.encode(" Hi ") + [close])
        #expect(!tokenizer.encode("[INST] Hi [/INST]", addSpecial: false, parseSpecial: false).contains(inst))
        // Each fragment carries its own "▁" prefix; only the text's first space is dropped, and none
        // after a rendered control piece.
        #expect(tokenizer.decode(parsed, renderSpecial: true) == "<s>[INST]  Hi [/INST]")
        #expect(tokenizer.decode(parsed, renderSpecial: false) == " Hi ")
        #expect(tokenizer.endOfGenerationTokenIDs.contains(2))
    }

    @Test func tokenBytesGiveRawBytesForByteFallbackPieces() throws {
        let tokenizer = try Self.tokenizer("mistral-7b-v0.1-tokenizer")
        let newline = try #require(tokenizer.tokenID("<0x0A>"))
        #expect(tokenizer.tokenBytes(newline, renderSpecial: false) == [0x0A])
        let high = try #require(tokenizer.tokenID("<0xF0>"))
        #expect(tokenizer.tokenBytes(high, renderSpecial: true) == [0xF0])
        #expect(tokenizer.tokenBytes(22557, renderSpecial: false) == Array(" Hello".utf8))
        #expect(tokenizer.tokenBytes(1, renderSpecial: false).isEmpty)
        #expect(tokenizer.tokenBytes(1, renderSpecial: true) == Array("<s>".utf8))
        #expect(tokenizer.tokenBytes(32000, renderSpecial: true).isEmpty)
        #expect(tokenizer.tokenText(22557) == "▁Hello")
        // An emoji falls back to four byte pieces whose bytes stream back to the emoji.
        let ids = tokenizer.encode("🦜", addSpecial: false, parseSpecial: false)
        var streaming = StreamingDetokenizer(tokenizer: tokenizer)
        let streamed = ids.map { streaming.append($0) }.joined() + streaming.flush()
        #expect(streamed == " 🦜")
        #expect(tokenizer.decode(ids, renderSpecial: false) == "🦜")
    }

    @Test func configOverridesBOSAndEOS() throws {
        let tokenizer = try Self.tokenizer("mistral-7b-v0.1-tokenizer", addBOS: false, addEOS: true)
        #expect(tokenizer.encode("Hi", addSpecial: true, parseSpecial: false) == tokenizer.encode("Hi") + [2])
        let path = try ModelStore.resolve(modelArgument: "mistral-7b-v0.1-tokenizer")
        #expect(throws: SentencePieceError.self) { try SentencePieceTokenizer(contentsOf: path, bosToken: "no such piece") }
    }
}
