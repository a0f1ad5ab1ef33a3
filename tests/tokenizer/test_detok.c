/* px_utf8_valid_prefix on hand-made byte strings; then, for every golden
 * tokenizer case of ../shared/models/golden/tok.*.json: each
 * px_token_to_piece equals llama.cpp's piece (and reports its size when the
 * buffer is short), px_detokenize gives the text back, and streaming the
 * pieces through px_utf8_valid_prefix never cuts a UTF-8 character and
 * delivers the same bytes. The shared part is skipped (77) without data. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plexus/plexus.h"
#include "plexus/tokenizer.h"
#include "test.h"

static void test_valid_prefix(void) {
    CHECK(px_utf8_valid_prefix("", 0) == 0);
    CHECK(px_utf8_valid_prefix("abc", 3) == 3);
    CHECK(px_utf8_valid_prefix("a\xc3", 2) == 1);                 /* lead of a 2-byte sequence */
    CHECK(px_utf8_valid_prefix("a\xc3\xbc", 3) == 3);             /* complete u-umlaut */
    CHECK(px_utf8_valid_prefix("\xe6\x97", 2) == 0);              /* 2 of 3 bytes */
    CHECK(px_utf8_valid_prefix("x\xe6\x97\xa5", 4) == 4);
    CHECK(px_utf8_valid_prefix("x\xf0\x9f\xa6", 4) == 1);         /* 3 of 4 bytes */
    CHECK(px_utf8_valid_prefix("x\xf0\x9f\xa6\x99", 5) == 5);
    CHECK(px_utf8_valid_prefix("\xf0\x9f\xa6\x99\xf0", 5) == 4);
    CHECK(px_utf8_valid_prefix("ab\x80", 3) == 3); /* a stray continuation byte is not waited on */
    CHECK(px_utf8_valid_prefix(NULL, 0) == 0);
}

/* 1 if s[0..n) is well-formed UTF-8 made of whole characters. */
static int whole_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t k = s[i] < 0x80 ? 1 : (s[i] & 0xE0) == 0xC0 ? 2 : (s[i] & 0xF0) == 0xE0 ? 3 : (s[i] & 0xF8) == 0xF0 ? 4 : 0;
        if (!k || i + k > n) return 0;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

static size_t unhex(const char *h, char *out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        sscanf(h + 2 * i, "%2x", &b);
        out[i] = (char)b;
    }
    return n;
}

