/* Decompositions of the composite ops (core/decompose.c).
 *
 * For each composite op and a spread of attribute settings, a one-node graph
 *  1. is decomposed with px_decompose_node into a fresh graph, which must hold
 *     only primitive ops, validate, keep the node's group, name its nodes
 *     "<name>.<step>" and produce the composite's dtype and shape;
 *  2. is compiled twice for the CPU plugin, once as is (the op's kernel) and
 *     once with px_program_options.decompose = "all"; both programs run on the
 *     same inputs (several successive runs for the KV-cache cases, several
 *     bindings for symbolic dims) and their outputs must agree;
 *  3. has both outputs checked against a double-precision reference written
 *     here, so the test does not just compare two possibly-wrong things.
 * A missing CPU plugin or runtime is a failure, not a skip. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plexus/plexus.h"
#include "test.h"

#include "decompose.h"

#ifndef PX_TEST_CPU_PLUGIN_DIR
#define PX_TEST_CPU_PLUGIN_DIR NULL
#endif

static px_context *g_ctx;

/* ---- data ------------------------------------------------------------------ */

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static float frand(void) { /* uniform in [-1, 1) */
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(g_rng >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

static float *rand_buf(int64_t n, float amp) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p) abort();
    for (int64_t i = 0; i < n; i++) p[i] = amp * frand();
    return p;
}

static double *dbuf(int64_t n) {
    double *p = calloc((size_t)(n > 0 ? n : 1), sizeof *p);
    if (!p) abort();
    return p;
}

/* Round values through dtype dt, as the graph stores them. */
static void round_to(px_dtype dt, float *x, int64_t n) {
    if (dt == PX_F32 || n == 0) return;
    int64_t bytes = px_dtype_row_size(dt, n);
    void *tmp = malloc((size_t)(bytes > 0 ? bytes : 1));
    if (!tmp || bytes < 0) abort();
    px_from_f32(x, dt, tmp, n);
    px_to_f32(dt, tmp, x, n);
    free(tmp);
}

static void to_double(const float *x, double *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i];
}

/* ---- comparisons ---------------------------------------------------------- */

/* got[i] must be within atol + rtol*|want[i]| of want[i]. */
static void check_close(const char *label, const char *what, const float *got, const double *want, int64_t n,
                        double atol, double rtol) {
    int64_t bad = -1, n_bad = 0;
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        double err = fabs(g - w), lim = atol + rtol * fabs(w);
        int ok = err <= lim && !isnan(g) && !isnan(w);
        if (!ok) {
            n_bad++;
            if (bad < 0 || !(err <= worst)) {
                worst = err;
                bad = i;
            }
        }
    }
    CHECK_MSG(n_bad == 0, "%s: %s: %lld of %lld values differ, worst at %lld: got %.7g want %.7g", label, what,
              (long long)n_bad, (long long)n, (long long)bad, bad >= 0 ? (double)got[bad] : 0.0,
              bad >= 0 ? want[bad] : 0.0);
}

static void check_close_f(const char *label, const char *what, const float *got, const float *want, int64_t n,
                          double atol, double rtol) {
    double *w = dbuf(n);
    to_double(want, w, n);
    check_close(label, what, got, w, n, atol, rtol);
    free(w);
}

typedef struct tol {
    double atol, rtol;
} tol;

/* Tolerance for an output of dtype dt. */
static tol tol_for(px_dtype dt) {
    tol t = {1e-4, 1e-4};
    if (dt == PX_F16) t = (tol){2e-3, 4e-3};
    else if (dt == PX_BF16) t = (tol){1.5e-2, 1.5e-2};
    return t;
}

/* ---- structure of the decomposition (px_decompose_node directly) --------- */

static int shape_equal(const px_shape *a, const px_shape *b) {
    if (a->rank != b->rank) return 0;
    for (int32_t i = 0; i < a->rank; i++) {
        px_dim x = a->d[i], y = b->d[i];
        if (x.sym != y.sym || x.c != y.c || (x.sym >= 0 && x.k != y.k)) return 0;
    }
    return 1;
}

/* Copy the inputs, states and constants of `src` into a fresh graph,
 * decompose each (composite) node, and check the result. */
