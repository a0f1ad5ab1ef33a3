/* CPU plugin — WHERE, comparisons (EQUAL..GREATER_EQUAL), CUMSUM, ARGMAX and ARGMIN. */
#include <math.h>
#include <string.h>

#include "cpu_common.h"

/* ---- where ------------------------------------------------------------------------- */

int cpu_where_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 3 || n->n_outputs < 1 || !cpu_in(n, 0) || !cpu_in(n, 1) || !cpu_in(n, 2)) return 0;
    px_dtype t = cpu_in_dt(n, 1);
    return cpu_in_dt(n, 0) == PX_BOOL && cpu_is_plain(t) && cpu_in_dt(n, 2) == t && n->outputs[0].dtype == t;
}

typedef struct where_ctx {
    const cpu_iter *it;
    size_t es;
    const uint8_t *c, *a, *b;
    uint8_t *o;
} where_ctx;

static void where_tile(void *vctx, const int64_t *off, int64_t n) {
    const where_ctx *w = vctx;
    const int32_t l = w->it->rank - 1;
    const int64_t sc = w->it->st[0][l], sa = w->it->st[1][l], sb = w->it->st[2][l];
    const uint8_t *c = w->c + off[0];
    const size_t es = w->es;
    const uint8_t *a = w->a + (size_t)off[1] * es, *b = w->b + (size_t)off[2] * es;
    uint8_t *o = w->o + (size_t)off[3] * es;
    for (int64_t k = 0; k < n; k++) {
        const uint8_t *src = c[k * sc] ? a + (size_t)(k * sa) * es : b + (size_t)(k * sb) * es;
        memcpy(o + (size_t)k * es, src, es);
    }
}

px_status cpu_where_run(const px_kernel_args *a) {
    const px_tensor *C = &a->inputs[0], *A = &a->inputs[1], *B = &a->inputs[2], *O = &a->outputs[0];
    if (cpu_numel(O) == 0) return PX_OK;
    cpu_iter it;
    int32_t ranks[4] = {C->rank, A->rank, B->rank, O->rank};
    const int64_t *nes[4] = {C->ne, A->ne, B->ne, O->ne};
    if (cpu_iter_init(&it, O->rank, O->ne, 4, ranks, nes))
        return a->host->set_error(PX_ERR_SHAPE, "where: input shapes do not broadcast to the output's");
    where_ctx w = {&it, cpu_elt_size(A->dtype), C->data, A->data, B->data, O->data};
    cpu_iter_run(a->host, &it, where_tile, &w);
    return PX_OK;
}

/* ---- comparisons ------------------------------------------------------------------ */

int cpu_compare_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 2 || n->n_outputs < 1 || !cpu_in(n, 0) || !cpu_in(n, 1)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    if (cpu_in_dt(n, 1) != t || n->outputs[0].dtype != PX_BOOL) return 0;
    return cpu_is_float(t) || cpu_is_int(t) || t == PX_BOOL;
}

typedef struct cmp_ctx {
    px_op op;
    px_dtype dt;
    int cls;
    const cpu_iter *it;
    const void *a, *b;
    uint8_t *o;
} cmp_ctx;

#define CMP_LOOP(X, Y)                                                                          \
    switch (c->op) {                                                                            \
    case PX_OP_EQUAL: for (int64_t i = 0; i < n; i++) o[i] = X(x[i]) == Y(y[i]); break;         \
    case PX_OP_NOT_EQUAL: for (int64_t i = 0; i < n; i++) o[i] = X(x[i]) != Y(y[i]); break;     \
    case PX_OP_LESS: for (int64_t i = 0; i < n; i++) o[i] = X(x[i]) < Y(y[i]); break;           \
    case PX_OP_LESS_EQUAL: for (int64_t i = 0; i < n; i++) o[i] = X(x[i]) <= Y(y[i]); break;    \
    case PX_OP_GREATER: for (int64_t i = 0; i < n; i++) o[i] = X(x[i]) > Y(y[i]); break;        \
    case PX_OP_GREATER_EQUAL: for (int64_t i = 0; i < n; i++) o[i] = X(x[i]) >= Y(y[i]); break; \
    default: memset(o, 0, (size_t)n); break;                                                    \
    }
#define AS_IS(v) (v)
#define AS_U64(v) ((uint64_t)(v))

