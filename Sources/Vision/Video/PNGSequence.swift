import Foundation
import SparrowRuntime

/// A printf-style frame-file pattern such as `frames/%04d.png`: exactly one `%d` or `%0Nd`
/// directive (N ≤ 9); `%%` is a literal percent sign.
///
/// Parsed by hand, never handed to `String(format:)`, so a user's path cannot act as a format string.
public struct FramePattern: Hashable, Sendable {
    public let prefix: String
    public let suffix: String
    /// Minimum digits (zero-padded); 0 for plain `%d`.
    public let digits: Int

    /// The pattern in `text`, nil when `text` has no `%` directive (a plain path). Throws when a
    /// `%` is not `%%`, `%d` or `%0Nd`, or when there is more than one directive.
    public static func parse(_ text: String) throws -> FramePattern? {
        var prefix = "", suffix = "", digits: Int? = nil
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            guard c == "%" else {
                if digits == nil { prefix.append(c) } else { suffix.append(c) }
                continue
            }
            if chars.first == "%" {
                chars.removeFirst()
                if digits == nil { prefix.append("%") } else { suffix.append("%") }
                continue
            }
            var spec = ""
            while let d = chars.first, d.isASCII, d.isNumber { spec.append(d); chars.removeFirst() }
            guard chars.popFirst() == "d", spec.isEmpty || (spec.hasPrefix("0") && spec.count >= 2), let n = spec.isEmpty ? 0 : Int(spec), n <= 9 else {
                throw VideoError("'\(text)': a frame pattern takes %d or %0Nd (N up to 9), e.g. frames/%04d.png; write %% for a percent sign")
            }
            guard digits == nil else { throw VideoError("'\(text)': a frame pattern takes exactly one %d") }
            digits = n
        }
        guard let digits else { return nil }
        return FramePattern(prefix: prefix, suffix: suffix, digits: digits)
    }

    /// The file name of frame `number`.
    public func path(for number: Int) -> String {
        let n = String(number)
        return prefix + String(repeating: "0", count: max(0, digits - n.count)) + n + suffix
    }
}

/// Reads frames from PNG files: every `.png` in a folder (sorted by name, numbers compared as
/// numbers so `frame2` precedes `frame10`), or the files of a `FramePattern` counting up from the
/// first of 0…4 that exists (as ffmpeg's image2 demuxer does) until a number is missing.
public final class PNGSequenceReader: FrameSource {
    /// The frame files, in order.
    public let files: [String]
    public let width: Int
    public let height: Int
    public let frameRate: FrameRate?
    public var frameCount: Int? { files.count }
    private var index = 0
    private var first: RGBImage?

    /// Lists the frames of a folder or pattern and reads the first for the size.
    public init(path: String, frameRate: FrameRate? = nil) throws {
        var files: [String] = []
        if let pattern = try FramePattern.parse(path) {
            if let start = (0...4).first(where: { FileManager.default.fileExists(atPath: pattern.path(for: $0)) }) {
                var n = start
                while FileManager.default.fileExists(atPath: pattern.path(for: n)) {
                    files.append(pattern.path(for: n))
                    n += 1
                }
            }
            guard !files.isEmpty else {
                throw VideoError("\(path): no frame files found (tried numbers 0...4, e.g. \(pattern.path(for: 1)))")
            }
        } else {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw VideoError("\(path): cannot list the folder; pass a folder of PNG files or a pattern such as frames/%04d.png")
            }
            files = names.filter { $0.lowercased().hasSuffix(".png") && !$0.hasPrefix(".") }
                .sorted { $0.compare($1, options: [.numeric]) == .orderedAscending }
                .map { (path as NSString).appendingPathComponent($0) }
            guard !files.isEmpty else { throw VideoError("\(path): the folder holds no .png files") }
        }
        let image = try RGBImage(contentsOf: files[0])
        self.files = files
        width = image.width
        height = image.height
        self.frameRate = frameRate
        first = image
    }

    /// The next frame; throws when a file is unreadable or has another size than the first.
    public func next() throws -> RGBImage? {
        guard index < files.count else { return nil }
        defer { index += 1 }
        if let image = first {
            first = nil
            return image
        }
        let image = try RGBImage(contentsOf: files[index])
        guard image.width == width, image.height == height else {
            throw VideoError("\(files[index]) is \(image.width)x\(image.height) but the sequence's first frame is \(width)x\(height); all frames must have one size")
        }
        return image
    }
}

/// Writes frames as PNG files: to a `FramePattern`, or into a folder as `frame_00001.png`, ….
/// Numbers start at `startNumber` (1 by default, as ffmpeg's image2 muxer).
public final class PNGSequenceWriter: FrameSink {
    /// The file-name pattern used for a folder.
    public static let folderPattern = "frame_%05d.png"

    public let pattern: FramePattern
    public private(set) var framesWritten = 0
    private let startNumber: Int
    private var size: (width: Int, height: Int)?

    /// A writer to `path`: a pattern, or a folder (created when missing).
    public init(path: String, startNumber: Int = 1) throws {
        let target: String
        if try FramePattern.parse(path) != nil {
            target = path
        } else {
            target = (path as NSString).appendingPathComponent(PNGSequenceWriter.folderPattern)
        }
        guard let pattern = try FramePattern.parse(target) else { throw VideoError("\(path): not a folder or frame pattern") }
        let folder = (pattern.path(for: startNumber) as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw VideoError("\(folder): cannot create the output folder (\(error.localizedDescription))")
            }
        }
        self.pattern = pattern
        self.startNumber = startNumber
    }

    /// Writes the next numbered PNG; every frame must have the first frame's size.
    public func write(_ frame: RGBImage) throws {
        if let size, size != (frame.width, frame.height) {
            throw VideoError("frame \(framesWritten) is \(frame.width)x\(frame.height) but the sequence is \(size.width)x\(size.height)")
        }
        size = (frame.width, frame.height)
        try frame.write(to: pattern.path(for: startNumber + framesWritten))
        framesWritten += 1
    }

    /// Nothing to flush: every frame is a complete file when `write` returns.
    public func finish() throws {}
}
