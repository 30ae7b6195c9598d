/// `Tokenizer` conformance: BOS/EOS, control pieces parsed as llama.cpp's SPM tokenizer does, and
/// byte-exact token bytes for streaming.
extension SentencePieceTokenizer {
    public var bosTokenID: Int32? { bosID }
    public var eosTokenID: Int32? { eosID }

    /// With `parseSpecial`, the text of a control or unknown piece (such as `[INST]`) becomes that
    /// piece and the text between is encoded fragment by fragment, each with SentencePiece's own
    /// leading "▁" (as llama.cpp does for SPM vocabularies, and Hugging Face's legacy Llama
    /// tokenizer). User-defined pieces are matched by libsentencepiece itself.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var output: [Int32] = []
        if addSpecial, addBOS, let bos = bosID { output.append(bos) }
        if parseSpecial, !specialTokens.isEmpty {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { all in
                for fragment in specialTokens.fragments(all, parseSpecial: true) {
                    switch fragment {
                    case .token(let id): output.append(id)
                    case .text(let range): output += encode(String(decoding: UnsafeBufferPointer(rebasing: all[range]), as: UTF8.self))
                    }
                }
            }
        } else {
            output += encode(text)
        }
        if addSpecial, addEOS, let eos = eosID { output.append(eos) }
        return output
    }

    /// Normal pieces give their text with "▁" as a space, byte pieces `<0xXX>` their raw byte,
    /// control and unknown pieces their text only if `renderSpecial`; ids out of range nothing.
    public func appendTokenBytes(_ id: Int32, renderSpecial: Bool, to bytes: inout [UInt8]) {
        guard id >= 0, Int(id) < vocabularySize else { return }
        let text = table.bytes(of: Int(id))
        switch kinds[Int(id)] {
        case .control, .unknown:
            if renderSpecial { bytes.append(contentsOf: text) }
        case .byte:
            if let b = Vocabulary.byteValue(ofByteToken: text) { bytes.append(b) }
        default:
            SpaceEscaping.appendUnescaped(text, to: &bytes)
        }
    }

    /// The concatenated token bytes, less the one leading space a dummy prefix put there (as
    /// libsentencepiece's decode and Hugging Face's `Strip` decoder drop it).
    public func decode(_ ids: [Int32], renderSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids { appendTokenBytes(id, renderSpecial: renderSpecial, to: &bytes) }
        let start = addsDummyPrefix && bytes.first == 0x20 ? 1 : 0
        return String(decoding: bytes[start...], as: UTF8.self)
    }

    public func tokenText(_ id: Int32) -> String { piece(for: id) ?? "" }

    public func tokenID(_ text: String) -> Int32? { id(forPiece: text) }
}
