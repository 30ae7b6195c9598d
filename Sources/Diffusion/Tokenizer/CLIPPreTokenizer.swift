import Foundation

/// CLIP's text clean-up and pre-tokenizer: what happens to a prompt before byte-pair merging.
///
/// Matches transformers 5.23.0 `CLIPTokenizer` (models/clip/tokenization_clip.py, backed by the
/// `tokenizers` library), which is what diffusers' Stable Diffusion pipelines run:
/// 1. the exact strings `<|startoftext|>` and `<|endoftext|>` in the raw text are special tokens
///    (case-sensitive, matched before any normalisation);
/// 2. every other segment is NFC-normalised, whitespace runs (Unicode `White_Space`) become one
///    space, and each scalar is lower-cased on its own (full case mapping, no context: a final
///    capital sigma becomes "σ", not "ς");
/// 3. the segment is split with CLIP's regex
///    `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`,
///    whitespace between matches dropped. transformers then runs a byte-level pre-tokenizer with
///    GPT-2's split regex, which changes nothing for CLIP's pieces except the two special-token
///    alternatives: a lower-cased "<|ENDOFTEXT|>" ends up as "<|", "endoftext", "|>" — exactly what
///    the regex without those alternatives gives, so they are left out here.
///
/// There is no ftfy repair and no HTML unescaping: open_clip's `SimpleTokenizer` does both (and
/// Python's context-sensitive `str.lower`), so for text such as "&amp;", curly quotes, ligatures or
/// full-width letters its ids differ from diffusers'; the golden script records those cases.
enum CLIPPreTokenizer {
    /// A piece of the input: a special token's id, or a word to byte-encode and merge.
    enum Piece: Equatable {
        case special(Int32)
        case word(String)
    }

    /// The special tokens recognised in raw text, with their ids.
    struct SpecialTokens {
        let start: Int32
        let end: Int32
    }

    static let startText = "<|startoftext|>"
    static let endText = "<|endoftext|>"

    /// Splits `text` into special tokens and words, in order. Special tokens are found on Unicode
    /// scalars (not `Character`s), so a combining mark after `>` does not hide one.
    static func pieces(of text: String, specials: SpecialTokens) -> [Piece] {
        var result: [Piece] = []
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0
        var i = 0
        func flush(_ end: Int) {
            if segmentStart < end { splitWords(scalars[segmentStart..<end], into: &result) }
        }
        while i + 1 < scalars.count {
            if scalars[i] == "<", scalars[i + 1] == "|",
               let (literal, id) = [(startText, specials.start), (endText, specials.end)].first(where: { hasPrefix(scalars, at: i, $0.0) }) {
                flush(i)
                result.append(.special(id))
                i += literal.unicodeScalars.count
                segmentStart = i
                continue
            }
            i += 1
        }
        flush(scalars.count)
        return result
    }

    /// Normalises one segment (no special tokens in it) and appends its regex matches.
    static func splitWords(_ segment: ArraySlice<Unicode.Scalar>, into result: inout [Piece]) {
        let scalars = normalizedScalars(segment)
        var utf8: [UInt8] = []
        var i = 0
        let n = scalars.count
        while i < n {
            let s = scalars[i]
            if isWhitespace(s) { i += 1; continue }
            let start = i
            if let length = contractionLength(scalars, at: i) {
                i += length
            } else if isLetter(s) {
                i += 1
                while i < n, isLetter(scalars[i]) { i += 1 }
            } else if isNumber(s) {
                i += 1
            } else {
                i += 1
                while i < n, !isWhitespace(scalars[i]), !isLetter(scalars[i]), !isNumber(scalars[i]) { i += 1 }
            }
            utf8.removeAll(keepingCapacity: true)
            for scalar in scalars[start..<i] { UTF8.encode(scalar) { utf8.append($0) } }
            result.append(.word(String(decoding: utf8, as: UTF8.self)))
        }
    }

    /// The length of the contraction ('s, 't, 're, 've, 'm, 'll, 'd) matching at `i`, tried in the
    /// regex's order; nil if none does.
    private static func contractionLength(_ scalars: [Unicode.Scalar], at i: Int) -> Int? {
        guard scalars[i] == "'" else { return nil }
        for literal in ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"] where hasPrefix(scalars, at: i, literal) {
            return literal.unicodeScalars.count
        }
        return nil
    }

    private static func hasPrefix(_ scalars: [Unicode.Scalar], at i: Int, _ literal: String) -> Bool {
        var j = i
        for s in literal.unicodeScalars {
            guard j < scalars.count, scalars[j] == s else { return false }
            j += 1
        }
        return true
    }

    /// NFC, then per-scalar full lower-case mapping (whitespace is dropped later by the split).
    static func normalizedScalars(_ segment: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        if segment.allSatisfy({ $0.isASCII }) {
            // ASCII is already NFC and lower-cases to ASCII.
            return segment.map { ("A"..."Z").contains($0) ? Unicode.Scalar($0.value + 0x20) ?? $0 : $0 }
        }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: segment)
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(segment.count)
        for s in String(text).precomposedStringWithCanonicalMapping.unicodeScalars {
            if s.properties.changesWhenLowercased {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return out
    }

    /// `\s`: the Unicode `White_Space` property (what transformers' regexes treat as whitespace).
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value == 0x20 || (0x09...0x0D).contains(s.value) }
        return s.properties.isWhitespace
    }

    /// `\p{L}`: general category Lu, Ll, Lt, Lm or Lo.
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return (s.value | 0x20) >= 0x61 && (s.value | 0x20) <= 0x7A }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}`: general category Nd, Nl or No.
    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value >= 0x30 && s.value <= 0x39 }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}

/// GPT-2's reversible byte → character mapping that CLIP's vocabulary is written in: the printable
/// bytes '!'…'~', '¡'…'¬', '®'…'ÿ' stand for themselves, the other 68 bytes take U+0100, U+0101, … in
/// byte order (matches open_clip's `bytes_to_unicode`).
enum CLIPByteEncoder {
    /// The character that stands for each byte, in byte order.
    static let characters: [String] = {
        var table = [String](repeating: "", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            let scalar: UInt32
            if printable {
                scalar = UInt32(b)
            } else {
                scalar = next
                next += 1
            }
            table[b] = String(Character(Unicode.Scalar(scalar) ?? "?"))  // scalar < 324: always valid
        }
        return table
    }()

    /// The characters in vocabulary order: open_clip lists them printable bytes first, then the rest.
    static let vocabularyOrder: [String] = {
        let printable = (0..<256).filter { (0x21...0x7E).contains($0) || (0xA1...0xAC).contains($0) || (0xAE...0xFF).contains($0) }
        let others = (0..<256).filter { !printable.contains($0) }
        return (printable + others).map { characters[$0] }
    }()
}

extension CLIPByteEncoder {
    /// The byte each mapped character stands for.
    static let byteForCharacter: [Character: UInt8] = {
        var table = [Character: UInt8]()
        for (b, c) in characters.enumerated() { table[Character(c)] = UInt8(b) }
        return table
    }()
}
