/* Plexus — language models: load a model file, decode batches of tokens
 * into a KV cache, read logits.
 *
 * A px_llm owns the model file (mapped), its tokenizer, the compiled program
 * (one graph per model, built once for n_ctx and n_batch, run per batch) and
 * the KV cache, which is allocated once at load for n_ctx tokens. Decoding
 * appends tokens at position n_past; when the context is full, decode fails
 * with PX_ERR_RANGE and a message saying so (nothing is overwritten).
 */
#ifndef PLEXUS_LLM_H
#define PLEXUS_LLM_H

#include "plexus.h"
#include "sampling.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct px_llm px_llm;

typedef struct px_llm_params {
    uint32_t struct_size;
    int32_t n_ctx;        /* tokens of context (KV-cache rows); 0: the model's
                             training context, at most 4096 */
    int32_t n_batch;      /* tokens per run (prompt chunks); 0: 512 (<= n_ctx) */
    px_dtype cache_type;  /* PX_F16 (default), PX_F32 or PX_Q8_0 */
    const char *order;    /* device order (px_program_options.order); NULL: default */
    int32_t offload_layers; /* -1: all (default); like llama.cpp's -ngl */
} px_llm_params;

px_llm_params px_llm_params_default(void);

/* Open `path`, read its architecture and tokenizer, build and compile the
 * graph, allocate the KV cache. Errors name the file and the problem. */
px_status px_llm_load(px_context *ctx, const char *path, const px_llm_params *params, px_llm **out);
void px_llm_free(px_llm *llm);

px_model *px_llm_model(const px_llm *llm);
const px_tokenizer *px_llm_tokenizer(const px_llm *llm);
const char *px_llm_arch(const px_llm *llm);
int32_t px_llm_n_vocab(const px_llm *llm);
int32_t px_llm_n_ctx(const px_llm *llm);
int32_t px_llm_n_ctx_train(const px_llm *llm);
int32_t px_llm_n_past(const px_llm *llm);
px_program *px_llm_program(const px_llm *llm);

/* Decode `n` tokens at positions n_past.. (split into n_batch chunks) and
 * advance n_past. all_logits = 1 keeps the logits of every token, else only
 * the last one's. PX_ERR_RANGE when n_past + n > n_ctx. */
px_status px_llm_decode(px_llm *llm, const int32_t *tokens, int32_t n, int all_logits);
/* Logits [n_vocab] of token i of the last decode (i < 0: its last token);
 * NULL if that row was not kept. Valid until the next decode. */
const float *px_llm_logits(const px_llm *llm, int32_t i);
/* Forget the sequence from position n on (0: all). */
px_status px_llm_truncate(px_llm *llm, int32_t n);

/* ---- generation -------------------------------------------------------------- */

typedef enum px_stop_reason {
    PX_STOP_LENGTH = 0,   /* n_predict tokens were generated */
    PX_STOP_EOG = 1,      /* the model produced an end-of-generation token */
    PX_STOP_CALLBACK = 2, /* the callback asked to stop */
    PX_STOP_CONTEXT = 3   /* the context is full */
} px_stop_reason;

/* Called for each generated token with the text it completes: pieces are
 * joined and cut at UTF-8 character boundaries, so `text` is always whole
 * characters (it may be empty when a token ends inside a character).
 * Return nonzero to stop. */
typedef int (*px_token_fn)(void *user, int32_t token, const char *text, size_t len);

typedef struct px_generate_params {
    uint32_t struct_size;
    int32_t n_predict;           /* tokens to generate; -1: until EOG or a full context */
    int32_t ignore_eog;          /* 1: do not stop at end-of-generation tokens */
    px_sampler_params sampling;
} px_generate_params;

px_generate_params px_generate_params_default(void);

typedef struct px_generate_stats {
    int32_t n_prompt, n_gen;
    double prompt_ms, gen_ms;    /* wall time of prompt decoding / generation */
    px_stop_reason stop;
} px_generate_stats;

/* Decode `prompt` (appended at n_past), then sample and decode up to
 * n_predict tokens, streaming them to `fn`. A full context ends generation
 * with stop = PX_STOP_CONTEXT (not an error); a prompt that does not fit is
 * PX_ERR_RANGE. The sampler's penalty window sees the prompt. */
px_status px_llm_generate(px_llm *llm, const int32_t *prompt, int32_t n_prompt, const px_generate_params *params,
                          px_token_fn fn, void *user, px_generate_stats *stats);

/* Memory px_llm_load would take, per device, planned without allocating
 * anything: weights resident on the device (or mapped from the file), the KV
 * cache, and the arena for intermediates at n_batch tokens. */
typedef struct px_llm_memory {
    const char *device;   /* device id (valid while the context lives) */
    uint64_t weights, kv_cache, arena;
} px_llm_memory;
/* Writes up to `cap` entries; *n_out = number of devices used. */
px_status px_llm_estimate(px_context *ctx, const px_model *m, const px_llm_params *params, px_llm_memory *out,
                          int32_t cap, int32_t *n_out);

/* Bytes of the KV cache for n_ctx tokens of a model (before loading). */
uint64_t px_llm_kv_bytes(const px_model *m, int32_t n_ctx, px_dtype cache_type);

#ifdef __cplusplus
}
#endif
#endif
