/* Conformance oracle: elementwise ops, comparisons, where, gather, layout
 * ops, reductions, cast, cumsum, argmax, set_rows, arange. The numeric ops
 * (matmul, softmax, norms, rope, attention, swiglu) are in oracle_nn.c.
 * Everything is computed in double from the inputs' exact values; see
 * oracle.h for the tolerances. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_internal.h"

/* ---- shared helpers -------------------------------------------------------------- */

int64_t ot_numel(const otensor *t) {
    int64_t n = 1;
    for (int32_t i = 0; i < t->rank; i++) n *= t->ne[i];
    return n;
}

double *ot_decode(const otensor *t) {
    if (!t || !t->data) return NULL;
    int64_t n = ot_numel(t);
    double *v = calloc((size_t)(n ? n : 1), sizeof *v);
    if (!v) return NULL;
    if (oracle_decode(t->dtype, t->data, n, v)) {
        free(v);
        return NULL;
    }
    return v;
}

int ores_init(oresult *r, px_dtype dt, int32_t rank, const int64_t *ne) {
    memset(r, 0, sizeof *r);
    r->dtype = dt;
    r->rank = rank;
    r->n = 1;
    for (int32_t i = 0; i < rank; i++) {
        r->ne[i] = ne[i];
        r->n *= ne[i];
    }
    r->v = calloc((size_t)(r->n ? r->n : 1), sizeof *r->v);
    r->tol = calloc((size_t)(r->n ? r->n : 1), sizeof *r->tol);
    return r->v && r->tol ? 0 : -1;
}

void oresult_free(oresult *r) {
    if (!r) return;
    free(r->v);
    free(r->tol);
    r->v = r->tol = NULL;
}

void ostrides(int32_t rank, const int64_t *ne, int64_t *st) {
    int64_t s = 1;
    for (int32_t i = rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= ne[i];
    }
}

void oit_init(oiter *it, int32_t rank, const int64_t *ne) {
    memset(it, 0, sizeof *it);
    it->r = rank;
    for (int32_t i = 0; i < rank; i++) it->ne[i] = ne[i];
}

void oit_bcast(oiter *it, int k, int32_t rank, const int64_t *ne) {
    int64_t st[PX_MAX_DIMS];
    ostrides(rank, ne, st);
    for (int32_t d = 0; d < it->r; d++) {
        int32_t j = d - (it->r - rank);
        it->st[k][d] = (j < 0 || ne[j] == 1) ? 0 : st[j];
    }
}

void oit_next(oiter *it) {
    for (int32_t d = it->r - 1; d >= 0; d--) {
        it->idx[d]++;
        for (int k = 0; k < 4; k++) it->off[k] += it->st[k][d];
        if (it->idx[d] < it->ne[d]) return;
        for (int k = 0; k < 4; k++) it->off[k] -= it->st[k][d] * it->ne[d];
        it->idx[d] = 0;
    }
}

int obroadcast(int32_t ra, const int64_t *a, int32_t rb, const int64_t *b, int32_t *ro, int64_t *o) {
    int32_t r = ra > rb ? ra : rb;
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - ra), ib = i - (r - rb);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da == db || db == 1) o[i] = da;
        else if (da == 1) o[i] = db;
        else return -1;
    }
    *ro = r;
    return 0;
}

static int norm_axis(int64_t axis, int32_t rank) {
    if (axis < 0) axis += rank;
    return axis < 0 || axis >= rank ? -1 : (int)axis;
}

/* Range of an integer dtype. */
static void int_range(px_dtype t, double *lo, double *hi) {
    switch (t) {
    case PX_I8: *lo = -128; *hi = 127; break;
    case PX_I16: *lo = -32768; *hi = 32767; break;
    case PX_I32: *lo = -2147483648.0; *hi = 2147483647.0; break;
    case PX_I64: *lo = -9223372036854775808.0; *hi = 9223372036854775807.0; break;
    case PX_U8: *lo = 0; *hi = 255; break;
    case PX_U16: *lo = 0; *hi = 65535; break;
    case PX_U32: *lo = 0; *hi = 4294967295.0; break;
    case PX_U64: *lo = 0; *hi = 18446744073709551615.0; break;
    case PX_BOOL: *lo = 0; *hi = 1; break;
    case PX_I4: *lo = -8; *hi = 7; break;
    case PX_U4: *lo = 0; *hi = 15; break;
    case PX_I2: *lo = -2; *hi = 1; break;
    case PX_U2: *lo = 0; *hi = 3; break;
    default: *lo = -INFINITY; *hi = INFINITY; break;
    }
}

