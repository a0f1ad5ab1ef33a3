/* Mixed-device graphs on the sepmem test device (separate memory) and the
 * CPU, order "sepmem,cpu":
 *
 * 1. x -> MATMUL(W1, trans_b) -> RMS_NORM(g) -> ADD(res) -> GELU -> SILU -> SOFTMAX
 *    sepmem has MATMUL, ADD, SILU and SOFTMAX kernels, no GELU and no
 *    RMS_NORM: RMS_NORM is decomposed into primitives sepmem runs, GELU
 *    falls back to the CPU. Expected: 3 segments (sepmem | cpu | sepmem),
 *    2 transfers per run (one download, one upload), constants uploaded once
 *    at create, inputs uploaded by set_input, the output downloaded by
 *    get_output — checked with the plugin's own transfer counters — and the
 *    same results as an all-CPU program.
 * 2. A decoder step with a KV cache: ROPE(q), ROPE(k), ATTENTION with F16
 *    cache states, MATMULs and SWIGLU, run three times (prefill, then two
 *    single-token steps with the symbolic dim bound to 1). All composites
 *    are decomposed on sepmem; the whole graph runs there and matches the
 *    CPU program, whose kernels run the composites natively, step by step
 *    (the caches persist across runs on both).
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plexus/plexus.h"
#include "test.h"

#ifndef PX_TEST_CPU_PLUGIN_DIR
#define PX_TEST_CPU_PLUGIN_DIR ""
#endif

typedef void (*counters_fn)(uint64_t *, uint64_t *, uint64_t *);
typedef int64_t (*live_fn)(void);

static counters_fn sm_counters;
static live_fn sm_live;

typedef struct counts {
    uint64_t up, down, copy;
} counts;

static counts now(void) {
    counts c = {0, 0, 0};
    if (sm_counters) sm_counters(&c.up, &c.down, &c.copy);
    return c;
}

static counts since(counts a) {
    counts b = now();
    counts d = {b.up - a.up, b.down - a.down, b.copy - a.copy};
    return d;
}

static void rand_fill(uint64_t *s, float *v, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = lo + (hi - lo) * (float)((*s >> 40) & 0xffffff) / 16777216.0f;
    }
}

static int close_enough(const float *a, const float *b, size_t n, double rtol, double atol, const char *what) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= atol + rtol * fabs((double)b[i]))) {
            if (bad < 4) fprintf(stderr, "%s[%zu]: sepmem %.8g, cpu %.8g\n", what, i, a[i], b[i]);
            bad++;
        }
    }
    return bad == 0;
}

static px_program *compile(px_context *ctx, const px_graph *g, const char *order) {
    px_program_options o = px_program_options_default();
    o.order = order;
    px_program *p = NULL;
    px_status st = px_program_create(ctx, g, &o, &p);
    CHECK_MSG(st == PX_OK, "px_program_create(order %s): %s", order, px_last_error());
    return p;
}

/* Print the schedule into a string (caller frees). */
static char *schedule_text(const px_program *p) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    px_program_print(p, f);
    fclose(f);
    return buf;
}

/* ---- 1. the mixed chain ---------------------------------------------------------------- */

enum { T1 = 6, D1 = 32, N1 = 48 };

