/* ONNX vision ops: Conv, ConvTranspose, MaxPool, AveragePool, LpPool, the
 * global pools, Pad, CenterCropPad, Resize, Upsample, LRN. auto_pad and
 * output_shape are resolved here into the explicit pads of the IR ops, and
 * Resize's scales/sizes inputs into the output shape. */
#include <math.h>
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

#define MAXSP (PX_MAX_DIMS - 2)

typedef struct win {
    int32_t n;                   /* spatial dims */
    int64_t k[MAXSP], s[MAXSP], d[MAXSP], pads[2 * MAXSP];
} win;

/* Kernel, strides, dilations and pads (auto_pad resolved) of a conv/pool
 * node on input x [N, C, D...]; `kernel` gives the kernel dims when the
 * node has no kernel_shape (conv: from the weight). */
static px_status window(ox_ctx *c, const onx_node *n, const ox_val *x, const int64_t *kernel, win *w) {
    if (x->rank < 3 || x->rank - 2 > MAXSP) return ox_fail(c, n, PX_ERR_SHAPE, "input must be [N, C, D1..Dn] with 1 to %d spatial dims", MAXSP);
    w->n = x->rank - 2;
    const int64_t *a;
    int32_t k = ox_attr_ints(n, "kernel_shape", &a);
    for (int32_t i = 0; i < w->n; i++) w->k[i] = k == w->n ? a[i] : kernel ? kernel[i] : 0;
    if (!kernel && k != w->n) return ox_fail(c, n, PX_ERR_INVALID_ARG, "kernel_shape must have %d entries", w->n);
    k = ox_attr_ints(n, "strides", &a);
    for (int32_t i = 0; i < w->n; i++) w->s[i] = k == w->n ? a[i] : 1;
    k = ox_attr_ints(n, "dilations", &a);
    for (int32_t i = 0; i < w->n; i++) w->d[i] = k == w->n ? a[i] : 1;
    k = ox_attr_ints(n, "pads", &a);
    for (int32_t i = 0; i < 2 * w->n; i++) w->pads[i] = k == 2 * w->n ? a[i] : 0;
    for (int32_t i = 0; i < w->n; i++)
        if (w->k[i] <= 0 || w->s[i] <= 0 || w->d[i] <= 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "kernel, strides and dilations must be positive");
    const char *ap = ox_attr_s(c, n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "VALID")) {
        for (int32_t i = 0; i < 2 * w->n; i++) w->pads[i] = 0;
    } else if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        for (int32_t i = 0; i < w->n; i++) {
            int64_t in = x->ne[2 + i], out = (in + w->s[i] - 1) / w->s[i];
            int64_t total = (out - 1) * w->s[i] + (w->k[i] - 1) * w->d[i] + 1 - in;
            if (total < 0) total = 0;
            int64_t small = total / 2, big = total - small;
            w->pads[i] = ap[5] == 'U' ? small : big;
            w->pads[w->n + i] = ap[5] == 'U' ? big : small;
        }
    } else if (strcmp(ap, "NOTSET")) {
        return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown auto_pad '%s'", ap);
    }
    return PX_OK;
}

static int32_t win_attrs(const win *w, px_attr *a, int with_kernel) {
    int32_t k = 0;
    if (with_kernel) a[k++] = (px_attr)PX_ATTR_INTS("kernel", w->k, w->n);
    a[k++] = (px_attr)PX_ATTR_INTS("strides", w->s, w->n);
    a[k++] = (px_attr)PX_ATTR_INTS("dilations", w->d, w->n);
    a[k++] = (px_attr)PX_ATTR_INTS("pads", w->pads, 2 * w->n);
    return k;
}

/* ---- Conv, ConvTranspose ------------------------------------------------------------------ */

