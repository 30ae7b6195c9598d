import Foundation

/// Scalar reference twins of the NHWC image ops in `Kernels` (Elementwise.swift, ImageOps.swift):
/// plain loops on arrays that state TFLite's reference formulas (tensorflow/lite/kernels/internal/
/// reference/*) in float, operation for operation, so the fast paths can be held to them exactly.
/// Tests use these; models never do.
public enum ImageOpsReference {
    /// TFLite's ActivationFunctionWithMinMax: std::min(std::max(x, lo), hi).
    static func activate(_ x: Float, _ activation: FusedActivation) -> Float {
        guard let (lo, hi) = Kernels.clampBounds(activation) else { return x }
        let m = x < lo ? lo : x
        return hi < m ? hi : m
    }

    /// Element (p, c) of an operand under the broadcasting of `Kernels.add`.
    private static func element(_ v: [Float], _ kind: Kernels.BroadcastOperand, pixel p: Int, channel c: Int, channels: Int) -> Float {
        switch kind {
        case .full: return v[p * channels + c]
        case .perChannel: return v[c]
        case .scalar: return v[0]
        }
    }

    /// Applies `f` element by element under `Kernels.add`'s broadcasting; returns the output.
    private static func broadcasting(
        _ a: [Float], _ aShape: FeatureMapShape, _ b: [Float], _ bShape: FeatureMapShape, _ f: (Float, Float) -> Float
    ) -> [Float] {
        guard let layout = Kernels.broadcast(aShape, bShape) else { preconditionFailure("shapes do not broadcast") }
        let s = layout.shape
        var out = [Float](repeating: 0, count: s.count)
        for p in 0..<s.pixelCount {
            for c in 0..<s.channels {
                out[p * s.channels + c] = f(element(a, layout.a, pixel: p, channel: c, channels: s.channels),
                                            element(b, layout.b, pixel: p, channel: c, channels: s.channels))
            }
        }
        return out
    }

    /// act(a + b), broadcasting (matches reference/add.h, float).
    public static func add(_ a: [Float], _ aShape: FeatureMapShape, _ b: [Float], _ bShape: FeatureMapShape,
                           activation: FusedActivation) -> [Float] {
        broadcasting(a, aShape, b, bShape) { activate($0 + $1, activation) }
    }

    /// act(a · b), broadcasting (matches reference/mul.h, float).
    public static func multiply(_ a: [Float], _ aShape: FeatureMapShape, _ b: [Float], _ bShape: FeatureMapShape,
                                activation: FusedActivation) -> [Float] {
        broadcasting(a, aShape, b, bShape) { activate($0 * $1, activation) }
    }

    /// x ≥ 0 ? x : alpha · x, alpha broadcast (matches reference/prelu.h, float).
    public static func prelu(_ x: [Float], shape: FeatureMapShape, alpha: [Float], alphaShape: FeatureMapShape) -> [Float] {
        broadcasting(x, shape, alpha, alphaShape) { $0 >= 0 ? $0 : $0 * $1 }
    }

    /// max(x, 0) (reference Relu: x < 0 ? 0 : x).
    public static func relu(_ x: [Float]) -> [Float] { x.map { $0 < 0 ? 0 : $0 } }

    /// x · min(max(x + 3, 0), 6) / 6 (matches reference/hard_swish.h).
    public static func hardSwish(_ x: [Float]) -> [Float] {
        x.map { v in
            let t = v + 3, m = 0 < t ? t : 0     // std::max(0, v + 3)
            return v * (m < 6 ? m : 6) / 6       // std::min(6, ·)
        }
    }

    /// 1 above 16.619047164916992188, e^x below −9, else 1 / (1 + e^−x) (matches reference/logistic.h).
    public static func logistic(_ x: [Float]) -> [Float] {
        x.map { v in v > 16.619047164916992188 ? 1 : v < -9 ? Foundation.exp(v) : 1 / (1 + Foundation.exp(-v)) }
    }

