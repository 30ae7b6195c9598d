// CSparrowKernels: the hot loops of Sparrow's runtime in C.
//
// Every fast kernel has a portable scalar twin (suffix _ref) that defines its result; the dispatching
// entry points pick AVX-512/VNNI, AVX2 or scalar once, at run time, from cpuid. Nothing here is
// compiled with ISA flags for the whole target: ISA-specific functions carry their own
// __attribute__((target(...))), so one binary runs on any x86-64 (and other architectures get scalar).
#ifndef CSPARROW_KERNELS_H
#define CSPARROW_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- Instruction-set dispatch -------------------------------------------------------------------

typedef enum {
    SP_ISA_SCALAR = 0,
    SP_ISA_AVX2 = 1,      // AVX2 + FMA + F16C
    SP_ISA_AVX512 = 2,    // AVX-512 F/BW/VL (+ VNNI when present)
} sp_isa;

/// The best instruction set this CPU and OS support.
sp_isa sp_detected_isa(void);
/// True when the CPU has AVX-512 VNNI (vpdpbusd).
int sp_has_avx512_vnni(void);
/// The instruction set the dispatching kernels use now (defaults to sp_detected_isa()).
sp_isa sp_active_isa(void);
/// Caps the instruction set the dispatching kernels use on the calling thread (tests and benchmarks
/// that call kernels directly); values above the detected one are clamped. Other threads, including
/// thread-pool workers, keep the detected instruction set.
void sp_set_isa(sp_isa isa);

// ---- Tensor types (numbering matches ggml's `enum ggml_type`) ----------------------------------

enum {
    SP_TYPE_F32 = 0,
    SP_TYPE_F16 = 1,
    SP_TYPE_Q4_0 = 2,
    SP_TYPE_Q4_1 = 3,
    SP_TYPE_Q5_0 = 6,
    SP_TYPE_Q5_1 = 7,
    SP_TYPE_Q8_0 = 8,
    SP_TYPE_Q8_1 = 9,
    SP_TYPE_Q2_K = 10,
    SP_TYPE_Q3_K = 11,
    SP_TYPE_Q4_K = 12,
    SP_TYPE_Q5_K = 13,
    SP_TYPE_Q6_K = 14,
    SP_TYPE_Q8_K = 15,
    SP_TYPE_IQ4_NL = 20,
    SP_TYPE_BF16 = 30,
};

// Block layouts (matches ggml-common.h). All scales are IEEE binary16 stored little-endian.
//   Q4_0: { f16 d; u8 qs[16]; }           18 bytes / 32 weights; w = d * ((nibble) - 8);
//         element j<16 is the low nibble of qs[j], element j+16 its high nibble.
//   Q4_1: { f16 d; f16 m; u8 qs[16]; }    20 bytes / 32 weights; w = d * nibble + m; nibble order as Q4_0.
//   Q8_0: { f16 d; i8 qs[32]; }           34 bytes / 32 weights; w = d * q.
//   Q8_1: { f16 d; f16 s; i8 qs[32]; }    36 bytes / 32 values;  v = d * q, s = d * sum(q)
//         (activation format paired with Q4_1).
//   Q5_0, Q5_1, IQ4_NL: 32-weight blocks; Q2_K … Q6_K: 256-weight super-blocks; Q8_K: 256-value
//         activation blocks { f32 d; i8 qs[256]; i16 bsums[16]; } paired with the K-quants.
//         Byte layouts: Sources/Runtime/Quantization/<Type>.swift.
#define SP_QK 32
#define SP_QK_SUPER 256

/// Bytes of one row of n elements of `type` (0 for unknown types, or when n is not a whole number of
/// blocks: 32 for Q4_0 … Q8_1 and IQ4_NL, 256 for Q2_K … Q8_K).
size_t sp_row_bytes(int type, int64_t n);
/// The format activations must be converted to before sp_matvec / sp_matmul with weights of `type`
/// (as llama.cpp pairs them): SP_TYPE_Q8_0 for Q4_0, Q5_0, Q8_0 and IQ4_NL, SP_TYPE_Q8_1 for Q4_1 and
/// Q5_1, SP_TYPE_Q8_K for Q2_K … Q6_K, SP_TYPE_F32 for F32, F16 and BF16.
int sp_vec_dot_type(int type);

// ---- Conversions ---------------------------------------------------------------------------------

