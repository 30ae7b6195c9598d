import Foundation
import SparrowRuntime
import Testing
@testable import SparrowVision

/// ffmpeg and ffprobe on PATH, or nil (the tests that need them are then skipped).
private let tools = try? FFmpegTools.locate()
private let skipMessage: Comment = "ffmpeg/ffprobe not on PATH (install: sudo apt-get install ffmpeg)"

/// Tolerances in 8-bit levels.
private enum VideoTolerance {
    /// H.264 at ffmpeg's default quality on smooth gradients: mean absolute error per channel.
    static let h264MeanLevels = 4.0
    /// Our BT.601 decode vs ffmpeg's swscale (default flags) on the same 4:2:0 samples: swscale's fast
    /// path rounds 1–2 levels low and interpolates chroma where we replicate it (measured 1.14).
    static let swscaleMeanLevels = 1.5
    /// RGB → 4:2:0 → RGB on the test gradients, whose red changes 8 levels per pixel: halving chroma
    /// resolution costs ~3.3 levels on average whoever converts (measured 3.15–3.5 with ffmpeg).
    static let yuv420RoundTripMeanLevels = 4.0
}

private func frames(width: Int, height: Int, count: Int) throws -> [RGBImage] {
    try (0..<count).map { try RGBImage(width: width, height: height, pixels: TestFrames.gradient(width: width, height: height, index: $0)) }
}

private func readAll(_ source: inout some FrameSource) throws -> [RGBImage] {
    var out: [RGBImage] = []
    while let f = try source.next() { out.append(f) }
    return out
}
/// The OpenCV sample clip, when Scripts/fetch-models.sh has put it in the model cache.
private let vtestPath: String? = {
    let path = (NSHomeDirectory() as NSString).appendingPathComponent(".cache/sparrow/models/vtest-video/vtest.avi")
    return FileManager.default.fileExists(atPath: path) ? path : nil
}()

