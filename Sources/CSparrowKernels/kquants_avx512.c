// AVX-512 (F/BW/VL) products of Q4_K, Q5_K and Q6_K weights with Q8_K activations: the super-block
// tile of kquants_x86.c on 512-bit registers, 128 quants per step.
//
// Q4_K / Q5_K: 64 bytes of nibbles hold sub-blocks 4pp, 4pp + 1 (first 32 bytes) and 4pp + 2, 4pp + 3
// (next 32): the low nibbles are sub-blocks 4pp | 4pp + 2, the high ones 4pp + 1 | 4pp + 3, and the
// matching activations are two 32-byte pieces of the Q8_K row. Q6_K: 64 bytes of ql and 32 of qh
// give quarters {0, 1} and {2, 3} of a 128-quant half, each against 64 contiguous activations; every
// 128-bit lane then covers one 16-quant sub-block. Integer sums and float steps are those of
// kquants_x86.c, so results equal sp_vec_dot_ref up to the order of float additions.
#include "internal.h"
#ifdef SP_X86
#include <immintrin.h>

#define SP_AVX512 "avx2,fma,f16c,avx512f,avx512bw,avx512vl"
#define SP_KZ_INLINE static inline __attribute__((always_inline, target(SP_AVX512)))
#define SP_KZ_TILE_MAX 4

/// vpshufb indices (per 128-bit lane): sp_kz_q4[k] puts int16 word a into all words of lanes 0, 1
/// and word a + 2 into lanes 2, 3, with a = k (k < 8; words beyond 7 are never used).
static const uint8_t sp_kz_q4[6][64] __attribute__((aligned(64))) = {
#define SP_W(k) 2 * (k), 2 * (k) + 1
#define SP_W8(k) SP_W(k), SP_W(k), SP_W(k), SP_W(k), SP_W(k), SP_W(k), SP_W(k), SP_W(k)
#define SP_ROW(a) {SP_W8(a), SP_W8(a), SP_W8((a) + 2), SP_W8((a) + 2)}
    SP_ROW(0), SP_ROW(1), SP_ROW(2), SP_ROW(3), SP_ROW(4), SP_ROW(5),
#undef SP_ROW
#undef SP_W8
#undef SP_W
};

/// vpermw indices: lane i (8 words) takes word first + i of the 16 Q6_K scales.
static const uint16_t sp_kz_q6[4][32] __attribute__((aligned(64))) = {
#define SP_L(w) w, w, w, w, w, w, w, w
    {SP_L(0), SP_L(1), SP_L(2), SP_L(3)}, {SP_L(4), SP_L(5), SP_L(6), SP_L(7)},
    {SP_L(8), SP_L(9), SP_L(10), SP_L(11)}, {SP_L(12), SP_L(13), SP_L(14), SP_L(15)},
#undef SP_L
};

static inline uint32_t sp_kz_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }

SP_KZ_INLINE float sp_kz_f16(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return _cvtsh_ss(h); }

SP_KZ_INLINE __m512i sp_kz_dot(__m512i acc, __m512i q, __m512i x, __m512i scale) {
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(q, x), scale));
}

