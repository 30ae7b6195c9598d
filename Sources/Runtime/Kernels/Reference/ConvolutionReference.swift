import Foundation

/// Scalar reference twins of the convolutions: plain loops over NHWC [Float] maps with Double
/// accumulation, written from the ops' definitions (TFLite reference_ops semantics). The fast paths
/// in Convolution.swift, DepthwiseConvolution.swift and TransposedConvolution.swift are tested
/// against these; models never call them.
public enum ConvolutionReference {
    /// The fused activation of one value (NaN stays NaN).
    public static func activate(_ x: Float, _ activation: FusedActivation) -> Float {
        let (lo, hi) = activation.bounds
        var v = x
        if v < lo { v = lo }
        if v > hi { v = hi }
        return v
    }

    /// Dense convolution. input [H, W, Cin]; weights [Cout, kH, kW, Cin] (OHWI); bias [Cout] or nil.
    /// Returns the output map [Ho, Wo, Cout] and its shape.
    public static func conv2D(
        _ input: [Float], shape: FeatureMapShape, weights: [Float], bias: [Float]?, outputChannels Co: Int,
        kernelHeight kH: Int, kernelWidth kW: Int, strideY: Int, strideX: Int, dilationY: Int = 1,
        dilationX: Int = 1, padding: Padding2D, activation: FusedActivation
    ) -> (values: [Float], shape: FeatureMapShape) {
        let (H, W, Ci) = (shape.height, shape.width, shape.channels)
        let Ho = (H + padding.top + padding.bottom - ((kH - 1) * dilationY + 1)) / strideY + 1
        let Wo = (W + padding.left + padding.right - ((kW - 1) * dilationX + 1)) / strideX + 1
        var out = [Float](repeating: 0, count: Ho * Wo * Co)
        for oy in 0..<Ho {
            for ox in 0..<Wo {
                for co in 0..<Co {
                    var acc = Double(bias?[co] ?? 0)
                    for ky in 0..<kH {
                        let iy = oy * strideY - padding.top + ky * dilationY
                        guard iy >= 0 && iy < H else { continue }
                        for kx in 0..<kW {
                            let ix = ox * strideX - padding.left + kx * dilationX
                            guard ix >= 0 && ix < W else { continue }
                            for ci in 0..<Ci {
                                acc += Double(input[(iy * W + ix) * Ci + ci]) * Double(weights[((co * kH + ky) * kW + kx) * Ci + ci])
                            }
                        }
                    }
                    out[(oy * Wo + ox) * Co + co] = activate(Float(acc), activation)
                }
            }
        }
        return (out, FeatureMapShape(height: Ho, width: Wo, channels: Co))
    }

    /// Depthwise convolution with channel multiplier m: output channel c·m + j reads input channel c.
    /// input [H, W, C]; weights [kH, kW, C·m]; bias [C·m] or nil. Returns [Ho, Wo, C·m] and its shape.
    public static func depthwiseConv2D(
        _ input: [Float], shape: FeatureMapShape, weights: [Float], bias: [Float]?, multiplier m: Int,
        kernelHeight kH: Int, kernelWidth kW: Int, strideY: Int, strideX: Int, dilationY: Int = 1,
        dilationX: Int = 1, padding: Padding2D, activation: FusedActivation
    ) -> (values: [Float], shape: FeatureMapShape) {
        let (H, W, C) = (shape.height, shape.width, shape.channels)
        let Co = C * m
        let Ho = (H + padding.top + padding.bottom - ((kH - 1) * dilationY + 1)) / strideY + 1
        let Wo = (W + padding.left + padding.right - ((kW - 1) * dilationX + 1)) / strideX + 1
        var out = [Float](repeating: 0, count: Ho * Wo * Co)
        for oy in 0..<Ho {
            for ox in 0..<Wo {
                for c in 0..<C {
                    for j in 0..<m {
                        let o = c * m + j
                        var acc = Double(bias?[o] ?? 0)
                        for ky in 0..<kH {
                            let iy = oy * strideY - padding.top + ky * dilationY
                            guard iy >= 0 && iy < H else { continue }
                            for kx in 0..<kW {
                                let ix = ox * strideX - padding.left + kx * dilationX
                                guard ix >= 0 && ix < W else { continue }
                                acc += Double(input[(iy * W + ix) * C + c]) * Double(weights[(ky * kW + kx) * Co + o])
                            }
                        }
                        out[(oy * Wo + ox) * Co + o] = activate(Float(acc), activation)
                    }
                }
            }
        }
        return (out, FeatureMapShape(height: Ho, width: Wo, channels: Co))
    }

    /// Transposed convolution with bias, as TFLite's reference TransposeConv (with MediaPipe's bias):
    /// output = bias, then every input value times every weight tap is added at output pixel
    /// (iy·sy − top + ky, ix·sx − left + kx) when that lies inside `outputShape`.
    /// input [H, W, Cin]; weights [Cout, kH, kW, Cin]; bias [Cout] or nil.
    public static func transposedConv2D(
        _ input: [Float], shape: FeatureMapShape, weights: [Float], bias: [Float]?, kernelHeight kH: Int,
        kernelWidth kW: Int, strideY: Int, strideX: Int, padding: Padding2D, outputShape: FeatureMapShape
    ) -> [Float] {
        let (H, W, Ci) = (shape.height, shape.width, shape.channels)
        let (Ho, Wo, Co) = (outputShape.height, outputShape.width, outputShape.channels)
        var acc = [Double](repeating: 0, count: Ho * Wo * Co)
        for p in 0..<(Ho * Wo) {
            for co in 0..<Co { acc[p * Co + co] = Double(bias?[co] ?? 0) }
        }
        for iy in 0..<H {
            for ix in 0..<W {
                for ky in 0..<kH {
                    let oy = iy * strideY - padding.top + ky
                    guard oy >= 0 && oy < Ho else { continue }
                    for kx in 0..<kW {
                        let ox = ix * strideX - padding.left + kx
                        guard ox >= 0 && ox < Wo else { continue }
                        for co in 0..<Co {
                            for ci in 0..<Ci {
                                acc[(oy * Wo + ox) * Co + co] +=
                                    Double(input[(iy * W + ix) * Ci + ci]) * Double(weights[((co * kH + ky) * kW + kx) * Ci + ci])
                            }
                        }
                    }
                }
            }
        }
        return acc.map { Float($0) }
    }
}
