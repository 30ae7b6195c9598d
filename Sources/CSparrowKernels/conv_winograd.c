// Winograd F(2×2, 3×3) convolutions (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks", section 4): each 2×2 block of output pixels (a tile) reads a 4×4 input patch d; with
// V = Bᵀ d B and U = G g Gᵀ per (input, output) channel pair, the tile is Aᵀ [Σ_cin U ⊙ V] A, so the
// 36 products per channel pair of the direct 3×3 convolution become 16. The Σ over input channels is
// 16 independent GEMMs (one per transformed position ξ), run on the same micro-kernels as the direct
// driver in conv.c. Matrices as in the paper (correlation form, the one CNNs use):
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], Aᵀ = [1 1 1 0; 0 1 −1 −1].
// U is made from the packed weights chunk by chunk while the GEMMs run (widened from fp16 / int8 like
// the direct driver does), so the resident weights are the same bytes either way.
#include "conv_internal.h"
#include <math.h>

/// Tiles per block: each chunk of U serves all the block's tiles. At least 64; up to 256 while one
/// chunk's V (16 · tiles · chunk floats) stays within 512 KiB (few input channels).
#define SP_WINO_BLOCK_MAX 256
/// Floats added to each ξ's stride in V, M, U and the widened taps, so that the 16 (or 9) values one
/// transform reads or writes, a power-of-two distance apart otherwise, do not share one L1 set.
#define SP_WINO_SKEW 16

/// Input channels per weight chunk: one ξ's U chunk (two panels) is 16 KiB, it stays in L1 while the
/// block's tiles run over it.
#define SP_WINO_KC 128
/// Output channels whose sums are gathered together (a multiple of every NC): 16 · B · 128 floats of M.
#define SP_WINO_GROUP 128

/// Input channels per chunk: cin itself up to SP_WINO_KC, else equal parts, multiples of 16.
static int64_t sp_wino_chunk(int64_t cin) {
    const int64_t parts = (cin + SP_WINO_KC - 1) / SP_WINO_KC;
    return parts == 1 ? cin : ((cin + parts - 1) / parts + 15) / 16 * 16;
}

int64_t sp_conv_winograd_block(const sp_conv_shape *s) {
    const int64_t fit = (8192 / sp_wino_chunk(s->cin > 0 ? s->cin : 1)) / 8 * 8;
    return fit < 64 ? 64 : fit > SP_WINO_BLOCK_MAX ? SP_WINO_BLOCK_MAX : fit;
}

int sp_conv_winograd_applies(const sp_conv_shape *s) {
    return s->kh == 3 && s->kw == 3 && s->stride_y == 1 && s->stride_x == 1 && s->dilation_y == 1 &&
           s->dilation_x == 1 && s->cin > 0 && s->cout > 0 && s->out_h > 0 && s->out_w > 0;
}

int64_t sp_conv_winograd_tiles(const sp_conv_shape *s, int64_t maps) {
    return maps * ((s->out_h + 1) / 2) * ((s->out_w + 1) / 2);
}

// ---- Scalar transforms (the reference twins of sp_wino_*_avx512) --------------------------------

static void sp_wino_input_scalar(const float *const *d, int64_t n, float *v, size_t xi_stride) {
    for (int64_t c = 0; c < n; c++) {
        float w[4][4];
        for (int j = 0; j < 4; j++) {
            const float d0 = d[j][c], d1 = d[4 + j][c], d2 = d[8 + j][c], d3 = d[12 + j][c];
            w[0][j] = d0 - d2;
            w[1][j] = d1 + d2;
            w[2][j] = d2 - d1;
            w[3][j] = d1 - d3;
        }
        for (int a = 0; a < 4; a++) {
            v[(size_t)(4 * a + 0) * xi_stride + (size_t)c] = w[a][0] - w[a][2];
            v[(size_t)(4 * a + 1) * xi_stride + (size_t)c] = w[a][1] + w[a][2];
            v[(size_t)(4 * a + 2) * xi_stride + (size_t)c] = w[a][2] - w[a][1];
            v[(size_t)(4 * a + 3) * xi_stride + (size_t)c] = w[a][1] - w[a][3];
        }
    }
}

