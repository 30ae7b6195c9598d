// Included from CSparrowKernels.h (inside its extern "C" block); see there for conventions.
//
// Convolutions on NHWC float maps. A dense convolution is a GEMM of output pixels
// [P, kH·kW·Cin] × weights [kH·kW·Cin, Cout] where each output pixel's row is gathered through an
// indirection list (one input-pixel pointer per kernel tap, or a zero row for padding), as XNNPACK's
// IGEMM does; weights are packed once into panels of SP_CONV_NR output channels.
#ifndef SP_CONV_H
#define SP_CONV_H
#include <stddef.h>
#include <stdint.h>

/// Output channels per packed weight panel (zero-padded at the end).
#define SP_CONV_NR 16

/// Geometry of one convolution (dense or depthwise). Depthwise: cin = input channels C, cout = C·m.
/// act_min / act_max clamp the dense output (−inf / +inf when there is no activation).
typedef struct {
    int64_t in_h, in_w, cin;
    int64_t out_h, out_w, cout;
    int32_t kh, kw, stride_y, stride_x, dilation_y, dilation_x, pad_top, pad_left;
    float act_min, act_max;
} sp_conv_shape;

/// How packed dense-convolution weights are stored. Every kind computes in fp32: a chunk of fp16 or
/// int8 rows is widened (int8 times its channel's scale) into a small fp32 buffer right before the
/// micro-kernel uses it, so only the compact form stays resident.
typedef enum { SP_CONV_WEIGHTS_F32 = 0, SP_CONV_WEIGHTS_F16 = 1, SP_CONV_WEIGHTS_I8 = 2 } sp_conv_weight_type;

/// Packed weights of a dense convolution with k = kH·kW·Cin inputs per output channel: ceil(cout / 16)
/// panels, panel j holding for each input index i the 16 values w[16j…16j+15, i] (zero past cout) as
/// `type`; bias: 16·panels floats (zero past cout); scale (int8 only, else NULL): 16·panels floats,
/// weight = q · scale[channel].
typedef struct {
    const void *data;
    const float *bias;
    const float *scale;
    int32_t type;
} sp_conv_weights;

/// Bytes of packed weight data (without bias and scales) for `cout` channels of `k` inputs.
size_t sp_conv_packed_bytes(int64_t cout, int64_t k, int32_t type);
/// Symmetric int8 quantization of `rows` rows of `k` floats (w row-major [rows, k]), one scale per row:
/// scale[r] = max|w[r, :]| / 127 (1 for an all-zero row), q[r, i] = rint(w[r, i] / scale[r]) clamped to
/// ±127, so w ≈ q · scale[r]. Dequantizing and quantizing again gives the same q and scale (the row's
/// largest value is exactly 127 · scale). Used by the int8 weight packing and `sparrow quantize`.
void sp_quantize_rows_i8(const float *w, int64_t rows, int64_t k, int8_t *q, float *scale);
/// Packs weights w [cout, k] into panels of `type` at `data` (sp_conv_packed_bytes bytes). taps ≤ 1: rows
/// are OHWI (TFLite: input index t·cin + c); taps = kH·kW > 1 with rows in OIHW order (PyTorch: column
/// c·taps + t, cin = k / taps) packs the same panels without a transposed copy. int8: symmetric per
/// output channel as sp_quantize_rows_i8, scale[o] written to `scale` (16·panels floats; NULL for the
/// other types); fp16 rounds to nearest even.
void sp_conv_pack_weights(const float *w, int64_t cout, int64_t k, int64_t taps, int32_t type, void *data,
                          float *scale);

/// Dense convolution of output pixels p0 ≤ p < p1 (or, when `pixels` is not NULL, of the output
/// pixels pixels[p0..p1)) and output channels c0 ≤ c < c1 (c0 a multiple of 32; c1 = cout or a
/// multiple of 32). Pixels count across a batch of maps: p = (b·out_h + y)·out_w + x reads map b of
/// `input` (b·in_h·in_w·cin floats further) and writes output[p·cout + c].
/// accumulate == 0: output[p, c] = clamp(conv + bias); accumulate != 0: output[p, c] += conv (no bias,
/// no clamp). `zero` points to at least cin zero floats (the padding row).
void sp_conv2d(const sp_conv_shape *s, const sp_conv_weights *w, const float *input, const float *zero,
               const int32_t *pixels, int64_t p0, int64_t p1, int64_t c0, int64_t c1, float *output, int accumulate);