@Suite struct FFmpegVideoTests {
    @Test(.enabled(if: tools != nil, skipMessage))
    func ffmpegEncodeThenDecodeKeepsSizeCountAndPixels() throws {
        let folder = TemporaryFolder()
        let input = try frames(width: 64, height: 48, count: 5)
        let path = folder.file("clip.mp4")
        let writer = try FFmpegVideoWriter(path: path, width: 64, height: 48, frameRate: FrameRate(numerator: 25, denominator: 1)!, tools: tools)
        for f in input { try writer.write(f) }
        try writer.finish()
        var reader = try FFmpegVideoReader(path: path, tools: tools)
        #expect(reader.width == 64 && reader.height == 48)
        #expect(reader.frameRate == FrameRate(numerator: 25, denominator: 1))
        #expect(reader.frameCount == 5)
        let output = try readAll(&reader)
        #expect(output.count == 5)
        for (a, b) in zip(input, output) { #expect(meanDifference(a.pixels, b.pixels) <= VideoTolerance.h264MeanLevels) }
    }

    @Test(.enabled(if: tools != nil, skipMessage))
    func oddSizedFramesArePaddedToEvenForYUV420() throws {
        let folder = TemporaryFolder()
        let input = try frames(width: 63, height: 47, count: 2)
        let path = folder.file("odd.mp4")
        let writer = try FFmpegVideoWriter(path: path, width: 63, height: 47, frameRate: .fallback, tools: tools)
        #expect(writer.encodedWidth == 64 && writer.encodedHeight == 48)
        for f in input { try writer.write(f) }
        try writer.finish()
        var reader = try FFmpegVideoReader(path: path, tools: tools)
        #expect(reader.width == 64 && reader.height == 48)
        let output = try readAll(&reader)
        #expect(output.count == 2)
        // The top-left 63x47 matches the input.
        var cropped: [UInt8] = []
        for y in 0..<47 {
            let start = y * 64 * 3
            cropped += output[0].pixels[start..<(start + 63 * 3)]
        }
        #expect(meanDifference(cropped, input[0].pixels) <= VideoTolerance.h264MeanLevels)
    }

    @Test(.enabled(if: tools != nil, skipMessage))
    func ourBT601MatchesFFmpegOnTheSameY4M() throws {
        let folder = TemporaryFolder()
        let input = try frames(width: 32, height: 24, count: 2)
        // ffmpeg writes the Y4M (its swscale does RGB → limited-range yuv420p); we and ffmpeg decode it.
        let path = folder.file("ffmpeg.y4m")
        let writer = try FFmpegVideoWriter(path: path, width: 32, height: 24, frameRate: .fallback, tools: tools)
        for f in input { try writer.write(f) }
        try writer.finish()
        var ours = try Y4MReader(path: path)
        var theirs = try FFmpegVideoReader(path: path, tools: tools)
        let a = try readAll(&ours), b = try readAll(&theirs)
        #expect(a.count == 2 && b.count == 2)
        for (x, y) in zip(a, b) { #expect(meanDifference(x.pixels, y.pixels) <= VideoTolerance.swscaleMeanLevels) }
        // And the other way: our Y4M writer, decoded by ffmpeg, gives the input back.
        let mine = folder.file("ours.y4m")
        let y4m = try Y4MWriter(path: mine, width: 32, height: 24, frameRate: .fallback)
        for f in input { try y4m.write(f) }
        try y4m.finish()
        var decoded = try FFmpegVideoReader(path: mine, tools: tools)
        let back = try readAll(&decoded)
        #expect(back.count == 2)
        for (x, y) in zip(input, back) { #expect(meanDifference(x.pixels, y.pixels) <= VideoTolerance.yuv420RoundTripMeanLevels) }
    }

    @Test(.enabled(if: tools != nil, skipMessage))
    func droppingAReaderEarlyEndsFFmpeg() throws {
        let folder = TemporaryFolder()
        let path = folder.file("long.mp4")
        let writer = try FFmpegVideoWriter(path: path, width: 64, height: 48, frameRate: .fallback, tools: tools)
        for f in try frames(width: 64, height: 48, count: 30) { try writer.write(f) }
        try writer.finish()
        for _ in 0..<3 {
            let reader = try FFmpegVideoReader(path: path, tools: tools)
            #expect(try reader.next() != nil)
            // Dropped here with frames left: deinit closes the pipe and reaps ffmpeg (the test would hang otherwise).
        }
    }

    @Test(.enabled(if: tools != nil, skipMessage))
    func failingFFmpegReportsItsStatusAndMessage() throws {
        let folder = TemporaryFolder()
        let bogus = folder.write("bogus.mp4", Array("this is not a video".utf8))
        do {
            _ = try FFmpegVideoReader(path: bogus, tools: tools)
            Issue.record("expected an error for a non-video")
        } catch let error as VideoError {
            #expect(error.description.contains("ffprobe exited with status"))
            #expect(error.description.contains("Invalid data"))
        }
        let writer = try FFmpegVideoWriter(path: folder.file("no/such/folder/out.mp4"), width: 16, height: 16, frameRate: .fallback, tools: tools)
        do {
            let frame = try RGBImage(width: 16, height: 16, red: 1, green: 2, blue: 3)
            for _ in 0..<200 { try writer.write(frame) }
            try writer.finish()
            Issue.record("expected an error writing into a missing folder")
        } catch let error as VideoError {
            #expect(error.description.contains("exited with status"))
        }
    }

    @Test func missingFFmpegSaysHowToInstallIt() throws {
        do {
            _ = try FFmpegTools.locate(searchPath: "/nonexistent-sparrow-bin")
            Issue.record("expected an error")
        } catch let error as VideoError {
            #expect(error.description.contains("sudo apt-get install ffmpeg"))
        }
        let folder = TemporaryFolder()
        let file = folder.write("clip.mp4", [0])
        let absent = FFmpegTools(ffmpeg: "/nonexistent-sparrow-bin/ffmpeg", ffprobe: "/nonexistent-sparrow-bin/ffprobe")
        #expect(throws: VideoError.self) { try FFmpegVideoReader(path: file, tools: absent) }
        #expect(throws: VideoError.self) { try FFmpegVideoWriter(path: folder.file("o.mp4"), width: 4, height: 4, frameRate: .fallback, tools: absent) }
    }

    @Test func probeOutputParsesRateCountAndRotation() throws {
        let plain = Data(#"{"programs":[],"streams":[{"width":768,"height":576,"r_frame_rate":"10/1","nb_frames":"795"}]}"#.utf8)
        #expect(try FFmpegVideoReader.parseProbe(plain, path: "v")
                == .init(width: 768, height: 576, frameRate: FrameRate(numerator: 10, denominator: 1), frameCount: 795))
        let rotated = Data(#"{"streams":[{"width":1920,"height":1080,"r_frame_rate":"30000/1001","side_data_list":[{"rotation":-90}]}]}"#.utf8)
        #expect(try FFmpegVideoReader.parseProbe(rotated, path: "v")
                == .init(width: 1080, height: 1920, frameRate: FrameRate(numerator: 30000, denominator: 1001), frameCount: nil))
        let unknownRate = Data(#"{"streams":[{"width":8,"height":8,"r_frame_rate":"0/0","nb_frames":"N/A"}]}"#.utf8)
        #expect(try FFmpegVideoReader.parseProbe(unknownRate, path: "v") == .init(width: 8, height: 8, frameRate: nil, frameCount: nil))
        #expect(throws: VideoError.self) { try FFmpegVideoReader.parseProbe(Data(#"{"streams":[]}"#.utf8), path: "v") }
        #expect(throws: VideoError.self) { try FFmpegVideoReader.parseProbe(Data(#"{"streams":[{"width":0,"height":8}]}"#.utf8), path: "v") }
        #expect(throws: VideoError.self) { try FFmpegVideoReader.parseProbe(Data("garbage".utf8), path: "v") }
    }


    @Test(.enabled(if: tools != nil && vtestPath != nil, "vtest.avi not in ~/.cache/sparrow/models/vtest-video (or no ffmpeg); skipped"))
    func opencvSampleClipDecodes() throws {
        let reader = try FFmpegVideoReader(path: try #require(vtestPath), tools: tools)
        #expect(reader.width == 768 && reader.height == 576)
        for _ in 0..<3 {
            let frame = try #require(try reader.next())
            #expect(frame.width == 768 && Set(frame.pixels.prefix(30_000)).count > 16)  // real picture, not a flat fill
        }
    }
}
