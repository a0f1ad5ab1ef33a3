/* Conformance oracle for the ops appended for the ONNX importer, EXPAND..TOPK:
 * logical, unary math, mod/bitshift/bitwise, REDUCE_PROD, ARGMIN,
 * gather/scatter (elements and ND) and TOPK, evaluated in double from the
 * text of ops.h (ONNX semantics). Tolerances follow oracle.h: exact ops get
 * tol 0; the transcendental unary ops 8U|v| + 4U|x f'(x)| + 8U(1 + |x|);
 * products U(n + 3)|v|; scatter add/mul the F32 error of each combine plus
 * the rounding of each intermediate to the data's dtype. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_internal.h"

static int nax(int64_t axis, int32_t rank) {
    if (axis < 0) axis += rank;
    return axis < 0 || axis >= rank ? -1 : (int)axis;
}

static int is_signed(px_dtype t) { return t == PX_I8 || t == PX_I16 || t == PX_I32 || t == PX_I64; }

/* The integer of dtype t whose two's complement bits are the low bits of
 * `bits` (wrap-around). */
static double wrap_int(px_dtype t, uint64_t bits) {
    int w = 8 * oracle_type_size(t);
    if (t == PX_BOOL) return bits != 0;
    if (w < 64) bits &= (1ull << w) - 1;
    if (is_signed(t) && w < 64 && (bits >> (w - 1)) & 1) return (double)bits - ldexp(1.0, w);
    return is_signed(t) ? (double)(int64_t)bits : (double)bits;
}

static uint64_t ibits(double v) { return v < 0 ? (uint64_t)(int64_t)v : (uint64_t)v; }

/* ---- elementwise ------------------------------------------------------------------------- */

static double round_half_even(double x) {
    double r = floor(x), f = x - r;
    if (f > 0.5 || (f == 0.5 && fmod(r, 2.0) != 0)) r += 1;
    return r;
}

/* Float unary ops: the value, *d = |x f'(x)| and *exact. */
static double math1(px_op op, double x, double *d, int *exact) {
    double v;
    *d = 0;
    *exact = 0;
    switch (op) {
    case PX_OP_FLOOR: *exact = 1; return floor(x);
    case PX_OP_CEIL: *exact = 1; return ceil(x);
    case PX_OP_ROUND: *exact = 1; return round_half_even(x);
    case PX_OP_SIGN: *exact = 1; return x > 0 ? 1 : x < 0 ? -1 : x;
    case PX_OP_RECIPROCAL: *d = 1 / fabs(x); return 1 / x;
    case PX_OP_TAN: v = tan(x); *d = fabs(x) * (1 + v * v); return v;
    case PX_OP_ASIN: *d = fabs(x) / sqrt(1 - x * x); return asin(x);
    case PX_OP_ACOS: *d = fabs(x) / sqrt(1 - x * x); return acos(x);
    case PX_OP_ATAN: *d = fabs(x) / (1 + x * x); return atan(x);
    case PX_OP_SINH: *d = fabs(x) * cosh(x); return sinh(x);
    case PX_OP_COSH: *d = fabs(x * sinh(x)); return cosh(x);
    case PX_OP_ASINH: *d = fabs(x) / sqrt(1 + x * x); return copysign(log(fabs(x) + sqrt(x * x + 1)), x);
    case PX_OP_ACOSH: *d = fabs(x) / sqrt(x * x - 1); return log(x + sqrt(x * x - 1));
    case PX_OP_ATANH: *d = fabs(x) / (1 - x * x); return 0.5 * log((1 + x) / (1 - x));
    case PX_OP_SOFTPLUS: *d = fabs(x) / (1 + exp(-x)); return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    default: return NAN;
    }
}