static px_status imp_conv(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0), *wt = ox_in(c, n, 1);
    if (!x || !wt) return ox_fail(c, n, PX_ERR_INVALID_ARG, "X and W are required");
    if (wt->rank != x->rank) return ox_fail(c, n, PX_ERR_SHAPE, "W must have the rank of X");
    win w;
    px_status st = window(c, n, x, wt->ne + 2, &w);
    if (st) return st;
    px_attr a[6];
    int32_t na = win_attrs(&w, a, 0);
    a[na++] = (px_attr)PX_ATTR_I("group", ox_attr_i(n, "group", 1));
    px_value in[3] = {ox_ir(c, x), ox_cast(c, ox_ir(c, wt), x->dt), ox_in_ir(c, n, 2)};
    if (in[2] != PX_NONE) in[2] = ox_cast(c, in[2], x->dt);
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_CONV, in, 3, a, na));
}

static px_status imp_conv_transpose(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0), *wt = ox_in(c, n, 1);
    if (!x || !wt) return ox_fail(c, n, PX_ERR_INVALID_ARG, "X and W are required");
    if (wt->rank != x->rank) return ox_fail(c, n, PX_ERR_SHAPE, "W must have the rank of X");
    win w;
    const char *ap = ox_attr_s(c, n, "auto_pad", "NOTSET");
    /* window() must not resolve SAME for a transposed conv: read it plainly */
    onx_node plain = *n;
    plain.n_attrs = 0;
    onx_attr attrs[32];
    for (int32_t i = 0; i < n->n_attrs && plain.n_attrs < 32; i++)
        if (strcmp(n->attrs[i].name, "auto_pad")) attrs[plain.n_attrs++] = n->attrs[i];
    plain.attrs = attrs;
    px_status st = window(c, &plain, x, wt->ne + 2, &w);
    if (st) return st;
    int64_t op[MAXSP] = {0}, osh[MAXSP];
    const int64_t *a;
    int32_t k = ox_attr_ints(n, "output_padding", &a);
    for (int32_t i = 0; i < w.n; i++) op[i] = k == w.n ? a[i] : 0;
    int32_t ko = ox_attr_ints(n, "output_shape", &a);
    int same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    if (ko > 0 || same) {
        for (int32_t i = 0; i < w.n; i++) {
            int64_t in = x->ne[2 + i];
            osh[i] = ko > 0 ? a[ko - w.n + i] : in * w.s[i];
            int64_t total = w.s[i] * (in - 1) + op[i] + (w.k[i] - 1) * w.d[i] + 1 - osh[i];
            if (total < 0) { /* a larger output than the kernel covers: the extra comes at the end */
                op[i] -= total;
                total = 0;
            }
            int upper = !strcmp(ap, "SAME_UPPER");
            w.pads[i] = upper ? total / 2 : total - total / 2;
            w.pads[w.n + i] = upper ? total - total / 2 : total / 2;
        }
    } else if (!strcmp(ap, "VALID")) {
        for (int32_t i = 0; i < 2 * w.n; i++) w.pads[i] = 0;
    }
    px_attr at[6];
    int32_t na = win_attrs(&w, at, 0);
    at[na++] = (px_attr)PX_ATTR_INTS("output_padding", op, w.n);
    at[na++] = (px_attr)PX_ATTR_I("group", ox_attr_i(n, "group", 1));
    px_value in[3] = {ox_ir(c, x), ox_cast(c, ox_ir(c, wt), x->dt), ox_in_ir(c, n, 2)};
    if (in[2] != PX_NONE) in[2] = ox_cast(c, in[2], x->dt);
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_CONV_TRANSPOSE, in, 3, at, na));
}

/* ---- pooling ---------------------------------------------------------------------------------- */

static px_status imp_pool(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    if (!x) return ox_fail(c, n, PX_ERR_INVALID_ARG, "X is required");
    win w;
    px_status st = window(c, n, x, NULL, &w);
    if (st) return st;
    const char *t = n->op_type;
    px_op op = !strcmp(t, "MaxPool") ? PX_OP_MAX_POOL : !strcmp(t, "AveragePool") ? PX_OP_AVG_POOL : PX_OP_LP_POOL;
    px_attr a[8];
    int32_t na = win_attrs(&w, a, 1);
    a[na++] = (px_attr)PX_ATTR_I("ceil_mode", ox_attr_i(n, "ceil_mode", 0));
    if (op == PX_OP_AVG_POOL) a[na++] = (px_attr)PX_ATTR_I("count_include_pad", ox_attr_i(n, "count_include_pad", 0));
    if (op == PX_OP_LP_POOL) a[na++] = (px_attr)PX_ATTR_I("p", ox_attr_i(n, "p", 2));
    px_value xv = ox_ir(c, x);
    if ((st = ox_out_ir(c, n, 0, ox_node(c, op, &xv, 1, a, na)))) return st;
    if (op == PX_OP_MAX_POOL && ox_has_out(n, 1)) {
        if (ox_attr_i(n, "storage_order", 0)) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "Indices in column-major storage order are not supported");
        a[na++] = (px_attr)PX_ATTR_I("indices", 1);
        return ox_out_ir(c, n, 1, ox_node(c, op, &xv, 1, a, na));
    }
    return PX_OK;
}

