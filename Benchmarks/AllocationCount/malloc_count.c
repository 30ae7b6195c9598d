// LD_PRELOAD shim that counts malloc calls and prints the count at exit (for
// Benchmarks/AllocationCount/allocations_per_token.sh; not part of any product).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static _Atomic long calls;
static void *(*real_malloc)(size_t);

void *malloc(size_t n) {
    if (!real_malloc) real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return real_malloc(n);
}

__attribute__((destructor)) static void report(void) {
    fprintf(stderr, "MALLOC_CALLS %ld\n", (long)atomic_load(&calls));
}
