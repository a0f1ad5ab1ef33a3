/* Byte-level BPE (GGUF tokenizer.ggml.model = "gpt2"), as llama.cpp does it:
 *
 * 1. Pre-tokenization splits the text into words with the regular
 *    expressions its tokenizer.ggml.pre names. Each expression is a
 *    hand-written matcher over code points with their Unicode classes; a
 *    list of expressions is applied in turn, each one splitting the pieces
 *    the previous ones left (matches and the text between them both become
 *    pieces), which is how llama.cpp applies them.
 * 2. Each word's bytes are mapped to the GPT-2 byte-level alphabet (every
 *    byte one printable code point).
 * 3. Adjacent symbols (UTF-8 characters of the mapped word) are merged by
 *    rank (tokenizer.ggml.merges order; ties: leftmost) until no pair has a
 *    rank. With ignore_merges (llama3), a word that is itself a token is
 *    emitted whole.
 * 4. Each final symbol is looked up; one that is not a token is emitted
 *    byte by byte where those bytes are tokens. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tok_internal.h"
#include "unicode.h"

static const struct {
    const char *name;
    int kind;
} pre_names[] = {
    {"default", PRE_DEFAULT},         {"gpt-2", PRE_GPT2},          {"phi-2", PRE_GPT2},
    {"mpt", PRE_GPT2},                {"olmo", PRE_GPT2},           {"jais", PRE_GPT2},
    {"llama3", PRE_LLAMA3},           {"llama-v3", PRE_LLAMA3},     {"llama-bpe", PRE_LLAMA3},
    {"falcon3", PRE_LLAMA3},          {"pixtral", PRE_LLAMA3},      {"dbrx", PRE_LLAMA3},
    {"smaug-bpe", PRE_LLAMA3},        {"qwen2", PRE_QWEN2},         {"stablelm2", PRE_QWEN2},
    {"deepseek-r1-qwen", PRE_QWEN2},  {"megrez", PRE_QWEN2},        {"deepseek-coder", PRE_DEEPSEEK_CODER},
    {"starcoder", PRE_STARCODER},     {"refact", PRE_STARCODER},    {"command-r", PRE_STARCODER},
    {"smollm", PRE_STARCODER},        {"codeshell", PRE_STARCODER}, {"exaone", PRE_STARCODER},
};

int tok_pre_kind(const char *pre) {
    for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0]; i++)
        if (strcmp(pre, pre_names[i].name) == 0) return pre_names[i].kind;
    return -1;
}

/* ---- merges ----------------------------------------------------------------- */

static int32_t merge_rank(const px_tokenizer *t, const char *l, size_t ln, const char *r, size_t rn) {
    size_t n = ln + 1 + rn;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < ln; i++) h = (h ^ (uint8_t)l[i]) * 16777619u;
    h = (h ^ (uint8_t)' ') * 16777619u;
    for (size_t i = 0; i < rn; i++) h = (h ^ (uint8_t)r[i]) * 16777619u;
    for (uint32_t i = h & t->mmask;; i = (i + 1) & t->mmask) {
        int32_t k = t->mtable[i];
        if (k < 0) return -1;
        const merge_entry *e = &t->merges[k];
        if (e->len == n && memcmp(e->text, l, ln) == 0 && e->text[ln] == ' ' && memcmp(e->text + ln + 1, r, rn) == 0)
            return k;
    }
}

