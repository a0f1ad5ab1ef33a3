/* px_llm: a language model ready to decode (see include/plexus/llm.h). */
#include "plexus/llm.h"

#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "internal.h"

struct px_llm {
    px_context *ctx;
    px_model *model;
    px_tokenizer *tok;
    px_hparams hp;
    px_program *prog;
    int32_t n_ctx, n_batch, n_past;
    px_dtype cache_type;
    int32_t *pos;     /* [n_batch] positions of the current chunk */
    int32_t *rows;    /* [n_batch] out_rows of the current chunk */
    float *logits;    /* [cap_rows, n_vocab] */
    int32_t cap_rows; /* rows `logits` holds */
    int32_t n_rows;   /* rows of the last decode */
    int32_t first_row;/* token index (within the last decode) of logits row 0 */
};

px_llm_params px_llm_params_default(void) {
    px_llm_params p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.cache_type = PX_F16;
    p.offload_layers = -1;
    return p;
}

static px_dtype cache_dtype_for(const px_hparams *hp, px_dtype want) {
    if (want == PX_Q8_0 && (hp->head_dim_k % 32 || hp->head_dim_v % 32)) {
        px_log(PX_LOG_WARN, "llm", "q8_0 KV cache needs head dims that are multiples of 32 (have %lld/%lld): using f16",
               (long long)hp->head_dim_k, (long long)hp->head_dim_v);
        return PX_F16;
    }
    return want;
}

uint64_t px_llm_kv_bytes(const px_model *m, int32_t n_ctx, px_dtype cache_type) {
    px_hparams hp;
    if (!m || px_hparams_load(m, &hp) != PX_OK) return 0;
    px_dtype t = cache_dtype_for(&hp, cache_type);
    int64_t k = px_dtype_row_size(t, hp.head_dim_k), v = px_dtype_row_size(t, hp.head_dim_v);
    if (k <= 0 || v <= 0) return 0;
    return (uint64_t)hp.n_layer * (uint64_t)n_ctx * (uint64_t)hp.n_head_kv * (uint64_t)(k + v);
}

/* Defaults applied: n_ctx, n_batch, cache type. */
static void resolve_params(const px_hparams *hp, const px_llm_params *p, int32_t *n_ctx, int32_t *n_batch,
                           px_dtype *cache) {
    *n_ctx = p->n_ctx ? p->n_ctx : (int32_t)(hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096);
    *n_batch = p->n_batch ? p->n_batch : 512;
    if (*n_batch > *n_ctx) *n_batch = *n_ctx;
    *cache = cache_dtype_for(hp, p->cache_type);
}

px_status px_llm_estimate(px_context *ctx, const px_model *m, const px_llm_params *params, px_llm_memory *out,
                          int32_t cap, int32_t *n_out) {
    if (!ctx || !m || !n_out || (cap && !out)) return px_set_error(PX_ERR_INVALID_ARG, "px_llm_estimate: bad arguments");
    *n_out = 0;
    px_llm_params p = params ? *params : px_llm_params_default();
    px_hparams hp;
    px_status st = px_hparams_load(m, &hp);
    if (st) return st;
    int32_t n_ctx, n_batch;
    px_dtype cache;
    resolve_params(&hp, &p, &n_ctx, &n_batch, &cache);
    px_graph *g = NULL;
    if ((st = px_arch_build_graph(m, &hp, n_ctx, n_batch, cache, &g))) return st;
    px_program_options po = px_program_options_default();
    po.order = p.order;
    po.offload_layers = p.offload_layers;
    po.plan_only = 1;
    px_program *prog = NULL;
    st = px_program_create(ctx, g, &po, &prog);
    px_graph_destroy(g);
    if (st) return st;
    int32_t nd = px_program_device_count(prog);
    for (int32_t i = 0; i < nd; i++) {
        px_program_memory pm;
        if (px_program_memory_report(prog, i, &pm)) continue;
        if (*n_out < cap) {
            out[*n_out].device = pm.device;
            out[*n_out].weights = pm.weights;
            out[*n_out].kv_cache = pm.state;
            out[*n_out].arena = pm.arena;
        }
        ++*n_out;
    }
    px_program_destroy(prog);
    return PX_OK;
}

px_status px_llm_load(px_context *ctx, const char *path, const px_llm_params *params, px_llm **out) {
    if (!ctx || !path || !out) return px_set_error(PX_ERR_INVALID_ARG, "px_llm_load: NULL argument");
    *out = NULL;
    px_llm_params p = px_llm_params_default();
    if (params) {
        if (params->struct_size < sizeof p) return px_set_error(PX_ERR_ABI, "px_llm_load: params from an older header");
        p = *params;
    }
    if (p.cache_type != PX_F16 && p.cache_type != PX_F32 && p.cache_type != PX_Q8_0)
        return px_set_error(PX_ERR_INVALID_ARG, "KV-cache type must be f16, f32 or q8_0");
    if (p.n_ctx < 0 || p.n_batch < 0) return px_set_error(PX_ERR_INVALID_ARG, "n_ctx and n_batch must be >= 0");
    px_llm *l = px_calloc(1, sizeof *l);
    if (!l) return PX_ERR_NO_MEMORY;
    l->ctx = ctx;
    px_status st = px_model_open(ctx, path, &l->model);
    if (!st) st = px_hparams_load(l->model, &l->hp);
    if (!st) st = px_tokenizer_create(l->model, &l->tok);
    if (st) goto fail;
    resolve_params(&l->hp, &p, &l->n_ctx, &l->n_batch, &l->cache_type);
    px_graph *g = NULL;
    st = px_arch_build_graph(l->model, &l->hp, l->n_ctx, l->n_batch, l->cache_type, &g);
    if (st) goto fail;
    px_program_options po = px_program_options_default();
    po.order = p.order;
    po.offload_layers = p.offload_layers;
    st = px_program_create(ctx, g, &po, &l->prog);
    px_graph_destroy(g);
    if (st) goto fail;
    l->pos = px_malloc(sizeof(int32_t) * (size_t)l->n_batch);
    l->rows = px_malloc(sizeof(int32_t) * (size_t)l->n_batch);
    l->cap_rows = 1;
    l->logits = px_malloc(sizeof(float) * (size_t)l->hp.n_vocab);
    if (!l->pos || !l->rows || !l->logits) {
        st = PX_ERR_NO_MEMORY;
        goto fail;
    }
    *out = l;
    return PX_OK;
fail:
    px_llm_free(l);
    return st;
}

