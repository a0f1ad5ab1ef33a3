/* Op conformance: every op of ops.h (RESHAPE through graphs), on every
 * loaded device, against a double-precision oracle (oracle.h) and against
 * the CPU's output.
 *
 * For each case (conf_cases.c) a one-node graph is built with the public
 * API and compiled once per device with px_program_options.order =
 * "<device>,cpu", so the node runs on that device when it has a kernel and
 * falls back to the CPU otherwise (or, for composite ops, is decomposed
 * into primitives the device runs). px_program_node_device tells where each
 * node ran; the table at the end counts, per op and device, the cases run
 * and passed and how many really ran on the device. The CPU must run every
 * case itself. Tolerances are documented in oracle.h.
 *
 * Environment:
 *   PLEXUS_TEST_SEED     seed of the case generators (default 20240601)
 *   PLEXUS_CONF_OPS      comma-separated op names to test (default: all)
 *   PLEXUS_CONF_ROUNDS   rounds of random cases per op (default 3), each
 *                        with its own seed; then a round of large cases
 *   PLEXUS_CONF_LARGE    0: skip the large cases
 *   PLEXUS_CONF_THREADS  threads of the context (default: the number of cores)
 *   PLEXUS_CONF_VERBOSE  1: print every case
 *   PLEXUS_TEST_PLUGIN_DIR  the test plugins (sepmem), set by CTest
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plexus/plexus.h"
#include "test.h"
#include "conf.h"

#ifndef PX_TEST_CPU_PLUGIN_DIR
#define PX_TEST_CPU_PLUGIN_DIR ""
#endif

#define MAX_DEV 8
#define MAX_PRINTED_FAILURES 60

typedef struct dev_stats {
    int run, passed, here, decomposed, fallback;
    double worst; /* largest |got - expected| / tolerance seen */
} dev_stats;

typedef struct runner {
    px_context *ctx;
    int n_dev;
    char id[MAX_DEV][80];
    int cpu;              /* index of the "cpu" device */
    dev_stats st[PX_OP_COUNT][MAX_DEV];
    int n_cases, n_failed, n_printed;
    int case_index;       /* within the current op and round */
    int round;            /* generator round (the last one: large cases) */
    uint64_t seed;
    int verbose;
} runner;

static const char *order_for(const runner *R, int d, char *buf, size_t cap) {
    if (d == R->cpu) snprintf(buf, cap, "%s", R->id[d]);
    else snprintf(buf, cap, "%s,%s", R->id[d], R->id[R->cpu]);
    return buf;
}

static void fail_case(runner *R, const ccase *c, int d, const char *fmt, ...) PX_PRINTF(4, 5);
static void fail_case(runner *R, const ccase *c, int d, const char *fmt, ...) {
    R->n_failed++;
    px_test_failures++;
    if (R->n_printed++ >= MAX_PRINTED_FAILURES) {
        if (R->n_printed == MAX_PRINTED_FAILURES + 1) fprintf(stderr, "(further failures not printed)\n");
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "FAIL %s on %s, seed %llu round %d case %d: %s\n     %s\n", px_op_name(c->op),
            d >= 0 ? R->id[d] : "-", (unsigned long long)R->seed, R->round, R->case_index, c->label, buf);
}

/* ---- comparison ------------------------------------------------------------------- */

static int same_special(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b;
}

/* Check got[] against the oracle; write up to 4 mismatches into detail.
 * Returns the number of mismatching elements. */
