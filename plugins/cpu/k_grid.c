/* CPU plugin — GRID_SAMPLE (ONNX GridSample): one output point per item,
 * computed in double. Taps outside the input follow the padding mode:
 * zeros (the tap reads 0), border (clamped), reflection (reflected at the
 * borders, which are the pixel centres with align_corners, else the edges). */
#include <math.h>
#include <string.h>

#include "cpu_common.h"

int cpu_grid_sample_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 2 || n->n_outputs < 1 || !cpu_in(n, 0) || !cpu_in(n, 1)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    return cpu_is_float(t) && cpu_in_dt(n, 1) == t && n->outputs[0].dtype == t;
}

typedef struct gs_ctx {
    const px_tensor *X, *G, *O;
    int32_t r;          /* spatial dims */
    int64_t C, in_sp, out_sp;
    int64_t dims[3];    /* input spatial dims, outermost first */
    int mode, pad, align;
} gs_ctx;

static double reflect(double x, double lo, double hi) {
    double rng = hi - lo;
    if (rng <= 0) return lo;
    if (x < lo) {
        double dx = lo - x;
        int64_t k = (int64_t)(dx / rng);
        double rem = dx - (double)k * rng;
        return k % 2 == 0 ? lo + rem : hi - rem;
    }
    if (x > hi) {
        double dx = x - hi;
        int64_t k = (int64_t)(dx / rng);
        double rem = dx - (double)k * rng;
        return k % 2 == 0 ? hi - rem : lo + rem;
    }
    return x;
}

/* Index of tap i along a dim of size d; -1 when it reads zero padding. */
static int64_t tap(const gs_ctx *g, int64_t i, int64_t d) {
    if (g->pad == 0) return i >= 0 && i < d ? i : -1;
    if (g->pad == 1) return i < 0 ? 0 : i >= d ? d - 1 : i;
    double lo = g->align ? 0.0 : -0.5, hi = g->align ? (double)d - 1 : (double)d - 0.5;
    int64_t k = (int64_t)reflect((double)i, lo, hi);
    return k < 0 ? 0 : k >= d ? d - 1 : k;
}

static void cubic(double t, double *w) {
    const double a = -0.75;
    double x = fabs(t);
    w[0] = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
    w[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
    w[2] = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
    w[3] = ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a;
}

static void gs_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const gs_ctx *g = vctx;
    const int32_t r = g->r;
    for (int64_t item = b; item < e; item++) { /* item = (n * out_sp + p), all channels */
        int64_t n = item / g->out_sp, p = item % g->out_sp;
        double coord[3], gv[3];
        cpu_load_f64(g->G->dtype, g->G->data, item * r, 1, r, gv);
        for (int32_t i = 0; i < r; i++) { /* grid component r-1-i belongs to dim i */
            double nx = gv[r - 1 - i], d = (double)g->dims[i];
            double x = g->align ? (nx + 1) / 2.0 * (d - 1) : ((nx + 1) * d - 1) / 2.0;
            if (g->mode == 1) x = nearbyint(x);
            double lo = g->align ? 0.0 : -0.5, hi = g->align ? d - 1 : d - 0.5;
            if (x < lo || x > hi) {
                if (g->pad == 1) x = x < 0 ? 0 : x > d - 1 ? d - 1 : x;
                else if (g->pad == 2) x = reflect(x, lo, hi);
            }
            coord[i] = x;
        }
        /* taps per dim: 1 (nearest), 2 (linear), 4 (cubic) */
        int ntap = g->mode == 1 ? 1 : g->mode == 0 ? 2 : 4;
        int64_t idx[3][4];
        double wt[3][4];
        for (int32_t i = 0; i < r; i++) {
            int64_t d = g->dims[i];
            if (g->mode == 1) {
                idx[i][0] = tap(g, (int64_t)coord[i], d);
                wt[i][0] = 1;
                continue;
            }
            double f0 = floor(coord[i]), t = coord[i] - f0;
            int64_t x0 = (int64_t)f0;
            if (g->mode == 0) {
                idx[i][0] = tap(g, x0, d);
                idx[i][1] = tap(g, x0 + 1, d);
                wt[i][0] = 1 - t;
                wt[i][1] = t;
            } else {
                cubic(t, wt[i]);
                for (int k = 0; k < 4; k++) idx[i][k] = tap(g, x0 - 1 + k, d);
            }
        }
        int64_t total = 1;
        for (int32_t i = 0; i < r; i++) total *= ntap;
        for (int64_t ch = 0; ch < g->C; ch++) {
            const int64_t base = (n * g->C + ch) * g->in_sp;
            double acc = 0;
            for (int64_t k = 0; k < total; k++) {
                int64_t rem = k, off = 0;
                double w = 1;
                int zero = 0;
                for (int32_t i = r - 1; i >= 0; i--) {
                    int j = (int)(rem % ntap);
                    rem /= ntap;
                    int64_t ix = idx[i][j];
                    if (ix < 0) {
                        zero = 1;
                        break;
                    }
                    int64_t stride = 1;
                    for (int32_t q = i + 1; q < r; q++) stride *= g->dims[q];
                    off += ix * stride;
                    w *= wt[i][j];
                }
                if (zero || w == 0) continue;
                double v;
                cpu_load_f64(g->X->dtype, g->X->data, base + off, 1, 1, &v);
                acc += w * v;
            }
            cpu_store_f64(g->O->dtype, g->O->data, (n * g->C + ch) * g->out_sp + p, 1, 1, &acc);
        }
    }
}

px_status cpu_grid_sample_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *G = &a->inputs[1], *O = &a->outputs[0];
    gs_ctx g = {X, G, O, X->rank - 2, X->ne[1], 1, 1, {1, 1, 1}, 0, 0, 0};
    if (g.r < 1 || g.r > 3 || G->rank != X->rank || G->ne[G->rank - 1] != g.r)
        return a->host->set_error(PX_ERR_SHAPE, "grid_sample: x must be [N, C, D1..Dr] and grid [N, O1..Or, r], r = 1..3");
    for (int32_t i = 0; i < g.r; i++) {
        g.dims[i] = X->ne[2 + i];
        g.in_sp *= X->ne[2 + i];
        g.out_sp *= G->ne[1 + i];
    }
    g.mode = (int)cpu_attr_i(a->node, "mode", 0);
    g.pad = (int)cpu_attr_i(a->node, "padding", 0);
    g.align = cpu_attr_i(a->node, "align_corners", 0) != 0;
    if (g.mode < 0 || g.mode > 2 || g.pad < 0 || g.pad > 2)
        return a->host->set_error(PX_ERR_INVALID_ARG, "grid_sample: mode %d or padding %d out of range", g.mode, g.pad);
    int64_t items = X->ne[0] * g.out_sp;
    if (items == 0 || g.C == 0) return PX_OK;
    if (g.in_sp == 0) { /* nothing to sample: every tap is padding */
        double z = 0;
        for (int64_t i = 0; i < cpu_numel(O); i++) cpu_store_f64(O->dtype, O->data, i, 1, 1, &z);
        return PX_OK;
    }
    a->host->parallel_for(items, cpu_grain(g.C * 16, 4096), gs_range, &g);
    return PX_OK;
}
