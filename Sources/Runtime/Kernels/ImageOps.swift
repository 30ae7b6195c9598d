import CSparrowKernels

/// Spatial NHWC ops of TFLite vision models (AVERAGE_POOL_2D, MAX_POOL_2D, MEAN over pixels,
/// RESIZE_BILINEAR, PAD, CONCATENATION) and the RGB8 → float input conversion, with the formulas of
/// TFLite's reference kernels. Fast paths: image_ops.h; scalar twins: `ImageOpsReference`.
extension Kernels {
    /// Output shape of a 2-D pool (and of any windowed op) with explicit padding:
    /// (H + top + bottom − filter) / stride + 1 per axis, which equals TFLite's SAME / VALID output
    /// size when the padding comes from its rule (tensorflow/lite/kernels/padding.h).
    public static func pool2DOutputShape(
        for input: FeatureMapShape, filterHeight: Int, filterWidth: Int, strideY: Int, strideX: Int, padding: Padding2D
    ) -> FeatureMapShape {
        precondition(filterHeight > 0 && filterWidth > 0 && strideY > 0 && strideX > 0, "pool: filter and stride must be positive")
        let h = input.height + padding.top + padding.bottom - filterHeight
        let w = input.width + padding.left + padding.right - filterWidth
        return FeatureMapShape(height: h < 0 ? 0 : h / strideY + 1, width: w < 0 ? 0 : w / strideX + 1, channels: input.channels)
    }

    /// Average pool: each output is the mean of the window's in-bounds taps (padding taps are not
    /// counted, as in tensorflow/lite/kernels/internal/reference/pooling.h AveragePool), then the
    /// fused activation. Output shape: `pool2DOutputShape`. Threads over output rows for large maps.
    public static func averagePool2D(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, filterHeight: Int, filterWidth: Int,
        strideY: Int, strideX: Int, padding: Padding2D, activation: FusedActivation,
        into out: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        pool2D(isMax: false, input, shape: shape, filterHeight: filterHeight, filterWidth: filterWidth, strideY: strideY,
               strideX: strideX, padding: padding, activation: activation, into: out, context: context)
    }

    /// Max pool over the window's in-bounds taps (reference/pooling.h MaxPool), then the fused
    /// activation. Output shape: `pool2DOutputShape`.
    public static func maxPool2D(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, filterHeight: Int, filterWidth: Int,
        strideY: Int, strideX: Int, padding: Padding2D, activation: FusedActivation,
        into out: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        pool2D(isMax: true, input, shape: shape, filterHeight: filterHeight, filterWidth: filterWidth, strideY: strideY,
               strideX: strideX, padding: padding, activation: activation, into: out, context: context)
    }

    private static func pool2D(
        isMax: Bool, _ input: UnsafePointer<Float>, shape: FeatureMapShape, filterHeight: Int, filterWidth: Int,
        strideY: Int, strideX: Int, padding: Padding2D, activation: FusedActivation,
        into out: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        // Every window must hold an in-bounds tap (TFLite fails the op otherwise).
        precondition(padding.top < filterHeight && padding.bottom < filterHeight && padding.left < filterWidth
                     && padding.right < filterWidth, "pool: padding \(padding) must be smaller than the filter")
        let start = OpAccounting.now()
        let o = pool2DOutputShape(for: shape, filterHeight: filterHeight, filterWidth: filterWidth, strideY: strideY,
                                  strideX: strideX, padding: padding)
        let clamp = clampBounds(activation)
        var params = sp_pool2d_params(
            height: Int64(shape.height), width: Int64(shape.width), channels: Int64(shape.channels),
            output_height: Int64(o.height), output_width: Int64(o.width), filter_height: Int64(filterHeight),
            filter_width: Int64(filterWidth), stride_y: Int64(strideY), stride_x: Int64(strideX),
            pad_top: Int64(padding.top), pad_left: Int64(padding.left), is_max: isMax ? 1 : 0,
            clamp: clamp == nil ? 0 : 1, lo: clamp?.lo ?? 0, hi: clamp?.hi ?? 0)
        forRows(o, context: context) { rows in
            sp_pool2d(&params, input, out, Int64(rows.lowerBound), Int64(rows.upperBound))
        }
        context.accounting.record(.other, since: start, bytes: (shape.count + o.count) * 4,
                                  macs: o.count * filterHeight * filterWidth)
    }

    /// Mean of each channel over all pixels: out[c] = (Σ_p input[p, c]) / (H·W), summed in pixel
    /// order (TFLite MEAN over axes 1, 2 as reference/reduce.h computes it). out: [1, 1, C].
    public static func meanOverPixels(_ input: UnsafePointer<Float>, shape: FeatureMapShape, into out: UnsafeMutablePointer<Float>) {
        precondition(shape.pixelCount > 0, "meanOverPixels: empty map \(shape)")
        sp_mean_pixels(input, Int64(shape.pixelCount), Int64(shape.channels), out)
    }