static int64_t check_values(const oresult *e, const double *got, char *detail, size_t cap, double scale,
                            double *worst) {
    int64_t bad = 0;
    size_t o = 0;
    detail[0] = 0;
    for (int64_t i = 0; i < e->n; i++) {
        double v = e->v[i], g = got[i];
        int ok;
        if (e->exact || isnan(v) || isinf(v)) {
            ok = same_special(v, g);
        } else {
            double t = scale * (e->tol[i] + oracle_store_tol(e->dtype, v));
            ok = fabs(g - v) <= t && !isnan(g);
            /* F32/F64/block outputs: the ratio shows the computation's error
             * (F16/BF16 outputs would only show their own rounding) */
            int wide = e->dtype == PX_F32 || e->dtype == PX_F64 || oracle_is_quant(e->dtype);
            if (worst && wide && t > 0 && fabs(g - v) / t > *worst) *worst = fabs(g - v) / t;
        }
        if (!ok && bad++ < 4 && o < cap)
            o += (size_t)snprintf(detail + o, cap - o, "%s[%lld] expected %.9g got %.9g (tol %.3g)", o ? "; " : "",
                                  (long long)i, v, g, e->exact ? 0.0 : scale * (e->tol[i] + oracle_store_tol(e->dtype, v)));
    }
    return bad;
}

