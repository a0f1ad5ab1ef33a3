/* Shape and dtype inference for the ops CONV..LRN of ops.h: convolution,
 * transposed convolution, max/average/Lp pooling, PAD, RESIZE and LRN.
 * Messages are prefixed with the node's name and op by the caller.
 *
 * Symbolic dims: the batch dim N of the conv and pool inputs (and every dim
 * of LRN's input) passes through to the output; channel and spatial dims of
 * conv/pool inputs must be static, and so must the weights. PAD keeps a
 * symbolic dim symbolic (its pads shift the constant part; the kernel checks
 * what it crops); RESIZE takes its output shape from attribute sizes and
 * needs static input dims. */
#include <string.h>

#include "graph.h"
#include "plexus/dtype.h"

#define FAIL(st, ...) return px_set_error((st), __VA_ARGS__)
#define MAX_SP 3 /* spatial dims of conv and pool inputs */

static int is_float(px_dtype t) { return t == PX_F32 || t == PX_F16 || t == PX_BF16 || t == PX_F64; }
static int is_int(px_dtype t) {
    const px_dtype_traits *tr = px_dtype_get_traits(t);
    return tr && tr->is_integer && t != PX_BOOL;
}
static int is_plain(px_dtype t) {
    const px_dtype_traits *tr = px_dtype_get_traits(t);
    return tr && !tr->is_quantized;
}

/* An INTS attribute (a single INT counts as a list of one): the count, -1
 * when absent. Other types are an error. */
static px_status ints_attr(const px_attr *attrs, int32_t n_attrs, const char *name, const int64_t **out,
                           int32_t *count) {
    const px_attr *a = px_attr_find(attrs, n_attrs, name);
    *count = -1;
    if (!a) return PX_OK;
    if (a->type == PX_ATTR_INT) {
        *out = &a->u.i;
        *count = 1;
        return PX_OK;
    }
    if (a->type != PX_ATTR_INTS || a->n < 0) FAIL(PX_ERR_INVALID_ARG, "attribute %s must be a list of ints", name);
    *out = a->u.ints;
    *count = a->n;
    return PX_OK;
}

/* A list attribute of exactly `want` ints, each at least `lo`; `def` fills
 * it when absent. */
static px_status ints_exact(const px_attr *attrs, int32_t n_attrs, const char *name, int32_t want, int64_t def,
                            int64_t lo, int64_t *out) {
    const int64_t *v = NULL;
    int32_t n;
    px_status st = ints_attr(attrs, n_attrs, name, &v, &n);
    if (st) return st;
    if (n < 0) {
        for (int32_t i = 0; i < want; i++) out[i] = def;
        return PX_OK;
    }
    if (n != want) FAIL(PX_ERR_INVALID_ARG, "attribute %s has %d values; expected %d", name, n, want);
    for (int32_t i = 0; i < want; i++) {
        if (v[i] < lo) FAIL(PX_ERR_INVALID_ARG, "attribute %s has %lld at %d; values must be >= %lld", name,
                            (long long)v[i], i, (long long)lo);
        out[i] = v[i];
    }
    return PX_OK;
}

/* A required list attribute of exactly `want` ints (`of` says why). */
static px_status ints_required(const px_attr *attrs, int32_t n_attrs, const char *name, int32_t want, const char *of,
                               const int64_t **out) {
    int32_t n;
    px_status st = ints_attr(attrs, n_attrs, name, out, &n);
    if (st) return st;
    if (n < 0) FAIL(PX_ERR_INVALID_ARG, "attribute %s is required", name);
    if (n != want) FAIL(PX_ERR_INVALID_ARG, "attribute %s has %d values; expected %d (%s)", name, n, want, of);
    return PX_OK;
}

/* An INT attribute that picks one of `names` (0..hi, default 0). */
static px_status choice(const px_attr *attrs, int32_t n_attrs, const char *name, int64_t hi, const char *names,
                        int64_t *out) {
    *out = px_attr_int(attrs, n_attrs, name, 0);
    if (*out < 0 || *out > hi)
        FAIL(PX_ERR_INVALID_ARG, "attribute %s must be 0..%lld (%s), got %lld", name, (long long)hi, names, (long long)*out);
    return PX_OK;
}

