import Foundation
import SparrowRuntime
import Testing
@testable import SparrowVision

/// Tolerances of the face pipeline against its oracles (Fixtures/faces/faces.json, written by
/// Scripts/make-face-goldens.py from LiteRT 2.3.0 outputs and MediaPipe 0.10.14's own results).
enum FaceTolerance {
    /// Box edges, 0…1 of the image, vs MediaPipe's FaceDetection on the same LiteRT outputs
    /// (measured 7e-8: same float math in another order).
    static let detectionBox: Float = 1e-4
    /// Detection keypoints in pixels of the 512×512 image vs MediaPipe.
    static let keypointPixels: Float = 0.05
    /// Score vs MediaPipe (sigmoid of the same logit).
    static let score: Float = 1e-5
    /// Landmark ROI centre/size (0…1) and rotation (radians) vs the numpy re-implementation.
    static let region: Float = 1e-5
    /// Landmark x, y in pixels vs MediaPipe's FaceMesh (numpy projection measured 0.0008 px).
    static let landmarkPixels: Float = 0.02
    /// Landmark z (normalized like x) vs MediaPipe.
    static let landmarkDepth: Float = 1e-5
    /// Crops: RGB8 steps vs the numpy mirror (float32 in the same order; libm sin/cos may differ
    /// by an ulp and flip a 1/32-pixel rounding).
    static let cropLevels = 1
    /// Float round-off of hand-computed values.
    static let exact: Float = 1e-6
}

/// faces.json, the parts the tests read.
struct FaceGolden: Decodable {
    struct Detection: Decodable {
        let score: Float
        let box: [Float]              // xmin, ymin, width, height
        let keypoints: [[Float]]      // 6 × (x, y)
    }
    struct Region: Decodable { let xCenter, yCenter, width, height, rotation: Float }
    struct Reference: Decodable {
        let detections: [Detection]
        let landmarkRegion: Region
        let presenceLogit: Float
        let landmarks: [[Float]]
    }
    struct MediaPipe: Decodable {
        let detections: [Detection]
        let landmarks: [[[Float]]]
    }
    struct Image: Decodable { let path: String; let width: Int; let height: Int }
    let image: Image
    let reference: Reference
    let mediapipe: MediaPipe

    static let directory = VisionFixtures.directory + "/faces"

    static func load() throws -> FaceGolden {
        let url = URL(fileURLWithPath: directory + "/faces.json")
        return try JSONDecoder().decode(FaceGolden.self, from: Data(contentsOf: url))
    }

    /// A little-endian float32 file of the fixtures folder.
    static func floats(_ name: String, count: Int) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        try #require(data.count == count * 4, "\(name) has \(data.count) bytes, expected \(count * 4)")
        return data.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    /// The full astronaut image from the model store (Scripts/fetch-models.sh), if present.
    static var astronautPath: String? {
        let path = ModelStore.path(id: "astronaut-image", fileName: "astronaut.png")
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}

private func detection(_ box: (Float, Float, Float, Float), score: Float, keypoint: SIMD2<Float> = .zero) -> FaceDetection {
    FaceDetection(xMin: box.0, yMin: box.1, width: box.2, height: box.3, score: score,
                  keypoints: Array(repeating: keypoint, count: 6))
}

@Suite struct FaceTests {
    @Test func shortRangeAnchorsAreCellCentresOfTwoFeatureMaps() {
        let anchors = SSDAnchorOptions.faceDetectionShortRange.anchors()
        #expect(anchors.count == 896)
        // Stride 8: 16×16 cells × 2 anchors; strides 16,16,16 share an 8×8 map × 6 anchors.
        #expect(anchors[0] == SSDAnchor(xCenter: 0.5 / 16, yCenter: 0.5 / 16, width: 1, height: 1))
        #expect(anchors[1] == anchors[0])
        #expect(anchors[2] == SSDAnchor(xCenter: 1.5 / 16, yCenter: 0.5 / 16, width: 1, height: 1))
        #expect(anchors[511] == SSDAnchor(xCenter: 15.5 / 16, yCenter: 15.5 / 16, width: 1, height: 1))
        #expect(anchors[512] == SSDAnchor(xCenter: 0.5 / 8, yCenter: 0.5 / 8, width: 1, height: 1))
        #expect(anchors[517] == anchors[512] && anchors[518].xCenter == 1.5 / 8)
        #expect(anchors[895] == SSDAnchor(xCenter: 7.5 / 8, yCenter: 7.5 / 8, width: 1, height: 1))
    }

