import CSentencePiece
import Foundation

/// A SentencePiece model (`tokenizer.model`) run by libsentencepiece, the reference implementation:
/// normalisation, BPE or unigram segmentation and byte fallback are exactly the library's.
///
/// Immutable after loading; libsentencepiece's encode and decode are const and safe to call from
/// several threads.
public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
    private let processor: OpaquePointer
    /// Number of pieces; valid ids are `0..<vocabularySize`.
    public let vocabularySize: Int
    /// Beginning-of-sequence id, nil when the model has none.
    public let bosID: Int32?
    /// End-of-sequence id, nil when the model has none.
    public let eosID: Int32?
    /// The id unknown text maps to, nil when the model has none.
    public let unknownID: Int32?
    /// Padding id, nil when the model has none (the usual case).
    public let padID: Int32?
    /// Every piece by id (`▁` marks a leading space; `<0x41>` is a byte-fallback piece).
    public let pieces: [String]
    /// Whether `encode(_:addSpecial: true, …)` puts BOS first (default: SentencePiece's, yes).
    public let addBOS: Bool
    /// Whether `encode(_:addSpecial: true, …)` puts EOS last (default: no).
    public let addEOS: Bool
    public let endOfGenerationTokenIDs: Set<Int32>
    /// The role of each piece (control, unknown, byte or normal; the shim does not report
    /// user-defined pieces, which libsentencepiece matches in the text by itself).
    let kinds: [TokenKind]
    /// Piece bytes -> id, for cutting control pieces out of text with `parseSpecial`.
    let table: ByteStringTable
    /// Cuts control and unknown pieces out of text with `parseSpecial`.
    let specialTokens: SpecialTokenMatcher
    /// Whether the model prepends "▁" to text (`add_dummy_prefix`), so decoding drops one leading space.
    let addsDummyPrefix: Bool

    /// Loads a model file. `addBOS`/`addEOS` override SentencePiece's defaults (BOS yes, EOS no),
    /// e.g. from a Hugging Face `tokenizer_config.json`; `bosToken`/`eosToken` name other pieces
    /// as BOS/EOS.
    public convenience init(contentsOf path: String, addBOS: Bool? = nil, addEOS: Bool? = nil,
                            bosToken: String? = nil, eosToken: String? = nil) throws {
        try self.init(source: path, addBOS: addBOS, addEOS: addEOS, bosToken: bosToken, eosToken: eosToken) { p, error, size in
            spm_load_file(p, path, error, size)
        }
    }

    /// Loads a model from its serialized bytes.
    public convenience init(modelData: Data, addBOS: Bool? = nil, addEOS: Bool? = nil) throws {
        try self.init(source: "\(modelData.count) bytes of model data", addBOS: addBOS, addEOS: addEOS, bosToken: nil, eosToken: nil) { p, error, size in
            modelData.withUnsafeBytes { spm_load_bytes(p, $0.baseAddress, $0.count, error, size) }
        }
    }

    private init(source: String, addBOS: Bool?, addEOS: Bool?, bosToken: String?, eosToken: String?,
                 load: (OpaquePointer, UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        guard let p = spm_create() else {
            throw SentencePieceError(status: SentencePieceError.Status.outOfMemory, message: "cannot allocate a processor", source: source)
        }
        var message = [CChar](repeating: 0, count: 512)
        let status = message.withUnsafeMutableBufferPointer { load(p, $0.baseAddress!, $0.count) }
        guard status == 0 else {
            spm_destroy(p)
            throw SentencePieceError(status: status, message: Self.text(message), source: source)
        }
        processor = p
        let count = Int(spm_vocab_size(p))
        vocabularySize = count
        func optionalID(_ id: Int32) -> Int32? { id >= 0 && Int(id) < count ? id : nil }
        unknownID = optionalID(spm_unk_id(p))
        padID = optionalID(spm_pad_id(p))
        var table = ByteStringTable(expectedCount: count)
        var kinds = [TokenKind](repeating: .normal, count: count)
        pieces = (0..<Int32(count)).map { id in
            var length = 0
            guard let bytes = spm_id_to_piece(p, id, &length) else { return "" }
            let buffer = UnsafeBufferPointer(start: UnsafeRawPointer(bytes).assumingMemoryBound(to: UInt8.self), count: length)
            _ = table.findOrAppend(buffer)  // libsentencepiece refuses models with duplicate pieces
            if spm_is_control(p, id) != 0 { kinds[Int(id)] = .control }
            if spm_is_unknown(p, id) != 0 { kinds[Int(id)] = .unknown }
            if spm_is_byte(p, id) != 0 { kinds[Int(id)] = .byte }
            return String(decoding: buffer, as: UTF8.self)
        }
        // BOS/EOS: the model's, or pieces named by the caller (a tokenizer_config.json).
        func named(_ text: String?, _ field: String, default id: Int32) throws -> Int32? {
            guard let text else { return optionalID(id) }
            var t = text
            guard let found = t.withUTF8({ table.find($0) }), Int(found) < count else {
                spm_destroy(p)
                throw SentencePieceError(status: SentencePieceError.Status.load, message: "\(field) \(text.debugDescription) is not a piece of the model", source: source)
            }
            return found
        }
        bosID = try named(bosToken, "bos_token", default: spm_bos_id(p))
        eosID = try named(eosToken, "eos_token", default: spm_eos_id(p))
        self.addBOS = addBOS ?? (bosID != nil)
        self.addEOS = addEOS ?? false
        if self.addBOS && bosID == nil || self.addEOS && eosID == nil {
            spm_destroy(p)
            throw SentencePieceError(status: SentencePieceError.Status.load, message: "BOS/EOS is to be added but the model has no such piece", source: source)
        }
        endOfGenerationTokenIDs = SpecialTokens(tokens: pieces, kinds: &kinds, eos: eosID, keyed: SpecialTokens.Keyed()).endOfGeneration
        self.kinds = kinds
        self.table = table
        specialTokens = SpecialTokenMatcher(kinds: kinds, table: table)
        addsDummyPrefix = Self.encodesWithLeadingSpace(p, pieces: pieces)
    }

    /// Whether encoding "x" starts with a "▁" piece, i.e. the model has `add_dummy_prefix` (the
    /// shim does not expose the normalizer spec).
    private static func encodesWithLeadingSpace(_ p: OpaquePointer, pieces: [String]) -> Bool {
        var ids: UnsafeMutablePointer<Int32>?
        var count = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = spm_encode(p, "x", 1, &ids, &count, &message, message.count)
        defer { spm_free(ids) }
        guard status == 0, let ids, count > 0, ids[0] >= 0, Int(ids[0]) < pieces.count else { return false }
        return pieces[Int(ids[0])].hasPrefix("\u{2581}")
    }

    deinit {
        spm_destroy(processor)
    }

    /// Token ids of `text` (no BOS/EOS added; the caller decides).
    ///
    /// libsentencepiece fails to encode only without a loaded model or when out of memory; the first
    /// cannot happen after `init`, so a failure here is a broken invariant, not bad input.
    public func encode(_ text: String) -> [Int32] {
        var utf8 = Array(text.utf8)
        utf8.append(0)
        var ids: UnsafeMutablePointer<Int32>?
        var count = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = utf8.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                spm_encode(processor, chars.baseAddress, chars.count - 1, &ids, &count, &message, message.count)
            }
        }
        defer { spm_free(ids) }
        precondition(status == 0, "libsentencepiece failed to encode: \(Self.text(message))")
        guard let ids else { return [] }
        return Array(UnsafeBufferPointer(start: ids, count: count))
    }

    /// The text of `ids` (control pieces such as `<s>` decode to nothing). Throws when an id is
    /// outside `0..<vocabularySize`.
    public func decode(_ ids: [Int32]) throws -> String {
        var text: UnsafeMutablePointer<CChar>?
        var length = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = ids.withUnsafeBufferPointer {
            spm_decode(processor, $0.baseAddress, $0.count, &text, &length, &message, message.count)
        }
        defer { spm_free(text) }
        guard status == 0, let text else {
            throw SentencePieceError(status: status, message: Self.text(message), source: "decode")
        }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
    }

    /// The piece of `id`, or nil when it is out of range.
    public func piece(for id: Int32) -> String? {
        id >= 0 && Int(id) < pieces.count ? pieces[Int(id)] : nil
    }

    /// The id of `piece`, or nil when the vocabulary does not contain it.
    public func id(forPiece piece: String) -> Int32? {
        let id = piece.utf8CString.withUnsafeBufferPointer { spm_piece_to_id(processor, $0.baseAddress, $0.count - 1) }
        guard id >= 0, Int(id) < pieces.count, pieces[Int(id)] == piece else { return nil }
        return id
    }

    /// Whether `id` is a control piece (`<s>`, `</s>`), which decodes to no text.
    public func isControl(_ id: Int32) -> Bool { spm_is_control(processor, id) != 0 }

    /// Whether `id` is a byte-fallback piece (`<0x0A>`).
    public func isByte(_ id: Int32) -> Bool { spm_is_byte(processor, id) != 0 }

    /// The piece's score (merge priority or log-probability), as GGUF's `tokenizer.ggml.scores` holds it.
    public func score(_ id: Int32) -> Float { spm_score(processor, id) }

    /// The piece's role as GGUF's `tokenizer.ggml.token_type` records it (llama.cpp's converter reads
    /// the same from the model; user-defined pieces are not exposed by the library and read as normal).
    public func kind(_ id: Int32) -> TokenKind {
        if spm_is_unknown(processor, id) != 0 { return .unknown }
        if spm_is_control(processor, id) != 0 { return .control }
        if spm_is_byte(processor, id) != 0 { return .byte }
        if spm_is_unused(processor, id) != 0 { return .unused }
        return .normal
    }

    private static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A SentencePiece model that could not be loaded, or ids that could not be decoded.
public struct SentencePieceError: Error, CustomStringConvertible, Equatable {
    /// Status codes of the CSentencePiece shim.
    public enum Status {
        public static let load: Int32 = 1, encode: Int32 = 2, decode: Int32 = 3, outOfMemory: Int32 = 4, internalError: Int32 = 5
    }

    public let status: Int32
    public let message: String
    /// The file or operation involved.
    public let source: String

    public var description: String {
        switch status {
        case Status.load:
            return "cannot load the SentencePiece model from \(source): \(message); pass a tokenizer.model file (e.g. `sparrow models fetch mistral-7b-v0.1-tokenizer`)"
        case Status.decode:
            return "cannot decode: \(message); ids must lie in 0..<vocabulary size"
        default:
            return "libsentencepiece failed (\(source)): \(message)"
        }
    }
}
