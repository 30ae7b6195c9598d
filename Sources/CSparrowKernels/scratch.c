// One growing scratch buffer per thread for kernels whose working set depends on the shape (the Q4_1
// activation images, the Winograd transforms): steady-state calls allocate nothing, so no page
// faults and no munmap TLB shootdowns between the pool's threads. Freed when the thread exits.
#include "internal.h"
#include <pthread.h>
#include <stdlib.h>

static pthread_key_t sp_scratch_key;
static pthread_once_t sp_scratch_once = PTHREAD_ONCE_INIT;
typedef struct { void *mem; size_t bytes; } sp_scratch;

static void sp_scratch_free(void *p) {
    sp_scratch *s = p;
    free(s->mem);
    free(s);
}

static void sp_scratch_key_init(void) { pthread_key_create(&sp_scratch_key, sp_scratch_free); }

void *sp_thread_scratch(size_t bytes) {
    pthread_once(&sp_scratch_once, sp_scratch_key_init);
    sp_scratch *s = pthread_getspecific(sp_scratch_key);
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s || pthread_setspecific(sp_scratch_key, s) != 0) { free(s); return NULL; }
    }
    if (s->bytes < bytes) {
        const size_t grown = (bytes + 4095) & ~(size_t)4095;
        void *m = aligned_alloc(64, grown);
        if (!m) return NULL;
        free(s->mem);
        s->mem = m;
        s->bytes = grown;
    }
    return s->mem;
}
