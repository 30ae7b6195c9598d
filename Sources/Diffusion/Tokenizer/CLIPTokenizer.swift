import Foundation

/// CLIP's byte-level BPE tokenizer, as Stable Diffusion 1.x / 2.x text encoders use it.
///
/// Produces the same ids as transformers' `CLIPTokenizer` (what diffusers runs; see
/// `CLIPPreTokenizer` for the text clean-up it implies) on the real 49408-token vocabulary, loaded
/// from a diffusers `tokenizer/` folder or from open_clip's `bpe_simple_vocab_16e6.txt`. Words are
/// UTF-8 bytes mapped to characters (`CLIPByteEncoder`), the last one carrying the end-of-word
/// suffix `</w>`, merged pair by pair in the order of the merges list (lowest rank first, every
/// occurrence left to right). Merged words are cached per instance (thread-safe), so repeated
/// prompts cost a dictionary lookup per word.
public struct CLIPTokenizer: Sendable {
    /// Tokens per text-encoder input: start token, up to 75 ids, end token, padding.
    public static let contextLength = 77
    /// Entries in CLIP's vocabulary: 256 byte characters, the same with `</w>`, 48894 merges, 2 specials.
    public static let vocabularySize = 49408
    /// The end-of-word suffix on a word's last symbol.
    static let endOfWord = "</w>"

    /// `<|startoftext|>` (49406 in CLIP's vocabulary).
    public let startToken: Int32
    /// `<|endoftext|>` (49407).
    public let endToken: Int32
    /// The id `tokenize` pads with: `<|endoftext|>` for SD 1.x, "!" (0) for SD 2.x folders and open_clip.
    /// Settable: an SD 1.x pipeline that loads open_clip's vocabulary file sets it to `endToken`.
    public var padToken: Int32

    /// Token strings by id (byte characters, `</w>` suffixes), for `decode`.
    let tokens: [String]
    /// Merge rank and merged id, keyed by `pairKey(left, right)`.
    let merges: [UInt64: Merge]
    /// The id of each byte's character, and of the character with `</w>` (a word's last byte).
    let byteTokens: [Int32]
    let byteEndTokens: [Int32]
    let cache = WordCache()

    struct Merge {
        let rank: Int32
        let merged: Int32
    }

