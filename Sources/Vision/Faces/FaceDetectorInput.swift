/// How a whole image becomes the face detector's square input and how detections come back:
/// the image is scaled to fit the tensor keeping its aspect ratio, centred, and the rest is black
/// (letterbox); detections are then mapped from tensor coordinates to image coordinates.
///
/// Matches MediaPipe's face_detection.pbtxt: ImageToTensorCalculator with keep_aspect_ratio,
/// BORDER_ZERO and output range −1…1 (PadRoi in image_to_tensor_utils.cc), then
/// DetectionProjectionCalculator with its transform matrix — for an unrotated region this is the
/// same map as DetectionLetterboxRemovalCalculator's.
public struct FaceDetectorInput: Equatable, Sendable {
    public let imageWidth: Int
    public let imageHeight: Int
    public let tensorWidth: Int
    public let tensorHeight: Int
    /// The part of the image the tensor covers (extends past 0…1 on the padded axis).
    public let region: NormalizedRect
    /// Letterbox bars as fractions of the tensor: left/right and top/bottom (each side).
    public let horizontalPadding: Float
    public let verticalPadding: Float

    /// The letterbox of a `imageWidth`×`imageHeight` image in a tensor of the given size (128×128
    /// for the short-range detector).
    public init(imageWidth: Int, imageHeight: Int, tensorWidth: Int = 128, tensorHeight: Int = 128) {
        precondition(imageWidth > 0 && imageHeight > 0 && tensorWidth > 0 && tensorHeight > 0,
                     "FaceDetectorInput needs positive sizes")
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.tensorWidth = tensorWidth
        self.tensorHeight = tensorHeight
        let tensorAspect = Float(tensorHeight) / Float(tensorWidth)
        let imageAspect = Float(imageHeight) / Float(imageWidth)
        var width = Float(imageWidth), height = Float(imageHeight)    // region in pixels
        var horizontal: Float = 0, vertical: Float = 0
        if tensorAspect > imageAspect {
            height = width * tensorAspect
            vertical = (1 - imageAspect / tensorAspect) / 2
        } else {
            width = height / tensorAspect
            horizontal = (1 - tensorAspect / imageAspect) / 2
        }
        horizontalPadding = horizontal
        verticalPadding = vertical
        region = NormalizedRect(xCenter: 0.5, yCenter: 0.5,
                                width: width / Float(imageWidth), height: height / Float(imageHeight))
    }

    /// The letterboxed RGB8 input, `tensorHeight`×`tensorWidth`×3 bytes (see `RotatedCrop.crop`).
    /// - Parameter pixels: `imageWidth`×`imageHeight`×3 bytes, rows top to bottom.
    public func rgb8(pixels: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        RotatedCrop.crop(width: imageWidth, height: imageHeight, pixels: pixels, region: region,
                         outputWidth: tensorWidth, outputHeight: tensorHeight, border: .zero)
    }

    /// The model input: the letterboxed image as floats in −1…1, [1, H, W, 3].
    public func tensor(pixels: UnsafeBufferPointer<UInt8>) -> [Float] {
        RotatedCrop.tensor(fromRGB8: rgb8(pixels: pixels), range: -1...1)
    }

    /// `detection` (in 0…1 of the tensor) in 0…1 of the image.
    public func removeLetterbox(from detection: FaceDetection) -> FaceDetection {
        let xScale = 1 - 2 * horizontalPadding, yScale = 1 - 2 * verticalPadding
        var result = detection
        result.xMin = (detection.xMin - horizontalPadding) / xScale
        result.yMin = (detection.yMin - verticalPadding) / yScale
        result.width = detection.width / xScale
        result.height = detection.height / yScale
        result.keypoints = detection.keypoints.map {
            SIMD2(($0.x - horizontalPadding) / xScale, ($0.y - verticalPadding) / yScale)
        }
        return result
    }
}
