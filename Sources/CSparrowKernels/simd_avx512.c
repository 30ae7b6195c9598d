// AVX-512 (F/BW/VL, + VNNI when present) fast paths of the products.
//
// Q4_1 x Q8_1 streams weight rows as they lie in memory, 64 bytes at a time, without reshuffling
// nibbles. A Q4_1 block is 20 bytes = 5 dwords: {d, m} then 4 dwords of packed nibbles, so every
// dword of a row belongs to exactly one block. The activation row is expanded once per call into an
// "image" laid out like a weight row: for each weight byte position p the activation quant that
// multiplies its low nibble (lo[p]) and its high nibble (hi[p]), zero under the {d, m} dword; and for
// each dword lane l two floats, A[l] = d_x and B[l] = 0 on quant dwords, A[l] = 0 and B[l] = s_x on
// the {d, m} dword. Then, per 64-byte chunk and row,
//     isum = dpbusd(dpbusd(0, w & 15, lo), (w >> 4) & 15, hi)        (16 exact int32 lane sums)
//     acc += (isum * A + B) * W                                       (W = d_w, or m_w on {d, m})
// where W comes from the loaded chunk itself by one vpermt2w + vcvtph2ps (16 blocks = 5 chunks
// form a period, so five fixed index vectors suffice). Summed over lanes this is exactly
// sum_b d_w d_x isum_b + m_w s_x, the reference's terms, in another order.
// Without VNNI the same runs on vpmaddubsw + vpmaddwd (exact: |sums| <= 2 * 2 * 15 * 127).
// Q4_0, Q5_0, Q5_1, Q8_0 and IQ4_NL use the per-block tile of simd_avx2.c (VNNI instantiation), Q4_K / Q5_K /
// Q6_K the super-block tile of kquants_x86.c; F32/F16/BF16 use zmm FMAs.
#include "internal.h"
#ifdef SP_X86
#include <immintrin.h>
#include <stdlib.h>

#define SP_AVX512 "avx512f,avx512bw,avx512vl,avx512vnni"
#define SP_INLINE512 static inline __attribute__((always_inline, target(SP_AVX512)))
#define SP_TILE_MAX 4

enum { SP_PERIOD = 320 };  // bytes of 16 Q4_1 blocks = 5 chunks of 64

/// Activation image of one Q8_1 row (see the file comment); 4 * padded bytes.
typedef struct {
    int8_t *lo, *hi;
    float *a, *b;
} sp_q41_image;

static size_t sp_q41_padded(int64_t nb) { return (size_t)((nb + 15) / 16) * SP_PERIOD; }

__attribute__((target(SP_AVX512))) static void sp_q41_build_image(const sp_block_q8_1 *x, int64_t nb, uint8_t *mem) {
    const size_t P = sp_q41_padded(nb);
    memset(mem, 0, 4 * P);
    int8_t *lo = (int8_t *)mem, *hi = lo + P;
    float *a = (float *)(mem + 2 * P), *b = (float *)(mem + 3 * P);
    for (int64_t i = 0; i < nb; i++) {
        memcpy(lo + 20 * i + 4, x[i].qs, 16);
        memcpy(hi + 20 * i + 4, x[i].qs + 16, 16);
        const float d = _cvtsh_ss(x[i].d);  // exact, like sp_f16_to_f32_1
        b[5 * i] = _cvtsh_ss(x[i].s);
        for (int j = 1; j < 5; j++) a[5 * i + j] = d;
    }
}

static sp_q41_image sp_q41_image_at(uint8_t *mem, int64_t nb) {
    const size_t P = sp_q41_padded(nb);
    sp_q41_image im = {(int8_t *)mem, (int8_t *)(mem + P), (float *)(mem + 2 * P), (float *)(mem + 3 * P)};
    return im;
}

/// vpermt2w indices that put, for each dword lane of chunk c of a period, the f16 scale of that
/// lane's block in word `lane` (d for quant dwords, m for the {d, m} dword). With the previous chunk
/// as first table and the current one as second, index word + 32 covers both cases: a word of the
/// current chunk (0 <= word < 32), or one in the last 16 bytes of the previous chunk (-8 <= word < 0).
static void sp_q41_scale_indices(uint16_t idx[5][32]) {
    for (int c = 0; c < 5; c++) {
        for (int k = 0; k < 32; k++) {
            if (k >= 16) { idx[c][k] = 0; continue; }
            const int l = 16 * c + k, blk = l / 5;
            const int word = 10 * blk + (l % 5 == 0 ? 1 : 0) - 32 * c;
            idx[c][k] = (uint16_t)(word + 32);
        }
    }
}

