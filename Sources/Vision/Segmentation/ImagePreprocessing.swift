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
        let sw = image.width
        // Source taps (two indices and the second one's weight) per column and row, as the mask resize uses.
        let xs = SegmentationMask.bilinearTaps(source: sw, destination: width)
        let ys = SegmentationMask.bilinearTaps(source: image.height, destination: height)
        image.pixels.withUnsafeBufferPointer { src in
            let p = src.baseAddress!
            for y in 0..<height {
                let (j0, j1, wy) = ys[y]
                let row0 = p + j0 * sw * 3, row1 = p + j1 * sw * 3
                let o = out + y * width * 3
                for x in 0..<width {
                    let (a, b, w) = (xs[x].0 * 3, xs[x].1 * 3, xs[x].2)
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
