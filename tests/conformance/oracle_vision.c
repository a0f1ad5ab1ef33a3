/* Conformance oracle for the vision ops appended for the ONNX importer,
 * CONV..LRN, evaluated in double from the text of ops.h (ONNX semantics)
 * with plain N-d loops: every output element walks its whole window.
 *
 * Tolerances (oracle.h): CONV and CONV_TRANSPOSE are sums, U(n+3) sum|terms|
 * (bias included); AVG_POOL the sum's bound over the divisor plus U|v|;
 * LP_POOL U|v|((n+3+2p)/p + 4) (a sum of positive powers, then a root);
 * LRN U|v|(beta(size+5) + 6); RESIZE linear/cubic the sum's bound over the
 * product taps plus, for coordinates and weights computed in F32,
 * 8U * sum over axes (1+|x_orig|) * taps * max|x|. MAX_POOL (values and
 * indices), PAD and nearest RESIZE are exact.
 *
 * RESIZE follows ONNX's reference: per axis the n input indices nearest the
 * original coordinate (ties to the lower), within the edge-padded axis,
 * clamped; tf_crop_and_resize gives extrapolation_value outside the input;
 * a scale that is out/in rounded to float counts as out/in exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_internal.h"

#define MAXSP 3

/* An INTS attribute of exactly `want` values (def when absent). 0 or -1. */
static int oints(const px_attr *attrs, int32_t n_attrs, const char *name, int32_t want, int64_t def, int64_t *out) {
    const px_attr *a = px_attr_find(attrs, n_attrs, name);
    if (!a) {
        for (int32_t i = 0; i < want; i++) out[i] = def;
        return 0;
    }
    if (a->type == PX_ATTR_INT && want == 1) {
        out[0] = a->u.i;
        return 0;
    }
    if (a->type != PX_ATTR_INTS || a->n != want) return -1;
    memcpy(out, a->u.ints, sizeof(int64_t) * (size_t)want);
    return 0;
}

/* idx[] <- the multi-index of flat i over dims[0..n) (row-major). */
static void unravel(int64_t i, int32_t n, const int64_t *dims, int64_t *idx) {
    for (int32_t d = n - 1; d >= 0; d--) {
        idx[d] = dims[d] ? i % dims[d] : 0;
        i = dims[d] ? i / dims[d] : 0;
    }
}

static int64_t prod(int32_t n, const int64_t *dims) {
    int64_t p = 1;
    for (int32_t i = 0; i < n; i++) p *= dims[i];
    return p;
}

/* ---- conv, conv_transpose ------------------------------------------------------------------ */

typedef struct owin {
    int32_t n;
    int64_t k[MAXSP], s[MAXSP], d[MAXSP], pb[MAXSP], pe[MAXSP];
} owin;

static int read_win(const px_attr *attrs, int32_t n_attrs, int32_t n, owin *w) {
    int64_t p[2 * MAXSP];
    w->n = n;
    if (oints(attrs, n_attrs, "strides", n, 1, w->s) || oints(attrs, n_attrs, "dilations", n, 1, w->d) ||
        oints(attrs, n_attrs, "pads", 2 * n, 0, p))
        return -1;
    for (int32_t i = 0; i < n; i++) w->pb[i] = p[i], w->pe[i] = p[n + i];
    return 0;
}

