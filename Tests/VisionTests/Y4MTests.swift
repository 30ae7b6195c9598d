import Foundation
import SparrowRuntime
import Testing
@testable import SparrowVision

/// Tolerances for Y4M conversions, in 8-bit levels.
private enum Y4MTolerance {
    /// RGB → Y′CbCr → RGB at 4:4:4: each of three byte roundings moves a channel by at most ~1.2 levels.
    static let roundTrip444 = 2
    /// The same at 4:2:0 when every 2×2 block has one color (chroma averaging is then exact).
    static let roundTrip420BlockConstant = 2
    /// A decoded hand-computed value vs the exact BT.601 result (rounding only).
    static let handComputed = 0
}

private func y4mBytes(_ header: String, frames: [[UInt8]]) -> [UInt8] {
    var bytes = Array((header + "\n").utf8)
    for f in frames { bytes += Array("FRAME\n".utf8) + f }
    return bytes
}
@Suite struct Y4MTests {
    @Test func y4m444RoundTripIsWithinRounding() throws {
        let folder = TemporaryFolder()
        let frames = try (0..<3).map { try RGBImage(width: 5, height: 3, pixels: TestFrames.noise(count: 45, seed: UInt64($0 + 1))) }
        for range in [Y4M.ColorRange.full, .limited] {
            let path = folder.file("rt-\(range).y4m")
            let writer = try Y4MWriter(path: path, width: 5, height: 3, frameRate: FrameRate(numerator: 30000, denominator: 1001)!, chroma: .c444, range: range)
            for f in frames { try writer.write(f) }
            try writer.finish()
            let reader = try Y4MReader(path: path)
            #expect(reader.width == 5 && reader.height == 3)
            #expect(reader.frameRate == FrameRate(numerator: 30000, denominator: 1001))
            #expect(reader.range == range)
            #expect(reader.frameCount == 3)
            for f in frames {
                let back = try #require(try reader.next())
                // Limited range has fewer levels, so saturated noise can clip by one more level.
                #expect(maximumDifference(back.pixels, f.pixels) <= Y4MTolerance.roundTrip444 + (range == .limited ? 1 : 0))
            }
            #expect(try reader.next() == nil)
        }
    }

    @Test func y4m420RoundTripOfBlockConstantImageIsWithinRounding() throws {
        let folder = TemporaryFolder()
        // 6x4 image, one random color per 2x2 block.
        let colors = TestFrames.noise(count: 3 * 3 * 2, seed: 7)
        var pixels = [UInt8](repeating: 0, count: 6 * 4 * 3)
        for y in 0..<4 { for x in 0..<6 { for c in 0..<3 { pixels[(y * 6 + x) * 3 + c] = colors[((y / 2) * 3 + x / 2) * 3 + c] } } }
        let image = try RGBImage(width: 6, height: 4, pixels: pixels)
        let path = folder.file("420.y4m")
        let writer = try Y4MWriter(path: path, width: 6, height: 4, frameRate: .fallback, range: .full)
        try writer.write(image)
        try writer.finish()
        let reader = try Y4MReader(path: path)
        #expect(reader.chroma == .c420jpeg)
        let back = try #require(try reader.next())
        #expect(maximumDifference(back.pixels, image.pixels) <= Y4MTolerance.roundTrip420BlockConstant)
    }

    @Test func y4mOddSized420FileHasCeilingChromaPlanes() throws {
        let folder = TemporaryFolder()
        let path = folder.file("odd.y4m")
        let writer = try Y4MWriter(path: path, width: 5, height: 3, frameRate: .fallback)
        try writer.write(try RGBImage(width: 5, height: 3, red: 10, green: 200, blue: 30))
        try writer.finish()
        let data = try #require(FileManager.default.contents(atPath: path))
        let headerLength = try #require(data.firstIndex(of: 0x0A)) + 1
        // Y 5*3 + Cb 3*2 + Cr 3*2, after "FRAME\n".
        #expect(data.count == headerLength + 6 + 15 + 12)
        let reader = try Y4MReader(path: path)
        let back = try #require(try reader.next())
        #expect(maximumDifference(back.pixels, try RGBImage(width: 5, height: 3, red: 10, green: 200, blue: 30).pixels) <= Y4MTolerance.roundTrip444)
    }

    @Test func y4mDecodesHandComputedBT601Values() throws {
        let folder = TemporaryFolder()
        // 4:4:4, 2x2: Y, Cb, Cr planes. Limited range (no XCOLORRANGE: the default).
        // (100, 150, 90) limited: R = 1.164384·84 + 1.596027·(−38) = 37.16; G = 97.81 − 0.391762·22 − 0.812968·(−38) = 120.08;
        // B = 97.81 + 2.017232·22 = 142.19. White (235,128,128) → 255s, black (16,128,128) → 0s.
        let plain = y4mBytes("YUV4MPEG2 W2 H2 F25:1 Ip A1:1 C444", frames: [[235, 16, 100, 100, 128, 128, 150, 150, 128, 128, 90, 90]])
        let reader = try Y4MReader(path: folder.write("limited.y4m", plain))
        #expect(reader.range == .limited)
        let frame = try #require(try reader.next())
        #expect(frame.pixels == [255, 255, 255, 0, 0, 0, 37, 120, 142, 37, 120, 142])
        // Full range (100, 150, 90): R = 100 + 1.402·(−38) = 46.72; G = 100 − 0.344136·22 − 0.714136·(−38) = 119.57;
        // B = 100 + 1.772·22 = 138.98.
        let full = y4mBytes("YUV4MPEG2 W2 H2 F25:1 C420jpeg XCOLORRANGE=FULL", frames: [[100, 100, 100, 100, 150, 90]])
        let fullReader = try Y4MReader(path: folder.write("full.y4m", full))
        let fullFrame = try #require(try fullReader.next())
        #expect(fullFrame.pixels == Array(repeating: [UInt8]([47, 120, 139]), count: 4).flatMap { $0 })
        // Mono: gray levels, limited range 16…235 → 0…255.
        let mono = y4mBytes("YUV4MPEG2 W2 H1 F25:1 Cmono", frames: [[16, 235]])
        let monoFrame = try #require(try Y4MReader(path: folder.write("mono.y4m", mono)).next())
        #expect(monoFrame.pixels == [0, 0, 0, 255, 255, 255])
        _ = Y4MTolerance.handComputed
    }

