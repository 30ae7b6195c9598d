import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// Winograd F(2×2, 3×3) convolutions (`algorithm: .winograd`) against the scalar direct reference on
/// every instruction set and weight storage, odd and even map sizes (partial tiles), every padding a
/// 3×3 kernel can have, long inputs split into chunks (batches and thread splits: ConvolutionStorageTests);
/// geometries Winograd does not cover against the direct kernel, bit for bit. The transforms only add,
/// subtract and halve, so the direct kernel's float32 tolerance holds (errors here are below 1e-7 of
/// Σ|products|).
@Suite(.serialized)
struct ConvolutionWinogradTests {
    typealias Case = ConvolutionParityTests.DenseCase

    static let pad1 = Padding2D(top: 1, left: 1, bottom: 1, right: 1)

    static let cases: [Case] = [
        Case(h: 8, w: 8, cin: 16, cout: 16, kh: 3, kw: 3, sy: 1, sx: 1, padding: pad1),
        Case(h: 7, w: 9, cin: 40, cout: 70, kh: 3, kw: 3, sy: 1, sx: 1, padding: pad1, activation: .relu6),
        Case(h: 9, w: 6, cin: 24, cout: 17, kh: 3, kw: 3, sy: 1, sx: 1),
        Case(h: 6, w: 11, cin: 32, cout: 48, kh: 3, kw: 3, sy: 1, sx: 1,
             padding: Padding2D(top: 2, left: 0, bottom: 1, right: 2), activation: .relu),
        // 300 input channels: three chunks of the weight transform (112 + 112 + 76).
        Case(h: 5, w: 6, cin: 300, cout: 40, kh: 3, kw: 3, sy: 1, sx: 1, padding: pad1),
        // More tiles than one block (64): 18 × 17 → 9 × 9 = 81 tiles.
        Case(h: 18, w: 17, cin: 16, cout: 33, kh: 3, kw: 3, sy: 1, sx: 1, padding: pad1, activation: .reluMinus1To1),
    ]

    static func makeWinograd(_ c: Case, w: [Float], b: [Float]?, activation: FusedActivation,
                             storage: WeightStorage = .float32) -> Convolution2D {
        ConvolutionParityTests.makeConvolution(c, w: w, b: b, activation: activation, storage: storage, algorithm: .winograd)
    }

    @Test(arguments: WeightStorage.allCases)
    func winogradMatchesReferenceOnEveryISA(storage: WeightStorage) {
        ConvolutionParityTests.expectMatchesReference(Self.cases, storage: storage, algorithm: .winograd, seed: 0x3140)
    }

    /// Stride 2, dilation 2, 1×1 and 5×5 kernels, and 3×3 kernels with fewer than 16 channels run the
    /// direct kernel; sparse (Skip-Conv) runs do too, so they keep the direct dense run's exact bits.
    @Test func otherGeometriesAndSparseRunsUseTheDirectKernel() {
        var rng = SplitMix64(seed: 0x3142)
        let context = ExecutionContext(threadCount: 1)
        let cases = [
            Case(h: 9, w: 9, cin: 32, cout: 32, kh: 3, kw: 3, sy: 2, sx: 2, padding: Self.pad1),
            Case(h: 9, w: 10, cin: 32, cout: 17, kh: 3, kw: 3, sy: 1, sx: 1, dilation: 2,
                 padding: Padding2D(top: 2, left: 2, bottom: 2, right: 2)),
            Case(h: 8, w: 8, cin: 32, cout: 32, kh: 1, kw: 1, sy: 1, sx: 1),
            Case(h: 8, w: 8, cin: 16, cout: 16, kh: 5, kw: 5, sy: 1, sx: 1),
            Case(h: 8, w: 8, cin: 8, cout: 32, kh: 3, kw: 3, sy: 1, sx: 1, padding: Self.pad1),
        ]
        for c in cases {
            let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.cin)
            let x = rng.floats(shape.count)
            let w = rng.floats(c.cout * c.kh * c.kw * c.cin, scale: 0.5), b = rng.floats(c.cout)
            let winograd = Self.makeWinograd(c, w: w, b: b, activation: .relu)
            let direct = ConvolutionParityTests.makeConvolution(c, w: w, b: b, activation: .relu)
            #expect(ConvolutionParityTests.run(winograd, x, shape: shape, context: context)
                == ConvolutionParityTests.run(direct, x, shape: shape, context: context), "\(c)")
        }
        let c = Self.cases[1]
        let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.cin)
        let x = rng.floats(shape.count)
        let w = rng.floats(c.cout * 9 * c.cin, scale: 0.5), b = rng.floats(c.cout)
        let winograd = Self.makeWinograd(c, w: w, b: b, activation: .none)
        let dense = ConvolutionParityTests.run(
            ConvolutionParityTests.makeConvolution(c, w: w, b: b, activation: .none), x, shape: shape, context: context)
        let out = winograd.outputShape(for: shape)
        let listed = (0..<Int32(out.pixelCount)).filter { $0 % 3 == 1 }
        var got = [Float](repeating: .nan, count: out.count)
        x.withUnsafeBufferPointer { xp in
            listed.withUnsafeBufferPointer { list in
                got.withUnsafeMutableBufferPointer {
                    winograd.run(xp.baseAddress!, shape: shape, pixels: list, into: $0.baseAddress!, context: context)
                }
            }
        }
        for p in listed.map(Int.init) {
            let row = (p * out.channels)..<((p + 1) * out.channels)
            #expect(Array(got[row]) == Array(dense[row]), "pixel \(p)")
        }
    }
}
