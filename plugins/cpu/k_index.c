/* CPU plugin — the ops appended for the ONNX importer, EXPAND..TOPK (ARGMIN
 * shares ARGMAX's kernel in k_misc.c):
 *  - elementwise: NOT/AND/OR/XOR on BOOL, the unary math ops FLOOR..SOFTPLUS,
 *    ISNAN/ISINF, SIGN, MOD, BITSHIFT, BITWISE_*, and EXPAND (a broadcast
 *    copy), walked in tiles by cpu_iter;
 *  - REDUCE_PROD over any set of axes (floats in double, integers wrap);
 *  - GATHER_ELEMENTS, GATHER_ND, SCATTER_ELEMENTS, SCATTER_ND: every index is
 *    checked before any element moves. A scatter copies data to out, then
 *    applies the updates in index order wherever two of them can meet (one
 *    line of the axis, one block of slice columns) and runs the rest in
 *    parallel;
 *  - TOPK: a bounded heap per line (O(n log k)) over keys that order NaN
 *    above every number; equal keys go by the lower index.
 * Float math runs in float for F32/F16/BF16 and in double for F64, rounded
 * once on store; integers in 64 bits, truncated to the dtype on store. */
#include <math.h>
#include <string.h>

#include "cpu_common.h"

static const char *ix_name(px_op op) {
    switch (op) {
    case PX_OP_EXPAND: return "expand";
    case PX_OP_REDUCE_PROD: return "reduce_prod";
    case PX_OP_GATHER_ELEMENTS: return "gather_elements";
    case PX_OP_GATHER_ND: return "gather_nd";
    case PX_OP_SCATTER_ELEMENTS: return "scatter_elements";
    case PX_OP_SCATTER_ND: return "scatter_nd";
    case PX_OP_TOPK: return "topk";
    default: return "elementwise op";
    }
}

/* ---- shared helpers ------------------------------------------------------------------ */

/* One element of es bytes (1, 2, 4 or 8). */
static inline void put_elt(uint8_t *d, const uint8_t *s, size_t es) {
    switch (es) {
    case 1: *d = *s; break;
    case 2: memcpy(d, s, 2); break;
    case 4: memcpy(d, s, 4); break;
    default: memcpy(d, s, 8); break;
    }
}

static inline int64_t ix_load(const px_tensor *I, int64_t j) {
    return I->dtype == PX_I64 ? ((const int64_t *)I->data)[j] : (int64_t)((const int32_t *)I->data)[j];
}

/* Check every index of I, read as tuples of q: component c indexes axis
 * axis0 + c, of size lim[c]. Negative indices count from the end. */
static px_status ix_check(const px_kernel_args *a, const px_tensor *I, int64_t q, const int64_t *lim, int32_t axis0) {
    int64_t n = q > 0 ? cpu_numel(I) / q : 0;
    for (int64_t t = 0, j = 0; t < n; t++)
        for (int64_t c = 0; c < q; c++, j++) {
            int64_t v = ix_load(I, j);
            if (v < -lim[c] || v >= lim[c])
                return a->host->set_error(PX_ERR_RANGE,
                                          "%s: index %lld (at position %lld of the indices) is out of range for "
                                          "axis %lld of size %lld", ix_name(a->node->op), (long long)v,
                                          (long long)j, (long long)(axis0 + c), (long long)lim[c]);
        }
    return PX_OK;
}

static void strides_of(int32_t rank, const int64_t *ne, int64_t *st) {
    int64_t s = 1;
    for (int32_t i = rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= ne[i];
    }
}

/* Element offset of the flat row-major position `flat` over dims ne[0..n)
 * with strides st. */
static int64_t offset_of(int32_t n, const int64_t *ne, const int64_t *st, int64_t flat) {
    int64_t off = 0;
    for (int32_t i = n - 1; i >= 0 && flat > 0; i--) {
        int64_t q = flat / ne[i];
        off += (flat - q * ne[i]) * st[i];
        flat = q;
    }
    return off;
}

/* ---- elementwise ------------------------------------------------------------------------- */

static int is_binary(px_op op) {
    return op == PX_OP_AND || op == PX_OP_OR || op == PX_OP_XOR || op == PX_OP_MOD || op == PX_OP_BITSHIFT ||
           op == PX_OP_BITWISE_AND || op == PX_OP_BITWISE_OR || op == PX_OP_BITWISE_XOR;
}

static int dtype_ok(px_op op, px_dtype t, int64_t fmod_attr) {
    switch (op) {
    case PX_OP_NOT: case PX_OP_AND: case PX_OP_OR: case PX_OP_XOR: return t == PX_BOOL;
    case PX_OP_SIGN: return cpu_is_float(t) || cpu_is_int(t);
    case PX_OP_MOD: return cpu_is_int(t) || (fmod_attr == 1 && cpu_is_float(t));
    case PX_OP_BITSHIFT: return cpu_is_uint(t);
    case PX_OP_BITWISE_AND: case PX_OP_BITWISE_OR: case PX_OP_BITWISE_XOR: case PX_OP_BITWISE_NOT:
        return cpu_is_int(t);
    default: return cpu_is_float(t) && op >= PX_OP_FLOOR && op <= PX_OP_ISINF;
    }
}

