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

#ifdef SP_X86
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
