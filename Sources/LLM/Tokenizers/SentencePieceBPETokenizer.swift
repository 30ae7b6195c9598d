import Foundation

/// BPE over Unicode characters with byte fallback, as Hugging Face `tokenizers` runs the
/// SentencePiece-converted vocabularies of Llama, Mistral and their relatives (`tokenizer.json` with a
/// `Prepend`/`Replace` normalizer or a `Metaspace` pre-tokenizer).
///
/// Encoding (matches tokenizers' `models/bpe/model.rs` and `pre_tokenizers/metaspace.rs`): special
/// tokens are cut out first (as the GGUF tokenizers do); in each remaining fragment spaces become "▁"
/// and a "▁" is prepended as the prefix scheme says; each word starts as one symbol per character,
/// a character missing from the vocabulary becomes its UTF-8 bytes' `<0xXX>` tokens (byte fallback) or
/// the unknown token (consecutive unknowns fused with `fuse_unk`); then merges apply by rank, lowest
/// first, leftmost on ties (`MergeSession`).
public final class SentencePieceBPETokenizer: Tokenizer {
    public let vocabularySize: Int
    public let bosTokenID: Int32?
    public let eosTokenID: Int32?
    public let addBOS: Bool
    public let addEOS: Bool
    public let endOfGenerationTokenIDs: Set<Int32>
    /// The token unknown characters map to without byte fallback (nil: they are dropped).
    public let unknownTokenID: Int32?

    /// Token texts ("▁" for a space), roles and the byte-keyed table.
    let vocabulary: Vocabulary
    let merges: MergeTable
    let metaspace: HFTokenizerJSON.Metaspace
    let unicodeForm: HFTokenizerJSON.UnicodeForm
    let fusesUnknown: Bool
    let ignoresMerges: Bool
    let leadingSpace: HFTokenizerJSON.LeadingSpace
    /// The `<0xXX>` token of each byte (-1 if absent: a character with such a byte falls back to unknown).
    let byteTokens: [Int32]
    let usesByteFallback: Bool
    /// Cuts special tokens out of input text.
    let specialTokens: SpecialTokenMatcher
    let replacementUTF8: [UInt8]

    /// Builds the tokenizer from a parsed `tokenizer.json` whose segmentation is `.metaspace`.
    init(json: HFTokenizerJSON, bos: Int32?, eos: Int32?, addBOS: Bool, addEOS: Bool) throws {
        guard case .metaspace(let metaspace) = json.segmentation else {
            preconditionFailure("SentencePieceBPETokenizer needs a metaspace segmentation")
        }
        let file = json.file
        var vocabulary: Vocabulary
        do {
            vocabulary = try Vocabulary(file: file, texts: json.tokens, kinds: json.kinds)
        } catch TokenizerError.duplicateToken(_, let text, let first, let second) {
            throw HFTokenizerError.invalid(file: file, field: "model.vocab", reason: "tokens \(first) and \(second) both have the text \(text.debugDescription)")
        }
        vocabularySize = vocabulary.count
        let table = vocabulary.table
        // Every merge must name vocabulary tokens and produce one (tokenizers refuses the file otherwise).
        var merges = MergeTable(expectedCount: json.merges.count)
        for (rank, merge) in json.merges.enumerated() {
            var (left, right) = merge
            let found: (Int32, Int32, Int32)? = left.withUTF8 { l in
                right.withUTF8 { r in
                    guard let a = table.find(l), let b = table.find(r), let ab = table.find(l, r) else { return nil }
                    return (a, b, ab)
                }
            }
            guard let (a, b, ab) = found else {
                throw HFTokenizerError.invalid(file: file, field: "model.merges[\(rank)]",
                                               reason: "\((left + " " + right).debugDescription) is not two vocabulary tokens whose concatenation is a token")
            }
            merges.insert(left: a, right: b, rank: Int32(truncatingIfNeeded: rank), result: ab)
        }
        var byteTokens = [Int32](repeating: -1, count: 256)
        for (i, kind) in vocabulary.kinds.enumerated() where kind == .byte {
            if let b = Vocabulary.byteValue(ofByteToken: table.bytes(of: i)), byteTokens[Int(b)] < 0 { byteTokens[Int(b)] = Int32(i) }
        }
        let resolved = SpecialTokens(tokens: vocabulary.texts, kinds: &vocabulary.kinds, eos: eos, keyed: SpecialTokens.Keyed())
        endOfGenerationTokenIDs = resolved.endOfGeneration

        bosTokenID = bos
        eosTokenID = eos
        self.addBOS = addBOS
        self.addEOS = addEOS
        unknownTokenID = json.unknownID
        self.vocabulary = vocabulary
        self.merges = merges
        self.metaspace = metaspace
        unicodeForm = json.unicodeForm
        fusesUnknown = json.fusesUnknown
        ignoresMerges = json.ignoresMerges
        leadingSpace = json.leadingSpace
        self.byteTokens = byteTokens
        usesByteFallback = json.byteFallback
        specialTokens = SpecialTokenMatcher(kinds: vocabulary.kinds, table: table)
        replacementUTF8 = Array(metaspace.replacement.utf8)
    }

