/* Architecture builders: hyperparameters from metadata, the building blocks
 * the per-architecture files share, and the dispatch by architecture name. */
#include "arch.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ---- metadata ------------------------------------------------------------- */

static int meta_num(const px_model *m, const char *key, double *out) {
    px_meta_value v;
    if (px_model_meta_find(m, key, &v) != PX_OK) return 0;
    switch (v.type) {
    case PX_META_U8: case PX_META_U16: case PX_META_U32: case PX_META_U64: case PX_META_BOOL:
        *out = (double)v.u.u64;
        return 1;
    case PX_META_I8: case PX_META_I16: case PX_META_I32: case PX_META_I64:
        *out = (double)v.u.i64;
        return 1;
    case PX_META_F32: case PX_META_F64:
        *out = v.u.f64;
        return 1;
    default:
        return -1; /* present, not a number */
    }
}

/* "<arch>.<key>" as a number; def when absent (required: error). */
static px_status hp_num(const px_model *m, const char *arch, const char *key, int required, double def,
                        double *out) {
    char full[160];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    px_clear_error();
    int r = meta_num(m, full, out);
    if (r == 1) return PX_OK;
    if (r < 0) return px_set_error(PX_ERR_FORMAT, "%s: metadata %s is not a number", px_model_path(m), full);
    if (required) return px_set_error(PX_ERR_FORMAT, "%s: metadata %s is missing", px_model_path(m), full);
    *out = def;
    return PX_OK;
}

