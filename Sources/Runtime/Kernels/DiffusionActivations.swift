import CSparrowKernels

/// Activations of the diffusion models: the exact (erf) GELU and diffusers' GEGLU built on it,
/// CLIP's quickGELU, SiLU, and nearest-neighbour 2× upsampling of NHWC maps. Fast paths:
/// diffusion_ops.h; scalar twins: the `_ref` functions there and `DiffusionOpsReference`.
///
/// Note: this GELU is PyTorch's default (approximate='none'), which diffusers and CLIP use; `geGLU`
/// (Activations.swift) is llama.cpp's tanh GELU rounded through fp16 for Gemma and is a different function.
extension Kernels {
    /// Element counts below this run on the calling thread only (dispatch costs more than it saves).
    static let activationParallelMinimum = 1 << 15

    /// x ← gelu(x) = x · Φ(x) = x/2 · (1 + erf(x/√2)), in place (torch.nn.functional.gelu default).
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        sp_gelu_erf(x, x, Int64(count))
    }

    /// `gelu(_:count:)`, split over the pool's threads for large counts.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, context: ExecutionContext) {
        elementwise(count: count, context: context) { sp_gelu_erf(x + $0, x + $0, $1) }
    }

    /// GEGLU with the exact GELU on two separate buffers, in place into `gate`:
    /// gate[i] ← up[i] · gelu(gate[i]). `up` is the first half of diffusers' GEGLU projection
    /// (`hidden_states`), `gate` the second (matches diffusers GEGLU.forward:
    /// hidden_states, gate = proj(x).chunk(2, dim=-1); hidden_states * gelu(gate)).
    /// For the projection as one [tokens, 2 · inner] matrix use `geglu(_:tokens:innerFeatures:into:context:)`.
    public static func gelu(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        sp_geglu_erf(gate, up, gate, Int64(count))
    }

    /// diffusers' GEGLU on the projection output as PyTorch lays it out: `projected` is
    /// [tokens, 2 · innerFeatures], row t = [hidden (innerFeatures) | gate (innerFeatures)];
    /// out[t, i] = projected[t, i] · gelu(projected[t, innerFeatures + i]); out: [tokens, innerFeatures].
    /// `out` must not overlap `projected`. Threads over tokens.
    public static func geglu(
        _ projected: UnsafePointer<Float>, tokens: Int, innerFeatures: Int, into out: UnsafeMutablePointer<Float>,
        context: ExecutionContext
    ) {
        let I = innerFeatures
        let rows = { (r: Range<Int>) in
            for t in r { sp_geglu_erf(projected + t * 2 * I + I, projected + t * 2 * I, out + t * I, Int64(I)) }
        }
        if context.threadCount > 1 && tokens * I >= activationParallelMinimum && tokens > 1 {
            context.pool.parallelFor(tokens, rows)
        } else if tokens > 0 {
            rows(0..<tokens)
        }
    }

    /// x ← x · sigmoid(1.702 x) in place (CLIP's quick_gelu).
    public static func quickGELU(_ x: UnsafeMutablePointer<Float>, count: Int) {
        sp_quick_gelu(x, x, Int64(count))
    }

    /// `quickGELU(_:count:)`, split over the pool's threads for large counts.
    public static func quickGELU(_ x: UnsafeMutablePointer<Float>, count: Int, context: ExecutionContext) {
        elementwise(count: count, context: context) { sp_quick_gelu(x + $0, x + $0, $1) }
    }

    /// x ← x · sigmoid(x) in place (SiLU / swish).
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        sp_silu(x, x, Int64(count))
    }

    /// `silu(_:count:)`, split over the pool's threads for large counts.
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int, context: ExecutionContext) {
        elementwise(count: count, context: context) { sp_silu(x + $0, x + $0, $1) }
    }

    /// Runs `kernel(offset, count)` over `0..<count`, in one contiguous share per thread when large.
    private static func elementwise(count: Int, context: ExecutionContext, _ kernel: (Int, Int64) -> Void) {
        if context.threadCount > 1 && count >= activationParallelMinimum {
            context.pool.parallelFor(count, granularity: 1024) { r in kernel(r.lowerBound, Int64(r.count)) }
        } else if count > 0 {
            kernel(0, Int64(count))
        }
    }

    /// Nearest-neighbour 2× upsampling of an NHWC map (torch.nn.functional.interpolate(scale_factor=2,
    /// mode="nearest"), diffusers Upsample2D): y[2i + a, 2j + b, c] = x[i, j, c] for a, b ∈ {0, 1}.
    /// y: [2H, 2W, C]; must not overlap x.
    public static func upsampleNearest2x(_ x: UnsafePointer<Float>, shape: FeatureMapShape, into y: UnsafeMutablePointer<Float>) {
        let H = shape.height, W = shape.width, C = shape.channels
        let outRow = 2 * W * C
        for i in 0..<H {
            let src = x + i * W * C, dst = y + 2 * i * outRow
            for j in 0..<W {
                (dst + 2 * j * C).update(from: src + j * C, count: C)
                (dst + (2 * j + 1) * C).update(from: src + j * C, count: C)
            }
            (dst + outRow).update(from: dst, count: outRow)
        }
    }
}
