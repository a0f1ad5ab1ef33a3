/* Shape and dtype inference for the ops EXPAND..TOPK of ops.h: logical,
 * unary math, integer and bitwise ops, REDUCE_PROD, ARGMIN, gather/scatter
 * (elements and ND) and TOPK. Messages are prefixed with the node's name
 * and op by the caller.
 *
 * Symbolic dims pass through wherever the op only maps them to the output
 * (elementwise ops broadcast them, the elements ops keep the indices'
 * shape); what must be known when the graph is built (EXPAND's input dims,
 * the tuple length q of the ND ops) has to be static. */
#include <string.h>

#include "graph.h"
#include "plexus/dtype.h"

#define FAIL(st, ...) return px_set_error((st), __VA_ARGS__)

static int is_float(px_dtype t) { return t == PX_F32 || t == PX_F16 || t == PX_BF16 || t == PX_F64; }
static int is_int(px_dtype t) {
    const px_dtype_traits *tr = px_dtype_get_traits(t);
    return tr && tr->is_integer && t != PX_BOOL;
}
static int is_uint(px_dtype t) { return t == PX_U8 || t == PX_U16 || t == PX_U32 || t == PX_U64; }
static int is_plain(px_dtype t) {
    const px_dtype_traits *tr = px_dtype_get_traits(t);
    return tr && !tr->is_quantized;
}
static int dim_eq(px_dim a, px_dim b) {
    if (a.sym < 0 && b.sym < 0) return a.c == b.c;
    return a.sym == b.sym && a.k == b.k && a.c == b.c;
}

/* The inputs of a node: records of the values (NULL for absent ones). */
typedef struct ix_in {
    const px_graph *g;
    int32_t n;
    const px_value_rec *v[4];
} ix_in;

/* Exactly `n` inputs, all present. */
static px_status take_inputs(const px_graph *g, const px_value *ids, int32_t n_in, int32_t n, ix_in *in) {
    if (n_in != n) FAIL(PX_ERR_INVALID_ARG, "expects %d input%s, got %d", n, n == 1 ? "" : "s", n_in);
    in->g = g;
    in->n = n;
    for (int32_t i = 0; i < n; i++) {
        if (ids[i] == PX_NONE) FAIL(PX_ERR_INVALID_ARG, "input %d is required", i);
        in->v[i] = &g->values[ids[i]];
    }
    return PX_OK;
}

static px_status bad_dtype(const char *what, px_dtype t, const char *allowed) {
    FAIL(PX_ERR_DTYPE, "%s is %s; expected %s", what, px_dtype_name(t), allowed);
}

/* Elementwise: every input of dtype `t` (checked by the caller for input 0),
 * shapes broadcast to *out. */
static px_status infer_elementwise(const ix_in *in, px_shape *out) {
    px_dtype t = in->v[0]->dtype;
    *out = in->v[0]->shape;
    for (int32_t i = 1; i < in->n; i++) {
        if (in->v[i]->dtype != t)
            FAIL(PX_ERR_DTYPE, "input dtypes differ (%s, %s)", px_dtype_name(t), px_dtype_name(in->v[i]->dtype));
        px_shape b = *out;
        px_status st = px_shape_broadcast2(in->g, &b, &in->v[i]->shape, out);
        if (st) return st;
    }
    return PX_OK;
}

/* Which dtypes an elementwise op takes; NULL when `t` is accepted. */
static const char *elementwise_refusal(px_op op, px_dtype t, const px_attr *attrs, int32_t n_attrs) {
    switch (op) {
    case PX_OP_NOT: case PX_OP_AND: case PX_OP_OR: case PX_OP_XOR:
        return t == PX_BOOL ? NULL : "bool";
    case PX_OP_SIGN:
        return is_float(t) || is_int(t) ? NULL : "a float or integer dtype";
    case PX_OP_MOD:
        if (px_attr_int(attrs, n_attrs, "fmod", 0)) return is_float(t) || is_int(t) ? NULL : "a float or integer dtype";
        return is_int(t) ? NULL : "an integer dtype (floats need fmod = 1)";
    case PX_OP_BITSHIFT:
        return is_uint(t) ? NULL : "an unsigned integer dtype";
    case PX_OP_BITWISE_AND: case PX_OP_BITWISE_OR: case PX_OP_BITWISE_XOR: case PX_OP_BITWISE_NOT:
        return is_int(t) ? NULL : "an integer dtype";
    default: /* FLOOR..ISINF */
        return is_float(t) ? NULL : "a float dtype";
    }
}

