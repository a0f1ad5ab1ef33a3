/* Conformance oracle for GRID_SAMPLE, written from ops.h and the ONNX
 * GridSample definition: per output point, the denormalised coordinate of
 * each spatial dim (ties to even for nearest), border/reflection applied to
 * coordinates outside the borders, then 1, 2 or 4 taps per dim (nearest,
 * linear, cubic with a = -0.75), each tap index mapped by the padding mode
 * (zeros: reads 0). Tolerance: the rounding of a weighted sum of taps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_internal.h"

static double o_reflect(double x, double lo, double hi) {
    double rng = hi - lo;
    if (rng <= 0) return lo;
    double d = x < lo ? lo - x : x > hi ? x - hi : 0;
    if (d == 0) return x;
    long long k = (long long)(d / rng);
    double rem = d - (double)k * rng;
    if (x < lo) return k % 2 == 0 ? lo + rem : hi - rem;
    return k % 2 == 0 ? hi - rem : lo + rem;
}

static long long o_tap(long long i, long long d, int pad, int align) {
    if (pad == 0) return i >= 0 && i < d ? i : -1;
    if (pad == 1) return i < 0 ? 0 : i >= d ? d - 1 : i;
    long long k = (long long)o_reflect((double)i, align ? 0 : -0.5, align ? (double)d - 1 : (double)d - 0.5);
    return k < 0 ? 0 : k >= d ? d - 1 : k;
}

static void o_weights(int mode, double t, double *w) {
    if (mode == 0) {
        w[0] = 1 - t;
        w[1] = t;
        return;
    }
    const double a = -0.75;
    double p[4] = {t + 1, t, 1 - t, 2 - t}; /* distances to the four taps */
    for (int k = 0; k < 4; k++) {
        double x = fabs(p[k]);
        w[k] = x <= 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? ((a * x - 5 * a) * x + 8 * a) * x - 4 * a : 0;
    }
}

static int eval_grid(const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out, char *msg,
                     size_t msg_cap) {
    if (n_in != 2) return OFAIL("grid_sample: needs x and grid");
    const otensor *X = &in[0], *G = &in[1];
    int r = X->rank - 2;
    if (r < 1 || r > 3 || G->rank != X->rank || G->ne[G->rank - 1] != r) return OFAIL("grid_sample: bad shapes");
    int mode = (int)px_attr_int(attrs, n_attrs, "mode", 0), pad = (int)px_attr_int(attrs, n_attrs, "padding", 0);
    int align = px_attr_int(attrs, n_attrs, "align_corners", 0) != 0;
    int64_t ne[PX_MAX_DIMS], osp = 1, isp = 1;
    ne[0] = X->ne[0];
    ne[1] = X->ne[1];
    for (int i = 0; i < r; i++) {
        ne[2 + i] = G->ne[1 + i];
        osp *= G->ne[1 + i];
        isp *= X->ne[2 + i];
    }
    if (ores_init(out, X->dtype, X->rank, ne)) return OFAIL("out of memory");
    double *x = ot_decode(X), *g = ot_decode(G);
    if (!x || !g) {
        free(x);
        free(g);
        return OFAIL("decode failed");
    }
    int ntap = mode == 1 ? 1 : mode == 0 ? 2 : 4;
    for (int64_t n = 0; n < X->ne[0]; n++)
        for (int64_t p = 0; p < osp; p++) {
            long long idx[3][4];
            double w[3][4];
            for (int i = 0; i < r; i++) {
                double d = (double)X->ne[2 + i], nx = g[(n * osp + p) * r + (r - 1 - i)];
                double c = align ? (nx + 1) / 2 * (d - 1) : ((nx + 1) * d - 1) / 2;
                if (mode == 1) c = nearbyint(c);
                double lo = align ? 0 : -0.5, hi = align ? d - 1 : d - 0.5;
                if (c < lo || c > hi) c = pad == 1 ? fmin(fmax(c, 0), d - 1) : pad == 2 ? o_reflect(c, lo, hi) : c;
                long long base = (long long)floor(c);
                if (mode == 1) {
                    idx[i][0] = o_tap((long long)c, (long long)d, pad, align);
                    w[i][0] = 1;
                } else {
                    o_weights(mode, c - floor(c), w[i]);
                    for (int k = 0; k < ntap; k++)
                        idx[i][k] = o_tap(base + (mode == 2 ? k - 1 : k), (long long)d, pad, align);
                }
            }
            int64_t taps = 1;
            for (int i = 0; i < r; i++) taps *= ntap;
            for (int64_t ch = 0; ch < X->ne[1]; ch++) {
                double v = 0, mag = 0;
                for (int64_t t = 0; t < taps; t++) {
                    int64_t rem = t, off = 0, stride = 1;
                    double wt = 1;
                    int zero = 0;
                    for (int i = r - 1; i >= 0; i--) {
                        int j = (int)(rem % ntap);
                        rem /= ntap;
                        if (idx[i][j] < 0) zero = 1;
                        off += idx[i][j] * stride;
                        stride *= X->ne[2 + i];
                        wt *= w[i][j];
                    }
                    if (zero) continue;
                    double term = wt * x[(n * X->ne[1] + ch) * isp + off];
                    v += term;
                    mag += fabs(term);
                }
                int64_t o = (n * X->ne[1] + ch) * osp + p;
                out->v[o] = v;
                out->tol[o] = ORACLE_U * (double)(taps + 16) * mag + 1e-300;
            }
        }
    free(x);
    free(g);
    return 0;
}

int oracle_grid(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out, char *msg,
                size_t msg_cap) {
    if (op != PX_OP_GRID_SAMPLE) return ORACLE_NOT_MINE;
    return eval_grid(attrs, n_attrs, in, n_in, out, msg, msg_cap);
}
