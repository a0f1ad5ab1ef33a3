/* Conformance oracle: matmul, softmax, log_softmax, rms_norm, layer_norm,
 * rope, attention, swiglu — in double, from the text of ops.h. See oracle.h
 * for how the tolerances are derived. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_internal.h"

static int norm_axis(int64_t axis, int32_t rank) {
    if (axis < 0) axis += rank;
    return axis < 0 || axis >= rank ? -1 : (int)axis;
}

static int present(const otensor *in, int32_t n_in, int32_t i) { return i < n_in && in[i].data != NULL; }

/* ---- matmul ----------------------------------------------------------------------- */

static int eval_matmul(const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                       char *msg, size_t msg_cap) {
    const otensor *A = &in[0], *B = &in[1];
    int tb = px_attr_int(attrs, n_attrs, "trans_b", 0) != 0;
    if (A->rank < 2 || B->rank < 2) return OFAIL("matmul: ranks");
    int64_t M = A->ne[A->rank - 2], K = A->ne[A->rank - 1];
    int64_t Kb = tb ? B->ne[B->rank - 1] : B->ne[B->rank - 2], N = tb ? B->ne[B->rank - 2] : B->ne[B->rank - 1];
    if (K != Kb) return OFAIL("matmul: K differs");
    int32_t rb;
    int64_t ne[PX_MAX_DIMS];
    if (obroadcast(A->rank - 2, A->ne, B->rank - 2, B->ne, &rb, ne)) return OFAIL("matmul: batch dims");
    ne[rb] = M;
    ne[rb + 1] = N;
    if (ores_init(out, A->dtype, rb + 2, ne)) return OFAIL("out of memory");
    double *a = ot_decode(A), *b = ot_decode(B), *bias = present(in, n_in, 2) ? ot_decode(&in[2]) : NULL;
    if (!a || !b) {
        free(a);
        free(b);
        free(bias);
        return OFAIL("decode failed");
    }
    int q = oracle_is_quant(B->dtype);
    int32_t bs = q ? oracle_block_size(B->dtype) : 1;
    oiter it;
    oit_init(&it, rb, ne);
    oit_bcast(&it, 0, A->rank - 2, A->ne);
    oit_bcast(&it, 1, B->rank - 2, B->ne);
    int64_t nb = 1;
    for (int i = 0; i < rb; i++) nb *= ne[i];
    for (int64_t bi = 0; bi < nb; bi++, oit_next(&it)) {
        const double *ab = a + it.off[0] * M * K, *bb = b + it.off[1] * K * N;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double s = 0, mag = 0, var = 0, blk = 0;
                for (int64_t k0 = 0; k0 < K; k0 += bs) {
                    double amax = 0, bsq = 0, part = 0;
                    for (int64_t k = k0; k < k0 + bs && k < K; k++) {
                        double x = ab[m * K + k], y = tb ? bb[n * K + k] : bb[k * N + n];
                        part += x * y;
                        mag += fabs(x * y);
                        if (fabs(x) > amax) amax = fabs(x);
                        bsq += y * y;
                    }
                    s += part;
                    blk += fabs(part);
                    if (q) var += bsq * (amax / 254) * (amax / 254) / 3;
                }
                double t = OU * (double)(K + 3) * mag;
                /* 8-bit activations: rounding noise, and the f16 scale of
                 * each activation block (relative 2^-11 of its partial sum) */
                if (q) t += 6 * sqrt(var) + ldexp(1.0, -10) * blk;
                /* F16/BF16 weights: F32 activations may be rounded to the
                 * weight's type first (relative 2^-11 / 2^-8 per element) */
                if (tb && A->dtype == PX_F32 && (B->dtype == PX_F16 || B->dtype == PX_BF16))
                    t += ldexp(1.0, B->dtype == PX_F16 ? -11 : -8) * mag;
                if (bias) {
                    s += bias[n];
                    t += 2 * OU * fabs(bias[n]);
                }
                int64_t o = (bi * M + m) * N + n;
                out->v[o] = s;
                out->tol[o] = t;
            }
    }
    free(a);
    free(b);
    free(bias);
    return 0;
}

/* ---- softmax, log_softmax ------------------------------------------------------------ */

