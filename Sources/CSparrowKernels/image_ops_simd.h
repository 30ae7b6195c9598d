// The image-op kernels written once over an abstract float vector; internal.
//
// Included by image_ops.c (scalar, 1 lane), image_ops_avx2.c (8 lanes) and image_ops_avx512.c
// (16 lanes), each of which first defines:
//   vf, vm          a vector of SP_IO_LANES floats and a lane mask;
//   SP_IO_ATTR      attributes of the kernels (the target ISA);
//   SP_IO_NAME(f)   the instantiation's name of kernel f;
//   v_mask(n)       the first min(n, SP_IO_LANES) lanes; v_load(m, p) (other lanes 0), v_store(m, p, v);
//   v_set1, v_add, v_mul, v_div, v_exp;
//   v_max(a, b) = a > b ? a : b, v_min(a, b) = a < b ? a : b (x86 maxps/minps, NaN rules included);
//   v_select_ge0(x, yes, no) = x >= 0 ? yes : no, v_select_gt(a, b, yes, no) = a > b ? yes : no,
//   v_select_lt(a, b, yes, no) = a < b ? yes : no.
// Every kernel evaluates, per element, the same float operations in the same order as the TFLite
// reference formula it names (no fused multiply-adds: the including files turn contraction off), so
// all instantiations agree bit for bit except through v_exp.

#define SP_IO_LOGISTIC_UPPER 16.619047164916992188f
#define SP_IO_LOGISTIC_LOWER -9.0f

// TFLite's ActivationFunctionWithMinMax: std::min(std::max(r, lo), hi).
#define SP_IO_CLAMP(r, vlo, vhi) v_min(vhi, v_max(vlo, r))

SP_IO_ATTR void SP_IO_NAME(sp_io_binary)(int op, const float *a, int a_kind, const float *b, int b_kind,
                                         float *out, int64_t pixels, int64_t C, int clamp, float lo, float hi) {
    const vf vlo = v_set1(lo), vhi = v_set1(hi);
    const vf as = v_set1(a[0]), bs = v_set1(b[0]);
    for (int64_t p = 0; p < pixels; p++) {
        const float *ap = a_kind == SP_OPERAND_FULL ? a + p * C : a;
        const float *bp = b_kind == SP_OPERAND_FULL ? b + p * C : b;
        float *o = out + p * C;
        for (int64_t c = 0; c < C; c += SP_IO_LANES) {
            const vm m = v_mask(C - c);
            const vf x = a_kind == SP_OPERAND_SCALAR ? as : v_load(m, ap + c);
            const vf y = b_kind == SP_OPERAND_SCALAR ? bs : v_load(m, bp + c);
            vf r;
            if (op == SP_BINARY_ADD) r = v_add(x, y);
            else if (op == SP_BINARY_MUL) r = v_mul(x, y);
            else r = v_select_ge0(x, x, v_mul(x, y));  // matches reference/prelu.h: x >= 0 ? x : x * alpha
            if (clamp) r = SP_IO_CLAMP(r, vlo, vhi);
            v_store(m, o + c, r);
        }
    }
}

SP_IO_ATTR void SP_IO_NAME(sp_io_unary)(int op, const float *x, float *out, int64_t n) {
    const vf zero = v_set1(0.0f), one = v_set1(1.0f), three = v_set1(3.0f), six = v_set1(6.0f);
    const vf upper = v_set1(SP_IO_LOGISTIC_UPPER), lower = v_set1(SP_IO_LOGISTIC_LOWER);
    for (int64_t i = 0; i < n; i += SP_IO_LANES) {
        const vm m = v_mask(n - i);
        const vf v = v_load(m, x + i);
        vf r;
        if (op == SP_UNARY_RELU) {
            r = v_max(zero, v);  // matches reference Relu: v < 0 ? 0 : v
        } else if (op == SP_UNARY_HARD_SWISH) {
            // matches reference/hard_swish.h: v * std::min(6, std::max(0, v + 3)) / 6
            const vf t = v_min(v_max(v_add(v, three), zero), six);
            r = v_div(v_mul(v, t), six);
        } else {
            // matches reference/logistic.h: 1 above the upper cutoff, e^v below the lower one,
            // 1 / (1 + e^-v) between.
            const vf mid = v_div(one, v_add(one, v_exp(v_mul(v, v_set1(-1.0f)))));
            r = v_select_gt(v, upper, one, v_select_lt(v, lower, v_exp(v), mid));
        }
        v_store(m, out + i, r);
    }
}