static px_status check_attrs_elementwise(px_op op, const px_attr *attrs, int32_t n_attrs) {
    if (op == PX_OP_MOD) {
        int64_t f = px_attr_int(attrs, n_attrs, "fmod", 0);
        if (f != 0 && f != 1) FAIL(PX_ERR_INVALID_ARG, "attribute fmod must be 0 or 1, got %lld", (long long)f);
    }
    if (op == PX_OP_BITSHIFT) {
        if (!px_attr_find(attrs, n_attrs, "direction")) FAIL(PX_ERR_INVALID_ARG, "attribute direction is required");
        int64_t d = px_attr_int(attrs, n_attrs, "direction", -1);
        if (d != 0 && d != 1) FAIL(PX_ERR_INVALID_ARG, "attribute direction must be 0 (left) or 1 (right), got %lld", (long long)d);
    }
    return PX_OK;
}

/* EXPAND: the output is attr shape; x broadcasts to it. */
static px_status infer_expand(const ix_in *in, const px_attr *attrs, int32_t n_attrs, px_shape *out) {
    const px_value_rec *x = in->v[0];
    const px_attr *a = px_attr_find(attrs, n_attrs, "shape");
    if (!a) FAIL(PX_ERR_INVALID_ARG, "attribute shape is required");
    if (a->type != PX_ATTR_INTS || a->n < 0) FAIL(PX_ERR_INVALID_ARG, "attribute shape must be a list of ints");
    if (a->n > PX_MAX_DIMS) FAIL(PX_ERR_SHAPE, "attribute shape has %d dims (at most %d)", a->n, PX_MAX_DIMS);
    if (x->shape.rank > a->n) FAIL(PX_ERR_SHAPE, "x has rank %d, above the %d dims of attribute shape", x->shape.rank, a->n);
    px_shape o;
    memset(&o, 0, sizeof o);
    o.rank = a->n;
    for (int32_t i = 0; i < a->n; i++) {
        int64_t want = a->u.ints[i];
        if (want < 0) FAIL(PX_ERR_SHAPE, "attribute shape has a negative dim (%lld at %d)", (long long)want, i);
        o.d[i] = px_dim_c(want);
        int32_t j = i - (a->n - x->shape.rank);
        if (j < 0) continue;
        px_dim d = x->shape.d[j];
        if (d.sym >= 0) FAIL(PX_ERR_SHAPE, "x's dim %d is symbolic; expand needs static input dims", j);
        if (d.c != 1 && d.c != want)
            FAIL(PX_ERR_SHAPE, "x's dim %d (%lld) does not broadcast to %lld", j, (long long)d.c, (long long)want);
    }
    *out = o;
    return PX_OK;
}

/* The elements ops: indices of data's rank, each dim but `axis` within
 * data's dim (identical symbolic dims, or static ones that fit). */
static px_status check_elements_indices(const ix_in *in, int32_t ax, const px_value_rec *idx) {
    const px_shape *d = &in->v[0]->shape, *s = &idx->shape;
    if (idx->dtype != PX_I32 && idx->dtype != PX_I64) return bad_dtype("indices", idx->dtype, "i32 or i64");
    if (s->rank != d->rank) FAIL(PX_ERR_SHAPE, "indices have rank %d, data rank %d (they must agree)", s->rank, d->rank);
    for (int32_t i = 0; i < d->rank; i++) {
        if (i == ax || dim_eq(s->d[i], d->d[i])) continue;
        if (s->d[i].sym < 0 && d->d[i].sym < 0) {
            if (s->d[i].c <= d->d[i].c) continue;
            FAIL(PX_ERR_SHAPE, "indices dim %d (%lld) exceeds data's (%lld)", i, (long long)s->d[i].c, (long long)d->d[i].c);
        }
        char a[128], b[128];
        px_shape_str(in->g, s, a, sizeof a);
        px_shape_str(in->g, d, b, sizeof b);
        FAIL(PX_ERR_SHAPE, "indices %s and data %s: dim %d must be identical or static", a, b, i);
    }
    return PX_OK;
}

static px_status check_updates(const px_value_rec *data, const px_value_rec *upd) {
    if (upd->dtype == data->dtype) return PX_OK;
    FAIL(PX_ERR_DTYPE, "updates (%s) must have data's dtype (%s)", px_dtype_name(upd->dtype), px_dtype_name(data->dtype));
}

static px_status check_reduction(const px_attr *attrs, int32_t n_attrs, px_dtype t) {
    int64_t r = px_attr_int(attrs, n_attrs, "reduction", 0);
    if (r < 0 || r > 4) FAIL(PX_ERR_INVALID_ARG, "attribute reduction must be 0..4 (none, add, mul, max, min), got %lld", (long long)r);
    if (!is_plain(t)) return bad_dtype("data", t, "a plain dtype");
    if (r && !is_float(t) && !is_int(t)) return bad_dtype("data", t, "a float or integer dtype with a reduction");
    return PX_OK;
}

