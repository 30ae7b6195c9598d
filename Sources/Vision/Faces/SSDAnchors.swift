/// One SSD anchor: a box centre and size in 0…1 of the detector's input tensor.
public struct SSDAnchor: Equatable, Sendable {
    public var xCenter: Float
    public var yCenter: Float
    public var width: Float
    public var height: Float

    /// An anchor centred at (`xCenter`, `yCenter`) with the given size (all relative to the input).
    public init(xCenter: Float, yCenter: Float, width: Float, height: Float) {
        self.xCenter = xCenter
        self.yCenter = yCenter
        self.width = width
        self.height = height
    }
}

/// How a single-shot detector lays its anchors over the input: one feature map per stride, every
/// cell carrying one anchor per aspect ratio (plus an interpolated-scale one).
///
/// Field meanings follow MediaPipe's `SsdAnchorsCalculatorOptions`; only the subset the BlazeFace
/// detectors use is modelled (no explicit feature-map sizes, no multiscale generation).
public struct SSDAnchorOptions: Equatable, Sendable {
    public var inputWidth: Int
    public var inputHeight: Int
    public var minScale: Float
    public var maxScale: Float
    public var anchorOffsetX: Float
    public var anchorOffsetY: Float
    /// One entry per layer; consecutive layers with the same stride share one feature map.
    public var strides: [Int]
    public var aspectRatios: [Float]
    /// Aspect ratio of the extra anchor at the geometric mean of this layer's and the next layer's
    /// scale; 0 (or less) means no extra anchor.
    public var interpolatedScaleAspectRatio: Float
    /// All anchors 1×1 (the regressors then predict absolute sizes), as BlazeFace does.
    public var hasFixedAnchorSize: Bool

    /// The options of MediaPipe's face_detection_short_range graph (face_detection.pbtxt with
    /// face_detection_short_range.pbtxt's num_layers 4, strides 8/16/16/16, 128×128 input):
    /// 16×16×2 + 8×8×6 = 896 anchors.
    public static let faceDetectionShortRange = SSDAnchorOptions(
        inputWidth: 128, inputHeight: 128, minScale: 0.1484375, maxScale: 0.75,
        anchorOffsetX: 0.5, anchorOffsetY: 0.5, strides: [8, 16, 16, 16], aspectRatios: [1.0],
        interpolatedScaleAspectRatio: 1.0, hasFixedAnchorSize: true)

    /// Options as listed; see the properties for their meaning.
    public init(inputWidth: Int, inputHeight: Int, minScale: Float, maxScale: Float,
                anchorOffsetX: Float, anchorOffsetY: Float, strides: [Int], aspectRatios: [Float],
                interpolatedScaleAspectRatio: Float, hasFixedAnchorSize: Bool) {
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.minScale = minScale
        self.maxScale = maxScale
        self.anchorOffsetX = anchorOffsetX
        self.anchorOffsetY = anchorOffsetY
        self.strides = strides
        self.aspectRatios = aspectRatios
        self.interpolatedScaleAspectRatio = interpolatedScaleAspectRatio
        self.hasFixedAnchorSize = hasFixedAnchorSize
    }

    /// The anchors in the order the model's outputs list boxes: feature maps by increasing layer,
    /// then rows, then columns, then the anchors of one cell.
    ///
    /// Matches mediapipe/calculators/tflite/ssd_anchors_calculator.cc (GenerateAnchors, the
    /// non-multiscale path without reduce_boxes_in_lowest_layer).
    public func anchors() -> [SSDAnchor] {
        precondition(inputWidth > 0 && inputHeight > 0 && strides.allSatisfy { $0 > 0 },
                     "SSDAnchorOptions need a positive input size and strides")
        var anchors: [SSDAnchor] = []
        var layer = 0
        while layer < strides.count {
            // Every layer with the same stride as `layer` contributes its anchor shapes to one map.
            var sizes: [(width: Float, height: Float)] = []
            var last = layer
            while last < strides.count && strides[last] == strides[layer] {
                let scale = Self.scale(minScale, maxScale, index: last, count: strides.count)
                for ratio in aspectRatios {
                    sizes.append(Self.size(scale: scale, aspectRatio: ratio))
                }
                if interpolatedScaleAspectRatio > 0 {
                    let next = last == strides.count - 1
                        ? Float(1) : Self.scale(minScale, maxScale, index: last + 1, count: strides.count)
                    sizes.append(Self.size(scale: (scale * next).squareRoot(),
                                           aspectRatio: interpolatedScaleAspectRatio))
                }
                last += 1
            }
            let stride = strides[layer]
            let mapHeight = (inputHeight + stride - 1) / stride    // ceil
            let mapWidth = (inputWidth + stride - 1) / stride
            for y in 0..<mapHeight {
                for x in 0..<mapWidth {
                    let xCenter = (Float(x) + anchorOffsetX) / Float(mapWidth)
                    let yCenter = (Float(y) + anchorOffsetY) / Float(mapHeight)
                    for size in sizes {
                        anchors.append(SSDAnchor(
                            xCenter: xCenter, yCenter: yCenter,
                            width: hasFixedAnchorSize ? 1 : size.width,
                            height: hasFixedAnchorSize ? 1 : size.height))
                    }
                }
            }
            layer = last
        }
        return anchors
    }

    /// Linear interpolation of the scale over the layers; the midpoint when there is one layer.
    private static func scale(_ minScale: Float, _ maxScale: Float, index: Int, count: Int) -> Float {
        count == 1 ? (minScale + maxScale) / 2
            : minScale + (maxScale - minScale) * Float(index) / Float(count - 1)
    }

    private static func size(scale: Float, aspectRatio: Float) -> (width: Float, height: Float) {
        let root = aspectRatio.squareRoot()
        return (scale * root, scale / root)
    }
}
