// Diffusion kernels: portable (scalar) versions, the `_ref` activations, the tiled-attention driver
// and the entry points that dispatch on sp_active_isa(). AVX-512 versions: diffusion_ops_avx512.c.
// AVX2-only CPUs run the portable code (which the compiler vectorises for SSE).
#include "diffusion_internal.h"
#include <float.h>
#include <math.h>

#ifdef SP_X86
#define SP_USE_AVX512() (sp_active_isa() == SP_ISA_AVX512)
#else
#define SP_USE_AVX512() 0
#endif

// ---- Group norm and layer norm ---------------------------------------------------------------------

static void sp_channel_moments_scalar(const float *x, int64_t p0, int64_t p1, int64_t C, const float *shift,
                                      double *sum, double *sumsq) {
    for (int64_t b = p0; b < p1; b += 64) {
        const int64_t e = b + 64 < p1 ? b + 64 : p1;
        for (int64_t c = 0; c < C; c++) {
            float s1 = 0, s2 = 0;
            for (int64_t p = b; p < e; p++) {
                const float d = x[p * C + c] - shift[c];
                s1 += d;
                s2 += d * d;
            }
            sum[c] += s1;
            sumsq[c] += s2;
        }
    }
}

void sp_channel_moments(const float *x, int64_t p0, int64_t p1, int64_t channels, const float *shift,
                        double *sum, double *sumsq) {
    if (p1 <= p0 || channels <= 0) return;
#ifdef SP_X86
    if (SP_USE_AVX512()) { sp_channel_moments_avx512(x, p0, p1, channels, shift, sum, sumsq); return; }
#endif
    sp_channel_moments_scalar(x, p0, p1, channels, shift, sum, sumsq);
}

void sp_channel_affine(const float *x, int64_t p0, int64_t p1, int64_t channels, const float *center,
                       const float *scale, const float *offset, int silu, float *y) {
    if (p1 <= p0 || channels <= 0) return;
#ifdef SP_X86
    if (SP_USE_AVX512()) { sp_channel_affine_avx512(x, p0, p1, channels, center, scale, offset, silu, y); return; }
#endif
    for (int64_t p = p0; p < p1; p++) {
        for (int64_t c = 0; c < channels; c++) {
            float r = fmaf(x[p * channels + c] - center[c], scale[c], offset[c]);
            if (silu) r = r / (1.0f + expf(-r));
            y[p * channels + c] = r;
        }
    }
}

void sp_layer_norm_rows(const float *x, int64_t r0, int64_t r1, int64_t channels, float eps,
                        const float *gamma, const float *beta, float *y) {
    if (r1 <= r0 || channels <= 0) return;
#ifdef SP_X86
    if (SP_USE_AVX512()) { sp_layer_norm_rows_avx512(x, r0, r1, channels, eps, gamma, beta, y); return; }
#endif
    const int64_t C = channels;
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        float s = 0;
        for (int64_t c = 0; c < C; c++) s += xr[c];
        const float mean = s / (float)C;
        float ss = 0;
        for (int64_t c = 0; c < C; c++) ss += (xr[c] - mean) * (xr[c] - mean);
        const float rstd = 1.0f / sqrtf(ss / (float)C + eps);
        for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - mean) * rstd * gamma[c] + beta[c];
    }
}

// ---- Tiled attention: portable pieces ---------------------------------------------------------------

static void sp_flash_scores_scalar(const float *k, int64_t ks, int64_t nk, const float *qt, int64_t D, float *st,
                                   float *colmax) {
    (void)colmax;  // the portable softmax takes its own column max
    for (int64_t j = 0; j < nk; j++) {
        float *s = st + j * SP_FQ;
        for (int64_t i = 0; i < SP_FQ; i++) s[i] = 0;
        for (int64_t d = 0; d < D; d++) {
            const float kd = k[j * ks + d];
            const float *q = qt + d * SP_FQ;
            for (int64_t i = 0; i < SP_FQ; i++) s[i] += kd * q[i];
        }
    }
}

static void sp_flash_softmax_scalar(float *st, int64_t nk, int causal, int64_t i0, int64_t j0, const float *colmax,
                                    float *m, float *l, float *alpha) {
    (void)colmax;
    for (int64_t i = 0; i < SP_FQ; i++) {
        // Keys j < visible are unmasked for this query.
        int64_t visible = nk;
        if (causal) {
            const int64_t v = i0 + i - j0 + 1;
            visible = v < 0 ? 0 : v < nk ? v : nk;
        }
        float mx = m[i];
        for (int64_t j = 0; j < visible; j++) mx = st[j * SP_FQ + i] > mx ? st[j * SP_FQ + i] : mx;
        const float a = expf(m[i] - mx);
        float sum = 0;
        for (int64_t j = 0; j < nk; j++) {
            const float p = j < visible ? expf(st[j * SP_FQ + i] - mx) : 0.0f;
            st[j * SP_FQ + i] = p;
            sum += p;
        }
        alpha[i] = a;
        l[i] = l[i] * a + sum;
        m[i] = mx;
    }
}