static const px_value_rec *input(const px_graph *g, const px_value *ids, int32_t n_in, int32_t i) {
    return i < n_in && ids[i] != PX_NONE ? &g->values[ids[i]] : NULL;
}

static px_status need_inputs(const px_graph *g, const px_value *ids, int32_t n_in, int32_t lo, int32_t hi) {
    if (n_in < lo || n_in > hi) {
        if (lo == hi) FAIL(PX_ERR_INVALID_ARG, "expects %d input%s, got %d", lo, lo == 1 ? "" : "s", n_in);
        FAIL(PX_ERR_INVALID_ARG, "expects %d to %d inputs, got %d", lo, hi, n_in);
    }
    for (int32_t i = 0; i < lo; i++)
        if (!input(g, ids, n_in, i)) FAIL(PX_ERR_INVALID_ARG, "input %d is required", i);
    return PX_OK;
}

static px_status static_dim(px_dim d, const char *what, int32_t i, int64_t *out) {
    if (d.sym >= 0) FAIL(PX_ERR_SHAPE, "%s dim %d must be static", what, i);
    *out = d.c;
    return PX_OK;
}

/* ---- conv and pooling ------------------------------------------------------------------ */

/* The window of a conv or pool node over x [N, C, D1..Dn]. */
typedef struct vwin {
    int32_t n;                                 /* spatial dims */
    int64_t in[MAX_SP], k[MAX_SP], s[MAX_SP], d[MAX_SP], pads[2 * MAX_SP];
} vwin;

/* x [N, C, D1..Dn] with 1 <= n <= 3 and static spatial dims; the strides,
 * dilations and pads attributes (kernel given by the caller). Pads are
 * >= 0, except for CONV_TRANSPOSE (a negative pad there widens the output,
 * which is how ONNX's output_shape can ask for more than output_padding). */
static px_status read_window(const px_value_rec *x, const px_attr *attrs, int32_t n_attrs, int neg_pads, vwin *w) {
    int32_t r = x->shape.rank;
    if (r < 3 || r > 2 + MAX_SP) FAIL(PX_ERR_SHAPE, "x must be [N, C, D1..Dn] with 1 to %d spatial dims (rank %d)", MAX_SP, r);
    w->n = r - 2;
    for (int32_t i = 0; i < w->n; i++) {
        px_status st = static_dim(x->shape.d[2 + i], "x's spatial", 2 + i, &w->in[i]);
        if (st) return st;
    }
    px_status st = ints_exact(attrs, n_attrs, "strides", w->n, 1, 1, w->s);
    if (!st) st = ints_exact(attrs, n_attrs, "dilations", w->n, 1, 1, w->d);
    if (!st) st = ints_exact(attrs, n_attrs, "pads", 2 * w->n, 0, neg_pads ? -(INT64_MAX / 4) : 0, w->pads);
    return st;
}

/* Window numbers beyond this are refused, so that sums and products of
 * them stay within int64 (ONNX models use small ones). */
#define WIN_MAX ((int64_t)INT32_MAX)

static px_status check_limits(const vwin *w) {
    for (int32_t i = 0; i < w->n; i++) {
        int64_t pb = w->pads[i], pe = w->pads[w->n + i];
        if (w->k[i] > WIN_MAX || w->s[i] > WIN_MAX || w->d[i] > WIN_MAX || pb > WIN_MAX || pb < -WIN_MAX ||
            pe > WIN_MAX || pe < -WIN_MAX || w->in[i] > INT64_MAX / 4)
            FAIL(PX_ERR_SHAPE, "spatial dim %d: kernel, stride, dilation or pads beyond %lld", i, (long long)WIN_MAX);
    }
    return PX_OK;
}

/* floor (or ceil) of a / b for b > 0. */
static int64_t div_round(int64_t a, int64_t b, int up) {
    int64_t q = a / b, r = a % b;
    if (r != 0 && ((r < 0) != up)) q += up ? 1 : -1;
    return q;
}