static void check_structure(const px_graph *src, const char *label) {
    px_graph *dst = NULL;
    CHECK_OK(px_graph_create(&dst));
    if (!dst) return;
    for (int32_t s = 0; s < px_graph_sym_count(src); s++)
        CHECK(px_graph_add_sym(dst, px_graph_sym_name(src, s), px_graph_sym_upper(src, s)) == s);
    int32_t nv = px_graph_value_count(src);
    px_value *map = malloc((size_t)(nv > 0 ? nv : 1) * sizeof *map);
    if (!map) abort();
    for (px_value v = 0; v < nv; v++) {
        px_value_info vi;
        map[v] = PX_NONE;
        if (px_graph_value_info(src, v, &vi) != PX_OK) continue;
        if (vi.kind == PX_VALUE_INPUT) map[v] = px_graph_input(dst, vi.name, vi.dtype, &vi.shape);
        else if (vi.kind == PX_VALUE_STATE) map[v] = px_graph_state(dst, vi.name, vi.dtype, &vi.shape);
        else if (vi.kind == PX_VALUE_CONSTANT)
            map[v] = px_graph_constant(dst, vi.name, vi.dtype, &vi.shape, vi.data, vi.nbytes, PX_CONST_COPY);
    }
    for (int32_t n = 0; n < px_graph_node_count(src); n++) {
        px_node_info ni;
        if (px_graph_node_info(src, n, &ni) != PX_OK) continue;
        CHECK_MSG(px_decompose_supported(ni.op), "%s: op %s not decomposable", label, px_op_name(ni.op));
        px_value in[16];
        for (int32_t i = 0; i < ni.n_inputs && i < 16; i++) in[i] = ni.inputs[i] == PX_NONE ? PX_NONE : map[ni.inputs[i]];
        int32_t before = px_graph_node_count(dst);
        px_value out = px_decompose_node(dst, src, &ni, in);
        CHECK_MSG(out != PX_NONE, "%s: px_decompose_node failed: %s", label, px_graph_error_message(dst));
        if (out == PX_NONE) break;
        size_t len = strlen(ni.name);
        for (int32_t j = before; j < px_graph_node_count(dst); j++) {
            px_node_info di;
            CHECK_OK(px_graph_node_info(dst, j, &di));
            CHECK_MSG(!px_op_is_composite(di.op), "%s: decomposition emits composite op %s", label,
                      px_op_name(di.op));
            CHECK_MSG(di.group == ni.group, "%s: node %s has group %d, want %d", label, di.name, di.group, ni.group);
            CHECK_MSG(strncmp(di.name, ni.name, len) == 0 && di.name[len] == '.', "%s: node name %s", label,
                      di.name);
        }
        px_value_info so, dout;
        CHECK_OK(px_graph_value_info(src, ni.outputs[0], &so));
        CHECK_OK(px_graph_value_info(dst, out, &dout));
        CHECK_MSG(so.dtype == dout.dtype, "%s: output dtype %s, want %s", label, px_dtype_name(dout.dtype),
                  px_dtype_name(so.dtype));
        CHECK_MSG(shape_equal(&so.shape, &dout.shape), "%s: output shape differs", label);
        map[ni.outputs[0]] = out;
        CHECK_OK(px_graph_mark_output(dst, out, "out"));
    }
    CHECK_MSG(px_graph_validate(dst) == PX_OK, "%s: decomposed graph does not validate: %s", label, px_last_error());
    free(map);
    px_graph_destroy(dst);
}

/* ---- running two programs -------------------------------------------------- */

/* One input: `data` is float (converted to dtype) or int32_t for I32. */
typedef struct feed {
    const char *name;
    px_dtype dtype;
    const void *data;
    int64_t n;
} feed;

typedef struct runner {
    px_program *p[2]; /* 0: composite kernel, 1: decompose = "all" */
    const char *label;
} runner;

static const char *const g_mode[2] = {"kernel", "decomposed"};

static void runner_destroy(runner *r) {
    for (int i = 0; i < 2; i++) px_program_destroy(r->p[i]);
    memset(r, 0, sizeof *r);
}

static int runner_create(runner *r, const px_graph *g, const char *label) {
    memset(r, 0, sizeof *r);
    r->label = label;
    for (int i = 0; i < 2; i++) {
        px_program_options o = px_program_options_default();
        o.order = "cpu";
        if (i) o.decompose = "all";
        px_status st = px_program_create(g_ctx, g, &o, &r->p[i]);
        CHECK_MSG(st == PX_OK, "%s: px_program_create (%s): %s", label, g_mode[i], px_last_error());
        if (st != PX_OK) {
            runner_destroy(r);
            return -1;
        }
    }
    px_program_stats s[2];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 2; i++) CHECK_OK(px_program_get_stats(r->p[i], &s[i]));
    CHECK_MSG(s[0].n_decomposed == 0, "%s: the CPU has a kernel, yet %d nodes were decomposed", label,
              s[0].n_decomposed);
    CHECK_MSG(s[1].n_decomposed == 1, "%s: decompose=all replaced %d nodes, want 1", label, s[1].n_decomposed);
    CHECK_MSG(s[1].n_nodes > 1, "%s: decomposed program has %d nodes", label, s[1].n_nodes);
    for (int32_t j = 0; j < s[1].n_nodes; j++) {
        const char *dev = px_program_node_device(r->p[1], j);
        /* "-": a RESHAPE alias, which runs nowhere. */
        CHECK_MSG(dev && (strncmp(dev, "cpu", 3) == 0 || strcmp(dev, "-") == 0), "%s: node %d runs on %s", label, j,
                  dev ? dev : "(null)");
    }
    return 0;
}

static int set_feed(px_program *p, const feed *f) {
    size_t bytes;
    void *tmp = NULL;
    const void *src = f->data;
    if (f->dtype == PX_I32) {
        bytes = (size_t)f->n * sizeof(int32_t);
    } else {
        int64_t b = px_dtype_row_size(f->dtype, f->n);
        if (b < 0) return -1;
        bytes = (size_t)b;
        tmp = malloc(bytes ? bytes : 1);
        if (!tmp) abort();
        px_from_f32(f->data, f->dtype, tmp, f->n);
        src = tmp;
    }
    px_status st = px_program_set_input(p, f->name, src, bytes);
    free(tmp);
    return st == PX_OK ? 0 : -1;
}

/* Read value `name` of program p as f32 into out (cap elements). Returns the
 * element count or -1. */
static int64_t read_f32(px_program *p, const char *name, float *out, int64_t cap) {
    px_dtype dt;
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
    if (px_program_value_shape(p, name, &dt, &rank, ne) != PX_OK) return -1;
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= ne[i];
    if (n > cap) return -1;
    int64_t bytes = px_dtype_row_size(dt, n);
    if (bytes < 0) return -1;
    void *tmp = malloc((size_t)(bytes ? bytes : 1));
    if (!tmp) abort();
    int64_t ret = -1;
    if (px_program_get_output(p, name, tmp, (size_t)bytes) == PX_OK && px_to_f32(dt, tmp, out, n) == PX_OK) ret = n;
    free(tmp);
    return ret;
}

/* Bind `sym` (if not NULL), set the feeds on both programs, run them and
 * read "out" into out[0] (kernel) and out[1] (decomposed). Returns 0 if both
 * ran and produced `n` elements. */