static void cmp_tile(void *vctx, const int64_t *off, int64_t n) {
    const cmp_ctx *c = vctx;
    const int32_t l = c->it->rank - 1;
    uint8_t *o = c->o + off[2];
    if (c->cls == CPU_CLS_F32 || c->cls == CPU_CLS_F64) {
        /* F16/BF16/F32 widen to double exactly: one path for all floats */
        double x[CPU_TILE], y[CPU_TILE];
        cpu_load_f64(c->dt, c->a, off[0], c->it->st[0][l], n, x);
        cpu_load_f64(c->dt, c->b, off[1], c->it->st[1][l], n, y);
        CMP_LOOP(AS_IS, AS_IS)
    } else {
        int64_t x[CPU_TILE], y[CPU_TILE];
        cpu_load_i64(c->dt, c->a, off[0], c->it->st[0][l], n, x);
        cpu_load_i64(c->dt, c->b, off[1], c->it->st[1][l], n, y);
        if (c->cls == CPU_CLS_UINT) {
            CMP_LOOP(AS_U64, AS_U64)
        } else {
            CMP_LOOP(AS_IS, AS_IS)
        }
    }
}

px_status cpu_compare_run(const px_kernel_args *a) {
    const px_tensor *A = &a->inputs[0], *B = &a->inputs[1], *O = &a->outputs[0];
    if (cpu_numel(O) == 0) return PX_OK;
    cpu_iter it;
    int32_t ranks[3] = {A->rank, B->rank, O->rank};
    const int64_t *nes[3] = {A->ne, B->ne, O->ne};
    if (cpu_iter_init(&it, O->rank, O->ne, 3, ranks, nes))
        return a->host->set_error(PX_ERR_SHAPE, "comparison: input shapes do not broadcast to the output's");
    cmp_ctx c = {a->node->op, A->dtype, cpu_class(A->dtype), &it, A->data, B->data, O->data};
    cpu_iter_run(a->host, &it, cmp_tile, &c);
    return PX_OK;
}

/* ---- cumsum, argmax: one strided line of `dim` elements per item ----------------------- */

typedef struct line_ctx {
    const px_tensor *X, *O;
    int64_t dim, inner;
    int exclusive, reverse;
    const cpu_scratch *s;
} line_ctx;

static int line_supports(const px_node_desc *n) {
    if (n->n_inputs != 1 || n->n_outputs < 1 || !cpu_in(n, 0)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    return (cpu_is_float(t) || cpu_is_int(t)) && cpu_axis(cpu_attr_i(n, "axis", 0), n->inputs[0].rank) >= 0;
}

int cpu_cumsum_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    return line_supports(n) && n->outputs[0].dtype == cpu_in_dt(n, 0);
}

static void cumsum_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const line_ctx *c = vctx;
    const int64_t dim = c->dim;
    int fl = cpu_is_float(c->X->dtype);
    double *fz = cpu_scratch_thread(c->s, thread);
    int64_t *iz = cpu_scratch_thread(c->s, thread);
    for (int64_t item = b; item < e; item++) {
        int64_t o = item / c->inner, i = item - o * c->inner, base = o * dim * c->inner + i;
        if (fl) cpu_load_f64(c->X->dtype, c->X->data, base, c->inner, dim, fz);
        else cpu_load_i64(c->X->dtype, c->X->data, base, c->inner, dim, iz);
        double facc = 0;
        int64_t iacc = 0;
        for (int64_t k = 0; k < dim; k++) {
            int64_t j = c->reverse ? dim - 1 - k : k;
            if (fl) {
                double v = fz[j];
                fz[j] = c->exclusive ? facc : facc + v;
                facc += v;
            } else {
                int64_t v = iz[j];
                int64_t inc = (int64_t)((uint64_t)iacc + (uint64_t)v);
                iz[j] = c->exclusive ? iacc : inc;
                iacc = inc;
            }
        }
        if (fl) cpu_store_f64(c->O->dtype, c->O->data, base, c->inner, dim, fz);
        else cpu_store_i64(c->O->dtype, c->O->data, base, c->inner, dim, iz);
    }
}

