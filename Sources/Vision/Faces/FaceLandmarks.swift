import Foundation

/// The 468 face-mesh landmarks of one face (MediaPipe's face_landmark.tflite) in image coordinates.
///
/// The pipeline around the model, all pure functions: `region(for:imageWidth:imageHeight:)` turns a
/// detection into the rotated square the model sees, `inputRGB8`/`inputTensor` crop it to 192×192,
/// and `init(landmarks:presenceLogit:region:imageWidth:imageHeight:)` maps the model's outputs back.
public struct FaceLandmarks: Equatable, Sendable {
    /// Landmarks per face.
    public static let count = 468
    /// Side of the model's square input in pixels.
    public static let inputSize = 192
    /// Presence probability from which a face counts as present (face_landmark_cpu.pbtxt's
    /// ThresholdingCalculator).
    public static let presenceThreshold: Float = 0.5

    /// (x, y, z) per landmark: x and y in 0…1 of the image, z (depth, smaller is nearer) in the
    /// same units as x — MediaPipe's NormalizedLandmark convention.
    public var points: [SIMD3<Float>]
    /// Probability that the crop shows a face: sigmoid of the model's 'conv2d_31' logit.
    public var presence: Float
    public let imageWidth: Int
    public let imageHeight: Int

    /// Whether `presence` reaches `presenceThreshold` (MediaPipe drops the landmarks otherwise).
    public var isFacePresent: Bool { presence >= Self.presenceThreshold }

    /// The landmarks in image pixels: x, y in pixels, z in pixels at the x scale.
    public var pixelPoints: [SIMD3<Float>] {
        let scale = SIMD3(Float(imageWidth), Float(imageHeight), Float(imageWidth))
        return points.map { $0 * scale }
    }

    /// The region of the image the landmark model looks at for `detection` (given in 0…1 of the
    /// image): the detection box centred as is, rotated so the line from the right eye to the left
    /// eye is horizontal, squared on its longer side in pixels and enlarged 1.5×.
    ///
    /// Matches MediaPipe's face_detection_front_detection_to_roi.pbtxt: DetectionsToRectsCalculator
    /// (rotation from keypoints 0 → 1, target angle 0; detections_to_rects_calculator.cc) and
    /// RectTransformationCalculator (scale 1.5, square_long; rect_transformation_calculator.cc).
    public static func region(for detection: FaceDetection, imageWidth: Int, imageHeight: Int) -> NormalizedRect {
        let w = Float(imageWidth), h = Float(imageHeight)
        let start = detection[.rightEye], end = detection[.leftEye]
        let angle = -atan2(-(end.y - start.y) * h, (end.x - start.x) * w)   // target angle 0
        let longSide = max(detection.width * w, detection.height * h)
        let scale: Float = 1.5
        return NormalizedRect(xCenter: detection.xMin + detection.width / 2,
                              yCenter: detection.yMin + detection.height / 2,
                              width: longSide / w * scale, height: longSide / h * scale,
                              rotation: normalizedRadians(angle))
    }

    /// The model's input as RGB8: `region` of the image resampled to 192×192, edge pixels repeated
    /// outside the image (ImageToTensorCalculator's default border). See `RotatedCrop.crop`.
    /// - Parameter pixels: `width`×`height`×3 bytes, rows top to bottom.
    public static func inputRGB8(width: Int, height: Int, pixels: UnsafeBufferPointer<UInt8>,
                                 region: NormalizedRect) -> [UInt8] {
        RotatedCrop.crop(width: width, height: height, pixels: pixels, region: region,
                         outputWidth: inputSize, outputHeight: inputSize, border: .replicate)
    }

    /// The model's input tensor, [1, 192, 192, 3] floats in 0…1.
    public static func inputTensor(width: Int, height: Int, pixels: UnsafeBufferPointer<UInt8>,
                                   region: NormalizedRect) -> [Float] {
        RotatedCrop.tensor(fromRGB8: inputRGB8(width: width, height: height, pixels: pixels, region: region),
                           range: 0...1)
    }

    /// Maps the model's outputs for the crop of `region` back to the image.
    ///
    /// Landmark (x, y) in input pixels goes to `region.imagePoint(x/192, y/192)` — the exact inverse
    /// of the crop; z is divided by 192 and scaled by the region's normalized width
    /// (tensors_to_landmarks_calculator.cc, landmark_projection_calculator.cc). For square images
    /// this equals MediaPipe's NORM_RECT projection; for other images MediaPipe rotates in
    /// normalized coordinates (its own comment says that path is only right for square ROIs) and
    /// this uses the pixel-exact inverse instead.
    /// - Parameters:
    ///   - landmarks: the 'conv2d_21' output, [1, 1, 1, 1404] = 468 × (x, y, z) in input pixels.
    ///   - presenceLogit: the 'conv2d_31' output, [1, 1, 1, 1].
    public init(landmarks: [Float], presenceLogit: Float, region: NormalizedRect,
                imageWidth: Int, imageHeight: Int) throws {
        guard landmarks.count == Self.count * 3 else {
            throw FaceModelOutputError(description: "face landmark output has \(landmarks.count) values, expected "
                + "\(Self.count) × 3; is this face_landmark.tflite (not the attention variant)?")
        }
        precondition(imageWidth > 0 && imageHeight > 0, "FaceLandmarks needs a positive image size")
        let size = Float(Self.inputSize)
        var points: [SIMD3<Float>] = []
        points.reserveCapacity(Self.count)
        for i in 0..<Self.count {
            let p = region.imagePoint(u: landmarks[3 * i] / size, v: landmarks[3 * i + 1] / size,
                                      imageWidth: imageWidth, imageHeight: imageHeight)
            points.append(SIMD3(p.x / Float(imageWidth), p.y / Float(imageHeight),
                                landmarks[3 * i + 2] / size * region.width))
        }
        self.points = points
        self.presence = 1 / (1 + exp(-presenceLogit))
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
    }

    /// `angle` wrapped into −π…π (MediaPipe's NormalizeRadians).
    static func normalizedRadians(_ angle: Float) -> Float {
        angle - 2 * Float.pi * ((angle + Float.pi) / (2 * Float.pi)).rounded(.down)
    }
}