/* The value a float dtype stores for x (round to nearest even). */
static double round_to(px_dtype t, double x) {
    switch (t) {
    case PX_F32: return oracle_round_f32(x);
    case PX_F16: return oracle_round_f16(x);
    case PX_BF16: return oracle_round_bf16(x);
    default: return x;
    }
}

/* px_convert's rules for one value to a plain dtype; CAST's saturate = 0
 * (float8: inf/NaN; integers of up to 32 bits: wrap around) and round_mode. */
static double convert_to(px_dtype t, double x, int saturate, int round_mode) {
    if (t == PX_F8E4M3FN || t == PX_F8E4M3FNUZ || t == PX_F8E5M2 || t == PX_F8E5M2FNUZ || t == PX_F8E8M0 ||
        t == PX_F4E2M1)
        return oracle_round_small(t, x, saturate, round_mode);
    if (oracle_is_float(t)) return round_to(t, x);
    if (t == PX_BOOL) return x != 0; /* NaN is non-zero */
    if (isnan(x) || (!saturate && isinf(x))) return 0;
    double lo, hi;
    int_range(t, &lo, &hi);
    double v = trunc(x);
    if (!saturate) { /* v modulo 2^bits, into [lo, hi] */
        double m = hi - lo + 1;
        v = fmod(v, m);
        if (v < lo) v += m;
        if (v > hi) v -= m;
        return v;
    }
    return v < lo ? lo : v > hi ? hi : v;
}

/* Absolute maximum of each block of `bs` values, stored per element. */
static void block_amax(const double *x, int64_t n, int32_t bs, double *out) {
    for (int64_t b = 0; b < n; b += bs) {
        double m = 0;
        for (int64_t i = b; i < b + bs && i < n; i++)
            if (fabs(x[i]) > m) m = fabs(x[i]);
        for (int64_t i = b; i < b + bs && i < n; i++) out[i] = m;
    }
}

/* ---- binary elementwise and comparisons ------------------------------------------------ */

static int int_pow(double a, double b, double *out) {
    if (b < 0) return -1;
    double r = 1;
    for (int64_t i = 0; i < (int64_t)b; i++) r *= a;
    *out = r;
    return 0;
}

static int eval_binary(px_op op, const otensor *in, oresult *out, char *msg, size_t msg_cap) {
    const otensor *A = &in[0], *B = &in[1];
    if (A->dtype != B->dtype) return OFAIL("binary: dtypes differ");
    int cmp = op >= PX_OP_EQUAL && op <= PX_OP_GREATER_EQUAL;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    if (obroadcast(A->rank, A->ne, B->rank, B->ne, &r, ne)) return OFAIL("binary: shapes do not broadcast");
    if (ores_init(out, cmp ? PX_BOOL : A->dtype, r, ne)) return OFAIL("out of memory");
    double *a = ot_decode(A), *b = ot_decode(B);
    if (!a || !b) {
        free(a);
        free(b);
        return OFAIL("decode failed");
    }
    int fl = oracle_is_float(A->dtype);
    double lo, hi;
    int_range(A->dtype, &lo, &hi);
    oiter it;
    oit_init(&it, r, ne);
    oit_bcast(&it, 0, A->rank, A->ne);
    oit_bcast(&it, 1, B->rank, B->ne);
    int rc = 0;
    for (int64_t i = 0; i < out->n; i++, oit_next(&it)) {
        double x = a[it.off[0]], y = b[it.off[1]], v = 0, t = 0;
        switch (op) {
        case PX_OP_ADD: v = x + y; t = OU * (fabs(x) + fabs(y)); break;
        case PX_OP_SUB: v = x - y; t = OU * (fabs(x) + fabs(y)); break;
        case PX_OP_MUL: v = x * y; t = 3 * OU * fabs(v); break;
        case PX_OP_DIV:
            if (fl) {
                v = x / y;
                t = 3 * OU * fabs(v);
            } else {
                v = y == 0 ? 0 : trunc(x / y);
            }
            break;
        case PX_OP_POW:
            if (fl) {
                v = pow(x, y);
                t = OU * fabs(v) * (8 + 2 * fabs(y * log(fabs(x))));
            } else if (int_pow(x, y, &v)) {
                rc = OFAIL("pow: negative integer exponent is not specified");
            }
            break;
        case PX_OP_MIN: v = x < y ? x : y; break;
        case PX_OP_MAX: v = x > y ? x : y; break;
        case PX_OP_EQUAL: v = x == y; break;
        case PX_OP_NOT_EQUAL: v = x != y; break;
        case PX_OP_LESS: v = x < y; break;
        case PX_OP_LESS_EQUAL: v = x <= y; break;
        case PX_OP_GREATER: v = x > y; break;
        case PX_OP_GREATER_EQUAL: v = x >= y; break;
        default: rc = OFAIL("not a binary op"); break;
        }
        if (!fl && !cmp && (v < lo || v > hi)) rc = OFAIL("integer overflow is not specified (%g)", v);
        out->v[i] = v;
        out->tol[i] = t;
    }
    free(a);
    free(b);
    return rc;
}

