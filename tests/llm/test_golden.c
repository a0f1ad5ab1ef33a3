/* Golden tests: Plexus against llama.cpp's reference runs in
 * ../shared/models/golden/<model>.gen.json (schema golden-gen-v1; see the
 * README there). Same settings as the reference: n_ctx 128, F32 KV cache,
 * the whole prompt decoded as one batch.
 *
 * Per case:
 *  - the prompt tokenizes to prompt_ids (add_special, parse_special);
 *  - logits after the prompt: same argmax, max |diff| within the model's
 *    tolerance;
 *  - teacher-forced: feeding greedy_ids one at a time, the logits before each
 *    step have the reference's argmax and its top-5 values within tolerance
 *    (an argmax differing where the reference's own top-1/top-2 gap is below
 *    the tolerance is counted as a near-tie, reported, not failed);
 *  - the same sequence decoded as one batch with every row's logits kept
 *    gives the same top-5 values (the batched path);
 *  - where the reference greedy path is exact (stories260K-f32), free-running
 *    greedy generation reproduces greedy_ids and greedy_text exactly.
 * Usage: test_golden [model-name ...] (default: all eight). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plexus/llm.h"
#include "test.h"

typedef struct golden_model {
    const char *name, *file;
    double tol;      /* logits after the prompt */
    double step_tol; /* top-5 logits of the teacher-forced steps */
    int exact_greedy;
} golden_model;

/* Tolerances for the quantized mixes: llama.cpp quantizes activations to
 * 8 bits for their Q8_0/Q4_0 matrices, and on this 64-wide model a last-bit
 * difference in a float sum moves some activation across a rounding step;
 * the change then spreads through the layers. Any order of the float sums
 * shows it: llama.cpp's single-token steps differ from Plexus's by up to
 * 0.15 (q8_0) and 0.14 (q4_0), and Plexus's prompt GEMM (exact integer sums
 * per block, k_gemm_q.c) differs from llama.cpp's batched prompt by 0.18
 * (q8_0) and 0.14 (q4_0), while Plexus's one-row products on the prompt
 * give 0.18 (q8_0) and 2e-6 (q4_0). Against exact F32 math both engines are
 * off by up to 0.3 (q8_0) and 3.9 (q4_0) (../shared/models/README.md, which
 * asks for these files to be compared with a tolerance, teacher-forced):
 * every argmax must agree, and logits within 0.2 / 0.25. */
static const golden_model models[] = {
    {"stories260K-f32", "stories260K/stories260K-f32.gguf", 1e-4, 1e-4, 1},
    {"stories260K-q8_0-mix", "stories260K/stories260K-q8_0-mix.gguf", 0.2, 0.2, 0},
    {"stories260K-q4_0-mix", "stories260K/stories260K-q4_0-mix.gguf", 0.25, 0.25, 0},
    {"llama-2-tiny-random", "llama-2-tiny-random/llama-2-tiny-random.gguf", 2e-4, 2e-4, 0},
    {"arch-llama", "arch/arch-llama.gguf", 2e-2, 2e-2, 0},
    {"arch-qwen2", "arch/arch-qwen2.gguf", 2e-2, 2e-2, 0},
    {"arch-phi3", "arch/arch-phi3.gguf", 2e-2, 2e-2, 0},
    {"arch-gemma2", "arch/arch-gemma2.gguf", 2e-2, 2e-2, 0},
};

static int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static int32_t *json_ids(json_t *a, int32_t *n) {
    *n = (int32_t)json_array_size(a);
    int32_t *v = malloc(sizeof *v * (size_t)(*n + 1));
    for (int32_t i = 0; v && i < *n; i++) v[i] = (int32_t)json_integer_value(json_array_get(a, (size_t)i));
    return v;
}

/* Compare logits with a top-5 list [[id, logit] x5]; returns max |diff|. */
static double top5_diff(const float *lg, json_t *top5) {
    double d = 0;
    for (size_t j = 0; j < json_array_size(top5); j++) {
        json_t *e = json_array_get(top5, j);
        int64_t id = json_integer_value(json_array_get(e, 0));
        double v = json_number_value(json_array_get(e, 1));
        d = fmax(d, fabs((double)lg[id] - v));
    }
    return d;
}

