/* Tokenizers from GGUF metadata (tokenizer.ggml.*), producing llama.cpp's
 * ids: the vocabulary, special tokens (control, user-defined, unknown) split
 * out of the text first, SentencePiece-style encoding (model "llama"), and
 * pieces/detokenization. Byte-level BPE (model "gpt2") is in tok_bpe.c.
 *
 * SPM (as llama.cpp implements it for SPM vocabularies): the text gets a
 * leading space (when add_space_prefix) after the start and after every
 * special token, spaces become U+2581, the text is split into UTF-8
 * characters, and adjacent pairs whose concatenation is a vocabulary token
 * are merged, best score first (ties: leftmost), until no pair merges. A
 * final symbol that is not a token is emitted as its bytes' <0xXX> tokens. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tok_internal.h"
#include "unicode.h"

uint32_t tok_hash(const char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

int32_t tok_lookup(const px_tokenizer *t, const char *p, size_t n) {
    for (uint32_t i = tok_hash(p, n) & t->table_mask;; i = (i + 1) & t->table_mask) {
        int32_t id = t->table[i];
        if (id < 0) return -1;
        if (t->tok[id].len == n && memcmp(t->tok[id].text, p, n) == 0) return id;
    }
}

void px_tokenizer_destroy(px_tokenizer *t) {
    if (!t) return;
    if (t->tok)
        for (int32_t i = 0; i < t->n_vocab; i++) free(t->tok[i].text);
    free(t->tok);
    free(t->table);
    free(t->special);
    free(t->merge_buf);
    free(t->merges);
    free(t->mtable);
    free(t);
}

static int meta_int(const px_model *m, const char *key, int64_t *out) {
    px_meta_value v;
    if (px_model_meta_find(m, key, &v) != PX_OK) return 0;
    if (v.type == PX_META_I8 || v.type == PX_META_I16 || v.type == PX_META_I32 || v.type == PX_META_I64) *out = v.u.i64;
    else if (v.type <= PX_META_U32 || v.type == PX_META_U64 || v.type == PX_META_BOOL) *out = (int64_t)v.u.u64;
    else return 0;
    return 1;
}

static int meta_str(const px_model *m, const char *key, char *buf, size_t cap) {
    px_meta_value v;
    if (px_model_meta_find(m, key, &v) != PX_OK || v.type != PX_META_STRING) return 0;
    size_t n = v.u.str.len < cap - 1 ? v.u.str.len : cap - 1;
    memcpy(buf, v.u.str.ptr, n);
    buf[n] = 0;
    return 1;
}

static int32_t meta_id(const px_model *m, const char *key, int32_t n_vocab, int32_t def) {
    int64_t v;
    if (!meta_int(m, key, &v)) return def;
    return v >= 0 && v < n_vocab ? (int32_t)v : -1;
}

/* Texts that end a turn or a text in some model family: llama.cpp makes them
 * control tokens and end-of-generation tokens. */
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
    "<|end_of_text|>", "<end_of_utterance>", "<|return|>", "<|call|>",
    ("<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"), /* DeepSeek */
};

