import Foundation
import SparrowRuntime

/// What a path names for the vision commands, decided from the path alone: a still image, a Y4M
/// video, a PNG sequence (a folder or a `%d` pattern), or any other video (through ffmpeg).
public enum MediaKind: Equatable, Sendable {
    case image, y4m, pngSequence, ffmpegVideo

    /// Classifies `path`: a frame pattern (`%04d`), an existing folder or a path ending in `/` is a PNG
    /// sequence; `.png` is an image; `.y4m` is Y4M; anything else goes to ffmpeg. Throws on a
    /// malformed pattern.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        if try FramePattern.parse(path) != nil || path.hasSuffix("/")
            || (FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue) {
            self = .pngSequence
            return
        }
        switch (path as NSString).pathExtension.lowercased() {
        case "png": self = .image
        case "y4m": self = .y4m
        default: self = .ffmpegVideo
        }
    }

    /// True for the kinds that hold several frames.
    public var isVideo: Bool { self != .image }

    /// Opens `path` (of this kind) as a frame source; an image is a one-frame source.
    public func openSource(_ path: String, tools: FFmpegTools? = nil) throws -> any FrameSource {
        switch self {
        case .image: return SingleImageSource(image: try RGBImage(contentsOf: path))
        case .y4m: return try Y4MReader(path: path)
        case .pngSequence: return try PNGSequenceReader(path: path)
        case .ffmpegVideo: return try FFmpegVideoReader(path: path, tools: tools)
        }
    }

    /// A sink writing `path` (of a video kind). Throws for `.image`: write an image with `RGBImage.write`.
    public func makeSink(_ path: String, width: Int, height: Int, frameRate: FrameRate,
                         tools: FFmpegTools? = nil) throws -> any FrameSink {
        switch self {
        case .image: throw VideoError("\(path): a .png file holds one image; write video frames to a folder, a %d pattern, .y4m or a video file")
        case .y4m: return try Y4MWriter(path: path, width: width, height: height, frameRate: frameRate)
        case .pngSequence: return try PNGSequenceWriter(path: path)
        case .ffmpegVideo: return try FFmpegVideoWriter(path: path, width: width, height: height, frameRate: frameRate, tools: tools)
        }
    }
}

/// One image as a one-frame source.
public struct SingleImageSource: FrameSource {
    public let width: Int
    public let height: Int
    public var frameRate: FrameRate? { nil }
    public var frameCount: Int? { 1 }
    private var image: RGBImage?

    public init(image: RGBImage) {
        width = image.width
        height = image.height
        self.image = image
    }

    public mutating func next() throws -> RGBImage? {
        defer { image = nil }
        return image
    }
}
