/* plexus synth --arch ARCH --preset NAME -o FILE.gguf [--type T] [--vocab FILE.gguf]
 * [--seed N] [--layers N]: a GGUF with random weights in the exact shapes of a
 * real model, for benchmarks and tests where no real weights can be had.
 * Tensors are made one at a time while the file is written. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gguf_write.h"

/* Which optional keys llama.cpp's converter writes for the model. */
enum {
    K_FREQ_BASE = 1,  /* <arch>.rope.freq_base */
    K_ROPE_DIM = 2,   /* <arch>.rope.dimension_count */
    K_HEAD_DIM = 4,   /* attention.key_length / value_length (config.json has head_dim) */
    K_VOCAB_SIZE = 8, /* <arch>.vocab_size */
};

typedef struct preset {
    const char *name, *arch, *model_name;
    int64_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;
    double rope_base, rms_eps;
    int keys;                       /* K_* */
    int tied, qkv_bias, fused;      /* fused: phi3 attn_qkv and gate+up */
    int llama3_freqs;               /* rope_freqs.weight (factor, low, high, original ctx below) */
    double f_factor, f_low, f_high;
    int64_t f_orig_ctx;
    const float *long_factors, *short_factors; /* phi3 rope_factors_long/short.weight (head_dim / 2 each) */
    int64_t orig_ctx;               /* phi3.rope.scaling.original_context_length (and attn_factor) */
    double attn_softcap, final_softcap;
    int64_t sliding_window;
    int gemma_norms;                /* post_attention_norm / post_ffw_norm */
    const char *family;             /* tokenizer family for the generated vocabulary */
} preset;

/* microsoft/Phi-3.5-mini-instruct config.json, rope_scaling (longrope):
 * long_factor and short_factor as published (float32 values). */
static const float phi35_long[48] = {
    1.0800000429153442f, 1.1100000143051147f, 1.1399999856948853f, 1.340000033378601f, 1.5899999141693115f,
    1.600000023841858f, 1.6200000047683716f, 2.620000123977661f, 3.2300000190734863f, 3.2300000190734863f,
    4.789999961853027f, 7.400000095367432f, 7.700000286102295f, 9.09000015258789f, 12.199999809265137f,
    17.670000076293945f, 24.46000099182129f, 28.57000160217285f, 30.420001983642578f, 30.840002059936523f,
    32.590003967285156f, 32.93000411987305f, 42.320003509521484f, 44.96000289916992f, 50.340003967285156f,
    50.45000457763672f, 57.55000305175781f, 57.93000411987305f, 58.21000289916992f, 60.1400032043457f,
    62.61000442504883f, 62.62000274658203f, 62.71000289916992f, 63.1400032043457f, 63.1400032043457f,
    63.77000427246094f, 63.93000411987305f, 63.96000289916992f, 63.970001220703125f, 64.02999877929688f,
    64.06999969482422f, 64.08000183105469f, 64.12000274658203f, 64.41000366210938f, 64.4800033569336f,
    64.51000213623047f, 64.52999877929688f, 64.83999633789062f};
static const float phi35_short[48] = {
    1.0f, 1.0199999809265137f, 1.0299999713897705f, 1.0299999713897705f, 1.0499999523162842f, 1.0499999523162842f,
    1.0499999523162842f, 1.0499999523162842f, 1.0499999523162842f, 1.0699999332427979f, 1.0999999046325684f,
    1.1099998950958252f, 1.1599998474121094f, 1.1599998474121094f, 1.1699998378753662f, 1.2899998426437378f,
    1.339999794960022f, 1.679999828338623f, 1.7899998426437378f, 1.8199998140335083f, 1.8499997854232788f,
    1.8799997568130493f, 1.9099997282028198f, 1.9399996995925903f, 1.9899996519088745f, 2.0199997425079346f,
    2.0199997425079346f, 2.0199997425079346f, 2.0199997425079346f, 2.0199997425079346f, 2.0199997425079346f,
    2.0299997329711914f, 2.0299997329711914f, 2.0299997329711914f, 2.0299997329711914f, 2.0299997329711914f,
    2.0299997329711914f, 2.0299997329711914f, 2.0299997329711914f, 2.0299997329711914f, 2.0799996852874756f,
    2.0899996757507324f, 2.189999580383301f, 2.2199995517730713f, 2.5899994373321533f, 2.729999542236328f,
    2.749999523162842f, 2.8399994373321533f};

/* Shapes and hyperparameters from each model's published config.json (the
 * llama2.c checkpoint header for stories15M); keys as llama.cpp's converter
 * for that model writes them. Sources in docs/synth.md. */
