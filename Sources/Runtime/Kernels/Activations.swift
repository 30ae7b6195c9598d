import CSparrowKernels
import Foundation

extension Kernels {
    /// SwiGLU: gate[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^(-x)) (LLaMA's gated MLP).
    public static func swiGLU(
        gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, context: ExecutionContext
    ) {
        let start = OpAccounting.now()
        if context.threadCount > 1 && count >= 8192 {
            // Prompt batches: one contiguous share per thread.
            context.pool.parallelFor(count, granularity: 1024) { range in
                sp_swiglu(gate + range.lowerBound, up + range.lowerBound, Int64(range.count))
            }
        } else {
            sp_swiglu(gate, up, Int64(count))
        }
        context.accounting.record(.elementwise, since: start, bytes: count * 12, macs: count * 3)
    }

    /// GeGLU: gate[i] = gelu(gate[i]) · up[i] with the tanh GELU (Gemma's gated MLP), rounded through
    /// half precision as llama.cpp's CPU backend does.
    public static func geGLU(
        gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, context: ExecutionContext
    ) {
        let start = OpAccounting.now()
        if context.threadCount > 1 && count >= 8192 {
            context.pool.parallelFor(count, granularity: 1024) { range in
                sp_geglu(gate + range.lowerBound, up + range.lowerBound, Int64(range.count))
            }
        } else {
            sp_geglu(gate, up, Int64(count))
        }
        context.accounting.record(.elementwise, since: start, bytes: count * 12, macs: count * 8)
    }

    /// y[i] += x[i] (residual connection).
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, context: ExecutionContext) {
        let start = OpAccounting.now()
        VectorMath.axpy(1, x, y, count)
        context.accounting.record(.elementwise, since: start, bytes: count * 12, macs: count)
    }
}
