// AVX-512 diffusion kernels: group/layer norm passes, the tiled-attention pieces and the GELU family.
//
// Attention tiles are transposed ([key][query], [d][query]; see diffusion_internal.h), so a register
// holds 16 queries and a 64-query tile is 4 registers. The score and value products are register
// blocks of 6 rows × 4 vectors (24 accumulators): each step loads 4 vectors of the transposed tile
// and broadcasts 6 values of K or V straight from their (strided) rows, 24 FMAs per 10 loads.
#include "diffusion_internal.h"
#ifdef SP_X86
#include "vector_exp.h"
#include <float.h>
#include <immintrin.h>
#include <math.h>

#define SP_AVX512 __attribute__((target("avx512f")))
#define SP_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))
#define SP_NV (SP_FQ / 16)   // vectors per query tile
#define SP_BLOCK 6           // rows per register block

SP_AVX512_INLINE __mmask16 sp_tail_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

// ---- Group norm and layer norm ----------------------------------------------------------------------

SP_AVX512 void sp_channel_moments_avx512(const float *x, int64_t p0, int64_t p1, int64_t C, const float *shift,
                                         double *sum, double *sumsq) {
    for (int64_t b = p0; b < p1; b += 64) {
        const int64_t e = b + 64 < p1 ? b + 64 : p1;
        for (int64_t c = 0; c < C; c += 16) {
            const __mmask16 m = sp_tail_mask(C - c);
            const __m512 sh = _mm512_maskz_loadu_ps(m, shift + c);
            __m512 s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps();
            for (int64_t p = b; p < e; p++) {
                const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + p * C + c), sh);
                s1 = _mm512_add_ps(s1, d);
                s2 = _mm512_fmadd_ps(d, d, s2);
            }
            const __mmask8 lo = (__mmask8)m, hi = (__mmask8)(m >> 8);
            __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(s1));
            __m512d bq = _mm512_cvtps_pd(_mm512_castps512_ps256(s2));
            _mm512_mask_storeu_pd(sum + c, lo, _mm512_add_pd(_mm512_maskz_loadu_pd(lo, sum + c), a));
            _mm512_mask_storeu_pd(sumsq + c, lo, _mm512_add_pd(_mm512_maskz_loadu_pd(lo, sumsq + c), bq));
            if (hi) {
                a = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s1), 1)));
                bq = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s2), 1)));
                _mm512_mask_storeu_pd(sum + c + 8, hi, _mm512_add_pd(_mm512_maskz_loadu_pd(hi, sum + c + 8), a));
                _mm512_mask_storeu_pd(sumsq + c + 8, hi, _mm512_add_pd(_mm512_maskz_loadu_pd(hi, sumsq + c + 8), bq));
            }
        }
    }
}

SP_AVX512_INLINE __m512 sp_silu16(__m512 r) {
    return _mm512_div_ps(r, _mm512_add_ps(_mm512_set1_ps(1.0f), sp_exp16(_mm512_sub_ps(_mm512_setzero_ps(), r))));
}

SP_AVX512 void sp_channel_affine_avx512(const float *x, int64_t p0, int64_t p1, int64_t C, const float *center,
                                        const float *scale, const float *offset, int silu, float *y) {
    for (int64_t p = p0; p < p1; p++) {
        const float *xp = x + p * C;
        float *yp = y + p * C;
        for (int64_t c = 0; c < C; c += 16) {
            const __mmask16 m = sp_tail_mask(C - c);
            const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, xp + c), _mm512_maskz_loadu_ps(m, center + c));
            __m512 r = _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, scale + c), _mm512_maskz_loadu_ps(m, offset + c));
            if (silu) r = sp_silu16(r);
            _mm512_mask_storeu_ps(yp + c, m, r);
        }
    }
}

SP_AVX512 void sp_layer_norm_rows_avx512(const float *x, int64_t r0, int64_t r1, int64_t C, float eps,
                                         const float *gamma, const float *beta, float *y) {
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        __m512 s = _mm512_setzero_ps();
        for (int64_t c = 0; c < C; c += 16) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(sp_tail_mask(C - c), xr + c));
        const float mean = _mm512_reduce_add_ps(s) / (float)C;
        const __m512 mv = _mm512_set1_ps(mean);
        __m512 ss = _mm512_setzero_ps();
        for (int64_t c = 0; c < C; c += 16) {
            const __mmask16 m = sp_tail_mask(C - c);
            const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, xr + c), mv);
            ss = _mm512_fmadd_ps(d, d, ss);
        }
        const __m512 rstd = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(ss) / (float)C + eps));
        for (int64_t c = 0; c < C; c += 16) {
            const __mmask16 m = sp_tail_mask(C - c);
            const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + c), mv), rstd);
            _mm512_mask_storeu_ps(yr + c, m, _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, gamma + c),
                                                              _mm512_maskz_loadu_ps(m, beta + c)));
        }
    }
}

