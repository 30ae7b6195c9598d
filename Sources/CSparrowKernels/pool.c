// A persistent thread pool for per-op parallelism (one dispatch per matmul or attention call).
//
// Dispatch is a generation counter bump: workers spin on it for a short while (a decoded token issues
// hundreds of dispatches, microseconds apart), then sleep on a condition variable so an idle pool
// costs no CPU. The sleep handshake is Dekker-style on seq_cst atomics: a worker publishes that it
// sleeps, then re-checks the generation under the mutex; the dispatcher bumps the generation, then
// wakes sleepers under the same mutex.
#define _GNU_SOURCE
#include "CSparrowKernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <time.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SP_PAUSE() _mm_pause()
#else
#define SP_PAUSE() ((void)0)
#endif

enum { SP_SPIN_ITERATIONS = 1 << 16, SP_YIELD_INTERVAL = 256 };

struct sp_pool {
    int n;
    pthread_t *threads;
    _Atomic uint64_t generation;
    _Atomic int pending;
    _Atomic int sleepers;
    _Atomic int stop;
    sp_task_fn fn;
    void *ctx;
    _Atomic int64_t next_chunk;  // work-claiming counter for sp_pool_claim
    uint64_t dispatches;   // sp_pool_run calls (caller thread only)
    uint64_t wait_ns;      // time the caller spent waiting for workers after its own share
    pthread_mutex_t mutex;
    pthread_cond_t cond;
};

typedef struct {
    sp_pool *pool;
    int index;
} sp_worker_arg;

static void *sp_worker(void *p) {
    sp_worker_arg arg = *(sp_worker_arg *)p;
    free(p);
    sp_pool *pool = arg.pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t g;
        int spins = 0;
        while ((g = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop)) {
            if (++spins < SP_SPIN_ITERATIONS) {
                // Give the core away now and then: on a machine with more runnable threads than cores
                // (a terminal, a build), a spinning worker must not starve the thread it waits for.
                if ((spins & (SP_YIELD_INTERVAL - 1)) == 0) sched_yield(); else SP_PAUSE();
                continue;
            }
            pthread_mutex_lock(&pool->mutex);
            atomic_fetch_add(&pool->sleepers, 1);
            while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop)) {
                pthread_cond_wait(&pool->cond, &pool->mutex);
            }
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mutex);
            spins = 0;
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = g;
        pool->fn(pool->ctx, arg.index, pool->n);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
}

sp_pool *sp_pool_create(int nthreads) {
    if (nthreads < 1) nthreads = 1;
    sp_pool *pool = calloc(1, sizeof(sp_pool));
    if (!pool) return NULL;
    pool->n = nthreads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->cond, NULL);
    pool->threads = calloc((size_t)nthreads, sizeof(pthread_t));
    if (!pool->threads) {
        free(pool);
        return NULL;
    }
    for (int i = 1; i < nthreads; i++) {
        sp_worker_arg *arg = malloc(sizeof(sp_worker_arg));
        arg->pool = pool;
        arg->index = i;
        if (pthread_create(&pool->threads[i], NULL, sp_worker, arg) != 0) {
            free(arg);
            pool->n = i;  // run with the threads that did start
            break;
        }
    }
    return pool;
}

void sp_pool_destroy(sp_pool *pool) {
    if (!pool) return;
    atomic_store(&pool->stop, 1);
    pthread_mutex_lock(&pool->mutex);
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->n; i++) pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->cond);
    free(pool->threads);
    free(pool);
}

int sp_pool_size(const sp_pool *pool) { return pool ? pool->n : 1; }

void sp_pool_run(sp_pool *pool, sp_task_fn fn, void *ctx) {
    if (!pool || pool->n == 1) {
        fn(ctx, 0, 1);
        if (pool) pool->dispatches++;
        return;
    }
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store(&pool->pending, pool->n - 1);
    atomic_fetch_add(&pool->generation, 1);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->cond);
        pthread_mutex_unlock(&pool->mutex);
    }
    fn(ctx, 0, pool->n);
    pool->dispatches++;
    if (atomic_load_explicit(&pool->pending, memory_order_acquire) == 0) return;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    // Wait for the workers. A worker preempted mid-task (more runnable threads than cores) would
    // otherwise cost a whole scheduler tick of spinning: yield the core after a short spin.
    int spins = 0;
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0) {
        if (++spins > SP_YIELD_INTERVAL) sched_yield(); else SP_PAUSE();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pool->wait_ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)(t1.tv_nsec - t0.tv_nsec);
}

void sp_pool_reset_claims(sp_pool *pool) {
    if (pool) atomic_store_explicit(&pool->next_chunk, 0, memory_order_relaxed);
}

int64_t sp_pool_claim(sp_pool *pool, int64_t chunk) {
    return atomic_fetch_add_explicit(&pool->next_chunk, chunk, memory_order_relaxed);
}

uint64_t sp_pool_dispatch_count(const sp_pool *pool) { return pool ? pool->dispatches : 0; }
uint64_t sp_pool_wait_nanoseconds(const sp_pool *pool) { return pool ? pool->wait_ns : 0; }

void sp_keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_MAX, 0);                  // no per-block mmaps: every block comes from the heap
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);   // and freed heap memory stays mapped for the next buffer
#endif
}