/* Fetch a value, check dtype and shape, decode. NULL on failure (message in err). */
static double *fetch(px_program *p, const char *name, const oresult *e, char *err, size_t cap) {
    px_dtype dt;
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
    if (px_program_value_shape(p, name, &dt, &rank, ne) != PX_OK) {
        snprintf(err, cap, "value_shape('%s'): %s", name, px_last_error());
        return NULL;
    }
    char a[96], b[96];
    int same = dt == e->dtype && rank == e->rank;
    for (int32_t i = 0; same && i < rank; i++) same = ne[i] == e->ne[i];
    if (!same) {
        snprintf(err, cap, "'%s' is %s%s, expected %s%s", name, px_dtype_name(dt), shape_str(rank, ne, a, sizeof a),
                 px_dtype_name(e->dtype), shape_str(e->rank, e->ne, b, sizeof b));
        return NULL;
    }
    int64_t nb = oracle_nbytes(dt, e->n);
    uint8_t *raw = malloc((size_t)(nb > 0 ? nb : 1));
    double *v = calloc((size_t)(e->n ? e->n : 1), sizeof *v);
    if (!raw || !v) {
        free(raw);
        free(v);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    px_status st = px_program_get_output(p, name, raw, (size_t)nb);
    if (st != PX_OK) {
        snprintf(err, cap, "get_output('%s'): %s: %s", name, px_status_name(st), px_last_error());
        free(raw);
        free(v);
        return NULL;
    }
    oracle_decode(dt, raw, e->n, v);
    free(raw);
    return v;
}

/* ---- one case on all devices ---------------------------------------------------------------- */

static px_graph *build_graph(const ccase *c, char *err, size_t cap) {
    px_graph *g = NULL;
    if (px_graph_create(&g) != PX_OK) {
        snprintf(err, cap, "px_graph_create: %s", px_last_error());
        return NULL;
    }
    px_value ids[CONF_MAX_IN];
    for (int i = 0; i < c->n_in; i++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        const otensor *t = &c->in[i];
        px_shape s = px_shape_make(t->rank, t->ne);
        int64_t nb = oracle_nbytes(t->dtype, ot_numel(t));
        switch (c->kind[i]) {
        case IN_INPUT: ids[i] = px_graph_input(g, name, t->dtype, &s); break;
        case IN_CONST: ids[i] = px_graph_constant(g, name, t->dtype, &s, t->data, (size_t)nb, PX_CONST_COPY); break;
        case IN_STATE: ids[i] = px_graph_state(g, name, t->dtype, &s); break;
        default: ids[i] = PX_NONE; break;
        }
    }
    px_value out;
    if (c->op == PX_OP_ARANGE)
        out = px_graph_arange(g, px_dim_c(c->arange_n), px_attr_float(c->attrs, c->n_attrs, "start", 0),
                              px_attr_float(c->attrs, c->n_attrs, "step", 1),
                              (px_dtype)px_attr_int(c->attrs, c->n_attrs, "dtype", PX_F32), "node");
    else
        out = px_graph_node(g, c->op, ids, c->n_in, c->attrs, c->n_attrs, "node");
    if (out != PX_NONE) px_graph_mark_output(g, out, "out");
    if (px_graph_status(g) != PX_OK) {
        snprintf(err, cap, "graph: %s", px_graph_error_message(g));
        px_graph_destroy(g);
        return NULL;
    }
    return g;
}

static int set_inputs(px_program *p, const ccase *c, char *err, size_t cap) {
    static const uint8_t dummy[8];
    for (int i = 0; i < c->n_in; i++) {
        if (c->kind[i] != IN_INPUT && c->kind[i] != IN_STATE) continue;
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        int64_t nb = oracle_nbytes(c->in[i].dtype, ot_numel(&c->in[i]));
        px_status st = px_program_set_input(p, name, nb ? c->in[i].data : dummy, (size_t)nb);
        if (st != PX_OK) {
            snprintf(err, cap, "set_input('%s'): %s", name, px_last_error());
            return -1;
        }
    }
    return 0;
}

typedef struct case_ctx {
    runner *R;
} case_ctx;

static void run_case(ccase *c, void *vctx) {
    runner *R = ((case_ctx *)vctx)->R;
    R->case_index++;
    R->n_cases++;
    if (R->verbose) printf("  round %d case %d: %s\n", R->round, R->case_index, c->label);
    char msg[512], err[1024], detail[1024];
    int32_t n_oattrs = c->n_oracle_attrs > c->n_attrs ? c->n_oracle_attrs : c->n_attrs;
    oresult e;
    int orc = oracle_eval(c->op, c->attrs, n_oattrs, c->in, c->n_in, &e, msg, sizeof msg);
    if (orc < 0) {
        fail_case(R, c, -1, "the oracle cannot evaluate this case (a bug in the test): %s", msg);
        return;
    }
    oresult se[2];
    int n_se = 0;
    for (int k = 0; orc == 0 && k < c->n_state_checks; k++) {
        otensor sin[3] = {c->in[c->state_in[k]], c->in[c->state_src[k]], c->in[c->state_idx]};
        if (oracle_eval(PX_OP_SET_ROWS, NULL, 0, sin, 3, &se[k], msg, sizeof msg)) {
            fail_case(R, c, -1, "the oracle cannot evaluate the state update: %s", msg);
            for (int j = 0; j < n_se; j++) oresult_free(&se[j]);
            oresult_free(&e);
            return;
        }
        n_se++;
    }
    px_graph *g = build_graph(c, err, sizeof err);
    if (!g) {
        fail_case(R, c, -1, "%s", err);
        goto done;
    }
    double *cpu_out = NULL;
    /* CPU first, so that the other devices can be compared with it. */
    for (int k = 0; k < R->n_dev; k++) {
        int d = k == 0 ? R->cpu : (k <= R->cpu ? k - 1 : k);
        dev_stats *ds = &R->st[c->op][d];
        ds->run++;
        char order[200];
        px_program_options o = px_program_options_default();
        o.order = order_for(R, d, order, sizeof order);
        px_program *p = NULL;
        px_status st = px_program_create(R->ctx, g, &o, &p);
        if (st != PX_OK) {
            fail_case(R, c, d, "px_program_create: %s: %s", px_status_name(st), px_last_error());
            continue;
        }
        /* where did it run? */
        px_program_stats stats;
        px_program_get_stats(p, &stats);
        int here = 1, n_nodes = 0;
        char where[256] = "";
        size_t wo = 0;
        for (int32_t i = 0;; i++) {
            const char *nd = px_program_node_device(p, i);
            if (!nd) break;
            if (strcmp(nd, "-") == 0) continue;
            n_nodes++;
            if (strcmp(nd, R->id[d]) != 0) here = 0;
            if (wo < sizeof where) wo += (size_t)snprintf(where + wo, sizeof where - wo, "%s%s", wo ? "," : "", nd);
        }
        if (here && n_nodes > 0) {
            ds->here++;
            if (stats.n_decomposed > 0) ds->decomposed++;
        } else {
            ds->fallback++;
        }
        if (d == R->cpu && !(here && n_nodes > 0)) {
            fail_case(R, c, d, "the CPU did not run the case itself (nodes on: %s)", where);
            px_program_destroy(p);
            continue;
        }
        int ok = 1;
        if (set_inputs(p, c, err, sizeof err)) {
            fail_case(R, c, d, "%s", err);
            ok = 0;
        }
        if (ok) {
            st = px_program_run(p);
            if (orc == 1) {
                if (st == PX_OK) {
                    fail_case(R, c, d, "run succeeded, but ops.h requires an error (%s)", msg);
                    ok = 0;
                } else if (!px_last_error()[0]) {
                    fail_case(R, c, d, "run failed with %s but no message", px_status_name(st));
                    ok = 0;
                } else if (R->verbose) {
                    printf("    expected error on %s: %s\n", R->id[d], px_last_error());
                }
            } else if (st != PX_OK) {
                fail_case(R, c, d, "run: %s: %s (nodes on %s)", px_status_name(st), px_last_error(), where);
                ok = 0;
            }
        }
        if (ok && orc == 0) {
            double *got = fetch(p, "out", &e, err, sizeof err);
            if (!got) {
                fail_case(R, c, d, "%s", err);
                ok = 0;
            } else {
                double w = 0;
                int64_t bad = check_values(&e, got, detail, sizeof detail, 1.0, &w);
                if (w > ds->worst) ds->worst = w;
                if (R->verbose) printf("    %s: error/tolerance %.3f\n", R->id[d], w);
                if (bad) {
                    fail_case(R, c, d, "%lld of %lld elements differ from the oracle (nodes on %s): %s",
                              (long long)bad, (long long)e.n, where, detail);
                    ok = 0;
                }
                if (d == R->cpu) {
                    cpu_out = got;
                    got = NULL;
                } else if (cpu_out) {
                    /* device vs CPU: both within tolerance of the oracle, so
                     * within twice the tolerance of each other */
                    oresult ce = e;
                    ce.v = cpu_out;
                    bad = check_values(&ce, got, detail, sizeof detail, 2.0, NULL);
                    if (bad) {
                        fail_case(R, c, d, "%lld elements differ from the CPU's output: %s", (long long)bad, detail);
                        ok = 0;
                    }
                }
                free(got);
            }
            for (int k2 = 0; ok && k2 < n_se; k2++) {
                char name[16];
                snprintf(name, sizeof name, "in%d", c->state_in[k2]);
                double *sv = fetch(p, name, &se[k2], err, sizeof err);
                if (!sv) {
                    fail_case(R, c, d, "state: %s", err);
                    ok = 0;
                    break;
                }
                int64_t bad = check_values(&se[k2], sv, detail, sizeof detail, 1.0, NULL);
                if (bad) {
                    fail_case(R, c, d, "state '%s' after the run: %lld elements differ: %s", name, (long long)bad,
                              detail);
                    ok = 0;
                }
                free(sv);
            }
        }
        if (ok) ds->passed++;
        px_program_destroy(p);
    }
    free(cpu_out);
    px_graph_destroy(g);
done:
    for (int j = 0; j < n_se; j++) oresult_free(&se[j]);
    if (orc == 0) oresult_free(&e);
}

/* ---- graphs: RESHAPE, symbolic dims ----------------------------------------------------------- */

static void fail_graph(runner *R, const char *test, int d, const char *fmt, ...) PX_PRINTF(4, 5);
static void fail_graph(runner *R, const char *test, int d, const char *fmt, ...) {
    R->n_failed++;
    px_test_failures++;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "FAIL graph test '%s' on %s: %s\n", test, d >= 0 ? R->id[d] : "-", buf);
}