static int eval_softmax(const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                        char *msg, size_t msg_cap) {
    const otensor *X = &in[0];
    double scale = px_attr_float(attrs, n_attrs, "scale", 1.0);
    if (X->rank < 1) return OFAIL("softmax: rank 0");
    if (ores_init(out, X->dtype, X->rank, X->ne)) return OFAIL("out of memory");
    double *x = ot_decode(X), *mask = present(in, n_in, 1) ? ot_decode(&in[1]) : NULL;
    if (!x) return OFAIL("decode failed");
    int64_t cols = X->ne[X->rank - 1], rows = cols ? out->n / cols : 0;
    double *z = malloc((size_t)(cols ? cols : 1) * sizeof *z), *dz = malloc((size_t)(cols ? cols : 1) * sizeof *dz);
    oiter it;
    oit_init(&it, X->rank, X->ne);
    if (mask) oit_bcast(&it, 0, in[1].rank, in[1].ne);
    for (int64_t r = 0; r < rows; r++) {
        double mx = -INFINITY, dmx = 0;
        for (int64_t c = 0; c < cols; c++, oit_next(&it)) {
            double xs = x[r * cols + c] * scale, mk = mask ? mask[it.off[0]] : 0;
            z[c] = xs + mk;
            dz[c] = 2 * OU * (fabs(xs) + fabs(mk));
            if (z[c] > mx) {
                mx = z[c];
                dmx = dz[c];
            }
        }
        double *v = out->v + r * cols, *t = out->tol + r * cols;
        if (mx == -INFINITY) continue; /* all -inf: zeros */
        double sum = 0, dsum = 0;
        for (int64_t c = 0; c < cols; c++) sum += exp(z[c] - mx);
        for (int64_t c = 0; c < cols; c++) {
            v[c] = exp(z[c] - mx) / sum;
            if (isfinite(z[c])) dsum += v[c] * (dz[c] + 4 * OU * fabs(z[c] - mx));
        }
        for (int64_t c = 0; c < cols; c++) {
            double e = isfinite(z[c]) ? dz[c] + dmx + 4 * OU * fabs(z[c] - mx) : 0;
            t[c] = v[c] * (e + dmx + dsum + OU * (double)(cols + 8));
        }
    }
    free(z);
    free(dz);
    free(x);
    free(mask);
    return 0;
}