float sp_f16_to_f32_1(uint16_t h);
uint16_t sp_f32_to_f16_1(float f);     // round to nearest even
void sp_f16_to_f32(const uint16_t *x, float *y, int64_t n);
void sp_f32_to_f16(const float *x, uint16_t *y, int64_t n);
void sp_bf16_to_f32(const uint16_t *x, float *y, int64_t n);

/// Dequantizes n elements (a multiple of the block size) of a row of `type` to float.
void sp_dequantize_row(int type, const void *x, float *y, int64_t n);
void sp_dequantize_row_ref(int type, const void *x, float *y, int64_t n);

/// Converts n floats to the activation format `act_type` (SP_TYPE_F32, SP_TYPE_Q8_0, SP_TYPE_Q8_1 or
/// SP_TYPE_Q8_K); for F32 this is a copy.
void sp_quantize_row(int act_type, const float *x, void *y, int64_t n);
void sp_quantize_row_ref(int act_type, const float *x, void *y, int64_t n);

// ---- Products ------------------------------------------------------------------------------------

/// y[r - r0] = dot(W[r, :], x) for rows r in [r0, r1).
/// W: weight rows of `type`, row r at (char*)W + r * row_bytes, each K elements.
/// xq: the activation vector already converted with sp_quantize_row(sp_vec_dot_type(type), ...).
void sp_matvec(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
               float *y, int64_t r0, int64_t r1);
void sp_matvec_ref(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                   float *y, int64_t r0, int64_t r1);

/// Y[n * ldy + r] = dot(W[r, :], X[n, :]) for n in [0, N), r in [r0, r1).
/// X: N activation rows converted as for sp_matvec, row n at (char*)xq + n * xq_row_bytes.
void sp_matmul(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
               size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1);
void sp_matmul_ref(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                   size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1);

// ---- Activations ---------------------------------------------------------------------------------

/// SwiGLU in place: gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g). The fast paths use a
/// vector exp within a few ulp of expf (see activations.c); the reference uses expf.
void sp_swiglu(float *gate, const float *up, int64_t n);
void sp_swiglu_ref(float *gate, const float *up, int64_t n);
/// GeGLU in place: gate[i] = gelu(gate[i]) * up[i] with the tanh GELU, rounded through half precision
/// as llama.cpp's CPU backend does (see activations.c); the fast path is a table lookup, bit-identical
/// to the reference.
void sp_geglu(float *gate, const float *up, int64_t n);
void sp_geglu_ref(float *gate, const float *up, int64_t n);

// ---- Attention -----------------------------------------------------------------------------------

/// One attention head over an F16 KV cache: scores[p] = scale * dot(q, K[p]) for p < length,
/// softmax, out = sum_p softmax[p] * V[p]. K[p] = k + p * k_stride (uint16 units), likewise V.
/// q and out: D floats; scores: scratch of `length` floats.
void sp_attention_head_f16(const float *q, const uint16_t *k, size_t k_stride, const uint16_t *v,
                           size_t v_stride, int64_t length, int64_t D, float scale, float *scores, float *out);
void sp_attention_head_f16_ref(const float *q, const uint16_t *k, size_t k_stride, const uint16_t *v,
                               size_t v_stride, int64_t length, int64_t D, float scale, float *scores, float *out);

/// Causal attention for queries that share KV head `kv_head` (grouped-query attention), for a prompt
/// batch. q and out: [tokens, heads, D]; flattened query index i is token i / group and head
/// kv_head · group + i % group; this call computes indices [first_query, first_query + n_queries).
/// Token t sits at position first_position + t and attends to positions 0…first_position + t of the
/// F16 cache rows k / v (position p of KV head h at k + p · kv_stride + h · D) — with window > 0 only
/// to the last `window` of them (sliding-window layers; matches llama.cpp's standard SWA mask). scratch: at least
/// sp_attention_gqa_scratch_floats(D, first_position + tokens) floats. The fast path keeps 16 queries
/// on vector lanes with an online softmax; the reference runs sp_attention_head_f16_ref per query.
size_t sp_attention_gqa_scratch_floats(int64_t D, int64_t max_length);
void sp_attention_gqa_f16(const float *q, float *out, int64_t heads, int64_t group, int64_t kv_head,
                          int64_t first_query, int64_t n_queries, int64_t first_position, int64_t window,
                          const uint16_t *k, const uint16_t *v, size_t kv_stride, int64_t D, float scale,
                          float *scratch);
