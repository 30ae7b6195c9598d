import SparrowRuntime

/// Frames per second as an exact ratio (30000/1001 stays exact through Y4M and ffmpeg).
public struct FrameRate: Hashable, Sendable, CustomStringConvertible {
    public let numerator: Int
    public let denominator: Int

    /// The rate used when a source does not know its own (a PNG sequence).
    public static let fallback = FrameRate(numerator: 30, denominator: 1)!

    /// A positive ratio; nil when either part is not positive.
    public init?(numerator: Int, denominator: Int) {
        guard numerator > 0, denominator > 0 else { return nil }
        self.numerator = numerator
        self.denominator = denominator
    }

    /// Parses `N/D`, `N:D` or a whole number `N`; nil when malformed or not positive.
    public init?(parsing text: String) {
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "/" || $0 == ":" })
        guard (1...2).contains(parts.count), let n = Int(parts[0]) else { return nil }
        let d = parts.count == 2 ? Int(parts[1]) : 1
        guard let d else { return nil }
        self.init(numerator: n, denominator: d)
    }

    public var framesPerSecond: Double { Double(numerator) / Double(denominator) }
    /// `N/D` (ffmpeg's notation).
    public var description: String { "\(numerator)/\(denominator)" }
}

/// A sequence of RGB frames of one size: a Y4M file, a PNG folder or pattern, or any video ffmpeg
/// decodes.
///
/// Sources pull one frame at a time (a clip never has to fit in memory) and end with nil.
public protocol FrameSource {
    var width: Int { get }
    var height: Int { get }
    /// Frames per second, when the container says.
    var frameRate: FrameRate? { get }
    /// The number of frames, when the container says (may be an estimate for some formats).
    var frameCount: Int? { get }
    /// The next frame, or nil at the end. Throws on damaged or truncated input.
    mutating func next() throws -> RGBImage?
}

/// Where frames go: a Y4M file, PNG files, or a video ffmpeg encodes.
///
/// Every frame must have the sink's size. Call `finish()` once at the end: it flushes, closes and
/// reports failures of the encoder; a sink dropped without `finish()` cleans up without reporting.
public protocol FrameSink: AnyObject {
    func write(_ frame: RGBImage) throws
    func finish() throws
}

/// A video or frame sequence that cannot be read or written; the message names the file and says
/// what to do.
public struct VideoError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}