/* Integer and BOOL ops on exact integers; the result's bits. */
static int int_op(px_op op, px_dtype t, double x, double y, int64_t attr, double *v) {
    int w = 8 * oracle_type_size(t);
    switch (op) {
    case PX_OP_NOT: *v = x == 0; return 0;
    case PX_OP_AND: *v = x != 0 && y != 0; return 0;
    case PX_OP_OR: *v = x != 0 || y != 0; return 0;
    case PX_OP_XOR: *v = (x != 0) != (y != 0); return 0;
    case PX_OP_SIGN: *v = x > 0 ? 1 : x < 0 ? -1 : 0; return 0;
    case PX_OP_MOD: {
        double r = y == 0 ? 0 : fmod(x, y); /* exact below 2^53 */
        if (!attr && r != 0 && (r < 0) != (y < 0)) r += y;
        *v = r;
        return 0;
    }
    case PX_OP_BITSHIFT:
        if (y >= w) *v = 0;
        else *v = attr ? floor(ldexp(x, -(int)y)) : fmod(ldexp(x, (int)y), ldexp(1.0, w));
        return 0;
    case PX_OP_BITWISE_AND: *v = wrap_int(t, ibits(x) & ibits(y)); return 0;
    case PX_OP_BITWISE_OR: *v = wrap_int(t, ibits(x) | ibits(y)); return 0;
    case PX_OP_BITWISE_XOR: *v = wrap_int(t, ibits(x) ^ ibits(y)); return 0;
    case PX_OP_BITWISE_NOT: *v = wrap_int(t, ~ibits(x)); return 0;
    default: return -1;
    }
}

static int is_binary(px_op op) {
    return op == PX_OP_AND || op == PX_OP_OR || op == PX_OP_XOR || op == PX_OP_MOD || op == PX_OP_BITSHIFT ||
           op == PX_OP_BITWISE_AND || op == PX_OP_BITWISE_OR || op == PX_OP_BITWISE_XOR;
}

static int eval_elementwise(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in,
                            oresult *out, char *msg, size_t msg_cap) {
    int bin = is_binary(op);
    if (n_in != 1 + bin) return OFAIL("%s inputs expected", bin ? "2" : "1");
    const otensor *A = &in[0], *B = bin ? &in[1] : &in[0];
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    if (obroadcast(A->rank, A->ne, B->rank, B->ne, &r, ne)) return OFAIL("shapes do not broadcast");
    px_dtype t = A->dtype;
    int cls = op == PX_OP_ISNAN || op == PX_OP_ISINF;
    if (ores_init(out, cls ? PX_BOOL : t, r, ne)) return OFAIL("out of memory");
    double *a = ot_decode(A), *b = ot_decode(B);
    int rc = (!a || !b) ? OFAIL("decode failed") : 0;
    int64_t attr = op == PX_OP_MOD ? px_attr_int(attrs, n_attrs, "fmod", 0) : px_attr_int(attrs, n_attrs, "direction", 0);
    int pos = px_attr_int(attrs, n_attrs, "detect_positive", 1) != 0, neg = px_attr_int(attrs, n_attrs, "detect_negative", 1) != 0;
    oiter it;
    oit_init(&it, r, ne);
    oit_bcast(&it, 0, A->rank, A->ne);
    oit_bcast(&it, 1, B->rank, B->ne);
    out->exact = 1;
    for (int64_t i = 0; i < out->n && !rc; i++, oit_next(&it)) {
        double x = a[it.off[0]], y = b[it.off[1]], v = 0, d = 0;
        int exact = 1;
        if (op == PX_OP_ISNAN) v = isnan(x) != 0;
        else if (op == PX_OP_ISINF) v = isinf(x) && (x > 0 ? pos : neg);
        else if (oracle_is_float(t) && op == PX_OP_MOD) v = fmod(x, y);
        else if (oracle_is_float(t)) v = math1(op, x, &d, &exact);
        else if (int_op(op, t, x, y, attr, &v)) rc = OFAIL("not an integer op");
        out->v[i] = v;
        if (!exact) {
            out->exact = 0;
            out->tol[i] = isfinite(v) ? 8 * OU * fabs(v) + 4 * OU * d + 8 * OU * (1 + fabs(x)) : 0;
        }
    }
    free(a);
    free(b);
    return rc;
}

static int eval_expand(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg, size_t msg_cap) {
    const px_attr *s = px_attr_find(attrs, n_attrs, "shape");
    if (!s || s->type != PX_ATTR_INTS) return OFAIL("expand: attr shape");
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    if (obroadcast(in[0].rank, in[0].ne, s->n, s->u.ints, &r, ne) || r != s->n) return OFAIL("expand: x does not broadcast");
    for (int32_t i = 0; i < r; i++)
        if (ne[i] != s->u.ints[i]) return OFAIL("expand: attr shape is not the broadcast shape");
    if (ores_init(out, in[0].dtype, r, ne)) return OFAIL("out of memory");
    double *x = ot_decode(&in[0]);
    if (!x) return OFAIL("decode failed");
    oiter it;
    oit_init(&it, r, ne);
    oit_bcast(&it, 0, in[0].rank, in[0].ne);
    for (int64_t i = 0; i < out->n; i++, oit_next(&it)) out->v[i] = x[it.off[0]];
    out->exact = 1;
    free(x);
    return 0;
}