static px_status hp_int(const px_model *m, const char *arch, const char *key, int required, int64_t def,
                        int64_t lo, int64_t hi, int64_t *out) {
    double d = 0;
    px_status st = hp_num(m, arch, key, required, (double)def, &d);
    if (st) return st;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d))
        return px_set_error(PX_ERR_FORMAT, "%s: metadata %s.%s = %g is out of range [%lld, %lld]", px_model_path(m),
                            arch, key, d, (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return PX_OK;
}

static const struct {
    const char *name;
    px_status (*build)(px_arch_build *b);
    int32_t rope_mode;
} archs[] = {
    {"llama", px_arch_llama, 0},
    {"qwen2", px_arch_qwen2, 2},
    {"phi3", px_arch_phi3, 2},
    {"gemma2", px_arch_gemma2, 2},
};

static int arch_index(const char *name) {
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (strcmp(archs[i].name, name) == 0) return (int)i;
    return -1;
}

static int64_t tensor_rows(const px_model *m, const char *name) {
    int64_t n = px_model_tensor_count(m);
    for (int64_t i = 0; i < n; i++) {
        px_tensor_info ti;
        if (px_model_tensor_get(m, i, &ti) == PX_OK && strcmp(ti.name, name) == 0) return ti.rank >= 1 ? ti.ne[0] : -1;
    }
    return -1;
}

px_status px_hparams_load(const px_model *m, px_hparams *hp) {
    memset(hp, 0, sizeof *hp);
    const char *path = px_model_path(m);
    px_meta_value v;
    if (px_model_meta_find(m, "general.architecture", &v) != PX_OK || v.type != PX_META_STRING)
        return px_set_error(PX_ERR_FORMAT, "%s: no general.architecture", path);
    if (v.u.str.len == 0 || v.u.str.len >= sizeof hp->arch)
        return px_set_error(PX_ERR_FORMAT, "%s: bad general.architecture", path);
    memcpy(hp->arch, v.u.str.ptr, v.u.str.len);
    int ai = arch_index(hp->arch);
    if (ai < 0)
        return px_set_error(PX_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (supported: llama, qwen2, phi3, gemma2)",
                            path, hp->arch);
    const char *a = hp->arch;
    const int64_t BIG = (int64_t)1 << 31;
    px_status st;
    if ((st = hp_int(m, a, "embedding_length", 1, 0, 1, 1 << 20, &hp->n_embd)) ||
        (st = hp_int(m, a, "block_count", 1, 0, 1, 4096, &hp->n_layer)) ||
        (st = hp_int(m, a, "feed_forward_length", 1, 0, 1, BIG, &hp->n_ff)) ||
        (st = hp_int(m, a, "attention.head_count", 1, 0, 1, 1 << 16, &hp->n_head)) ||
        (st = hp_int(m, a, "attention.head_count_kv", 0, hp->n_head, 1, hp->n_head, &hp->n_head_kv)) ||
        (st = hp_int(m, a, "context_length", 0, 2048, 1, BIG, &hp->n_ctx_train)))
        return st;
    if (hp->n_head % hp->n_head_kv)
        return px_set_error(PX_ERR_FORMAT, "%s: head_count %lld is not a multiple of head_count_kv %lld", path,
                            (long long)hp->n_head, (long long)hp->n_head_kv);
    int64_t hd = hp->n_embd / hp->n_head;
    if ((st = hp_int(m, a, "attention.key_length", 0, hd, 1, 1 << 16, &hp->head_dim_k)) ||
        (st = hp_int(m, a, "attention.value_length", 0, hd, 1, 1 << 16, &hp->head_dim_v)) ||
        (st = hp_int(m, a, "rope.dimension_count", 0, hp->head_dim_k, 2, hp->head_dim_k, &hp->n_rot)))
        return st;
    if (hp->n_rot % 2) return px_set_error(PX_ERR_FORMAT, "%s: %s.rope.dimension_count must be even", path, a);
    double eps, base, scale = 1, fscale;
    if ((st = hp_num(m, a, "attention.layer_norm_rms_epsilon", 1, 0, &eps)) ||
        (st = hp_num(m, a, "rope.freq_base", 0, 10000.0, &base)) ||
        (st = hp_num(m, a, "rope.scale_linear", 0, 1.0, &scale)) ||
        (st = hp_num(m, a, "rope.scaling.factor", 0, 0.0, &fscale)))
        return st;
    px_meta_value stype;
    char key[96];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a);
    if (px_model_meta_find(m, key, &stype) == PX_OK && stype.type == PX_META_STRING &&
        stype.u.str.len == 6 && memcmp(stype.u.str.ptr, "linear", 6) == 0 && fscale > 0)
        scale = fscale;
    if (!(eps > 0 && eps < 1) || !(base > 0) || !(scale > 0))
        return px_set_error(PX_ERR_FORMAT, "%s: bad rms epsilon, rope base or rope scale", path);
    hp->rms_eps = eps;
    hp->rope_base = base;
    hp->rope_scale = 1.0 / scale;
    hp->rope_mode = archs[ai].rope_mode;
    if ((st = hp_num(m, a, "attn_logit_softcapping", 0, 0.0, &hp->attn_softcap)) ||
        (st = hp_num(m, a, "final_logit_softcapping", 0, 0.0, &hp->final_softcap)) ||
        (st = hp_int(m, a, "attention.sliding_window", 0, 0, 0, BIG, &hp->sliding_window)))
        return st;
    if (hp->attn_softcap < 0 || hp->final_softcap < 0)
        return px_set_error(PX_ERR_FORMAT, "%s: negative logit soft-capping", path);
    /* The vocabulary size: the embedding's rows (tokenizer arrays may be
     * padded or absent). */
    hp->n_vocab = tensor_rows(m, "token_embd.weight");
    if (hp->n_vocab < 1) return px_set_error(PX_ERR_FORMAT, "%s: no token_embd.weight tensor", path);
    return PX_OK;
}

/* ---- blocks ---------------------------------------------------------------- */

