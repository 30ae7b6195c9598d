import SparrowRuntime

/// The token list every GGUF vocabulary has: texts, roles and a byte-keyed text -> id table, read from
/// `tokenizer.ggml.tokens` and `tokenizer.ggml.token_type` as llama.cpp's vocabulary loader does
/// (src/llama-vocab.cpp, `load`). Shared by the BPE and SPM tokenizers.
struct Vocabulary {
    /// Raw vocabulary strings by id; empty strings are renamed "[EMPTY_<id>]" as llama.cpp does.
    var texts: [String]
    /// Token roles by id (`.normal` when the file has no `token_type`).
    var kinds: [TokenKind]
    /// Byte text -> id for ids `0..<count` (callers may append more, e.g. BPE merge intermediates).
    var table: ByteStringTable

    var count: Int { texts.count }

    /// Reads the token list. `reservesRoomForMerges` sizes the table for a quarter more entries (BPE
    /// merge intermediates).
    init(metadata: TokenizerMetadata, reservesRoomForMerges: Bool = false) throws {
        let file = metadata.file
        guard var texts = try metadata.stringArray("tokenizer.ggml.tokens") else {
            throw TokenizerError.missingKey(file: file, key: "tokenizer.ggml.tokens")
        }
        guard !texts.isEmpty, texts.count <= Int(Int32.max) else {
            throw TokenizerError.wrongType(file: file, key: "tokenizer.ggml.tokens", expected: "a non-empty array of at most 2^31-1 strings")
        }
        let n = texts.count
        for i in texts.indices where texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }

        var kinds = [TokenKind](repeating: .normal, count: n)
        if let types = try metadata.intArray("tokenizer.ggml.token_type") {
            guard types.count >= n else {
                throw TokenizerError.countMismatch(file: file, key: "tokenizer.ggml.token_type", count: types.count, expected: n)
            }
            for i in 0..<n { kinds[i] = Int32(exactly: types[i]).flatMap(TokenKind.init(rawValue:)) ?? .undefined }
        }

        // llama.cpp asserts that no two tokens share a text; here that is an error naming both.
        var table = ByteStringTable(expectedCount: reservesRoomForMerges ? n + n / 4 : n)
        for (i, text) in texts.enumerated() {
            var text = text
            let entry = text.withUTF8 { table.findOrAppend($0) }
            if !entry.added { throw TokenizerError.duplicateToken(file: file, text: text, firstID: Int(entry.id), secondID: i) }
        }
        self.texts = texts
        self.kinds = kinds
        self.table = table
    }

    /// The byte a `<0xXX>` byte token stands for (matches llama.cpp `token_to_byte`), or nil if the
    /// text is not of that form.
    static func byteValue(ofByteToken text: ArraySlice<UInt8>) -> UInt8? {
        guard text.count == 6, text.starts(with: [0x3C, 0x30, 0x78]), text.last == UInt8(ascii: ">") else { return nil }  // "<0x"
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        let i = text.startIndex
        guard let high = hex(text[i + 3]), let low = hex(text[i + 4]) else { return nil }
        return high << 4 | low
    }

    /// The text of the byte token for `byte` ("<0x0A>": upper-case hex, as llama.cpp writes it).
    static func byteTokenText(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return [0x3C, 0x30, 0x78, digits[Int(byte >> 4)], digits[Int(byte & 15)], 0x3E]
    }
}
