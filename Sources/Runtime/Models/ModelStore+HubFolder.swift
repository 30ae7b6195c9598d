import Foundation

extension ModelStore {
    /// The state of one listed file of a hub folder in the store.
    public enum HubFileStatus: Equatable, Sendable {
        case missing
        /// Present; its size matches (or none is recorded) and its sha256 matches (`hashed`), or was
        /// not checked (`hashed == false`: no hash recorded, or only sizes were asked for).
        case present(bytes: Int, hashed: Bool)
        case wrongSize(bytes: Int, expected: Int)
        case wrongHash(sha256: String, expected: String)

        /// Whether the file is there and nothing recorded contradicts it.
        public var isGood: Bool {
            if case .present = self { return true }
            return false
        }
    }

    /// One row of `checkHubFolder`: a listed file, its path in the store and its state.
    public struct HubFileCheck: Equatable, Sendable {
        public let file: WeightsManifest.HubFile
        public let path: String
        public let status: HubFileStatus

        /// One line for people: `unet/config.json: missing`, `… 1731904736 bytes, expected …`.
        public var summary: String {
            switch status {
            case .missing: return "\(file.path): missing"
            case .present(let bytes, let hashed): return "\(file.path): ok (\(bytes) bytes\(hashed ? ", sha256 matches" : file.sha256 == nil ? ", no hash recorded" : ""))"
            case .wrongSize(let bytes, let expected): return "\(file.path): \(bytes) bytes, expected \(expected)"
            case .wrongHash(let sha, let expected): return "\(file.path): sha256 \(sha), expected \(expected)"
            }
        }
    }

    /// Checks every file a hub entry lists under `directory/ID`: presence, size where recorded and,
    /// with `hashing`, sha256 where recorded (hashing a UNet reads gigabytes; sizes are instant).
    public static func checkHubFolder(
        _ entry: WeightsManifest.Entry, in directory: String = ModelStore.directory, hashing: Bool = true
    ) throws -> [HubFileCheck] {
        precondition(entry.isHubReference, "checkHubFolder needs a Hugging Face entry")
        let folder = path(for: entry, in: directory)
        return try entry.hubFiles.map { file in
            // Paths were checked relative and free of '..' when the manifest loaded.
            let path = folder + "/" + file.path
            guard let info = FileInfo(path: path) else { return HubFileCheck(file: file, path: path, status: .missing) }
            if let expected = file.bytes, expected != info.bytes {
                return HubFileCheck(file: file, path: path, status: .wrongSize(bytes: info.bytes, expected: expected))
            }
            if hashing, let expected = file.sha256 {
                let digest = try SHA256.hex(ofFileAt: path)
                guard digest == expected else {
                    return HubFileCheck(file: file, path: path, status: .wrongHash(sha256: digest, expected: expected))
                }
                return HubFileCheck(file: file, path: path, status: .present(bytes: info.bytes, hashed: true))
            }
            return HubFileCheck(file: file, path: path, status: .present(bytes: info.bytes, hashed: false))
        }
    }

    /// `status(of:)` for a hub entry: missing when no listed file is present.
    static func hubStatus(of entry: WeightsManifest.Entry, in directory: String, hashing: Bool) throws -> Status {
        let checks = try checkHubFolder(entry, in: directory, hashing: hashing)
        if checks.allSatisfy({ $0.status == .missing }) { return .missing }
        guard let bad = checks.first(where: { !$0.status.isGood }) else { return .verified }
        switch bad.status {
        case .wrongHash(let sha, _):
            return .mismatch(bytes: FileInfo(path: bad.path)?.bytes ?? -1, sha256: sha)
        case .wrongSize(let bytes, _):
            return .mismatch(bytes: bytes, sha256: nil)
        case .missing, .present:
            return .mismatch(bytes: -1, sha256: nil)
        }
    }

    /// `verifiedPath(of:)` for a hub entry: the folder when every listed file is present with its
    /// recorded size (hashes are checked by `sparrow models verify`); else the download instructions.
    static func verifiedHubFolder(of entry: WeightsManifest.Entry, in directory: String) throws -> String {
        let checks = try checkHubFolder(entry, in: directory, hashing: false)
        let folder = path(for: entry, in: directory)
        let instructions = entry.downloadInstructions(storeDirectory: directory)
        if checks.allSatisfy({ $0.status == .missing }) {
            throw ModelStoreError.hubReference(id: entry.id, instructions: "\(entry.id) is not in the store yet (expected the folder \(folder)).\n" + instructions)
        }
        if let bad = checks.first(where: { !$0.status.isGood }) {
            throw ModelStoreError.hubReference(id: entry.id, instructions: "refusing to use \(folder): \(bad.summary).\n" + instructions)
        }
        return folder
    }
}
