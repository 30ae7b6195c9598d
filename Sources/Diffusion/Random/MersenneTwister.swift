/// MT19937, the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), seeded the way PyTorch's CPU
/// generator seeds it: only the low 32 bits of the seed are used (state[0] = seed mod 2^32, then
/// state[i] = 1812433253 · (state[i−1] ⊕ (state[i−1] >> 30)) + i). Matches ATen/core/MT19937RNGEngine.h,
/// which is the reference algorithm, so the first output for seed 5489 is 3499211612.
struct MersenneTwister: Sendable {
    private static let n = 624
    private static let m = 397
    private var state: [UInt32]
    private var index: Int

    init(seed: UInt64) {
        state = [UInt32](repeating: 0, count: Self.n)
        state[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1..<Self.n {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
        index = Self.n  // the first draw regenerates the whole state
    }

    /// The next 32 random bits.
    mutating func next() -> UInt32 {
        if index == Self.n { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        state.withUnsafeMutableBufferPointer { s in
            for i in 0..<Self.n {
                let mixed = (s[i] & 0x8000_0000) | (s[(i + 1) % Self.n] & 0x7FFF_FFFF)
                s[i] = s[(i + Self.m) % Self.n] ^ (mixed >> 1) ^ ((mixed & 1) == 0 ? 0 : 0x9908_B0DF)
            }
        }
        index = 0
    }
}
