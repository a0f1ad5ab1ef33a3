/* Options and helpers shared by the commands that load a language model
 * (run, chat, logits): -m, -c, -b, --cache-type, -ngl, --device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void px_cli_llm_init(px_cli_llm *o) {
    memset(o, 0, sizeof *o);
    o->params = px_llm_params_default();
}

static int int_arg(const char *opt, const char *val, long lo, long hi, int32_t *out) {
    char *end;
    long n = strtol(val, &end, 10);
    if (*val == 0 || *end || n < lo || n > hi) {
        fprintf(stderr, "plexus: %s expects an integer in %ld..%ld, got '%s'\n", opt, lo, hi, val);
        return -1;
    }
    *out = (int32_t)n;
    return 1;
}

int px_cli_cache_type(const char *s, px_dtype *out) {
    if (strcmp(s, "f16") == 0 || strcmp(s, "F16") == 0) *out = PX_F16;
    else if (strcmp(s, "f32") == 0 || strcmp(s, "F32") == 0) *out = PX_F32;
    else if (strcmp(s, "q8_0") == 0 || strcmp(s, "Q8_0") == 0) *out = PX_Q8_0;
    else return -1;
    return 0;
}

int px_cli_llm_arg(px_cli_llm *o, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    int has_val = *i + 1 < argc;
#define IS(x) (strcmp(a, (x)) == 0)
    if (!(IS("-m") || IS("--model") || IS("-c") || IS("--ctx-size") || IS("-b") || IS("--batch-size") ||
          IS("-ub") || IS("--ubatch-size") || IS("--cache-type") || IS("-ctk") || IS("--cache-type-k") ||
          IS("-ctv") || IS("--cache-type-v") || IS("-ngl") || IS("--n-gpu-layers") || IS("--gpu-layers") ||
          IS("--device") || IS("-dev") || IS("-hf") || IS("--hf-repo")))
        return 0;
    if (!has_val) {
        fprintf(stderr, "plexus: option %s needs a value\n", a);
        return -1;
    }
    const char *v = argv[++*i];
    if (IS("-m") || IS("--model")) o->model = v;
    else if (IS("-hf") || IS("--hf-repo")) o->hf = v;
    else if (IS("-c") || IS("--ctx-size")) return int_arg(a, v, 0, 1 << 24, &o->params.n_ctx);
    else if (IS("-b") || IS("--batch-size") || IS("-ub") || IS("--ubatch-size"))
        return int_arg(a, v, 1, 1 << 20, &o->params.n_batch);
    else if (IS("-ngl") || IS("--n-gpu-layers") || IS("--gpu-layers")) {
        if (strcmp(v, "all") == 0 || strcmp(v, "auto") == 0) o->params.offload_layers = -1;
        else return int_arg(a, v, 0, 1 << 16, &o->params.offload_layers);
    } else if (IS("--device") || IS("-dev")) o->params.order = v;
    else if (px_cli_cache_type(v, &o->params.cache_type)) {
        fprintf(stderr, "plexus: %s expects f16, f32 or q8_0, got '%s'\n", a, v);
        return -1;
    }
#undef IS
    return 1;
}

int px_cli_llm_load(px_cli_llm *o, px_context *ctx, px_llm **out) {
    const char *path = o->model;
    char *dl = NULL;
    if (!path && o->hf) {
        if (px_hf_resolve(o->hf, 0, &dl)) return -1;
        path = dl;
    }
    if (!path) {
        fprintf(stderr, "plexus: no model given (-m FILE or -hf REPO/FILE)\n");
        return -1;
    }
    px_status st = px_llm_load(ctx, path, &o->params, out);
    free(dl);
    if (st) {
        fprintf(stderr, "plexus: %s\n", px_last_error());
        return -1;
    }
    return 0;
}

int px_cli_tokenize(const px_llm *llm, const char *text, int add_special, int32_t **ids, int32_t *n) {
    size_t len = strlen(text);
    int32_t cap = (int32_t)(len < 0x3fffff00 ? len : 0x3fffff00) + 8;
    *ids = malloc(sizeof **ids * (size_t)cap);
    if (!*ids || px_tokenize(px_llm_tokenizer(llm), text, len, add_special, 1, *ids, cap, n)) {
        fprintf(stderr, "plexus: %s\n", *ids ? px_last_error() : "out of memory");
        free(*ids);
        *ids = NULL;
        return -1;
    }
    return 0;
}

char *px_cli_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    for (size_t k; b && (k = fread(b + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap) {
            char *nb = realloc(b, (cap *= 2) + 1);
            if (!nb) free(b);
            b = nb;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!b || err) {
        free(b);
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}
