// Convolutions: weight packing, the indirection driver shared by every instruction set, the scalar
// micro-kernels and the run-time dispatch (see include/conv.h for the contract).
//
// The dense driver takes blocks of output pixels and runs the ISA's micro-kernel over every
// (MR pixels × NC channels) tile of a block. A block's pixels are either all interior (every kernel
// tap inside the input: one pointer per pixel, tap t at pointer + delta[t], as for 1×1 convolutions)
// or all border (one pointer per pixel and tap, the zero row where the tap falls into padding: the
// indirection list of XNNPACK's IGEMM). Listed pixels (Skip-Conv) go through the same blocks.
#include "conv_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/// Output pixels per indirection block (a multiple of every MR; the pointers sit on the stack). Large
/// blocks let one chunk of weights serve many pixel tiles while it is in L1.
#define SP_CONV_BLOCK 256
#define SP_CONV_IND_MAX 8192
/// Input indices (tap·cin + channel) per weight chunk: a chunk of two panels (32 channels) is 32 KiB
/// of fp32 at most, so it stays in L1 while every pixel tile of a block runs over it.
#define SP_CONV_KC 256

static size_t sp_conv_type_bytes(int32_t type) {
    return type == SP_CONV_WEIGHTS_I8 ? 1 : type == SP_CONV_WEIGHTS_F16 ? 2 : 4;
}

size_t sp_conv_packed_bytes(int64_t cout, int64_t k, int32_t type) {
    return (size_t)((cout + SP_CONV_NR - 1) / SP_CONV_NR) * (size_t)k * SP_CONV_NR * sp_conv_type_bytes(type);
}

void sp_quantize_rows_i8(const float *w, int64_t rows, int64_t k, int8_t *q, float *scale) {
    for (int64_t r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * (size_t)k;
        float m = 0.0f;
        for (int64_t i = 0; i < k; i++) m = fmaxf(m, fabsf(row[i]));
        const float s = m > 0.0f ? m / 127.0f : 1.0f;
        scale[r] = s;
        for (int64_t i = 0; i < k; i++) {
            const float v = rintf(row[i] / s);
            q[(size_t)r * (size_t)k + (size_t)i] = (int8_t)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
        }
    }
}

void sp_conv_pack_weights(const float *w, int64_t cout, int64_t k, int64_t taps, int32_t type, void *data,
                          float *scale) {
    const int64_t panels = (cout + SP_CONV_NR - 1) / SP_CONV_NR;
    // Column of input index i = t·cin + c in a row of w: i itself (OHWI), or c·taps + t (OIHW).
    const int64_t cin = taps > 1 ? k / taps : k;
#define SP_PACK_COLUMN(i) (taps > 1 ? ((i) % cin) * taps + (i) / cin : (i))
    // int8: one panel's rows are quantized (sp_quantize_rows_i8, the same code `sparrow quantize` writes
    // files with; per row, so the column order does not matter) into a row-major buffer, then
    // interleaved; channels past cout get scale 1 and zeros.
    int8_t *rows = NULL;
    if (type == SP_CONV_WEIGHTS_I8) {
        rows = malloc((size_t)SP_CONV_NR * (size_t)(k > 0 ? k : 1));
        if (!rows) abort();  // as the caller's own allocation of the (larger) packed buffer would
        for (int64_t o = cout; o < panels * SP_CONV_NR; o++) scale[o] = 1.0f;
    }
    for (int64_t j = 0; j < panels; j++) {
        const int64_t o0 = j * SP_CONV_NR, live = cout - o0 < SP_CONV_NR ? cout - o0 : SP_CONV_NR;
        if (rows) {
            sp_quantize_rows_i8(w + (size_t)o0 * (size_t)k, live, k, rows, scale + o0);
            for (int64_t i = 0; i < k; i++) {
                const int64_t col = SP_PACK_COLUMN(i);
                for (int64_t c = 0; c < SP_CONV_NR; c++)
                    ((int8_t *)data)[((size_t)j * (size_t)k + (size_t)i) * SP_CONV_NR + (size_t)c] =
                        c < live ? rows[(size_t)c * (size_t)k + (size_t)col] : 0;
            }
            continue;
        }
        // fp32 / fp16: a block of rows is interleaved into `block`, then stored or converted at once.
        float block[64 * SP_CONV_NR];
        int64_t column[64];
        for (int64_t i0 = 0; i0 < k; i0 += 64) {
            const int64_t n = k - i0 < 64 ? k - i0 : 64;
            for (int64_t i = 0; i < n; i++) column[i] = SP_PACK_COLUMN(i0 + i);
            for (int64_t c = 0; c < SP_CONV_NR; c++) {
                const float *row = w + (size_t)(o0 + c) * (size_t)k;
                for (int64_t i = 0; i < n; i++) block[i * SP_CONV_NR + c] = c < live ? row[column[i]] : 0.0f;
            }
            const size_t at = ((size_t)j * (size_t)k + (size_t)i0) * SP_CONV_NR;
            if (type == SP_CONV_WEIGHTS_F32) memcpy((float *)data + at, block, (size_t)n * SP_CONV_NR * sizeof(float));
            else sp_f32_to_f16(block, (uint16_t *)data + at, n * SP_CONV_NR);
        }
    }
#undef SP_PACK_COLUMN
    free(rows);
}

