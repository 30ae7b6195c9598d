import SparrowRuntime

/// Per-pixel foreground probability in 0…1, at a frame's size.
///
/// `values[y * width + x]` is the probability that pixel (x, y) shows the foreground (a person for
/// the selfie models). // [H, W]
public struct SegmentationMask: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var values: [Float]

    /// A mask from values; `values.count` must be `width * height` (a programming error otherwise:
    /// masks come from models, whose output sizes are checked at load).
    public init(width: Int, height: Int, values: [Float]) {
        precondition(width > 0 && height > 0 && values.count == width * height,
                     "mask \(width)x\(height) needs \(width * height) values, got \(values.count)")
        self.width = width
        self.height = height
        self.values = values
    }

    /// A mask of one value everywhere.
    public init(width: Int, height: Int, constant: Float) {
        self.init(width: width, height: height, values: [Float](repeating: constant, count: width * height))
    }
}

/// Anything that segments frames (SelfieSegmenter; tests may use a fake).
public protocol ImageSegmenter: AnyObject {
    /// The foreground mask of `frame`, at the frame's size.
    func segment(_ frame: RGBImage) throws -> SegmentationMask
}

extension SegmentationMask {
    /// The default cut between background and foreground.
    public static let defaultThreshold: Float = 0.5

    /// The mask resampled to `width × height` by bilinear interpolation with half-pixel centers
    /// (source coordinate `(x + 0.5) · w / W − 0.5`, clamped at the borders, as TFLite's
    /// ResizeBilinear with `half_pixel_centers` and OpenCV's INTER_LINEAR do).
    public func resized(width newWidth: Int, height newHeight: Int) -> SegmentationMask {
        precondition(newWidth > 0 && newHeight > 0, "mask sizes must be positive")
        if newWidth == width && newHeight == height { return self }
        let xs = Self.bilinearTaps(source: width, destination: newWidth)
        let ys = Self.bilinearTaps(source: height, destination: newHeight)
        var out = [Float](repeating: 0, count: newWidth * newHeight)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<newHeight {
                    let (y0, y1, fy) = ys[y]
                    let row0 = y0 * width, row1 = y1 * width
                    for x in 0..<newWidth {
                        let (x0, x1, fx) = xs[x]
                        let top = src[row0 + x0] + (src[row0 + x1] - src[row0 + x0]) * fx
                        let bottom = src[row1 + x0] + (src[row1 + x1] - src[row1 + x0]) * fx
                        dst[y * newWidth + x] = top + (bottom - top) * fy
                    }
                }
            }
        }
        return SegmentationMask(width: newWidth, height: newHeight, values: out)
    }

    /// For each destination index along one axis: the two source indices and the weight of the
    /// second (half-pixel centers, clamped).
    static func bilinearTaps(source: Int, destination: Int) -> [(Int, Int, Float)] {
        let scale = Float(source) / Float(destination)
        return (0..<destination).map { d in
            let s = min(max((Float(d) + 0.5) * scale - 0.5, 0), Float(source - 1))
            let s0 = Int(s)
            let s1 = min(s0 + 1, source - 1)
            return (s0, s1, s - Float(s0))
        }
    }

    /// A binary mask: 1 where the value is at least `threshold`, else 0.
    public func thresholded(_ threshold: Float = SegmentationMask.defaultThreshold) -> SegmentationMask {
        SegmentationMask(width: width, height: height, values: values.map { $0 >= threshold ? 1 : 0 })
    }

    /// The fraction of pixels whose value is at least `threshold` (0…1).
    public func coverage(threshold: Float = SegmentationMask.defaultThreshold) -> Float {
        var count = 0
        for v in values where v >= threshold { count += 1 }
        return Float(count) / Float(values.count)
    }

    /// Intersection over union of the two masks' foregrounds (values ≥ `threshold`): 1 when both
    /// foregrounds are empty. Both masks must have the same size (a programming error otherwise;
    /// resize first).
    public static func intersectionOverUnion(_ a: SegmentationMask, _ b: SegmentationMask,
                                             threshold: Float = SegmentationMask.defaultThreshold) -> Float {
        precondition(a.width == b.width && a.height == b.height,
                     "IoU of masks of different sizes: \(a.width)x\(a.height) vs \(b.width)x\(b.height)")
        var intersection = 0, union = 0
        for i in 0..<a.values.count {
            let inA = a.values[i] >= threshold, inB = b.values[i] >= threshold
            if inA && inB { intersection += 1 }
            if inA || inB { union += 1 }
        }
        return union == 0 ? 1 : Float(intersection) / Float(union)
    }

    /// The mask as an 8-bit gray image: round(clamp(value, 0, 1) · 255); NaN counts as 0.
    public func grayImage() throws -> PNGImage {
        let bytes = values.map { Self.byte($0) }
        return try PNGImage(width: width, height: height, layout: .gray, pixels: bytes)
    }

    /// The mask as an RGB image with R = G = B (for video sinks); throws past RGBImage's size limit.
    public func rgbImage() throws -> RGBImage {
        var bytes = [UInt8](repeating: 0, count: values.count * 3)
        for (p, v) in values.enumerated() {
            let b = Self.byte(v)
            bytes[3 * p] = b
            bytes[3 * p + 1] = b
            bytes[3 * p + 2] = b
        }
        return try RGBImage(width: width, height: height, pixels: bytes)
    }

    /// A probability clamped to 0…1 (NaN → 0).
    @inline(__always) static func clamped(_ v: Float) -> Float {
        v >= 1 ? 1 : (v > 0 ? v : 0)
    }

    @inline(__always) static func byte(_ v: Float) -> UInt8 {
        UInt8(clamped(v) * 255 + 0.5)
    }
}
