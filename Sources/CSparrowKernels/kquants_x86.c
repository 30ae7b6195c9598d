// x86 fast paths of the K-quants of Q4_K_M / Q5_K_M files: Q4_K, Q5_K and Q6_K x Q8_K products,
// Q8_K activation quantization, and Q4_K / Q5_K / Q6_K (plus Q5_0 / IQ4_NL) row dequantization.
// (Q5_0 and IQ4_NL products use the per-block tile of simd_avx2.c.)
//
// Products: one 256-value super-block at a time, a tile of R weight rows x NT activation rows. Per
// 32 quants: vpmaddubsw (u8 weight quant x s8 activation, pairs summed in int16: at most
// 2 * 63 * 127 = 16002, no saturation) then vpmaddwd with the sub-block scales (int32), summed over
// the super-block in int32 (exact: at most 8 * 2^23). Per super-block and (row, token) the float work
// is the reference's: d_w d_x * isum - dmin_w d_x * msum, where msum = Σ min_s * bsums (Q4_K, Q5_K)
// and Q6_K's offset -32 is 32 * Σ scale_s * bsums_s taken off isum. Results equal sp_vec_dot_ref up to
// the order of float additions. AVX-512 runs the same scheme on 512-bit registers (kquants_avx512.c);
// VNNI's vpdpbusd does not help here because every 32 quants need their sub-block scale applied
// before they are summed with the next ones.
//
// Conversions (Q8_K quantization, dequantization) are bit-identical to quants_ref.c: the same single
// IEEE operations in the same order, no FMA.
#include "internal.h"
#ifdef SP_X86
#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

#define SP_AVX2 "avx2,fma,f16c"
#define SP_AVX512 "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define SP_KQ_INLINE(T) static inline __attribute__((always_inline, target(T)))
#define SP_KQ_TILE_MAX 4

static inline uint32_t sp_kq_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/// The 8 scales and 8 mins of a Q4_K / Q5_K block's 12 packed bytes (as sp_kquant_scale_min).
static inline void sp_kq_unpack_scales(const uint8_t *q, uint8_t sc[8], uint8_t mn[8]) {
    const uint32_t u0 = sp_kq_u32(q), u1 = sp_kq_u32(q + 4), u2 = sp_kq_u32(q + 8);
    const uint32_t s0 = u0 & 0x3f3f3f3f, m0 = u1 & 0x3f3f3f3f;
    const uint32_t s1 = (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4);
    const uint32_t m1 = ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4);
    memcpy(sc, &s0, 4); memcpy(sc + 4, &s1, 4);
    memcpy(mn, &m0, 4); memcpy(mn + 4, &m1, 4);
}

/// f16 -> f32 with F16C (exact, as sp_f16_to_f32_1).
SP_KQ_INLINE(SP_AVX2) float sp_kq_f16(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return _cvtsh_ss(h); }

// ---- Quant unpacking shared by products and dequantization ---------------------------------------

/// Q4_K / Q5_K quants of sub-blocks 2p (lo) and 2p + 1 (hi) of a block, 32 bytes each (0 … 31).
SP_KQ_INLINE(SP_AVX2) void sp_kq_q45_pair(const int type, const uint8_t *blk, int p, __m256i *lo, __m256i *hi) {
    const __m256i nib = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    const uint8_t *qs = blk + (type == SP_TYPE_Q4_K ? 16 : 48);
    const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * p));
    *lo = _mm256_and_si256(q, nib);
    *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), nib);
    if (type == SP_TYPE_Q5_K) {
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 16));
        // Bit 2p (2p + 1) of each byte; a 16-bit shift moves no foreign bit into bit 0 of a byte.
        *lo = _mm256_or_si256(*lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * p)), one), 4));
        *hi = _mm256_or_si256(*hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * p + 1)), one), 4));
    }
}