    /// The role of a token (`.undefined` for ids outside the vocabulary).
    public func tokenKind(_ id: Int32) -> TokenKind { vocabulary.kind(of: id) }

    public func tokenText(_ id: Int32) -> String { vocabulary.text(of: id) }

    public func tokenID(_ text: String) -> Int32? { vocabulary.id(of: text) }

    /// Normal and user-defined tokens give their text with "▁" as a space, byte tokens their byte,
    /// control and unknown tokens their text only if `renderSpecial` (as tokenizers' decoders with
    /// `skip_special_tokens`), unused tokens nothing.
    public func appendTokenBytes(_ id: Int32, renderSpecial: Bool, to bytes: inout [UInt8]) {
        vocabulary.appendBytes(of: id, renderSpecial: renderSpecial, decodesUserDefined: true, to: &bytes) { text, bytes in
            appendReplacingMetaspace(text, space: [0x20], to: &bytes)
        }
    }

    /// The text of `ids`, less the space encoding prefixed, removed as the file's decoder does it
    /// (tokenizers' `decode`): a `Strip` decoder drops one leading space; a `Metaspace` decoder
    /// drops every "▁" of the first token left after skipping special tokens.
    public func decode(_ ids: [Int32], renderSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        var first = true
        for id in ids {
            let skipped = id < 0 || Int(id) >= vocabularySize || !renderSpecial && vocabulary.kinds[Int(id)].isSkippedWithoutRenderSpecial
            if first, !skipped, leadingSpace == .dropFirstTokenMarks, vocabulary.kinds[Int(id)] == .normal || vocabulary.kinds[Int(id)] == .userDefined {
                appendReplacingMetaspace(vocabulary.table.bytes(of: Int(id)), space: [], to: &bytes)
            } else {
                appendTokenBytes(id, renderSpecial: renderSpecial, to: &bytes)
            }
            if !skipped { first = false }
        }
        let start = leadingSpace == .stripOne && bytes.first == 0x20 ? 1 : 0
        return String(decoding: bytes[start...], as: UTF8.self)
    }

    /// Appends `text` with each replacement mark ("▁") written as `space`.
    private func appendReplacingMetaspace(_ text: ArraySlice<UInt8>, space: [UInt8], to bytes: inout [UInt8]) {
        let r = replacementUTF8
        guard metaspace.replacesSpaces, !r.isEmpty else { bytes.append(contentsOf: text); return }
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == r[0], i + r.count <= text.endIndex, text[i..<i + r.count].elementsEqual(r) {
                bytes.append(contentsOf: space)
                i += r.count
            } else {
                bytes.append(text[i])
                i += 1
            }
        }
    }
}

extension TokenKind {
    /// Tokens tokenizers' `skip_special_tokens` drops (control and unknown).
    var isSkippedWithoutRenderSpecial: Bool { self == .control || self == .unknown }
}

extension SpecialTokens.Keyed {
    /// No ids given by keys (formats without `tokenizer.ggml.*_token_id`).
    init() {}
}
