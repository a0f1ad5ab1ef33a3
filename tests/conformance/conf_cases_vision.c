/* Conformance cases for the vision ops appended for the ONNX importer,
 * CONV..LRN: 1-D, 2-D and 3-D windows with strides, dilations and
 * asymmetric pads; groups (depthwise too) and enough output channels per
 * group for the CPU's GEMM path as well as few for its direct path, and per
 * round one larger conv that spans several row, column and depth blocks;
 * transposed convs with output_padding and negative pads; pools with
 * ceil_mode, count_include_pad, p and indices (integer max pools, ties);
 * PAD in every mode with negative pads on every plain dtype; RESIZE in every
 * mode, coordinate transform and nearest_mode, with antialias,
 * exclude_outside, cubic_coeff_a, scales given or implied, and
 * tf_crop_and_resize with a roi that reaches outside (extrapolation); LRN
 * with odd and even sizes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "oracle_internal.h"

static const px_dtype k_floats[] = {PX_F32, PX_F16, PX_BF16, PX_F64};
static const px_dtype k_max_types[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I8, PX_U8, PX_I32, PX_I64, PX_U16};
static const px_dtype k_any[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I8, PX_I32, PX_I64, PX_U8, PX_U64, PX_BOOL};

static void emit(ccase *c, case_sink sink, void *ctx) {
    sink(c, ctx);
    case_free(c);
}

static void label_inputs(ccase *c) {
    char b[80];
    case_label(c, "%s", px_op_name(c->op));
    for (int i = 0; i < c->n_in; i++)
        if (c->in[i].data)
            case_label(c, " %s%s", px_dtype_name(c->in[i].dtype), shape_str(c->in[i].rank, c->in[i].ne, b, sizeof b));
}

/* An INTS attribute, also written into the label. */
static void attr_ints(ccase *c, const char *name, const int64_t *v, int32_t n) {
    char b[120];
    case_attr_ints(c, name, v, n);
    case_label(c, " %s=%s", name, shape_str(n, v, b, sizeof b));
}

static void attr_i(ccase *c, const char *name, int64_t v) {
    case_attr_i(c, name, v);
    case_label(c, " %s=%lld", name, (long long)v);
}

static void attr_f(ccase *c, const char *name, double v) {
    case_attr_f(c, name, v);
    case_label(c, " %s=%g", name, v);
}

/* A FLOATS attribute; v must live until the case is emitted. */
static void attr_floats(ccase *c, const char *name, const float *v, int32_t n) {
    if (c->n_attrs >= CONF_MAX_ATTRS) return;
    px_attr a = PX_ATTR_FLOATS(name, v, n);
    c->attrs[c->n_attrs++] = a;
    c->n_oracle_attrs = c->n_attrs;
    case_label(c, " %s=", name);
    for (int32_t i = 0; i < n; i++) case_label(c, "%s%g", i ? "," : "[", v[i]);
    case_label(c, "]");
}

/* Small integers as values (ties for max pooling, exact sums). */
static void put_small(ccase *c, int i, crng *r, px_dtype t, int32_t rank, const int64_t *ne, int64_t lo, int64_t hi) {
    int64_t n = 1;
    for (int32_t d = 0; d < rank; d++) n *= ne[d];
    double *v = malloc((size_t)(n + 1) * sizeof *v);
    for (int64_t k = 0; v && k < n; k++) v[k] = (double)rng_int(r, lo, hi);
    if (v) case_values(c, i, IN_INPUT, t, rank, ne, v);
    free(v);
}

/* ---- windows -------------------------------------------------------------------------------- */

typedef struct gwin {
    int32_t n;
    int64_t in[3], k[3], s[3], d[3], pads[6];
} gwin;

/* A random window over n spatial dims whose output has at least one
 * element; `kmax` bounds the kernel, pads stay below the dilated kernel. */
static void draw_window(crng *r, int32_t n, int64_t kmax, gwin *w) {
    static const int64_t dmax[] = {0, 24, 9, 5};
    w->n = n;
    for (int32_t i = 0; i < n; i++) {
        w->k[i] = rng_int(r, 1, kmax);
        w->s[i] = rng_int(r, 1, 3);
        w->d[i] = rng_int(r, 1, 4) == 4 ? 2 : 1;
        int64_t ext = (w->k[i] - 1) * w->d[i] + 1;
        w->pads[i] = rng_int(r, 0, ext - 1 < 2 ? ext - 1 : 2);
        w->pads[n + i] = rng_int(r, 0, ext - 1 < 2 ? ext - 1 : 2);
        int64_t lo = ext - w->pads[i] - w->pads[n + i];
        w->in[i] = rng_int(r, lo < 1 ? 1 : lo, dmax[n] > lo ? dmax[n] : lo);
    }
}

