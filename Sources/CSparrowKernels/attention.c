// Attention over an F16 KV cache: one (query head, KV head) pair per call.
//
// Keys and values are stored as IEEE half (as llama.cpp's default KV cache is), halving the cache's
// memory and the bytes each decoded token reads. Scores, softmax and the value sum are float.
#include "internal.h"
#include "vector_exp.h"
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
__attribute__((target("avx2,fma")))
static float sp_exp_scores_avx2(float *scores, int64_t length, float max) {
    __m256 sum8 = _mm256_setzero_ps();
    const __m256 m8 = _mm256_set1_ps(max);
    int64_t p = 0;
    for (; p + 8 <= length; p += 8) {
        const __m256 e = sp_exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + p), m8));
        _mm256_storeu_ps(scores + p, e);
        sum8 = _mm256_add_ps(sum8, e);
    }
    float lanes[8], sum = 0;
    _mm256_storeu_ps(lanes, sum8);
    for (int i = 0; i < 8; i++) sum += lanes[i];
    for (; p < length; p++) {
        scores[p] = expf(scores[p] - max);
        sum += scores[p];
    }
    return 1.0f / sum;
}

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
    float inv = sp_exp_scores_avx2(scores, length, m);
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

// ---- Many queries of one KV head (prompt batches) ------------------------------------------------
//
// A prompt batch has tokens × group queries per KV head, and each reads the same keys and values.
// The AVX-512 kernel puts 16 queries on the 16 lanes of a vector and walks the keys in blocks of 16:
// each key row is converted from half once per 16 queries, scores come out one vector per key
// (16 queries at once, no horizontal sums), and the softmax is the online (running max, rescaled
// sum) form of flash attention, so no score row is ever stored and memory stays O(16 · D).
// Query i of a call is flattened index first_query + i: token t = i / group, head g = i % group of
// the KV head's group, causal length first_position + t + 1.

#define SP_LANES 16

size_t sp_attention_gqa_scratch_floats(int64_t D, int64_t max_length) {
    // Lane kernel: query and accumulator transposes [D][16], key and value blocks [16][D], score and
    // weight blocks [16][16], outputs [16][D]. Per-query fallback: one score row.
    size_t lanes = (size_t)(5 * D * SP_LANES + 2 * SP_LANES * SP_LANES);
    return lanes > (size_t)max_length ? lanes : (size_t)max_length;
}

static inline const float *sp_gqa_query(const float *q, int64_t heads, int64_t group, int64_t kv_head,
                                        int64_t index, int64_t D) {
    const int64_t t = index / group, h = kv_head * group + index % group;
    return q + (t * heads + h) * D;
}

/// First key position a query at `position` sees: 0, or the start of its sliding window.
static inline int64_t sp_window_start(int64_t position, int64_t window) {
    return window > 0 && position + 1 > window ? position + 1 - window : 0;
}

static void sp_attention_gqa_per_query(int use_ref, const float *q, float *out, int64_t heads, int64_t group,
                                       int64_t kv_head, int64_t first_query, int64_t n_queries,
                                       int64_t first_position, int64_t window, const uint16_t *k,
                                       const uint16_t *v, size_t kv_stride, int64_t D, float scale, float *scratch) {
    for (int64_t i = first_query; i < first_query + n_queries; i++) {
        const float *qi = sp_gqa_query(q, heads, group, kv_head, i, D);
        float *oi = out + (qi - q);
        const int64_t position = first_position + i / group, lo = sp_window_start(position, window);
        const uint16_t *ki = k + (size_t)lo * kv_stride + kv_head * D, *vi = v + (size_t)lo * kv_stride + kv_head * D;
        if (use_ref) {
            sp_attention_head_ref(qi, ki, kv_stride, vi, kv_stride, position + 1 - lo, D, scale, scratch, oi);
        } else {
            sp_attention_head_f16(qi, ki, kv_stride, vi, kv_stride, position + 1 - lo, D, scale, scratch, oi);
        }
    }
}