static const preset presets[] = {
    {.name = "stories15m", .arch = "llama", .model_name = "stories15M", .n_vocab = 32000, .n_embd = 288, .n_layer = 6,
     .n_head = 6, .n_head_kv = 6, .head_dim = 48, .n_ff = 768, .n_ctx = 256, .rope_base = 10000.0, .rms_eps = 1e-5,
     .keys = K_ROPE_DIM, .family = "llama2"},
    {.name = "qwen2.5-0.5b", .arch = "qwen2", .model_name = "Qwen2.5 0.5B", .n_vocab = 151936, .n_embd = 896,
     .n_layer = 24, .n_head = 14, .n_head_kv = 2, .head_dim = 64, .n_ff = 4864, .n_ctx = 32768, .rope_base = 1000000.0,
     .rms_eps = 1e-6, .keys = K_FREQ_BASE, .tied = 1, .qkv_bias = 1, .family = "qwen2"},
    {.name = "llama-3.2-1b", .arch = "llama", .model_name = "Llama 3.2 1B", .n_vocab = 128256, .n_embd = 2048,
     .n_layer = 16, .n_head = 32, .n_head_kv = 8, .head_dim = 64, .n_ff = 8192, .n_ctx = 131072, .rope_base = 500000.0,
     .rms_eps = 1e-5, .keys = K_FREQ_BASE | K_ROPE_DIM | K_HEAD_DIM | K_VOCAB_SIZE, .tied = 1, .llama3_freqs = 1,
     .f_factor = 32.0, .f_low = 1.0, .f_high = 4.0, .f_orig_ctx = 8192, .family = "llama3"},
    {.name = "phi-3.5-mini", .arch = "phi3", .model_name = "Phi 3.5 Mini", .n_vocab = 32064, .n_embd = 3072,
     .n_layer = 32, .n_head = 32, .n_head_kv = 32, .head_dim = 96, .n_ff = 8192, .n_ctx = 131072, .rope_base = 10000.0,
     .rms_eps = 1e-5, .keys = K_FREQ_BASE | K_ROPE_DIM, .fused = 1, .long_factors = phi35_long,
     .short_factors = phi35_short, .orig_ctx = 4096, .sliding_window = 262144, .family = "phi3"},
    {.name = "gemma-2-2b", .arch = "gemma2", .model_name = "Gemma 2 2B", .n_vocab = 256000, .n_embd = 2304,
     .n_layer = 26, .n_head = 8, .n_head_kv = 4, .head_dim = 256, .n_ff = 9216, .n_ctx = 8192, .rope_base = 10000.0,
     .rms_eps = 1e-6, .keys = K_HEAD_DIM, .tied = 1, .attn_softcap = 50.0, .final_softcap = 30.0,
     .sliding_window = 4096, .gemma_norms = 1, .family = "gemma"},
};

/* ---- random numbers: splitmix64 seeds, a xoshiro256+ stream ---------------- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) { /* xoshiro256+ */
    uint64_t *s = r->s, v = s[0] + s[3], t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return v;
}

/* Approximately N(0, 1): the sum of four 16-bit uniforms, centred and scaled
 * (Irwin-Hall), from one 64-bit draw; a random model needs no more, and
 * this is cheap enough for billions of weights. */
static float rng_normal(rng *r) {
    uint64_t x = rng_next(r);
    double sum = (double)(x & 0xFFFF) + (double)((x >> 16) & 0xFFFF) + (double)((x >> 32) & 0xFFFF) + (double)(x >> 48);
    return (float)((sum - 2.0 * 65535.0) / (65536.0 * 0.5773502691896258));
}

/* ---- tensors ------------------------------------------------------------------ */

typedef struct tensor_spec {
    char name[96];
    px_dtype dtype;
    int32_t rank;
    int64_t ne[2];
    int kind; /* 0: matrix N(0, 0.02), 1: norm 1 + N(0, 0.02), 2: bias N(0, 0.02), 3: given values */
    const float *values;
} tensor_spec;

typedef struct synth {
    uint64_t seed;
    tensor_spec *t;
    int32_t n, cap;
    float llama3_freqs[4096];
    int64_t done_bytes, total_bytes;
} synth;

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static px_status fill(void *user, const char *name, void *dst, uint64_t nbytes) {
    synth *S = user;
    const tensor_spec *t = NULL;
    for (int32_t i = 0; i < S->n && !t; i++)
        if (strcmp(S->t[i].name, name) == 0) t = &S->t[i];
    if (!t) return PX_ERR_INTERNAL;
    int64_t numel = t->ne[0] * (t->rank > 1 ? t->ne[1] : 1);
    rng r;
    rng_seed(&r, S->seed ^ name_hash(name));
    enum { CHUNK = 1 << 16 }; /* a multiple of every block size */
    static float buf[CHUNK];
    uint8_t *out = dst;
    for (int64_t i = 0; i < numel; i += CHUNK) {
        int64_t k = numel - i < CHUNK ? numel - i : CHUNK;
        for (int64_t j = 0; j < k; j++) {
            float v = rng_normal(&r) * 0.02f;
            buf[j] = t->kind == 1 ? 1.0f + v : t->kind == 3 ? t->values[i + j] : v;
        }
        int64_t off = px_dtype_row_size(t->dtype, i);
        px_status st = px_convert(PX_F32, buf, t->dtype, out + off, k);
        if (st) return st;
    }
    S->done_bytes += (int64_t)nbytes;
    if (isatty(2))
        fprintf(stderr, "\rplexus synth: %5.1f%% (%s)%*s", 100.0 * (double)S->done_bytes / (double)S->total_bytes,
                name, 20, "");
    return PX_OK;
}