/* The output dims of a conv (ceil = 0) or pool window. */
static px_status window_out(const vwin *w, int ceil, int64_t *out) {
    for (int32_t i = 0; i < w->n; i++) {
        int64_t ext = (w->k[i] - 1) * w->d[i] + 1, padded = w->in[i] + w->pads[i] + w->pads[w->n + i];
        if (ext > padded)
            FAIL(PX_ERR_SHAPE, "spatial dim %d: the dilated kernel (%lld) exceeds the padded input (%lld)", i,
                 (long long)ext, (long long)padded);
        int64_t o = div_round(padded - ext, w->s[i], ceil) + 1;
        /* ceil mode: a window that would start inside the end padding is dropped */
        if (ceil && (o - 1) * w->s[i] >= w->in[i] + w->pads[i]) o--;
        out[i] = o;
    }
    return PX_OK;
}

static void out_shape(const px_value_rec *x, px_dim channels, const vwin *w, const int64_t *o, px_shape *out) {
    px_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 2 + w->n;
    s.d[0] = x->shape.d[0];
    s.d[1] = channels;
    for (int32_t i = 0; i < w->n; i++) s.d[2 + i] = px_dim_c(o[i]);
    *out = s;
}

/* w [M, C/group, K...] (conv) or [C, M/group, K...] (transposed); bias [M]. */
static px_status check_weights(px_op op, const px_value_rec *x, const px_value_rec *wt, const px_value_rec *bias,
                               int64_t group, vwin *w, int64_t *m_out) {
    if (wt->dtype != x->dtype) FAIL(PX_ERR_DTYPE, "w is %s, x %s (they must agree)", px_dtype_name(wt->dtype), px_dtype_name(x->dtype));
    if (wt->shape.rank != x->shape.rank) FAIL(PX_ERR_SHAPE, "w has rank %d, x rank %d (they must agree)", wt->shape.rank, x->shape.rank);
    int64_t wd[2 + MAX_SP] = {0}, c = 0;
    for (int32_t i = 0; i < wt->shape.rank; i++) {
        px_status st = static_dim(wt->shape.d[i], "w's", i, &wd[i]);
        if (st) return st;
    }
    px_status st = static_dim(x->shape.d[1], "x's channel", 1, &c);
    if (st) return st;
    if (group < 1) FAIL(PX_ERR_INVALID_ARG, "group must be >= 1, got %lld", (long long)group);
    for (int32_t i = 0; i < w->n; i++) {
        w->k[i] = wd[2 + i];
        if (w->k[i] < 1) FAIL(PX_ERR_SHAPE, "w's kernel dim %d is %lld; kernels must be at least 1", i, (long long)w->k[i]);
    }
    if (c % group) FAIL(PX_ERR_SHAPE, "x's %lld channels are not a multiple of group %lld", (long long)c, (long long)group);
    if (op == PX_OP_CONV) {
        if (wd[1] * group != c)
            FAIL(PX_ERR_SHAPE, "w [M, %lld, ...] times group %lld does not match x's %lld channels", (long long)wd[1],
                 (long long)group, (long long)c);
        if (wd[0] % group) FAIL(PX_ERR_SHAPE, "w's %lld output channels are not a multiple of group %lld", (long long)wd[0], (long long)group);
        *m_out = wd[0];
    } else {
        if (wd[0] != c) FAIL(PX_ERR_SHAPE, "w [%lld, ...] must have x's %lld channels first", (long long)wd[0], (long long)c);
        *m_out = wd[1] * group;
    }
    if (bias) {
        if (bias->dtype != x->dtype) FAIL(PX_ERR_DTYPE, "bias is %s, x %s (they must agree)", px_dtype_name(bias->dtype), px_dtype_name(x->dtype));
        if (bias->shape.rank != 1 || bias->shape.d[0].sym >= 0 || bias->shape.d[0].c != *m_out)
            FAIL(PX_ERR_SHAPE, "bias must be [%lld] (one value per output channel)", (long long)*m_out);
    }
    return PX_OK;
}