static int runner_run(runner *r, const char *sym, int64_t symval, const feed *f, int nf, float *out[2], int64_t n) {
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        px_program *p = r->p[i];
        if (sym && px_program_set_sym(p, sym, symval) != PX_OK) {
            CHECK_MSG(0, "%s (%s): set_sym %s=%lld: %s", r->label, g_mode[i], sym, (long long)symval, px_last_error());
            ok = 0;
            continue;
        }
        int fed = 1;
        for (int j = 0; j < nf; j++) {
            if (set_feed(p, &f[j]) != 0) {
                CHECK_MSG(0, "%s (%s): set_input %s: %s", r->label, g_mode[i], f[j].name, px_last_error());
                fed = 0;
            }
        }
        if (!fed) {
            ok = 0;
            continue;
        }
        px_status st = px_program_run(p);
        CHECK_MSG(st == PX_OK, "%s (%s): run: %s", r->label, g_mode[i], px_last_error());
        if (st != PX_OK) {
            ok = 0;
            continue;
        }
        int64_t got = read_f32(p, "out", out[i], n);
        CHECK_MSG(got == n, "%s (%s): output has %lld elements, want %lld (%s)", r->label, g_mode[i],
                  (long long)got, (long long)n, px_last_error());
        if (got != n) ok = 0;
    }
    return ok ? 0 : -1;
}

/* Build-check-run helper: both outputs vs each other and vs `ref`. */
static void compare_all(const char *label, float *out[2], const double *ref, int64_t n, px_dtype out_dt,
                        double ref_atol_extra) {
    tol t = tol_for(out_dt);
    double *k = dbuf(n);
    to_double(out[0], k, n);
    check_close(label, "decomposed vs kernel", out[1], k, n, t.atol, t.rtol);
    free(k);
    check_close(label, "kernel vs reference", out[0], ref, n, t.atol + ref_atol_extra, t.rtol);
    check_close(label, "decomposed vs reference", out[1], ref, n, t.atol + ref_atol_extra, t.rtol);
}

static px_graph *new_graph(void) {
    px_graph *g = NULL;
    if (px_graph_create(&g) != PX_OK) abort();
    return g;
}

/* Finish a one-node graph: check it and return 1 if it built. */
static int finish_graph(px_graph *g, px_value out, const char *label) {
    CHECK_MSG(out != PX_NONE, "%s: building the graph: %s", label, px_graph_error_message(g));
    if (out == PX_NONE) return 0;
    CHECK_OK(px_graph_mark_output(g, out, "out"));
    CHECK_MSG(px_graph_validate(g) == PX_OK, "%s: %s", label, px_last_error());
    if (px_graph_status(g) != PX_OK) return 0;
    check_structure(g, label);
    return 1;
}

/* ---- RMS_NORM ---------------------------------------------------------------- */

static void rms_ref(const float *x, const float *w, int64_t rows, int64_t D, double eps, double *y) {
    for (int64_t r = 0; r < rows; r++) {
        double ss = 0;
        for (int64_t i = 0; i < D; i++) ss += (double)x[r * D + i] * x[r * D + i];
        double inv = 1.0 / sqrt(ss / (double)D + eps);
        for (int64_t i = 0; i < D; i++) y[r * D + i] = x[r * D + i] * inv * (w ? w[i] : 1.0);
    }
}

typedef struct rms_case {
    const char *label;
    px_dtype dtype;
    int32_t rank;       /* 2: [T, D], 3: [T, 3, D] */
    int64_t T, D;
    int sym;            /* T symbolic: runs with T and T/2 */
    int weight;
    double eps;         /* < 0: attribute not given (default 1e-6) */
    float amp;
} rms_case;

static void test_rms_norm(const rms_case *c) {
    px_graph *g = new_graph();
    int32_t s = c->sym ? px_graph_add_sym(g, "T", c->T) : -1;
    px_shape xs;
    memset(&xs, 0, sizeof xs);
    xs.rank = c->rank;
    xs.d[0] = c->sym ? px_dim_s(s) : px_dim_c(c->T);
    if (c->rank == 3) xs.d[1] = px_dim_c(3);
    xs.d[c->rank - 1] = px_dim_c(c->D);
    px_shape ws = px_shape_make(1, (int64_t[]){c->D});
    px_value in[2] = {px_graph_input(g, "x", c->dtype, &xs), c->weight ? px_graph_input(g, "w", c->dtype, &ws) : PX_NONE};
    px_attr a[1] = {PX_ATTR_F("eps", c->eps)};
    px_graph_set_group(g, 5);
    px_value out = px_graph_node(g, PX_OP_RMS_NORM, in, 2, a, c->eps >= 0 ? 1 : 0, "norm");
    runner r;
    if (finish_graph(g, out, c->label) && runner_create(&r, g, c->label) == 0) {
        int64_t per_t = (c->rank == 3 ? 3 : 1) * c->D;
        for (int run = 0; run < (c->sym ? 2 : 1); run++) {
            int64_t T = run ? c->T / 2 : c->T, n = T * per_t;
            float *x = rand_buf(n, c->amp), *w = rand_buf(c->D, 1.5f);
            round_to(c->dtype, x, n);
            round_to(c->dtype, w, c->D);
            float *o[2] = {rand_buf(n, 0), rand_buf(n, 0)};
            double *ref = dbuf(n);
            rms_ref(x, c->weight ? w : NULL, n / c->D, c->D, c->eps >= 0 ? c->eps : 1e-6, ref);
            feed f[2] = {{"x", c->dtype, x, n}, {"w", c->dtype, w, c->D}};
            if (runner_run(&r, c->sym ? "T" : NULL, T, f, c->weight ? 2 : 1, o, n) == 0)
                compare_all(c->label, o, ref, n, c->dtype, 0);
            free(x);
            free(w);
            free(o[0]);
            free(o[1]);
            free(ref);
        }
        runner_destroy(&r);
    }
    px_graph_destroy(g);
}

