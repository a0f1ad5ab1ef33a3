/* Plexus — choosing the next token from logits.
 *
 * The chain, in llama.cpp's default order: penalties (repeat, frequency,
 * presence over the last repeat_last_n tokens), top-k, typical-p, top-p,
 * min-p, temperature, then a draw from the softmax with a seeded PRNG
 * (xoshiro256**, seeded through splitmix64: the same seed gives the same
 * tokens on every platform). temp <= 0 is greedy: the penalties, then the
 * first maximal logit. */
#ifndef PLEXUS_SAMPLING_H
#define PLEXUS_SAMPLING_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct px_sampler px_sampler;

typedef struct px_sampler_params {
    uint32_t struct_size;
    float temp;              /* <= 0: greedy */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* >= 1: off */
    float min_p;             /* <= 0: off */
    float typical_p;         /* >= 1: off */
    float repeat_penalty;    /* 1: off */
    float presence_penalty;  /* 0: off */
    float frequency_penalty; /* 0: off */
    int32_t repeat_last_n;   /* window for the penalties; 0: off, -1: the last 32768 tokens */
    uint64_t seed;
} px_sampler_params;

/* llama.cpp's defaults: temp 0.8, top_k 40, top_p 0.95, min_p 0.05,
 * typical_p 1, repeat_penalty 1, presence/frequency 0, repeat_last_n 64,
 * seed 0x5eed. */
px_sampler_params px_sampler_params_default(void);

px_status px_sampler_create(const px_sampler_params *p, int32_t n_vocab, px_sampler **out);
void px_sampler_destroy(px_sampler *s);
/* Forget the history and reseed. */
void px_sampler_reset(px_sampler *s);
/* Add a token to the penalty history (prompt tokens too). */
void px_sampler_accept(px_sampler *s, int32_t token);
/* Choose a token from logits[n_vocab] (not modified). Allocates nothing.
 * NaN logits count as -inf; if every logit is -inf or NaN, token 0. */
int32_t px_sampler_sample(px_sampler *s, const float *logits);

#ifdef __cplusplus
}
#endif
#endif
