/* The sampler chain (see include/plexus/sampling.h and docs/sampling.md).
 *
 * Every buffer is allocated at create; sampling and accepting allocate
 * nothing (no qsort either: glibc's qsort may call malloc). Nothing is ever
 * sorted; the work per token is O(n_vocab) expected:
 *
 * - the penalty history keeps each token's count in the window, updated in
 *   O(1) per accepted token; the penalties are applied as the logits are
 *   read;
 * - top-k up to 1024 keeps a k-entry min-heap while it reads the logits (a
 *   single pass; no copy of the vocabulary), larger k a quickselect;
 * - top-p and typical-p use a quickselect that follows the probability
 *   mass instead of a count; min-p and the temperature need no order;
 * - the draw walks the survivors in whatever order the chain left them. */
#include "plexus/sampling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Windows longer than this behave as -1 (the whole history): no context
 * that long exists, and the ring would cost 4 bytes per token. */
#define WINDOW_MAX (1 << 22)

typedef struct cand {
    float logit; /* after the penalties (and, at the end, not yet divided by temp) */
    int32_t id;
    float key; /* ordering key of the current step: smaller first, ties by id */
    float p;   /* probability within the current candidate set */
} cand;

struct px_sampler {
    px_sampler_params p;
    int32_t n_vocab;
    int penalties;  /* any penalty on and a window */
    cand *c;        /* [n_vocab] candidates */
    int32_t *count; /* [n_vocab] occurrences in the penalty window (NULL: penalties off) */
    int32_t *ring;  /* [win] the window's tokens, oldest at head once full; NULL: whole history */
    int32_t win, n_ring, head;
    uint64_t rng[4];
    float last_p;
};

/* ---- random numbers: xoshiro256** seeded by splitmix64 ----------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

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

/* Uniform in [0, 1) with 53 random bits. */
static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

/* ---- ordering without allocation --------------------------------------------------------------------------------- */

static inline int less(const cand *a, const cand *b) { return a->key < b->key || (a->key == b->key && a->id < b->id); }

static inline void swap(cand *a, cand *b) {
    cand t = *a;
    *a = *b;
    *b = t;
}

static void sift_down(cand *c, int32_t i, int32_t n) {
    for (;;) {
        int32_t m = i, l = 2 * i + 1, r = l + 1;
        if (l < n && less(&c[m], &c[l])) m = l;
        if (r < n && less(&c[m], &c[r])) m = r;
        if (m == i) return;
        swap(&c[i], &c[m]);
        i = m;
    }
}

/* Ascending by (key, id). O(n log n) in every case. */
static void heap_sort(cand *c, int32_t n) {
    for (int32_t i = n / 2 - 1; i >= 0; i--) sift_down(c, i, n);
    for (int32_t end = n - 1; end > 0; end--) {
        swap(&c[0], &c[end]);
        sift_down(c, 0, end);
    }
}

/* One quickselect step on c[lo..hi] (median-of-three pivot): afterwards
 * c[lo..*j] <= pivot <= c[*i..hi], and anything between is the pivot. */
static void partition(cand *c, int32_t lo, int32_t hi, int32_t *pi, int32_t *pj) {
    int32_t mid = lo + (hi - lo) / 2;
    if (less(&c[mid], &c[lo])) swap(&c[mid], &c[lo]);
    if (less(&c[hi], &c[lo])) swap(&c[hi], &c[lo]);
    if (less(&c[hi], &c[mid])) swap(&c[hi], &c[mid]);
    cand pv = c[mid];
    int32_t i = lo, j = hi;
    while (i <= j) {
        while (less(&c[i], &pv)) i++;
        while (less(&pv, &c[j])) j--;
        if (i <= j) swap(&c[i++], &c[j--]);
    }
    *pi = i;
    *pj = j;
}

/* Move the k smallest of c[0..n) by (key, id) to the front, in any order.
 * Quickselect with a median-of-three pivot; (key, id) pairs are distinct, so
 * equal keys cannot degrade it, and an adversarial input that exhausts the
 * partition budget is finished by a heap sort: O(n) expected, O(n log n) worst. */
static void select_smallest(cand *c, int32_t n, int32_t k) {
    if (k <= 0 || k >= n) return;
    int32_t lo = 0, hi = n - 1, budget = 16;
    for (int32_t m = n; m > 1; m >>= 1) budget += 2;
    while (lo < hi) {
        if (budget-- == 0) {
            heap_sort(c + lo, hi - lo + 1);
            return;
        }
        int32_t i, j;
        partition(c, lo, hi, &i, &j);
        /* c[lo..j] <= pv <= c[i..hi]; anything between is pv itself, in place */
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else return;
    }
}

