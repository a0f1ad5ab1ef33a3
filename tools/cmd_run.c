/* plexus run -m FILE -p PROMPT [-n N] [sampling flags]: generate text,
 * streamed to stdout; timings on stderr. Flags as llama.cpp's llama-cli. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int print_piece(void *user, int32_t token, const char *text, size_t len) {
    (void)user;
    (void)token;
    if (len) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
    }
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: plexus run (-m FILE | -hf REPO/FILE) (-p PROMPT | -f FILE) [options]\n"
            "  -n, --n-predict N       tokens to generate (default -1: until end of text or a full context)\n"
            "  -c, --ctx-size N        context size (default: the model's, at most 4096)\n"
            "  -b, --batch-size N      prompt tokens per run (default 512)\n"
            "  --cache-type, -ctk T    KV cache type: f16 (default), q8_0, f32\n"
            "  --temp T                temperature (default 0.8; 0 = greedy)\n"
            "  --top-k K, --top-p P, --min-p P, --typical P\n"
            "  --repeat-penalty R, --repeat-last-n N, --presence-penalty P, --frequency-penalty P\n"
            "  -s, --seed S            sampling seed (same seed, same output)\n"
            "  --ignore-eos            do not stop at end-of-text tokens\n"
            "  --no-display-prompt     print only the generated text\n"
            "  -ngl N, --device LIST   layers to offload / device order (see docs/config.md)\n"
            "  -t N, --config FILE.ini, -v\n");
}

/* Sampling flags shared with chat: returns 1 if taken, -1 on a bad value. */
int px_cli_sampling_arg(px_sampler_params *s, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    static const char *fl[] = {"--temp", "--top-k", "--top-p", "--min-p", "--typical", "--repeat-penalty",
                               "--repeat-last-n", "--presence-penalty", "--frequency-penalty", "-s", "--seed"};
    int k = -1;
    for (int j = 0; j < (int)(sizeof fl / sizeof fl[0]); j++)
        if (strcmp(a, fl[j]) == 0) k = j;
    if (k < 0) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "plexus: option %s needs a value\n", a);
        return -1;
    }
    const char *v = argv[++*i];
    char *end;
    double x = strtod(v, &end);
    if (*v == 0 || *end) {
        fprintf(stderr, "plexus: %s expects a number, got '%s'\n", a, v);
        return -1;
    }
    switch (k) {
    case 0: s->temp = (float)x; break;
    case 1: s->top_k = (int32_t)x; break;
    case 2: s->top_p = (float)x; break;
    case 3: s->min_p = (float)x; break;
    case 4: s->typical_p = (float)x; break;
    case 5: s->repeat_penalty = (float)x; break;
    case 6: s->repeat_last_n = (int32_t)x; break;
    case 7: s->presence_penalty = (float)x; break;
    case 8: s->frequency_penalty = (float)x; break;
    default:
        if (x < 0) s->seed = (uint64_t)time(NULL); /* -1: random, as llama.cpp */
        else s->seed = (uint64_t)x;
    }
    return 1;
}

int px_cmd_run(int argc, char **argv) {
    px_cli_common c = {0};
    px_cli_llm lo;
    px_cli_llm_init(&lo);
    px_generate_params gp = px_generate_params_default();
    const char *prompt = NULL, *prompt_file = NULL;
    int display_prompt = 1;
    for (int i = 1; i < argc; i++) {
        int r;
        if ((r = px_cli_llm_arg(&lo, argc, argv, &i)) || (r = px_cli_sampling_arg(&gp.sampling, argc, argv, &i))) {
            if (r < 0) return 2;
            continue;
        }
        const char *a = argv[i];
        if ((strcmp(a, "-p") == 0 || strcmp(a, "--prompt") == 0) && i + 1 < argc) prompt = argv[++i];
        else if ((strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0) && i + 1 < argc) prompt_file = argv[++i];
        else if ((strcmp(a, "-n") == 0 || strcmp(a, "--n-predict") == 0 || strcmp(a, "--predict") == 0) && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < -2) {
                fprintf(stderr, "plexus run: -n expects a token count (-1: unlimited)\n");
                return 2;
            }
            gp.n_predict = n < 0 ? -1 : (int32_t)n;
        } else if (strcmp(a, "--ignore-eos") == 0) gp.ignore_eog = 1;
        else if (strcmp(a, "--no-display-prompt") == 0) display_prompt = 0;
        else if ((r = px_cli_tail_arg(&c, "run", argc, argv, &i, usage)) >= 0)
            return r;
    }
    if ((!lo.model && !lo.hf) || (!prompt && !prompt_file)) {
        usage();
        return 2;
    }
    char *owned = NULL;
    if (prompt_file) {
        size_t len;
        owned = px_cli_read_file(prompt_file, &len);
        if (!owned) {
            fprintf(stderr, "plexus: %s: cannot read\n", prompt_file);
            return 1;
        }
        prompt = owned;
    }
    int rc = 1;
    int32_t *ids = NULL, n = 0;
    px_llm *llm = NULL;
    px_context *ctx = px_cli_context(&c);
    double t0 = now_ms();
    if (!ctx || px_cli_llm_load(&lo, ctx, &llm)) goto out;
    double load_ms = now_ms() - t0;
    if (px_cli_tokenize(llm, prompt, 1, &ids, &n)) goto out;
    if (n == 0) {
        fprintf(stderr, "plexus: the prompt is empty\n");
        goto out;
    }
    if (display_prompt) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    px_generate_stats gs;
    if (px_llm_generate(llm, ids, n, &gp, print_piece, NULL, &gs)) {
        fprintf(stderr, "\nplexus: %s\n", px_last_error());
        goto out;
    }
    putchar('\n');
    fflush(stdout);
    if (gs.stop == PX_STOP_CONTEXT)
        fprintf(stderr, "plexus: stopped: the context of %d tokens is full (raise -c)\n", px_llm_n_ctx(llm));
    fprintf(stderr, "\nload:       %8.2f ms\n", load_ms);
    fprintf(stderr, "prompt:     %8.2f ms / %d tokens (%.2f tokens/s)\n", gs.prompt_ms, gs.n_prompt,
            gs.prompt_ms > 0 ? gs.n_prompt * 1e3 / gs.prompt_ms : 0.0);
    fprintf(stderr, "generation: %8.2f ms / %d tokens (%.2f tokens/s)\n", gs.gen_ms, gs.n_gen,
            gs.gen_ms > 0 ? gs.n_gen * 1e3 / gs.gen_ms : 0.0);
    rc = 0;
out:
    free(ids);
    free(owned);
    px_llm_free(llm);
    px_context_destroy(ctx);
    return rc;
}