    @Test func y4mEncodesHandComputedBT601Values() throws {
        let folder = TemporaryFolder()
        // Red limited: Y = 16 + 219·0.299 = 81.48, Cb = 128 − 224·0.299/1.772 = 90.20, Cr = 128 + 112 = 240.
        // Red full: Y = 76.245, Cb = 84.97, Cr = 255.5 (clamped to 255).
        // (10, 200, 30) limited: Y = 122.33, Cb = 81.50, Cr = 56.69.
        for (range, rgb, expected) in [(Y4M.ColorRange.limited, [UInt8](arrayLiteral: 255, 0, 0), [UInt8](arrayLiteral: 81, 90, 240)),
                                       (.full, [255, 0, 0], [76, 85, 255]),
                                       (.limited, [10, 200, 30], [122, 81, 57])] {
            let path = folder.file("enc-\(range)-\(rgb[1]).y4m")
            let writer = try Y4MWriter(path: path, width: 2, height: 2, frameRate: .fallback, chroma: .c420jpeg, range: range)
            try writer.write(try RGBImage(width: 2, height: 2, red: rgb[0], green: rgb[1], blue: rgb[2]))
            try writer.finish()
            let data = [UInt8](try #require(FileManager.default.contents(atPath: path)))
            let planes = Array(data.suffix(6))
            #expect(planes == [expected[0], expected[0], expected[0], expected[0], expected[1], expected[2]])
        }
    }

    @Test func y4mRejectsHostileHeadersAndTruncation() throws {
        let folder = TemporaryFolder()
        let goodFrame = [UInt8](repeating: 128, count: 6)  // 2x2 4:2:0
        let cases: [(String, [UInt8], String)] = [
            ("not-y4m", Array("RIFF....\n".utf8), "not a Y4M"),
            ("glued-magic", y4mBytes("YUV4MPEG2W2 H2", frames: [goodFrame]), "not a Y4M"),
            ("no-width", y4mBytes("YUV4MPEG2 H2 F25:1", frames: [goodFrame]), "W<width>"),
            ("zero-width", y4mBytes("YUV4MPEG2 W0 H2", frames: [goodFrame]), "W<width>"),
            ("huge", y4mBytes("YUV4MPEG2 W99999999 H99999999", frames: []), "W<width>"),
            ("negative", y4mBytes("YUV4MPEG2 W-2 H2", frames: []), "W<width>"),
            ("bad-rate", y4mBytes("YUV4MPEG2 W2 H2 F25:0", frames: []), "frame rate"),
            ("10-bit", y4mBytes("YUV4MPEG2 W2 H2 C420p10", frames: []), "unsupported chroma"),
            ("unknown-tag", y4mBytes("YUV4MPEG2 W2 H2 Q7", frames: []), "unknown header tag"),
            ("bad-range", y4mBytes("YUV4MPEG2 W2 H2 XCOLORRANGE=WIDE", frames: []), "color range"),
            ("no-newline", Array("YUV4MPEG2 W2 H2".utf8), "truncated"),
            ("long-header", Array(("YUV4MPEG2 W2 H2 X" + String(repeating: "a", count: 5000) + "\n").utf8), "longer than"),
        ]
        for (name, bytes, expected) in cases {
            let path = folder.write(name + ".y4m", bytes)
            do {
                _ = try Y4MReader(path: path)
                Issue.record("\(name): expected an error")
            } catch let error as VideoError {
                #expect(error.description.contains(expected), "\(name): \(error)")
            }
        }
        // Errors while reading frames.
        let frameCases: [(String, [UInt8], String)] = [
            ("cut-data", Array("YUV4MPEG2 W2 H2\nFRAME\n".utf8) + [1, 2, 3], "truncated: expected 6 bytes"),
            ("cut-frame-line", Array("YUV4MPEG2 W2 H2\nFRA".utf8), "truncated"),
            ("bad-frame-line", Array("YUV4MPEG2 W2 H2\nFRAMX\n".utf8) + goodFrame, "FRAME line"),
            ("second-cut", y4mBytes("YUV4MPEG2 W2 H2", frames: [goodFrame]) + Array("FRAME\n".utf8) + [0], "frame 1 is truncated"),
        ]
        for (name, bytes, expected) in frameCases {
            let reader = try Y4MReader(path: folder.write(name + ".y4m", bytes))
            do {
                while try reader.next() != nil {}
                Issue.record("\(name): expected an error")
            } catch let error as VideoError {
                #expect(error.description.contains(expected), "\(name): \(error)")
            }
        }
        #expect(throws: VideoError.self) { try Y4MReader(path: folder.file("missing.y4m")) }
    }

    @Test func y4mFrameTagsAreAcceptedAndCountIsUnknownThen() throws {
        let folder = TemporaryFolder()
        let bytes = Array("YUV4MPEG2 W2 H2 Ip\nFRAME Ixyz\n".utf8) + [UInt8](repeating: 128, count: 6)
        let reader = try Y4MReader(path: folder.write("tags.y4m", bytes))
        #expect(reader.frameCount == nil)
        #expect(try reader.next() != nil)
        #expect(try reader.next() == nil)
    }
}
