/* Conformance cases for the ops appended for the ONNX importer, EXPAND..TOPK.
 * Every dtype each op takes, broadcasting, rank 0 and empty tensors where
 * they are legal, values that hit the edges of each op (halves for ROUND,
 * NaN and infinities for ISNAN/ISINF/TOPK, zero divisors for MOD, shifts by
 * the width and more), negative and duplicate indices for the gathers and
 * scatters with each reduction, ties for ARGMIN (select_last_index) and TOPK,
 * k = 0 and k = dim, and one larger case per op that splits over threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "oracle_internal.h"

/* An index out of range must make the kernel fail: the oracle says so by
 * returning 1, which oracle_nn's hook still reads as ORACLE_NOT_MINE. These
 * cases switch on by themselves once that value is distinct. */
#define BAD_INDEX_CASES (ORACLE_NOT_MINE != 1)

static const int64_t k_dims[] = {1, 2, 3, 4, 5, 7, 8, 13, 17, 31};
#define N_DIMS ((int)(sizeof k_dims / sizeof k_dims[0]))
static const px_dtype k_floats[] = {PX_F32, PX_F16, PX_BF16, PX_F64};
static const px_dtype k_ints[] = {PX_I32, PX_I8, PX_I16, PX_I64, PX_U8, PX_U16, PX_U32, PX_U64};
static const px_dtype k_any[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I8, PX_I32, PX_I64, PX_U8, PX_U64, PX_BOOL};

static int64_t count(int32_t rank, const int64_t *ne) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= ne[i];
    return n;
}

/* Random dims from k_dims, at most `cap` elements in all. */
static void shape(crng *r, int32_t rank, int64_t cap, int64_t *ne) {
    do {
        for (int32_t i = 0; i < rank; i++) ne[i] = rng_pick(r, k_dims, N_DIMS);
    } while (count(rank, ne) > cap);
}

static void label(ccase *c) {
    char b[80];
    case_label(c, "%s", px_op_name(c->op));
    for (int i = 0; i < c->n_in; i++)
        case_label(c, " %s%s", px_dtype_name(c->in[i].dtype), shape_str(c->in[i].rank, c->in[i].ne, b, sizeof b));
}

static void emit(ccase *c, case_sink sink, void *ctx) {
    sink(c, ctx);
    case_free(c);
}

static int is_unsigned(px_dtype t) { return t == PX_U8 || t == PX_U16 || t == PX_U32 || t == PX_U64; }

/* The range of integer values used for dtype t (64-bit types: +-2^40, so
 * that every value and result is exact in double). */
static void int_range(px_dtype t, int64_t *lo, int64_t *hi) {
    int w = 8 * oracle_type_size(t);
    if (w > 41) w = 41;
    *hi = is_unsigned(t) ? (int64_t)((1ull << w) - 1) : (int64_t)((1ull << (w - 1)) - 1);
    *lo = is_unsigned(t) ? 0 : -*hi - 1;
}

/* Store doubles as the dtype; F64 inputs hold F32 values (as case_rand). */
static void put(ccase *c, int i, px_dtype t, int32_t rank, const int64_t *ne, double *v) {
    if (t == PX_F64)
        for (int64_t k = 0; k < count(rank, ne); k++) v[k] = (double)(float)v[k];
    case_values(c, i, IN_INPUT, t, rank, ne, v);
}

static double *vbuf(int32_t rank, const int64_t *ne) { return malloc((size_t)(count(rank, ne) + 1) * sizeof(double)); }

/* Indices in [-dim, dim - 1] (negative ones count from the end). */
static void put_indices(ccase *c, int i, crng *r, px_dtype t, int32_t rank, const int64_t *ne, int64_t dim) {
    double *v = vbuf(rank, ne);
    for (int64_t k = 0; k < count(rank, ne); k++) v[k] = (double)rng_int(r, -dim, dim - 1);
    case_values(c, i, IN_INPUT, t, rank, ne, v);
    free(v);
}

/* ---- elementwise ------------------------------------------------------------------------- */

/* Shapes of the two operands for pattern p: 0 equal, 1 one a scalar, 2-4
 * broadcast both ways, 5 an empty dim, 6 both rank 0, 7 one long row. The
 * operand that broadcasts (drops leading dims) is drawn at random. */
