// Run-time instruction-set selection (cpuid + xgetbv) and the dispatching entry points.
#include "internal.h"

#ifdef SP_X86
#include <cpuid.h>

static int sp_xcr0_has(uint64_t mask) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    uint64_t xcr0 = ((uint64_t)edx << 32) | eax;
    return (xcr0 & mask) == mask;
}

static void sp_detect(sp_isa *isa, int *vnni) {
    unsigned a, b, c, d;
    *isa = SP_ISA_SCALAR;
    *vnni = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx || !sp_xcr0_has(0x6)) return;  // XMM and YMM state enabled by the OS
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    int avx2 = (b >> 5) & 1;
    int avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    int avx512vnni = (c >> 11) & 1;
    if (avx2 && fma && f16c) *isa = SP_ISA_AVX2;
    if (*isa == SP_ISA_AVX2 && avx512f && avx512bw && avx512vl && sp_xcr0_has(0xe6)) {
        *isa = SP_ISA_AVX512;
        *vnni = avx512vnni;
    }
}
#else
static void sp_detect(sp_isa *isa, int *vnni) { *isa = SP_ISA_SCALAR; *vnni = 0; }
#endif

static sp_isa g_detected = (sp_isa)-1;
static int g_vnni = 0;
// A cap set with sp_set_isa applies to the calling thread only, so a test that forces scalar code
// cannot change the results of work running on other threads at the same time.
static _Thread_local int g_thread_cap = -1;

static void sp_init_isa(void) {
    if ((int)g_detected < 0) {
        sp_isa isa;
        int vnni;
        sp_detect(&isa, &vnni);
        g_vnni = vnni;
        g_detected = isa;
    }
}

sp_isa sp_detected_isa(void) { sp_init_isa(); return g_detected; }
int sp_has_avx512_vnni(void) { sp_init_isa(); return g_vnni; }
sp_isa sp_active_isa(void) {
    sp_init_isa();
    return g_thread_cap >= 0 && g_thread_cap < (int)g_detected ? (sp_isa)g_thread_cap : g_detected;
}
void sp_set_isa(sp_isa isa) {
    sp_init_isa();
    g_thread_cap = (int)isa;
}

void sp_matvec(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
               float *y, int64_t r0, int64_t r1) {
#ifdef SP_X86
    switch (sp_active_isa()) {
    case SP_ISA_AVX512: sp_matvec_avx512(type, W, row_bytes, K, xq, y, r0, r1); return;
    case SP_ISA_AVX2: sp_matvec_avx2(type, W, row_bytes, K, xq, y, r0, r1); return;
    default: break;
    }
#endif
    sp_matvec_ref(type, W, row_bytes, K, xq, y, r0, r1);
}

void sp_matmul(int type, const void *W, size_t row_bytes, int64_t K, const void *xq,
               size_t xq_row_bytes, int64_t N, float *Y, int64_t ldy, int64_t r0, int64_t r1) {
#ifdef SP_X86
    switch (sp_active_isa()) {
    case SP_ISA_AVX512: sp_matmul_avx512(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1); return;
    case SP_ISA_AVX2: sp_matmul_avx2(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1); return;
    default: break;
    }
#endif
    sp_matmul_ref(type, W, row_bytes, K, xq, xq_row_bytes, N, Y, ldy, r0, r1);
}

void sp_quantize_row(int act_type, const float *x, void *y, int64_t n) {
#ifdef SP_X86
    switch (sp_active_isa()) {
    case SP_ISA_AVX512: sp_quantize_row_avx512(act_type, x, y, n); return;
    case SP_ISA_AVX2: sp_quantize_row_avx2(act_type, x, y, n); return;
    default: break;
    }
#endif
    sp_quantize_row_ref(act_type, x, y, n);
}

void sp_f16_to_f32(const uint16_t *x, float *y, int64_t n) {
#ifdef SP_X86
    if (sp_active_isa() >= SP_ISA_AVX2) { sp_f16_to_f32_avx2(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = sp_f16_to_f32_1(x[i]);
}

void sp_dequantize_row(int type, const void *x, float *y, int64_t n) {
#ifdef SP_X86
    if (sp_active_isa() >= SP_ISA_AVX2) { sp_dequantize_row_avx2(type, x, y, n); return; }
#endif
    sp_dequantize_row_ref(type, x, y, n);
}

