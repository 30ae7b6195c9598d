import Foundation

/// Sparrow's own seeded normal noise (`--rng sparrow`): a counter-based generator, so value k of the
/// stream depends only on the seed and k. Draws in any chunking give the same stream
/// (`normal(count: 10) + normal(count: 6) == normal(count: 16)`), and a block of the stream can be
/// computed anywhere without replaying what came before (`skip(count:)`).
///
/// Value k comes from pair k / 2: a SplitMix64 hash of (seed, pair) gives two 24-bit uniforms u1 in
/// (0, 1] and u2 in [0, 1), and Box–Muller gives r·cos(2πu2) for even k, r·sin(2πu2) for odd k, with
/// r = √(−2 ln u1). It does not reproduce PyTorch's numbers; `TorchGenerator` does.
public struct SparrowGenerator: NoiseGenerator, Sendable {
    /// The seed the stream is a function of.
    public let seed: UInt64
    /// Index of the next value.
    public private(set) var position: UInt64 = 0

    /// The stream for `seed`, at its first value.
    public init(seed: UInt64) {
        self.seed = seed
    }

    /// The next `count` values.
    public mutating func normal(count: Int) -> [Float] {
        precondition(count >= 0, "count must not be negative")
        let start = position
        position += UInt64(count)
        return (0..<UInt64(count)).map { Self.value(seed: seed, index: start + $0) }
    }

    /// Moves past `count` values without computing them.
    public mutating func skip(count: Int) {
        precondition(count >= 0, "count must not be negative")
        position += UInt64(count)
    }

    /// Value `index` of the stream for `seed`.
    static func value(seed: UInt64, index: UInt64) -> Float {
        let bits = splitMix64(seed ^ splitMix64(index >> 1))
        let u1 = Float((bits >> 40) + 1) * (1 / Float(1 << 24))           // (0, 1]
        let u2 = Float((bits >> 16) & 0xFF_FFFF) * (1 / Float(1 << 24))    // [0, 1)
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        let theta = 2 * Float.pi * u2
        return index & 1 == 0 ? radius * Foundation.cos(theta) : radius * Foundation.sin(theta)
    }

    /// SplitMix64's output function on `x + golden gamma` (Steele, Lea & Flood 2014), a strong 64-bit mixer.
    static func splitMix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