/* ---- SWIGLU -------------------------------------------------------------------- */

static void test_swiglu(const char *label, px_dtype dt, int64_t T, int64_t F, int sym) {
    px_graph *g = new_graph();
    int32_t s = sym ? px_graph_add_sym(g, "T", T) : -1;
    px_shape xs;
    memset(&xs, 0, sizeof xs);
    xs.rank = 2;
    xs.d[0] = sym ? px_dim_s(s) : px_dim_c(T);
    xs.d[1] = px_dim_c(F);
    px_value in[2] = {px_graph_input(g, "gate", dt, &xs), px_graph_input(g, "up", dt, &xs)};
    px_value out = px_graph_node(g, PX_OP_SWIGLU, in, 2, NULL, 0, "ffn");
    runner r;
    if (finish_graph(g, out, label) && runner_create(&r, g, label) == 0) {
        for (int run = 0; run < (sym ? 2 : 1); run++) {
            int64_t t = run ? T - 2 : T, n = t * F;
            float *ga = rand_buf(n, 6.0f), *up = rand_buf(n, 2.0f);
            round_to(dt, ga, n);
            round_to(dt, up, n);
            float *o[2] = {rand_buf(n, 0), rand_buf(n, 0)};
            double *ref = dbuf(n);
            for (int64_t i = 0; i < n; i++) ref[i] = (double)ga[i] / (1.0 + exp(-(double)ga[i])) * up[i];
            feed f[2] = {{"gate", dt, ga, n}, {"up", dt, up, n}};
            if (runner_run(&r, sym ? "T" : NULL, t, f, 2, o, n) == 0) compare_all(label, o, ref, n, dt, 0);
            free(ga);
            free(up);
            free(o[0]);
            free(o[1]);
            free(ref);
        }
        runner_destroy(&r);
    }
    px_graph_destroy(g);
}

/* ---- ROPE ------------------------------------------------------------------------- */

static void rope_ref(const float *x, int64_t T, int64_t H, int64_t D, const int32_t *pos, int64_t nd, int mode,
                     double base, double fscale, const float *ff, double *y) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            const float *xr = x + (t * H + h) * D;
            double *yr = y + (t * H + h) * D;
            for (int64_t i = 0; i < D; i++) yr[i] = xr[i];
            for (int64_t i = 0; i < nd / 2; i++) {
                double th = pos[t] * fscale * pow(base, -2.0 * (double)i / (double)nd);
                if (ff) th /= ff[i];
                int64_t i0 = mode == 0 ? 2 * i : i, i1 = mode == 0 ? 2 * i + 1 : i + nd / 2;
                double x0 = xr[i0], x1 = xr[i1];
                yr[i0] = x0 * cos(th) - x1 * sin(th);
                yr[i1] = x0 * sin(th) + x1 * cos(th);
            }
        }
}

typedef struct rope_case {
    const char *label;
    px_dtype dtype;
    int64_t T, H, D; /* H = 0: x is [T, D] */
    int sym;         /* T symbolic: runs with T and T-3 */
    int64_t n_dims;  /* 0: attribute not given (D) */
    int mode;
    double base, scale; /* 0: attribute not given */
    int ff;
} rope_case;

static void test_rope(const rope_case *c) {
    px_graph *g = new_graph();
    int32_t s = c->sym ? px_graph_add_sym(g, "T", c->T) : -1;
    px_dim Td = c->sym ? px_dim_s(s) : px_dim_c(c->T);
    px_shape xs, ps, fs;
    memset(&xs, 0, sizeof xs);
    memset(&ps, 0, sizeof ps);
    int64_t nd = c->n_dims ? c->n_dims : c->D, H = c->H ? c->H : 1;
    xs.rank = c->H ? 3 : 2;
    xs.d[0] = Td;
    if (c->H) xs.d[1] = px_dim_c(c->H);
    xs.d[xs.rank - 1] = px_dim_c(c->D);
    ps.rank = 1;
    ps.d[0] = Td;
    fs = px_shape_make(1, (int64_t[]){nd / 2});
    px_value in[3] = {px_graph_input(g, "x", c->dtype, &xs), px_graph_input(g, "pos", PX_I32, &ps),
                      c->ff ? px_graph_input(g, "ff", PX_F32, &fs) : PX_NONE};
    px_attr a[4];
    int na = 0;
    if (c->n_dims) a[na++] = (px_attr)PX_ATTR_I("n_dims", c->n_dims);
    if (c->mode) a[na++] = (px_attr)PX_ATTR_I("mode", c->mode);
    if (c->base > 0) a[na++] = (px_attr)PX_ATTR_F("freq_base", c->base);
    if (c->scale > 0) a[na++] = (px_attr)PX_ATTR_F("freq_scale", c->scale);
    px_graph_set_group(g, 1);
    px_value out = px_graph_node(g, PX_OP_ROPE, in, 3, a, na, "rope_q");
    runner r;
    if (finish_graph(g, out, c->label) && runner_create(&r, g, c->label) == 0) {
        for (int run = 0; run < (c->sym ? 2 : 1); run++) {
            int64_t T = run ? c->T - 3 : c->T, n = T * H * c->D;
            float *x = rand_buf(n, 1.0f), *ff = rand_buf(nd / 2, 1.0f);
            for (int64_t i = 0; i < nd / 2; i++) ff[i] = 1.0f + 2.0f * fabsf(ff[i]); /* in [1, 3) */
            round_to(c->dtype, x, n);
            int32_t *pos = malloc((size_t)T * sizeof *pos);
            if (!pos) abort();
            for (int64_t t = 0; t < T; t++) pos[t] = (int32_t)((t * 37 + 11 * run + 3) % 211);
            float *o[2] = {rand_buf(n, 0), rand_buf(n, 0)};
            double *ref = dbuf(n);
            rope_ref(x, T, H, c->D, pos, nd, c->mode, c->base > 0 ? c->base : 10000.0, c->scale > 0 ? c->scale : 1.0,
                     c->ff ? ff : NULL, ref);
            feed f[3] = {{"x", c->dtype, x, n}, {"pos", PX_I32, pos, T}, {"ff", PX_F32, ff, nd / 2}};
            /* theta reaches ~200 rad: f32 rounding of theta alone is ~1e-5 */
            if (runner_run(&r, c->sym ? "T" : NULL, T, f, c->ff ? 3 : 2, o, n) == 0)
                compare_all(c->label, o, ref, n, c->dtype, 1e-4);
            free(x);
            free(ff);
            free(pos);
            free(o[0]);
            free(o[1]);
            free(ref);
        }
        runner_destroy(&r);
    }
    px_graph_destroy(g);
}