    /// Builds a tokenizer from its token list (index = id) and merges list, checking that they are a
    /// consistent CLIP vocabulary. `file` names the source in errors.
    init(tokens: [String], merges mergeList: [(String, String, line: Int)], padTokenName: String,
         vocabularyFile: String, mergesFile: String) throws {
        guard tokens.count == Self.vocabularySize else {
            throw CLIPTokenizerError.wrongVocabularySize(file: vocabularyFile, found: tokens.count, expected: Self.vocabularySize)
        }
        var ids = [String: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() {
            if let other = ids.updateValue(Int32(id), forKey: token) {
                throw CLIPTokenizerError.invalidVocabulary(file: vocabularyFile, reason: "token \(token.debugDescription) has ids \(other) and \(id)")
            }
        }
        func id(_ token: String, file: String) throws -> Int32 {
            guard let id = ids[token] else {
                throw CLIPTokenizerError.invalidVocabulary(file: file, reason: "required token \(token.debugDescription) is missing")
            }
            return id
        }
        byteTokens = try CLIPByteEncoder.characters.map { try id($0, file: vocabularyFile) }
        byteEndTokens = try CLIPByteEncoder.characters.map { try id($0 + Self.endOfWord, file: vocabularyFile) }
        startToken = try id(CLIPPreTokenizer.startText, file: vocabularyFile)
        endToken = try id(CLIPPreTokenizer.endText, file: vocabularyFile)
        padToken = try id(padTokenName, file: vocabularyFile)
        var table = [UInt64: Merge](minimumCapacity: mergeList.count)
        for (rank, (left, right, line)) in mergeList.enumerated() {
            guard let a = ids[left], let b = ids[right] else {
                throw CLIPTokenizerError.unknownMergeSymbol(file: mergesFile, line: line, symbol: ids[left] == nil ? left : right)
            }
            guard let merged = ids[left + right] else {
                throw CLIPTokenizerError.unknownMergeSymbol(file: mergesFile, line: line, symbol: left + right)
            }
            guard table.updateValue(Merge(rank: Int32(rank), merged: merged), forKey: Self.pairKey(a, b)) == nil else {
                throw CLIPTokenizerError.malformedMerge(file: mergesFile, line: line, text: "\(left) \(right)", reason: "the pair is listed twice")
            }
        }
        self.tokens = tokens
        self.merges = table
    }

    static func pairKey(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    /// The BPE ids of `text`, without start, end or padding.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        let specials = CLIPPreTokenizer.SpecialTokens(start: startToken, end: endToken)
        for piece in CLIPPreTokenizer.pieces(of: text, specials: specials) {
            switch piece {
            case .special(let id): ids.append(id)
            case .word(let word): ids.append(contentsOf: mergedWord(word))
            }
        }
        return ids
    }

    /// The text-encoder input for `text`: start token, the ids (cut to `length - 2`), end token, then
    /// `padToken` up to `length` (diffusers' `padding="max_length", truncation=True`).
    public func tokenize(_ text: String, length: Int = CLIPTokenizer.contextLength) -> [Int32] {
        precondition(length >= 2, "a CLIP token sequence holds at least the start and end tokens")
        let ids = encode(text)
        var result = [startToken]
        result.reserveCapacity(length)
        result.append(contentsOf: ids.prefix(length - 2))
        result.append(endToken)
        result.append(contentsOf: repeatElement(padToken, count: length - result.count))
        return result
    }

    /// The text the ids stand for (`</w>` becomes a space; invalid UTF-8 is replaced). Ids outside the
    /// vocabulary are skipped.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && Int(id) < tokens.count {
            var token = tokens[Int(id)]
            var endsWord = false
            if token.hasSuffix(Self.endOfWord) {
                token.removeLast(Self.endOfWord.count)
                endsWord = true
            }
            for character in token {
                if let b = CLIPByteEncoder.byteForCharacter[character] { bytes.append(b) } else { bytes.append(contentsOf: Array(String(character).utf8)) }
            }
            if endsWord { bytes.append(0x20) }
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// The merged ids of one pre-tokenized word (cached).
    func mergedWord(_ word: String) -> [Int32] {
        if let hit = cache.lookup(word) { return hit }
        let result = bytePairMerge(word)
        cache.store(word, result)
        return result
    }

    /// Byte-pair merging: start from one symbol per UTF-8 byte (the last with `</w>`), then merge
    /// the lowest-ranked adjacent pair, every occurrence left to right, until no pair has a rank.
    /// Matches open_clip's `SimpleTokenizer.bpe`.
    func bytePairMerge(_ word: String) -> [Int32] {
        let bytes = Array(word.utf8)
        guard let last = bytes.last else { return [] }
        var symbols = bytes.dropLast().map { byteTokens[Int($0)] }
        symbols.append(byteEndTokens[Int(last)])
        var next: [Int32] = []
        next.reserveCapacity(symbols.count)
        while symbols.count > 1 {
            var best = Merge(rank: .max, merged: 0)
            var bestLeft: Int32 = 0, bestRight: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                if let merge = merges[Self.pairKey(symbols[i], symbols[i + 1])], merge.rank < best.rank {
                    best = merge
                    bestLeft = symbols[i]
                    bestRight = symbols[i + 1]
                }
            }
            if best.rank == .max { break }
            next.removeAll(keepingCapacity: true)
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count, symbols[i] == bestLeft, symbols[i + 1] == bestRight {
                    next.append(best.merged)
                    i += 2
                } else {
                    next.append(symbols[i])
                    i += 1
                }
            }
            swap(&symbols, &next)
        }
        return symbols
    }
}

/// Merged words by pre-token, shared by copies of one tokenizer; bounded so that a stream of unique
/// words cannot grow it without limit.
final class WordCache: @unchecked Sendable {
    static let capacity = 65_536
    private var words: [String: [Int32]] = [:]
    private let lock = NSLock()

    func lookup(_ word: String) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return words[word]
    }

    func store(_ word: String, _ ids: [Int32]) {
        lock.lock()
        defer { lock.unlock() }
        if words.count >= Self.capacity { words.removeAll(keepingCapacity: true) }
        words[word] = ids
    }
}