/* The length of the shortest prefix of c[0..n) in (key, id) order whose
 * mass (sum of .p) reaches `target` (>= target, or > target when `strict`),
 * moved to the front in any order; n if no prefix does; at least 1. Nothing
 * is sorted: a quickselect that follows the mass instead of a count, O(n)
 * expected (a heap sort of what is left if the partition budget runs out). */
static int32_t mass_select(cand *c, int32_t n, double target, int strict) {
    int32_t lo = 0, hi = n - 1, budget = 16;
    for (int32_t m = n; m > 1; m >>= 1) budget += 2;
    double acc = 0; /* mass of c[0..lo), all smaller than c[lo..hi] */
#define REACHED(x) (strict ? (x) > target : (x) >= target)
    while (lo < hi) {
        if (budget-- == 0) {
            heap_sort(c + lo, hi - lo + 1);
            break;
        }
        int32_t i, j;
        partition(c, lo, hi, &i, &j);
        double ml = 0;
        for (int32_t t = lo; t <= j; t++) ml += c[t].p;
        if (j >= lo && REACHED(acc + ml)) {
            hi = j;
            continue;
        }
        acc += ml;
        if (i - j == 2) { /* the pivot, in place at j + 1 */
            acc += c[j + 1].p;
            if (REACHED(acc)) return j + 2;
        }
        lo = i;
    }
    /* c[lo..hi] is one element or sorted; the cut lies in it unless hi is still n - 1 */
    for (int32_t t = lo; t <= hi; t++) {
        acc += c[t].p;
        if (REACHED(acc)) return t + 1;
    }
#undef REACHED
    return hi + 1;
}

/* ---- the chain --------------------------------------------------------------------------------------------------- */

/* Softmax of c[0..n).logit / temp into c[].p; returns the maximal logit.
 * Sums in double; never divides by zero (the maximum contributes 1). */
static float softmax(cand *c, int32_t n, float temp) {
    float mx = c[0].logit;
    for (int32_t i = 1; i < n; i++)
        if (c[i].logit > mx) mx = c[i].logit;
    double sum = 0;
    for (int32_t i = 0; i < n; i++) {
        float e = expf((c[i].logit - mx) / temp);
        c[i].p = e;
        sum += e;
    }
    for (int32_t i = 0; i < n; i++) c[i].p = (float)(c[i].p / sum);
    return mx;
}

/* Logit i as the chain sees it: NaN is -inf, then the penalties. */
static inline float logit_at(const px_sampler *s, const float *logits, int32_t i) {
    float l = logits[i];
    if (l != l) return -INFINITY;
    if (s->count && s->count[i]) {
        const px_sampler_params *p = &s->p;
        l = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty;
        l -= (float)s->count[i] * p->frequency_penalty + p->presence_penalty;
        if (l != l) l = -INFINITY; /* inf - inf */
    }
    return l;
}

/* Min-heap on logit (the worst kept candidate at the root). */
static void heap_down(cand *h, int32_t i, int32_t n) {
    for (;;) {
        int32_t m = i, l = 2 * i + 1, r = l + 1;
        if (l < n && (h[l].logit < h[m].logit || (h[l].logit == h[m].logit && h[l].id > h[m].id))) m = l;
        if (r < n && (h[r].logit < h[m].logit || (h[r].logit == h[m].logit && h[r].id > h[m].id))) m = r;
        if (m == i) return;
        swap(&h[i], &h[m]);
        i = m;
    }
}

static void heap_up(cand *h, int32_t i) {
    while (i > 0) {
        int32_t up = (i - 1) / 2;
        if (!(h[i].logit < h[up].logit || (h[i].logit == h[up].logit && h[i].id > h[up].id))) return;
        swap(&h[i], &h[up]);
        i = up;
    }
}

/* top-k in one pass over the logits: the k best finite ones (ties: lower
 * id) into c[0..), returned count <= k. -1 if a logit is +inf (the caller
 * takes the general path). Ids grow during the scan, so a later equal logit
 * never displaces a kept one. */
static int32_t gather_top_k(px_sampler *s, const float *logits, int32_t k) {
    cand *h = s->c;
    int32_t m = 0;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        float l = logit_at(s, logits, i);
        if (l == -INFINITY) continue;
        if (l == INFINITY) return -1;
        if (m < k) {
            h[m] = (cand){.logit = l, .id = i};
            heap_up(h, m++);
        } else if (l > h[0].logit) {
            h[0] = (cand){.logit = l, .id = i};
            heap_down(h, 0, m);
        }
    }
    return m;
}