    @Test func unfixedAnchorSizesFollowTheLayerScales() {
        var options = SSDAnchorOptions.faceDetectionShortRange
        options.hasFixedAnchorSize = false
        let anchors = options.anchors()
        // Layer 0 scale = min 0.1484375; interpolated = sqrt(0.1484375 · 0.34895833) (layer 1's scale
        // = 0.1484375 + (0.75 − 0.1484375)/3); aspect ratio 1 makes width = height.
        #expect(abs(anchors[0].width - 0.1484375) < FaceTolerance.exact)
        #expect(abs(anchors[1].height - 0.22759284) < FaceTolerance.exact)
        // Last map: layer 3 scale 0.75, its interpolated anchor sqrt(0.75 · 1).
        #expect(abs(anchors[894].width - 0.75) < FaceTolerance.exact)
        #expect(abs(anchors[895].width - 0.8660254) < FaceTolerance.exact)
    }

    @Test func decodingAddsScaledOffsetsToTheAnchor() throws {
        let anchor = SSDAnchor(xCenter: 0.25, yCenter: 0.5, width: 1, height: 1)
        var regressors = [Float](repeating: 0, count: 16)
        regressors[0] = 12.8; regressors[1] = -6.4; regressors[2] = 32; regressors[3] = 64
        regressors[4] = 1.28                                       // right eye x
        let decoder = FaceDetectionDecoder(anchors: [anchor])
        let found = try decoder.decode(regressors: regressors, classificators: [log(3)])
        let d = try #require(found.first)
        // Centre (0.25 + 0.1, 0.5 − 0.05), size (0.25, 0.5); score sigmoid(ln 3) = 0.75.
        #expect(abs(d.xMin - 0.225) < FaceTolerance.exact && abs(d.yMin - 0.2) < FaceTolerance.exact)
        #expect(abs(d.width - 0.25) < FaceTolerance.exact && abs(d.height - 0.5) < FaceTolerance.exact)
        #expect(abs(d.score - 0.75) < FaceTolerance.exact)
        #expect(abs(d[.rightEye].x - 0.26) < FaceTolerance.exact && d[.leftEye] == SIMD2(0.25, 0.5))
        #expect(try decoder.decode(regressors: regressors, classificators: [-1]).isEmpty)   // 0.27 < 0.5
        #expect(throws: FaceModelOutputError.self) { try decoder.decode(regressors: [1, 2], classificators: [0]) }
    }

    @Test func weightedNMSMergesIdenticalBoxesAndKeepsDisjointOnes() {
        let decoder = FaceDetectionDecoder(anchors: [])
        let a = detection((0.1, 0.1, 0.2, 0.2), score: 0.9, keypoint: SIMD2(0.2, 0.2))
        let merged = decoder.nonMaxSuppression([detection((0.1, 0.1, 0.2, 0.2), score: 0.6, keypoint: SIMD2(0.2, 0.2)), a, a])
        #expect(merged.count == 1)
        #expect(abs(merged[0].xMin - 0.1) < FaceTolerance.exact && abs(merged[0].width - 0.2) < FaceTolerance.exact)
        #expect(merged[0].score == 0.9)

        let far = detection((0.6, 0.6, 0.2, 0.2), score: 0.7)
        let kept = decoder.nonMaxSuppression([far, a])
        #expect(kept.map(\.score) == [0.9, 0.7])
        #expect(abs(kept[0].xMin - 0.1) < FaceTolerance.exact && abs(kept[1].xMin - 0.6) < FaceTolerance.exact)
    }

    @Test func weightedNMSAveragesOverlappingBoxesByScore() {
        let decoder = FaceDetectionDecoder(anchors: [])
        let best = detection((0, 0, 1, 1), score: 0.9, keypoint: SIMD2(0, 0))
        let shifted = detection((0.1, 0, 1, 1), score: 0.6, keypoint: SIMD2(1, 1))   // IoU 0.9/1.1
        let out = decoder.nonMaxSuppression([shifted, best])
        #expect(out.count == 1)
        // xmin = (0·0.9 + 0.1·0.6)/1.5 = 0.04; xmax = (1·0.9 + 1.1·0.6)/1.5 = 1.04; keypoint 0.6/1.5.
        #expect(abs(out[0].xMin - 0.04) < FaceTolerance.exact && abs(out[0].width - 1) < FaceTolerance.exact)
        #expect(abs(out[0].keypoints[3].x - 0.4) < FaceTolerance.exact && out[0].score == 0.9)
    }