static int add(synth *S, px_dtype dt, int kind, const float *values, int32_t rank, int64_t d0, int64_t d1,
               const char *fmt, int layer) {
    if (S->n == S->cap) {
        int32_t nc = S->cap ? S->cap * 2 : 64;
        tensor_spec *nt = realloc(S->t, sizeof *nt * (size_t)nc);
        if (!nt) return -1;
        S->t = nt;
        S->cap = nc;
    }
    tensor_spec *t = &S->t[S->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, fmt, layer);
    t->dtype = dt;
    t->rank = rank;
    t->ne[0] = d0;
    t->ne[1] = d1;
    t->kind = kind;
    t->values = values;
    return 0;
}

/* ---- a generated byte-level BPE vocabulary ---------------------------------------- */

/* A fixed English text: the merges are learnt from it (byte-level BPE
 * training: words split like GPT-2's pre-tokenizer, the most frequent pair
 * merged first, ties broken by the pair's text), so the vocabulary is
 * deterministic and tokenizes English into something shorter than bytes. */
static const char corpus[] =
    "Once upon a time there was a little girl who lived in a small village near the forest. She loved to play "
    "outside with her friends and her dog. One day the sun was shining and the birds were singing in the trees. "
    "The quick brown fox jumps over the lazy dog. In the spring of that year the village held a festival with "
    "music, fresh bread and games; the children ran between the stalls while their parents talked about the "
    "harvest, the weather and the new stone bridge. What is the answer to this question? It is important that "
    "the model can run on the device where the data is, and that nothing leaves it. When the evening came, the "
    "people went home and the streets were quiet again. The old man at the corner store counted the coins he had "
    "earned and smiled, because it had been a good day for everyone. Later that night the wind turned cold and "
    "the first snow of the winter started to fall over the roofs and the fields. In the morning the children "
    "found the world white and bright, and they built a snowman in front of the school. Their teacher said that "
    "they could stay outside for one more hour before the lessons would begin. Reading, writing and counting are "
    "the things that every student should learn, but playing together matters as much as any of them. There are "
    "many ways to tell a story: some people write it down, others sing it, and some simply remember it and tell "
    "it again to their own children. This is how the stories of the village have been kept for hundreds of "
    "years. The computer in the office of the mayor is older than most of the children, yet it still works, and "
    "it prints the letters that the mayor sends to the other towns in the region. Nobody knows exactly how it "
    "works, but everybody is happy that it does. Would you like to hear another story about the village? Then "
    "listen carefully, because the next one is about a boy, his sister and a very clever cat.";

typedef struct vocab {
    char **tok;
    int32_t *type;
    int32_t n, cap;
    char **merges;
    int32_t n_merges, cap_merges;
    int32_t bos_id, eos_id;
} vocab;

