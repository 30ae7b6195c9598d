// Shared definitions of the convolution translation units (conv.c, conv_avx512.c, conv_avx2.c).
#ifndef SP_CONV_INTERNAL_H
#define SP_CONV_INTERNAL_H
#include "internal.h"

/// Most output pixels one micro-kernel call covers (the largest MR of any instruction set).
#define SP_CONV_MR_MAX 12
/// Output pixels of the AVX-512 micro-kernel.
#ifndef SP_CONV_MR_AVX512
#define SP_CONV_MR_AVX512 8
#endif

/// GEMM micro-kernel: `mr` (≤ its MR) output pixels × `nc` (≤ its NC) output channels.
/// Pixel r's input row for tap t (cin floats) is ind[r·ind_stride + t·tap_step] + delta[t]: a full
/// indirection list (ind_stride = taps, tap_step = 1, delta = 0) or one pointer per pixel plus the
/// taps' fixed offsets (ind_stride = 1, tap_step = 0). w: the first panel's 16 weights of input index
/// 0, then of index 1, …; the next panel `panel_stride` floats further. bias: the 16 (two panels: 32)
/// values the sums start from, NULL for zero. out[r]: where pixel r's first channel goes.
/// accumulate == 0: out = clamp(bias + Σ, lo, hi); else out += bias + Σ.
typedef void (*sp_conv_tile_fn)(int64_t mr, int64_t nc, int64_t taps, int64_t cin, const float *const *ind,
                                int64_t ind_stride, int64_t tap_step, const ptrdiff_t *delta, const float *w,
                                size_t panel_stride, const float *bias, float *const *out, int accumulate, float lo,
                                float hi);

/// Depthwise pixel kernel (multiplier 1): out[c] for c < channels from `count` in-bounds taps
/// (input pixel rows `in[i]`, weight rows `wt[i]`, each `channels` floats), like sp_conv_tile_fn's modes.
typedef void (*sp_dw_pixel_fn)(int64_t count, const float *const *in, const float *const *wt, const float *bias,
                               int64_t channels, float *out, int accumulate, float lo, float hi);

/// Depthwise run (multiplier 1, dense mode): n consecutive output pixels of one row whose taps all
/// lie inside the input horizontally. For each of `rows` in-bounds kernel rows, in[r] is the input at
/// the first pixel's kx = 0 tap and wt[r] that kernel row's weights ([kw, channels]); tap kx of pixel
/// j reads in[r] + j·pixel_stride + kx·tap_stride. out = clamp(bias + Σ).
typedef void (*sp_dw_run_fn)(int64_t rows, const float *const *in, const float *const *wt, int64_t kw,
                             int64_t tap_stride, int64_t pixel_stride, int64_t n, const float *bias,
                             int64_t channels, float *out, float lo, float hi);

/// Widens `rows` packed rows of panel j (from row `row0`; k rows per panel) of fp16 or int8 weights to
/// fp32 at dst (`vector`: with the active ISA's conversions, else one value at a time).
void sp_conv_widen(const sp_conv_weights *w, int64_t k, int64_t j, int64_t row0, int64_t rows, float *dst, int vector);
/// Scalar micro-kernel: 4 pixels × 16 channels (one panel).
void sp_conv_tile_scalar(int64_t mr, int64_t nc, int64_t taps, int64_t cin, const float *const *ind, int64_t ind_stride,
                         int64_t tap_step, const ptrdiff_t *delta, const float *w, size_t panel_stride,
                         const float *bias, float *const *out, int accumulate, float lo, float hi);

/// Winograd F(2×2, 3×3) transforms (conv_winograd.c; vectorised twins in conv_avx512.c), over `n`
/// consecutive channels; ξ = 4a + b indexes the 4×4 transformed values, `xi_stride` floats apart.
/// Input: d[4i + j] is the input pixel row at tile offset (i, j) (the zero row outside the map);
/// v[ξ] = (Bᵀ d B)[a][b].
typedef void (*sp_wino_input_fn)(const float *const *d, int64_t n, float *v, size_t xi_stride);
/// Weights: g + t·tap_stride holds tap t = 3·ky + kx; u[ξ] = (G g Gᵀ)[a][b].
typedef void (*sp_wino_weights_fn)(const float *g, size_t tap_stride, int64_t n, float *u, size_t xi_stride);
/// Output: y = Aᵀ m A, the 2×2 pixels out[2r + c] (NULL: outside the map, skipped), stored as
/// clamp(y + bias, lo, hi) or, when accumulating, added (no bias, no clamp).
typedef void (*sp_wino_output_fn)(const float *m, size_t xi_stride, int64_t n, const float *bias, float *const *out,
                                  int accumulate, float lo, float hi);

#ifdef SP_X86
void sp_wino_input_avx512(const float *const *d, int64_t n, float *v, size_t xi_stride);
void sp_wino_weights_avx512(const float *g, size_t tap_stride, int64_t n, float *u, size_t xi_stride);
void sp_wino_output_avx512(const float *m, size_t xi_stride, int64_t n, const float *bias, float *const *out,
                           int accumulate, float lo, float hi);
void sp_dw_run_avx512(int64_t rows, const float *const *in, const float *const *wt, int64_t kw, int64_t tap_stride,
                      int64_t pixel_stride, int64_t n, const float *bias, int64_t channels, float *out, float lo,
                      float hi);
void sp_conv_tile_avx512(int64_t mr, int64_t nc, int64_t taps, int64_t cin, const float *const *ind, int64_t ind_stride,
                         int64_t tap_step, const ptrdiff_t *delta, const float *w, size_t panel_stride,
                         const float *bias, float *const *out, int accumulate, float lo, float hi);
void sp_conv_tile_avx2(int64_t mr, int64_t nc, int64_t taps, int64_t cin, const float *const *ind, int64_t ind_stride,
                       int64_t tap_step, const ptrdiff_t *delta, const float *w, size_t panel_stride, const float *bias,
                       float *const *out, int accumulate, float lo, float hi);
/// Weight rows widened to fp32, n values (a multiple of 16): fp16 h[i], or int8 q[i] · scale[i mod 16].
void sp_conv_widen_f16_avx512(const uint16_t *h, int64_t n, float *dst);
void sp_conv_widen_i8_avx512(const int8_t *q, const float *scale, int64_t n, float *dst);
void sp_dw_pixel_avx512(int64_t count, const float *const *in, const float *const *wt, const float *bias,
                        int64_t channels, float *out, int accumulate, float lo, float hi);
void sp_dw_pixel_avx2(int64_t count, const float *const *in, const float *const *wt, const float *bias,
                      int64_t channels, float *out, int accumulate, float lo, float hi);
#endif

#endif