static void window_attrs(ccase *c, const gwin *w, int full) {
    int64_t ones[3] = {1, 1, 1}, zeros[6] = {0};
    if (full || memcmp(w->s, ones, sizeof(int64_t) * (size_t)w->n)) attr_ints(c, "strides", w->s, w->n);
    if (full || memcmp(w->d, ones, sizeof(int64_t) * (size_t)w->n)) attr_ints(c, "dilations", w->d, w->n);
    if (full || memcmp(w->pads, zeros, sizeof(int64_t) * (size_t)(2 * w->n))) attr_ints(c, "pads", w->pads, 2 * w->n);
}

/* ---- conv, conv_transpose ----------------------------------------------------------------------- */

/* Variant k: spatial dims 1 + k % 3; groups: 1, 2, 3, depthwise; output
 * channels per group: few (direct path) or 4..9 (GEMM path). */
static void make_conv(ccase *c, crng *r, px_dtype t, int k, float *fl) {
    (void)fl;
    int transposed = c->op == PX_OP_CONV_TRANSPOSE;
    gwin w;
    draw_window(r, 1 + k % 3, 3, &w);
    int64_t N = rng_int(r, 1, 2), G = (k / 3) % 4 == 3 ? rng_int(r, 2, 5) : (k / 3) % 4 + 1;
    int depthwise = (k / 3) % 4 == 3;
    int64_t Cg = depthwise ? 1 : (k & 1) ? rng_int(r, 4, 7) : rng_int(r, 1, 3), Mg = depthwise ? rng_int(r, 1, 2) : (k & 1) ? rng_int(r, 4, 9) : rng_int(r, 1, 3);
    int64_t xne[5] = {N, Cg * G}, wne[5] = {transposed ? Cg * G : Mg * G, transposed ? Mg : Cg}, bne[1] = {Mg * G};
    for (int32_t i = 0; i < w.n; i++) xne[2 + i] = w.in[i], wne[2 + i] = w.k[i];
    if (transposed)
        for (int32_t i = 0; i < w.n; i++) xne[2 + i] = rng_int(r, 1, w.n == 1 ? 9 : w.n == 2 ? 5 : 3);
    case_rand(c, 0, IN_INPUT, t, 2 + w.n, xne, r, -1, 1);
    case_rand(c, 1, (k & 2) ? IN_CONST : IN_INPUT, t, 2 + w.n, wne, r, -1, 1);
    if (k % 5 != 4) case_rand(c, 2, IN_INPUT, t, 1, bne, r, -1, 1);
    label_inputs(c);
    if (transposed) {
        int64_t op[3];
        for (int32_t i = 0; i < w.n; i++) {
            op[i] = k % 2 ? rng_int(r, 0, (w.s[i] > w.d[i] ? w.s[i] : w.d[i]) - 1) : 0;
            /* a negative pad widens the output (ONNX's output_shape) */
            if (k % 7 == 6) w.pads[w.n + i] = -rng_int(r, 0, 2);
            int64_t o = w.s[i] * (xne[2 + i] - 1) + op[i] + (w.k[i] - 1) * w.d[i] + 1 - w.pads[i] - w.pads[w.n + i];
            if (o < 1) w.pads[i] = w.pads[w.n + i] = 0;
        }
        if (k % 2) attr_ints(c, "output_padding", op, w.n);
    }
    window_attrs(c, &w, k % 4 == 0);
    if (G > 1 || k % 6 == 0) attr_i(c, "group", G);
}

/* Larger convs: several blocks of rows (> 96 output channels, or channel
 * taps when transposed), columns (> 256 positions) and depth (> 256), a
 * pointwise one, a strided 3x3 with pads and groups. */