static int vpush(char ***arr, int32_t *n, int32_t *cap, char *s) {
    if (!s) return -1;
    if (*n == *cap) {
        int32_t nc = *cap ? *cap * 2 : 1024;
        char **na = realloc(*arr, sizeof *na * (size_t)nc);
        if (!na) return -1;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = s;
    return 0;
}

static int vadd(vocab *v, const char *s, int32_t type) {
    int32_t cap = v->cap;
    if (vpush(&v->tok, &v->n, &v->cap, strdup(s))) return -1;
    if (v->cap != cap) {
        int32_t *nt = realloc(v->type, sizeof *nt * (size_t)v->cap);
        if (!nt) return -1;
        v->type = nt;
    }
    v->type[v->n - 1] = type;
    return 0;
}

static void byte_sym(uint8_t b, char *out) {
    uint32_t cp = b;
    int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    if (!printable) {
        uint32_t n = 0;
        for (int i = 0; i < b; i++) n += !((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE);
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

/* Pre-tokenized words of the corpus, GPT-2 style: an optional leading space
 * and then a run of letters, of digits or of other characters. */
enum { SYM = 32, MAXSYM = 24, MAXWORDS = 1024 };
typedef struct bpe_word {
    char sym[MAXSYM][SYM];
    int n, count;
} bpe_word;

typedef struct bpe_pair {
    const char *l, *r;
    int count;
} bpe_pair;

static int char_class(char c) { return isalpha((unsigned char)c) ? 0 : isdigit((unsigned char)c) ? 1 : 2; }

static int pair_cmp(const void *a, const void *b) {
    const bpe_pair *x = a, *y = b;
    int c = strcmp(x->l, y->l);
    return c ? c : strcmp(x->r, y->r);
}

/* Learn up to max_merges merges from the corpus (the last ones may join whole words seen once). */
static int learn_merges(vocab *v, int32_t max_merges) {
    bpe_word *words = calloc(MAXWORDS, sizeof *words);
    bpe_pair *pairs = malloc(sizeof *pairs * MAXWORDS * MAXSYM);
    int nw = 0, rc = -1;
    if (!words || !pairs) goto done;
    for (const char *p = corpus; *p && nw < MAXWORDS;) {
        const char *q = p + (*p == ' ');
        if (!*q || *q == ' ') { /* a lone space */
            p = q > p ? q : p + 1;
            continue;
        }
        int cls = char_class(*q);
        while (*q && *q != ' ' && char_class(*q) == cls) q++;
        bpe_word wd = {.count = 1};
        for (const char *c = p; c < q && wd.n < MAXSYM; c++) byte_sym((uint8_t)*c, wd.sym[wd.n++]);
        p = q;
        int same = -1;
        for (int i = 0; i < nw && same < 0; i++)
            if (words[i].n == wd.n && memcmp(words[i].sym, wd.sym, sizeof wd.sym) == 0) same = i;
        if (same >= 0) words[same].count++;
        else words[nw++] = wd;
    }
    for (int32_t m = 0; m < max_merges; m++) {
        int np = 0;
        for (int w = 0; w < nw; w++)
            for (int i = 0; i + 1 < words[w].n; i++)
                if (strlen(words[w].sym[i]) + strlen(words[w].sym[i + 1]) < SYM)
                    pairs[np++] = (bpe_pair){words[w].sym[i], words[w].sym[i + 1], words[w].count};
        qsort(pairs, (size_t)np, sizeof *pairs, pair_cmp);
        int best = -1, best_count = 0;
        for (int i = 0; i < np;) {
            int j = i, count = 0;
            for (; j < np && pair_cmp(&pairs[i], &pairs[j]) == 0; j++) count += pairs[j].count;
            if (count > best_count) { /* strictly more: ties keep the first in text order */
                best = i;
                best_count = count;
            }
            i = j;
        }
        if (best < 0) break;
        char l[SYM], r[SYM], merge[2 * SYM + 1], tok[2 * SYM];
        snprintf(l, sizeof l, "%s", pairs[best].l);
        snprintf(r, sizeof r, "%s", pairs[best].r);
        snprintf(merge, sizeof merge, "%s %s", l, r);
        snprintf(tok, sizeof tok, "%s%s", l, r);
        int known = 0; /* two merges may make the same text ("a bc", "ab c") */
        for (int32_t i = 256; i < v->n && !known; i++) known = strcmp(v->tok[i], tok) == 0;
        if (vpush(&v->merges, &v->n_merges, &v->cap_merges, strdup(merge)) || (!known && vadd(v, tok, 1))) goto done;
        for (int w = 0; w < nw; w++)
            for (int i = 0; i + 1 < words[w].n; i++)
                if (strcmp(words[w].sym[i], l) == 0 && strcmp(words[w].sym[i + 1], r) == 0) {
                    memcpy(words[w].sym[i], tok, strlen(tok) + 1); /* < SYM: checked above */
                    memmove(words[w].sym[i + 1], words[w].sym[i + 2], SYM * (size_t)(words[w].n - i - 2));
                    words[w].n--;
                }
    }
    rc = 0;
done:
    free(words);
    free(pairs);
    return rc;
}

typedef struct family {
    const char *name, *pre, *bos, *eos, *specials[8], *chat_template;
    int add_bos;
} family;

static const family families[] = {
    {"llama2", "gpt-2", "<s>", "</s>", {"<unk>", NULL}, NULL, 1},
    {"llama3", "llama-bpe", "<|begin_of_text|>", "<|end_of_text|>",
     {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", NULL},
     "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + "
     "m['content'] | trim + '<|eot_id|>' }}{% endfor %}",
     1},
    {"qwen2", "qwen2", "<|endoftext|>", "<|im_end|>", {"<|im_start|>", NULL},
     "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}", 0},
    {"phi3", "gpt-2", "<s>", "<|endoftext|>", {"</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", NULL},
     "{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}{% endfor %}"
     "{{ '<|assistant|>\n' }}",
     1},
    {"gemma", "gpt-2", "<bos>", "<eos>", {"<start_of_turn>", "<end_of_turn>", NULL},
     "{{ bos_token }}{% for m in messages %}{{ '<start_of_turn>' + m['role'] + '\n' + m['content'] | trim + "
     "'<end_of_turn>\n' }}{% endfor %}",
     1},
};

static int make_vocab(vocab *v, const family *f, int64_t n_vocab) {
    char s[8];
    for (int b = 0; b < 256; b++) {
        byte_sym((uint8_t)b, s);
        if (vadd(v, s, 1)) return -1;
    }
    if (learn_merges(v, 300)) return -1;
    v->bos_id = v->n;
    v->eos_id = v->n + 1;
    if (vadd(v, f->bos, 3) || vadd(v, f->eos, 3)) return -1;
    for (int i = 0; f->specials[i]; i++)
        if (vadd(v, f->specials[i], 3)) return -1;
    /* The rest: made-up words (" bakodi"), so that random weights print
     * visible gibberish; distinct from each other by construction (a
     * bijective base-105 numeral of syllables) and from the tokens above. */
    static const char cons[] = "bcdfghjklmnprstvwxyz", vow[] = "aeiou";
    int32_t fixed = v->n;
    for (uint64_t k = 1; v->n < n_vocab; k++) {
        char word[64] = "\xc4\xa0"; /* the byte-level symbol of ' ' */
        size_t len = 2;
        for (uint64_t x = k; x > 0 && len + 2 < sizeof word; x = (x - 1) / 100) {
            uint64_t d = (x - 1) % 100;
            word[len++] = cons[d / 5];
            word[len++] = vow[d % 5];
        }
        word[len] = 0;
        int dup = 0;
        for (int32_t i = 256; i < fixed && !dup; i++) dup = strcmp(v->tok[i], word) == 0;
        if (!dup && vadd(v, word, 1)) return -1;
    }
    return v->n == n_vocab ? 0 : -1;
}

static void vocab_free(vocab *v) {
    for (int32_t i = 0; i < v->n; i++) free(v->tok[i]);
    for (int32_t i = 0; i < v->n_merges; i++) free(v->merges[i]);
    free(v->tok);
    free(v->type);
    free(v->merges);
}

/* ---- the command ------------------------------------------------------------------- */

static void list_presets(FILE *f) {
    fprintf(f, "%-14s %-7s %8s %6s %6s %9s %6s %8s\n", "preset", "arch", "vocab", "embd", "layers", "heads/kv", "hdim",
            "ff");
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        const preset *p = &presets[i];
        char hk[32];
        snprintf(hk, sizeof hk, "%lld/%lld", (long long)p->n_head, (long long)p->n_head_kv);
        fprintf(f, "%-14s %-7s %8lld %6lld %6lld %9s %6lld %8lld\n", p->name, p->arch, (long long)p->n_vocab,
                (long long)p->n_embd, (long long)p->n_layer, hk, (long long)p->head_dim, (long long)p->n_ff);
    }
}

static int usage(void) {
    fprintf(stderr,
            "usage: plexus synth --arch ARCH --preset NAME -o FILE.gguf [--type F16|F32|BF16|Q8_0|Q4_0]\n"
            "                    [--vocab VOCAB.gguf] [--seed N] [--layers N]\n"
            "       plexus synth --preset list\n"
            "Writes random weights in the exact shapes of a real model. The output is gibberish by design.\n");
    return 2;
}

/* Copy every tokenizer.* key of a vocabulary file into the writer. */
static int copy_vocab(px_context *ctx, const char *path, px_gguf_writer *w, px_model **keep, int64_t *n_vocab) {
    if (px_model_open(ctx, path, keep)) {
        fprintf(stderr, "plexus synth: %s\n", px_last_error());
        return -1;
    }
    px_meta_value toks;
    if (px_model_meta_find(*keep, "tokenizer.ggml.tokens", &toks) || toks.type != PX_META_ARRAY || toks.n == 0) {
        fprintf(stderr, "plexus synth: %s: no tokenizer.ggml.tokens\n", path);
        return -1;
    }
    *n_vocab = (int64_t)toks.n;
    for (int64_t i = 0; i < px_model_meta_count(*keep); i++) {
        const char *key;
        px_meta_value v;
        if (px_model_meta_get(*keep, i, &key, &v) == PX_OK && strncmp(key, "tokenizer.", 10) == 0 &&
            px_gguf_add_meta(w, key, &v)) {
            fprintf(stderr, "plexus synth: %s\n", px_gguf_writer_error(w));
            return -1;
        }
    }
    return 0;
}

int px_cmd_synth(int argc, char **argv) {
    px_cli_common c = {0};
    const char *arch = NULL, *pname = NULL, *out = NULL, *type = "F16", *vocab_path = NULL;
    uint64_t seed = 42;
    long layers = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int takes = strcmp(a, "--arch") == 0 || strcmp(a, "--preset") == 0 || strcmp(a, "-o") == 0 ||
                    strcmp(a, "--output") == 0 || strcmp(a, "--type") == 0 || strcmp(a, "--vocab") == 0 ||
                    strcmp(a, "--seed") == 0 || strcmp(a, "--layers") == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "plexus synth: %s needs a value\n", a);
            return usage();
        }
        if (strcmp(a, "--arch") == 0) arch = argv[++i];
        else if (strcmp(a, "--preset") == 0) pname = argv[++i];
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) out = argv[++i];
        else if (strcmp(a, "--type") == 0) type = argv[++i];
        else if (strcmp(a, "--vocab") == 0) vocab_path = argv[++i];
        else if (strcmp(a, "--seed") == 0) {
            char *end;
            const char *v = argv[++i];
            seed = strtoull(v, &end, 10);
            if (!*v || *end || *v == '-') {
                fprintf(stderr, "plexus synth: --seed expects a non-negative integer, got '%s'\n", v);
                return 2;
            }
        } else if (strcmp(a, "--layers") == 0) {
            char *end;
            const char *v = argv[++i];
            layers = strtol(v, &end, 10);
            if (!*v || *end || layers < 1 || layers > 4096) {
                fprintf(stderr, "plexus synth: --layers expects 1..4096, got '%s'\n", v);
                return 2;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        } else {
            int r = px_cli_common_arg(&c, argc, argv, &i);
            if (r < 0) return 2;
            if (r == 0) {
                fprintf(stderr, "plexus synth: unknown option '%s'\n", a);
                return usage();
            }
        }
    }
    if (pname && strcmp(pname, "list") == 0) {
        list_presets(stdout);
        return 0;
    }
    if (!pname) {
        fprintf(stderr, "plexus synth: no preset (--preset NAME; --preset list shows them)\n");
        return usage();
    }
    if (!out && strcmp(pname, "list") != 0) {
        fprintf(stderr, "plexus synth: no output file (-o FILE.gguf)\n");
        return usage();
    }
    const preset *P = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, pname) == 0) P = &presets[i];
    if (!P) {
        fprintf(stderr, "plexus synth: unknown preset '%s'; the presets are:\n", pname);
        list_presets(stderr);
        return 2;
    }
    if (arch && strcmp(arch, P->arch) != 0) {
        fprintf(stderr, "plexus synth: preset %s is a %s model, not %s\n", P->name, P->arch, arch);
        return 2;
    }
    px_dtype wt;
    if (px_dtype_from_name(type, &wt) ||
        !(wt == PX_F32 || wt == PX_F16 || wt == PX_BF16 || wt == PX_Q8_0 || wt == PX_Q4_0)) {
        fprintf(stderr, "plexus synth: --type expects F32, F16, BF16, Q8_0 or Q4_0, got '%s'\n", type);
        return 2;
    }
    int rc = 1;
    px_context *ctx = NULL;
    px_model *vm = NULL;
    px_gguf_writer *w = NULL;
    vocab gv = {0};
    synth S = {.seed = seed};
    px_meta_value tv = {0}, ty = {0}, mg = {0};
    px_meta_string *tok_s = NULL, *mg_s = NULL;
    int64_t n_vocab = P->n_vocab, L = layers ? layers : P->n_layer;
    if (px_gguf_writer_create(32, &w)) goto out;
    const family *fam = NULL;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i].name, P->family) == 0) fam = &families[i];
    if (vocab_path) {
        if (!(ctx = px_cli_context(&c)) || copy_vocab(ctx, vocab_path, w, &vm, &n_vocab)) goto out;
    } else {
        if (make_vocab(&gv, fam, n_vocab)) {
            fprintf(stderr, "plexus synth: out of memory making the vocabulary\n");
            goto out;
        }
    }
    /* metadata */
    char key[128];