/* ---- ATTENTION: reference ------------------------------------------------------ */

typedef struct attn_ref_args {
    int64_t T, N, Hq, Hkv, D, Dv;
    const double *q;     /* [T, Hq, D] */
    const double *k;     /* [N, Hkv, D] */
    const double *v;     /* [N, Hkv, Dv] */
    const int32_t *qpos; /* [T] */
    int64_t max_key;     /* keys j > max_key are hidden */
    int causal;
    int64_t window;
    double softcap, scale;
    const float *mask;   /* [T, N] or NULL */
} attn_ref_args;

static void attn_ref(const attn_ref_args *a, double *out) {
    double *s = dbuf(a->N);
    int64_t G = a->Hq / a->Hkv;
    for (int64_t t = 0; t < a->T; t++)
        for (int64_t h = 0; h < a->Hq; h++) {
            int64_t hk = h / G;
            const double *qr = a->q + (t * a->Hq + h) * a->D;
            double mx = -INFINITY;
            for (int64_t j = 0; j < a->N; j++) {
                int vis = j <= a->max_key && (!a->causal || j <= a->qpos[t]) &&
                          (a->window <= 0 || j > (int64_t)a->qpos[t] - a->window);
                if (!vis) {
                    s[j] = -INFINITY;
                    continue;
                }
                const double *kr = a->k + (j * a->Hkv + hk) * a->D;
                double dot = 0;
                for (int64_t d = 0; d < a->D; d++) dot += qr[d] * kr[d];
                dot *= a->scale;
                if (a->softcap > 0) dot = a->softcap * tanh(dot / a->softcap);
                if (a->mask) dot += a->mask[t * a->N + j];
                s[j] = dot;
                if (dot > mx) mx = dot;
            }
            double *o = out + (t * a->Hq + h) * a->Dv;
            for (int64_t d = 0; d < a->Dv; d++) o[d] = 0;
            if (mx == -INFINITY) continue; /* sees no key: zeros */
            double sum = 0;
            for (int64_t j = 0; j < a->N; j++) {
                s[j] = s[j] == -INFINITY ? 0 : exp(s[j] - mx);
                sum += s[j];
            }
            for (int64_t j = 0; j < a->N; j++) {
                if (s[j] == 0) continue;
                const double *vr = a->v + (j * a->Hkv + hk) * a->Dv;
                for (int64_t d = 0; d < a->Dv; d++) o[d] += s[j] / sum * vr[d];
            }
        }
    free(s);
}

static float *rand_mask(int64_t T, int64_t N) {
    float *m = rand_buf(T * N, 1.0f);
    for (int64_t i = 0; i < T * N; i++) m[i] = (i % 7 == 3) ? -INFINITY : 0.5f * m[i];
    return m;
}

static int attn_attrs(px_attr *a, int causal, int64_t window, double softcap, double scale) {
    int na = 0;
    a[na++] = (px_attr)PX_ATTR_I("causal", causal);
    if (window) a[na++] = (px_attr)PX_ATTR_I("window", window);
    if (softcap > 0) a[na++] = (px_attr)PX_ATTR_F("softcap", softcap);
    if (scale > 0) a[na++] = (px_attr)PX_ATTR_F("scale", scale);
    return na;
}

/* ---- ATTENTION without a cache ------------------------------------------------- */

typedef struct attn_case {
    const char *label;
    px_dtype dtype;
    int64_t T, Tk, Hq, Hkv, D, Dv;
    int sym;          /* T = Tk symbolic: runs with T and T/2 */
    int no_attrs;     /* build the node without attributes (defaults) */
    int causal;
    int64_t window;
    double softcap, scale;
    const int32_t *pos; /* NULL: absent */
    int mask;
} attn_case;

