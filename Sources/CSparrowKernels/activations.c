// Element-wise activations: SwiGLU's silu(g) · u and GeGLU's gelu(g) · u, with the vectorised exp of
// vector_exp.h.
//
// silu(g) = g / (1 + e^-g) uses a true division. The scalar references use libm's expf / tanhf.
#include "internal.h"
#include "vector_exp.h"
#include <math.h>
#include <pthread.h>
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

// ---- GeGLU (Gemma) -------------------------------------------------------------------------------
//
// gelu(x) = x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³))), the tanh approximation Gemma uses. Matches
// llama.cpp's CPU GeGLU (ggml_vec_geglu_f32 with GGML_GELU_FP16): x is rounded to half precision and
// gelu of it, computed with tanhf, is rounded to half precision; x ≤ -10 gives 0 and x ≥ 10 gives x.
// The fast path looks the 65536 possible results up in a table built once from the reference
// function, so both give identical bits.

#define SP_GELU_A 0.044715f
#define SP_SQRT_2_OVER_PI 0.79788456080286535588f

static uint16_t sp_gelu_half_bits(uint16_t h16) {
    const float h = sp_f16_to_f32_1(h16);
    return sp_f32_to_f16_1(0.5f * h * (1.0f + tanhf(SP_SQRT_2_OVER_PI * h * (1.0f + SP_GELU_A * h * h))));
}

void sp_geglu_ref(float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float x = gate[i];
        const float g = x <= -10.0f ? 0.0f : x >= 10.0f ? x : sp_f16_to_f32_1(sp_gelu_half_bits(sp_f32_to_f16_1(x)));
        gate[i] = g * up[i];
    }
}

static float sp_gelu_table[1 << 16];
static pthread_once_t sp_gelu_once = PTHREAD_ONCE_INIT;

static void sp_gelu_table_init(void) {
    for (uint32_t h = 0; h < (1u << 16); h++) sp_gelu_table[h] = sp_f16_to_f32_1(sp_gelu_half_bits((uint16_t)h));
}

#ifdef SP_X86
__attribute__((target("f16c"))) static void sp_geglu_table_f16c(float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float x = gate[i];
        const float g = x <= -10.0f ? 0.0f : x >= 10.0f ? x : sp_gelu_table[_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT)];
        gate[i] = g * up[i];
    }
}
#endif

void sp_geglu(float *gate, const float *up, int64_t n) {
#ifdef SP_X86
    if (sp_active_isa() >= SP_ISA_AVX2) {
        pthread_once(&sp_gelu_once, sp_gelu_table_init);
        sp_geglu_table_f16c(gate, up, n);
        return;
    }
#endif
    sp_geglu_ref(gate, up, n);
}