void sp_conv_widen(const sp_conv_weights *w, int64_t k, int64_t j, int64_t row0, int64_t rows, float *dst,
                          int vector) {
    const size_t at = ((size_t)j * (size_t)k + (size_t)row0) * SP_CONV_NR, n = (size_t)rows * SP_CONV_NR;
    if (w->type == SP_CONV_WEIGHTS_F16) {
#ifdef SP_X86
        if (vector && sp_active_isa() == SP_ISA_AVX512) {
            sp_conv_widen_f16_avx512((const uint16_t *)w->data + at, (int64_t)n, dst);
            return;
        }
#endif
        if (vector) {
            sp_f16_to_f32((const uint16_t *)w->data + at, dst, (int64_t)n);
        } else {
            for (size_t i = 0; i < n; i++) dst[i] = sp_f16_to_f32_1(((const uint16_t *)w->data)[at + i]);
        }
        return;
    }
    const int8_t *q = (const int8_t *)w->data + at;
    const float *scale = w->scale + j * SP_CONV_NR;
#ifdef SP_X86
    if (vector && sp_active_isa() == SP_ISA_AVX512) {
        sp_conv_widen_i8_avx512(q, scale, (int64_t)n, dst);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) dst[i] = (float)q[i] * scale[i % SP_CONV_NR];
}

void sp_conv_clamp(float *x, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        v = v < lo ? lo : v;
        x[i] = v > hi ? hi : v;
    }
}

