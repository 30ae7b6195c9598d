import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// The image-op fast paths (image_ops.h, every instruction set this CPU has, forced with `sp_set_isa`;
/// 1 and 2 threads) against `ImageOpsReference`. The kernels evaluate the reference's float operations
/// in the same order, so everything is bit-identical except logistic, whose vector exp is within a
/// few ulp of libm's.
@Suite(.serialized)
struct ImageOpsParityTests {
    /// Same operations in the same order: identical bits.
    static let exact: Float = 0
    /// Logistic with the vector exp: relative to the reference value, plus an absolute floor for
    /// results below e^-87 (where the vector exp clamps its input).
    static let logisticRelative: Float = 2e-6
    static let logisticAbsolute: Float = 1e-37

    static let channelCounts = [1, 3, 8, 16, 17, 72, 128]
    static let sizes: [(h: Int, w: Int)] = [(1, 1), (5, 7), (4, 3)]
    static let contexts = [ExecutionContext(threadCount: 1), ExecutionContext(threadCount: 2)]

    static var isas: [sp_isa] {
        [SP_ISA_SCALAR, SP_ISA_AVX2, SP_ISA_AVX512].filter { $0.rawValue <= sp_detected_isa().rawValue }
    }

    /// Runs `body` once per available instruction set and context, restoring the active ISA afterwards.
    static func forEachISA(_ body: (sp_isa, ExecutionContext) throws -> Void) rethrows {
        let saved = sp_active_isa()
        defer { sp_set_isa(saved) }
        for isa in isas {
            sp_set_isa(isa)
            for context in contexts { try body(isa, context) }
        }
    }

    static func shape(_ h: Int, _ w: Int, _ c: Int) -> FeatureMapShape { FeatureMapShape(height: h, width: w, channels: c) }

    /// The largest |got − want| over the elements, or infinity on a count mismatch.
    static func worst(_ got: [Float], _ want: [Float]) -> Float {
        guard got.count == want.count else { return .infinity }
        var w: Float = 0
        for i in got.indices where got[i] != want[i] { w = max(w, abs(got[i] - want[i]).isNaN ? .infinity : abs(got[i] - want[i])) }
        return w
    }

    /// Runs a kernel writing `count` floats and returns them.
    static func output(_ count: Int, _ kernel: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        out.withUnsafeMutableBufferPointer { kernel($0.baseAddress!) }
        return out
    }

    @Test func broadcastingBinaryOpsMatchReference() {
        var rng = SplitMix64(seed: 0xADD)
        let activations: [FusedActivation] = [.none, .relu, .relu6, .reluMinus1To1]
        var shapes = Self.channelCounts.flatMap { c in Self.sizes.map { Self.shape($0.h, $0.w, c) } }
        shapes.append(Self.shape(33, 31, 72))   // ≥ 64K elements: split over threads
        for (i, s) in shapes.enumerated() {
            let perChannel = Self.shape(1, 1, s.channels), scalar = Self.shape(1, 1, 1)
            let activation = activations[i % activations.count]
            for (aShape, bShape) in [(s, s), (s, perChannel), (perChannel, s), (s, scalar), (scalar, s)] {
                let a = rng.floats(aShape.count, scale: 4), b = rng.floats(bShape.count, scale: 4)
                let wantAdd = ImageOpsReference.add(a, aShape, b, bShape, activation: activation)
                let wantMul = ImageOpsReference.multiply(a, aShape, b, bShape, activation: activation)
                Self.forEachISA { isa, context in
                    let add = Self.output(s.count) { Kernels.add(a, aShape, b, bShape, into: $0, activation: activation, context: context) }
                    let mul = Self.output(s.count) { Kernels.multiply(a, aShape, b, bShape, into: $0, activation: activation, context: context) }
                    #expect(Self.worst(add, wantAdd) <= Self.exact, "add \(aShape) + \(bShape) \(activation) isa \(isa.rawValue) threads \(context.threadCount)")
                    #expect(Self.worst(mul, wantMul) <= Self.exact, "mul \(aShape) · \(bShape) \(activation) isa \(isa.rawValue) threads \(context.threadCount)")
                }
            }
            for alphaShape in [s, perChannel, scalar] {
                var x = rng.floats(s.count, scale: 4)
                x[0] = 0
                let alpha = rng.floats(alphaShape.count)
                let want = ImageOpsReference.prelu(x, shape: s, alpha: alpha, alphaShape: alphaShape)
                Self.forEachISA { isa, _ in
                    let got = Self.output(s.count) { Kernels.prelu(x, shape: s, alpha: alpha, alphaShape: alphaShape, into: $0) }
                    #expect(Self.worst(got, want) <= Self.exact, "prelu \(s) alpha \(alphaShape) isa \(isa.rawValue)")
                }
            }
        }
    }