/// Q6_K quants (0 … 63, before the -32 offset) of elements 128h + 32j ..< +32 of a block.
SP_KQ_INLINE(SP_AVX2) __m256i sp_kq_q6_quarter(const uint8_t *blk, int h, int j) {
    const __m256i nib = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(0x30);
    const __m256i ql = _mm256_loadu_si256((const __m256i *)(blk + 64 * h + 32 * (j & 1)));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h));
    const __m256i low = j < 2 ? _mm256_and_si256(ql, nib) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), nib);
    // Bits 2j, 2j + 1 of qh to bits 4, 5.
    __m256i high;
    switch (j) {
    case 0: high = _mm256_slli_epi16(qh, 4); break;
    case 1: high = _mm256_slli_epi16(qh, 2); break;
    case 2: high = qh; break;
    default: high = _mm256_srli_epi16(qh, 2); break;
    }
    return _mm256_or_si256(low, _mm256_and_si256(high, two));
}

// ---- Products ----------------------------------------------------------------------------------

/// vpshufb indices: sp_kq_same[k] puts int16 word k of each 128-bit lane into all words of that lane;
/// sp_kq_pair[j] puts word 2j into the low lane and word 2j + 1 into the high lane.
static const uint8_t sp_kq_same[8][32] __attribute__((aligned(32))) = {
#define SP_W(k) 2 * k, 2 * k + 1
#define SP_W8(k) SP_W(k), SP_W(k), SP_W(k), SP_W(k), SP_W(k), SP_W(k), SP_W(k), SP_W(k)
    {SP_W8(0), SP_W8(0)}, {SP_W8(1), SP_W8(1)}, {SP_W8(2), SP_W8(2)}, {SP_W8(3), SP_W8(3)},
    {SP_W8(4), SP_W8(4)}, {SP_W8(5), SP_W8(5)}, {SP_W8(6), SP_W8(6)}, {SP_W8(7), SP_W8(7)},
};
static const uint8_t sp_kq_pair[4][32] __attribute__((aligned(32))) = {
    {SP_W8(0), SP_W8(1)}, {SP_W8(2), SP_W8(3)}, {SP_W8(4), SP_W8(5)}, {SP_W8(6), SP_W8(7)},
#undef SP_W8
#undef SP_W
};

SP_KQ_INLINE(SP_AVX2) __m256i sp_kq_dot(__m256i acc, __m256i q, __m256i x, __m256i scale) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), scale));
}