static void sp_flash_accumulate_scalar(const float *st, int64_t nk, const float *v, int64_t vs, int64_t D,
                                       const float *alpha, float *ot) {
    for (int64_t d = 0; d < D; d++) {
        float *o = ot + d * SP_FQ;
        for (int64_t i = 0; i < SP_FQ; i++) o[i] *= alpha[i];
        for (int64_t j = 0; j < nk; j++) {
            const float vd = v[j * vs + d];
            const float *p = st + j * SP_FQ;
            for (int64_t i = 0; i < SP_FQ; i++) o[i] += vd * p[i];
        }
    }
}

static const sp_flash_kernels sp_flash_kernels_scalar = {
    sp_flash_scores_scalar, sp_flash_softmax_scalar, sp_flash_accumulate_scalar,
};

// ---- Tiled attention: driver ----------------------------------------------------------------------------

size_t sp_flash_attention_scratch_floats(int64_t D) {
    // qt and ot ([D][QT] each), st ([KT][QT]), m, l, alpha, colmax ([QT] each).
    return (size_t)(2 * D * SP_FQ + SP_FLASH_KEY_TILE * SP_FQ + 4 * SP_FQ);
}

void sp_flash_attention(const float *q, int64_t q_stride, const float *k, int64_t k_stride, const float *v,
                        int64_t v_stride, float *out, int64_t out_stride, int64_t keys, int64_t D, float scale,
                        int causal, int64_t q0, int64_t q1, float *scratch) {
    const int64_t rows = q1 - q0;
    if (rows <= 0 || D <= 0) return;
    const sp_flash_kernels *kern = &sp_flash_kernels_scalar;
#ifdef SP_X86
    if (SP_USE_AVX512()) kern = &sp_flash_kernels_avx512;
#endif
    float *qt = scratch, *ot = qt + D * SP_FQ, *st = ot + D * SP_FQ;
    float *m = st + SP_FLASH_KEY_TILE * SP_FQ, *l = m + SP_FQ, *alpha = l + SP_FQ;
    float *colmax = causal ? NULL : alpha + SP_FQ;
    for (int64_t d = 0; d < D; d++) {
        for (int64_t i = 0; i < SP_FQ; i++) qt[d * SP_FQ + i] = i < rows ? q[(q0 + i) * q_stride + d] * scale : 0.0f;
    }
    memset(ot, 0, sizeof(float) * (size_t)(D * SP_FQ));
    for (int64_t i = 0; i < SP_FQ; i++) {
        m[i] = -FLT_MAX;  // finite, so e^(m − m_new) is never e^(−∞ + ∞)
        l[i] = 0;
    }
    // With a causal mask no query of this tile sees keys at or past q1.
    const int64_t end = causal && q1 < keys ? q1 : keys;
    for (int64_t j0 = 0; j0 < end; j0 += SP_FLASH_KEY_TILE) {
        const int64_t nk = end - j0 < SP_FLASH_KEY_TILE ? end - j0 : SP_FLASH_KEY_TILE;
        kern->scores(k + j0 * k_stride, k_stride, nk, qt, D, st, colmax);
        kern->softmax(st, nk, causal, q0, j0, colmax, m, l, alpha);
        kern->accumulate(st, nk, v + j0 * v_stride, v_stride, D, alpha, ot);
    }
    for (int64_t i = 0; i < rows; i++) {
        const float inv = l[i] > 0 ? 1.0f / l[i] : 0.0f;
        float *o = out + (q0 + i) * out_stride;
        for (int64_t d = 0; d < D; d++) o[d] = ot[d * SP_FQ + i] * inv;
    }
}

// ---- Activations ------------------------------------------------------------------------------------

#define SP_SQRT1_2 0.70710678118654752440

void sp_gelu_erf_ref(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)(0.5 * (double)x[i] * erfc(-(double)x[i] * SP_SQRT1_2));
}

void sp_geglu_erf_ref(const float *gate, const float *up, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const double g = (double)gate[i];
        out[i] = (float)((double)up[i] * (0.5 * g * erfc(-g * SP_SQRT1_2)));
    }
}

void sp_quick_gelu_ref(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)((double)x[i] / (1.0 + exp(-1.702 * (double)x[i])));
}

void sp_silu_ref(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)((double)x[i] / (1.0 + exp(-(double)x[i])));
}

void sp_gelu_erf(const float *x, float *y, int64_t n) {
#ifdef SP_X86
    if (SP_USE_AVX512()) { sp_gelu_erf_avx512(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * erfcf(-x[i] * (float)SP_SQRT1_2);
}

void sp_geglu_erf(const float *gate, const float *up, float *out, int64_t n) {
#ifdef SP_X86
    if (SP_USE_AVX512()) { sp_geglu_erf_avx512(gate, up, out, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = up[i] * (0.5f * g * erfcf(-g * (float)SP_SQRT1_2));
    }
}

void sp_quick_gelu(const float *x, float *y, int64_t n) {
#ifdef SP_X86
    if (SP_USE_AVX512()) { sp_quick_gelu_avx512(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-1.702f * x[i]));
}

void sp_silu(const float *x, float *y, int64_t n) {
#ifdef SP_X86
    if (SP_USE_AVX512()) { sp_silu_avx512(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}
