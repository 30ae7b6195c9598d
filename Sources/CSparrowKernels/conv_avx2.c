// AVX2 micro-kernels of the convolutions (see conv.c for the driver): GEMM tile of 6 output pixels ×
// 16 channels (one panel, 12 ymm accumulators); depthwise pixels in blocks of 8 channels.
#include "conv_internal.h"
#ifdef SP_X86
#include <immintrin.h>
#include <math.h>

#define SP_AVX2 "avx2,fma"
#define SP_INLINE2 static inline __attribute__((always_inline, target(SP_AVX2)))

/// Stores the first n (≤ 8) lanes of v at o: out = clamp(v) or out += v.
SP_INLINE2 void sp_conv_store8(float *o, __m256 v, int64_t n, int accumulate, __m256 lo, __m256 hi) {
    if (n >= 8) {
        if (accumulate) _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), v));
        else _mm256_storeu_ps(o, _mm256_min_ps(hi, _mm256_max_ps(lo, v)));
        return;
    }
    float tmp[8];
    _mm256_storeu_ps(tmp, accumulate ? v : _mm256_min_ps(hi, _mm256_max_ps(lo, v)));
    for (int64_t i = 0; i < n; i++) o[i] = accumulate ? o[i] + tmp[i] : tmp[i];
}

__attribute__((target(SP_AVX2))) void sp_conv_tile_avx2(int64_t mr, int64_t nc, int64_t taps, int64_t cin,
                                                        const float *const *ind, int64_t ind_stride, int64_t tap_step,
                                                        const ptrdiff_t *delta, const float *w, size_t panel_stride,
                                                        const float *bias, float *const *out, int accumulate,
                                                        float lo, float hi) {
    (void)panel_stride;
    enum { MR = 6 };
    __m256 acc0[MR], acc1[MR];
    const __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        acc0[r] = b0;
        acc1[r] = b1;
    }
    const float *wp = w;
    for (int64_t t = 0; t < taps; t++) {
        const float *a[MR];
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) a[r] = ind[(r < mr ? r : 0) * ind_stride + t * tap_step] + delta[t];
        for (int64_t k = 0; k < cin; k++, wp += SP_CONV_NR) {
            const __m256 v0 = _mm256_loadu_ps(wp), v1 = _mm256_loadu_ps(wp + 8);
#pragma clang loop unroll(full)
            for (int r = 0; r < MR; r++) {
                const __m256 x = _mm256_broadcast_ss(a[r] + k);
                acc0[r] = _mm256_fmadd_ps(x, v0, acc0[r]);
                acc1[r] = _mm256_fmadd_ps(x, v1, acc1[r]);
            }
        }
    }
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (int r = 0; r < MR && r < mr; r++) {
        sp_conv_store8(out[r], acc0[r], nc, accumulate, vlo, vhi);
        if (nc > 8) sp_conv_store8(out[r] + 8, acc1[r], nc - 8, accumulate, vlo, vhi);
    }
}

__attribute__((target(SP_AVX2))) void sp_dw_pixel_avx2(int64_t count, const float *const *in, const float *const *wt,
                                                       const float *bias, int64_t channels, float *out,
                                                       int accumulate, float lo, float hi) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const int use_bias = !accumulate && bias;
    int64_t c = 0;
    for (; c + 32 <= channels; c += 32) {
        __m256 a0, a1, a2, a3;
        if (use_bias) {
            a0 = _mm256_loadu_ps(bias + c);
            a1 = _mm256_loadu_ps(bias + c + 8);
            a2 = _mm256_loadu_ps(bias + c + 16);
            a3 = _mm256_loadu_ps(bias + c + 24);
        } else {
            a0 = a1 = a2 = a3 = _mm256_setzero_ps();
        }
        for (int64_t i = 0; i < count; i++) {
            const float *x = in[i] + c, *k = wt[i] + c;
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(k), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 8), _mm256_loadu_ps(k + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(k + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 24), _mm256_loadu_ps(k + 24), a3);
        }
        sp_conv_store8(out + c, a0, 8, accumulate, vlo, vhi);
        sp_conv_store8(out + c + 8, a1, 8, accumulate, vlo, vhi);
        sp_conv_store8(out + c + 16, a2, 8, accumulate, vlo, vhi);
        sp_conv_store8(out + c + 24, a3, 8, accumulate, vlo, vhi);
    }
    for (; c + 8 <= channels; c += 8) {
        __m256 a = use_bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
        for (int64_t i = 0; i < count; i++) a = _mm256_fmadd_ps(_mm256_loadu_ps(in[i] + c), _mm256_loadu_ps(wt[i] + c), a);
        sp_conv_store8(out + c, a, 8, accumulate, vlo, vhi);
    }
    for (; c < channels; c++) {
        float a = use_bias ? bias[c] : 0.0f;
        for (int64_t i = 0; i < count; i++) a = fmaf(in[i][c], wt[i][c], a);
        if (accumulate) out[c] += a;
        else {
            a = a < lo ? lo : a;
            out[c] = a > hi ? hi : a;
        }
    }
}

#endif