/// One tile: out[r][n] = Σ over nb super-blocks of the dot of weight row w[r] and Q8_K row x[n].
#define SP_DEFINE_KQ_TILE(NAME, TARGET)                                                               \
SP_KQ_INLINE(TARGET) void NAME(const int type, const int R, const int NT, const uint8_t *const *w,      \
                               const uint8_t *const *x, int64_t nb, float out[SP_KQ_TILE_MAX][SP_KQ_TILE_MAX]) { \
    const size_t wbs = type == SP_TYPE_Q4_K ? 144 : type == SP_TYPE_Q5_K ? 176 : 210;                  \
    __m256 acc[SP_KQ_TILE_MAX][SP_KQ_TILE_MAX];                                                        \
    for (int r = 0; r < R; r++)                                                                        \
        for (int n = 0; n < NT; n++) acc[r][n] = _mm256_setzero_ps();                                  \
    for (int64_t b = 0; b < nb; b++) {                                                                 \
        const uint8_t *blk[SP_KQ_TILE_MAX];                                                            \
        const sp_block_q8_k *xb[SP_KQ_TILE_MAX];                                                       \
        for (int r = 0; r < R; r++) blk[r] = w[r] + (size_t)b * wbs;                                   \
        for (int n = 0; n < NT; n++) xb[n] = (const sp_block_q8_k *)x[n] + b;                          \
        __m256i isum[SP_KQ_TILE_MAX][SP_KQ_TILE_MAX];                                                  \
        for (int r = 0; r < R; r++)                                                                    \
            for (int n = 0; n < NT; n++) isum[r][n] = _mm256_setzero_si256();                          \
        float dw[SP_KQ_TILE_MAX], dmw[SP_KQ_TILE_MAX];                                                 \
        __m256i side[SP_KQ_TILE_MAX], sc16[SP_KQ_TILE_MAX][2];                                         \
        for (int r = 0; r < R; r++) {                                                                  \
            if (type == SP_TYPE_Q6_K) {                                                                \
                const __m128i s8 = _mm_loadu_si128((const __m128i *)(blk[r] + 192));                   \
                side[r] = _mm256_cvtepi8_epi16(s8); /* 16 scales, for the -32 offset */                \
                sc16[r][0] = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(s8));                       \
                sc16[r][1] = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_srli_si128(s8, 8)));    \
                dw[r] = sp_kq_f16(blk[r] + 208);                                                       \
                dmw[r] = 0.0f;                                                                         \
            } else {                                                                                   \
                uint8_t sc[8], mn[8];                                                                  \
                sp_kq_unpack_scales(blk[r] + 4, sc, mn);                                               \
                __m128i m8 = _mm_loadl_epi64((const __m128i *)mn);                                     \
                side[r] = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)); /* min of each bsum */     \
                sc16[r][0] = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)sc))); \
                dw[r] = sp_kq_f16(blk[r]);                                                             \
                dmw[r] = sp_kq_f16(blk[r] + 2);                                                        \
            }                                                                                          \
        }                                                                                              \
        /* Row by row inside each 64-quant step: 4 live weight vectors, activations reloaded (L1). */ \
        if (type == SP_TYPE_Q6_K) {                                                                    \
            for (int h = 0; h < 2; h++) {                                                              \
                for (int j = 0; j < 4; j++) {                                                          \
                    const __m256i idx = _mm256_load_si256((const __m256i *)sp_kq_pair[j]);             \
                    for (int r = 0; r < R; r++) {                                                      \
                        const __m256i q = sp_kq_q6_quarter(blk[r], h, j);                              \
                        const __m256i s = _mm256_shuffle_epi8(sc16[r][h], idx);                        \
                        for (int n = 0; n < NT; n++) {                                                 \
                            const __m256i xv = _mm256_loadu_si256((const __m256i *)(xb[n]->qs + 128 * h + 32 * j)); \
                            isum[r][n] = sp_kq_dot(isum[r][n], q, xv, s);                              \
                        }                                                                              \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
        } else {                                                                                       \
            for (int p = 0; p < 4; p++) {                                                              \
                const __m256i ilo = _mm256_load_si256((const __m256i *)sp_kq_same[2 * p]);             \
                const __m256i ihi = _mm256_load_si256((const __m256i *)sp_kq_same[2 * p + 1]);         \
                for (int r = 0; r < R; r++) {                                                          \
                    __m256i lo, hi;                                                                    \
                    sp_kq_q45_pair(type, blk[r], p, &lo, &hi);                                         \
                    const __m256i slo = _mm256_shuffle_epi8(sc16[r][0], ilo);                          \
                    const __m256i shi = _mm256_shuffle_epi8(sc16[r][0], ihi);                          \
                    for (int n = 0; n < NT; n++) {                                                     \
                        const __m256i xl = _mm256_loadu_si256((const __m256i *)(xb[n]->qs + 64 * p));  \
                        const __m256i xh = _mm256_loadu_si256((const __m256i *)(xb[n]->qs + 64 * p + 32)); \
                        isum[r][n] = sp_kq_dot(sp_kq_dot(isum[r][n], lo, xl, slo), hi, xh, shi);       \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        for (int n = 0; n < NT; n++) {                                                                 \
            const __m256i bs = _mm256_loadu_si256((const __m256i *)xb[n]->bsums);                      \
            for (int r = 0; r < R; r++) {                                                              \
                const __m256i side_sum = _mm256_madd_epi16(bs, side[r]);                               \
                if (type == SP_TYPE_Q6_K) {                                                            \
                    const __m256i is = _mm256_sub_epi32(isum[r][n], _mm256_slli_epi32(side_sum, 5));   \
                    acc[r][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_set1_ps(dw[r] * xb[n]->d), acc[r][n]); \
                } else {                                                                               \
                    acc[r][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][n]), _mm256_set1_ps(dw[r] * xb[n]->d), acc[r][n]); \
                    acc[r][n] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(side_sum), _mm256_set1_ps(dmw[r] * xb[n]->d), acc[r][n]); \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }                                                                                                  \
    for (int r = 0; r < R; r++)                                                                        \
        for (int n = 0; n < NT; n++) {                                                                 \
            __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[r][n]), _mm256_extractf128_ps(acc[r][n], 1)); \
            s = _mm_add_ps(s, _mm_movehl_ps(s, s));                                                    \
            s = _mm_add_ss(s, _mm_movehdup_ps(s));                                                     \
            out[r][n] = _mm_cvtss_f32(s);                                                              \
        }                                                                                              \
}

SP_DEFINE_KQ_TILE(sp_kq_tile_avx2, SP_AVX2)

// Row/token loops around a tile of at most RM x NM. Y[n * ldy + r] (matvec: N = 1, Y = y - r0).
#define SP_DEFINE_KQ_DRIVER(NAME, TARGET, TILE, RM, NM)                                              \
SP_KQ_INLINE(TARGET) void NAME##_typed(const int type, const uint8_t *W, size_t row_bytes, int64_t K,  \
                                       const uint8_t *X, size_t xrb, int64_t N, float *Y, int64_t ldy, \
                                       int64_t r0, int64_t r1) {                                     \
    const int64_t nb = K / SP_QK_K;                                                                  \
    float out[SP_KQ_TILE_MAX][SP_KQ_TILE_MAX];                                                       \
    sp_prefetcher pf = sp_prefetcher_start(W, row_bytes, r0, r1);                                    \
    for (int64_t r = r0; r < r1;) {                                                                  \
        const int R = r1 - r >= RM ? RM : 1;                                                         \
        const uint8_t *w[SP_KQ_TILE_MAX];                                                            \
        for (int i = 0; i < SP_KQ_TILE_MAX; i++) w[i] = W + (size_t)(r + (i < R ? i : 0)) * row_bytes; \
        sp_prefetch_to(&pf, (size_t)(r - r0) * row_bytes);                                           \
        for (int64_t n = 0; n < N;) {                                                                \
            const int T = N - n >= NM ? NM : 1;                                                      \
            const uint8_t *x[SP_KQ_TILE_MAX];                                                        \
            for (int i = 0; i < SP_KQ_TILE_MAX; i++) x[i] = X + (size_t)(n + (i < T ? i : 0)) * xrb; \
            if (R == RM && T == NM) TILE(type, RM, NM, w, x, nb, out);                               \
            else if (R == RM) TILE(type, RM, 1, w, x, nb, out);                                      \
            else if (T == NM) TILE(type, 1, NM, w, x, nb, out);                                      \
            else TILE(type, 1, 1, w, x, nb, out);                                                    \
            for (int i = 0; i < R; i++)                                                              \
                for (int j = 0; j < T; j++) Y[(n + j) * ldy + r + i] = out[i][j];                    \
            n += T;                                                                                  \
        }                                                                                            \
        r += R;                                                                                      \
    }                                                                                                \
}                                                                                                    \
__attribute__((target(TARGET))) static void NAME(int type, const void *W, size_t row_bytes, int64_t K, \
                                                 const void *X, size_t xrb, int64_t N, float *Y,     \
                                                 int64_t ldy, int64_t r0, int64_t r1) {              \
    switch (type) {                                                                                  \
    case SP_TYPE_Q4_K: NAME##_typed(SP_TYPE_Q4_K, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break; \
    case SP_TYPE_Q5_K: NAME##_typed(SP_TYPE_Q5_K, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break; \
    case SP_TYPE_Q6_K: NAME##_typed(SP_TYPE_Q6_K, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break; \
    default: break;                                                                                  \
    }                                                                                                \
}

SP_DEFINE_KQ_DRIVER(sp_kq_mv_avx2, SP_AVX2, sp_kq_tile_avx2, 4, 1)
SP_DEFINE_KQ_DRIVER(sp_kq_mm_avx2, SP_AVX2, sp_kq_tile_avx2, 2, 2)

int sp_kquants_matmul_x86(int type, int avx512, const void *W, size_t row_bytes, int64_t K,
                          const void *xq, size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy,
                          int64_t r0, int64_t r1) {
    if (type != SP_TYPE_Q4_K && type != SP_TYPE_Q5_K && type != SP_TYPE_Q6_K) return 0;
    if (avx512) return sp_kquants_matmul_avx512(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
    if (r1 <= r0 || N <= 0) return 1;
    if (N == 1) sp_kq_mv_avx2(type, W, row_bytes, K, xq, xq_row_bytes, 1, Y, ldy, r0, r1);
    else sp_kq_mm_avx2(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
    return 1;
}

// ---- Q8_K activation quantization (bit-identical to sp_quantize_row_q8_k_ref) ------------------

/// The first value of largest magnitude amax in xb (the reference keeps the first on ties).
static inline float sp_kq_first_max(const float *xb, float amax) {
    for (int j = 0; j < SP_QK_K; j++) {
        if (xb[j] == amax || xb[j] == -amax) return xb[j];
    }
    return amax;  // unreachable for finite input
}

__attribute__((target(SP_AVX2)))
void sp_quantize_row_q8_k_avx2(const float *x, sp_block_q8_k *y, int64_t n) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i q127 = _mm256_set1_epi32(127), order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t i = 0; i < n / SP_QK_K; i++) {
        const float *xb = x + i * SP_QK_K;
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < SP_QK_K; j += 8) m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xb + j), abs_mask), m);
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(y[i]));
            continue;
        }
        const float iscale = -127.0f / sp_kq_first_max(xb, amax);
        const __m256 is = _mm256_set1_ps(iscale);
        for (int g = 0; g < 16; g += 2) {
            __m256i q[4];
            for (int k = 0; k < 4; k++)
                q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(is, _mm256_loadu_ps(xb + 16 * g + 8 * k))), q127);
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(y[i].qs + 16 * g), _mm256_permutevar8x32_epi32(p, order));
            // Sums of elements 16g ..< 16g + 16 and the next 16: q[0] + q[1], q[2] + q[3].
            __m256i s = _mm256_hadd_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            s = _mm256_hadd_epi32(s, s);
            __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            y[i].bsums[g] = (int16_t)_mm_extract_epi32(t, 0);
            y[i].bsums[g + 1] = (int16_t)_mm_extract_epi32(t, 1);
        }
        y[i].d = 1.0f / iscale;
    }
}