static void sp_wino_weights_scalar(const float *g, size_t tap_stride, int64_t n, float *u, size_t xi_stride) {
    for (int64_t i = 0; i < n; i++) {
        float h[4][3];
        for (int x = 0; x < 3; x++) {
            const float g0 = g[(size_t)x * tap_stride + (size_t)i], g1 = g[(size_t)(3 + x) * tap_stride + (size_t)i],
                        g2 = g[(size_t)(6 + x) * tap_stride + (size_t)i];
            const float e = g0 + g2;
            h[0][x] = g0;
            h[1][x] = 0.5f * (e + g1);
            h[2][x] = 0.5f * (e - g1);
            h[3][x] = g2;
        }
        for (int a = 0; a < 4; a++) {
            const float e = h[a][0] + h[a][2];
            u[(size_t)(4 * a + 0) * xi_stride + (size_t)i] = h[a][0];
            u[(size_t)(4 * a + 1) * xi_stride + (size_t)i] = 0.5f * (e + h[a][1]);
            u[(size_t)(4 * a + 2) * xi_stride + (size_t)i] = 0.5f * (e - h[a][1]);
            u[(size_t)(4 * a + 3) * xi_stride + (size_t)i] = h[a][2];
        }
    }
}

static void sp_wino_output_scalar(const float *m, size_t xi_stride, int64_t n, const float *bias, float *const *out,
                                  int accumulate, float lo, float hi) {
    for (int64_t c = 0; c < n; c++) {
        float s[2][4];
        for (int b = 0; b < 4; b++) {
            const float m0 = m[(size_t)b * xi_stride + (size_t)c], m1 = m[(size_t)(4 + b) * xi_stride + (size_t)c],
                        m2 = m[(size_t)(8 + b) * xi_stride + (size_t)c], m3 = m[(size_t)(12 + b) * xi_stride + (size_t)c];
            s[0][b] = m0 + m1 + m2;
            s[1][b] = m1 - m2 - m3;
        }
        for (int r = 0; r < 2; r++) {
            const float y[2] = {s[r][0] + s[r][1] + s[r][2], s[r][1] - s[r][2] - s[r][3]};
            for (int q = 0; q < 2; q++) {
                float *o = out[2 * r + q];
                if (!o) continue;
                if (accumulate) {
                    o[c] += y[q];
                } else {
                    float v = y[q] + (bias ? bias[c] : 0.0f);
                    v = v < lo ? lo : v;
                    o[c] = v > hi ? hi : v;
                }
            }
        }
    }
}

// ---- Driver ------------------------------------------------------------------------------------

typedef struct {
    sp_conv_tile_fn tile;
    int64_t mr, nc;
    int vector;
    sp_wino_input_fn input;
    sp_wino_weights_fn weights;
    sp_wino_output_fn output;
} sp_wino_ops;

