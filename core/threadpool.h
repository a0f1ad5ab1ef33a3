/* Internal: the core's persistent thread pool. Workers are created once per
 * context; parallel_for hands a range to them and the calling thread, and
 * returns when the range is done. Idle workers spin briefly, then sleep on a
 * condition variable, so a run of small kernels does not pay for wake-ups
 * and an idle program does not burn a core. */
#ifndef PLEXUS_CORE_THREADPOOL_H
#define PLEXUS_CORE_THREADPOOL_H

#include "plexus/plugin.h"

typedef struct px_pool px_pool;

px_status px_pool_create(int32_t n_threads, px_pool **out_pool);
void px_pool_destroy(px_pool *pool);
int32_t px_pool_threads(const px_pool *pool);
/* Run fn over [0, n) in chunks of at least `grain` (guided: each chunk
 * 1/(2T) of what is left, so they shrink towards the end). Called from a worker
 * (a nested call), it runs the whole range serially. */
void px_pool_parallel_for(px_pool *pool, int64_t n, int64_t grain, px_range_fn fn, void *ctx);

/* The pool the host API's parallel_for uses on this thread (set by the
 * executor around a run; NULL: run serially). */
void px_pool_set_current(px_pool *pool);
px_pool *px_pool_current(void);

#endif
