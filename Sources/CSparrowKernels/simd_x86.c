// x86 fast paths. PLACEHOLDER: forwards to the scalar reference until the AVX2 / AVX-512 kernels land.
#include "internal.h"
#ifdef SP_X86
void sp_matvec_avx2(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                    float *y, int64_t r0, int64_t r1) { sp_matvec_ref(type, W, row_bytes, K, xq, y, r0, r1); }
void sp_matvec_avx512(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                      float *y, int64_t r0, int64_t r1) { sp_matvec_ref(type, W, row_bytes, K, xq, y, r0, r1); }
void sp_matmul_avx2(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                    size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    sp_matmul_ref(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
}
void sp_matmul_avx512(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
                      size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
    sp_matmul_ref(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
}
void sp_quantize_row_avx2(int act_type, const float *x, void *y, int64_t n) { sp_quantize_row_ref(act_type, x, y, n); }
void sp_quantize_row_avx512(int act_type, const float *x, void *y, int64_t n) { sp_quantize_row_ref(act_type, x, y, n); }
void sp_f16_to_f32_avx2(const uint16_t *x, float *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = sp_f16_to_f32_1(x[i]); }
void sp_dequantize_row_avx2(int type, const void *x, float *y, int64_t n) { sp_dequantize_row_ref(type, x, y, n); }
#endif