SP_KZ_INLINE __m512i sp_kz_pieces(const int8_t *a, const int8_t *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

SP_KZ_INLINE void sp_kz_tile(const int type, const int R, const int NT, const uint8_t *const *w,
                             const uint8_t *const *x, int64_t nb, float out[SP_KZ_TILE_MAX][SP_KZ_TILE_MAX]) {
    const size_t wbs = type == SP_TYPE_Q4_K ? 144 : type == SP_TYPE_Q5_K ? 176 : 210;
    const __m512i nib = _mm512_set1_epi8(0x0f), bits45 = _mm512_set1_epi8(0x30);
    __m512 acc[SP_KZ_TILE_MAX][SP_KZ_TILE_MAX];
    for (int r = 0; r < R; r++)
        for (int n = 0; n < NT; n++) acc[r][n] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk[SP_KZ_TILE_MAX];
        const sp_block_q8_k *xb[SP_KZ_TILE_MAX];
        for (int r = 0; r < R; r++) blk[r] = w[r] + (size_t)b * wbs;
        for (int n = 0; n < NT; n++) xb[n] = (const sp_block_q8_k *)x[n] + b;
        __m512i isum[SP_KZ_TILE_MAX][SP_KZ_TILE_MAX];
        for (int r = 0; r < R; r++)
            for (int n = 0; n < NT; n++) isum[r][n] = _mm512_setzero_si512();
        float dw[SP_KZ_TILE_MAX], dmw[SP_KZ_TILE_MAX];
        __m256i side[SP_KZ_TILE_MAX];
        __m512i sc[SP_KZ_TILE_MAX];
        for (int r = 0; r < R; r++) {
            if (type == SP_TYPE_Q6_K) {
                const __m128i s8 = _mm_loadu_si128((const __m128i *)(blk[r] + 192));
                side[r] = _mm256_cvtepi8_epi16(s8);
                sc[r] = _mm512_castsi256_si512(side[r]);  // words 0..15: the 16 scales
                dw[r] = sp_kz_f16(blk[r] + 208);
                dmw[r] = 0.0f;
            } else {
                // 8 scales and 8 mins of the 12 packed bytes (as sp_kquant_scale_min).
                const uint8_t *q = blk[r] + 4;
                const uint32_t u0 = sp_kz_u32(q), u1 = sp_kz_u32(q + 4), u2 = sp_kz_u32(q + 8);
                const uint32_t s0 = u0 & 0x3f3f3f3f, m0 = u1 & 0x3f3f3f3f;
                const uint32_t s1 = (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4);
                const uint32_t m1 = ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4);
                const __m128i s8 = _mm_setr_epi32((int)s0, (int)s1, 0, 0);
                const __m128i m8 = _mm_setr_epi32((int)m0, (int)m1, 0, 0);
                side[r] = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));  // min of each bsum group
                sc[r] = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(s8));
                dw[r] = sp_kz_f16(blk[r]);
                dmw[r] = sp_kz_f16(blk[r] + 2);
            }
        }
        if (type == SP_TYPE_Q6_K) {
            // Quarters {0, 1}: qh bits 0-1 (<< 4) | bits 2-3 (<< 2); quarters {2, 3}: bits 4-5 | 6-7 (>> 2).
            const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
            const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
            for (int h = 0; h < 2; h++) {
                const __m512i ia = _mm512_load_si512(sp_kz_q6[2 * h]), ib = _mm512_load_si512(sp_kz_q6[2 * h + 1]);
                __m512i xa[SP_KZ_TILE_MAX], xbv[SP_KZ_TILE_MAX];
                for (int n = 0; n < NT; n++) {
                    xa[n] = _mm512_loadu_si512(xb[n]->qs + 128 * h);
                    xbv[n] = _mm512_loadu_si512(xb[n]->qs + 128 * h + 64);
                }
                for (int r = 0; r < R; r++) {
                    const __m512i ql = _mm512_loadu_si512(blk[r] + 64 * h);
                    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk[r] + 128 + 32 * h)));
                    const __m512i qa = _mm512_or_si512(_mm512_and_si512(ql, nib), _mm512_and_si512(_mm512_sllv_epi16(qh, shl), bits45));
                    const __m512i qb = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), nib),
                                                       _mm512_and_si512(_mm512_srlv_epi16(qh, shr), bits45));
                    const __m512i sa = _mm512_permutexvar_epi16(ia, sc[r]), sb = _mm512_permutexvar_epi16(ib, sc[r]);
                    for (int n = 0; n < NT; n++) isum[r][n] = sp_kz_dot(sp_kz_dot(isum[r][n], qa, xa[n], sa), qb, xbv[n], sb);
                }
            }
        } else {
            for (int pp = 0; pp < 2; pp++) {
                const __m512i ilo = _mm512_load_si512(sp_kz_q4[4 * pp]), ihi = _mm512_load_si512(sp_kz_q4[4 * pp + 1]);
                __m512i xl[SP_KZ_TILE_MAX], xh[SP_KZ_TILE_MAX];
                for (int n = 0; n < NT; n++) {
                    const int8_t *q8 = xb[n]->qs + 128 * pp;
                    xl[n] = sp_kz_pieces(q8, q8 + 64);
                    xh[n] = sp_kz_pieces(q8 + 32, q8 + 96);
                }
                for (int r = 0; r < R; r++) {
                    const uint8_t *qs = blk[r] + (type == SP_TYPE_Q4_K ? 16 : 48);
                    const __m512i q = _mm512_loadu_si512(qs + 64 * pp);
                    __m512i lo = _mm512_and_si512(q, nib), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), nib);
                    if (type == SP_TYPE_Q5_K) {
                        // Fifth bits: sub-block s uses bit s of qh[l] (halves: s = 4pp | 4pp + 2 for lo).
                        const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk[r] + 16)));
                        const __m512i bl = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (4 * pp))),
                                                              _mm256_set1_epi8((char)(1 << (4 * pp + 2))), 1);
                        const __m512i sixteen = _mm512_set1_epi8(16);
                        lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh, bl), lo, sixteen);
                        hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(qh, _mm512_add_epi8(bl, bl)), hi, sixteen);
                    }
                    const __m512i slo = _mm512_shuffle_epi8(sc[r], ilo), shi = _mm512_shuffle_epi8(sc[r], ihi);
                    for (int n = 0; n < NT; n++) isum[r][n] = sp_kz_dot(sp_kz_dot(isum[r][n], lo, xl[n], slo), hi, xh[n], shi);
                }
            }
        }
        for (int n = 0; n < NT; n++) {
            const __m256i bs = _mm256_loadu_si256((const __m256i *)xb[n]->bsums);
            for (int r = 0; r < R; r++) {
                const __m256i side_sum = _mm256_madd_epi16(bs, side[r]);
                if (type == SP_TYPE_Q6_K) {
                    const __m512i is = _mm512_sub_epi32(isum[r][n], _mm512_zextsi256_si512(_mm256_slli_epi32(side_sum, 5)));
                    acc[r][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_set1_ps(dw[r] * xb[n]->d), acc[r][n]);
                } else {
                    acc[r][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][n]), _mm512_set1_ps(dw[r] * xb[n]->d), acc[r][n]);
                    acc[r][n] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(side_sum)),
                                                 _mm512_set1_ps(dmw[r] * xb[n]->d), acc[r][n]);
                }
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int n = 0; n < NT; n++) out[r][n] = _mm512_reduce_add_ps(acc[r][n]);
}