static void test_attention(const attn_case *c) {
    px_graph *g = new_graph();
    int32_t s = c->sym ? px_graph_add_sym(g, "T", c->T) : -1;
    px_dim Td = c->sym ? px_dim_s(s) : px_dim_c(c->T), Tkd = c->sym ? px_dim_s(s) : px_dim_c(c->Tk);
    px_shape qs = {3, {Td, px_dim_c(c->Hq), px_dim_c(c->D)}};
    px_shape ks = {3, {Tkd, px_dim_c(c->Hkv), px_dim_c(c->D)}};
    px_shape vs = {3, {Tkd, px_dim_c(c->Hkv), px_dim_c(c->Dv)}};
    px_shape ps = {1, {Td}};
    px_shape ms = {2, {Td, Tkd}};
    px_value in[7] = {px_graph_input(g, "q", c->dtype, &qs), px_graph_input(g, "k", c->dtype, &ks),
                      px_graph_input(g, "v", c->dtype, &vs), PX_NONE, PX_NONE,
                      c->pos ? px_graph_input(g, "pos", PX_I32, &ps) : PX_NONE,
                      c->mask ? px_graph_input(g, "mask", PX_F32, &ms) : PX_NONE};
    px_attr a[4];
    int na = c->no_attrs ? 0 : attn_attrs(a, c->causal, c->window, c->softcap, c->scale);
    px_graph_set_group(g, 7);
    px_value out = px_graph_node(g, PX_OP_ATTENTION, in, 7, a, na, "attn");
    runner r;
    if (finish_graph(g, out, c->label) && runner_create(&r, g, c->label) == 0) {
        for (int run = 0; run < (c->sym ? 2 : 1); run++) {
            int64_t T = run ? c->T / 2 : c->T, Tk = c->sym ? T : c->Tk;
            int64_t nq = T * c->Hq * c->D, nk = Tk * c->Hkv * c->D, nv = Tk * c->Hkv * c->Dv;
            int64_t n = T * c->Hq * c->Dv;
            float *q = rand_buf(nq, 1.0f), *k = rand_buf(nk, 1.0f), *v = rand_buf(nv, 1.0f);
            float *m = rand_mask(T, Tk);
            round_to(c->dtype, q, nq);
            round_to(c->dtype, k, nk);
            round_to(c->dtype, v, nv);
            int32_t *qpos = malloc((size_t)T * sizeof *qpos);
            if (!qpos) abort();
            for (int64_t t = 0; t < T; t++) qpos[t] = c->pos ? c->pos[t] : (int32_t)t;
            double *dq = dbuf(nq), *dk = dbuf(nk), *dv = dbuf(nv), *ref = dbuf(n);
            to_double(q, dq, nq);
            to_double(k, dk, nk);
            to_double(v, dv, nv);
            attn_ref_args ra = {T, Tk, c->Hq, c->Hkv, c->D, c->Dv, dq, dk, dv, qpos, Tk - 1,
                                c->no_attrs ? 1 : c->causal, c->no_attrs ? 0 : c->window,
                                c->no_attrs ? 0 : c->softcap,
                                (!c->no_attrs && c->scale > 0) ? c->scale : 1.0 / sqrt((double)c->D),
                                c->mask ? m : NULL};
            attn_ref(&ra, ref);
            float *o[2] = {rand_buf(n, 0), rand_buf(n, 0)};
            feed f[5] = {{"q", c->dtype, q, nq}, {"k", c->dtype, k, nk}, {"v", c->dtype, v, nv}};
            int nf = 3;
            if (c->pos) f[nf++] = (feed){"pos", PX_I32, qpos, T};
            if (c->mask) f[nf++] = (feed){"mask", PX_F32, m, T * Tk};
            if (runner_run(&r, c->sym ? "T" : NULL, T, f, nf, o, n) == 0) compare_all(c->label, o, ref, n, c->dtype, 0);
            free(q);
            free(k);
            free(v);
            free(m);
            free(qpos);
            free(dq);
            free(dk);
            free(dv);
            free(ref);
            free(o[0]);
            free(o[1]);
        }
        runner_destroy(&r);
    }
    px_graph_destroy(g);
}

/* ---- ATTENTION with a KV cache ------------------------------------------------- */

typedef struct cache_case {
    const char *label;
    px_dtype cdt; /* cache dtype */
    int64_t C, Hq, Hkv, D, Dv;
    int causal;
    int64_t window;
    double softcap;
    int mask;
} cache_case;

/* Successive runs: prefill, decode, a chunk, a rewrite of earlier rows,
 * positions out of order, and a jump that leaves rows 11..14 unwritten. */
static const int32_t g_run_pos[][4] = {{0, 1, 2, 3}, {4}, {5, 6, 7}, {3, 4}, {10, 8, 9}, {15}};
static const int64_t g_run_T[] = {4, 1, 3, 2, 3, 1};
#define N_CACHE_RUNS 6
#define CACHE_TMAX 4

