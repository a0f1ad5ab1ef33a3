/* Helpers for the tests built from the CPU plugin's source: a parallel_for
 * that runs two "threads" one after the other (the second range first: a
 * kernel must use per-thread scratch by thread index), and a small
 * deterministic generator. */
#ifndef PX_TESTS_CPU_KERNEL_TEST_H
#define PX_TESTS_CPU_KERNEL_TEST_H

#include <stdint.h>

#include "plexus/plugin.h"

static inline void two_threads(int64_t n, int64_t grain, px_range_fn fn, void *ctx) {
    (void)grain;
    int64_t half = n / 2;
    if (half < n) fn(ctx, half, n, 1);
    if (half > 0) fn(ctx, 0, half, 0);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline double rnd(void) { /* uniform in [-1, 1) (xorshift64) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}

#endif
