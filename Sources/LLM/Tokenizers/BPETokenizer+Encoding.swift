/// Encoding: special-token partition, pre-tokenization and rank-ordered merging.
extension BPETokenizer {
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var session = MergeSession()
        return encodeAroundSpecialTokens(text, addSpecial: addSpecial, parseSpecial: parseSpecial, matcher: specialTokens) {
            all, range, _, output in
            if escapesSpaces {
                // Gemma 4: spaces become "▁" before splitting (llama.cpp `llama_escape_whitespace`).
                SpaceEscaping.escape(UnsafeBufferPointer(rebasing: all[range]), prefixSpace: false, into: &session.escaped)
                let escaped = session.escaped  // shares storage: `session.escaped` is not written while merging
                escaped.withUnsafeBufferPointer { encodePiece($0, session: &session, into: &output) }
            } else {
                encodePiece(UnsafeBufferPointer(rebasing: all[range]), session: &session, into: &output)
            }
        }
    }

    /// Pre-tokenizes one piece of text (no special tokens inside) and merges each word.
    private func encodePiece(_ bytes: UnsafeBufferPointer<UInt8>, session: inout MergeSession, into output: inout [Int32]) {
        // UTF-8 -> scalars, remembering where each scalar starts. The bytes come from a Swift String
        // cut at whole-token boundaries, so they are valid UTF-8.
        var scalars: [UInt32] = []
        var starts: [Int] = []
        scalars.reserveCapacity(bytes.count)
        starts.reserveCapacity(bytes.count + 1)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let length = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
            guard i + length <= bytes.count else {
                scalars.append(0xFFFD)
                starts.append(i)
                i += 1
                continue
            }
            var value = b0
            if length > 1 {
                value = b0 & (0x7F >> UInt32(length))
                for k in 1..<length { value = value << 6 | UInt32(bytes[i + k] & 0x3F) }
            }
            scalars.append(value)
            starts.append(i)
            i += length
        }
        starts.append(bytes.count)
        let classes = scalars.map(CodepointClass.of)

        for word in preTokenizer.split(scalars: scalars, classes: classes) {
            let wordBytes = UnsafeBufferPointer(rebasing: bytes[starts[word.lowerBound]..<starts[word.upperBound]])
            mergeWord(wordBytes, session: &session, into: &output)
        }
    }

    /// Byte-level BPE on one word (matches llama.cpp `llm_tokenizer_bpe_session::tokenize`): start
    /// with one symbol per byte, repeatedly merge the adjacent pair of lowest rank (leftmost on ties),
    /// then emit each symbol's token, or its bytes' tokens if the symbol is not in the vocabulary.
    private func mergeWord(_ word: UnsafeBufferPointer<UInt8>, session s: inout MergeSession, into output: inout [Int32]) {
        if ignoresMerges {
            s.encoded.removeAll(keepingCapacity: true)
            ByteLevel.encode(word, into: &s.encoded)
            if let id = s.encoded.withUnsafeBufferPointer({ vocabulary.table.find($0) }), Int(id) < vocabularySize {
                output.append(id)
                return
            }
        }
        if escapesSpaces {
            // Gemma 4 (llama.cpp PR 21343): a run of newlines that is a token is emitted whole.
            if word.allSatisfy({ $0 == 0x0A }), let id = vocabulary.table.find(word), Int(id) < vocabularySize {
                output.append(id)
                return
            }
            // Raw UTF-8: one symbol per character, named by its text.
            s.resetCharacters(of: word)
            for i in s.ids.indices {
                s.ids[i] = vocabulary.table.find(UnsafeBufferPointer(rebasing: word[Int(s.starts[i])..<Int(s.ends[i])])) ?? -1
            }
        } else {
            if word.count == 1 {
                emit(symbol: byteSymbols[Int(word[0])], bytes: word, into: &output)
                return
            }
            // Byte-level: one symbol per byte, named by the byte's stand-in character.
            s.reset(count: word.count)
            for (i, b) in word.enumerated() { s.ids[i] = byteSymbols[Int(b)] }
        }
        s.applyMerges(merges)

        var i = 0
        while i >= 0 {
            let symbolBytes = UnsafeBufferPointer(rebasing: word[Int(s.starts[i])..<Int(s.ends[i])])
            emit(symbol: s.ids[i], bytes: symbolBytes, into: &output)
            i = Int(s.next[i])
        }
    }

    @inline(__always)
    private func emit(symbol id: Int32, bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        if id >= 0, Int(id) < vocabularySize {
            output.append(id)
            return
        }
        for b in bytes where byteFallback[Int(b)] >= 0 { output.append(byteFallback[Int(b)]) }
    }
}