__attribute__((target(SP_AVX512)))
void sp_quantize_row_q8_k_avx512(const float *x, sp_block_q8_k *y, int64_t n) {
    const __m512i q127 = _mm512_set1_epi32(127);
    for (int64_t i = 0; i < n / SP_QK_K; i++) {
        const float *xb = x + i * SP_QK_K;
        __m512 m = _mm512_setzero_ps();
        for (int j = 0; j < SP_QK_K; j += 16) m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(xb + j)), m);
        const float amax = _mm512_reduce_max_ps(m);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(y[i]));
            continue;
        }
        const float iscale = -127.0f / sp_kq_first_max(xb, amax);
        const __m512 is = _mm512_set1_ps(iscale);
        for (int g = 0; g < 16; g++) {
            const __m512i q = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(is, _mm512_loadu_ps(xb + 16 * g))), q127);
            _mm_storeu_si128((__m128i *)(y[i].qs + 16 * g), _mm512_cvtsepi32_epi8(q));
            y[i].bsums[g] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        y[i].d = 1.0f / iscale;
    }
}

// ---- Dequantization (bit-identical to sp_quants_dequantize_ref) ----------------------------------

/// y[0..32) = dl * q - ml for 32 quant bytes (no FMA: the reference rounds the product first).
SP_KQ_INLINE(SP_AVX2) void sp_kq_store32(float *y, __m256i q, float dl, float ml, const int has_min, const int offset) {
    const __m256 d = _mm256_set1_ps(dl), m = _mm256_set1_ps(ml);
    const __m256i off = _mm256_set1_epi32(offset);
    const __m128i halves[2] = {_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)};
    for (int k = 0; k < 4; k++) {
        const __m128i b = k & 1 ? _mm_srli_si128(halves[k / 2], 8) : halves[k / 2];
        __m256 v = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(b), off)));
        if (has_min) v = _mm256_sub_ps(v, m);
        _mm256_storeu_ps(y + 8 * k, v);
    }
}

