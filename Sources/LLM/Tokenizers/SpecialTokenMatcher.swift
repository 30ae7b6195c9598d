/// A piece of input text: either ordinary text (a byte range) or one special token cut out of it.
enum TextFragment {
    case text(Range<Int>)
    case token(Int32)
}

/// Cuts the texts of special tokens (control, user-defined, unknown) out of input text before a
/// tokenizer segments the rest (matches llama.cpp src/llama-vocab.cpp `tokenizer_st_partition`).
/// Shared by every tokenizer here: GGUF BPE and SPM, `tokenizer.json` BPE, and libsentencepiece
/// models with `parseSpecial`.
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

    /// Whether the vocabulary has no special tokens at all.
    var isEmpty: Bool { patterns.isEmpty }

    /// Collects the special tokens (`kinds[id].isSpecial`) of a vocabulary whose texts `table` holds
    /// by id. `modelName` (`general.name`), `preTokenizer` (`tokenizer.ggml.pre`) and `architecture`
    /// (`general.architecture`) select llama.cpp's per-model strip rules (llama-vocab.cpp, "Handle
    /// per token attributes"); without them no token strips whitespace.
    init(kinds: [TokenKind], table: ByteStringTable, modelName: String? = nil, preTokenizer: String? = nil, architecture: String? = nil) {
        var special: [(id: Int32, length: Int)] = []
        for id in kinds.indices where kinds[id].isSpecial {
            special.append((Int32(id), table.bytes(of: id).count))
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
            let bytes = table.bytes(of: Int(id))
            let text = masksStripLeft || isPhi3 ? String(decoding: bytes, as: UTF8.self) : ""  // only the rules read it
            let start = storage.count
            storage.append(contentsOf: bytes)
            let stripsLeft = masksStripLeft && text == "<mask>"
            let stripsRight = isPhi3 && !phi3KeepsSpace.contains(text)
            patterns.append(Pattern(id: id, bytes: start..<storage.count, alwaysMatched: kinds[Int(id)] == .userDefined,
                                    stripsLeft: stripsLeft, stripsRight: stripsRight))
        }
        self.patterns = patterns
        self.storage = storage
    }

    /// Splits `bytes` into text ranges and special tokens, in order.
    ///
    /// Instead of rescanning every text fragment for every token (llama.cpp's way, slow with Gemma's
    /// 6000 special tokens), each byte position carries a state (still text, covered by a token, or
    /// stripped) and a token is tried only where its first byte occurs, in ascending order. A match
    /// must lie wholly in text, and text runs are separated by tokens, so this finds the same
    /// leftmost non-overlapping matches per fragment as llama.cpp.
    func fragments(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [TextFragment] {
        let n = bytes.count
        guard n > 0 else { return [] }
        // Positions of each byte value, ascending (a counting sort).
        var bucketStart = [Int](repeating: 0, count: 257)
        for b in bytes { bucketStart[Int(b) + 1] += 1 }
        for v in 0..<256 { bucketStart[v + 1] += bucketStart[v] }
        var positions = [Int32](repeating: 0, count: n)
        var fill = bucketStart
        for (i, b) in bytes.enumerated() {
            positions[fill[Int(b)]] = Int32(i)
            fill[Int(b)] += 1
        }

        var state = [ByteState](repeating: .text, count: n)
        var found: [(position: Int, id: Int32, length: Int)] = []
        storage.withUnsafeBufferPointer { storage in
            for pattern in patterns {
                if !parseSpecial, !pattern.alwaysMatched { continue }
                let text = UnsafeBufferPointer(rebasing: storage[pattern.bytes])
                guard let first = text.first else { continue }
                for k in bucketStart[Int(first)]..<bucketStart[Int(first) + 1] {
                    let pos = Int(positions[k])
                    guard pos + text.count <= n, state[pos] == .text, Self.matches(text, in: bytes, at: pos),
                          (pos..<pos + text.count).allSatisfy({ state[$0] == .text }) else { continue }
                    for i in pos..<pos + text.count { state[i] = .token }
                    found.append((pos, pattern.id, text.count))
                    if pattern.stripsLeft {
                        var i = pos
                        while i > 0, state[i - 1] == .text, Self.isSpace(bytes[i - 1]) { i -= 1; state[i] = .stripped }
                    }
                    if pattern.stripsRight {
                        var i = pos + text.count
                        while i < n, state[i] == .text, Self.isSpace(bytes[i]) { state[i] = .stripped; i += 1 }
                    }
                }
            }
        }
        guard !found.isEmpty else { return [.text(0..<n)] }

        found.sort { $0.position < $1.position }
        var fragments: [TextFragment] = []
        var pos = 0
        var next = 0
        while pos < n {
            if next < found.count, found[next].position == pos {
                fragments.append(.token(found[next].id))
                pos += found[next].length
                next += 1
            } else if state[pos] == .stripped {
                pos += 1
            } else {
                let start = pos
                while pos < n, state[pos] == .text { pos += 1 }
                fragments.append(.text(start..<pos))
            }
        }
        return fragments
    }

    private enum ByteState: UInt8 {
        case text, token, stripped
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

extension Tokenizer {
    /// The frame every encoder shares: BOS and EOS as `addSpecial` asks, special tokens cut out of
    /// `text` by `matcher` (control tokens only with `parseSpecial`), and `encodeText(all, range,
    /// afterSpecial, &output)` for each piece of text between them (`afterSpecial`: the piece starts
    /// the text or follows a special token).
    func encodeAroundSpecialTokens(
        _ text: String, addSpecial: Bool, parseSpecial: Bool, matcher: SpecialTokenMatcher,
        _ encodeText: (UnsafeBufferPointer<UInt8>, Range<Int>, Bool, inout [Int32]) -> Void
    ) -> [Int32] {
        var output: [Int32] = []
        if addSpecial, addBOS, let bos = bosTokenID { output.append(bos) }
        let bytes = Array(text.utf8)
        output.reserveCapacity(bytes.count / 3 + 2)
        bytes.withUnsafeBufferPointer { all in
            var afterSpecial = true
            for fragment in matcher.fragments(all, parseSpecial: parseSpecial) {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    afterSpecial = true
                case .text(let range):
                    encodeText(all, range, afterSpecial, &output)
                    afterSpecial = false
                }
            }
        }
        if addSpecial, addEOS, let eos = eosTokenID { output.append(eos) }
        return output
    }
}