#ifdef SP_X86
/// Up to 16 queries (n) on lanes; D a multiple of 8.
__attribute__((target("avx512f,f16c,fma")))
static void sp_attention_lanes_avx512(const float *q, float *out, int64_t heads, int64_t group, int64_t kv_head,
                                      int64_t first_query, int64_t n, int64_t first_position, int64_t window,
                                      const uint16_t *k, const uint16_t *v, size_t kv_stride, int64_t D,
                                      float scale, float *scratch) {
    float *qt = scratch;                       // [D][16] queries × scale, transposed
    float *acc = qt + D * SP_LANES;            // [D][16] unnormalised outputs, transposed
    float *kb = acc + D * SP_LANES;            // [16][D] key block
    float *vb = kb + SP_LANES * D;             // [16][D] value block
    float *sb = vb + SP_LANES * D;             // [16][16] scores, then weights, one row per key
    int32_t len[SP_LANES], lo[SP_LANES];
    // Unused lanes repeat the last query, so every lane sees at least one key and stays finite.
    for (int i = 0; i < SP_LANES; i++) {
        const int64_t index = first_query + (i < n ? i : n - 1);
        const float *qi = sp_gqa_query(q, heads, group, kv_head, index, D);
        const int64_t position = first_position + index / group;
        len[i] = (int32_t)(position + 1);
        lo[i] = (int32_t)sp_window_start(position, window);
        for (int64_t d = 0; d < D; d++) qt[d * SP_LANES + i] = qi[d] * scale;
    }
    memset(acc, 0, sizeof(float) * (size_t)(D * SP_LANES));
    // Lane i sees keys lo[i] <= p < len[i] (causal, and its sliding window if any).
    const __m512i lengths = _mm512_loadu_si512(len), starts = _mm512_loadu_si512(lo);
    const int64_t max_length = first_position + (first_query + n - 1) / group + 1;
    const int64_t min_start = sp_window_start(first_position + first_query / group, window) / SP_LANES * SP_LANES;
    __m512 m = _mm512_set1_ps(-INFINITY), l = _mm512_setzero_ps();
    k += kv_head * D;
    v += kv_head * D;
    for (int64_t p0 = min_start; p0 < max_length; p0 += SP_LANES) {
        const int64_t nk = max_length - p0 < SP_LANES ? max_length - p0 : SP_LANES;
        for (int64_t j = 0; j < nk; j++) {
            const uint16_t *kr = k + (size_t)(p0 + j) * kv_stride, *vr = v + (size_t)(p0 + j) * kv_stride;
            for (int64_t d = 0; d < D; d += 8) {
                _mm256_storeu_ps(kb + j * D + d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kr + d))));
                _mm256_storeu_ps(vb + j * D + d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vr + d))));
            }
        }
        // A short last block: zero keys, so the fixed 16-key score loop reads defined values (masked below).
        if (nk < SP_LANES) memset(kb + nk * D, 0, sizeof(float) * (size_t)((SP_LANES - nk) * D));
        // Scores: s[j] (16 queries) = sum_d qt[d] · K[p0 + j][d], masked to -inf past each causal length.
        __m512 s[SP_LANES];
        for (int j = 0; j < SP_LANES; j++) s[j] = _mm512_setzero_ps();
        for (int64_t d = 0; d < D; d += 8) {
            __m512 qd[8];
            for (int u = 0; u < 8; u++) qd[u] = _mm512_loadu_ps(qt + (d + u) * SP_LANES);
            for (int j = 0; j < SP_LANES; j++) {
                for (int u = 0; u < 8; u++) s[j] = _mm512_fmadd_ps(qd[u], _mm512_set1_ps(kb[j * D + d + u]), s[j]);
            }
        }
        __m512 block_max = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < SP_LANES; j++) {
            const __m512i p = _mm512_set1_epi32((int32_t)(p0 + j));
            const __mmask16 live = _mm512_cmpgt_epi32_mask(lengths, p) & _mm512_cmple_epi32_mask(starts, p);
            s[j] = _mm512_mask_blend_ps(live, _mm512_set1_ps(-INFINITY), s[j]);
            block_max = _mm512_max_ps(block_max, s[j]);
        }
        // Online softmax: rescale what was accumulated under the old running max.
        const __m512 m_new = _mm512_max_ps(m, block_max);
        // A lane that has seen no key yet (a sliding window starting later) keeps m = -inf: its
        // correction must be 1, not exp(-inf - -inf).
        const __mmask16 seen = _mm512_cmp_ps_mask(m_new, _mm512_set1_ps(-INFINITY), _CMP_NEQ_OQ);
        const __m512 correction = _mm512_mask_blend_ps(seen, _mm512_set1_ps(1.0f), sp_exp16(_mm512_sub_ps(m, m_new)));
        const __mmask16 changed = _mm512_cmp_ps_mask(m_new, m, _CMP_GT_OQ);
        m = m_new;
        l = _mm512_mul_ps(l, correction);
        for (int j = 0; j < SP_LANES; j++) {
            const __m512i p = _mm512_set1_epi32((int32_t)(p0 + j));
            const __mmask16 live = _mm512_cmpgt_epi32_mask(lengths, p) & _mm512_cmple_epi32_mask(starts, p);
            const __m512 w = _mm512_maskz_mov_ps(live, sp_exp16(_mm512_sub_ps(s[j], m)));
            l = _mm512_add_ps(l, w);
            _mm512_storeu_ps(sb + j * SP_LANES, w);
        }
        // acc[d] = acc[d] · correction + sum_j w[j] · V[p0 + j][d]
        for (int64_t d = 0; d < D; d += 8) {
            __m512 a[8];
            for (int u = 0; u < 8; u++) {
                a[u] = _mm512_loadu_ps(acc + (d + u) * SP_LANES);
                if (changed) a[u] = _mm512_mul_ps(a[u], correction);
            }
            for (int j = 0; j < nk; j++) {
                const __m512 w = _mm512_loadu_ps(sb + j * SP_LANES);
                for (int u = 0; u < 8; u++) a[u] = _mm512_fmadd_ps(w, _mm512_set1_ps(vb[j * D + d + u]), a[u]);
            }
            for (int u = 0; u < 8; u++) _mm512_storeu_ps(acc + (d + u) * SP_LANES, a[u]);
        }
    }
    const __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), l);
    for (int64_t d = 0; d < D; d++) _mm512_storeu_ps(acc + d * SP_LANES, _mm512_mul_ps(_mm512_loadu_ps(acc + d * SP_LANES), inv));
    for (int64_t i = 0; i < n; i++) {
        float *oi = out + (sp_gqa_query(q, heads, group, kv_head, first_query + i, D) - q);
        for (int64_t d = 0; d < D; d++) oi[d] = acc[d * SP_LANES + i];
    }
}
#endif

