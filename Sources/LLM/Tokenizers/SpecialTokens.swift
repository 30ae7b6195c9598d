/// Which tokens end generation, and which must be treated as control tokens whatever their declared
/// type, following llama.cpp's vocabulary loader (src/llama-vocab.cpp, `load`).
///
/// Converters do not record end-of-turn or fill-in-the-middle tokens reliably, so llama.cpp finds them
/// by their text. A token found this way is forced to `.control` (it must not be rendered as text or
/// matched without `parseSpecial`). The end-of-generation set is: the fill-in-the-middle pad, repo and
/// file-separator tokens; every token whose text is in `endOfGenerationTexts`; and the EOS, EOT and EOM
/// tokens. Where llama.cpp keeps the first of several matching texts in hash-map order, this keeps the
/// lowest id, so the choice is deterministic.
struct SpecialTokens {
    /// Token ids found from keys or text (nil: none).
    var endOfTurn: Int32?
    var endOfMessage: Int32?
    var fimPrefix: Int32?
    var fimSuffix: Int32?
    var fimMiddle: Int32?
    var fimPad: Int32?
    var fimRepo: Int32?
    var fimSeparator: Int32?
    /// Tokens that end generation.
    var endOfGeneration: Set<Int32> = []

    static let endOfTurnTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    static let endOfMessageTexts: Set<String> = ["<|eom_id|>"]
    static let fimPrefixTexts: Set<String> = [
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
    ]
    static let fimSuffixTexts: Set<String> = [
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
    ]
    static let fimMiddleTexts: Set<String> = [
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>",
    ]
    static let fimPadTexts: Set<String> = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRepoTexts: Set<String> = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSeparatorTexts: Set<String> = ["<|file_sep|>"]
    static let endOfGenerationTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
    ]

    /// Every special text in one byte table, with a bit mask of the rules that name it: bits 0-7 for
    /// end of turn, end of message, FIM prefix, suffix, middle, pad, repo and separator, bit 8 for
    /// end of generation.
    private static let textLookup: (table: ByteStringTable, rules: [UInt16]) = {
        let sets: [Set<String>] = [
            endOfTurnTexts, endOfMessageTexts, fimPrefixTexts, fimSuffixTexts, fimMiddleTexts, fimPadTexts,
            fimRepoTexts, fimSeparatorTexts, endOfGenerationTexts,
        ]
        var table = ByteStringTable(expectedCount: 128)
        var rules: [UInt16] = []
        for (bit, set) in sets.enumerated() {
            for text in set.sorted() {
                var text = text
                let entry = text.withUTF8 { table.findOrAppend($0) }
                if entry.added { rules.append(0) }
                rules[Int(entry.id)] |= 1 << UInt16(bit)
            }
        }
        return (table, rules)
    }()

    private static let longestText: Int = {
        [endOfTurnTexts, endOfMessageTexts, fimPrefixTexts, fimSuffixTexts, fimMiddleTexts, fimPadTexts,
         fimRepoTexts, fimSeparatorTexts, endOfGenerationTexts].joined().map(\.utf8.count).max() ?? 0
    }()

    /// Resolves the special tokens of a vocabulary, updating `kinds` where a token must become control.
    /// `keyed` holds the ids given by `tokenizer.ggml.*_token_id` keys (already range-checked).
    init(tokens: [String], kinds: inout [TokenKind], eos: Int32?, keyed: Keyed) {
        // One pass over the vocabulary collects every text-based candidate, comparing bytes (String
        // hashing normalizes Unicode, which is slow over a 262144-token vocabulary).
        var firstByText: [Int: Int32] = [:]  // rule index -> lowest id
        var eogByText: [Int32] = []
        let lookup = Self.textLookup
        for (i, text) in tokens.enumerated() {
            var text = text
            guard let entry = text.withUTF8({ utf8 -> Int32? in
                // All special texts start with '<', '[', '_' or '▁'; skip ordinary tokens cheaply.
                guard let first = utf8.first, first == 0x3C || first == 0x5B || first == 0x5F || first == 0xE2,
                      utf8.count <= Self.longestText else { return nil }
                return lookup.table.find(utf8)
            }) else { continue }
            let rules = lookup.rules[Int(entry)]
            for r in 0..<8 where rules & (1 << r) != 0 && firstByText[r] == nil { firstByText[r] = Int32(i) }
            if rules & (1 << 8) != 0 { eogByText.append(Int32(i)) }
        }

        func resolve(_ keyedID: Int32?, rule: Int) -> Int32? {
            if let keyedID { return keyedID }
            guard let id = firstByText[rule] else { return nil }
            kinds[Int(id)] = .control
            return id
        }
        endOfTurn = resolve(keyed.endOfTurn, rule: 0)
        endOfMessage = resolve(keyed.endOfMessage, rule: 1)
        fimPrefix = resolve(keyed.fimPrefix, rule: 2)
        fimSuffix = resolve(keyed.fimSuffix, rule: 3)
        fimMiddle = resolve(keyed.fimMiddle, rule: 4)
        fimPad = resolve(keyed.fimPad, rule: 5)
        fimRepo = resolve(keyed.fimRepo, rule: 6)
        fimSeparator = resolve(keyed.fimSeparator, rule: 7)

        for id in [fimPad, fimRepo, fimSeparator] { if let id { endOfGeneration.insert(id) } }
        for id in eogByText {
            endOfGeneration.insert(id)
            kinds[Int(id)] = .control
        }
        for id in [eos, endOfTurn, endOfMessage] { if let id { endOfGeneration.insert(id) } }

        // Two vocabularies whose text rules overshoot (llama.cpp's workarounds): with "<|return|>" and
        // "<|call|>" (o200k_harmony) or "<|calls|>" and "<|flush|>" (solar-open), "<|end|>" does not end
        // generation and is user-defined; with "<|tool_response>" (Gemma 4) or "<|plamo:eos|>", "</s>"
        // is a normal token.
        var eogTexts: [String: Int32] = [:]
        for id in endOfGeneration where id >= 0 && Int(id) < tokens.count { eogTexts[tokens[Int(id)]] = id }
        let hasCall = eogTexts["<|call|>"] != nil || eogTexts["<|calls|>"] != nil
        if let end = eogTexts["<|end|>"], hasCall, eogTexts["<|return|>"] != nil || eogTexts["<|flush|>"] != nil {
            endOfGeneration.remove(end)
            kinds[Int(end)] = .userDefined
        }
        if let s = eogTexts["</s>"], eogTexts["<|tool_response>"] != nil || eogTexts["<|plamo:eos|>"] != nil {
            endOfGeneration.remove(s)
            kinds[Int(s)] = .normal
        }
    }

    /// Special token ids given explicitly by GGUF keys.
    struct Keyed {
        var endOfTurn: Int32?
        var endOfMessage: Int32?
        var fimPrefix: Int32?
        var fimSuffix: Int32?
        var fimMiddle: Int32?
        var fimPad: Int32?
        var fimRepo: Int32?
        var fimSeparator: Int32?

        /// The GGUF key of each field, in field order.
        static let keys = [
            "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id",
            "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.fim_mid_token_id",
            "tokenizer.ggml.fim_pad_token_id", "tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id",
        ]

        /// Reads the keys (absent keys stay nil; out-of-range ids throw).
        init(metadata: TokenizerMetadata, vocabularySize: Int) throws {
            var ids: [Int32?] = []
            for key in Self.keys { ids.append(try metadata.tokenID(key, vocabularySize: vocabularySize)) }
            (endOfTurn, endOfMessage, fimPrefix, fimSuffix) = (ids[0], ids[1], ids[2], ids[3])
            (fimMiddle, fimPad, fimRepo, fimSeparator) = (ids[4], ids[5], ids[6], ids[7])
        }
    }
}