static void test_chain(px_context *ctx) {
    uint64_t seed = 42;
    static float w1[N1 * D1], g1[N1];
    rand_fill(&seed, w1, N1 * D1, -0.3f, 0.3f);
    rand_fill(&seed, g1, N1, 0.5f, 1.5f);
    px_graph *g = NULL;
    CHECK_OK(px_graph_create(&g));
    int64_t xs[2] = {T1, D1}, ws[2] = {N1, D1}, gs[1] = {N1}, rs[2] = {T1, N1};
    px_shape sx = px_shape_make(2, xs), sw = px_shape_make(2, ws), sg = px_shape_make(1, gs), sr = px_shape_make(2, rs);
    px_value x = px_graph_input(g, "x", PX_F32, &sx);
    px_value res = px_graph_input(g, "res", PX_F32, &sr);
    px_value W = px_graph_constant(g, "W1", PX_F32, &sw, w1, sizeof w1, PX_CONST_BORROW);
    px_value G = px_graph_constant(g, "g1", PX_F32, &sg, g1, sizeof g1, PX_CONST_BORROW);
    px_attr tb[1] = {PX_ATTR_I("trans_b", 1)};
    px_value mm_in[2] = {x, W};
    px_value h = px_graph_node(g, PX_OP_MATMUL, mm_in, 2, tb, 1, "matmul");
    px_value rn_in[2] = {h, G};
    px_value n = px_graph_node(g, PX_OP_RMS_NORM, rn_in, 2, NULL, 0, "rms_norm");
    px_value add_in[2] = {n, res};
    px_value r = px_graph_node(g, PX_OP_ADD, add_in, 2, NULL, 0, "add");
    px_value e = px_graph_node(g, PX_OP_GELU, &r, 1, NULL, 0, "gelu");
    px_value s = px_graph_node(g, PX_OP_SILU, &e, 1, NULL, 0, "silu");
    px_value sm = px_graph_node(g, PX_OP_SOFTMAX, &s, 1, NULL, 0, "softmax");
    CHECK_OK(px_graph_mark_output(g, sm, "probs"));
    CHECK_OK(px_graph_mark_output(g, e, "act"));
    CHECK_OK(px_graph_status(g));

    counts c0 = now();
    px_program *pm = compile(ctx, g, "sepmem,cpu");
    counts cc = since(c0);
    px_program *pc = compile(ctx, g, "cpu");
    px_graph_destroy(g);
    if (!pm || !pc) {
        px_program_destroy(pm);
        px_program_destroy(pc);
        return;
    }
    char *sched = schedule_text(pm);
    printf("--- schedule of the mixed chain ---\n%s", sched ? sched : "(none)\n");

    /* Placement: 1 source node decomposed, 3 segments sepmem | cpu | sepmem. */
    px_program_stats st;
    CHECK_OK(px_program_get_stats(pm, &st));
    CHECK_MSG(st.n_decomposed == 1, "n_decomposed %d (rms_norm)", st.n_decomposed);
    CHECK_MSG(st.n_segments == 3, "n_segments %d", st.n_segments);
    CHECK_MSG(st.n_transfers == 2, "n_transfers %d", st.n_transfers);
    CHECK_MSG(st.n_nodes > 6, "n_nodes %d: rms_norm must have become several primitives", st.n_nodes);
    int on_cpu = 0, switches = 0, last_cpu_node = -1, n_real = 0;
    const char *prev = NULL;
    for (int32_t i = 0;; i++) {
        const char *d = px_program_node_device(pm, i);
        if (!d) break;
        if (strcmp(d, "-") == 0) continue;
        n_real++;
        if (strcmp(d, "cpu") == 0) {
            on_cpu++;
            last_cpu_node = n_real - 1;
        } else {
            CHECK_MSG(strcmp(d, "sepmem") == 0, "node %d on %s", i, d);
        }
        if (prev && strcmp(prev, d) != 0) switches++;
        prev = d;
    }
    CHECK_MSG(on_cpu == 1, "%d nodes on the cpu (only gelu should be)", on_cpu);
    CHECK_MSG(last_cpu_node == n_real - 3, "the cpu node is #%d of %d, expected gelu, third from last", last_cpu_node,
              n_real);
    CHECK(switches == 2);
    if (sched) {
        CHECK(strstr(sched, "segment 0 on sepmem") != NULL);
        CHECK(strstr(sched, "segment 1 on cpu") != NULL);
        CHECK(strstr(sched, "segment 2 on sepmem") != NULL);
        CHECK(strstr(sched, "gelu") != NULL);
    }
    free(sched);

    /* Constants: W1 and g1 uploaded once, at create; nothing else moved. */
    CHECK_MSG(cc.up == 2 && cc.down == 0 && cc.copy == 0, "at create: %llu uploads, %llu downloads, %llu copies",
              (unsigned long long)cc.up, (unsigned long long)cc.down, (unsigned long long)cc.copy);

    static float xv[T1 * D1], rv[T1 * N1], pm_out[T1 * N1], pc_out[T1 * N1], am[T1 * N1], ac[T1 * N1];
    for (int run = 0; run < 3; run++) {
        rand_fill(&seed, xv, T1 * D1, -1, 1);
        rand_fill(&seed, rv, T1 * N1, -1, 1);
        counts c1 = now();
        CHECK_OK(px_program_set_input(pm, "x", xv, sizeof xv));
        CHECK_OK(px_program_set_input(pm, "res", rv, sizeof rv));
        counts cs = since(c1);
        CHECK_MSG(cs.up == 2 && cs.down == 0, "set_input: %llu uploads, %llu downloads", (unsigned long long)cs.up,
                  (unsigned long long)cs.down);
        counts c2 = now();
        CHECK_OK(px_program_run(pm));
        counts cr = since(c2);
        /* boundary sepmem -> cpu (add's output) and cpu -> sepmem (gelu's) */
        CHECK_MSG(cr.up == 1 && cr.down == 1 && cr.copy == 0, "run %d: %llu uploads, %llu downloads, %llu copies", run,
                  (unsigned long long)cr.up, (unsigned long long)cr.down, (unsigned long long)cr.copy);
        CHECK_OK(px_program_get_stats(pm, &st));
        CHECK_MSG(st.uploads == 1 && st.downloads == 1, "stats: %llu uploads, %llu downloads",
                  (unsigned long long)st.uploads, (unsigned long long)st.downloads);
        counts c3 = now();
        CHECK_OK(px_program_get_output(pm, "probs", pm_out, sizeof pm_out));
        counts cg = since(c3);
        CHECK_MSG(cg.down == 1 && cg.up == 0, "get_output(probs): %llu downloads", (unsigned long long)cg.down);
        counts c4 = now();
        CHECK_OK(px_program_get_output(pm, "act", am, sizeof am));
        counts ca = since(c4);
        CHECK_MSG(ca.down == 0 && ca.up == 0, "get_output(act) is on the cpu: %llu downloads from sepmem",
                  (unsigned long long)ca.down);

        CHECK_OK(px_program_set_input(pc, "x", xv, sizeof xv));
        CHECK_OK(px_program_set_input(pc, "res", rv, sizeof rv));
        counts c5 = now();
        CHECK_OK(px_program_run(pc));
        CHECK_OK(px_program_get_output(pc, "probs", pc_out, sizeof pc_out));
        CHECK_OK(px_program_get_output(pc, "act", ac, sizeof ac));
        counts cp = since(c5);
        CHECK(cp.up == 0 && cp.down == 0 && cp.copy == 0);
        CHECK(close_enough(pm_out, pc_out, T1 * N1, 1e-4, 1e-6, "probs"));
        CHECK(close_enough(am, ac, T1 * N1, 1e-4, 1e-5, "act"));
        double rowsum = 0;
        for (int i = 0; i < N1; i++) rowsum += pm_out[i];
        CHECK(fabs(rowsum - 1.0) < 1e-4);
    }
    px_program_destroy(pm);
    px_program_destroy(pc);
}