px_status tok_bpe_init(px_tokenizer *t, const px_model *m) {
    const char *path = px_model_path(m);
    px_meta_value mv;
    if (px_model_meta_find(m, "tokenizer.ggml.merges", &mv) || mv.type != PX_META_ARRAY ||
        mv.elem_type != PX_META_STRING || mv.n > (1u << 24))
        return px_set_error(PX_ERR_FORMAT, "%s: tokenizer.ggml.merges is missing or not a string array", path);
    const px_meta_string *s = mv.data;
    size_t total = 0;
    for (uint64_t i = 0; i < mv.n; i++) {
        if (s[i].len > 4096) return px_set_error(PX_ERR_FORMAT, "%s: merge %llu is too long", path, (unsigned long long)i);
        total += s[i].len + 1;
    }
    t->n_merges = (int32_t)mv.n;
    uint32_t cap = 1;
    while (cap < 2u * (uint32_t)mv.n + 2) cap <<= 1;
    t->merge_buf = px_malloc(total + 1);
    t->merges = px_malloc(sizeof *t->merges * (mv.n ? mv.n : 1));
    t->mtable = px_malloc(sizeof *t->mtable * cap);
    if (!t->merge_buf || !t->merges || !t->mtable) return PX_ERR_NO_MEMORY;
    t->mmask = cap - 1;
    memset(t->mtable, 0xff, sizeof *t->mtable * cap);
    char *p = t->merge_buf;
    for (int32_t i = 0; i < t->n_merges; i++) {
        memcpy(p, s[i].ptr, s[i].len);
        p[s[i].len] = 0;
        t->merges[i].text = p;
        t->merges[i].len = (uint32_t)s[i].len;
        p += s[i].len + 1;
        /* "left right": the separator is the first space after the first byte */
        const char *sp = s[i].len > 1 ? memchr(t->merges[i].text + 1, ' ', s[i].len - 1) : NULL;
        if (!sp) continue; /* malformed: never matches */
        uint32_t h = tok_hash(t->merges[i].text, s[i].len);
        uint32_t k = h & t->mmask;
        int dup = 0;
        for (; t->mtable[k] >= 0; k = (k + 1) & t->mmask) {
            const merge_entry *e = &t->merges[t->mtable[k]];
            if (e->len == s[i].len && memcmp(e->text, t->merges[i].text, e->len) == 0) dup = 1;
        }
        if (!dup) t->mtable[k] = i; /* the first (lowest) rank wins */
    }
    return PX_OK;
}

/* ---- pre-tokenizers ----------------------------------------------------------- */

typedef struct cps {
    uint32_t *cp;
    uint8_t *fl;
    size_t *off; /* byte offset of each code point; off[n] = text length */
    size_t n;
} cps;

/* Pieces: [start, end) ranges of code points, in order. */
typedef struct pieces {
    size_t *a, *b;
    size_t n, cap;
} pieces;

static int piece_add(pieces *p, size_t a, size_t b) {
    if (a >= b) return 1;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 64;
        size_t *na = realloc(p->a, nc * sizeof *na);
        if (!na) return 0;
        p->a = na;
        size_t *nb = realloc(p->b, nc * sizeof *nb);
        if (!nb) return 0;
        p->b = nb;
        p->cap = nc;
    }
    p->a[p->n] = a;
    p->b[p->n] = b;
    p->n++;
    return 1;
}

/* Classes as the regular expressions see them. */
static int is_ws(const cps *c, size_t i) { return (c->fl[i] & PX_UC_WS) != 0; }
static int is_l(const cps *c, size_t i) { return (c->fl[i] & PX_UC_L) && !is_ws(c, i); }
static int is_n(const cps *c, size_t i) { return (c->fl[i] & PX_UC_N) && !is_ws(c, i); }
static int is_p(const cps *c, size_t i) { return (c->fl[i] & PX_UC_P) && !is_ws(c, i); }

static uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* 's|'t|'re|'ve|'m|'ll|'d at pos (case-insensitive with fold): its length, or 0. */
static size_t contraction(const cps *c, size_t pos, size_t b, int fold) {
    if (c->cp[pos] != '\'' || pos + 1 >= b) return 0;
    uint32_t n1 = fold ? ascii_lower(c->cp[pos + 1]) : c->cp[pos + 1];
    if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') return 2;
    if (pos + 2 >= b) return 0;
    uint32_t n2 = fold ? ascii_lower(c->cp[pos + 2]) : c->cp[pos + 2];
    return (n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l') ? 3 : 0;
}

/* The piece a run of nws whitespace takes when nothing else matched:
 * \s+(?!\S) leaves the last space to a following word, \s+ takes the run,
 * and no whitespace at all is one character on its own. */
static size_t space_run(size_t nws, int more) {
    if (nws > 1 && more) return nws - 1;
    return nws > 0 ? nws : 1;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * over [a, b), emitting every piece. */
static int split_gpt2(const cps *c, size_t a, size_t b, pieces *out) {
    size_t pos = a, prev = a;
#define IN(i) ((i) < b)
#define ADD(end)                                              \
    do {                                                      \
        if (!piece_add(out, prev, (end))) return 0;           \
        prev = (end);                                         \
    } while (0)
    while (pos < b) {
        uint32_t cp = c->cp[pos];
        size_t cl = contraction(c, pos, b, 0);
        if (cl) {
            ADD(pos + cl);
            pos += cl;
            continue;
        }
        size_t q = cp == ' ' ? pos + 1 : pos; /* the optional leading space */
        if (IN(q) && is_l(c, q)) {
            while (IN(q) && is_l(c, q)) q++;
            ADD(q);
            pos = q;
            continue;
        }
        if (IN(q) && is_n(c, q)) {
            while (IN(q) && is_n(c, q)) q++;
            ADD(q);
            pos = q;
            continue;
        }
        if (IN(q) && !is_ws(c, q) && !is_l(c, q) && !is_n(c, q)) {
            while (IN(q) && !is_ws(c, q) && !is_l(c, q) && !is_n(c, q)) q++;
            ADD(q);
            pos = q;
            continue;
        }
        size_t nws = 0;
        while (IN(pos + nws) && is_ws(c, pos + nws)) nws++;
        size_t wl = space_run(nws, IN(pos + nws));
        ADD(pos + wl);
        pos += wl;
    }
    return 1;
}

/* Llama 3 (max_digits 3) and Qwen2 (max_digits 1):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static int split_llama3(const cps *c, size_t a, size_t b, pieces *out, int max_digits) {
    size_t pos = a, prev = a;
    while (pos < b) {
        uint32_t cp = c->cp[pos];
        size_t cl = contraction(c, pos, b, 1);
        if (cl) {
            ADD(pos + cl);
            pos += cl;
            continue;
        }
        if (!(cp == '\r' || cp == '\n' || is_n(c, pos))) {
            if (is_l(c, pos) || (IN(pos + 1) && is_l(c, pos + 1))) {
                pos++;
                while (IN(pos) && is_l(c, pos)) pos++;
                ADD(pos);
                continue;
            }
        }
        if (is_n(c, pos)) {
            size_t ini = pos;
            while (IN(pos) && is_n(c, pos)) {
                if (++pos - ini >= (size_t)max_digits) {
                    ADD(pos);
                    ini = pos;
                }
            }
            ADD(pos);
            continue;
        }
        size_t q = cp == ' ' ? pos + 1 : pos;
        if (IN(q) && !is_ws(c, q) && !is_l(c, q) && !is_n(c, q)) {
            while (IN(q) && !is_ws(c, q) && !is_l(c, q) && !is_n(c, q)) q++;
            while (IN(q) && (c->cp[q] == '\r' || c->cp[q] == '\n')) q++;
            ADD(q);
            pos = q;
            continue;
        }
        size_t nws = 0, last_rn = 0;
        while (IN(pos + nws) && is_ws(c, pos + nws)) {
            uint32_t w = c->cp[pos + nws];
            if (w == '\r' || w == '\n') last_rn = pos + nws + 1;
            nws++;
        }
        if (last_rn > 0) { /* \s*[\r\n]+ */
            ADD(last_rn);
            pos = last_rn;
            continue;
        }
        size_t wl = space_run(nws, IN(pos + nws));
        ADD(pos + wl);
        pos += wl;
    }
    return 1;
}
#undef IN
#undef ADD

/* Single expressions for the regex lists: the length of a match starting at
 * i (0: none). \s is std::regex's (ASCII whitespace; non-ASCII whitespace
 * counts too, as llama.cpp maps it to \v before matching). */
typedef size_t (*matcher)(const cps *c, size_t i, size_t b);

static size_t m_newline(const cps *c, size_t i, size_t b) {
    (void)b;
    return c->cp[i] == '\r' || c->cp[i] == '\n';
}

static size_t run_of(const cps *c, size_t i, size_t b, int (*cls)(const cps *, size_t)) {
    size_t j = i;
    if (j < b && is_ws(c, j) && j + 1 < b && cls(c, j + 1)) j++; /* \s? */
    if (!(j < b && cls(c, j))) return 0;
    while (j < b && cls(c, j)) j++;
    return j - i;
}

static size_t m_space_letters(const cps *c, size_t i, size_t b) { return run_of(c, i, b, is_l); }
static size_t m_space_punct(const cps *c, size_t i, size_t b) { return run_of(c, i, b, is_p); }

static int is_cjk_hangul(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x0800 && cp <= 0x4E00) || (cp >= 0xAC00 && cp <= 0xD7FF);
}

static size_t m_cjk(const cps *c, size_t i, size_t b) {
    size_t j = i;
    while (j < b && is_cjk_hangul(c->cp[j])) j++;
    return j - i;
}

static size_t m_digit(const cps *c, size_t i, size_t b) {
    (void)b;
    return is_n(c, i) ? 1 : 0;
}

static size_t m_digits(const cps *c, size_t i, size_t b) {
    size_t j = i;
    while (j < b && is_n(c, j)) j++;
    return j - i;
}

static size_t m_ascii_digits3(const cps *c, size_t i, size_t b) {
    if (i + 3 > b) return 0;
    for (size_t k = 0; k < 3; k++)
        if (c->cp[i + k] < '0' || c->cp[i + k] > '9') return 0;
    return 3;
}