SP_INLINE512 void sp_q41_tile(const int vnni, const int R, const int NT, const uint8_t *const *w,
                              const sp_q41_image *x, size_t L, const uint16_t idx[5][32],
                              float out[SP_TILE_MAX][SP_TILE_MAX]) {
    const __m512i nibble = _mm512_set1_epi8(0x0f), ones = _mm512_set1_epi16(1);
    __m512 acc[SP_TILE_MAX][SP_TILE_MAX];
    for (int r = 0; r < R; r++)
        for (int n = 0; n < NT; n++) acc[r][n] = _mm512_setzero_ps();
    for (size_t p = 0; p < L; p += SP_PERIOD) {
        const int full = p + SP_PERIOD <= L;
        __m512i prev[SP_TILE_MAX];
        for (int c = 0; c < 5; c++) {
            const size_t off = p + 64 * (size_t)c;
            if (!full && off >= L) break;
            const __mmask64 mask = full || off + 64 <= L ? ~(__mmask64)0 : (((__mmask64)1 << (L - off)) - 1);
            const __m512i perm = _mm512_loadu_si512(idx[c]);
            __m512i lo[SP_TILE_MAX], hi[SP_TILE_MAX];
            __m512 ws[SP_TILE_MAX];
            for (int r = 0; r < R; r++) {
                __m512i v = full ? _mm512_loadu_si512(w[r] + off) : _mm512_maskz_loadu_epi8(mask, w[r] + off);
                lo[r] = _mm512_and_si512(v, nibble);
                hi[r] = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
                if (c == 0) prev[r] = v;
                ws[r] = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(prev[r], perm, v)));
                prev[r] = v;
            }
            for (int n = 0; n < NT; n++) {
                const __m512i xl = _mm512_load_si512(x[n].lo + off), xh = _mm512_load_si512(x[n].hi + off);
                const __m512 xa = _mm512_load_ps(x[n].a + off / 4), xb = _mm512_load_ps(x[n].b + off / 4);
                for (int r = 0; r < R; r++) {
                    __m512i isum;
                    if (vnni) {
                        isum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[r], xl), hi[r], xh);
                    } else {
                        __m512i s16 = _mm512_add_epi16(_mm512_maddubs_epi16(lo[r], xl), _mm512_maddubs_epi16(hi[r], xh));
                        isum = _mm512_madd_epi16(s16, ones);
                    }
                    __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), xa, xb);
                    acc[r][n] = _mm512_fmadd_ps(t, ws[r], acc[r][n]);
                }
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int n = 0; n < NT; n++) out[r][n] = _mm512_reduce_add_ps(acc[r][n]);
}

// ---- N = 1 (decode): up to 8 rows per pass (activation loads shared), periods unrolled ------------

/// One 64-byte chunk of R rows at byte `off`: `perm` holds the scale indices of the chunk's place in
/// its period, `mask` the bytes that exist (used only when `masked`: a row's last, partial chunk).
SP_INLINE512 void sp_q41_mv_chunk(const int vnni, const int R, const uint8_t *const *w, size_t off, __mmask64 mask,
                                  const int masked, __m512i perm, const sp_q41_image *x, __m512i *prev, __m512 *acc,
                                  const uint8_t *limit) {
    const __m512i nibble = _mm512_set1_epi8(0x0f), ones = _mm512_set1_epi16(1);
    const __m512i xl = _mm512_load_si512(x->lo + off), xh = _mm512_load_si512(x->hi + off);
    const __m512 xa = _mm512_load_ps(x->a + off / 4), xb = _mm512_load_ps(x->b + off / 4);
    for (int r = 0; r < R; r++) {
        const uint8_t *ahead = w[r] + off + SP_PREFETCH_DISTANCE;
        __builtin_prefetch(ahead < limit ? ahead : limit, 0, 3);
        const __m512i v = masked ? _mm512_maskz_loadu_epi8(mask, w[r] + off) : _mm512_loadu_si512(w[r] + off);
        const __m512i lo = _mm512_and_si512(v, nibble), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
        const __m512 ws = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(prev[r], perm, v)));
        prev[r] = v;
        __m512i isum;
        if (vnni) {
            isum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, xl), hi, xh);
        } else {
            isum = _mm512_madd_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(lo, xl), _mm512_maddubs_epi16(hi, xh)), ones);
        }
        acc[r] = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), xa, xb), ws, acc[r]);
    }
}

