import Foundation

/// A rotated rectangle in 0…1 image coordinates (x right, y down): centre, size and a rotation in
/// radians (positive turns the rectangle's x axis towards the image's y axis, i.e. clockwise on
/// screen). The same convention as MediaPipe's `NormalizedRect`.
public struct NormalizedRect: Equatable, Sendable {
    public var xCenter: Float
    public var yCenter: Float
    public var width: Float
    public var height: Float
    public var rotation: Float

    /// A rectangle centred at (`xCenter`, `yCenter`), all in 0…1 of the image, rotation in radians.
    public init(xCenter: Float, yCenter: Float, width: Float, height: Float, rotation: Float = 0) {
        self.xCenter = xCenter
        self.yCenter = yCenter
        self.width = width
        self.height = height
        self.rotation = rotation
    }

    /// The image point (in pixels of a `imageWidth`×`imageHeight` image) that the point (`u`, `v`)
    /// of the rectangle maps to, where (0, 0) is the rectangle's first corner and (1, 1) the
    /// opposite one, measured along its own (rotated) axes.
    ///
    /// Matches GetRotatedSubRectToRectTransformMatrix in
    /// mediapipe/calculators/tensor/image_to_tensor_utils.cc (without the final 1/size scaling).
    public func imagePoint(u: Float, v: Float, imageWidth: Int, imageHeight: Int) -> (x: Float, y: Float) {
        let dx = (u - 0.5) * width * Float(imageWidth)
        let dy = (v - 0.5) * height * Float(imageHeight)
        let c = cos(rotation), s = sin(rotation)
        return (xCenter * Float(imageWidth) + c * dx - s * dy,
                yCenter * Float(imageHeight) + s * dx + c * dy)
    }
}

/// What a crop reads outside the image.
public enum CropBorder: Sendable {
    /// Black (0) — MediaPipe's BORDER_ZERO, used for the detector's letterbox.
    case zero
    /// The nearest edge pixel — MediaPipe's default, used for the face-landmark crop.
    case replicate
}

/// Crops of 8-bit RGB images into model inputs, as MediaPipe's ImageToTensorCalculator makes them
/// on CPU.
public enum RotatedCrop {
    /// Samples `region` of an RGB8 image into an `outputWidth`×`outputHeight` RGB8 image.
    ///
    /// Output pixel (u, v) reads the image at `region.imagePoint(u/W, v/H)` — pixel centres at
    /// integer coordinates, the region's corners landing on output pixel 0 and on W (one past the
    /// last pixel) — with bilinear interpolation on source coordinates rounded to 1/32 pixel, and
    /// rounds the result to 8 bits. This matches image_to_tensor_converter_opencv.cc (boxPoints →
    /// getPerspectiveTransform to (0,H),(0,0),(W,0),(W,H) → warpPerspective INTER_LINEAR on the
    /// 8-bit image); OpenCV's 15-bit fixed-point weights may differ from these float weights by
    /// one step of 8 bits.
    /// - Parameters:
    ///   - pixels: `width`×`height`×3 bytes, rows top to bottom.
    /// - Returns: `outputHeight`×`outputWidth`×3 bytes.
    public static func crop(width: Int, height: Int, pixels: UnsafeBufferPointer<UInt8>,
                            region: NormalizedRect, outputWidth: Int, outputHeight: Int,
                            border: CropBorder) -> [UInt8] {
        precondition(width > 0 && height > 0 && pixels.count >= width * height * 3,
                     "crop needs width×height×3 bytes")
        precondition(outputWidth > 0 && outputHeight > 0, "crop needs a positive output size")
        var output = [UInt8](repeating: 0, count: outputWidth * outputHeight * 3)
        // The map from output pixel to image point is affine: origin + u·ux + v·vy.
        let origin = region.imagePoint(u: 0, v: 0, imageWidth: width, imageHeight: height)
        let right = region.imagePoint(u: 1, v: 0, imageWidth: width, imageHeight: height)
        let down = region.imagePoint(u: 0, v: 1, imageWidth: width, imageHeight: height)
        let stepU = ((right.x - origin.x) / Float(outputWidth), (right.y - origin.y) / Float(outputWidth))
        let stepV = ((down.x - origin.x) / Float(outputHeight), (down.y - origin.y) / Float(outputHeight))
        let fractions: Float = 32    // OpenCV's INTER_TAB_SIZE
        for v in 0..<outputHeight {
            for u in 0..<outputWidth {
                // Points more than a few pixels outside read only border values anyway; clamping
                // them keeps the integer conversion safe for huge or NaN regions.
                let x = clampCoordinate(origin.x + Float(u) * stepU.0 + Float(v) * stepV.0, width)
                let y = clampCoordinate(origin.y + Float(u) * stepU.1 + Float(v) * stepV.1, height)
                let qx = Int((x * fractions + 0.5).rounded(.down)), qy = Int((y * fractions + 0.5).rounded(.down))
                let x0 = qx >> 5, y0 = qy >> 5          // floor division by 32
                let fx = Float(qx & 31) / fractions, fy = Float(qy & 31) / fractions
                let weights = ((1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy)
                let out = (v * outputWidth + u) * 3
                for c in 0..<3 {
                    let p00 = sample(pixels, width, height, x0, y0, c, border)
                    let p10 = sample(pixels, width, height, x0 + 1, y0, c, border)
                    let p01 = sample(pixels, width, height, x0, y0 + 1, c, border)
                    let p11 = sample(pixels, width, height, x0 + 1, y0 + 1, c, border)
                    let value = weights.0 * p00 + weights.1 * p10 + weights.2 * p01 + weights.3 * p11
                    output[out + c] = UInt8(min(max((value + 0.5).rounded(.down), 0), 255))
                }
            }
        }
        return output
    }

    /// Converts RGB8 values to floats mapping 0…255 linearly onto `range` (−1…1 for the face
    /// detector, 0…1 for the face-landmark model), as ImageToTensorCalculator's convertTo does.
    public static func tensor(fromRGB8 bytes: [UInt8], range: ClosedRange<Float>) -> [Float] {
        let scale = (range.upperBound - range.lowerBound) / 255
        return bytes.map { Float($0) * scale + range.lowerBound }
    }

    private static func clampCoordinate(_ value: Float, _ size: Int) -> Float {
        value.isNaN ? -4 : min(max(value, -4), Float(size) + 4)
    }

    private static func sample(_ pixels: UnsafeBufferPointer<UInt8>, _ width: Int, _ height: Int,
                               _ x: Int, _ y: Int, _ c: Int, _ border: CropBorder) -> Float {
        if x >= 0 && x < width && y >= 0 && y < height {
            return Float(pixels[(y * width + x) * 3 + c])
        }
        switch border {
        case .zero: return 0
        case .replicate:
            let cx = min(max(x, 0), width - 1), cy = min(max(y, 0), height - 1)
            return Float(pixels[(cy * width + cx) * 3 + c])
        }
    }
}
