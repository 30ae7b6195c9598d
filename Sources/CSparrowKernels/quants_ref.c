// Scalar references of the formats of Q4_K_M / Q5_K_M files: Q5_0, Q5_1, IQ4_NL and the K-quants
// Q2_K … Q6_K with their Q8_K activations. These define the results the fast paths must reproduce.
//
// Dequantization follows ggml-quants.c dequantize_row_* operation by operation (same products, same
// order, no fused multiply-add), so it is bit-identical to ggml and to gguf-py's numpy dequantizers
// (Scripts/make-quant-fixtures.py checks that). Dot products sum exact integer products per block
// (per 256-value super-block for the K-quants) and apply the float scales once per block, as
// ggml-cpu's vec_dot_*_q8_* do; only the order of the float additions is this file's own choice.
#include "internal.h"
#include <math.h>

// Contracting a * b + c into an FMA would change results on targets that have FMA (e.g. arm64).
#pragma STDC FP_CONTRACT OFF

const int8_t sp_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static inline float f16(uint16_t h) { return sp_f16_to_f32_1(h); }

size_t sp_quants_row_bytes(int type, int64_t n) {
    size_t bytes, block;
    switch (type) {
    case SP_TYPE_Q5_0: bytes = sizeof(sp_block_q5_0); block = SP_QK; break;
    case SP_TYPE_Q5_1: bytes = sizeof(sp_block_q5_1); block = SP_QK; break;
    case SP_TYPE_IQ4_NL: bytes = sizeof(sp_block_iq4_nl); block = SP_QK; break;
    case SP_TYPE_Q2_K: bytes = sizeof(sp_block_q2_k); block = SP_QK_K; break;
    case SP_TYPE_Q3_K: bytes = sizeof(sp_block_q3_k); block = SP_QK_K; break;
    case SP_TYPE_Q4_K: bytes = sizeof(sp_block_q4_k); block = SP_QK_K; break;
    case SP_TYPE_Q5_K: bytes = sizeof(sp_block_q5_k); block = SP_QK_K; break;
    case SP_TYPE_Q6_K: bytes = sizeof(sp_block_q6_k); block = SP_QK_K; break;
    case SP_TYPE_Q8_K: bytes = sizeof(sp_block_q8_k); block = SP_QK_K; break;
    default: return 0;
    }
    if (n < 0 || n % (int64_t)block) return 0;
    return (size_t)(n / (int64_t)block) * bytes;
}

// ---- Per-element accessors (quant values and sub-block scales), shared by dequantize and dot ----

/// 5-bit quant e (0..31) of a Q5_0 / Q5_1 block: nibble as Q4_0, fifth bit e of qh.
static inline int q5_quant(const uint8_t *qs, const uint8_t *qh, int e) {
    uint32_t h;
    memcpy(&h, qh, 4);
    const int nib = e < 16 ? (qs[e] & 0x0f) : (qs[e - 16] >> 4);
    return nib | (int)(((h >> e) & 1) << 4);
}

