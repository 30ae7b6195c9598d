/// A piece of input text (a byte range), or a special token cut out of it.
enum TextFragment {
    case text(Range<Int>)
    case token(Int32)
}

/// Cuts special-token texts out of `bytes`, longest token first (`order`: special ids sorted by
/// text length, longest first, then id; matches llama.cpp `tokenizer_st_partition`). Control and
/// unknown tokens are matched only with `parseSpecial`; user-defined tokens always. Shared by the
/// BPE tokenizers of GGUF files and of `tokenizer.json`.
func partitionSpecialTokens(_ bytes: UnsafeBufferPointer<UInt8>, order: [Int32], kinds: [TokenKind],
                            table: ByteStringTable, parseSpecial: Bool) -> [TextFragment] {
    var fragments: [TextFragment] = bytes.isEmpty ? [] : [.text(0..<bytes.count)]
    for id in order {
        let kind = kinds[Int(id)]
        if !parseSpecial, kind != .userDefined { continue }
        let pattern = table.bytes(of: Int(id))
        guard let first = pattern.first else { continue }
        var next: [TextFragment]?
        for (index, fragment) in fragments.enumerated() {
            guard case .text(let range) = fragment else {
                next?.append(fragment)
                continue
            }
            var start = range.lowerBound
            var pos = start
            while pos + pattern.count <= range.upperBound {
                if bytes[pos] == first, bytes[pos..<pos + pattern.count].elementsEqual(pattern) {
                    if next == nil { next = Array(fragments[..<index]) }
                    if pos > start { next?.append(.text(start..<pos)) }
                    next?.append(.token(id))
                    pos += pattern.count
                    start = pos
                } else {
                    pos += 1
                }
            }
            if next != nil, start < range.upperBound { next?.append(.text(start..<range.upperBound)) }
        }
        if let next { fragments = next }
    }
    return fragments
}

/// Special token ids in partition order: longest text first, then lowest id.
func specialTokenOrder(kinds: [TokenKind], table: ByteStringTable) -> [Int32] {
    var special: [(id: Int32, length: Int)] = []
    for id in kinds.indices where kinds[id].isSpecial {
        special.append((Int32(id), table.bytes(of: id).count))
    }
    special.sort { a, b in a.length != b.length ? a.length > b.length : a.id < b.id }
    return special.map { $0.id }
}