int cpu_elementwise_ext_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    int32_t want = is_binary(n->op) ? 2 : 1;
    if (n->n_inputs != want || n->n_outputs < 1 || !cpu_in(n, 0)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    if (want == 2 && (!cpu_in(n, 1) || cpu_in_dt(n, 1) != t)) return 0;
    px_dtype odt = (n->op == PX_OP_ISNAN || n->op == PX_OP_ISINF) ? PX_BOOL : t;
    if (n->outputs[0].dtype != odt) return 0;
    if (n->op == PX_OP_BITSHIFT && (uint64_t)cpu_attr_i(n, "direction", -1) > 1) return 0;
    return dtype_ok(n->op, t, cpu_attr_i(n, "fmod", 0));
}

typedef struct ew_ctx {
    px_op op;
    px_dtype dt, odt;
    int cls;             /* compute class of the inputs */
    const cpu_iter *it;  /* operands: inputs, then the output */
    const void *x, *y;
    void *o;
    int64_t attr;        /* MOD: fmod; BITSHIFT: direction; ISINF: 1 positive | 2 negative */
    int bits;            /* BITSHIFT: the dtype's width */
} ew_ctx;

#define EACH(expr) for (int64_t i = 0; i < n; i++) r[i] = (expr)
#define FN_F32(name) name##f
#define FN_F64(name) name

/* The unary math ops for compute type T with libm names M(name). */
#define MATH_OPS(T, M)                                                                            \
    switch (op) {                                                                                 \
    case PX_OP_FLOOR: EACH(M(floor)(x[i])); break;                                                \
    case PX_OP_CEIL: EACH(M(ceil)(x[i])); break;                                                  \
    case PX_OP_ROUND: EACH(M(nearbyint)(x[i])); break; /* the default mode: half to even */        \
    case PX_OP_SIGN: EACH(x[i] > 0 ? (T)1 : x[i] < 0 ? (T)-1 : x[i]); break; /* 0, NaN stay */    \
    case PX_OP_RECIPROCAL: EACH((T)1 / x[i]); break;                                              \
    case PX_OP_TAN: EACH(M(tan)(x[i])); break;                                                    \
    case PX_OP_ASIN: EACH(M(asin)(x[i])); break;                                                  \
    case PX_OP_ACOS: EACH(M(acos)(x[i])); break;                                                  \
    case PX_OP_ATAN: EACH(M(atan)(x[i])); break;                                                  \
    case PX_OP_SINH: EACH(M(sinh)(x[i])); break;                                                  \
    case PX_OP_COSH: EACH(M(cosh)(x[i])); break;                                                  \
    case PX_OP_ASINH: EACH(M(asinh)(x[i])); break;                                                \
    case PX_OP_ACOSH: EACH(M(acosh)(x[i])); break;                                                \
    case PX_OP_ATANH: EACH(M(atanh)(x[i])); break;                                                \
    case PX_OP_SOFTPLUS: /* max(x, 0) + log(1 + exp(-|x|)): no overflow */                        \
        EACH((x[i] > 0 ? x[i] : (T)0) + M(log1p)(M(exp)(-M(fabs)(x[i]))));                        \
        break;                                                                                    \
    case PX_OP_MOD: EACH(M(fmod)(x[i], y[i])); break; /* floats: fmod = 1 */                      \
    default: EACH((T)0); break;                                                                   \
    }

static void ew_float(const ew_ctx *c, const int64_t *off, int64_t n) {
    const int32_t l = c->it->rank - 1, last = c->it->n_ops - 1;
    const px_op op = c->op;
    if (c->cls == CPU_CLS_F32) {
        float x[CPU_TILE], y[CPU_TILE], r[CPU_TILE];
        cpu_load_f32(c->dt, c->x, off[0], c->it->st[0][l], n, x);
        if (last == 2) cpu_load_f32(c->dt, c->y, off[1], c->it->st[1][l], n, y);
        MATH_OPS(float, FN_F32)
        cpu_store_f32(c->odt, c->o, off[last], c->it->st[last][l], n, r);
    } else {
        double x[CPU_TILE], y[CPU_TILE], r[CPU_TILE];
        cpu_load_f64(c->dt, c->x, off[0], c->it->st[0][l], n, x);
        if (last == 2) cpu_load_f64(c->dt, c->y, off[1], c->it->st[1][l], n, y);
        MATH_OPS(double, FN_F64)
        cpu_store_f64(c->odt, c->o, off[last], c->it->st[last][l], n, r);
    }
}

/* ISNAN, ISINF: every float dtype widens to double exactly. */
static void ew_classify(const ew_ctx *c, const int64_t *off, int64_t n) {
    const int32_t l = c->it->rank - 1;
    double x[CPU_TILE];
    int64_t r[CPU_TILE];
    cpu_load_f64(c->dt, c->x, off[0], c->it->st[0][l], n, x);
    if (c->op == PX_OP_ISNAN) EACH(isnan(x[i]) != 0);
    else EACH(isinf(x[i]) && (c->attr & (x[i] > 0 ? 1 : 2)));
    cpu_store_i64(PX_BOOL, c->o, off[1], c->it->st[1][l], n, r);
}

/* Integer modulo: the sign of the divisor (Python), or of the dividend
 * (C fmod); x mod 0 is 0. */
