import SparrowRuntime
/// The normalizer, pre-tokenizer, decoder and post-processor sections of `tokenizer.json`, mapped to
/// the segmentations this runtime implements.
extension HFTokenizerJSON {
    /// Components flattened out of `Sequence` wrappers, each with its JSON path.
    private func components(_ value: JSONValue?, listKey: String, at path: String, f: JSONFields) throws -> [(type: String, value: JSONValue, path: String)] {
        guard let value else { return [] }
        guard let type = try f.string(value, "type", at: path) else { throw HFTokenizerError.missingField(file: file, field: path + ".type") }
        guard type == "Sequence" else { return [(type, value, path)] }
        guard let items = try f.array(value, listKey, at: path) else { throw HFTokenizerError.missingField(file: file, field: "\(path).\(listKey)") }
        var out: [(type: String, value: JSONValue, path: String)] = []
        for (i, item) in items.enumerated() { out += try components(item, listKey: listKey, at: "\(path).\(listKey)[\(i)]", f: f) }
        return out
    }

    mutating func readSegmentation(root: JSONValue, f: JSONFields) throws {
        // Normalizer: optional Unicode form, then optionally Prepend(▁) and Replace(" ", ▁).
        var prepend: String?
        var replacement: String?
        let normalizers = try components(try f.optional(root, "normalizer", at: ""), listKey: "normalizers", at: "normalizer", f: f)
        for (type, value, path) in normalizers {
            switch type {
            case "NFC": unicodeForm = .nfc
            case "NFKC": unicodeForm = .nfkc
            case "Prepend":
                prepend = try f.string(value, "prepend", at: path) ?? ""
            case "Replace":
                let pattern = try f.required(value, "pattern", at: path)
                guard let from = try f.string(pattern, "String", at: path + ".pattern"), from == " ",
                      let to = try f.string(value, "content", at: path), !to.isEmpty else {
                    throw HFTokenizerError.unsupported(file: file, field: path, value: "a Replace other than \" \" -> \"▁\"", supported: ["Replace(\" \", \"▁\")"])
                }
                replacement = to
            default:
                throw HFTokenizerError.unsupported(file: file, field: path + ".type", value: type, supported: ["NFC", "NFKC", "Prepend", "Replace", "Sequence"])
            }
        }
        if let prepend, prepend != replacement {
            throw HFTokenizerError.unsupported(file: file, field: "normalizer", value: "Prepend(\(prepend.debugDescription)) without a matching Replace", supported: ["Prepend(\"▁\") + Replace(\" \", \"▁\")"])
        }

        let pre = try components(try f.optional(root, "pre_tokenizer", at: ""), listKey: "pretokenizers", at: "pre_tokenizer", f: f)
        let types = pre.map(\.type)
        if types.last == "ByteLevel" {
            guard replacement == nil else {
                throw HFTokenizerError.unsupported(file: file, field: "normalizer", value: "Replace with a ByteLevel pre-tokenizer", supported: ["NFC", "NFKC"])
            }
            segmentation = .byteLevel(try byteLevelSplit(pre, f: f))
        } else if types == ["Metaspace"] {
            let (_, value, path) = pre[0]
            let replace = try f.string(value, "replacement", at: path) ?? "▁"
            var scheme: Metaspace.Prefix = .always
            if let name = try f.string(value, "prepend_scheme", at: path) {
                guard let s = Metaspace.Prefix(rawValue: name) else {
                    throw HFTokenizerError.unsupported(file: file, field: path + ".prepend_scheme", value: name, supported: ["always", "first", "never"])
                }
                scheme = s
            } else if let add = try f.bool(value, "add_prefix_space", at: path) {
                scheme = add ? .always : .never
            }
            if replacement != nil {
                throw HFTokenizerError.unsupported(file: file, field: "normalizer", value: "Replace together with a Metaspace pre-tokenizer", supported: ["one of them"])
            }
            segmentation = .metaspace(Metaspace(replacement: replace, replacesSpaces: true, prefix: scheme, split: try f.bool(value, "split", at: path) ?? true,
                                                prependsBeforeReplacement: false))
        } else if pre.isEmpty {
            // Legacy SentencePiece layout (or plain BPE over characters when there is no normalizer).
            segmentation = .metaspace(Metaspace(replacement: replacement ?? "▁", replacesSpaces: replacement != nil,
                                                prefix: prepend == nil ? .never : .always, split: false,
                                                prependsBeforeReplacement: true))
        } else {
            throw HFTokenizerError.unsupported(file: file, field: "pre_tokenizer", value: types.joined(separator: " + "),
                                               supported: ["ByteLevel", "Split(regex) + ByteLevel", "Digits + ByteLevel", "Metaspace", "none"])
        }

        // Decoder: does it strip the space SentencePiece-style encoding put in front?
        let decoders = try components(try f.optional(root, "decoder", at: ""), listKey: "decoders", at: "decoder", f: f)
        for (type, value, path) in decoders {
            if type == "Strip", let start = try f.optional(value, "start", at: path), let n = start.doubleValue, n >= 1 {
                leadingSpace = .stripOne
            }
            if type == "Metaspace" {
                let scheme = try f.string(value, "prepend_scheme", at: path)
                let add = try f.bool(value, "add_prefix_space", at: path)
                if scheme.map({ $0 != "never" }) ?? add ?? true { leadingSpace = .dropFirstTokenMarks }
            }
        }
    }

