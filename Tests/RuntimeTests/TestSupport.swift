/// SplitMix64: a small seeded generator so every test input is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-23 - 1 }
    mutating func nextByte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    /// `n` floats uniform in [-scale, scale).
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in nextFloat() * scale }
    }
}