/* ---- 2. a decoder step with a KV cache, all composites decomposed on sepmem ------------------- */

enum { H2 = 4, HKV2 = 2, D2 = 16, C2 = 8, TMAX = 4, E2 = H2 * D2, F2 = 24 };

static px_graph *decoder_graph(const float *wg, const float *wu) {
    px_graph *g = NULL;
    if (px_graph_create(&g) != PX_OK) return NULL;
    int32_t t = px_graph_add_sym(g, "T", TMAX);
    px_shape sq, sk, sp;
    memset(&sq, 0, sizeof sq);
    sq.rank = 3;
    sq.d[0] = px_dim_s(t);
    sq.d[1] = px_dim_c(H2);
    sq.d[2] = px_dim_c(D2);
    sk = sq;
    sk.d[1] = px_dim_c(HKV2);
    memset(&sp, 0, sizeof sp);
    sp.rank = 1;
    sp.d[0] = px_dim_s(t);
    int64_t cs[3] = {C2, HKV2, D2}, ws[2] = {F2, E2};
    px_shape sc = px_shape_make(3, cs), sw = px_shape_make(2, ws);
    px_value q = px_graph_input(g, "q", PX_F32, &sq);
    px_value k = px_graph_input(g, "k", PX_F32, &sk);
    px_value v = px_graph_input(g, "v", PX_F32, &sk);
    px_value pos = px_graph_input(g, "pos", PX_I32, &sp);
    px_value kc = px_graph_state(g, "k_cache", PX_F16, &sc);
    px_value vc = px_graph_state(g, "v_cache", PX_F16, &sc);
    px_value Wg = px_graph_constant(g, "Wg", PX_F32, &sw, wg, sizeof(float) * F2 * E2, PX_CONST_BORROW);
    px_value Wu = px_graph_constant(g, "Wu", PX_F32, &sw, wu, sizeof(float) * F2 * E2, PX_CONST_BORROW);
    px_attr ra[1] = {PX_ATTR_I("mode", 2)};
    px_value qin[2] = {q, pos}, kin[2] = {k, pos};
    px_value qr = px_graph_node(g, PX_OP_ROPE, qin, 2, ra, 1, "rope_q");
    px_value kr = px_graph_node(g, PX_OP_ROPE, kin, 2, ra, 1, "rope_k");
    px_value ain[6] = {qr, kr, v, kc, vc, pos};
    px_value att = px_graph_node(g, PX_OP_ATTENTION, ain, 6, NULL, 0, "attention");
    px_shape sf;
    memset(&sf, 0, sizeof sf);
    sf.rank = 2;
    sf.d[0] = px_dim_s(t);
    sf.d[1] = px_dim_c(E2);
    px_value flat = px_graph_reshape(g, att, &sf, "flat");
    px_attr tb[1] = {PX_ATTR_I("trans_b", 1)};
    px_value gi[2] = {flat, Wg}, ui[2] = {flat, Wu};
    px_value gate = px_graph_node(g, PX_OP_MATMUL, gi, 2, tb, 1, "gate");
    px_value up = px_graph_node(g, PX_OP_MATMUL, ui, 2, tb, 1, "up");
    px_value sw_in[2] = {gate, up};
    px_value y = px_graph_node(g, PX_OP_SWIGLU, sw_in, 2, NULL, 0, "swiglu");
    px_graph_mark_output(g, y, "y");
    return g;
}