static px_status imp_global_pool(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    if (!x || x->rank < 3) return ox_fail(c, n, PX_ERR_SHAPE, "X must be [N, C, D1..Dn]");
    int64_t axes[PX_MAX_DIMS];
    for (int32_t i = 2; i < x->rank; i++) axes[i - 2] = i;
    px_attr a[] = {PX_ATTR_INTS("axes", axes, x->rank - 2), PX_ATTR_I("keepdims", 1)};
    px_value xv = ox_ir(c, x);
    const char *t = n->op_type;
    if (!strcmp(t, "GlobalAveragePool")) return ox_out_ir(c, n, 0, ox_node(c, PX_OP_REDUCE_MEAN, &xv, 1, a, 2));
    if (!strcmp(t, "GlobalMaxPool")) return ox_out_ir(c, n, 0, ox_node(c, PX_OP_REDUCE_MAX, &xv, 1, a, 2));
    double p = (double)ox_attr_i(n, "p", 2); /* GlobalLpPool */
    px_value ab = ox_unary(c, PX_OP_ABS, xv);
    px_value pw = ox_binary(c, PX_OP_POW, ab, ox_scalar(c, x->dt, p));
    px_value s = ox_node(c, PX_OP_REDUCE_SUM, &pw, 1, a, 2);
    return ox_out_ir(c, n, 0, ox_binary(c, PX_OP_POW, s, ox_scalar(c, x->dt, 1.0 / p)));
}

/* ---- Pad, CenterCropPad ------------------------------------------------------------------------ */

static px_value pad(ox_ctx *c, px_value x, const int64_t *pads, int32_t rank, int64_t mode, double value) {
    px_attr a[] = {PX_ATTR_INTS("pads", pads, 2 * rank), PX_ATTR_I("mode", mode), PX_ATTR_F("value", value)};
    return ox_node(c, PX_OP_PAD, &x, 1, a, 3);
}