/// The scalar twin of sp_conv2d (what SP_ISA_SCALAR runs).
void sp_conv2d_scalar(const sp_conv_shape *s, const sp_conv_weights *w, const float *input, const float *zero,
                      const int32_t *pixels, int64_t p0, int64_t p1, int64_t c0, int64_t c1, float *output,
                      int accumulate);

/// Winograd F(2×2, 3×3) (conv_winograd.c): the same convolution as sp_conv2d for 3×3 kernels with
/// stride 1 and dilation 1 (any padding; sp_conv_winograd_applies), with 16 instead of 36 products
/// per 2×2 output pixels and channel pair. Work is counted in tiles (2×2 output pixels; the last row /
/// column of an odd-sized map is a partial tile): tile t = (b·⌈out_h/2⌉ + ty)·⌈out_w/2⌉ + tx of map b.
/// Tiles t0 ≤ t < t1 and output channels c0 ≤ c < c1 (as sp_conv2d's) are written, with its modes.
/// Sums differ from sp_conv2d's by float32 rounding of the transforms (not bit-identical).
int sp_conv_winograd_applies(const sp_conv_shape *s);
/// Tiles of `maps` maps of shape s.
int64_t sp_conv_winograd_tiles(const sp_conv_shape *s, int64_t maps);
/// Tiles the driver transforms and runs at once (64–256, more for fewer input channels): work items of
/// this many tiles waste nothing.
int64_t sp_conv_winograd_block(const sp_conv_shape *s);
void sp_conv2d_winograd(const sp_conv_shape *s, const sp_conv_weights *w, const float *input, const float *zero,
                        int64_t t0, int64_t t1, int64_t c0, int64_t c1, float *output, int accumulate);
/// The scalar twin of sp_conv2d_winograd.
void sp_conv2d_winograd_scalar(const sp_conv_shape *s, const sp_conv_weights *w, const float *input,
                               const float *zero, int64_t t0, int64_t t1, int64_t c0, int64_t c1, float *output,
                               int accumulate);

/// Depthwise convolution with channel multiplier m = cout / cin (output channel c·m + j reads input
/// channel c), same pixel selection and modes as sp_conv2d. weights [kh, kw, cout] (TFLite layout),
/// bias [cout] (NULL: zero).
void sp_dwconv2d(const sp_conv_shape *s, const float *weights, const float *bias, const float *input,
                 const int32_t *pixels, int64_t p0, int64_t p1, float *output, int accumulate);
void sp_dwconv2d_scalar(const sp_conv_shape *s, const float *weights, const float *bias, const float *input,
                        const int32_t *pixels, int64_t p0, int64_t p1, float *output, int accumulate);

/// Transposed-convolution scatter (col2im): output [out_h, out_w, cout] = bias (NULL: zero), then
/// for each input pixel (iy, ix) and tap (ky, kx), products[iy·in_w + ix][(ky·kw + kx)·cout + c] is
/// added at output pixel (iy·stride_y − pad_top + ky, ix·stride_x − pad_left + kx) when inside.
void sp_conv_col2im(const sp_conv_shape *s, const float *products, const float *bias, float *output);

/// x[i] = min(hi, max(lo, x[i])) for n floats (NaN stays NaN).
void sp_conv_clamp(float *x, int64_t n, float lo, float hi);

// ---- Skip-Convolution gates (skip_conv.c) --------------------------------------------------------
/// Norm gate with per-pixel references: for each input pixel q with changed[q] != 0 (NULL: all),
/// n(q) = ‖x(q) − reference(q)‖₁ over cin channels; when n(q) > limit the pixel is accepted:
/// reference(q) := x(q) and n(q) is added to gate[p] for every output position p whose receptive field
/// holds q. gate [out_h·out_w] is overwritten. Returns the number of accepted pixels. Geometry from
/// `s` (cout and act_* unused). A negative limit is the exact reach: every changed pixel counts 1,
/// without reading x or reference (reference may be NULL).
int64_t sp_skip_gate(const float *x, float *reference, const uint8_t *changed, float limit, const sp_conv_shape *s,
                     float *gate);
/// Output pixels whose S×S block (S = block; 1: the pixel itself) holds a gate sum > limit: their
/// indices in row-major order of blocks into `active`, 1 in `mask` (others 0); returns the count.
int64_t sp_skip_active(const float *gate, int64_t out_h, int64_t out_w, float limit, int32_t block,
                       int32_t *active, uint8_t *mask);
/// mask[p] = 1 where any of pixel p's c values differs from previous (then previous := x); returns
/// the number of changed pixels.
int64_t sp_skip_changed_pixels(const float *x, float *previous, int64_t pixels, int64_t c, uint8_t *mask);

#endif