static void make_conv_big(ccase *c, crng *r, px_dtype t, int k, float *fl) {
    (void)fl;
    static const int64_t shapes[5][8] = {
        /* C, M, H, W, K, stride, pad, group */
        {40, 100, 20, 23, 3, 1, 1, 1},
        {300, 20, 17, 15, 1, 1, 0, 1},
        {24, 48, 30, 31, 3, 2, 1, 2},
        {300, 12, 17, 16, 3, 2, 1, 1}, /* transposed */
        {16, 12, 20, 20, 4, 2, 1, 2},
    };
    int tr = c->op == PX_OP_CONV_TRANSPOSE;
    const int64_t *s = tr ? shapes[3 + k % 2] : shapes[k % 3];
    int64_t xne[4] = {1, s[0], s[2], s[3]}, bne[1] = {s[1]};
    int64_t wne[4] = {tr ? s[0] : s[1], tr ? s[1] / s[7] : s[0] / s[7], s[4], s[4]};
    case_rand(c, 0, IN_INPUT, t, 4, xne, r, -1, 1);
    case_rand(c, 1, IN_CONST, t, 4, wne, r, -1, 1);
    case_rand(c, 2, IN_CONST, t, 1, bne, r, -1, 1);
    label_inputs(c);
    int64_t st[2] = {s[5], s[5]}, pads[4] = {s[6], s[6], s[6], s[6] + (k == 2)}, op[2] = {1, 0};
    attr_ints(c, "strides", st, 2);
    attr_ints(c, "pads", pads, 4);
    if (s[7] > 1) attr_i(c, "group", s[7]);
    if (tr && k % 2 == 0) attr_ints(c, "output_padding", op, 2);
}

/* ---- pooling ----------------------------------------------------------------------------------------- */

static void make_pool(ccase *c, crng *r, px_dtype t, int k, float *fl) {
    (void)fl;
    gwin w;
    draw_window(r, 1 + k % 3, 4, &w);
    int64_t xne[5] = {rng_int(r, 1, 2), rng_int(r, 1, 3)};
    for (int32_t i = 0; i < w.n; i++) xne[2 + i] = w.in[i];
    if (c->op == PX_OP_MAX_POOL && (k & 4)) put_small(c, 0, r, t, 2 + w.n, xne, 0, 3); /* ties */
    else if (oracle_is_int(t)) case_rand(c, 0, IN_INPUT, t, 2 + w.n, xne, r, t == PX_U8 || t == PX_U16 ? 0 : -100, 100);
    else case_rand(c, 0, IN_INPUT, t, 2 + w.n, xne, r, -2, 2);
    label_inputs(c);
    attr_ints(c, "kernel", w.k, w.n);
    window_attrs(c, &w, k % 5 == 0);
    if (k & 1) attr_i(c, "ceil_mode", 1);
    if (c->op == PX_OP_AVG_POOL && (k & 2)) attr_i(c, "count_include_pad", 1);
    if (c->op == PX_OP_LP_POOL && k % 4) attr_i(c, "p", k % 4);
    if (c->op == PX_OP_MAX_POOL && (k & 2)) attr_i(c, "indices", 1);
}