/// y[i] = row (r + i) . x for i < R, rows `row_bytes` apart starting at w0 (L = bytes of blocks).
SP_INLINE512 void sp_q41_mv_tile(const int vnni, const int R, const uint8_t *w0, size_t row_bytes,
                                 const sp_q41_image *x, size_t L, const uint16_t idx[5][32], float *y,
                                 const uint8_t *limit) {
    const uint8_t *w[8];
    for (int r = 0; r < R; r++) w[r] = w0 + (size_t)r * row_bytes;
    __m512 acc[8];
    __m512i prev[8];
    for (int r = 0; r < R; r++) { acc[r] = _mm512_setzero_ps(); prev[r] = _mm512_setzero_si512(); }
    const size_t full = L / SP_PERIOD * SP_PERIOD;
    size_t off = 0;
    for (; off < full; off += SP_PERIOD) {
        for (int c = 0; c < 5; c++)
            sp_q41_mv_chunk(vnni, R, w, off + 64 * (size_t)c, ~(__mmask64)0, 0, _mm512_load_si512(idx[c]), x, prev, acc, limit);
    }
    for (int c = 0; off < L; c++, off += 64) {
        const __mmask64 mask = off + 64 <= L ? ~(__mmask64)0 : (((__mmask64)1 << (L - off)) - 1);
        sp_q41_mv_chunk(vnni, R, w, off, mask, 1, _mm512_load_si512(idx[c]), x, prev, acc, limit);
    }
    // Same lane order and reduction as sp_q41_tile: a token's logits must not depend on whether it
    // was evaluated alone or in a prompt batch (LlamaForwardTests compares them).
    for (int r = 0; r < R; r++) y[r] = _mm512_reduce_add_ps(acc[r]);
}

SP_INLINE512 void sp_q41_mv_run(const int vnni, const uint8_t *W, size_t row_bytes, int64_t K,
                                const sp_q41_image *img, float *y, int64_t r0, int64_t r1) {
    const size_t L = (size_t)(K / SP_QK) * sizeof(sp_block_q4_1);
    uint16_t idx[5][32] __attribute__((aligned(64)));
    sp_q41_scale_indices(idx);
    // The first SP_PREFETCH_DISTANCE bytes are requested up front; past them every weight load
    // requests the line that distance ahead (clamped to the range), spread evenly over the work.
    sp_prefetcher pf = sp_prefetcher_start(W, row_bytes, r0, r1);
    sp_prefetch_to(&pf, 0);
    const uint8_t *limit = W + (size_t)r1 * row_bytes - 1;
    int64_t r = r0;
    for (; r + 8 <= r1; r += 8) sp_q41_mv_tile(vnni, 8, W + (size_t)r * row_bytes, row_bytes, img, L, idx, y + r, limit);
    for (; r + 4 <= r1; r += 4) sp_q41_mv_tile(vnni, 4, W + (size_t)r * row_bytes, row_bytes, img, L, idx, y + r, limit);
    for (; r < r1; r++) sp_q41_mv_tile(vnni, 1, W + (size_t)r * row_bytes, row_bytes, img, L, idx, y + r, limit);
}

