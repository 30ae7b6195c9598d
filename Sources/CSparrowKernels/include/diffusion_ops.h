// Included from CSparrowKernels.h (inside its extern "C" block); see there for conventions.
//
// Float32 kernels of the diffusion models (Stable Diffusion's UNet, VAE and CLIP text encoder):
// group norm over NHWC maps, layer norm over token rows, tiled ("flash") multi-head attention with
// an online softmax, and the exact-erf GELU family. Layouts: an NHWC map of P pixels and C channels
// is [P, C] row-major; token sequences are [tokens, channels] row-major.
//
// Entry points dispatch on sp_active_isa() to AVX-512 (diffusion_ops_avx512.c) or portable scalar
// code (diffusion_ops.c, also the fallback for AVX2-only and non-x86 CPUs). The scalar reference
// definitions of the ops are Sources/Runtime/Kernels/Reference/DiffusionOpsReference.swift and the
// `_ref` functions below.
#ifndef SP_DIFFUSION_OPS_H
#define SP_DIFFUSION_OPS_H
#include <stddef.h>
#include <stdint.h>

// ---- Group norm (NHWC) -------------------------------------------------------------------------

/// Per-channel moments of pixels [p0, p1) of a [pixels, channels] map, shifted by shift[c] for
/// numerical stability: sum[c] += Σ_p (x[p, c] − shift[c]), sumsq[c] += Σ_p (x[p, c] − shift[c])².
/// Partial sums are kept in float over blocks of at most 64 pixels and added into the double
/// accumulators, so a thread can take any pixel range and the caller combines the partials.
void sp_channel_moments(const float *x, int64_t p0, int64_t p1, int64_t channels, const float *shift,
                        double *sum, double *sumsq);

/// y[p, c] = (x[p, c] − center[c]) · scale[c] + offset[c] (the multiply-add fused) for pixels
/// [p0, p1), then with `silu` y ← y / (1 + e^−y). This is the second pass of group norm once the
/// per-channel center (μ of the channel's group), scale (γ / σ_group) and offset (β) are known.
/// y may alias x.
void sp_channel_affine(const float *x, int64_t p0, int64_t p1, int64_t channels, const float *center,
                       const float *scale, const float *offset, int silu, float *y);

// ---- Layer norm (token rows) -------------------------------------------------------------------

/// For each row r in [r0, r1) of a [rows, channels] matrix: μ = mean(x[r]), σ² = mean((x[r] − μ)²)
/// (two passes over the row, float vector accumulators), y[r] = (x[r] − μ) / √(σ² + eps) · γ + β
/// (matches torch.nn.functional.layer_norm over the last dimension). y may alias x.
void sp_layer_norm_rows(const float *x, int64_t r0, int64_t r1, int64_t channels, float eps,
                        const float *gamma, const float *beta, float *y);

// ---- Tiled attention ---------------------------------------------------------------------------

/// Query rows per tile and key rows per tile of sp_flash_attention (the unit of threading is one
/// query tile of one head).
#define SP_FLASH_QUERY_TILE 64
#define SP_FLASH_KEY_TILE 128

/// Floats of scratch one sp_flash_attention call needs for head dimension D.
size_t sp_flash_attention_scratch_floats(int64_t D);

/// One head of softmax(scale · Q Kᵀ) V for query rows [q0, q1) (at most SP_FLASH_QUERY_TILE of them),
/// never forming more than a SP_FLASH_QUERY_TILE × SP_FLASH_KEY_TILE block of scores: key tiles are
/// visited in order with an online softmax (running row max m and sum l; earlier partial outputs are
/// rescaled by e^(m_old − m_new)), as in FlashAttention (Dao et al. 2022, Algorithm 1).
/// Row i of Q is q + i · q_stride (D floats), likewise K (keys rows), V and out; strides in floats.
/// With `causal`, query i sees keys j ≤ i only (top-left aligned, torch's is_causal). scratch: at
/// least sp_flash_attention_scratch_floats(D) floats, 64-byte aligned, private to the caller.
void sp_flash_attention(const float *q, int64_t q_stride, const float *k, int64_t k_stride, const float *v,
                        int64_t v_stride, float *out, int64_t out_stride, int64_t keys, int64_t D, float scale,
                        int causal, int64_t q0, int64_t q1, float *scratch);

// ---- Activations (exact GELU family, SiLU) -----------------------------------------------------
//
// gelu(x) = x · Φ(x) = x/2 · erfc(−x/√2), the exact GELU (torch.nn.functional.gelu's default,
// approximate='none'), NOT the tanh approximation of sp_geglu. The fast paths evaluate erfc with the
// Chebyshev fit of Numerical Recipes (2nd ed., §6.2, erfcc: relative error < 1.2e-7 for all inputs)
// and the vector exp of vector_exp.h: a few float ulp from the double-precision references below
// (x ≥ 0 uses 1 − erfc/2, x < 0 uses erfc/2, so both tails keep their relative accuracy).

/// x[i] ← gelu(x[i]) (exact erf GELU), in place allowed (y == x).
void sp_gelu_erf(const float *x, float *y, int64_t n);
void sp_gelu_erf_ref(const float *x, float *y, int64_t n);

/// GEGLU with the exact GELU (matches diffusers GEGLU: hidden, gate = proj(x).chunk(2, dim=-1);
/// hidden · gelu(gate)): out[i] = up[i] · gelu(gate[i]). `up` is diffusers' `hidden` (first half of
/// the projection), `gate` its second half. out may alias gate or up.
void sp_geglu_erf(const float *gate, const float *up, float *out, int64_t n);
void sp_geglu_erf_ref(const float *gate, const float *up, float *out, int64_t n);

/// quickGELU (CLIP's "quick_gelu"): y = x · σ(1.702 x) = x / (1 + e^(−1.702 x)).
void sp_quick_gelu(const float *x, float *y, int64_t n);
void sp_quick_gelu_ref(const float *x, float *y, int64_t n);

/// SiLU: y = x · σ(x) = x / (1 + e^−x).
void sp_silu(const float *x, float *y, int64_t n);
void sp_silu_ref(const float *x, float *y, int64_t n);

#endif