    /// Average (mean of in-bounds taps) or max pool with explicit padding, then the activation
    /// (matches reference/pooling.h AveragePool / MaxPool, float). Output shape: `Kernels.pool2DOutputShape`.
    public static func pool2D(
        isMax: Bool, _ input: [Float], shape: FeatureMapShape, filterHeight: Int, filterWidth: Int,
        strideY: Int, strideX: Int, padding: Padding2D, activation: FusedActivation
    ) -> [Float] {
        let o = Kernels.pool2DOutputShape(for: shape, filterHeight: filterHeight, filterWidth: filterWidth,
                                          strideY: strideY, strideX: strideX, padding: padding)
        let (H, W, C) = (shape.height, shape.width, shape.channels)
        var out = [Float](repeating: 0, count: o.count)
        for oy in 0..<o.height {
            for ox in 0..<o.width {
                for c in 0..<C {
                    var total: Float = 0, count: Float = 0, maximum = -Float.greatestFiniteMagnitude
                    for fy in 0..<filterHeight {
                        for fx in 0..<filterWidth {
                            let y = oy * strideY - padding.top + fy, x = ox * strideX - padding.left + fx
                            guard y >= 0 && y < H && x >= 0 && x < W else { continue }
                            let v = input[(y * W + x) * C + c]
                            total += v
                            count += 1
                            maximum = maximum < v ? v : maximum
                        }
                    }
                    out[(oy * o.width + ox) * C + c] = activate(isMax ? maximum : total / count, activation)
                }
            }
        }
        return out
    }

    /// Per-channel mean over pixels, summed in pixel order then divided (reference/reduce.h Mean).
    public static func meanOverPixels(_ input: [Float], shape: FeatureMapShape) -> [Float] {
        (0..<shape.channels).map { c in
            var sum: Float = 0
            for p in 0..<shape.pixelCount { sum += input[p * shape.channels + c] }
            return sum / Float(shape.pixelCount)
        }
    }

    /// Bilinear resize (matches reference/resize_bilinear.h ResizeBilinear and
    /// ComputeInterpolationValues, float, operation for operation).
    public static func resizeBilinear(_ input: [Float], shape: FeatureMapShape, outputHeight: Int, outputWidth: Int,
                                      alignCorners: Bool, halfPixelCenters: Bool) -> [Float] {
        let (H, W, C) = (shape.height, shape.width, shape.channels)
        var heightScale = Float(H) / Float(outputHeight), widthScale = Float(W) / Float(outputWidth)
        if alignCorners && outputHeight > 1 { heightScale = Float(H - 1) / Float(outputHeight - 1) }
        if alignCorners && outputWidth > 1 { widthScale = Float(W - 1) / Float(outputWidth - 1) }
        func source(_ i: Int, _ scale: Float, _ size: Int) -> (position: Float, lower: Int, upper: Int) {
            let s = halfPixelCenters ? (Float(i) + 0.5) * scale - 0.5 : Float(i) * scale
            return (s, max(Int(s.rounded(.down)), 0), min(Int(s.rounded(.up)), size - 1))
        }
        var out = [Float](repeating: 0, count: outputHeight * outputWidth * C)
        for y in 0..<outputHeight {
            let (iy, y0, y1) = source(y, heightScale, H)
            for x in 0..<outputWidth {
                let (ix, x0, x1) = source(x, widthScale, W)
                for c in 0..<C {
                    let v00 = input[(y0 * W + x0) * C + c], v10 = input[(y1 * W + x0) * C + c]
                    let v01 = input[(y0 * W + x1) * C + c], v11 = input[(y1 * W + x1) * C + c]
                    let dy = iy - Float(y0), dx = ix - Float(x0)
                    let t0 = v00 * (1 - dy) * (1 - dx), t1 = v10 * dy * (1 - dx)
                    let t2 = v01 * (1 - dy) * dx, t3 = v11 * dy * dx
                    out[(y * outputWidth + x) * C + c] = t0 + t1 + t2 + t3
                }
            }
        }
        return out
    }

    /// Zero padding of an H×W×C map by `before` / `after` elements per axis.
    public static func pad(_ input: [Float], shape: FeatureMapShape, before: (y: Int, x: Int, c: Int),
                           after: (y: Int, x: Int, c: Int)) -> [Float] {
        let Ho = shape.height + before.y + after.y, Wo = shape.width + before.x + after.x
        let Co = shape.channels + before.c + after.c
        var out = [Float](repeating: 0, count: Ho * Wo * Co)
        for y in 0..<shape.height {
            for x in 0..<shape.width {
                for c in 0..<shape.channels {
                    out[((y + before.y) * Wo + x + before.x) * Co + c + before.c] = input[(y * shape.width + x) * shape.channels + c]
                }
            }
        }
        return out
    }

    /// Concatenation along one axis: for each outer index, each part's `inner` values in turn.
    public static func concatenate(_ parts: [(values: [Float], inner: Int)], outerCount: Int) -> [Float] {
        var out: [Float] = []
        for o in 0..<outerCount {
            for part in parts { out += part.values[(o * part.inner)..<((o + 1) * part.inner)] }
        }
        return out
    }

    /// Float(v) · scale + offset per byte.
    public static func imageToFloat(_ pixels: [UInt8], scale: Float, offset: Float) -> [Float] {
        pixels.map { Float($0) * scale + offset }
    }
}