px_status px_tokenizer_create(const px_model *m, px_tokenizer **out) {
    if (!m || !out) return px_set_error(PX_ERR_INVALID_ARG, "px_tokenizer_create: NULL argument");
    *out = NULL;
    const char *path = px_model_path(m);
    char model[16] = "";
    if (!meta_str(m, "tokenizer.ggml.model", model, sizeof model))
        return px_set_error(PX_ERR_FORMAT, "%s: no tokenizer.ggml.model", path);
    int kind;
    if (strcmp(model, "llama") == 0) kind = TOK_SPM;
    else if (strcmp(model, "gpt2") == 0) kind = TOK_BPE;
    else
        return px_set_error(PX_ERR_UNSUPPORTED,
                            "%s: tokenizer model '%s' is not supported (supported: llama (SentencePiece), gpt2 (BPE))",
                            path, model);
    char pre[48] = "default";
    int pre_kind = PRE_DEFAULT;
    if (kind == TOK_BPE) {
        meta_str(m, "tokenizer.ggml.pre", pre, sizeof pre);
        pre_kind = tok_pre_kind(pre);
        if (pre_kind < 0)
            return px_set_error(PX_ERR_UNSUPPORTED,
                                "%s: pre-tokenizer '%s' (tokenizer.ggml.pre) is not supported (supported: default, gpt-2, "
                                "llama3/llama-bpe, qwen2, deepseek-coder, starcoder/smollm and aliases)",
                                path, pre);
    }
    px_meta_value toks, scores, types;
    if (px_model_meta_find(m, "tokenizer.ggml.tokens", &toks) || toks.type != PX_META_ARRAY ||
        toks.elem_type != PX_META_STRING || toks.n == 0 || toks.n > (1u << 24))
        return px_set_error(PX_ERR_FORMAT, "%s: tokenizer.ggml.tokens is missing or not a string array", path);
    int have_scores = px_model_meta_find(m, "tokenizer.ggml.scores", &scores) == PX_OK;
    if (have_scores && (scores.type != PX_META_ARRAY || scores.elem_type != PX_META_F32 || scores.n != toks.n))
        return px_set_error(PX_ERR_FORMAT, "%s: tokenizer.ggml.scores does not match the token list", path);
    int have_types = px_model_meta_find(m, "tokenizer.ggml.token_type", &types) == PX_OK;
    if (have_types && (types.type != PX_META_ARRAY || types.elem_type != PX_META_I32 || types.n != toks.n))
        return px_set_error(PX_ERR_FORMAT, "%s: tokenizer.ggml.token_type does not match the token list", path);
    px_tokenizer *t = px_calloc(1, sizeof *t);
    if (!t) return PX_ERR_NO_MEMORY;
    t->kind = kind;
    snprintf(t->model, sizeof t->model, "%s", model);
    snprintf(t->pre, sizeof t->pre, "%s", kind == TOK_BPE ? pre : "");
    t->pre_kind = pre_kind;
    t->n_vocab = (int32_t)toks.n;
    uint32_t cap = 1;
    while (cap < 2u * (uint32_t)toks.n) cap <<= 1;
    t->tok = px_calloc(toks.n, sizeof *t->tok);
    t->table = px_malloc((size_t)cap * sizeof *t->table);
    px_status st = PX_OK;
    if (!t->tok || !t->table) {
        st = PX_ERR_NO_MEMORY;
        goto fail;
    }
    t->table_mask = cap - 1;
    memset(t->table, 0xff, (size_t)cap * sizeof *t->table);
    for (int i = 0; i < 256; i++) t->byte_tok[i] = -1;
    const px_meta_string *s = toks.data;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (s[id].len > 4096) {
            st = px_set_error(PX_ERR_FORMAT, "%s: token %d is %llu bytes long", path, id, (unsigned long long)s[id].len);
            goto fail;
        }
        tok_entry *e = &t->tok[id];
        e->text = px_malloc(s[id].len + 1);
        if (!e->text) {
            st = PX_ERR_NO_MEMORY;
            goto fail;
        }
        memcpy(e->text, s[id].ptr, s[id].len);
        e->text[s[id].len] = 0;
        e->len = (uint32_t)s[id].len;
        e->score = have_scores ? ((const float *)scores.data)[id] : 0.0f;
        e->type = have_types ? ((const int32_t *)types.data)[id] : TT_NORMAL;
        if (e->type < TT_NORMAL || e->type > TT_BYTE) e->type = TT_NORMAL;
        if (tok_lookup(t, e->text, e->len) < 0) { /* keep the first id of a duplicated text */
            uint32_t i = tok_hash(e->text, e->len) & t->table_mask;
            while (t->table[i] >= 0) i = (i + 1) & t->table_mask;
            t->table[i] = id;
        }
        unsigned b;
        if (kind == TOK_SPM && e->len == 6 && sscanf(e->text, "<0x%02X>", &b) == 1 && t->byte_tok[b & 255] < 0)
            t->byte_tok[b & 255] = id;
    }
    if (kind == TOK_BPE && (st = tok_bpe_init(t, m))) goto fail;
    /* special ids and flags */
    t->bos = meta_id(m, "tokenizer.ggml.bos_token_id", t->n_vocab, -1);
    t->eos = meta_id(m, "tokenizer.ggml.eos_token_id", t->n_vocab, -1);
    t->unk = meta_id(m, "tokenizer.ggml.unknown_token_id", t->n_vocab, -1);
    t->eot = meta_id(m, "tokenizer.ggml.eot_token_id", t->n_vocab, -1);
    t->eom = meta_id(m, "tokenizer.ggml.eom_token_id", t->n_vocab, -1);
    t->add_bos = kind == TOK_SPM || pre_kind == PRE_LLAMA3;
    t->add_eos = 0;
    t->add_space_prefix = kind == TOK_SPM;
    t->clean_spaces = kind == TOK_BPE && pre_kind != PRE_DEEPSEEK_CODER && pre_kind != PRE_QWEN2 &&
                      strcmp(pre, "smollm") != 0 && strcmp(pre, "command-r") != 0;
    t->ignore_merges = pre_kind == PRE_LLAMA3 && kind == TOK_BPE;
    int64_t v;
    if (meta_int(m, "tokenizer.ggml.add_bos_token", &v)) t->add_bos = v != 0;
    if (meta_int(m, "tokenizer.ggml.add_eos_token", &v)) t->add_eos = v != 0;
    if (meta_int(m, "tokenizer.ggml.add_space_prefix", &v)) t->add_space_prefix = v != 0;
    if (t->add_bos && t->bos < 0) t->add_bos = 0;
    if (t->add_eos && t->eos < 0) t->add_eos = 0;
    for (size_t k = 0; k < sizeof eog_texts / sizeof eog_texts[0]; k++) {
        int32_t id = tok_lookup(t, eog_texts[k], strlen(eog_texts[k]));
        if (id < 0) continue;
        t->tok[id].eog = 1;
        t->tok[id].type = TT_CONTROL;
    }
    if (t->eos >= 0) t->tok[t->eos].eog = 1;
    if (t->eot >= 0) t->tok[t->eot].eog = 1;
    if (t->eom >= 0) t->tok[t->eom].eog = 1;
    /* the special tokens matched in raw text, longest first (stable) */
    t->special = px_malloc(sizeof *t->special * (size_t)t->n_vocab);
    if (!t->special) {
        st = PX_ERR_NO_MEMORY;
        goto fail;
    }
    for (int32_t id = 0; id < t->n_vocab; id++) {
        int ty = t->tok[id].type;
        if ((ty == TT_CONTROL || ty == TT_USER || ty == TT_UNKNOWN) && t->tok[id].len > 0) t->special[t->n_special++] = id;
    }
    for (int32_t i = 1; i < t->n_special; i++)
        for (int32_t j = i; j > 0 && t->tok[t->special[j]].len > t->tok[t->special[j - 1]].len; j--) {
            int32_t x = t->special[j];
            t->special[j] = t->special[j - 1];
            t->special[j - 1] = x;
        }
    /* Phi-3: special tokens eat the whitespace after them (llama.cpp sets
     * this by model name), except <unk>, <s> and <|endoftext|>. */
    char name[128] = "";
    meta_str(m, "general.name", name, sizeof name);
    for (char *c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
    if (strstr(name, "phi-3") || strstr(name, "phi3")) {
        for (int32_t i = 0; i < t->n_special; i++) t->tok[t->special[i]].rstrip = 1;
        int32_t id = tok_lookup(t, "</s>", 4);
        if (id >= 0) t->tok[id].rstrip = 1;
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (int k = 0; k < 3; k++)
            if ((id = tok_lookup(t, keep[k], strlen(keep[k]))) >= 0) t->tok[id].rstrip = 0;
    }
    *out = t;
    return PX_OK;
fail:
    px_tokenizer_destroy(t);
    return st;
}

