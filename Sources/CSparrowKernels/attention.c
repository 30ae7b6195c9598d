// Attention over an F16 KV cache: one (query head, KV head) pair per call.
//
// Keys and values are stored as IEEE half (as llama.cpp's default KV cache is), halving the cache's
// memory and the bytes each decoded token reads. Scores, softmax and the value sum are float.
#include "internal.h"
#include <math.h>

#ifdef SP_X86
#include <immintrin.h>
#endif

/// scores[p] = exp(scores[p] - max); returns 1 / sum (the softmax normaliser).
static float sp_exp_scores(float *scores, int64_t length, float max) {
    float sum = 0;
    for (int64_t p = 0; p < length; p++) {
        scores[p] = expf(scores[p] - max);
        sum += scores[p];
    }
    return 1.0f / sum;
}

static void sp_attention_head_ref(const float *q, const uint16_t *k, size_t k_stride, const uint16_t *v,
                                  size_t v_stride, int64_t length, int64_t D, float scale, float *scores,
                                  float *out) {
    float m = -INFINITY;
    for (int64_t p = 0; p < length; p++) {
        const uint16_t *kp = k + (size_t)p * k_stride;
        float s = 0;
        for (int64_t d = 0; d < D; d++) s += q[d] * sp_f16_to_f32_1(kp[d]);
        s *= scale;
        scores[p] = s;
        if (s > m) m = s;
    }
    float inv = sp_exp_scores(scores, length, m);
    for (int64_t d = 0; d < D; d++) out[d] = 0;
    for (int64_t p = 0; p < length; p++) {
        const uint16_t *vp = v + (size_t)p * v_stride;
        float w = scores[p] * inv;
        for (int64_t d = 0; d < D; d++) out[d] += w * sp_f16_to_f32_1(vp[d]);
    }
}

#ifdef SP_X86
__attribute__((target("avx2,fma,f16c")))
static void sp_attention_head_avx2(const float *q, const uint16_t *k, size_t k_stride, const uint16_t *v,
                                   size_t v_stride, int64_t length, int64_t D, float scale, float *scores,
                                   float *out) {
    if (D % 8 != 0) {
        sp_attention_head_ref(q, k, k_stride, v, v_stride, length, D, scale, scores, out);
        return;
    }
    float m = -INFINITY;
    for (int64_t p = 0; p < length; p++) {
        const uint16_t *kp = k + (size_t)p * k_stride;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t d = 0; d < D; d += 8) {
            __m256 kv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kp + d)));
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), kv, acc);
        }
        __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
        float s = _mm_cvtss_f32(s4) * scale;
        scores[p] = s;
        if (s > m) m = s;
    }
    float inv = sp_exp_scores(scores, length, m);
    for (int64_t d = 0; d < D; d += 8) _mm256_storeu_ps(out + d, _mm256_setzero_ps());
    for (int64_t p = 0; p < length; p++) {
        const uint16_t *vp = v + (size_t)p * v_stride;
        __m256 w = _mm256_set1_ps(scores[p] * inv);
        for (int64_t d = 0; d < D; d += 8) {
            __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vp + d)));
            _mm256_storeu_ps(out + d, _mm256_fmadd_ps(w, vv, _mm256_loadu_ps(out + d)));
        }
    }
}

__attribute__((target("avx2,fma,f16c")))
static void sp_f32_to_f16_avx2(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) y[i] = sp_f32_to_f16_1(x[i]);
}
#endif

void sp_attention_head_f16(const float *q, const uint16_t *k, size_t k_stride, const uint16_t *v,
                           size_t v_stride, int64_t length, int64_t D, float scale, float *scores, float *out) {
#ifdef SP_X86
    if (sp_active_isa() >= SP_ISA_AVX2) {
        sp_attention_head_avx2(q, k, k_stride, v, v_stride, length, D, scale, scores, out);
        return;
    }
#endif
    sp_attention_head_ref(q, k, k_stride, v, v_stride, length, D, scale, scores, out);
}

void sp_attention_head_f16_ref(const float *q, const uint16_t *k, size_t k_stride, const uint16_t *v,
                               size_t v_stride, int64_t length, int64_t D, float scale, float *scores, float *out) {
    sp_attention_head_ref(q, k, k_stride, v, v_stride, length, D, scale, scores, out);
}

void sp_f32_to_f16(const float *x, uint16_t *y, int64_t n) {
#ifdef SP_X86
    if (sp_active_isa() >= SP_ISA_AVX2) {
        sp_f32_to_f16_avx2(x, y, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = sp_f32_to_f16_1(x[i]);
}
