import SparrowRuntime

/// Turns camera frames into model inputs.
public enum ImagePreprocessing {
    /// Resamples an RGB8 image to `width × height` with bilinear interpolation at pixel centres and
    /// writes `value · scale + offset` as NHWC float32 (3 channels).
    ///
    /// Matches what MediaPipe's ImageToTensorCalculator does for the selfie, face-detection and
    /// face-landmark graphs on CPU when the whole frame is the region of interest: a stretch of the
    /// full frame to the model size (keep_aspect_ratio false) with OpenCV's INTER_LINEAR
    /// (half-pixel centres, edge pixels clamped), then the float range mapping
    /// (`scale = 1/255, offset = 0` for [0, 1]; `scale = 2/255, offset = −1` for [−1, 1]).
    public static func resample(_ image: RGBImage, width: Int, height: Int, scale: Float, offset: Float,
                                into out: UnsafeMutablePointer<Float>) {
        precondition(width > 0 && height > 0)
        let (sw, sh) = (image.width, image.height)
        let fx = Float(sw) / Float(width), fy = Float(sh) / Float(height)
        // Column taps once per row: source column pair and weight.
        var x0 = [Int](repeating: 0, count: width), x1 = x0, wx = [Float](repeating: 0, count: width)
        for x in 0..<width {
            let s = max(0, (Float(x) + 0.5) * fx - 0.5)
            let i = min(Int(s), sw - 1)
            x0[x] = i * 3
            x1[x] = min(i + 1, sw - 1) * 3
            wx[x] = i + 1 < sw ? s - Float(i) : 0
        }
        image.pixels.withUnsafeBufferPointer { src in
            let p = src.baseAddress!
            for y in 0..<height {
                let s = max(0, (Float(y) + 0.5) * fy - 0.5)
                let j = min(Int(s), sh - 1)
                let wy = j + 1 < sh ? s - Float(j) : 0
                let row0 = p + j * sw * 3, row1 = p + min(j + 1, sh - 1) * sw * 3
                let o = out + y * width * 3
                for x in 0..<width {
                    let (a, b, w) = (x0[x], x1[x], wx[x])
                    for c in 0..<3 {
                        let top = Float(row0[a + c]) + (Float(row0[b + c]) - Float(row0[a + c])) * w
                        let bottom = Float(row1[a + c]) + (Float(row1[b + c]) - Float(row1[a + c])) * w
                        o[x * 3 + c] = (top + (bottom - top) * wy) * scale + offset
                    }
                }
            }
        }
    }
}
