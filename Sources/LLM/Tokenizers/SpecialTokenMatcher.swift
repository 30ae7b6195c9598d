/// A piece of input text: either ordinary text (a byte range) or one special token cut out of it.
enum TextFragment {
    case text(Range<Int>)
    case token(Int32)
}

/// Cuts the texts of special tokens (control, user-defined, unknown) out of input text before a
/// tokenizer segments the rest (matches llama.cpp src/llama-vocab.cpp `tokenizer_st_partition`).
///
/// Tokens are tried one at a time, longest text first (then lowest id), each splitting every text
/// fragment left so far at all its non-overlapping occurrences. Control and unknown tokens are matched
/// only when the caller parses special tokens; user-defined tokens always. A token marked to strip
/// on the left (right) also removes the ASCII whitespace before (after) each occurrence.
struct SpecialTokenMatcher: Sendable {
    private struct Pattern {
        var id: Int32
        var bytes: Range<Int>  // in `storage`
        var alwaysMatched: Bool
        var stripsLeft: Bool
        var stripsRight: Bool
    }

    private let patterns: [Pattern]
    private let storage: [UInt8]

    /// The special tokens in matching order.
    var order: [Int32] { patterns.map(\.id) }

    /// Collects the special tokens of a vocabulary. `modelName` (`general.name`), `preTokenizer`
    /// (`tokenizer.ggml.pre`) and `architecture` (`general.architecture`) select llama.cpp's per-model
    /// strip rules (llama-vocab.cpp, "Handle per token attributes").
    init(vocabulary: Vocabulary, modelName: String?, preTokenizer: String?, architecture: String?) {
        var special: [(id: Int32, length: Int)] = []
        for id in 0..<vocabulary.count where vocabulary.kinds[id].isSpecial {
            special.append((Int32(id), vocabulary.table.bytes(of: id).count))
        }
        special.sort { a, b in a.length != b.length ? a.length > b.length : a.id < b.id }

        let name = (modelName ?? "").lowercased()
        let pre = preTokenizer ?? ""
        let arch = architecture ?? ""
        let masksStripLeft = ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains { pre.contains($0) }
            || ["nomic-bert-moe", "jina-bert-v3"].contains { arch.contains($0) }
        let isPhi3 = name.contains("phi-3") || name.contains("phi3")
        let phi3KeepsSpace: Set<String> = ["<unk>", "<s>", "<|endoftext|>"]

        var storage: [UInt8] = []
        var patterns: [Pattern] = []
        patterns.reserveCapacity(special.count)
        for (id, _) in special {
            let text = vocabulary.texts[Int(id)]
            let start = storage.count
            storage.append(contentsOf: vocabulary.table.bytes(of: Int(id)))
            let stripsLeft = masksStripLeft && text == "<mask>"
            let stripsRight = isPhi3 && !phi3KeepsSpace.contains(text)
            patterns.append(Pattern(id: id, bytes: start..<storage.count, alwaysMatched: vocabulary.kinds[Int(id)] == .userDefined,
                                    stripsLeft: stripsLeft, stripsRight: stripsRight))
        }
        self.patterns = patterns
        self.storage = storage
    }

    /// Splits `bytes` into text ranges and special tokens, in order.
    func fragments(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [TextFragment] {
        var fragments: [TextFragment] = bytes.isEmpty ? [] : [.text(0..<bytes.count)]
        // Bytes that occur in the text: a token whose first byte does not occur cannot match.
        var present = [Bool](repeating: false, count: 256)
        for b in bytes { present[Int(b)] = true }

        storage.withUnsafeBufferPointer { storage in
            for pattern in patterns {
                if !parseSpecial, !pattern.alwaysMatched { continue }
                let text = UnsafeBufferPointer(rebasing: storage[pattern.bytes])
                guard let first = text.first, present[Int(first)] else { continue }
                var next: [TextFragment]?
                for (index, fragment) in fragments.enumerated() {
                    guard case .text(let range) = fragment else {
                        next?.append(fragment)
                        continue
                    }
                    var start = range.lowerBound
                    var pos = start
                    while pos + text.count <= range.upperBound {
                        guard bytes[pos] == first, Self.matches(text, in: bytes, at: pos) else {
                            pos += 1
                            continue
                        }
                        if next == nil { next = Array(fragments[..<index]) }
                        var leftEnd = pos
                        if pattern.stripsLeft { while leftEnd > start, Self.isSpace(bytes[leftEnd - 1]) { leftEnd -= 1 } }
                        if leftEnd > start { next?.append(.text(start..<leftEnd)) }
                        next?.append(.token(pattern.id))
                        pos += text.count
                        if pattern.stripsRight { while pos < range.upperBound, Self.isSpace(bytes[pos]) { pos += 1 } }
                        start = pos
                    }
                    if next != nil, start < range.upperBound { next?.append(.text(start..<range.upperBound)) }
                }
                if let next { fragments = next }
            }
        }
        return fragments
    }

    @inline(__always)
    private static func matches(_ text: UnsafeBufferPointer<UInt8>, in bytes: UnsafeBufferPointer<UInt8>, at pos: Int) -> Bool {
        for k in 1..<text.count where bytes[pos + k] != text[k] { return false }
        return true
    }

    /// C `isspace` in the "C" locale, which llama.cpp uses for stripping.
    @inline(__always)
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
}