static void two_shapes(crng *r, int p, int32_t *rk, int64_t (*ne)[PX_MAX_DIMS]) {
    int s = (int)(rng_next(r) & 1);
    int64_t *a = ne[!s], *b = ne[s];
    int32_t rank = p == 6 ? 0 : p == 7 ? 1 : (int32_t)rng_int(r, 1, 4);
    shape(r, rank, 2000, a);
    if (p == 5) a[rng_int(r, 0, rank - 1)] = 0;
    if (p == 7) a[0] = 1037;
    rk[0] = rk[1] = rank;
    memcpy(b, a, sizeof(int64_t) * PX_MAX_DIMS);
    if (p == 1) rk[s] = 0;
    if (p >= 2 && p <= 4) {
        int32_t drop = (int32_t)rng_int(r, 0, rank - 1);
        rk[s] = rank - drop;
        memmove(b, a + drop, sizeof(int64_t) * (size_t)rk[s]);
        for (int32_t i = 0; i < rk[s]; i++) {
            int64_t u = rng_next(r) % 3;
            if (u == 1) b[i] = 1;
            if (u == 2) a[i + drop] = 1;
        }
    }
}

/* A value of input `slot` for elementwise op `op` on dtype t. */
static double ew_value(crng *r, px_op op, px_dtype t, int slot) {
    int64_t lo, hi;
    if (t == PX_BOOL) return (double)(rng_next(r) & 1);
    if (oracle_is_int(t)) {
        int_range(t, &lo, &hi);
        if (op == PX_OP_MOD && slot) return (double)rng_int(r, is_unsigned(t) ? 0 : -9, 9); /* zero divisors too */
        if (op == PX_OP_MOD) return (double)rng_int(r, lo > -100 ? lo : -100, hi < 200 ? hi : 200);
        if (op == PX_OP_BITSHIFT && slot) return (double)rng_int(r, 0, 8 * oracle_type_size(t) + 3);
        if (op == PX_OP_SIGN && (rng_next(r) & 1)) return (double)rng_int(r, is_unsigned(t) ? 0 : -2, 2);
        return (double)rng_int(r, lo, hi);
    }
    double u = rng_uniform(r, 0, 1);
    switch (op) {
    case PX_OP_FLOOR: case PX_OP_CEIL: case PX_OP_ROUND:
        return u < 0.5 ? 0.5 * (double)rng_int(r, -40, 40) : rng_uniform(r, -20, 20);
    case PX_OP_SIGN: return u < 0.25 ? 0.0 : rng_uniform(r, -5, 5);
    case PX_OP_RECIPROCAL: return u < 0.05 ? 0.0 : (u < 0.5 ? -1 : 1) * rng_uniform(r, 0.1, 10);
    case PX_OP_TAN: return rng_uniform(r, -1.5, 1.5);
    case PX_OP_ASIN: case PX_OP_ACOS: return rng_uniform(r, -0.99, 0.99);
    case PX_OP_ATAN: return rng_uniform(r, -20, 20);
    case PX_OP_SINH: case PX_OP_COSH: return rng_uniform(r, -10, 10);
    case PX_OP_ASINH: return rng_uniform(r, -50, 50);
    case PX_OP_ACOSH: return rng_uniform(r, 1.02, 50);
    case PX_OP_ATANH: return rng_uniform(r, -0.95, 0.95);
    case PX_OP_SOFTPLUS: return u < 0.1 ? rng_uniform(r, -100, 100) : rng_uniform(r, -30, 30);
    case PX_OP_ISNAN: case PX_OP_ISINF: return u < 0.2 ? NAN : u < 0.4 ? INFINITY : u < 0.6 ? -INFINITY : rng_uniform(r, -1e3, 1e3);
    case PX_OP_MOD: /* fmod = 1 on floats; a few zero divisors give NaN */
        return slot ? (u < 0.05 ? 0.0 : (u < 0.5 ? -1 : 1) * rng_uniform(r, 0.25, 7)) : rng_uniform(r, -50, 50);
    default: return rng_uniform(r, -5, 5);
    }
}

