/* plexus tokenize -m FILE (-p TEXT | -f FILE) [--ids] [--no-bos]
 * [--no-parse-special] [--json]: token ids (and pieces). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plexus/tokenizer.h"

static void hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", (unsigned char)s[i]);
}

int px_cmd_tokenize(int argc, char **argv) {
    px_cli_common c = {0};
    const char *path = NULL, *prompt = NULL, *prompt_file = NULL;
    int ids_only = 0, add_special = 1, parse_special = 1;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-m") == 0 || strcmp(argv[i], "--model") == 0) && i + 1 < argc) path = argv[++i];
        else if ((strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--prompt") == 0) && i + 1 < argc) prompt = argv[++i];
        else if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--file") == 0) && i + 1 < argc) prompt_file = argv[++i];
        else if (strcmp(argv[i], "--ids") == 0) ids_only = 1;
        else if (strcmp(argv[i], "--no-bos") == 0) add_special = 0;
        else if (strcmp(argv[i], "--no-parse-special") == 0) parse_special = 0;
        else {
            int r = px_cli_common_arg(&c, argc, argv, &i);
            if (r < 0) return 2;
            if (r == 0) {
                fprintf(stderr, "plexus tokenize: unknown option '%s'\n", argv[i]);
                return 2;
            }
        }
    }
    if (!path || (!prompt && !prompt_file)) {
        fprintf(stderr, "usage: plexus tokenize -m FILE (-p TEXT | -f FILE) [--ids] [--no-bos] [--no-parse-special] [--json]\n");
        return 2;
    }
    size_t len = 0;
    char *owned = NULL;
    if (prompt_file) {
        owned = px_cli_read_file(prompt_file, &len);
        if (!owned) {
            fprintf(stderr, "plexus: %s: cannot read\n", prompt_file);
            return 1;
        }
        prompt = owned;
    } else {
        len = strlen(prompt);
    }
    int rc = 1;
    px_context *ctx = px_cli_context(&c);
    px_model *m = NULL;
    px_tokenizer *t = NULL;
    int32_t *ids = NULL, n = 0;
    if (!ctx) goto out;
    if (px_model_open(ctx, path, &m) || px_tokenizer_create(m, &t)) {
        fprintf(stderr, "plexus: %s\n", px_last_error());
        goto out;
    }
    int32_t cap = (int32_t)len + 8;
    ids = malloc((size_t)cap * sizeof *ids);
    if (!ids || px_tokenize(t, prompt, len, add_special, parse_special, ids, cap, &n)) {
        fprintf(stderr, "plexus: %s\n", ids ? px_last_error() : "out of memory");
        goto out;
    }
    if (c.json) {
        /* {"ids": [...], "pieces_hex": [...], "detokenized_hex": "..."} */
        printf("{\"ids\": [");
        for (int32_t i = 0; i < n; i++) printf("%s%d", i ? ", " : "", ids[i]);
        printf("], \"pieces_hex\": [");
        char piece[8192];
        for (int32_t i = 0; i < n; i++) {
            size_t pl = 0;
            px_token_to_piece(t, ids[i], 1, piece, sizeof piece, &pl);
            printf("%s\"", i ? ", " : "");
            hex(piece, pl);
            putchar('"');
        }
        size_t dl = 0;
        px_detokenize(t, ids, n, 0, 0, NULL, 0, &dl);
        char *dt = malloc(dl + 1);
        if (dt && px_detokenize(t, ids, n, 0, 0, dt, dl, &dl) == PX_OK) {
            printf("], \"detokenized_hex\": \"");
            hex(dt, dl);
            printf("\"}\n");
        } else {
            printf("]}\n");
        }
        free(dt);
    } else if (ids_only) {
        putchar('[');
        for (int32_t i = 0; i < n; i++) printf("%s%d", i ? ", " : "", ids[i]);
        printf("]\n");
    } else {
        char piece[8192];
        for (int32_t i = 0; i < n; i++) {
            size_t pl = 0;
            px_token_to_piece(t, ids[i], 1, piece, sizeof piece, &pl);
            printf("%6d '%.*s'\n", ids[i], (int)pl, piece);
        }
    }
    rc = 0;
out:
    free(ids);
    free(owned);
    px_tokenizer_destroy(t);
    px_model_close(m);
    px_context_destroy(ctx);
    return rc;
}
