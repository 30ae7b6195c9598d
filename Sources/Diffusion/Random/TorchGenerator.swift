import Foundation

/// Reproduces `torch.randn(count, generator=torch.Generator().manual_seed(seed))` (CPU, float32)
/// bit for bit, and successive `torch.randn` calls on one generator.
///
/// PyTorch's CPU generator is an MT19937 (`MersenneTwister`) plus one cached double normal sample.
/// `torch.randn` of a contiguous float tensor takes one of two paths (ATen
/// native/cpu/DistributionTemplates.h, `normal_kernel`), both reproduced here:
/// - **count ≥ 16**: fill the tensor with float uniforms (`(bits & 0xFFFFFF) · 2⁻²⁴` of one 32-bit draw
///   each), then Box–Muller each block of 16 in float (`TorchBoxMuller`). When count is not a multiple
///   of 16, the last 16 values are redrawn (16 fresh uniforms) and transformed again, overwriting the
///   tail of the last full block.
/// - **count < 16**: one value at a time from a double Box–Muller: two double uniforms
///   (`(bits & (2⁵³−1)) · 2⁻⁵³` of a 64-bit draw = two 32-bit draws, first one high),
///   `r = sqrt(−2·log1p(−u2))`, `θ = 2π·u1`; returns `r·cos θ` and caches `r·sin θ` for the
///   generator's next scalar-path value (count ≥ 16 calls neither read nor clear the cache).
///
/// The float block kernel depends on the CPU dispatch level PyTorch picked (`Kernel`); the default,
/// `.vectorized`, is what torch runs on x86-64 CPUs with AVX2 or AVX-512. Goldens for both:
/// Tests/DiffusionTests/Fixtures/torch-randn-golden.json.
public struct TorchGenerator: NoiseGenerator, Sendable {
    /// The seed given to `manual_seed` (only its low 32 bits reach the Mersenne Twister).
    public let seed: UInt64
    private var engine: MersenneTwister
    /// torch's `next_double_normal_sample`: the sine half of the last scalar-path Box–Muller pair.
    private var cachedNormal: Double?

    /// PyTorch's float Box–Muller kernel for blocks of 16, chosen by its CPU dispatch level.
    public enum Kernel: String, Sendable, CaseIterable {
        /// x86-64 at dispatch level AVX2 or AVX512 (`torch.backends.cpu.get_cpu_capability()`), the
        /// common case: Cephes-style float ln/sincos polynomials.
        case vectorized
        /// Dispatch level DEFAULT (`ATEN_CPU_CAPABILITY=default`) and non-x86 builds: the C library's
        /// logf/cosf/sinf (bit exact against a PyTorch using the same C library).
        case scalar
    }

    /// Which float kernel count ≥ 16 draws reproduce.
    public let kernel: Kernel

    /// The generator `torch.Generator().manual_seed(seed)` creates, on a CPU where PyTorch runs `kernel`.
    public init(seed: UInt64, kernel: Kernel = .vectorized) {
        self.seed = seed
        self.kernel = kernel
        engine = MersenneTwister(seed: seed)
        cachedNormal = nil
    }

    /// The values the next `torch.randn(count, generator=g)` returns.
    public mutating func normal(count: Int) -> [Float] {
        precondition(count >= 0, "count must not be negative")
        if count < Self.blockSize {
            return (0..<count).map { _ in Float(nextDoubleNormal()) }
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { data in
            for i in 0..<count { data[i] = nextFloatUniform() }
            guard let base = data.baseAddress else { return }
            let transform = kernel == .vectorized ? TorchBoxMuller.vectorizedBlock : TorchBoxMuller.scalarBlock
            var block = 0
            while block + Self.blockSize <= count {
                transform(base + block)
                block += Self.blockSize
            }
            if count % Self.blockSize != 0 {
                let tail = base + (count - Self.blockSize)
                for i in 0..<Self.blockSize { tail[i] = nextFloatUniform() }
                transform(tail)
            }
        }
        return values
    }

    /// Values per float Box–Muller block: 8 pairs.
    static let blockSize = 16

    /// A float uniform in [0, 1) from 24 bits of one draw (ATen's `uniform_real<float>`).
    mutating func nextFloatUniform() -> Float {
        Float(engine.next() & 0xFF_FFFF) * (1 / Float(1 << 24))
    }

    /// A double uniform in [0, 1) from 53 bits of one 64-bit draw (ATen's `uniform_real<double>`).
    mutating func nextDoubleUniform() -> Double {
        let high = UInt64(engine.next()), low = UInt64(engine.next())
        return Double((high << 32 | low) & ((1 << 53) - 1)) * (1 / Double(UInt64(1) << 53))
    }

    /// ATen's `normal_distribution<double>` with the generator's cached second sample.
    mutating func nextDoubleNormal() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached * 1 + 0
        }
        let u1 = nextDoubleUniform(), u2 = nextDoubleUniform()
        let r = (-2 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2 * Double.pi * u1
        cachedNormal = r * Foundation.sin(theta)
        return r * Foundation.cos(theta) * 1 + 0
    }
}
