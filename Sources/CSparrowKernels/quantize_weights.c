// Weight quantizers (float -> ggml blocks) for writing model files, and their exact inverses.
//
// Each quantizer follows llama.cpp's reference ("_ref") algorithm step for step, so that the bytes are
// identical to what llama-quantize writes without an importance matrix (checked against
// libggml-base's quantize_row_*_ref by Tests/RuntimeTests/WeightQuantizerTests.swift). Blocks are packed
// byte by byte at the offsets of ggml-common.h; no block structs are declared here. All f16 fields are
// little-endian IEEE binary16, rounded to nearest even.
//
//   type (ggml id)  bytes/weights  layout
//   Q4_0  (2)       18 / 32        d:f16 @0, qs[16] @2
//   Q4_1  (3)       20 / 32        d:f16 @0, m:f16 @2, qs[16] @4
//   Q5_0  (6)       22 / 32        d:f16 @0, qh[4] @2 (bit j = 5th bit of weight j), qs[16] @6
//   Q5_1  (7)       24 / 32        d:f16 @0, m:f16 @2, qh[4] @4, qs[16] @8
//   Q8_0  (8)       34 / 32        d:f16 @0, qs[32]:i8 @2
//   Q4_K  (12)     144 / 256       d:f16 @0, dmin:f16 @2, scales[12] @4 (8 x 6-bit scale + 6-bit min), qs[128] @16
//   Q5_K  (13)     176 / 256       d:f16 @0, dmin:f16 @2, scales[12] @4, qh[32] @16, qs[128] @48
//   Q6_K  (14)     210 / 256       ql[128] @0, qh[64] @128, scales[16]:i8 @192, d:f16 @208
#include "internal.h"
#include <float.h>
#include <math.h>
#include <string.h>

#define QW_QK 32
#define QW_QK_K 256
#define QW_GROUP_MAX_EPS 1e-15f

static inline int qw_min(int a, int b) { return a < b ? a : b; }
static inline int qw_max(int a, int b) { return a > b ? a : b; }

static inline void qw_put_f16(uint8_t *p, float v) {
    uint16_t h = sp_f32_to_f16_1(v);
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

static inline float qw_get_f16(const uint8_t *p) {
    return sp_f16_to_f32_1((uint16_t)(p[0] | (p[1] << 8)));
}

// Round to nearest (ties to even) through the float-mantissa trick (matches ggml-quants.c nearest_int);
// |v| must be below 2^22.
static inline int qw_nearest_int(float v) {
    float f = v + 12582912.f;
    int32_t i;
    memcpy(&i, &f, 4);
    return (i & 0x007fffff) - 0x00400000;
}

size_t sp_quantized_row_bytes(int type, int64_t columns) {
    switch (type) {
    case SP_TYPE_Q4_0: case SP_TYPE_Q4_1: case SP_TYPE_Q5_0: case SP_TYPE_Q5_1: case SP_TYPE_Q8_0:
    case SP_TYPE_Q4_K: case SP_TYPE_Q5_K: case SP_TYPE_Q6_K:
        return columns > 0 ? sp_row_bytes(type, columns) : 0;
    default:
        return 0;
    }
}

// ---- 32-weight blocks --------------------------------------------------------------------------------

// Symmetric 4- and 5-bit blocks: d = (value of largest magnitude) / -2^(bits-1), quants truncated from
// x/d + 2^(bits-1) + 0.5 (matches ggml-quants.c quantize_row_q4_0_ref and quantize_row_q5_0_ref).
static void qw_block_symmetric(const float *x, uint8_t *y, int bits) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QW_QK; j++) {
        if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
    }
    const float half = (float)(1 << (bits - 1));
    const float d = max / -half;
    const float id = d ? 1.0f / d : 0.0f;
    const int top = (1 << bits) - 1;
    qw_put_f16(y, d);
    uint8_t *qs = bits == 4 ? y + 2 : y + 6;
    uint32_t qh = 0;
    for (int j = 0; j < QW_QK / 2; j++) {
        const uint8_t q0 = (uint8_t)qw_min(top, (int8_t)(x[j] * id + (half + 0.5f)));
        const uint8_t q1 = (uint8_t)qw_min(top, (int8_t)(x[j + 16] * id + (half + 0.5f)));
        qs[j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
        qh |= (uint32_t)((q0 >> 4) & 1) << j;
        qh |= (uint32_t)((q1 >> 4) & 1) << (j + 16);
    }
    if (bits == 5) {
        for (int b = 0; b < 4; b++) y[2 + b] = (uint8_t)(qh >> (8 * b));
    }
}