static px_value weight_v(px_arch_build *b, int required, int32_t rank, const int64_t *ne, const char *fmt,
                         va_list ap) {
    char name[160];
    vsnprintf(name, sizeof name, fmt, ap);
    if (px_graph_status(b->g)) return PX_NONE;
    px_value have = px_graph_find_value(b->g, name);
    if (have != PX_NONE) return have; /* shared (e.g. tied embeddings) */
    int64_t n = px_model_tensor_count(b->model);
    for (int64_t i = 0; i < n; i++) {
        px_tensor_info ti;
        if (px_model_tensor_get(b->model, i, &ti) != PX_OK || strcmp(ti.name, name) != 0) continue;
        int ok = !ne || ti.rank == rank;
        for (int32_t d = 0; ok && d < rank; d++) ok = ti.ne[d] == ne[d];
        if (!ok) {
            char want[96] = "", got[96] = "";
            for (int32_t d = 0; d < rank; d++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? "x" : "", (long long)ne[d]);
            for (int32_t d = 0; d < ti.rank; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? "x" : "", (long long)ti.ne[d]);
            px_set_error(PX_ERR_FORMAT, "%s: tensor %s has shape %s, the %s architecture needs %s",
                         px_model_path(b->model), name, got, b->hp->arch, want);
            b->failed = 1;
            snprintf(b->msg, sizeof b->msg, "%s", px_last_error());
            return PX_NONE;
        }
        px_shape s = px_shape_make(ti.rank, ti.ne);
        return px_graph_constant(b->g, name, ti.dtype, &s, ti.data, ti.nbytes, PX_CONST_BORROW);
    }
    if (required && !b->failed) {
        px_set_error(PX_ERR_FORMAT, "%s: tensor %s is missing (architecture %s)", px_model_path(b->model), name,
                     b->hp->arch);
        b->failed = 1;
        snprintf(b->msg, sizeof b->msg, "%s", px_last_error());
    }
    return PX_NONE;
}

px_value px_arch_weight(px_arch_build *b, int32_t rank, const int64_t *ne, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    px_value v = weight_v(b, 1, rank, ne, fmt, ap);
    va_end(ap);
    return v;
}

px_value px_arch_weight_opt(px_arch_build *b, int32_t rank, const int64_t *ne, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    px_value v = weight_v(b, 0, rank, ne, fmt, ap);
    va_end(ap);
    return v;
}

px_value px_arch_linear(px_arch_build *b, px_value x, px_value w, px_value bias) {
    if (b->failed || x == PX_NONE || w == PX_NONE) return PX_NONE;
    px_value in[3] = {x, w, bias};
    px_attr at[] = {PX_ATTR_I("trans_b", 1)};
    return px_graph_node(b->g, PX_OP_MATMUL, in, bias == PX_NONE ? 2 : 3, at, 1, NULL);
}

px_value px_arch_rms_norm(px_arch_build *b, px_value x, px_value w) {
    if (b->failed || x == PX_NONE) return PX_NONE;
    px_value in[2] = {x, w};
    px_attr at[] = {PX_ATTR_F("eps", b->hp->rms_eps)};
    return px_graph_node(b->g, PX_OP_RMS_NORM, in, 2, at, 1, NULL);
}

px_value px_arch_embed(px_arch_build *b, px_value tok_embd) {
    if (b->failed || tok_embd == PX_NONE) return PX_NONE;
    px_value in[2] = {tok_embd, b->tokens};
    px_value x = px_graph_node(b->g, PX_OP_GATHER, in, 2, NULL, 0, "embd");
    px_value_info vi;
    if (x == PX_NONE || px_graph_value_info(b->g, x, &vi) != PX_OK) return PX_NONE;
    if (vi.dtype != PX_F32) {
        px_attr at[] = {PX_ATTR_I("dtype", PX_F32)};
        x = px_graph_node(b->g, PX_OP_CAST, &x, 1, at, 1, "embd_f32");
    }
    return x;
}

static px_value reshape3(px_arch_build *b, px_value x, int64_t h, int64_t d) {
    px_shape s = {.rank = 3};
    s.d[0] = px_dim_s(px_graph_find_sym(b->g, "n_tokens"));
    s.d[1] = px_dim_c(h);
    s.d[2] = px_dim_c(d);
    return px_graph_reshape(b->g, x, &s, NULL);
}

static px_value reshape2(px_arch_build *b, px_value x, int64_t w) {
    px_shape s = {.rank = 2};
    s.d[0] = px_dim_s(px_graph_find_sym(b->g, "n_tokens"));
    s.d[1] = px_dim_c(w);
    return px_graph_reshape(b->g, x, &s, NULL);
}

