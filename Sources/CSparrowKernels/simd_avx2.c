// AVX2 (+FMA, F16C) fast paths, and the per-block quantized tile shared with the AVX-512 VNNI path.
//
// Every function carries its own target attribute; nothing here runs unless dispatch.c found the
// instruction set with cpuid. Results equal the scalar references in reference.c up to the order
// of float additions (products and conversions are exact or rounded identically).
#include "internal.h"
#ifdef SP_X86
#include <immintrin.h>

#define SP_AVX2 "avx2,fma,f16c"
#define SP_AVX512VNNI "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define SP_INLINE(T) static inline __attribute__((always_inline, target(T)))

static inline uint32_t sp_load_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }

SP_INLINE(SP_AVX2) float sp_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// ---- Quantized blocks: R weight rows x NT activation rows, one 32-element block at a time ------
//
// Each (row, token, block) yields eight int32 partial sums (exact), converted to float and scaled
// by d_w * d_x in one FMA. Scales of up to four rows come from one vcvtph2ps of their leading
// dwords ({d, m} for Q4_1 / Q5_1, {d, first quants} otherwise: the odd lanes are then ignored).
// Q4_0 subtracts 8 * sum(x) and Q5_0 16 * sum(x) (exact, integer); Q4_1 and Q5_1 add m_w * s_x; Q8_0 and IQ4_NL (whose nibbles
// index a table of int8 levels) use |w| and sign(x, w) so that the unsigned x signed byte product
// applies (|w| <= 128, |x| <= 127: no int16 saturation in vpmaddubsw).

#define SP_TILE_MAX 4

// DOT(acc, u, s): acc + per-dword sums of u8 x s8 products.
#define SP_DOT_MADDUBS(acc, u, s) \
    _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#define SP_DOT_VNNI(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))

// Q5_0 / Q5_1 fifth bits: bit j of the block's u32 qh (at p) adds 16 to byte j of the 4-bit quants w.
// AVX2 spreads the bits over bytes with a shuffle and compare; AVX-512 BW/VL uses qh as a byte mask.
#define SP_Q5_BITS_AVX2(w, p) do {                                                                 \
        const __m256i bit_of = _mm256_set1_epi64x((long long)0x8040201008040201ull);               \
        const __m256i byte_of = _mm256_setr_epi64x(0, 0x0101010101010101ll, 0x0202020202020202ll, 0x0303030303030303ll); \
        __m256i h_ = _mm256_shuffle_epi8(_mm256_set1_epi32((int)sp_load_u32(p)), byte_of);         \
        h_ = _mm256_cmpeq_epi8(_mm256_and_si256(h_, bit_of), bit_of);                              \
        (w) = _mm256_or_si256((w), _mm256_and_si256(h_, _mm256_set1_epi8(0x10)));                  \
    } while (0)
#define SP_Q5_BITS_MASK(w, p) ((w) = _mm256_mask_add_epi8((w), (__mmask32)sp_load_u32(p), (w), _mm256_set1_epi8(0x10)))

