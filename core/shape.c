/* Shape and dtype inference for every op of ops.h. Messages returned from
 * here are prefixed with the node's name by the caller. */
#include <string.h>

#include "graph.h"
#include "plexus/dtype.h"

#define FAIL(st, ...) return px_set_error((st), __VA_ARGS__)

static int dim_eq(px_dim a, px_dim b) {
    if (a.sym < 0 && b.sym < 0) return a.c == b.c;
    return a.sym == b.sym && a.k == b.k && a.c == b.c;
}
static int dim_is(px_dim a, int64_t c) { return a.sym < 0 && a.c == c; }

static int is_float(px_dtype t) { return t == PX_F32 || t == PX_F16 || t == PX_BF16 || t == PX_F64; }
static int is_int(px_dtype t) {
    const px_dtype_traits *tr = px_dtype_get_traits(t);
    return tr && tr->is_integer && t != PX_BOOL;
}
static int is_quant(px_dtype t) {
    const px_dtype_traits *tr = px_dtype_get_traits(t);
    return tr && tr->is_quantized;
}
static int is_signed_int(px_dtype t) { return t == PX_I8 || t == PX_I16 || t == PX_I32 || t == PX_I64; }
static int is_index(px_dtype t) { return t == PX_I32 || t == PX_I64; }

typedef struct in_view {
    int present;
    px_dtype dtype;
    px_shape shape;
    px_value_kind kind;
} in_view;

static void shape_text(const px_graph *g, const px_shape *s, char *buf, size_t cap) {
    px_shape_str(g, s, buf, cap);
}

/* Broadcast two shapes (numpy rules). Symbolic dims broadcast only against
 * 1 or an identical dim. */
px_status px_shape_broadcast2(const px_graph *g, const px_shape *a, const px_shape *b, px_shape *out) {
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    px_shape o;
    memset(&o, 0, sizeof o);
    o.rank = r;
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        px_dim da = ia >= 0 ? a->d[ia] : px_dim_c(1);
        px_dim db = ib >= 0 ? b->d[ib] : px_dim_c(1);
        if (dim_eq(da, db)) o.d[i] = da;
        else if (dim_is(da, 1)) o.d[i] = db;
        else if (dim_is(db, 1)) o.d[i] = da;
        else {
            char sa[128], sb[128];
            shape_text(g, a, sa, sizeof sa);
            shape_text(g, b, sb, sizeof sb);
            FAIL(PX_ERR_SHAPE, "shapes %s and %s do not broadcast (dim %d)", sa, sb, i);
        }
    }
    *out = o;
    return PX_OK;
}

static int64_t attr_i(const px_attr *a, int32_t n, const char *name, int64_t def) {
    return px_attr_int(a, n, name, def);
}

/* Read an INTS attribute; returns count or -1 if absent. */
static int32_t attr_ints(const px_attr *attrs, int32_t n, const char *name, const int64_t **out) {
    const px_attr *a = px_attr_find(attrs, n, name);
    if (!a) return -1;
    if (a->type == PX_ATTR_INT) {
        *out = &a->u.i;
        return 1;
    }
    if (a->type != PX_ATTR_INTS) return -2;
    *out = a->u.ints;
    return a->n;
}

static px_status need_inputs(int32_t n_in, int32_t lo, int32_t hi) {
    if (n_in < lo || n_in > hi) {
        if (lo == hi) FAIL(PX_ERR_INVALID_ARG, "expects %d inputs, got %d", lo, n_in);
        FAIL(PX_ERR_INVALID_ARG, "expects %d to %d inputs, got %d", lo, hi, n_in);
    }
    return PX_OK;
}

static px_status need_present(const in_view *in, int32_t n_in, int32_t count) {
    for (int32_t i = 0; i < count && i < n_in; i++)
        if (!in[i].present) FAIL(PX_ERR_INVALID_ARG, "input %d is required", i);
    return PX_OK;
}

static px_status infer_reduce(const in_view *x, const px_attr *attrs, int32_t n_attrs, px_shape *out) {
    const int64_t *axes = NULL;
    int32_t na = attr_ints(attrs, n_attrs, "axes", &axes);
    if (na == -2) FAIL(PX_ERR_INVALID_ARG, "attribute axes must be a list of ints");
    int keep = attr_i(attrs, n_attrs, "keepdims", 1) != 0;
    int red[PX_MAX_DIMS] = {0};
    if (na < 0) {
        for (int32_t i = 0; i < x->shape.rank; i++) red[i] = 1;
    } else {
        for (int32_t i = 0; i < na; i++) {
            int32_t ax = px_norm_axis(axes[i], x->shape.rank);
            if (ax < 0) FAIL(PX_ERR_INVALID_ARG, "axis %lld out of range for rank %d", (long long)axes[i], x->shape.rank);
            if (red[ax]) FAIL(PX_ERR_INVALID_ARG, "axis %lld given twice", (long long)axes[i]);
            red[ax] = 1;
        }
    }
    px_shape o;
    memset(&o, 0, sizeof o);
    for (int32_t i = 0; i < x->shape.rank; i++) {
        if (!red[i]) o.d[o.rank++] = x->shape.d[i];
        else if (keep) o.d[o.rank++] = px_dim_c(1);
    }
    *out = o;
    return PX_OK;
}