void sp_attention_gqa_f16(const float *q, float *out, int64_t heads, int64_t group, int64_t kv_head,
                          int64_t first_query, int64_t n_queries, int64_t first_position, int64_t window,
                          const uint16_t *k, const uint16_t *v, size_t kv_stride, int64_t D, float scale,
                          float *scratch) {
#ifdef SP_X86
    // Lanes pay off once a call has enough queries to share each converted key block.
    if (sp_active_isa() >= SP_ISA_AVX512 && D % 8 == 0 && n_queries >= 8) {
        for (int64_t i = 0; i < n_queries; i += SP_LANES) {
            const int64_t n = n_queries - i < SP_LANES ? n_queries - i : SP_LANES;
            sp_attention_lanes_avx512(q, out, heads, group, kv_head, first_query + i, n, first_position, window, k,
                                      v, kv_stride, D, scale, scratch);
        }
        return;
    }
#endif
    sp_attention_gqa_per_query(0, q, out, heads, group, kv_head, first_query, n_queries, first_position, window, k,
                               v, kv_stride, D, scale, scratch);
}

void sp_attention_gqa_f16_ref(const float *q, float *out, int64_t heads, int64_t group, int64_t kv_head,
                              int64_t first_query, int64_t n_queries, int64_t first_position, int64_t window,
                              const uint16_t *k, const uint16_t *v, size_t kv_stride, int64_t D, float scale,
                              float *scratch) {
    sp_attention_gqa_per_query(1, q, out, heads, group, kv_head, first_query, n_queries, first_position, window, k,
                               v, kv_stride, D, scale, scratch);
}