static void sp_conv2d_winograd_with(const sp_conv_shape *s, const sp_conv_weights *w, const float *input,
                                    const float *zero, int64_t t0, int64_t t1, int64_t c_lo, int64_t c_hi,
                                    float *output, int accumulate, const sp_wino_ops *ops) {
    if (!sp_conv_winograd_applies(s)) return;
    const int64_t cin = s->cin, cout = s->cout, k = 9 * cin, NC = ops->nc, MR = ops->mr;
    const int64_t tiles_y = (s->out_h + 1) / 2, tiles_x = (s->out_w + 1) / 2, per_map = tiles_y * tiles_x;
    const size_t plane = (size_t)(s->in_h * s->in_w * cin);
    if (c_hi > cout) c_hi = cout;
    if (t0 >= t1 || c_lo >= c_hi) return;
    const int64_t kc = sp_wino_chunk(cin), B = sp_conv_winograd_block(s), groups = SP_WINO_GROUP / NC;
    // V [16][B][kc] (one input-channel chunk), M [groups][16][B][NC] (the sums of a channel group),
    // U [16][panels][kc][16], widened taps [9][kc][16] of one panel: the thread's scratch buffer, every
    // part a multiple of 16 floats so all stay 64-byte aligned.
    const size_t v_xi = (size_t)B * (size_t)kc + SP_WINO_SKEW, m_xi = (size_t)B * (size_t)NC + SP_WINO_SKEW;
    const size_t u_max = (size_t)2 * (size_t)kc * SP_CONV_NR + SP_WINO_SKEW, tap_max = (size_t)kc * SP_CONV_NR + SP_WINO_SKEW;
    const size_t v_n = 16 * v_xi, m_n = (size_t)groups * 16 * m_xi, u_n = 16 * u_max;
    const size_t taps_n = w->type == SP_CONV_WEIGHTS_F32 ? 0 : 9 * tap_max;
    float *v = sp_thread_scratch((v_n + m_n + u_n + taps_n) * sizeof(float));
    if (!v) return;  // out of memory: nothing written
    float *m = v + v_n, *u = m + m_n, *taps = taps_n ? u + u_n : NULL;
    const float *patch[SP_WINO_BLOCK_MAX][16];
    float *out[SP_WINO_BLOCK_MAX][4];
    for (int64_t b0 = t0; b0 < t1; b0 += B) {
        const int64_t nb = t1 - b0 < B ? t1 - b0 : B;
        // Each tile's 4×4 input pixels (the zero row outside the map) and 2×2 output pixels (NULL outside).
        for (int64_t i = 0; i < nb; i++) {
            const int64_t t = b0 + i, map = t / per_map, ty = t % per_map / tiles_x, tx = t % tiles_x;
            const float *base = input + (size_t)map * plane;
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) {
                    const int64_t iy = 2 * ty - s->pad_top + a, ix = 2 * tx - s->pad_left + b;
                    const int inside = iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w;
                    patch[i][4 * a + b] = inside ? base + (size_t)(iy * s->in_w + ix) * (size_t)cin : zero;
                }
            for (int r = 0; r < 2; r++)
                for (int q = 0; q < 2; q++) {
                    const int64_t oy = 2 * ty + r, ox = 2 * tx + q;
                    out[i][2 * r + q] = oy < s->out_h && ox < s->out_w
                                            ? output + ((size_t)(map * s->out_h + oy) * (size_t)s->out_w + (size_t)ox) * (size_t)cout
                                            : NULL;
                }
        }
        // Output channels in groups of SP_WINO_GROUP: per input-channel chunk, the block's V is made
        // once and serves every channel pair of the group; the group's sums M stay in L2.
        for (int64_t g0 = c_lo; g0 < c_hi; g0 += groups * NC) {
            const int64_t g1 = c_hi - g0 < groups * NC ? c_hi : g0 + groups * NC;
            for (int64_t k0 = 0; k0 < cin; k0 += kc) {
                const int64_t nk = cin - k0 < kc ? cin - k0 : kc;
                for (int64_t i = 0; i < nb; i++) {
                    const float *d[16];
                    for (int p = 0; p < 16; p++) d[p] = patch[i][p] + k0;
                    ops->input(d, nk, v + (size_t)i * (size_t)nk, v_xi);
                }
                for (int64_t c0 = g0; c0 < g1; c0 += NC) {
                    const int64_t nc = g1 - c0 < NC ? g1 - c0 : NC;
                    const int64_t j = c0 / SP_CONV_NR, panels = nc > SP_CONV_NR ? 2 : 1;
                    const size_t u_xi = (size_t)panels * (size_t)nk * SP_CONV_NR + SP_WINO_SKEW;
                    for (int64_t q = 0; q < panels; q++) {
                        const float *g;
                        size_t tap_stride;
                        if (taps) {
                            for (int t = 0; t < 9; t++)
                                sp_conv_widen(w, k, j + q, t * cin + k0, nk, taps + (size_t)t * tap_max, ops->vector);
                            g = taps;
                            tap_stride = tap_max;
                        } else {
                            g = (const float *)w->data + ((size_t)(j + q) * (size_t)k + (size_t)k0) * SP_CONV_NR;
                            tap_stride = (size_t)cin * SP_CONV_NR;
                        }
                        ops->weights(g, tap_stride, nk * SP_CONV_NR, u + (size_t)q * (size_t)nk * SP_CONV_NR, u_xi);
                    }
                    float *mg = m + (size_t)((c0 - g0) / NC) * 16 * m_xi;
                    const ptrdiff_t none[1] = {0};
                    for (int xi = 0; xi < 16; xi++)
                        for (int64_t r0 = 0; r0 < nb; r0 += MR) {
                            const int64_t mr = nb - r0 < MR ? nb - r0 : MR;
                            const float *rows[SP_CONV_MR_MAX];
                            float *sums[SP_CONV_MR_MAX];
                            for (int64_t r = 0; r < mr; r++) {
                                rows[r] = v + (size_t)xi * v_xi + (size_t)(r0 + r) * (size_t)nk;
                                sums[r] = mg + (size_t)xi * m_xi + (size_t)(r0 + r) * (size_t)NC;
                            }
                            ops->tile(mr, nc, 1, nk, rows, 1, 0, none, u + (size_t)xi * u_xi, (size_t)nk * SP_CONV_NR,
                                      NULL, sums, k0 > 0, -INFINITY, INFINITY);
                        }
                }
            }
            for (int64_t c0 = g0; c0 < g1; c0 += NC) {
                const int64_t nc = g1 - c0 < NC ? g1 - c0 : NC;
                const float *mg = m + (size_t)((c0 - g0) / NC) * 16 * m_xi;
                const float *bias = accumulate ? NULL : w->bias + c0;
                for (int64_t i = 0; i < nb; i++) {
                    float *o[4];
                    for (int p = 0; p < 4; p++) o[p] = out[i][p] ? out[i][p] + c0 : NULL;
                    ops->output(mg + (size_t)i * (size_t)NC, m_xi, nc, bias, o, accumulate, s->act_min, s->act_max);
                }
            }
        }
    }
}

