import CSparrowKernels
import Foundation

extension Kernels {
    /// SwiGLU: gate[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^(-x)) (LLaMA's gated MLP).
    public static func swiGLU(
        gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, context: ExecutionContext
    ) {
        gated(sp_swiglu, gate: gate, up: up, count: count, macs: 3, context: context)
    }

    /// GeGLU: gate[i] = gelu(gate[i]) · up[i] with the tanh GELU (Gemma's gated MLP), rounded through
    /// half precision as llama.cpp's CPU backend does.
    public static func geGLU(
        gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, context: ExecutionContext
    ) {
        gated(sp_geglu, gate: gate, up: up, count: count, macs: 8, context: context)
    }

    /// Runs a gated activation kernel in place over `gate` (prompt batches: one contiguous share per thread).
    private static func gated(
        _ kernel: (UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, Int64) -> Void,
        gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, macs: Int, context: ExecutionContext
    ) {
        let start = OpAccounting.now()
        if context.threadCount > 1 && count >= 8192 {
            context.pool.parallelFor(count, granularity: 1024) { range in
                kernel(gate + range.lowerBound, up + range.lowerBound, Int64(range.count))
            }
        } else {
            kernel(gate, up, Int64(count))
        }
        context.accounting.record(.elementwise, since: start, bytes: count * 12, macs: count * macs)
    }

    /// y[i] += x[i] (residual connection).
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, context: ExecutionContext) {
        let start = OpAccounting.now()
        VectorMath.axpy(1, x, y, count)
        context.accounting.record(.elementwise, since: start, bytes: count * 12, macs: count)
    }
}
