// AVX-512 instantiation of the image-op kernels (image_ops_simd.h): 16 channels per vector, masked
// loads and stores for the last partial vector.
#pragma STDC FP_CONTRACT OFF
#include "internal.h"
#ifdef SP_X86
#include "vector_exp.h"
#include <immintrin.h>
#include <math.h>

#define SP_IO_LANES 16
#define SP_IO_ATTR __attribute__((target("avx512f")))
#define SP_IO_NAME(f) f##_avx512
#define SP_IO_INLINE static inline __attribute__((always_inline, target("avx512f")))
typedef __m512 vf;
typedef __mmask16 vm;

SP_IO_INLINE vm v_mask(int64_t n) { return n >= 16 ? (vm)0xffff : (vm)((1u << n) - 1); }
SP_IO_INLINE vf v_load(vm m, const float *p) { return _mm512_maskz_loadu_ps(m, p); }
SP_IO_INLINE void v_store(vm m, float *p, vf v) { _mm512_mask_storeu_ps(p, m, v); }
SP_IO_INLINE vf v_set1(float x) { return _mm512_set1_ps(x); }
SP_IO_INLINE vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
SP_IO_INLINE vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
SP_IO_INLINE vf v_div(vf a, vf b) { return _mm512_div_ps(a, b); }
SP_IO_INLINE vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
SP_IO_INLINE vf v_min(vf a, vf b) { return _mm512_min_ps(a, b); }
SP_IO_INLINE vf v_exp(vf x) { return sp_exp16(x); }
SP_IO_INLINE vf v_select_ge0(vf x, vf yes, vf no) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ), no, yes);
}
SP_IO_INLINE vf v_select_gt(vf a, vf b, vf yes, vf no) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), no, yes); }
SP_IO_INLINE vf v_select_lt(vf a, vf b, vf yes, vf no) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), no, yes); }

#include "image_ops_simd.h"
#endif