/* [\p{P}\$\+<=>\^~\|]+ */
static int is_p_or_sym(const cps *c, size_t i) {
    uint32_t cp = c->cp[i];
    return is_p(c, i) || cp == '$' || cp == '+' || cp == '<' || cp == '=' || cp == '>' || cp == '^' || cp == '~' ||
           cp == '|';
}
static size_t m_punct_sym(const cps *c, size_t i, size_t b) {
    size_t j = i;
    while (j < b && is_p_or_sym(c, j)) j++;
    return j - i;
}

/* Split each piece by a matcher: matches and the gaps between them. */
static int split_by(const cps *c, pieces *in, pieces *out, matcher m) {
    out->n = 0;
    for (size_t k = 0; k < in->n; k++) {
        size_t a = in->a[k], b = in->b[k], p = a;
        for (size_t q = a; q < b;) {
            size_t len = m(c, q, b);
            if (!len) {
                q++;
                continue;
            }
            if (!piece_add(out, p, q) || !piece_add(out, q, q + len)) return 0;
            q += len;
            p = q;
        }
        if (!piece_add(out, p, b)) return 0;
    }
    return 1;
}

static int split_custom(const cps *c, pieces *in, pieces *out, int which) {
    out->n = 0;
    for (size_t k = 0; k < in->n; k++) {
        int ok = which == 0 ? split_gpt2(c, in->a[k], in->b[k], out)
                            : split_llama3(c, in->a[k], in->b[k], out, which == 1 ? 3 : 1);
        if (!ok) return 0;
    }
    return 1;
}

static int pretokenize(const px_tokenizer *t, const cps *c, pieces *words) {
    pieces tmp = {0};
    pieces *cur = words, *nxt = &tmp;
    int ok = piece_add(cur, 0, c->n);
#define STEP(call)                          \
    do {                                    \
        if (ok) ok = (call);                \
        pieces *sw = cur;                   \
        cur = nxt;                          \
        nxt = sw;                           \
    } while (0)
    switch (t->pre_kind) {
    case PRE_GPT2: STEP(split_custom(c, cur, nxt, 0)); break;
    case PRE_LLAMA3: STEP(split_custom(c, cur, nxt, 1)); break;
    case PRE_QWEN2: STEP(split_custom(c, cur, nxt, 2)); break;
    case PRE_DEEPSEEK_CODER:
        STEP(split_by(c, cur, nxt, m_newline));
        STEP(split_by(c, cur, nxt, m_space_letters));
        STEP(split_by(c, cur, nxt, m_space_punct));
        STEP(split_by(c, cur, nxt, m_cjk));
        STEP(split_by(c, cur, nxt, m_digit));
        break;
    case PRE_STARCODER:
        STEP(split_by(c, cur, nxt, m_digit));
        STEP(split_custom(c, cur, nxt, 0));
        break;
    default:
        STEP(split_by(c, cur, nxt, m_punct_sym));
        STEP(split_custom(c, cur, nxt, 0));
        STEP(split_by(c, cur, nxt, m_digits));
        STEP(split_by(c, cur, nxt, m_ascii_digits3));
        break;
    }
#undef STEP
    if (cur != words) { /* result is in tmp: move it */
        pieces sw = *words;
        *words = tmp;
        tmp = sw;
    }
    free(tmp.a);
    free(tmp.b);
    return ok;
}

/* ---- merging ------------------------------------------------------------------- */

typedef struct bsym {
    int32_t prev, next;
    uint32_t off, len;
} bsym;

typedef struct bgram {
    int32_t left, right, rank;
    uint32_t len;
} bgram;

typedef struct bheap {
    bgram *v;
    size_t n, cap;
} bheap;

static int bworse(const bgram *a, const bgram *b) { /* a after b */
    return a->rank > b->rank || (a->rank == b->rank && a->left > b->left);
}

static int bpush(bheap *h, bgram g) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        bgram *nv = realloc(h->v, nc * sizeof *nv);
        if (!nv) return 0;
        h->v = nv;
        h->cap = nc;
    }
    size_t i = h->n++;
    h->v[i] = g;
    while (i > 0 && bworse(&h->v[(i - 1) / 2], &h->v[i])) {
        bgram x = h->v[i];
        h->v[i] = h->v[(i - 1) / 2];
        h->v[(i - 1) / 2] = x;
        i = (i - 1) / 2;
    }
    return 1;
}

