import Foundation
import SparrowRuntime
import Testing
@testable import SparrowVision

/// Naive box blur: each output byte is the rounded mean of the 2r+1 clamped neighbours along one
/// axis, horizontal pass then vertical pass, `passes` times. The oracle for the running-sum version.
private func naiveBoxBlur(_ pixels: [UInt8], width: Int, height: Int, radius: Int, passes: Int) -> [UInt8] {
    let window = 2 * radius + 1
    var a = pixels
    for _ in 0..<passes {
        var b = a
        for y in 0..<height { for x in 0..<width { for c in 0..<3 {
            var sum = 0
            for k in -radius...radius { sum += Int(a[(y * width + min(max(x + k, 0), width - 1)) * 3 + c]) }
            b[(y * width + x) * 3 + c] = UInt8((sum + window / 2) / window)
        } } }
        for y in 0..<height { for x in 0..<width { for c in 0..<3 {
            var sum = 0
            for k in -radius...radius { sum += Int(b[(min(max(y + k, 0), height - 1) * width + x) * 3 + c]) }
            a[(y * width + x) * 3 + c] = UInt8((sum + window / 2) / window)
        } } }
    }
    return a
}
@Suite struct CompositingTests {
    @Test func softMaskCompositeEqualsHandComputedValues() throws {
        // Pixels: frame (200, 100, 0) everywhere; mask 0.25, 1, 0, 0.5; background blue.
        let frame = try RGBImage(width: 4, height: 1, red: 200, green: 100, blue: 0)
        let mask = SegmentationMask(width: 4, height: 1, values: [0.25, 1, 0, 0.5])
        let out = try Compositing.replaceBackground(frame, mask: mask, with: .color(red: 0, green: 0, blue: 255), context: ExecutionContext(threadCount: 1))
        // 0.25: 0.25·200 = 50, 0.25·100 = 25, 0.75·255 = 191.25. 0.5: 100, 50, 127.5 → 128.
        #expect(out.pixels == [50, 25, 191, 200, 100, 0, 0, 0, 255, 100, 50, 128])
    }

    @Test func overlayTintsForegroundByOpacityTimesMask() throws {
        let frame = try RGBImage(width: 3, height: 1, red: 100, green: 100, blue: 100)
        let mask = SegmentationMask(width: 3, height: 1, values: [1, 0, 0.5])
        let out = try Compositing.overlay(frame, mask: mask)
        // α = 0.5·1: 100 + 0.5·(0 − 100) = 50, 100 + 0.5·155 = 177.5 → 178. α = 0.25: 75, 138.75 → 139.
        #expect(out.pixels == [50, 178, 50, 100, 100, 100, 75, 139, 75])
    }

    @Test func blurOfConstantImageIsConstant() throws {
        let image = try RGBImage(width: 7, height: 5, red: 13, green: 200, blue: 77)
        for radius in [1, 3, 20] {
            #expect(Compositing.blurred(image, radius: radius, context: ExecutionContext(threadCount: 2)) == image)
        }
    }

    @Test func runningSumBoxBlurMatchesNaiveReference() throws {
        for (width, height, radius) in [(13, 9, 2), (13, 9, 6), (40, 3, 1), (1, 5, 3)] {
            let pixels = TestFrames.noise(count: width * height * 3, seed: UInt64(width * 100 + radius))
            let image = try RGBImage(width: width, height: height, pixels: pixels)
            let expected = naiveBoxBlur(pixels, width: width, height: height, radius: radius, passes: Compositing.defaultBlurPasses)
            for threads in [1, 2] {
                let out = Compositing.blurred(image, radius: radius, context: ExecutionContext(threadCount: threads))
                #expect(out.pixels == expected, "\(width)x\(height) r\(radius) threads \(threads)")
            }
        }
    }

    @Test func blurredBackgroundIsSoftCompositeOverBlurredFrame() throws {
        let frame = try RGBImage(width: 9, height: 6, pixels: TestFrames.noise(count: 9 * 6 * 3, seed: 3))
        let mask = SegmentationMask(width: 9, height: 6, values: (0..<54).map { Float($0 % 5) / 4 })
        let context = ExecutionContext(threadCount: 1)
        let blurred = Compositing.blurred(frame, radius: 2, context: context)
        let viaBlur = try Compositing.replaceBackground(frame, mask: mask, with: .blur(radius: 2), context: context)
        let viaImage = try Compositing.replaceBackground(frame, mask: mask, with: .image(blurred), context: context)
        #expect(viaBlur == viaImage)
    }

    @Test func maskSizeAndBackgroundSizeAreFittedToFrame() throws {
        let frame = try RGBImage(width: 6, height: 4, red: 255, green: 255, blue: 255)
        let background = try RGBImage(width: 3, height: 2, red: 0, green: 0, blue: 0)
        let out = try Compositing.replaceBackground(frame, mask: SegmentationMask(width: 2, height: 2, constant: 0),
                                                    with: .image(background), context: ExecutionContext(threadCount: 1))
        #expect(out == (try RGBImage(width: 6, height: 4, red: 0, green: 0, blue: 0)))
    }

    @Test func backgroundArgumentsParse() throws {
        let folder = TemporaryFolder()
        #expect(try Background(parsing: "blur") == .blur(radius: Background.defaultBlurRadius))
        #expect(try Background(parsing: "blur:5") == .blur(radius: 5))
        #expect(try Background(parsing: "#00ff00") == .color(red: 0, green: 255, blue: 0))
        #expect(try Background(parsing: "#0F8") == .color(red: 0, green: 255, blue: 136))
        #expect(try Background(parsing: "Green") == .color(red: 0, green: 255, blue: 0))
        let picture = try RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6])
        try picture.write(to: folder.file("bg.png"))
        #expect(try Background(parsing: folder.file("bg.png")) == .image(picture))
        for bad in ["#12345z", "#1234", "blur:0", "blur:x", "chartreuse-ish", folder.file("missing.png")] {
            #expect(throws: CompositingError.self, "\(bad)") { try Background(parsing: bad) }
        }
    }

    @Test func maskGrayImageRoundsAndClamps() throws {
        let mask = SegmentationMask(width: 6, height: 1, values: [0, 0.5, 1, 1.7, -1, .nan])
        let gray = try mask.grayImage()
        #expect(gray.layout == .gray)
        #expect(gray.pixels == [0, 128, 255, 255, 0, 0])
        #expect(try mask.rgbImage().pixels == [0, 0, 0, 128, 128, 128, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0])
    }

    @Test func rgbImageConvertsPNGLayoutsAndChecksSizes() throws {
        let gray = try PNGImage(width: 2, height: 1, layout: .gray, pixels: [7, 9])
        #expect(RGBImage(gray).pixels == [7, 7, 7, 9, 9, 9])
        let rgba = try PNGImage(width: 1, height: 1, layout: .rgba, pixels: [1, 2, 3, 4])
        #expect(RGBImage(rgba).pixels == [1, 2, 3])
        #expect(throws: PNGError.self) { try RGBImage(width: 2, height: 2, pixels: [0]) }
        #expect(throws: PNGError.self) { try RGBImage(width: 0, height: 2, pixels: []) }
        #expect(throws: PNGError.self) { try RGBImage(width: 20000, height: 1, pixels: [UInt8](repeating: 0, count: 60000)) }
    }
}
