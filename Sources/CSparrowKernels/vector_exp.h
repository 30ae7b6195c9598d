// Vectorised exp for the kernels (SwiGLU, attention softmax); internal.
//
// exp(x) = 2^n · e^r with n = round(x · log2 e) and r = x − n · ln 2 (Cody–Waite: ln 2 split into a
// high part exact in a few bits and a low correction, both applied with FMA), |r| ≤ ln2 / 2; e^r is
// the degree-6 Taylor polynomial (truncation error |r|^7 / 7! ≤ 1.2e-7 relative, about one ulp), so
// the vector exp is within a few ulp of the correctly rounded value on [-87, 88] (inputs are clamped
// there; for SwiGLU that only changes results below 1e-36 in magnitude).
#ifndef CSPARROW_VECTOR_EXP_H
#define CSPARROW_VECTOR_EXP_H
#include "internal.h"
#ifdef SP_X86
#include <immintrin.h>

#define SP_EXP_LO -87.0f
#define SP_EXP_HI 88.0f
#define SP_LOG2E 1.44269504088896341f
#define SP_LN2_HI 0.693359375f
#define SP_LN2_LO -2.12194440e-4f
#define SP_C2 (1.0f / 2)
#define SP_C3 (1.0f / 6)
#define SP_C4 (1.0f / 24)
#define SP_C5 (1.0f / 120)
#define SP_C6 (1.0f / 720)

__attribute__((always_inline, target("avx2,fma"))) static inline __m256 sp_exp8(__m256 x) {
    // max/min with the constant first keep a NaN input NaN.
    x = _mm256_min_ps(_mm256_set1_ps(SP_EXP_HI), _mm256_max_ps(_mm256_set1_ps(SP_EXP_LO), x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(SP_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(SP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(SP_LN2_LO), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(SP_C6), r, _mm256_set1_ps(SP_C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SP_C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SP_C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SP_C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__attribute__((always_inline, target("avx512f"))) static inline __m512 sp_exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(SP_EXP_HI), _mm512_max_ps(_mm512_set1_ps(SP_EXP_LO), x));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(SP_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SP_LN2_LO), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(SP_C6), r, _mm512_set1_ps(SP_C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SP_C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SP_C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SP_C2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

#endif
#endif