static void test_attention_cache(const cache_case *c) {
    px_graph *g = new_graph();
    int32_t s = px_graph_add_sym(g, "T", CACHE_TMAX);
    px_dim Td = px_dim_s(s);
    px_shape qs = {3, {Td, px_dim_c(c->Hq), px_dim_c(c->D)}};
    px_shape ks = {3, {Td, px_dim_c(c->Hkv), px_dim_c(c->D)}};
    px_shape vs = {3, {Td, px_dim_c(c->Hkv), px_dim_c(c->Dv)}};
    px_shape kcs = px_shape_make(3, (int64_t[]){c->C, c->Hkv, c->D});
    px_shape vcs = px_shape_make(3, (int64_t[]){c->C, c->Hkv, c->Dv});
    px_shape ps = {1, {Td}};
    px_shape ms = {2, {Td, px_dim_c(c->C)}};
    px_value in[7] = {px_graph_input(g, "q", PX_F32, &qs),     px_graph_input(g, "k", PX_F32, &ks),
                      px_graph_input(g, "v", PX_F32, &vs),     px_graph_state(g, "k_cache", c->cdt, &kcs),
                      px_graph_state(g, "v_cache", c->cdt, &vcs), px_graph_input(g, "pos", PX_I32, &ps),
                      c->mask ? px_graph_input(g, "mask", PX_F32, &ms) : PX_NONE};
    px_attr a[4];
    int na = attn_attrs(a, c->causal, c->window, c->softcap, 0);
    px_graph_set_group(g, 0);
    px_value out = px_graph_node(g, PX_OP_ATTENTION, in, 7, a, na, "attn");
    runner r;
    double *kc = dbuf(c->C * c->Hkv * c->D), *vc = dbuf(c->C * c->Hkv * c->Dv);
    if (finish_graph(g, out, c->label) && runner_create(&r, g, c->label) == 0) {
        /* quantized caches: both programs should quantize alike, the
         * reference uses px_convert's quantizer */
        double extra = c->cdt == PX_Q8_0 ? 4e-3 : 0;
        for (int run = 0; run < N_CACHE_RUNS; run++) {
            char label[160];
            snprintf(label, sizeof label, "%s, run %d", c->label, run);
            int64_t T = g_run_T[run];
            int64_t nq = T * c->Hq * c->D, nk = T * c->Hkv * c->D, nv = T * c->Hkv * c->Dv;
            int64_t n = T * c->Hq * c->Dv;
            float *q = rand_buf(nq, 1.0f), *k = rand_buf(nk, 1.0f), *v = rand_buf(nv, 1.0f);
            float *m = rand_mask(T, c->C);
            const int32_t *pos = g_run_pos[run];
            int32_t maxp = 0;
            /* reference cache update, rounded through the cache dtype */
            float *kr = malloc((size_t)(c->Hkv * c->D) * sizeof *kr), *vr = malloc((size_t)(c->Hkv * c->Dv) * sizeof *vr);
            if (!kr || !vr) abort();
            for (int64_t t = 0; t < T; t++) {
                memcpy(kr, k + t * c->Hkv * c->D, (size_t)(c->Hkv * c->D) * sizeof *kr);
                memcpy(vr, v + t * c->Hkv * c->Dv, (size_t)(c->Hkv * c->Dv) * sizeof *vr);
                round_to(c->cdt, kr, c->Hkv * c->D);
                round_to(c->cdt, vr, c->Hkv * c->Dv);
                to_double(kr, kc + pos[t] * c->Hkv * c->D, c->Hkv * c->D);
                to_double(vr, vc + pos[t] * c->Hkv * c->Dv, c->Hkv * c->Dv);
                if (pos[t] > maxp) maxp = pos[t];
            }
            free(kr);
            free(vr);
            double *dq = dbuf(nq), *ref = dbuf(n);
            to_double(q, dq, nq);
            attn_ref_args ra = {T, c->C, c->Hq, c->Hkv, c->D, c->Dv, dq, kc, vc, pos, maxp, c->causal, c->window,
                                c->softcap, 1.0 / sqrt((double)c->D), c->mask ? m : NULL};
            attn_ref(&ra, ref);
            float *o[2] = {rand_buf(n, 0), rand_buf(n, 0)};
            feed f[5] = {{"q", PX_F32, q, nq}, {"k", PX_F32, k, nk}, {"v", PX_F32, v, nv}, {"pos", PX_I32, pos, T},
                         {"mask", PX_F32, m, T * c->C}};
            if (runner_run(&r, "T", T, f, c->mask ? 5 : 4, o, n) == 0) {
                compare_all(label, o, ref, n, PX_F32, extra);
                /* the caches of both programs hold the same rows */
                const char *states[2] = {"k_cache", "v_cache"};
                int64_t sn[2] = {c->C * c->Hkv * c->D, c->C * c->Hkv * c->Dv};
                for (int i = 0; i < 2; i++) {
                    float *s0 = rand_buf(sn[i], 0), *s1 = rand_buf(sn[i], 0);
                    int64_t g0 = read_f32(r.p[0], states[i], s0, sn[i]);
                    int64_t g1 = read_f32(r.p[1], states[i], s1, sn[i]);
                    CHECK_MSG(g0 == sn[i] && g1 == sn[i], "%s: reading %s: %s", label, states[i], px_last_error());
                    if (g0 == sn[i] && g1 == sn[i]) {
                        double *want = dbuf(sn[i]);
                        memcpy(want, i ? vc : kc, (size_t)sn[i] * sizeof *want);
                        check_close_f(label, i ? "v_cache decomposed vs kernel" : "k_cache decomposed vs kernel",
                                      s1, s0, sn[i], c->cdt == PX_Q8_0 ? 1e-2 : 0, 0);
                        check_close(label, i ? "v_cache vs reference" : "k_cache vs reference", s1, want, sn[i],
                                    c->cdt == PX_Q8_0 ? 1e-2 : 0, 0);
                        free(want);
                    }
                    free(s0);
                    free(s1);
                }
            }
            free(q);
            free(k);
            free(v);
            free(m);
            free(dq);
            free(ref);
            free(o[0]);
            free(o[1]);
        }
        runner_destroy(&r);
    }
    free(kc);
    free(vc);
    px_graph_destroy(g);
}

/* ---- main ------------------------------------------------------------------------ */

static const px_op g_composites[] = {PX_OP_RMS_NORM, PX_OP_SWIGLU, PX_OP_ROPE, PX_OP_ATTENTION};