void sp_conv2d_winograd_scalar(const sp_conv_shape *s, const sp_conv_weights *w, const float *input,
                               const float *zero, int64_t t0, int64_t t1, int64_t c0, int64_t c1, float *output,
                               int accumulate) {
    const sp_wino_ops ops = {sp_conv_tile_scalar, 4, SP_CONV_NR, 0,
                             sp_wino_input_scalar, sp_wino_weights_scalar, sp_wino_output_scalar};
    sp_conv2d_winograd_with(s, w, input, zero, t0, t1, c0, c1, output, accumulate, &ops);
}

void sp_conv2d_winograd(const sp_conv_shape *s, const sp_conv_weights *w, const float *input, const float *zero,
                        int64_t t0, int64_t t1, int64_t c0, int64_t c1, float *output, int accumulate) {
#ifdef SP_X86
    switch (sp_active_isa()) {
    case SP_ISA_AVX512: {
        const sp_wino_ops ops = {sp_conv_tile_avx512, SP_CONV_MR_AVX512, 2 * SP_CONV_NR, 1,
                                 sp_wino_input_avx512, sp_wino_weights_avx512, sp_wino_output_avx512};
        sp_conv2d_winograd_with(s, w, input, zero, t0, t1, c0, c1, output, accumulate, &ops);
        return;
    }
    case SP_ISA_AVX2: {
        const sp_wino_ops ops = {sp_conv_tile_avx2, 6, SP_CONV_NR, 1,
                                 sp_wino_input_scalar, sp_wino_weights_scalar, sp_wino_output_scalar};
        sp_conv2d_winograd_with(s, w, input, zero, t0, t1, c0, c1, output, accumulate, &ops);
        return;
    }
    default: break;
    }
#endif
    sp_conv2d_winograd_scalar(s, w, input, zero, t0, t1, c0, c1, output, accumulate);
}