/* Compare output `name` of p with e; returns 1 if it matches. */
static int check_output(runner *R, const char *test, int d, px_program *p, const char *name, const oresult *e) {
    char err[512], detail[1024];
    double *got = fetch(p, name, e, err, sizeof err);
    if (!got) {
        fail_graph(R, test, d, "%s", err);
        return 0;
    }
    int64_t bad = check_values(e, got, detail, sizeof detail, 1.0, NULL);
    free(got);
    if (bad) fail_graph(R, test, d, "output '%s': %lld elements differ: %s", name, (long long)bad, detail);
    return bad == 0;
}

static void rand_floats(crng *r, float *v, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) v[i] = (float)rng_uniform(r, lo, hi);
}

static otensor f32_tensor(const float *data, int32_t rank, const int64_t *ne) {
    otensor t;
    memset(&t, 0, sizeof t);
    t.dtype = PX_F32;
    t.rank = rank;
    for (int32_t i = 0; i < rank; i++) t.ne[i] = ne[i];
    t.data = data;
    return t;
}

/* Round an oracle result to F32 to feed the next op of a chain. */
static float *to_f32(const oresult *e) {
    float *f = malloc((size_t)(e->n ? e->n : 1) * sizeof *f);
    for (int64_t i = 0; f && i < e->n; i++) f[i] = (float)e->v[i];
    return f;
}

