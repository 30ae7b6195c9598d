import SparrowRuntime

/// Person segmentation with MediaPipe's selfie segmentation models (`selfie_segmentation.tflite`,
/// 256×256, and `selfie_segmentation_landscape.tflite`, 144×256 (H×W)), run by `TFLiteInterpreter`.
///
/// A frame is stretched to the model's input size and mapped to [0, 1] (as MediaPipe's
/// selfie_segmentation_cpu graph does); the model's one-channel output is the person probability,
/// resized back to the frame's size with bilinear interpolation.
public final class SelfieSegmenter: ImageSegmenter {
    /// The two published models.
    public enum Variant: String, CaseIterable, Sendable {
        case selfie, landscape

        /// The weights-manifest id of the model file.
        public var manifestID: String { self == .selfie ? "selfie-segmentation" : "selfie-segmentation-landscape" }
    }

    public let interpreter: TFLiteInterpreter
    /// Model input size.
    public let inputWidth: Int, inputHeight: Int
    /// The Skip-Conv executor when the segmenter runs video with Skip-Convolutions.
    public let skipConvolution: SkipConvolutionExecutor?
    /// What the last frame cost under Skip-Conv (nil when running densely).
    public private(set) var lastFrameStats: SkipConvolutionFrameStats?

    /// The encoder activation FrameExit pools into per-frame features: [16, 16, 32], the end of the
    /// selfie model's encoder (the input of its decoder's first upsampling branch).
    public static let encoderFeatureTensor = "add_4__xeno_compat__1"

    /// Loads a selfie segmentation `.tflite`.
    /// - Parameters:
    ///   - skipConvolution: run frames through a Skip-Conv executor with these options (video).
    ///   - keepingEncoderFeatures: keep `encoderFeatureTensor` readable for `encoderFeatures()`.
    public init(modelPath: String, context: ExecutionContext, skipConvolution skipOptions: SkipConvolutionOptions? = nil,
                keepingEncoderFeatures: Bool = false) throws {
        let model = try TFLiteModel(path: modelPath)
        interpreter = try TFLiteInterpreter(
            model: model, context: context, preserving: keepingEncoderFeatures ? [Self.encoderFeatureTensor] : [],
            keepingEveryTensor: skipOptions != nil)
        let input = interpreter.shapes[interpreter.inputIndices[0]]
        let output = interpreter.shapes[interpreter.outputIndices[0]]
        guard interpreter.inputIndices.count == 1, input.channels == 3, output.channels == 1,
              output.height == input.height, output.width == input.width else {
            throw TFLiteInterpreterError.invalidGraph(
                "\(modelPath) is not a selfie segmentation model (input \(input), output \(output); expected H×W×3 → H×W×1)")
        }
        inputWidth = input.width
        inputHeight = input.height
        let interpreter = self.interpreter
        skipConvolution = try skipOptions.map { try SkipConvolutionExecutor(interpreter: interpreter, options: $0) }
    }

    /// Writes `frame` into the interpreter's input (stretched, [0, 1]).
    public func setInput(_ frame: RGBImage) {
        ImagePreprocessing.resample(frame, width: inputWidth, height: inputHeight, scale: 1 / 255, offset: 0,
                                    into: interpreter.input().baseAddress!)
    }

    /// Runs the model on the current input (through Skip-Conv when enabled).
    public func run() {
        if let skipConvolution {
            lastFrameStats = skipConvolution.run()
        } else {
            interpreter.invoke()
        }
    }

    /// The probability mask at the model's resolution, after `run()`.
    public func modelMask() -> SegmentationMask {
        SegmentationMask(width: inputWidth, height: inputHeight, values: Array(interpreter.output()))
    }

    /// Person probability per pixel, at the frame's size.
    public func segment(_ frame: RGBImage) throws -> SegmentationMask {
        setInput(frame)
        run()
        return modelMask().resized(width: frame.width, height: frame.height)
    }

    /// Per-channel means then per-channel maxima of `encoderFeatureTensor` after `run()` (64 floats);
    /// needs `keepingEncoderFeatures` (or Skip-Conv, which keeps every tensor).
    public func encoderFeatures() throws -> [Float] {
        guard let index = interpreter.tensorIndex(named: Self.encoderFeatureTensor), interpreter.pointer(index) != nil,
              interpreter.keepsEveryTensor || interpreter.isPreserved(index) else {
            throw TFLiteInterpreterError.invalidGraph(
                "encoder features need the tensor \(Self.encoderFeatureTensor) kept: load with keepingEncoderFeatures: true")
        }
        let shape = interpreter.shapes[index], values = interpreter.tensor(index)
        var mean = [Float](repeating: 0, count: shape.channels), maximum = [Float](repeating: -.infinity, count: shape.channels)
        for p in 0..<shape.pixelCount {
            for c in 0..<shape.channels {
                let v = values[p * shape.channels + c]
                mean[c] += v
                maximum[c] = max(maximum[c], v)
            }
        }
        return mean.map { $0 / Float(shape.pixelCount) } + maximum
    }

    /// Dense MACs of the steps up to the encoder feature tensor (the FrameExit backbone's cost per frame).
    public var encoderMACs: Int {
        guard let index = interpreter.tensorIndex(named: Self.encoderFeatureTensor),
              let last = interpreter.steps.lastIndex(where: { $0.output == index }) else { return interpreter.macsPerInvoke }
        return interpreter.steps[...last].reduce(0) { $0 + $1.macs }
    }
}