static px_status infer_conv(px_op op, const px_graph *g, const px_value *ids, int32_t n_in, const px_attr *attrs,
                            int32_t n_attrs, px_dtype *odt, px_shape *out) {
    px_status st = need_inputs(g, ids, n_in, 2, 3);
    if (st) return st;
    const px_value_rec *x = input(g, ids, n_in, 0), *wt = input(g, ids, n_in, 1), *bias = input(g, ids, n_in, 2);
    if (!is_float(x->dtype)) FAIL(PX_ERR_DTYPE, "x is %s; expected a float dtype", px_dtype_name(x->dtype));
    vwin w;
    int64_t m = 0, o[MAX_SP];
    if ((st = read_window(x, attrs, n_attrs, op == PX_OP_CONV_TRANSPOSE, &w))) return st;
    if ((st = check_weights(op, x, wt, bias, px_attr_int(attrs, n_attrs, "group", 1), &w, &m))) return st;
    if ((st = check_limits(&w))) return st;
    if (op == PX_OP_CONV) {
        if ((st = window_out(&w, 0, o))) return st;
    } else {
        int64_t opad[MAX_SP];
        if ((st = ints_exact(attrs, n_attrs, "output_padding", w.n, 0, 0, opad))) return st;
        for (int32_t i = 0; i < w.n; i++) {
            int64_t span = 0;
            if (opad[i] > WIN_MAX || __builtin_mul_overflow(w.s[i], w.in[i] > 0 ? w.in[i] - 1 : 0, &span) ||
                span > INT64_MAX / 4)
                FAIL(PX_ERR_SHAPE, "spatial dim %d: the output would be too large", i);
            o[i] = span + opad[i] + (w.k[i] - 1) * w.d[i] + 1 - w.pads[i] - w.pads[w.n + i];
            if (w.in[i] < 1 || o[i] < 1)
                FAIL(PX_ERR_SHAPE, "spatial dim %d: input %lld gives output %lld (both must be >= 1)", i,
                     (long long)w.in[i], (long long)o[i]);
        }
    }
    out_shape(x, px_dim_c(m), &w, o, out);
    *odt = x->dtype;
    return PX_OK;
}

static px_status infer_pool(px_op op, const px_graph *g, const px_value *ids, int32_t n_in, const px_attr *attrs,
                            int32_t n_attrs, px_dtype *odt, px_shape *out) {
    px_status st = need_inputs(g, ids, n_in, 1, 1);
    if (st) return st;
    const px_value_rec *x = input(g, ids, n_in, 0);
    int idx = op == PX_OP_MAX_POOL && px_attr_int(attrs, n_attrs, "indices", 0) != 0;
    if (op == PX_OP_MAX_POOL ? !is_float(x->dtype) && !is_int(x->dtype) : !is_float(x->dtype))
        FAIL(PX_ERR_DTYPE, "x is %s; expected a float%s dtype", px_dtype_name(x->dtype),
             op == PX_OP_MAX_POOL ? " or integer" : "");
    vwin w;
    int64_t o[MAX_SP];
    if ((st = read_window(x, attrs, n_attrs, 0, &w))) return st;
    if (!px_attr_find(attrs, n_attrs, "kernel")) FAIL(PX_ERR_INVALID_ARG, "attribute kernel is required");
    if ((st = ints_exact(attrs, n_attrs, "kernel", w.n, 1, 1, w.k)) || (st = check_limits(&w))) return st;
    if (op == PX_OP_LP_POOL && px_attr_int(attrs, n_attrs, "p", 2) < 1)
        FAIL(PX_ERR_INVALID_ARG, "attribute p must be >= 1, got %lld", (long long)px_attr_int(attrs, n_attrs, "p", 2));
    if ((st = window_out(&w, px_attr_int(attrs, n_attrs, "ceil_mode", 0) != 0, o))) return st;
    out_shape(x, x->shape.d[1], &w, o, out);
    *odt = idx ? PX_I64 : x->dtype;
    return PX_OK;
}