static px_program *make_program(runner *R, const char *test, int d, const px_graph *g) {
    char order[200];
    px_program_options o = px_program_options_default();
    o.order = order_for(R, d, order, sizeof order);
    px_program *p = NULL;
    if (px_program_create(R->ctx, g, &o, &p) != PX_OK) {
        fail_graph(R, test, d, "px_program_create: %s", px_last_error());
        return NULL;
    }
    return p;
}

/* x [4,6] -> SCALE(2) -> RESHAPE [3,8] -> PERMUTE(1,0) -> out [8,3];
 * x2 [2,3,4] -> RESHAPE [6,4] -> out2 (an output that aliases an input);
 * x3 [n,4] -> RESHAPE [4n] -> COPY -> out3, run with n = 3 and n = 5. */
static void test_reshape(runner *R, int d, crng *r) {
    const char *T = "reshape";
    px_graph *g = NULL;
    px_graph_create(&g);
    int32_t n = px_graph_add_sym(g, "n", 6);
    int64_t s1[2] = {4, 6}, s2[2] = {3, 8}, s3[3] = {2, 3, 4}, s4[2] = {6, 4};
    px_shape sh1 = px_shape_make(2, s1), sh2 = px_shape_make(2, s2), sh3 = px_shape_make(3, s3), sh4 = px_shape_make(2, s4);
    px_value x = px_graph_input(g, "x", PX_F32, &sh1);
    px_attr sa[1] = {PX_ATTR_F("scale", 2.0)};
    px_value y = px_graph_node(g, PX_OP_SCALE, &x, 1, sa, 1, "scale");
    px_value z = px_graph_reshape(g, y, &sh2, "reshape");
    int64_t perm[2] = {1, 0};
    px_attr pa[1] = {PX_ATTR_INTS("perm", perm, 2)};
    px_value o1 = px_graph_node(g, PX_OP_PERMUTE, &z, 1, pa, 1, "permute");
    px_graph_mark_output(g, o1, "out");
    px_value x2 = px_graph_input(g, "x2", PX_F32, &sh3);
    px_value o2 = px_graph_reshape(g, x2, &sh4, "reshape_input");
    px_graph_mark_output(g, o2, "out2");
    px_shape sh5;
    memset(&sh5, 0, sizeof sh5);
    sh5.rank = 2;
    sh5.d[0] = px_dim_s(n);
    sh5.d[1] = px_dim_c(4);
    px_shape sh6;
    memset(&sh6, 0, sizeof sh6);
    sh6.rank = 1;
    sh6.d[0].sym = n;
    sh6.d[0].k = 4;
    sh6.d[0].c = 0;
    px_value x3 = px_graph_input(g, "x3", PX_F32, &sh5);
    px_value r3 = px_graph_reshape(g, x3, &sh6, "reshape_sym");
    px_value o3 = px_graph_node(g, PX_OP_COPY, &r3, 1, NULL, 0, "copy");
    px_graph_mark_output(g, o3, "out3");
    if (px_graph_status(g) != PX_OK) {
        fail_graph(R, T, d, "graph: %s", px_graph_error_message(g));
        px_graph_destroy(g);
        return;
    }
    px_program *p = make_program(R, T, d, g);
    px_graph_destroy(g);
    if (!p) return;
    float xv[24], x2v[24], x3v[24];
    rand_floats(r, xv, 24, -3, 3);
    rand_floats(r, x2v, 24, -3, 3);
    rand_floats(r, x3v, 24, -3, 3);
    static const int64_t ns[2] = {3, 5};
    for (int run = 0; run < 2; run++) {
        int64_t nv = ns[run];
        if (px_program_set_sym(p, "n", nv) != PX_OK || px_program_set_input(p, "x", xv, sizeof xv) != PX_OK ||
            px_program_set_input(p, "x2", x2v, sizeof x2v) != PX_OK ||
            px_program_set_input(p, "x3", x3v, (size_t)nv * 4 * sizeof(float)) != PX_OK ||
            px_program_run(p) != PX_OK) {
            fail_graph(R, T, d, "n=%lld: %s", (long long)nv, px_last_error());
            break;
        }
        char msg[256];
        oresult e1, e2, e3, e4;
        otensor tx = f32_tensor(xv, 2, s1);
        oracle_eval(PX_OP_SCALE, sa, 1, &tx, 1, &e1, msg, sizeof msg);
        float *f1 = to_f32(&e1);
        otensor t1 = f32_tensor(f1, 2, s2); /* the reshape only renames the shape */
        oracle_eval(PX_OP_PERMUTE, pa, 1, &t1, 1, &e2, msg, sizeof msg);
        for (int64_t i = 0; i < e2.n; i++) e2.tol[i] += 2 * ORACLE_U * fabs(e2.v[i]);
        check_output(R, T, d, p, "out", &e2);
        int64_t shp[2] = {6, 4};
        px_attr ra[1] = {PX_ATTR_INTS("shape", shp, 2)};
        otensor tx2 = f32_tensor(x2v, 3, s3);
        oracle_eval(PX_OP_RESHAPE, ra, 1, &tx2, 1, &e3, msg, sizeof msg);
        check_output(R, T, d, p, "out2", &e3);
        int64_t s5[2] = {nv, 4}, shp3[1] = {4 * nv};
        px_attr ra3[1] = {PX_ATTR_INTS("shape", shp3, 1)};
        otensor tx3 = f32_tensor(x3v, 2, s5);
        oracle_eval(PX_OP_RESHAPE, ra3, 1, &tx3, 1, &e4, msg, sizeof msg);
        check_output(R, T, d, p, "out3", &e4);
        free(f1);
        oresult_free(&e1);
        oresult_free(&e2);
        oresult_free(&e3);
        oresult_free(&e4);
    }
    px_program_destroy(p);
}