px_value px_arch_attention(px_arch_build *b, int32_t il, px_value q, px_value k, px_value v, px_value freq_factors,
                           int64_t window, double softcap, double scale) {
    if (b->failed || q == PX_NONE || k == PX_NONE || v == PX_NONE) return PX_NONE;
    const px_hparams *hp = b->hp;
    px_graph *g = b->g;
    q = reshape3(b, q, hp->n_head, hp->head_dim_k);
    k = reshape3(b, k, hp->n_head_kv, hp->head_dim_k);
    v = reshape3(b, v, hp->n_head_kv, hp->head_dim_v);
    px_attr ra[] = {PX_ATTR_I("n_dims", hp->n_rot), PX_ATTR_I("mode", hp->rope_mode),
                    PX_ATTR_F("freq_base", hp->rope_base), PX_ATTR_F("freq_scale", hp->rope_scale)};
    px_value qi[3] = {q, b->positions, freq_factors};
    q = px_graph_node(g, PX_OP_ROPE, qi, freq_factors == PX_NONE ? 2 : 3, ra, 4, NULL);
    px_value ki[3] = {k, b->positions, freq_factors};
    k = px_graph_node(g, PX_OP_ROPE, ki, freq_factors == PX_NONE ? 2 : 3, ra, 4, NULL);
    char name[48];
    snprintf(name, sizeof name, "cache_k.%d", il);
    px_shape ks = px_shape_make(3, (int64_t[]){b->n_ctx, hp->n_head_kv, hp->head_dim_k});
    px_value kc = px_graph_state(g, name, b->cache_type, &ks);
    snprintf(name, sizeof name, "cache_v.%d", il);
    px_shape vs = px_shape_make(3, (int64_t[]){b->n_ctx, hp->n_head_kv, hp->head_dim_v});
    px_value vc = px_graph_state(g, name, b->cache_type, &vs);
    if (scale <= 0) scale = 1.0 / sqrt((double)hp->head_dim_k);
    px_attr aa[] = {PX_ATTR_I("causal", 1), PX_ATTR_I("window", window), PX_ATTR_F("softcap", softcap),
                    PX_ATTR_F("scale", scale)};
    px_value ai[6] = {q, k, v, kc, vc, b->positions};
    px_value o = px_graph_node(g, PX_OP_ATTENTION, ai, 6, aa, 4, NULL);
    return reshape2(b, o, hp->n_head * hp->head_dim_v);
}

px_value px_arch_cols(px_arch_build *b, px_value x, int64_t c0, int64_t c1) {
    if (b->failed || x == PX_NONE) return PX_NONE;
    int64_t st[] = {c0}, en[] = {c1}, ax[] = {1};
    px_attr at[] = {PX_ATTR_INTS("starts", st, 1), PX_ATTR_INTS("ends", en, 1), PX_ATTR_INTS("axes", ax, 1)};
    return px_graph_node(b->g, PX_OP_SLICE, &x, 1, at, 3, NULL);
}

px_value px_arch_head(px_arch_build *b, px_value x, px_value norm_w, px_value out_w) {
    if (b->failed || x == PX_NONE) return PX_NONE;
    px_graph_set_group(b->g, -1);
    px_value gi[2] = {x, b->out_rows};
    x = px_graph_node(b->g, PX_OP_GATHER, gi, 2, NULL, 0, "out_rows_hidden");
    x = px_arch_rms_norm(b, x, norm_w);
    x = px_arch_linear(b, x, out_w, PX_NONE);
    if (b->hp->final_softcap > 0) {
        double c = b->hp->final_softcap;
        px_attr s1[] = {PX_ATTR_F("scale", 1.0 / c)};
        x = px_graph_node(b->g, PX_OP_SCALE, &x, 1, s1, 1, NULL);
        x = px_graph_node(b->g, PX_OP_TANH, &x, 1, NULL, 0, NULL);
        px_attr s2[] = {PX_ATTR_F("scale", c)};
        x = px_graph_node(b->g, PX_OP_SCALE, &x, 1, s2, 1, NULL);
    }
    return x;
}

