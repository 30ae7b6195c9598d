import Foundation
import SparrowLLM
import SparrowRuntime
import Testing

/// libsentencepiece through the C++ shim, on Mistral 7B v0.1's tokenizer.model (fetched by
/// `sparrow models fetch mistral-7b-v0.1-tokenizer` / Scripts/fetch-models.sh).
@Suite struct SentencePieceTests {
    static let modelID = "mistral-7b-v0.1-tokenizer"

    static func tokenizer() throws -> SentencePieceTokenizer {
        try SentencePieceTokenizer(contentsOf: ModelStore.resolve(modelArgument: modelID))
    }

    /// Expected ids from DATA.md (mistral-common's tokenizer, Python sentencepiece).
    @Test func mistralTokenizerEncodesReferenceSentence() throws {
        let tokenizer = try Self.tokenizer()
        let text = "Hello world, how are you?"
        let ids = tokenizer.encode(text)
        #expect(ids == [22557, 1526, 28725, 910, 460, 368, 28804])
        #expect(try tokenizer.decode(ids) == text)
    }

    @Test func vocabularyAndSpecialIDsMatchTheModel() throws {
        let tokenizer = try Self.tokenizer()
        #expect(tokenizer.vocabularySize == 32000)
        #expect(tokenizer.pieces.count == 32000)
        #expect(tokenizer.unknownID == 0)
        #expect(tokenizer.bosID == 1)
        #expect(tokenizer.eosID == 2)
        #expect(tokenizer.piece(for: 1) == "<s>")
        #expect(tokenizer.isControl(1) && tokenizer.isControl(2))
        #expect(tokenizer.piece(for: 22557) == "▁Hello")
        #expect(tokenizer.id(forPiece: "▁Hello") == 22557)
        #expect(tokenizer.id(forPiece: "no such piece ☃☃") == nil)
        #expect(tokenizer.piece(for: 32000) == nil)
        // Byte fallback: every byte has a piece <0xXX>.
        #expect(tokenizer.id(forPiece: "<0x0A>").map(tokenizer.isByte) == true)
    }

    @Test func bytesFallBackAndDecodeRoundTrips() throws {
        let tokenizer = try Self.tokenizer()
        for text in ["", "  leading spaces", "naïve café 🐦 ✓", "tabs\tand\nnewlines", "日本語のテキスト"] {
            #expect(try tokenizer.decode(tokenizer.encode(text)) == text, "\(text)")
        }
        // Control pieces decode to nothing.
        #expect(try tokenizer.decode([1] + tokenizer.encode("Hi") + [2]) == "Hi")
    }

    @Test func loadingFromBytesEqualsLoadingFromFile() throws {
        let path = try ModelStore.resolve(modelArgument: Self.modelID)
        let fromBytes = try SentencePieceTokenizer(modelData: Data(contentsOf: URL(fileURLWithPath: path)))
        let fromFile = try SentencePieceTokenizer(contentsOf: path)
        let text = "The quick brown fox jumps over the lazy dog."
        #expect(fromBytes.encode(text) == fromFile.encode(text))
        #expect(fromBytes.pieces == fromFile.pieces)
    }

    @Test func errorsAreValuesNotCrashes() throws {
        let tokenizer = try Self.tokenizer()
        #expect(throws: SentencePieceError.self) { try tokenizer.decode([5, 32000]) }
        #expect(throws: SentencePieceError.self) { try tokenizer.decode([-1]) }
        #expect(throws: SentencePieceError.self) { try SentencePieceTokenizer(modelData: Data("not a model".utf8)) }
        #expect(throws: SentencePieceError.self) { try SentencePieceTokenizer(contentsOf: "/nonexistent/tokenizer.model") }
    }
}