static int64_t imod(int64_t x, int64_t y, int is_unsigned, int c_fmod) {
    if (y == 0) return 0;
    if (is_unsigned) return (int64_t)((uint64_t)x % (uint64_t)y);
    if (y == -1) return 0; /* also INT64_MIN mod -1 */
    int64_t r = x % y;
    if (!c_fmod && r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
}

/* Unsigned shift; by the width or more gives 0 (the store truncates). */
static int64_t ushift(int64_t x, int64_t s, int right, int bits) {
    if ((uint64_t)s >= (uint64_t)bits) return 0;
    return right ? (int64_t)((uint64_t)x >> s) : (int64_t)((uint64_t)x << s);
}

static void ew_int(const ew_ctx *c, const int64_t *off, int64_t n) {
    const int32_t l = c->it->rank - 1, last = c->it->n_ops - 1;
    const int u = c->cls == CPU_CLS_UINT;
    int64_t x[CPU_TILE], y[CPU_TILE], r[CPU_TILE];
    cpu_load_i64(c->dt, c->x, off[0], c->it->st[0][l], n, x);
    if (last == 2) cpu_load_i64(c->dt, c->y, off[1], c->it->st[1][l], n, y);
    switch (c->op) {
    case PX_OP_NOT: EACH(x[i] == 0); break;
    case PX_OP_AND: EACH(x[i] != 0 && y[i] != 0); break;
    case PX_OP_OR: EACH(x[i] != 0 || y[i] != 0); break;
    case PX_OP_XOR: EACH((x[i] != 0) != (y[i] != 0)); break;
    case PX_OP_SIGN: EACH(u ? x[i] != 0 : (x[i] > 0) - (x[i] < 0)); break;
    case PX_OP_MOD: EACH(imod(x[i], y[i], u, c->attr != 0)); break;
    case PX_OP_BITSHIFT: EACH(ushift(x[i], y[i], c->attr != 0, c->bits)); break;
    case PX_OP_BITWISE_AND: EACH(x[i] & y[i]); break;
    case PX_OP_BITWISE_OR: EACH(x[i] | y[i]); break;
    case PX_OP_BITWISE_XOR: EACH(x[i] ^ y[i]); break;
    case PX_OP_BITWISE_NOT: EACH(~x[i]); break;
    default: EACH(0); break;
    }
    cpu_store_i64(c->odt, c->o, off[last], c->it->st[last][l], n, r);
}

static void ew_tile(void *vctx, const int64_t *off, int64_t n) {
    const ew_ctx *c = vctx;
    if (c->op == PX_OP_ISNAN || c->op == PX_OP_ISINF) ew_classify(c, off, n);
    else if (c->cls == CPU_CLS_F32 || c->cls == CPU_CLS_F64) ew_float(c, off, n);
    else ew_int(c, off, n);
}

/* EXPAND: copy elements of es bytes. */
static void expand_tile(void *vctx, const int64_t *off, int64_t n) {
    const ew_ctx *c = vctx;
    const int32_t l = c->it->rank - 1;
    const size_t es = cpu_elt_size(c->dt);
    const int64_t sx = c->it->st[0][l], so = c->it->st[1][l];
    const uint8_t *x = (const uint8_t *)c->x + (size_t)off[0] * es;
    uint8_t *o = (uint8_t *)c->o + (size_t)off[1] * es;
    for (int64_t k = 0; k < n; k++) put_elt(o + (size_t)(k * so) * es, x + (size_t)(k * sx) * es, es);
}

static px_status run_broadcast(const px_kernel_args *a, cpu_tile_fn fn, int64_t attr) {
    const px_tensor *O = &a->outputs[0];
    const char *nm = ix_name(a->node->op);
    int32_t ranks[3], n_ops = a->n_inputs + 1;
    if (n_ops < 2 || n_ops > 3) return a->host->set_error(PX_ERR_INVALID_ARG, "%s: %d inputs", nm, a->n_inputs);
    if (cpu_numel(O) == 0) return PX_OK;
    const int64_t *nes[3];
    for (int32_t i = 0; i < n_ops; i++) {
        const px_tensor *t = i < a->n_inputs ? &a->inputs[i] : O;
        ranks[i] = t->rank;
        nes[i] = t->ne;
    }
    cpu_iter it;
    if (cpu_iter_init(&it, O->rank, O->ne, n_ops, ranks, nes))
        return a->host->set_error(PX_ERR_SHAPE, "%s: input shapes do not broadcast to the output's", nm);
    const px_tensor *X = &a->inputs[0];
    ew_ctx c = {a->node->op, X->dtype, O->dtype, cpu_class(X->dtype), &it, X->data,
                n_ops == 3 ? a->inputs[1].data : NULL, O->data, attr, (int)(8 * cpu_elt_size(X->dtype))};
    cpu_iter_run(a->host, &it, fn, &c);
    return PX_OK;
}

px_status cpu_elementwise_ext_run(const px_kernel_args *a) {
    const px_node_desc *nd = a->node;
    int64_t attr = 0;
    if (nd->op == PX_OP_MOD) attr = cpu_attr_i(nd, "fmod", 0);
    else if (nd->op == PX_OP_BITSHIFT) attr = cpu_attr_i(nd, "direction", 0);
    else if (nd->op == PX_OP_ISINF)
        attr = (cpu_attr_i(nd, "detect_positive", 1) ? 1 : 0) | (cpu_attr_i(nd, "detect_negative", 1) ? 2 : 0);
    return run_broadcast(a, ew_tile, attr);
}

int cpu_expand_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 1 || n->n_outputs < 1 || !cpu_in(n, 0)) return 0;
    return cpu_is_plain(cpu_in_dt(n, 0)) && n->outputs[0].dtype == cpu_in_dt(n, 0);
}