static px_status infer_elements(px_op op, const ix_in *in, const px_attr *attrs, int32_t n_attrs, px_dtype *odt,
                                px_shape *out) {
    const px_value_rec *data = in->v[0];
    if (data->shape.rank < 1) FAIL(PX_ERR_SHAPE, "data needs rank >= 1");
    int64_t axis = px_attr_int(attrs, n_attrs, "axis", 0);
    int32_t ax = px_norm_axis(axis, data->shape.rank);
    if (ax < 0) FAIL(PX_ERR_INVALID_ARG, "axis %lld out of range for rank %d", (long long)axis, data->shape.rank);
    px_status st = check_elements_indices(in, ax, in->v[1]);
    if (st) return st;
    *odt = data->dtype;
    if (op == PX_OP_GATHER_ELEMENTS) {
        if (!is_plain(data->dtype)) return bad_dtype("data", data->dtype, "a plain dtype");
        *out = in->v[1]->shape;
        return PX_OK;
    }
    const px_value_rec *upd = in->v[2];
    if ((st = check_updates(data, upd))) return st;
    int same = upd->shape.rank == in->v[1]->shape.rank;
    for (int32_t i = 0; same && i < upd->shape.rank; i++) same = dim_eq(upd->shape.d[i], in->v[1]->shape.d[i]);
    if (!same) FAIL(PX_ERR_SHAPE, "updates must have the indices' shape");
    *out = data->shape;
    return check_reduction(attrs, n_attrs, data->dtype);
}

/* The ND ops: q, the static last dim of indices. */
static px_status nd_tuple(const px_value_rec *idx, int64_t *q) {
    if (idx->dtype != PX_I32 && idx->dtype != PX_I64) return bad_dtype("indices", idx->dtype, "i32 or i64");
    if (idx->shape.rank < 1) FAIL(PX_ERR_SHAPE, "indices need rank >= 1 (the last dim holds the index tuples)");
    px_dim d = idx->shape.d[idx->shape.rank - 1];
    if (d.sym >= 0) FAIL(PX_ERR_SHAPE, "the last dim of indices (the tuple length) must be static");
    *q = d.c;
    return PX_OK;
}

static px_status infer_gather_nd(const ix_in *in, const px_attr *attrs, int32_t n_attrs, px_dtype *odt, px_shape *out) {
    const px_shape *d = &in->v[0]->shape, *s = &in->v[1]->shape;
    int64_t q = 0, b = px_attr_int(attrs, n_attrs, "batch_dims", 0);
    px_status st = nd_tuple(in->v[1], &q);
    if (st) return st;
    if (!is_plain(in->v[0]->dtype)) return bad_dtype("data", in->v[0]->dtype, "a plain dtype");
    if (b < 0 || b >= s->rank || b >= d->rank)
        FAIL(PX_ERR_INVALID_ARG, "batch_dims %lld must be below the ranks of data (%d) and indices (%d)", (long long)b, d->rank, s->rank);
    if (b + q > d->rank)
        FAIL(PX_ERR_SHAPE, "tuples of %lld indices after %lld batch dims exceed data's rank %d", (long long)q,
             (long long)b, d->rank);
    for (int32_t i = 0; i < b; i++)
        if (!dim_eq(d->d[i], s->d[i])) FAIL(PX_ERR_SHAPE, "batch dim %d differs between data and indices", i);
    if (s->rank - 1 + d->rank - (b + q) > PX_MAX_DIMS) FAIL(PX_ERR_SHAPE, "output rank too large");
    px_shape o;
    memset(&o, 0, sizeof o);
    for (int32_t i = 0; i < s->rank - 1; i++) o.d[o.rank++] = s->d[i];
    for (int32_t i = (int32_t)(b + q); i < d->rank; i++) o.d[o.rank++] = d->d[i];
    *out = o;
    *odt = in->v[0]->dtype;
    return PX_OK;
}

static px_status infer_scatter_nd(const ix_in *in, const px_attr *attrs, int32_t n_attrs, px_dtype *odt, px_shape *out) {
    const px_value_rec *data = in->v[0], *upd = in->v[2];
    const px_shape *d = &data->shape, *s = &in->v[1]->shape, *u = &upd->shape;
    int64_t q = 0;
    px_status st = nd_tuple(in->v[1], &q);
    if (st) return st;
    if (q > d->rank) FAIL(PX_ERR_SHAPE, "tuples of %lld indices exceed data's rank %d", (long long)q, d->rank);
    if ((st = check_updates(data, upd))) return st;
    int32_t want = s->rank - 1 + d->rank - (int32_t)q;
    int same = u->rank == want;
    for (int32_t i = 0; same && i < want; i++)
        same = dim_eq(u->d[i], i < s->rank - 1 ? s->d[i] : d->d[i - (s->rank - 1) + q]);
    if (!same) {
        char a[128], b[128], c[128];
        px_shape_str(in->g, u, a, sizeof a);
        px_shape_str(in->g, s, b, sizeof b);
        px_shape_str(in->g, d, c, sizeof c);
        FAIL(PX_ERR_SHAPE, "updates %s must be indices.shape[:-1] + data.shape[q:] (indices %s, data %s)", a, b, c);
    }
    *out = *d;
    *odt = data->dtype;
    return check_reduction(attrs, n_attrs, data->dtype);
}