int main(void) {
    CHECK(px_decompose_supported(PX_OP_RMS_NORM) && px_decompose_supported(PX_OP_SWIGLU) &&
          px_decompose_supported(PX_OP_ROPE) && px_decompose_supported(PX_OP_ATTENTION));
    CHECK(!px_decompose_supported(PX_OP_MATMUL) && !px_decompose_supported(PX_OP_LAYER_NORM));

    px_context_options co = px_context_options_default();
    co.plugin_dir = PX_TEST_CPU_PLUGIN_DIR;
    px_status st = px_context_create(&co, &g_ctx);
    CHECK_MSG(st == PX_OK, "px_context_create: %s", px_last_error());
    if (st != PX_OK) return px_test_finish("test_decompose");
    int32_t cpu = -1;
    for (int32_t i = 0; i < px_context_device_count(g_ctx); i++) {
        px_device_report dr;
        if (px_context_device_report(g_ctx, i, &dr) == PX_OK && strcmp(dr.id, "cpu") == 0) cpu = i;
    }
    CHECK_MSG(cpu >= 0, "no CPU device (plugin dir %s)", PX_TEST_CPU_PLUGIN_DIR ? PX_TEST_CPU_PLUGIN_DIR : "default");
    if (cpu < 0) {
        px_context_destroy(g_ctx);
        return px_test_finish("test_decompose");
    }
    /* Without a CPU kernel for the composite op, both programs would run the
     * decomposition and the comparison would test nothing. */
    for (size_t i = 0; i < sizeof g_composites / sizeof g_composites[0]; i++)
        CHECK_MSG(px_context_kernel_count(g_ctx, cpu, g_composites[i]) > 0, "the CPU plugin has no %s kernel",
                  px_op_name(g_composites[i]));

    static const rms_case rms[] = {
        {"rms_norm f32 [T, 64] weight, eps 1e-5, symbolic T", PX_F32, 2, 6, 64, 1, 1, 1e-5, 1.0f},
        {"rms_norm f32 [4, 3, 32] no weight, default eps", PX_F32, 3, 4, 32, 0, 0, -1, 1.0f},
        {"rms_norm f32 tiny values, eps 1e-2", PX_F32, 2, 3, 16, 0, 1, 1e-2, 1e-2f},
        {"rms_norm f16 [5, 64] weight, values to 300", PX_F16, 2, 5, 64, 0, 1, 1e-6, 300.0f},
    };
    for (size_t i = 0; i < sizeof rms / sizeof rms[0]; i++) test_rms_norm(&rms[i]);

    test_swiglu("swiglu f32 [T, 96] symbolic T", PX_F32, 7, 96, 1);
    test_swiglu("swiglu f16 [5, 64]", PX_F16, 5, 64, 0);

    static const rope_case rope[] = {
        {"rope normal [T, 3, 64] symbolic T, defaults", PX_F32, 8, 3, 64, 1, 0, 0, 0, 0, 0},
        {"rope neox [5, 2, 64] n_dims 32, base 5e5, scale 0.25, freq_factors", PX_F32, 5, 2, 64, 0, 32, 2, 500000.0,
         0.25, 1},
        {"rope normal [4, 48] n_dims 32, freq_factors", PX_F32, 4, 0, 48, 0, 32, 0, 10000.0, 0, 1},
        {"rope neox [6, 32]", PX_F32, 6, 0, 32, 0, 0, 2, 0, 0, 0},
        {"rope normal [3, 2, 80] n_dims 64, f16", PX_F16, 3, 2, 80, 0, 64, 0, 0, 0.5, 0},
        {"rope neox [T, 4, 16] n_dims 8, symbolic T, freq_factors", PX_F32, 6, 4, 16, 1, 8, 2, 1000.0, 0, 1},
    };
    for (size_t i = 0; i < sizeof rope / sizeof rope[0]; i++) test_rope(&rope[i]);

    static const int32_t pos_b[3] = {4, 5, 6};
    static const int32_t pos_h[3] = {0, 2, 9};
    static const attn_case attn[] = {
        {"attention defaults (causal), 2 heads", PX_F32, 5, 5, 2, 2, 16, 16, 0, 1, 0, 0, 0, 0, NULL, 0},
        {"attention GQA 8/2, Dv 24, positions 4..6 of 7 keys", PX_F32, 3, 7, 8, 2, 32, 24, 0, 0, 1, 0, 0, 0, pos_b, 0},
        {"attention not causal, mask", PX_F32, 4, 6, 4, 4, 16, 16, 0, 0, 0, 0, 0, 0, NULL, 1},
        {"attention causal window 3, MQA 4/1", PX_F32, 6, 6, 4, 1, 16, 16, 0, 0, 1, 3, 0, 0, NULL, 0},
        {"attention softcap 5, scale 0.5, mask, GQA 6/3", PX_F32, 5, 5, 6, 3, 16, 16, 0, 0, 1, 0, 5.0, 0.5, NULL, 1},
        {"attention symbolic T, GQA 4/2", PX_F32, 8, 8, 4, 2, 16, 16, 1, 0, 1, 0, 0, 0, NULL, 0},
        {"attention f16, MQA 2/1", PX_F16, 4, 4, 2, 1, 32, 32, 0, 0, 1, 0, 0, 0, NULL, 0},
        {"attention not causal, window 2, a query that sees no key", PX_F32, 3, 5, 2, 1, 16, 8, 0, 0, 0, 2, 0, 0, pos_h,
         0},
    };
    for (size_t i = 0; i < sizeof attn / sizeof attn[0]; i++) test_attention(&attn[i]);

    static const cache_case cache[] = {
        {"attention cache f32, causal, GQA 4/2, Dv 24", PX_F32, 16, 4, 2, 16, 24, 1, 0, 0, 0},
        {"attention cache f16, causal, window 3", PX_F16, 16, 4, 2, 32, 16, 1, 3, 0, 0},
        {"attention cache q8_0, causal, Dv 64", PX_Q8_0, 16, 4, 1, 32, 64, 1, 0, 0, 0},
        {"attention cache f32, not causal", PX_F32, 16, 2, 2, 16, 16, 0, 0, 0, 0},
        {"attention cache f16, not causal, mask", PX_F16, 16, 6, 2, 16, 16, 0, 0, 0, 1},
        {"attention cache q8_0, causal, softcap 3, mask", PX_Q8_0, 16, 2, 2, 32, 32, 1, 0, 3.0, 1},
    };
    for (size_t i = 0; i < sizeof cache / sizeof cache[0]; i++) test_attention_cache(&cache[i]);

    px_context_destroy(g_ctx);
    return px_test_finish("test_decompose");
}