    @Test func unaryActivationsMatchReference() {
        var rng = SplitMix64(seed: 0x5111)
        // Cutoffs, signed zeros, saturation and underflow, then random values; counts leave partial vectors.
        var x: [Float] = [0, -0.0, -3, 3, -2.9999998, 16.619047, 16.619049, -9, -9.000001, 87, -87, -88, -104, 1e4, -1e4]
        x += rng.floats(1037 - x.count, scale: 12)
        for n in [x.count, 17, 15, 8, 7, 1] {
            let v = Array(x[0..<n])
            let wantRelu = ImageOpsReference.relu(v), wantSwish = ImageOpsReference.hardSwish(v)
            let wantLogistic = ImageOpsReference.logistic(v)
            Self.forEachISA { isa, context in
                guard context.threadCount == 1 else { return }
                #expect(Self.worst(Self.output(n) { Kernels.relu(v, count: n, into: $0) }, wantRelu) <= Self.exact, "relu n \(n) isa \(isa.rawValue)")
                #expect(Self.worst(Self.output(n) { Kernels.hardSwish(v, count: n, into: $0) }, wantSwish) <= Self.exact,
                        "hardSwish n \(n) isa \(isa.rawValue)")
                let got = Self.output(n) { Kernels.logistic(v, count: n, into: $0) }
                for i in 0..<n {
                    let err = abs(got[i] - wantLogistic[i])
                    #expect(err <= Self.logisticRelative * wantLogistic[i] + Self.logisticAbsolute,
                            "logistic(\(v[i])) isa \(isa.rawValue): \(got[i]) vs \(wantLogistic[i])")
                }
            }
        }
        // In place.
        var y = Array(x[0..<100])
        let want = ImageOpsReference.hardSwish(y)
        y.withUnsafeMutableBufferPointer { Kernels.hardSwish($0.baseAddress!, count: 100, into: $0.baseAddress!) }
        #expect(y == want)
    }

    /// (filter, stride, padding) of the pools in MediaPipe's models and odd ones.
    static let poolConfigurations: [(fh: Int, fw: Int, sy: Int, sx: Int, padding: Padding2D)] = [
        (3, 3, 1, 1, Padding2D(top: 1, left: 1, bottom: 1, right: 1)),
        (2, 2, 2, 2, .zero),
        (3, 3, 2, 2, Padding2D(top: 0, left: 0, bottom: 1, right: 1)),
        (2, 3, 1, 2, Padding2D(top: 1, left: 2, bottom: 0, right: 1)),
    ]

    @Test func poolsMatchReference() {
        var rng = SplitMix64(seed: 0x9001)
        let activations: [FusedActivation] = [.none, .relu6]
        var shapes = Self.channelCounts.map { Self.shape(5, 7, $0) } + [Self.shape(4, 3, 17), Self.shape(1, 1, 3)]
        shapes.append(Self.shape(65, 63, 16))   // ≥ 64K output elements with stride 1: threads over rows
        for s in shapes {
            let input = rng.floats(s.count, scale: 8)
            var configurations = Self.poolConfigurations.filter { $0.fh <= s.height + $0.padding.top + $0.padding.bottom && $0.fw <= s.width + $0.padding.left + $0.padding.right }
            configurations.append((s.height, s.width, 1, 1, .zero))   // global pool
            for (k, q) in configurations.enumerated() {
                let activation = activations[k % 2]
                let o = Kernels.pool2DOutputShape(for: s, filterHeight: q.fh, filterWidth: q.fw, strideY: q.sy, strideX: q.sx, padding: q.padding)
                for isMax in [false, true] {
                    let want = ImageOpsReference.pool2D(isMax: isMax, input, shape: s, filterHeight: q.fh, filterWidth: q.fw,
                                                        strideY: q.sy, strideX: q.sx, padding: q.padding, activation: activation)
                    Self.forEachISA { isa, context in
                        let got = Self.output(o.count) { out in
                            if isMax {
                                Kernels.maxPool2D(input, shape: s, filterHeight: q.fh, filterWidth: q.fw, strideY: q.sy, strideX: q.sx,
                                                  padding: q.padding, activation: activation, into: out, context: context)
                            } else {
                                Kernels.averagePool2D(input, shape: s, filterHeight: q.fh, filterWidth: q.fw, strideY: q.sy, strideX: q.sx,
                                                      padding: q.padding, activation: activation, into: out, context: context)
                            }
                        }
                        #expect(Self.worst(got, want) <= Self.exact,
                                "\(isMax ? "max" : "avg") pool \(s) \(q) isa \(isa.rawValue) threads \(context.threadCount)")
                    }
                }
            }
        }
    }

    @Test func meanOverPixelsMatchesReference() {
        var rng = SplitMix64(seed: 0x3EA)
        for c in Self.channelCounts + [1152] {
            for (h, w) in Self.sizes {
                let s = Self.shape(h, w, c), input = rng.floats(s.count, scale: 5)
                let want = ImageOpsReference.meanOverPixels(input, shape: s)
                Self.forEachISA { isa, context in
                    guard context.threadCount == 1 else { return }
                    let got = Self.output(c) { Kernels.meanOverPixels(input, shape: s, into: $0) }
                    #expect(Self.worst(got, want) <= Self.exact, "mean \(s) isa \(isa.rawValue)")
                }
            }
        }
    }

    @Test func resizeBilinearMatchesReference() {
        var rng = SplitMix64(seed: 0x7E5)
        let flags: [(align: Bool, half: Bool)] = [(false, false), (true, false), (false, true)]
        let resizes: [(h: Int, w: Int, oh: Int, ow: Int)] = [(5, 7, 9, 13), (4, 4, 8, 8), (9, 7, 4, 3), (1, 1, 3, 3), (3, 3, 1, 1), (2, 3, 2, 3)]
        var cases: [(FeatureMapShape, Int, Int)] = []
        for (i, c) in Self.channelCounts.enumerated() {
            for (k, r) in resizes.enumerated() where (i + k) % 2 == 0 || c <= 8 { cases.append((Self.shape(r.h, r.w, c), r.oh, r.ow)) }
        }
        cases.append((Self.shape(16, 16, 16), 64, 64))   // 64K output elements: threads over rows
        cases.append((Self.shape(32, 32, 1), 256, 256))  // a one-channel mask upsampled
        for (k, (s, oh, ow)) in cases.enumerated() {
            let input = rng.floats(s.count, scale: 3)
            let f = flags[k % flags.count]
            let want = ImageOpsReference.resizeBilinear(input, shape: s, outputHeight: oh, outputWidth: ow,
                                                        alignCorners: f.align, halfPixelCenters: f.half)
            Self.forEachISA { isa, context in
                let got = Self.output(oh * ow * s.channels) {
                    Kernels.resizeBilinear(input, shape: s, outputHeight: oh, outputWidth: ow, alignCorners: f.align,
                                           halfPixelCenters: f.half, into: $0, context: context)
                }
                #expect(Self.worst(got, want) <= Self.exact,
                        "resize \(s) → \(oh)×\(ow) align \(f.align) half \(f.half) isa \(isa.rawValue) threads \(context.threadCount)")
            }
        }
    }

    @Test func padConcatenateAndImageConversionMatchReference() {
        var rng = SplitMix64(seed: 0x9AD)
        for c in Self.channelCounts {
            let s = Self.shape(5, 7, c), input = rng.floats(s.count)
            for (before, after) in [((1, 1, 0), (1, 1, 0)), ((0, 2, 0), (3, 0, 0)), ((0, 0, 3), (0, 0, 5)), ((2, 1, 1), (0, 3, 2))] {
                let want = ImageOpsReference.pad(input, shape: s, before: before, after: after)
                let got = Self.output(want.count) { Kernels.pad(input, shape: s, before: before, after: after, into: $0) }
                #expect(got == want, "pad \(s) \(before) \(after)")
            }
            let other = rng.floats(35 * 5), third = rng.floats(35 * 2)
            for outer in [1, 35] {
                let inner = [s.count / outer, other.count / outer, third.count / outer]
                let want = ImageOpsReference.concatenate([(input, inner[0]), (other, inner[1]), (third, inner[2])], outerCount: outer)
                let got = Self.output(want.count) { out in
                    input.withUnsafeBufferPointer { a in other.withUnsafeBufferPointer { b in third.withUnsafeBufferPointer { t in
                        Kernels.concatenate([(a.baseAddress!, inner[0]), (b.baseAddress!, inner[1]), (t.baseAddress!, inner[2])],
                                            outerCount: outer, into: out)
                    } } }
                }
                #expect(got == want, "concatenate C \(c) outer \(outer)")
            }
        }
        let pixels = (0..<(7 * 5 * 3)).map { _ in rng.nextByte() }
        for (scale, offset) in [(Float(1) / 255, Float(0)), (Float(2) / 255, Float(-1))] {
            let want = ImageOpsReference.imageToFloat(pixels, scale: scale, offset: offset)
            let got = Self.output(pixels.count) { Kernels.imageToFloat(pixels, width: 7, height: 5, scale: scale, offset: offset, into: $0) }
            #expect(got == want)
        }
    }
}