/* Static dim or error. */
static px_status static_dim(px_dim d, const char *what, int64_t *out) {
    *out = 0;
    if (d.sym >= 0) FAIL(PX_ERR_SHAPE, "%s must be static", what);
    *out = d.c;
    return PX_OK;
}

static px_status infer_slice(const in_view *x, const px_attr *attrs, int32_t n_attrs, px_shape *out) {
    const int64_t *starts = NULL, *ends = NULL, *axes = NULL, *steps = NULL;
    int32_t ns = attr_ints(attrs, n_attrs, "starts", &starts);
    int32_t ne = attr_ints(attrs, n_attrs, "ends", &ends);
    int32_t na = attr_ints(attrs, n_attrs, "axes", &axes);
    int32_t nst = attr_ints(attrs, n_attrs, "steps", &steps);
    if (ns < 0 || ne < 0) FAIL(PX_ERR_INVALID_ARG, "attributes starts and ends are required");
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns) || ns == -2 || na == -2 || nst == -2)
        FAIL(PX_ERR_INVALID_ARG, "starts, ends, axes and steps must be int lists of one length");
    px_shape o = x->shape;
    int seen[PX_MAX_DIMS] = {0};
    for (int32_t i = 0; i < ns; i++) {
        int64_t axis = na >= 0 ? axes[i] : i;
        int32_t ax = px_norm_axis(axis, x->shape.rank);
        if (ax < 0) FAIL(PX_ERR_INVALID_ARG, "slice axis %lld out of range for rank %d", (long long)axis, x->shape.rank);
        if (seen[ax]) FAIL(PX_ERR_INVALID_ARG, "slice axis %d given twice", ax);
        seen[ax] = 1;
        int64_t step = nst >= 0 ? steps[i] : 1;
        if (step == 0) FAIL(PX_ERR_INVALID_ARG, "slice step 0 on axis %d", ax);
        int64_t dim;
        if (static_dim(x->shape.d[ax], "a sliced axis", &dim)) return PX_ERR_SHAPE;
        int64_t s = starts[i], e = ends[i];
        if (s < 0) s += dim;
        if (e < 0 && e > INT64_MIN + dim) e += dim;
        int64_t len;
        if (dim == 0) {
            len = 0;
        } else if (step > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            len = e > s ? (e - s + step - 1) / step : 0;
        } else {
            /* ONNX: starts clamp to [0, dim-1], ends to [-1, dim-1]. */
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
        }
        o.d[ax] = px_dim_c(len);
    }
    *out = o;
    return PX_OK;
}

/* Product of dims as a polynomial evaluated mod p at pseudo-random symbol
 * values: equal element counts of two shapes (Schwartz-Zippel check). */
static uint64_t mulmod(uint64_t a, uint64_t b) {
    const uint64_t p = 2305843009213693951ull; /* 2^61 - 1 */
    unsigned __int128 r = (unsigned __int128)a * b;
    uint64_t lo = (uint64_t)(r & p), hi = (uint64_t)(r >> 61);
    uint64_t s = lo + hi;
    return s >= p ? s - p : s;
}
static uint64_t numel_mod(const px_shape *s, uint64_t seed) {
    const uint64_t p = 2305843009213693951ull;
    uint64_t n = 1;
    for (int32_t i = 0; i < s->rank; i++) {
        px_dim d = s->d[i];
        uint64_t v;
        if (d.sym < 0) v = (uint64_t)d.c % p;
        else {
            uint64_t x = (seed + 0x9e3779b97f4a7c15ull * (uint64_t)(d.sym + 1)) % p;
            x = (x ^ (x >> 29)) % p;
            v = (mulmod((uint64_t)d.k, x) + (uint64_t)d.c) % p;
        }
        n = mulmod(n, v);
    }
    return n;
}
static int same_numel(const px_shape *a, const px_shape *b) {
    for (uint64_t t = 1; t <= 3; t++)
        if (numel_mod(a, t * 1000003ull) != numel_mod(b, t * 1000003ull)) return 0;
    return 1;
}