/* One graph run several times with its symbolic dim bound to different
 * values: x [n, 7], y [7], W [7, 5] constant; soft = SOFTMAX(MUL(x, y)),
 * mm = MATMUL(x, W). */
static void test_symbolic(runner *R, int d, crng *r) {
    const char *T = "symbolic dims";
    px_graph *g = NULL;
    px_graph_create(&g);
    int32_t n = px_graph_add_sym(g, "n", 12);
    px_shape sx;
    memset(&sx, 0, sizeof sx);
    sx.rank = 2;
    sx.d[0] = px_dim_s(n);
    sx.d[1] = px_dim_c(7);
    int64_t ys[1] = {7}, ws[2] = {7, 5};
    px_shape sy = px_shape_make(1, ys), sw = px_shape_make(2, ws);
    float w[35], xv[12 * 7], yv[7];
    rand_floats(r, w, 35, -1, 1);
    rand_floats(r, xv, 84, -2, 2);
    rand_floats(r, yv, 7, -2, 2);
    px_value x = px_graph_input(g, "x", PX_F32, &sx);
    px_value y = px_graph_input(g, "y", PX_F32, &sy);
    px_value W = px_graph_constant(g, "W", PX_F32, &sw, w, sizeof w, PX_CONST_BORROW);
    px_value xy[2] = {x, y}, xw[2] = {x, W};
    px_value z = px_graph_node(g, PX_OP_MUL, xy, 2, NULL, 0, "mul");
    px_value s = px_graph_node(g, PX_OP_SOFTMAX, &z, 1, NULL, 0, "softmax");
    px_value m = px_graph_node(g, PX_OP_MATMUL, xw, 2, NULL, 0, "matmul");
    px_graph_mark_output(g, s, "soft");
    px_graph_mark_output(g, m, "mm");
    if (px_graph_status(g) != PX_OK) {
        fail_graph(R, T, d, "graph: %s", px_graph_error_message(g));
        px_graph_destroy(g);
        return;
    }
    px_program *p = make_program(R, T, d, g);
    px_graph_destroy(g);
    if (!p) return;
    static const int64_t ns[4] = {5, 11, 0, 3};
    for (int run = 0; run < 4; run++) {
        int64_t nv = ns[run];
        rand_floats(r, xv, 84, -2, 2);
        if (px_program_set_sym(p, "n", nv) != PX_OK ||
            px_program_set_input(p, "x", xv, (size_t)nv * 7 * sizeof(float)) != PX_OK ||
            px_program_set_input(p, "y", yv, sizeof yv) != PX_OK || px_program_run(p) != PX_OK) {
            fail_graph(R, T, d, "n=%lld: %s", (long long)nv, px_last_error());
            break;
        }
        char msg[256];
        int64_t xs[2] = {nv, 7};
        otensor in[2] = {f32_tensor(xv, 2, xs), f32_tensor(yv, 1, ys)};
        oresult e1, e2, e3;
        oracle_eval(PX_OP_MUL, NULL, 0, in, 2, &e1, msg, sizeof msg);
        float *f1 = to_f32(&e1);
        otensor t1 = f32_tensor(f1, 2, xs);
        oracle_eval(PX_OP_SOFTMAX, NULL, 0, &t1, 1, &e2, msg, sizeof msg);
        otensor mi[2] = {in[0], f32_tensor(w, 2, ws)};
        oracle_eval(PX_OP_MATMUL, NULL, 0, mi, 2, &e3, msg, sizeof msg);
        check_output(R, T, d, p, "soft", &e2);
        check_output(R, T, d, p, "mm", &e3);
        free(f1);
        oresult_free(&e1);
        oresult_free(&e2);
        oresult_free(&e3);
    }
    px_program_destroy(p);
}

