// NHWC image ops for TFLite vision models: the scalar instantiation of image_ops_simd.h (also the
// fallback on non-x86 CPUs) and the entry points that dispatch on sp_active_isa().
#pragma STDC FP_CONTRACT OFF
#include "internal.h"
#include <math.h>

// ---- Scalar instantiation (1 lane) -----------------------------------------------------------------

#define SP_IO_LANES 1
#define SP_IO_ATTR static
#define SP_IO_NAME(f) f##_scalar
typedef float vf;
typedef int vm;

static inline vm v_mask(int64_t n) { (void)n; return 1; }
static inline vf v_load(vm m, const float *p) { (void)m; return *p; }
static inline void v_store(vm m, float *p, vf v) { (void)m; *p = v; }
static inline vf v_set1(float x) { return x; }
static inline vf v_add(vf a, vf b) { return a + b; }
static inline vf v_mul(vf a, vf b) { return a * b; }
static inline vf v_div(vf a, vf b) { return a / b; }
static inline vf v_max(vf a, vf b) { return a > b ? a : b; }
static inline vf v_min(vf a, vf b) { return a < b ? a : b; }
static inline vf v_exp(vf x) { return expf(x); }
static inline vf v_select_ge0(vf x, vf yes, vf no) { return x >= 0.0f ? yes : no; }
static inline vf v_select_gt(vf a, vf b, vf yes, vf no) { return a > b ? yes : no; }
static inline vf v_select_lt(vf a, vf b, vf yes, vf no) { return a < b ? yes : no; }

#include "image_ops_simd.h"

// ---- Dispatch ----------------------------------------------------------------------------------------

#ifdef SP_X86
#define SP_IO_DECLARE(isa)                                                                                    \
    void sp_io_binary_##isa(int op, const float *a, int a_kind, const float *b, int b_kind, float *out,       \
                            int64_t pixels, int64_t C, int clamp, float lo, float hi);                        \
    void sp_io_unary_##isa(int op, const float *x, float *out, int64_t n);                                   \
    void sp_io_pool2d_##isa(const sp_pool2d_params *q, const float *in, float *out, int64_t oy0, int64_t oy1); \
    void sp_io_mean_pixels_##isa(const float *in, int64_t pixels, int64_t C, float *out);                    \
    void sp_io_resize_bilinear_##isa(const float *in, int64_t H, int64_t W, int64_t C, int64_t Ho, int64_t Wo, \
                                     int align_corners, int half_pixel_centers, float *out, int64_t oy0,      \
                                     int64_t oy1);
SP_IO_DECLARE(avx2)
SP_IO_DECLARE(avx512)
// Calls kernel `f` of the active instruction set with the arguments that follow.
#define SP_IO_DISPATCH(f, ...)                                                   \
    switch (sp_active_isa()) {                                                   \
    case SP_ISA_AVX512: f##_avx512(__VA_ARGS__); return;                         \
    case SP_ISA_AVX2: f##_avx2(__VA_ARGS__); return;                             \
    default: f##_scalar(__VA_ARGS__); return;                                    \
    }
#else
#define SP_IO_DISPATCH(f, ...) f##_scalar(__VA_ARGS__)
#endif

void sp_image_binary(int op, const float *a, int a_kind, const float *b, int b_kind, float *out,
                     int64_t p0, int64_t p1, int64_t channels, int clamp, float lo, float hi) {
    if (p1 <= p0 || channels <= 0) return;
    const float *ap = a_kind == SP_OPERAND_FULL ? a + p0 * channels : a;
    const float *bp = b_kind == SP_OPERAND_FULL ? b + p0 * channels : b;
    int64_t pixels = p1 - p0, C = channels;
    if (a_kind != SP_OPERAND_CHANNEL && b_kind != SP_OPERAND_CHANNEL) {
        C = pixels * channels;  // no per-channel operand: one long row
        pixels = 1;
    }
    SP_IO_DISPATCH(sp_io_binary, op, ap, a_kind, bp, b_kind, out + p0 * channels, pixels, C, clamp, lo, hi)
}

void sp_image_unary(int op, const float *x, float *out, int64_t n) {
    if (n <= 0) return;
    SP_IO_DISPATCH(sp_io_unary, op, x, out, n)
}

void sp_pool2d(const sp_pool2d_params *params, const float *in, float *out, int64_t oy0, int64_t oy1) {
    SP_IO_DISPATCH(sp_io_pool2d, params, in, out, oy0, oy1)
}

void sp_mean_pixels(const float *in, int64_t pixels, int64_t channels, float *out) {
    SP_IO_DISPATCH(sp_io_mean_pixels, in, pixels, channels, out)
}

void sp_resize_bilinear(const float *in, int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow,
                        int align_corners, int half_pixel_centers, float *out, int64_t oy0, int64_t oy1) {
    SP_IO_DISPATCH(sp_io_resize_bilinear, in, h, w, c, oh, ow, align_corners, half_pixel_centers, out, oy0, oy1)
}

void sp_u8_to_f32_affine(const uint8_t *x, float *y, int64_t n, float scale, float offset) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)x[i] * scale + offset;
}