    @Test func decodingTheGoldenOutputsReproducesMediaPipesDetection() throws {
        let golden = try FaceGolden.load()
        let regressors = try FaceGolden.floats("detector_regressors.f32", count: 896 * 16)
        let logits = try FaceGolden.floats("detector_classificators.f32", count: 896)
        let input = FaceDetectorInput(imageWidth: golden.image.width, imageHeight: golden.image.height)
        let found = try FaceDetectionDecoder.shortRange().detections(regressors: regressors, classificators: logits)
            .map(input.removeLetterbox(from:))
        try #require(found.count == golden.mediapipe.detections.count)
        for (ours, theirs) in zip(found, golden.mediapipe.detections) {
            let box = [ours.xMin, ours.yMin, ours.width, ours.height]
            #expect(zip(box, theirs.box).allSatisfy { abs($0 - $1) < FaceTolerance.detectionBox }, "\(box) vs \(theirs.box)")
            #expect(abs(ours.score - theirs.score) < FaceTolerance.score)
            for (k, point) in ours.keypoints.enumerated() {
                let dx = (point.x - theirs.keypoints[k][0]) * Float(golden.image.width)
                let dy = (point.y - theirs.keypoints[k][1]) * Float(golden.image.height)
                #expect((dx * dx + dy * dy).squareRoot() < FaceTolerance.keypointPixels, "keypoint \(k)")
            }
        }
    }

    @Test func landmarkRegionAndProjectionReproduceMediaPipesFaceMesh() throws {
        let golden = try FaceGolden.load()
        let (w, h) = (golden.image.width, golden.image.height)
        let regressors = try FaceGolden.floats("detector_regressors.f32", count: 896 * 16)
        let logits = try FaceGolden.floats("detector_classificators.f32", count: 896)
        let face = try #require(try FaceDetectionDecoder.shortRange().detections(regressors: regressors, classificators: logits).first)
        let region = FaceLandmarks.region(for: FaceDetectorInput(imageWidth: w, imageHeight: h).removeLetterbox(from: face),
                                          imageWidth: w, imageHeight: h)
        let expected = golden.reference.landmarkRegion
        #expect(abs(region.xCenter - expected.xCenter) < FaceTolerance.region)
        #expect(abs(region.yCenter - expected.yCenter) < FaceTolerance.region)
        #expect(abs(region.width - expected.width) < FaceTolerance.region)
        #expect(abs(region.height - expected.height) < FaceTolerance.region)
        #expect(abs(region.rotation - expected.rotation) < FaceTolerance.region)

        let raw = try FaceGolden.floats("landmark_points.f32", count: FaceLandmarks.count * 3)
        let landmarks = try FaceLandmarks(landmarks: raw, presenceLogit: golden.reference.presenceLogit,
                                          region: region, imageWidth: w, imageHeight: h)
        #expect(landmarks.isFacePresent)
        let theirs = try #require(golden.mediapipe.landmarks.first)
        try #require(theirs.count == FaceLandmarks.count)
        var worst: Float = 0, worstDepth: Float = 0
        for (ours, point) in zip(landmarks.points, theirs) {
            let dx = (ours.x - point[0]) * Float(w), dy = (ours.y - point[1]) * Float(h)
            worst = max(worst, (dx * dx + dy * dy).squareRoot())
            worstDepth = max(worstDepth, abs(ours.z - point[2]))
        }
        #expect(worst < FaceTolerance.landmarkPixels, "worst landmark distance \(worst) px")
        #expect(worstDepth < FaceTolerance.landmarkDepth, "worst depth difference \(worstDepth)")
    }

    @Test func landmarkRegionIsARotatedEnlargedSquare() {
        // 1000×500 image, 200×50 px box, left eye 100 px right of and 100 px below the right eye.
        var face = detection((0.1, 0.2, 0.2, 0.1), score: 1)
        face.keypoints[0] = SIMD2(0.15, 0.2)
        face.keypoints[1] = SIMD2(0.25, 0.4)
        let region = FaceLandmarks.region(for: face, imageWidth: 1000, imageHeight: 500)
        #expect(abs(region.xCenter - 0.2) < FaceTolerance.exact && abs(region.yCenter - 0.25) < FaceTolerance.exact)
        #expect(abs(region.width - 0.3) < FaceTolerance.exact && abs(region.height - 0.6) < FaceTolerance.exact)
        #expect(abs(region.rotation - Float.pi / 4) < FaceTolerance.exact)   // eye line turned back to level
        #expect(abs(FaceLandmarks.normalizedRadians(3 * Float.pi / 2) + Float.pi / 2) < FaceTolerance.exact)
    }

