// Streaming read of a buffer, for measuring memory read bandwidth (the roofline's ceiling).
#include "internal.h"
#ifdef SP_X86
#include <immintrin.h>

__attribute__((target("avx2")))
static uint64_t sp_stream_read_avx2(const uint8_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        a0 = _mm256_xor_si256(a0, _mm256_load_si256((const __m256i *)(p + i)));
        a1 = _mm256_xor_si256(a1, _mm256_load_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_load_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_load_si256((const __m256i *)(p + i + 96)));
    }
    __m256i a = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    uint64_t r = (uint64_t)_mm256_extract_epi64(a, 0) ^ (uint64_t)_mm256_extract_epi64(a, 1) ^
                 (uint64_t)_mm256_extract_epi64(a, 2) ^ (uint64_t)_mm256_extract_epi64(a, 3);
    for (; i < n; i++) r ^= p[i];
    return r;
}
#endif

uint64_t sp_stream_read(const void *buffer, size_t bytes) {
    const uint8_t *p = buffer;
#ifdef SP_X86
    if (sp_active_isa() >= SP_ISA_AVX2 && ((uintptr_t)p & 31) == 0) return sp_stream_read_avx2(p, bytes);
#endif
    uint64_t r = 0;
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        r ^= v;
    }
    for (; i < bytes; i++) r ^= p[i];
    return r;
}
