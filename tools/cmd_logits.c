/* plexus logits -m FILE (-p TEXT | --ids 1,2,3) [--json] [--all]: the logits
 * of the last prompt position (or of every position with --all). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plexus/llm.h"

static int parse_ids(const char *s, int32_t **out, int32_t *n) {
    int32_t cap = 16, k = 0;
    int32_t *v = malloc(sizeof *v * (size_t)cap);
    while (v && *s) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || x < 0 || x > 0x7fffffff) {
            free(v);
            return -1;
        }
        if (k == cap) {
            int32_t *nv = realloc(v, sizeof *v * (size_t)(cap *= 2));
            if (!nv) break;
            v = nv;
        }
        v[k++] = (int32_t)x;
        s = end;
        while (*s == ',' || *s == ' ') s++;
    }
    *out = v;
    *n = k;
    return v ? 0 : -1;
}

static void print_row(const float *x, int32_t n, int json) {
    if (json) putchar('[');
    for (int32_t j = 0; j < n; j++) printf(json ? "%s%.9g" : "%s%.6g", j ? (json ? "," : " ") : "", (double)x[j]);
    puts(json ? "]" : "");
}

int px_cmd_logits(int argc, char **argv) {
    px_cli_common c = {0};
    px_cli_llm lo;
    px_cli_llm_init(&lo);
    const char *prompt = NULL, *ids_arg = NULL;
    int all = 0;
    for (int i = 1; i < argc; i++) {
        int r = px_cli_llm_arg(&lo, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if ((strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--prompt") == 0) && i + 1 < argc) prompt = argv[++i];
        else if (strcmp(argv[i], "--ids") == 0 && i + 1 < argc) ids_arg = argv[++i];
        else if (strcmp(argv[i], "--all") == 0) all = 1;
        else {
            r = px_cli_common_arg(&c, argc, argv, &i);
            if (r < 0) return 2;
            if (r == 0) {
                fprintf(stderr, "plexus logits: unknown option '%s'\n", argv[i]);
                return 2;
            }
        }
    }
    if (!lo.model || (!prompt && !ids_arg)) {
        fprintf(stderr, "usage: plexus logits -m FILE (-p TEXT | --ids 1,2,3) [--json] [--all] [-c N] [-b N]\n");
        return 2;
    }
    int rc = 1;
    int32_t *ids = NULL, n = 0;
    px_llm *llm = NULL;
    px_context *ctx = px_cli_context(&c);
    if (!ctx || px_cli_llm_load(&lo, ctx, &llm)) goto out;
    if (ids_arg) {
        if (parse_ids(ids_arg, &ids, &n) || n == 0) {
            fprintf(stderr, "plexus logits: --ids expects comma-separated token ids\n");
            goto out;
        }
    } else if (px_cli_tokenize(llm, prompt, 1, &ids, &n)) {
        goto out;
    }
    if (px_llm_decode(llm, ids, n, all)) {
        fprintf(stderr, "plexus: %s\n", px_last_error());
        goto out;
    }
    for (int32_t i = all ? 0 : n - 1; i < n; i++) print_row(px_llm_logits(llm, i), px_llm_n_vocab(llm), c.json);
    rc = 0;
out:
    free(ids);
    px_llm_free(llm);
    px_context_destroy(ctx);
    return rc;
}
