// Scalar reference kernels: these define the results the fast paths must reproduce.
#include "internal.h"
#include <math.h>

float sp_f16_to_f32_1(uint16_t h) {
    // IEEE binary16 -> binary32, exact for every input (normals, subnormals, inf, NaN).
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t u;
    if (exp == 0) {
        if (mant == 0) {
            u = sign;
        } else {
            // Subnormal: normalise the mantissa.
            int e = -1;
            do { mant <<= 1; e++; } while ((mant & 0x400) == 0);
            mant &= 0x3ff;
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        // Inf, or NaN made quiet (payload kept) as F16C's vcvtph2ps and ARM's fcvt do.
        u = sign | 0x7f800000u | (mant << 13) | (mant ? 0x00400000u : 0);
    } else {
        u = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t sp_f32_to_f16_1(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) {  // inf or NaN
        return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    }
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);  // rounds to inf
    if (absx < 0x38800000u) {  // result is subnormal or zero
        if (absx < 0x33000000u) return (uint16_t)sign;
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;  // 14 + (113 - e)
        // round to nearest even on the bits shifted out
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        uint32_t q = m >> shift;
        if (rem > mid || (rem == mid && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t e = (absx >> 23) - 112;
    uint32_t m = absx & 0x7fffff;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

size_t sp_row_bytes(int type, int64_t n) {
    if (n < 0) return 0;
    switch (type) {
    case SP_TYPE_F32: return (size_t)n * 4;
    case SP_TYPE_F16: return (size_t)n * 2;
    case SP_TYPE_BF16: return (size_t)n * 2;
    case SP_TYPE_Q4_0: return (n % SP_QK) ? 0 : (size_t)(n / SP_QK) * sizeof(sp_block_q4_0);
    case SP_TYPE_Q4_1: return (n % SP_QK) ? 0 : (size_t)(n / SP_QK) * sizeof(sp_block_q4_1);
    case SP_TYPE_Q8_0: return (n % SP_QK) ? 0 : (size_t)(n / SP_QK) * sizeof(sp_block_q8_0);
    case SP_TYPE_Q8_1: return (n % SP_QK) ? 0 : (size_t)(n / SP_QK) * sizeof(sp_block_q8_1);
    default: return sp_quants_row_bytes(type, n);
    }
}

int sp_vec_dot_type(int type) {
    switch (type) {
    case SP_TYPE_Q4_0: return SP_TYPE_Q8_0;
    case SP_TYPE_Q8_0: return SP_TYPE_Q8_0;
    case SP_TYPE_Q4_1: return SP_TYPE_Q8_1;
    case SP_TYPE_Q5_0: return SP_TYPE_Q8_0;
    case SP_TYPE_IQ4_NL: return SP_TYPE_Q8_0;
    case SP_TYPE_Q5_1: return SP_TYPE_Q8_1;
    case SP_TYPE_Q2_K:
    case SP_TYPE_Q3_K:
    case SP_TYPE_Q4_K:
    case SP_TYPE_Q5_K:
    case SP_TYPE_Q6_K: return SP_TYPE_Q8_K;
    default: return SP_TYPE_F32;
    }
}

void sp_bf16_to_f32(const uint16_t *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = sp_bf16_to_f32_1(x[i]);
}

void sp_dequantize_row_ref(int type, const void *x, float *y, int64_t n) {
    switch (type) {
    case SP_TYPE_F32: memcpy(y, x, (size_t)n * 4); break;
    case SP_TYPE_F16: {
        const uint16_t *h = x;
        for (int64_t i = 0; i < n; i++) y[i] = sp_f16_to_f32_1(h[i]);
        break;
    }
    case SP_TYPE_BF16: sp_bf16_to_f32(x, y, n); break;
    case SP_TYPE_Q4_0: {
        const sp_block_q4_0 *b = x;
        for (int64_t i = 0; i < n / SP_QK; i++) {
            float d = sp_f16_to_f32_1(b[i].d);
            for (int j = 0; j < 16; j++) {
                y[i * 32 + j] = d * (float)((b[i].qs[j] & 0x0f) - 8);
                y[i * 32 + j + 16] = d * (float)((b[i].qs[j] >> 4) - 8);
            }
        }
        break;
    }
    case SP_TYPE_Q4_1: {
        const sp_block_q4_1 *b = x;
        for (int64_t i = 0; i < n / SP_QK; i++) {
            float d = sp_f16_to_f32_1(b[i].d), m = sp_f16_to_f32_1(b[i].m);
            for (int j = 0; j < 16; j++) {
                y[i * 32 + j] = d * (float)(b[i].qs[j] & 0x0f) + m;
                y[i * 32 + j + 16] = d * (float)(b[i].qs[j] >> 4) + m;
            }
        }
        break;
    }
    case SP_TYPE_Q8_0: {
        const sp_block_q8_0 *b = x;
        for (int64_t i = 0; i < n / SP_QK; i++) {
            float d = sp_f16_to_f32_1(b[i].d);
            for (int j = 0; j < 32; j++) y[i * 32 + j] = d * (float)b[i].qs[j];
        }
        break;
    }
    case SP_TYPE_Q8_1: {
        const sp_block_q8_1 *b = x;
        for (int64_t i = 0; i < n / SP_QK; i++) {
            float d = sp_f16_to_f32_1(b[i].d);
            for (int j = 0; j < 32; j++) y[i * 32 + j] = d * (float)b[i].qs[j];
        }
        break;
    }
    default: sp_quants_dequantize_ref(type, x, y, n); break;
    }
}

// Activation quantization, matching what llama.cpp computes on x86 (ggml-cpu's AVX2 quantize_row_q8_0 /
// q8_1): scale d = amax / 127 stored as f16, values x * (127 / amax) rounded half to even, and for Q8_1
// s = d * sum(q).
void sp_quantize_row_ref(int act_type, const float *x, void *y, int64_t n) {
    if (act_type == SP_TYPE_F32) {
        memcpy(y, x, (size_t)n * 4);
        return;
    }
    if (act_type == SP_TYPE_Q8_K) {
        sp_quantize_row_q8_k_ref(x, y, n);
        return;
    }
    for (int64_t i = 0; i < n / SP_QK; i++) {
        const float *xb = x + i * SP_QK;
        float amax = 0.0f;
        for (int j = 0; j < SP_QK; j++) {
            float a = fabsf(xb[j]);
            if (a > amax) amax = a;
        }
        float d = amax / 127.0f;
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int8_t *qs;
        if (act_type == SP_TYPE_Q8_0) {
            sp_block_q8_0 *b = (sp_block_q8_0 *)y + i;
            b->d = sp_f32_to_f16_1(d);
            qs = b->qs;
            for (int j = 0; j < SP_QK; j++) qs[j] = (int8_t)rintf(xb[j] * id);
        } else {
            sp_block_q8_1 *b = (sp_block_q8_1 *)y + i;
            b->d = sp_f32_to_f16_1(d);
            qs = b->qs;
            int sum = 0;
            for (int j = 0; j < SP_QK; j++) {
                qs[j] = (int8_t)rintf(xb[j] * id);
                sum += qs[j];
            }
            b->s = sp_f32_to_f16_1((float)sum * d);
        }
    }
}

float sp_vec_dot_ref(int type, const void *w, const void *x, int64_t K) {
    switch (type) {
    case SP_TYPE_F32: {
        const float *a = w, *b = x;
        float s = 0;
        for (int64_t i = 0; i < K; i++) s += a[i] * b[i];
        return s;
    }
    case SP_TYPE_F16: {
        const uint16_t *a = w;
        const float *b = x;
        float s = 0;
        for (int64_t i = 0; i < K; i++) s += sp_f16_to_f32_1(a[i]) * b[i];
        return s;
    }
    case SP_TYPE_BF16: {
        const uint16_t *a = w;
        const float *b = x;
        float s = 0;
        for (int64_t i = 0; i < K; i++) s += sp_bf16_to_f32_1(a[i]) * b[i];
        return s;
    }
    case SP_TYPE_Q4_0: {
        const sp_block_q4_0 *a = w;
        const sp_block_q8_0 *b = x;
        float s = 0;
        for (int64_t i = 0; i < K / SP_QK; i++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) {
                sum += ((a[i].qs[j] & 0x0f) - 8) * b[i].qs[j];
                sum += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
            }
            s += sp_f16_to_f32_1(a[i].d) * sp_f16_to_f32_1(b[i].d) * (float)sum;
        }
        return s;
    }
    case SP_TYPE_Q4_1: {
        const sp_block_q4_1 *a = w;
        const sp_block_q8_1 *b = x;
        float s = 0;
        for (int64_t i = 0; i < K / SP_QK; i++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) {
                sum += (a[i].qs[j] & 0x0f) * b[i].qs[j];
                sum += (a[i].qs[j] >> 4) * b[i].qs[j + 16];
            }
            s += sp_f16_to_f32_1(a[i].d) * sp_f16_to_f32_1(b[i].d) * (float)sum
               + sp_f16_to_f32_1(a[i].m) * sp_f16_to_f32_1(b[i].s);
        }
        return s;
    }
    case SP_TYPE_Q8_0: {
        const sp_block_q8_0 *a = w;
        const sp_block_q8_0 *b = x;
        float s = 0;
        for (int64_t i = 0; i < K / SP_QK; i++) {
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += a[i].qs[j] * b[i].qs[j];
            s += sp_f16_to_f32_1(a[i].d) * sp_f16_to_f32_1(b[i].d) * (float)sum;
        }
        return s;
    }
    default: {
        float s = 0.0f;
        sp_quants_vec_dot_ref(type, w, x, K, &s);
        return s;
    }
    }
}

void sp_matvec_ref(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                   float *y, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
        y[r - r0] = sp_vec_dot_ref(type, (const char *)W + (size_t)r * row_bytes, xq, K);
    }
}

void sp_matmul_ref(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                   size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    for (int64_t n = 0; n < N; n++) {
        const void *x = (const char *)xq + (size_t)n * xq_row_bytes;
        for (int64_t r = r0; r < r1; r++) {
            Y[n * ldy + r] = sp_vec_dot_ref(type, (const char *)W + (size_t)r * row_bytes, x, K);
        }
    }
}