static int eval_conv(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                     char *msg, size_t msg_cap) {
    const otensor *X = &in[0], *W = &in[1];
    int has_b = n_in > 2 && in[2].data;
    int32_t n = X->rank - 2;
    owin w;
    if (n < 1 || n > MAXSP || W->rank != X->rank || read_win(attrs, n_attrs, n, &w)) return OFAIL("bad conv shapes or attributes");
    int64_t G = px_attr_int(attrs, n_attrs, "group", 1), C = X->ne[1], N = X->ne[0];
    int tr = op == PX_OP_CONV_TRANSPOSE;
    int64_t Cg = C / G, M = tr ? W->ne[1] * G : W->ne[0], Mg = M / G, opad[MAXSP];
    if (oints(attrs, n_attrs, "output_padding", n, 0, opad)) return OFAIL("bad output_padding");
    int64_t one[PX_MAX_DIMS];
    one[0] = N;
    one[1] = M;
    for (int32_t i = 0; i < n; i++) {
        w.k[i] = W->ne[2 + i];
        int64_t ext = (w.k[i] - 1) * w.d[i] + 1, D = X->ne[2 + i];
        one[2 + i] = tr ? w.s[i] * (D - 1) + opad[i] + ext - w.pb[i] - w.pe[i]
                        : (D + w.pb[i] + w.pe[i] - ext) / w.s[i] + 1;
    }
    if (ores_init(out, X->dtype, X->rank, one)) return OFAIL("out of memory");
    double *x = ot_decode(X), *wt = ot_decode(W), *b = has_b ? ot_decode(&in[2]) : NULL;
    double *mag = calloc((size_t)(out->n ? out->n : 1), sizeof *mag);
    int64_t *cnt = calloc((size_t)(out->n ? out->n : 1), sizeof *cnt);
    int rc = (!x || !wt || (has_b && !b) || !mag || !cnt) ? OFAIL("decode failed") : 0;
    int64_t xs[PX_MAX_DIMS], os[PX_MAX_DIMS], ws[PX_MAX_DIMS], kn = prod(n, w.k), sp = prod(n, X->ne + 2);
    ostrides(X->rank, X->ne, xs);
    ostrides(out->rank, out->ne, os);
    ostrides(W->rank, W->ne, ws);
    /* conv: every output gathers; transposed: every input scatters */
    int64_t outer = tr ? N * C * sp : out->n;
    for (int64_t e = 0; e < outer && !rc; e++) {
        int64_t idx[PX_MAX_DIMS] = {0}, kk[MAXSP] = {0};
        unravel(e, tr ? X->rank : out->rank, tr ? X->ne : out->ne, idx);
        int64_t n0 = idx[0], ch = idx[1], g = tr ? ch / Cg : ch / Mg;
        for (int64_t j = 0; j < (tr ? Mg : Cg) * kn; j++) {
            int64_t cj = j / kn, pos_off = 0;
            unravel(j % kn, n, w.k, kk);
            int ok = 1;
            for (int32_t i = 0; i < n; i++) {
                int64_t p = idx[2 + i] * w.s[i] - w.pb[i] + kk[i] * w.d[i];
                ok &= p >= 0 && p < (tr ? out->ne[2 + i] : X->ne[2 + i]);
                pos_off += p * (tr ? os[2 + i] : xs[2 + i]);
            }
            if (!ok) continue;
            int64_t woff = ch * ws[0] + cj * ws[1], koff = 0; /* w [M, Cg, K] or [C, Mg, K] */
            for (int32_t i = 0; i < n; i++) koff += kk[i] * ws[2 + i];
            if (tr) {
                int64_t o = n0 * os[0] + (g * Mg + cj) * os[1] + pos_off;
                double t = x[e] * wt[woff + koff];
                out->v[o] += t;
                mag[o] += fabs(t);
                cnt[o]++;
            } else {
                double t = x[n0 * xs[0] + (g * Cg + cj) * xs[1] + pos_off] * wt[woff + koff];
                out->v[e] += t;
                mag[e] += fabs(t);
                cnt[e]++;
            }
        }
    }
    for (int64_t e = 0; e < out->n && !rc; e++) {
        int64_t m = (e / os[1]) % M;
        if (b) {
            out->v[e] += b[m];
            mag[e] += fabs(b[m]);
            cnt[e]++;
        }
        out->tol[e] = OU * (double)(cnt[e] + 3) * mag[e];
    }
    free(x);
    free(wt);
    free(b);
    free(mag);
    free(cnt);
    if (rc) oresult_free(out);
    return rc;
}

/* ---- pooling -------------------------------------------------------------------------------- */

