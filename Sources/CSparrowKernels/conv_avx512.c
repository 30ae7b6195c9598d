// AVX-512 micro-kernels of the convolutions (see conv.c for the driver).
//
// GEMM tile: 8 output pixels × 32 channels (two packed panels) in 16 zmm accumulators; per input
// index two weight vectors are loaded and each pixel's input value is broadcast into 2 FMAs. When
// fewer than 17 channels remain, the one-panel form (8 × 16) runs. Also the int8 weight widening.
#include "conv_internal.h"
#ifdef SP_X86
#include <immintrin.h>

#define SP_AVX512 "avx512f,avx512bw,avx512vl"
#define SP_INLINE512 static inline __attribute__((always_inline, target(SP_AVX512)))

SP_INLINE512 __mmask16 sp_conv_mask(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

SP_INLINE512 void sp_conv_store(float *o, __m512 acc, __mmask16 m, int accumulate, __m512 lo, __m512 hi) {
    if (accumulate) {
        _mm512_mask_storeu_ps(o, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), acc));
    } else {
        _mm512_mask_storeu_ps(o, m, _mm512_min_ps(hi, _mm512_max_ps(lo, acc)));
    }
}

SP_INLINE512 void sp_conv_tile_avx512_n(const int two, int64_t mr, int64_t nc, int64_t taps, int64_t cin,
                                        const float *const *ind, int64_t ind_stride, int64_t tap_step,
                                        const ptrdiff_t *delta, const float *w, size_t panel_stride,
                                        const float *bias, float *const *out, int accumulate, float lo, float hi) {
    enum { MR = SP_CONV_MR_AVX512 };
    __m512 acc0[MR], acc1[MR];
    const float *w0 = w, *w1 = two ? w + panel_stride : w;
    const __m512 b0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 b1 = (bias && two) ? _mm512_loadu_ps(bias + SP_CONV_NR) : _mm512_setzero_ps();
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        acc0[r] = b0;
        acc1[r] = b1;
    }
    for (int64_t t = 0; t < taps; t++) {
        const float *a[MR];
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) a[r] = ind[(r < mr ? r : 0) * ind_stride + t * tap_step] + delta[t];
        for (int64_t k = 0; k < cin; k++) {
            const __m512 v0 = _mm512_loadu_ps(w0);
            w0 += SP_CONV_NR;
            __m512 v1 = v0;
            if (two) {
                v1 = _mm512_loadu_ps(w1);
                w1 += SP_CONV_NR;
            }
#pragma clang loop unroll(full)
            for (int r = 0; r < MR; r++) {
                const __m512 x = _mm512_set1_ps(a[r][k]);
                acc0[r] = _mm512_fmadd_ps(x, v0, acc0[r]);
                if (two) acc1[r] = _mm512_fmadd_ps(x, v1, acc1[r]);
            }
        }
    }
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    const __mmask16 m0 = sp_conv_mask(nc), m1 = sp_conv_mask(nc - 16);
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        sp_conv_store(out[r], acc0[r], m0, accumulate, vlo, vhi);
        if (two) sp_conv_store(out[r] + 16, acc1[r], m1, accumulate, vlo, vhi);
    }
}

__attribute__((target(SP_AVX512))) void sp_conv_tile_avx512(int64_t mr, int64_t nc, int64_t taps, int64_t cin,
                                                            const float *const *ind, int64_t ind_stride,
                                                            int64_t tap_step, const ptrdiff_t *delta, const float *w,
                                                            size_t panel_stride, const float *bias, float *const *out,
                                                            int accumulate, float lo, float hi) {
    if (nc > 16)
        sp_conv_tile_avx512_n(1, mr, nc, taps, cin, ind, ind_stride, tap_step, delta, w, panel_stride, bias, out,
                              accumulate, lo, hi);
    else
        sp_conv_tile_avx512_n(0, mr, nc, taps, cin, ind, ind_stride, tap_step, delta, w, panel_stride, bias, out,
                              accumulate, lo, hi);
}

__attribute__((target(SP_AVX512))) void sp_conv_widen_f16_avx512(const uint16_t *h, int64_t n, float *dst) {
    for (int64_t i = 0; i < n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i))));
}

__attribute__((target(SP_AVX512))) void sp_conv_widen_i8_avx512(const int8_t *q, const float *scale, int64_t n,
                                                                float *dst) {
    const __m512 s = _mm512_loadu_ps(scale);
    for (int64_t i = 0; i < n; i += 16) {
        const __m512i v = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(q + i)));
        _mm512_storeu_ps(dst + i, _mm512_mul_ps(_mm512_cvtepi32_ps(v), s));
    }
}

