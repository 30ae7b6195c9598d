/// Turns a stream of token ids into text one token at a time, never splitting a UTF-8 character.
///
/// Byte-level tokens can end in the middle of a multi-byte character (an emoji is often three or four
/// byte tokens). `append` returns only whole characters and keeps an unfinished tail until the token
/// that completes it arrives; `flush` returns whatever is left. The concatenation of everything
/// returned equals `tokenizer.decode(ids, renderSpecial:)` of the same ids, except that an SPM
/// tokenizer's `decode` drops the space its space prefix put before the first token (a stream of
/// generated tokens continues a prompt, so it keeps that space, as llama.cpp's per-token pieces do).
public struct StreamingDetokenizer: Sendable {
    public let tokenizer: any Tokenizer
    public let renderSpecial: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Adds one token and returns the text that is now complete ("" if it only extended a character).
    public mutating func append(_ id: Int32) -> String {
        tokenizer.appendTokenBytes(id, renderSpecial: renderSpecial, to: &pending)
        let cut = pending.count - Self.incompleteTailLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns the remaining bytes as text (an unfinished character becomes U+FFFD) and starts over.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The number of trailing bytes that begin a UTF-8 character not yet complete: a lead byte
    /// followed by fewer continuation bytes than it needs, each allowed in its position (so a tail that
    /// can never be completed is not held back). Cutting before that lead byte decodes the same as the
    /// whole: a lead byte always starts a new sequence for the UTF-8 decoder.
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        for back in 1...min(3, max(n, 1)) where n >= back {
            let lead = bytes[n - back]
            let (needed, secondRange): (Int, ClosedRange<UInt8>)
            switch lead {
            case 0xC2...0xDF: (needed, secondRange) = (2, 0x80...0xBF)
            case 0xE0: (needed, secondRange) = (3, 0xA0...0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (needed, secondRange) = (3, 0x80...0xBF)
            case 0xED: (needed, secondRange) = (3, 0x80...0x9F)
            case 0xF0: (needed, secondRange) = (4, 0x90...0xBF)
            case 0xF1...0xF3: (needed, secondRange) = (4, 0x80...0xBF)
            case 0xF4: (needed, secondRange) = (4, 0x80...0x8F)
            case 0x80...0xBF: continue  // a continuation byte: look further back for its lead
            default: return 0  // ASCII or a byte that is never valid: nothing to wait for
            }
            guard back < needed else { return 0 }  // the character is already complete
            // Every byte after the lead must fit its position for the tail to be completable.
            for k in 1..<back {
                let byte = bytes[n - back + k]
                let range: ClosedRange<UInt8> = k == 1 ? secondRange : 0x80...0xBF
                if !range.contains(byte) { return 0 }
            }
            return back
        }
        return 0
    }
}
