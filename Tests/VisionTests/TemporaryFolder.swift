import Foundation

/// A fresh folder under the system temporary directory, removed when the value is dropped.
final class TemporaryFolder {
    let path: String

    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("sparrow-vision-\(safe)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A path inside the folder.
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes `bytes` to `name` inside the folder and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let p = file(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }
}

/// Deterministic test pictures.
enum TestFrames {
    /// A `width × height` image of smooth gradients plus a moving square (frame `index`): content that
    /// lossy codecs reproduce closely.
    static func gradient(width: Int, height: Int, index: Int = 0) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let p = (y * width + x) * 3
                let inSquare = (x - index * 2) >= 4 && (x - index * 2) < 20 && y >= 4 && y < 20
                pixels[p] = UInt8((x * 255) / max(1, width - 1))
                pixels[p + 1] = UInt8((y * 255) / max(1, height - 1))
                pixels[p + 2] = inSquare ? 220 : 60
            }
        }
        return pixels
    }

    /// Pseudo-random bytes from a fixed linear congruential sequence.
    static func noise(count: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }
}

/// The largest absolute difference between two byte arrays of equal length.
func maximumDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

/// Mean absolute difference between two byte arrays of equal length.
func meanDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
    Double(zip(a, b).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(max(1, a.count))
}
