import Foundation

/// One face found by MediaPipe's BlazeFace detector: a box, a score and six keypoints, all in
/// 0…1 of the frame they refer to (the 128×128 model input right after decoding, the original
/// image after `FaceDetectorInput.removeLetterbox`).
public struct FaceDetection: Equatable, Sendable {
    /// The six keypoints, in the model's output order ("right" is the person's right, which
    /// appears on the image's left for a frontal face).
    public enum Keypoint: Int, CaseIterable, Sendable {
        case rightEye, leftEye, noseTip, mouth, rightEarTragion, leftEarTragion
    }

    public var xMin: Float
    public var yMin: Float
    public var width: Float
    public var height: Float
    /// Face probability (sigmoid of the model's logit), 0…1.
    public var score: Float
    /// Six (x, y) points indexed by `Keypoint.rawValue`.
    public var keypoints: [SIMD2<Float>]

    /// A detection with a box (`xMin`, `yMin`, `width`, `height`), a score and six keypoints.
    public init(xMin: Float, yMin: Float, width: Float, height: Float, score: Float,
                keypoints: [SIMD2<Float>]) {
        self.xMin = xMin
        self.yMin = yMin
        self.width = width
        self.height = height
        self.score = score
        self.keypoints = keypoints
    }

    /// The keypoint `kind`.
    public subscript(_ kind: Keypoint) -> SIMD2<Float> { keypoints[kind.rawValue] }

    /// Intersection over union of the two boxes; 0 when they do not overlap or are empty.
    public func intersectionOverUnion(with other: FaceDetection) -> Float {
        let left = max(xMin, other.xMin), right = min(xMin + width, other.xMin + other.width)
        let top = max(yMin, other.yMin), bottom = min(yMin + height, other.yMin + other.height)
        guard right > left, bottom > top else { return 0 }
        let intersection = (right - left) * (bottom - top)
        let union = width * height + other.width * other.height - intersection
        return union > 0 ? intersection / union : 0
    }
}

/// A face model's outputs did not have the sizes the post-processing expects.
public struct FaceModelOutputError: Error, CustomStringConvertible {
    public var description: String
}

/// Turns BlazeFace's raw outputs into face detections: box decoding against SSD anchors, score
/// threshold, weighted non-max suppression.
public struct FaceDetectionDecoder: Sendable {
    /// Divisors of the regressed offsets (the input size in pixels for BlazeFace).
    public var xScale: Float = 128, yScale: Float = 128, widthScale: Float = 128, heightScale: Float = 128
    /// Logits are clipped to ±this before the sigmoid.
    public var scoreClippingThreshold: Float = 100
    /// Boxes scoring below this are dropped before suppression.
    public var minScore: Float = 0.5
    /// Boxes overlapping the current best by more than this IoU are merged into it.
    public var minSuppressionThreshold: Float = 0.3
    public let anchors: [SSDAnchor]

    /// Values per box in the regressors output: 4 box values + 6 keypoints × 2.
    public static let valuesPerBox = 16
    public static let keypointCount = 6

    /// The decoder of MediaPipe's face_detection_short_range graph (896 anchors, scales 128,
    /// min score 0.5, IoU 0.3).
    public static func shortRange() -> FaceDetectionDecoder {
        FaceDetectionDecoder(anchors: SSDAnchorOptions.faceDetectionShortRange.anchors())
    }

    /// A decoder over `anchors` with MediaPipe's short-range defaults for everything else.
    public init(anchors: [SSDAnchor]) {
        self.anchors = anchors
    }

    /// Decoded, thresholded and suppressed detections, best first, in 0…1 of the model input.
    /// - Parameters:
    ///   - regressors: the 'regressors' output, [1, anchors, 16]: per box x, y, w, h offsets then
    ///     six keypoint (x, y) offsets, in input pixels.
    ///   - classificators: the 'classificators' output, [1, anchors, 1]: face logits.
    public func detections(regressors: [Float], classificators: [Float]) throws -> [FaceDetection] {
        nonMaxSuppression(try decode(regressors: regressors, classificators: classificators))
    }

