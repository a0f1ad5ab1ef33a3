/* A small deterministic generator for the C tests (xorshift64): raw 32-bit
 * values, uniform floats in [0, 1), and Gaussian floats (Box-Muller). */
#ifndef PLEXUS_TEST_RNG_H
#define PLEXUS_TEST_RNG_H

#include <math.h>
#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static inline uint32_t rng_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static inline float rng_uniform(void) { return (float)(rng_u32() >> 8) / 16777216.0f; } /* [0, 1) */

static inline float rng_gauss(void) {
    const float u = rng_uniform() + 1e-7f, v = rng_uniform();
    return sqrtf(-2.0f * logf(u)) * cosf(6.28318531f * v);
}

#endif
