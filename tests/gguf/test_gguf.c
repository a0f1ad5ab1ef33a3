/* GGUF reader: every model in ../shared/models opens with the expected
 * architecture and tensors; truncated and corrupted copies give an error
 * with a message naming the file, never a crash or a hang. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plexus/plexus.h"
#include "test.h"

static px_context *ctx;

typedef struct expect {
    const char *file, *arch;
    int has_tensors;
} expect;

static const expect models[] = {
    {"stories260K/stories260K-f32.gguf", "llama", 1},
    {"stories260K/stories260K-q8_0-mix.gguf", "llama", 1},
    {"stories260K/stories260K-q4_0-mix.gguf", "llama", 1},
    {"llama-2-tiny-random/llama-2-tiny-random.gguf", "llama", 1},
    {"arch/arch-llama.gguf", "llama", 1},
    {"arch/arch-qwen2.gguf", "qwen2", 1},
    {"arch/arch-phi3.gguf", "phi3", 1},
    {"arch/arch-gemma2.gguf", "gemma2", 1},
    {"vocab/ggml-vocab-llama-spm.gguf", "llama", 0},
    {"vocab/ggml-vocab-gpt-2.gguf", "gpt2", 0},
    {"vocab/ggml-vocab-phi-3.gguf", "phi3", 0},
    {"vocab/ggml-vocab-deepseek-coder.gguf", "llama", 0},
};

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void check_model(const char *path, const expect *e) {
    px_model *m = NULL;
    px_status st = px_model_open(ctx, path, &m);
    CHECK_MSG(st == PX_OK, "%s: %s", path, px_last_error());
    if (!m) return;
    CHECK(strcmp(px_model_format(m), "gguf") == 0);
    px_meta_value v;
    CHECK_OK(px_model_meta_find(m, "general.architecture", &v));
    CHECK_MSG(v.type == PX_META_STRING && v.u.str.len == strlen(e->arch) && memcmp(v.u.str.ptr, e->arch, v.u.str.len) == 0,
              "%s: architecture", path);
    CHECK_OK(px_model_meta_find(m, "tokenizer.ggml.tokens", &v));
    CHECK(v.type == PX_META_ARRAY && v.elem_type == PX_META_STRING && v.n > 100);
    if (v.type == PX_META_ARRAY && v.n > 0) {
        const px_meta_string *s = v.data;
        CHECK(s[0].len < 64);
    }
    CHECK(px_model_meta_find(m, "no.such.key", &v) == PX_ERR_NOT_FOUND);
    int64_t nt = px_model_tensor_count(m);
    CHECK_MSG(e->has_tensors ? nt > 0 : nt == 0, "%s: %lld tensors", path, (long long)nt);
    for (int64_t i = 0; i < nt; i++) {
        px_tensor_info t;
        CHECK_OK(px_model_tensor_get(m, i, &t));
        CHECK(t.rank >= 1 && t.rank <= 4 && t.data && t.nbytes > 0);
        const px_dtype_traits *tr = px_dtype_get_traits(t.dtype);
        CHECK(tr && t.ne[t.rank - 1] % tr->block_size == 0);
        if (strcmp(t.name, "token_embd.weight") == 0) CHECK(t.rank == 2 && t.ne[0] > 100); /* [vocab, dim] */
    }
    px_model_close(m);
}

/* Open a corrupted copy: must fail with a message or succeed. */
static int try_bytes(const char *tmp, const unsigned char *b, size_t n) {
    FILE *f = fopen(tmp, "wb");
    if (!f) return 0;
    fwrite(b, 1, n, f);
    fclose(f);
    px_model *m = NULL;
    px_status st = px_model_open(ctx, tmp, &m);
    if (st == PX_OK) {
        /* Walk everything the reader exposes. */
        for (int64_t i = 0; i < px_model_meta_count(m); i++) {
            const char *k;
            px_meta_value v;
            px_model_meta_get(m, i, &k, &v);
        }
        px_model_close(m);
        return 1;
    }
    CHECK_MSG(strstr(px_last_error(), tmp) != NULL, "error without the file name: %s", px_last_error());
    return 0;
}

static void corrupt(const char *path) {
    size_t n;
    unsigned char *b = slurp(path, &n);
    CHECK(b != NULL);
    if (!b) return;
    char tmp[] = "/tmp/plexus-gguf-XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    close(fd);
    int ok = 0, cuts = 0;
    /* Truncations: every length over the first 4 KiB, then strided. */
    for (size_t len = 0; len < n; len += len < 4096 ? 1 : n / 97 + 1, cuts++) ok += try_bytes(tmp, b, len);
    CHECK_MSG(ok == 0, "%s: %d truncated copies opened", path, ok);
    /* Seeded bit flips and byte overwrites in the first 64 KiB. */
    uint64_t s = 12345;
    unsigned char *c = malloc(n);
    size_t region = n < 65536 ? n : 65536;
    for (int i = 0; i < 1500; i++) {
        memcpy(c, b, n);
        for (int k = 0; k < 1 + i % 3; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(s >> 33) % region;
            if (i % 2) c[at] ^= (unsigned char)(1u << ((s >> 20) & 7));
            else c[at] = (unsigned char)(s >> 40);
        }
        try_bytes(tmp, c, n);
    }
    printf("%s: %d truncations refused, 1500 corrupted copies survived\n", path, cuts);
    free(c);
    free(b);
    unlink(tmp);
}

int main(void) {
    const char *shared = getenv("PLEXUS_SHARED_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/models", shared ? shared : "../shared");
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        printf("test_gguf: %s not found; skipped\n", dir);
        return PX_TEST_SKIP;
    }
    px_context_options o = px_context_options_default();
    o.plugin_dir = PLUGIN_DIR;
    CHECK_OK(px_context_create(&o, &ctx));
    if (!ctx) return px_test_finish("test_gguf");
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, models[i].file);
        check_model(path, &models[i]);
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/stories260K/stories260K-q4_0-mix.gguf", dir);
    corrupt(path);
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-phi-3.gguf", dir);
    corrupt(path);
    /* Not a GGUF file at all. */
    px_model *m = NULL;
    snprintf(path, sizeof path, "%s/README.md", dir);
    CHECK(px_model_open(ctx, path, &m) == PX_ERR_UNSUPPORTED);
    CHECK(px_model_open(ctx, "/nonexistent.gguf", &m) == PX_ERR_IO);
    px_context_destroy(ctx);
    return px_test_finish("test_gguf");
}
