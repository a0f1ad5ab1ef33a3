/* plexus info (-m FILE | -hf SPEC [--hf-file FILE]) [--json]: describe a model file before loading it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "hf.h"

typedef struct info {
    const char *format;
    char arch[64], name[128], tok_model[32];
    int64_t n_tensors, vocab;
    uint64_t params, weight_bytes, file_size;
    int64_t dt_count[PX_DTYPE_COUNT];
    uint64_t dt_bytes[PX_DTYPE_COUNT];
    int64_t ctx;             /* -c, else the model's context_length */
    px_dtype cache_type;     /* --cache-type */
    uint64_t kv_bytes;       /* K and V cache for ctx tokens, 0 if unknown */
    px_llm_memory dev[16];   /* planned per device (px_llm_estimate) */
    int32_t n_dev;
    int64_t batch;
    char plan_error[256];    /* why there is no plan */
} info;

static const char *const hparams[] = {"context_length", "embedding_length", "block_count", "attention.head_count",
                                      "attention.head_count_kv", "feed_forward_length", "rope.freq_base"};
#define N_HPARAMS (sizeof hparams / sizeof *hparams)

static void meta_text(const px_model *m, const char *key, char *out, size_t cap) {
    px_meta_value v;
    out[0] = 0;
    if (px_model_meta_find(m, key, &v) == PX_OK && v.type == PX_META_STRING)
        snprintf(out, cap, "%.*s", (int)(v.u.str.len < cap ? v.u.str.len : cap - 1), v.u.str.ptr);
}