#define SP_DEFINE_BLOCK_TILE(NAME, TARGET, DOT, Q5_BITS)                                                    \
SP_INLINE(TARGET) void NAME(const int type, const int R, const int NT, const uint8_t *const *w,    \
                            const uint8_t *const *x, int64_t nb, float out[SP_TILE_MAX][SP_TILE_MAX]) { \
    const int has_min = type == SP_TYPE_Q4_1 || type == SP_TYPE_Q5_1;                              \
    const int five_bit = type == SP_TYPE_Q5_0 || type == SP_TYPE_Q5_1;                             \
    const size_t wbs = type == SP_TYPE_Q4_0 || type == SP_TYPE_IQ4_NL ? 18 : type == SP_TYPE_Q4_1 ? 20 \
                     : type == SP_TYPE_Q5_0 ? 22 : type == SP_TYPE_Q5_1 ? 24 : 34;                 \
    const size_t xbs = has_min ? 36 : 34;                                                          \
    const size_t qho = type == SP_TYPE_Q5_1 ? 4 : 2; /* offset of the Q5 qh dword */               \
    const size_t wqo = type == SP_TYPE_Q4_1 ? 4 : type == SP_TYPE_Q5_0 ? 6 : type == SP_TYPE_Q5_1 ? 8 : 2; \
    const size_t xqo = has_min ? 4 : 2;                                                            \
    const __m256i nibble = _mm256_set1_epi8(0x0f);                                                 \
    const __m256i eight = _mm256_set1_epi8(type == SP_TYPE_Q5_0 ? 16 : 8);                         \
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)sp_iq4nl_values)); \
    const __m256i hi_shift = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);                            \
    __m256 acc[SP_TILE_MAX][SP_TILE_MAX], ms[SP_TILE_MAX];                                         \
    for (int r = 0; r < R; r++)                                                                    \
        for (int n = 0; n < NT; n++) acc[r][n] = _mm256_setzero_ps();                              \
    for (int n = 0; n < NT; n++) ms[n] = _mm256_setzero_ps();                                      \
    for (int64_t b = 0; b < nb; b++) {                                                             \
        __m256i wv[SP_TILE_MAX];                                                                   \
        for (int r = 0; r < R; r++) {                                                              \
            const uint8_t *p = w[r] + (size_t)b * wbs;                                             \
            if (type == SP_TYPE_Q8_0) {                                                            \
                wv[r] = _mm256_loadu_si256((const __m256i *)(p + 2));                              \
            } else {                                                                               \
                __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(p + wqo))); \
                wv[r] = _mm256_and_si256(_mm256_srlv_epi32(q, hi_shift), nibble);                  \
                if (five_bit) {                                                                    \
                    Q5_BITS(wv[r], p + qho);                                                       \
                } else if (type == SP_TYPE_IQ4_NL) {                                               \
                    wv[r] = _mm256_shuffle_epi8(levels, wv[r]);                                    \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        const size_t wo = (size_t)b * wbs;                                                         \
        __m256 wsc = _mm256_cvtph_ps(_mm_setr_epi32(                                               \
            (int)sp_load_u32(w[0] + wo), (int)sp_load_u32(w[R > 1 ? 1 : 0] + wo),                  \
            (int)sp_load_u32(w[R > 2 ? 2 : 0] + wo), (int)sp_load_u32(w[R > 3 ? 3 : 0] + wo)));    \
        for (int n = 0; n < NT; n++) {                                                             \
            const uint8_t *xp = x[n] + (size_t)b * xbs;                                            \
            __m256i xv = _mm256_loadu_si256((const __m256i *)(xp + xqo));                          \
            __m128 xs = _mm_cvtph_ps(_mm_cvtsi32_si128((int)sp_load_u32(xp)));                     \
            __m256 prod = _mm256_mul_ps(wsc, _mm256_castpd_ps(_mm256_broadcastsd_pd(_mm_castps_pd(xs)))); \
            if (has_min) ms[n] = _mm256_add_ps(ms[n], prod);                                       \
            __m256i base = _mm256_setzero_si256();                                                 \
            if (type == SP_TYPE_Q4_0 || type == SP_TYPE_Q5_0)                                      \
                base = _mm256_sub_epi32(base, DOT(_mm256_setzero_si256(), eight, xv));             \
            for (int r = 0; r < R; r++) {                                                          \
                __m256i isum;                                                                      \
                if (type == SP_TYPE_Q8_0 || type == SP_TYPE_IQ4_NL) {                              \
                    isum = DOT(base, _mm256_abs_epi8(wv[r]), _mm256_sign_epi8(xv, wv[r]));         \
                } else {                                                                           \
                    isum = DOT(base, wv[r], xv);                                                   \
                }                                                                                  \
                __m256 scale = _mm256_permutevar8x32_ps(prod, _mm256_set1_epi32(2 * r));           \
                acc[r][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc[r][n]);           \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    for (int n = 0; n < NT; n++) {                                                                 \
        float m[8];                                                                                \
        _mm256_storeu_ps(m, ms[n]);                                                                \
        for (int r = 0; r < R; r++)                                                                \
            out[r][n] = sp_hsum256(acc[r][n]) + (has_min ? m[2 * r + 1] : 0.0f);                   \
    }                                                                                              \
}

SP_DEFINE_BLOCK_TILE(sp_block_tile_avx2, SP_AVX2, SP_DOT_MADDUBS, SP_Q5_BITS_AVX2)
SP_DEFINE_BLOCK_TILE(sp_block_tile_vnni, SP_AVX512VNNI, SP_DOT_VNNI, SP_Q5_BITS_MASK)

// Row/token loops around a tile of at most RM x NM. Y[n * ldy + r] (matvec: N = 1, Y = y - r0).
#define SP_DEFINE_BLOCK_DRIVER(NAME, TARGET, TILE, RM, NM)                                         \
SP_INLINE(TARGET) void NAME##_typed(const int type, const uint8_t *W, size_t row_bytes, int64_t K,   \
                                    const uint8_t *X, size_t xrb, int64_t N, float *Y, int64_t ldy, \
                                    int64_t r0, int64_t r1) {                                      \
    const int64_t nb = K / SP_QK;                                                                  \
    float out[SP_TILE_MAX][SP_TILE_MAX];                                                           \
    sp_prefetcher pf = sp_prefetcher_start(W, row_bytes, r0, r1);                                  \
    for (int64_t r = r0; r < r1;) {                                                                \
        const int R = r1 - r >= RM ? RM : 1; /* remainder rows one at a time */                    \
        const uint8_t *w[SP_TILE_MAX];                                                             \
        for (int i = 0; i < SP_TILE_MAX; i++) w[i] = W + (size_t)(r + (i < R ? i : 0)) * row_bytes; \
        sp_prefetch_to(&pf, (size_t)(r - r0) * row_bytes);                                         \
        for (int64_t n = 0; n < N;) {                                                              \
            const int T = N - n >= NM ? NM : 1;                                                    \
            const uint8_t *x[SP_TILE_MAX];                                                         \
            for (int i = 0; i < SP_TILE_MAX; i++) x[i] = X + (size_t)(n + (i < T ? i : 0)) * xrb;  \
            if (R == RM && T == NM) TILE(type, RM, NM, w, x, nb, out);                             \
            else if (R == RM) TILE(type, RM, 1, w, x, nb, out);                                    \
            else if (T == NM) TILE(type, 1, NM, w, x, nb, out);                                    \
            else TILE(type, 1, 1, w, x, nb, out);                                                  \
            for (int i = 0; i < R; i++)                                                            \
                for (int j = 0; j < T; j++) Y[(n + j) * ldy + r + i] = out[i][j];                  \
            n += T;                                                                                \
        }                                                                                          \
        r += R;                                                                                    \
    }                                                                                              \
}                                                                                                  \
__attribute__((target(TARGET))) static void NAME(int type, const void *W, size_t row_bytes, int64_t K, \
                                                 const void *X, size_t xrb, int64_t N, float *Y,   \
                                                 int64_t ldy, int64_t r0, int64_t r1) {            \
    switch (type) {                                                                                \
    case SP_TYPE_Q4_0: NAME##_typed(SP_TYPE_Q4_0, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break; \
    case SP_TYPE_Q4_1: NAME##_typed(SP_TYPE_Q4_1, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break; \
    case SP_TYPE_Q5_1: NAME##_typed(SP_TYPE_Q5_1, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break; \
    case SP_TYPE_Q8_0: NAME##_typed(SP_TYPE_Q8_0, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break; \
    case SP_TYPE_Q5_0: NAME##_typed(SP_TYPE_Q5_0, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break; \
    case SP_TYPE_IQ4_NL: NAME##_typed(SP_TYPE_IQ4_NL, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break; \
    default: break;                                                                                \
    }                                                                                              \
}

SP_DEFINE_BLOCK_DRIVER(sp_blocks_mv_avx2, SP_AVX2, sp_block_tile_avx2, 4, 1)
SP_DEFINE_BLOCK_DRIVER(sp_blocks_mm_avx2, SP_AVX2, sp_block_tile_avx2, 2, 2)
SP_DEFINE_BLOCK_DRIVER(sp_blocks_mv_vnni, SP_AVX512VNNI, sp_block_tile_vnni, 4, 1)
SP_DEFINE_BLOCK_DRIVER(sp_blocks_mm_vnni, SP_AVX512VNNI, sp_block_tile_vnni, 4, 4)

void sp_blocks_matmul_x86(int type, int vnni, const void *W, size_t row_bytes, int64_t K,
                          const void *xq, size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy,
                          int64_t r0, int64_t r1) {
    if (N == 1) {
        if (vnni) sp_blocks_mv_vnni(type, W, row_bytes, K, xq, xq_row_bytes, 1, Y, ldy, r0, r1);
        else sp_blocks_mv_avx2(type, W, row_bytes, K, xq, xq_row_bytes, 1, Y, ldy, r0, r1);
    } else {
        if (vnni) sp_blocks_mm_vnni(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
        else sp_blocks_mm_avx2(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
    }
}

// ---- Float weights (F32, F16, BF16) x f32 activations --------------------------------------------

SP_INLINE(SP_AVX2) __m256 sp_load8_avx2(const int type, const void *p) {
    switch (type) {
    case SP_TYPE_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    case SP_TYPE_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
    default: return _mm256_loadu_ps((const float *)p);
    }
}

static inline float sp_float_weight(int type, const void *w, int64_t i) {
    switch (type) {
    case SP_TYPE_F16: return sp_f16_to_f32_1(((const uint16_t *)w)[i]);
    case SP_TYPE_BF16: return sp_bf16_to_f32_1(((const uint16_t *)w)[i]);
    default: return ((const float *)w)[i];
    }
}

SP_INLINE(SP_AVX2) void sp_float_tile_avx2(const int type, const int R, const int NT, const uint8_t *const *w,
                                          const float *const *x, int64_t K, float out[SP_TILE_MAX][SP_TILE_MAX]) {
    const size_t es = type == SP_TYPE_F32 ? 4 : 2;
    __m256 acc[SP_TILE_MAX][SP_TILE_MAX];
    for (int r = 0; r < R; r++)
        for (int n = 0; n < NT; n++) acc[r][n] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 wv[SP_TILE_MAX];
        for (int r = 0; r < R; r++) wv[r] = sp_load8_avx2(type, w[r] + (size_t)k * es);
        for (int n = 0; n < NT; n++) {
            __m256 xv = _mm256_loadu_ps(x[n] + k);
            for (int r = 0; r < R; r++) acc[r][n] = _mm256_fmadd_ps(wv[r], xv, acc[r][n]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int n = 0; n < NT; n++) {
            float s = sp_hsum256(acc[r][n]);
            for (int64_t i = k; i < K; i++) s += sp_float_weight(type, w[r], i) * x[n][i];
            out[r][n] = s;
        }
}

__attribute__((target(SP_AVX2)))
static void sp_float_matmul_avx2(int type, const void *W, size_t row_bytes, int64_t K, const void *X,
                                 size_t xrb, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    enum { RM = 4, NM = 2 };
    float out[SP_TILE_MAX][SP_TILE_MAX];
    sp_prefetcher pf = sp_prefetcher_start(W, row_bytes, r0, r1);
    for (int64_t r = r0; r < r1;) {
        const int R = r1 - r >= RM ? RM : 1;
        const uint8_t *w[SP_TILE_MAX];
        for (int i = 0; i < SP_TILE_MAX; i++) w[i] = (const uint8_t *)W + (size_t)(r + (i < R ? i : 0)) * row_bytes;
        sp_prefetch_to(&pf, (size_t)(r - r0) * row_bytes);
        for (int64_t n = 0; n < N;) {
            const int T = N - n >= NM ? NM : 1;
            const float *x[SP_TILE_MAX];
            for (int i = 0; i < SP_TILE_MAX; i++) x[i] = (const float *)((const uint8_t *)X + (size_t)(n + (i < T ? i : 0)) * xrb);
#define SP_FT(t) do { \
                if (R == RM && T == NM) sp_float_tile_avx2(t, RM, NM, w, x, K, out); \
                else if (R == RM) sp_float_tile_avx2(t, RM, 1, w, x, K, out); \
                else if (T == NM) sp_float_tile_avx2(t, 1, NM, w, x, K, out); \
                else sp_float_tile_avx2(t, 1, 1, w, x, K, out); } while (0)
            switch (type) {
            case SP_TYPE_F16: SP_FT(SP_TYPE_F16); break;
            case SP_TYPE_BF16: SP_FT(SP_TYPE_BF16); break;
            default: SP_FT(SP_TYPE_F32); break;
            }
#undef SP_FT
            for (int i = 0; i < R; i++)
                for (int j = 0; j < T; j++) Y[(n + j) * ldy + r + i] = out[i][j];
            n += T;
        }
        r += R;
    }
}

// ---- Entry points ----------------------------------------------------------------------------------

static int sp_is_block_type(int type) {
    return type == SP_TYPE_Q4_0 || type == SP_TYPE_Q4_1 || type == SP_TYPE_Q8_0 || type == SP_TYPE_Q5_0 || type == SP_TYPE_Q5_1
        || type == SP_TYPE_IQ4_NL;
}

static int sp_is_float_type(int type) {
    return type == SP_TYPE_F32 || type == SP_TYPE_F16 || type == SP_TYPE_BF16;
}

void sp_matvec_avx2(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                    float *y, int64_t r0, int64_t r1) {
    if (sp_is_block_type(type)) sp_blocks_matmul_x86(type, 0, W, row_bytes, K, xq, 0, 1, y - r0, 0, r0, r1);
    else if (sp_is_float_type(type)) sp_float_matmul_avx2(type, W, row_bytes, K, xq, 0, 1, y - r0, 0, r0, r1);
    else if (sp_kquants_matmul_x86(type, 0, W, row_bytes, K, xq, 0, 1, y - r0, 0, r0, r1)) return;
    else sp_matvec_ref(type, W, row_bytes, K, xq, y, r0, r1);
}

void sp_matmul_avx2(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                    size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    if (sp_is_block_type(type)) sp_blocks_matmul_x86(type, 0, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
    else if (sp_is_float_type(type)) sp_float_matmul_avx2(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
    else if (sp_kquants_matmul_x86(type, 0, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1)) return;
    else sp_matmul_ref(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
}
#endif
