import Foundation
import SparrowRuntime
import Testing
@testable import SparrowVision
@Suite struct PNGSequenceTests {
    @Test func framePatternFormatsNumbersLikePrintf() throws {
        let padded = try #require(try FramePattern.parse("frames/%04d.png"))
        #expect(padded.path(for: 7) == "frames/0007.png")
        #expect(padded.path(for: 123456) == "frames/123456.png")
        #expect(try #require(try FramePattern.parse("%d.png")).path(for: 12) == "12.png")
        #expect(try #require(try FramePattern.parse("a%%b_%03d_%%.png")).path(for: 5) == "a%b_005_%.png")
        #expect(try FramePattern.parse("frames/plain.png") == nil)
        #expect(try FramePattern.parse("100%%.png") == nil)
        for bad in ["%s.png", "%4d.png", "%d_%d.png", "%", "%010d.png", "%0d.png"] {
            #expect(throws: VideoError.self, "\(bad)") { try FramePattern.parse(bad) }
        }
    }

    @Test func pngSequenceRoundTripsThroughAFolder() throws {
        let folder = TemporaryFolder()
        let frames = try (0..<3).map { try RGBImage(width: 4, height: 3, pixels: TestFrames.noise(count: 36, seed: UInt64($0 + 10))) }
        let out = folder.file("out")
        let writer = try PNGSequenceWriter(path: out)
        for f in frames { try writer.write(f) }
        try writer.finish()
        #expect(FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent("frame_00001.png")))
        let reader = try PNGSequenceReader(path: out)
        #expect(reader.frameCount == 3 && reader.width == 4 && reader.height == 3)
        for f in frames { #expect(try reader.next() == f) }
        #expect(try reader.next() == nil)
    }

    @Test func pngSequencePatternStartsAtFirstExistingNumber() throws {
        let folder = TemporaryFolder()
        let pattern = folder.file("f%03d.png")
        let writer = try PNGSequenceWriter(path: pattern, startNumber: 0)
        for v in [UInt8(10), 20, 30] { try writer.write(try RGBImage(width: 2, height: 2, red: v, green: v, blue: v)) }
        #expect(FileManager.default.fileExists(atPath: folder.file("f000.png")))
        let reader = try PNGSequenceReader(path: pattern)
        #expect(reader.files.map { ($0 as NSString).lastPathComponent } == ["f000.png", "f001.png", "f002.png"])
        var source: any FrameSource = reader
        var firsts: [UInt8] = []
        while let frame = try source.next() { firsts.append(frame.pixels[0]) }
        #expect(firsts == [10, 20, 30])
        #expect(throws: VideoError.self) { try PNGSequenceReader(path: folder.file("g%03d.png")) }
    }

    @Test func pngFolderIsSortedNumericallyAndSizesMustMatch() throws {
        let folder = TemporaryFolder()
        for (name, v) in [("frame10.png", UInt8(3)), ("frame2.png", 2), ("frame1.png", 1)] {
            try RGBImage(width: 2, height: 2, red: v, green: v, blue: v).write(to: folder.file(name))
        }
        folder.write("notes.txt", Array("ignored".utf8))
        let reader = try PNGSequenceReader(path: folder.path)
        var order: [UInt8] = []
        while let frame = try reader.next() { order.append(frame.pixels[0]) }
        #expect(order == [1, 2, 3])
        try RGBImage(width: 3, height: 2, red: 0, green: 0, blue: 0).write(to: folder.file("frame11.png"))
        let mixed = try PNGSequenceReader(path: folder.path)
        #expect(throws: VideoError.self) { while try mixed.next() != nil {} }
        let empty = TemporaryFolder()
        #expect(throws: VideoError.self) { try PNGSequenceReader(path: empty.path) }
    }

    @Test func mediaKindClassifiesPaths() throws {
        let folder = TemporaryFolder()
        #expect(try MediaKind(path: "a/b.png") == .image)
        #expect(try MediaKind(path: "clip.Y4M") == .y4m)
        #expect(try MediaKind(path: "frames/%04d.png") == .pngSequence)
        #expect(try MediaKind(path: "out/") == .pngSequence)
        #expect(try MediaKind(path: folder.path) == .pngSequence)
        #expect(try MediaKind(path: "clip.mp4") == .ffmpegVideo)
        #expect(throws: VideoError.self) { try MediaKind(path: "frames/%s.png") }
    }
}