/* Numeric metadata as double; 0 if absent or not a number. */
static int meta_num(const px_model *m, const char *key, double *out) {
    px_meta_value v;
    if (px_model_meta_find(m, key, &v) != PX_OK) return 0;
    switch (v.type) {
    case PX_META_U8: case PX_META_U16: case PX_META_U32: case PX_META_U64: case PX_META_BOOL: *out = (double)v.u.u64; return 1;
    case PX_META_I8: case PX_META_I16: case PX_META_I32: case PX_META_I64: *out = (double)v.u.i64; return 1;
    case PX_META_F32: case PX_META_F64: *out = v.u.f64; return 1;
    default: return 0;
    }
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static int collect(const px_model *m, const char *path, info *in) {
    int64_t ctx = in->ctx;
    px_dtype ct = in->cache_type;
    int64_t batch = in->batch;
    memset(in, 0, sizeof *in);
    in->ctx = ctx;
    in->cache_type = ct;
    in->batch = batch;
    in->format = px_model_format(m);
    struct stat sb;
    if (stat(path, &sb) == 0) in->file_size = (uint64_t)sb.st_size;
    meta_text(m, "general.architecture", in->arch, sizeof in->arch);
    meta_text(m, "general.name", in->name, sizeof in->name);
    meta_text(m, "tokenizer.ggml.model", in->tok_model, sizeof in->tok_model);
    px_meta_value v;
    in->vocab = px_model_meta_find(m, "tokenizer.ggml.tokens", &v) == PX_OK && v.type == PX_META_ARRAY ? (int64_t)v.n : 0;
    /* KV cache: layers x ctx x kv heads x head dim, for K and V. */
    double layers = 0, heads = 0, heads_kv = 0, embd = 0, kdim = 0, vdim = 0, ctx_len = 0;
    char key[160];
#define ARCH_NUM(suffix, var) (snprintf(key, sizeof key, "%s.%s", in->arch, suffix), meta_num(m, key, &(var)))
    if (in->arch[0] && ARCH_NUM("block_count", layers) && ARCH_NUM("attention.head_count", heads) &&
        ARCH_NUM("embedding_length", embd) && heads > 0) {
        if (!ARCH_NUM("attention.head_count_kv", heads_kv)) heads_kv = heads;
        if (!ARCH_NUM("attention.key_length", kdim)) kdim = embd / heads;
        if (!ARCH_NUM("attention.value_length", vdim)) vdim = embd / heads;
        if (!in->ctx && ARCH_NUM("context_length", ctx_len)) in->ctx = (int64_t)ctx_len;
        if (in->ctx > 0) {
            int64_t krow = px_dtype_row_size(in->cache_type, (int64_t)(heads_kv * kdim));
            int64_t vrow = px_dtype_row_size(in->cache_type, (int64_t)(heads_kv * vdim));
            if (krow > 0 && vrow > 0) in->kv_bytes = (uint64_t)layers * (uint64_t)in->ctx * (uint64_t)(krow + vrow);
        }
    }
#undef ARCH_NUM
    in->n_tensors = px_model_tensor_count(m);
    for (int64_t i = 0; i < in->n_tensors; i++) {
        px_tensor_info t;
        if (px_model_tensor_get(m, i, &t) != PX_OK) return 0;
        uint64_t n = 1;
        for (int32_t d = 0; d < t.rank; d++) n *= (uint64_t)t.ne[d];
        in->params += n;
        in->weight_bytes += t.nbytes;
        if ((int)t.dtype >= 0 && t.dtype < PX_DTYPE_COUNT) {
            in->dt_count[t.dtype]++;
            in->dt_bytes[t.dtype] += t.nbytes;
        }
    }
    return 1;
}

static void print_text(const px_model *m, const char *path, const info *in) {
    printf("file:        %s (%.2f MiB)\n", path, (double)in->file_size / (1 << 20));
    printf("format:      %s\n", in->format);
    printf("arch:        %s\n", in->arch[0] ? in->arch : "(not given)");
    if (in->name[0]) printf("name:        %s\n", in->name);
    printf("parameters:  %llu (%.2f M)\n", (unsigned long long)in->params, (double)in->params / 1e6);
    printf("weights:     %llu bytes in %lld tensors\n", (unsigned long long)in->weight_bytes, (long long)in->n_tensors);
    for (int t = 0; t < PX_DTYPE_COUNT; t++)
        if (in->dt_count[t])
            printf("  %-7s %5lld tensors %12llu bytes\n", px_dtype_name((px_dtype)t), (long long)in->dt_count[t],
                   (unsigned long long)in->dt_bytes[t]);
    if (in->tok_model[0]) printf("tokenizer:   %s, %lld tokens\n", in->tok_model, (long long)in->vocab);
    for (size_t i = 0; i < N_HPARAMS && in->arch[0]; i++) {
        char key[160];
        double d;
        snprintf(key, sizeof key, "%s.%s", in->arch, hparams[i]);
        if (meta_num(m, key, &d)) printf("%-12s %g\n", hparams[i], d);
    }
    printf("metadata:    %lld keys\n", (long long)px_model_meta_count(m));
    if (in->kv_bytes)
        printf("memory:      weights %.2f MiB (mapped from the file), KV cache %.2f MiB at -c %lld (%s)\n",
               (double)in->weight_bytes / (1 << 20), (double)in->kv_bytes / (1 << 20), (long long)in->ctx,
               px_dtype_name(in->cache_type));
    if (in->n_dev > 0) {
        printf("plan:        per device at -c %lld -b %lld (nothing allocated):\n", (long long)in->ctx,
               (long long)(in->batch < in->ctx ? in->batch : in->ctx));
        for (int32_t i = 0; i < in->n_dev && i < 16; i++)
            printf("  %-10s weights %9.2f MiB, KV cache %8.2f MiB, compute arena %8.2f MiB\n", in->dev[i].device,
                   (double)in->dev[i].weights / (1 << 20), (double)in->dev[i].kv_cache / (1 << 20),
                   (double)in->dev[i].arena / (1 << 20));
    } else if (in->plan_error[0]) {
        printf("plan:        none (%s)\n", in->plan_error);
    }
}

static void print_json(const px_model *m, const char *path, const info *in) {
    printf("{\"file\":");
    json_str(path);
    printf(",\"file_size\":%llu,\"format\":", (unsigned long long)in->file_size);
    json_str(in->format);
    printf(",\"architecture\":");
    json_str(in->arch);
    printf(",\"name\":");
    json_str(in->name);
    printf(",\"parameters\":%llu,\"weight_bytes\":%llu,\"tensors\":%lld,\"dtypes\":{", (unsigned long long)in->params,
           (unsigned long long)in->weight_bytes, (long long)in->n_tensors);
    int first = 1;
    for (int t = 0; t < PX_DTYPE_COUNT; t++) {
        if (!in->dt_count[t]) continue;
        printf("%s\"%s\":{\"tensors\":%lld,\"bytes\":%llu}", first ? "" : ",", px_dtype_name((px_dtype)t),
               (long long)in->dt_count[t], (unsigned long long)in->dt_bytes[t]);
        first = 0;
    }
    printf("},\"tokenizer\":{\"model\":");
    json_str(in->tok_model);
    printf(",\"vocab_size\":%lld},\"hparams\":{", (long long)in->vocab);
    first = 1;
    for (size_t i = 0; i < N_HPARAMS && in->arch[0]; i++) {
        char key[160];
        double d;
        snprintf(key, sizeof key, "%s.%s", in->arch, hparams[i]);
        if (!meta_num(m, key, &d)) continue;
        printf("%s\"%s\":%.17g", first ? "" : ",", hparams[i], d);
        first = 0;
    }
    printf("},\"metadata_keys\":%lld,\"memory\":{\"weights\":%llu,\"kv_cache\":%llu,\"context\":%lld,\"cache_type\":\"%s\"",
           (long long)px_model_meta_count(m), (unsigned long long)in->weight_bytes, (unsigned long long)in->kv_bytes,
           (long long)in->ctx, px_dtype_name(in->cache_type));
    printf(",\"batch\":%lld,\"devices\":[", (long long)in->batch);
    for (int32_t i = 0; i < in->n_dev && i < 16; i++)
        printf("%s{\"device\":\"%s\",\"weights\":%llu,\"kv_cache\":%llu,\"arena\":%llu}", i ? "," : "", in->dev[i].device,
               (unsigned long long)in->dev[i].weights, (unsigned long long)in->dev[i].kv_cache,
               (unsigned long long)in->dev[i].arena);
    printf("]}}\n");
}

int px_cmd_info(int argc, char **argv) {
    px_cli_common c = {0};
    const char *path = NULL;
    info in;
    memset(&in, 0, sizeof in);
    in.cache_type = PX_F16;
    const char *hf = NULL, *hf_file = NULL;
    in.batch = 512;
    const char *okeys[64], *ovals[64]; /* ONNX: --shape NAME=DIMS, --dim PARAM=N */
    char kbuf[64][300];
    int32_t n_opts = 0;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--shape") == 0 || strcmp(argv[i], "--dim") == 0) && i + 1 < argc) {
            const char *spec = argv[i + 1], *eq = strchr(spec, '=');
            if (!eq || eq == spec || n_opts >= 64 || eq - spec > 250) {
                fprintf(stderr, "plexus info: %s wants NAME=VALUE, got '%s'\n", argv[i], spec);
                return 2;
            }
            snprintf(kbuf[n_opts], sizeof kbuf[n_opts], "%s%.*s", argv[i][2] == 's' ? "shape." : "dim.", (int)(eq - spec), spec);
            okeys[n_opts] = kbuf[n_opts];
            ovals[n_opts++] = eq + 1;
            i++;
            continue;
        }
        if ((strcmp(argv[i], "-m") == 0 || strcmp(argv[i], "--model") == 0) && i + 1 < argc) {
            path = argv[++i];
            continue;
        }
        if ((strcmp(argv[i], "-hf") == 0 || strcmp(argv[i], "--hf-repo") == 0) && i + 1 < argc) {
            hf = argv[++i];
            continue;
        }
        if ((strcmp(argv[i], "-hff") == 0 || strcmp(argv[i], "--hf-file") == 0) && i + 1 < argc) {
            hf_file = argv[++i];
            continue;
        }
        if ((strcmp(argv[i], "-b") == 0 || strcmp(argv[i], "--batch-size") == 0) && i + 1 < argc) {
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            if (*end || v < 1 || v > (1ll << 20)) {
                fprintf(stderr, "plexus info: -b expects a token count 1..1048576, got '%s'\n", argv[i]);
                return 2;
            }
            in.batch = v;
            continue;
        }
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--ctx-size") == 0) && i + 1 < argc) {
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            if (*end || v < 1 || v > (1ll << 24)) {
                fprintf(stderr, "plexus info: -c expects a token count 1..16777216, got '%s'\n", argv[i]);
                return 2;
            }
            in.ctx = v;
            continue;
        }
        if ((strcmp(argv[i], "--cache-type") == 0 || strcmp(argv[i], "-ctk") == 0) && i + 1 < argc) {
            const char *t = argv[++i];
            if (strcmp(t, "f16") == 0) in.cache_type = PX_F16;
            else if (strcmp(t, "q8_0") == 0) in.cache_type = PX_Q8_0;
            else if (strcmp(t, "f32") == 0) in.cache_type = PX_F32;
            else {
                fprintf(stderr, "plexus info: --cache-type expects f16, q8_0 or f32, got '%s'\n", t);
                return 2;
            }
            continue;
        }
        int r = px_cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 2;
        if (r == 0) {
            fprintf(stderr, "plexus info: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if ((!path && !hf) || (hf_file && !hf)) {
        fprintf(stderr, "usage: plexus info (-m FILE | -hf OWNER/REPO[/FILE.gguf|:QUANT] [--hf-file FILE.gguf])\n"
                        "                   [-c CTX] [-b BATCH] [--cache-type f16|q8_0|f32] [--json]\n"
                        "       ONNX models: [--shape INPUT=1,3,224,224] [--dim PARAM=N] for inputs without fixed sizes\n");
        return 2;
    }
    char *dl = NULL;
    if (!path) {
        if (px_hf_resolve_file(hf, hf_file, c.verbose, &dl)) return 1;
        path = dl;
    }
    px_context *ctx = px_cli_context(&c);
    if (!ctx) {
        free(dl);
        return 1;
    }
    px_model *m = NULL;
    if (px_model_open(ctx, path, &m) != PX_OK) {
        fprintf(stderr, "plexus: %s\n", px_last_error());
        px_context_destroy(ctx);
        return 1;
    }
    if (strcmp(px_model_format(m), "onnx") == 0) {
        int rc = px_info_onnx(ctx, m, path, c.json, okeys, ovals, n_opts);
        px_model_close(m);
        px_context_destroy(ctx);
        free(dl);
        return rc;
    }
    int ok = collect(m, path, &in);
    if (!ok) fprintf(stderr, "plexus: %s\n", px_last_error());
    if (ok && in.arch[0]) {
        px_llm_params lp = px_llm_params_default();
        lp.n_ctx = (int32_t)in.ctx;
        lp.n_batch = (int32_t)in.batch;
        lp.cache_type = in.cache_type;
        if (px_llm_estimate(ctx, m, &lp, in.dev, 16, &in.n_dev) != PX_OK)
            snprintf(in.plan_error, sizeof in.plan_error, "%s", px_last_error());
    }
    if (ok && c.json) print_json(m, path, &in);
    else if (ok) print_text(m, path, &in);
    px_model_close(m);
    px_context_destroy(ctx);
    free(dl);
    return ok ? 0 : 1;
}