px_status cpu_expand_run(const px_kernel_args *a) { return run_broadcast(a, expand_tile, 0); }

/* ---- reduce_prod ------------------------------------------------------------------------- */

int cpu_reduce_prod_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 1 || n->n_outputs < 1 || !cpu_in(n, 0)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    const int64_t *axes;
    int32_t na = cpu_attr_ints(n, "axes", &axes);
    for (int32_t i = 0; i < na; i++)
        if (cpu_axis(axes[i], n->inputs[0].rank) < 0) return 0;
    return na != -2 && n->outputs[0].dtype == t && (cpu_is_float(t) || cpu_is_int(t));
}

/* The input's dims split into kept ones (one output each) and reduced ones,
 * each list with the input's strides. */
typedef struct prod_ctx {
    px_dtype dt;
    int fl;
    const void *x;
    void *o;
    int32_t nk, nr;
    int64_t kne[PX_MAX_DIMS], kst[PX_MAX_DIMS], rne[PX_MAX_DIMS], rst[PX_MAX_DIMS];
} prod_ctx;

/* The product of the elements of one output: rows of the outer reduced
 * dims, each a strided run of the innermost reduced dim. */
static void prod_one(const prod_ctx *c, int64_t base, double *fv, int64_t *iv) {
    double facc = 1;
    uint64_t iacc = 1;
    const int64_t inner = c->nr ? c->rne[c->nr - 1] : 1, ist = c->nr ? c->rst[c->nr - 1] : 0;
    const int64_t rows = c->nr ? cpu_prod(c->rne, 0, c->nr - 1) : 1;
    for (int64_t row = 0; row < rows; row++) {
        int64_t p = base + offset_of(c->nr - 1, c->rne, c->rst, row);
        for (int64_t i0 = 0; i0 < inner; i0 += CPU_TILE) {
            int64_t m = inner - i0 < CPU_TILE ? inner - i0 : CPU_TILE;
            if (c->fl) {
                double t[CPU_TILE];
                cpu_load_f64(c->dt, c->x, p + i0 * ist, ist, m, t);
                for (int64_t k = 0; k < m; k++) facc *= t[k];
            } else {
                int64_t t[CPU_TILE];
                cpu_load_i64(c->dt, c->x, p + i0 * ist, ist, m, t);
                for (int64_t k = 0; k < m; k++) iacc *= (uint64_t)t[k];
            }
        }
    }
    *fv = facc;
    *iv = (int64_t)iacc;
}

static void prod_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const prod_ctx *c = vctx;
    double fv[CPU_TILE];
    int64_t iv[CPU_TILE];
    for (int64_t o0 = b; o0 < e; o0 += CPU_TILE) {
        int64_t m = e - o0 < CPU_TILE ? e - o0 : CPU_TILE;
        for (int64_t j = 0; j < m; j++) prod_one(c, offset_of(c->nk, c->kne, c->kst, o0 + j), &fv[j], &iv[j]);
        if (c->fl) cpu_store_f64(c->dt, c->o, o0, 1, m, fv);
        else cpu_store_i64(c->dt, c->o, o0, 1, m, iv);
    }
}

px_status cpu_reduce_prod_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    const int64_t *axes = NULL;
    int32_t na = cpu_attr_ints(a->node, "axes", &axes);
    int red[PX_MAX_DIMS] = {0};
    for (int32_t i = 0; i < X->rank; i++) red[i] = na < 0;
    for (int32_t i = 0; i < na; i++) {
        int32_t ax = cpu_axis(axes[i], X->rank);
        if (ax < 0)
            return a->host->set_error(PX_ERR_INVALID_ARG, "reduce_prod: axis %lld out of range for rank %d",
                                      (long long)axes[i], X->rank);
        red[ax] = 1;
    }
    prod_ctx c;
    memset(&c, 0, sizeof c);
    c.dt = X->dtype;
    c.fl = cpu_is_float(X->dtype);
    c.x = X->data;
    c.o = O->data;
    int64_t st[PX_MAX_DIMS];
    strides_of(X->rank, X->ne, st);
    for (int32_t i = 0; i < X->rank; i++) {
        if (red[i]) {
            c.rne[c.nr] = X->ne[i];
            c.rst[c.nr++] = st[i];
        } else {
            c.kne[c.nk] = X->ne[i];
            c.kst[c.nk++] = st[i];
        }
    }
    int64_t n_out = cpu_prod(c.kne, 0, c.nk), n_red = cpu_prod(c.rne, 0, c.nr);
    if (n_out != cpu_numel(O)) return a->host->set_error(PX_ERR_SHAPE, "reduce_prod: output has the wrong element count");
    if (n_out == 0) return PX_OK;
    a->host->parallel_for(n_out, cpu_grain(n_red, 1 << 15), prod_range, &c);
    return PX_OK;
}