static px_status imp_pad(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    if (!x) return ox_fail(c, n, PX_ERR_INVALID_ARG, "data is required");
    const char *ms = ox_attr_s(c, n, "mode", "constant");
    int64_t mode = !strcmp(ms, "constant") ? 0 : !strcmp(ms, "reflect") ? 1 : !strcmp(ms, "edge") ? 2 : !strcmp(ms, "wrap") ? 3 : -1;
    if (mode < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown mode '%s'", ms);
    int64_t pads[2 * PX_MAX_DIMS] = {0};
    double value = 0;
    px_status st;
    if (ox_opset(c) < 11) {
        const int64_t *a;
        int32_t k = ox_attr_ints(n, ox_opset(c) < 2 ? "paddings" : "pads", &a);
        if (k != 2 * x->rank) return ox_fail(c, n, PX_ERR_INVALID_ARG, "pads must have 2*rank entries");
        memcpy(pads, a, sizeof(int64_t) * (size_t)k);
        value = ox_attr_f(n, "value", 0);
    } else {
        int64_t *pv, k, *axes = NULL, na = 0;
        if ((st = ox_const_i64(c, n, ox_in(c, n, 1), "pads", &pv, &k))) return st;
        if (ox_in(c, n, 3) && (st = ox_const_i64(c, n, ox_in(c, n, 3), "axes", &axes, &na))) return st;
        int64_t all[PX_MAX_DIMS];
        if (!axes) {
            for (int32_t i = 0; i < x->rank; i++) all[i] = i;
            axes = all;
            na = x->rank;
        }
        if (k != 2 * na) return ox_fail(c, n, PX_ERR_INVALID_ARG, "pads has %lld entries for %lld axes", (long long)k, (long long)na);
        for (int64_t i = 0; i < na; i++) {
            int32_t ax = ox_axis(axes[i], x->rank);
            if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
            pads[ax] = pv[i];
            pads[x->rank + ax] = pv[na + i];
        }
        if (ox_in(c, n, 2)) {
            double *cv;
            int64_t kc;
            if ((st = ox_const_f64(c, n, ox_in(c, n, 2), "constant_value", &cv, &kc))) return st;
            if (kc) value = cv[0];
        }
    }
    return ox_out_ir(c, n, 0, pad(c, ox_ir(c, x), pads, x->rank, mode, value));
}

static px_status imp_center_crop_pad(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    int64_t *sh, k, axes[PX_MAX_DIMS];
    px_status st;
    if (!x) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input_data is required");
    if ((st = ox_const_i64(c, n, ox_in(c, n, 1), "shape", &sh, &k))) return st;
    const int64_t *a;
    int32_t na = ox_attr_ints(n, "axes", &a);
    if (na < 0) {
        na = x->rank;
        for (int32_t i = 0; i < na; i++) axes[i] = i;
    } else {
        for (int32_t i = 0; i < na && i < PX_MAX_DIMS; i++) axes[i] = a[i];
    }
    if (k != na) return ox_fail(c, n, PX_ERR_INVALID_ARG, "shape has %lld entries for %d axes", (long long)k, na);
    int64_t pads[2 * PX_MAX_DIMS] = {0};
    for (int32_t i = 0; i < na; i++) {
        int32_t ax = ox_axis(axes[i], x->rank);
        if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
        int64_t diff = sh[i] - x->ne[ax];
        if (diff >= 0) {
            pads[ax] = diff / 2;
            pads[x->rank + ax] = diff - diff / 2;
        } else {
            pads[ax] = -((-diff) / 2);
            pads[x->rank + ax] = -((-diff) - (-diff) / 2);
        }
    }
    return ox_out_ir(c, n, 0, pad(c, ox_ir(c, x), pads, x->rank, 0, 0));
}

/* ---- Resize, Upsample ------------------------------------------------------------------------------ */

static int64_t mode_index(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

static px_status imp_resize(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    if (!x) return ox_fail(c, n, PX_ERR_INVALID_ARG, "X is required");
    int32_t r = x->rank;
    int upsample = !strcmp(n->op_type, "Upsample");
    int64_t opset = ox_opset(c);
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "asymmetric", "pytorch_half_pixel", "tf_crop_and_resize",
                                         "align_corners", "half_pixel_symmetric"};
    static const char *const nmodes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const char *ms = ox_attr_s(c, n, "mode", "nearest");
    int64_t mode = mode_index(ms, modes, 3);
    if (!strcmp(ms, "bilinear") || !strcmp(ms, "trilinear")) mode = 1;
    int old = upsample || opset < 11;
    int64_t coord = old ? 1 : mode_index(ox_attr_s(c, n, "coordinate_transformation_mode", "half_pixel"), coords, 6);
    int64_t nmode = old ? 2 : mode_index(ox_attr_s(c, n, "nearest_mode", "round_prefer_floor"), nmodes, 4);
    if (mode < 0 || coord < 0 || nmode < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown mode, coordinate_transformation_mode or nearest_mode");
    /* axes (opset 18) */
    int64_t axes[PX_MAX_DIMS];
    const int64_t *aa;
    int32_t na = ox_attr_ints(n, "axes", &aa);
    if (na < 0) {
        na = r;
        for (int32_t i = 0; i < r; i++) axes[i] = i;
    } else {
        for (int32_t i = 0; i < na && i < PX_MAX_DIMS; i++) {
            axes[i] = ox_axis(aa[i], r);
            if (axes[i] < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
        }
    }
    double scales[PX_MAX_DIMS];
    int64_t sizes[PX_MAX_DIMS];
    for (int32_t i = 0; i < r; i++) scales[i] = 1, sizes[i] = x->ne[i];
    px_status st;
    double *sv = NULL;
    int64_t ns = 0, *zv = NULL, nz = 0;
    int si = upsample ? 1 : opset < 11 ? 1 : 2; /* index of the scales input */
    if (upsample && opset < 9) {
        const onx_attr *a = ox_attr(n, "scales");
        if (!a || !a->floats) return ox_fail(c, n, PX_ERR_INVALID_ARG, "scales attribute is required");
        ns = a->n;
        if (!(sv = onx_alloc(ox_arena(c), (size_t)ns * sizeof(double)))) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
        for (int64_t i = 0; i < ns; i++) sv[i] = a->floats[i];
    } else if (ox_in(c, n, si) && ox_numel(ox_in(c, n, si)->rank, ox_in(c, n, si)->ne) > 0) {
        if ((st = ox_const_f64(c, n, ox_in(c, n, si), "scales", &sv, &ns))) return st;
    }
    if (!old && ox_in(c, n, 3) && ox_numel(ox_in(c, n, 3)->rank, ox_in(c, n, 3)->ne) > 0)
        if ((st = ox_const_i64(c, n, ox_in(c, n, 3), "sizes", &zv, &nz))) return st;
    if (sv) {
        if (ns != na) return ox_fail(c, n, PX_ERR_INVALID_ARG, "scales has %lld entries for %d axes", (long long)ns, na);
        for (int32_t i = 0; i < na; i++) {
            scales[axes[i]] = sv[i];
            sizes[axes[i]] = (int64_t)floor((double)x->ne[axes[i]] * sv[i]);
        }
    } else if (zv) {
        if (nz != na) return ox_fail(c, n, PX_ERR_INVALID_ARG, "sizes has %lld entries for %d axes", (long long)nz, na);
        const char *pol = ox_attr_s(c, n, "keep_aspect_ratio_policy", "stretch");
        if (strcmp(pol, "stretch")) {
            double s = strcmp(pol, "not_larger") ? 0 : INFINITY;
            for (int32_t i = 0; i < na; i++) {
                double t = (double)zv[i] / (double)x->ne[axes[i]];
                s = strcmp(pol, "not_larger") ? (t > s ? t : s) : (t < s ? t : s);
            }
            for (int32_t i = 0; i < na; i++) {
                scales[axes[i]] = s;
                sizes[axes[i]] = (int64_t)floor((double)x->ne[axes[i]] * s + 0.5);
            }
        } else {
            for (int32_t i = 0; i < na; i++) {
                sizes[axes[i]] = zv[i];
                scales[axes[i]] = (double)zv[i] / (double)x->ne[axes[i]];
            }
        }
    } else {
        return ox_fail(c, n, PX_ERR_INVALID_ARG, "one of scales and sizes is required");
    }
    float fscales[PX_MAX_DIMS], roi[2 * PX_MAX_DIMS];
    for (int32_t i = 0; i < r; i++) fscales[i] = (float)scales[i];
    int nroi = 0;
    if (coord == 3 && ox_in(c, n, 1)) {
        double *rv;
        int64_t nr;
        if ((st = ox_const_f64(c, n, ox_in(c, n, 1), "roi", &rv, &nr))) return st;
        for (int32_t i = 0; i < r; i++) roi[i] = 0, roi[r + i] = 1;
        if (nr == 2 * na)
            for (int32_t i = 0; i < na; i++) roi[axes[i]] = (float)rv[i], roi[r + axes[i]] = (float)rv[na + i];
        nroi = 2 * r;
    }
    px_attr a[12];
    int32_t k = 0;
    a[k++] = (px_attr)PX_ATTR_INTS("sizes", sizes, r);
    a[k++] = (px_attr)PX_ATTR_FLOATS("scales", fscales, r);
    a[k++] = (px_attr)PX_ATTR_I("mode", mode);
    a[k++] = (px_attr)PX_ATTR_I("coord", coord);
    a[k++] = (px_attr)PX_ATTR_I("nearest_mode", nmode);
    a[k++] = (px_attr)PX_ATTR_F("cubic_coeff_a", ox_attr_f(n, "cubic_coeff_a", -0.75));
    a[k++] = (px_attr)PX_ATTR_I("exclude_outside", ox_attr_i(n, "exclude_outside", 0));
    a[k++] = (px_attr)PX_ATTR_F("extrapolation_value", ox_attr_f(n, "extrapolation_value", 0));
    a[k++] = (px_attr)PX_ATTR_I("antialias", ox_attr_i(n, "antialias", 0));
    if (nroi) a[k++] = (px_attr)PX_ATTR_FLOATS("roi", roi, nroi);
    px_value xv = ox_ir(c, x);
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_RESIZE, &xv, 1, a, k));
}

static px_status imp_lrn(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_attr a[] = {PX_ATTR_I("size", ox_attr_i(n, "size", 0)), PX_ATTR_F("alpha", ox_attr_f(n, "alpha", 1e-4)),
                   PX_ATTR_F("beta", ox_attr_f(n, "beta", 0.75)), PX_ATTR_F("bias", ox_attr_f(n, "bias", 1.0))};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_LRN, &x, 1, a, 4));
}


