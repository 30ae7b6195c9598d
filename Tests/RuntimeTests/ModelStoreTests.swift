import Foundation
import SparrowRuntime
import Testing

/// Manifest validation and the store's resolve/verify rules, on a temporary manifest and store.
@Suite final class ModelStoreTests {
    static let payload = Array("a tiny model file for the store tests\n".utf8)
    /// A fresh folder per test (Swift Testing makes one instance per test), removed afterwards.
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-tests-\(UUID().uuidString)").path

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    @Test func sha256MatchesFIPS180Vectors() throws {
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: [UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        try withTemporaryDirectory { dir in
            try Data("abc".utf8).write(to: URL(fileURLWithPath: dir + "/abc.bin"))
            #expect(try SHA256.hex(ofFileAt: dir + "/abc.bin") == SHA256.hex(of: Array("abc".utf8)))
        }
    }

    @Test func resolveNamesTheFetchCommandThenAcceptsTheFileThenRefusesACorruptedOne() throws {
        let (manifest, store) = try makeManifestAndStore(entries: [entryJSON(id: "tiny-model")], in: root)
        let entry = try #require(manifest.entry(id: "tiny-model"))

        do {
            _ = try ModelStore.resolve(modelArgument: "tiny-model", manifest: manifest, directory: store)
            Issue.record("resolved a model that was never fetched")
        } catch let error as ModelStoreError {
            #expect(error == .notFetched(id: "tiny-model", path: store + "/tiny-model/tiny.bin"))
            #expect(error.description.contains("`sparrow models fetch tiny-model`"))
        }

        try FileManager.default.createDirectory(atPath: store + "/tiny-model", withIntermediateDirectories: true)
        let path = store + "/tiny-model/tiny.bin"
        try Data(Self.payload).write(to: URL(fileURLWithPath: path))
        #expect(try ModelStore.resolve(modelArgument: "tiny-model", manifest: manifest, directory: store) == path)
        #expect(FileManager.default.fileExists(atPath: store + "/tiny-model/.verified"))
        #expect(try ModelStore.verify(entry, in: store) == .verified)

        var corrupted = Self.payload
        corrupted[3] ^= 1
        try Data(corrupted).write(to: URL(fileURLWithPath: path))
        #expect(throws: ModelStoreError.self) {
            try ModelStore.resolve(modelArgument: "tiny-model", manifest: manifest, directory: store)
        }
        #expect(try ModelStore.verify(entry, in: store) == .mismatch(bytes: Self.payload.count, sha256: SHA256.hex(of: corrupted)))
    }