/* ---- gather_elements, scatter_elements ------------------------------------------------------ */

static int indexed_supports(const px_node_desc *n, int32_t n_in) {
    if (n->n_inputs != n_in || n->n_outputs < 1) return 0;
    for (int32_t i = 0; i < n_in; i++)
        if (!cpu_in(n, i)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    if (!cpu_is_plain(t) || n->outputs[0].dtype != t || !cpu_is_index(cpu_in_dt(n, 1))) return 0;
    if (n_in == 2) return 1;
    int64_t red = cpu_attr_i(n, "reduction", 0);
    return cpu_in_dt(n, 2) == t && red >= 0 && red <= 4 && (red == 0 || cpu_is_float(t) || cpu_is_int(t));
}

static int elements_supports(const px_node_desc *n, int32_t n_in) {
    return indexed_supports(n, n_in) && n->inputs[1].rank == n->inputs[0].rank &&
           cpu_axis(cpu_attr_i(n, "axis", 0), n->inputs[0].rank) >= 0;
}

/* The axis, after checking that the indices fit data's other dims and that
 * every index is in range. */
static px_status elements_axis(const px_kernel_args *a, int32_t *out_ax) {
    const px_tensor *D = &a->inputs[0], *I = &a->inputs[1];
    const char *nm = ix_name(a->node->op);
    int32_t ax = cpu_axis(cpu_attr_i(a->node, "axis", 0), D->rank);
    if (ax < 0 || I->rank != D->rank) return a->host->set_error(PX_ERR_INVALID_ARG, "%s: bad axis or indices rank", nm);
    for (int32_t d = 0; d < D->rank; d++)
        if (d != ax && I->ne[d] > D->ne[d])
            return a->host->set_error(PX_ERR_SHAPE, "%s: indices dim %d (%lld) exceeds data's (%lld)", nm, d,
                                      (long long)I->ne[d], (long long)D->ne[d]);
    *out_ax = ax;
    return ix_check(a, I, 1, &D->ne[ax], ax);
}

int cpu_gather_elements_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    return elements_supports(n, 2);
}

typedef struct gel_ctx {
    const cpu_iter *it;  /* operands: indices/out, data with the axis stride 0 */
    const px_tensor *I;
    const uint8_t *d;
    uint8_t *o;
    size_t es;
    int64_t dim, axst;
} gel_ctx;

static void gel_tile(void *vctx, const int64_t *off, int64_t n) {
    const gel_ctx *c = vctx;
    const int32_t l = c->it->rank - 1;
    const int64_t s0 = c->it->st[0][l], s1 = c->it->st[1][l];
    for (int64_t k = 0; k < n; k++) {
        int64_t p = off[0] + k * s0, i = ix_load(c->I, p);
        if (i < 0) i += c->dim;
        put_elt(c->o + (size_t)p * c->es, c->d + (size_t)(off[1] + k * s1 + i * c->axst) * c->es, c->es);
    }
}

px_status cpu_gather_elements_run(const px_kernel_args *a) {
    const px_tensor *D = &a->inputs[0], *I = &a->inputs[1], *O = &a->outputs[0];
    int32_t ax;
    px_status st = elements_axis(a, &ax);
    if (st) return st;
    if (cpu_numel(I) != cpu_numel(O)) return a->host->set_error(PX_ERR_SHAPE, "gather_elements: output shape differs from the indices'");
    if (cpu_numel(I) == 0) return PX_OK;
    int64_t ist[2][PX_MAX_DIMS];
    strides_of(I->rank, I->ne, ist[0]);
    strides_of(D->rank, D->ne, ist[1]);
    gel_ctx c = {NULL, I, D->data, O->data, cpu_elt_size(D->dtype), D->ne[ax], ist[1][ax]};
    ist[1][ax] = 0;
    cpu_iter it;
    memset(&it, 0, sizeof it);
    it.rank = I->rank;
    it.n_ops = 2;
    for (int32_t d = 0; d < I->rank; d++) {
        it.ne[d] = I->ne[d];
        it.st[0][d] = ist[0][d];
        it.st[1][d] = ist[1][d];
    }
    it.inner = I->ne[I->rank - 1];
    it.rows = cpu_prod(I->ne, 0, I->rank - 1);
    c.it = &it;
    cpu_iter_run(a->host, &it, gel_tile, &c);
    return PX_OK;
}

/* Scatter: out[o0 .. o0+n) = combine(out, upd[u0 .. u0+n)), n <= CPU_TILE. */
typedef struct scatter_ctx {
    px_dtype dt;
    int red, cls;
    size_t es;
    const uint8_t *u;
    uint8_t *o;
} scatter_ctx;

#define COMBINE(GT)                                                      \
    switch (c->red) {                                                    \
    case 1: for (int64_t k = 0; k < n; k++) x[k] += y[k]; break;         \
    case 2: for (int64_t k = 0; k < n; k++) x[k] *= y[k]; break;         \
    case 3: for (int64_t k = 0; k < n; k++) if (GT(y[k], x[k])) x[k] = y[k]; break; \
    default: for (int64_t k = 0; k < n; k++) if (GT(x[k], y[k])) x[k] = y[k]; break; \
    }
