import CSparrowKernels
/// Small vector primitives with explicit SIMD accumulators (Swift has no fast-math, so a plain loop
/// would not vectorise a float reduction).
public enum VectorMath {
    /// Σ a[i]².
    @inline(__always)
    public static func sumOfSquares(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
            acc += v * v
            i += 16
        }
        var s = acc.sum()
        while i < n { s += a[i] * a[i]; i += 1 }
        return s
    }

    /// y[i] += alpha · x[i].
    @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let va = SIMD16<Float>(repeating: alpha)
        var i = 0
        while i + 16 <= n {
            let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            let vy = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: vy + va * vx, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }
}

extension Kernels {
    /// IEEE binary16 → Float for `count` values (F16C when the CPU has it; exact either way).
    public static func halfToFloat(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        sp_f16_to_f32(source.assumingMemoryBound(to: UInt16.self), destination, Int64(count))
    }
}