/* ---- pad, resize, lrn --------------------------------------------------------------------- */

static px_status infer_pad(const px_value_rec *x, const px_attr *attrs, int32_t n_attrs, px_shape *out) {
    int32_t r = x->shape.rank;
    const int64_t *p = NULL;
    int64_t mode;
    px_status st = ints_required(attrs, n_attrs, "pads", 2 * r, "2 * rank", &p);
    if (!st) st = choice(attrs, n_attrs, "mode", 3, "constant, reflect, edge, wrap", &mode);
    if (st) return st;
    if (!is_plain(x->dtype)) FAIL(PX_ERR_DTYPE, "x is %s; expected a plain dtype", px_dtype_name(x->dtype));
    px_shape o = x->shape;
    for (int32_t i = 0; i < r; i++) {
        int64_t pb = p[i], pe = p[r + i];
        if (pb < -(INT64_MAX / 4) || pb > INT64_MAX / 4 || pe < -(INT64_MAX / 4) || pe > INT64_MAX / 4)
            FAIL(PX_ERR_INVALID_ARG, "pads of axis %d are out of range", i);
        px_dim d = x->shape.d[i];
        if (d.sym >= 0) { /* checked against its value by the kernel */
            o.d[i].c += pb + pe;
            continue;
        }
        int64_t cropped = d.c - (pb < 0 ? -pb : 0) - (pe < 0 ? -pe : 0);
        if (cropped < 0)
            FAIL(PX_ERR_SHAPE, "axis %d: pads %lld and %lld crop more than its %lld elements", i, (long long)pb,
                 (long long)pe, (long long)d.c);
        if (mode != 0 && cropped == 0 && (pb > 0 || pe > 0))
            FAIL(PX_ERR_SHAPE, "axis %d is empty: mode %lld has nothing to pad with", i, (long long)mode);
        o.d[i].c += pb + pe;
    }
    *out = o;
    return PX_OK;
}

static px_status infer_resize(const px_value_rec *x, const px_attr *attrs, int32_t n_attrs, px_shape *out) {
    int32_t r = x->shape.rank;
    const int64_t *sz = NULL;
    int64_t mode, coord, nm;
    if (r < 1) FAIL(PX_ERR_SHAPE, "x needs rank >= 1");
    px_status st = ints_required(attrs, n_attrs, "sizes", r, "the rank", &sz);
    if (!st) st = choice(attrs, n_attrs, "mode", 2, "nearest, linear, cubic", &mode);
    if (!st) st = choice(attrs, n_attrs, "coord", 5, "a coordinate transform", &coord);
    if (!st) st = choice(attrs, n_attrs, "nearest_mode", 3, "a rounding", &nm);
    if (st) return st;
    if (mode == 0 ? !is_plain(x->dtype) : !is_float(x->dtype))
        FAIL(PX_ERR_DTYPE, "x is %s; expected a %s dtype", px_dtype_name(x->dtype), mode == 0 ? "plain" : "float");
    int aa = px_attr_int(attrs, n_attrs, "antialias", 0) != 0;
    const px_attr *sc = px_attr_find(attrs, n_attrs, "scales");
    if (sc && (sc->type != PX_ATTR_FLOATS || sc->n != r))
        FAIL(PX_ERR_INVALID_ARG, "attribute scales must be %d floats (one per axis)", r);
    const px_attr *roi = px_attr_find(attrs, n_attrs, "roi");
    if (roi && (roi->type != PX_ATTR_FLOATS || roi->n != 2 * r))
        FAIL(PX_ERR_INVALID_ARG, "attribute roi must be %d floats (starts, then ends)", 2 * r);
    px_shape o;
    memset(&o, 0, sizeof o);
    o.rank = r;
    for (int32_t i = 0; i < r; i++) {
        px_dim d = x->shape.d[i];
        if (sz[i] < 0) FAIL(PX_ERR_INVALID_ARG, "attribute sizes has a negative size (%lld at %d)", (long long)sz[i], i);
        if (sc && !(sc->u.floats[i] > 0 && sc->u.floats[i] < 1e30f)) FAIL(PX_ERR_INVALID_ARG, "scale %d must be positive and finite", i);
        if (d.sym >= 0) FAIL(PX_ERR_SHAPE, "x's dim %d is symbolic; resize needs static input dims", i);
        if (d.c == 0 && sz[i] > 0) FAIL(PX_ERR_SHAPE, "axis %d is empty; it cannot be resized to %lld", i, (long long)sz[i]);
        /* antialiasing filters span 2/scale taps: keep them finite */
        double scale = sc ? (double)sc->u.floats[i] : d.c ? (double)sz[i] / (double)d.c : 1;
        if (mode != 0 && aa && sz[i] > 0 && scale < 1.0 / 4096)
            FAIL(PX_ERR_INVALID_ARG, "axis %d: antialias with a scale below 1/4096 (%g) is not supported", i, scale);
        o.d[i] = px_dim_c(sz[i]);
    }
    *out = o;
    return PX_OK;
}