int32_t px_tokenizer_vocab_size(const px_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t px_tokenizer_bos(const px_tokenizer *t) { return t ? t->bos : -1; }
int32_t px_tokenizer_eos(const px_tokenizer *t) { return t ? t->eos : -1; }
int32_t px_tokenizer_eot(const px_tokenizer *t) { return t ? t->eot : -1; }
int px_tokenizer_add_bos(const px_tokenizer *t) { return t ? t->add_bos : 0; }
const char *px_tokenizer_model(const px_tokenizer *t) { return t ? t->model : ""; }
const char *px_tokenizer_pre(const px_tokenizer *t) { return t ? t->pre : ""; }

int32_t px_tokenizer_find(const px_tokenizer *t, const char *text, size_t len) {
    return t && text ? tok_lookup(t, text, len) : -1;
}

int px_token_is_eog(const px_tokenizer *t, int32_t id) {
    return t && id >= 0 && id < t->n_vocab && t->tok[id].eog;
}

px_status px_token_text(const px_tokenizer *t, int32_t id, const char **text, size_t *len) {
    if (!t || id < 0 || id >= t->n_vocab) return px_set_error(PX_ERR_RANGE, "token id %d outside the vocabulary", id);
    *text = t->tok[id].text;
    *len = t->tok[id].len;
    return PX_OK;
}

/* ---- SPM encoding ---------------------------------------------------------------- */

typedef struct sym {
    int32_t prev, next;
    uint32_t off, len; /* bytes of the (escaped) text */
} sym;

typedef struct bigram {
    int32_t left, right;
    float score;
    uint32_t len;
} bigram;

/* Max-heap on (score, then smaller left). */
static int better(const bigram *a, const bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

typedef struct heap {
    bigram *v;
    size_t n, cap;
} heap;

static int heap_push(heap *h, bigram b) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        bigram *v = realloc(h->v, cap * sizeof *v);
        if (!v) return 0;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    h->v[i] = b;
    while (i > 0 && better(&h->v[i], &h->v[(i - 1) / 2])) {
        bigram tmp = h->v[i];
        h->v[i] = h->v[(i - 1) / 2];
        h->v[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
    return 1;
}

static bigram heap_pop(heap *h) {
    bigram top = h->v[0];
    h->v[0] = h->v[--h->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && better(&h->v[l], &h->v[m])) m = l;
        if (r < h->n && better(&h->v[r], &h->v[m])) m = r;
        if (m == i) break;
        bigram tmp = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = tmp;
        i = m;
    }
    return top;
}

static int try_bigram(const px_tokenizer *t, const char *text, const sym *s, int32_t l, int32_t r, heap *h) {
    if (l < 0 || r < 0) return 1;
    uint32_t len = s[l].len + s[r].len;
    int32_t id = tok_lookup(t, text + s[l].off, len);
    if (id < 0) return 1;
    bigram b = {l, r, t->tok[id].score, len};
    return heap_push(h, b);
}

static uint32_t utf8_len(uint8_t c) {
    static const uint8_t lens[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lens[c >> 4];
}

static px_status spm_encode(const px_tokenizer *t, const char *text, uint32_t n, tok_out *o) {
    if (n == 0) return PX_OK;
    sym *s = px_malloc((size_t)n * sizeof *s);
    heap h = {0};
    if (!s) return PX_ERR_NO_MEMORY;
    int32_t ns = 0;
    for (uint32_t off = 0; off < n; ns++) {
        uint32_t len = utf8_len((uint8_t)text[off]);
        if (len > n - off) len = n - off;
        s[ns].off = off;
        s[ns].len = len;
        s[ns].prev = ns - 1;
        s[ns].next = off + len < n ? ns + 1 : -1;
        off += len;
    }
    int ok = 1;
    for (int32_t i = 1; i < ns && ok; i++) ok = try_bigram(t, text, s, i - 1, i, &h);
    while (ok && h.n) {
        bigram b = heap_pop(&h);
        sym *l = &s[b.left], *r = &s[b.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != b.len) continue; /* stale */
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) s[r->next].prev = b.left;
        ok = try_bigram(t, text, s, l->prev, b.left, &h) && try_bigram(t, text, s, b.left, l->next, &h);
    }
    free(h.v);
    if (!ok) {
        free(s);
        return px_set_error(PX_ERR_NO_MEMORY, "out of memory while tokenizing");
    }
    for (int32_t i = 0; i != -1 && ns > 0; i = s[i].next) {
        int32_t id = tok_lookup(t, text + s[i].off, s[i].len);
        if (id >= 0) {
            tok_emit(o, id);
            continue;
        }
        for (uint32_t k = 0; k < s[i].len; k++) {
            int32_t bt = t->byte_tok[(uint8_t)text[s[i].off + k]];
            tok_emit(o, bt >= 0 ? bt : t->unk);
        }
    }
    free(s);
    return PX_OK;
}

/* A fragment of the input: raw text (id < 0) or a matched special token. */
typedef struct frag {
    int32_t id;
    size_t off, len;
} frag;

/* Encode one raw SPM fragment: space prefix when asked, ' ' -> U+2581. */
static px_status spm_raw(const px_tokenizer *t, const char *text, size_t len, int prefix, tok_out *o) {
    char *esc = px_malloc(len * 3 + 4);
    if (!esc) return PX_ERR_NO_MEMORY;
    uint32_t n = 0;
    if (prefix) {
        memcpy(esc, "\xe2\x96\x81", 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(esc + n, "\xe2\x96\x81", 3);
            n += 3;
        } else {
            esc[n++] = text[i];
        }
    }
    px_status st = spm_encode(t, esc, n, o);
    free(esc);
    return st;
}

/* Split raw fragments at occurrences of special tokens, longest token first
 * (llama.cpp's tokenizer_st_partition). Control and unknown tokens only with
 * parse_special; user-defined tokens always. lstrip/rstrip tokens swallow
 * the whitespace next to them. */
static px_status partition(const px_tokenizer *t, const char *text, int parse_special, frag **fr, int32_t *nf) {
    for (int32_t u = 0; u < t->n_special; u++) {
        const tok_entry *e = &t->tok[t->special[u]];
        if (!parse_special && e->type != TT_USER) continue;
        for (int32_t i = 0; i < *nf; i++) {
            frag f = (*fr)[i];
            if (f.id >= 0 || f.len < e->len) continue;
            const char *hit = NULL;
            for (size_t k = 0; k + e->len <= f.len && !hit; k++)
                if (memcmp(text + f.off + k, e->text, e->len) == 0) hit = text + f.off + k;
            if (!hit) continue;
            frag *g = px_realloc_array(*fr, (size_t)*nf + 2, sizeof *g);
            if (!g) return PX_ERR_NO_MEMORY;
            *fr = g;
            size_t pre = (size_t)(hit - (text + f.off));
            size_t rest_off = f.off + pre + e->len, rest_len = f.len - pre - e->len;
            size_t left = pre;
            if (e->lstrip)
                while (left > 0 && isspace((unsigned char)text[f.off + left - 1])) left--;
            if (e->rstrip)
                while (rest_len > 0 && isspace((unsigned char)text[rest_off])) {
                    rest_off++;
                    rest_len--;
                }
            memmove(&g[i + 3], &g[i + 1], (size_t)(*nf - i - 1) * sizeof *g);
            g[i] = (frag){-1, f.off, left};
            g[i + 1] = (frag){t->special[u], f.off + pre, e->len};
            g[i + 2] = (frag){-1, rest_off, rest_len};
            *nf += 2;
            i++; /* go on in the tail fragment */
        }
    }
    return PX_OK;
}

px_status px_tokenize(const px_tokenizer *t, const char *text, size_t len, int add_special, int parse_special,
                      int32_t *ids, int32_t cap, int32_t *n_out) {
    if (!t || (!text && len) || (!ids && cap) || !n_out) return px_set_error(PX_ERR_INVALID_ARG, "px_tokenize: bad argument");
    if (len > (1u << 30)) return px_set_error(PX_ERR_RANGE, "px_tokenize: text of %zu bytes is too long", len);
    tok_out o = {ids, cap, 0};
    if (add_special && t->add_bos) tok_emit(&o, t->bos);
    if (len) {
        int32_t nf = 1;
        frag *fr = px_malloc(sizeof *fr);
        if (!fr) return PX_ERR_NO_MEMORY;
        fr[0] = (frag){-1, 0, len};
        px_status st = partition(t, text, parse_special, &fr, &nf);
        int prev_special = 1;
        for (int32_t i = 0; i < nf && st == PX_OK; i++) {
            if (fr[i].id >= 0) {
                tok_emit(&o, fr[i].id);
                prev_special = 1;
            } else if (fr[i].len) {
                if (t->kind == TOK_SPM) st = spm_raw(t, text + fr[i].off, fr[i].len, prev_special && t->add_space_prefix, &o);
                else st = tok_bpe_encode(t, text + fr[i].off, fr[i].len, &o);
                prev_special = 0;
            }
        }
        free(fr);
        if (st) return st;
    }
    if (add_special && t->add_eos) tok_emit(&o, t->eos);
    *n_out = o.n;
    if (o.n > cap) return px_set_error(PX_ERR_RANGE, "px_tokenize: %d ids needed, room for %d", o.n, cap);
    return PX_OK;
}

/* ---- pieces --------------------------------------------------------------------- */

static px_status put(char *buf, size_t cap, const char *s, size_t n, size_t *n_out) {
    *n_out = n;
    if (n > cap) return px_set_error(PX_ERR_RANGE, "piece of %zu bytes, room for %zu", n, cap);
    memcpy(buf, s, n);
    return PX_OK;
}

/* The piece of one token; lstrip: drop one leading space. */
static px_status piece(const px_tokenizer *t, int32_t id, int special, int lstrip, char *buf, size_t cap, size_t *n_out) {
    *n_out = 0;
    if (!t || id < 0 || id >= t->n_vocab) return px_set_error(PX_ERR_RANGE, "token id %d outside the vocabulary", id);
    const tok_entry *e = &t->tok[id];
    if (!special && (e->type == TT_CONTROL || e->type == TT_UNKNOWN)) return PX_OK;
    char tmp[4096 + 8];
    size_t n = 0;
    if (e->type == TT_CONTROL || e->type == TT_UNKNOWN || e->type == TT_USER) {
        memcpy(tmp, e->text, e->len);
        n = e->len;
    } else if (e->type == TT_BYTE) {
        unsigned b = 0;
        if (sscanf(e->text, "<0x%02X>", &b) == 1) tmp[n++] = (char)b;
    } else if (e->type == TT_UNUSED) {
        return PX_OK;
    } else if (t->kind == TOK_SPM) {
        for (uint32_t i = 0; i < e->len; i++) {
            if (i + 2 < e->len && memcmp(e->text + i, "\xe2\x96\x81", 3) == 0) {
                tmp[n++] = ' ';
                i += 2;
            } else {
                tmp[n++] = e->text[i];
            }
        }
    } else {
        for (uint32_t i = 0; i < e->len;) {
            size_t l;
            uint32_t cp = px_utf8_decode(e->text + i, e->len - i, &l);
            int b = px_cp_to_byte(cp);
            if (b >= 0) tmp[n++] = (char)b;
            else {
                memcpy(tmp + n, e->text + i, l); /* not a byte-level symbol: as is */
                n += l;
            }
            i += (uint32_t)l;
        }
    }
    const char *p = tmp;
    if (lstrip && n && *p == ' ') {
        p++;
        n--;
    }
    return put(buf, cap, p, n, n_out);
}

px_status px_token_to_piece(const px_tokenizer *t, int32_t id, int special, char *buf, size_t cap, size_t *n_out) {
    if (!n_out || (!buf && cap)) return px_set_error(PX_ERR_INVALID_ARG, "px_token_to_piece: bad argument");
    return piece(t, id, special, 0, buf, cap, n_out);
}

px_status px_detokenize(const px_tokenizer *t, const int32_t *ids, int32_t n, int remove_special, int unparse_special,
                        char *buf, size_t cap, size_t *n_out) {
    if (!t || (!ids && n) || n < 0 || (!buf && cap) || !n_out)
        return px_set_error(PX_ERR_INVALID_ARG, "px_detokenize: bad argument");
    int remove_space = t->add_space_prefix;
    if (remove_special && t->add_bos && n > 0 && ids[0] == t->bos) {
        remove_space = 0;
        ids++;
        n--;
    }
    if (remove_special && t->add_eos && n > 0 && ids[n - 1] == t->eos) n--;
    size_t total = 0;
    char tmp[4096 + 8];
    for (int32_t i = 0; i < n; i++) {
        size_t k;
        px_status st = piece(t, ids[i], unparse_special, remove_space, tmp, sizeof tmp, &k);
        if (st) return st;
        remove_space = 0;
        if (k && total + k <= cap) memcpy(buf + total, tmp, k);
        total += k;
    }
    if (total <= cap && t->clean_spaces && total > 1) {
        /* as llama.cpp: " ?" " !" " ." " ," lose the space; " ' " loses both
         * spaces; " 's" " 'm" " 're" " 've" lose the space */
        char *x = buf;
        size_t m = 1;
        for (size_t i = 1; i < total; i++) {
            char c = x[i];
            if (x[i - 1] == ' ' && (c == '?' || c == '!' || c == '.' || c == ',')) m--;
            x[m++] = c;
        }
        total = m;
        m = 1;
        for (size_t i = 1; i < total; i++) {
            char c = x[i];
            if (c == '\'' && i + 1 < total && x[i - 1] == ' ' && x[i + 1] == ' ') {
                m--;
                x[++i] = 0;
            }
            x[m++] = c;
        }
        total = m;
        m = 1;
        for (size_t i = 1; i < total; i++) {
            char c = x[i];
            if (x[i - 1] == ' ' && c == '\'' && i + 1 < total) {
                char c1 = x[i + 1];
                if (c1 == 's' || c1 == 'm') m--;
                else if (i + 2 < total && ((c1 == 'r' && x[i + 2] == 'e') || (c1 == 'v' && x[i + 2] == 'e'))) m--;
            }
            x[m++] = c;
        }
        total = m;
    }
    *n_out = total;
    if (total > cap) return px_set_error(PX_ERR_RANGE, "px_detokenize: %zu bytes needed, room for %zu", total, cap);
    return PX_OK;
}

size_t px_utf8_valid_prefix(const char *s, size_t n) {
    /* look back at most 3 bytes for the lead byte of an unfinished character */
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        uint8_t c = (uint8_t)s[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation byte */
        size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        return need > back ? n - back : n;
    }
    return n;
}
