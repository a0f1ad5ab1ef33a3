/* Thread pool: every item of a range is processed exactly once, for many
 * sizes and grains, thread ids are in range, nested calls run serially,
 * and the pool survives many back-to-back jobs (the executor's pattern). */
#include <stdatomic.h>
#include <string.h>

#include "plexus/plexus.h"
#include "test.h"
#include "threadpool.h"

typedef struct job {
    atomic_int *hits;
    int32_t n_threads;
    atomic_int bad_thread;
    px_pool *pool;
    atomic_int nested_items;
} job;

static void count(void *ctx, int64_t b, int64_t e, int32_t t) {
    job *j = ctx;
    if (t < 0 || t >= j->n_threads) atomic_store(&j->bad_thread, 1);
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&j->hits[i], 1);
}

static void inner(void *ctx, int64_t b, int64_t e, int32_t t) {
    job *j = ctx;
    (void)t;
    atomic_fetch_add(&j->nested_items, (int)(e - b));
}

static void outer(void *ctx, int64_t b, int64_t e, int32_t t) {
    job *j = ctx;
    (void)t;
    for (int64_t i = b; i < e; i++) px_pool_parallel_for(j->pool, 10, 1, inner, j);
}

int main(void) {
    for (int32_t threads = 1; threads <= 4; threads++) {
        px_pool *pool;
        CHECK_OK(px_pool_create(threads, &pool));
        CHECK(px_pool_threads(pool) == threads);
        static atomic_int hits[10007];
        int64_t sizes[] = {0, 1, 2, 3, 7, 64, 1000, 10007};
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            for (int64_t grain = 1; grain <= 4096; grain *= 8) {
                for (int rep = 0; rep < 20; rep++) {
                    memset(hits, 0, sizeof hits);
                    job j = {.hits = hits, .n_threads = threads};
                    atomic_init(&j.bad_thread, 0);
                    px_pool_parallel_for(pool, sizes[si], grain, count, &j);
                    int ok = !atomic_load(&j.bad_thread);
                    for (int64_t i = 0; i < sizes[si]; i++) ok &= atomic_load(&hits[i]) == 1;
                    CHECK_MSG(ok, "threads %d n %lld grain %lld: an item was missed or done twice", threads,
                              (long long)sizes[si], (long long)grain);
                }
            }
        }
        job j = {.pool = pool, .n_threads = threads};
        atomic_init(&j.nested_items, 0);
        px_pool_parallel_for(pool, 50, 1, outer, &j);
        CHECK(atomic_load(&j.nested_items) == 500);
        px_pool_destroy(pool);
    }
    return px_test_finish("test_threadpool");
}
