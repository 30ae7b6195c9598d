import Foundation
import SparrowRuntime

/// Why a CLIP vocabulary could not be loaded. Every case names the file and says what to do.
public enum CLIPTokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case fileNotFound(file: String)
    /// The file exists but could not be read, or is not UTF-8 text.
    case unreadable(file: String, reason: String)
    /// `vocab.json` or the configuration file is not valid JSON of the expected shape.
    case invalidJSON(file: String, reason: String)
    /// The vocabulary does not have CLIP's 49408 entries.
    case wrongVocabularySize(file: String, found: Int, expected: Int)
    /// The vocabulary is inconsistent (duplicate token or id, id out of range, required token missing).
    case invalidVocabulary(file: String, reason: String)
    /// A merges line is not two space-separated symbols (`line` is 1-based).
    case malformedMerge(file: String, line: Int, text: String, reason: String)
    /// A merges line names a symbol (or a merged symbol) the vocabulary lacks.
    case unknownMergeSymbol(file: String, line: Int, symbol: String)

    public var description: String {
        switch self {
        case let .fileNotFound(file):
            return "\(file): no such file; for open_clip's vocabulary run Scripts/fetch-models.sh clip-bpe-vocab, "
                + "for a diffusers model pass its tokenizer/ folder (vocab.json, merges.txt)"
        case let .unreadable(file, reason):
            return "\(file): cannot read the file as UTF-8 text (\(reason)); check the path and permissions, or download it again"
        case let .invalidJSON(file, reason):
            return "\(file): \(reason); the file is truncated or not a CLIP tokenizer file, download the model's tokenizer/ folder again"
        case let .wrongVocabularySize(file, found, expected):
            return "\(file): the vocabulary has \(found) entries, CLIP's has \(expected); this is not a CLIP (SD 1.x/2.x) tokenizer, "
                + "or the file is truncated"
        case let .invalidVocabulary(file, reason):
            return "\(file): not a valid CLIP vocabulary: \(reason); download the tokenizer files again"
        case let .malformedMerge(file, line, text, reason):
            return "\(file):\(line): malformed merge \(text.debugDescription) (\(reason)); each line must be two symbols "
                + "separated by one space; the file is corrupt, download it again"
        case let .unknownMergeSymbol(file, line, symbol):
            return "\(file):\(line): merge uses \(symbol.debugDescription), which the vocabulary lacks; vocab.json and "
                + "merges.txt come from different tokenizers, take both from the same folder"
        }
    }
}

extension CLIPTokenizer {
    /// Merges in open_clip's file that its vocabulary uses: 49152 − 256 − 2 (lines 2 … 48895).
    static let openCLIPMergeCount = 49152 - 256 - 2

    /// Loads a diffusers `tokenizer/` folder's files: `vocab.json` (token → id), `merges.txt`
    /// (optional `#version` header, one merge per line) and, optionally, `tokenizer_config.json` or
    /// `special_tokens_map.json`, whose `pad_token` (a string or `{"content": …}`) sets `padToken`
    /// (default `<|endoftext|>`; SD 2.x folders say "!").
    public init(vocabularyFile: String, mergesFile: String, configurationFile: String? = nil) throws {
        let pad = try configurationFile.flatMap { try Self.padTokenName($0) } ?? CLIPPreTokenizer.endText
        try self.init(vocabularyFile: vocabularyFile, mergesFile: mergesFile, padTokenName: pad)
    }