/* ---- AffineGrid, MaxUnpool, ConvInteger, QLinearConv ------------------------------------------ */

/* AffineGrid (opset 20): grid[n, (d,) h, w] = theta[n] @ (x, y, (z,) 1), the
 * normalised coordinates of each output position (x along W). */
static px_status imp_affine_grid(ox_ctx *c, const onx_node *n) {
    ox_val *th = ox_in(c, n, 0);
    int64_t *sz, k;
    px_status st;
    if (!th) return ox_fail(c, n, PX_ERR_INVALID_ARG, "theta is required");
    if ((st = ox_const_i64(c, n, ox_in(c, n, 1), "size", &sz, &k))) return st;
    if (k != 4 && k != 5) return ox_fail(c, n, PX_ERR_SHAPE, "size must be [N, C, H, W] or [N, C, D, H, W]");
    int nd = (int)k - 2; /* spatial dims: 2 or 3 */
    int align = (int)ox_attr_i(n, "align_corners", 0);
    int64_t N = sz[0], dims[3], cnt = 1;
    for (int i = 0; i < nd; i++) cnt *= dims[i] = sz[2 + i];
    if (cnt <= 0 || cnt > (1 << 24)) return ox_fail(c, n, PX_ERR_RANGE, "grid of %lld points", (long long)cnt);
    float *base = onx_alloc(ox_arena(c), (size_t)cnt * (size_t)(nd + 1) * sizeof(float));
    if (!base) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    for (int64_t p = 0; p < cnt; p++) {
        int64_t rem = p;
        float *row = base + p * (nd + 1);
        for (int i = nd - 1; i >= 0; i--) { /* i = nd-1 is W: coordinate 0 (x) */
            int64_t idx = rem % dims[i], len = dims[i];
            rem /= dims[i];
            double v = align ? (len > 1 ? -1.0 + 2.0 * (double)idx / (double)(len - 1) : 0.0)
                             : (2.0 * (double)idx + 1.0) / (double)len - 1.0;
            row[nd - 1 - i] = (float)v;
        }
        row[nd] = 1.0f;
    }
    int64_t bne[3] = {1, cnt, nd + 1};
    px_value in[2] = {ox_cast(c, ox_constant(c, PX_F32, 3, bne, base), th->dt), ox_ir(c, th)};
    px_attr tb[] = {PX_ATTR_I("trans_b", 1)};
    px_value g = ox_node(c, PX_OP_MATMUL, in, 2, tb, 1); /* [N, cnt, nd] */
    int64_t one[5];
    one[0] = N;
    for (int i = 0; i < nd; i++) one[1 + i] = dims[i];
    one[1 + nd] = nd;
    return ox_out_ir(c, n, 0, ox_reshape(c, g, nd + 2, one));
}