#define KEY(k) (snprintf(key, sizeof key, "%s." k, P->arch), key)
    int file_type = wt == PX_F32 ? 0 : wt == PX_F16 ? 1 : wt == PX_Q4_0 ? 2 : wt == PX_Q8_0 ? 7 : 32;
    px_status st = px_gguf_add_str(w, "general.architecture", P->arch);
    if (!st) st = px_gguf_add_str(w, "general.name", P->model_name);
    if (!st) st = px_gguf_add_str(w, "general.description", "random weights made by plexus synth: output is gibberish");
    if (!st) st = px_gguf_add_u32(w, "general.file_type", (uint32_t)file_type);
    if (!st) st = px_gguf_add_u32(w, KEY("context_length"), (uint32_t)P->n_ctx);
    if (!st) st = px_gguf_add_u32(w, KEY("embedding_length"), (uint32_t)P->n_embd);
    if (!st) st = px_gguf_add_u32(w, KEY("block_count"), (uint32_t)L);
    if (!st) st = px_gguf_add_u32(w, KEY("feed_forward_length"), (uint32_t)P->n_ff);
    if (!st) st = px_gguf_add_u32(w, KEY("attention.head_count"), (uint32_t)P->n_head);
    if (!st) st = px_gguf_add_u32(w, KEY("attention.head_count_kv"), (uint32_t)P->n_head_kv);
    if (!st && (P->keys & K_HEAD_DIM)) {
        st = px_gguf_add_u32(w, KEY("attention.key_length"), (uint32_t)P->head_dim);
        if (!st) st = px_gguf_add_u32(w, KEY("attention.value_length"), (uint32_t)P->head_dim);
    }
    if (!st) st = px_gguf_add_f32(w, KEY("attention.layer_norm_rms_epsilon"), (float)P->rms_eps);
    if (!st && (P->keys & K_FREQ_BASE)) st = px_gguf_add_f32(w, KEY("rope.freq_base"), (float)P->rope_base);
    if (!st && (P->keys & K_ROPE_DIM)) st = px_gguf_add_u32(w, KEY("rope.dimension_count"), (uint32_t)P->head_dim);
    if (!st && (P->keys & K_VOCAB_SIZE)) st = px_gguf_add_u32(w, KEY("vocab_size"), (uint32_t)n_vocab);
    if (!st && P->attn_softcap > 0) st = px_gguf_add_f32(w, KEY("attn_logit_softcapping"), (float)P->attn_softcap);
    if (!st && P->final_softcap > 0) st = px_gguf_add_f32(w, KEY("final_logit_softcapping"), (float)P->final_softcap);
    if (!st && P->sliding_window) st = px_gguf_add_u32(w, KEY("attention.sliding_window"), (uint32_t)P->sliding_window);
    if (!st && P->orig_ctx) {
        /* LongRoPE attention factor, as llama.cpp's converter computes it. */
        double scale = (double)P->n_ctx / (double)P->orig_ctx;
        double attn_factor = scale > 1 ? sqrt(1 + log(scale) / log((double)P->orig_ctx)) : 1.0;
        st = px_gguf_add_u32(w, KEY("rope.scaling.original_context_length"), (uint32_t)P->orig_ctx);
        if (!st) st = px_gguf_add_f32(w, KEY("rope.scaling.attn_factor"), (float)attn_factor);
    }
