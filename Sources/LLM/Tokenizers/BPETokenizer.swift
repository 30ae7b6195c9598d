import SparrowRuntime

/// GPT-2-style byte-level BPE, as GGUF files with `tokenizer.ggml.model = "gpt2"` describe it
/// (GPT-2, Llama 3, Qwen2, StarCoder, SmolLM, …), and the SentencePiece-style BPE of
/// `tokenizer.ggml.model = "gemma4"`.
///
/// Encoding (matches llama.cpp src/llama-vocab.cpp): special tokens are cut out of the text first;
/// each remaining piece is split into words by the `PreTokenizer`; each word's UTF-8 bytes become
/// byte-level characters (`ByteLevel`), which are merged pairwise, lowest merge rank first, until no
/// listed merge applies. Merges run on ids: every merge "A B" is resolved at load time to
/// (id(A), id(B)) -> (rank, id(AB)). Strings a merge names that are not in the vocabulary get ids past
/// the vocabulary, and a final symbol with such an id is emitted byte by byte, as llama.cpp does.
///
/// Gemma 4 (llama.cpp `LLAMA_VOCAB_PRE_TYPE_GEMMA4`) differs: spaces become "▁" first, words are runs of
/// newlines or of other characters, merging starts from UTF-8 characters rather than byte-level
/// characters, and the byte fallback uses `<0xXX>` tokens.
public final class BPETokenizer: Tokenizer {
    public let vocabularySize: Int
    public let bosTokenID: Int32?
    public let eosTokenID: Int32?
    public let addBOS: Bool
    public let addEOS: Bool
    public let endOfGenerationTokenIDs: Set<Int32>
    /// The pre-tokenizer family, and the `tokenizer.ggml.pre` name it came from ("default" if absent).
    public let preTokenizer: PreTokenizer
    public let preTokenizerName: String

    /// Token texts, roles and the byte-keyed table; table ids >= `vocabularySize` are merge
    /// intermediates missing from the vocabulary.
    let vocabulary: Vocabulary
    let merges: MergeTable
    /// The symbol id of each byte's byte-level character (-1 if it has none).
    let byteSymbols: [Int32]
    /// The token for a byte when a symbol falls back to single bytes (-1 if none).
    let byteFallback: [Int32]
    /// llama3-style: a word that is already a token is emitted without merging.
    let ignoresMerges: Bool
    /// Gemma 4: spaces are "▁" and merging runs on raw UTF-8 (llama.cpp `escape_whitespaces` and
    /// `byte_encode = false`).
    let escapesSpaces: Bool
    /// Cuts special tokens out of input text.
    let specialTokens: SpecialTokenMatcher

    /// Reads the `tokenizer.ggml.*` keys of a GGUF file with `tokenizer.ggml.model` "gpt2" or "gemma4".
    public convenience init(gguf: GGUFFile) throws {
        let metadata = TokenizerMetadata(gguf: gguf)
        let file = gguf.path
        let model = try metadata.requiredString("tokenizer.ggml.model")
        guard model == "gpt2" || model == "gemma4" else {
            throw TokenizerError.unsupportedModel(file: file, model: model, supported: ["gpt2", "gemma4"])
        }

        // Pre-tokenizer; a missing name means llama.cpp's "default" (it warns that quality degrades).
        // llama.cpp gives every "gemma4" vocabulary the gemma4 pre-tokenizer, which also escapes spaces.
        let preName = model == "gemma4" ? "gemma4" : try metadata.string("tokenizer.ggml.pre") ?? "default"
        let escapesSpaces = preName == "gemma4"
        guard let pre = PreTokenizer.byGGUFName[preName] else {
            throw TokenizerError.unsupportedPreTokenizer(file: file, pre: preName, supported: PreTokenizer.supportedGGUFNames)
        }

        // Vocabulary; merges may name strings that are not tokens, which get ids past the vocabulary.
        let vocabulary = try Vocabulary(metadata: metadata, reservesRoomForMerges: true)
        let n = vocabulary.count
        guard let mergeValues = gguf.metadata["tokenizer.ggml.merges"] else {
            throw TokenizerError.missingKey(file: file, key: "tokenizer.ggml.merges")
        }
        guard case .array(.string, let mergeList) = mergeValues else {
            throw TokenizerError.wrongType(file: file, key: "tokenizer.ggml.merges", expected: "an array of strings")
        }

        // Special ids. Out-of-range ids are errors (llama.cpp warns and keeps a default).
        let bos = try metadata.tokenID("tokenizer.ggml.bos_token_id", vocabularySize: n)
        let eos = try metadata.tokenID("tokenizer.ggml.eos_token_id", vocabularySize: n)
        _ = try metadata.tokenID("tokenizer.ggml.padding_token_id", vocabularySize: n)
        _ = try metadata.tokenID("tokenizer.ggml.unknown_token_id", vocabularySize: n)
        // llama.cpp forces BOS on for Gemma 4 whatever the file says.
        let addBOS = escapesSpaces ? true : try metadata.bool("tokenizer.ggml.add_bos_token") ?? pre.addsBOS
        let addEOS = try metadata.bool("tokenizer.ggml.add_eos_token") ?? false
        if addBOS, bos == nil {
            throw TokenizerError.missingSpecialToken(file: file, key: "tokenizer.ggml.bos_token_id", requiredBy: "tokenizer.ggml.add_bos_token")
        }
        if addEOS, eos == nil {
            throw TokenizerError.missingSpecialToken(file: file, key: "tokenizer.ggml.eos_token_id", requiredBy: "tokenizer.ggml.add_eos_token")
        }
        let keyed = try SpecialTokens.Keyed(metadata: metadata, vocabularySize: n)
        self.init(
            vocabulary: vocabulary, merges: mergeList.map { $0.stringValue ?? "" },
            preTokenizer: pre.pre, preTokenizerName: preName, ignoresMerges: pre.ignoresMerges, escapesSpaces: escapesSpaces,
            bos: bos, eos: eos, addBOS: addBOS, addEOS: addEOS, keyed: keyed,
            modelName: try metadata.string("general.name"), architecture: try metadata.string("general.architecture"))
    }