/* The reference's gap between its top-1 and the logit of `ours`. */
static double ref_gap(json_t *top5, int32_t ours, const float *lg) {
    double top = json_number_value(json_array_get(json_array_get(top5, 0), 1));
    for (size_t j = 0; j < json_array_size(top5); j++) {
        json_t *e = json_array_get(top5, j);
        if (json_integer_value(json_array_get(e, 0)) == ours) return top - json_number_value(json_array_get(e, 1));
    }
    (void)lg;
    return INFINITY;
}

static void run_model(px_context *ctx, const char *shared, const golden_model *gm) {
    char path[1024], gpath[1024];
    snprintf(path, sizeof path, "%s/models/%s", shared, gm->file);
    snprintf(gpath, sizeof gpath, "%s/models/golden/%s.gen.json", shared, gm->name);
    json_error_t jerr;
    json_t *root = json_load_file(gpath, 0, &jerr);
    CHECK_MSG(root != NULL, "%s: %s", gpath, jerr.text);
    if (!root) return;
    px_llm_params p = px_llm_params_default();
    p.n_ctx = 128;
    p.n_batch = 128;
    p.cache_type = PX_F32;
    px_llm *llm = NULL;
    px_status st = px_llm_load(ctx, path, &p, &llm);
    CHECK_MSG(st == PX_OK, "%s: %s", gm->name, px_last_error());
    if (st) {
        json_decref(root);
        return;
    }
    const int32_t nv = px_llm_n_vocab(llm);
    CHECK(nv == (int32_t)json_integer_value(json_object_get(root, "n_vocab")));
    json_t *cases = json_object_get(root, "cases");
    double worst_prompt = 0, worst_step = 0, worst_batch = 0;
    int n_steps = 0, near_ties = 0, greedy_ok = 0;
    for (size_t ci = 0; ci < json_array_size(cases); ci++) {
        json_t *c = json_array_get(cases, ci);
        int32_t np, ng;
        int32_t *prompt = json_ids(json_object_get(c, "prompt_ids"), &np);
        int32_t *greedy = json_ids(json_object_get(c, "greedy_ids"), &ng);
        json_t *steps = json_object_get(c, "steps");
        /* tokenizer */
        const char *text = json_string_value(json_object_get(c, "prompt"));
        int32_t tk[512], nt = 0;
        CHECK_OK(px_tokenize(px_llm_tokenizer(llm), text, strlen(text), 1, 1, tk, 512, &nt));
        int same = nt == np;
        for (int32_t i = 0; same && i < np; i++) same = tk[i] == prompt[i];
        CHECK_MSG(same, "%s case %zu: prompt tokenizes differently (%d ids, want %d)", gm->name, ci, nt, np);
        /* logits after the prompt */
        CHECK_OK(px_llm_truncate(llm, 0));
        CHECK_OK(px_llm_decode(llm, prompt, np, 0));
        const float *lg = px_llm_logits(llm, -1);
        json_t *ref = json_object_get(c, "logits_after_prompt");
        CHECK(lg && json_array_size(ref) == (size_t)nv);
        if (!lg || json_array_size(ref) != (size_t)nv) goto next;
        double d = 0;
        for (int32_t i = 0; i < nv; i++) d = fmax(d, fabs((double)lg[i] - json_number_value(json_array_get(ref, (size_t)i))));
        worst_prompt = fmax(worst_prompt, d);
        CHECK_MSG(d <= gm->tol, "%s case %zu: logits after the prompt differ by %.3g (tolerance %.3g)", gm->name, ci, d,
                  gm->tol);
        CHECK_MSG(argmax(lg, nv) == json_integer_value(json_object_get(c, "argmax_after_prompt")),
                  "%s case %zu: argmax after the prompt %d, want %lld", gm->name, ci, argmax(lg, nv),
                  (long long)json_integer_value(json_object_get(c, "argmax_after_prompt")));
        /* teacher-forced, one token at a time */
        for (int32_t s = 0; s < ng && s < (int32_t)json_array_size(steps); s++) {
            if (s > 0) {
                st = px_llm_decode(llm, &greedy[s - 1], 1, 0);
                CHECK_OK(st);
                if (st) break;
                lg = px_llm_logits(llm, -1);
            }
            json_t *top5 = json_object_get(json_array_get(steps, (size_t)s), "top5");
            double ds = top5_diff(lg, top5);
            worst_step = fmax(worst_step, ds);
            n_steps++;
            CHECK_MSG(ds <= gm->step_tol, "%s case %zu step %d: top-5 logits differ by %.3g (tolerance %.3g)", gm->name,
                      ci, s, ds, gm->step_tol);
            int32_t am = argmax(lg, nv);
            if (am != greedy[s]) {
                double gap = ref_gap(top5, am, lg);
                if (gap <= gm->step_tol) {
                    near_ties++;
                    printf("%s case %zu step %d: near-tie, argmax %d vs %d (reference gap %.3g)\n", gm->name, ci, s,
                           am, greedy[s], gap);
                } else {
                    CHECK_MSG(0, "%s case %zu step %d: argmax %d, want %d (reference gap %.3g)", gm->name, ci, s, am,
                              greedy[s], gap);
                }
            }
        }
        /* the batched path: prompt + greedy ids in one decode, all rows kept */
        {
            int32_t nall = np + ng - 1;
            int32_t *all = malloc(sizeof *all * (size_t)nall);
            memcpy(all, prompt, sizeof *all * (size_t)np);
            memcpy(all + np, greedy, sizeof *all * (size_t)(ng - 1));
            CHECK_OK(px_llm_truncate(llm, 0));
            CHECK_OK(px_llm_decode(llm, all, nall, 1));
            for (int32_t s = 0; s < ng; s++) {
                const float *row = px_llm_logits(llm, np - 1 + s);
                CHECK(row != NULL);
                if (!row) break;
                double ds = top5_diff(row, json_object_get(json_array_get(steps, (size_t)s), "top5"));
                worst_batch = fmax(worst_batch, ds);
                CHECK_MSG(ds <= gm->step_tol, "%s case %zu batched row %d: top-5 logits differ by %.3g", gm->name, ci, s,
                          ds);
            }
            free(all);
        }
        /* free-running greedy */
        if (gm->exact_greedy) {
            CHECK_OK(px_llm_truncate(llm, 0));
            CHECK_OK(px_llm_decode(llm, prompt, np, 0));
            int ok = 1;
            for (int32_t s = 0; s < ng && ok; s++) {
                int32_t t = argmax(px_llm_logits(llm, -1), nv);
                ok = t == greedy[s];
                CHECK_MSG(ok, "%s case %zu: greedy token %d is %d, want %d", gm->name, ci, s, t, greedy[s]);
                if (ok && s + 1 < ng) CHECK_OK(px_llm_decode(llm, &t, 1, 0));
            }
            /* and the text */
            char buf[4096];
            size_t n = 0, len = 0;
            for (int32_t s = 0; s < ng; s++) {
                if (px_token_to_piece(px_llm_tokenizer(llm), greedy[s], 0, buf + len, sizeof buf - len, &n)) break;
                len += n;
            }
            const char *want = json_string_value(json_object_get(c, "greedy_text"));
            CHECK_MSG(want && len == strlen(want) && memcmp(buf, want, len) == 0, "%s case %zu: greedy text '%.*s'",
                      gm->name, ci, (int)len, buf);
            greedy_ok += ok;
        }
    next:
        free(prompt);
        free(greedy);
    }
    printf("%-22s prompt max|diff| %.3g (tol %.3g), %d teacher-forced steps max|diff| %.3g (tol %.3g, %d near-ties), "
           "batched %.3g%s\n",
           gm->name, worst_prompt, gm->tol, n_steps, worst_step, gm->step_tol, near_ties, worst_batch,
           gm->exact_greedy ? (greedy_ok == (int)json_array_size(cases) ? ", greedy exact" : ", GREEDY DIFFERS") : "");
    px_llm_free(llm);
    json_decref(root);
}

int main(int argc, char **argv) {
    const char *shared = getenv("PLEXUS_SHARED_DIR");
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/models/golden/stories260K-f32.gen.json", shared ? shared : "../shared");
    FILE *f = fopen(probe, "rb");
    if (!f) {
        printf("test_golden: skipped: %s not found\n", probe);
        return 77;
    }
    fclose(f);
    if (!shared) shared = "../shared";
    px_context_options o = px_context_options_default();
    o.plugin_dir = PLUGIN_DIR;
    o.n_threads = 2;
    o.config_path = getenv("PLEXUS_GOLDEN_CONFIG"); /* e.g. [kernels] overrides, to compare kernels */
    px_context *ctx = NULL;
    if (px_context_create(&o, &ctx)) {
        fprintf(stderr, "test_golden: %s\n", px_last_error());
        return 1;
    }
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++) want |= strcmp(argv[a], models[i].name) == 0;
        if (want) run_model(ctx, shared, &models[i]);
    }
    px_context_destroy(ctx);
    return px_test_finish("test_golden");
}