/* The dtypes an elementwise op is tested with. */
static int ew_dtypes(px_op op, int fmod, px_dtype *out) {
    int n = 0;
    if (op >= PX_OP_NOT && op <= PX_OP_XOR) out[n++] = PX_BOOL;
    if ((op >= PX_OP_FLOOR && op <= PX_OP_ISINF) || (op == PX_OP_MOD && fmod))
        for (int i = 0; i < 4; i++) out[n++] = k_floats[i];
    if (op == PX_OP_SIGN || op == PX_OP_MOD || op >= PX_OP_BITWISE_AND)
        for (int i = 0; i < 8; i++) out[n++] = k_ints[i];
    if (op == PX_OP_BITSHIFT)
        for (int i = 4; i < 8; i++) out[n++] = k_ints[i];
    return n;
}

static void ew_case(crng *r, case_sink sink, void *ctx, px_op op, px_dtype t, int pat, int fmod) {
    ccase c;
    case_init(&c, op);
    int bin = op == PX_OP_AND || op == PX_OP_OR || op == PX_OP_XOR || (op >= PX_OP_MOD && op <= PX_OP_BITWISE_XOR);
    int32_t rk[2];
    int64_t ne[2][PX_MAX_DIMS];
    two_shapes(r, pat, rk, ne);
    for (int i = 0; i <= bin; i++) {
        double *v = vbuf(rk[i], ne[i]);
        for (int64_t k = 0; k < count(rk[i], ne[i]); k++) v[k] = ew_value(r, op, t, i);
        put(&c, i, t, rk[i], ne[i], v);
        free(v);
    }
    label(&c);
    if (op == PX_OP_MOD) {
        case_attr_i(&c, "fmod", fmod);
        case_label(&c, " fmod=%d", fmod);
    }
    if (op == PX_OP_BITSHIFT) {
        case_attr_i(&c, "direction", pat & 1);
        case_label(&c, " direction=%d", pat & 1);
    }
    if (op == PX_OP_ISINF && pat % 4) {
        case_attr_i(&c, "detect_positive", pat % 4 != 1);
        case_attr_i(&c, "detect_negative", pat % 4 != 2);
        case_label(&c, " detect_positive=%d detect_negative=%d", pat % 4 != 1, pat % 4 != 2);
    }
    emit(&c, sink, ctx);
}

static void gen_elementwise(px_op op, crng *r, case_sink sink, void *ctx) {
    for (int fmod = 0; fmod <= (op == PX_OP_MOD); fmod++) {
        px_dtype types[16];
        int n = ew_dtypes(op, fmod, types);
        for (int di = 0; di < n; di++)
            for (int k = 0; k < (di == 0 ? 8 : 3); k++)
                ew_case(r, sink, ctx, op, types[di], di == 0 ? k : (int)rng_int(r, 0, 7), fmod);
    }
}

static void make_expand(ccase *c, crng *r, px_dtype t, int k, int32_t ro, int64_t *out) {
    int32_t rx = (int32_t)rng_int(r, 0, ro);
    int64_t x[PX_MAX_DIMS];
    for (int32_t i = 0; i < rx; i++) x[i] = (rng_next(r) & 1) ? 1 : out[ro - rx + i];
    if (k == 2 && ro > 0) { /* an empty output: x has 1 or 0 there */
        int32_t i = (int32_t)rng_int(r, 0, ro - 1);
        out[i] = 0;
        if (i >= ro - rx) x[i - (ro - rx)] = (int64_t)(rng_next(r) & 1);
    }
    case_rand(c, 0, IN_INPUT, t, rx, x, r, -50, 50);
    label(c);
    case_attr_ints(c, "shape", out, ro);
    char b[80];
    case_label(c, " shape=%s", shape_str(ro, out, b, sizeof b));
}

/* ---- reduce_prod, argmin --------------------------------------------------------------------- */