px_value px_arch_proj(px_arch_build *b, px_value h, int32_t il, const char *name, int64_t out, int64_t in, int bias) {
    px_value w = px_arch_weight(b, 2, (int64_t[]){out, in}, "blk.%d.%s.weight", il, name);
    px_value bv = bias ? px_arch_weight(b, 1, (int64_t[]){out}, "blk.%d.%s.bias", il, name) : PX_NONE;
    return px_arch_linear(b, h, w, bv);
}

px_value px_arch_layer_norm(px_arch_build *b, px_value x, int32_t il, const char *name, int64_t width) {
    return px_arch_rms_norm(b, x, px_arch_weight(b, 1, (int64_t[]){width}, "blk.%d.%s.weight", il, name));
}

px_value px_arch_add(px_arch_build *b, px_value x, px_value y) {
    if (b->failed || x == PX_NONE || y == PX_NONE) return PX_NONE;
    return px_graph_node(b->g, PX_OP_ADD, (px_value[]){x, y}, 2, NULL, 0, NULL);
}

px_value px_arch_ffn_swiglu(px_arch_build *b, px_value h, int32_t il) {
    const int64_t E = b->hp->n_embd, F = b->hp->n_ff;
    px_value gt = px_arch_proj(b, h, il, "ffn_gate", F, E, 0);
    px_value up = px_arch_proj(b, h, il, "ffn_up", F, E, 0);
    if (b->failed || gt == PX_NONE || up == PX_NONE) return PX_NONE;
    px_value f = px_graph_node(b->g, PX_OP_SWIGLU, (px_value[]){gt, up}, 2, NULL, 0, NULL);
    return px_arch_proj(b, f, il, "ffn_down", E, F, 0);
}

px_status px_arch_finish(px_arch_build *b, px_value x, px_value tok_embd) {
    const px_hparams *hp = b->hp;
    px_value out = px_arch_weight_opt(b, 2, (int64_t[]){hp->n_vocab, hp->n_embd}, "output.weight");
    px_value norm = px_arch_weight(b, 1, (int64_t[]){hp->n_embd}, "output_norm.weight");
    px_value logits = px_arch_head(b, x, norm, out != PX_NONE ? out : tok_embd);
    if (b->failed || logits == PX_NONE) return px_graph_status(b->g) ? px_graph_status(b->g) : PX_ERR_FORMAT;
    return px_graph_mark_output(b->g, logits, "logits");
}

/* ---- dispatch --------------------------------------------------------------- */

px_status px_arch_build_graph(const px_model *m, const px_hparams *hp, int64_t n_ctx, int64_t n_batch,
                              px_dtype cache_type, px_graph **out) {
    *out = NULL;
    int ai = arch_index(hp->arch);
    if (ai < 0) return px_set_error(PX_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported", px_model_path(m), hp->arch);
    if (n_ctx < 1 || n_batch < 1) return px_set_error(PX_ERR_INVALID_ARG, "n_ctx and n_batch must be >= 1");
    px_graph *g = NULL;
    px_status st = px_graph_create(&g);
    if (st) return st;
    px_arch_build b = {.model = m, .hp = hp, .n_ctx = n_ctx, .n_batch = n_batch, .cache_type = cache_type, .g = g};
    int32_t s_tok = px_graph_add_sym(g, "n_tokens", n_batch);
    int32_t s_out = px_graph_add_sym(g, "n_out", n_batch);
    px_shape ts = {.rank = 1, .d = {px_dim_s(s_tok)}};
    px_shape os = {.rank = 1, .d = {px_dim_s(s_out)}};
    b.tokens = px_graph_input(g, "tokens", PX_I32, &ts);
    b.positions = px_graph_input(g, "positions", PX_I32, &ts);
    b.out_rows = px_graph_input(g, "out_rows", PX_I32, &os);
    st = archs[ai].build(&b);
    if (b.failed) st = px_set_error(PX_ERR_FORMAT, "%s", b.msg);
    if (!st) st = px_graph_status(g);
    if (!st) st = px_graph_validate(g);
    if (st) {
        px_graph_destroy(g);
        return st;
    }
    *out = g;
    return PX_OK;
}