// ---- Tiled attention -----------------------------------------------------------------------------------

// st[j][:] for R keys starting at k (R ≤ SP_BLOCK, a constant after inlining); mx ← max(mx, st[j][:]).
SP_AVX512_INLINE void sp_scores_block(const float *k, int64_t ks, const int R, const float *qt, int64_t D, float *st,
                                      __m512 *mx) {
    __m512 acc[SP_BLOCK][SP_NV];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < SP_NV; v++) acc[r][v] = _mm512_setzero_ps();
    for (int64_t d = 0; d < D; d++) {
        __m512 qv[SP_NV];
        for (int v = 0; v < SP_NV; v++) qv[v] = _mm512_load_ps(qt + d * SP_FQ + v * 16);
        for (int r = 0; r < R; r++) {
            const __m512 kb = _mm512_set1_ps(k[r * ks + d]);
            for (int v = 0; v < SP_NV; v++) acc[r][v] = _mm512_fmadd_ps(kb, qv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; r++) {
        for (int v = 0; v < SP_NV; v++) {
            _mm512_store_ps(st + r * SP_FQ + v * 16, acc[r][v]);
            mx[v] = _mm512_max_ps(mx[v], acc[r][v]);
        }
    }
}

SP_AVX512 static void sp_flash_scores_avx512(const float *k, int64_t ks, int64_t nk, const float *qt, int64_t D, float *st,
                                             float *colmax) {
    __m512 mx[SP_NV];
    for (int v = 0; v < SP_NV; v++) mx[v] = _mm512_set1_ps(-FLT_MAX);
    int64_t j = 0;
    for (; j + SP_BLOCK <= nk; j += SP_BLOCK) sp_scores_block(k + j * ks, ks, SP_BLOCK, qt, D, st + j * SP_FQ, mx);
    const float *kj = k + j * ks;
    float *sj = st + j * SP_FQ;
    switch (nk - j) {
    case 5: sp_scores_block(kj, ks, 5, qt, D, sj, mx); break;
    case 4: sp_scores_block(kj, ks, 4, qt, D, sj, mx); break;
    case 3: sp_scores_block(kj, ks, 3, qt, D, sj, mx); break;
    case 2: sp_scores_block(kj, ks, 2, qt, D, sj, mx); break;
    case 1: sp_scores_block(kj, ks, 1, qt, D, sj, mx); break;
    default: break;
    }
    if (colmax)
        for (int v = 0; v < SP_NV; v++) _mm512_store_ps(colmax + v * 16, mx[v]);
}

SP_AVX512 static void sp_flash_softmax_avx512(float *st, int64_t nk, int causal, int64_t i0, int64_t j0,
                                              const float *colmax, float *m, float *l, float *alpha) {
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    __m512 mold[SP_NV], mx[SP_NV], sum[SP_NV];
    __m512i qi[SP_NV];
    for (int v = 0; v < SP_NV; v++) {
        mold[v] = _mm512_load_ps(m + v * 16);
        mx[v] = mold[v];
        sum[v] = _mm512_setzero_ps();
        qi[v] = _mm512_add_epi32(lane, _mm512_set1_epi32((int)(i0 + v * 16)));
    }
    // Key j0 + j is visible to query i0 + i when i0 + i ≥ j0 + j.
#define SP_VISIBLE(v, j) (causal ? _mm512_cmpge_epi32_mask(qi[v], _mm512_set1_epi32((int)(j0 + (j)))) : (__mmask16)0xffff)
    if (colmax) {
        for (int v = 0; v < SP_NV; v++) mx[v] = _mm512_max_ps(mx[v], _mm512_load_ps(colmax + v * 16));
    } else {
        for (int64_t j = 0; j < nk; j++)
            for (int v = 0; v < SP_NV; v++)
                mx[v] = _mm512_mask_max_ps(mx[v], SP_VISIBLE(v, j), mx[v], _mm512_load_ps(st + j * SP_FQ + v * 16));
    }
    for (int64_t j = 0; j < nk; j++) {
        for (int v = 0; v < SP_NV; v++) {
            float *s = st + j * SP_FQ + v * 16;
            __m512 p = sp_exp16(_mm512_sub_ps(_mm512_load_ps(s), mx[v]));
            if (causal) p = _mm512_maskz_mov_ps(SP_VISIBLE(v, j), p);
            _mm512_store_ps(s, p);
            sum[v] = _mm512_add_ps(sum[v], p);
        }
    }
#undef SP_VISIBLE
    for (int v = 0; v < SP_NV; v++) {
        const __m512 a = sp_exp16(_mm512_sub_ps(mold[v], mx[v]));
        _mm512_store_ps(alpha + v * 16, a);
        _mm512_store_ps(l + v * 16, _mm512_fmadd_ps(_mm512_load_ps(l + v * 16), a, sum[v]));
        _mm512_store_ps(m + v * 16, mx[v]);
    }
}

// ot[d][:] for R dimensions starting at d0 (R ≤ SP_BLOCK, a constant after inlining).
SP_AVX512_INLINE void sp_accumulate_block(const float *st, int64_t nk, const float *v, int64_t vs, const int R,
                                          const __m512 *al, float *ot) {
    __m512 acc[SP_BLOCK][SP_NV];
    for (int r = 0; r < R; r++)
        for (int u = 0; u < SP_NV; u++) acc[r][u] = _mm512_mul_ps(_mm512_load_ps(ot + r * SP_FQ + u * 16), al[u]);
    for (int64_t j = 0; j < nk; j++) {
        __m512 p[SP_NV];
        for (int u = 0; u < SP_NV; u++) p[u] = _mm512_load_ps(st + j * SP_FQ + u * 16);
        for (int r = 0; r < R; r++) {
            const __m512 vb = _mm512_set1_ps(v[j * vs + r]);
            for (int u = 0; u < SP_NV; u++) acc[r][u] = _mm512_fmadd_ps(vb, p[u], acc[r][u]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int u = 0; u < SP_NV; u++) _mm512_store_ps(ot + r * SP_FQ + u * 16, acc[r][u]);
}

SP_AVX512 static void sp_flash_accumulate_avx512(const float *st, int64_t nk, const float *v, int64_t vs, int64_t D,
                                                 const float *alpha, float *ot) {
    __m512 al[SP_NV];
    for (int u = 0; u < SP_NV; u++) al[u] = _mm512_load_ps(alpha + u * 16);
    int64_t d = 0;
    for (; d + SP_BLOCK <= D; d += SP_BLOCK) sp_accumulate_block(st, nk, v + d, vs, SP_BLOCK, al, ot + d * SP_FQ);
    const float *vd = v + d;
    float *od = ot + d * SP_FQ;
    switch (D - d) {
    case 5: sp_accumulate_block(st, nk, vd, vs, 5, al, od); break;
    case 4: sp_accumulate_block(st, nk, vd, vs, 4, al, od); break;
    case 3: sp_accumulate_block(st, nk, vd, vs, 3, al, od); break;
    case 2: sp_accumulate_block(st, nk, vd, vs, 2, al, od); break;
    case 1: sp_accumulate_block(st, nk, vd, vs, 1, al, od); break;
    default: break;
    }
}

const sp_flash_kernels sp_flash_kernels_avx512 = {
    sp_flash_scores_avx512, sp_flash_softmax_avx512, sp_flash_accumulate_avx512,
};

// ---- Activations ---------------------------------------------------------------------------------------

// x · Φ(x) with Φ(x) = erfc(−x/√2)/2: erfc(z), z = |x|/√2 ≥ 0, by the Numerical Recipes Chebyshev fit
// t · exp(−z² + P(t)), t = 1 / (1 + z/2); then Φ = erfc/2 for x < 0 and 1 − erfc/2 for x ≥ 0.
SP_AVX512_INLINE __m512 sp_gelu16(__m512 x) {
    const __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678118654752f));
    const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_fmadd_ps(t, _mm512_set1_ps(0.17087277f), _mm512_set1_ps(-0.82215223f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.26551223f));
    const __m512 half_erfc = _mm512_mul_ps(_mm512_mul_ps(t, _mm512_set1_ps(0.5f)),
                                           sp_exp16(_mm512_fnmadd_ps(z, z, p)));
    const __mmask16 nonneg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    const __m512 phi = _mm512_mask_sub_ps(half_erfc, nonneg, _mm512_set1_ps(1.0f), half_erfc);
    return _mm512_mul_ps(x, phi);
}

SP_AVX512 void sp_gelu_erf_avx512(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = sp_tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, sp_gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

SP_AVX512 void sp_geglu_erf_avx512(const float *gate, const float *up, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = sp_tail_mask(n - i);
        const __m512 g = sp_gelu16(_mm512_maskz_loadu_ps(m, gate + i));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, up + i), g));
    }
}

SP_AVX512 void sp_quick_gelu_avx512(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = sp_tail_mask(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        const __m512 e = sp_exp16(_mm512_mul_ps(v, _mm512_set1_ps(-1.702f)));
        _mm512_mask_storeu_ps(y + i, m, _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e)));
    }
}

SP_AVX512 void sp_silu_avx512(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = sp_tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, sp_silu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
#endif