#define GT_PLAIN(p, q) ((p) > (q))
#define GT_I64(p, q) ((int64_t)(p) > (int64_t)(q))

static void scatter_apply(const scatter_ctx *c, int64_t o0, int64_t u0, int64_t n) {
    if (c->red == 0) {
        memcpy(c->o + (size_t)o0 * c->es, c->u + (size_t)u0 * c->es, (size_t)n * c->es);
        return;
    }
    if (c->cls == CPU_CLS_F32 || c->cls == CPU_CLS_F64) {
        double x[CPU_TILE], y[CPU_TILE];
        cpu_load_f64(c->dt, c->o, o0, 1, n, x);
        cpu_load_f64(c->dt, c->u, u0, 1, n, y);
        COMBINE(GT_PLAIN)
        cpu_store_f64(c->dt, c->o, o0, 1, n, x);
    } else {
        uint64_t x[CPU_TILE], y[CPU_TILE]; /* wrap-around add and mul */
        cpu_load_i64(c->dt, c->o, o0, 1, n, (int64_t *)x);
        cpu_load_i64(c->dt, c->u, u0, 1, n, (int64_t *)y);
        if (c->cls == CPU_CLS_UINT) {
            COMBINE(GT_PLAIN)
        } else {
            COMBINE(GT_I64)
        }
        cpu_store_i64(c->dt, c->o, o0, 1, n, (const int64_t *)x);
    }
}

/* out = data, then the caller's updates. */
static px_status scatter_begin(const px_kernel_args *a, scatter_ctx *c) {
    px_kernel_args copy = *a;
    copy.n_inputs = 1;
    px_status st = cpu_copy_run(&copy);
    const px_tensor *D = &a->inputs[0];
    scatter_ctx s = {D->dtype, (int)cpu_attr_i(a->node, "reduction", 0), cpu_class(D->dtype), cpu_elt_size(D->dtype),
                     a->inputs[2].data, a->outputs[0].data};
    *c = s;
    return st;
}

int cpu_scatter_elements_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    return elements_supports(n, 3);
}

typedef struct sel_ctx {
    scatter_ctx s;
    const px_tensor *I;
    int32_t nl;                      /* the dims of indices but the axis */
    int64_t lne[PX_MAX_DIMS], ust[PX_MAX_DIMS], ost[PX_MAX_DIMS];
    int64_t len, ustep, dim, ostep;  /* along the axis */
} sel_ctx;

/* One line of the axis per item: its updates in order. */
static void sel_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const sel_ctx *c = vctx;
    for (int64_t line = b; line < e; line++) {
        int64_t u = offset_of(c->nl, c->lne, c->ust, line), o = offset_of(c->nl, c->lne, c->ost, line);
        for (int64_t t = 0; t < c->len; t++, u += c->ustep) {
            int64_t i = ix_load(c->I, u);
            scatter_apply(&c->s, o + (i < 0 ? i + c->dim : i) * c->ostep, u, 1);
        }
    }
}

px_status cpu_scatter_elements_run(const px_kernel_args *a) {
    const px_tensor *D = &a->inputs[0], *I = &a->inputs[1], *U = &a->inputs[2];
    int32_t ax;
    px_status st = elements_axis(a, &ax);
    if (st) return st;
    if (U->rank != I->rank || memcmp(U->ne, I->ne, (size_t)I->rank * sizeof *I->ne) || cpu_numel(&a->outputs[0]) != cpu_numel(D))
        return a->host->set_error(PX_ERR_SHAPE, "scatter_elements: updates must have the indices' shape, out data's");
    sel_ctx c;
    memset(&c, 0, sizeof c);
    if ((st = scatter_begin(a, &c.s))) return st;
    int64_t ust[PX_MAX_DIMS], ost[PX_MAX_DIMS];
    strides_of(I->rank, I->ne, ust);
    strides_of(D->rank, D->ne, ost);
    for (int32_t d = 0; d < I->rank; d++) {
        if (d == ax) continue;
        c.lne[c.nl] = I->ne[d];
        c.ust[c.nl] = ust[d];
        c.ost[c.nl++] = ost[d];
    }
    c.I = I;
    c.len = I->ne[ax];
    c.ustep = ust[ax];
    c.dim = D->ne[ax];
    c.ostep = ost[ax];
    int64_t lines = cpu_prod(c.lne, 0, c.nl);
    if (lines == 0 || c.len == 0) return PX_OK;
    a->host->parallel_for(lines, cpu_grain(c.len, 1 << 14), sel_range, &c);
    return PX_OK;
}

/* ---- gather_nd, scatter_nd --------------------------------------------------------------------- */

int cpu_gather_nd_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    return indexed_supports(n, 2) && n->inputs[1].rank >= 1;
}

int cpu_scatter_nd_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    return indexed_supports(n, 3) && n->inputs[1].rank >= 1;
}

/* Index tuples: tuple t of q indices addresses data dims b..b+q-1 of batch
 * t / per_batch; a slice is the `slice` elements that follow. */