    /// Bilinear resize to outputHeight × outputWidth (channels kept), exactly as
    /// tensorflow/lite/kernels/internal/reference/resize_bilinear.h: scale in/out (or (in−1)/(out−1)
    /// with alignCorners), source coordinate i·scale (or (i+0.5)·scale−0.5 with halfPixelCenters),
    /// taps floor / ceil clamped to the map. Threads over output rows for large maps.
    public static func resizeBilinear(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, outputHeight: Int, outputWidth: Int,
        alignCorners: Bool, halfPixelCenters: Bool, into out: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) {
        precondition(shape.pixelCount > 0 && outputHeight > 0 && outputWidth > 0, "resizeBilinear: empty map")
        let start = OpAccounting.now()
        let o = FeatureMapShape(height: outputHeight, width: outputWidth, channels: shape.channels)
        forRows(o, context: context) { rows in
            sp_resize_bilinear(input, Int64(shape.height), Int64(shape.width), Int64(shape.channels), Int64(outputHeight),
                               Int64(outputWidth), alignCorners ? 1 : 0, halfPixelCenters ? 1 : 0, out,
                               Int64(rows.lowerBound), Int64(rows.upperBound))
        }
        context.accounting.record(.other, since: start, bytes: (shape.count + o.count) * 4, macs: o.count * 4)
    }

    /// Runs `body` over the output rows of `shape`, split over threads when the map is large.
    private static func forRows(_ shape: FeatureMapShape, context: ExecutionContext, _ body: (Range<Int>) -> Void) {
        if context.threadCount > 1 && shape.count >= imageOpsParallelThreshold && shape.height > 1 {
            context.pool.parallelFor(shape.height, granularity: 1, body)
        } else if shape.height > 0 {
            body(0..<shape.height)
        }
    }

    /// Zero padding (TFLite PAD / PADV2 with a zero constant): out is
    /// (H + before.y + after.y) × (W + before.x + after.x) × (C + before.c + after.c) with the input
    /// at offset (before.y, before.x, before.c).
    public static func pad(
        _ input: UnsafePointer<Float>, shape: FeatureMapShape, before: (y: Int, x: Int, c: Int),
        after: (y: Int, x: Int, c: Int), into out: UnsafeMutablePointer<Float>
    ) {
        precondition(before.y >= 0 && before.x >= 0 && before.c >= 0 && after.y >= 0 && after.x >= 0 && after.c >= 0,
                     "pad: negative padding")
        let (H, W, C) = (shape.height, shape.width, shape.channels)
        let Wo = W + before.x + after.x, Co = C + before.c + after.c
        let rowFloats = Wo * Co
        out.update(repeating: 0, count: (H + before.y + after.y) * rowFloats)
        for y in 0..<H {
            let row = out + (y + before.y) * rowFloats + before.x * Co + before.c
            if before.c == 0 && after.c == 0 {
                row.update(from: input + y * W * C, count: W * C)
            } else {
                for x in 0..<W { (row + x * Co).update(from: input + (y * W + x) * C, count: C) }
            }
        }
    }

    /// Concatenation of row-major tensors along one axis, given as outer count × each part's inner
    /// size: out[o] = part₀[o] ++ part₁[o] ++ …, each partᵢ[o] being `inner` floats at o·inner.
    /// (Channels of NHWC maps: outerCount = H·W, inner = Cᵢ.)
    public static func concatenate(_ parts: [(UnsafePointer<Float>, Int)], outerCount: Int, into out: UnsafeMutablePointer<Float>) {
        let total = parts.reduce(0) { $0 + $1.1 }
        var offset = 0
        for (source, inner) in parts {
            if outerCount == 1 || parts.count == 1 {
                (out + offset * outerCount).update(from: source, count: outerCount * inner)
            } else {
                for o in 0..<outerCount { (out + o * total + offset).update(from: source + o * inner, count: inner) }
            }
            offset += inner
        }
    }

    /// Interleaved 8-bit pixels (e.g. RGB) to floats: out[i] = Float(pixels[i]) · scale + offset for
    /// width · height · channels values, no fused multiply-add. MediaPipe's inputs: scale 1/255,
    /// offset 0 for [0, 1]; scale 2/255, offset −1 for [−1, 1].
    public static func imageToFloat(
        _ pixels: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int = 3, scale: Float, offset: Float,
        into out: UnsafeMutablePointer<Float>
    ) {
        sp_u8_to_f32_affine(pixels, out, Int64(width * height * channels), scale, offset)
    }
}
