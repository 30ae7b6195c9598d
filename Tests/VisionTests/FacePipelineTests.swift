import Foundation
import SparrowRuntime
import Testing
@testable import SparrowVision

/// The face pipeline end to end on Sparrow's interpreter (not LiteRT's outputs) against MediaPipe
/// 0.10.14's own FaceDetection and FaceMesh results on the full astronaut image (faces.json).
@Suite struct FacePipelineTests {
    /// Sparrow's model outputs differ from LiteRT's by ≤ 1e-3 relative (TFLiteInterpreterTests), so
    /// the end-to-end bounds are looser than FaceTolerance's same-input ones.
    static let boxTolerance: Float = 2e-3
    static let keypointPixels: Float = 1.0
    static let landmarkPixels: Float = 1.0

    static func model(_ id: String, _ file: String) throws -> String {
        let path = ModelStore.path(id: id, fileName: file)
        try #require(FileManager.default.fileExists(atPath: path), "\(id) is not fetched: run Scripts/fetch-models.sh")
        return path
    }

    @Test func detectorAndLandmarkerReproduceMediaPipeOnTheAstronaut() throws {
        let golden = try FaceGolden.load()
        let imagePath = try #require(FaceGolden.astronautPath, "astronaut-image is not fetched: run Scripts/fetch-models.sh")
        let image = try RGBImage(contentsOf: imagePath)
        let context = ExecutionContext(threadCount: 1)
        let detector = try FaceDetector(modelPath: try Self.model("face-detection-short-range", "face_detection_short_range.tflite"),
                                        context: context)
        let faces = try detector.detect(image)
        try #require(faces.count == golden.mediapipe.detections.count)
        let (face, theirs) = (faces[0], golden.mediapipe.detections[0])
        let box = [face.xMin, face.yMin, face.width, face.height]
        #expect(zip(box, theirs.box).allSatisfy { abs($0 - $1) < Self.boxTolerance }, "\(box) vs \(theirs.box)")
        for (k, point) in face.keypoints.enumerated() {
            let dx = (point.x - theirs.keypoints[k][0]) * Float(image.width), dy = (point.y - theirs.keypoints[k][1]) * Float(image.height)
            #expect((dx * dx + dy * dy).squareRoot() < Self.keypointPixels, "keypoint \(k)")
        }

        let landmarker = try FaceLandmarker(modelPath: try Self.model("face-landmark", "face_landmark.tflite"), context: context)
        let mesh = try landmarker.landmarks(image, face: face)
        #expect(mesh.isFacePresent)
        let expected = try #require(golden.mediapipe.landmarks.first)
        var worst: Float = 0
        for (ours, point) in zip(mesh.points, expected) {
            let dx = (ours.x - point[0]) * Float(image.width), dy = (ours.y - point[1]) * Float(image.height)
            worst = max(worst, (dx * dx + dy * dy).squareRoot())
        }
        #expect(worst < Self.landmarkPixels, "worst landmark distance \(worst) px")
    }
}