static void test_decoder(px_context *ctx) {
    uint64_t seed = 7;
    static float wg[F2 * E2], wu[F2 * E2];
    rand_fill(&seed, wg, F2 * E2, -0.3f, 0.3f);
    rand_fill(&seed, wu, F2 * E2, -0.3f, 0.3f);
    px_graph *g = decoder_graph(wg, wu);
    CHECK(g != NULL && px_graph_status(g) == PX_OK);
    if (!g || px_graph_status(g) != PX_OK) {
        if (g) fprintf(stderr, "decoder graph: %s\n", px_graph_error_message(g));
        px_graph_destroy(g);
        return;
    }
    counts c0 = now();
    px_program *pm = compile(ctx, g, "sepmem,cpu");
    counts cc = since(c0);
    px_program *pc = compile(ctx, g, "cpu");
    px_graph_destroy(g);
    if (!pm || !pc) {
        px_program_destroy(pm);
        px_program_destroy(pc);
        return;
    }
    px_program_stats st;
    CHECK_OK(px_program_get_stats(pm, &st));
    CHECK_MSG(st.n_decomposed == 4, "n_decomposed %d (2 rope, attention, swiglu)", st.n_decomposed);
    CHECK_MSG(st.n_segments == 1 && st.n_transfers == 0, "%d segments, %d transfers", st.n_segments, st.n_transfers);
    int all_sepmem = 1;
    for (int32_t i = 0;; i++) {
        const char *d = px_program_node_device(pm, i);
        if (!d) break;
        if (strcmp(d, "-") != 0 && strcmp(d, "sepmem") != 0) {
            all_sepmem = 0;
            fprintf(stderr, "decoder node %d runs on %s\n", i, d);
        }
    }
    CHECK(all_sepmem);
    if (!all_sepmem || st.n_segments != 1) {
        char *sched = schedule_text(pm);
        fprintf(stderr, "%s", sched ? sched : "");
        free(sched);
    }
    px_program_stats sc;
    CHECK_OK(px_program_get_stats(pc, &sc));
    CHECK_MSG(sc.n_decomposed == 0, "the cpu program decomposed %d nodes (it has kernels for all)", sc.n_decomposed);
    /* constants Wg, Wu (and the decompositions' small constants) were
     * uploaded, the caches cleared; nothing was downloaded */
    CHECK(cc.up >= 2 && cc.down == 0);

    static const int steps[3][2] = {{4, 0}, {1, 4}, {1, 5}}; /* T, first position */
    static float q[TMAX * E2], k[TMAX * HKV2 * D2], v[TMAX * HKV2 * D2], ym[TMAX * F2], yc[TMAX * F2];
    for (int s = 0; s < 3; s++) {
        int T = steps[s][0];
        int32_t pos[TMAX];
        for (int i = 0; i < T; i++) pos[i] = steps[s][1] + i;
        rand_fill(&seed, q, (size_t)T * E2, -1, 1);
        rand_fill(&seed, k, (size_t)T * HKV2 * D2, -1, 1);
        rand_fill(&seed, v, (size_t)T * HKV2 * D2, -1, 1);
        px_program *ps[2] = {pm, pc};
        float *outs[2] = {ym, yc};
        for (int w = 0; w < 2; w++) {
            px_program *p = ps[w];
            counts c1 = now();
            CHECK_OK(px_program_set_sym(p, "T", T));
            CHECK_OK(px_program_set_input(p, "q", q, sizeof(float) * (size_t)T * E2));
            CHECK_OK(px_program_set_input(p, "k", k, sizeof(float) * (size_t)T * HKV2 * D2));
            CHECK_OK(px_program_set_input(p, "v", v, sizeof(float) * (size_t)T * HKV2 * D2));
            CHECK_OK(px_program_set_input(p, "pos", pos, sizeof(int32_t) * (size_t)T));
            CHECK_OK(px_program_run(p));
            CHECK_OK(px_program_get_output(p, "y", outs[w], sizeof(float) * (size_t)T * F2));
            counts cs = since(c1);
            if (w == 0)
                CHECK_MSG(cs.up == 4 && cs.down == 1 && cs.copy == 0,
                          "step %d on sepmem: %llu uploads (4 inputs), %llu downloads (1 output), %llu copies", s,
                          (unsigned long long)cs.up, (unsigned long long)cs.down, (unsigned long long)cs.copy);
            else
                CHECK(cs.up == 0 && cs.down == 0 && cs.copy == 0);
        }
        char what[32];
        snprintf(what, sizeof what, "decoder step %d", s);
        CHECK(close_enough(ym, yc, (size_t)T * F2, 2e-3, 2e-4, what));
    }
    /* the caches persist on each program's own device */
    static uint16_t km[C2 * HKV2 * D2], kcpu[C2 * HKV2 * D2];
    CHECK_OK(px_program_get_output(pm, "k_cache", km, sizeof km));
    CHECK_OK(px_program_get_output(pc, "k_cache", kcpu, sizeof kcpu));
    int same_rows = 1;
    for (int i = 0; i < 6 * HKV2 * D2; i++) {
        float a = px_f16_to_f32(km[i]), b = px_f16_to_f32(kcpu[i]);
        if (fabsf(a - b) > 2e-3f * (1 + fabsf(b))) same_rows = 0;
    }
    CHECK_MSG(same_rows, "k_cache rows 0..5 differ between sepmem and cpu");
    px_program_destroy(pm);
    px_program_destroy(pc);
}