    /// The word split in front of a final ByteLevel pre-tokenizer.
    private func byteLevelSplit(_ pre: [(type: String, value: JSONValue, path: String)], f: JSONFields) throws -> PreTokenizer {
        let (_, byteLevel, path) = pre[pre.count - 1]
        if try f.bool(byteLevel, "add_prefix_space", at: path) == true {
            throw HFTokenizerError.unsupported(file: file, field: path + ".add_prefix_space", value: "true", supported: ["false"])
        }
        let usesRegex = try f.bool(byteLevel, "use_regex", at: path) ?? true
        let before = pre.dropLast()
        switch (before.map(\.type), usesRegex) {
        case ([], true):
            return .gpt2
        case (["Digits"], true):
            let (_, digits, digitsPath) = before[before.startIndex]
            guard try f.bool(digits, "individual_digits", at: digitsPath) == true else {
                throw HFTokenizerError.unsupported(file: file, field: digitsPath + ".individual_digits", value: "false", supported: ["true"])
            }
            return .starcoder
        case (["Split"], false):
            let (_, split, splitPath) = before[before.startIndex]
            let pattern = try f.required(split, "pattern", at: splitPath)
            guard let regex = try f.string(pattern, "Regex", at: splitPath + ".pattern") else {
                throw HFTokenizerError.missingField(file: file, field: splitPath + ".pattern.Regex")
            }
            let behavior = try f.string(split, "behavior", at: splitPath) ?? "Isolated"
            let inverted = try f.bool(split, "invert", at: splitPath) ?? false
            let known: [String: PreTokenizer] = [Self.gpt2Regex: .gpt2, Self.llama3Regex: .llama3, Self.qwen2Regex: .qwen2]
            guard behavior == "Isolated", !inverted, let p = known.first(where: { $0.key.utf8.elementsEqual(regex.utf8) })?.value else {
                throw HFTokenizerError.unsupported(file: file, field: splitPath, value: "Split(\(regex.debugDescription), \(behavior))",
                                                   supported: ["the GPT-2, Llama 3 or Qwen2 regex, Isolated"])
            }
            return p
        default:
            throw HFTokenizerError.unsupported(file: file, field: "pre_tokenizer", value: pre.map(\.type).joined(separator: " + ") + " (use_regex \(usesRegex))",
                                               supported: ["ByteLevel", "Split(regex) + ByteLevel(use_regex: false)", "Digits + ByteLevel"])
        }
    }

    /// BOS/EOS from a `TemplateProcessing` post-processor's single-sequence template (alone or
    /// inside a `Sequence`): special tokens before the text are BOS, after it EOS.
    mutating func readPostProcessor(root: JSONValue, f: JSONFields) throws {
        let processors = try components(try f.optional(root, "post_processor", at: ""), listKey: "processors", at: "post_processor", f: f)
        for (type, value, path) in processors where type == "TemplateProcessing" {
            guard let single = try f.array(value, "single", at: path) else { continue }
            var seenText = false
            for (i, piece) in single.enumerated() {
                if try f.optional(piece, "Sequence", at: "\(path).single[\(i)]") != nil { seenText = true; continue }
                guard let special = try f.optional(piece, "SpecialToken", at: "\(path).single[\(i)]"),
                      let name = try f.string(special, "id", at: "\(path).single[\(i)].SpecialToken") else { continue }
                var id = tokenID(name)
                if let entry = try f.optional(value, "special_tokens", at: path).flatMap({ $0[name] }),
                   let ids = try f.array(entry, "ids", at: "\(path).special_tokens"), ids.count == 1 {
                    id = Int32(try f.tokenIndex(ids[0], at: "\(path).special_tokens.\(name).ids[0]"))
                }
                guard let id, Int(id) < tokens.count else {
                    throw HFTokenizerError.invalid(file: file, field: "\(path).single[\(i)]", reason: "special token \(name.debugDescription) is not in the vocabulary")
                }
                if seenText { templateEOS = id } else { templateBOS = id }
            }
        }
    }
}