    @Test func landmarkProjectionInvertsTheCrop() throws {
        let region = NormalizedRect(xCenter: 0.4, yCenter: 0.6, width: 0.3, height: 0.4, rotation: 0.3)
        // Crop pixel (u, v) samples region.imagePoint(u/192, v/192); a landmark there maps back to it.
        var raw = [Float](repeating: 0, count: FaceLandmarks.count * 3)
        raw[0] = 96; raw[1] = 96; raw[2] = 19.2
        raw[3] = 0; raw[4] = 192
        let landmarks = try FaceLandmarks(landmarks: raw, presenceLogit: -2, region: region, imageWidth: 640, imageHeight: 480)
        #expect(abs(landmarks.points[0].x - 0.4) < FaceTolerance.exact && abs(landmarks.points[0].y - 0.6) < FaceTolerance.exact)
        #expect(abs(landmarks.points[0].z - 0.03) < FaceTolerance.exact)        // 19.2/192 · 0.3
        let corner = region.imagePoint(u: 0, v: 1, imageWidth: 640, imageHeight: 480)
        #expect(abs(landmarks.pixelPoints[1].x - corner.x) < 1e-4 && abs(landmarks.pixelPoints[1].y - corner.y) < 1e-4)
        #expect(!landmarks.isFacePresent)
        #expect(throws: FaceModelOutputError.self) {
            try FaceLandmarks(landmarks: [0], presenceLogit: 0, region: region, imageWidth: 1, imageHeight: 1)
        }
    }

    @Test func letterboxRemovalIsTheCropsOwnTransform() {
        // 640×480 in 128×128: scale 5, 16-row bars above and below.
        let input = FaceDetectorInput(imageWidth: 640, imageHeight: 480)
        #expect(input.horizontalPadding == 0 && abs(input.verticalPadding - 0.125) < FaceTolerance.exact)
        let d = input.removeLetterbox(from: detection((0.25, 0.125, 0.5, 0.75), score: 1, keypoint: SIMD2(0.5, 0.875)))
        for (u, v, x, y) in [(Float(0.25), Float(0.125), d.xMin, d.yMin), (0.75, 0.875, d.xMin + d.width, d.yMin + d.height),
                             (0.5, 0.875, d.keypoints[0].x, d.keypoints[0].y)] {
            let p = input.region.imagePoint(u: u, v: v, imageWidth: 640, imageHeight: 480)
            #expect(abs(p.x / 640 - x) < FaceTolerance.exact && abs(p.y / 480 - y) < FaceTolerance.exact)
        }
        let gray = [UInt8](repeating: 200, count: 640 * 480 * 3)
        let tensor = gray.withUnsafeBufferPointer { input.rgb8(pixels: $0) }
        let rowValues = (0..<128).map { tensor[($0 * 128 + 64) * 3] }
        #expect(rowValues[15] == 0 && rowValues[16] == 200 && rowValues[111] == 200 && rowValues[112] == 0)
        let floats = gray.withUnsafeBufferPointer { input.tensor(pixels: $0) }
        #expect(floats[0] == -1 && abs(floats[(64 * 128 + 64) * 3] - (200 / 127.5 - 1)) < FaceTolerance.exact)
    }

    @Test(.enabled(if: FaceGolden.astronautPath != nil, "needs astronaut-image in the model store (Scripts/fetch-models.sh)"))
    func cropsMatchTheGoldenModelInputs() throws {
        let golden = try FaceGolden.load()
        let image = try PNGImage(contentsOf: try #require(FaceGolden.astronautPath))
        try #require(image.layout == .rgb && image.width == golden.image.width && image.height == golden.image.height)
        let r = golden.reference.landmarkRegion
        let region = NormalizedRect(xCenter: r.xCenter, yCenter: r.yCenter, width: r.width, height: r.height, rotation: r.rotation)
        let (detectorInput, landmarkInput) = image.pixels.withUnsafeBufferPointer { pixels in
            (FaceDetectorInput(imageWidth: image.width, imageHeight: image.height).rgb8(pixels: pixels),
             FaceLandmarks.inputRGB8(width: image.width, height: image.height, pixels: pixels, region: region))
        }
        for (ours, file) in [(detectorInput, "detector_input.png"), (landmarkInput, "landmark_input.png")] {
            let expected = try PNGImage(contentsOf: FaceGolden.directory + "/" + file)
            try #require(expected.pixels.count == ours.count, "\(file)")
            let differences = zip(ours, expected.pixels).map { abs(Int($0) - Int($1)) }
            #expect(differences.max() ?? 0 <= FaceTolerance.cropLevels, "\(file)")
            #expect(differences.filter { $0 != 0 }.count * 1000 <= ours.count, "\(file): over 0.1% of levels differ")
        }
    }
}
