// Shared between diffusion_ops.c (portable kernels, the tiled-attention driver, dispatch) and
// diffusion_ops_avx512.c; internal.
#ifndef CSPARROW_DIFFUSION_INTERNAL_H
#define CSPARROW_DIFFUSION_INTERNAL_H
#include "internal.h"

// Tiled attention works on transposed tiles so every vector runs along queries (16 per AVX-512
// register) and nothing needs a horizontal reduction or a packed copy of K or V:
//   qt [D][QT]   the query tile, transposed and pre-multiplied by the scale (zeros past the last row);
//   st [nk][QT]  scores of one key tile, then (in place) their exponentials P;
//   ot [D][QT]   the unnormalised output; m, l, alpha [QT]: running max, running sum, rescale factor.
#define SP_FQ SP_FLASH_QUERY_TILE

/// The per-ISA pieces of sp_flash_attention for one key tile of nk keys.
typedef struct {
    /// st[j][i] = Σ_d k[j · ks + d] · qt[d][i] for j < nk; with colmax, also colmax[i] = max_j st[j][i].
    void (*scores)(const float *k, int64_t ks, int64_t nk, const float *qt, int64_t D, float *st, float *colmax);
    /// Online softmax update along keys for every query lane i: m_new = max(m, max_j st[j][i]) (the
    /// column max read from colmax when given: never with causal),
    /// alpha[i] = e^(m − m_new), st[j][i] ← e^(st[j][i] − m_new) (0 where causal masks key j0 + j
    /// from query i0 + i), l ← l · alpha + Σ_j st[j][i], m ← m_new.
    void (*softmax)(float *st, int64_t nk, int causal, int64_t i0, int64_t j0, const float *colmax, float *m, float *l,
                    float *alpha);
    /// ot[d][i] ← ot[d][i] · alpha[i] + Σ_j v[j · vs + d] · st[j][i].
    void (*accumulate)(const float *st, int64_t nk, const float *v, int64_t vs, int64_t D, const float *alpha,
                       float *ot);
} sp_flash_kernels;

#ifdef SP_X86
extern const sp_flash_kernels sp_flash_kernels_avx512;
void sp_channel_moments_avx512(const float *x, int64_t p0, int64_t p1, int64_t C, const float *shift,
                               double *sum, double *sumsq);
void sp_channel_affine_avx512(const float *x, int64_t p0, int64_t p1, int64_t C, const float *center,
                              const float *scale, const float *offset, int silu, float *y);
void sp_layer_norm_rows_avx512(const float *x, int64_t r0, int64_t r1, int64_t C, float eps,
                               const float *gamma, const float *beta, float *y);
void sp_gelu_erf_avx512(const float *x, float *y, int64_t n);
void sp_geglu_erf_avx512(const float *gate, const float *up, float *out, int64_t n);
void sp_quick_gelu_avx512(const float *x, float *y, int64_t n);
void sp_silu_avx512(const float *x, float *y, int64_t n);
#endif

#endif