static int eval_where(const otensor *in, oresult *out, char *msg, size_t msg_cap) {
    int32_t r1, r;
    int64_t n1[PX_MAX_DIMS], ne[PX_MAX_DIMS];
    if (obroadcast(in[0].rank, in[0].ne, in[1].rank, in[1].ne, &r1, n1) ||
        obroadcast(r1, n1, in[2].rank, in[2].ne, &r, ne))
        return OFAIL("where: shapes do not broadcast");
    if (ores_init(out, in[1].dtype, r, ne)) return OFAIL("out of memory");
    double *c = ot_decode(&in[0]), *a = ot_decode(&in[1]), *b = ot_decode(&in[2]);
    int rc = (!c || !a || !b) ? OFAIL("decode failed") : 0;
    if (!rc) {
        oiter it;
        oit_init(&it, r, ne);
        for (int k = 0; k < 3; k++) oit_bcast(&it, k, in[k].rank, in[k].ne);
        for (int64_t i = 0; i < out->n; i++, oit_next(&it)) out->v[i] = c[it.off[0]] != 0 ? a[it.off[1]] : b[it.off[2]];
        out->exact = 1;
    }
    free(c);
    free(a);
    free(b);
    return rc;
}

/* ---- unary --------------------------------------------------------------------------------- */

static double phi(double x) { return exp(-0.5 * x * x) / sqrt(2 * M_PI); }

