import SparrowRuntime

/// MediaPipe's short-range face detector end to end: letterbox to 128×128 in [−1, 1], the
/// `face_detection_short_range.tflite` model on Sparrow's interpreter, anchor decoding, weighted NMS,
/// and the letterbox removed again (matches mediapipe/modules/face_detection/face_detection_short_range_cpu).
public final class FaceDetector {
    public let interpreter: TFLiteInterpreter
    private let decoder = FaceDetectionDecoder.shortRange()

    public init(modelPath: String, context: ExecutionContext) throws {
        interpreter = try TFLiteInterpreter(model: try TFLiteModel(path: modelPath), context: context)
        guard interpreter.inputIndices.count == 1, interpreter.shapes[interpreter.inputIndices[0]] == FeatureMapShape(height: 128, width: 128, channels: 3),
              interpreter.outputIndices.count == 2 else {
            throw TFLiteInterpreterError.invalidGraph("\(modelPath) is not MediaPipe's short-range face detector (128×128×3 in, 2 outputs)")
        }
    }

    /// Faces in `image`, best first; boxes and keypoints in 0…1 of the image.
    public func detect(_ image: RGBImage) throws -> [FaceDetection] {
        let input = FaceDetectorInput(imageWidth: image.width, imageHeight: image.height)
        let tensor = image.pixels.withUnsafeBufferPointer { input.tensor(pixels: $0) }
        _ = interpreter.input().initialize(from: tensor)
        interpreter.invoke()
        let (regressors, scores) = (Array(interpreter.output(0)), Array(interpreter.output(1)))
        return try decoder.detections(regressors: regressors, classificators: scores).map(input.removeLetterbox(from:))
    }
}

/// MediaPipe's face landmark model end to end: the rotated, enlarged square around a detection,
/// cropped to 192×192 in [0, 1], `face_landmark.tflite` on Sparrow's interpreter, and the 468 points
/// mapped back to the image (matches mediapipe/modules/face_landmark/face_landmark_front_cpu).
public final class FaceLandmarker {
    public let interpreter: TFLiteInterpreter

    public init(modelPath: String, context: ExecutionContext) throws {
        interpreter = try TFLiteInterpreter(model: try TFLiteModel(path: modelPath), context: context)
        guard interpreter.inputIndices.count == 1, interpreter.shapes[interpreter.inputIndices[0]] == FeatureMapShape(height: 192, width: 192, channels: 3),
              interpreter.outputIndices.count == 2 else {
            throw TFLiteInterpreterError.invalidGraph("\(modelPath) is not MediaPipe's face landmark model (192×192×3 in, 2 outputs)")
        }
    }

    /// The 468 landmarks of the face `detection` found in `image`.
    public func landmarks(_ image: RGBImage, face detection: FaceDetection) throws -> FaceLandmarks {
        let region = FaceLandmarks.region(for: detection, imageWidth: image.width, imageHeight: image.height)
        let tensor = image.pixels.withUnsafeBufferPointer {
            FaceLandmarks.inputTensor(width: image.width, height: image.height, pixels: $0, region: region)
        }
        _ = interpreter.input().initialize(from: tensor)
        interpreter.invoke()
        return try FaceLandmarks(landmarks: Array(interpreter.output(0)), presenceLogit: interpreter.output(1)[0],
                                 region: region, imageWidth: image.width, imageHeight: image.height)
    }
}