int main(void) {
    const char *tdir = getenv("PLEXUS_TEST_PLUGIN_DIR");
    if (!tdir || !*tdir) {
        fprintf(stderr, "PLEXUS_TEST_PLUGIN_DIR is not set (run through ctest)\n");
        return PX_TEST_SKIP;
    }
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:%s", PX_TEST_CPU_PLUGIN_DIR, tdir);
    px_context_options o = px_context_options_default();
    o.plugin_dir = dirs;
    px_context *ctx = NULL;
    CHECK_OK(px_context_create(&o, &ctx));
    if (!ctx) return px_test_finish("test_mixed");
    int has_sepmem = 0, has_cpu = 0;
    for (int32_t i = 0; i < px_context_device_count(ctx); i++) {
        px_device_report d;
        px_context_device_report(ctx, i, &d);
        has_sepmem |= strcmp(d.id, "sepmem") == 0;
        has_cpu |= strcmp(d.id, "cpu") == 0;
    }
    CHECK(has_sepmem && has_cpu);
    /* The same library the loader opened: its counters. */
    char path[4200];
    snprintf(path, sizeof path, "%s/libplexus-sepmem.so", tdir);
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    CHECK_MSG(h != NULL, "dlopen(%s, RTLD_NOLOAD): %s", path, dlerror());
    if (h) {
        void *a = dlsym(h, "pxtest_sepmem_counters"), *b = dlsym(h, "pxtest_sepmem_live_buffers");
        memcpy(&sm_counters, &a, sizeof a);
        memcpy(&sm_live, &b, sizeof b);
        CHECK(sm_counters != NULL && sm_live != NULL);
    }
    if (has_sepmem && has_cpu && sm_counters) {
        test_chain(ctx);
        test_decoder(ctx);
        /* every buffer the runtime allocated on sepmem was freed */
        CHECK_MSG(sm_live() == 0, "%lld sepmem buffers still allocated after the programs were destroyed",
                  (long long)sm_live());
    }
    if (h) dlclose(h);
    px_context_destroy(ctx);
    return px_test_finish("test_mixed");
}