static int eval_pool(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                     size_t msg_cap) {
    const otensor *X = &in[0];
    int32_t n = X->rank - 2;
    owin w;
    if (n < 1 || n > MAXSP || read_win(attrs, n_attrs, n, &w) || oints(attrs, n_attrs, "kernel", n, 0, w.k))
        return OFAIL("bad pool shapes or attributes");
    int ceil_mode = px_attr_int(attrs, n_attrs, "ceil_mode", 0) != 0;
    int want_idx = op == PX_OP_MAX_POOL && px_attr_int(attrs, n_attrs, "indices", 0) != 0;
    int cip = px_attr_int(attrs, n_attrs, "count_include_pad", 0) != 0;
    double p = (double)px_attr_int(attrs, n_attrs, "p", 2);
    int64_t one[PX_MAX_DIMS];
    one[0] = X->ne[0];
    one[1] = X->ne[1];
    for (int32_t i = 0; i < n; i++) {
        int64_t D = X->ne[2 + i], num = D + w.pb[i] + w.pe[i] - ((w.k[i] - 1) * w.d[i] + 1);
        int64_t o = (int64_t)(ceil_mode ? ceil((double)num / (double)w.s[i]) : floor((double)num / (double)w.s[i])) + 1;
        if (ceil_mode && (o - 1) * w.s[i] >= D + w.pb[i]) o--; /* the last window starts in the end padding */
        one[2 + i] = o;
    }
    if (ores_init(out, want_idx ? PX_I64 : X->dtype, X->rank, one)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) {
        oresult_free(out);
        return OFAIL("decode failed");
    }
    int64_t xs[PX_MAX_DIMS], kn = prod(n, w.k);
    ostrides(X->rank, X->ne, xs);
    out->exact = op == PX_OP_MAX_POOL;
    for (int64_t e = 0; e < out->n; e++) {
        int64_t idx[PX_MAX_DIMS] = {0}, kk[MAXSP] = {0}, valid = 0, padded = 0, best_at = -1;
        double sum = 0, mag = 0, best = -INFINITY;
        unravel(e, out->rank, out->ne, idx);
        for (int64_t j = 0; j < kn; j++) {
            unravel(j, n, w.k, kk);
            int inside = 1, inpad = 1;
            int64_t off = idx[0] * xs[0] + idx[1] * xs[1];
            for (int32_t i = 0; i < n; i++) {
                int64_t q = idx[2 + i] * w.s[i] - w.pb[i] + kk[i] * w.d[i];
                inside &= q >= 0 && q < X->ne[2 + i];
                inpad &= q >= -w.pb[i] && q < X->ne[2 + i] + w.pe[i];
                off += q * xs[2 + i];
            }
            padded += inpad;
            if (!inside) continue;
            double v = x[off];
            valid++;
            /* max: NaN counts only when nothing else does; the first maximum wins */
            if (best_at < 0 || v > best || (isnan(best) && !isnan(v))) best = v, best_at = off;
            double t = op == PX_OP_LP_POOL ? pow(fabs(v), p) : v;
            sum += t;
            mag += fabs(t);
        }
        if (op == PX_OP_MAX_POOL) {
            out->v[e] = want_idx ? (double)best_at : best_at < 0 ? (oracle_is_int(X->dtype) ? 0 : -INFINITY) : best;
            if (!want_idx && best_at < 0 && oracle_is_int(X->dtype))
                out->v[e] = X->dtype == PX_I8 ? -128 : X->dtype == PX_I16 ? -32768 : X->dtype == PX_I32 ? -2147483648.0
                          : X->dtype == PX_I64 ? -9223372036854775808.0 : 0;
        } else if (op == PX_OP_AVG_POOL) {
            double div = (double)(cip ? padded : valid);
            out->v[e] = sum / div;
            out->tol[e] = OU * ((double)(valid + 3) * mag / div + fabs(out->v[e]));
        } else {
            out->v[e] = pow(sum, 1.0 / p);
            out->tol[e] = OU * out->v[e] * (((double)valid + 3 + 2 * p) / p + 4);
        }
    }
    free(x);
    return 0;
}

/* v as a tensor of dtype t holds it (px_convert: floats round to nearest,
 * integers truncate toward zero, BOOL is v != 0). */
static double as_dtype(px_dtype t, double v) {
    switch (t) {
    case PX_F32: return oracle_round_f32(v);
    case PX_F16: return oracle_round_f16(v);
    case PX_BF16: return oracle_round_bf16(v);
    case PX_BOOL: return v != 0;
    default: return oracle_is_int(t) ? trunc(v) : v;
    }
}

/* ---- pad -------------------------------------------------------------------------------------- */