static px_status infer_matmul(const px_graph *g, const in_view *in, int32_t n_in, const px_attr *attrs,
                              int32_t n_attrs, px_dtype *odt, px_shape *out) {
    const in_view *a = &in[0], *b = &in[1];
    int tb = attr_i(attrs, n_attrs, "trans_b", 0) != 0;
    if (!is_float(a->dtype)) FAIL(PX_ERR_DTYPE, "a must be a float dtype, got %s", px_dtype_name(a->dtype));
    if (is_quant(b->dtype) && !tb)
        FAIL(PX_ERR_DTYPE, "a block-quantized b (%s) needs trans_b = 1", px_dtype_name(b->dtype));
    if (!is_float(b->dtype) && !is_quant(b->dtype))
        FAIL(PX_ERR_DTYPE, "b must be float or block-quantized, got %s", px_dtype_name(b->dtype));
    if (a->dtype == PX_F64 && b->dtype != PX_F64) FAIL(PX_ERR_DTYPE, "an F64 a needs an F64 b");
    if (a->shape.rank < 2 || b->shape.rank < 2)
        FAIL(PX_ERR_SHAPE, "a and b need rank >= 2 (got %d and %d)", a->shape.rank, b->shape.rank);
    px_dim M = a->shape.d[a->shape.rank - 1 - 1], K = a->shape.d[a->shape.rank - 1];
    px_dim Kb = tb ? b->shape.d[b->shape.rank - 1] : b->shape.d[b->shape.rank - 2];
    px_dim N = tb ? b->shape.d[b->shape.rank - 2] : b->shape.d[b->shape.rank - 1];
    if (!dim_eq(K, Kb)) {
        char sa[128], sb[128];
        shape_text(g, &a->shape, sa, sizeof sa);
        shape_text(g, &b->shape, sb, sizeof sb);
        FAIL(PX_ERR_SHAPE, "inner dims differ: a %s, b %s (trans_b=%d)", sa, sb, tb);
    }
    if (is_quant(b->dtype)) {
        const px_dtype_traits *tr = px_dtype_get_traits(b->dtype);
        if (K.sym >= 0 || K.c % tr->block_size)
            FAIL(PX_ERR_SHAPE, "K must be a static multiple of %d for %s weights", tr->block_size, tr->name);
    }
    px_shape ba = a->shape, bb = b->shape, bo;
    ba.rank -= 2;
    bb.rank -= 2;
    if (px_shape_broadcast2(g, &ba, &bb, &bo)) {
        px_error_prefix("batch dims");
        return PX_ERR_SHAPE;
    }
    if (n_in > 2 && in[2].present) {
        const in_view *bias = &in[2];
        if (bias->shape.rank != 1 || !dim_eq(bias->shape.d[0], N)) FAIL(PX_ERR_SHAPE, "bias must be [N]");
        if (bias->dtype != PX_F32 && bias->dtype != a->dtype) FAIL(PX_ERR_DTYPE, "bias must be f32 or a's dtype");
    }
    if (bo.rank + 2 > PX_MAX_DIMS) FAIL(PX_ERR_SHAPE, "rank too large");
    bo.d[bo.rank++] = M;
    bo.d[bo.rank++] = N;
    *out = bo;
    *odt = a->dtype;
    return PX_OK;
}

static px_status infer_attention(const px_graph *g, const in_view *in, int32_t n_in, px_dtype *odt,
                                 px_shape *out) {
    const in_view *q = &in[0], *k = &in[1], *v = &in[2];
    if (!is_float(q->dtype) || k->dtype != q->dtype || v->dtype != q->dtype)
        FAIL(PX_ERR_DTYPE, "q, k, v must share one float dtype");
    if (q->shape.rank != 3 || k->shape.rank != 3 || v->shape.rank != 3)
        FAIL(PX_ERR_SHAPE, "q, k, v must be rank 3 [T, H, D]");
    px_dim T = q->shape.d[0], Hq = q->shape.d[1], D = q->shape.d[2];
    px_dim Tk = k->shape.d[0], Hkv = k->shape.d[1];
    int64_t hq, hkv;
    if (static_dim(Hq, "the head count", &hq) || static_dim(Hkv, "the kv head count", &hkv)) return PX_ERR_SHAPE;
    if (hkv == 0 || hq % hkv) FAIL(PX_ERR_SHAPE, "q heads (%lld) must be a multiple of kv heads (%lld)", (long long)hq, (long long)hkv);
    if (!dim_eq(k->shape.d[2], D)) FAIL(PX_ERR_SHAPE, "k's head dim differs from q's");
    if (!dim_eq(v->shape.d[0], Tk) || !dim_eq(v->shape.d[1], Hkv)) FAIL(PX_ERR_SHAPE, "v must be [Tk, Hkv, Dv] like k");
    px_dim Dv = v->shape.d[2];
    int has_kc = n_in > 3 && in[3].present, has_vc = n_in > 4 && in[4].present;
    int has_pos = n_in > 5 && in[5].present, has_mask = n_in > 6 && in[6].present;
    if (has_kc != has_vc) FAIL(PX_ERR_INVALID_ARG, "k_cache and v_cache go together");
    if (has_kc) {
        const in_view *kc = &in[3], *vc = &in[4];
        if (kc->kind != PX_VALUE_STATE || vc->kind != PX_VALUE_STATE) FAIL(PX_ERR_INVALID_ARG, "caches must be state values");
        if (!has_pos) FAIL(PX_ERR_INVALID_ARG, "positions are required with a cache");
        if (!dim_eq(Tk, T)) FAIL(PX_ERR_SHAPE, "with a cache, k and v must have q's T");
        for (int i = 0; i < 2; i++) {
            const in_view *c = i ? vc : kc;
            if (c->dtype != PX_F16 && c->dtype != PX_F32 && c->dtype != PX_Q8_0)
                FAIL(PX_ERR_DTYPE, "cache dtype must be f16, f32 or q8_0, got %s", px_dtype_name(c->dtype));
            if (c->shape.rank != 3 || !dim_eq(c->shape.d[1], Hkv) || !dim_eq(c->shape.d[2], i ? Dv : D))
                FAIL(PX_ERR_SHAPE, "%s_cache must be [C, Hkv, %s]", i ? "v" : "k", i ? "Dv" : "D");
            if (c->dtype == PX_Q8_0 && c->shape.d[2].c % 32) FAIL(PX_ERR_SHAPE, "a q8_0 cache needs a head dim multiple of 32");
        }
        if (!dim_eq(kc->shape.d[0], vc->shape.d[0])) FAIL(PX_ERR_SHAPE, "k_cache and v_cache differ in rows");
    }
    if (has_pos) {
        if (in[5].dtype != PX_I32) FAIL(PX_ERR_DTYPE, "positions must be i32");
        if (in[5].shape.rank != 1 || !dim_eq(in[5].shape.d[0], T)) FAIL(PX_ERR_SHAPE, "positions must be [T]");
    }
    if (has_mask) {
        if (in[6].dtype != PX_F32) FAIL(PX_ERR_DTYPE, "mask must be f32");
        if (in[6].shape.rank > 2) FAIL(PX_ERR_SHAPE, "mask must have rank <= 2 ([T, keys])");
    }
    px_shape o;
    memset(&o, 0, sizeof o);
    o.rank = 3;
    o.d[0] = T;
    o.d[1] = Hq;
    o.d[2] = Dv;
    *out = o;
    *odt = q->dtype;
    (void)g;
    return PX_OK;
}

