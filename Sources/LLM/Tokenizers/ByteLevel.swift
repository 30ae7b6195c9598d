/// GPT-2's reversible byte <-> Unicode mapping, which byte-level BPE vocabularies are written in.
///
/// Every byte is shown as one visible character: the printable bytes '!'…'~', '¡'…'¬' and '®'…'ÿ'
/// stand for themselves, and the remaining 68 bytes (controls, space, DEL, NBSP, soft hyphen, …) take
/// U+0100, U+0101, … in byte order. So a space is "Ġ" (U+0120) and a newline "Ċ" (U+010A). Matches
/// `bytes_to_unicode` of OpenAI's GPT-2 encoder, as used by llama.cpp (src/unicode.cpp).
enum ByteLevel {
    /// The scalar value that stands for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if isPrintable(UInt8(b)) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each mapped scalar stands for, indexed by scalar value (< `scalarLimit`); -1 if none.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: Int(scalarLimit))
        for (b, s) in scalarForByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// One past the largest scalar value the mapping uses (U+0143).
    static let scalarLimit: UInt32 = 256 + 68

    /// The UTF-8 bytes of the character that stands for each byte (1 or 2 bytes each).
    static let encodedUTF8: [[UInt8]] = scalarForByte.map { Array(String(Unicode.Scalar($0)!).utf8) }

    private static func isPrintable(_ b: UInt8) -> Bool {
        (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    }

    /// The byte a vocabulary character stands for, or nil if the character is not part of the mapping.
    @inline(__always)
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let v = scalar.value
        guard v < scalarLimit else { return nil }
        let b = byteForScalar[Int(v)]
        return b < 0 ? nil : UInt8(b)
    }

    /// Appends the byte-level text of `bytes` (each byte as its stand-in character, UTF-8 encoded).
    static func encode<S: Sequence>(_ bytes: S, into out: inout [UInt8]) where S.Element == UInt8 {
        for b in bytes { out.append(contentsOf: encodedUTF8[Int(b)]) }
    }

    /// Decodes a byte-level vocabulary string back to the bytes it stands for.
    ///
    /// A character outside the mapping cannot come from a byte-level vocabulary; like llama.cpp
    /// (`llama_decode_text`) it is kept visible as `[UNK_BYTE_0x<utf8 hex><token text>]` rather than dropped.
    static func decode(_ text: String, into out: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            if let b = byte(for: scalar) {
                out.append(b)
            } else {
                out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                for u in String(scalar).utf8 {
                    out.append(contentsOf: Array(hex2(u).utf8))
                }
                out.append(contentsOf: Array(text.utf8))
                out.append(UInt8(ascii: "]"))
            }
        }
    }

    private static func hex2(_ v: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(v >> 4)], digits[Int(v & 15)]], as: UTF8.self)
    }
}