void sp_conv_col2im(const sp_conv_shape *s, const float *products, const float *bias, float *output) {
    const int64_t C = s->cout, columns = (int64_t)s->kh * s->kw * C;
    // Stride equal to the kernel and no padding (MediaPipe's 2×2 stride-2 upsampling): the output
    // blocks do not overlap, so each output value is one product plus the bias, written once.
    if (s->kh == s->stride_y && s->kw == s->stride_x && s->pad_top == 0 && s->pad_left == 0 &&
        s->out_h == s->in_h * s->kh && s->out_w == s->in_w * s->kw) {
        for (int64_t iy = 0; iy < s->in_h; iy++)
            for (int64_t ky = 0; ky < s->kh; ky++) {
                float *dst = output + (iy * s->kh + ky) * s->out_w * C;
                for (int64_t ix = 0; ix < s->in_w; ix++) {
                    const float *src = products + (iy * s->in_w + ix) * columns + ky * s->kw * C;
                    for (int64_t kx = 0; kx < s->kw; kx++)
                        for (int64_t c = 0; c < C; c++) dst[kx * C + c] = src[kx * C + c] + (bias ? bias[c] : 0.0f);
                    dst += s->kw * C;
                }
            }
        return;
    }
    for (int64_t p = 0; p < s->out_h * s->out_w; p++)
        for (int64_t c = 0; c < C; c++) output[p * C + c] = bias ? bias[c] : 0.0f;
    for (int64_t iy = 0; iy < s->in_h; iy++)
        for (int64_t ky = 0; ky < s->kh; ky++) {
            const int64_t oy = iy * s->stride_y - s->pad_top + ky;
            if (oy < 0 || oy >= s->out_h) continue;
            for (int64_t ix = 0; ix < s->in_w; ix++) {
                const float *src = products + (iy * s->in_w + ix) * columns + ky * s->kw * C;
                for (int64_t kx = 0; kx < s->kw; kx++, src += C) {
                    const int64_t ox = ix * s->stride_x - s->pad_left + kx;
                    if (ox < 0 || ox >= s->out_w) continue;
                    float *dst = output + (oy * s->out_w + ox) * C;
                    for (int64_t c = 0; c < C; c++) dst[c] += src[c];
                }
            }
        }
}