/* Source index along an axis of n elements (after cropping) for padded
 * position j (j - pads_begin), by reflecting/wrapping step by step. */
static int64_t pad_index(int64_t mode, int64_t j, int64_t n) {
    if (j >= 0 && j < n) return j;
    if (mode == 0) return -1;
    if (mode == 2) return j < 0 ? 0 : n - 1;
    if (mode == 3) {
        while (j < 0) j += n;
        while (j >= n) j -= n;
        return j;
    }
    if (n == 1) return 0;
    while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
    return j;
}

static int eval_pad(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg, size_t msg_cap) {
    const otensor *X = &in[0];
    int32_t r = X->rank;
    int64_t pads[2 * PX_MAX_DIMS], mode = px_attr_int(attrs, n_attrs, "mode", 0), one[PX_MAX_DIMS];
    if (oints(attrs, n_attrs, "pads", 2 * r, 0, pads)) return OFAIL("bad pads");
    double value = px_attr_float(attrs, n_attrs, "value", 0);
    for (int32_t i = 0; i < r; i++) one[i] = X->ne[i] + pads[i] + pads[r + i];
    if (ores_init(out, X->dtype, r, one)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) {
        oresult_free(out);
        return OFAIL("decode failed");
    }
    double cv = as_dtype(X->dtype, value);
    int64_t xs[PX_MAX_DIMS];
    ostrides(r, X->ne, xs);
    out->exact = 1;
    for (int64_t e = 0; e < out->n; e++) {
        int64_t idx[PX_MAX_DIMS] = {0}, off = 0;
        unravel(e, r, one, idx);
        for (int32_t i = 0; i < r && off >= 0; i++) {
            int64_t cb = pads[i] < 0 ? -pads[i] : 0, ce = pads[r + i] < 0 ? -pads[r + i] : 0;
            int64_t j = pad_index(mode, idx[i] - (pads[i] > 0 ? pads[i] : 0), X->ne[i] - cb - ce);
            off = j < 0 ? -1 : off + (cb + j) * xs[i];
        }
        out->v[e] = off < 0 ? cv : x[off];
    }
    free(x);
    return 0;
}

/* ---- resize ------------------------------------------------------------------------------------ */

/* Taps of one output index along one axis: indices (clamped) and weights;
 * ntaps 0 means extrapolate. */
typedef struct otaps {
    int ntaps;
    int64_t idx[64];
    double w[64], x;
} otaps;

static double cubic_aa(double A, double x) {
    x = fabs(x);
    if (x <= 1) return (A + 2) * x * x * x - (A + 3) * x * x + 1;
    if (x < 2) return A * x * x * x - 5 * A * x * x + 8 * A * x - 4 * A;
    return 0;
}

