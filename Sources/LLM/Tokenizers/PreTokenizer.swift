/// How a byte-level BPE vocabulary splits text into words before merging (`tokenizer.ggml.pre`).
///
/// Hugging Face and llama.cpp describe these splits as regular expressions (llama.cpp
/// src/llama-vocab.cpp, `llm_tokenizer_bpe`); here each is a hand-written scanner over Unicode scalars
/// that reproduces llama.cpp's splitting exactly, including its hand-written matchers in
/// src/unicode.cpp. `\p{L}`, `\p{N}`, `\p{P}` and `\s` are `CodepointClass` tests. Merges never cross a
/// word boundary.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// As `llama3`, but numbers split into single digits (`\p{N}` instead of `\p{N}{1,3}`).
    case qwen2
    /// As `qwen2`, with marks (`\p{M}`) counted as letters (Qwen3.5).
    case qwen35
    /// Every `\p{N}` isolated first, then the `gpt2` pattern on the pieces (StarCoder, SmolLM, …).
    case starcoder
    /// Runs of `[\p{P}$+<=>^~|`]` isolated, then `gpt2`, then `[0-9][0-9][0-9]` groups isolated.
    case falcon
    /// Isolated in turn: each `[\r\n]`, `\s?\p{L}+`, `\s?\p{P}+`, runs of CJK/Hangul, each `\p{N}`.
    case deepseekCoder = "deepseek-coder"
    /// Isolated in turn: each `[\r\n]`, `\s?` + a run of cased letters (an explicit list of ranges),
    /// `\s?` + a run of ASCII/full-width punctuation, trailing `\s+$`, runs of CJK/Hangul, `\p{N}+`.
    case deepseekLLM = "deepseek-llm"
    /// Runs of newlines and runs of other characters (`[^\n]+|[\n]+`): Gemma 4, whose SPM-style BPE
    /// merges across spaces.
    case newlines
    /// llama.cpp's fallback when a file names no pre-tokenizer: runs of `[\p{P}$+<=>^~|]` isolated,
    /// then `gpt2`, then runs of `\p{N}` isolated, then `[0-9][0-9][0-9]` groups isolated.
    case `default`

    /// The `tokenizer.ggml.pre` values this runtime accepts, with the behaviour llama.cpp attaches
    /// to each name (llama-vocab.cpp `load`): some llama3-style names also skip merging for words
    /// already in the vocabulary and add BOS by default.
    static let byGGUFName: [String: (pre: PreTokenizer, ignoresMerges: Bool, addsBOS: Bool)] = [
        "default": (.default, false, false),
        "gpt-2": (.gpt2, false, false), "phi-2": (.gpt2, false, false),
        "mpt": (.gpt2, false, false), "olmo": (.gpt2, false, false),
        "llama3": (.llama3, true, true), "llama-v3": (.llama3, true, true),
        "llama-bpe": (.llama3, true, true), "falcon3": (.llama3, true, true), "pixtral": (.llama3, true, true),
        "dbrx": (.llama3, false, false), "smaug-bpe": (.llama3, false, false),
        "qwen2": (.qwen2, false, false), "deepseek-r1-qwen": (.qwen2, false, false),
        "megrez": (.qwen2, false, false), "stablelm2": (.qwen2, false, false),
        "qwen35": (.qwen35, false, false), "gemma4": (.newlines, false, true),
        "falcon": (.falcon, false, false),
        "deepseek-coder": (.deepseekCoder, false, false), "deepseek-llm": (.deepseekLLM, false, false),
        "starcoder": (.starcoder, false, false), "smollm": (.starcoder, false, false),
        "refact": (.starcoder, false, false), "command-r": (.starcoder, false, false),
        "codeshell": (.starcoder, false, false), "exaone": (.starcoder, false, false),
        "minerva-7b": (.starcoder, false, false),
    ]

    /// The accepted `tokenizer.ggml.pre` names, sorted (for error messages).
    public static var supportedGGUFNames: [String] { byGGUFName.keys.sorted() }

    /// Splits `text` into the words BPE merges within (for inspection and tests).
    public func split(_ text: String) -> [String] {
        let unicodeScalars = Array(text.unicodeScalars)
        let scalars = unicodeScalars.map(\.value)
        let classes = scalars.map(CodepointClass.of)
        return split(scalars: scalars, classes: classes).map { range in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: unicodeScalars[range])
            return String(view)
        }
    }

    /// Splits scalars (with their classes) into word ranges covering the whole input in order.
    func split(scalars: [UInt32], classes: [CodepointClass]) -> [Range<Int>] {
        precondition(scalars.count == classes.count)
        let all = scalars.isEmpty ? [] : [0..<scalars.count]
        return scalars.withUnsafeBufferPointer { s in
            classes.withUnsafeBufferPointer { c in
                let text = ScalarText(scalars: s, classes: c)
                switch self {
                case .gpt2:
                    return text.apply(all, scanner: text.scanGPT2)
                case .llama3:
                    return text.apply(all) { text.scanLlama3(range: $0, maxDigits: 3, into: &$1) }
                case .qwen2:
                    return text.apply(all) { text.scanLlama3(range: $0, maxDigits: 1, into: &$1) }
                case .qwen35:
                    return text.apply(all) { text.scanLlama3(range: $0, maxDigits: 1, letterLike: [.letter, .mark], into: &$1) }
                case .newlines:
                    return text.isolate(all) { pos, end in
                        let newline = text.scalars[pos] == 0x0A
                        return text.run(from: pos, to: end) { (text.scalars[$0] == 0x0A) == newline }
                    }
                case .falcon:
                    var pieces = text.isolate(all) { pos, end in text.run(from: pos, to: end, where: text.isFalconPunctuation) }
                    pieces = text.apply(pieces, scanner: text.scanGPT2)
                    return text.isolate(pieces, match: text.asciiDigitTriple)
                case .deepseekCoder:
                    var pieces = text.isolate(all) { pos, _ in text.isNewline(pos) ? pos + 1 : nil }
                    pieces = text.isolate(pieces) { pos, end in text.optionalSpaceThenRun(from: pos, to: end) { text.classes[$0].contains(.letter) } }
                    pieces = text.isolate(pieces) { pos, end in text.optionalSpaceThenRun(from: pos, to: end) { text.classes[$0].contains(.punctuation) } }
                    pieces = text.isolate(pieces) { pos, end in text.run(from: pos, to: end) { text.isCJK($0) } }
                    return text.isolate(pieces) { pos, _ in text.classes[pos].contains(.number) ? pos + 1 : nil }
                case .deepseekLLM:
                    var pieces = text.isolate(all) { pos, _ in text.isNewline(pos) ? pos + 1 : nil }
                    pieces = text.isolate(pieces) { pos, end in text.optionalSpaceThenRun(from: pos, to: end) { text.isDeepSeekLetter($0) } }
                    pieces = text.isolate(pieces) { pos, end in text.optionalSpaceThenRun(from: pos, to: end) { text.isDeepSeekPunctuation($0) } }
                    pieces = text.isolate(pieces) { pos, end in
                        // \s+$: whitespace from `pos` to the end of the piece.
                        (pos..<end).allSatisfy { text.classes[$0].contains(.whitespace) } ? end : nil
                    }
                    pieces = text.isolate(pieces) { pos, end in text.run(from: pos, to: end) { text.isCJK($0) } }
                    return text.isolate(pieces) { pos, end in text.run(from: pos, to: end) { text.classes[$0].contains(.number) } }
                case .starcoder:
                    let digits = text.isolate(all) { pos, end in text.classes[pos].contains(.number) ? pos + 1 : nil }
                    return text.apply(digits, scanner: text.scanGPT2)
                case .default:
                    var pieces = text.isolate(all) { pos, end in text.run(from: pos, to: end, where: text.isDefaultPunctuation) }
                    pieces = text.apply(pieces, scanner: text.scanGPT2)
                    pieces = text.isolate(pieces) { pos, end in text.run(from: pos, to: end) { text.classes[$0].contains(.number) } }
                    return text.isolate(pieces, match: text.asciiDigitTriple)
                }
            }
        }
    }
}