static px_status imp_max_unpool(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0), *iv = ox_in(c, n, 1);
    if (!x || !iv) return ox_fail(c, n, PX_ERR_INVALID_ARG, "X and I are required");
    win w;
    px_status st = window(c, n, x, NULL, &w);
    if (st) return st;
    /* scattered into the inferred shape, then padded at the end to
     * output_shape when one is given (as the ONNX reference does) */
    int64_t on[PX_MAX_DIMS], want[PX_MAX_DIMS];
    on[0] = x->ne[0];
    on[1] = x->ne[1];
    for (int32_t i = 0; i < w.n; i++) on[2 + i] = (x->ne[2 + i] - 1) * w.s[i] + w.k[i] - w.pads[i] - w.pads[w.n + i];
    memcpy(want, on, sizeof want);
    if (ox_in(c, n, 2)) {
        int64_t *os, k;
        if ((st = ox_const_i64(c, n, ox_in(c, n, 2), "output_shape", &os, &k))) return st;
        if (k != x->rank) return ox_fail(c, n, PX_ERR_SHAPE, "output_shape must have rank %d", x->rank);
        for (int32_t d = 0; d < x->rank; d++)
            if ((want[d] = os[d]) < on[d]) return ox_fail(c, n, PX_ERR_SHAPE, "output_shape is smaller than the unpooled shape");
    }
    int64_t total = ox_numel(x->rank, on), cnt = ox_numel(x->rank, x->ne);
    px_value in[3] = {ox_zeros(c, x->dt, 1, &total), ox_reshape(c, ox_ir(c, iv), 1, &cnt),
                      ox_reshape(c, ox_ir(c, x), 1, &cnt)};
    px_attr a[] = {PX_ATTR_I("axis", 0), PX_ATTR_I("reduction", 0)};
    px_value y = ox_reshape(c, ox_node(c, PX_OP_SCATTER_ELEMENTS, in, 3, a, 2), x->rank, on);
    int64_t pads[2 * PX_MAX_DIMS] = {0};
    int grow = 0;
    for (int32_t d = 0; d < x->rank; d++) grow |= (pads[x->rank + d] = want[d] - on[d]) != 0;
    return ox_out_ir(c, n, 0, grow ? pad(c, y, pads, x->rank, 0, 0) : y);
}

