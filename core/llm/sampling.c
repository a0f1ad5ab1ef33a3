/* The sampler chain (see include/plexus/sampling.h). All buffers are
 * allocated at create: sampling allocates nothing. */
#include "plexus/sampling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct cand {
    float logit;
    int32_t id;
    float p, key; /* typical-p: probability and score */
} cand;

struct px_sampler {
    px_sampler_params p;
    int32_t n_vocab;
    cand *c;            /* [n_vocab] candidates */
    float *aux;         /* [n_vocab] probabilities / typical scores */
    int32_t *count;     /* [n_vocab] occurrences in the window (kept zero between calls) */
    int32_t *hist;      /* ring of the last `win` tokens */
    int32_t win, n_hist, head;
    uint64_t rng[4];
};

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** */
static uint64_t next_u64(uint64_t *s) {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

px_sampler_params px_sampler_params_default(void) {
    px_sampler_params p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.temp = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.typical_p = 1.0f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    p.seed = 0x5eed;
    return p;
}

void px_sampler_reset(px_sampler *s) {
    if (!s) return;
    s->n_hist = s->head = 0;
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
}

px_status px_sampler_create(const px_sampler_params *p, int32_t n_vocab, px_sampler **out) {
    if (!out || n_vocab < 1) return px_set_error(PX_ERR_INVALID_ARG, "px_sampler_create: bad arguments");
    *out = NULL;
    px_sampler_params q = px_sampler_params_default();
    if (p) {
        if (p->struct_size < sizeof q) return px_set_error(PX_ERR_ABI, "px_sampler_create: params from an older header");
        q = *p;
    }
    if (!(q.temp == q.temp) || !(q.top_p == q.top_p) || !(q.min_p == q.min_p) || !(q.typical_p == q.typical_p) ||
        !(q.repeat_penalty > 0) || q.repeat_last_n < -1)
        return px_set_error(PX_ERR_INVALID_ARG, "sampler: bad parameters (repeat_penalty must be > 0, no NaN)");
    px_sampler *s = px_calloc(1, sizeof *s);
    if (!s) return PX_ERR_NO_MEMORY;
    s->p = q;
    s->n_vocab = n_vocab;
    s->win = q.repeat_last_n < 0 ? 32768 : q.repeat_last_n;
    s->c = px_malloc(sizeof *s->c * (size_t)n_vocab);
    s->aux = px_malloc(sizeof *s->aux * (size_t)n_vocab);
    s->count = px_calloc((size_t)n_vocab, sizeof *s->count);
    s->hist = px_malloc(sizeof *s->hist * (size_t)(s->win ? s->win : 1));
    if (!s->c || !s->aux || !s->count || !s->hist) {
        px_sampler_destroy(s);
        return PX_ERR_NO_MEMORY;
    }
    px_sampler_reset(s);
    *out = s;
    return PX_OK;
}

void px_sampler_destroy(px_sampler *s) {
    if (!s) return;
    free(s->c);
    free(s->aux);
    free(s->count);
    free(s->hist);
    free(s);
}

void px_sampler_accept(px_sampler *s, int32_t token) {
    if (!s || s->win == 0 || token < 0 || token >= s->n_vocab) return;
    s->hist[s->head] = token;
    s->head = (s->head + 1) % s->win;
    if (s->n_hist < s->win) s->n_hist++;
}

static void apply_penalties(px_sampler *s) {
    const px_sampler_params *p = &s->p;
    if (s->n_hist == 0 || (p->repeat_penalty == 1.0f && p->frequency_penalty == 0 && p->presence_penalty == 0)) return;
    for (int32_t i = 0; i < s->n_hist; i++) s->count[s->hist[i]]++;
    for (int32_t i = 0; i < s->n_hist; i++) {
        int32_t t = s->hist[i], n = s->count[t];
        if (n == 0) continue; /* already applied */
        float *l = &s->c[t].logit;
        *l = *l > 0 ? *l / p->repeat_penalty : *l * p->repeat_penalty;
        *l -= (float)n * p->frequency_penalty + p->presence_penalty;
        s->count[t] = 0;
    }
}

static int by_logit_desc(const void *a, const void *b) {
    float x = ((const cand *)a)->logit, y = ((const cand *)b)->logit;
    if (x != y) return x < y ? 1 : -1;
    int32_t i = ((const cand *)a)->id, j = ((const cand *)b)->id;
    return (i > j) - (i < j);
}

static int by_key_asc(const void *a, const void *b) {
    float x = ((const cand *)a)->key, y = ((const cand *)b)->key;
    if (x != y) return x < y ? -1 : 1;
    int32_t i = ((const cand *)a)->id, j = ((const cand *)b)->id;
    return (i > j) - (i < j);
}

/* Move the k largest of c[0..n) to the front (any order). */
static void select_top(cand *c, int32_t n, int32_t k) {
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        cand pv = c[lo + (hi - lo) / 2];
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (by_logit_desc(&c[i], &pv) < 0) i++;
            while (by_logit_desc(&c[j], &pv) > 0) j--;
            if (i <= j) {
                cand t = c[i];
                c[i] = c[j];
                c[j] = t;
                i++;
                j--;
            }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
}

/* Probabilities of c[0..n) (sorted descending) at temperature `temp`, into aux. */
static void softmax(px_sampler *s, int32_t n, float temp) {
    double sum = 0;
    float mx = s->c[0].logit;
    for (int32_t i = 0; i < n; i++) {
        double e = exp(((double)s->c[i].logit - mx) / temp);
        s->aux[i] = (float)e;
        sum += e;
    }
    for (int32_t i = 0; i < n; i++) s->aux[i] = (float)(s->aux[i] / sum);
}

int32_t px_sampler_sample(px_sampler *s, const float *logits) {
    if (!s || !logits) return 0;
    const px_sampler_params *p = &s->p;
    int32_t n = s->n_vocab;
    for (int32_t i = 0; i < n; i++) {
        float l = logits[i];
        s->c[i].logit = l == l ? l : -INFINITY;
        s->c[i].id = i;
    }
    apply_penalties(s);
    if (p->temp <= 0) {
        int32_t best = 0;
        for (int32_t i = 1; i < n; i++)
            if (s->c[i].logit > s->c[best].logit) best = i;
        return best;
    }
    /* drop -inf candidates */
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (s->c[i].logit > -INFINITY) s->c[m++] = s->c[i];
    if (m == 0) return 0;
    n = m;
    if (p->top_k > 0 && p->top_k < n) {
        select_top(s->c, n, p->top_k);
        n = p->top_k;
    }
    qsort(s->c, (size_t)n, sizeof *s->c, by_logit_desc);
    if (p->typical_p < 1 && n > 1) {
        /* locally typical sampling: keep the tokens whose surprise -log p is
         * closest to the entropy H, until their mass reaches typical_p */
        softmax(s, n, 1.0f);
        double H = 0;
        for (int32_t i = 0; i < n; i++)
            if (s->aux[i] > 0) H -= s->aux[i] * log(s->aux[i]);
        for (int32_t i = 0; i < n; i++) {
            s->c[i].p = s->aux[i];
            s->c[i].key = s->aux[i] > 0 ? (float)fabs(-log(s->aux[i]) - H) : INFINITY;
        }
        qsort(s->c, (size_t)n, sizeof *s->c, by_key_asc);
        double mass = 0;
        int32_t keep = n;
        for (int32_t i = 0; i < n; i++) {
            mass += s->c[i].p;
            if (mass >= p->typical_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
        qsort(s->c, (size_t)n, sizeof *s->c, by_logit_desc);
    }
    if (p->top_p < 1 && n > 1) {
        softmax(s, n, 1.0f);
        double cum = 0;
        int32_t keep = n;
        for (int32_t i = 0; i < n; i++) {
            cum += s->aux[i];
            if (cum >= p->top_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
    }
    if (p->min_p > 0 && n > 1) {
        float cut = s->c[0].logit + logf(p->min_p);
        int32_t keep = 1;
        while (keep < n && s->c[keep].logit >= cut) keep++;
        n = keep;
    }
    softmax(s, n, p->temp);
    double u = next_unit(s->rng), cum = 0;
    for (int32_t i = 0; i < n; i++) {
        cum += s->aux[i];
        if (u < cum) return s->c[i].id;
    }
    return s->c[n - 1].id;
}
