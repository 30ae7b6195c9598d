import Foundation
import SparrowRuntime

/// Decodes any video ffmpeg reads into RGB frames: `ffprobe` for the size, rate and frame count,
/// then `ffmpeg -f rawvideo -pix_fmt rgb24 -` streaming frames through a pipe.
///
/// Rotated phone videos: ffmpeg rotates while decoding, so a ±90° rotation swaps the probed size.
/// Dropping the reader before the end closes the pipe and ends ffmpeg; nothing is left running.
public final class FFmpegVideoReader: FrameSource {
    public let path: String
    public let width: Int
    public let height: Int
    public let frameRate: FrameRate?
    /// The stream's frame count when the container records it (`nb_frames`).
    public let frameCount: Int?
    private let decoder: FFmpegProcess
    private let output: FileHandle
    private var framesRead = 0
    private var ended = false

    /// Probes `path` and starts decoding. `tools` defaults to the ones on PATH.
    /// - Parameter outputSize: scale every frame to this size in ffmpeg (bilinear), e.g. straight to a
    ///   model's input size, as Scripts/litert-run.py decodes for the side-by-side benchmark.
    public init(path: String, outputSize: (width: Int, height: Int)? = nil, tools: FFmpegTools? = nil) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw VideoError("\(path): no such file") }
        if let size = outputSize, !(1...RGBImage.maximumSide).contains(size.width) || !(1...RGBImage.maximumSide).contains(size.height) {
            throw VideoError("\(path): cannot scale frames to \(size.width)x\(size.height)")
        }
        let tools = try tools ?? FFmpegTools.locate()
        let info = try FFmpegVideoReader.probe(path, ffprobe: tools.ffprobe)
        self.path = path
        width = outputSize?.width ?? info.width
        height = outputSize?.height ?? info.height
        frameRate = info.frameRate
        frameCount = info.frameCount
        let scale = outputSize.map { ["-vf", "scale=\($0.width):\($0.height):flags=bilinear"] } ?? []
        let pipe = Pipe()
        decoder = try FFmpegProcess(
            executable: tools.ffmpeg,
            arguments: ["-nostdin", "-v", "error", "-i", path, "-map", "0:v:0"] + scale + ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
            standardInput: nil, standardOutput: pipe)
        output = pipe.fileHandleForReading
    }

    deinit {
        try? output.close()  // ffmpeg's next write fails, so it exits; stop() reaps it either way
        decoder.stop()
    }

    /// The next frame, nil after the last; throws when ffmpeg fails or a frame is cut short.
    public func next() throws -> RGBImage? {
        guard !ended else { return nil }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let got = pixels.withUnsafeMutableBytes { FileDescriptorIO.readFully(output.fileDescriptor, $0.baseAddress!, count: $0.count) }
        if got == pixels.count {
            framesRead += 1
            return try RGBImage(width: width, height: height, pixels: pixels)
        }
        ended = true
        let status = decoder.wait()
        if status != 0 { throw decoder.failure("\(path): decoding failed after \(framesRead) frames", status: status) }
        if got < 0 { throw VideoError("\(path): reading ffmpeg's output failed (\(String(cString: strerror(errno))))") }
        if got > 0 {
            throw VideoError("\(path): ffmpeg's output ended inside frame \(framesRead) (\(got) of \(pixels.count) bytes); the frame size changed mid-stream?")
        }
        return nil
    }

    /// What `ffprobe` reports about the first video stream.
    struct StreamInfo: Equatable {
        var width: Int, height: Int, frameRate: FrameRate?, frameCount: Int?
    }

    /// Runs ffprobe on `path` and parses its JSON.
    static func probe(_ path: String, ffprobe: String) throws -> StreamInfo {
        let pipe = Pipe()
        let prober = try FFmpegProcess(
            executable: ffprobe,
            arguments: ["-v", "error", "-select_streams", "v:0",
                        "-show_entries", "stream=width,height,r_frame_rate,nb_frames:stream_side_data=rotation:stream_tags=rotate",
                        "-of", "json", path],
            standardInput: nil, standardOutput: pipe)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let status = prober.wait()
        guard status == 0 else { throw prober.failure("\(path): cannot read this video", status: status) }
        return try parseProbe(data, path: path)
    }

    /// Parses ffprobe's `-of json` output (separate for tests).
    static func parseProbe(_ data: Data, path: String) throws -> StreamInfo {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let streams = root["streams"] as? [[String: Any]] else {
            throw VideoError("\(path): ffprobe printed no stream list; is this a video file?")
        }
        guard let stream = streams.first, let w = stream["width"] as? Int, let h = stream["height"] as? Int else {
            throw VideoError("\(path): no video stream found")
        }
        guard (1...RGBImage.maximumSide).contains(w), (1...RGBImage.maximumSide).contains(h) else {
            throw VideoError("\(path): video size \(w)x\(h) is outside 1...\(RGBImage.maximumSide)")
        }
        var rotation = 0
        if let sides = stream["side_data_list"] as? [[String: Any]] {
            for side in sides { if let r = side["rotation"] as? Int { rotation = r } }
        }
        if let tags = stream["tags"] as? [String: Any], let r = (tags["rotate"] as? String).flatMap({ Int($0) }) { rotation = r }
        let quarterTurns = ((rotation % 360) + 360) % 360
        let swapped = quarterTurns == 90 || quarterTurns == 270
        return StreamInfo(width: swapped ? h : w, height: swapped ? w : h,
                          frameRate: (stream["r_frame_rate"] as? String).flatMap { FrameRate(parsing: $0) },
                          frameCount: (stream["nb_frames"] as? String).flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil })
    }
}