static int axis_taps(const px_attr *attrs, int32_t n_attrs, int32_t axis, int32_t rank, int64_t In, int64_t Out,
                     int64_t o, otaps *t) {
    int64_t mode = px_attr_int(attrs, n_attrs, "mode", 0), coord = px_attr_int(attrs, n_attrs, "coord", 0);
    int64_t nm = px_attr_int(attrs, n_attrs, "nearest_mode", 0);
    int aa = px_attr_int(attrs, n_attrs, "antialias", 0) != 0, excl = px_attr_int(attrs, n_attrs, "exclude_outside", 0) != 0;
    double A = px_attr_float(attrs, n_attrs, "cubic_coeff_a", -0.75);
    const px_attr *sa = px_attr_find(attrs, n_attrs, "scales"), *ra = px_attr_find(attrs, n_attrs, "roi");
    double scale = (double)Out / (double)In;
    if (sa && (float)scale != sa->u.floats[axis]) scale = sa->u.floats[axis];
    double r0 = ra ? ra->u.floats[axis] : 0, r1 = ra ? ra->u.floats[rank + axis] : 1;
    double ow = scale * (double)In, xo, x = (double)o;
    switch (coord) {
    case 4: xo = ow == 1 ? 0 : x * (double)(In - 1) / (ow - 1); break;
    case 1: xo = x / scale; break;
    case 3:
        xo = ow == 1 ? (r1 - r0) * (double)(In - 1) / 2 : x * (r1 - r0) * (double)(In - 1) / (ow - 1);
        xo += r0 * (double)(In - 1);
        break;
    case 2: xo = ow == 1 ? -0.5 : (x + 0.5) / scale - 0.5; break;
    case 5: {
        double adj = (double)Out / ow, center = (double)In / 2, offset = center * (1 - adj);
        xo = offset + (x + 0.5) / scale - 0.5;
        break;
    }
    default: xo = (x + 0.5) / scale - 0.5; break;
    }
    t->x = xo;
    t->ntaps = 0;
    if (coord == 3 && (xo < 0 || xo > (double)(In - 1))) return 0;
    double ratio = xo == floor(xo) ? 1 : xo - floor(xo), c[64];
    int n;
    if (mode == 0) {
        n = 2;
        int up = ratio == 1 ? 1 : nm == 0 ? ratio > 0.5 : nm == 1 ? ratio >= 0.5 : nm == 3;
        c[0] = !up;
        c[1] = up;
    } else if (mode == 1 && !aa) {
        n = 2;
        c[0] = 1 - ratio;
        c[1] = ratio;
    } else if (mode == 2 && !aa) {
        n = 4;
        double r = ratio, q = 1 - ratio;
        c[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
        c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
        c[2] = ((A + 2) * q - (A + 3)) * q * q + 1;
        c[3] = ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A;
    } else {
        double s = scale < 1 ? scale : 1, sum = 0;
        int start = (int)floor((mode == 1 ? -1 : -2) / s) + 1;
        n = 2 - 2 * start;
        if (n > 64) return -1;
        for (int j = 0; j < n; j++) {
            double a = (double)(start + j - ratio) * s;
            c[j] = mode == 1 ? fmin(fmax(1 - fabs(a), 0), 1) : cubic_aa(A, a);
            sum += c[j];
        }
        for (int j = 0; j < n; j++) c[j] /= sum;
    }
    /* the n nearest indices of the edge-padded axis, ties to the lower,
     * picked one by one, then put in order */
    int64_t pw = (n + 1) / 2, chosen[64];
    for (int k = 0; k < n; k++) {
        int64_t best = 0;
        double bd = INFINITY;
        for (int64_t cand = -pw; cand < In + pw; cand++) {
            int used = 0;
            for (int j = 0; j < k; j++) used |= chosen[j] == cand;
            if (!used && fabs(xo - (double)cand) < bd) bd = fabs(xo - (double)cand), best = cand;
        }
        chosen[k] = best;
    }
    for (int k = 1; k < n; k++)
        for (int j = k; j > 0 && chosen[j - 1] > chosen[j]; j--) {
            int64_t tmp = chosen[j];
            chosen[j] = chosen[j - 1];
            chosen[j - 1] = tmp;
        }
    double sum = 0;
    for (int j = 0; j < n; j++) {
        if (excl && mode != 0 && (chosen[j] < 0 || chosen[j] >= In)) c[j] = 0;
        sum += c[j];
    }
    for (int j = 0; j < n; j++) {
        t->idx[j] = chosen[j] < 0 ? 0 : chosen[j] >= In ? In - 1 : chosen[j];
        t->w[j] = excl && mode != 0 ? c[j] / sum : c[j];
    }
    t->ntaps = n;
    return 0;
}

static int eval_resize(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                       size_t msg_cap) {
    const otensor *X = &in[0];
    int32_t r = X->rank;
    int64_t sizes[PX_MAX_DIMS], mode = px_attr_int(attrs, n_attrs, "mode", 0);
    if (r < 1 || oints(attrs, n_attrs, "sizes", r, 0, sizes)) return OFAIL("bad sizes");
    double ev = px_attr_float(attrs, n_attrs, "extrapolation_value", 0);
    if (ores_init(out, X->dtype, r, sizes)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    otaps *tab[PX_MAX_DIMS] = {NULL};
    int rc = x ? 0 : OFAIL("decode failed");
    for (int32_t a = 0; a < r && !rc; a++) {
        tab[a] = calloc((size_t)(sizes[a] ? sizes[a] : 1), sizeof(otaps));
        if (!tab[a]) rc = OFAIL("out of memory");
        for (int64_t o = 0; o < sizes[a] && !rc; o++)
            if (axis_taps(attrs, n_attrs, a, r, X->ne[a], sizes[a], o, &tab[a][o])) rc = OFAIL("too many taps");
    }
    int64_t xs[PX_MAX_DIMS];
    ostrides(r, X->ne, xs);
    out->exact = mode == 0;
    for (int64_t e = 0; e < out->n && !rc; e++) {
        int64_t idx[PX_MAX_DIMS] = {0}, t[PX_MAX_DIMS] = {0}, combos = 1, nt = 0;
        const otaps *ta[PX_MAX_DIMS];
        unravel(e, r, sizes, idx);
        double extra = 0, mx = 0, sum = 0, mag = 0;
        int ext = 0;
        for (int32_t a = 0; a < r; a++) {
            ta[a] = &tab[a][idx[a]];
            ext |= ta[a]->ntaps == 0;
            combos *= ta[a]->ntaps;
            extra += (1 + fabs(ta[a]->x)) * ta[a]->ntaps;
        }
        if (ext) {
            out->v[e] = as_dtype(X->dtype, ev);
            continue;
        }
        for (int64_t k = 0; k < combos; k++) {
            int64_t q = k, off = 0;
            double wv = 1;
            for (int32_t a = r - 1; a >= 0; a--) {
                t[a] = q % ta[a]->ntaps;
                q /= ta[a]->ntaps;
                off += ta[a]->idx[t[a]] * xs[a];
                wv *= ta[a]->w[t[a]];
            }
            mx = fmax(mx, fabs(x[off]));
            if (wv == 0) continue;
            sum += wv * x[off];
            mag += fabs(wv * x[off]);
            nt++;
        }
        out->v[e] = sum;
        out->tol[e] = mode == 0 ? 0 : OU * ((double)(nt + 3) * mag + 8 * extra * mx);
    }
    for (int32_t a = 0; a < r; a++) free(tab[a]);
    free(x);
    if (rc) oresult_free(out);
    return rc;
}

/* ---- lrn ----------------------------------------------------------------------------------------- */

static int eval_lrn(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg, size_t msg_cap) {
    const otensor *X = &in[0];
    int64_t size = px_attr_int(attrs, n_attrs, "size", 0);
    double alpha = px_attr_float(attrs, n_attrs, "alpha", 1e-4), beta = px_attr_float(attrs, n_attrs, "beta", 0.75);
    double bias = px_attr_float(attrs, n_attrs, "bias", 1.0);
    if (X->rank < 2 || size < 1) return OFAIL("bad lrn input or size");
    if (ores_init(out, X->dtype, X->rank, X->ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) {
        oresult_free(out);
        return OFAIL("decode failed");
    }
    int64_t C = X->ne[1], S = prod(X->rank - 2, X->ne + 2);
    for (int64_t e = 0; e < out->n; e++) {
        int64_t c = (e / S) % C, base = e - c * S;
        double sq = 0;
        for (int64_t k = c - (size - 1) / 2; k <= c + size / 2; k++)
            if (k >= 0 && k < C) sq += x[base + k * S] * x[base + k * S];
        out->v[e] = x[e] / pow(bias + alpha / (double)size * sq, beta);
        out->tol[e] = OU * fabs(out->v[e]) * (fabs(beta) * (double)(size + 5) + 6);
    }
    free(x);
    return 0;
}

int oracle_vision(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                  char *msg, size_t msg_cap) {
    switch (op) {
    case PX_OP_CONV: case PX_OP_CONV_TRANSPOSE:
        if (n_in < 2) return OFAIL("conv needs x and w");
        return eval_conv(op, attrs, n_attrs, in, n_in, out, msg, msg_cap);
    case PX_OP_MAX_POOL: case PX_OP_AVG_POOL: case PX_OP_LP_POOL:
        return eval_pool(op, attrs, n_attrs, in, out, msg, msg_cap);
    case PX_OP_PAD: return eval_pad(attrs, n_attrs, in, out, msg, msg_cap);
    case PX_OP_RESIZE: return eval_resize(attrs, n_attrs, in, out, msg, msg_cap);
    case PX_OP_LRN: return eval_lrn(attrs, n_attrs, in, out, msg, msg_cap);
    default: return ORACLE_NOT_MINE;
    }
}