/// Q2_K quant e (0..255): 2 bits, byte 32 * (e / 128) + e % 32, shift 2 * ((e % 128) / 32).
static inline int q2k_quant(const sp_block_q2_k *b, int e) {
    return (b->qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

/// Q3_K quant e: 2 low bits as Q2_K, minus 4 when bit (e / 32) of hmask[e % 32] is clear.
static inline int q3k_quant(const sp_block_q3_k *b, int e) {
    const int lo = (b->qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
    return lo - (((b->hmask[e % 32] >> (e / 32)) & 1) ? 0 : 4);
}

/// Q3_K 6-bit scale s (0..15), minus 32: low 4 bits in scales[s % 8] (high nibble for s >= 8),
/// high 2 bits in scales[8 + s % 4] at bit 2 * (s / 4).
static inline int q3k_scale(const sp_block_q3_k *b, int s) {
    const int lo = s < 8 ? (b->scales[s] & 0x0f) : (b->scales[s - 8] >> 4);
    const int hi = (b->scales[8 + s % 4] >> (2 * (s / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

/// Q4_K quant e: nibble of qs[32 * (e / 64) + e % 32], low for even sub-blocks (e / 32).
static inline int q4k_quant(const uint8_t *qs, int e) {
    const uint8_t byte = qs[32 * (e / 64) + e % 32];
    return (e / 32) % 2 ? byte >> 4 : byte & 0x0f;
}

/// Q5_K quant e: Q4_K nibble plus bit (e / 32) of qh[e % 32] as the fifth bit.
static inline int q5k_quant(const sp_block_q5_k *b, int e) {
    return q4k_quant(b->qs, e) | (((b->qh[e % 32] >> (e / 32)) & 1) << 4);
}

/// Q6_K quant e (before the -32 offset): nibble of ql[64 * h + 32 * (j % 2) + l] (high for j >= 2)
/// and 2 bits of qh[32 * h + l] at 2 * j, with h = e / 128, j = (e % 128) / 32, l = e % 32.
static inline int q6k_quant(const sp_block_q6_k *b, int e) {
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    const uint8_t lo = b->ql[64 * h + 32 * (j % 2) + l];
    const int nib = j >= 2 ? lo >> 4 : lo & 0x0f;
    return nib | (((b->qh[32 * h + l] >> (2 * j)) & 3) << 4);
}

// ---- Dequantization (operation order of ggml-quants.c dequantize_row_*) --------------------------

int sp_quants_dequantize_ref(int type, const void *x, float *y, int64_t n) {
    switch (type) {
    case SP_TYPE_Q5_0: {
        const sp_block_q5_0 *b = x;
        for (int64_t i = 0; i < n / SP_QK; i++) {
            const float d = f16(b[i].d);
            for (int e = 0; e < 32; e++) y[32 * i + e] = (float)(q5_quant(b[i].qs, b[i].qh, e) - 16) * d;
        }
        return 1;
    }
    case SP_TYPE_Q5_1: {
        const sp_block_q5_1 *b = x;
        for (int64_t i = 0; i < n / SP_QK; i++) {
            const float d = f16(b[i].d), m = f16(b[i].m);
            for (int e = 0; e < 32; e++) {
                const float p = (float)q5_quant(b[i].qs, b[i].qh, e) * d;
                y[32 * i + e] = p + m;
            }
        }
        return 1;
    }
    case SP_TYPE_IQ4_NL: {
        const sp_block_iq4_nl *b = x;
        for (int64_t i = 0; i < n / SP_QK; i++) {
            const float d = f16(b[i].d);
            for (int j = 0; j < 16; j++) {
                y[32 * i + j] = d * (float)sp_iq4nl_values[b[i].qs[j] & 0x0f];
                y[32 * i + j + 16] = d * (float)sp_iq4nl_values[b[i].qs[j] >> 4];
            }
        }
        return 1;
    }
    case SP_TYPE_Q2_K: {
        const sp_block_q2_k *b = x;
        for (int64_t i = 0; i < n / SP_QK_K; i++) {
            const float d = f16(b[i].d), dmin = f16(b[i].dmin);
            for (int s = 0; s < 16; s++) {
                const float dl = d * (float)(b[i].scales[s] & 0x0f), ml = dmin * (float)(b[i].scales[s] >> 4);
                for (int e = 16 * s; e < 16 * s + 16; e++) {
                    const float p = dl * (float)q2k_quant(&b[i], e);
                    y[256 * i + e] = p - ml;
                }
            }
        }
        return 1;
    }
    case SP_TYPE_Q3_K: {
        const sp_block_q3_k *b = x;
        for (int64_t i = 0; i < n / SP_QK_K; i++) {
            const float d = f16(b[i].d);
            for (int s = 0; s < 16; s++) {
                const float dl = d * (float)q3k_scale(&b[i], s);
                for (int e = 16 * s; e < 16 * s + 16; e++) y[256 * i + e] = dl * (float)q3k_quant(&b[i], e);
            }
        }
        return 1;
    }
    case SP_TYPE_Q4_K:
    case SP_TYPE_Q5_K: {
        const size_t bs = type == SP_TYPE_Q4_K ? sizeof(sp_block_q4_k) : sizeof(sp_block_q5_k);
        for (int64_t i = 0; i < n / SP_QK_K; i++) {
            const uint8_t *raw = (const uint8_t *)x + (size_t)i * bs;
            const sp_block_q4_k *b4 = (const sp_block_q4_k *)raw;  // d, dmin, scales: same offsets in Q5_K
            const float d = f16(b4->d), dmin = f16(b4->dmin);
            for (int s = 0; s < 8; s++) {
                uint8_t sc, m;
                sp_kquant_scale_min(s, b4->scales, &sc, &m);
                const float dl = d * (float)sc, ml = dmin * (float)m;
                for (int e = 32 * s; e < 32 * s + 32; e++) {
                    const int q = type == SP_TYPE_Q4_K ? q4k_quant(b4->qs, e) : q5k_quant((const sp_block_q5_k *)raw, e);
                    const float p = dl * (float)q;
                    y[256 * i + e] = p - ml;
                }
            }
        }
        return 1;
    }
    case SP_TYPE_Q6_K: {
        const sp_block_q6_k *b = x;
        for (int64_t i = 0; i < n / SP_QK_K; i++) {
            const float d = f16(b[i].d);
            for (int s = 0; s < 16; s++) {
                const float dl = d * (float)b[i].scales[s];
                for (int e = 16 * s; e < 16 * s + 16; e++) y[256 * i + e] = dl * (float)(q6k_quant(&b[i], e) - 32);
            }
        }
        return 1;
    }
    case SP_TYPE_Q8_K: {
        const sp_block_q8_k *b = x;
        for (int64_t i = 0; i < n / SP_QK_K; i++) {
            for (int e = 0; e < 256; e++) y[256 * i + e] = b[i].d * (float)b[i].qs[e];
        }
        return 1;
    }
    default: return 0;
    }
}

// ---- Q8_K activations ---------------------------------------------------------------------------

// Per block of 256: the value of largest magnitude (the first one on ties), scale iscale = -127 / max,
// quants min(127, round_half_even(iscale * x)), d = 1 / iscale, bsums = sums of 16 quants.
void sp_quantize_row_q8_k_ref(const float *x, sp_block_q8_k *y, int64_t n) {
    for (int64_t i = 0; i < n / SP_QK_K; i++) {
        const float *xb = x + i * SP_QK_K;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < SP_QK_K; j++) {
            const float a = fabsf(xb[j]);
            if (a > amax) { amax = a; max = xb[j]; }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(y[i]));  // ggml leaves bsums unset here; zero keeps outputs defined
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < SP_QK_K; j++) {
            const int v = (int)rintf(iscale * xb[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y[i].qs[16 * g + j];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

// ---- Dot products -------------------------------------------------------------------------------

/// One K-quant super-block against one Q8_K block: d_w · d_x · Σ_s scale_s Σ q_w q_x
/// − dmin_w · d_x · Σ_s min_s · (sum of the block's activation quants).
static float kquant_block_dot(int type, const void *wb, const sp_block_q8_k *xb) {
    int32_t isum = 0, msum = 0;
    float d = 0.0f, dmin = 0.0f;
    switch (type) {
    case SP_TYPE_Q2_K: {
        const sp_block_q2_k *b = wb;
        for (int s = 0; s < 16; s++) {
            int32_t t = 0;
            for (int e = 16 * s; e < 16 * s + 16; e++) t += q2k_quant(b, e) * xb->qs[e];
            isum += (b->scales[s] & 0x0f) * t;
            msum += (b->scales[s] >> 4) * xb->bsums[s];
        }
        d = f16(b->d);
        dmin = f16(b->dmin);
        break;
    }
    case SP_TYPE_Q3_K: {
        const sp_block_q3_k *b = wb;
        for (int s = 0; s < 16; s++) {
            int32_t t = 0;
            for (int e = 16 * s; e < 16 * s + 16; e++) t += q3k_quant(b, e) * xb->qs[e];
            isum += q3k_scale(b, s) * t;
        }
        d = f16(b->d);
        break;
    }
    case SP_TYPE_Q4_K:
    case SP_TYPE_Q5_K: {
        const sp_block_q4_k *b4 = wb;
        for (int s = 0; s < 8; s++) {
            uint8_t sc, m;
            sp_kquant_scale_min(s, b4->scales, &sc, &m);
            int32_t t = 0;
            for (int e = 32 * s; e < 32 * s + 32; e++) {
                const int q = type == SP_TYPE_Q4_K ? q4k_quant(b4->qs, e) : q5k_quant(wb, e);
                t += q * xb->qs[e];
            }
            isum += sc * t;
            msum += m * (xb->bsums[2 * s] + xb->bsums[2 * s + 1]);
        }
        d = f16(b4->d);
        dmin = f16(b4->dmin);
        break;
    }
    case SP_TYPE_Q6_K: {
        const sp_block_q6_k *b = wb;
        for (int s = 0; s < 16; s++) {
            int32_t t = 0;
            for (int e = 16 * s; e < 16 * s + 16; e++) t += (q6k_quant(b, e) - 32) * xb->qs[e];
            isum += b->scales[s] * t;
        }
        d = f16(b->d);
        break;
    }
    default: return 0.0f;
    }
    const float dd = d * xb->d, dm = dmin * xb->d;
    const float p = dd * (float)isum, q = dm * (float)msum;
    return p - q;
}

int sp_quants_vec_dot_ref(int type, const void *w, const void *x, int64_t K, float *out) {
    float s = 0.0f;
    switch (type) {
    case SP_TYPE_Q5_0:
    case SP_TYPE_IQ4_NL: {
        const sp_block_q8_0 *xb = x;
        const size_t bs = type == SP_TYPE_Q5_0 ? sizeof(sp_block_q5_0) : sizeof(sp_block_iq4_nl);
        for (int64_t i = 0; i < K / SP_QK; i++) {
            const uint8_t *raw = (const uint8_t *)w + (size_t)i * bs;
            int32_t sum = 0;
            for (int e = 0; e < 32; e++) {
                int q;
                if (type == SP_TYPE_Q5_0) {
                    const sp_block_q5_0 *b = (const sp_block_q5_0 *)raw;
                    q = q5_quant(b->qs, b->qh, e) - 16;
                } else {
                    const sp_block_iq4_nl *b = (const sp_block_iq4_nl *)raw;
                    q = sp_iq4nl_values[e < 16 ? (b->qs[e] & 0x0f) : (b->qs[e - 16] >> 4)];
                }
                sum += q * xb[i].qs[e];
            }
            uint16_t dh;
            memcpy(&dh, raw, 2);
            const float dd = f16(dh) * f16(xb[i].d);
            s += dd * (float)sum;
        }
        break;
    }
    case SP_TYPE_Q5_1: {
        const sp_block_q5_1 *b = w;
        const sp_block_q8_1 *xb = x;
        for (int64_t i = 0; i < K / SP_QK; i++) {
            int32_t sum = 0;
            for (int e = 0; e < 32; e++) sum += q5_quant(b[i].qs, b[i].qh, e) * xb[i].qs[e];
            const float dd = f16(b[i].d) * f16(xb[i].d);
            const float ms = f16(b[i].m) * f16(xb[i].s);
            s += dd * (float)sum;
            s += ms;
        }
        break;
    }
    case SP_TYPE_Q2_K:
    case SP_TYPE_Q3_K:
    case SP_TYPE_Q4_K:
    case SP_TYPE_Q5_K:
    case SP_TYPE_Q6_K: {
        const size_t bs = sp_quants_row_bytes(type, SP_QK_K);
        const sp_block_q8_k *xb = x;
        for (int64_t i = 0; i < K / SP_QK_K; i++) s += kquant_block_dot(type, (const uint8_t *)w + (size_t)i * bs, &xb[i]);
        break;
    }
    default: return 0;
    }
    *out = s;
    return 1;
}
