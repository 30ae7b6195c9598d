import Foundation
import SparrowRuntime

/// Where the `ffmpeg` and `ffprobe` executables are.
public struct FFmpegTools: Hashable, Sendable {
    public var ffmpeg: String
    public var ffprobe: String

    public init(ffmpeg: String, ffprobe: String) {
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe
    }

    /// Finds both tools in the folders of `searchPath` (default: the PATH environment variable).
    /// Throws an error that says how to install them when either is missing.
    public static func locate(searchPath: String? = nil) throws -> FFmpegTools {
        let folders = (searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        func find(_ name: String) throws -> String {
            for folder in folders where !folder.isEmpty {
                let candidate = (folder as NSString).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
            throw VideoError("\(name) is not installed (not found in \(folders.joined(separator: ":"))); install it: sudo apt-get install ffmpeg, or Scripts/install-deps.sh")
        }
        return FFmpegTools(ffmpeg: try find("ffmpeg"), ffprobe: try find("ffprobe"))
    }
}

/// A child process whose standard error goes to a temporary file (so it can never fill a pipe and
/// block the child); its tail goes into the error when the child fails.
final class FFmpegProcess {
    let process = Process()
    let name: String
    private let stderrPath: String
    private var finished = false

    /// Starts `executable arguments` with the given standard input and output.
    init(executable: String, arguments: [String], standardInput: Any?, standardOutput: Any?) throws {
        name = (executable as NSString).lastPathComponent
        stderrPath = (NSTemporaryDirectory() as NSString).appendingPathComponent("sparrow-\(name)-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: stderrPath, contents: nil), let log = FileHandle(forWritingAtPath: stderrPath) else {
            throw VideoError("cannot create a log file in \(NSTemporaryDirectory()) for \(name); check the temporary folder")
        }
        defer { try? log.close() }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = standardInput ?? FileHandle.nullDevice
        process.standardOutput = standardOutput ?? FileHandle.nullDevice
        process.standardError = log
        do {
            try process.run()
        } catch {
            finished = true  // never started: nothing to stop or reap
            try? FileManager.default.removeItem(atPath: stderrPath)
            throw VideoError("cannot run \(executable) (\(error.localizedDescription)); install it: sudo apt-get install ffmpeg, or Scripts/install-deps.sh")
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    /// Waits for the child and returns its exit status (0 = success).
    func wait() -> Int32 {
        process.waitUntilExit()
        finished = true
        return process.terminationStatus
    }

    /// Ends the child if it still runs and reaps it (no zombies).
    func stop() {
        guard !finished else { return }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        finished = true
    }

    /// The last `maxBytes` of the child's standard error, trimmed.
    func stderrTail(maxBytes: Int = 2000) -> String {
        guard let data = FileManager.default.contents(atPath: stderrPath) else { return "" }
        return String(decoding: data.suffix(maxBytes), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An error for a failed run: status plus the tail of standard error.
    func failure(_ what: String, status: Int32) -> VideoError {
        let tail = stderrTail()
        return VideoError("\(what): \(name) exited with status \(status)\(tail.isEmpty ? "" : ":\n" + tail)")
    }
}

/// Reads or writes exactly `count` bytes on a file descriptor, retrying interrupted and partial calls.
enum FileDescriptorIO {
    /// Bytes read (less than `count` only at end of file); -1 with errno set on error.
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int) -> Int {
        var done = 0
        while done < count {
            let n = read(fd, buffer + done, count - done)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                return -1
            }
            done += n
        }
        return done
    }

    /// True when all bytes were written; false with errno set otherwise (EPIPE when the reader exited).
    static func writeFully(_ fd: Int32, _ buffer: UnsafeRawPointer, count: Int) -> Bool {
        var done = 0
        while done < count {
            let n = write(fd, buffer + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }
}
