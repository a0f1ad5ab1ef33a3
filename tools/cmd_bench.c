/* plexus bench -m FILE [-p 512] [-n 128] [-r 5] [-t N] [-o md|csv|json]:
 * prompt processing and generation speed with llama-bench's meaning.
 *   pp N: one batch of N prompt tokens, from an empty context;
 *   tg N: N tokens decoded one at a time, from an empty context.
 * Each test runs once to warm up, then -r times; the result is the mean and
 * standard deviation of tokens/s over the repetitions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct result {
    const char *test; /* "pp" or "tg" */
    int32_t n_prompt, n_gen;
    double avg_ts, stddev_ts, avg_ns, stddev_ns;
    double *samples_ts;
    int32_t reps;
} result;

/* Deterministic token ids (a fixed LCG), as llama-bench uses random ones. */
static void fill_tokens(int32_t *ids, int32_t n, int32_t n_vocab, int32_t bos) {
    uint32_t x = 12345;
    for (int32_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        ids[i] = (int32_t)((x >> 8) % (uint32_t)n_vocab);
    }
    if (n > 0 && bos >= 0) ids[0] = bos;
}

static int run_test(px_llm *llm, result *r, int32_t reps) {
    int32_t n = r->n_prompt ? r->n_prompt : r->n_gen;
    int32_t *ids = malloc(sizeof *ids * (size_t)(n ? n : 1));
    double *ns = malloc(sizeof *ns * (size_t)reps);
    r->samples_ts = malloc(sizeof *r->samples_ts * (size_t)reps);
    if (!ids || !ns || !r->samples_ts) {
        free(ids);
        free(ns);
        return -1;
    }
    fill_tokens(ids, n, px_llm_n_vocab(llm), px_tokenizer_bos(px_llm_tokenizer(llm)));
    for (int32_t rep = -1; rep < reps; rep++) { /* rep -1: warm-up */
        if (px_llm_truncate(llm, 0)) goto fail;
        double t0 = now_ns();
        if (r->n_prompt) {
            if (px_llm_decode(llm, ids, n, 0)) goto fail;
        } else {
            for (int32_t i = 0; i < n; i++)
                if (px_llm_decode(llm, &ids[i], 1, 0)) goto fail;
        }
        double t = now_ns() - t0;
        if (rep >= 0) {
            ns[rep] = t;
            r->samples_ts[rep] = n * 1e9 / t;
        }
    }
    double s = 0, s2 = 0, sn = 0, sn2 = 0;
    for (int32_t i = 0; i < reps; i++) {
        s += r->samples_ts[i];
        sn += ns[i];
    }
    r->avg_ts = s / reps;
    r->avg_ns = sn / reps;
    for (int32_t i = 0; i < reps; i++) {
        s2 += (r->samples_ts[i] - r->avg_ts) * (r->samples_ts[i] - r->avg_ts);
        sn2 += (ns[i] - r->avg_ns) * (ns[i] - r->avg_ns);
    }
    r->stddev_ts = reps > 1 ? sqrt(s2 / (reps - 1)) : 0;
    r->stddev_ns = reps > 1 ? sqrt(sn2 / (reps - 1)) : 0;
    r->reps = reps;
    free(ids);
    free(ns);
    return 0;
fail:
    fprintf(stderr, "plexus bench: %s\n", px_last_error());
    free(ids);
    free(ns);
    return -1;
}