static int eval_log_softmax(const px_attr *attrs, int32_t n_attrs, const otensor *in, oresult *out, char *msg,
                            size_t msg_cap) {
    const otensor *X = &in[0];
    int ax = norm_axis(px_attr_int(attrs, n_attrs, "axis", -1), X->rank);
    if (ax < 0) return OFAIL("log_softmax: bad axis");
    if (ores_init(out, X->dtype, X->rank, X->ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    if (!x) return OFAIL("decode failed");
    int64_t outer = 1, inner = 1, dim = X->ne[ax];
    for (int i = 0; i < ax; i++) outer *= X->ne[i];
    for (int i = ax + 1; i < X->rank; i++) inner *= X->ne[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t e = 0; e < inner; e++) {
            double mx = -INFINITY, s = 0;
            for (int64_t k = 0; k < dim; k++) mx = fmax(mx, x[(o * dim + k) * inner + e]);
            for (int64_t k = 0; k < dim; k++) s += exp(x[(o * dim + k) * inner + e] - mx);
            double ls = log(s);
            for (int64_t k = 0; k < dim; k++) {
                int64_t i = (o * dim + k) * inner + e;
                out->v[i] = x[i] - mx - ls;
                out->tol[i] = OU * (4 * (fabs(x[i]) + fabs(mx)) + 2 * (double)(dim + 8) + 4 * fabs(out->v[i]));
            }
        }
    free(x);
    return 0;
}

/* ---- normalisation -------------------------------------------------------------------------- */

static int eval_norm(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in,
                     oresult *out, char *msg, size_t msg_cap) {
    const otensor *X = &in[0];
    int rms = op == PX_OP_RMS_NORM;
    double eps = px_attr_float(attrs, n_attrs, "eps", rms ? 1e-6 : 1e-5);
    if (X->rank < 1) return OFAIL("norm: rank 0");
    if (ores_init(out, X->dtype, X->rank, X->ne)) return OFAIL("out of memory");
    double *x = ot_decode(X);
    double *w = present(in, n_in, 1) ? ot_decode(&in[1]) : NULL;
    double *b = !rms && present(in, n_in, 2) ? ot_decode(&in[2]) : NULL;
    if (!x) return OFAIL("decode failed");
    int64_t D = X->ne[X->rank - 1], rows = D ? out->n / D : 0;
    double dn = (double)D;
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = x + r * D;
        double mean = 0, sq = 0, mabs = 0;
        for (int64_t i = 0; i < D; i++) {
            mean += xr[i];
            sq += xr[i] * xr[i];
            mabs += fabs(xr[i]);
        }
        mean /= dn;
        sq /= dn;
        mabs /= dn;
        double var = 0;
        for (int64_t i = 0; i < D; i++) var += (xr[i] - mean) * (xr[i] - mean);
        var /= dn;
        for (int64_t i = 0; i < D; i++) {
            double wi = w ? w[i] : 1, bi = b ? b[i] : 0, v, t;
            if (rms) {
                double den = sqrt(sq + eps);
                v = xr[i] / den * wi;
                t = fabs(v) * OU * (dn + 16);
            } else {
                double den = sqrt(var + eps), c = xr[i] - mean;
                v = c / den * wi + bi;
                /* cancellation in x - mean, and a one-pass variance */
                t = fabs(wi) * OU * (dn + 4) * (mabs + fabs(xr[i])) / den +
                    fabs(c / den * wi) * OU * (dn + 8) * (sq + eps) / (var + eps) + 4 * OU * fabs(v) +
                    2 * OU * fabs(bi);
            }
            out->v[r * D + i] = v;
            out->tol[r * D + i] = t;
        }
    }
    free(x);
    free(w);
    free(b);
    return 0;
}

/* ---- rope ------------------------------------------------------------------------------------ */

static int eval_rope(const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out, char *msg,
                     size_t msg_cap) {
    const otensor *X = &in[0], *P = &in[1];
    if (X->rank != 2 && X->rank != 3) return OFAIL("rope: rank");
    int64_t T = X->ne[0], H = X->rank == 3 ? X->ne[1] : 1, D = X->ne[X->rank - 1];
    int64_t nd = px_attr_int(attrs, n_attrs, "n_dims", D), mode = px_attr_int(attrs, n_attrs, "mode", 0);
    double base = px_attr_float(attrs, n_attrs, "freq_base", 10000.0);
    double fs = px_attr_float(attrs, n_attrs, "freq_scale", 1.0);
    if (nd <= 0 || nd % 2 || nd > D || (mode != 0 && mode != 2)) return OFAIL("rope: attrs");
    if (ores_init(out, X->dtype, X->rank, X->ne)) return OFAIL("out of memory");
    double *x = ot_decode(X), *pos = ot_decode(P), *ff = present(in, n_in, 2) ? ot_decode(&in[2]) : NULL;
    if (!x || !pos) {
        free(x);
        free(pos);
        free(ff);
        return OFAIL("decode failed");
    }
    memcpy(out->v, x, (size_t)out->n * sizeof *x); /* dims >= n_dims pass through */
    int64_t h2 = nd / 2;
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            const double *xr = x + (t * H + h) * D;
            double *vr = out->v + (t * H + h) * D, *tr = out->tol + (t * H + h) * D;
            for (int64_t i = 0; i < h2; i++) {
                double theta = pos[t] * fs * pow(base, -2.0 * (double)i / (double)nd);
                if (ff) theta /= ff[i];
                int64_t i0 = mode == 0 ? 2 * i : i, i1 = mode == 0 ? 2 * i + 1 : i + h2;
                double x0 = xr[i0], x1 = xr[i1], c = cos(theta), s = sin(theta);
                vr[i0] = x0 * c - x1 * s;
                vr[i1] = x0 * s + x1 * c;
                double tl = (fabs(x0) + fabs(x1)) * (fabs(theta) * OU * ((double)h2 + 10) + 4 * OU);
                tr[i0] = tl;
                tr[i1] = tl;
            }
        }
    free(x);
    free(pos);
    free(ff);
    return 0;
}

/* ---- attention --------------------------------------------------------------------------------- */

/* Store the rows of `src` ([T, row]) into `cache` ([C, row], values) at rows
 * pos[i], converted to the cache dtype; quantum[] gets the Q8_0 step. */
static void cache_store(px_dtype cdt, double *cache, double *quantum, const double *src, const double *pos,
                        int64_t T, int64_t row) {
    for (int64_t i = 0; i < T; i++) {
        int64_t r = (int64_t)pos[i];
        double *dst = cache + r * row;
        if (cdt == PX_Q8_0) {
            oracle_q8_0_roundtrip(src + i * row, row, dst, quantum + r * row);
        } else {
            for (int64_t e = 0; e < row; e++)
                dst[e] = cdt == PX_F16 ? oracle_round_f16(src[i * row + e]) : oracle_round_f32(src[i * row + e]);
        }
    }
}