/// Depthwise pixel: channels in blocks of 64 (4 zmm), then 16, then a masked tail.
__attribute__((target(SP_AVX512))) void sp_dw_pixel_avx512(int64_t count, const float *const *in,
                                                           const float *const *wt, const float *bias,
                                                           int64_t channels, float *out, int accumulate,
                                                           float lo, float hi) {
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    const int use_bias = !accumulate && bias;
    int64_t c = 0;
    for (; c + 64 <= channels; c += 64) {
        __m512 a0, a1, a2, a3;
        if (use_bias) {
            a0 = _mm512_loadu_ps(bias + c);
            a1 = _mm512_loadu_ps(bias + c + 16);
            a2 = _mm512_loadu_ps(bias + c + 32);
            a3 = _mm512_loadu_ps(bias + c + 48);
        } else {
            a0 = a1 = a2 = a3 = _mm512_setzero_ps();
        }
        for (int64_t i = 0; i < count; i++) {
            const float *x = in[i] + c, *k = wt[i] + c;
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x), _mm512_loadu_ps(k), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(k + 16), a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 32), _mm512_loadu_ps(k + 32), a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 48), _mm512_loadu_ps(k + 48), a3);
        }
        sp_conv_store(out + c, a0, 0xFFFF, accumulate, vlo, vhi);
        sp_conv_store(out + c + 16, a1, 0xFFFF, accumulate, vlo, vhi);
        sp_conv_store(out + c + 32, a2, 0xFFFF, accumulate, vlo, vhi);
        sp_conv_store(out + c + 48, a3, 0xFFFF, accumulate, vlo, vhi);
    }
    for (; c < channels; c += 16) {
        const __mmask16 m = sp_conv_mask(channels - c);
        __m512 a = use_bias ? _mm512_maskz_loadu_ps(m, bias + c) : _mm512_setzero_ps();
        for (int64_t i = 0; i < count; i++)
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, in[i] + c), _mm512_maskz_loadu_ps(m, wt[i] + c), a);
        sp_conv_store(out + c, a, m, accumulate, vlo, vhi);
    }
}

/// Depthwise run: n output pixels of one row, all horizontal taps in bounds (see sp_dw_run_fn);
/// channels in blocks of 32 (2 zmm), then a masked tail of up to 16.
__attribute__((target(SP_AVX512))) void sp_dw_run_avx512(int64_t rows, const float *const *in, const float *const *wt,
                                                         int64_t kw, int64_t tap_stride, int64_t pixel_stride,
                                                         int64_t n, const float *bias, int64_t channels, float *out,
                                                         float lo, float hi) {
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    for (int64_t j = 0; j < n; j++, out += channels) {
        const int64_t offset = j * pixel_stride;
        int64_t c = 0;
        for (; c + 32 <= channels; c += 32) {
            __m512 a0 = _mm512_loadu_ps(bias + c), a1 = _mm512_loadu_ps(bias + c + 16);
            for (int64_t r = 0; r < rows; r++) {
                const float *x = in[r] + offset + c, *k = wt[r] + c;
                for (int64_t kx = 0; kx < kw; kx++, x += tap_stride, k += channels) {
                    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x), _mm512_loadu_ps(k), a0);
                    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(k + 16), a1);
                }
            }
            sp_conv_store(out + c, a0, 0xFFFF, 0, vlo, vhi);
            sp_conv_store(out + c + 16, a1, 0xFFFF, 0, vlo, vhi);
        }
        for (; c < channels; c += 16) {
            const __mmask16 m = sp_conv_mask(channels - c);
            __m512 a = _mm512_maskz_loadu_ps(m, bias + c);
            for (int64_t r = 0; r < rows; r++) {
                const float *x = in[r] + offset + c, *k = wt[r] + c;
                for (int64_t kx = 0; kx < kw; kx++, x += tap_stride, k += channels)
                    a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x), _mm512_maskz_loadu_ps(m, k), a);
            }
            sp_conv_store(out + c, a, m, 0, vlo, vhi);
        }
    }
}

// ---- Winograd F(2×2, 3×3) transforms (the scalar twins and the matrices are in conv_winograd.c) ----