static px_status infer_lrn(const px_value_rec *x, const px_attr *attrs, int32_t n_attrs, px_shape *out) {
    if (!is_float(x->dtype)) FAIL(PX_ERR_DTYPE, "x is %s; expected a float dtype", px_dtype_name(x->dtype));
    if (x->shape.rank < 2) FAIL(PX_ERR_SHAPE, "x must be [N, C, ...] (rank >= 2, got %d)", x->shape.rank);
    if (!px_attr_find(attrs, n_attrs, "size")) FAIL(PX_ERR_INVALID_ARG, "attribute size is required");
    int64_t size = px_attr_int(attrs, n_attrs, "size", 0);
    if (size < 1) FAIL(PX_ERR_INVALID_ARG, "attribute size must be >= 1, got %lld", (long long)size);
    *out = x->shape;
    return PX_OK;
}

static px_status infer_op(const px_graph *g, px_op op, const px_value *ids, int32_t n_in, const px_attr *attrs,
                          int32_t n_attrs, px_dtype *odt, px_shape *out) {
    switch (op) {
    case PX_OP_CONV: case PX_OP_CONV_TRANSPOSE:
        return infer_conv(op, g, ids, n_in, attrs, n_attrs, odt, out);
    case PX_OP_MAX_POOL: case PX_OP_AVG_POOL: case PX_OP_LP_POOL:
        return infer_pool(op, g, ids, n_in, attrs, n_attrs, odt, out);
    case PX_OP_PAD: case PX_OP_RESIZE: case PX_OP_LRN: break;
    default: return PX_ERR_NOT_FOUND;
    }
    px_status st = need_inputs(g, ids, n_in, 1, 1);
    if (st) return st;
    const px_value_rec *x = input(g, ids, n_in, 0);
    *odt = x->dtype;
    if (op == PX_OP_PAD) return infer_pad(x, attrs, n_attrs, out);
    if (op == PX_OP_RESIZE) return infer_resize(x, attrs, n_attrs, out);
    return infer_lrn(x, attrs, n_attrs, out);
}

px_status px_infer_vision(const px_graph *g, px_op op, const px_value *ids, int32_t n_in, const px_attr *attrs,
                          int32_t n_attrs, px_dtype *odt, px_shape *out) {
    if (op < PX_OP_CONV || op > PX_OP_LRN) return PX_ERR_NOT_FOUND;
    px_status st = infer_op(g, op, ids, n_in, attrs, n_attrs, odt, out);
    if (st) return st;
    /* the output's bytes (at the upper bounds) must fit */
    int64_t n = px_shape_numel(g, out, NULL), row = px_dtype_row_size(*odt, 1), bytes;
    for (int32_t i = 0; i < out->rank; i++)
        if (out->d[i].sym < 0 && out->d[i].c < 0) FAIL(PX_ERR_SHAPE, "output dim %d would be negative", i);
    if (n < 0 || row < 0 || __builtin_mul_overflow(n, row, &bytes))
        FAIL(PX_ERR_SHAPE, "the output would be too large");
    return PX_OK;
}