#undef KEY
    if (!st && !vocab_path) {
        tok_s = calloc((size_t)gv.n, sizeof *tok_s);
        mg_s = calloc((size_t)(gv.n_merges ? gv.n_merges : 1), sizeof *mg_s);
        if (!tok_s || !mg_s) goto out;
        for (int32_t i = 0; i < gv.n; i++) tok_s[i] = (px_meta_string){gv.tok[i], strlen(gv.tok[i])};
        for (int32_t i = 0; i < gv.n_merges; i++) mg_s[i] = (px_meta_string){gv.merges[i], strlen(gv.merges[i])};
        tv = (px_meta_value){.type = PX_META_ARRAY, .elem_type = PX_META_STRING, .n = (uint64_t)gv.n, .data = tok_s};
        ty = (px_meta_value){.type = PX_META_ARRAY, .elem_type = PX_META_I32, .n = (uint64_t)gv.n, .data = gv.type};
        mg = (px_meta_value){
            .type = PX_META_ARRAY, .elem_type = PX_META_STRING, .n = (uint64_t)gv.n_merges, .data = mg_s};
        int32_t bos = gv.bos_id, eos = gv.eos_id;
        st = px_gguf_add_str(w, "tokenizer.ggml.model", "gpt2");
        if (!st) st = px_gguf_add_str(w, "tokenizer.ggml.pre", fam->pre);
        if (!st) st = px_gguf_add_meta(w, "tokenizer.ggml.tokens", &tv);
        if (!st) st = px_gguf_add_meta(w, "tokenizer.ggml.token_type", &ty);
        if (!st) st = px_gguf_add_meta(w, "tokenizer.ggml.merges", &mg);
        if (!st) st = px_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos);
        if (!st) st = px_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
        if (!st) {
            px_meta_value b = {.type = PX_META_BOOL, .u = {.u64 = (uint64_t)fam->add_bos}};
            st = px_gguf_add_meta(w, "tokenizer.ggml.add_bos_token", &b);
        }
        if (!st && fam->chat_template) st = px_gguf_add_str(w, "tokenizer.chat_template", fam->chat_template);
    }
    if (st) {
        fprintf(stderr, "plexus synth: %s\n", px_gguf_writer_error(w));
        goto out;
    }
    /* tensors, in llama.cpp's names and (row-major) shapes */
    const int64_t E = P->n_embd, D = P->head_dim, F = P->n_ff;
    const int64_t QW = P->n_head * D, KW = P->n_head_kv * D;
    int bad = add(&S, wt, 0, NULL, 2, n_vocab, E, "token_embd.weight", 0);
    if (P->llama3_freqs) { /* Llama 3.1 frequency factors */
        for (int64_t i = 0; i < D / 2; i++) {
            double freq = pow(P->rope_base, -2.0 * (double)i / (double)D), wavelen = 2 * 3.14159265358979323846 / freq;
            double lo_wl = (double)P->f_orig_ctx / P->f_low, hi_wl = (double)P->f_orig_ctx / P->f_high;
            double f;
            if (wavelen < hi_wl) f = 1;
            else if (wavelen > lo_wl) f = P->f_factor;
            else {
                double smooth = ((double)P->f_orig_ctx / wavelen - P->f_low) / (P->f_high - P->f_low);
                f = 1.0 / ((1 - smooth) / P->f_factor + smooth);
            }
            S.llama3_freqs[i] = (float)f;
        }
        bad |= add(&S, PX_F32, 3, S.llama3_freqs, 1, D / 2, 0, "rope_freqs.weight", 0);
    }
    if (P->long_factors) { /* LongRoPE factors, the published values */
        bad |= add(&S, PX_F32, 3, P->long_factors, 1, D / 2, 0, "rope_factors_long.weight", 0);
        bad |= add(&S, PX_F32, 3, P->short_factors, 1, D / 2, 0, "rope_factors_short.weight", 0);
    }
    for (int il = 0; il < L && !bad; il++) {
        bad |= add(&S, PX_F32, 1, NULL, 1, E, 0, "blk.%d.attn_norm.weight", il);
        if (P->fused) {
            bad |= add(&S, wt, 0, NULL, 2, QW + 2 * KW, E, "blk.%d.attn_qkv.weight", il);
        } else {
            bad |= add(&S, wt, 0, NULL, 2, QW, E, "blk.%d.attn_q.weight", il);
            bad |= add(&S, wt, 0, NULL, 2, KW, E, "blk.%d.attn_k.weight", il);
            bad |= add(&S, wt, 0, NULL, 2, KW, E, "blk.%d.attn_v.weight", il);
        }
        if (P->qkv_bias) {
            bad |= add(&S, PX_F32, 2, NULL, 1, QW, 0, "blk.%d.attn_q.bias", il);
            bad |= add(&S, PX_F32, 2, NULL, 1, KW, 0, "blk.%d.attn_k.bias", il);
            bad |= add(&S, PX_F32, 2, NULL, 1, KW, 0, "blk.%d.attn_v.bias", il);
        }
        bad |= add(&S, wt, 0, NULL, 2, E, QW, "blk.%d.attn_output.weight", il);
        if (P->gemma_norms) bad |= add(&S, PX_F32, 1, NULL, 1, E, 0, "blk.%d.post_attention_norm.weight", il);
        bad |= add(&S, PX_F32, 1, NULL, 1, E, 0, "blk.%d.ffn_norm.weight", il);
        if (P->fused) {
            bad |= add(&S, wt, 0, NULL, 2, 2 * F, E, "blk.%d.ffn_up.weight", il);
        } else {
            bad |= add(&S, wt, 0, NULL, 2, F, E, "blk.%d.ffn_gate.weight", il);
            bad |= add(&S, wt, 0, NULL, 2, F, E, "blk.%d.ffn_up.weight", il);
        }
        bad |= add(&S, wt, 0, NULL, 2, E, F, "blk.%d.ffn_down.weight", il);
        if (P->gemma_norms) bad |= add(&S, PX_F32, 1, NULL, 1, E, 0, "blk.%d.post_ffw_norm.weight", il);
    }
    bad |= add(&S, PX_F32, 1, NULL, 1, E, 0, "output_norm.weight", 0);
    if (!P->tied) bad |= add(&S, wt, 0, NULL, 2, n_vocab, E, "output.weight", 0);
    if (bad) goto out;
    int64_t params = 0;
    for (int32_t i = 0; i < S.n; i++) {
        tensor_spec *t = &S.t[i];
        int64_t numel = t->ne[0] * (t->rank > 1 ? t->ne[1] : 1);
        params += numel;
        S.total_bytes += px_dtype_row_size(t->dtype, numel);
        if (px_gguf_add_tensor_fill(w, t->name, t->dtype, t->rank, t->ne, fill, &S)) {
            fprintf(stderr, "plexus synth: %s\n", px_gguf_writer_error(w));
            goto out;
        }
    }
    fprintf(stderr, "plexus synth: preset %s (%s), %lld %s, %lld parameters (%.1f M), %s weights, %lld tensors\n",
            P->name, P->arch, (long long)L, L == 1 ? "layer" : "layers", (long long)params, (double)params / 1e6,
            px_dtype_name(wt), (long long)S.n);
    if (px_gguf_write(w, out)) {
        fprintf(stderr, "%splexus synth: %s\n", isatty(2) ? "\n" : "", px_gguf_writer_error(w));
        goto out;
    }
    struct stat sb;
    long long written = stat(out, &sb) == 0 ? (long long)sb.st_size : -1;
    fprintf(stderr, "%splexus synth: wrote %s: %lld bytes (%.1f MiB).%*s\n", isatty(2) ? "\r" : "", out, written,
            (double)written / (1 << 20), isatty(2) ? 20 : 0, "");
    fprintf(stderr, "plexus synth: the weights are random: the model prints gibberish.\n");
    rc = 0;
out:
    free(tok_s);
    free(mg_s);
    vocab_free(&gv);
    free(S.t);
    px_gguf_writer_destroy(w);
    px_model_close(vm);
    px_context_destroy(ctx);
    return rc;
}