static px_status infer_rope(const in_view *in, int32_t n_in, const px_attr *attrs, int32_t n_attrs) {
    const in_view *x = &in[0];
    if (!is_float(x->dtype)) FAIL(PX_ERR_DTYPE, "x must be float");
    if (x->shape.rank != 2 && x->shape.rank != 3) FAIL(PX_ERR_SHAPE, "x must be [T, H, D] or [T, D]");
    int64_t D;
    if (static_dim(x->shape.d[x->shape.rank - 1], "the head dim", &D)) return PX_ERR_SHAPE;
    int64_t nd = attr_i(attrs, n_attrs, "n_dims", D);
    int64_t mode = attr_i(attrs, n_attrs, "mode", 0);
    if (nd <= 0 || nd % 2 || nd > D) FAIL(PX_ERR_INVALID_ARG, "n_dims %lld must be even and in 2..%lld", (long long)nd, (long long)D);
    if (mode != 0 && mode != 2) FAIL(PX_ERR_INVALID_ARG, "mode %lld must be 0 (normal) or 2 (neox)", (long long)mode);
    if (in[1].dtype != PX_I32 || in[1].shape.rank != 1 || !dim_eq(in[1].shape.d[0], x->shape.d[0]))
        FAIL(PX_ERR_SHAPE, "positions must be i32 [T]");
    if (n_in > 2 && in[2].present) {
        if (in[2].dtype != PX_F32 || in[2].shape.rank != 1 || !dim_is(in[2].shape.d[0], nd / 2))
            FAIL(PX_ERR_SHAPE, "freq_factors must be f32 [n_dims/2 = %lld]", (long long)(nd / 2));
    }
    return PX_OK;
}

