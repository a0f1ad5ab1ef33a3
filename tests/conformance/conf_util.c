/* Op conformance test: RNG and case construction helpers. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

uint64_t rng_next(crng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double rng_uniform(crng *r, double lo, double hi) {
    return lo + (hi - lo) * ((double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0));
}

int64_t rng_int(crng *r, int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

int64_t rng_pick(crng *r, const int64_t *v, int n) { return v[rng_int(r, 0, n - 1)]; }

void case_init(ccase *c, px_op op) {
    memset(c, 0, sizeof *c);
    c->op = op;
}

void case_free(ccase *c) {
    for (int i = 0; i < CONF_MAX_IN; i++) free(c->buf[i]);
    memset(c->buf, 0, sizeof c->buf);
}

void case_label(ccase *c, const char *fmt, ...) {
    size_t n = strlen(c->label);
    if (n + 1 >= sizeof c->label) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->label + n, sizeof c->label - n, fmt, ap);
    va_end(ap);
}

const char *shape_str(int32_t rank, const int64_t *ne, char *buf, size_t cap) {
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < rank && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? "," : "", (long long)ne[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
    return buf;
}

static int64_t numel(int32_t rank, const int64_t *ne) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= ne[i];
    return n;
}

/* Store doubles as dtype dt: plain types element by element (px_convert's
 * rules through F64), block types through F32 and px_convert. */
static int store(px_dtype dt, const double *v, int64_t n, void *dst) {
    if (n == 0) return 0;
    if (oracle_is_quant(dt)) {
        float *f = malloc((size_t)n * sizeof *f);
        if (!f) return -1;
        for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
        px_status st = px_convert(PX_F32, f, dt, dst, n);
        free(f);
        return st == PX_OK ? 0 : -1;
    }
    return px_convert(PX_F64, v, dt, dst, n) == PX_OK ? 0 : -1;
}

int case_values(ccase *c, int i, int kind, px_dtype dt, int32_t rank, const int64_t *ne, const double *v) {
    int64_t n = numel(rank, ne);
    int64_t bytes = oracle_nbytes(dt, n);
    if (bytes < 0 || i < 0 || i >= CONF_MAX_IN) return -1;
    free(c->buf[i]);
    c->buf[i] = calloc((size_t)(bytes ? bytes : 1), 1);
    if (!c->buf[i]) return -1;
    if (store(dt, v, n, c->buf[i])) return -1;
    otensor *t = &c->in[i];
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->rank = rank;
    for (int32_t d = 0; d < rank; d++) t->ne[d] = ne[d];
    t->data = c->buf[i];
    c->kind[i] = kind;
    if (i >= c->n_in) c->n_in = i + 1;
    return 0;
}

int case_rand(ccase *c, int i, int kind, px_dtype dt, int32_t rank, const int64_t *ne, crng *r, double lo, double hi) {
    int64_t n = numel(rank, ne);
    double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return -1;
    for (int64_t k = 0; k < n; k++) {
        if (dt == PX_BOOL) v[k] = (double)(rng_next(r) & 1);
        else if (oracle_is_int(dt)) v[k] = (double)rng_int(r, (int64_t)lo, (int64_t)hi);
        else v[k] = rng_uniform(r, lo, hi);
        /* F64 inputs hold F32 values, so a kernel that converts to F32
         * first (allowed: "at least F32 precision") sees exact inputs. */
        if (dt == PX_F64) v[k] = (double)(float)v[k];
    }
    int rc = case_values(c, i, kind, dt, rank, ne, v);
    free(v);
    return rc;
}

void case_absent(ccase *c, int i) {
    free(c->buf[i]);
    c->buf[i] = NULL;
    memset(&c->in[i], 0, sizeof c->in[i]);
    c->kind[i] = IN_ABSENT;
    if (i >= c->n_in) c->n_in = i + 1;
}

static px_attr *next_attr(ccase *c) {
    if (c->n_attrs >= CONF_MAX_ATTRS - 1) return NULL;
    /* Oracle-only attributes stay at the end. */
    int32_t extra = c->n_oracle_attrs - c->n_attrs;
    if (extra > 0) memmove(&c->attrs[c->n_attrs + 1], &c->attrs[c->n_attrs], (size_t)extra * sizeof c->attrs[0]);
    c->n_oracle_attrs = c->n_oracle_attrs > c->n_attrs ? c->n_oracle_attrs + 1 : c->n_attrs + 1;
    return &c->attrs[c->n_attrs++];
}

void case_attr_i(ccase *c, const char *name, int64_t v) {
    px_attr *a = next_attr(c);
    if (!a) return;
    px_attr t = PX_ATTR_I(name, v);
    *a = t;
}

void case_attr_f(ccase *c, const char *name, double v) {
    px_attr *a = next_attr(c);
    if (!a) return;
    px_attr t = PX_ATTR_F(name, v);
    *a = t;
}

void case_attr_ints(ccase *c, const char *name, const int64_t *v, int32_t n) {
    int32_t slot = c->n_attrs;
    px_attr *a = next_attr(c);
    if (!a || n > PX_MAX_DIMS) return;
    memcpy(c->ints[slot], v, (size_t)n * sizeof *v);
    px_attr t = PX_ATTR_INTS(name, c->ints[slot], n);
    *a = t;
}

void case_oracle_attr_i(ccase *c, const char *name, int64_t v) {
    if (c->n_oracle_attrs < c->n_attrs) c->n_oracle_attrs = c->n_attrs;
    if (c->n_oracle_attrs >= CONF_MAX_ATTRS) return;
    px_attr t = PX_ATTR_I(name, v);
    c->attrs[c->n_oracle_attrs++] = t;
}
