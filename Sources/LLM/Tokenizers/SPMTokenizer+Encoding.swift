/// Encoding: special-token partition, space escaping and score-ordered symbol merging.
extension SPMTokenizer {
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var symbols = MergeSession()
        var heap = BigramHeap<SPMBigram>()
        // The first piece of text, and any piece after a special token, gets the space prefix.
        return encodeAroundSpecialTokens(text, addSpecial: addSpecial, parseSpecial: parseSpecial, matcher: specialTokens) {
            all, range, afterSpecial, output in
            SpaceEscaping.escape(UnsafeBufferPointer(rebasing: all[range]), prefixSpace: addSpacePrefix && afterSpecial,
                                 into: &symbols.escaped)
            let escaped = symbols.escaped  // shares storage: `symbols.escaped` is not written while merging
            escaped.withUnsafeBufferPointer { mergeSymbols($0, symbols: &symbols, heap: &heap, into: &output) }
        }
    }

    /// Segments escaped `text` (matches llama.cpp `llm_tokenizer_spm_session::tokenize`): one symbol per
    /// UTF-8 character, then repeatedly merge the adjacent pair whose concatenation is the token of
    /// highest score (leftmost on ties), and emit each final symbol's token or its bytes' tokens.
    ///
    /// llama.cpp keeps a map from merged text back to its two parts to re-split symbols that are not
    /// tokens; a merge only happens when the merged text is a token, so only unmerged characters can
    /// miss the vocabulary, and those go to byte fallback directly.
    private func mergeSymbols(_ text: UnsafeBufferPointer<UInt8>, symbols s: inout MergeSession, heap: inout BigramHeap<SPMBigram>,
                              into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        s.resetCharacters(of: text)
        heap.removeAll()
        for i in s.starts.indices.dropFirst() { addBigram(left: i - 1, right: i, text: text, symbols: s, heap: &heap) }

        while let bigram = heap.pop() {
            let left = Int(bigram.left), right = Int(bigram.right)
            // Skip pairs made stale by an earlier merge of either side (both alive means still adjacent).
            guard s.alive[left], s.alive[right], s.ends[right] - s.starts[left] == bigram.size else { continue }
            s.join(left, right)
            if s.prev[left] >= 0 { addBigram(left: Int(s.prev[left]), right: left, text: text, symbols: s, heap: &heap) }
            if s.next[left] >= 0 { addBigram(left: left, right: Int(s.next[left]), text: text, symbols: s, heap: &heap) }
        }

        var i = 0
        while i >= 0 {
            let symbol = UnsafeBufferPointer(rebasing: text[Int(s.starts[i])..<Int(s.ends[i])])
            if let id = vocabulary.table.find(symbol), Int(id) < vocabularySize {
                output.append(id)
            } else {
                for b in symbol { appendByteToken(b, to: &output) }
            }
            i = Int(s.next[i])
        }
    }

    /// Queues the merge of two adjacent symbols if their concatenation is a token.
    @inline(__always)
    private func addBigram(left: Int, right: Int, text: UnsafeBufferPointer<UInt8>, symbols s: MergeSession,
                           heap: inout BigramHeap<SPMBigram>) {
        let start = Int(s.starts[left]), end = Int(s.ends[right])
        guard let id = vocabulary.table.find(UnsafeBufferPointer(rebasing: text[start..<end])), Int(id) < vocabularySize else { return }
        heap.push(SPMBigram(score: scores[Int(id)], left: Int32(left), right: Int32(right), size: Int32(end - start)))
    }

    /// Byte fallback (matches llama.cpp `byte_to_token`). llama.cpp throws when a vocabulary has no
    /// token for a byte; here the unknown token stands in, or nothing if there is none.
    @inline(__always)
    private func appendByteToken(_ byte: UInt8, to output: inout [Int32]) {
        let id = byteTokens[Int(byte)]
        if id >= 0 {
            output.append(id)
        } else if let unknown = unknownTokenID {
            output.append(unknown)
        }
    }
}

/// A candidate merge of the symbols at `left` and `right`, valid while their lengths still add up to
/// `size` (matches llama.cpp `llm_bigram_spm`).
struct SPMBigram: HeapOrdered {
    var score: Float
    var left: Int32
    var right: Int32
    var size: Int32

    /// Higher score first, then the leftmost pair (llama.cpp's `llm_bigram_spm::comparator`).
    @inline(__always)
    func precedes(_ other: SPMBigram) -> Bool {
        score != other.score ? score > other.score : left < other.left
    }
}