/// Encodes RGB frames with ffmpeg (`-pix_fmt yuv420p`, codec chosen by ffmpeg from the output's
/// extension: H.264 for .mp4/.mkv when libx264 is present).
///
/// yuv420p needs even sides, so an odd-sized frame gets its last column and/or row repeated once;
/// `encodedWidth`/`encodedHeight` give the stored size. Writing ignores SIGPIPE for the whole
/// process (once), so an encoder that dies makes `write` throw with ffmpeg's message instead of
/// killing the program.
public final class FFmpegVideoWriter: FrameSink {
    public let path: String
    public let width: Int
    public let height: Int
    public let encodedWidth: Int
    public let encodedHeight: Int
    private let encoder: FFmpegProcess
    private let input: FileHandle
    private var padded: [UInt8]
    private var finished = false
    public private(set) var framesWritten = 0

    /// Starts ffmpeg writing `path` (replaced if it exists). `tools` defaults to the ones on PATH.
    public init(path: String, width: Int, height: Int, frameRate: FrameRate, tools: FFmpegTools? = nil) throws {
        guard (1...RGBImage.maximumSide).contains(width), (1...RGBImage.maximumSide).contains(height) else {
            throw VideoError("\(path): frame size \(width)x\(height) is outside 1...\(RGBImage.maximumSide)")
        }
        let tools = try tools ?? FFmpegTools.locate()
        _ = FFmpegVideoWriter.ignoreBrokenPipes
        self.path = path
        self.width = width
        self.height = height
        encodedWidth = width + width % 2
        encodedHeight = height + height % 2
        padded = [UInt8](repeating: 0, count: encodedWidth * encodedHeight * 3)
        let pipe = Pipe()
        encoder = try FFmpegProcess(
            executable: tools.ffmpeg,
            arguments: ["-y", "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                        "-s", "\(encodedWidth)x\(encodedHeight)", "-r", frameRate.description, "-i", "-",
                        "-pix_fmt", "yuv420p", path],
            standardInput: pipe, standardOutput: nil)
        input = pipe.fileHandleForWriting
    }

    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    deinit {
        if !finished {
            try? input.close()
            encoder.stop()
        }
    }

    /// Sends one frame to the encoder; throws with ffmpeg's message when it has failed.
    public func write(_ frame: RGBImage) throws {
        guard !finished else { throw VideoError("\(path): written after finish()") }
        guard frame.width == width, frame.height == height else {
            throw VideoError("\(path): frame is \(frame.width)x\(frame.height) but the video is \(width)x\(height)")
        }
        let ok: Bool
        if encodedWidth == width && encodedHeight == height {
            ok = frame.pixels.withUnsafeBytes { FileDescriptorIO.writeFully(input.fileDescriptor, $0.baseAddress!, count: $0.count) }
        } else {
            pad(frame)
            ok = padded.withUnsafeBytes { FileDescriptorIO.writeFully(input.fileDescriptor, $0.baseAddress!, count: $0.count) }
        }
        guard ok else {
            let reason = String(cString: strerror(errno))
            finished = true
            try? input.close()
            let status = encoder.wait()
            if status != 0 { throw encoder.failure("\(path): encoding failed at frame \(framesWritten)", status: status) }
            throw VideoError("\(path): cannot send frame \(framesWritten) to ffmpeg (\(reason))")
        }
        framesWritten += 1
    }

    /// Closes ffmpeg's input, waits for it to finish the file and reports a failure.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try? input.close()
        let status = encoder.wait()
        if status != 0 { throw encoder.failure("\(path): encoding failed", status: status) }
    }

    /// Copies `frame` into `padded`, repeating its last column and row to reach even sides.
    private func pad(_ frame: RGBImage) {
        for y in 0..<encodedHeight {
            let sy = min(y, height - 1)
            for x in 0..<encodedWidth {
                let sx = min(x, width - 1)
                for c in 0..<3 { padded[(y * encodedWidth + x) * 3 + c] = frame.pixels[(sy * width + sx) * 3 + c] }
            }
        }
    }
}
