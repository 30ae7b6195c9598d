import Foundation

/// Encoding: special-token partition, metaspace normalisation, character symbols with byte
/// fallback, and rank-ordered merging.
extension SentencePieceBPETokenizer {
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var session = MergeSession()
        return encodeAroundSpecialTokens(text, addSpecial: addSpecial, parseSpecial: parseSpecial, matcher: specialTokens) {
            all, range, _, output in
            let piece = String(decoding: UnsafeBufferPointer(rebasing: all[range]), as: UTF8.self)
            encodeFragment(piece, atStart: range.lowerBound == 0, session: &session, into: &output)
        }
    }

    /// Normalises one fragment (no special tokens inside) and merges each word.
    private func encodeFragment(_ text: String, atStart: Bool, session: inout MergeSession, into output: inout [Int32]) {
        var scalars: [Unicode.Scalar]
        switch unicodeForm {
        case .none: scalars = Array(text.unicodeScalars)
        case .nfc: scalars = Array(text.precomposedStringWithCanonicalMapping.unicodeScalars)
        case .nfkc: scalars = Array(text.precomposedStringWithCompatibilityMapping.unicodeScalars)
        }
        guard !scalars.isEmpty else { return }
        let replacement = Array(metaspace.replacement.unicodeScalars)
        if metaspace.replacesSpaces {
            var replaced: [Unicode.Scalar] = []
            replaced.reserveCapacity(scalars.count + replacement.count)
            for s in scalars {
                if s == " " { replaced.append(contentsOf: replacement) } else { replaced.append(s) }
            }
            // The legacy Prepend normalizer always prepends; Metaspace only when the text does not
            // already start with the replacement ("first": only the fragment at the start of the input).
            let startsWithReplacement = !metaspace.prependsBeforeReplacement && replaced.starts(with: replacement)
            switch metaspace.prefix {
            case .always where !startsWithReplacement:
                replaced.insert(contentsOf: replacement, at: 0)
            case .first where atStart && !startsWithReplacement:
                replaced.insert(contentsOf: replacement, at: 0)
            default:
                break
            }
            scalars = replaced
        }
        guard metaspace.split, let mark = replacement.first, replacement.count == 1 else {
            mergeWord(scalars[...], session: &session, into: &output)
            return
        }
        // Split before each replacement character (tokenizers' MergedWithNext).
        var start = 0
        for i in 1..<max(scalars.count, 1) where scalars[i] == mark {
            mergeWord(scalars[start..<i], session: &session, into: &output)
            start = i
        }
        mergeWord(scalars[start...], session: &session, into: &output)
    }

    /// BPE on one word (matches tokenizers' `BPE::merge_word`).
    private func mergeWord(_ word: ArraySlice<Unicode.Scalar>, session s: inout MergeSession, into output: inout [Int32]) {
        guard !word.isEmpty else { return }
        var utf8: [UInt8] = []
        if ignoresMerges {
            for scalar in word { utf8.append(contentsOf: String(scalar).utf8) }
            if let id = utf8.withUnsafeBufferPointer({ vocabulary.table.find($0) }) {
                output.append(id)
                return
            }
        }
        // Initial symbols: one per character, else its byte tokens, else (fused) unknown.
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var previousWasUnknown = false
        for scalar in word {
            utf8.removeAll(keepingCapacity: true)
            utf8.append(contentsOf: String(scalar).utf8)
            if let id = utf8.withUnsafeBufferPointer({ vocabulary.table.find($0) }) {
                symbols.append(id)
                previousWasUnknown = false
            } else if usesByteFallback, utf8.allSatisfy({ byteTokens[Int($0)] >= 0 }) {
                for b in utf8 { symbols.append(byteTokens[Int(b)]) }
                previousWasUnknown = false
            } else if let unknown = unknownTokenID {
                if !(fusesUnknown && previousWasUnknown) { symbols.append(unknown) }
                previousWasUnknown = true
            }
        }
        guard symbols.count > 1 else {
            output.append(contentsOf: symbols)
            return
        }
        s.reset(count: symbols.count)
        for (i, id) in symbols.enumerated() { s.ids[i] = id }
        s.applyMerges(merges)
        var i = 0
        while i >= 0 {
            output.append(s.ids[i])
            i = Int(s.next[i])
        }
    }
}