    /// Every box scoring at least `minScore`, in anchor order, before suppression.
    ///
    /// Matches mediapipe/calculators/tensor/tensors_to_detections_calculator.cc with
    /// reverse_output_order (x before y), sigmoid_score and score_clipping_thresh.
    public func decode(regressors: [Float], classificators: [Float]) throws -> [FaceDetection] {
        let count = anchors.count
        guard regressors.count == count * Self.valuesPerBox else {
            throw FaceModelOutputError(description: "face detector regressors have \(regressors.count) values, "
                + "expected \(count) anchors × \(Self.valuesPerBox); is this face_detection_short_range.tflite?")
        }
        guard classificators.count == count else {
            throw FaceModelOutputError(description: "face detector classificators have \(classificators.count) "
                + "values, expected one per anchor (\(count)); is this face_detection_short_range.tflite?")
        }
        var detections: [FaceDetection] = []
        for (index, anchor) in anchors.enumerated() {
            let logit = min(max(classificators[index], -scoreClippingThreshold), scoreClippingThreshold)
            let score = 1 / (1 + exp(-logit))
            guard score >= minScore else { continue }     // NaN logits fail this too
            let raw = index * Self.valuesPerBox
            let xCenter = regressors[raw] / xScale * anchor.width + anchor.xCenter
            let yCenter = regressors[raw + 1] / yScale * anchor.height + anchor.yCenter
            let width = regressors[raw + 2] / widthScale * anchor.width
            let height = regressors[raw + 3] / heightScale * anchor.height
            let xMin = xCenter - width / 2, yMin = yCenter - height / 2
            let xMax = xCenter + width / 2, yMax = yCenter + height / 2
            var keypoints: [SIMD2<Float>] = []
            keypoints.reserveCapacity(Self.keypointCount)
            for k in 0..<Self.keypointCount {
                let offset = raw + 4 + 2 * k
                keypoints.append(SIMD2(regressors[offset] / xScale * anchor.width + anchor.xCenter,
                                       regressors[offset + 1] / yScale * anchor.height + anchor.yCenter))
            }
            detections.append(FaceDetection(xMin: xMin, yMin: yMin, width: xMax - xMin, height: yMax - yMin,
                                            score: score, keypoints: keypoints))
        }
        return detections
    }

    /// Weighted non-max suppression: repeatedly takes the best remaining detection, gathers every
    /// remaining one whose IoU with it exceeds `minSuppressionThreshold` (itself included), and
    /// emits their score-weighted average box and keypoints with the best one's score.
    ///
    /// Matches WeightedNonMaxSuppression in
    /// mediapipe/calculators/util/non_max_suppression_calculator.cc (INTERSECTION_OVER_UNION).
    public func nonMaxSuppression(_ detections: [FaceDetection]) -> [FaceDetection] {
        // Stable sort by descending score so ties keep anchor order.
        var remaining = detections.enumerated()
            .sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
            .map(\.element)
        var output: [FaceDetection] = []
        while let best = remaining.first {
            var merged: [FaceDetection] = [], kept: [FaceDetection] = []
            for candidate in remaining {
                if candidate.intersectionOverUnion(with: best) > minSuppressionThreshold {
                    merged.append(candidate)
                } else {
                    kept.append(candidate)
                }
            }
            if merged.isEmpty {
                // An empty best box overlaps nothing, itself included: keep it as is.
                output.append(best)
                kept.removeFirst()
            } else {
                output.append(Self.weightedAverage(of: merged, score: best.score))
            }
            remaining = kept
        }
        return output
    }

    private static func weightedAverage(of group: [FaceDetection], score: Float) -> FaceDetection {
        var total: Float = 0, xMin: Float = 0, yMin: Float = 0, xMax: Float = 0, yMax: Float = 0
        var keypoints = [SIMD2<Float>](repeating: .zero, count: group[0].keypoints.count)
        for detection in group {
            let w = detection.score
            total += w
            xMin += detection.xMin * w
            yMin += detection.yMin * w
            xMax += (detection.xMin + detection.width) * w
            yMax += (detection.yMin + detection.height) * w
            for k in keypoints.indices { keypoints[k] += detection.keypoints[k] * w }
        }
        let left = xMin / total, top = yMin / total
        return FaceDetection(xMin: left, yMin: top, width: xMax / total - left, height: yMax / total - top,
                             score: score, keypoints: keypoints.map { $0 / total })
    }
}
