import Foundation
import SparrowRuntime
import Testing
@testable import SparrowVision

/// Skip-Conv invariants on the real selfie model and consecutive real video frames (vtest.avi frames
/// 100 and 101, cup.mp4 60 and 61 from the goldens): the dense interpreter is the oracle.
@Suite struct SkipConvolutionTests {
    static func modelPath() throws -> String {
        let golden = try #require(try loadGoldens().first { $0.model == "selfie-segmentation" })
        return try #require(golden.storedModelPath(), "selfie-segmentation is not fetched: run Scripts/fetch-models.sh")
    }

    /// Model inputs ([0, 1] floats) of consecutive frames.
    static func frames(_ names: [String]) throws -> [[Float]] {
        try names.map { name in
            let png = try PNGImage(contentsOf: VisionFixtures.directory + "/\(name)-256x256.png")
            return png.pixels.map { Float($0) / 255 }
        }
    }

    /// Dense outputs of `frames`, and the Skip-Conv executor's with `options`, with per-frame stats.
    static func compare(_ frames: [[Float]], options: SkipConvolutionOptions, threads: Int = 1)
        throws -> (dense: [[Float]], skip: [[Float]], stats: [SkipConvolutionFrameStats]) {
        let model = try TFLiteModel(path: try modelPath())
        let dense = try TFLiteInterpreter(model: model, context: ExecutionContext(threadCount: threads))
        let skip = try SkipConvolutionExecutor(
            interpreter: try TFLiteInterpreter(model: model, context: ExecutionContext(threadCount: threads), keepingEveryTensor: true),
            options: options)
        var d: [[Float]] = [], s: [[Float]] = [], stats: [SkipConvolutionFrameStats] = []
        for frame in frames {
            _ = dense.input().initialize(from: frame)
            dense.invoke()
            d.append(Array(dense.output()))
            _ = skip.interpreter.input().initialize(from: frame)
            stats.append(skip.run())
            s.append(Array(skip.interpreter.output()))
        }
        return (d, s, stats)
    }

    /// Gather → GEMM → scatter on every layer (no dense fallback), depthwise layers gated or exact.
    @Test(arguments: SkipConvolutionOptions.blockSizes, [false, true])
    func skipConvWithZeroThresholdEqualsDenseConv(blockSize: Int, gatesDepthwise: Bool) throws {
        let frames = try Self.frames(["vtest-100", "vtest-101", "cup-60", "cup-61"])
        let options = SkipConvolutionOptions(threshold: 0, blockSize: blockSize, gatesDepthwise: gatesDepthwise, denseFallback: 1)
        let (dense, skip, stats) = try Self.compare(frames, options: options)
        for (i, (d, s)) in zip(dense, skip).enumerated() {
            #expect(d == s, "frame \(i): skip-conv at ε = 0 differs from dense")
        }
        // vtest 100 → 101 (static camera) changes little; the cut to cup changes everything.
        #expect(stats[1].executedMACs < stats[1].denseMACs)
        #expect(stats.allSatisfy { $0.executedMACs <= $0.denseMACs })
    }

    /// With the default dense fallback, crowded layers run densely: still the dense result exactly.
    @Test func denseFallbackKeepsTheDenseResult() throws {
        let frames = try Self.frames(["vtest-100", "vtest-101", "cup-60"])
        let (dense, skip, _) = try Self.compare(frames, options: SkipConvolutionOptions(threshold: 0, blockSize: 4))
        for (i, (d, s)) in zip(dense, skip).enumerated() {
            #expect(d == s, "frame \(i): skip-conv with dense fallback differs from dense")
        }
    }

    @Test func staticVideoCostsNoMACsAfterTheKeyframe() throws {
        let frame = try Self.frames(["vtest-100"])[0]
        let (dense, skip, stats) = try Self.compare([frame, frame, frame], options: SkipConvolutionOptions(threshold: 0.1, blockSize: 4))
        #expect(stats[0].isKeyframe && stats[0].executedMACs == stats[0].denseMACs)
        #expect(stats[1].executedMACs == 0 && stats[2].executedMACs == 0)
        #expect(skip[2] == dense[2])
    }

    @Test func keyframeEveryFrameEqualsDense() throws {
        let frames = try Self.frames(["vtest-100", "vtest-101", "box-100"])
        let (dense, skip, stats) = try Self.compare(frames, options: SkipConvolutionOptions(threshold: 0.5, blockSize: 2, keyframeInterval: 1))
        #expect(dense == skip)
        #expect(stats.allSatisfy { $0.isKeyframe && $0.executedMACs == $0.denseMACs })
    }

    @Test func largerThresholdsExecuteFewerMACsAndStayClose() throws {
        let frames = try Self.frames(["vtest-100", "vtest-101"])
        var previous = Int.max
        // One frame after the key frame, small thresholds keep the mask close (a loose bound: the
        // benchmark measures the real curve over whole videos).
        for threshold: Float in [0, 0.01, 0.05] {
            let (dense, skip, stats) = try Self.compare(frames, options: SkipConvolutionOptions(threshold: threshold, blockSize: 1))
            #expect(stats[1].executedMACs <= previous, "ε = \(threshold)")
            previous = stats[1].executedMACs
            let iou = SegmentationMask.intersectionOverUnion(
                SegmentationMask(width: 256, height: 256, values: dense[1]), SegmentationMask(width: 256, height: 256, values: skip[1]),
                threshold: 0.5)
            #expect(iou > 0.9, "ε = \(threshold): IoU \(iou)")
        }
    }

    @Test func twoThreadsGiveTheOneThreadResult() throws {
        let frames = try Self.frames(["vtest-100", "vtest-101"])
        let options = SkipConvolutionOptions(threshold: 0.05, blockSize: 2)
        let one = try Self.compare(frames, options: options, threads: 1), two = try Self.compare(frames, options: options, threads: 2)
        #expect(one.skip == two.skip)
        #expect(one.stats.map(\.executedMACs) == two.stats.map(\.executedMACs))
    }

    @Test func badOptionsAreRefused() throws {
        let model = try TFLiteModel(path: try Self.modelPath())
        let interpreter = try TFLiteInterpreter(model: model, context: ExecutionContext(threadCount: 1), keepingEveryTensor: true)
        #expect(throws: SkipConvolutionError.self) { try SkipConvolutionExecutor(interpreter: interpreter, options: .init(blockSize: 3)) }
        #expect(throws: SkipConvolutionError.self) { try SkipConvolutionExecutor(interpreter: interpreter, options: .init(threshold: -1)) }
        #expect(throws: SkipConvolutionError.self) {
            try SkipConvolutionExecutor(interpreter: interpreter, options: .init(keyframeInterval: 0))
        }
    }
}
