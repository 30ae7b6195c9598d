// AVX2 instantiation of the image-op kernels (image_ops_simd.h): 8 channels per vector, vmaskmovps
// loads and stores for the last partial vector.
#pragma STDC FP_CONTRACT OFF
#include "internal.h"
#ifdef SP_X86
#include "vector_exp.h"
#include <immintrin.h>
#include <math.h>

#define SP_IO_LANES 8
#define SP_IO_ATTR __attribute__((target("avx2,fma")))
#define SP_IO_NAME(f) f##_avx2
#define SP_IO_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
typedef __m256 vf;
typedef __m256i vm;

SP_IO_INLINE vm v_mask(int64_t n) {
    const int32_t k = n >= 8 ? 8 : (int32_t)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
SP_IO_INLINE vf v_load(vm m, const float *p) { return _mm256_maskload_ps(p, m); }
SP_IO_INLINE void v_store(vm m, float *p, vf v) { _mm256_maskstore_ps(p, m, v); }
SP_IO_INLINE vf v_set1(float x) { return _mm256_set1_ps(x); }
SP_IO_INLINE vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
SP_IO_INLINE vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
SP_IO_INLINE vf v_div(vf a, vf b) { return _mm256_div_ps(a, b); }
SP_IO_INLINE vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
SP_IO_INLINE vf v_min(vf a, vf b) { return _mm256_min_ps(a, b); }
SP_IO_INLINE vf v_exp(vf x) { return sp_exp8(x); }
SP_IO_INLINE vf v_select_ge0(vf x, vf yes, vf no) {
    return _mm256_blendv_ps(no, yes, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
}
SP_IO_INLINE vf v_select_gt(vf a, vf b, vf yes, vf no) { return _mm256_blendv_ps(no, yes, _mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
SP_IO_INLINE vf v_select_lt(vf a, vf b, vf yes, vf no) { return _mm256_blendv_ps(no, yes, _mm256_cmp_ps(a, b, _CMP_LT_OQ)); }

#include "image_ops_simd.h"
#endif