/* Run the chain on `logits`: the survivors are c[0..n) (returned) with their
 * final probabilities in .p (all > 0), in no particular order. */
static int32_t run_chain(px_sampler *s, const float *logits) {
    const px_sampler_params *p = &s->p;
    cand *c = s->c;
    int32_t n = s->n_vocab, m = -1;

    if (p->temp <= 0) { /* greedy: the first maximum (token 0 if nothing is finite) */
        int32_t best = 0;
        float bl = logit_at(s, logits, 0);
        for (int32_t i = 1; i < n; i++) {
            float l = logit_at(s, logits, i);
            if (l > bl) bl = l, best = i;
        }
        c[0] = (cand){.logit = bl, .id = best, .p = 1};
        return 1;
    }
    if (p->top_k > 0 && p->top_k <= 1024 && p->top_k < n) m = gather_top_k(s, logits, p->top_k);
    if (m >= 0) {
        n = m;
    } else {
        /* general path: copy, drop -inf; when some logits are +inf only they remain, equally likely */
        float mx = -INFINITY;
        for (int32_t i = 0; i < n; i++) {
            c[i] = (cand){.logit = logit_at(s, logits, i), .id = i};
            if (c[i].logit > mx) mx = c[i].logit;
        }
        m = 0;
        for (int32_t i = 0; i < n; i++) {
            float l = c[i].logit;
            if (mx == INFINITY ? l == INFINITY : l > -INFINITY) {
                c[m] = c[i];
                if (mx == INFINITY) c[m].logit = 0;
                m++;
            }
        }
        n = m;
        if (p->top_k > 0 && p->top_k < n) {
            for (int32_t i = 0; i < n; i++) c[i].key = -c[i].logit;
            select_smallest(c, n, p->top_k);
            n = p->top_k;
        }
    }
    if (n == 0) { /* nothing finite */
        c[0] = (cand){.logit = -INFINITY, .id = 0, .p = 1};
        return 1;
    }
    if (p->typical_p < 1 && n > 1) {
        /* locally typical: order by |-log p - H| and keep until the mass
         * exceeds typical_p. With d = max - logit, -log p = d + log Z and
         * H = log Z + E[d], so the score is |d - E[d]| (no log of tiny p). */
        float top = softmax(c, n, 1.0f);
        double ed = 0;
        for (int32_t i = 0; i < n; i++) ed += (double)c[i].p * ((double)top - c[i].logit);
        for (int32_t i = 0; i < n; i++) c[i].key = (float)fabs(((double)top - c[i].logit) - ed);
        n = mass_select(c, n, p->typical_p, 1);
    }
    if (p->top_p < 1 && n > 1) {
        softmax(c, n, 1.0f);
        for (int32_t i = 0; i < n; i++) c[i].key = -c[i].logit;
        n = mass_select(c, n, p->top_p, 0);
    }
    if (p->min_p > 0 && n > 1) {
        /* p >= min_p * p_max  <=>  logit >= max + log(min_p) */
        float top = c[0].logit;
        for (int32_t i = 1; i < n; i++)
            if (c[i].logit > top) top = c[i].logit;
        double cut = (double)top + log((double)p->min_p);
        if (cut > top) cut = top; /* min_p > 1: the maximum still passes */
        m = 0;
        for (int32_t i = 0; i < n; i++)
            if ((double)c[i].logit >= cut) c[m++] = c[i];
        n = m;
    }
    softmax(c, n, p->temp);
    m = 0; /* drop what the temperature made impossible (exp underflow) */
    for (int32_t i = 0; i < n; i++)
        if (c[i].p > 0) c[m++] = c[i];
    return m;
}

/* ---- public ------------------------------------------------------------------------------------------------------ */

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
    p.presence_penalty = 0;
    p.frequency_penalty = 0;
    p.repeat_last_n = 64;
    p.seed = PX_SAMPLER_DEFAULT_SEED;
    return p;
}

void px_sampler_reset(px_sampler *s) {
    if (!s) return;
    if (s->count) memset(s->count, 0, sizeof *s->count * (size_t)s->n_vocab);
    s->n_ring = s->head = 0;
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
    s->last_p = 0;
}

