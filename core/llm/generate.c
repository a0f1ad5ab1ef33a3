/* Generation: prompt decode, then sample/decode one token at a time,
 * streaming whole UTF-8 characters to a callback. */
#include <string.h>
#include <time.h>

#include "internal.h"
#include "plexus/llm.h"

px_generate_params px_generate_params_default(void) {
    px_generate_params p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.n_predict = -1;
    p.sampling = px_sampler_params_default();
    return p;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Joins pieces and hands out whole characters. */
typedef struct utf8_out {
    char buf[256 + 8];
    size_t n;
} utf8_out;

px_status px_llm_generate(px_llm *llm, const int32_t *prompt, int32_t n_prompt, const px_generate_params *params,
                          px_token_fn fn, void *user, px_generate_stats *stats) {
    if (!llm || (!prompt && n_prompt) || n_prompt < 0)
        return px_set_error(PX_ERR_INVALID_ARG, "px_llm_generate: bad arguments");
    px_generate_params p = px_generate_params_default();
    if (params) {
        if (params->struct_size < sizeof p) return px_set_error(PX_ERR_ABI, "px_llm_generate: params from an older header");
        p = *params;
    }
    px_generate_stats st_local;
    px_generate_stats *S = stats ? stats : &st_local;
    memset(S, 0, sizeof *S);
    const px_tokenizer *tok = px_llm_tokenizer(llm);
    px_sampler *smp = NULL;
    px_status st = px_sampler_create(&p.sampling, px_llm_n_vocab(llm), &smp);
    if (st) return st;
    for (int32_t i = 0; i < n_prompt; i++) px_sampler_accept(smp, prompt[i]);
    double t0 = now_ms();
    if (n_prompt > 0 && (st = px_llm_decode(llm, prompt, n_prompt, 0))) goto out;
    S->n_prompt = n_prompt;
    S->prompt_ms = now_ms() - t0;
    t0 = now_ms();
    utf8_out o = {.n = 0};
    S->stop = PX_STOP_LENGTH;
    for (int32_t i = 0; p.n_predict < 0 || i < p.n_predict; i++) {
        const float *lg = px_llm_logits(llm, -1);
        if (!lg) {
            st = px_set_error(PX_ERR_INVALID_ARG, "px_llm_generate: nothing decoded yet (empty prompt)");
            goto out;
        }
        int32_t t = px_sampler_sample(smp, lg);
        px_sampler_accept(smp, t);
        if (!p.ignore_eog && px_token_is_eog(tok, t)) {
            S->stop = PX_STOP_EOG;
            break;
        }
        S->n_gen++;
        size_t n = 0;
        px_status ps = px_token_to_piece(tok, t, 0, o.buf + o.n, sizeof o.buf - o.n - 1, &n);
        if (ps == PX_OK) o.n += n;
        size_t ok = px_utf8_valid_prefix(o.buf, o.n);
        if (o.n - ok > 3) ok = o.n; /* not a character being completed: pass the bytes on */
        int stop = fn ? fn(user, t, o.buf, ok) : 0;
        memmove(o.buf, o.buf + ok, o.n - ok);
        o.n -= ok;
        if (stop) {
            S->stop = PX_STOP_CALLBACK;
            break;
        }
        if (p.n_predict >= 0 && i + 1 >= p.n_predict) break;
        if (px_llm_n_past(llm) >= px_llm_n_ctx(llm)) {
            S->stop = PX_STOP_CONTEXT;
            break;
        }
        if ((st = px_llm_decode(llm, &t, 1, 0))) goto out;
    }
    if (o.n && fn) fn(user, -1, o.buf, o.n); /* an unfinished character at the end */
    S->gen_ms = now_ms() - t0;
out:
    px_sampler_destroy(smp);
    return st;
}
