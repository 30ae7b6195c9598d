import SparrowRuntime

/// A batch of NHWC float32 feature maps: `values` is [B, H, W, C] (the Vision module's layout, so
/// convolutions run on the runtime's `Convolution2D` without transposes). Diffusers' tensors are NCHW;
/// conversions happen once, at the pipeline's edges.
public struct FeatureMaps: Sendable, Equatable {
    public var batch: Int
    public var shape: FeatureMapShape
    public var values: [Float]

    public init(batch: Int, shape: FeatureMapShape, values: [Float]) {
        precondition(values.count == batch * shape.count, "values must hold batch × H × W × C floats")
        self.batch = batch
        self.shape = shape
        self.values = values
    }

    public init(zeros shape: FeatureMapShape, batch: Int = 1) {
        self.init(batch: batch, shape: shape, values: [Float](repeating: 0, count: batch * shape.count))
    }

    /// Maps whose every value `fill` writes (a kernel's output): no zeroing pass over memory that is
    /// about to be overwritten.
    init(shape: FeatureMapShape, batch: Int, filledBy fill: (UnsafeMutablePointer<Float>) -> Void) {
        let n = batch * shape.count
        let values = [Float](unsafeUninitializedCapacity: n) { buffer, count in
            if n > 0 { fill(buffer.baseAddress!) }
            count = n
        }
        self.init(batch: batch, shape: shape, values: values)
    }

    /// From an NCHW array ([B, C, H, W], PyTorch's layout).
    public init(nchw values: [Float], batch: Int, channels: Int, height: Int, width: Int) {
        precondition(values.count == batch * channels * height * width)
        var out = [Float](repeating: 0, count: values.count)
        let plane = height * width
        for b in 0..<batch {
            for c in 0..<channels {
                for p in 0..<plane { out[(b * plane + p) * channels + c] = values[(b * channels + c) * plane + p] }
            }
        }
        self.init(batch: batch, shape: FeatureMapShape(height: height, width: width, channels: channels), values: out)
    }

    /// The maps as NCHW ([B, C, H, W]).
    public var nchw: [Float] {
        let C = shape.channels, plane = shape.pixelCount
        var out = [Float](repeating: 0, count: values.count)
        for b in 0..<batch {
            for p in 0..<plane {
                for c in 0..<C { out[(b * C + c) * plane + p] = values[(b * plane + p) * C + c] }
            }
        }
        return out
    }

    /// Floats per batch element.
    var elementCount: Int { shape.count }

    /// Runs `body` on each batch element's [H, W, C] floats.
    func withElements(_ body: (Int, UnsafePointer<Float>) -> Void) {
        values.withUnsafeBufferPointer { v in
            for b in 0..<batch { body(b, v.baseAddress! + b * shape.count) }
        }
    }

    /// Element-wise sum with a map of the same shape (a residual connection).
    mutating func add(_ other: FeatureMaps, context: ExecutionContext) {
        precondition(batch == other.batch && shape == other.shape)
        addResidual(other.values, into: &values, context: context)
    }

    /// Concatenation along channels (the UNet's skip connections): [B, H, W, Ca + Cb].
    static func concatenatingChannels(_ a: FeatureMaps, _ b: FeatureMaps) -> FeatureMaps {
        precondition(a.batch == b.batch && a.shape.height == b.shape.height && a.shape.width == b.shape.width)
        let (ca, cb) = (a.shape.channels, b.shape.channels), pixels = a.batch * a.shape.pixelCount
        var out = [Float](repeating: 0, count: pixels * (ca + cb))
        out.withUnsafeMutableBufferPointer { o in
            a.values.withUnsafeBufferPointer { x in
                b.values.withUnsafeBufferPointer { y in
                    for p in 0..<pixels {
                        (o.baseAddress! + p * (ca + cb)).update(from: x.baseAddress! + p * ca, count: ca)
                        (o.baseAddress! + p * (ca + cb) + ca).update(from: y.baseAddress! + p * cb, count: cb)
                    }
                }
            }
        }
        return FeatureMaps(batch: a.batch, shape: FeatureMapShape(height: a.shape.height, width: a.shape.width, channels: ca + cb),
                           values: out)
    }
}

/// y[offset ..< offset + delta.count] += delta, through the runtime's `Kernels.add`.
func addResidual(_ delta: [Float], into y: inout [Float], at offset: Int = 0, count: Int? = nil, context: ExecutionContext) {
    let n = count ?? delta.count
    precondition(n <= delta.count && offset + n <= y.count)
    delta.withUnsafeBufferPointer { d in
        y.withUnsafeMutableBufferPointer { Kernels.add(d.baseAddress!, into: $0.baseAddress! + offset, count: n, context: context) }
    }
}
