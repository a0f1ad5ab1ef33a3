/* Plexus — choosing the next token from logits.
 *
 * The chain, in llama.cpp's default order: penalties (repeat, frequency,
 * presence over the last repeat_last_n accepted tokens), top-k, typical-p,
 * top-p, min-p, temperature, then a draw from the softmax of what is left
 * with a seeded PRNG (xoshiro256**, seeded through splitmix64: the same seed
 * gives the same random stream on every platform). temp <= 0 is greedy: the
 * penalties, then the first maximal logit. docs/sampling.md has the details.
 *
 * Non-finite logits: NaN counts as -inf; -inf tokens are never drawn (unless
 * every logit is -inf or NaN: then token 0); if some logits are +inf, the
 * draw is uniform among those tokens. */
#ifndef PLEXUS_SAMPLING_H
#define PLEXUS_SAMPLING_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct px_sampler px_sampler;

/* The seed of px_sampler_params_default(). */
#define PX_SAMPLER_DEFAULT_SEED 0x5eedull

typedef struct px_sampler_params {
    uint32_t struct_size;    /* sizeof(px_sampler_params); px_sampler_params_default sets it */
    float temp;              /* <= 0: greedy (argmax, first maximum wins) */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* >= 1: off */
    float min_p;             /* <= 0: off */
    float typical_p;         /* >= 1: off */
    float repeat_penalty;    /* 1: off; must be finite and > 0 */
    float presence_penalty;  /* 0: off */
    float frequency_penalty; /* 0: off */
    int32_t repeat_last_n;   /* window of accepted tokens for the penalties; 0: off, -1: all since create/reset */
    uint64_t seed;           /* same seed, same output */
} px_sampler_params;

/* llama.cpp's defaults: temp 0.8, top_k 40, top_p 0.95, min_p 0.05,
 * typical_p 1, repeat_penalty 1, presence/frequency 0, repeat_last_n 64,
 * seed PX_SAMPLER_DEFAULT_SEED. */
px_sampler_params px_sampler_params_default(void);

/* p NULL: the defaults. PX_ERR_INVALID_ARG for n_vocab < 1, NaN parameters,
 * repeat_penalty not finite and > 0, non-finite presence/frequency penalties,
 * repeat_last_n < -1; PX_ERR_ABI when p->struct_size is too small. */
px_status px_sampler_create(const px_sampler_params *p, int32_t n_vocab, px_sampler **out);
void px_sampler_destroy(px_sampler *s);
/* Forget the history and reseed (the next draws repeat those after create). */
void px_sampler_reset(px_sampler *s);
/* Add a token to the penalty history (prompt tokens too). Ids outside
 * [0, n_vocab) are ignored. */
void px_sampler_accept(px_sampler *s, int32_t token);
/* Choose a token from logits[n_vocab] (not modified). Allocates nothing.
 * Does not accept the token: call px_sampler_accept with it. */
int32_t px_sampler_sample(px_sampler *s, const float *logits);

/* Probability of the token the last px_sampler_sample chose, in the
 * distribution it was drawn from (after the whole chain; 1 when greedy). */
float px_sampler_last_prob(const px_sampler *s);

/* Run the chain on logits without drawing (the random stream and the
 * history are untouched): writes the first `cap` survivors, most probable
 * first (ties: lower id), with their final probabilities; ids or probs may
 * be NULL. Returns the number of survivors (may exceed cap). Greedy gives
 * the one argmax with probability 1. Allocates nothing. */
int32_t px_sampler_candidates(px_sampler *s, const float *logits, int32_t *ids, float *probs, int32_t cap);

#ifdef __cplusplus
}
#endif
#endif
