import Foundation
import SparrowRuntime
import Testing
@testable import SparrowVision

/// Sparrow's TFLite interpreter against LiteRT 2.3.0 (XNNPACK, 1 thread) on the committed goldens:
/// every output tensor of every case, from the identical model-sized input pixels.
@Suite struct TFLiteInterpreterTests {
    /// Probabilities in [0, 1] (sigmoid outputs): LiteRT and Sparrow sum in different orders (and
    /// XNNPACK may fuse differently), and the golden masks are stored as float16 (≤ 2⁻¹¹ rounding).
    static let probabilityTolerance: Float = 2e-3
    /// Raw regressor / landmark outputs in input-pixel units (up to ±200): relative to max(1, |value|).
    static let coordinateRelativeTolerance: Float = 1e-3

    static let goldens: [VisionGolden] = (try? loadGoldens()) ?? []

    /// Runs `golden`'s model on its input and returns every output, named as in the golden.
    static func run(_ golden: VisionGolden, threads: Int = 1) throws -> [String: [Float]] {
        let path = try #require(golden.storedModelPath(), "\(golden.model) is not fetched: run Scripts/fetch-models.sh")
        let interpreter = try TFLiteInterpreter(model: try TFLiteModel(path: path), context: ExecutionContext(threadCount: threads))
        let png = try PNGImage(contentsOf: golden.inputPath)
        try #require(png.layout == .rgb, "\(golden.input) must be an RGB PNG")
        let input = interpreter.input()
        try #require(input.count == png.pixels.count)
        for i in 0..<input.count {
            input[i] = Float(png.pixels[i]) * golden.normalization.scale + golden.normalization.offset
        }
        interpreter.invoke()
        var outputs: [String: [Float]] = [:]
        for index in interpreter.outputIndices {
            outputs[interpreter.tensorNames[index]] = Array(interpreter.tensor(index))
        }
        return outputs
    }

    @Test(arguments: goldens.map(\.name))
    func outputsMatchLiteRT(_ name: String) throws {
        let golden = try #require(Self.goldens.first { $0.name == name })
        let outputs = try Self.run(golden)
        for expected in golden.outputs {
            let reference = try golden.values(of: expected)
            let actual = try #require(outputs[expected.name], "Sparrow produced no output named \(expected.name)")
            try #require(actual.count == reference.count)
            var worst: Float = 0
            for (a, r) in zip(actual, reference) {
                let error = abs(a - r)
                let allowed = golden.model.hasPrefix("selfie") ? Self.probabilityTolerance
                    : max(Self.probabilityTolerance, Self.coordinateRelativeTolerance * max(1, abs(r)))
                worst = max(worst, error / allowed)
            }
            #expect(worst <= 1, "\(name) \(expected.name): worst error is \(worst)× the tolerance")
        }
    }

    @Test func twoThreadsGiveTheOneThreadResult() throws {
        let golden = try #require(Self.goldens.first { $0.model == "selfie-segmentation" })
        let one = try Self.run(golden, threads: 1), two = try Self.run(golden, threads: 2)
        #expect(one == two)
    }

    @Test func memoryPlanReusesActivationBuffers() throws {
        let golden = try #require(Self.goldens.first { $0.model == "selfie-segmentation" })
        let path = try #require(golden.storedModelPath(), "run Scripts/fetch-models.sh")
        let model = try TFLiteModel(path: path)
        let planned = try TFLiteInterpreter(model: model, context: ExecutionContext(threadCount: 1))
        let everything = try TFLiteInterpreter(model: model, context: ExecutionContext(threadCount: 1), keepingEveryTensor: true)
        // Every activation of the selfie model, kept, is ≈ 20 MB; the plan needs a few of the largest at once.
        #expect(planned.arenaBytes * 4 < everything.arenaBytes)
        #expect(planned.arenaBytes >= 3 * 128 * 128 * 16 * 4)
    }

    @Test func unsupportedOperatorsAreNamed() {
        let error = TFLiteInterpreterError.unsupportedOperators(["GATHER", "SPLIT"])
        #expect(error.description.contains("GATHER, SPLIT"))
        #expect(error.description.contains("CONV_2D"))
    }
}