static void make_reduce_prod(ccase *c, crng *r, px_dtype t, int k, int32_t rank, int64_t *ne) {
    if (k == 3) ne[rng_int(r, 0, rank - 1)] = 0; /* an empty reduction gives 1 */
    double *v = vbuf(rank, ne);
    for (int64_t i = 0; i < count(rank, ne); i++)
        v[i] = oracle_is_int(t) ? (double)rng_int(r, is_unsigned(t) ? 0 : -3, 3)
                                : ((rng_next(r) & 1) ? -1 : 1) * rng_uniform(r, 0.8, 1.25);
    put(c, 0, t, rank, ne, v);
    free(v);
    label(c);
    /* all axes (absent), none (an empty list), or a random subset listed up
     * or down, some negative */
    int64_t axes[PX_MAX_DIMS];
    int32_t na = k == 0 ? -1 : 0;
    for (int32_t i = 0; k != 0 && k != 4 && i < rank; i++)
        if ((rng_next(r) & 1) || (na == 0 && i == rank - 1)) axes[na++] = (k & 1) ? rank - 1 - i : i;
    for (int32_t i = 0; i < na; i++) axes[i] -= (rng_next(r) & 1) ? rank : 0;
    if (na >= 0) case_attr_ints(c, "axes", axes, na);
    int keep = k == 5 ? 0 : 1;
    if (!keep) case_attr_i(c, "keepdims", 0);
    case_label(c, " axes(%d)", na);
    for (int32_t i = 0; i < na; i++) case_label(c, "%s%lld", i ? "," : "=", (long long)axes[i]);
    case_label(c, " keepdims=%d", keep);
}

static void make_argmin(ccase *c, crng *r, px_dtype t, int k, int32_t rank, int64_t *ne) {
    if (k == 3) {
        rank = 1;
        ne[0] = 20000; /* a long row */
    }
    int axis = (int)rng_int(r, -rank, rank - 1), keep = k & 1, last = (k >> 1) & 1;
    if (k == 6 && rank > 1) ne[((axis + rank) % rank + 1) % rank] = 0; /* empty output */
    /* few distinct values: ties, where select_last_index matters */
    double *v = vbuf(rank, ne);
    for (int64_t i = 0; i < count(rank, ne); i++) v[i] = (double)rng_int(r, 0, k == 3 ? 1000 : 4);
    put(c, 0, t, rank, ne, v);
    free(v);
    label(c);
    case_attr_i(c, "axis", axis);
    case_attr_i(c, "keepdims", keep);
    if (k != 0) case_attr_i(c, "select_last_index", last);
    case_label(c, " axis=%d keepdims=%d select_last_index=%d", axis, keep, last);
}

/* ---- gather and scatter ------------------------------------------------------------------------ */

/* Update values for a reduction: products stay near 1, sums small. */
static void put_updates(ccase *c, int i, crng *r, px_dtype t, int red, int32_t rank, const int64_t *ne) {
    double *v = vbuf(rank, ne);
    for (int64_t k = 0; k < count(rank, ne); k++) {
        if (t == PX_BOOL) v[k] = (double)(rng_next(r) & 1);
        else if (oracle_is_int(t)) v[k] = (double)rng_int(r, is_unsigned(t) || red == 2 ? 0 : -20, red == 2 ? 3 : 20);
        else v[k] = red == 2 ? rng_uniform(r, 0.5, 2) : rng_uniform(r, -10, 10);
    }
    put(c, i, t, rank, ne, v);
    free(v);
}

/* Make one index out of range (when such cases are on). */
static void spoil_index(ccase *c, int i, crng *r, int64_t q, int64_t lim_of_component0) {
    otensor *t = &c->in[i];
    int64_t n = ot_numel(t);
    if (!BAD_INDEX_CASES || n == 0) return;
    int64_t j = rng_int(r, 0, n / q - 1) * q, bad = (rng_next(r) & 1) ? lim_of_component0 : -lim_of_component0 - 1;
    if (t->dtype == PX_I64) ((int64_t *)c->buf[i])[j] = bad;
    else ((int32_t *)c->buf[i])[j] = (int32_t)bad;
    case_label(c, " (index %lld out of range)", (long long)bad);
}

/* The scatters' reduction (cycling with k; none for BOOL). */
static int reduction_of(ccase *c, px_dtype t, int k) {
    if (c->op != PX_OP_SCATTER_ELEMENTS && c->op != PX_OP_SCATTER_ND) return -1;
    return t == PX_BOOL ? 0 : k % 5;
}