static int eval_unary(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                      size_t msg_cap) {
    const otensor *X = &in[0];
    if (ores_init(out, X->dtype, X->rank, X->ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) return OFAIL("decode failed");
    int approx = (int)px_attr_int(attrs, n_attrs, "approximate", 0);
    double sc = px_attr_float(attrs, n_attrs, "scale", 1.0), bias = px_attr_float(attrs, n_attrs, "bias", 0.0);
    for (int64_t i = 0; i < out->n; i++) {
        double u = x[i], v = 0, d = 0, floor_ = 8 * OU * (1 + fabs(u)), rel = 8 * OU;
        switch (op) {
        case PX_OP_NEG: v = -u; rel = floor_ = 0; break;
        case PX_OP_ABS: v = fabs(u); rel = floor_ = 0; break;
        case PX_OP_RELU: v = u > 0 ? u : 0; rel = floor_ = 0; break;
        case PX_OP_EXP: v = exp(u); d = fabs(u) * v; floor_ = 0; break;
        case PX_OP_LOG: v = log(u); d = 1; break;
        case PX_OP_SQRT: v = sqrt(u); d = 0.5 * v; floor_ = 0; break;
        case PX_OP_RSQRT: v = 1 / sqrt(u); d = 0.5 * v; floor_ = 0; break;
        case PX_OP_SIN: v = sin(u); d = fabs(u * cos(u)); break;
        case PX_OP_COS: v = cos(u); d = fabs(u * sin(u)); break;
        case PX_OP_TANH: v = tanh(u); d = fabs(u) * (1 - v * v); break;
        case PX_OP_ERF: v = erf(u); d = fabs(u) * 2 / sqrt(M_PI) * exp(-u * u); break;
        case PX_OP_SIGMOID: v = 1 / (1 + exp(-u)); d = fabs(u) * v * (1 - v); break;
        case PX_OP_SILU: {
            double s = 1 / (1 + exp(-u));
            v = u * s;
            d = fabs(u * s * (1 + u * (1 - s)));
            break;
        }
        case PX_OP_GELU:
            if (approx) v = 0.5 * u * (1 + tanh(sqrt(2 / M_PI) * (u + 0.044715 * u * u * u)));
            else v = 0.5 * u * (1 + erf(u / sqrt(2.0)));
            d = fabs(u * (0.5 * (1 + erf(u / sqrt(2.0))) + u * phi(u)));
            break;
        case PX_OP_SCALE:
            v = u * sc + bias;
            rel = 0;
            floor_ = 2 * OU * (fabs(u * sc) + fabs(bias));
            break;
        default: free(x); return OFAIL("not a unary op");
        }
        out->v[i] = v;
        out->tol[i] = isfinite(v) ? rel * fabs(v) + 4 * OU * d + floor_ : 0;
    }
    free(x);
    return 0;
}

/* ---- gather ------------------------------------------------------------------------------------ */

static int eval_gather(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                       size_t msg_cap) {
    const otensor *D = &in[0], *I = &in[1];
    int ax = norm_axis(px_attr_int(attrs, n_attrs, "axis", 0), D->rank);
    if (ax < 0) return OFAIL("gather: bad axis");
    int q = oracle_is_quant(D->dtype);
    px_dtype odt = q ? (px_dtype)px_attr_int(attrs, n_attrs, "dtype", PX_F32) : D->dtype;
    int64_t ne[PX_MAX_DIMS];
    int32_t r = 0;
    for (int i = 0; i < ax; i++) ne[r++] = D->ne[i];
    for (int i = 0; i < I->rank; i++) ne[r++] = I->ne[i];
    for (int i = ax + 1; i < D->rank; i++) ne[r++] = D->ne[i];
    if (ores_init(out, odt, r, ne)) return OFAIL("out of memory");
    double *d = ot_decode(D), *idx = ot_decode(I);
    if (!d || !idx) {
        free(d);
        free(idx);
        return OFAIL("decode failed");
    }
    double *amax = NULL;
    if (q) {
        int64_t n = ot_numel(D);
        amax = calloc((size_t)(n ? n : 1), sizeof *amax);
        if (amax) block_amax(d, n, oracle_block_size(D->dtype), amax);
    }
    int64_t outer = 1, inner = 1, dim = D->ne[ax], ni = ot_numel(I);
    for (int i = 0; i < ax; i++) outer *= D->ne[i];
    for (int i = ax + 1; i < D->rank; i++) inner *= D->ne[i];
    int rc = 0;
    for (int64_t o = 0; o < outer && !rc; o++)
        for (int64_t j = 0; j < ni && !rc; j++) {
            int64_t k = (int64_t)idx[j];
            if (k < 0) k += dim;
            if (k < 0 || k >= dim) {
                rc = 1;
                snprintf(msg, msg_cap, "index %lld out of range for dim %lld", (long long)idx[j], (long long)dim);
                break;
            }
            for (int64_t e = 0; e < inner; e++) {
                int64_t src = (o * dim + k) * inner + e, dst = (o * ni + j) * inner + e;
                out->v[dst] = d[src];
                out->tol[dst] = amax ? 8 * OU * amax[src] : 0;
            }
        }
    out->exact = !q && odt == D->dtype;
    free(d);
    free(idx);
    free(amax);
    return rc;
}

/* ---- layout --------------------------------------------------------------------------------------- */

static int eval_concat(const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                       char *msg, size_t msg_cap) {
    int ax = norm_axis(px_attr_int(attrs, n_attrs, "axis", 0), in[0].rank);
    if (ax < 0) return OFAIL("concat: bad axis");
    int64_t ne[PX_MAX_DIMS];
    memcpy(ne, in[0].ne, sizeof ne);
    ne[ax] = 0;
    for (int32_t i = 0; i < n_in; i++) ne[ax] += in[i].ne[ax];
    if (ores_init(out, in[0].dtype, in[0].rank, ne)) return OFAIL("out of memory");
    int64_t outer = 1, inner = 1, pos = 0;
    for (int i = 0; i < ax; i++) outer *= ne[i];
    for (int i = ax + 1; i < in[0].rank; i++) inner *= ne[i];
    double *x[64];
    if (n_in > 64) return OFAIL("too many inputs");
    for (int32_t i = 0; i < n_in; i++) x[i] = ot_decode(&in[i]);
    for (int64_t o = 0; o < outer; o++)
        for (int32_t i = 0; i < n_in; i++) {
            int64_t len = in[i].ne[ax] * inner;
            for (int64_t e = 0; e < len; e++) out->v[pos++] = x[i][o * len + e];
        }
    for (int32_t i = 0; i < n_in; i++) free(x[i]);
    out->exact = 1;
    return 0;
}

/* ONNX Slice: start/end of one axis and the output length. */
static int64_t slice_axis(int64_t dim, int64_t s, int64_t e, int64_t step, int64_t *start) {
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t len;
    if (step > 0) {
        s = s < 0 ? 0 : s > dim ? dim : s;
        e = e < 0 ? 0 : e > dim ? dim : e;
        len = e > s ? (e - s + step - 1) / step : 0;
    } else {
        s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
        e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
        len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    *start = s;
    return len;
}

static int eval_slice(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                      size_t msg_cap) {
    const otensor *X = &in[0];
    const px_attr *sa = px_attr_find(attrs, n_attrs, "starts"), *ea = px_attr_find(attrs, n_attrs, "ends");
    const px_attr *aa = px_attr_find(attrs, n_attrs, "axes"), *pa = px_attr_find(attrs, n_attrs, "steps");
    if (!sa || !ea || sa->type != PX_ATTR_INTS || ea->type != PX_ATTR_INTS || sa->n != ea->n)
        return OFAIL("slice: starts/ends");
    int64_t ne[PX_MAX_DIMS], start[PX_MAX_DIMS] = {0}, step[PX_MAX_DIMS];
    for (int i = 0; i < X->rank; i++) {
        ne[i] = X->ne[i];
        step[i] = 1;
    }
    for (int32_t i = 0; i < sa->n; i++) {
        int ax = norm_axis(aa ? aa->u.ints[i] : i, X->rank);
        if (ax < 0) return OFAIL("slice: bad axis");
        step[ax] = pa ? pa->u.ints[i] : 1;
        if (step[ax] == 0) return OFAIL("slice: step 0");
        ne[ax] = slice_axis(X->ne[ax], sa->u.ints[i], ea->u.ints[i], step[ax], &start[ax]);
    }
    if (ores_init(out, X->dtype, X->rank, ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) return OFAIL("decode failed");
    int64_t st[PX_MAX_DIMS];
    ostrides(X->rank, X->ne, st);
    oiter it;
    oit_init(&it, X->rank, ne);
    for (int i = 0; i < X->rank; i++) {
        it.st[0][i] = st[i] * step[i];
        it.off[0] += start[i] * st[i];
    }
    for (int64_t i = 0; i < out->n; i++, oit_next(&it)) out->v[i] = x[it.off[0]];
    free(x);
    out->exact = 1;
    return 0;
}

static int eval_permute(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                        size_t msg_cap) {
    const otensor *X = &in[0];
    const px_attr *pa = px_attr_find(attrs, n_attrs, "perm");
    if (!pa || pa->type != PX_ATTR_INTS || pa->n != X->rank) return OFAIL("permute: bad perm");
    int64_t ne[PX_MAX_DIMS], st[PX_MAX_DIMS];
    ostrides(X->rank, X->ne, st);
    oiter it;
    for (int i = 0; i < X->rank; i++) ne[i] = X->ne[norm_axis(pa->u.ints[i], X->rank)];
    if (ores_init(out, X->dtype, X->rank, ne)) return OFAIL("out of memory");
    oit_init(&it, X->rank, ne);
    for (int i = 0; i < X->rank; i++) it.st[0][i] = st[norm_axis(pa->u.ints[i], X->rank)];
    double *x = ot_decode(X);
    if (!x) return OFAIL("decode failed");
    for (int64_t i = 0; i < out->n; i++, oit_next(&it)) out->v[i] = x[it.off[0]];
    free(x);
    out->exact = 1;
    return 0;
}

static int eval_copy(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                     size_t msg_cap, int reshape) {
    const otensor *X = &in[0];
    int32_t rank = X->rank;
    int64_t ne[PX_MAX_DIMS];
    memcpy(ne, X->ne, sizeof ne);
    if (reshape) {
        const px_attr *sh = px_attr_find(attrs, n_attrs, "shape");
        if (!sh || sh->type != PX_ATTR_INTS) return OFAIL("reshape: the oracle needs attr shape");
        rank = sh->n;
        for (int i = 0; i < rank; i++) ne[i] = sh->u.ints[i];
    }
    if (ores_init(out, X->dtype, rank, ne)) return OFAIL("out of memory");
    if (out->n != ot_numel(X)) return OFAIL("reshape: element counts differ");
    double *x = ot_decode(X);
    if (!x) return OFAIL("decode failed");
    memcpy(out->v, x, (size_t)out->n * sizeof *x);
    free(x);
    out->exact = 1;
    return 0;
}

/* ---- reductions ----------------------------------------------------------------------------------- */

static int reduced_axes(const px_attr *attrs, int32_t n_attrs, int32_t rank, int *red) {
    const px_attr *a = px_attr_find(attrs, n_attrs, "axes");
    for (int i = 0; i < rank; i++) red[i] = !a;
    if (!a) return 0;
    int32_t n = a->type == PX_ATTR_INTS ? a->n : 1;
    for (int32_t i = 0; i < n; i++) {
        int ax = norm_axis(a->type == PX_ATTR_INTS ? a->u.ints[i] : a->u.i, rank);
        if (ax < 0) return -1;
        red[ax] = 1;
    }
    return 0;
}

static int eval_reduce(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                       size_t msg_cap) {
    const otensor *X = &in[0];
    int red[PX_MAX_DIMS];
    if (reduced_axes(attrs, n_attrs, X->rank, red)) return OFAIL("reduce: bad axes");
    int keep = px_attr_int(attrs, n_attrs, "keepdims", 1) != 0;
    int64_t one[PX_MAX_DIMS] = {0}, ne[PX_MAX_DIMS] = {0}, ost[PX_MAX_DIMS] = {0}, cnt = 1;
    int32_t r = 0;
    for (int i = 0; i < X->rank; i++) {
        one[i] = red[i] ? 1 : X->ne[i];
        if (red[i]) cnt *= X->ne[i];
        if (!red[i] || keep) ne[r++] = one[i];
    }
    if (ores_init(out, X->dtype, r, ne)) return OFAIL("out of memory");
    int fl = oracle_is_float(X->dtype);
    if (!fl && cnt == 0 && op != PX_OP_REDUCE_SUM) return OFAIL("reduce: empty integer max/min is not specified");
    double *x = ot_decode(X);
    double *mag = calloc((size_t)(out->n ? out->n : 1), sizeof *mag);
    if (!x || !mag) {
        free(x);
        free(mag);
        return OFAIL("decode failed");
    }
    double init = op == PX_OP_REDUCE_MAX ? -INFINITY : op == PX_OP_REDUCE_MIN ? INFINITY : 0;
    for (int64_t i = 0; i < out->n; i++) out->v[i] = init;
    ostrides(X->rank, one, ost);
    oiter it;
    oit_init(&it, X->rank, X->ne);
    for (int i = 0; i < X->rank; i++) it.st[0][i] = red[i] ? 0 : ost[i];
    int64_t n = ot_numel(X);
    for (int64_t i = 0; i < n; i++, oit_next(&it)) {
        double *v = &out->v[it.off[0]];
        switch (op) {
        case PX_OP_REDUCE_MAX: if (x[i] > *v) *v = x[i]; break;
        case PX_OP_REDUCE_MIN: if (x[i] < *v) *v = x[i]; break;
        default: *v += x[i]; mag[it.off[0]] += fabs(x[i]); break;
        }
    }
    for (int64_t i = 0; i < out->n; i++) {
        if (op == PX_OP_REDUCE_SUM || op == PX_OP_REDUCE_MEAN) out->tol[i] = fl ? OU * (double)(cnt + 3) * mag[i] : 0;
        if (op == PX_OP_REDUCE_MEAN) {
            out->v[i] = cnt ? out->v[i] / (double)cnt : NAN;
            out->tol[i] = cnt ? out->tol[i] / (double)cnt + 2 * OU * fabs(out->v[i]) : 0;
        }
    }
    free(x);
    free(mag);
    return 0;
}

/* ---- cast ------------------------------------------------------------------------------------------- */

static int eval_cast(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                     size_t msg_cap) {
    const otensor *X = &in[0];
    px_dtype dt = (px_dtype)px_attr_int(attrs, n_attrs, "dtype", -1);
    if (oracle_block_size(dt) < 1) return OFAIL("cast: bad dtype");
    if (ores_init(out, dt, X->rank, X->ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) return OFAIL("decode failed");
    int64_t n = out->n;
    if (oracle_is_quant(dt)) {
        /* Quantize: the source as F32 values, within the block's allowance. */
        block_amax(x, n, oracle_block_size(dt), out->tol);
        for (int64_t i = 0; i < n; i++) {
            out->v[i] = oracle_round_f32(x[i]);
            out->tol[i] *= oracle_quant_c(dt);
        }
    } else if (oracle_is_quant(X->dtype)) {
        /* Dequantize (F32 arithmetic), then store in dt. */
        block_amax(x, n, oracle_block_size(X->dtype), out->tol);
        for (int64_t i = 0; i < n; i++) {
            out->v[i] = x[i];
            out->tol[i] *= 8 * OU;
        }
        if (!oracle_is_float(dt)) {
            free(x);
            return OFAIL("cast: block type to integer is not tested");
        }
    } else {
        int sat = px_attr_int(attrs, n_attrs, "saturate", 1) != 0, rm = (int)px_attr_int(attrs, n_attrs, "round_mode", 0);
        for (int64_t i = 0; i < n; i++) out->v[i] = convert_to(dt, x[i], sat, rm);
        out->exact = 1;
    }
    free(x);
    return 0;
}

/* ---- cumsum, argmax ----------------------------------------------------------------------------------- */

static int eval_cumsum(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                       size_t msg_cap) {
    const otensor *X = &in[0];
    int ax = norm_axis(px_attr_int(attrs, n_attrs, "axis", 0), X->rank);
    int excl = px_attr_int(attrs, n_attrs, "exclusive", 0) != 0, rev = px_attr_int(attrs, n_attrs, "reverse", 0) != 0;
    if (ax < 0) return OFAIL("cumsum: bad axis");
    if (ores_init(out, X->dtype, X->rank, X->ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) return OFAIL("decode failed");
    int64_t outer = 1, inner = 1, dim = X->ne[ax];
    for (int i = 0; i < ax; i++) outer *= X->ne[i];
    for (int i = ax + 1; i < X->rank; i++) inner *= X->ne[i];
    int fl = oracle_is_float(X->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t e = 0; e < inner; e++) {
            double s = 0, m = 0;
            for (int64_t k = 0; k < dim; k++) {
                int64_t j = rev ? dim - 1 - k : k, idx = (o * dim + j) * inner + e;
                if (!excl) {
                    s += x[idx];
                    m += fabs(x[idx]);
                }
                out->v[idx] = s;
                out->tol[idx] = fl ? OU * (double)(k + 3) * m : 0;
                if (excl) {
                    s += x[idx];
                    m += fabs(x[idx]);
                }
            }
        }
    free(x);
    return 0;
}

static int eval_argmax(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                       size_t msg_cap) {
    const otensor *X = &in[0];
    int ax = norm_axis(px_attr_int(attrs, n_attrs, "axis", 0), X->rank);
    int keep = px_attr_int(attrs, n_attrs, "keepdims", 1) != 0;
    if (ax < 0) return OFAIL("argmax: bad axis");
    if (X->ne[ax] == 0) return OFAIL("argmax over an empty axis is not specified");
    int64_t ne[PX_MAX_DIMS];
    int32_t r = 0;
    for (int i = 0; i < X->rank; i++) {
        if (i != ax) ne[r++] = X->ne[i];
        else if (keep) ne[r++] = 1;
    }
    if (ores_init(out, PX_I64, r, ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) return OFAIL("decode failed");
    int64_t outer = 1, inner = 1, dim = X->ne[ax];
    for (int i = 0; i < ax; i++) outer *= X->ne[i];
    for (int i = ax + 1; i < X->rank; i++) inner *= X->ne[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t e = 0; e < inner; e++) {
            int64_t best = 0;
            for (int64_t k = 1; k < dim; k++)
                if (x[(o * dim + k) * inner + e] > x[(o * dim + best) * inner + e]) best = k;
            out->v[o * inner + e] = (double)best;
        }
    free(x);
    out->exact = 1;
    return 0;
}

/* ---- set_rows, arange ------------------------------------------------------------------------------------ */

static int eval_set_rows(const otensor *in, oresult *out, char *msg, size_t msg_cap) {
    const otensor *D = &in[0], *S = &in[1], *I = &in[2];
    if (ores_init(out, D->dtype, D->rank, D->ne)) return OFAIL("out of memory");
    double *d = ot_decode(D), *s = ot_decode(S), *idx = ot_decode(I);
    int rc = (!d || !s || !idx) ? OFAIL("decode failed") : 0;
    int64_t R = D->ne[0], row = R ? out->n / R : 0, n = S->ne[0];
    int q = oracle_is_quant(D->dtype);
    if (!rc) memcpy(out->v, d, (size_t)out->n * sizeof *d);
    for (int64_t i = 0; i < n && !rc; i++) {
        int64_t r = (int64_t)idx[i];
        if (r < 0 || r >= R) {
            snprintf(msg, msg_cap, "set_rows: index %lld out of range [0, %lld)", (long long)r, (long long)R);
            rc = 1;
            break;
        }
        for (int64_t j = 0; j < i; j++)
            if ((int64_t)idx[j] == r) rc = OFAIL("set_rows: duplicate indices are not specified");
        double *dst = out->v + r * row, *tol = out->tol + r * row;
        const double *src = s + i * row;
        if (q) {
            block_amax(src, row, oracle_block_size(D->dtype), tol);
            for (int64_t e = 0; e < row; e++) {
                dst[e] = oracle_round_f32(src[e]);
                tol[e] *= oracle_quant_c(D->dtype);
            }
        } else {
            for (int64_t e = 0; e < row; e++) dst[e] = convert_to(D->dtype, src[e], 1, 0);
        }
    }
    out->exact = !q;
    free(d);
    free(s);
    free(idx);
    return rc;
}

static int eval_arange(const px_attr *attrs, int32_t n_attrs, oresult *out, char *msg, size_t msg_cap) {
    int64_t n = px_attr_int(attrs, n_attrs, "n", -1);
    px_dtype dt = (px_dtype)px_attr_int(attrs, n_attrs, "dtype", PX_F32);
    double start = px_attr_float(attrs, n_attrs, "start", 0), step = px_attr_float(attrs, n_attrs, "step", 1);
    if (n < 0) return OFAIL("arange: the oracle needs attr n");
    if (ores_init(out, dt, 1, &n)) return OFAIL("out of memory");
    for (int64_t i = 0; i < n; i++) {
        double v = start + (double)i * step;
        out->v[i] = oracle_is_float(dt) ? v : convert_to(dt, v, 1, 0);
        out->tol[i] = oracle_is_float(dt) ? 2 * OU * (fabs(start) + fabs((double)i * step)) : 0;
    }
    return 0;
}

/* ---- dispatch -------------------------------------------------------------------------------------------- */

int oracle_eval(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                char *msg, size_t msg_cap) {
    memset(out, 0, sizeof *out);
    if (msg_cap) msg[0] = 0;
    int rc;
    switch (op) {
    case PX_OP_ADD: case PX_OP_SUB: case PX_OP_MUL: case PX_OP_DIV: case PX_OP_POW: case PX_OP_MIN:
    case PX_OP_MAX: case PX_OP_EQUAL: case PX_OP_NOT_EQUAL: case PX_OP_LESS: case PX_OP_LESS_EQUAL:
    case PX_OP_GREATER: case PX_OP_GREATER_EQUAL:
        rc = n_in == 2 ? eval_binary(op, in, out, msg, msg_cap) : OFAIL("needs 2 inputs");
        break;
    case PX_OP_NEG: case PX_OP_ABS: case PX_OP_EXP: case PX_OP_LOG: case PX_OP_SQRT: case PX_OP_RSQRT:
    case PX_OP_SIN: case PX_OP_COS: case PX_OP_TANH: case PX_OP_ERF: case PX_OP_SIGMOID: case PX_OP_RELU:
    case PX_OP_GELU: case PX_OP_SILU: case PX_OP_SCALE:
        rc = eval_unary(op, attrs, n_attrs, in, out, msg, msg_cap);
        break;
    case PX_OP_WHERE: rc = eval_where(in, out, msg, msg_cap); break;
    case PX_OP_GATHER: rc = eval_gather(attrs, n_attrs, in, out, msg, msg_cap); break;
    case PX_OP_CONCAT: rc = eval_concat(attrs, n_attrs, in, n_in, out, msg, msg_cap); break;
    case PX_OP_SLICE: rc = eval_slice(attrs, n_attrs, in, out, msg, msg_cap); break;
    case PX_OP_PERMUTE: rc = eval_permute(attrs, n_attrs, in, out, msg, msg_cap); break;
    case PX_OP_COPY: rc = eval_copy(attrs, n_attrs, in, out, msg, msg_cap, 0); break;
    case PX_OP_RESHAPE: rc = eval_copy(attrs, n_attrs, in, out, msg, msg_cap, 1); break;
    case PX_OP_REDUCE_SUM: case PX_OP_REDUCE_MEAN: case PX_OP_REDUCE_MAX: case PX_OP_REDUCE_MIN:
        rc = eval_reduce(op, attrs, n_attrs, in, out, msg, msg_cap);
        break;
    case PX_OP_CAST: rc = eval_cast(attrs, n_attrs, in, out, msg, msg_cap); break;
    case PX_OP_CUMSUM: rc = eval_cumsum(attrs, n_attrs, in, out, msg, msg_cap); break;
    case PX_OP_ARGMAX: rc = eval_argmax(attrs, n_attrs, in, out, msg, msg_cap); break;
    case PX_OP_SET_ROWS: rc = eval_set_rows(in, out, msg, msg_cap); break;
    case PX_OP_ARANGE: rc = eval_arange(attrs, n_attrs, out, msg, msg_cap); break;
    default: rc = oracle_nn(op, attrs, n_attrs, in, n_in, out, msg, msg_cap); break;
    }
    if (rc) oresult_free(out);
    return rc;
}