void px_llm_free(px_llm *l) {
    if (!l) return;
    px_program_destroy(l->prog);
    px_tokenizer_destroy(l->tok);
    px_model_close(l->model);
    free(l->pos);
    free(l->rows);
    free(l->logits);
    free(l);
}

px_model *px_llm_model(const px_llm *l) { return l->model; }
const px_tokenizer *px_llm_tokenizer(const px_llm *l) { return l->tok; }
const char *px_llm_arch(const px_llm *l) { return l->hp.arch; }
int32_t px_llm_n_vocab(const px_llm *l) { return (int32_t)l->hp.n_vocab; }
int32_t px_llm_n_ctx(const px_llm *l) { return l->n_ctx; }
int32_t px_llm_n_ctx_train(const px_llm *l) { return (int32_t)l->hp.n_ctx_train; }
int32_t px_llm_n_past(const px_llm *l) { return l->n_past; }
px_program *px_llm_program(const px_llm *l) { return l->prog; }

px_status px_llm_truncate(px_llm *l, int32_t n) {
    if (!l || n < 0 || n > l->n_past) return px_set_error(PX_ERR_INVALID_ARG, "px_llm_truncate: bad position");
    l->n_past = n; /* rows >= n are overwritten before they are read again */
    l->n_rows = 0;
    return PX_OK;
}

px_status px_llm_decode(px_llm *l, const int32_t *tokens, int32_t n, int all_logits) {
    if (!l || (!tokens && n) || n < 0) return px_set_error(PX_ERR_INVALID_ARG, "px_llm_decode: bad arguments");
    if (n == 0) return PX_OK;
    if ((int64_t)l->n_past + n > l->n_ctx)
        return px_set_error(PX_ERR_RANGE,
                            "context is full: %d tokens in use + %d new > %d (-c); start again or raise -c "
                            "(the model was trained for %lld)",
                            l->n_past, n, l->n_ctx, (long long)l->hp.n_ctx_train);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= l->hp.n_vocab)
            return px_set_error(PX_ERR_INVALID_ARG, "token id %d is out of range (vocabulary of %lld)", tokens[i],
                                (long long)l->hp.n_vocab);
    int32_t want_rows = all_logits ? n : 1;
    if (want_rows > l->cap_rows) {
        float *nl = px_realloc_array(l->logits, (size_t)want_rows * (size_t)l->hp.n_vocab, sizeof(float));
        if (!nl) return PX_ERR_NO_MEMORY;
        l->logits = nl;
        l->cap_rows = want_rows;
    }
    l->n_rows = 0;
    l->first_row = all_logits ? 0 : n - 1;
    const size_t vb = sizeof(float) * (size_t)l->hp.n_vocab;
    for (int32_t done = 0; done < n;) {
        int32_t c = n - done < l->n_batch ? n - done : l->n_batch;
        int last_chunk = done + c == n;
        int32_t n_out = all_logits ? c : 1;
        for (int32_t i = 0; i < c; i++) l->pos[i] = l->n_past + i;
        for (int32_t i = 0; i < n_out; i++) l->rows[i] = all_logits ? i : c - 1;
        px_status st;
        if ((st = px_program_set_sym(l->prog, "n_tokens", c)) || (st = px_program_set_sym(l->prog, "n_out", n_out)) ||
            (st = px_program_set_input(l->prog, "tokens", tokens + done, sizeof(int32_t) * (size_t)c)) ||
            (st = px_program_set_input(l->prog, "positions", l->pos, sizeof(int32_t) * (size_t)c)) ||
            (st = px_program_set_input(l->prog, "out_rows", l->rows, sizeof(int32_t) * (size_t)n_out)))
            return st;
        /* Chunks whose logits are not wanted still need a run (they fill the
         * cache); their one output row is simply not kept. */
        if ((st = px_program_run(l->prog))) return st;
        if (all_logits) {
            if ((st = px_program_get_output(l->prog, "logits", l->logits + (size_t)done * l->hp.n_vocab, vb * (size_t)c)))
                return st;
        } else if (last_chunk) {
            if ((st = px_program_get_output(l->prog, "logits", l->logits, vb))) return st;
        }
        l->n_past += c;
        done += c;
    }
    l->n_rows = want_rows;
    return PX_OK;
}

const float *px_llm_logits(const px_llm *l, int32_t i) {
    if (!l || l->n_rows == 0) return NULL;
    int32_t n_tok = l->first_row + l->n_rows; /* tokens of the last decode */
    if (i < 0) i = n_tok - 1;
    if (i < l->first_row || i >= n_tok) return NULL;
    return l->logits + (size_t)(i - l->first_row) * (size_t)l->hp.n_vocab;
}