__attribute__((target(SP_AVX512))) void sp_wino_input_avx512(const float *const *d, int64_t n, float *v,
                                                             size_t xi_stride) {
    for (int64_t c = 0; c < n; c += 16) {
        const __mmask16 k = sp_conv_mask(n - c);
        __m512 w[4][4];
        for (int j = 0; j < 4; j++) {
            const __m512 d0 = _mm512_maskz_loadu_ps(k, d[j] + c), d1 = _mm512_maskz_loadu_ps(k, d[4 + j] + c);
            const __m512 d2 = _mm512_maskz_loadu_ps(k, d[8 + j] + c), d3 = _mm512_maskz_loadu_ps(k, d[12 + j] + c);
            w[0][j] = _mm512_sub_ps(d0, d2);
            w[1][j] = _mm512_add_ps(d1, d2);
            w[2][j] = _mm512_sub_ps(d2, d1);
            w[3][j] = _mm512_sub_ps(d1, d3);
        }
        for (int a = 0; a < 4; a++) {
            float *o = v + (size_t)(4 * a) * xi_stride + (size_t)c;
            _mm512_mask_storeu_ps(o, k, _mm512_sub_ps(w[a][0], w[a][2]));
            _mm512_mask_storeu_ps(o + xi_stride, k, _mm512_add_ps(w[a][1], w[a][2]));
            _mm512_mask_storeu_ps(o + 2 * xi_stride, k, _mm512_sub_ps(w[a][2], w[a][1]));
            _mm512_mask_storeu_ps(o + 3 * xi_stride, k, _mm512_sub_ps(w[a][1], w[a][3]));
        }
    }
}

__attribute__((target(SP_AVX512))) void sp_wino_weights_avx512(const float *g, size_t tap_stride, int64_t n,
                                                               float *u, size_t xi_stride) {
    const __m512 half = _mm512_set1_ps(0.5f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = sp_conv_mask(n - i);
        __m512 taps[9], h[4][3];
        for (int t = 0; t < 9; t++) taps[t] = _mm512_maskz_loadu_ps(k, g + (size_t)t * tap_stride + i);
        for (int x = 0; x < 3; x++) {
            const __m512 e = _mm512_add_ps(taps[x], taps[6 + x]);
            h[0][x] = taps[x];
            h[1][x] = _mm512_mul_ps(half, _mm512_add_ps(e, taps[3 + x]));
            h[2][x] = _mm512_mul_ps(half, _mm512_sub_ps(e, taps[3 + x]));
            h[3][x] = taps[6 + x];
        }
        for (int a = 0; a < 4; a++) {
            const __m512 e = _mm512_add_ps(h[a][0], h[a][2]);
            float *o = u + (size_t)(4 * a) * xi_stride + (size_t)i;
            _mm512_mask_storeu_ps(o, k, h[a][0]);
            _mm512_mask_storeu_ps(o + xi_stride, k, _mm512_mul_ps(half, _mm512_add_ps(e, h[a][1])));
            _mm512_mask_storeu_ps(o + 2 * xi_stride, k, _mm512_mul_ps(half, _mm512_sub_ps(e, h[a][1])));
            _mm512_mask_storeu_ps(o + 3 * xi_stride, k, h[a][2]);
        }
    }
}

__attribute__((target(SP_AVX512))) void sp_wino_output_avx512(const float *m, size_t xi_stride, int64_t n,
                                                              const float *bias, float *const *out, int accumulate,
                                                              float lo, float hi) {
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    for (int64_t c = 0; c < n; c += 16) {
        const __mmask16 k = sp_conv_mask(n - c);
        __m512 sums[16], s[2][4];
        for (int xi = 0; xi < 16; xi++) sums[xi] = _mm512_maskz_loadu_ps(k, m + (size_t)xi * xi_stride + c);
        for (int b = 0; b < 4; b++) {
            s[0][b] = _mm512_add_ps(_mm512_add_ps(sums[b], sums[4 + b]), sums[8 + b]);
            s[1][b] = _mm512_sub_ps(_mm512_sub_ps(sums[4 + b], sums[8 + b]), sums[12 + b]);
        }
        const __m512 bv = bias ? _mm512_maskz_loadu_ps(k, bias + c) : _mm512_setzero_ps();
        for (int r = 0; r < 2; r++) {
            const __m512 y[2] = {_mm512_add_ps(_mm512_add_ps(s[r][0], s[r][1]), s[r][2]),
                                 _mm512_sub_ps(_mm512_sub_ps(s[r][1], s[r][2]), s[r][3])};
            for (int q = 0; q < 2; q++) {
                float *o = out[2 * r + q];
                if (!o) continue;
                sp_conv_store(o + c, accumulate ? y[q] : _mm512_add_ps(y[q], bv), k, accumulate, vlo, vhi);
            }
        }
    }
}

#endif
