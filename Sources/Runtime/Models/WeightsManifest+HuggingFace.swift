import Foundation

/// Hugging Face hub entries: references to a model repository (a diffusers folder) that users with
/// internet download themselves, e.g.
///
/// ```json
/// "source": {"huggingface": "stabilityai/sd-turbo", "revision": "main"},
/// "files": [{"path": "unet/diffusion_pytorch_model.fp16.safetensors", "bytes": 1, "sha256": "…"}],
/// "download": "huggingface-cli download stabilityai/sd-turbo … --local-dir ~/.cache/sparrow/models/sd-turbo"
/// ```
///
/// Sparrow never contacts the hub: `ModelStore.fetch` refuses such entries with the download
/// instructions, and `ModelStore.checkHubFolder` checks a folder the user put in the store against
/// the sizes and hashes the manifest records (only those a public record gives; the rest are unknown).
extension WeightsManifest {
    /// One file of a hub folder, relative to the folder. `bytes` and `sha256` are nil when no public
    /// record gives them (the entry's `note` says so).
    public struct HubFile: Codable, Sendable, Equatable {
        /// Path inside the repository, e.g. `unet/config.json` (relative, no `.` or `..` components).
        public let path: String
        public let bytes: Int?
        /// Lower-case hex SHA-256 (for large files, the Git LFS object id the hub shows).
        public let sha256: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case path, bytes, sha256
        }
    }

    /// The `--local-dir` a hub entry's `download` command must name, with `~` unexpanded.
    static func defaultLocalDirectory(id: String) -> String {
        "~/.cache/sparrow/models/" + id
    }

    static func validateHub(_ e: Entry, fail: (String) -> ManifestError) throws {
        let source = e.source
        guard let repo = source.huggingface, source.pypi == nil, source.debian == nil else {
            throw fail("source.huggingface cannot be combined with source.pypi or source.debian; keep one")
        }
        guard source.path == nil, !source.gunzip else {
            throw fail("source.path and source.gunzip are for registry packages; a Hugging Face entry lists its files in \"files\"")
        }
        guard isValidRepository(repo) else {
            throw fail("source.huggingface must be OWNER/NAME (letters, digits, '-', '_', '.'; neither part starting with '.' or '-', no '..'), found '\(repo)'")
        }
        guard let revision = source.revision else {
            throw fail("source.revision is required: the branch, tag or commit the files and hashes describe (e.g. \"main\")")
        }
        guard isValidRevision(revision) else {
            throw fail("source.revision must be a branch, tag or commit (letters, digits, '.', '_', '-', '/'; not starting with '-' or '/', no '..'), found '\(revision)'")
        }
        guard e.format == .diffusers else {
            throw fail("a Hugging Face entry is a folder: its format must be 'diffusers', found '\(e.format.rawValue)'")
        }
        guard !e.hubFiles.isEmpty else { throw fail("files must list at least one file of the folder") }
        var seen = Set<String>()
        for (i, file) in e.hubFiles.enumerated() {
            guard isSafeRelativePath(file.path) else {
                throw fail("files[\(i)].path '\(file.path)' must be a relative path inside the folder, without '.' or '..' components")
            }
            guard seen.insert(file.path).inserted else { throw fail("files[\(i)].path '\(file.path)' is listed twice") }
            if let bytes = file.bytes, bytes <= 0 { throw fail("files[\(i)].bytes must be positive (or left out when unknown)") }
            if let sha = file.sha256, !(sha.count == 64 && sha.allSatisfy(Set("0123456789abcdef").contains)) {
                throw fail("files[\(i)].sha256 must be 64 lower-case hex digits (or left out when unknown)")
            }
        }
        let wanted = ["huggingface-cli download \(repo) ", "--local-dir \(defaultLocalDirectory(id: e.id))"]
        guard let command = e.download, command.hasPrefix(wanted[0]), command.contains(wanted[1]) else {
            throw fail("download must be a command starting '\(wanted[0])' with '\(wanted[1])'")
        }
        let unknownSizes = e.hubFiles.contains { $0.bytes == nil || $0.sha256 == nil }
        guard !unknownSizes || !(e.note ?? "").isEmpty else {
            throw fail("some files have no bytes or sha256: say in \"note\" that no public record gives them")
        }
    }

    /// `OWNER/NAME` as the hub allows: two non-empty parts of `[A-Za-z0-9._-]`, not starting with `.`
    /// or `-`, without `..`, at most 96 characters each.
    static func isValidRepository(_ repo: String) -> Bool {
        let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
        let characters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        return parts.count == 2 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 96 && part.allSatisfy(characters.contains)
                && part.first != "." && part.first != "-" && !part.contains("..")
        }
    }

    static func isValidRevision(_ revision: String) -> Bool {
        let characters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
        return !revision.isEmpty && revision.allSatisfy(characters.contains) && !revision.hasPrefix("-")
            && !revision.hasPrefix("/") && !revision.contains("..")
    }

    /// A relative path whose components are all non-empty and not `.` or `..` (no backslashes).
    static func isSafeRelativePath(_ path: String) -> Bool {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        return !path.isEmpty && !path.hasPrefix("/") && !path.contains("\\")
            && !components.contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }
}

extension WeightsManifest.Entry {
    /// What a user must do to put a hub entry into the store at `directory`: the download command
    /// (with `--local-dir` pointing at `directory/ID`), the files it must hold, and how to check them.
    /// Empty for registry entries.
    public func downloadInstructions(storeDirectory directory: String) -> String {
        guard let repo = source.huggingface, let command = download else { return "" }
        let folder = directory + "/" + id
        let localDirectory = WeightsManifest.defaultLocalDirectory(id: id)
        let home = NSHomeDirectory() + "/.cache/sparrow/models/" + id
        let adjusted = folder == home ? command : command.replacingOccurrences(of: localDirectory, with: folder)
        var lines = [
            "\(id) comes from the Hugging Face hub (\(repo) at revision \(source.revision ?? "main"), license: \(license)); Sparrow does not download it.",
            "On a machine with internet (pip install huggingface_hub), run:",
            "  " + adjusted,
            "and put the folder at \(folder) (copy it there if you downloaded elsewhere). It must hold:",
        ]
        for file in hubFiles {
            let size = file.bytes.map { " (\($0) bytes)" } ?? ""
            lines.append("  \(file.path)\(size)")
        }
        lines.append("Then check it with `sparrow models verify \(id)`.")
        if let note, !note.isEmpty { lines.append("Note: " + note) }
        return lines.joined(separator: "\n")
    }
}