static void label_reduction(ccase *c, int red) {
    if (red > 0) case_attr_i(c, "reduction", red);
    if (red >= 0) case_label(c, " reduction=%d", red);
}

static void make_elements(ccase *c, crng *r, px_dtype t, int k, int32_t rank, int64_t *ne) {
    int red = reduction_of(c, t, k);
    int64_t ine[PX_MAX_DIMS];
    int axis = (int)rng_int(r, -rank, rank - 1), ax = (axis + rank) % rank;
    for (int32_t d = 0; d < rank; d++) ine[d] = d == ax ? rng_int(r, 1, 9) : rng_int(r, 1, ne[d]);
    if (k == 5) ine[rng_int(r, 0, rank - 1)] = 0; /* no indices */
    if (k == 6) ne[ax] = 1;                       /* every index 0 or -1: duplicates */
    case_rand(c, 0, IN_INPUT, t, rank, ne, r, -50, 50);
    put_indices(c, 1, r, (k & 1) ? PX_I64 : PX_I32, rank, ine, ne[ax]);
    if (red >= 0) put_updates(c, 2, r, t, red, rank, ine);
    label(c);
    case_attr_i(c, "axis", axis);
    case_label(c, " axis=%d", axis);
    label_reduction(c, red);
    if (k == 7) spoil_index(c, 1, r, 1, ne[ax]);
}

static void make_nd(ccase *c, crng *r, px_dtype t, int k, int32_t rank, int64_t *ne) {
    int red = reduction_of(c, t, k);
    int64_t ine[PX_MAX_DIMS], une[PX_MAX_DIMS];
    int32_t b = red >= 0 ? 0 : (int32_t)rng_int(r, 0, rank - 1 < 2 ? rank - 1 : 2);
    int32_t q = (int32_t)rng_int(r, k == 8 ? 0 : 1, rank - b), extra = (int32_t)rng_int(r, 0, 2), ir = 0;
    if (k == 4) ne[rank - 1] = 1; /* few distinct slices: duplicates */
    for (int32_t d = 0; d < b; d++) ine[ir++] = ne[d];
    for (int32_t d = 0; d < extra; d++) ine[ir++] = rng_int(r, 1, 6);
    if (k == 5 && extra > 0) ine[b] = 0; /* no tuples */
    ine[ir++] = q;
    case_rand(c, 0, IN_INPUT, t, rank, ne, r, -50, 50);
    double *v = vbuf(ir, ine);
    for (int64_t j = 0; j < count(ir, ine); j++) {
        int64_t dim = ne[b + j % q];
        v[j] = (double)rng_int(r, -dim, dim - 1);
    }
    case_values(c, 1, IN_INPUT, (k & 1) ? PX_I64 : PX_I32, ir, ine, v);
    free(v);
    int32_t ur = 0;
    for (int32_t d = 0; d + 1 < ir; d++) une[ur++] = ine[d];
    for (int32_t d = q; d < rank; d++) une[ur++] = ne[d];
    if (red >= 0) put_updates(c, 2, r, t, red, ur, une);
    label(c);
    if (b) case_attr_i(c, "batch_dims", b);
    if (red < 0) case_label(c, " batch_dims=%d", b);
    label_reduction(c, red);
    if (k == 7 && q > 0) spoil_index(c, 1, r, q, ne[b]);
}

/* ---- topk ------------------------------------------------------------------------------------------- */

