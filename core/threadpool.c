/* Persistent thread pool with spin-then-sleep workers. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"
#include "threadpool.h"

#define PX_SPIN_ITERS 20000

typedef struct px_job {
    px_range_fn fn;
    void *ctx;
    int64_t n;
    int64_t grain; /* the smallest chunk run_chunks hands out */
} px_job;

struct px_pool {
    int32_t n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    px_job job;
    atomic_uint_fast64_t generation; /* bumped for each job */
    atomic_int_fast64_t next;        /* next item to hand out */
    atomic_int pending;              /* workers still on the current job */
    atomic_int stop;
    atomic_int sleepers;
};

static _Thread_local px_pool *tl_current;
static _Thread_local int tl_in_worker;

void px_pool_set_current(px_pool *pool) { tl_current = pool; }
px_pool *px_pool_current(void) { return tl_current; }

/* Guided: each grab takes 1/(2T) of what is left (never below the grain),
 * so chunks shrink towards the end and the threads finish together; the
 * boundaries are the same in every run, whichever thread takes which. */
static void run_chunks(px_pool *p, int32_t thread) {
    const px_job *j = &p->job;
    int64_t b = atomic_load_explicit(&p->next, memory_order_relaxed);
    for (;;) {
        if (b >= j->n) break;
        int64_t c = (j->n - b) / (2 * p->n_threads);
        if (c < j->grain) c = j->grain;
        int64_t e = b + c < j->n ? b + c : j->n;
        if (!atomic_compare_exchange_weak_explicit(&p->next, &b, e, memory_order_relaxed, memory_order_relaxed)) continue;
        j->fn(j->ctx, b, e, thread);
        b = atomic_load_explicit(&p->next, memory_order_relaxed);
    }
}

typedef struct worker_arg {
    px_pool *pool;
    int32_t index;
} worker_arg;

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    px_pool *p = wa.pool;
    tl_in_worker = 1;
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
               !atomic_load(&p->stop)) {
            if (++spins < PX_SPIN_ITERS) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->stop)) break;
        seen = gen;
        run_chunks(p, wa.index);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

px_status px_pool_create(int32_t n_threads, px_pool **out) {
    if (n_threads < 1) n_threads = 1;
    if (n_threads > 512) n_threads = 512;
    px_pool *p = px_calloc(1, sizeof *p);
    if (!p) return PX_ERR_NO_MEMORY;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = px_calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return PX_ERR_NO_MEMORY;
    }
    for (int32_t i = 1; i < n_threads; i++) {
        worker_arg *wa = px_malloc(sizeof *wa);
        if (!wa || (wa->pool = p, wa->index = i, pthread_create(&p->threads[i], NULL, worker_main, wa) != 0)) {
            free(wa);
            p->n_threads = i;
            px_pool_destroy(p);
            return px_set_error(PX_ERR_NO_MEMORY, "cannot start thread %d of the thread pool", i);
        }
    }
    *out = p;
    return PX_OK;
}

void px_pool_destroy(px_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

int32_t px_pool_threads(const px_pool *p) { return p ? p->n_threads : 1; }

void px_pool_parallel_for(px_pool *p, int64_t n, int64_t grain, px_range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (!p || p->n_threads == 1 || tl_in_worker || n <= grain) {
        fn(ctx, 0, n, 0);
        return;
    }
    p->job.fn = fn;
    p->job.ctx = ctx;
    p->job.n = n;
    p->job.grain = grain;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->n_threads - 1, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1); /* seq_cst: ordered before the sleepers load */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    tl_in_worker = 1; /* nested calls from fn on this thread run serially */
    run_chunks(p, 0);
    tl_in_worker = 0;
    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
        if (++spins > PX_SPIN_ITERS) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
        else __builtin_ia32_pause();
#endif
    }
}