px_status cpu_cumsum_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    const px_node_desc *nd = a->node;
    int32_t ax = cpu_axis(px_attr_int(nd->attrs, nd->n_attrs, "axis", 0), X->rank);
    if (ax < 0) return a->host->set_error(PX_ERR_INVALID_ARG, "cumsum: axis out of range for rank %d", X->rank);
    if (cpu_numel(X) == 0) return PX_OK;
    line_ctx c = {X, O, X->ne[ax], cpu_prod(X->ne, ax + 1, X->rank),
                  px_attr_int(nd->attrs, nd->n_attrs, "exclusive", 0) != 0,
                  px_attr_int(nd->attrs, nd->n_attrs, "reverse", 0) != 0, NULL};
    cpu_scratch s;
    px_status st = cpu_scratch_begin(a, cpu_axis_need, &s);
    if (st) return st;
    c.s = &s;
    a->host->parallel_for(cpu_prod(X->ne, 0, ax) * c.inner, cpu_grain(c.dim, 1 << 14), cumsum_range, &c);
    cpu_scratch_end(a, &s);
    return PX_OK;
}

int cpu_argmax_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    return line_supports(n) && n->outputs[0].dtype == PX_I64;
}

/* ARGMAX and ARGMIN: the first extremal index, or the last one with
 * select_last_index. NaN counts as extremal for both (the first, or last,
 * NaN wins). The line is read in tiles: no scratch. */
typedef struct arg_ctx {
    const px_tensor *X;
    int64_t *out;
    int64_t dim, inner;
    int is_min, last, cls;
} arg_ctx;

/* 1 if v at a later index replaces the best value b. */
static inline int arg_float_wins(const arg_ctx *c, double v, double b) {
    if (isnan(b)) return c->last && isnan(v);
    if (isnan(v)) return 1;
    return (c->is_min ? v < b : v > b) || (c->last && v == b);
}
static inline int arg_int_wins(const arg_ctx *c, int64_t v, int64_t b) {
    int lt = c->cls == CPU_CLS_UINT ? (uint64_t)v < (uint64_t)b : v < b;
    int gt = c->cls == CPU_CLS_UINT ? (uint64_t)v > (uint64_t)b : v > b;
    return (c->is_min ? lt : gt) || (c->last && v == b);
}

static void argmax_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const arg_ctx *c = vctx;
    const int fl = c->cls == CPU_CLS_F32 || c->cls == CPU_CLS_F64;
    for (int64_t item = b; item < e; item++) {
        int64_t o = item / c->inner, i = item - o * c->inner, base = o * c->dim * c->inner + i, best = -1;
        double fb = 0;
        int64_t ib = 0;
        for (int64_t k0 = 0; k0 < c->dim; k0 += CPU_TILE) {
            int64_t m = c->dim - k0 < CPU_TILE ? c->dim - k0 : CPU_TILE;
            if (fl) {
                double v[CPU_TILE];
                cpu_load_f64(c->X->dtype, c->X->data, base + k0 * c->inner, c->inner, m, v);
                for (int64_t k = 0; k < m; k++)
                    if (best < 0 || arg_float_wins(c, v[k], fb)) best = k0 + k, fb = v[k];
            } else {
                int64_t v[CPU_TILE];
                cpu_load_i64(c->X->dtype, c->X->data, base + k0 * c->inner, c->inner, m, v);
                for (int64_t k = 0; k < m; k++)
                    if (best < 0 || arg_int_wins(c, v[k], ib)) best = k0 + k, ib = v[k];
            }
        }
        c->out[item] = best;
    }
}

px_status cpu_argmax_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    int is_min = a->node->op == PX_OP_ARGMIN;
    const char *nm = is_min ? "argmin" : "argmax";
    int32_t ax = cpu_axis(px_attr_int(a->node->attrs, a->node->n_attrs, "axis", 0), X->rank);
    if (ax < 0) return a->host->set_error(PX_ERR_INVALID_ARG, "%s: axis out of range for rank %d", nm, X->rank);
    int64_t items = cpu_prod(X->ne, 0, ax) * cpu_prod(X->ne, ax + 1, X->rank);
    if (items != cpu_numel(O)) return a->host->set_error(PX_ERR_SHAPE, "%s: output has the wrong element count", nm);
    if (items == 0) return PX_OK;
    if (X->ne[ax] == 0)
        return a->host->set_error(PX_ERR_SHAPE, "%s: axis %d is empty, there is no %s index", nm, ax,
                                  is_min ? "minimal" : "maximal");
    arg_ctx c = {X, O->data, X->ne[ax], cpu_prod(X->ne, ax + 1, X->rank), is_min,
                 px_attr_int(a->node->attrs, a->node->n_attrs, "select_last_index", 0) != 0, cpu_class(X->dtype)};
    a->host->parallel_for(items, cpu_grain(c.dim, 1 << 14), argmax_range, &c);
    return PX_OK;
}