px_status px_infer(const px_graph *g, px_op op, const px_value *ids, int32_t n_in, const px_attr *attrs,
                   int32_t n_attrs, px_dtype *odt, px_shape *out) {
    in_view in[16];
    if (n_in > 16 && op != PX_OP_CONCAT) FAIL(PX_ERR_INVALID_ARG, "too many inputs (%d)", n_in);
    int32_t nv = n_in > 16 ? 16 : n_in;
    for (int32_t i = 0; i < nv; i++) {
        in[i].present = ids[i] != PX_NONE;
        if (in[i].present) {
            const px_value_rec *r = &g->values[ids[i]];
            in[i].dtype = r->dtype;
            in[i].shape = r->shape;
            in[i].kind = r->kind;
        }
    }
    px_status st;
    switch (op) {
    case PX_OP_ADD: case PX_OP_SUB: case PX_OP_MUL: case PX_OP_DIV: case PX_OP_POW:
    case PX_OP_MIN: case PX_OP_MAX:
    case PX_OP_EQUAL: case PX_OP_NOT_EQUAL: case PX_OP_LESS: case PX_OP_LESS_EQUAL:
    case PX_OP_GREATER: case PX_OP_GREATER_EQUAL: {
        if ((st = need_inputs(n_in, 2, 2)) || (st = need_present(in, n_in, 2))) return st;
        if (in[0].dtype != in[1].dtype)
            FAIL(PX_ERR_DTYPE, "input dtypes differ (%s, %s)", px_dtype_name(in[0].dtype), px_dtype_name(in[1].dtype));
        int cmp = op >= PX_OP_EQUAL && op <= PX_OP_GREATER_EQUAL;
        int ok = is_float(in[0].dtype) || is_int(in[0].dtype) || (cmp && in[0].dtype == PX_BOOL);
        if (!ok) FAIL(PX_ERR_DTYPE, "unsupported dtype %s", px_dtype_name(in[0].dtype));
        if ((st = px_shape_broadcast2(g, &in[0].shape, &in[1].shape, out))) return st;
        *odt = cmp ? PX_BOOL : in[0].dtype;
        return PX_OK;
    }
    case PX_OP_NEG: case PX_OP_ABS: case PX_OP_EXP: case PX_OP_LOG: case PX_OP_SQRT:
    case PX_OP_RSQRT: case PX_OP_SIN: case PX_OP_COS: case PX_OP_TANH: case PX_OP_ERF:
    case PX_OP_SIGMOID: case PX_OP_RELU: case PX_OP_GELU: case PX_OP_SILU: case PX_OP_SCALE:
        if ((st = need_inputs(n_in, 1, 1)) || (st = need_present(in, n_in, 1))) return st;
        if (!is_float(in[0].dtype) && !((op == PX_OP_NEG || op == PX_OP_ABS) && is_signed_int(in[0].dtype)))
            FAIL(PX_ERR_DTYPE, "unsupported dtype %s", px_dtype_name(in[0].dtype));
        *odt = in[0].dtype;
        *out = in[0].shape;
        return PX_OK;
    case PX_OP_MATMUL:
        if ((st = need_inputs(n_in, 2, 3)) || (st = need_present(in, n_in, 2))) return st;
        return infer_matmul(g, in, n_in, attrs, n_attrs, odt, out);
    case PX_OP_GATHER: {
        if ((st = need_inputs(n_in, 2, 2)) || (st = need_present(in, n_in, 2))) return st;
        if (!is_index(in[1].dtype)) FAIL(PX_ERR_DTYPE, "indices must be i32 or i64");
        int32_t ax = px_norm_axis(attr_i(attrs, n_attrs, "axis", 0), in[0].shape.rank);
        if (ax < 0) FAIL(PX_ERR_INVALID_ARG, "axis out of range for rank %d", in[0].shape.rank);
        if (in[0].shape.rank - 1 + in[1].shape.rank > PX_MAX_DIMS) FAIL(PX_ERR_SHAPE, "output rank too large");
        *odt = in[0].dtype;
        if (is_quant(in[0].dtype)) {
            if (ax != 0) FAIL(PX_ERR_INVALID_ARG, "block-quantized data can only be gathered on axis 0");
            int64_t dt = attr_i(attrs, n_attrs, "dtype", PX_F32);
            if (dt < 0 || dt >= PX_DTYPE_COUNT || !is_float((px_dtype)dt)) FAIL(PX_ERR_DTYPE, "attr dtype must be a float dtype");
            *odt = (px_dtype)dt;
        }
        px_shape o;
        memset(&o, 0, sizeof o);
        for (int32_t i = 0; i < ax; i++) o.d[o.rank++] = in[0].shape.d[i];
        for (int32_t i = 0; i < in[1].shape.rank; i++) o.d[o.rank++] = in[1].shape.d[i];
        for (int32_t i = ax + 1; i < in[0].shape.rank; i++) o.d[o.rank++] = in[0].shape.d[i];
        *out = o;
        return PX_OK;
    }
    case PX_OP_CONCAT: {
        if (n_in < 1) FAIL(PX_ERR_INVALID_ARG, "needs at least one input");
        for (int32_t i = 0; i < n_in; i++)
            if (ids[i] == PX_NONE) FAIL(PX_ERR_INVALID_ARG, "input %d is required", i);
        const px_value_rec *r0 = &g->values[ids[0]];
        const px_attr *a = px_attr_find(attrs, n_attrs, "axis");
        if (!a) FAIL(PX_ERR_INVALID_ARG, "attribute axis is required");
        int32_t ax = px_norm_axis(attr_i(attrs, n_attrs, "axis", 0), r0->shape.rank);
        if (ax < 0) FAIL(PX_ERR_INVALID_ARG, "axis out of range for rank %d", r0->shape.rank);
        px_shape o = r0->shape;
        for (int32_t i = 1; i < n_in; i++) {
            const px_value_rec *r = &g->values[ids[i]];
            if (r->dtype != r0->dtype) FAIL(PX_ERR_DTYPE, "input %d dtype %s differs from %s", i, px_dtype_name(r->dtype), px_dtype_name(r0->dtype));
            if (r->shape.rank != o.rank) FAIL(PX_ERR_SHAPE, "input %d rank %d differs from %d", i, r->shape.rank, o.rank);
            for (int32_t d = 0; d < o.rank; d++) {
                px_dim x = r->shape.d[d];
                if (d != ax) {
                    if (!dim_eq(x, o.d[d])) FAIL(PX_ERR_SHAPE, "input %d differs in dim %d", i, d);
                    continue;
                }
                px_dim *acc = &o.d[d];
                if (x.sym >= 0 && acc->sym >= 0 && x.sym != acc->sym)
                    FAIL(PX_ERR_SHAPE, "concat of two different symbolic dims is not representable");
                if (x.sym >= 0) {
                    if (acc->sym < 0) { acc->sym = x.sym; acc->k = 0; }
                    acc->k += x.k;
                }
                acc->c += x.c;
            }
        }
        if (is_quant(r0->dtype)) FAIL(PX_ERR_DTYPE, "block-quantized inputs are not supported");
        *out = o;
        *odt = r0->dtype;
        return PX_OK;
    }
    case PX_OP_SLICE:
        if ((st = need_inputs(n_in, 1, 1)) || (st = need_present(in, n_in, 1))) return st;
        if (is_quant(in[0].dtype)) FAIL(PX_ERR_DTYPE, "block-quantized input is not supported");
        *odt = in[0].dtype;
        return infer_slice(&in[0], attrs, n_attrs, out);
    case PX_OP_RESHAPE:
        if ((st = need_inputs(n_in, 1, 1)) || (st = need_present(in, n_in, 1))) return st;
        if (!same_numel(&in[0].shape, out)) {
            char sa[128], sb[128];
            shape_text(g, &in[0].shape, sa, sizeof sa);
            shape_text(g, out, sb, sizeof sb);
            FAIL(PX_ERR_SHAPE, "cannot reshape %s to %s: element counts differ", sa, sb);
        }
        if (is_quant(in[0].dtype)) {
            const px_dtype_traits *tr = px_dtype_get_traits(in[0].dtype);
            if (out->rank == 0 || out->d[out->rank - 1].sym >= 0 || out->d[out->rank - 1].c % tr->block_size)
                FAIL(PX_ERR_SHAPE, "the last dim of a %s reshape must be a multiple of %d", tr->name, tr->block_size);
        }
        *odt = in[0].dtype;
        return PX_OK;
    case PX_OP_PERMUTE: {
        if ((st = need_inputs(n_in, 1, 1)) || (st = need_present(in, n_in, 1))) return st;
        const int64_t *perm = NULL;
        int32_t np = attr_ints(attrs, n_attrs, "perm", &perm);
        if (np != in[0].shape.rank) FAIL(PX_ERR_INVALID_ARG, "perm must list %d axes", in[0].shape.rank);
        int seen[PX_MAX_DIMS] = {0};
        px_shape o = in[0].shape;
        for (int32_t i = 0; i < np; i++) {
            int32_t ax = px_norm_axis(perm[i], np);
            if (ax < 0 || seen[ax]) FAIL(PX_ERR_INVALID_ARG, "perm is not a permutation");
            seen[ax] = 1;
            o.d[i] = in[0].shape.d[ax];
        }
        if (is_quant(in[0].dtype)) FAIL(PX_ERR_DTYPE, "block-quantized input is not supported");
        *out = o;
        *odt = in[0].dtype;
        return PX_OK;
    }
    case PX_OP_COPY:
        if ((st = need_inputs(n_in, 1, 1)) || (st = need_present(in, n_in, 1))) return st;
        *out = in[0].shape;
        *odt = in[0].dtype;
        return PX_OK;
    case PX_OP_REDUCE_SUM: case PX_OP_REDUCE_MEAN: case PX_OP_REDUCE_MAX: case PX_OP_REDUCE_MIN:
        if ((st = need_inputs(n_in, 1, 1)) || (st = need_present(in, n_in, 1))) return st;
        if (!is_float(in[0].dtype) && !(op != PX_OP_REDUCE_MEAN && is_int(in[0].dtype)))
            FAIL(PX_ERR_DTYPE, "unsupported dtype %s", px_dtype_name(in[0].dtype));
        *odt = in[0].dtype;
        return infer_reduce(&in[0], attrs, n_attrs, out);
    case PX_OP_SOFTMAX:
        if ((st = need_inputs(n_in, 1, 2)) || (st = need_present(in, n_in, 1))) return st;
        if (!is_float(in[0].dtype)) FAIL(PX_ERR_DTYPE, "x must be float");
        if (n_in > 1 && in[1].present) {
            px_shape b;
            if (!is_float(in[1].dtype)) FAIL(PX_ERR_DTYPE, "mask must be float");
            if ((st = px_shape_broadcast2(g, &in[0].shape, &in[1].shape, &b))) return st;
            if (b.rank != in[0].shape.rank) FAIL(PX_ERR_SHAPE, "mask has a higher rank than x");
            for (int32_t i = 0; i < b.rank; i++)
                if (!dim_eq(b.d[i], in[0].shape.d[i])) FAIL(PX_ERR_SHAPE, "mask must broadcast to x's shape");
        }
        if (in[0].shape.rank < 1) FAIL(PX_ERR_SHAPE, "x needs rank >= 1");
        *out = in[0].shape;
        *odt = in[0].dtype;
        return PX_OK;
    case PX_OP_LOG_SOFTMAX:
        if ((st = need_inputs(n_in, 1, 1)) || (st = need_present(in, n_in, 1))) return st;
        if (!is_float(in[0].dtype)) FAIL(PX_ERR_DTYPE, "x must be float");
        if (px_norm_axis(attr_i(attrs, n_attrs, "axis", -1), in[0].shape.rank) < 0) FAIL(PX_ERR_INVALID_ARG, "axis out of range");
        *out = in[0].shape;
        *odt = in[0].dtype;
        return PX_OK;
    case PX_OP_RMS_NORM: case PX_OP_LAYER_NORM: {
        int32_t hi = op == PX_OP_RMS_NORM ? 2 : 3;
        if ((st = need_inputs(n_in, 1, hi)) || (st = need_present(in, n_in, 1))) return st;
        if (!is_float(in[0].dtype)) FAIL(PX_ERR_DTYPE, "x must be float");
        if (in[0].shape.rank < 1) FAIL(PX_ERR_SHAPE, "x needs rank >= 1");
        px_dim D = in[0].shape.d[in[0].shape.rank - 1];
        for (int32_t i = 1; i < n_in; i++) {
            if (!in[i].present) continue;
            if (in[i].shape.rank != 1 || !dim_eq(in[i].shape.d[0], D)) FAIL(PX_ERR_SHAPE, "input %d must be [D]", i);
            if (!is_float(in[i].dtype)) FAIL(PX_ERR_DTYPE, "input %d must be float", i);
        }
        *out = in[0].shape;
        *odt = in[0].dtype;
        return PX_OK;
    }
    case PX_OP_ROPE:
        if ((st = need_inputs(n_in, 2, 3)) || (st = need_present(in, n_in, 2))) return st;
        if ((st = infer_rope(in, n_in, attrs, n_attrs))) return st;
        *out = in[0].shape;
        *odt = in[0].dtype;
        return PX_OK;
    case PX_OP_ATTENTION:
        if ((st = need_inputs(n_in, 3, 7)) || (st = need_present(in, n_in, 3))) return st;
        return infer_attention(g, in, n_in, odt, out);
    case PX_OP_SWIGLU:
        if ((st = need_inputs(n_in, 2, 2)) || (st = need_present(in, n_in, 2))) return st;
        if (!is_float(in[0].dtype) || in[1].dtype != in[0].dtype) FAIL(PX_ERR_DTYPE, "gate and up must share a float dtype");
        if (in[0].shape.rank != in[1].shape.rank) FAIL(PX_ERR_SHAPE, "gate and up shapes differ");
        for (int32_t i = 0; i < in[0].shape.rank; i++)
            if (!dim_eq(in[0].shape.d[i], in[1].shape.d[i])) FAIL(PX_ERR_SHAPE, "gate and up shapes differ");
        *out = in[0].shape;
        *odt = in[0].dtype;
        return PX_OK;
    case PX_OP_CAST: {
        if ((st = need_inputs(n_in, 1, 1)) || (st = need_present(in, n_in, 1))) return st;
        if (!px_attr_find(attrs, n_attrs, "dtype")) FAIL(PX_ERR_INVALID_ARG, "attribute dtype is required");
        int64_t dt = attr_i(attrs, n_attrs, "dtype", -1);
        if (dt < 0 || dt >= PX_DTYPE_COUNT) FAIL(PX_ERR_DTYPE, "attribute dtype %lld is not a dtype", (long long)dt);
        const px_dtype_traits *tr = px_dtype_get_traits((px_dtype)dt);
        if (tr->block_size > 1) {
            px_dim last = in[0].shape.rank ? in[0].shape.d[in[0].shape.rank - 1] : px_dim_c(1);
            if (last.sym >= 0 || last.c % tr->block_size)
                FAIL(PX_ERR_SHAPE, "casting to %s needs a static last dim that is a multiple of %d", tr->name, tr->block_size);
        }
        *out = in[0].shape;
        *odt = (px_dtype)dt;
        return PX_OK;
    }
    case PX_OP_WHERE: {
        if ((st = need_inputs(n_in, 3, 3)) || (st = need_present(in, n_in, 3))) return st;
        if (in[0].dtype != PX_BOOL) FAIL(PX_ERR_DTYPE, "cond must be bool");
        if (in[1].dtype != in[2].dtype) FAIL(PX_ERR_DTYPE, "a and b dtypes differ");
        if (is_quant(in[1].dtype)) FAIL(PX_ERR_DTYPE, "block-quantized inputs are not supported");
        px_shape t;
        if ((st = px_shape_broadcast2(g, &in[0].shape, &in[1].shape, &t)) || (st = px_shape_broadcast2(g, &t, &in[2].shape, out))) return st;
        *odt = in[1].dtype;
        return PX_OK;
    }
    case PX_OP_CUMSUM: case PX_OP_ARGMAX: {
        if ((st = need_inputs(n_in, 1, 1)) || (st = need_present(in, n_in, 1))) return st;
        if (!is_float(in[0].dtype) && !is_int(in[0].dtype)) FAIL(PX_ERR_DTYPE, "unsupported dtype %s", px_dtype_name(in[0].dtype));
        int32_t ax = px_norm_axis(attr_i(attrs, n_attrs, "axis", 0), in[0].shape.rank);
        if (ax < 0) FAIL(PX_ERR_INVALID_ARG, "axis out of range for rank %d", in[0].shape.rank);
        *out = in[0].shape;
        *odt = in[0].dtype;
        if (op == PX_OP_ARGMAX) {
            *odt = PX_I64;
            if (attr_i(attrs, n_attrs, "keepdims", 1)) out->d[ax] = px_dim_c(1);
            else {
                for (int32_t i = ax; i + 1 < out->rank; i++) out->d[i] = out->d[i + 1];
                out->rank--;
            }
        }
        return PX_OK;
    }
    case PX_OP_SET_ROWS: {
        if ((st = need_inputs(n_in, 3, 3)) || (st = need_present(in, n_in, 3))) return st;
        if (in[0].kind != PX_VALUE_STATE) FAIL(PX_ERR_INVALID_ARG, "dst must be a state value");
        if (!is_index(in[2].dtype) || in[2].shape.rank != 1) FAIL(PX_ERR_SHAPE, "indices must be i32/i64 [N]");
        if (in[1].shape.rank != in[0].shape.rank || in[0].shape.rank < 1) FAIL(PX_ERR_SHAPE, "src and dst ranks differ");
        if (!dim_eq(in[1].shape.d[0], in[2].shape.d[0])) FAIL(PX_ERR_SHAPE, "src rows and indices differ in count");
        for (int32_t i = 1; i < in[0].shape.rank; i++)
            if (!dim_eq(in[1].shape.d[i], in[0].shape.d[i])) FAIL(PX_ERR_SHAPE, "src row shape differs from dst's");
        if (is_quant(in[1].dtype)) FAIL(PX_ERR_DTYPE, "src must not be block-quantized");
        *out = in[0].shape;
        *odt = in[0].dtype;
        return PX_OK;
    }
    case PX_OP_ARANGE: {
        if ((st = need_inputs(n_in, 0, 0))) return st;
        int64_t dt = attr_i(attrs, n_attrs, "dtype", PX_F32);
        if (dt < 0 || dt >= PX_DTYPE_COUNT || (!is_float((px_dtype)dt) && !is_int((px_dtype)dt)))
            FAIL(PX_ERR_DTYPE, "arange dtype must be a float or integer dtype");
        if (out->rank != 1) FAIL(PX_ERR_SHAPE, "arange output must be rank 1");
        *odt = (px_dtype)dt;
        return PX_OK;
    }
    case PX_OP_GRID_SAMPLE: {
        if ((st = need_inputs(n_in, 2, 2)) || (st = need_present(in, n_in, 2))) return st;
        const px_shape *x = &in[0].shape, *gs = &in[1].shape;
        int32_t r = x->rank - 2;
        if (r < 1 || r > 3 || gs->rank != r + 2) FAIL(PX_ERR_SHAPE, "grid_sample needs x [N, C, D1..Dr] and grid [N, O1..Or, r], r = 1..3");
        if (!dim_is(gs->d[r + 1], r)) FAIL(PX_ERR_SHAPE, "grid's last dim must be %d", r);
        if (!dim_eq(x->d[0], gs->d[0])) FAIL(PX_ERR_SHAPE, "x and grid differ in batch");
        if (!is_float(in[0].dtype) || in[1].dtype != in[0].dtype) FAIL(PX_ERR_DTYPE, "grid_sample needs x and grid of one float dtype");
        px_shape o;
        memset(&o, 0, sizeof o);
        o.rank = x->rank;
        o.d[0] = x->d[0];
        o.d[1] = x->d[1];
        for (int32_t i = 0; i < r; i++) o.d[2 + i] = gs->d[1 + i];
        *out = o;
        *odt = in[0].dtype;
        return PX_OK;
    }
    default: break;
    }
    /* The ops appended for the ONNX importer infer in their own files. */
    st = px_infer_index(g, op, ids, n_in, attrs, n_attrs, odt, out);
    if (st != PX_ERR_NOT_FOUND) return st;
    st = px_infer_vision(g, op, ids, n_in, attrs, n_attrs, odt, out);
    if (st != PX_ERR_NOT_FOUND) return st;
    FAIL(PX_ERR_UNSUPPORTED, "op %d has no shape inference", op);
}