static void json_escape(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

static void usage(void) {
    fprintf(stderr, "usage: plexus bench (-m FILE | -hf REPO/FILE) [-p N[,N..]] [-n N[,N..]] [-r REPS] [-t THREADS]\n"
                    "                    [-o md|csv|json] [--cache-type f16|q8_0|f32] [--config FILE.ini]\n"
                    "  pp N: one batch of N prompt tokens; tg N: N tokens one at a time (llama-bench's meaning).\n"
                    "  Defaults: -p 512 -n 128 -r 5. -p 0 or -n 0 skips that test.\n");
}

static int parse_list(const char *s, int32_t *out, int32_t cap) {
    int32_t k = 0;
    while (*s && k < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > (1 << 20)) return -1;
        out[k++] = (int32_t)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return k;
}

int px_cmd_bench(int argc, char **argv) {
    px_cli_common c = {0};
    px_cli_llm lo;
    px_cli_llm_init(&lo);
    int32_t pp[8] = {512}, tg[8] = {128}, n_pp = 1, n_tg = 1, reps = 5;
    const char *fmt = "md";
    for (int i = 1; i < argc; i++) {
        int r = px_cli_llm_arg(&lo, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        const char *a = argv[i];
        int more = i + 1 < argc;
        if ((strcmp(a, "-p") == 0 || strcmp(a, "--n-prompt") == 0) && more) {
            if ((n_pp = parse_list(argv[++i], pp, 8)) < 0) return usage(), 2;
        } else if ((strcmp(a, "-n") == 0 || strcmp(a, "--n-gen") == 0) && more) {
            if ((n_tg = parse_list(argv[++i], tg, 8)) < 0) return usage(), 2;
        } else if ((strcmp(a, "-r") == 0 || strcmp(a, "--repetitions") == 0) && more) {
            reps = atoi(argv[++i]);
            if (reps < 1 || reps > 1000) return usage(), 2;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && more) {
            fmt = argv[++i];
            if (strcmp(fmt, "md") && strcmp(fmt, "csv") && strcmp(fmt, "json")) return usage(), 2;
        } else if ((r = px_cli_tail_arg(&c, "bench", argc, argv, &i, usage)) >= 0) {
            return r;
        }
    }
    if (!lo.model && !lo.hf) {
        usage();
        return 2;
    }
    int32_t maxp = 1, maxn = 1;
    for (int32_t i = 0; i < n_pp; i++) maxp = pp[i] > maxp ? pp[i] : maxp;
    for (int32_t i = 0; i < n_tg; i++) maxn = tg[i] > maxn ? tg[i] : maxn;
    if (!lo.params.n_ctx) lo.params.n_ctx = (maxp > maxn ? maxp : maxn);
    if (!lo.params.n_batch) lo.params.n_batch = maxp;
    int rc = 1;
    px_llm *llm = NULL;
    result res[16];
    int32_t nres = 0;
    memset(res, 0, sizeof res);
    px_context *ctx = px_cli_context(&c);
    if (!ctx || px_cli_llm_load(&lo, ctx, &llm)) goto out;
    for (int32_t i = 0; i < n_pp; i++)
        if (pp[i] > 0) res[nres++] = (result){.test = "pp", .n_prompt = pp[i]};
    for (int32_t i = 0; i < n_tg; i++)
        if (tg[i] > 0) res[nres++] = (result){.test = "tg", .n_gen = tg[i]};
    /* model facts */
    px_model *m = px_llm_model(llm);
    uint64_t size = 0, params = 0;
    for (int64_t i = 0; i < px_model_tensor_count(m); i++) {
        px_tensor_info ti;
        if (px_model_tensor_get(m, i, &ti)) continue;
        size += ti.nbytes;
        uint64_t ne = 1;
        for (int32_t d = 0; d < ti.rank; d++) ne *= (uint64_t)ti.ne[d];
        params += ne;
    }
    const char *path = px_model_path(m), *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dev = px_program_node_device(px_llm_program(llm), 0);
    int32_t threads = px_context_threads(ctx);
    for (int32_t i = 0; i < nres; i++) {
        if (run_test(llm, &res[i], reps)) goto out;
        if (strcmp(fmt, "md") == 0 && i == 0) {
            printf("| model | size | params | backend | threads | test | t/s |\n");
            printf("| --- | ---: | ---: | --- | ---: | --- | ---: |\n");
        }
        if (strcmp(fmt, "csv") == 0 && i == 0)
            printf("model_filename,model_type,model_size,model_n_params,backends,n_threads,n_prompt,n_gen,avg_ts,stddev_ts\n");
        char test[32];
        snprintf(test, sizeof test, "%s%d", res[i].test, res[i].n_prompt ? res[i].n_prompt : res[i].n_gen);
        if (strcmp(fmt, "md") == 0) {
            printf("| %s %s | %.2f MiB | %.2f M | %s | %d | %s | %.2f ± %.2f |\n", px_llm_arch(llm), base,
                   (double)size / (1 << 20), (double)params / 1e6, dev ? dev : "cpu", threads, test, res[i].avg_ts,
                   res[i].stddev_ts);
        } else if (strcmp(fmt, "csv") == 0) {
            printf("%s,%s,%llu,%llu,%s,%d,%d,%d,%.6f,%.6f\n", base, px_llm_arch(llm), (unsigned long long)size,
                   (unsigned long long)params, dev ? dev : "cpu", threads, res[i].n_prompt, res[i].n_gen, res[i].avg_ts,
                   res[i].stddev_ts);
        }
        fflush(stdout);
    }
    if (strcmp(fmt, "json") == 0) {
        printf("[\n");
        for (int32_t i = 0; i < nres; i++) {
            printf("  {\"model_filename\": ");
            json_escape(path);
            printf(", \"model_type\": ");
            json_escape(px_llm_arch(llm));
            printf(", \"model_size\": %llu, \"model_n_params\": %llu, \"backends\": \"%s\", \"n_batch\": %d, "
                   "\"n_threads\": %d, \"type_k\": \"%s\", \"n_prompt\": %d, \"n_gen\": %d, \"avg_ns\": %.0f, "
                   "\"stddev_ns\": %.0f, \"avg_ts\": %.6f, \"stddev_ts\": %.6f, \"samples_ts\": [",
                   (unsigned long long)size, (unsigned long long)params, dev ? dev : "cpu", lo.params.n_batch, threads,
                   px_dtype_name(lo.params.cache_type), res[i].n_prompt, res[i].n_gen, res[i].avg_ns, res[i].stddev_ns,
                   res[i].avg_ts, res[i].stddev_ts);
            for (int32_t k = 0; k < res[i].reps; k++) printf("%s%.6f", k ? ", " : "", res[i].samples_ts[k]);
            printf("]}%s\n", i + 1 < nres ? "," : "");
        }
        printf("]\n");
    }
    rc = 0;
out:
    for (int32_t i = 0; i < nres; i++) free(res[i].samples_ts);
    px_llm_free(llm);
    px_context_destroy(ctx);
    return rc;
}
