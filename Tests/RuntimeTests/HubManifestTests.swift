import Foundation
import SparrowRuntime
import Testing

/// Hugging Face hub entries: strict parsing, the repository's three entries, download instructions
/// instead of fetching, and folder checks against recorded sizes and hashes (no hub access needed).
@Suite final class HubManifestTests {
    /// A fresh folder per test, removed afterwards.
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-hub-tests-\(UUID().uuidString)").path

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    static let repositoryManifest = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("weights-manifest").path

    @Test func repositoryHubEntriesParse() throws {
        let manifest = try WeightsManifest(directory: Self.repositoryManifest)
        let turbo = try #require(manifest.entry(id: "sd-turbo"))
        #expect(turbo.isHubReference && turbo.task == .textToImage && turbo.format == .diffusers)
        #expect(turbo.source.huggingface == "stabilityai/sd-turbo")
        #expect(turbo.hubFiles.first?.path == "model_index.json")
        #expect(turbo.hubFiles.contains { $0.path == "unet/diffusion_pytorch_model.fp16.safetensors" && $0.sha256 != nil })
        let v15 = try #require(manifest.entry(id: "stable-diffusion-v1-5"))
        #expect(v15.source.huggingface == "stable-diffusion-v1-5/stable-diffusion-v1-5" && v15.license == "creativeml-openrail-m")
        #expect(v15.hubFiles.contains { $0.path == "text_encoder/model.fp16.safetensors" })
        let taesd = try #require(manifest.entry(id: "taesd"))
        #expect(taesd.source.huggingface == "madebyollin/taesd" && taesd.license == "MIT" && taesd.task == .latentDecoder)
        // `bytes` of a hub entry sums the recorded sizes.
        #expect(taesd.bytes == 551 + 9_793_292)
        for entry in [turbo, v15, taesd] {
            #expect(entry.download?.hasPrefix("huggingface-cli download \(entry.source.huggingface ?? "")") == true)
            #expect(ModelStore.path(for: entry, in: "/store") == "/store/" + entry.id)
        }
        // Registry entries are unchanged.
        #expect(manifest.entry(id: "smollm2-135m-instruct")?.isHubReference == false)
    }

