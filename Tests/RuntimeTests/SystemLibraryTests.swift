import COpenBLAS
import Foundation
import SparrowRuntime
import Testing

/// The Debian system libraries the runtime links: OpenBLAS against a scalar reference, libpng by
/// round trips through real files.
@Suite struct SystemLibraryTests {
    /// Rounding of a float32 dot product of length K in any summation order is bounded by about
    /// K * 2^-24 times the sum of |a_k * b_k| (Higham, "Accuracy and Stability", §3.1); this uses
    /// K * 2^-23 for a factor-two margin.
    static func float32Reordered(k: Int) -> Double { Double(k) * Double(Float.ulpOfOne) }

    @Test(arguments: [(1, 1, 1), (7, 5, 3), (64, 48, 96), (33, 17, 129)])
    func openBLASSgemmMatchesScalarReference(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var random = SplitMix64(seed: UInt64(m * 10_007 + n * 101 + k))
        for transposeA in [false, true] {
            // A is [M, K] (stored [K, M] when transposed), B is [K, N], C is [M, N], all row-major.
            let a = (0..<(m * k)).map { _ in random.nextFloat() }
            let b = (0..<(k * n)).map { _ in random.nextFloat() }
            let c0 = (0..<(m * n)).map { _ in random.nextFloat() }
            let alpha: Float = 1.5, beta: Float = 0.5
            var c = c0
            cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k), b, Int32(n), beta, &c, Int32(n))
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0, magnitude = 0.0
                    for p in 0..<k {
                        let av = Double(transposeA ? a[p * m + i] : a[i * k + p])
                        let term = av * Double(b[p * n + j])
                        sum += term
                        magnitude += abs(term)
                    }
                    let expected = Double(alpha) * sum + Double(beta) * Double(c0[i * n + j])
                    let bound = Self.float32Reordered(k: k + 2) * (Double(alpha) * magnitude + abs(Double(beta) * Double(c0[i * n + j])))
                    #expect(abs(Double(c[i * n + j]) - expected) <= bound, "C[\(i),\(j)] shape \(shape) transA \(transposeA)")
                }
            }
        }
    }

    @Test(arguments: PNGImage.Layout.allCases)
    func pngWriteThenReadIsIdentical(layout: PNGImage.Layout) throws {
        let (width, height) = (37, 23)
        var random = SplitMix64(seed: UInt64(layout.rawValue))
        let pixels = (0..<(width * height * layout.channelCount)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let text = ["parameters": "a sparrow on a branch\nSteps: 20, Sampler: Euler, Seed: 42", "Comment": "naïve café ✓"]
        let image = try PNGImage(width: width, height: height, layout: layout, pixels: pixels, text: text)
        try withTemporaryDirectory { dir in
            let path = dir + "/roundtrip-\(layout).png"
            try image.write(to: path)
            let read = try PNGImage(contentsOf: path)
            #expect(read == image)
        }
    }

    @Test func pngReaderRefusesNonPNGAndTruncatedFiles() throws {
        try withTemporaryDirectory { try checkRefusals(notPNG: $0 + "/not.png", truncated: $0 + "/truncated.png") }
    }

    private func checkRefusals(notPNG: String, truncated: String) throws {
        try Data("GIF89a not a png".utf8).write(to: URL(fileURLWithPath: notPNG))
        #expect(throws: PNGError.self) { try PNGImage(contentsOf: notPNG) }
        do {
            _ = try PNGImage(contentsOf: notPNG)
        } catch let error as PNGError {
            #expect(error.kind == .notPNG)
        }

        var random = SplitMix64(seed: 7)
        let pixels = (0..<(64 * 64 * 3)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        try PNGImage(width: 64, height: 64, layout: .rgb, pixels: pixels).write(to: truncated)
        let whole = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: truncated))
        do {
            _ = try PNGImage(contentsOf: truncated)
            Issue.record("a truncated PNG was read without error")
        } catch let error as PNGError {
            #expect(error.kind == .corrupt)
        }
    }

    @Test func pngImageRefusesWrongSampleCount() {
        #expect(throws: PNGError.self) { try PNGImage(width: 4, height: 4, layout: .rgba, pixels: [UInt8](repeating: 0, count: 48)) }
    }
}

/// Runs `body` with a fresh folder in the system temporary folder, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}