/* ---- reduce_prod, argmin ----------------------------------------------------------------- */

static int eval_reduce_prod(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                            size_t msg_cap) {
    const otensor *X = &in[0];
    const px_attr *ax = px_attr_find(attrs, n_attrs, "axes");
    int red[PX_MAX_DIMS], keep = px_attr_int(attrs, n_attrs, "keepdims", 1) != 0;
    for (int i = 0; i < X->rank; i++) red[i] = !ax;
    for (int32_t i = 0; ax && i < ax->n; i++) {
        int a = nax(ax->type == PX_ATTR_INTS ? ax->u.ints[i] : ax->u.i, X->rank);
        if (a < 0) return OFAIL("reduce_prod: bad axis");
        red[a] = 1;
    }
    int64_t ne[PX_MAX_DIMS], one[PX_MAX_DIMS], ost[PX_MAX_DIMS], cnt = 1;
    int32_t r = 0;
    for (int i = 0; i < X->rank; i++) {
        one[i] = red[i] ? 1 : X->ne[i];
        cnt *= red[i] ? X->ne[i] : 1;
        if (!red[i] || keep) ne[r++] = one[i];
    }
    if (ores_init(out, X->dtype, r, ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    uint64_t *ip = calloc((size_t)(out->n ? out->n : 1), sizeof *ip);
    if (!x || !ip) {
        free(x);
        free(ip);
        return OFAIL("out of memory");
    }
    for (int64_t i = 0; i < out->n; i++) {
        out->v[i] = 1;
        ip[i] = 1;
    }
    ostrides(X->rank, one, ost);
    oiter it;
    oit_init(&it, X->rank, X->ne);
    for (int i = 0; i < X->rank; i++) it.st[0][i] = red[i] ? 0 : ost[i];
    for (int64_t i = 0, n = ot_numel(X); i < n; i++, oit_next(&it)) {
        out->v[it.off[0]] *= x[i];
        ip[it.off[0]] *= ibits(x[i]);
    }
    int fl = oracle_is_float(X->dtype);
    for (int64_t i = 0; i < out->n; i++) {
        if (!fl) out->v[i] = wrap_int(X->dtype, ip[i]);
        else out->tol[i] = OU * (double)(cnt + 3) * fabs(out->v[i]);
    }
    free(x);
    free(ip);
    return 0;
}

static int eval_argmin(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                       size_t msg_cap) {
    const otensor *X = &in[0];
    int ax = nax(px_attr_int(attrs, n_attrs, "axis", 0), X->rank);
    int keep = px_attr_int(attrs, n_attrs, "keepdims", 1) != 0, last = px_attr_int(attrs, n_attrs, "select_last_index", 0) != 0;
    if (ax < 0) return OFAIL("argmin: bad axis");
    if (X->ne[ax] == 0) return OFAIL("argmin over an empty axis is not specified");
    int64_t ne[PX_MAX_DIMS], outer = 1, inner = 1, dim = X->ne[ax];
    int32_t r = 0;
    for (int i = 0; i < X->rank; i++) {
        if (i != ax || keep) ne[r++] = i == ax ? 1 : X->ne[i];
        if (i < ax) outer *= X->ne[i];
        if (i > ax) inner *= X->ne[i];
    }
    if (ores_init(out, PX_I64, r, ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) return OFAIL("decode failed");
    for (int64_t o = 0; o < outer; o++)
        for (int64_t e = 0; e < inner; e++) {
            const double *line = x + o * dim * inner + e;
            int64_t best = 0;
            for (int64_t k = 1; k < dim; k++)
                if (line[k * inner] < line[best * inner] || (last && line[k * inner] == line[best * inner])) best = k;
            out->v[o * inner + e] = (double)best;
        }
    out->exact = 1;
    free(x);
    return 0;
}

/* ---- gather and scatter --------------------------------------------------------------------- */

/* Combine an update into acc (reduction 0 none, 1 add, 2 mul, 3 max, 4 min)
 * in the data's dtype; *tol grows by the F32 error of the step and the
 * rounding of the intermediate. */
static void combine(px_dtype t, int red, double *acc, double *tol, double u) {
    double v = red == 0 ? u : red == 1 ? *acc + u : red == 2 ? *acc * u : red == 3 ? fmax(*acc, u) : fmin(*acc, u);
    if (!oracle_is_float(t)) {
        uint64_t a = ibits(*acc), b = ibits(u);
        if (red == 1 || red == 2) v = wrap_int(t, red == 1 ? a + b : a * b);
    } else if (red == 0) {
        *tol = 0;
    } else if (red == 1) {
        *tol += OU * (fabs(*acc) + fabs(u)) + oracle_store_tol(t, v);
    } else if (red == 2) {
        *tol = *tol * fabs(u) + 3 * OU * fabs(v) + oracle_store_tol(t, v);
    }
    *acc = v;
}

/* Data position of an index, or -1 (out of range: message in msg). */
static int64_t index_at(double idx, int64_t dim, char *msg, size_t msg_cap) {
    int64_t k = (int64_t)idx;
    if (k < 0) k += dim;
    if (k >= 0 && k < dim) return k;
    snprintf(msg, msg_cap, "index %lld out of range for a dim of %lld", (long long)idx, (long long)dim);
    return -1;
}

/* GATHER_ELEMENTS and SCATTER_ELEMENTS: indices in row-major order. */
static int eval_elements(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                         size_t msg_cap) {
    const otensor *D = &in[0], *I = &in[1];
    int ax = nax(px_attr_int(attrs, n_attrs, "axis", 0), D->rank);
    int red = (int)px_attr_int(attrs, n_attrs, "reduction", 0), scatter = op == PX_OP_SCATTER_ELEMENTS;
    if (ax < 0 || I->rank != D->rank) return OFAIL("elements: bad axis or ranks");
    if (ores_init(out, D->dtype, scatter ? D->rank : I->rank, scatter ? D->ne : I->ne)) return OFAIL("out of memory");
    double *d = ot_decode(D), *idx = ot_decode(I), *u = scatter ? ot_decode(&in[2]) : NULL;
    int rc = (!d || !idx || (scatter && !u)) ? OFAIL("decode failed") : 0;
    int64_t dst[PX_MAX_DIMS];
    ostrides(D->rank, D->ne, dst);
    if (scatter && !rc) memcpy(out->v, d, (size_t)out->n * sizeof *d);
    oiter it; /* over the indices; operand 0: data offset without the axis */
    oit_init(&it, I->rank, I->ne);
    for (int i = 0; i < I->rank; i++) it.st[0][i] = i == ax ? 0 : dst[i];
    for (int64_t j = 0, n = ot_numel(I); j < n && !rc; j++, oit_next(&it)) {
        int64_t k = index_at(idx[j], D->ne[ax], msg, msg_cap);
        if (k < 0) {
            rc = 1;
            break;
        }
        int64_t p = it.off[0] + k * dst[ax];
        if (scatter) combine(D->dtype, red, &out->v[p], &out->tol[p], u[j]);
        else out->v[j] = d[p];
    }
    out->exact = !scatter || red == 0 || red >= 3 || !oracle_is_float(D->dtype);
    free(d);
    free(idx);
    free(u);
    return rc;
}

/* GATHER_ND (batch_dims b) and SCATTER_ND (b = 0): tuples in order. */
static int eval_nd(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                   size_t msg_cap) {
    const otensor *D = &in[0], *I = &in[1];
    int scatter = op == PX_OP_SCATTER_ND, red = (int)px_attr_int(attrs, n_attrs, "reduction", 0);
    int64_t b = scatter ? 0 : px_attr_int(attrs, n_attrs, "batch_dims", 0), q = I->rank ? I->ne[I->rank - 1] : -1;
    if (q < 0 || b < 0 || b >= I->rank || b + q > D->rank) return OFAIL("nd: bad indices shape or batch_dims");
    int64_t ne[PX_MAX_DIMS], dst[PX_MAX_DIMS], tuples = 1, batches = 1, slice = 1;
    int32_t r = 0;
    for (int32_t i = 0; i + 1 < I->rank; i++) ne[r++] = I->ne[i], tuples *= I->ne[i];
    for (int32_t i = 0; i < b; i++) batches *= I->ne[i];
    for (int32_t i = (int32_t)(b + q); i < D->rank; i++) ne[r++] = D->ne[i], slice *= D->ne[i];
    if (ores_init(out, D->dtype, scatter ? D->rank : r, scatter ? D->ne : ne)) return OFAIL("out of memory");
    ostrides(D->rank, D->ne, dst);
    double *d = ot_decode(D), *idx = ot_decode(I), *u = scatter ? ot_decode(&in[2]) : NULL;
    int rc = (!d || !idx || (scatter && !u)) ? OFAIL("decode failed") : 0;
    if (scatter && !rc) memcpy(out->v, d, (size_t)out->n * sizeof *d);
    for (int64_t t = 0; t < tuples && !rc; t++) {
        int64_t p = b ? t / (tuples / batches) * dst[b - 1] : 0; /* the batch's first element */
        for (int64_t c = 0; c < q && !rc; c++) {
            int64_t k = index_at(idx[t * q + c], D->ne[b + c], msg, msg_cap);
            if (k < 0) rc = 1;
            p += k * dst[b + c];
        }
        for (int64_t e = 0; e < slice && !rc; e++) {
            if (scatter) combine(D->dtype, red, &out->v[p + e], &out->tol[p + e], u[t * slice + e]);
            else out->v[t * slice + e] = d[p + e];
        }
    }
    out->exact = !scatter || red == 0 || red >= 3 || !oracle_is_float(D->dtype);
    free(d);
    free(idx);
    free(u);
    return rc;
}

/* ---- topk ------------------------------------------------------------------------------------------ */

typedef struct tk_entry {
    int rank;     /* 0 sorts first: NaN when largest, numbers when smallest */
    double key;   /* -value when largest */
    int64_t idx;
} tk_entry;

static int tk_cmp(const void *pa, const void *pb) {
    const tk_entry *a = pa, *b = pb;
    if (a->rank != b->rank) return a->rank - b->rank;
    if (a->key != b->key) return a->key < b->key ? -1 : 1; /* NaNs have key 0: by index */
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int eval_topk(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg, size_t msg_cap) {
    const otensor *X = &in[0];
    int ax = nax(px_attr_int(attrs, n_attrs, "axis", -1), X->rank), largest = px_attr_int(attrs, n_attrs, "largest", 1) != 0;
    int64_t k = px_attr_int(attrs, n_attrs, "k", -1);
    if (ax < 0 || k < 0 || k > X->ne[ax]) return OFAIL("topk: bad axis or k");
    int64_t ne[PX_MAX_DIMS], outer = 1, inner = 1, dim = X->ne[ax];
    memcpy(ne, X->ne, sizeof ne);
    ne[ax] = k;
    for (int i = 0; i < ax; i++) outer *= X->ne[i];
    for (int i = ax + 1; i < X->rank; i++) inner *= X->ne[i];
    if (ores_init(out, PX_I64, X->rank, ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    tk_entry *line = malloc((size_t)(dim ? dim : 1) * sizeof *line);
    int rc = (!x || !line) ? OFAIL("out of memory") : 0;
    for (int64_t o = 0; o < outer && !rc; o++)
        for (int64_t e = 0; e < inner; e++) {
            for (int64_t j = 0; j < dim; j++) {
                double v = x[(o * dim + j) * inner + e];
                line[j].rank = isnan(v) ? !largest : largest;
                line[j].key = isnan(v) ? 0 : largest ? -v : v;
                line[j].idx = j;
            }
            qsort(line, (size_t)dim, sizeof *line, tk_cmp);
            for (int64_t j = 0; j < k; j++) out->v[(o * k + j) * inner + e] = (double)line[j].idx;
        }
    out->exact = 1;
    free(x);
    free(line);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------------- */

int oracle_index(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                 char *msg, size_t msg_cap) {
    switch (op) {
    case PX_OP_EXPAND: return eval_expand(attrs, n_attrs, in, out, msg, msg_cap);
    case PX_OP_REDUCE_PROD: return eval_reduce_prod(attrs, n_attrs, in, out, msg, msg_cap);
    case PX_OP_ARGMIN: return eval_argmin(attrs, n_attrs, in, out, msg, msg_cap);
    case PX_OP_GATHER_ELEMENTS: case PX_OP_SCATTER_ELEMENTS:
        return eval_elements(op, attrs, n_attrs, in, out, msg, msg_cap);
    case PX_OP_GATHER_ND: case PX_OP_SCATTER_ND: return eval_nd(op, attrs, n_attrs, in, out, msg, msg_cap);
    case PX_OP_TOPK: return eval_topk(attrs, n_attrs, in, out, msg, msg_cap);
    default:
        if (op >= PX_OP_NOT && op <= PX_OP_BITWISE_NOT)
            return eval_elementwise(op, attrs, n_attrs, in, n_in, out, msg, msg_cap);
        return ORACLE_NOT_MINE;
    }
}
