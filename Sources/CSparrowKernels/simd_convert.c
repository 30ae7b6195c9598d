// x86 fast paths of the conversions: activation quantization (AVX2, AVX-512), f16 -> f32 and
// row dequantization (AVX2). All of them are bit-identical to the scalar references in reference.c:
// every step is either exact or a single IEEE operation rounded the same way as the scalar code.
#include "internal.h"
#ifdef SP_X86
#include <immintrin.h>

#define SP_AVX2 "avx2,fma,f16c"
#define SP_AVX512 "avx512f,avx512bw,avx512vl,avx512vnni"

// Values are rounded half to even (the default MXCSR mode of cvtps2dq), matching rintf in the
// scalar reference and what ggml-cpu's x86 quantize_row_q8_0/q8_1 compute.

// Writes the block header the same way as sp_quantize_row_ref (scalar f16 rounding of d and s).
static void sp_store_q8_header(int act_type, void *y, int64_t i, float d, int sum) {
    if (act_type == SP_TYPE_Q8_0) {
        ((sp_block_q8_0 *)y)[i].d = sp_f32_to_f16_1(d);
    } else {
        sp_block_q8_1 *b = (sp_block_q8_1 *)y + i;
        b->d = sp_f32_to_f16_1(d);
        b->s = sp_f32_to_f16_1((float)sum * d);
    }
}

static int8_t *sp_q8_quants(int act_type, void *y, int64_t i) {
    return act_type == SP_TYPE_Q8_0 ? ((sp_block_q8_0 *)y)[i].qs : ((sp_block_q8_1 *)y)[i].qs;
}

__attribute__((target(SP_AVX2)))
void sp_quantize_row_avx2(int act_type, const float *x, void *y, int64_t n) {
    if (act_type == SP_TYPE_Q8_K) { sp_quantize_row_q8_k_avx2(x, y, n); return; }
    if (act_type != SP_TYPE_Q8_0 && act_type != SP_TYPE_Q8_1) { sp_quantize_row_ref(act_type, x, y, n); return; }
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t i = 0; i < n / SP_QK; i++) {
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int j = 0; j < 4; j++) {
            v[j] = _mm256_loadu_ps(x + i * SP_QK + 8 * j);
            amax = _mm256_max_ps(amax, _mm256_and_ps(v[j], abs_mask));
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        const float amax_s = _mm_cvtss_f32(m);
        const float d = amax_s / 127.0f;
        const float id = amax_s != 0.0f ? 127.0f / amax_s : 0.0f;
        const __m256 idv = _mm256_set1_ps(id);
        __m256i q[4];
        for (int j = 0; j < 4; j++) q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], idv));
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_hadd_epi32(s4, s4);
        s4 = _mm_hadd_epi32(s4, s4);
        // packs work within 128-bit lanes; the permute restores element order.
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)sp_q8_quants(act_type, y, i), p);
        sp_store_q8_header(act_type, y, i, d, _mm_cvtsi128_si32(s4));
    }
}

__attribute__((target(SP_AVX512)))
void sp_quantize_row_avx512(int act_type, const float *x, void *y, int64_t n) {
    if (act_type == SP_TYPE_Q8_K) { sp_quantize_row_q8_k_avx512(x, y, n); return; }
    if (act_type != SP_TYPE_Q8_0 && act_type != SP_TYPE_Q8_1) { sp_quantize_row_ref(act_type, x, y, n); return; }
    for (int64_t i = 0; i < n / SP_QK; i++) {
        __m512 v0 = _mm512_loadu_ps(x + i * SP_QK), v1 = _mm512_loadu_ps(x + i * SP_QK + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        const __m512 idv = _mm512_set1_ps(id);
        __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, idv));
        __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, idv));
        int8_t *qs = sp_q8_quants(act_type, y, i);
        _mm_storeu_si128((__m128i *)qs, _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtsepi32_epi8(q1));
        sp_store_q8_header(act_type, y, i, d, _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1)));
    }
}

__attribute__((target(SP_AVX2)))
void sp_f16_to_f32_avx2(const uint16_t *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = sp_f16_to_f32_1(x[i]);
}

// 16 unsigned nibble values (bytes) -> two vectors of 8 floats, each  d * (q - offset) [+ m].
__attribute__((always_inline, target(SP_AVX2)))
static inline void sp_store16_avx2(float *y, __m128i q, __m256i offset, __m256 d, __m256 m, const int add_m) {
    __m256 lo = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(q), offset)));
    __m256 hi = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(q, 8)), offset)));
    if (add_m) { lo = _mm256_add_ps(lo, m); hi = _mm256_add_ps(hi, m); }  // separate add: no FMA, as the reference
    _mm256_storeu_ps(y, lo);
    _mm256_storeu_ps(y + 8, hi);
}

__attribute__((target(SP_AVX2)))
void sp_dequantize_row_avx2(int type, const void *x, float *y, int64_t n) {
    const __m128i nib = _mm_set1_epi8(0x0f);
    const __m256i zero = _mm256_setzero_si256();
    switch (type) {
    case SP_TYPE_F16: sp_f16_to_f32_avx2(x, y, n); return;
    case SP_TYPE_Q4_0:
    case SP_TYPE_Q4_1: {
        const size_t bs = type == SP_TYPE_Q4_0 ? sizeof(sp_block_q4_0) : sizeof(sp_block_q4_1);
        const __m256i off = type == SP_TYPE_Q4_0 ? _mm256_set1_epi32(8) : zero;
        for (int64_t i = 0; i < n / SP_QK; i++) {
            const uint8_t *b = (const uint8_t *)x + (size_t)i * bs;
            uint16_t dh, mh = 0;
            memcpy(&dh, b, 2);
            if (type == SP_TYPE_Q4_1) memcpy(&mh, b + 2, 2);
            const __m256 d = _mm256_set1_ps(sp_f16_to_f32_1(dh)), m = _mm256_set1_ps(sp_f16_to_f32_1(mh));
            __m128i q = _mm_loadu_si128((const __m128i *)(b + bs - 16));
            if (type == SP_TYPE_Q4_0) {
                sp_store16_avx2(y + i * SP_QK, _mm_and_si128(q, nib), off, d, m, 0);
                sp_store16_avx2(y + i * SP_QK + 16, _mm_and_si128(_mm_srli_epi16(q, 4), nib), off, d, m, 0);
            } else {
                sp_store16_avx2(y + i * SP_QK, _mm_and_si128(q, nib), off, d, m, 1);
                sp_store16_avx2(y + i * SP_QK + 16, _mm_and_si128(_mm_srli_epi16(q, 4), nib), off, d, m, 1);
            }
        }
        return;
    }
    case SP_TYPE_Q8_0:
    case SP_TYPE_Q8_1: {
        const size_t bs = type == SP_TYPE_Q8_0 ? sizeof(sp_block_q8_0) : sizeof(sp_block_q8_1);
        for (int64_t i = 0; i < n / SP_QK; i++) {
            const uint8_t *b = (const uint8_t *)x + (size_t)i * bs;
            uint16_t dh;
            memcpy(&dh, b, 2);
            const __m256 d = _mm256_set1_ps(sp_f16_to_f32_1(dh));
            for (int j = 0; j < 4; j++) {
                __m128i q = _mm_loadl_epi64((const __m128i *)(b + bs - 32 + 8 * j));
                _mm256_storeu_ps(y + i * SP_QK + 8 * j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
            }
        }
        return;
    }
    default:
        if (!sp_kquants_dequantize_avx2(type, x, y, n)) sp_dequantize_row_ref(type, x, y, n);
        return;
    }
}
#endif