SP_INLINE512 void sp_q41_run(const int vnni, const uint8_t *W, size_t row_bytes, int64_t K,
                             const sp_q41_image *img, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    const int RM = 2, NM = 4;  // N = 1 goes to sp_q41_mv_run
    const size_t L = (size_t)(K / SP_QK) * sizeof(sp_block_q4_1);
    uint16_t idx[5][32] __attribute__((aligned(64)));
    sp_q41_scale_indices(idx);
    float out[SP_TILE_MAX][SP_TILE_MAX];
    sp_prefetcher pf = sp_prefetcher_start(W, row_bytes, r0, r1);
    for (int64_t r = r0; r < r1;) {
        const int R = r1 - r >= RM ? RM : 1;
        const uint8_t *w[SP_TILE_MAX];
        for (int i = 0; i < SP_TILE_MAX; i++) w[i] = W + (size_t)(r + (i < R ? i : 0)) * row_bytes;
        sp_prefetch_to(&pf, (size_t)(r - r0) * row_bytes);
        for (int64_t n = 0; n < N;) {
            const int T = N - n >= NM ? NM : 1;
            if (R == 2 && T == 4) sp_q41_tile(vnni, 2, 4, w, img + n, L, idx, out);
            else if (R == 2) sp_q41_tile(vnni, 2, 1, w, img + n, L, idx, out);
            else if (T == 4) sp_q41_tile(vnni, 1, 4, w, img + n, L, idx, out);
            else sp_q41_tile(vnni, 1, 1, w, img + n, L, idx, out);
            for (int i = 0; i < R; i++)
                for (int j = 0; j < T; j++) Y[(n + j) * ldy + r + i] = out[i][j];
            n += T;
        }
        r += R;
    }
}

__attribute__((target(SP_AVX512))) static void sp_q41_run_vnni(const uint8_t *W, size_t rb, int64_t K,
        const sp_q41_image *img, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    if (N == 1) sp_q41_mv_run(1, W, rb, K, img, Y, r0, r1);
    else sp_q41_run(1, W, rb, K, img, N, Y, ldy, r0, r1);
}

__attribute__((target(SP_AVX512))) static void sp_q41_run_bw(const uint8_t *W, size_t rb, int64_t K,
        const sp_q41_image *img, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    if (N == 1) sp_q41_mv_run(0, W, rb, K, img, Y, r0, r1);
    else sp_q41_run(0, W, rb, K, img, N, Y, ldy, r0, r1);
}

// Activation images live in the calling thread's scratch buffer (sp_thread_scratch), so steady-state
// calls (every decoded token, every prompt batch of a known size) allocate nothing.
/// Q4_1 weights x Q8_1 activation rows; falls back to the scalar reference if memory runs out.
static void sp_q41_matmul_avx512(const void *W, size_t row_bytes, int64_t K, const void *xq, size_t xrb,
                                 int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    const int64_t nb = K / SP_QK;
    const size_t per = 4 * sp_q41_padded(nb);
    enum { SP_STACK_IMAGES = 16384 };
    uint8_t stack_mem[SP_STACK_IMAGES] __attribute__((aligned(64)));
    const size_t images = per * (size_t)N;
    const size_t need = images + sizeof(sp_q41_image) * (size_t)N;
    uint8_t *mem = need <= sizeof(stack_mem) ? stack_mem : (uint8_t *)sp_thread_scratch(need);
    if (!mem) {
        sp_matmul_ref(SP_TYPE_Q4_1, W, row_bytes, K, xq, xrb, N, Y, ldy, r0, r1);
        return;
    }
    sp_q41_image *img = (sp_q41_image *)(mem + images);
    for (int64_t n = 0; n < N; n++) {
        sp_q41_build_image((const sp_block_q8_1 *)((const uint8_t *)xq + (size_t)n * xrb), nb, mem + (size_t)n * per);
        img[n] = sp_q41_image_at(mem + (size_t)n * per, nb);
    }
    if (sp_has_avx512_vnni()) sp_q41_run_vnni(W, row_bytes, K, img, N, Y, ldy, r0, r1);
    else sp_q41_run_bw(W, row_bytes, K, img, N, Y, ldy, r0, r1);
}

// ---- Float weights (F32, F16, BF16) x f32 activations, 16 lanes, masked tail --------------------

SP_INLINE512 __m512 sp_load16(const int type, const void *p, __mmask16 m) {
    switch (type) {
    case SP_TYPE_F16: return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
    case SP_TYPE_BF16:
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
    default: return _mm512_maskz_loadu_ps(m, p);
    }
}