SP_IO_ATTR void SP_IO_NAME(sp_io_pool2d)(const sp_pool2d_params *q, const float *in, float *out, int64_t oy0, int64_t oy1) {
    const int64_t W = q->width, C = q->channels, Wo = q->output_width;
    const vf vlo = v_set1(q->lo), vhi = v_set1(q->hi), lowest = v_set1(-3.40282347e+38f);
    for (int64_t oy = oy0; oy < oy1; oy++) {
        // matches reference/pooling.h: the filter window clipped to the map, padding taps skipped.
        const int64_t iy = oy * q->stride_y - q->pad_top;
        const int64_t fy0 = iy < 0 ? -iy : 0;
        const int64_t fy1 = q->filter_height < q->height - iy ? q->filter_height : q->height - iy;
        for (int64_t ox = 0; ox < Wo; ox++) {
            const int64_t ix = ox * q->stride_x - q->pad_left;
            const int64_t fx0 = ix < 0 ? -ix : 0;
            const int64_t fx1 = q->filter_width < W - ix ? q->filter_width : W - ix;
            const vf count = v_set1((float)((fy1 - fy0) * (fx1 - fx0)));
            float *o = out + (oy * Wo + ox) * C;
            for (int64_t c = 0; c < C; c += SP_IO_LANES) {
                const vm m = v_mask(C - c);
                vf acc = q->is_max ? lowest : v_set1(0.0f);
                for (int64_t fy = fy0; fy < fy1; fy++) {
                    const float *row = in + ((iy + fy) * W + ix) * C + c;
                    for (int64_t fx = fx0; fx < fx1; fx++) {
                        const vf v = v_load(m, row + fx * C);
                        acc = q->is_max ? v_max(v, acc) : v_add(acc, v);  // std::max(acc, v); acc + v
                    }
                }
                if (!q->is_max) acc = v_div(acc, count);
                if (q->clamp) acc = SP_IO_CLAMP(acc, vlo, vhi);
                v_store(m, o + c, acc);
            }
        }
    }
}

SP_IO_ATTR void SP_IO_NAME(sp_io_mean_pixels)(const float *in, int64_t pixels, int64_t C, float *out) {
    for (int64_t c = 0; c < C; c += SP_IO_LANES) v_store(v_mask(C - c), out + c, v_set1(0.0f));
    for (int64_t p = 0; p < pixels; p++) {
        for (int64_t c = 0; c < C; c += SP_IO_LANES) {
            const vm m = v_mask(C - c);
            v_store(m, out + c, v_add(v_load(m, out + c), v_load(m, in + p * C + c)));
        }
    }
    const vf n = v_set1((float)pixels);
    for (int64_t c = 0; c < C; c += SP_IO_LANES) {
        const vm m = v_mask(C - c);
        v_store(m, out + c, v_div(v_load(m, out + c), n));
    }
}

// matches reference/resize_bilinear.h ComputeInterpolationValues: the source coordinate of output
// index i and the two taps around it, clamped to the map.
static inline void SP_IO_NAME(sp_io_source)(int64_t i, float scale, int half_pixel_centers, int64_t size,
                                            float *position, int64_t *i0, int64_t *i1) {
    const float s = half_pixel_centers ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
    const int64_t lo = (int64_t)floorf(s), hi = (int64_t)ceilf(s);
    *position = s;
    *i0 = lo > 0 ? lo : 0;
    *i1 = hi < size - 1 ? hi : size - 1;
}

SP_IO_ATTR void SP_IO_NAME(sp_io_resize_bilinear)(const float *in, int64_t H, int64_t W, int64_t C, int64_t Ho,
                                                  int64_t Wo, int align_corners, int half_pixel_centers,
                                                  float *out, int64_t oy0, int64_t oy1) {
    float hs = (float)H / (float)Ho, ws = (float)W / (float)Wo;
    if (align_corners && Ho > 1) hs = (float)(H - 1) / (float)(Ho - 1);
    if (align_corners && Wo > 1) ws = (float)(W - 1) / (float)(Wo - 1);
    for (int64_t oy = oy0; oy < oy1; oy++) {
        float sy;
        int64_t y0, y1;
        SP_IO_NAME(sp_io_source)(oy, hs, half_pixel_centers, H, &sy, &y0, &y1);
        const float dy = sy - (float)y0, ody = 1.0f - dy;
        const vf vdy = v_set1(dy), vody = v_set1(ody);
        for (int64_t ox = 0; ox < Wo; ox++) {
            float sx;
            int64_t x0, x1;
            SP_IO_NAME(sp_io_source)(ox, ws, half_pixel_centers, W, &sx, &x0, &x1);
            const float dx = sx - (float)x0, odx = 1.0f - dx;
            const vf vdx = v_set1(dx), vodx = v_set1(odx);
            const float *p00 = in + (y0 * W + x0) * C, *p10 = in + (y1 * W + x0) * C;
            const float *p01 = in + (y0 * W + x1) * C, *p11 = in + (y1 * W + x1) * C;
            float *o = out + (oy * Wo + ox) * C;
            for (int64_t c = 0; c < C; c += SP_IO_LANES) {
                const vm m = v_mask(C - c);
                // v00·(1−dy)·(1−dx) + v10·dy·(1−dx) + v01·(1−dy)·dx + v11·dy·dx, left to right.
                vf r = v_mul(v_mul(v_load(m, p00 + c), vody), vodx);
                r = v_add(r, v_mul(v_mul(v_load(m, p10 + c), vdy), vodx));
                r = v_add(r, v_mul(v_mul(v_load(m, p01 + c), vody), vdx));
                r = v_add(r, v_mul(v_mul(v_load(m, p11 + c), vdy), vdx));
                v_store(m, o + c, r);
            }
        }
    }
}
