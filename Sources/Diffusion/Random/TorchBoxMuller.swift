import Foundation

/// The two float Box–Muller kernels `torch.randn` uses on the CPU for blocks of 16 uniforms
/// (ATen native/cpu/DistributionTemplates.h, `NormalFill16`). For j < 8, with u1 = 1 − x[j] and
/// u2 = x[j+8]: x[j] = r·cos θ, x[j+8] = r·sin θ, where r = √(−2·ln u1) and θ = 2π·u2.
///
/// Which kernel PyTorch runs depends on the CPU dispatch level of the process
/// (`torch.backends.cpu.get_cpu_capability()`), so `TorchGenerator` takes it as a parameter.
enum TorchBoxMuller {
    /// Kernel of x86-64 builds at dispatch level AVX2 or AVX512: Cephes-style float polynomials for
    /// ln and sincos (ATen native/cpu/avx_mathfun.h), θ = Float(2π)·u2 in float. PyTorch's compiler
    /// contracts some multiply–add pairs of that code into FMAs; the `addingProduct` calls below sit
    /// exactly where it does (found by comparing with torch 2.15.0's output bit for bit).
    static func vectorizedBlock(_ x: UnsafeMutablePointer<Float>) {
        let twoPi = Float(2 * Double.pi)
        for j in 0..<8 {
            let u1: Float = 1 - x[j]
            let u2 = x[j + 8]
            let radius = (-2 * cephesLog(u1)).squareRoot()
            let (sine, cosine) = cephesSinCos(twoPi * u2)
            x[j] = Float(0).addingProduct(radius * cosine, 1)
            x[j + 8] = Float(0).addingProduct(radius * sine, 1)
        }
    }

    /// Kernel of the DEFAULT dispatch level (`ATEN_CPU_CAPABILITY=default`) and of non-x86 builds:
    /// the C library's `logf`, `cosf`, `sinf`, θ computed in double then rounded to float. Bit exact
    /// when this process and PyTorch use the same C library (glibc on Linux).
    static func scalarBlock(_ x: UnsafeMutablePointer<Float>) {
        for j in 0..<8 {
            let u1: Float = 1 - x[j]
            let u2 = x[j + 8]
            let radius = (-2 * Foundation.log(u1)).squareRoot()
            let theta = Float(2 * Double.pi * Double(u2))
            // ATen stores fma(n, std = 1, mean = 0), which turns −0 into +0 like `0 + n·1`.
            x[j] = Float(0).addingProduct(radius * Foundation.cos(theta), 1)
            x[j + 8] = Float(0).addingProduct(radius * Foundation.sin(theta), 1)
        }
    }

    /// Natural logarithm of a positive normal float: split x = m·2^e with m in [√½, √2), then
    /// ln x = (m−1) + P(m−1)·(m−1)³ − ½(m−1)² + e·ln 2, with ln 2 in two parts (Cephes `logf`).
    static func cephesLog(_ value: Float) -> Float {
        let x0 = max(value, Float.leastNormalMagnitude)
        let bits = x0.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) - 0x7F) + 1
        var x = Float(bitPattern: (bits & ~0x7F80_0000) | Float(0.5).bitPattern)  // mantissa in [0.5, 1)
        let below = x < Float(0.707106781186547524)
        let tmp: Float = below ? x : 0
        x = x - 1
        e = e - (below ? 1 : 0)
        x = x + tmp
        let z = x * x
        var y: Float = 7.0376836292E-2
        for p: Float in [-1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1, -1.6668057665E-1,
                         2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1] {
            y = p.addingProduct(y, x)
        }
        y = y * x
        y = (e * Float(-2.12194440e-4)).addingProduct(y, z)
        y = y.addingProduct(-z, 0.5)
        x = x + y
        return x.addingProduct(e, 0.693359375)
    }

    /// Sine and cosine of a float of moderate size (|x| ≪ 8192): reduce by multiples of π/4 with
    /// π/4 in three parts, then the Cephes `sinf`/`cosf` polynomials on [−π/4, π/4].
    static func cephesSinCos(_ value: Float) -> (sin: Float, cos: Float) {
        var sineNegative = value.sign == .minus
        var x = value.magnitude
        var j = Int32(truncatingIfNeeded: Int64(x * Float(1.27323954473516)))  // x · 4/π, truncated
        j = (j &+ 1) & ~1
        let octant = Float(j)
        if j & 4 != 0 { sineNegative.toggle() }
        let cosineNegative = (~(j &- 2)) & 4 != 0
        let usesSinePolynomial = j & 2 == 0
        x = x.addingProduct(octant, -0.78515625)
        x = x.addingProduct(octant, -2.4187564849853515625e-4)
        x = x.addingProduct(octant, -3.77489497744594108e-8)
        let z = x * x
        let half = z * 0.5
        var c: Float = Float(-1.388731625493765E-003).addingProduct(2.443315711809948E-005, z)
        c = Float(4.166664568298827E-002).addingProduct(c, z)
        c = c * z
        c = (-half).addingProduct(z, c)
        c = c + 1
        var s: Float = Float(8.3321608736E-3).addingProduct(-1.9515295891E-4, z)
        s = Float(-1.6666654611E-1).addingProduct(s, z)
        s = s * z
        s = x.addingProduct(x, s)
        // The vector code selects with masks and adds +0, which turns −0 into +0.
        var sine = usesSinePolynomial ? 0 + s : c + 0
        var cosine = usesSinePolynomial ? 0 + c : s + 0
        if sineNegative { sine = -sine }
        if cosineNegative { cosine = -cosine }
        return (sine, cosine)
    }
}