SP_INLINE512 void sp_float_tile512(const int type, const int R, const int NT, const uint8_t *const *w,
                                   const float *const *x, int64_t K, float out[SP_TILE_MAX][SP_TILE_MAX]) {
    const size_t es = type == SP_TYPE_F32 ? 4 : 2;
    __m512 acc[SP_TILE_MAX][SP_TILE_MAX];
    for (int r = 0; r < R; r++)
        for (int n = 0; n < NT; n++) acc[r][n] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
        const __mmask16 m = K - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (K - k)) - 1);
        __m512 wv[SP_TILE_MAX];
        for (int r = 0; r < R; r++) wv[r] = sp_load16(type, w[r] + (size_t)k * es, m);
        for (int n = 0; n < NT; n++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x[n] + k);
            for (int r = 0; r < R; r++) acc[r][n] = _mm512_fmadd_ps(wv[r], xv, acc[r][n]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int n = 0; n < NT; n++) out[r][n] = _mm512_reduce_add_ps(acc[r][n]);
}

SP_INLINE512 void sp_float_run512(const int type, const uint8_t *W, size_t row_bytes, int64_t K, const uint8_t *X,
                                  size_t xrb, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    const int RM = 4, NM = 4;
    float out[SP_TILE_MAX][SP_TILE_MAX];
    sp_prefetcher pf = sp_prefetcher_start(W, row_bytes, r0, r1);
    for (int64_t r = r0; r < r1;) {
        const int R = r1 - r >= RM ? RM : 1;
        const uint8_t *w[SP_TILE_MAX];
        for (int i = 0; i < SP_TILE_MAX; i++) w[i] = W + (size_t)(r + (i < R ? i : 0)) * row_bytes;
        sp_prefetch_to(&pf, (size_t)(r - r0) * row_bytes);
        for (int64_t n = 0; n < N;) {
            const int T = N - n >= NM ? NM : 1;
            const float *x[SP_TILE_MAX];
            for (int i = 0; i < SP_TILE_MAX; i++) x[i] = (const float *)(X + (size_t)(n + (i < T ? i : 0)) * xrb);
            if (R == RM && T == NM) sp_float_tile512(type, RM, NM, w, x, K, out);
            else if (R == RM) sp_float_tile512(type, RM, 1, w, x, K, out);
            else if (T == NM) sp_float_tile512(type, 1, NM, w, x, K, out);
            else sp_float_tile512(type, 1, 1, w, x, K, out);
            for (int i = 0; i < R; i++)
                for (int j = 0; j < T; j++) Y[(n + j) * ldy + r + i] = out[i][j];
            n += T;
        }
        r += R;
    }
}

__attribute__((target(SP_AVX512)))
static void sp_float_matmul_avx512(int type, const void *W, size_t row_bytes, int64_t K, const void *X,
                                   size_t xrb, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    switch (type) {
    case SP_TYPE_F16: sp_float_run512(SP_TYPE_F16, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break;
    case SP_TYPE_BF16: sp_float_run512(SP_TYPE_BF16, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break;
    default: sp_float_run512(SP_TYPE_F32, W, row_bytes, K, X, xrb, N, Y, ldy, r0, r1); break;
    }
}

// ---- Entry points ----------------------------------------------------------------------------------

void sp_matmul_avx512(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                      size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    if (r1 <= r0 || N <= 0) return;
    switch (type) {
    case SP_TYPE_Q4_1: sp_q41_matmul_avx512(W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1); return;
    case SP_TYPE_Q4_0:
    case SP_TYPE_Q5_0:
    case SP_TYPE_Q5_1:
    case SP_TYPE_Q8_0:
    case SP_TYPE_IQ4_NL:
        sp_blocks_matmul_x86(type, sp_has_avx512_vnni(), W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
        return;
    case SP_TYPE_Q4_K:
    case SP_TYPE_Q5_K:
    case SP_TYPE_Q6_K: sp_kquants_matmul_x86(type, 1, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1); return;
    case SP_TYPE_F32:
    case SP_TYPE_F16:
    case SP_TYPE_BF16: sp_float_matmul_avx512(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1); return;
    default: sp_matmul_ref(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1); return;
    }
}

void sp_matvec_avx512(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                      float *y, int64_t r0, int64_t r1) {
    // One activation row: Y[0 * ldy + r] = y[r - r0].
    sp_matmul_avx512(type, W, row_bytes, K, xq, 0, 1, y - r0, 0, r0, r1);
}
#endif
