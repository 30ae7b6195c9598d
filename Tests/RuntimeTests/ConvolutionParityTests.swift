import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// Convolution fast paths (GEMM micro-kernel with indirection, depthwise, transposed) against the
/// scalar references in ConvolutionReference, on every instruction set this CPU has, plus the
/// Skip-Conv accumulate invariants and TFLite's padding rules.
@Suite(.serialized)
struct ConvolutionParityTests {
    /// Float sums in another order: error relative to Σ|products| + |bias| of each output (f32 sums
    /// of up to 128 · 25 terms).
    static let float32Reordered: Float = 1e-5
    /// Absolute floor for outputs whose terms all vanish.
    static let absoluteFloor: Float = 1e-6

    /// One dense convolution to test.
    struct DenseCase: CustomStringConvertible {
        var h, w, cin, cout, kh, kw, sy, sx: Int
        var dilation = 1
        var padding = Padding2D.zero
        var activation = FusedActivation.none
        var description: String {
            "\(h)×\(w)×\(cin)→\(cout) k\(kh)×\(kw) s\(sy),\(sx) d\(dilation) pad \(padding) \(activation)"
        }
    }

    static let denseCases: [DenseCase] = [
        // Stem: 3×3 stride 2, 3 input channels, SAME (odd sizes give asymmetric padding).
        DenseCase(h: 17, w: 19, cin: 3, cout: 16, kh: 3, kw: 3, sy: 2, sx: 2,
                  padding: Padding2D(top: 0, left: 0, bottom: 1, right: 1), activation: .relu6),
        DenseCase(h: 9, w: 11, cin: 8, cout: 5, kh: 1, kw: 1, sy: 1, sx: 1),
        DenseCase(h: 10, w: 13, cin: 16, cout: 37, kh: 1, kw: 1, sy: 1, sx: 1, activation: .relu),
        DenseCase(h: 12, w: 12, cin: 24, cout: 72, kh: 1, kw: 1, sy: 1, sx: 1),
        DenseCase(h: 8, w: 9, cin: 72, cout: 24, kh: 1, kw: 1, sy: 1, sx: 1, activation: .relu6),
        DenseCase(h: 9, w: 7, cin: 128, cout: 33, kh: 1, kw: 1, sy: 1, sx: 1),
        DenseCase(h: 8, w: 8, cin: 128, cout: 128, kh: 1, kw: 1, sy: 1, sx: 1),
        DenseCase(h: 11, w: 10, cin: 16, cout: 20, kh: 5, kw: 5, sy: 2, sx: 2,
                  padding: Padding2D(top: 1, left: 2, bottom: 0, right: 3)),
        DenseCase(h: 9, w: 10, cin: 8, cout: 17, kh: 3, kw: 3, sy: 1, sx: 1, dilation: 2,
                  padding: Padding2D(top: 2, left: 2, bottom: 2, right: 2), activation: .relu),
        DenseCase(h: 13, w: 9, cin: 24, cout: 48, kh: 3, kw: 3, sy: 2, sx: 2, activation: .reluMinus1To1),
        DenseCase(h: 7, w: 12, cin: 8, cout: 3, kh: 3, kw: 5, sy: 1, sx: 2,
                  padding: Padding2D(top: 1, left: 2, bottom: 1, right: 1)),
        DenseCase(h: 6, w: 5, cin: 16, cout: 1, kh: 1, kw: 1, sy: 2, sx: 2),
        // Long inputs that the driver splits into chunks: whole taps (40 channels: 6 taps, then 3) and
        // one tap in parts (300 channels: 160 + 140), with a clamp applied after the last chunk.
        DenseCase(h: 7, w: 6, cin: 40, cout: 70, kh: 3, kw: 3, sy: 1, sx: 1,
                  padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1), activation: .relu6),
        DenseCase(h: 5, w: 6, cin: 300, cout: 48, kh: 3, kw: 3, sy: 1, sx: 1,
                  padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1), activation: .relu),
    ]

    /// Reference output of `c` and, per output, Σ|products| + |bias| (the reference on |x|, |w|, |b|).
    static func reference(_ c: DenseCase, x: [Float], w: [Float], b: [Float]?, activation: FusedActivation)
        -> (values: [Float], magnitude: [Float], shape: FeatureMapShape)
    {
        let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.cin)
        func run(_ x: [Float], _ w: [Float], _ b: [Float]?, _ a: FusedActivation) -> (values: [Float], shape: FeatureMapShape) {
            ConvolutionReference.conv2D(
                x, shape: shape, weights: w, bias: b, outputChannels: c.cout, kernelHeight: c.kh, kernelWidth: c.kw,
                strideY: c.sy, strideX: c.sx, dilationY: c.dilation, dilationX: c.dilation, padding: c.padding,
                activation: a)
        }
        let exact = run(x, w, b, activation)
        let magnitude = run(x.map(abs), w.map(abs), b?.map(abs), .none).values
        return (exact.values, magnitude, exact.shape)
    }

    static func expectClose(_ got: [Float], _ want: [Float], magnitude: [Float], _ label: String) {
        #expect(got.count == want.count, "\(label): \(got.count) outputs, expected \(want.count)")
        var worst = (index: -1, error: Float(0))
        for i in 0..<min(got.count, want.count) {
            let allowed = float32Reordered * magnitude[i] + absoluteFloor
            let error = abs(got[i] - want[i])
            if !(error <= allowed) && (worst.index < 0 || error > worst.error) { worst = (i, error) }
        }
        #expect(worst.index < 0, "\(label): output \(worst.index) off by \(worst.error)")
    }

    static func makeConvolution(_ c: DenseCase, w: [Float], b: [Float]?, activation: FusedActivation,
                                storage: WeightStorage = .float32, algorithm: ConvolutionAlgorithm = .direct) -> Convolution2D {
        w.withUnsafeBufferPointer { wp in
            let make = { (bp: UnsafePointer<Float>?) in
                Convolution2D(
                    weights: wp.baseAddress!, bias: bp, outputChannels: c.cout, kernelHeight: c.kh, kernelWidth: c.kw,
                    inputChannels: c.cin, strideY: c.sy, strideX: c.sx, dilationY: c.dilation, dilationX: c.dilation,
                    padding: c.padding, activation: activation, storage: storage, algorithm: algorithm)
            }
            guard let b else { return make(nil) }
            return b.withUnsafeBufferPointer { make($0.baseAddress!) }
        }
    }

    static func run(_ conv: Convolution2D, _ x: [Float], shape: FeatureMapShape, context: ExecutionContext) -> [Float] {
        let out = conv.outputShape(for: shape)
        var y = [Float](repeating: .nan, count: out.count)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { conv.run(xp.baseAddress!, shape: shape, into: $0.baseAddress!, context: context) }
        }
        return y
    }

    /// Every weight storage against the reference (direct kernel).
    @Test(arguments: WeightStorage.allCases)
    func denseConvolutionMatchesReferenceOnEveryISA(storage: WeightStorage) {
        Self.expectMatchesReference(Self.denseCases, storage: storage, algorithm: .direct, seed: 0xC0417)
    }

    /// Each case with `storage` and `algorithm`, on every ISA, against the reference run on the weights
    /// the storage represents (fp16-rounded, or q · scale; see ConvolutionStorageTests.represented).
    static func expectMatchesReference(_ cases: [DenseCase], storage: WeightStorage, algorithm: ConvolutionAlgorithm,
                                       seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let context = ExecutionContext(threadCount: 1)
        for c in cases {
            let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.cin)
            let x = rng.floats(shape.count)
            let w = rng.floats(c.cout * c.kh * c.kw * c.cin, scale: 0.5)
            let b = rng.floats(c.cout)
            let kept = ConvolutionStorageTests.represented(w, cout: c.cout, storage: storage)
            let want = reference(c, x: x, w: kept, b: b, activation: c.activation)
            let conv = makeConvolution(c, w: w, b: b, activation: c.activation, storage: storage, algorithm: algorithm)
            let bytesPerWeight = storage == .float32 ? 4 : storage == .float16 ? 2 : 1
            #expect(conv.packedBytes == (c.cout + 15) / 16 * 16 * c.kh * c.kw * c.cin * bytesPerWeight)
            #expect(conv.outputShape(for: shape) == want.shape, "\(c)")
            KernelParityTests.forEachISA { isa in
                let got = run(conv, x, shape: shape, context: context)
                expectClose(got, want.values, magnitude: want.magnitude, "\(c) \(storage) \(algorithm) ISA \(isa.rawValue)")
            }
        }
    }

    @Test func denseConvolutionOnTwoThreadsMatchesReference() {
        var rng = SplitMix64(seed: 0x2C0417)
        let context = ExecutionContext(threadCount: 2)
        let cases = [
            DenseCase(h: 33, w: 31, cin: 16, cout: 24, kh: 1, kw: 1, sy: 1, sx: 1, activation: .relu),
            DenseCase(h: 34, w: 35, cin: 3, cout: 16, kh: 3, kw: 3, sy: 2, sx: 2,
                      padding: Padding2D(top: 0, left: 1, bottom: 1, right: 1)),
            DenseCase(h: 16, w: 17, cin: 72, cout: 40, kh: 1, kw: 1, sy: 1, sx: 1),
        ]
        for c in cases {
            let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.cin)
            let x = rng.floats(shape.count)
            let w = rng.floats(c.cout * c.kh * c.kw * c.cin, scale: 0.5)
            let b = rng.floats(c.cout)
            let want = Self.reference(c, x: x, w: w, b: b, activation: c.activation)
            let conv = Self.makeConvolution(c, w: w, b: b, activation: c.activation)
            let got = Self.run(conv, x, shape: shape, context: context)
            Self.expectClose(got, want.values, magnitude: want.magnitude, "\(c) on 2 threads")
        }
    }

    /// Accumulating over every output pixel into zeros is the dense result without bias and activation,
    /// bit for bit (same micro-kernel, same summation order); over a subset into existing values it
    /// adds that result at the listed pixels (up to float32 reordering: a long input is added chunk by
    /// chunk) and leaves every other pixel untouched.
    @Test func accumulateEqualsDenseWithoutBiasAndTouchesOnlyListedPixels() {
        var rng = SplitMix64(seed: 0xACC)
        for threads in [1, 2] {
            let context = ExecutionContext(threadCount: threads)
            for c in Self.denseCases + [DenseCase(h: 40, w: 37, cin: 24, cout: 40, kh: 1, kw: 1, sy: 1, sx: 1)] {
                let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.cin)
                let x = rng.floats(shape.count)
                let w = rng.floats(c.cout * c.kh * c.kw * c.cin, scale: 0.5)
                let sparse = Self.makeConvolution(c, w: w, b: rng.floats(c.cout), activation: .relu6)
                let dense = Self.makeConvolution(c, w: w, b: nil, activation: .none)
                let out = sparse.outputShape(for: shape)
                let magnitude = Self.reference(c, x: x, w: w, b: nil, activation: .none).magnitude
                let isas: [sp_isa] = threads == 1 ? KernelParityTests.isas : [sp_detected_isa()]
                for isa in isas {
                    let saved = sp_active_isa()
                    sp_set_isa(isa)
                    defer { sp_set_isa(saved) }
                    let want = Self.run(dense, x, shape: shape, context: context)
                    let all = (0..<Int32(out.pixelCount)).shuffled(using: &rng)
                    var got = [Float](repeating: 0, count: out.count)
                    Self.accumulate(sparse, x, shape: shape, pixels: all, into: &got, context: context)
                    #expect(got == want, "\(c) all pixels, ISA \(isa.rawValue), \(threads) threads")

                    let subset = Array(all.prefix(max(1, all.count / 3)))
                    let before = rng.floats(out.count)
                    var partial = before
                    Self.accumulate(sparse, x, shape: shape, pixels: subset, into: &partial, context: context)
                    var expected = before, scale = [Float](repeating: 0, count: out.count)
                    for p in subset.map(Int.init) {
                        for k in 0..<out.channels {
                            expected[p * out.channels + k] += want[p * out.channels + k]
                            scale[p * out.channels + k] = magnitude[p * out.channels + k] + abs(before[p * out.channels + k])
                        }
                    }
                    Self.expectClose(partial, expected, magnitude: scale, "\(c) subset, ISA \(isa.rawValue), \(threads) threads")
                }
            }
        }
    }

    static func accumulate(
        _ conv: Convolution2D, _ x: [Float], shape: FeatureMapShape, pixels: [Int32], into y: inout [Float],
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

    @Test func activationsClampLikeTFLite() {
        var values: [Float] = [-7, -1.5, -1, -0.25, 0, 0.5, 1, 1.5, 5.9, 6, 6.5, 100]
        let cases: [(FusedActivation, [Float])] = [
            (.none, values),
            (.relu, [0, 0, 0, 0, 0, 0.5, 1, 1.5, 5.9, 6, 6.5, 100]),
            (.relu6, [0, 0, 0, 0, 0, 0.5, 1, 1.5, 5.9, 6, 6, 6]),
            (.reluMinus1To1, [-1, -1, -1, -0.25, 0, 0.5, 1, 1, 1, 1, 1, 1]),
        ]
        for (activation, want) in cases {
            var got = values
            got.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
            #expect(got == want, "\(activation)")
            #expect(values.map { ConvolutionReference.activate($0, activation) } == want, "reference \(activation)")
        }
        values = [.nan]
        values.withUnsafeMutableBufferPointer { FusedActivation.relu6.apply($0.baseAddress!, count: 1) }
        #expect(values[0].isNaN)
    }

    /// tensorflow/lite/kernels/padding.h: out = ⌈in / s⌉ (SAME) or ⌈(in − eff + 1) / s⌉ (VALID),
    /// total = max(0, (out − 1)·s + eff − in), the odd pixel after.
    @Test func tflitePaddingRuleTable() {
        let table: [(same: Bool, input: Int, kernel: Int, stride: Int, dilation: Int, output: Int, before: Int, after: Int)] = [
            (true, 256, 3, 2, 1, 128, 0, 1),
            (true, 128, 3, 1, 1, 128, 1, 1),
            (true, 5, 5, 1, 1, 5, 2, 2),
            (true, 7, 3, 2, 1, 4, 1, 1),
            (true, 8, 1, 2, 1, 4, 0, 0),
            (true, 10, 3, 1, 2, 10, 2, 2),
            (true, 16, 5, 2, 1, 8, 1, 2),
            (false, 7, 3, 2, 1, 3, 0, 0),
            (false, 10, 3, 1, 2, 6, 0, 0),
            (false, 128, 1, 1, 1, 128, 0, 0),
        ]
        for row in table {
            let got = Padding2D.tflite(same: row.same, input: row.input, kernel: row.kernel, stride: row.stride, dilation: row.dilation)
            #expect(got.output == row.output && got.before == row.before && got.after == row.after, "\(row) got \(got)")
            // The explicit-padding output size agrees with the rule's.
            let c = Convolution2D(
                weights: [Float](repeating: 0, count: row.kernel * row.kernel), bias: nil, outputChannels: 1,
                kernelHeight: row.kernel, kernelWidth: row.kernel, inputChannels: 1, strideY: row.stride,
                strideX: row.stride, dilationY: row.dilation, dilationX: row.dilation,
                padding: Padding2D(top: got.before, left: got.before, bottom: got.after, right: got.after), activation: .none)
            #expect(c.outputShape(for: FeatureMapShape(height: row.input, width: row.input, channels: 1)).height == row.output)
        }
    }
}