px_status px_sampler_create(const px_sampler_params *params, int32_t n_vocab, px_sampler **out) {
    if (!out) return px_set_error(PX_ERR_INVALID_ARG, "px_sampler_create: out is NULL");
    *out = NULL;
    if (n_vocab < 1)
        return px_set_error(PX_ERR_INVALID_ARG, "px_sampler_create: n_vocab %d (must be >= 1)", (int)n_vocab);
    px_sampler_params q = px_sampler_params_default();
    if (params) {
        if (params->struct_size < sizeof q)
            return px_set_error(PX_ERR_ABI,
                                "px_sampler_create: params.struct_size %u < %u (start from px_sampler_params_default)",
                                (unsigned)params->struct_size, (unsigned)sizeof q);
        q = *params;
        q.struct_size = sizeof q;
    }
    if (isnan(q.temp) || isnan(q.top_p) || isnan(q.min_p) || isnan(q.typical_p))
        return px_set_error(PX_ERR_INVALID_ARG, "px_sampler_create: temp, top_p, min_p and typical_p must not be NaN");
    if (!(q.repeat_penalty > 0) || !isfinite(q.repeat_penalty))
        return px_set_error(PX_ERR_INVALID_ARG, "px_sampler_create: repeat_penalty %g (must be finite and > 0)",
                            (double)q.repeat_penalty);
    if (!isfinite(q.presence_penalty) || !isfinite(q.frequency_penalty))
        return px_set_error(PX_ERR_INVALID_ARG, "px_sampler_create: presence and frequency penalties must be finite");
    if (q.repeat_last_n < -1)
        return px_set_error(PX_ERR_INVALID_ARG, "px_sampler_create: repeat_last_n %d (must be >= -1)",
                            (int)q.repeat_last_n);

    px_sampler *s = px_calloc(1, sizeof *s);
    if (!s) return PX_ERR_NO_MEMORY;
    s->p = q;
    s->n_vocab = n_vocab;
    s->penalties =
        q.repeat_last_n != 0 && (q.repeat_penalty != 1.0f || q.presence_penalty != 0 || q.frequency_penalty != 0);
    s->win = q.repeat_last_n < 0 || q.repeat_last_n > WINDOW_MAX ? 0 : q.repeat_last_n;
    int ok = (s->c = px_malloc(sizeof *s->c * (size_t)n_vocab)) != NULL;
    if (ok && s->penalties) {
        ok = (s->count = px_calloc((size_t)n_vocab, sizeof *s->count)) &&
             (!s->win || (s->ring = px_calloc((size_t)s->win, sizeof *s->ring)));
    }
    if (!ok) {
        px_sampler_destroy(s);
        px_error_prefix("px_sampler_create (n_vocab %d)", (int)n_vocab);
        return PX_ERR_NO_MEMORY;
    }
    px_sampler_reset(s);
    *out = s;
    return PX_OK;
}

void px_sampler_destroy(px_sampler *s) {
    if (!s) return;
    free(s->c);
    free(s->count);
    free(s->ring);
    free(s);
}

void px_sampler_accept(px_sampler *s, int32_t token) {
    if (!s || !s->count || token < 0 || token >= s->n_vocab) return;
    if (s->ring) {
        if (s->n_ring == s->win) s->count[s->ring[s->head]]--;
        else s->n_ring++;
        s->ring[s->head] = token;
        s->head = s->head + 1 == s->win ? 0 : s->head + 1;
    } else if (s->count[token] == INT32_MAX) {
        return; /* whole history: saturate */
    }
    s->count[token]++;
}

int32_t px_sampler_sample(px_sampler *s, const float *logits) {
    if (!s || !logits) return 0;
    int32_t n = run_chain(s, logits);
    const cand *c = s->c;
    if (n == 1) {
        s->last_p = 1;
        return c[0].id;
    }
    /* the probabilities sum to 1 up to rounding: scale u by their sum */
    double total = 0;
    for (int32_t i = 0; i < n; i++) total += c[i].p;
    double u = next_unit(s->rng) * total, cum = 0;
    int32_t last = 0;
    for (int32_t i = 0; i < n; i++) {
        if (c[i].p <= 0) continue;
        cum += c[i].p;
        last = i;
        if (u < cum) break;
    }
    s->last_p = c[last].p;
    return c[last].id;
}

float px_sampler_last_prob(const px_sampler *s) { return s ? s->last_p : 0; }

int32_t px_sampler_candidates(px_sampler *s, const float *logits, int32_t *ids, float *probs, int32_t cap) {
    if (!s || !logits) return 0;
    if (cap < 0) cap = 0;
    int32_t n = run_chain(s, logits);
    int32_t k = cap < n ? cap : n;
    cand *c = s->c;
    for (int32_t i = 0; i < n; i++) c[i].key = -c[i].p;
    select_smallest(c, n, k);
    heap_sort(c, k);
    for (int32_t i = 0; i < k; i++) {
        if (ids) ids[i] = c[i].id;
        if (probs) probs[i] = c[i].p;
    }
    return n;
}