    @Test func resolveUsesExistingPathsAsIsAndRejectsUnknownIDs() throws {
        let (manifest, store) = try makeManifestAndStore(entries: [entryJSON(id: "tiny-model")], in: root)
        let file = store + "/any.gguf"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file))
        #expect(try ModelStore.resolve(modelArgument: file, manifest: manifest, directory: store) == file)
        #expect(throws: ModelStoreError.unknownModel(argument: "no-such-model", knownIDs: ["tiny-model"])) {
            try ModelStore.resolve(modelArgument: "no-such-model", manifest: manifest, directory: store)
        }
        #expect(throws: ModelStoreError.noSuchFile(path: "/nonexistent/model.gguf")) {
            try ModelStore.resolve(modelArgument: "/nonexistent/model.gguf", manifest: manifest, directory: store)
        }
    }

    static let malformed: [String: (stem: String, text: String)] = [
        "unknown key": entryJSON(id: "m", extra: #", "sha": "x""#),
        "bad hash": entryJSON(id: "m", sha256: "ABC"),
        "bad task": entryJSON(id: "m", task: "painting"),
        "bad pypi": entryJSON(id: "m", pypi: "pkg>=1.0"),
        "escaping path": entryJSON(id: "m", path: "../etc/passwd"),
        "id differs from file name": entryJSON(id: "other", fileStem: "m"),
        "unknown source key": entryJSON(id: "m", source: #"{"pypi": "tiny-package==1.0", "path": "tiny/tiny.bin", "gzip": true}"#),
        "no package": entryJSON(id: "m", source: #"{"path": "tiny/tiny.bin"}"#),
        "pypi and debian": entryJSON(id: "m", source: #"{"pypi": "tiny-package==1.0", "debian": "tiny-doc=1.0-1", "path": "a/b"}"#),
        "debian without version": entryJSON(id: "m", source: #"{"debian": "tiny-doc", "path": "usr/share/doc/tiny/tiny.bin"}"#),
        "debian with pip pin": entryJSON(id: "m", source: #"{"debian": "tiny-doc==1.0-1", "path": "usr/share/doc/tiny/tiny.bin"}"#),
        "debian option as name": entryJSON(id: "m", source: #"{"debian": "-o=1.0", "path": "usr/share/doc/tiny/tiny.bin"}"#),
        "debian without path": entryJSON(id: "m", source: #"{"debian": "tiny-doc=1.0-1"}"#),
        "debian absolute path": entryJSON(id: "m", source: #"{"debian": "tiny-doc=1.0-1", "path": "/usr/share/doc/tiny/tiny.bin"}"#),
        "gunzip without path": entryJSON(id: "m", source: #"{"pypi": "tiny-package==1.0", "gunzip": true}"#),
        "gunzip not a bool": entryJSON(id: "m", source: #"{"pypi": "tiny-package==1.0", "path": "a.gz", "gunzip": "yes"}"#),
        "debian part": entryJSON(id: "m", extra: #", "parts": [{"debian": "tiny-doc=1.0-1", "path": "a/b"}]"#),
    ]

    @Test(arguments: malformed.keys.sorted())
    func manifestRefusesMalformedEntries(_ name: String) throws {
        let json = try #require(Self.malformed[name])
        #expect(throws: WeightsManifest.ManifestError.self) {
            _ = try makeManifestAndStore(entries: [json], in: root)
        }
    }

    @Test func manifestRefusesTwoDefaults() throws {
        #expect(throws: WeightsManifest.ManifestError.self) {
            _ = try makeManifestAndStore(entries: [entryJSON(id: "a", isDefault: true), entryJSON(id: "b", isDefault: true)], in: root + "/two")
        }
        let (manifest, _) = try makeManifestAndStore(entries: [entryJSON(id: "a", isDefault: true), entryJSON(id: "b")], in: root + "/one")
        #expect(manifest.defaultEntry?.id == "a")
        #expect(manifest.entries.map(\.id) == ["a", "b"])
    }

    @Test func manifestReadsDebianSourcesWithGunzip() throws {
        let debian = entryJSON(id: "clip", task: "test-data", source: #"{"debian": "tiny-doc=1:4.6.0+dfsg-12", "path": "usr/share/doc/tiny/clip.mp4.gz", "gunzip": true}"#)
        let (manifest, _) = try makeManifestAndStore(entries: [debian, entryJSON(id: "plain")], in: root)
        let source = try #require(manifest.entry(id: "clip")?.source)
        #expect(source.debian == "tiny-doc=1:4.6.0+dfsg-12")
        #expect(source.pypi == nil)
        #expect(source.path == "usr/share/doc/tiny/clip.mp4.gz")
        #expect(source.gunzip)
        #expect(source.packageName == "tiny-doc")
        #expect(source.version == "1:4.6.0+dfsg-12")
        #expect(source.displayName == "Debian tiny-doc=1:4.6.0+dfsg-12")
        let plain = try #require(manifest.entry(id: "plain")?.source)
        #expect(plain.pypi == "tiny-package==1.0" && plain.debian == nil && !plain.gunzip)
        #expect(plain.packageName == "tiny-package" && plain.version == "1.0" && plain.displayName == "tiny-package==1.0")
    }

    @Test func repositoryManifestLoads() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let manifest = try WeightsManifest(directory: here.appendingPathComponent("weights-manifest").path)
        #expect(manifest.defaultEntry?.id == "smollm2-135m-instruct")
        #expect(manifest.entry(id: "mistral-7b-v0.1-tokenizer")?.source.packageName == "mistral-common")
        #expect(manifest.entry(id: "selfie-segmentation")?.format == .tflite)
        #expect(manifest.entry(id: "selfie-segmentation")?.task == .segmentation)
        let video = try #require(manifest.entry(id: "box-video"))
        #expect(video.source.debian == "opencv-doc=4.6.0+dfsg-12" && video.source.gunzip && video.fileName == "box.mp4")
    }
}

/// One manifest file: its name stem and JSON text (`source` replaces the whole source object).
private func entryJSON(
    id: String, fileStem: String? = nil, task: String = "tokenizer", sha256: String? = nil, pypi: String = "tiny-package==1.0",
    path: String = "tiny/tiny.bin", source: String? = nil, isDefault: Bool = false, extra: String = ""
) -> (stem: String, text: String) {
    let hash = sha256 ?? SHA256.hex(of: ModelStoreTests.payload)
    let sourceJSON = source ?? #"{"pypi": "\#(pypi)", "path": "\#(path)"}"#
    let text = """
        {"id": "\(id)", "task": "\(task)", "format": "sentencepiece", "source": \(sourceJSON),
         "file": "tiny.bin", "bytes": \(ModelStoreTests.payload.count), "sha256": "\(hash)", "license": "MIT",
         "default": \(isDefault)\(extra)}
        """
    return (fileStem ?? id, text)
}

/// A manifest folder holding `entries` and an empty store, both under `root`.
private func makeManifestAndStore(entries: [(stem: String, text: String)], in root: String) throws -> (WeightsManifest, String) {
    try FileManager.default.createDirectory(atPath: root + "/manifest", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: root + "/store", withIntermediateDirectories: true)
    for entry in entries {
        try Data(entry.text.utf8).write(to: URL(fileURLWithPath: root + "/manifest/\(entry.stem).json"))
    }
    return (try WeightsManifest(directory: root + "/manifest"), root + "/store")
}