static px_status infer_topk(const ix_in *in, const px_attr *attrs, int32_t n_attrs, px_dtype *odt, px_shape *out) {
    const px_value_rec *x = in->v[0];
    if (!is_float(x->dtype) && !is_int(x->dtype)) return bad_dtype("x", x->dtype, "a float or integer dtype");
    if (!px_attr_find(attrs, n_attrs, "k")) FAIL(PX_ERR_INVALID_ARG, "attribute k is required");
    int64_t k = px_attr_int(attrs, n_attrs, "k", 0), axis = px_attr_int(attrs, n_attrs, "axis", -1);
    int32_t ax = px_norm_axis(axis, x->shape.rank);
    if (ax < 0) FAIL(PX_ERR_INVALID_ARG, "axis %lld out of range for rank %d", (long long)axis, x->shape.rank);
    /* a symbolic axis is checked against its upper bound here and against
     * its value by the kernel */
    int64_t dim = px_dim_eval(in->g, x->shape.d[ax], NULL);
    if (k < 0 || k > dim) FAIL(PX_ERR_INVALID_ARG, "k = %lld must be in 0..%lld (the size of axis %d)", (long long)k, (long long)dim, ax);
    *out = x->shape;
    out->d[ax] = px_dim_c(k);
    *odt = PX_I64;
    return PX_OK;
}

static int32_t n_inputs_of(px_op op) {
    switch (op) {
    case PX_OP_AND: case PX_OP_OR: case PX_OP_XOR: case PX_OP_MOD: case PX_OP_BITSHIFT:
    case PX_OP_BITWISE_AND: case PX_OP_BITWISE_OR: case PX_OP_BITWISE_XOR:
    case PX_OP_GATHER_ELEMENTS: case PX_OP_GATHER_ND:
        return 2;
    case PX_OP_SCATTER_ELEMENTS: case PX_OP_SCATTER_ND: return 3;
    default: return 1;
    }
}

px_status px_infer_index(const px_graph *g, px_op op, const px_value *ids, int32_t n_in, const px_attr *attrs,
                         int32_t n_attrs, px_dtype *odt, px_shape *out) {
    if (op < PX_OP_EXPAND || op > PX_OP_TOPK) return PX_ERR_NOT_FOUND;
    /* "as REDUCE_SUM" and "as ARGMAX": the same shape rules */
    if (op == PX_OP_REDUCE_PROD) return px_infer(g, PX_OP_REDUCE_SUM, ids, n_in, attrs, n_attrs, odt, out);
    if (op == PX_OP_ARGMIN) return px_infer(g, PX_OP_ARGMAX, ids, n_in, attrs, n_attrs, odt, out);
    ix_in in = {g, 0, {NULL}};
    px_status st = take_inputs(g, ids, n_in, n_inputs_of(op), &in);
    if (st) return st;
    px_dtype t = in.v[0]->dtype;
    switch (op) {
    case PX_OP_EXPAND:
        if (!is_plain(t)) return bad_dtype("x", t, "a plain dtype");
        *odt = t;
        return infer_expand(&in, attrs, n_attrs, out);
    case PX_OP_GATHER_ELEMENTS: case PX_OP_SCATTER_ELEMENTS:
        return infer_elements(op, &in, attrs, n_attrs, odt, out);
    case PX_OP_GATHER_ND: return infer_gather_nd(&in, attrs, n_attrs, odt, out);
    case PX_OP_SCATTER_ND: return infer_scatter_nd(&in, attrs, n_attrs, odt, out);
    case PX_OP_TOPK: return infer_topk(&in, attrs, n_attrs, odt, out);
    default: break;
    }
    /* elementwise: logical, unary math, mod, bitshift, bitwise */
    if ((st = check_attrs_elementwise(op, attrs, n_attrs))) return st;
    const char *want = elementwise_refusal(op, t, attrs, n_attrs);
    if (want) return bad_dtype(in.n > 1 ? "input 0" : "x", t, want);
    if ((st = infer_elementwise(&in, out))) return st;
    *odt = (op == PX_OP_ISNAN || op == PX_OP_ISINF) ? PX_BOOL : t;
    return PX_OK;
}