/* x - zero_point in F64; a per-channel zero point [M] is shaped [M, 1, ...]. */
static px_value q_centered(ox_ctx *c, px_value x, px_value zp, int32_t rank) {
    x = ox_cast(c, x, PX_F64);
    if (zp == PX_NONE) return x;
    px_dtype dz;
    int32_t rz;
    int64_t nz[PX_MAX_DIMS];
    ox_dt_shape(c, zp, &dz, &rz, nz);
    zp = ox_cast(c, zp, PX_F64);
    if (rz == 1 && nz[0] > 1) {
        int64_t s[PX_MAX_DIMS];
        s[0] = nz[0];
        for (int32_t d = 1; d < rank; d++) s[d] = 1;
        zp = ox_reshape(c, zp, rank, s);
    }
    return ox_binary(c, PX_OP_SUB, x, zp);
}

/* ConvInteger (x, w, x_zero_point, w_zero_point) and QLinearConv (x, x_scale,
 * x_zp, w, w_scale, w_zp, y_scale, y_zp, B): the integer convolution in F64
 * (exact for sums below 2^53), then requantized for QLinearConv. */
static px_status imp_conv_integer(ox_ctx *c, const onx_node *n) {
    int q = !strcmp(n->op_type, "QLinearConv");
    ox_val *x = ox_in(c, n, 0), *wt = ox_in(c, n, q ? 3 : 1);
    if (!x || !wt || wt->rank != x->rank) return ox_fail(c, n, PX_ERR_INVALID_ARG, "x and w of one rank are required");
    win w;
    px_status st = window(c, n, x, wt->ne + 2, &w);
    if (st) return st;
    px_attr a[6];
    int32_t na = win_attrs(&w, a, 0);
    a[na++] = (px_attr)PX_ATTR_I("group", ox_attr_i(n, "group", 1));
    px_value xc = q_centered(c, ox_ir(c, x), ox_in_ir(c, n, 2), 1);
    /* a per-output-channel w zero point [M] is shaped [M, 1, ...] against w */
    px_value wc = q_centered(c, ox_ir(c, wt), ox_in_ir(c, n, q ? 5 : 3), wt->rank);
    px_value in[3] = {xc, wc, q && ox_in(c, n, 8) ? ox_cast(c, ox_in_ir(c, n, 8), PX_F64) : PX_NONE};
    px_value y = ox_node(c, PX_OP_CONV, in, 3, a, na);
    if (!q) return ox_out_ir(c, n, 0, ox_cast(c, y, PX_I32));
    /* y * (x_scale * w_scale) / y_scale, rounded half to even, + y_zp, saturated */
    px_value ws = ox_cast(c, ox_in_ir(c, n, 4), PX_F64);
    px_dtype dw;
    int32_t rw;
    int64_t nw[PX_MAX_DIMS], cs[PX_MAX_DIMS];
    ox_dt_shape(c, ws, &dw, &rw, nw);
    if (rw == 1 && nw[0] > 1) {
        cs[0] = nw[0];
        for (int32_t d = 1; d < x->rank - 1; d++) cs[d] = 1;
        ws = ox_reshape(c, ws, x->rank - 1, cs);
    }
    px_value sc = ox_binary(c, PX_OP_MUL, ox_cast(c, ox_in_ir(c, n, 1), PX_F64), ws);
    y = ox_binary(c, PX_OP_DIV, ox_binary(c, PX_OP_MUL, y, sc), ox_cast(c, ox_in_ir(c, n, 6), PX_F64));
    y = ox_unary(c, PX_OP_ROUND, y);
    ox_val *yz = ox_in(c, n, 7);
    if (yz) y = ox_binary(c, PX_OP_ADD, y, ox_cast(c, ox_ir(c, yz), PX_F64));
    px_dtype odt = yz ? yz->dt : x->dt;
    double lo = odt == PX_I8 ? -128 : 0, hi = odt == PX_I8 ? 127 : 255;
    y = ox_binary(c, PX_OP_MIN, ox_binary(c, PX_OP_MAX, y, ox_scalar(c, PX_F64, lo)), ox_scalar(c, PX_F64, hi));
    return ox_out_ir(c, n, 0, ox_cast(c, y, odt));
}