/* A ResNet stem pool: 3x3, stride 2, pad 1 over 64 planes of 56x56. */
static void make_pool_big(ccase *c, crng *r, px_dtype t, int k, float *fl) {
    (void)k;
    (void)fl;
    int64_t xne[4] = {1, 64, 56, 56}, kk[2] = {3, 3}, st[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    case_rand(c, 0, IN_INPUT, t, 4, xne, r, -2, 2);
    label_inputs(c);
    attr_ints(c, "kernel", kk, 2);
    attr_ints(c, "strides", st, 2);
    attr_ints(c, "pads", pads, 4);
}

/* ---- pad ------------------------------------------------------------------------------------------------ */

static void make_pad(ccase *c, crng *r, px_dtype t, int k, float *fl) {
    (void)fl;
    int32_t rank = (int32_t)rng_int(r, k == 0 ? 0 : 1, 4);
    int64_t ne[PX_MAX_DIMS], pads[2 * PX_MAX_DIMS], mode = k % 4;
    for (int32_t i = 0; i < rank; i++) {
        ne[i] = rng_int(r, mode == 0 && k % 9 == 8 ? 0 : 1, 5);
        int64_t pb = rng_int(r, -2, 3), pe = rng_int(r, -2, 3);
        int64_t crop = (pb < 0 ? -pb : 0) + (pe < 0 ? -pe : 0);
        if (crop > ne[i] || (mode != 0 && crop >= ne[i])) { /* modes other than constant need an element */
            pb = pb < 0 ? 0 : pb;
            pe = pe < 0 ? 0 : pe;
        }
        pads[i] = pb;
        pads[rank + i] = pe;
    }
    if (t == PX_BOOL || oracle_is_int(t)) case_rand(c, 0, IN_INPUT, t, rank, ne, r, 0, 100);
    else case_rand(c, 0, IN_INPUT, t, rank, ne, r, -5, 5);
    label_inputs(c);
    attr_ints(c, "pads", pads, 2 * rank);
    if (mode || k % 3) attr_i(c, "mode", mode);
    if (mode == 0 && k % 2) attr_f(c, "value", t == PX_BOOL ? 1 : oracle_is_int(t) ? 7 : 1.25);
}

/* ---- resize ------------------------------------------------------------------------------------------- */

/* Variant k: mode k % 3, coord (k / 3) % 6, nearest_mode (k / 18) % 4;
 * resizes the last two axes of an NCHW-like input, or every axis. */
static void make_resize(ccase *c, crng *r, px_dtype t, int k, float *fl) {
    float *scale = fl, *roi = fl + PX_MAX_DIMS;
    static const double scales[] = {0.5, 0.6, 0.75, 0.3, 1.5, 2.0, 2.5, 3.0, 1.0, 0.8};
    int64_t mode = k % 3, coord = (k / 3) % 6, nm = (k / 18) % 4;
    int32_t rank = (int32_t)rng_int(r, 1, 4);
    int all = rank < 3 || (k & 1);
    int64_t ne[PX_MAX_DIMS], out[PX_MAX_DIMS];
    int give_scales = (k % 5) != 0;
    for (int32_t i = 0; i < rank; i++) {
        ne[i] = rng_int(r, 1, rank > 2 ? 6 : 9);
        out[i] = ne[i];
        scale[i] = 1;
        if (!all && i < rank - 2) continue;
        double s = scales[rng_int(r, 0, 9)];
        if (give_scales && (rng_next(r) & 1)) {
            /* a scale given: out = floor(in * scale) */
            if ((double)ne[i] * s < 1) ne[i] = (int64_t)ceil(1 / s);
            scale[i] = (float)s;
            out[i] = (int64_t)floor((double)ne[i] * (double)scale[i]);
        } else {
            /* sizes given: the scale is out/in */
            out[i] = (int64_t)rng_int(r, 1, 12);
            scale[i] = (float)((double)out[i] / (double)ne[i]);
        }
    }
    if (mode == 0 && t != PX_F32) case_rand(c, 0, IN_INPUT, t, rank, ne, r, 0, 100);
    else case_rand(c, 0, IN_INPUT, t, rank, ne, r, -3, 3);
    label_inputs(c);
    attr_ints(c, "sizes", out, rank);
    if (give_scales) attr_floats(c, "scales", scale, rank);
    if (mode) attr_i(c, "mode", mode);
    if (coord) attr_i(c, "coord", coord);
    if (mode == 0 && nm) attr_i(c, "nearest_mode", nm);
    if (mode == 2 && (k & 4)) attr_f(c, "cubic_coeff_a", -0.5);
    if (mode && k % 4 == 1) attr_i(c, "exclude_outside", 1);
    if (mode && coord != 3 && k % 4 == 2) attr_i(c, "antialias", 1);
    if (coord == 3) {
        for (int32_t i = 0; i < rank; i++) {
            int changed = all || i >= rank - 2;
            roi[i] = changed ? (float)rng_uniform(r, -0.3, 0.6) : 0;
            roi[rank + i] = changed ? (float)rng_uniform(r, 0.4, 1.3) : 1;
        }
        attr_floats(c, "roi", roi, 2 * rank);
        attr_f(c, "extrapolation_value", oracle_is_float(t) ? (k & 2 ? 0.5 : -2) : 2);
    }
}

/* Nearest on other dtypes: variants with mode 0. */
static void make_resize_nearest(ccase *c, crng *r, px_dtype t, int k, float *fl) {
    make_resize(c, r, t, 3 * (k % 24), fl);
}

/* A 2x bilinear upsampling of 32 planes of 40x40 (threads). */
static void make_resize_big(ccase *c, crng *r, px_dtype t, int k, float *fl) {
    (void)k;
    int64_t ne[4] = {1, 32, 40, 40}, out[4] = {1, 32, 80, 80};
    fl[0] = fl[1] = 1;
    fl[2] = fl[3] = 2;
    case_rand(c, 0, IN_INPUT, t, 4, ne, r, -1, 1);
    label_inputs(c);
    attr_ints(c, "sizes", out, 4);
    attr_floats(c, "scales", fl, 4);
    attr_i(c, "mode", 1);
}

/* ---- lrn ----------------------------------------------------------------------------------------------- */

static void make_lrn(ccase *c, crng *r, px_dtype t, int k, float *fl) {
    (void)fl;
    int32_t rank = (int32_t)rng_int(r, 2, 4);
    int64_t ne[4];
    for (int32_t i = 0; i < rank; i++) ne[i] = rng_int(r, 1, i == 1 ? 12 : 6);
    if (k == 11) ne[rank - 1] = 300; /* more than one tile of positions */
    case_rand(c, 0, IN_INPUT, t, rank, ne, r, -3, 3);
    label_inputs(c);
    attr_i(c, "size", rng_int(r, 1, 7));
    if (k % 3) attr_f(c, "alpha", rng_uniform(r, 1e-4, 1));
    if (k % 3 != 1) attr_f(c, "beta", rng_uniform(r, 0.5, 1));
    if (k % 2) attr_f(c, "bias", rng_uniform(r, 0.5, 2));
}

/* ---- the driver ------------------------------------------------------------------------------------------ */

/* Makes variant k of a case of dtype t; fl holds its FLOATS attributes. */
typedef void (*make_fn)(ccase *c, crng *r, px_dtype t, int k, float *fl);

typedef struct gen_spec {
    make_fn make;
    const px_dtype *types;
    int n_types;
    int first_k, other_k; /* variants of the first dtype (all), of each other one (drawn) */
} gen_spec;

static void generate(px_op op, const gen_spec *g, crng *r, case_sink sink, void *ctx) {
    for (int di = 0; di < g->n_types; di++)
        for (int k = 0; k < (di == 0 ? g->first_k : g->other_k); k++) {
            ccase c;
            float fl[3 * PX_MAX_DIMS];
            case_init(&c, op);
            g->make(&c, r, g->types[di], di == 0 ? k : (int)rng_int(r, 0, g->first_k - 1), fl);
            emit(&c, sink, ctx);
        }
}

void conf_generate_vision(px_op op, crng *r, case_sink sink, void *ctx) {
    static const px_dtype f32_f16[] = {PX_F32, PX_F16};
    static const px_dtype nearest_types[] = {PX_I8, PX_U8, PX_I64, PX_BOOL, PX_F16, PX_U16};
    static const gen_spec conv = {make_conv, k_floats, 4, 24, 8}, conv_big = {make_conv_big, f32_f16, 2, 3, 1};
    static const gen_spec max_pool = {make_pool, k_max_types, 9, 24, 6}, pool = {make_pool, k_floats, 4, 24, 6};
    static const gen_spec pool_big = {make_pool_big, k_floats, 1, 1, 0}, pad = {make_pad, k_any, 10, 24, 8};
    static const gen_spec resize = {make_resize, k_floats, 4, 72, 12};
    static const gen_spec resize_nearest = {make_resize_nearest, nearest_types, 6, 2, 2};
    static const gen_spec resize_big = {make_resize_big, k_floats, 1, 1, 0}, lrn = {make_lrn, k_floats, 4, 12, 4};
    switch (op) {
    case PX_OP_CONV: case PX_OP_CONV_TRANSPOSE:
        generate(op, &conv, r, sink, ctx);
        generate(op, &conv_big, r, sink, ctx);
        break;
    case PX_OP_MAX_POOL: case PX_OP_AVG_POOL: case PX_OP_LP_POOL:
        generate(op, op == PX_OP_MAX_POOL ? &max_pool : &pool, r, sink, ctx);
        generate(op, &pool_big, r, sink, ctx);
        break;
    case PX_OP_PAD: generate(op, &pad, r, sink, ctx); break;
    case PX_OP_RESIZE:
        generate(op, &resize, r, sink, ctx);
        generate(op, &resize_nearest, r, sink, ctx);
        generate(op, &resize_big, r, sink, ctx);
        break;
    case PX_OP_LRN: generate(op, &lrn, r, sink, ctx); break;
    default: break;
    }
}