static inline float sp_clampf(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

void sp_conv_tile_scalar(int64_t mr, int64_t nc, int64_t taps, int64_t cin, const float *const *ind,
                                int64_t ind_stride, int64_t tap_step, const ptrdiff_t *delta, const float *w,
                                size_t panel_stride, const float *bias, float *const *out, int accumulate, float lo,
                                float hi) {
    (void)panel_stride;
    float acc[4][SP_CONV_NR];
    for (int64_t r = 0; r < 4; r++)
        for (int c = 0; c < SP_CONV_NR; c++) acc[r][c] = bias ? bias[c] : 0.0f;
    const float *wp = w;
    for (int64_t t = 0; t < taps; t++) {
        const float *a[4];
        for (int64_t r = 0; r < 4; r++) a[r] = ind[(r < mr ? r : 0) * ind_stride + t * tap_step] + delta[t];
        for (int64_t k = 0; k < cin; k++, wp += SP_CONV_NR)
            for (int64_t r = 0; r < 4; r++)
                for (int c = 0; c < SP_CONV_NR; c++) acc[r][c] += a[r][k] * wp[c];
    }
    for (int64_t r = 0; r < mr; r++)
        for (int64_t c = 0; c < nc; c++) {
            if (accumulate) out[r][c] += acc[r][c];
            else out[r][c] = sp_clampf(acc[r][c], lo, hi);
        }
}

/// Pixel index of the i-th pixel the call covers.
static inline int64_t sp_conv_pixel(const int32_t *pixels, int64_t i) { return pixels ? (int64_t)pixels[i] : i; }

/// Output coordinates of pixel p; consecutive pixels step without a division.
static inline void sp_conv_locate(int64_t p, int64_t width, int64_t *last, int64_t *oy, int64_t *ox) {
    if (p == *last + 1) {
        if (++*ox == width) {
            *ox = 0;
            ++*oy;
        }
    } else if (p != *last) {
        *oy = p / width;
        *ox = p % width;
    }
    *last = p;
}

/// First output index whose window starts inside the input, and one past the last whose window
/// ends inside it (along one axis).
static inline void sp_conv_interior(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t dilation,
                                    int64_t pad, int64_t *lo, int64_t *hi) {
    *lo = (pad + stride - 1) / stride;
    const int64_t last = in - 1 - (k - 1) * dilation + pad;
    *hi = last < 0 ? 0 : last / stride + 1;
    if (*hi > out) *hi = out;
}

/// How the input indices of one output channel split into chunks: `taps_per` whole taps at a time when
/// a tap's cin values fit SP_CONV_KC, otherwise one tap in `cin_per`-channel parts (multiples of 16).
static void sp_conv_chunking(int64_t taps, int64_t cin, int64_t *taps_per, int64_t *cin_per) {
    if (cin <= SP_CONV_KC) {
        *taps_per = SP_CONV_KC / cin < taps ? SP_CONV_KC / cin : taps;
        *cin_per = cin;
    } else {
        const int64_t parts = (cin + SP_CONV_KC - 1) / SP_CONV_KC;
        *taps_per = 1;
        *cin_per = ((cin + parts - 1) / parts + 15) / 16 * 16;
    }
}

static void sp_conv2d_with(const sp_conv_shape *s, const sp_conv_weights *w, const float *input, const float *zero,
                           const int32_t *pixels, int64_t p0, int64_t p1, int64_t c_lo, int64_t c_hi, float *output,
                           int accumulate, sp_conv_tile_fn tile, int64_t MR, int64_t NC, int vector) {
    const int64_t taps = (int64_t)s->kh * s->kw, cin = s->cin, cout = s->cout, k = taps * cin;
    const size_t panel_stride = (size_t)k * SP_CONV_NR, plane = (size_t)(s->in_h * s->in_w * cin);
    if (c_hi > cout) c_hi = cout;
    int64_t block = SP_CONV_BLOCK;
    while (block > MR && block * taps > SP_CONV_IND_MAX) block /= 2;
    if (block * taps > SP_CONV_IND_MAX || taps > 1024 || c_lo >= c_hi) return;  // more than 1024 taps: refused in Swift
    int64_t taps_per, cin_per;
    sp_conv_chunking(taps, cin, &taps_per, &cin_per);
    const int chunked = taps_per < taps || cin_per < cin;
    // fp16 / int8 chunks are widened here: two panels of at most SP_CONV_KC (+15) rows.
    float *widened = NULL;
    if (w->type != SP_CONV_WEIGHTS_F32) {
        widened = aligned_alloc(64, (size_t)2 * (SP_CONV_KC + 16) * SP_CONV_NR * sizeof(float));
        if (!widened) return;  // out of memory: nothing written (Swift sizes are small)
    }
    const float *ind[SP_CONV_IND_MAX];
    float *out[SP_CONV_BLOCK];
    // Interior pixels (every tap inside the input) need one pointer: tap t is at pointer + delta[t].
    // Border pixels get one pointer per tap (the zero row for padding) and no offsets. With many
    // taps of many channels the pointer loads cost nothing, so every pixel takes the border form and
    // blocks never split at the image's edges.
    ptrdiff_t delta[1024], none[1024], shifted[1024];
    for (int64_t ky = 0; ky < s->kh; ky++)
        for (int64_t kx = 0; kx < s->kw; kx++) {
            delta[ky * s->kw + kx] = (ptrdiff_t)((ky * s->dilation_y * s->in_w + kx * s->dilation_x) * cin);
            none[ky * s->kw + kx] = 0;
        }
    const int uniform = taps > 1 && cin >= 32;
    int64_t y_lo, y_hi, x_lo, x_hi;
    sp_conv_interior(s->in_h, s->out_h, s->kh, s->stride_y, s->dilation_y, s->pad_top, &y_lo, &y_hi);
    sp_conv_interior(s->in_w, s->out_w, s->kw, s->stride_x, s->dilation_x, s->pad_left, &x_lo, &x_hi);
    int64_t last = -2, row = 0, ox = 0;
    const int pointwise = taps == 1 && s->stride_y == 1 && s->stride_x == 1 && s->pad_top == 0 && s->pad_left == 0 &&
                          s->out_h == s->in_h && s->out_w == s->in_w;
    for (int64_t b0 = p0; b0 < p1;) {
        // A block: up to `block` consecutive covered pixels that are all interior or all border.
        int64_t n = 0;
        int interior = 0;
        if (pointwise) {
            // 1×1, stride 1, no padding: output pixel p reads input pixel p, nothing to locate.
            interior = 1;
            for (; n < block && b0 + n < p1; n++) {
                const int64_t p = sp_conv_pixel(pixels, b0 + n);
                out[n] = output + (size_t)p * (size_t)cout;
                ind[n] = input + (size_t)p * (size_t)cin;
            }
        }
        while (!pointwise && n < block && b0 + n < p1) {
            const int64_t p = sp_conv_pixel(pixels, b0 + n);
            sp_conv_locate(p, s->out_w, &last, &row, &ox);
            const int64_t oy = row % s->out_h;
            const float *map = input + (size_t)(row / s->out_h) * plane;
            const int inside = !uniform && oy >= y_lo && oy < y_hi && ox >= x_lo && ox < x_hi;
            if (n == 0) interior = inside;
            else if (inside != interior) break;
            out[n] = output + (size_t)p * (size_t)cout;
            const int64_t iy0 = oy * s->stride_y - s->pad_top, ix0 = ox * s->stride_x - s->pad_left;
            if (interior) {
                ind[n] = map + (size_t)(iy0 * s->in_w + ix0) * (size_t)cin;
            } else {
                const float **r = ind + n * taps;
                for (int64_t ky = 0; ky < s->kh; ky++) {
                    const int64_t iy = iy0 + ky * s->dilation_y;
                    for (int64_t kx = 0; kx < s->kw; kx++) {
                        const int64_t ix = ix0 + kx * s->dilation_x;
                        const int inb = iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w;
                        *r++ = inb ? map + (size_t)(iy * s->in_w + ix) * (size_t)cin : zero;
                    }
                }
            }
            n++;
        }
        const int64_t ind_stride = interior ? 1 : taps, tap_step = interior ? 0 : 1;
        const ptrdiff_t *offsets = interior ? delta : none;
        for (int64_t c0 = c_lo; c0 < c_hi; c0 += NC) {
            const int64_t nc = (c_hi - c0) < NC ? (c_hi - c0) : NC;
            const int64_t j = c0 / SP_CONV_NR, panels = nc > SP_CONV_NR ? 2 : 1;
            // Chunks of input indices: the first stores bias + Σ (clamped when it is the only one), the
            // others add to it; a bounded activation is applied once the last has run.
            for (int64_t t0 = 0; t0 < taps; t0 += taps_per)
                for (int64_t k0 = 0; k0 < cin; k0 += cin_per) {
                    const int64_t nt = (taps - t0) < taps_per ? (taps - t0) : taps_per;
                    const int64_t nk = (cin - k0) < cin_per ? (cin - k0) : cin_per;
                    const int64_t row0 = t0 * cin + k0, rows = nt * nk;
                    const float *wc;
                    size_t stride;
                    if (widened) {
                        for (int64_t q = 0; q < panels; q++)
                            sp_conv_widen(w, k, j + q, row0, rows, widened + (size_t)q * (size_t)rows * SP_CONV_NR,
                                          vector);
                        wc = widened;
                        stride = (size_t)rows * SP_CONV_NR;
                    } else {
                        wc = (const float *)w->data + (size_t)j * panel_stride + (size_t)row0 * SP_CONV_NR;
                        stride = panel_stride;
                    }
                    for (int64_t t = 0; t < nt; t++) shifted[t] = offsets[t0 + t] + (ptrdiff_t)k0;
                    const int first = t0 == 0 && k0 == 0;
                    const float *bias = (first && !accumulate) ? w->bias + c0 : NULL;
                    const int mode = accumulate || !first;
                    const float lo = chunked ? -INFINITY : s->act_min, hi = chunked ? INFINITY : s->act_max;
                    for (int64_t r0 = 0; r0 < n; r0 += MR) {
                        const int64_t mr = (n - r0) < MR ? (n - r0) : MR;
                        float *o[SP_CONV_MR_MAX];
                        for (int64_t r = 0; r < mr; r++) o[r] = out[r0 + r] + c0;
                        tile(mr, nc, nt, nk, ind + r0 * ind_stride + t0 * tap_step, ind_stride, tap_step, shifted, wc,
                             stride, bias, o, mode, lo, hi);
                    }
                }
            if (chunked && !accumulate && (s->act_min > -INFINITY || s->act_max < INFINITY))
                for (int64_t r = 0; r < n; r++) sp_conv_clamp(out[r] + c0, nc, s->act_min, s->act_max);
        }
        b0 += n;
    }
    free(widened);
}

void sp_conv2d_scalar(const sp_conv_shape *s, const sp_conv_weights *w, const float *input, const float *zero,
                      const int32_t *pixels, int64_t p0, int64_t p1, int64_t c0, int64_t c1, float *output,
                      int accumulate) {
    sp_conv2d_with(s, w, input, zero, pixels, p0, p1, c0, c1, output, accumulate, sp_conv_tile_scalar, 4, SP_CONV_NR, 0);
}

void sp_conv2d(const sp_conv_shape *s, const sp_conv_weights *w, const float *input, const float *zero,
               const int32_t *pixels, int64_t p0, int64_t p1, int64_t c0, int64_t c1, float *output, int accumulate) {
#ifdef SP_X86
    switch (sp_active_isa()) {
    case SP_ISA_AVX512:
        sp_conv2d_with(s, w, input, zero, pixels, p0, p1, c0, c1, output, accumulate, sp_conv_tile_avx512, SP_CONV_MR_AVX512,
                       2 * SP_CONV_NR, 1);
        return;
    case SP_ISA_AVX2:
        sp_conv2d_with(s, w, input, zero, pixels, p0, p1, c0, c1, output, accumulate, sp_conv_tile_avx2, 6,
                       SP_CONV_NR, 1);
        return;
    default: break;
    }
#endif
    sp_conv2d_scalar(s, w, input, zero, pixels, p0, p1, c0, c1, output, accumulate);
}

// ---- Depthwise ----------------------------------------------------------------------------------

static void sp_dw_pixel_scalar(int64_t count, const float *const *in, const float *const *wt, const float *bias,
                               int64_t channels, float *out, int accumulate, float lo, float hi) {
    for (int64_t c = 0; c < channels; c++) {
        float acc = accumulate || !bias ? 0.0f : bias[c];
        for (int64_t i = 0; i < count; i++) acc += in[i][c] * wt[i][c];
        if (accumulate) out[c] += acc;
        else out[c] = sp_clampf(acc, lo, hi);
    }
}

/// Channel multiplier m > 1: output channel c·m + j reads input channel c (plain loops on every ISA).
static void sp_dw_pixel_multiplier(int64_t count, const float *const *in, const float *const *wt, const float *bias,
                                   int64_t cin, int64_t m, float *out, int accumulate, float lo, float hi) {
    for (int64_t c = 0; c < cin; c++)
        for (int64_t j = 0; j < m; j++) {
            const int64_t o = c * m + j;
            float acc = accumulate || !bias ? 0.0f : bias[o];
            for (int64_t i = 0; i < count; i++) acc += in[i][c] * wt[i][o];
            if (accumulate) out[o] += acc;
            else out[o] = sp_clampf(acc, lo, hi);
        }
}

static void sp_dwconv2d_with(const sp_conv_shape *s, const float *weights, const float *bias, const float *input,
                             const int32_t *pixels, int64_t p0, int64_t p1, float *output, int accumulate,
                             sp_dw_pixel_fn pixel, sp_dw_run_fn run) {
    const int64_t taps = (int64_t)s->kh * s->kw, cin = s->cin, cout = s->cout, m = cout / cin;
    if (taps > 1024) return;  // checked in Swift
    const float *in[1024], *wt[1024];
    // Output columns [x_lo, x_hi) have every horizontal tap inside the input.
    const int64_t reach = (int64_t)(s->kw - 1) * s->dilation_x;
    const int64_t x_lo = (s->pad_left + s->stride_x - 1) / s->stride_x;
    const int64_t x_last = s->in_w - 1 - reach + s->pad_left;
    const int64_t x_hi = x_last < 0 ? 0 : x_last / s->stride_x + 1;
    const int use_runs = run && bias && !pixels && !accumulate && m == 1;
    for (int64_t i = p0; i < p1; i++) {
        const int64_t p = sp_conv_pixel(pixels, i);
        const int64_t oy = p / s->out_w, ox = p % s->out_w;
        if (use_runs && ox >= x_lo && ox < x_hi) {
            int64_t n = (x_hi < s->out_w ? x_hi : s->out_w) - ox;
            if (n > p1 - i) n = p1 - i;
            int64_t rows = 0;
            for (int64_t ky = 0; ky < s->kh; ky++) {
                const int64_t iy = oy * s->stride_y - s->pad_top + ky * s->dilation_y;
                if (iy < 0 || iy >= s->in_h) continue;
                in[rows] = input + (size_t)(iy * s->in_w + ox * s->stride_x - s->pad_left) * (size_t)cin;
                wt[rows] = weights + (size_t)(ky * s->kw) * (size_t)cout;
                rows++;
            }
            run(rows, in, wt, s->kw, (int64_t)s->dilation_x * cin, (int64_t)s->stride_x * cin, n, bias, cout,
                output + (size_t)p * (size_t)cout, s->act_min, s->act_max);
            i += n - 1;
            continue;
        }
        int64_t count = 0;
        for (int64_t ky = 0; ky < s->kh; ky++) {
            const int64_t iy = oy * s->stride_y - s->pad_top + ky * s->dilation_y;
            if (iy < 0 || iy >= s->in_h) continue;
            for (int64_t kx = 0; kx < s->kw; kx++) {
                const int64_t ix = ox * s->stride_x - s->pad_left + kx * s->dilation_x;
                if (ix < 0 || ix >= s->in_w) continue;
                in[count] = input + (size_t)(iy * s->in_w + ix) * (size_t)cin;
                wt[count] = weights + (size_t)(ky * s->kw + kx) * (size_t)cout;
                count++;
            }
        }
        float *out = output + (size_t)p * (size_t)cout;
        if (m == 1) pixel(count, in, wt, bias, cout, out, accumulate, s->act_min, s->act_max);
        else sp_dw_pixel_multiplier(count, in, wt, bias, cin, m, out, accumulate, s->act_min, s->act_max);
    }
}

void sp_dwconv2d_scalar(const sp_conv_shape *s, const float *weights, const float *bias, const float *input,
                        const int32_t *pixels, int64_t p0, int64_t p1, float *output, int accumulate) {
    sp_dwconv2d_with(s, weights, bias, input, pixels, p0, p1, output, accumulate, sp_dw_pixel_scalar, NULL);
}

void sp_dwconv2d(const sp_conv_shape *s, const float *weights, const float *bias, const float *input,
                 const int32_t *pixels, int64_t p0, int64_t p1, float *output, int accumulate) {
#ifdef SP_X86
    switch (sp_active_isa()) {
    case SP_ISA_AVX512:
        sp_dwconv2d_with(s, weights, bias, input, pixels, p0, p1, output, accumulate, sp_dw_pixel_avx512,
                         sp_dw_run_avx512);
        return;
    case SP_ISA_AVX2:
        sp_dwconv2d_with(s, weights, bias, input, pixels, p0, p1, output, accumulate, sp_dw_pixel_avx2, NULL);
        return;
    default: break;
    }
#endif
    sp_dwconv2d_scalar(s, weights, bias, input, pixels, p0, p1, output, accumulate);
}