void sp_attention_gqa_f16_ref(const float *q, float *out, int64_t heads, int64_t group, int64_t kv_head,
                              int64_t first_query, int64_t n_queries, int64_t first_position, int64_t window,
                              const uint16_t *k, const uint16_t *v, size_t kv_stride, int64_t D, float scale,
                              float *scratch);

// ---- Thread pool ---------------------------------------------------------------------------------

/// A persistent pool of worker threads. The calling thread takes part as thread 0, so a pool of
/// n threads starts n - 1 workers. Workers spin briefly between tasks, then sleep.
typedef struct sp_pool sp_pool;
typedef void (*sp_task_fn)(void *ctx, int ith, int nth);

sp_pool *sp_pool_create(int nthreads);
void sp_pool_destroy(sp_pool *pool);
int sp_pool_size(const sp_pool *pool);
/// Runs fn(ctx, i, n) for i in [0, n) on the pool's n threads and returns when all have finished.
/// Must not be called from inside a task, nor from two threads at once.
void sp_pool_run(sp_pool *pool, sp_task_fn fn, void *ctx);
/// Dynamic work sharing inside a task: before sp_pool_run, the caller resets the pool's counter;
/// inside the task each thread claims [start, start + chunk) until start passes the end, so faster
/// threads take more chunks and no thread waits for a slow one's fixed share.
void sp_pool_reset_claims(sp_pool *pool);
int64_t sp_pool_claim(sp_pool *pool, int64_t chunk);
/// Dispatches so far, and the nanoseconds the calling thread spent waiting for workers after
/// finishing its own share (load imbalance plus wake-up latency: the cost of synchronisation).
uint64_t sp_pool_dispatch_count(const sp_pool *pool);
uint64_t sp_pool_wait_nanoseconds(const sp_pool *pool);

/// Process-wide malloc setting for programs that allocate and free many large buffers (diffusion's
/// 100+ MB feature maps): large blocks come from the heap instead of fresh mmaps and freed memory is
/// kept for reuse, so each new buffer does not page-fault its memory in again. Call once, early, from
/// the program (not a library) — it never returns memory to the system.
void sp_keep_freed_memory(void);

// ---- Memory bandwidth ------------------------------------------------------------------------

/// Reads every byte of `buffer` (32-byte aligned for the vector path) and returns a checksum, so the
/// loads cannot be optimised away. Used to measure memory read bandwidth.
uint64_t sp_stream_read(const void *buffer, size_t bytes);

// ---- Hashing -------------------------------------------------------------------------------------

typedef struct {
    uint32_t state[8];
    uint64_t length;
    uint8_t buffer[64];
    size_t buffered;
} sp_sha256_ctx;

void sp_sha256_init(sp_sha256_ctx *ctx);
void sp_sha256_update(sp_sha256_ctx *ctx, const void *data, size_t n);
void sp_sha256_final(sp_sha256_ctx *ctx, uint8_t digest[32]);

// ---- Weight quantizers (model files) -------------------------------------------------------------

/// Bytes of one row of `columns` weights in weight-file type `type` (ggml numbering: Q4_0 = 2, Q4_1 = 3,
/// Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q4_K = 12, Q5_K = 13, Q6_K = 14), or 0 when the type is not one of these
/// or `columns` is not a positive multiple of its block size (32, or 256 for the K types).
size_t sp_quantized_row_bytes(int type, int64_t columns);
/// Quantizes `rows` rows of `columns` floats (x: [rows, columns]) into y, bit-identical to llama.cpp's
/// quantize_row_*_ref without an importance matrix; block layouts in quantize_weights.c. Returns the bytes
/// written, rows * sp_quantized_row_bytes(type, columns), or 0 (nothing written) for an unsupported
/// type or row length.
size_t sp_quantize_weights_ref(int type, const float *x, void *y, int64_t rows, int64_t columns);

// ---- Image kernels (vision): convolutions in conv.h, other NHWC ops in image_ops.h ----------
#include "conv.h"
#include "image_ops.h"
// ---- Diffusion kernels: group/layer norm, tiled attention, activations (NHWC / token-major) ----
#include "diffusion_ops.h"

#ifdef __cplusplus
}
#endif
#endif
