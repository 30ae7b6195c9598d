// Element-wise activations: SwiGLU's silu(g) · u with a vectorised exp.
//
// exp(x) = 2^n · e^r with n = round(x · log2 e) and r = x − n · ln 2 (Cody–Waite: ln 2 split into a
// high part exact in a few bits and a low correction, both applied with FMA), |r| ≤ ln2 / 2; e^r is
// the degree-6 Taylor polynomial (truncation error |r|^7 / 7! ≤ 1.2e-7 relative, about one ulp), so
// the vector exp is within a few ulp of the correctly rounded value on [-87, 88] (inputs are clamped
// there; for SwiGLU that only changes results below 1e-36 in magnitude). silu(g) = g / (1 + e^-g)
// uses a true division. The scalar reference uses libm's expf.
#include "internal.h"
#include <math.h>
#ifdef SP_X86
#include <immintrin.h>
#endif

void sp_swiglu_ref(float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

#ifdef SP_X86
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

__attribute__((target("avx2,fma"))) static void sp_swiglu_avx2(float *gate, const float *up, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = sp_exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        const __m256 s = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
    }
    sp_swiglu_ref(gate + i, up + i, n - i);
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

__attribute__((target("avx512f"))) static void sp_swiglu_avx512(float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 e = sp_exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
        const __m512 s = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, up + i)));
    }
}
#endif

void sp_swiglu(float *gate, const float *up, int64_t n) {
#ifdef SP_X86
    switch (sp_active_isa()) {
    case SP_ISA_AVX512: sp_swiglu_avx512(gate, up, n); return;
    case SP_ISA_AVX2: sp_swiglu_avx2(gate, up, n); return;
    default: break;
    }
#endif
    sp_swiglu_ref(gate, up, n);
}