static bgram bpop(bheap *h) {
    bgram top = h->v[0];
    h->v[0] = h->v[--h->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && bworse(&h->v[m], &h->v[l])) m = l;
        if (r < h->n && bworse(&h->v[m], &h->v[r])) m = r;
        if (m == i) break;
        bgram x = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = x;
        i = m;
    }
    return top;
}

static int try_pair(const px_tokenizer *t, const char *w, const bsym *s, int32_t l, int32_t r, bheap *h) {
    if (l < 0 || r < 0) return 1;
    int32_t rank = merge_rank(t, w + s[l].off, s[l].len, w + s[r].off, s[r].len);
    if (rank < 0) return 1;
    bgram g = {l, r, rank, s[l].len + s[r].len};
    return bpush(h, g);
}

/* Merge one byte-mapped word and emit its tokens. */
static int bpe_word(const px_tokenizer *t, const char *w, uint32_t n, bsym *s, bheap *h, tok_out *o) {
    if (t->ignore_merges) {
        int32_t id = tok_lookup(t, w, n);
        if (id >= 0) {
            tok_emit(o, id);
            return 1;
        }
    }
    int32_t ns = 0;
    for (uint32_t off = 0; off < n; ns++) {
        size_t len;
        px_utf8_decode(w + off, n - off, &len);
        s[ns].off = off;
        s[ns].len = (uint32_t)len;
        s[ns].prev = ns - 1;
        s[ns].next = off + len < n ? ns + 1 : -1;
        off += (uint32_t)len;
    }
    h->n = 0;
    for (int32_t i = 1; i < ns; i++)
        if (!try_pair(t, w, s, i - 1, i, h)) return 0;
    while (h->n) {
        bgram g = bpop(h);
        bsym *l = &s[g.left], *r = &s[g.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != g.len || l->next != g.right) continue; /* stale */
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) s[r->next].prev = g.left;
        if (!try_pair(t, w, s, l->prev, g.left, h) || !try_pair(t, w, s, g.left, l->next, h)) return 0;
    }
    for (int32_t i = 0; i >= 0 && ns > 0; i = s[i].next) {
        int32_t id = tok_lookup(t, w + s[i].off, s[i].len);
        if (id >= 0) {
            tok_emit(o, id);
            continue;
        }
        for (uint32_t k = 0; k < s[i].len; k++) { /* as llama.cpp: each byte that is a token */
            int32_t b = tok_lookup(t, w + s[i].off + k, 1);
            if (b >= 0) tok_emit(o, b);
        }
    }
    return 1;
}

px_status tok_bpe_encode(const px_tokenizer *t, const char *text, size_t len, tok_out *o) {
    if (len == 0) return PX_OK;
    cps c = {0};
    pieces words = {0};
    char *w = NULL;
    bsym *s = NULL;
    bheap h = {0};
    int ok = 0;
    c.cp = malloc(sizeof *c.cp * len);
    c.fl = malloc(len);
    c.off = malloc(sizeof *c.off * (len + 1));
    if (!c.cp || !c.fl || !c.off) goto done;
    for (size_t i = 0; i < len;) {
        size_t l;
        uint32_t cp = px_utf8_decode(text + i, len - i, &l);
        c.cp[c.n] = cp;
        c.fl[c.n] = (uint8_t)px_uc_flags(cp);
        c.off[c.n] = i;
        c.n++;
        i += l;
    }
    c.off[c.n] = len;
    if (!pretokenize(t, &c, &words)) goto done;
    /* the longest word bounds the scratch: 2 bytes per input byte at most
     * after the byte mapping (code points below U+0800) */
    size_t maxb = 0;
    for (size_t k = 0; k < words.n; k++) {
        size_t nb = c.off[words.b[k]] - c.off[words.a[k]];
        if (nb > maxb) maxb = nb;
    }
    w = malloc(2 * maxb + 4);
    s = malloc(sizeof *s * (2 * maxb + 4));
    if (!w || !s) goto done;
    ok = 1;
    for (size_t k = 0; k < words.n && ok; k++) {
        uint32_t n = 0;
        for (size_t i = c.off[words.a[k]]; i < c.off[words.b[k]]; i++)
            n += (uint32_t)px_utf8_encode(px_byte_to_cp((uint8_t)text[i]), w + n);
        ok = bpe_word(t, w, n, s, &h, o);
    }
done:
    free(c.cp);
    free(c.fl);
    free(c.off);
    free(words.a);
    free(words.b);
    free(w);
    free(s);
    free(h.v);
    return ok ? PX_OK : px_set_error(PX_ERR_NO_MEMORY, "out of memory while tokenizing");
}