typedef struct nd_ctx {
    const px_tensor *I;
    int64_t q, b, per_batch, batch_stride, slice;
    int64_t dne[PX_MAX_DIMS], dst[PX_MAX_DIMS];
    size_t es;
    const uint8_t *src;
    uint8_t *dst_data;
    scatter_ctx s;
    int64_t n_tuples;
} nd_ctx;

/* Element offset in data of the slice of tuple t. */
static int64_t nd_offset(const nd_ctx *c, int64_t t) {
    int64_t off = c->per_batch ? t / c->per_batch * c->batch_stride : 0;
    for (int64_t k = 0; k < c->q; k++) {
        int64_t i = ix_load(c->I, t * c->q + k), dim = c->dne[c->b + k];
        off += (i < 0 ? i + dim : i) * c->dst[c->b + k];
    }
    return off;
}

/* Shared set-up: q from the indices, batch dims, strides, index check. */
static px_status nd_setup(const px_kernel_args *a, int64_t b, nd_ctx *c) {
    const px_tensor *D = &a->inputs[0], *I = &a->inputs[1];
    const char *nm = ix_name(a->node->op);
    memset(c, 0, sizeof *c);
    c->I = I;
    c->q = I->ne[I->rank - 1];
    c->b = b;
    if (b < 0 || b >= I->rank || b + c->q > D->rank)
        return a->host->set_error(PX_ERR_SHAPE, "%s: tuples of %lld after %lld batch dims do not fit data of rank %d", nm,
                                  (long long)c->q, (long long)b, D->rank);
    for (int32_t d = 0; d < b; d++)
        if (I->ne[d] != D->ne[d]) return a->host->set_error(PX_ERR_SHAPE, "%s: batch dim %d differs between data and indices", nm, d);
    memcpy(c->dne, D->ne, sizeof c->dne);
    strides_of(D->rank, D->ne, c->dst);
    c->n_tuples = cpu_prod(I->ne, 0, I->rank - 1);
    int64_t batches = cpu_prod(I->ne, 0, (int32_t)b);
    c->per_batch = batches ? c->n_tuples / batches : 0;
    c->batch_stride = cpu_prod(D->ne, (int32_t)b, D->rank);
    c->slice = cpu_prod(D->ne, (int32_t)(b + c->q), D->rank);
    c->es = cpu_elt_size(D->dtype);
    return ix_check(a, I, c->q, &D->ne[b], (int32_t)b);
}

static void gnd_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const nd_ctx *c = vctx;
    size_t bytes = (size_t)c->slice * c->es;
    for (int64_t t = b; t < e; t++)
        memcpy(c->dst_data + (size_t)t * bytes, c->src + (size_t)nd_offset(c, t) * c->es, bytes);
}

px_status cpu_gather_nd_run(const px_kernel_args *a) {
    nd_ctx c;
    px_status st = nd_setup(a, cpu_attr_i(a->node, "batch_dims", 0), &c);
    if (st) return st;
    if (c.n_tuples * c.slice != cpu_numel(&a->outputs[0]))
        return a->host->set_error(PX_ERR_SHAPE, "gather_nd: output has the wrong element count");
    if (c.n_tuples == 0 || c.slice == 0) return PX_OK;
    c.src = a->inputs[0].data;
    c.dst_data = a->outputs[0].data;
    a->host->parallel_for(c.n_tuples, cpu_grain(c.slice * (int64_t)c.es, 1 << 16), gnd_range, &c);
    return PX_OK;
}

/* One block of up to CPU_TILE slice columns per item, every tuple in order:
 * updates that meet are applied in index order. */
static void snd_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const nd_ctx *c = vctx;
    for (int64_t blk = b; blk < e; blk++) {
        int64_t j0 = blk * CPU_TILE, m = c->slice - j0 < CPU_TILE ? c->slice - j0 : CPU_TILE;
        for (int64_t t = 0; t < c->n_tuples; t++) scatter_apply(&c->s, nd_offset(c, t) + j0, t * c->slice + j0, m);
    }
}

px_status cpu_scatter_nd_run(const px_kernel_args *a) {
    nd_ctx c;
    px_status st = nd_setup(a, 0, &c);
    if (st) return st;
    if (cpu_numel(&a->inputs[2]) != c.n_tuples * c.slice || cpu_numel(&a->outputs[0]) != cpu_numel(&a->inputs[0]))
        return a->host->set_error(PX_ERR_SHAPE, "scatter_nd: updates must be indices.shape[:-1] + data.shape[q:]");
    if ((st = scatter_begin(a, &c.s))) return st;
    if (c.n_tuples == 0 || c.slice == 0) return PX_OK;
    int64_t blocks = (c.slice + CPU_TILE - 1) / CPU_TILE;
    a->host->parallel_for(blocks, cpu_grain(c.n_tuples * CPU_TILE, 1 << 15), snd_range, &c);
    return PX_OK;
}

/* ---- topk -------------------------------------------------------------------------------------- */

int cpu_topk_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 1 || n->n_outputs < 1 || !cpu_in(n, 0) || n->outputs[0].dtype != PX_I64) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    return (cpu_is_float(t) || cpu_is_int(t)) && cpu_axis(cpu_attr_i(n, "axis", -1), n->inputs[0].rank) >= 0 &&
           px_attr_find(n->attrs, n->n_attrs, "k");
}

