/* SentencePiece-style tokenizer (GGUF tokenizer.ggml.model = "llama").
 *
 * Algorithm (as llama.cpp implements it for SPM vocabularies): the text gets
 * a leading space (when add_space_prefix), spaces become U+2581, the text is
 * split into UTF-8 characters, and adjacent pairs whose concatenation is a
 * vocabulary token are merged, best score first (ties: leftmost), until no
 * pair merges. A final symbol that is not a token is emitted as its bytes'
 * <0xXX> tokens. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "plexus/tokenizer.h"

typedef struct tok_entry {
    char *text;
    uint32_t len;
    float score;
} tok_entry;

struct px_tokenizer {
    int32_t n_vocab;
    tok_entry *tok;
    int32_t *table;       /* open addressing: token ids, -1 empty */
    uint32_t table_mask;
    int32_t byte_tok[256];
    int32_t bos, eos, unk;
    int32_t *user;        /* user-defined tokens, longest text first: matched in raw text */
    int32_t n_user;
    int add_bos, add_eos, add_space_prefix;
};

static uint32_t hash_bytes(const char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static int32_t lookup(const px_tokenizer *t, const char *p, size_t n) {
    for (uint32_t i = hash_bytes(p, n) & t->table_mask;; i = (i + 1) & t->table_mask) {
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
    free(t->user);
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

px_status px_tokenizer_create(const px_model *m, px_tokenizer **out) {
    if (!m || !out) return px_set_error(PX_ERR_INVALID_ARG, "px_tokenizer_create: NULL argument");
    *out = NULL;
    const char *path = px_model_path(m);
    px_meta_value model, toks, scores;
    if (px_model_meta_find(m, "tokenizer.ggml.model", &model) || model.type != PX_META_STRING)
        return px_set_error(PX_ERR_FORMAT, "%s: no tokenizer.ggml.model", path);
    if (!(model.u.str.len == 5 && memcmp(model.u.str.ptr, "llama", 5) == 0))
        return px_set_error(PX_ERR_UNSUPPORTED, "%s: tokenizer '%.*s' is not supported yet (only SentencePiece 'llama')",
                            path, (int)(model.u.str.len > 32 ? 32 : model.u.str.len), model.u.str.ptr);
    if (px_model_meta_find(m, "tokenizer.ggml.tokens", &toks) || toks.type != PX_META_ARRAY ||
        toks.elem_type != PX_META_STRING || toks.n == 0 || toks.n > (1u << 24))
        return px_set_error(PX_ERR_FORMAT, "%s: tokenizer.ggml.tokens is missing or not a string array", path);
    int have_scores = px_model_meta_find(m, "tokenizer.ggml.scores", &scores) == PX_OK;
    if (have_scores && (scores.type != PX_META_ARRAY || scores.elem_type != PX_META_F32 || scores.n != toks.n))
        return px_set_error(PX_ERR_FORMAT, "%s: tokenizer.ggml.scores does not match the token list", path);
    px_tokenizer *t = px_calloc(1, sizeof *t);
    if (!t) return PX_ERR_NO_MEMORY;
    t->n_vocab = (int32_t)toks.n;
    uint32_t cap = 1;
    while (cap < 2u * (uint32_t)toks.n) cap <<= 1;
    t->tok = px_calloc(toks.n, sizeof *t->tok);
    t->table = px_malloc((size_t)cap * sizeof *t->table);
    if (!t->tok || !t->table) {
        px_tokenizer_destroy(t);
        return PX_ERR_NO_MEMORY;
    }
    t->table_mask = cap - 1;
    memset(t->table, 0xff, (size_t)cap * sizeof *t->table);
    for (int i = 0; i < 256; i++) t->byte_tok[i] = -1;
    const px_meta_string *s = toks.data;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (s[id].len > 4096) {
            px_tokenizer_destroy(t);
            return px_set_error(PX_ERR_FORMAT, "%s: token %d is %llu bytes long", path, id, (unsigned long long)s[id].len);
        }
        tok_entry *e = &t->tok[id];
        e->text = px_malloc(s[id].len + 1);
        if (!e->text) {
            px_tokenizer_destroy(t);
            return PX_ERR_NO_MEMORY;
        }
        memcpy(e->text, s[id].ptr, s[id].len);
        e->text[s[id].len] = 0;
        e->len = (uint32_t)s[id].len;
        e->score = have_scores ? ((const float *)scores.data)[id] : 0.0f;
        /* Keep the first id of a duplicated text. */
        if (lookup(t, e->text, e->len) < 0) {
            uint32_t i = hash_bytes(e->text, e->len) & t->table_mask;
            while (t->table[i] >= 0) i = (i + 1) & t->table_mask;
            t->table[i] = id;
        }
        unsigned b;
        if (e->len == 6 && sscanf(e->text, "<0x%02X>", &b) == 1 && t->byte_tok[b & 255] < 0) t->byte_tok[b & 255] = id;
    }
    /* User-defined tokens (token type 4) are matched in the text even
     * without special-token parsing, longest first, as llama.cpp does. */
    px_meta_value types;
    if (px_model_meta_find(m, "tokenizer.ggml.token_type", &types) == PX_OK && types.type == PX_META_ARRAY &&
        types.elem_type == PX_META_I32 && types.n == toks.n) {
        const int32_t *ty = types.data;
        t->user = px_malloc((size_t)toks.n * sizeof *t->user);
        if (!t->user) {
            px_tokenizer_destroy(t);
            return PX_ERR_NO_MEMORY;
        }
        for (int32_t id = 0; id < t->n_vocab; id++)
            if (ty[id] == 4 && t->tok[id].len > 0) t->user[t->n_user++] = id;
        for (int32_t i = 1; i < t->n_user; i++) /* insertion sort by length, longest first, stable */
            for (int32_t j = i; j > 0 && t->tok[t->user[j]].len > t->tok[t->user[j - 1]].len; j--) {
                int32_t x = t->user[j];
                t->user[j] = t->user[j - 1];
                t->user[j - 1] = x;
            }
    }
    int64_t v;
    t->bos = meta_int(m, "tokenizer.ggml.bos_token_id", &v) && v >= 0 && v < t->n_vocab ? (int32_t)v : -1;
    t->eos = meta_int(m, "tokenizer.ggml.eos_token_id", &v) && v >= 0 && v < t->n_vocab ? (int32_t)v : -1;
    t->unk = meta_int(m, "tokenizer.ggml.unknown_token_id", &v) && v >= 0 && v < t->n_vocab ? (int32_t)v : -1;
    t->add_bos = meta_int(m, "tokenizer.ggml.add_bos_token", &v) ? v != 0 : 1; /* SPM default: add BOS */
    t->add_eos = meta_int(m, "tokenizer.ggml.add_eos_token", &v) ? v != 0 : 0;
    t->add_space_prefix = meta_int(m, "tokenizer.ggml.add_space_prefix", &v) ? v != 0 : 1;
    *out = t;
    return PX_OK;
}

int32_t px_tokenizer_vocab_size(const px_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t px_tokenizer_bos(const px_tokenizer *t) { return t ? t->bos : -1; }
int32_t px_tokenizer_eos(const px_tokenizer *t) { return t ? t->eos : -1; }

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
    int32_t id = lookup(t, text + s[l].off, len);
    if (id < 0) return 1;
    bigram b = {l, r, t->tok[id].score, len};
    return heap_push(h, b);
}

static uint32_t utf8_len(uint8_t c) {
    static const uint8_t lens[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lens[c >> 4];
}

typedef struct outbuf {
    int32_t *ids;
    int32_t cap, n;
} outbuf;

static void emit(outbuf *o, int32_t id) {
    if (o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}

static px_status spm_encode(const px_tokenizer *t, const char *text, uint32_t n, outbuf *o) {
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
        int32_t id = lookup(t, text + s[i].off, s[i].len);
        if (id >= 0) {
            emit(o, id);
            continue;
        }
        for (uint32_t k = 0; k < s[i].len; k++) {
            int32_t bt = t->byte_tok[(uint8_t)text[s[i].off + k]];
            emit(o, bt >= 0 ? bt : t->unk);
        }
    }
    free(s);
    return PX_OK;
}

/* A fragment of the input: raw text (id < 0) or a matched token. */
typedef struct frag {
    int32_t id;
    size_t off, len;
} frag;

/* Encode one raw fragment: space prefix when it follows the start or a
 * special token, then ' ' -> U+2581 (3 bytes). */
static px_status encode_raw(const px_tokenizer *t, const char *text, size_t len, int prefix, outbuf *o) {
    char *esc = px_malloc(len * 3 + 4);
    if (!esc) return PX_ERR_NO_MEMORY;
    uint32_t n = 0;
    if (prefix && t->add_space_prefix) {
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

/* Split raw fragments at occurrences of user-defined tokens. */
static px_status split_user(const px_tokenizer *t, const char *text, frag **fr, int32_t *nf) {
    for (int32_t u = 0; u < t->n_user; u++) {
        const tok_entry *e = &t->tok[t->user[u]];
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
            memmove(&g[i + 3], &g[i + 1], (size_t)(*nf - i - 1) * sizeof *g);
            g[i] = (frag){-1, f.off, pre};
            g[i + 1] = (frag){t->user[u], f.off + pre, e->len};
            g[i + 2] = (frag){-1, f.off + pre + e->len, f.len - pre - e->len};
            *nf += 2;
            i++; /* continue after the match (in the new tail fragment) */
        }
    }
    return PX_OK;
}

px_status px_tokenize(const px_tokenizer *t, const char *text, size_t len, int add_special, int32_t *ids, int32_t cap,
                      int32_t *n_out) {
    if (!t || (!text && len) || (!ids && cap) || !n_out) return px_set_error(PX_ERR_INVALID_ARG, "px_tokenize: bad argument");
    if (len > (1u << 30)) return px_set_error(PX_ERR_RANGE, "px_tokenize: text of %zu bytes is too long", len);
    outbuf o = {ids, cap, 0};
    if (add_special && t->add_bos && t->bos >= 0) emit(&o, t->bos);
    if (len) {
        int32_t nf = 1;
        frag *fr = px_malloc(sizeof *fr);
        if (!fr) return PX_ERR_NO_MEMORY;
        fr[0] = (frag){-1, 0, len};
        px_status st = split_user(t, text, &fr, &nf);
        int prev_special = 1;
        for (int32_t i = 0; i < nf && st == PX_OK; i++) {
            if (fr[i].id >= 0) {
                emit(&o, fr[i].id);
                prev_special = 1;
            } else if (fr[i].len) {
                st = encode_raw(t, text + fr[i].off, fr[i].len, prev_special, &o);
                prev_special = 0;
            }
        }
        free(fr);
        if (st) return st;
    }
    if (add_special && t->add_eos && t->eos >= 0) emit(&o, t->eos);
    *n_out = o.n;
    if (o.n > cap) return px_set_error(PX_ERR_RANGE, "px_tokenize: %d ids needed, room for %d", o.n, cap);
    return PX_OK;
}
