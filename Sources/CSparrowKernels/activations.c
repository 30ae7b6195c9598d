// Element-wise activations: SwiGLU's silu(g) · u with the vectorised exp of vector_exp.h.
//
// silu(g) = g / (1 + e^-g) uses a true division. The scalar reference uses libm's expf.
#include "internal.h"
#include "vector_exp.h"
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