    static let malformed: [String: (json: String, message: String)] = [
        "repo without owner": (hubJSON(repo: "sd-turbo"), "source.huggingface must be OWNER/NAME"),
        "repo with three parts": (hubJSON(repo: "a/b/c"), "source.huggingface must be OWNER/NAME"),
        "repo with dot-dot": (hubJSON(repo: "stabilityai/..sd"), "source.huggingface must be OWNER/NAME"),
        "repo starting with dash": (hubJSON(repo: "-x/sd-turbo"), "source.huggingface must be OWNER/NAME"),
        "repo with space": (hubJSON(repo: "stability ai/sd-turbo"), "source.huggingface must be OWNER/NAME"),
        "revision option": (hubJSON(revision: "--force"), "source.revision must be"),
        "revision missing": (hubJSON(revisionJSON: ""), "source.revision is required"),
        "file escaping with dot-dot": (hubJSON(files: #"[{"path": "../../.ssh/id_rsa"}]"#), "files[0].path"),
        "file inner dot-dot": (hubJSON(files: #"[{"path": "unet/../../x"}]"#), "files[0].path"),
        "absolute file": (hubJSON(files: #"[{"path": "/etc/passwd"}]"#), "files[0].path"),
        "file with dot": (hubJSON(files: #"[{"path": "./model_index.json"}]"#), "files[0].path"),
        "file with empty component": (hubJSON(files: #"[{"path": "unet//config.json"}]"#), "files[0].path"),
        "file with backslash": (hubJSON(files: #"[{"path": "unet\\..\\x"}]"#), "files[0].path"),
        "duplicate file": (hubJSON(files: #"[{"path": "a.json"}, {"path": "a.json"}]"#), "listed twice"),
        "bad file hash": (hubJSON(files: #"[{"path": "a.json", "sha256": "ABC"}]"#), "files[0].sha256"),
        "zero file size": (hubJSON(files: #"[{"path": "a.json", "bytes": 0}]"#), "files[0].bytes"),
        "unknown file key": (hubJSON(files: #"[{"path": "a.json", "size": 3}]"#), "unknown key 'files[0].size'"),
        "no files": (hubJSON(files: "[]"), "files must list"),
        "unknown size without note": (hubJSON(files: #"[{"path": "a.json"}]"#, note: nil), "\"note\""),
        "not diffusers": (hubJSON(format: "gguf"), "format must be 'diffusers'"),
        "download for another repo": (hubJSON(download: "huggingface-cli download other/repo --local-dir ~/.cache/sparrow/models/m"), "download must be"),
        "download elsewhere": (hubJSON(download: "huggingface-cli download owner/model --local-dir /tmp/m"), "download must be"),
        "hub with pypi": (hubJSON(extraSource: #", "pypi": "x==1""#), "cannot be combined"),
        "hub with path": (hubJSON(extraSource: #", "path": "a/b""#), "source.path and source.gunzip"),
        "hub with single-file keys": (hubJSON(extra: #", "sha256": "\#(String(repeating: "0", count: 64))""#), "'sha256' is not used"),
        "registry entry with files": (#"{"id": "m", "task": "tokenizer", "format": "sentencepiece", "source": {"pypi": "x==1"}, "file": "a", "bytes": 1, "sha256": "\#(String(repeating: "0", count: 64))", "license": "MIT", "files": [{"path": "a"}]}"#, "'files' is only for Hugging Face"),
        "registry entry with revision": (#"{"id": "m", "task": "tokenizer", "format": "sentencepiece", "source": {"pypi": "x==1", "revision": "main"}, "file": "a", "bytes": 1, "sha256": "\#(String(repeating: "0", count: 64))", "license": "MIT"}"#, "revision is only for"),
        "registry diffusers": (#"{"id": "m", "task": "text-to-image", "format": "diffusers", "source": {"pypi": "x==1"}, "file": "a", "bytes": 1, "sha256": "\#(String(repeating: "0", count: 64))", "license": "MIT"}"#, "format 'diffusers' is a folder"),
    ]

    @Test(arguments: malformed.keys.sorted())
    func manifestRefusesMalformedHubEntries(_ name: String) throws {
        let (json, message) = try #require(Self.malformed[name])
        do {
            _ = try makeManifest([("m", json)], in: root)
            Issue.record("accepted: \(name)")
        } catch let error as WeightsManifest.ManifestError {
            // Refused for the intended reason, not for a side error.
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func fetchOfAHubEntryGivesTheDownloadInstructionsAndStoresNothing() throws {
        let manifest = try WeightsManifest(directory: Self.repositoryManifest)
        let entry = try #require(manifest.entry(id: "sd-turbo"))
        let store = root + "/store"
        do {
            try ModelStore.fetch(entry, into: store)
            Issue.record("fetch of a hub entry did not throw")
        } catch ModelStoreError.hubReference(let id, let instructions) {
            #expect(id == "sd-turbo")
            #expect(instructions.contains("huggingface-cli download stabilityai/sd-turbo"))
            #expect(instructions.contains("--local-dir \(store)/sd-turbo"))
            #expect(instructions.contains("unet/diffusion_pytorch_model.fp16.safetensors"))
            #expect(instructions.contains("sparrow models verify sd-turbo"))
        }
        #expect(!FileManager.default.fileExists(atPath: store + "/sd-turbo"))
        #expect(try ModelStore.status(of: entry, in: store, useStamp: true) == .missing)
        #expect(throws: ModelStoreError.self) { try ModelStore.resolve(modelArgument: "sd-turbo", manifest: manifest, directory: store) }
    }

    @Test func hubFolderCheckComparesRecordedSizesAndHashes() throws {
        let weights = Array("pretend weights\n".utf8)
        let files = #"[{"path": "model_index.json"}, {"path": "unet/w.safetensors", "bytes": \#(weights.count), "sha256": "\#(SHA256.hex(of: weights))"}]"#
        let manifest = try makeManifest([("m", hubJSON(files: files))], in: root)
        let entry = try #require(manifest.entry(id: "m"))
        let store = root + "/store"
        let folder = store + "/m"
        #expect(try ModelStore.verify(entry, in: store) == .missing)

        try FileManager.default.createDirectory(atPath: folder + "/unet", withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: folder + "/model_index.json"))
        // One listed file absent: not usable, and the check names it.
        #expect(try ModelStore.checkHubFolder(entry, in: store).map(\.status) == [.present(bytes: 2, hashed: false), .missing])
        #expect(throws: ModelStoreError.self) { try ModelStore.verifiedPath(of: entry, in: store) }

        try Data(weights).write(to: URL(fileURLWithPath: folder + "/unet/w.safetensors"))
        #expect(try ModelStore.checkHubFolder(entry, in: store).map(\.status) == [.present(bytes: 2, hashed: false), .present(bytes: weights.count, hashed: true)])
        #expect(try ModelStore.verify(entry, in: store) == .verified)
        #expect(try ModelStore.resolve(modelArgument: "m", manifest: manifest, directory: store) == folder)

        var corrupted = weights
        corrupted[0] ^= 1
        try Data(corrupted).write(to: URL(fileURLWithPath: folder + "/unet/w.safetensors"))
        #expect(try ModelStore.checkHubFolder(entry, in: store)[1].status == .wrongHash(sha256: SHA256.hex(of: corrupted), expected: SHA256.hex(of: weights)))
        #expect(try ModelStore.verify(entry, in: store) == .mismatch(bytes: weights.count, sha256: SHA256.hex(of: corrupted)))

        try Data(weights + [0]).write(to: URL(fileURLWithPath: folder + "/unet/w.safetensors"))
        #expect(try ModelStore.checkHubFolder(entry, in: store, hashing: false)[1].status == .wrongSize(bytes: weights.count + 1, expected: weights.count))
        #expect(throws: ModelStoreError.self) { try ModelStore.verifiedPath(of: entry, in: store) }
    }
}

/// A hub entry `m` for repository `owner/model` (each argument replaces one part).
private func hubJSON(
    repo: String = "owner/model", revision: String = "main", revisionJSON: String? = nil, format: String = "diffusers",
    files: String = #"[{"path": "model_index.json"}, {"path": "unet/config.json"}]"#,
    download: String? = nil, note: String? = "sizes unknown", extraSource: String = "", extra: String = ""
) -> String {
    let revisionPart = revisionJSON ?? #", "revision": "\#(revision)""#
    let command = download ?? "huggingface-cli download \(repo) --include '*.json' --local-dir ~/.cache/sparrow/models/m"
    let notePart = note.map { #", "note": "\#($0)""# } ?? ""
    return """
        {"id": "m", "task": "text-to-image", "format": "\(format)",
         "source": {"huggingface": "\(repo)"\(revisionPart)\(extraSource)},
         "files": \(files), "download": "\(command)", "license": "MIT"\(notePart)\(extra)}
        """
}

/// A manifest folder under `root` holding the given `(stem, json)` files.
private func makeManifest(_ entries: [(String, String)], in root: String) throws -> WeightsManifest {
    try FileManager.default.createDirectory(atPath: root + "/manifest", withIntermediateDirectories: true)
    for (stem, text) in entries {
        try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/manifest/\(stem).json"))
    }
    return try WeightsManifest(directory: root + "/manifest")
}
