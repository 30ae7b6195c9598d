// Included from CSparrowKernels.h (inside its extern "C" block); see there for conventions.
//
// NHWC float32 image ops (batch 1) for TFLite vision models: element (y, x, c) of an H×W×C map is at
// (y·W + x)·C + c. Every entry point dispatches on sp_active_isa() to one instantiation of the
// vector template image_ops_simd.h (AVX-512: 16 channels per vector, AVX2: 8, scalar: 1), all
// evaluating the same float operations in the same order, so results are bit-identical across
// instruction sets except for logistic's exp (a few ulp). Formulas match TFLite's reference kernels
// (tensorflow/lite/kernels/internal/reference/*); Sources/Runtime/Kernels/Reference/ImageOpsReference.swift
// states them as plain loops.
#ifndef SP_IMAGE_OPS_H
#define SP_IMAGE_OPS_H
#include <stddef.h>
#include <stdint.h>

/// How a binary op's operand covers the output: one value per element, one per channel (a [1,1,C]
/// map broadcast over pixels) or a single value.
enum { SP_OPERAND_FULL = 0, SP_OPERAND_CHANNEL = 1, SP_OPERAND_SCALAR = 2 };
/// Binary ops: a + b, a · b, and PReLU (a ≥ 0 ? a : a · b, b being alpha).
enum { SP_BINARY_ADD = 0, SP_BINARY_MUL = 1, SP_BINARY_PRELU = 2 };
/// Unary ops: max(x, 0); x · min(max(x + 3, 0), 6) / 6; 1 / (1 + e^-x) with TFLite's cutoffs.
enum { SP_UNARY_RELU = 0, SP_UNARY_HARD_SWISH = 1, SP_UNARY_LOGISTIC = 2 };

/// out[p, c] = clamp(a[p, c] op b[p, c]) for output pixels p in [p0, p1) of a map with `channels`
/// channels; a FULL operand is read at pixel p, a CHANNEL one at channel c, a SCALAR one at 0. With
/// `clamp`, the result is min(max(r, lo), hi) (TFLite's fused activation); out is not offset by p0
/// implicitly: it is the whole output map, like a and b.
void sp_image_binary(int op, const float *a, int a_kind, const float *b, int b_kind, float *out,
                     int64_t p0, int64_t p1, int64_t channels, int clamp, float lo, float hi);

/// out[i] = op(x[i]) for i < n (in place allowed).
void sp_image_unary(int op, const float *x, float *out, int64_t n);

/// A 2-D average or max pool over an H×W×C map (padding taps are skipped: the average divides by
/// the count of in-bounds taps, as TFLite's reference AveragePool does).
typedef struct {
    int64_t height, width, channels;          // input
    int64_t output_height, output_width;
    int64_t filter_height, filter_width, stride_y, stride_x;
    int64_t pad_top, pad_left;                // taps before the map; bottom/right only shape the output
    int32_t is_max;                           // 0: average, 1: max
    int32_t clamp;                            // fused activation: min(max(r, lo), hi)
    float lo, hi;
} sp_pool2d_params;

/// Output rows [oy0, oy1) of the pool (out is the whole output map).
void sp_pool2d(const sp_pool2d_params *params, const float *in, float *out, int64_t oy0, int64_t oy1);

/// out[c] = (Σ_p in[p, c]) / pixels, summed in pixel order (TFLite MEAN over axes 1 and 2).
void sp_mean_pixels(const float *in, int64_t pixels, int64_t channels, float *out);

/// Output rows [oy0, oy1) of a bilinear resize of an h×w×c map to oh×ow×c (TFLite RESIZE_BILINEAR).
void sp_resize_bilinear(const float *in, int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow,
                        int align_corners, int half_pixel_centers, float *out, int64_t oy0, int64_t oy1);

/// y[i] = (float)x[i] · scale + offset (no fused multiply-add), e.g. RGB8 → [0, 1] or [-1, 1].
void sp_u8_to_f32_affine(const uint8_t *x, float *y, int64_t n, float scale, float offset);

#endif