static void test_vocab(px_context *ctx, const char *shared, const char *gold, const char *model) {
    char path[1024], mpath[1024];
    snprintf(path, sizeof path, "%s/models/golden/%s", shared, gold);
    snprintf(mpath, sizeof mpath, "%s/models/%s", shared, model);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    CHECK_MSG(root != NULL, "%s: %s", path, err.text);
    if (!root) return;
    px_model *m = NULL;
    px_tokenizer *t = NULL;
    CHECK_OK(px_model_open(ctx, mpath, &m));
    if (m) CHECK_OK(px_tokenizer_create(m, &t));
    json_t *cases = json_object_get(root, "cases");
    size_t ci;
    json_t *c;
    int cases_ok = 0, n_cases = 0;
    json_array_foreach(cases, ci, c) {
        if (!t) break;
        n_cases++;
        int fails = px_test_failures;
        const char *text_hex = json_string_value(json_object_get(c, "text_hex"));
        json_t *jids = json_object_get(c, "ids"), *jpieces = json_object_get(c, "pieces_hex");
        size_t n = json_array_size(jids);
        char *text = malloc(strlen(text_hex) / 2 + 1), *want = malloc(4096), *got = malloc(4096);
        int32_t *ids = malloc((n + 1) * sizeof *ids);
        size_t text_len = unhex(text_hex, text);
        char *stream = malloc(text_len * 4 + 64), *pending = malloc(text_len * 4 + 64);
        size_t n_stream = 0, n_pending = 0;
        for (size_t i = 0; i < n; i++) {
            ids[i] = (int32_t)json_integer_value(json_array_get(jids, i));
            size_t wl = unhex(json_string_value(json_array_get(jpieces, i)), want), gl = 0;
            CHECK_OK(px_token_to_piece(t, ids[i], 0, got, 4096, &gl));
            CHECK_MSG(gl == wl && memcmp(got, want, wl) == 0, "%s case %zu token %d: piece differs", gold, ci, ids[i]);
            if (wl > 0) { /* a short buffer reports the size it needs */
                size_t need = 0;
                CHECK(px_token_to_piece(t, ids[i], 0, got, wl - 1, &need) == PX_ERR_RANGE && need == wl);
            }
            /* streaming: hold back an incomplete character */
            memcpy(pending + n_pending, want, wl);
            n_pending += wl;
            size_t ok = px_utf8_valid_prefix(pending, n_pending);
            CHECK(ok <= n_pending);
            CHECK_MSG(whole_utf8((unsigned char *)pending, ok) || !whole_utf8((unsigned char *)text, text_len),
                      "%s case %zu: streamed prefix cuts a character", gold, ci);
            memcpy(stream + n_stream, pending, ok);
            n_stream += ok;
            memmove(pending, pending + ok, n_pending - ok);
            n_pending -= ok;
        }
        memcpy(stream + n_stream, pending, n_pending);
        n_stream += n_pending;
        size_t need = 0, dl = 0;
        px_status ms = px_detokenize(t, ids, (int32_t)n, 0, 0, NULL, 0, &need); /* measure only */
        CHECK(ms == (text_len ? PX_ERR_RANGE : PX_OK) && need == text_len);
        char *det = malloc(need + text_len + 16);
        CHECK_OK(px_detokenize(t, ids, (int32_t)n, 0, 0, det, need + text_len + 16, &dl));
        CHECK_MSG(dl == text_len && memcmp(det, text, text_len) == 0, "%s case %zu: detokenized text differs", gold, ci);
        if (dl > 0) {
            size_t need2 = 0;
            CHECK(px_detokenize(t, ids, (int32_t)n, 0, 0, det, dl - 1, &need2) == PX_ERR_RANGE && need2 >= dl);
        }
        /* The pieces concatenated: the text, up to SPM's leading space. */
        size_t lead = n_stream > text_len ? n_stream - text_len : 0;
        CHECK_MSG(n_stream >= text_len && memcmp(stream + lead, text, text_len) == 0,
                  "%s case %zu: streamed pieces differ from the text", gold, ci);
        /* tokenize -> detokenize round trip through the library */
        int32_t *re = malloc((text_len * 4 + 8) * sizeof *re), nre = 0;
        CHECK_OK(px_tokenize(t, text, text_len, 0, 0, re, (int32_t)(text_len * 4 + 8), &nre));
        CHECK(nre == (int32_t)n && memcmp(re, ids, n * sizeof *ids) == 0);
        free(re);
        free(det);
        free(stream);
        free(pending);
        free(ids);
        free(text);
        free(want);
        free(got);
        cases_ok += px_test_failures == fails;
    }
    printf("%-36s %d/%d cases\n", gold, cases_ok, n_cases);
    /* Control tokens: "" unless asked for. */
    int32_t bos = t ? px_tokenizer_bos(t) : -1;
    if (bos >= 0) {
        char b[256];
        size_t bl = 99;
        CHECK_OK(px_token_to_piece(t, bos, 0, b, sizeof b, &bl));
        CHECK(bl == 0);
        const char *bt;
        size_t btl;
        CHECK_OK(px_token_text(t, bos, &bt, &btl));
        CHECK_OK(px_token_to_piece(t, bos, 1, b, sizeof b, &bl));
        CHECK(bl == btl && memcmp(b, bt, btl) == 0);
    }
    px_tokenizer_destroy(t);
    px_model_close(m);
    json_decref(root);
}

int main(void) {
    test_valid_prefix();
    const char *shared = getenv("PLEXUS_SHARED_DIR");
    if (!shared) shared = "../shared";
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/models/golden/tok.ggml-vocab-gpt-2.json", shared);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        printf("test_detok: shared data %s not found; skipped\n", probe);
        px_test_finish("test_detok");
        return PX_TEST_SKIP;
    }
    fclose(f);
    px_context_options o = px_context_options_default();
    o.plugin_dir = PLUGIN_DIR;
    o.n_threads = 1;
    px_context *ctx = NULL;
    if (px_context_create(&o, &ctx)) {
        fprintf(stderr, "test_detok: %s\n", px_last_error());
        return 1;
    }
    static const char *const vocabs[][2] = {
        {"tok.stories260K.json", "stories260K/stories260K-f32.gguf"},
        {"tok.llama-2-tiny-random.json", "llama-2-tiny-random/llama-2-tiny-random.gguf"},
        {"tok.ggml-vocab-llama-spm.json", "vocab/ggml-vocab-llama-spm.gguf"},
        {"tok.ggml-vocab-phi-3.json", "vocab/ggml-vocab-phi-3.gguf"},
        {"tok.ggml-vocab-gpt-2.json", "vocab/ggml-vocab-gpt-2.gguf"},
        {"tok.ggml-vocab-deepseek-coder.json", "vocab/ggml-vocab-deepseek-coder.gguf"},
    };
    for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) test_vocab(ctx, shared, vocabs[i][0], vocabs[i][1]);
    px_context_destroy(ctx);
    return px_test_finish("test_detok");
}