/* ---- main ------------------------------------------------------------------------------------------- */

static int op_selected(px_op op) {
    const char *list = getenv("PLEXUS_CONF_OPS");
    if (!list || !*list) return 1;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        if (px_op_from_name(t) == op) return 1;
    return 0;
}

static void print_table(const runner *R) {
    printf("\nper-op results: passed/run [largest error/tolerance]; for devices other than the cpu, how many\n"
           "cases ran there (here), and of those how many as a decomposition (dec); the rest fell back to the cpu\n");
    printf("%-15s", "op");
    for (int d = 0; d < R->n_dev; d++) printf(" %-36s", R->id[d]);
    printf("\n");
    for (int op = 1; op < PX_OP_COUNT; op++) {
        int any = 0;
        for (int d = 0; d < R->n_dev; d++) any |= R->st[op][d].run > 0;
        if (!any) continue;
        printf("%-15s", px_op_name((px_op)op));
        for (int d = 0; d < R->n_dev; d++) {
            const dev_stats *s = &R->st[op][d];
            char cell[96];
            if (d == R->cpu) snprintf(cell, sizeof cell, "%d/%d [%.2f]", s->passed, s->run, s->worst);
            else if (s->decomposed)
                snprintf(cell, sizeof cell, "%d/%d [%.2f] (here %d, dec %d)", s->passed, s->run, s->worst, s->here,
                         s->decomposed);
            else snprintf(cell, sizeof cell, "%d/%d [%.2f] (here %d)", s->passed, s->run, s->worst, s->here);
            printf(" %-36s", cell);
        }
        printf("\n");
    }
}

