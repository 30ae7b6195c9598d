/// SentencePiece's whitespace marker: a space is written "▁" (U+2581, UTF-8 E2 96 81) inside tokens.
/// Shared by the GGUF SPM tokenizer, Gemma 4's BPE and the libsentencepiece wrapper.
enum SpaceEscaping {
    /// The UTF-8 bytes of "▁".
    static let mark: [UInt8] = [0xE2, 0x96, 0x81]

    /// Sets `escaped` to `text` with every space written "▁", after one more "▁" if `prefixSpace`
    /// (matches llama.cpp `llama_escape_whitespace` and SPM's space prefix).
    static func escape(_ text: UnsafeBufferPointer<UInt8>, prefixSpace: Bool, into escaped: inout [UInt8]) {
        escaped.removeAll(keepingCapacity: true)
        escaped.reserveCapacity(text.count + 3)
        if prefixSpace { escaped.append(contentsOf: mark) }
        for b in text {
            if b == 0x20 { escaped.append(contentsOf: mark) } else { escaped.append(b) }
        }
    }

    /// Appends `text` with every "▁" replaced by a space (matches llama.cpp `llama_unescape_whitespace`).
    static func appendUnescaped(_ text: ArraySlice<UInt8>, to bytes: inout [UInt8]) {
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == 0xE2, i + 2 < text.endIndex, text[i + 1] == 0x96, text[i + 2] == 0x81 {
                bytes.append(0x20)
                i += 3
            } else {
                bytes.append(text[i])
                i += 1
            }
        }
    }
}