// Asymmetric 4- and 5-bit blocks: d = (max - min) / (2^bits - 1), m = min, quants truncated from
// (x - min)/d + 0.5 (matches ggml-quants.c quantize_row_q4_1_ref and quantize_row_q5_1_ref; Q4_1 clamps
// to 15, Q5_1 does not clamp).
static void qw_block_affine(const float *x, uint8_t *y, int bits) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < QW_QK; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / (float)((1 << bits) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    qw_put_f16(y, d);
    qw_put_f16(y + 2, min);
    uint8_t *qs = bits == 4 ? y + 4 : y + 8;
    uint32_t qh = 0;
    for (int j = 0; j < QW_QK / 2; j++) {
        uint8_t q0, q1;
        if (bits == 4) {
            q0 = (uint8_t)qw_min(15, (int8_t)((x[j] - min) * id + 0.5f));
            q1 = (uint8_t)qw_min(15, (int8_t)((x[j + 16] - min) * id + 0.5f));
        } else {
            q0 = (uint8_t)((x[j] - min) * id + 0.5f);
            q1 = (uint8_t)((x[j + 16] - min) * id + 0.5f);
        }
        qs[j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
        qh |= (uint32_t)((q0 >> 4) & 1) << j;
        qh |= (uint32_t)((q1 >> 4) & 1) << (j + 16);
    }
    if (bits == 5) {
        for (int b = 0; b < 4; b++) y[4 + b] = (uint8_t)(qh >> (8 * b));
    }
}

// d = absmax / 127, q = roundf(x / d) (matches ggml-quants.c quantize_row_q8_0_ref).
static void qw_block_q8_0(const float *x, uint8_t *y) {
    float amax = 0.0f;
    for (int j = 0; j < QW_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = d ? 1.0f / d : 0.0f;
    qw_put_f16(y, d);
    for (int j = 0; j < QW_QK; j++) y[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
}

// ---- K-quant helpers ---------------------------------------------------------------------------------

// Weighted least-squares scale and min for n values quantized to [0, nmax], searching nstep + 1 candidate
// inverse scales (matches ggml-quants.c make_qkx2_quants with use_mad = false). Returns the scale; *neg_min
// receives -min (min <= 0).
static float qw_scale_min_search(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min,
                                 float rmin, float rdelta, int nstep) {
    uint8_t Laux[32];
    float min = x[0], max = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *neg_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        const int l = qw_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)qw_max(0, qw_min(nmax, l));
        const float diff = scale * L[i] + min - x[i];
        best_error += w[i] * (diff * diff);
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            const int l = qw_max(0, qw_min(nmax, qw_nearest_int(iscale * (x[i] - min))));
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                const float diff = this_scale * Laux[i] + this_min - x[i];
                cur_error += w[i] * (diff * diff);
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *neg_min = -min;
    return scale;
}

// The 6-bit scale and min of sub-block j from the 12 packed bytes (matches ggml-quants.c get_scale_min_k4).
static inline void qw_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Q4_K and Q5_K share everything but the quant width and search range (matches ggml-quants.c
// quantize_row_q4_K_ref and quantize_row_q5_K_ref).
static void qw_superblock_q45_k(const float *x, uint8_t *y, int bits) {
    const int nmax = (1 << bits) - 1;
    uint8_t L[QW_QK_K];
    float mins[8], scales[8], weights[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(xs[l]);
        scales[j] = bits == 4 ? qw_scale_min_search(32, nmax, xs, weights, L + 32 * j, &mins[j], -1.f, 0.1f, 20)
                              : qw_scale_min_search(32, nmax, xs, weights, L + 32 * j, &mins[j], -0.5f, 0.1f, 15);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t *sc = y + 4;
    memset(sc, 0, 12);
    for (int j = 0; j < 8; j++) {
        uint8_t ls = (uint8_t)qw_nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)qw_nearest_int(inv_min * mins[j]);
        if (ls > 63) ls = 63;
        if (lm > 63) lm = 63;
        if (j < 4) {
            sc[j] = ls;
            sc[j + 4] = lm;
        } else {
            sc[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            sc[j - 4] |= (uint8_t)((ls >> 4) << 6);
            sc[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    qw_put_f16(y, max_scale / 63.f);
    qw_put_f16(y + 2, max_min / 63.f);
    const float d_all = qw_get_f16(y), dmin_all = qw_get_f16(y + 2);
    for (int j = 0; j < 8; j++) {
        uint8_t s, m;
        qw_scale_min_k4(j, sc, &s, &m);
        const float d = d_all * s;
        if (!d) continue;
        const float dm = dmin_all * m;
        for (int i = 0; i < 32; i++) {
            const int l = qw_nearest_int((x[32 * j + i] + dm) / d);
            L[32 * j + i] = (uint8_t)qw_max(0, qw_min(nmax, l));
        }
    }
    // Quants in 64-weight chunks: byte l of chunk c holds weight 64c + l (low nibble) and 64c + 32 + l
    // (high nibble); Q5_K's fifth bits go to qh[l], bit 2c for the first and 2c + 1 for the second.
    uint8_t *qh = bits == 5 ? y + 16 : NULL;
    uint8_t *qs = bits == 5 ? y + 48 : y + 16;
    if (qh) memset(qh, 0, 32);
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            const uint8_t a = L[64 * c + l], b = L[64 * c + 32 + l];
            qs[32 * c + l] = (uint8_t)((a & 0xF) | ((b & 0xF) << 4));
            if (qh) qh[l] |= (uint8_t)(((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1)));
        }
    }
}

// Signed quants in [-nmax, nmax - 1] for 16 values with the RMSE-weighted scale search (matches
// ggml-quants.c make_qx_quants with rmse_type = 1 and no importance weights). L receives quant + nmax.
static float qw_symmetric_search(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); max = x[i]; }
    }
    if (amax < QW_GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = qw_max(-nmax, qw_min(nmax - 1, qw_nearest_int(iscale * x[i])));
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            const int l = qw_max(-nmax, qw_min(nmax - 1, qw_nearest_int(iscale * x[i])));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                L[i] = (int8_t)(nmax + qw_max(-nmax, qw_min(nmax - 1, qw_nearest_int(iscale * x[i]))));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// Matches ggml-quants.c quantize_row_q6_K_ref.
static void qw_superblock_q6_k(const float *x, uint8_t *y) {
    int8_t L[QW_QK_K];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ib++) {
        scales[ib] = qw_symmetric_search(16, 32, x + 16 * ib, L + 16 * ib);
        if (fabsf(scales[ib]) > max_abs_scale) {
            max_abs_scale = fabsf(scales[ib]);
            max_scale = scales[ib];
        }
    }
    memset(y, 0, 210);
    if (max_abs_scale < QW_GROUP_MAX_EPS) {
        qw_put_f16(y + 208, 0.f);
        return;
    }
    const float iscale = -128.f / max_scale;
    qw_put_f16(y + 208, 1 / iscale);
    int8_t *sc = (int8_t *)(y + 192);
    for (int ib = 0; ib < 16; ib++) sc[ib] = (int8_t)qw_min(127, qw_nearest_int(iscale * scales[ib]));
    const float d_all = qw_get_f16(y + 208);
    for (int j = 0; j < 16; j++) {
        const float d = d_all * sc[j];
        if (!d) continue;
        for (int i = 0; i < 16; i++) {
            const int l = qw_max(-32, qw_min(31, qw_nearest_int(x[16 * j + i] / d)));
            L[16 * j + i] = (int8_t)(l + 32);
        }
    }
    // Per 128-weight half h: ql[64h + l] = low nibbles of weights l (low) and l + 64 (high),
    // ql[64h + 32 + l] those of l + 32 and l + 96; qh[32h + l] packs their top two bits at shifts 0, 2, 4, 6.
    for (int h = 0; h < 2; h++) {
        const int8_t *Lh = L + 128 * h;
        uint8_t *ql = y + 64 * h, *qh = y + 128 + 32 * h;
        for (int l = 0; l < 32; l++) {
            const uint8_t q1 = (uint8_t)Lh[l], q2 = (uint8_t)Lh[l + 32], q3 = (uint8_t)Lh[l + 64], q4 = (uint8_t)Lh[l + 96];
            ql[l] = (uint8_t)((q1 & 0xF) | ((q3 & 0xF) << 4));
            ql[l + 32] = (uint8_t)((q2 & 0xF) | ((q4 & 0xF) << 4));
            qh[l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
        }
    }
}

// ---- Entry points ------------------------------------------------------------------------------------

size_t sp_quantize_weights_ref(int type, const float *x, void *y, int64_t rows, int64_t columns) {
    const size_t row_bytes = sp_quantized_row_bytes(type, columns);
    if (row_bytes == 0 || rows < 0) return 0;
    const int block = type == SP_TYPE_Q4_K || type == SP_TYPE_Q5_K || type == SP_TYPE_Q6_K ? QW_QK_K : QW_QK;
    const size_t block_bytes = row_bytes / (size_t)(columns / block);
    uint8_t *out = (uint8_t *)y;
    const int64_t blocks = rows * (columns / block);
    for (int64_t b = 0; b < blocks; b++) {
        const float *xb = x + b * block;
        uint8_t *yb = out + (size_t)b * block_bytes;
        switch (type) {
        case SP_TYPE_Q4_0: qw_block_symmetric(xb, yb, 4); break;
        case SP_TYPE_Q5_0: qw_block_symmetric(xb, yb, 5); break;
        case SP_TYPE_Q4_1: qw_block_affine(xb, yb, 4); break;
        case SP_TYPE_Q5_1: qw_block_affine(xb, yb, 5); break;
        case SP_TYPE_Q8_0: qw_block_q8_0(xb, yb); break;
        case SP_TYPE_Q4_K: qw_superblock_q45_k(xb, yb, 4); break;
        case SP_TYPE_Q5_K: qw_superblock_q45_k(xb, yb, 5); break;
        case SP_TYPE_Q6_K: qw_superblock_q6_k(xb, yb); break;
        }
    }
    return row_bytes * (size_t)rows;
}