int main(void) {
    static runner R;
    memset(&R, 0, sizeof R);
    const char *seed_env = getenv("PLEXUS_TEST_SEED");
    uint64_t seed = seed_env && *seed_env ? strtoull(seed_env, NULL, 0) : 20240601ull;
    const char *ro = getenv("PLEXUS_CONF_ROUNDS"), *lg = getenv("PLEXUS_CONF_LARGE");
    int rounds = ro && *ro ? atoi(ro) : 3, large = !(lg && strcmp(lg, "0") == 0);
    R.seed = seed;
    const char *v = getenv("PLEXUS_CONF_VERBOSE");
    R.verbose = v && *v && strcmp(v, "0") != 0;
    const char *tdir = getenv("PLEXUS_TEST_PLUGIN_DIR");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s%s%s", PX_TEST_CPU_PLUGIN_DIR, tdir && *tdir ? ":" : "", tdir ? tdir : "");
    px_context_options co = px_context_options_default();
    co.plugin_dir = dirs;
    const char *th = getenv("PLEXUS_CONF_THREADS");
    co.n_threads = th && *th ? atoi(th) : 0;
    px_status st = px_context_create(&co, &R.ctx);
    if (st != PX_OK) {
        fprintf(stderr, "px_context_create(plugin_dir=%s): %s\n", dirs, px_last_error());
        return 1;
    }
    R.cpu = -1;
    R.n_dev = px_context_device_count(R.ctx);
    if (R.n_dev > MAX_DEV) R.n_dev = MAX_DEV;
    printf("seed %llu, %d rounds%s, %d threads, plugin dirs %s\n", (unsigned long long)seed, rounds,
           large ? " + large cases" : "", px_context_threads(R.ctx), dirs);
    for (int d = 0; d < R.n_dev; d++) {
        px_device_report dr;
        px_context_device_report(R.ctx, d, &dr);
        snprintf(R.id[d], sizeof R.id[d], "%s", dr.id);
        if (strcmp(dr.id, "cpu") == 0) R.cpu = d;
        printf("device %s: %s (plugin %s, %d kernels)\n", dr.id, dr.name, dr.plugin, dr.n_kernels);
    }
    CHECK_MSG(R.cpu >= 0, "no cpu device: the CPU plugin must load from %s", dirs);
    if (R.cpu < 0) {
        px_context_destroy(R.ctx);
        return px_test_finish("test_conformance");
    }
    for (int op = 1; op < PX_OP_COUNT; op++) {
        if (op == PX_OP_RESHAPE || !op_selected((px_op)op)) continue;
        if (R.verbose) printf("op %s\n", px_op_name((px_op)op));
        case_ctx cc = {&R};
        for (int round = 0; round <= rounds; round++) {
            /* one seed per op and round: a failure is reproduced with
             * PLEXUS_CONF_OPS=<op> and the seed and round it prints */
            R.round = round;
            R.case_index = 0;
            crng rng = {seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)op) ^ (0xd1b54a32d192ed03ull * (uint64_t)round)};
            if (round < rounds) conf_generate((px_op)op, &rng, run_case, &cc);
            else if (large) conf_generate_large((px_op)op, &rng, run_case, &cc);
            px_test_checks += R.case_index;
        }
    }
    if (op_selected(PX_OP_RESHAPE)) {
        crng rng = {seed ^ 0x5eed};
        for (int d = 0; d < R.n_dev; d++) {
            test_reshape(&R, d, &rng);
            test_symbolic(&R, d, &rng);
            px_test_checks += 2;
        }
    }
    print_table(&R);
    printf("\n%d cases, %d failures\n", R.n_cases, R.n_failed);
    px_context_destroy(R.ctx);
    return px_test_finish("test_conformance");
}