    /// Builds the tokenizer from a vocabulary, whatever file it came from (GGUF or `tokenizer.json`).
    ///
    /// - Parameters:
    ///   - vocabulary: the token list, its table built with `reservesRoomForMerges` (normal tokens in
    ///     byte-level text, or "▁"-escaped UTF-8 with `escapesSpaces`).
    ///   - merges: "A B" strings, rank = position; a merge with no space after its first byte is skipped.
    ///   - escapesSpaces: Gemma 4's variant (see the type's documentation).
    ///   - bos, eos: already range-checked ids.
    ///   - modelName, architecture: `general.name` and `general.architecture`, for llama.cpp's
    ///     per-model special-token strip rules (`SpecialTokenMatcher`).
    init(vocabulary: Vocabulary, merges mergeList: [String],
         preTokenizer: PreTokenizer, preTokenizerName: String, ignoresMerges: Bool, escapesSpaces: Bool = false,
         bos: Int32?, eos: Int32?, addBOS: Bool, addEOS: Bool, keyed: SpecialTokens.Keyed,
         modelName: String? = nil, architecture: String? = nil) {
        var vocabulary = vocabulary
        let n = vocabulary.count
        vocabularySize = n
        self.preTokenizer = preTokenizer
        self.preTokenizerName = preTokenizerName
        self.ignoresMerges = ignoresMerges
        self.escapesSpaces = escapesSpaces

        // Merges: "A B" (split at the first space after the first byte), rank = position in the list.
        var merges = MergeTable(expectedCount: mergeList.count)
        for (rank, merge) in mergeList.enumerated() {
            var merge = merge
            merge.withUTF8 { utf8 in
                guard utf8.count > 1, let space = utf8[1...].firstIndex(of: 0x20) else { return }
                let left = UnsafeBufferPointer(rebasing: utf8[..<space])
                let right = UnsafeBufferPointer(rebasing: utf8[(space + 1)...])
                let leftHash = ByteStringTable.Hash().adding(left)
                let leftID = vocabulary.table.findOrAppend(left, hash: leftHash).id
                let rightID = vocabulary.table.findOrAppend(right).id
                let resultID = vocabulary.table.findOrAppend(left, right, hash: leftHash.adding(right)).id
                merges.insert(left: leftID, right: rightID, rank: Int32(truncatingIfNeeded: rank), result: resultID)
            }
        }

        var byteSymbols = [Int32](repeating: -1, count: 256)
        var byteFallback = [Int32](repeating: -1, count: 256)
        if escapesSpaces {
            // Raw UTF-8 symbols need no per-byte symbols; the fallback is the `<0xXX>` tokens.
            byteFallback = vocabulary.byteTokenIDs()
        } else {
            for b in 0..<256 {
                ByteLevel.encodedUTF8[b].withUnsafeBufferPointer { encoded in
                    byteSymbols[b] = vocabulary.table.find(encoded) ?? -1
                    // llama.cpp falls back to the token of each single byte of the byte-level text; only a
                    // one-byte (ASCII) character can be a token on its own.
                    if encoded.count == 1, let id = vocabulary.table.find(encoded), Int(id) < n { byteFallback[b] = id }
                }
            }
        }

        bosTokenID = bos
        eosTokenID = eos
        self.addBOS = addBOS
        self.addEOS = addEOS
        let resolved = SpecialTokens(tokens: vocabulary.texts, kinds: &vocabulary.kinds, eos: eos, keyed: keyed)
        endOfGenerationTokenIDs = resolved.endOfGeneration
        specialTokens = SpecialTokenMatcher(kinds: vocabulary.kinds, table: vocabulary.table, modelName: modelName,
                                            preTokenizer: preTokenizerName, architecture: architecture)

        self.vocabulary = vocabulary
        self.merges = merges
        self.byteSymbols = byteSymbols
        self.byteFallback = byteFallback
    }

    /// The role of a token (`.undefined` for ids outside the vocabulary).
    public func tokenKind(_ id: Int32) -> TokenKind { vocabulary.kind(of: id) }

    public func tokenText(_ id: Int32) -> String { vocabulary.text(of: id) }

    public func tokenID(_ text: String) -> Int32? { vocabulary.id(of: text) }

    public func decode(_ ids: [Int32], renderSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids { appendTokenBytes(id, renderSpecial: renderSpecial, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Matches llama.cpp `token_to_piece` for BPE: control/unknown text only when rendering specials,
    /// user-defined text verbatim, normal tokens byte-level decoded (Gemma 4: "▁" as a space), byte
    /// tokens "<0xXX>" as that byte, unused and undefined tokens nothing.
    public func appendTokenBytes(_ id: Int32, renderSpecial: Bool, to bytes: inout [UInt8]) {
        vocabulary.appendBytes(of: id, renderSpecial: renderSpecial, to: &bytes) { text, bytes in
            if escapesSpaces {
                SpaceEscaping.appendUnescaped(text, to: &bytes)
            } else {
                ByteLevel.decode(vocabulary.texts[Int(id)], into: &bytes)
            }
        }
    }
}