static int eval_attention(const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                          char *msg, size_t msg_cap) {
    const otensor *Q = &in[0], *Kt = &in[1], *V = &in[2];
    if (Q->rank != 3 || Kt->rank != 3 || V->rank != 3) return OFAIL("attention: ranks");
    int64_t T = Q->ne[0], Hq = Q->ne[1], D = Q->ne[2], Tk = Kt->ne[0], Hkv = Kt->ne[1], Dv = V->ne[2];
    if (Hkv == 0 || Hq % Hkv) return OFAIL("attention: heads");
    int cache = present(in, n_in, 3) && present(in, n_in, 4);
    int has_pos = present(in, n_in, 5), has_mask = present(in, n_in, 6);
    if (cache && !has_pos) return OFAIL("attention: cache without positions");
    int causal = px_attr_int(attrs, n_attrs, "causal", 1) != 0;
    int64_t window = px_attr_int(attrs, n_attrs, "window", 0);
    double softcap = px_attr_float(attrs, n_attrs, "softcap", 0.0);
    double scale = px_attr_float(attrs, n_attrs, "scale", 1.0 / sqrt((double)D));
    int64_t ne[3] = {T, Hq, Dv};
    if (ores_init(out, Q->dtype, 3, ne)) return OFAIL("out of memory");
    double *q = ot_decode(Q), *k = ot_decode(Kt), *v = ot_decode(V);
    double *pos = has_pos ? ot_decode(&in[5]) : NULL, *mask = has_mask ? ot_decode(&in[6]) : NULL;
    double *keys = k, *vals = v, *kq = NULL, *vq = NULL;
    int64_t N = Tk;
    px_dtype cdt = cache ? in[3].dtype : PX_F32;
    int rc = 0;
    if (cache) {
        int64_t C = in[3].ne[0];
        keys = ot_decode(&in[3]);
        vals = ot_decode(&in[4]);
        kq = calloc((size_t)(C * Hkv * D + 1), sizeof *kq);
        vq = calloc((size_t)(C * Hkv * Dv + 1), sizeof *vq);
        N = 0;
        for (int64_t i = 0; i < T; i++) {
            if (pos[i] < 0 || pos[i] >= (double)C) {
                snprintf(msg, msg_cap, "attention: position %g outside the cache of %lld rows", pos[i], (long long)C);
                rc = 1;
            }
            if ((int64_t)pos[i] + 1 > N) N = (int64_t)pos[i] + 1;
        }
        if (!rc) {
            cache_store(cdt, keys, kq, k, pos, T, Hkv * D);
            cache_store(cdt, vals, vq, v, pos, T, Hkv * Dv);
        }
    }
    /* mask broadcasts against [T, number of keys]; in cache form the key
     * axis of the mask is the cache's row axis. */
    int64_t mr = 0, mc = 0;
    if (has_mask) {
        const otensor *Mk = &in[6];
        mc = Mk->rank >= 1 ? Mk->ne[Mk->rank - 1] : 1;
        mr = Mk->rank >= 2 ? Mk->ne[0] : 1;
    }
    double *s = malloc((size_t)(N + 1) * sizeof *s), *ds = malloc((size_t)(N + 1) * sizeof *ds);
    int64_t G = Hq / Hkv;
    for (int64_t t = 0; t < T && !rc; t++) {
        double qp = has_pos ? pos[t] : (double)t;
        for (int64_t h = 0; h < Hq; h++) {
            int64_t hk = h / G;
            const double *qr = q + (t * Hq + h) * D;
            double qmax = 0;
            for (int64_t d = 0; d < D; d++) qmax = fmax(qmax, fabs(qr[d]));
            double mx = -INFINITY, dmx = 0;
            for (int64_t j = 0; j < N; j++) {
                int vis = (!causal || (double)j <= qp) && (window <= 0 || (double)j > qp - (double)window);
                if (!vis) {
                    s[j] = -INFINITY;
                    continue;
                }
                const double *kr = keys + (j * Hkv + hk) * D;
                double dot = 0, mag = 0;
                for (int64_t d = 0; d < D; d++) {
                    dot += qr[d] * kr[d];
                    mag += fabs(qr[d] * kr[d]);
                }
                double sv = dot * scale, e = OU * (double)(D + 4) * mag * fabs(scale) + 4 * OU * fabs(sv);
                if (kq) {
                    double qs = 0;
                    for (int64_t d = 0; d < D; d++) qs = fmax(qs, kq[(j * Hkv + hk) * D + d]);
                    e += 2 * qmax * qs * fabs(scale);
                }
                if (softcap > 0) {
                    sv = softcap * tanh(sv / softcap);
                    e += 8 * OU * softcap;
                }
                if (has_mask) {
                    double mk = mask[(mr == 1 ? 0 : t) * mc + (mc == 1 ? 0 : j)];
                    sv += mk;
                    e += OU * fabs(mk);
                }
                s[j] = sv;
                ds[j] = e;
                if (sv > mx) {
                    mx = sv;
                    dmx = e;
                }
            }
            double *o = out->v + (t * Hq + h) * Dv, *ot = out->tol + (t * Hq + h) * Dv;
            if (mx == -INFINITY) continue; /* sees no key: zeros */
            double sum = 0;
            for (int64_t j = 0; j < N; j++)
                if (s[j] != -INFINITY) sum += exp(s[j] - mx);
            for (int64_t j = 0; j < N; j++) {
                if (s[j] == -INFINITY) continue;
                double p = exp(s[j] - mx) / sum, rel = 2 * ds[j] + 2 * dmx + OU * (double)(N + 8);
                const double *vr = vals + (j * Hkv + hk) * Dv;
                for (int64_t d = 0; d < Dv; d++) {
                    o[d] += p * vr[d];
                    ot[d] += p * fabs(vr[d]) * (rel + OU * (double)(N + 4));
                    if (vq) ot[d] += p * vq[(j * Hkv + hk) * Dv + d];
                }
            }
        }
    }
    free(s);
    free(ds);
    if (cache) {
        free(keys);
        free(vals);
    }
    free(kq);
    free(vq);
    free(q);
    free(k);
    free(v);
    free(pos);
    free(mask);
    return rc;
}