static px_status imp_grid_sample(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0), *g = ox_in(c, n, 1);
    if (!x || !g) return ox_fail(c, n, PX_ERR_INVALID_ARG, "X and grid are required");
    static const char *const modes[] = {"linear", "nearest", "cubic", "bilinear", "nearest", "bicubic"};
    static const char *const pads[] = {"zeros", "border", "reflection"};
    int64_t mode = mode_index(ox_attr_s(c, n, "mode", ox_opset(c) < 20 ? "bilinear" : "linear"), modes, 6);
    int64_t padding = mode_index(ox_attr_s(c, n, "padding_mode", "zeros"), pads, 3);
    if (mode < 0 || padding < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown mode or padding_mode");
    px_value in[2] = {ox_ir(c, x), ox_cast(c, ox_ir(c, g), x->dt)};
    px_attr a[] = {PX_ATTR_I("mode", mode % 3), PX_ATTR_I("padding", padding),
                   PX_ATTR_I("align_corners", ox_attr_i(n, "align_corners", 0))};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_GRID_SAMPLE, in, 2, a, 3));
}

const ox_op ox_ops_vision[] = {
    {"GridSample", imp_grid_sample},
    {"AffineGrid", imp_affine_grid}, {"MaxUnpool", imp_max_unpool}, {"ConvInteger", imp_conv_integer},
    {"QLinearConv", imp_conv_integer},
    {"Conv", imp_conv}, {"ConvTranspose", imp_conv_transpose}, {"MaxPool", imp_pool}, {"AveragePool", imp_pool},
    {"LpPool", imp_pool}, {"GlobalAveragePool", imp_global_pool}, {"GlobalMaxPool", imp_global_pool},
    {"GlobalLpPool", imp_global_pool}, {"Pad", imp_pad}, {"CenterCropPad", imp_center_crop_pad},
    {"Resize", imp_resize}, {"Upsample", imp_resize}, {"LRN", imp_lrn},
    {NULL, NULL},
};
