import CSparrowKernels
import Foundation
import SparrowRuntime
import Testing

/// Dense convolutions on batches of maps and with channel-split threading (oracle: the batch-1,
/// one-thread results), and the weights each storage represents (fp16-rounded, or q · scale with the
/// per-channel scales recomputed here), which ConvolutionParityTests runs the reference on.
@Suite(.serialized)
struct ConvolutionStorageTests {
    typealias Case = ConvolutionParityTests.DenseCase

    /// The weights `storage` keeps, as fp32 (matches sp_conv_pack_weights: fp16 round to nearest even;
    /// int8 symmetric per output channel, scale = max|w| / 127, q rounded to nearest even).
    static func represented(_ w: [Float], cout: Int, storage: WeightStorage) -> [Float] {
        switch storage {
        case .float32: return w
        case .float16: return w.map { Float(Float16($0)) }
        case .int8:
            let k = w.count / cout
            var out = w
            for o in 0..<cout {
                let row = w[(o * k)..<((o + 1) * k)]
                let m = row.map(abs).max() ?? 0
                let scale = m > 0 ? m / 127 : 1
                for i in 0..<k {
                    let q = min(127, max(-127, (w[o * k + i] / scale).rounded(.toNearestOrEven)))
                    out[o * k + i] = q * scale
                }
            }
            return out
        }
    }

    static func run(_ conv: Convolution2D, _ x: [Float], shape: FeatureMapShape, batch: Int, threads: Int) -> [Float] {
        let out = conv.outputShape(for: shape)
        var y = [Float](repeating: .nan, count: batch * out.count)
        let context = ExecutionContext(threadCount: threads)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer {
                conv.run(xp.baseAddress!, shape: shape, batch: batch, into: $0.baseAddress!, context: context)
            }
        }
        return y
    }

    /// A batch is the maps one after another, bit for bit, on one thread and on two (which split a small
    /// map's output channels instead of its pixels), for both algorithms (Winograd tiles are independent
    /// sums too; 37 × 30 is several blocks of tiles with partial ones at the edges).
    @Test(arguments: ConvolutionAlgorithm.allCases)
    func batchesAndChannelSplitsEqualSingleMaps(algorithm: ConvolutionAlgorithm) {
        var rng = SplitMix64(seed: 0xBA7C)
        let pad = Padding2D(top: 1, left: 1, bottom: 1, right: 1)
        for c in [Case(h: 6, w: 5, cin: 64, cout: 200, kh: 3, kw: 3, sy: 1, sx: 1, padding: pad),
                  Case(h: 37, w: 30, cin: 16, cout: 32, kh: 3, kw: 3, sy: 1, sx: 1, padding: pad)] {
            let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.cin)
            let batch = 3
            let x = rng.floats(batch * shape.count)
            for storage in WeightStorage.allCases {
                let conv = ConvolutionParityTests.makeConvolution(
                    c, w: rng.floats(c.cout * 9 * c.cin, scale: 0.5), b: rng.floats(c.cout), activation: .none, storage: storage,
                    algorithm: algorithm)
                var single: [Float] = []
                for i in 0..<batch {
                    single += Self.run(conv, Array(x[(i * shape.count)..<((i + 1) * shape.count)]), shape: shape, batch: 1, threads: 1)
                }
                #expect(Self.run(conv, x, shape: shape, batch: batch, threads: 1) == single, "\(c) \(storage) \(algorithm) one thread")
                #expect(Self.run(conv, x, shape: shape, batch: batch, threads: 2) == single, "\(c) \(storage) \(algorithm) two threads")
            }
        }
    }

    /// Weights handed over in PyTorch's OIHW order pack to the same panels as their OHWI transpose: the
    /// outputs are equal bit for bit for every storage (int8 quantizes per output channel, whatever the
    /// order within the row).
    @Test func oihwWeightsPackLikeTheirOHWITranspose() {
        var rng = SplitMix64(seed: 0x01A3)
        for c in [Case(h: 7, w: 6, cin: 40, cout: 70, kh: 3, kw: 3, sy: 1, sx: 1,
                       padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1)),
                  Case(h: 6, w: 5, cin: 8, cout: 17, kh: 3, kw: 5, sy: 2, sx: 1)] {
            let shape = FeatureMapShape(height: c.h, width: c.w, channels: c.cin)
            let x = rng.floats(shape.count), b = rng.floats(c.cout)
            let taps = c.kh * c.kw
            let oihw = rng.floats(c.cout * taps * c.cin, scale: 0.5)
            var ohwi = oihw
            for o in 0..<c.cout {
                for i in 0..<c.cin {
                    for t in 0..<taps { ohwi[(o * taps + t) * c.cin + i] = oihw[(o * c.cin + i) * taps + t] }
                }
            }
            for storage in WeightStorage.allCases {
                let want = Self.run(ConvolutionParityTests.makeConvolution(c, w: ohwi, b: b, activation: .none, storage: storage),
                                    x, shape: shape, batch: 1, threads: 1)
                let conv = oihw.withUnsafeBufferPointer { wp in
                    Convolution2D(weights: wp.baseAddress!, bias: b, outputChannels: c.cout, kernelHeight: c.kh, kernelWidth: c.kw,
                                  inputChannels: c.cin, strideY: c.sy, strideX: c.sx, padding: c.padding, activation: .none,
                                  storage: storage, layout: .oihw)
                }
                #expect(Self.run(conv, x, shape: shape, batch: 1, threads: 1) == want, "\(c) \(storage)")
            }
        }
    }

    /// sp_quantize_rows_i8 on hand-built rows (an all-zero row gets scale 1; values away from ties),
    /// and q · scale quantized again gives back the same q and scale bit for bit, which is what lets a
    /// `sparrow quantize` file load as the at-load int8 weights.
    @Test func int8RowQuantizerGivesExactValuesAndIsIdempotent() {
        func quantize(_ w: [Float], rows: Int) -> (q: [Int8], scale: [Float]) {
            var q = [Int8](repeating: 0, count: w.count), scale = [Float](repeating: .nan, count: rows)
            sp_quantize_rows_i8(w, Int64(rows), Int64(w.count / rows), &q, &scale)
            return (q, scale)
        }
        let hand = quantize([0, 0, 0, 0, 127, -63.4, 0.2, -127, 25.4, -10, 3, 0], rows: 3)
        #expect(hand.q == [0, 0, 0, 0, 127, -63, 0, -127, 127, -50, 15, 0])
        #expect(hand.scale == [1, 1, Float(25.4) / 127])

        var generator = SystemRandomNumberGenerator()
        for k in [1, 7, 1152] {
            let w = (0..<(5 * k)).map { _ in Float.random(in: -3...3, using: &generator) * Float.random(in: 0...1e-2, using: &generator) }
            let first = quantize(w, rows: 5)
            let again = quantize(zip(first.q.indices, first.q).map { Float($1) * first.scale[$0 / k] }, rows: 5)
            #expect(again.q == first.q && again.scale == first.scale, "k \(k)")
            #expect(Self.represented(w, cout: 5, storage: .int8) == zip(first.q.indices, first.q).map { Float($1) * first.scale[$0 / k] })
        }
    }
}