/* ---- swiglu ---------------------------------------------------------------------------------- */

static int eval_swiglu(const otensor *in, oresult *out, char *msg, size_t msg_cap) {
    if (ores_init(out, in[0].dtype, in[0].rank, in[0].ne)) return OFAIL("out of memory");
    double *g = ot_decode(&in[0]), *u = ot_decode(&in[1]);
    if (!g || !u) {
        free(g);
        free(u);
        return OFAIL("decode failed");
    }
    for (int64_t i = 0; i < out->n; i++) {
        double sg = 1 / (1 + exp(-g[i])), si = g[i] * sg;
        double dsi = fabs(g[i] * sg * (1 + g[i] * (1 - sg)));
        out->v[i] = si * u[i];
        out->tol[i] = fabs(u[i]) * (8 * OU * fabs(si) + 4 * OU * dsi + 8 * OU * (1 + fabs(g[i]))) + 3 * OU * fabs(out->v[i]);
    }
    free(g);
    free(u);
    return 0;
}

int oracle_nn(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
              char *msg, size_t msg_cap) {
    switch (op) {
    case PX_OP_MATMUL: return eval_matmul(attrs, n_attrs, in, n_in, out, msg, msg_cap);
    case PX_OP_SOFTMAX: return eval_softmax(attrs, n_attrs, in, n_in, out, msg, msg_cap);
    case PX_OP_LOG_SOFTMAX: return eval_log_softmax(attrs, n_attrs, in, out, msg, msg_cap);
    case PX_OP_RMS_NORM:
    case PX_OP_LAYER_NORM: return eval_norm(op, attrs, n_attrs, in, n_in, out, msg, msg_cap);
    case PX_OP_ROPE: return eval_rope(attrs, n_attrs, in, n_in, out, msg, msg_cap);
    case PX_OP_ATTENTION: return eval_attention(attrs, n_attrs, in, n_in, out, msg, msg_cap);
    case PX_OP_SWIGLU: return eval_swiglu(in, out, msg, msg_cap);
    default: break;
    }
    int rc = oracle_index(op, attrs, n_attrs, in, n_in, out, msg, msg_cap);
    if (rc != ORACLE_NOT_MINE) return rc;
    rc = oracle_vision(op, attrs, n_attrs, in, n_in, out, msg, msg_cap);
    if (rc != ORACLE_NOT_MINE) return rc;
    rc = oracle_grid(op, attrs, n_attrs, in, n_in, out, msg, msg_cap);
    if (rc != ORACLE_NOT_MINE) return rc;
    return OFAIL("the oracle has no op %d", (int)op);
}