SP_KZ_INLINE void sp_kz_run(const int type, const int RM, const int NM, const uint8_t *W, size_t row_bytes,
                            int64_t K, const uint8_t *X, size_t xrb, int64_t N, float *Y, int64_t ldy,
                            int64_t r0, int64_t r1) {
    const int64_t nb = K / SP_QK_K;
    float out[SP_KZ_TILE_MAX][SP_KZ_TILE_MAX];
    sp_prefetcher pf = sp_prefetcher_start(W, row_bytes, r0, r1);
    for (int64_t r = r0; r < r1;) {
        const int R = r1 - r >= RM ? RM : 1;
        const uint8_t *w[SP_KZ_TILE_MAX];
        for (int i = 0; i < SP_KZ_TILE_MAX; i++) w[i] = W + (size_t)(r + (i < R ? i : 0)) * row_bytes;
        sp_prefetch_to(&pf, (size_t)(r - r0) * row_bytes);
        for (int64_t n = 0; n < N;) {
            const int T = N - n >= NM ? NM : 1;
            const uint8_t *x[SP_KZ_TILE_MAX];
            for (int i = 0; i < SP_KZ_TILE_MAX; i++) x[i] = X + (size_t)(n + (i < T ? i : 0)) * xrb;
            if (R == RM && T == NM) sp_kz_tile(type, RM, NM, w, x, nb, out);
            else if (R == RM) sp_kz_tile(type, RM, 1, w, x, nb, out);
            else if (T == NM) sp_kz_tile(type, 1, NM, w, x, nb, out);
            else sp_kz_tile(type, 1, 1, w, x, nb, out);
            for (int i = 0; i < R; i++)
                for (int j = 0; j < T; j++) Y[(n + j) * ldy + r + i] = out[i][j];
            n += T;
        }
        r += R;
    }
}

// One instantiation per type and tile shape (4 x 1 for a matvec, 2 x 4 for batches).
#define SP_KZ_ENTRY(NAME, TYPE, RM, NM)                                                              \
__attribute__((target(SP_AVX512))) static void NAME(const void *W, size_t rb, int64_t K, const void *X, \
        size_t xrb, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {                      \
    sp_kz_run(TYPE, RM, NM, W, rb, K, X, xrb, N, Y, ldy, r0, r1);                                    \
}
SP_KZ_ENTRY(sp_kz_q4k_mv, SP_TYPE_Q4_K, 4, 1)
SP_KZ_ENTRY(sp_kz_q5k_mv, SP_TYPE_Q5_K, 4, 1)
SP_KZ_ENTRY(sp_kz_q6k_mv, SP_TYPE_Q6_K, 4, 1)
SP_KZ_ENTRY(sp_kz_q4k_mm, SP_TYPE_Q4_K, 2, 4)
SP_KZ_ENTRY(sp_kz_q5k_mm, SP_TYPE_Q5_K, 2, 4)
SP_KZ_ENTRY(sp_kz_q6k_mm, SP_TYPE_Q6_K, 2, 4)

int sp_kquants_matmul_avx512(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                             size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    if (type != SP_TYPE_Q4_K && type != SP_TYPE_Q5_K && type != SP_TYPE_Q6_K) return 0;
    if (r1 <= r0 || N <= 0) return 1;
    const int mv = N == 1;
    switch (type) {
    case SP_TYPE_Q4_K: (mv ? sp_kz_q4k_mv : sp_kz_q4k_mm)(W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1); break;
    case SP_TYPE_Q5_K: (mv ? sp_kz_q5k_mv : sp_kz_q5k_mm)(W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1); break;
    default: (mv ? sp_kz_q6k_mv : sp_kz_q6k_mm)(W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1); break;
    }
    return 1;
}
#endif
