// Skip-Convolution gates (Habibian et al., CVPR 2021): residual norms of the input pixels that
// changed, against each pixel's reference (its value when last accepted), scattered into the
// receptive fields of the output positions, then max-pooled over S×S blocks into a list of active
// output pixels. Declared in include/conv.h.
#include "CSparrowKernels.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// ‖x − ref‖₁ over c channels. Scalar twin: defines the result up to summation order.
static float residual_norm_scalar(const float *x, const float *ref, int64_t c) {
    float sum = 0;
    for (int64_t k = 0; k < c; k++) {
        float d = x[k] - ref[k];
        sum += d < 0 ? -d : d;
    }
    return sum;
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static float residual_norm_avx512(const float *x, const float *ref, int64_t c) {
    __m512 acc = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= c; k += 16) {
        acc = _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(ref + k))));
    }
    if (k < c) {
        __mmask16 m = (__mmask16)((1u << (c - k)) - 1);
        acc = _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + k), _mm512_maskz_loadu_ps(m, ref + k))));
    }
    return _mm512_reduce_add_ps(acc);
}
#endif

// Output index along one axis whose window holds input index i through tap t, or −1.
static inline int64_t tap_output(int64_t i, int64_t pad, int64_t t, int64_t dilation, int64_t stride, int64_t out) {
    int64_t v = i + pad - t * dilation;
    if (v < 0) return -1;
    int64_t o;
    if (stride == 1) {
        o = v;
    } else if (stride == 2) {
        if (v & 1) return -1;
        o = v >> 1;
    } else {
        if (v % stride) return -1;
        o = v / stride;
    }
    return o < out ? o : -1;
}

int64_t sp_skip_gate(const float *x, float *reference, const uint8_t *changed, float limit, const sp_conv_shape *s,
                     float *gate) {
    const int64_t in_pixels = s->in_h * s->in_w, c = s->cin;
    const int pointwise = s->kh == 1 && s->kw == 1 && s->stride_y == 1 && s->stride_x == 1 && s->pad_top == 0 && s->pad_left == 0;
    float (*norm)(const float *, const float *, int64_t) = residual_norm_scalar;
#if defined(__x86_64__)
    if (sp_active_isa() == SP_ISA_AVX512) norm = residual_norm_avx512;
#endif
    int64_t accepted = 0;
    memset(gate, 0, (size_t)(s->out_h * s->out_w) * sizeof(float));
    for (int64_t q = 0; q < in_pixels; q++) {
        if (changed && !changed[q]) continue;
        float n = 1;
        if (limit >= 0) {
            n = norm(x + q * c, reference + q * c, c);
            if (!(n > limit)) continue;
            memcpy(reference + q * c, x + q * c, (size_t)c * sizeof(float));
        }
        accepted++;
        if (pointwise) {
            gate[q] += n;
            continue;
        }
        int64_t iy = q / s->in_w, ix = q - iy * s->in_w;
        for (int32_t ky = 0; ky < s->kh; ky++) {
            int64_t oy = tap_output(iy, s->pad_top, ky, s->dilation_y, s->stride_y, s->out_h);
            if (oy < 0) continue;
            float *row = gate + oy * s->out_w;
            for (int32_t kx = 0; kx < s->kw; kx++) {
                int64_t ox = tap_output(ix, s->pad_left, kx, s->dilation_x, s->stride_x, s->out_w);
                if (ox >= 0) row[ox] += n;
            }
        }
    }
    return accepted;
}

int64_t sp_skip_active(const float *gate, int64_t out_h, int64_t out_w, float limit, int32_t block,
                       int32_t *active, uint8_t *mask) {
    int64_t n = 0;
    memset(mask, 0, (size_t)(out_h * out_w));
    if (block <= 1) {
        for (int64_t p = 0; p < out_h * out_w; p++) {
            if (gate[p] > limit) {
                active[n++] = (int32_t)p;
                mask[p] = 1;
            }
        }
        return n;
    }
    for (int64_t by = 0; by < out_h; by += block) {
        int64_t y1 = by + block < out_h ? by + block : out_h;
        for (int64_t bx = 0; bx < out_w; bx += block) {
            int64_t x1 = bx + block < out_w ? bx + block : out_w;
            int on = 0;
            for (int64_t y = by; y < y1 && !on; y++)
                for (int64_t x = bx; x < x1; x++)
                    if (gate[y * out_w + x] > limit) { on = 1; break; }
            if (!on) continue;
            for (int64_t y = by; y < y1; y++)
                for (int64_t x = bx; x < x1; x++) {
                    active[n++] = (int32_t)(y * out_w + x);
                    mask[y * out_w + x] = 1;
                }
        }
    }
    return n;
}

int64_t sp_skip_changed_pixels(const float *x, float *previous, int64_t pixels, int64_t c, uint8_t *mask) {
    int64_t n = 0;
    for (int64_t p = 0; p < pixels; p++) {
        int differs = 0;
        for (int64_t k = 0; k < c; k++) {
            if (x[p * c + k] != previous[p * c + k]) differs = 1;
            previous[p * c + k] = x[p * c + k];
        }
        mask[p] = (uint8_t)differs;
        n += differs;
    }
    return n;
}
