import Foundation
import Testing
@testable import SparrowDiffusion

/// torch 2.15.0's `torch.randn(n, generator=torch.Generator().manual_seed(seed))` float32 bit
/// patterns, per CPU kernel (Fixtures/torch-randn-golden.json, Scripts/make-torch-rng-goldens.py).
struct TorchRandnGolden: Decodable {
    struct Case: Decodable {
        let seed: UInt64
        /// Successive calls on one generator, and their concatenated bits.
        let sizes: [Int]?
        let bits: [UInt32]?
        /// One large call: its first and last 64 values, and float64 sums in index order.
        let count: Int?
        let firstBits: [UInt32]?
        let lastBits: [UInt32]?
        let sum: Double?
        let sumOfSquares: Double?
    }
    let command: String
    let versions: [String: String]
    let vectorized: [Case]
    let scalar: [Case]

    static func load() throws -> TorchRandnGolden {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/torch-randn-golden.json")
        return try JSONDecoder().decode(TorchRandnGolden.self, from: Data(contentsOf: url))
    }
}

@Suite struct TorchGeneratorTests {
    /// The reproduction is bit exact: every float equals torch's (0 units in the last place). The
    /// scalar kernel is exact only against the same C library's logf/cosf/sinf (glibc here).
    static let maxULPDifference: UInt32 = 0

    static func ulpDistance(_ a: Float, _ b: UInt32) -> UInt32 {
        let x = Int64(Int32(bitPattern: a.bitPattern)), y = Int64(Int32(bitPattern: b))
        // Map sign-magnitude to a monotonic integer line.
        func ordered(_ v: Int64) -> Int64 { v < 0 ? Int64(Int32.min) - v : v }
        return UInt32(min(abs(ordered(x) - ordered(y)), Int64(UInt32.max)))
    }

    static func check(_ values: [Float], _ expected: [UInt32], _ label: String) {
        #expect(values.count == expected.count, "\(label): count")
        let worst = zip(values, expected).map { ulpDistance($0, $1) }.max() ?? 0
        #expect(worst <= maxULPDifference, "\(label): worst difference \(worst) ulp")
    }

    @Test func mersenneTwisterMatchesTheReferenceSequence() {
        // MT19937 with seed 5489: first output and the 10000th (the C++ standard's check value).
        var engine = MersenneTwister(seed: 5489)
        #expect(engine.next() == 3_499_211_612)
        for _ in 2..<10_000 { _ = engine.next() }
        #expect(engine.next() == 4_123_659_995)
    }

    @Test(arguments: TorchGenerator.Kernel.allCases)
    func randnMatchesTorchBitForBit(kernel: TorchGenerator.Kernel) throws {
        let golden = try TorchRandnGolden.load()
        let cases = kernel == .vectorized ? golden.vectorized : golden.scalar
        #expect(cases.count == 45)
        for item in cases {
            var generator = TorchGenerator(seed: item.seed, kernel: kernel)
            if let sizes = item.sizes, let bits = item.bits {
                let values = sizes.flatMap { generator.normal(count: $0) }
                Self.check(values, bits, "seed \(item.seed), sizes \(sizes)")
            } else if let count = item.count, let first = item.firstBits, let last = item.lastBits {
                let values = generator.normal(count: count)
                Self.check(Array(values.prefix(64)), first, "seed \(item.seed), first 64 of \(count)")
                Self.check(Array(values.suffix(64)), last, "seed \(item.seed), last 64 of \(count)")
                var sum = 0.0, squares = 0.0
                for v in values {
                    sum += Double(v)
                    squares += Double(v) * Double(v)
                }
                #expect(sum == item.sum && squares == item.sumOfSquares, "seed \(item.seed): sums of \(count)")
            } else {
                Issue.record("malformed golden case for seed \(item.seed)")
            }
        }
    }

    @Test func onlyTheLow32BitsOfTheSeedMatter() {
        var a = TorchGenerator(seed: (1 << 32) + 5), b = TorchGenerator(seed: 5)
        #expect(a.normal(count: 40) == b.normal(count: 40))
        #expect(a.normal(count: 3) == b.normal(count: 3))
    }

    @Test func drawsThroughTheProtocolContinueTheStream() {
        var direct = TorchGenerator(seed: 42)
        var erased: any NoiseGenerator = TorchGenerator(seed: 42)
        let expected = direct.normal(count: 20) + direct.normal(count: 3)
        #expect(erased.normal(count: 20) + erased.normal(count: 3) == expected)
    }
}

/// Sparrow's counter-based generator: chunking-independent, seeded, and standard normal.
@Suite struct SparrowGeneratorTests {
    /// Sample moments of n = 2¹⁷ values: the standard error of the mean is 1/√n ≈ 0.0028 and of the
    /// variance √(2/n) ≈ 0.0039; 5 standard errors leave room for any seed.
    static let sampleCount = 1 << 17
    static let meanBound = 5 / Double(1 << 17).squareRoot()
    static let varianceBound = 5 * (2 / Double(1 << 17)).squareRoot()

    @Test func chunkedDrawsEqualOneDraw() {
        var chunked = SparrowGenerator(seed: 7), whole = SparrowGenerator(seed: 7)
        let parts = chunked.normal(count: 5) + chunked.normal(count: 1) + chunked.normal(count: 26)
        #expect(parts == whole.normal(count: 32))
        var skipped = SparrowGenerator(seed: 7)
        skipped.skip(count: 6)
        #expect(skipped.normal(count: 26) == Array(parts[6...]))
        #expect(SparrowGenerator(seed: 8).position == 0)
        var other = SparrowGenerator(seed: 8)
        #expect(other.normal(count: 32) != parts)
    }

    @Test func valuesAreStandardNormal() {
        var generator = SparrowGenerator(seed: 20261122)
        let values = generator.normal(count: Self.sampleCount).map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        #expect(abs(mean) < Self.meanBound, "mean \(mean)")
        #expect(abs(variance - 1) < Self.varianceBound, "variance \(variance)")
        // Tails: P(|x| > 3) = 0.0027 for a standard normal; 2¹⁷ draws expect ~354 (Poisson sd ≈ 19).
        let tail = values.filter { abs($0) > 3 }.count
        #expect((254...454).contains(tail), "\(tail) values beyond 3σ")
    }
}