/// Scalars and their classes, with the scanners that split them.
private struct ScalarText {
    let scalars: UnsafeBufferPointer<UInt32>
    let classes: UnsafeBufferPointer<CodepointClass>

    /// Runs `scanner` on each piece and concatenates the results.
    func apply(_ pieces: [Range<Int>], scanner: (Range<Int>, inout [Range<Int>]) -> Void) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(pieces.count * 2)
        for piece in pieces { scanner(piece, &out) }
        return out
    }

    /// Splits each piece at the leftmost non-overlapping matches of a pattern, keeping both the
    /// matches and the text between them as pieces (std::regex_iterator as llama.cpp uses it).
    /// `match(pos, end)` returns the end of a non-empty match starting at `pos`, or nil.
    func isolate(_ pieces: [Range<Int>], match: (Int, Int) -> Int?) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(pieces.count * 2)
        for piece in pieces {
            var start = piece.lowerBound
            var pos = start
            while pos < piece.upperBound {
                if let end = match(pos, piece.upperBound) {
                    if pos > start { out.append(start..<pos) }
                    out.append(pos..<end)
                    start = end
                    pos = end
                } else {
                    pos += 1
                }
            }
            if piece.upperBound > start { out.append(start..<piece.upperBound) }
        }
        return out
    }

    /// The end of the longest non-empty run starting at `pos` whose scalars satisfy `test`, or nil.
    func run(from pos: Int, to end: Int, where test: (Int) -> Bool) -> Int? {
        var i = pos
        while i < end, test(i) { i += 1 }
        return i > pos ? i : nil
    }

    /// `[\p{P}\$\+<=>\^~\|]` of the default pre-tokenizer.
    func isDefaultPunctuation(_ i: Int) -> Bool {
        if classes[i].contains(.punctuation) { return true }
        switch scalars[i] {
        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true  // $ + < = > ^ ~ |
        default: return false
        }
    }

    /// `[\p{P}\$\+<=>\^~\|`]` of the falcon pre-tokenizer.
    func isFalconPunctuation(_ i: Int) -> Bool { isDefaultPunctuation(i) || scalars[i] == 0x60 }

    /// `[0-9][0-9][0-9]` at `pos`: its end, or nil.
    func asciiDigitTriple(_ pos: Int, _ end: Int) -> Int? {
        guard pos + 3 <= end, (pos..<pos + 3).allSatisfy({ (48...57).contains(scalars[$0]) }) else { return nil }
        return pos + 3
    }

    @inline(__always)
    func isNewline(_ i: Int) -> Bool { scalars[i] == 0x0A || scalars[i] == 0x0D }

    /// `\s?X+` where X is `test`: an optional whitespace scalar, then a non-empty run (ECMAScript
    /// backtracking: a whitespace not followed by X leaves the match to start at X itself).
    func optionalSpaceThenRun(from pos: Int, to end: Int, where test: (Int) -> Bool) -> Int? {
        if classes[pos].contains(.whitespace), pos + 1 < end, test(pos + 1) { return run(from: pos + 1, to: end, where: test) }
        return run(from: pos, to: end, where: test)
    }

    /// The scalar as llama.cpp's std::wregex sees it: non-ASCII whitespace replaced by U+000B.
    @inline(__always)
    private func wideValue(_ i: Int) -> UInt32 {
        let v = scalars[i]
        return v > 0x7F && classes[i].contains(.whitespace) ? 0x0B : v
    }

    /// `[一-龥ࠀ-一가-퟿]` of the DeepSeek pre-tokenizers (CJK ideographs, U+0800…U+4E00, Hangul).
    func isCJK(_ i: Int) -> Bool {
        let v = wideValue(i)
        return (0x4E00...0x9FA5).contains(v) || (0x0800...0x4E00).contains(v) || (0xAC00...0xD7FF).contains(v)
    }

    /// `[!-/:-~！-／：-～‘-‟　-。]` of the deepseek-llm pre-tokenizer.
    func isDeepSeekPunctuation(_ i: Int) -> Bool {
        let v = wideValue(i)
        return (0x21...0x2F).contains(v) || (0x3A...0x7E).contains(v) || (0xFF01...0xFF0F).contains(v)
            || (0xFF1A...0xFF5E).contains(v) || (0x2018...0x201F).contains(v) || (0x3000...0x3002).contains(v)
    }

    /// The cased-letter class of the deepseek-llm pre-tokenizer (`DeepSeekLetters.ranges`).
    func isDeepSeekLetter(_ i: Int) -> Bool {
        let v = wideValue(i)
        if v < 0x80 { return (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) }
        return DeepSeekLetters.contains(v)
    }

    /// The length of a contraction (`'s 't 're 've 'm 'll 'd`) at `pos` inside `[pos, end)`, or 0.
    func contraction(at pos: Int, end: Int, ignoringCase: Bool) -> Int {
        guard scalars[pos] == 0x27, pos + 1 < end else { return 0 }  // '
        func lower(_ v: UInt32) -> UInt32 { ignoringCase && (65...90).contains(v) ? v + 32 : v }
        let a = lower(scalars[pos + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        guard pos + 2 < end else { return 0 }
        let b = lower(scalars[pos + 2])
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    /// The gpt2 pattern over one piece (matches llama.cpp unicode.cpp `unicode_regex_split_custom_gpt2`).
    func scanGPT2(range: Range<Int>, into out: inout [Range<Int>]) {
        let end = range.upperBound
        @inline(__always) func cls(_ i: Int) -> CodepointClass { i < end ? classes[i] : [] }
        var pos = range.lowerBound
        while pos < end {
            let start = pos
            let c = scalars[pos]
            let n = contraction(at: pos, end: end, ignoringCase: false)
            if n > 0 {
                pos += n
            } else {
                // An optional leading space, then a run of letters, numbers or "other" characters.
                let lead = c == 0x20 ? cls(pos + 1) : classes[pos]
                let skip = c == 0x20 ? 1 : 0
                if lead.contains(.letter) {
                    pos += skip
                    while cls(pos).contains(.letter) { pos += 1 }
                } else if lead.contains(.number) {
                    pos += skip
                    while cls(pos).contains(.number) { pos += 1 }
                } else if lead.isDisjoint(with: .wordLike), !lead.isEmpty {
                    pos += skip
                    while case let k = cls(pos), k.isDisjoint(with: .wordLike), !k.isEmpty { pos += 1 }
                } else {
                    pos = whitespaceEnd(from: pos, end: end, stopAtNewline: false)
                }
            }
            out.append(start..<pos)
        }
    }

    /// The llama3 pattern over one piece, with `\p{N}{1,maxDigits}` (matches llama.cpp unicode.cpp
    /// `unicode_regex_split_custom_llama3`, `_qwen2` for `maxDigits` 1, and `_qwen35` when
    /// `letterLike` also holds marks: `[\p{L}\p{M}]+` for `\p{L}+`, `[^\s\p{L}\p{M}\p{N}]` for
    /// `[^\s\p{L}\p{N}]`).
    func scanLlama3(range: Range<Int>, maxDigits: Int, letterLike: CodepointClass = .letter, into out: inout [Range<Int>]) {
        let notOther = CodepointClass.wordLike.union(letterLike)
        let end = range.upperBound
        @inline(__always) func cls(_ i: Int) -> CodepointClass { i < end ? classes[i] : [] }
        @inline(__always) func isNewline(_ i: Int) -> Bool { i < end && (scalars[i] == 0x0A || scalars[i] == 0x0D) }
        var pos = range.lowerBound
        while pos < end {
            let start = pos
            let c = scalars[pos]
            let k = classes[pos]
            let n = contraction(at: pos, end: end, ignoringCase: true)
            if n > 0 {
                pos += n
            } else if !isNewline(pos), !k.contains(.number), !k.isDisjoint(with: letterLike) || !cls(pos + 1).isDisjoint(with: letterLike) {
                // [^\r\n\p{L}\p{N}]?\p{L}+
                pos += 1
                while !cls(pos).isDisjoint(with: letterLike) { pos += 1 }
            } else if k.contains(.number) {
                // \p{N}{1,maxDigits}: each full group is its own word.
                var groupStart = pos
                while cls(pos).contains(.number) {
                    pos += 1
                    if pos - groupStart >= maxDigits {
                        out.append(groupStart..<pos)
                        groupStart = pos
                    }
                }
                if pos > groupStart { out.append(groupStart..<pos) }
                continue
            } else if case let lead = (c == 0x20 ? cls(pos + 1) : k), lead.isDisjoint(with: notOther) {
                // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
                if c == 0x20 { pos += 1 }
                while case let m = cls(pos), m.isDisjoint(with: notOther), !m.isEmpty { pos += 1 }
                while isNewline(pos) { pos += 1 }
            } else {
                pos = whitespaceEnd(from: pos, end: end, stopAtNewline: true)
            }
            out.append(start..<pos)
        }
    }

    /// The end of the whitespace alternatives at `pos`: `\s*[\r\n]+` (if `stopAtNewline`), then
    /// `\s+(?!\S)` (a run followed by a non-space gives up its last space), then `\s+`; a lone
    /// non-space character that matched nothing becomes its own word.
    private func whitespaceEnd(from pos: Int, end: Int, stopAtNewline: Bool) -> Int {
        var count = 0
        var afterLastNewline = -1
        while pos + count < end, classes[pos + count].contains(.whitespace) {
            if stopAtNewline, scalars[pos + count] == 0x0A || scalars[pos + count] == 0x0D {
                afterLastNewline = pos + count + 1
            }
            count += 1
        }
        if afterLastNewline >= 0 { return afterLastNewline }
        if count > 1, pos + count < end { return pos + count - 1 }
        if count > 0 { return pos + count }
        return pos + 1
    }
}
