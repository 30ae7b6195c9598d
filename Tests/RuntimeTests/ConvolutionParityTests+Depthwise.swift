import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// Depthwise and transposed convolutions against ConvolutionReference.
extension ConvolutionParityTests {
    /// One depthwise convolution to test.
    struct DepthwiseCase: CustomStringConvertible {
        var h, w, c, m, kh, kw, sy, sx: Int
        var dilation = 1
        var padding = Padding2D.zero
        var activation = FusedActivation.none
        var description: String {
            "\(h)×\(w)×\(c)·\(m) k\(kh)×\(kw) s\(sy),\(sx) d\(dilation) pad \(padding) \(activation)"
        }
    }

    static let depthwiseCases: [DepthwiseCase] = [
        DepthwiseCase(h: 9, w: 10, c: 16, m: 1, kh: 3, kw: 3, sy: 1, sx: 1,
                      padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1), activation: .relu),
        DepthwiseCase(h: 11, w: 12, c: 24, m: 1, kh: 3, kw: 3, sy: 2, sx: 2,
                      padding: Padding2D(top: 0, left: 0, bottom: 1, right: 1)),
        DepthwiseCase(h: 10, w: 9, c: 72, m: 1, kh: 5, kw: 5, sy: 2, sx: 2,
                      padding: Padding2D(top: 1, left: 2, bottom: 2, right: 1), activation: .relu6),
        DepthwiseCase(h: 8, w: 8, c: 128, m: 1, kh: 5, kw: 5, sy: 1, sx: 1,
                      padding: Padding2D(top: 2, left: 2, bottom: 2, right: 2)),
        DepthwiseCase(h: 7, w: 9, c: 3, m: 1, kh: 3, kw: 3, sy: 1, sx: 1),
        DepthwiseCase(h: 9, w: 8, c: 67, m: 1, kh: 3, kw: 5, sy: 1, sx: 2, dilation: 2,
                      padding: Padding2D(top: 2, left: 4, bottom: 2, right: 3), activation: .reluMinus1To1),
        DepthwiseCase(h: 8, w: 7, c: 8, m: 2, kh: 3, kw: 3, sy: 1, sx: 1,
                      padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1)),
        DepthwiseCase(h: 6, w: 6, c: 5, m: 3, kh: 5, kw: 5, sy: 2, sx: 2,
                      padding: Padding2D(top: 2, left: 1, bottom: 2, right: 2), activation: .relu),
    ]

    static func makeDepthwise(_ c: DepthwiseCase, w: [Float], b: [Float]?, activation: FusedActivation) -> DepthwiseConvolution2D {
        w.withUnsafeBufferPointer { wp in
            let make = { (bp: UnsafePointer<Float>?) in
                DepthwiseConvolution2D(
                    weights: wp.baseAddress!, bias: bp, channels: c.c, multiplier: c.m, kernelHeight: c.kh,
                    kernelWidth: c.kw, strideY: c.sy, strideX: c.sx, dilationY: c.dilation, dilationX: c.dilation,
                    padding: c.padding, activation: activation)
            }
            guard let b else { return make(nil) }
            return b.withUnsafeBufferPointer { make($0.baseAddress!) }
        }
    }

    static func referenceDepthwise(_ c: DepthwiseCase, x: [Float], w: [Float], b: [Float]?, activation: FusedActivation)
        -> (values: [Float], magnitude: [Float], shape: FeatureMapShape)
    {
        let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.c)
        func run(_ x: [Float], _ w: [Float], _ b: [Float]?, _ a: FusedActivation) -> (values: [Float], shape: FeatureMapShape) {
            ConvolutionReference.depthwiseConv2D(
                x, shape: shape, weights: w, bias: b, multiplier: c.m, kernelHeight: c.kh, kernelWidth: c.kw,
                strideY: c.sy, strideX: c.sx, dilationY: c.dilation, dilationX: c.dilation, padding: c.padding,
                activation: a)
        }
        let exact = run(x, w, b, activation)
        return (exact.values, run(x.map(abs), w.map(abs), b?.map(abs), .none).values, exact.shape)
    }

    @Test func depthwiseMatchesReferenceOnEveryISAAndTwoThreads() {
        var rng = SplitMix64(seed: 0xD3E9)
        let contexts = [ExecutionContext(threadCount: 1), ExecutionContext(threadCount: 2)]
        for c in Self.depthwiseCases + [DepthwiseCase(h: 40, w: 33, c: 72, m: 1, kh: 5, kw: 5, sy: 1, sx: 1,
                                                      padding: Padding2D(top: 2, left: 2, bottom: 2, right: 2))] {
            let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.c)
            let x = rng.floats(shape.count)
            let w = rng.floats(c.kh * c.kw * c.c * c.m)
            let b = rng.floats(c.c * c.m)
            let want = Self.referenceDepthwise(c, x: x, w: w, b: b, activation: c.activation)
            let conv = Self.makeDepthwise(c, w: w, b: b, activation: c.activation)
            #expect(conv.outputShape(for: shape) == want.shape, "\(c)")
            KernelParityTests.forEachISA { isa in
                let got = Self.runDepthwise(conv, x, shape: shape, context: contexts[0])
                Self.expectClose(got, want.values, magnitude: want.magnitude, "\(c) ISA \(isa.rawValue)")
            }
            let got = Self.runDepthwise(conv, x, shape: shape, context: contexts[1])
            Self.expectClose(got, want.values, magnitude: want.magnitude, "\(c) on 2 threads")
        }
    }

    static func runDepthwise(_ conv: DepthwiseConvolution2D, _ x: [Float], shape: FeatureMapShape, context: ExecutionContext) -> [Float] {
        var y = [Float](repeating: .nan, count: conv.outputShape(for: shape).count)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { conv.run(xp.baseAddress!, shape: shape, into: $0.baseAddress!, context: context) }
        }
        return y
    }

    /// As for dense convolutions: accumulate over all pixels into zeros == dense without bias and
    /// activation (bit for bit), over a subset it adds exactly that at the listed pixels only.
    @Test func depthwiseAccumulateEqualsDenseWithoutBiasAndTouchesOnlyListedPixels() {
        var rng = SplitMix64(seed: 0xD3ACC)
        let context = ExecutionContext(threadCount: 1)
        for c in Self.depthwiseCases {
            let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.c)
            let x = rng.floats(shape.count)
            let w = rng.floats(c.kh * c.kw * c.c * c.m)
            let sparse = Self.makeDepthwise(c, w: w, b: rng.floats(c.c * c.m), activation: .relu)
            let dense = Self.makeDepthwise(c, w: w, b: nil, activation: .none)
            let out = sparse.outputShape(for: shape)
            KernelParityTests.forEachISA { isa in
                let want = Self.runDepthwise(dense, x, shape: shape, context: context)
                let all = (0..<Int32(out.pixelCount)).shuffled(using: &rng)
                var got = [Float](repeating: 0, count: out.count)
                Self.accumulateDepthwise(sparse, x, shape: shape, pixels: all, into: &got, context: context)
                #expect(got == want, "\(c) all pixels, ISA \(isa.rawValue)")

                let subset = Array(all.prefix(max(1, all.count / 4)))
                let before = rng.floats(out.count)
                var partial = before
                Self.accumulateDepthwise(sparse, x, shape: shape, pixels: subset, into: &partial, context: context)
                var expected = before
                for p in subset.map(Int.init) {
                    for k in 0..<out.channels { expected[p * out.channels + k] += want[p * out.channels + k] }
                }
                #expect(partial == expected, "\(c) subset, ISA \(isa.rawValue)")
            }
        }
    }

    static func accumulateDepthwise(
        _ conv: DepthwiseConvolution2D, _ x: [Float], shape: FeatureMapShape, pixels: [Int32], into y: inout [Float],
        context: ExecutionContext
    ) {
        x.withUnsafeBufferPointer { xp in
            pixels.withUnsafeBufferPointer { list in
                y.withUnsafeMutableBufferPointer {
                    conv.accumulate(xp.baseAddress!, shape: shape, pixels: list, into: $0.baseAddress!, context: context)
                }
            }
        }
    }

    @Test func transposedConvolutionMatchesReference() {
        var rng = SplitMix64(seed: 0x7C0)
        // (H, W, Cin, Cout, k, s, same): MediaPipe's selfie head first (2×2 stride 2, 16 → 1).
        let cases: [(h: Int, w: Int, cin: Int, cout: Int, k: Int, s: Int, same: Bool)] = [
            (16, 16, 16, 1, 2, 2, true), (7, 9, 16, 1, 2, 2, true), (5, 6, 8, 5, 3, 2, true),
            (6, 5, 24, 17, 3, 2, false), (4, 4, 3, 2, 4, 2, true), (5, 5, 4, 3, 3, 1, true),
        ]
        for c in cases {
            let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.cin)
            let x = rng.floats(shape.count)
            let w = rng.floats(c.cout * c.k * c.k * c.cin)
            let b = rng.floats(c.cout)
            let ry = TransposedConvolution2D.tflite(same: c.same, input: c.h, kernel: c.k, stride: c.s)
            let rx = TransposedConvolution2D.tflite(same: c.same, input: c.w, kernel: c.k, stride: c.s)
            let padding = Padding2D(top: ry.before, left: rx.before, bottom: ry.after, right: rx.after)
            let conv = TransposedConvolution2D(
                weights: w, bias: b, outputChannels: c.cout, kernelHeight: c.k, kernelWidth: c.k, inputChannels: c.cin,
                strideY: c.s, strideX: c.s, padding: padding)
            let outShape = conv.outputShape(for: shape, same: c.same)
            #expect(outShape == FeatureMapShape(height: ry.output, width: rx.output, channels: c.cout))
            func reference(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
                ConvolutionReference.transposedConv2D(
                    x, shape: shape, weights: w, bias: b, kernelHeight: c.k, kernelWidth: c.k, strideY: c.s,
                    strideX: c.s, padding: padding, outputShape: outShape)
            }
            let want = reference(x, w, b), magnitude = reference(x.map(abs), w.map(abs), b.map(abs))
            for threads in [1, 2] {
                let context = ExecutionContext(threadCount: threads)
                KernelParityTests.forEachISA { isa in
                    var got = [Float](repeating: .nan, count: outShape.count)
                    got.withUnsafeMutableBufferPointer {
                        conv.run(x, shape: shape, into: $0.baseAddress!, outputShape: outShape, context: context)
                    }
                    Self.expectClose(got, want, magnitude: magnitude, "transposed \(c) ISA \(isa.rawValue) \(threads) threads")
                }
            }
        }
    }

    /// MediaPipe's transpose_conv_bias.cc (TFLite's rule): VALID (in − 1)·s + k; SAME drops
    /// max(0, k − (in − 1) mod s − 1), half of it before.
    @Test func transposedOutputSizeRuleTable() {
        let table: [(same: Bool, input: Int, kernel: Int, stride: Int, output: Int, before: Int)] = [
            (true, 128, 2, 2, 256, 0), (true, 127, 2, 2, 253, 0), (true, 4, 3, 2, 8, 0), (true, 5, 3, 2, 9, 1),
            (true, 5, 4, 2, 9, 1), (true, 6, 3, 1, 6, 1), (false, 128, 2, 2, 256, 0), (false, 5, 3, 2, 11, 0),
        ]
        for row in table {
            let got = TransposedConvolution2D.tflite(same: row.same, input: row.input, kernel: row.kernel, stride: row.stride)
            #expect(got.output == row.output && got.before == row.before, "\(row) got \(got)")
        }
    }
}
