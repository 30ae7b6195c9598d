import CSentencePiece
import Foundation

/// A SentencePiece model (`tokenizer.model`) run by libsentencepiece, the reference implementation:
/// normalisation, BPE or unigram segmentation and byte fallback are exactly the library's.
///
/// Immutable after loading; libsentencepiece's encode and decode are const and safe to call from
/// several threads.
public final class SentencePieceTokenizer: @unchecked Sendable {
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

    /// Loads a model file.
    public convenience init(contentsOf path: String) throws {
        try self.init(source: path) { p, error, size in spm_load_file(p, path, error, size) }
    }

    /// Loads a model from its serialized bytes.
    public convenience init(modelData: Data) throws {
        try self.init(source: "\(modelData.count) bytes of model data") { p, error, size in
            modelData.withUnsafeBytes { spm_load_bytes(p, $0.baseAddress, $0.count, error, size) }
        }
    }

    private init(source: String, load: (OpaquePointer, UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
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
        bosID = optionalID(spm_bos_id(p))
        eosID = optionalID(spm_eos_id(p))
        unknownID = optionalID(spm_unk_id(p))
        padID = optionalID(spm_pad_id(p))
        pieces = (0..<Int32(count)).map { id in
            var length = 0
            guard let bytes = spm_id_to_piece(p, id, &length) else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
        }
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
