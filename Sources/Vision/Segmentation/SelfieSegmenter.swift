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

    /// Loads a selfie segmentation `.tflite`.
    /// - Parameter preserving: intermediate tensors to keep readable (e.g. `encoderFeatureTensor`).
    public init(modelPath: String, context: ExecutionContext, preserving: Set<String> = []) throws {
        let model = try TFLiteModel(path: modelPath)
        interpreter = try TFLiteInterpreter(model: model, context: context, preserving: preserving)
        let input = interpreter.shapes[interpreter.inputIndices[0]]
        let output = interpreter.shapes[interpreter.outputIndices[0]]
        guard interpreter.inputIndices.count == 1, input.channels == 3, output.channels == 1,
              output.height == input.height, output.width == input.width else {
            throw TFLiteInterpreterError.invalidGraph(
                "\(modelPath) is not a selfie segmentation model (input \(input), output \(output); expected H×W×3 → H×W×1)")
        }
        inputWidth = input.width
        inputHeight = input.height
    }

    /// Writes `frame` into the interpreter's input (stretched, [0, 1]).
    public func setInput(_ frame: RGBImage) {
        ImagePreprocessing.resample(frame, width: inputWidth, height: inputHeight, scale: 1 / 255, offset: 0,
                                    into: interpreter.input().baseAddress!)
    }

    /// The probability mask at the model's resolution for the current input.
    public func modelMask() -> SegmentationMask {
        SegmentationMask(width: inputWidth, height: inputHeight, values: Array(interpreter.output()))
    }

    /// Person probability per pixel, at the frame's size.
    public func segment(_ frame: RGBImage) throws -> SegmentationMask {
        setInput(frame)
        interpreter.invoke()
        return modelMask().resized(width: frame.width, height: frame.height)
    }
}
