// Shared definitions of the kernel translation units (not part of the public API).
#ifndef CSPARROW_INTERNAL_H
#define CSPARROW_INTERNAL_H
#include "CSparrowKernels.h"
#include <string.h>

typedef struct { uint16_t d; uint8_t qs[16]; } sp_block_q4_0;
typedef struct { uint16_t d; uint16_t m; uint8_t qs[16]; } sp_block_q4_1;
typedef struct { uint16_t d; int8_t qs[32]; } sp_block_q8_0;
typedef struct { uint16_t d; uint16_t s; int8_t qs[32]; } sp_block_q8_1;

_Static_assert(sizeof(sp_block_q4_0) == 18, "Q4_0 block is 18 bytes");
_Static_assert(sizeof(sp_block_q4_1) == 20, "Q4_1 block is 20 bytes");
_Static_assert(sizeof(sp_block_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(sp_block_q8_1) == 36, "Q8_1 block is 36 bytes");

// Formats added for Q4_K_M / Q5_K_M files (layouts match ggml-common.h; see Sources/Runtime/Quantization/).
#define SP_QK_K 256
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } sp_block_q5_0;
typedef struct { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[16]; } sp_block_q5_1;
typedef struct { uint16_t d; uint8_t qs[16]; } sp_block_iq4_nl;
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d; uint16_t dmin; } sp_block_q2_k;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } sp_block_q3_k;
typedef struct { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[128]; } sp_block_q4_k;
typedef struct { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } sp_block_q5_k;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } sp_block_q6_k;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } sp_block_q8_k;

_Static_assert(sizeof(sp_block_q5_0) == 22, "Q5_0 block is 22 bytes");
_Static_assert(sizeof(sp_block_q5_1) == 24, "Q5_1 block is 24 bytes");
_Static_assert(sizeof(sp_block_iq4_nl) == 18, "IQ4_NL block is 18 bytes");
_Static_assert(sizeof(sp_block_q2_k) == 84, "Q2_K block is 84 bytes");
_Static_assert(sizeof(sp_block_q3_k) == 110, "Q3_K block is 110 bytes");
_Static_assert(sizeof(sp_block_q4_k) == 144, "Q4_K block is 144 bytes");
_Static_assert(sizeof(sp_block_q5_k) == 176, "Q5_K block is 176 bytes");
_Static_assert(sizeof(sp_block_q6_k) == 210, "Q6_K block is 210 bytes");
_Static_assert(sizeof(sp_block_q8_k) == 292, "Q8_K block is 292 bytes");

/// The 16 IQ4_NL levels (matches ggml-common.h kvalues_iq4nl).
extern const int8_t sp_iq4nl_values[16];

/// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block (matches ggml-quants.c
/// get_scale_min_k4).
static inline void sp_kquant_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Reference kernels of the formats above (quants_ref.c); each returns 0 for a type it does not know.
size_t sp_quants_row_bytes(int type, int64_t n);
int sp_quants_dequantize_ref(int type, const void *x, float *y, int64_t n);
int sp_quants_vec_dot_ref(int type, const void *w, const void *x, int64_t K, float *out);
/// Q8_K activation rows (matches ggml-quants.c quantize_row_q8_K_ref, bsums zeroed for all-zero blocks).
void sp_quantize_row_q8_k_ref(const float *x, sp_block_q8_k *y, int64_t n);

static inline float sp_bf16_to_f32_1(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/// How far ahead of the rows being multiplied the products prefetch weights, in bytes. Weights of
/// a decoded token are cold (a layer's matrices were evicted long before the next token needs them)
/// and rows are short (360 bytes for Q4_1 K=576), so the hardware prefetcher, which stops at every
/// 4 KiB page, leaves DRAM latency exposed; software prefetch that runs a few pages ahead hides it
/// (measured with kernel-bench, cold Q4_1 576x576: 5 to 9+ GB/s). Hot matrices pay only the
/// prefetch instructions (one per 64 bytes). 8–16 KiB measured best; less leaves latency exposed.
#define SP_PREFETCH_DISTANCE ((size_t)16384)

/// Prefetch state of one pass over consecutive weight rows [base, base + end).
typedef struct {
    const char *base;
    size_t done, end;
} sp_prefetcher;

static inline sp_prefetcher sp_prefetcher_start(const void *W, size_t row_bytes, int64_t r0, int64_t r1) {
    sp_prefetcher p = {(const char *)W + (size_t)r0 * row_bytes, 0, (size_t)(r1 - r0) * row_bytes};
    return p;
}

/// Issues prefetches up to `distance` bytes past byte `position` of the pass (call before each tile).
static inline void sp_prefetch_to(sp_prefetcher *p, size_t position) {
    size_t target = position + SP_PREFETCH_DISTANCE;
    if (target > p->end) target = p->end;
    for (size_t o = p->done; o < target; o += 64) __builtin_prefetch(p->base + o, 0, 3);
    if (target > p->done) p->done = (target + 63) & ~(size_t)63;
}

/// Dot product of one weight row with one activation row, scalar (the reference definition).
float sp_vec_dot_ref(int type, const void *w, const void *x, int64_t K);

#if defined(__x86_64__) || defined(__i386__)
#define SP_X86 1
void sp_matvec_avx2(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                    float *y, int64_t r0, int64_t r1);
void sp_matvec_avx512(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                      float *y, int64_t r0, int64_t r1);
void sp_matmul_avx2(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                    size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1);
void sp_matmul_avx512(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                      size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1);
void sp_quantize_row_avx2(int act_type, const float *x, void *y, int64_t n);
void sp_quantize_row_avx512(int act_type, const float *x, void *y, int64_t n);
void sp_f16_to_f32_avx2(const uint16_t *x, float *y, int64_t n);
void sp_dequantize_row_avx2(int type, const void *x, float *y, int64_t n);
/// Q4_K / Q5_K / Q6_K x Q8_K products (kquants_x86.c): AVX2 (avx512 = 0) or AVX-512 (avx512 = 1).
/// Returns 0 (and does nothing) for other types. N = 1 is a matvec (Y[r], ldy ignored).
int sp_kquants_matmul_x86(int type, int avx512, const void *W, size_t row_bytes, int64_t K,
                          const void *xq, size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy,
                          int64_t r0, int64_t r1);
/// The AVX-512 instantiation of the above (kquants_avx512.c), same contract.
int sp_kquants_matmul_avx512(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                             size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1);
/// Q8_K activation quantization and Q4_K / Q5_K / Q6_K / Q5_0 / IQ4_NL dequantization, bit-identical
/// to the references (the dequantizer returns 0 for other types).
void sp_quantize_row_q8_k_avx2(const float *x, sp_block_q8_k *y, int64_t n);
void sp_quantize_row_q8_k_avx512(const float *x, sp_block_q8_k *y, int64_t n);
int sp_kquants_dequantize_avx2(int type, const void *x, float *y, int64_t n);
/// Q4_0 / Q4_1 / Q8_0 products with the per-block tile of simd_avx2.c: AVX2 (vnni = 0) or AVX-512
/// VNNI (vnni = 1). N = 1 is a matvec (Y[r], ldy ignored).
void sp_blocks_matmul_x86(int type, int vnni, const void *W, size_t row_bytes, int64_t K,
                          const void *xq, size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy,
                          int64_t r0, int64_t r1);
#endif

/// At least `bytes` bytes, 64-byte aligned, owned by the calling thread (scratch.c); NULL if memory
/// runs out. The buffer only grows and is reused by the thread's next call, so kernels that take it
/// must not nest; it is freed when the thread exits.
void *sp_thread_scratch(size_t bytes);

#endif