    /// Loads `vocab.json` and `merges.txt`, padding with the token named `padTokenName`.
    init(vocabularyFile: String, mergesFile: String, padTokenName: String) throws {
        let vocabulary = try Self.parseJSON(vocabularyFile)
        guard let members = vocabulary.objectValue else {
            throw CLIPTokenizerError.invalidJSON(file: vocabularyFile, reason: "expected an object of token → id, found \(vocabulary.kind)")
        }
        guard members.count == Self.vocabularySize else {
            throw CLIPTokenizerError.wrongVocabularySize(file: vocabularyFile, found: members.count, expected: Self.vocabularySize)
        }
        var tokens = [String?](repeating: nil, count: members.count)
        for (token, value) in members {
            guard let id = value.intValue, id >= 0, id < members.count else {
                throw CLIPTokenizerError.invalidVocabulary(file: vocabularyFile, reason: "token \(token.debugDescription) has id \(value), "
                    + "expected an integer in 0..<\(members.count)")
            }
            guard tokens[id] == nil else {
                throw CLIPTokenizerError.invalidVocabulary(file: vocabularyFile, reason: "id \(id) is used twice")
            }
            tokens[id] = token
        }
        let lines = try Self.readLines(mergesFile)
        var merges: [(String, String, line: Int)] = []
        merges.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            if index == 0, line.hasPrefix("#version") { continue }
            if line.isEmpty, lines[index...].allSatisfy(\.isEmpty) { break }  // trailing newline(s)
            let (left, right) = try Self.parseMerge(line, file: mergesFile, line: index + 1)
            merges.append((left, right, line: index + 1))
        }
        try self.init(tokens: tokens.compactMap { $0 }, merges: merges, padTokenName: padTokenName,
                      vocabularyFile: vocabularyFile, mergesFile: mergesFile)
    }

    /// Loads a diffusers `tokenizer/` folder: `vocab.json`, `merges.txt`, and the pad token named by
    /// `tokenizer_config.json`, else by `special_tokens_map.json`, else `<|endoftext|>`.
    public init(directory: String) throws {
        let url = URL(fileURLWithPath: directory)
        var pad: String? = nil
        for name in ["tokenizer_config.json", "special_tokens_map.json"] where pad == nil {
            let path = url.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path) { pad = try Self.padTokenName(path) }
        }
        try self.init(vocabularyFile: url.appendingPathComponent("vocab.json").path,
                      mergesFile: url.appendingPathComponent("merges.txt").path,
                      padTokenName: pad ?? CLIPPreTokenizer.endText)
    }

    /// Loads open_clip's `bpe_simple_vocab_16e6.txt` (gunzipped; weights-manifest entry
    /// `clip-bpe-vocab`) and builds the vocabulary the way open_clip does: the 256 byte characters,
    /// the same with `</w>`, each of the first 48894 merges joined, then `<|startoftext|>` and
    /// `<|endoftext|>`. The first line is a header. Pads with "!" (id 0), as open_clip pads with zeros.
    public init(openCLIPVocabulary path: String) throws {
        let lines = try Self.readLines(path)
        let available = max(0, lines.count - 1)
        guard available >= Self.openCLIPMergeCount else {
            throw CLIPTokenizerError.wrongVocabularySize(file: path, found: 512 + available + 2, expected: Self.vocabularySize)
        }
        var merges: [(String, String, line: Int)] = []
        merges.reserveCapacity(Self.openCLIPMergeCount)
        var tokens = CLIPByteEncoder.vocabularyOrder + CLIPByteEncoder.vocabularyOrder.map { $0 + Self.endOfWord }
        tokens.reserveCapacity(Self.vocabularySize)
        for index in 1...Self.openCLIPMergeCount {
            let (left, right) = try Self.parseMerge(lines[index], file: path, line: index + 1)
            merges.append((left, right, line: index + 1))
            tokens.append(left + right)
        }
        tokens += [CLIPPreTokenizer.startText, CLIPPreTokenizer.endText]
        try self.init(tokens: tokens, merges: merges, padTokenName: "!", vocabularyFile: path, mergesFile: path)
    }

    /// One merges line: exactly two non-empty symbols separated by one space.
    static func parseMerge(_ line: Substring, file: String, line number: Int) throws -> (String, String) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw CLIPTokenizerError.malformedMerge(file: file, line: number, text: String(line),
                                                    reason: "found \(parts.filter { !$0.isEmpty }.count) symbols")
        }
        return (String(parts[0]), String(parts[1]))
    }

    /// The file's lines (split at "\n"; a "\r" before it is dropped).
    static func readLines(_ path: String) throws -> [Substring] {
        let text = try readText(path)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
    }

    static func readText(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw CLIPTokenizerError.fileNotFound(file: path) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CLIPTokenizerError.unreadable(file: path, reason: "\(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIPTokenizerError.unreadable(file: path, reason: "not valid UTF-8")
        }
        return text
    }

    static func parseJSON(_ path: String) throws -> JSONValue {
        guard FileManager.default.fileExists(atPath: path) else { throw CLIPTokenizerError.fileNotFound(file: path) }
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw CLIPTokenizerError.unreadable(file: path, reason: "\(error)")
        }
        do {
            return try JSONValue.parse(bytes, file: path)
        } catch let error as FormatError {
            throw CLIPTokenizerError.invalidJSON(file: path, reason: "not valid JSON (\(error.offset.map { "at byte \($0): " } ?? "")\(error.message))")
        }
    }

    /// `pad_token` of a tokenizer_config.json / special_tokens_map.json: a string, an object with a
    /// string `content`, null or absent (nil).
    static func padTokenName(_ path: String) throws -> String? {
        let configuration = try parseJSON(path)
        guard configuration.objectValue != nil else {
            throw CLIPTokenizerError.invalidJSON(file: path, reason: "expected an object, found \(configuration.kind)")
        }
        guard let pad = configuration["pad_token"], !pad.isNull else { return nil }
        if let name = pad.stringValue ?? pad["content"]?.stringValue { return name }
        throw CLIPTokenizerError.invalidJSON(file: path, reason: "pad_token must be a string or {\"content\": string}, found \(pad.kind)")
    }
}