__attribute__((target(SP_AVX2)))
int sp_kquants_dequantize_avx2(int type, const void *x, float *y, int64_t n) {
    switch (type) {
    case SP_TYPE_Q4_K:
    case SP_TYPE_Q5_K: {
        const size_t bs = type == SP_TYPE_Q4_K ? 144 : 176;
        for (int64_t i = 0; i < n / SP_QK_K; i++) {
            const uint8_t *blk = (const uint8_t *)x + (size_t)i * bs;
            const float d = sp_kq_f16(blk), dmin = sp_kq_f16(blk + 2);
            uint8_t sc[8], mn[8];
            sp_kq_unpack_scales(blk + 4, sc, mn);
            for (int p = 0; p < 4; p++) {
                __m256i lo, hi;
                if (type == SP_TYPE_Q4_K) sp_kq_q45_pair(SP_TYPE_Q4_K, blk, p, &lo, &hi);
                else sp_kq_q45_pair(SP_TYPE_Q5_K, blk, p, &lo, &hi);
                const float d0 = d * (float)sc[2 * p], m0 = dmin * (float)mn[2 * p];
                const float d1 = d * (float)sc[2 * p + 1], m1 = dmin * (float)mn[2 * p + 1];
                sp_kq_store32(y + 256 * i + 64 * p, lo, d0, m0, 1, 0);
                sp_kq_store32(y + 256 * i + 64 * p + 32, hi, d1, m1, 1, 0);
            }
        }
        return 1;
    }
    case SP_TYPE_Q6_K: {
        for (int64_t i = 0; i < n / SP_QK_K; i++) {
            const uint8_t *blk = (const uint8_t *)x + (size_t)i * 210;
            const float d = sp_kq_f16(blk + 208);
            const int8_t *sc = (const int8_t *)(blk + 192);
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 4; j++) {
                    const __m256i q = sp_kq_q6_quarter(blk, h, j);
                    const int s = 8 * h + 2 * j;
                    float *yo = y + 256 * i + 128 * h + 32 * j;
                    // Elements 0..15 use scale s, 16..31 scale s + 1.
                    float tmp[32];
                    sp_kq_store32(tmp, q, d * (float)sc[s], 0.0f, 0, 32);
                    memcpy(yo, tmp, 16 * sizeof(float));
                    sp_kq_store32(tmp, q, d * (float)sc[s + 1], 0.0f, 0, 32);
                    memcpy(yo + 16, tmp + 16, 16 * sizeof(float));
                }
            }
        }
        return 1;
    }
    case SP_TYPE_Q5_0:
    case SP_TYPE_IQ4_NL: {
        // 32 quants of a block as bytes (Q5_0: 0 … 31, offset 16; IQ4_NL: the int8 level), then d · q.
        const size_t bs = type == SP_TYPE_Q5_0 ? 22 : 18;
        const __m128i nib = _mm_set1_epi8(0x0f);
        const __m128i levels = _mm_loadu_si128((const __m128i *)sp_iq4nl_values);
        for (int64_t i = 0; i < n / SP_QK; i++) {
            const uint8_t *blk = (const uint8_t *)x + (size_t)i * bs;
            const __m128i q = _mm_loadu_si128((const __m128i *)(blk + bs - 16));
            __m128i lo = _mm_and_si128(q, nib), hi = _mm_and_si128(_mm_srli_epi16(q, 4), nib);
            const __m256 d = _mm256_set1_ps(sp_kq_f16(blk));
            if (type == SP_TYPE_Q5_0) {
                const uint32_t qh = sp_kq_u32(blk + 2);
                const __m128i bits = _mm_set1_epi64x((long long)0x8040201008040201ull);
                const __m128i sel_lo = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
                const __m128i sel_hi = _mm_setr_epi8(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
                const __m128i h = _mm_cvtsi32_si128((int)qh), five = _mm_set1_epi8(0x10);
                lo = _mm_or_si128(lo, _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(_mm_shuffle_epi8(h, sel_lo), bits), bits), five));
                hi = _mm_or_si128(hi, _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(_mm_shuffle_epi8(h, sel_hi), bits), bits), five));
            } else {
                lo = _mm_shuffle_epi8(levels, lo);
                hi = _mm_shuffle_epi8(levels, hi);
            }
            const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
            const __m256i off = _mm256_set1_epi32(type == SP_TYPE_Q5_0 ? 16 : 0);
            for (int k = 0; k < 4; k++) {
                const __m256i v = type == SP_TYPE_Q5_0 ? _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts[k]), off)
                                                       : _mm256_cvtepi8_epi32(parts[k]);
                _mm256_storeu_ps(y + 32 * i + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(v), d));
            }
        }
        return 1;
    }
    default: return 0;
    }
}
#endif