static void make_topk(ccase *c, crng *r, px_dtype t, int k, int32_t rank, int64_t *ne) {
    int axis = k == 0 ? -1 : (int)rng_int(r, -rank, rank - 1), ax = (axis + rank) % rank;
    if (k == 3) { /* rows of a vocabulary, many of them: the heap path and threads */
        rank = 2;
        ne[0] = 6;
        ne[1] = 30011;
        axis = ax = 1;
    }
    if (k == 6 && rank > 1) ne[(ax + 1) % rank] = 0; /* empty output */
    int64_t dim = ne[ax], kk = k == 1 ? 0 : k == 2 ? dim : k == 3 ? 40 : rng_int(r, 1, dim);
    double *v = vbuf(rank, ne);
    for (int64_t i = 0; i < count(rank, ne); i++) {
        double u = rng_uniform(r, 0, 1), p = k == 3 ? 0.002 : 0.1, sign = (rng_next(r) & 1) ? -1 : 1;
        int64_t span = k == 3 ? 1000 : 3; /* short rows: ties */
        if (oracle_is_int(t)) v[i] = (double)rng_int(r, is_unsigned(t) ? 0 : -span, span);
        else if (u < p) v[i] = NAN;
        else if (u < 2 * p) v[i] = sign * (u < 1.5 * p ? INFINITY : 0.0); /* +-inf, +-0 */
        else v[i] = k == 3 ? rng_uniform(r, -30, 30) : 0.5 * (double)rng_int(r, -4, 4);
    }
    put(c, 0, t, rank, ne, v);
    free(v);
    label(c);
    int largest = k % 4 != 1, sorted = k % 3 != 2;
    case_attr_i(c, "k", kk);
    if (k) case_attr_i(c, "axis", axis);
    case_attr_i(c, "largest", largest);
    case_attr_i(c, "sorted", sorted);
    case_label(c, " k=%lld axis=%d largest=%d sorted=%d", (long long)kk, axis, largest, sorted);
}

/* ---- the driver -------------------------------------------------------------------------------------- */

/* Makes case variant k of dtype t; rank and ne are a random first input
 * shape that the maker may use and change. */
typedef void (*make_fn)(ccase *c, crng *r, px_dtype t, int k, int32_t rank, int64_t *ne);

typedef struct gen_spec {
    make_fn make;
    const px_dtype *types;
    int n_types;
    int first_k, other_k;  /* variants of the first dtype, of each other one */
    int32_t rank_lo, rank_hi;
    int64_t cap;           /* elements of the drawn shape */
} gen_spec;

/* dtypes with an order (topk, argmin), products (reduce_prod) */
static const px_dtype k_ordered[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I32, PX_I64, PX_I8, PX_U8, PX_U64};
static const px_dtype k_prod[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I32, PX_I64, PX_I8, PX_U8, PX_U32};

static void generate(px_op op, const gen_spec *g, crng *r, case_sink sink, void *ctx) {
    for (int di = 0; di < g->n_types; di++)
        for (int k = 0; k < (di == 0 ? g->first_k : g->other_k); k++) {
            ccase c;
            int64_t ne[PX_MAX_DIMS];
            int32_t rank = (int32_t)rng_int(r, g->rank_lo, g->rank_hi);
            shape(r, rank, g->cap, ne);
            case_init(&c, op);
            g->make(&c, r, g->types[di], k, rank, ne);
            emit(&c, sink, ctx);
        }
}

/* ---- dispatch ------------------------------------------------------------------------------------------ */

void conf_generate_index(px_op op, crng *r, case_sink sink, void *ctx) {
    static const gen_spec expand = {make_expand, k_any, 10, 8, 3, 0, 5, 3000};
    static const gen_spec prod = {make_reduce_prod, k_prod, 9, 8, 3, 1, 4, 600};
    static const gen_spec argmin = {make_argmin, k_ordered, 9, 8, 4, 1, 3, 2000};
    static const gen_spec elements = {make_elements, k_any, 10, 12, 4, 1, 4, 1500};
    static const gen_spec nd = {make_nd, k_any, 10, 12, 4, 1, 4, 1500};
    static const gen_spec topk = {make_topk, k_ordered, 9, 10, 4, 1, 3, 2000};
    switch (op) {
    case PX_OP_EXPAND: generate(op, &expand, r, sink, ctx); break;
    case PX_OP_REDUCE_PROD: generate(op, &prod, r, sink, ctx); break;
    case PX_OP_ARGMIN: generate(op, &argmin, r, sink, ctx); break;
    case PX_OP_GATHER_ELEMENTS: case PX_OP_SCATTER_ELEMENTS: generate(op, &elements, r, sink, ctx); break;
    case PX_OP_GATHER_ND: case PX_OP_SCATTER_ND: generate(op, &nd, r, sink, ctx); break;
    case PX_OP_TOPK: generate(op, &topk, r, sink, ctx); break;
    default:
        if (op >= PX_OP_NOT && op <= PX_OP_BITWISE_NOT) gen_elementwise(op, r, sink, ctx);
        break;
    }
}