/* An entry: smaller key first, equal keys by the lower index. */
typedef struct topk_item {
    uint64_t key;
    int64_t idx;
} topk_item;

static void topk_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                      size_t *shared, size_t *per_thread) {
    (void)in;
    (void)n_in;
    int32_t ax = cpu_axis(px_attr_int(node->attrs, node->n_attrs, "axis", -1), out[0].rank);
    *shared = 0;
    *per_thread = ax < 0 ? 0 : (size_t)out[0].ne[ax] * sizeof(topk_item);
}

static inline int item_before(topk_item a, topk_item b) { return a.key < b.key || (a.key == b.key && a.idx < b.idx); }

/* A heap whose top is the entry that sorts last. */
static void heap_down(topk_item *h, int64_t n, int64_t i) {
    for (;;) {
        int64_t l = 2 * i + 1, m = i;
        if (l < n && item_before(h[m], h[l])) m = l;
        if (l + 1 < n && item_before(h[m], h[l + 1])) m = l + 1;
        if (m == i) return;
        topk_item t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_up(topk_item *h, int64_t i) {
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!item_before(h[p], h[i])) return;
        topk_item t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Keys in ascending numeric order, NaN above +inf, -0 equal to +0. */
static uint64_t float_key(double v) {
    if (isnan(v)) return UINT64_MAX;
    if (v == 0) v = 0;
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (u >> 63) ? ~u : u | (1ull << 63);
}

typedef struct topk_ctx {
    const px_tensor *X, *O;
    int64_t dim, inner, k;
    uint64_t flip;       /* largest: keys inverted, so that the largest sorts first */
    const cpu_scratch *s;
} topk_ctx;

static void topk_keys(const topk_ctx *c, int64_t p, int64_t m, uint64_t *key) {
    if (cpu_is_float(c->X->dtype)) {
        double v[CPU_TILE];
        cpu_load_f64(c->X->dtype, c->X->data, p, c->inner, m, v);
        for (int64_t j = 0; j < m; j++) key[j] = float_key(v[j]) ^ c->flip;
    } else {
        int64_t v[CPU_TILE];
        uint64_t bias = cpu_is_sint(c->X->dtype) ? 1ull << 63 : 0;
        cpu_load_i64(c->X->dtype, c->X->data, p, c->inner, m, v);
        for (int64_t j = 0; j < m; j++) key[j] = ((uint64_t)v[j] ^ bias) ^ c->flip;
    }
}

static void topk_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const topk_ctx *c = vctx;
    topk_item *h = cpu_scratch_thread(c->s, thread);
    int64_t *out = c->O->data;
    for (int64_t item = b; item < e; item++) {
        int64_t o = item / c->inner, i = item - o * c->inner, base = o * c->dim * c->inner + i, size = 0;
        for (int64_t i0 = 0; i0 < c->dim; i0 += CPU_TILE) {
            int64_t m = c->dim - i0 < CPU_TILE ? c->dim - i0 : CPU_TILE;
            uint64_t key[CPU_TILE];
            topk_keys(c, base + i0 * c->inner, m, key);
            for (int64_t j = 0; j < m; j++) {
                topk_item t = {key[j], i0 + j};
                if (size < c->k) {
                    h[size] = t;
                    heap_up(h, size++);
                } else if (item_before(t, h[0])) {
                    h[0] = t;
                    heap_down(h, c->k, 0);
                }
            }
        }
        for (int64_t end = c->k - 1; end > 0; end--) { /* heap sort: first to last */
            topk_item t = h[0];
            h[0] = h[end];
            h[end] = t;
            heap_down(h, end, 0);
        }
        int64_t ob = o * c->k * c->inner + i;
        for (int64_t r = 0; r < c->k; r++) out[ob + r * c->inner] = h[r].idx;
    }
}

px_status cpu_topk_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    int32_t ax = cpu_axis(cpu_attr_i(a->node, "axis", -1), X->rank);
    if (ax < 0 || O->rank != X->rank) return a->host->set_error(PX_ERR_INVALID_ARG, "topk: axis out of range for rank %d", X->rank);
    int64_t k = cpu_attr_i(a->node, "k", -1);
    if (k < 0 || k > X->ne[ax] || O->ne[ax] != k)
        return a->host->set_error(PX_ERR_RANGE, "topk: k = %lld must be in 0..%lld (the size of axis %d in this run)",
                                  (long long)k, (long long)X->ne[ax], ax);
    topk_ctx c = {X, O, X->ne[ax], cpu_prod(X->ne, ax + 1, X->rank), k, cpu_attr_i(a->node, "largest", 1) ? ~0ull : 0, NULL};
    int64_t items = cpu_prod(X->ne, 0, ax) * c.inner;
    if (items == 0 || k == 0) return PX_OK;
    cpu_scratch s;
    px_status st = cpu_scratch_begin(a, topk_need, &s);
    if (st) return st;
    c.s = &s;
    int64_t log_k = 1;
    while (log_k < 62 && (1ll << log_k) < k) log_k++;
    a->host->parallel_for(items, cpu_grain(c.dim * log_k, 1 << 15), topk_range, &c);
    cpu_scratch_end(a, &s);
    return PX_OK;
}
