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

    /// Reads the token list of a GGUF file. `reservesRoomForMerges` sizes the table for a quarter more
    /// entries (BPE merge intermediates).
    init(metadata: TokenizerMetadata, reservesRoomForMerges: Bool = false) throws {
        let file = metadata.file
        guard let texts = try metadata.stringArray("tokenizer.ggml.tokens") else {
            throw TokenizerError.missingKey(file: file, key: "tokenizer.ggml.tokens")
        }
        guard !texts.isEmpty, texts.count <= Int(Int32.max) else {
            throw TokenizerError.wrongType(file: file, key: "tokenizer.ggml.tokens", expected: "a non-empty array of at most 2^31-1 strings")
        }
        let n = texts.count
        var kinds = [TokenKind](repeating: .normal, count: n)
        if let types = try metadata.intArray("tokenizer.ggml.token_type") {
            guard types.count >= n else {
                throw TokenizerError.countMismatch(file: file, key: "tokenizer.ggml.token_type", count: types.count, expected: n)
            }
            for i in 0..<n { kinds[i] = Int32(exactly: types[i]).flatMap(TokenKind.init(rawValue:)) ?? .undefined }
        }
        try self.init(file: file, texts: texts, kinds: kinds, reservesRoomForMerges: reservesRoomForMerges)
    }

    /// Builds the table of a token list from any source (GGUF or `tokenizer.json`). Throws
    /// `TokenizerError.duplicateToken` when two ids share a text (llama.cpp asserts instead).
    init(file: String, texts: [String], kinds: [TokenKind], reservesRoomForMerges: Bool = false) throws {
        precondition(texts.count == kinds.count && !texts.isEmpty && texts.count <= Int(Int32.max))
        var texts = texts
        let n = texts.count
        for i in texts.indices where texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }
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

    /// The role of a token (`.undefined` outside `0..<count`).
    func kind(of id: Int32) -> TokenKind {
        id >= 0 && Int(id) < count ? kinds[Int(id)] : .undefined
    }

    /// The raw text of a token ("" outside `0..<count`).
    func text(of id: Int32) -> String {
        id >= 0 && Int(id) < count ? texts[Int(id)] : ""
    }

    /// The token whose raw text is exactly `text` (never a table entry past `count`), or nil.
    func id(of text: String) -> Int32? {
        var text = text
        guard let id = text.withUTF8({ table.find($0) }), Int(id) < count else { return nil }
        return id
    }

    /// Appends the bytes token `id` stands for (the kind rules of llama.cpp `token_to_piece`): control
    /// and unknown text only if `renderSpecial`, user-defined text verbatim (or through `normal` if
    /// `decodesUserDefined`, as Hugging Face `tokenizers` does), normal tokens through `normal`, byte
    /// tokens `<0xXX>` as that byte, unused and undefined tokens and ids outside `0..<count` nothing.
    @inline(__always)
    func appendBytes(of id: Int32, renderSpecial: Bool, decodesUserDefined: Bool = false, to bytes: inout [UInt8],
                     normal: (ArraySlice<UInt8>, inout [UInt8]) -> Void) {
        guard id >= 0, Int(id) < count else { return }
        let text = table.bytes(of: Int(id))
        switch kinds[Int(id)] {
        case .control, .unknown:
            if renderSpecial { bytes.append(contentsOf: text) }
        case .userDefined:
            if decodesUserDefined { normal(text, &bytes) } else { bytes.append(contentsOf: text) }
        case .normal:
            normal(text, &bytes)
        case .byte:
            if let value = Self.byteValue(ofByteToken: text) { bytes.append(value) }
        case .unused, .undefined:
            break
        }
    }

    /// The id of the byte token `<0xXX>` of each byte (-1 where the vocabulary has none).
    func byteTokenIDs() -> [Int32] {
        (0..<256).map { b in
            Self.byteTokenText(UInt8(b)).withUnsafeBufferPointer { table.find($0) }.flatMap { Int($0) < count ? $0 : nil } ?? -1
        }
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
