/* Graph-mode devices: a fake NPU claims add/mul/silu; the scheduler hands it
 * runs of consecutive claimed nodes as compiled units, the rest runs on the
 * CPU, and results equal an all-CPU run. */
#include <dlfcn.h>
#include <math.h>
#include <string.h>

#include "plexus/plexus.h"
#include "test.h"

static px_graph *build(void) {
    px_graph *g;
    px_graph_create(&g);
    int32_t T = px_graph_add_sym(g, "T", 6);
    px_shape s = {.rank = 2, .d = {px_dim_s(T), px_dim_c(8)}};
    px_shape s3 = {.rank = 3, .d = {px_dim_s(T), px_dim_c(2), px_dim_c(4)}};
    px_value x = px_graph_input(g, "x", PX_F32, &s), y = px_graph_input(g, "y", PX_F32, &s);
    px_value a = px_graph_node(g, PX_OP_ADD, (px_value[]){x, y}, 2, NULL, 0, "a");
    px_value b = px_graph_node(g, PX_OP_SILU, &a, 1, NULL, 0, "b");
    px_value r = px_graph_reshape(g, b, &s3, "r");
    px_value r2 = px_graph_reshape(g, r, &s, "r2");
    px_value c = px_graph_node(g, PX_OP_SOFTMAX, &r2, 1, NULL, 0, "c");
    px_value d = px_graph_node(g, PX_OP_MUL, (px_value[]){c, b}, 2, NULL, 0, "d");
    px_value e = px_graph_node(g, PX_OP_ADD, (px_value[]){d, x}, 2, NULL, 0, "e");
    px_graph_mark_output(g, e, "out");
    px_graph_mark_output(g, b, "act");
    return g;
}

static void run(px_context *ctx, px_graph *g, const char *order, int32_t T, float *out, float *act, px_program_stats *st) {
    px_program_options o = px_program_options_default();
    o.order = order;
    px_program *p = NULL;
    CHECK_OK(px_program_create(ctx, g, &o, &p));
    if (!p) return;
    float x[6 * 8], y[6 * 8];
    for (int i = 0; i < 6 * 8; i++) {
        x[i] = sinf((float)i * 0.37f);
        y[i] = cosf((float)i * 0.11f) - 0.3f;
    }
    CHECK_OK(px_program_set_sym(p, "T", T));
    CHECK_OK(px_program_set_input(p, "x", x, (size_t)T * 8 * sizeof(float)));
    CHECK_OK(px_program_set_input(p, "y", y, (size_t)T * 8 * sizeof(float)));
    CHECK_OK(px_program_run(p));
    CHECK_OK(px_program_run(p)); /* run twice: same results, no state */
    CHECK_OK(px_program_get_output(p, "out", out, (size_t)T * 8 * sizeof(float)));
    CHECK_OK(px_program_get_output(p, "act", act, (size_t)T * 8 * sizeof(float)));
    CHECK_OK(px_program_get_stats(p, st));
    if (strstr(order, "fakenpu")) {
        for (int32_t i = 0; i < px_graph_node_count(g); i++) {
            const char *dev = px_program_node_device(p, i);
            px_node_info ni;
            px_graph_node_info(g, i, &ni);
            const char *want = ni.op == PX_OP_SOFTMAX ? "cpu" : ni.op == PX_OP_RESHAPE ? "-" : "fakenpu";
            CHECK_MSG(dev && strcmp(dev, want) == 0, "node %s on %s, expected %s", ni.name, dev, want);
        }
    }
    px_program_destroy(p);
}

int main(void) {
    px_context *ctx = NULL;
    px_context_options co = px_context_options_default();
    co.plugin_dir = CPU_PLUGIN_DIR ":" FAKENPU_DIR;
    CHECK_OK(px_context_create(&co, &ctx));
    if (!ctx) return px_test_finish("test_graphmode");
    int found = 0;
    for (int32_t i = 0; i < px_context_device_count(ctx); i++) {
        px_device_report d;
        px_context_device_report(ctx, i, &d);
        if (strcmp(d.id, "fakenpu") == 0) found = d.graph_mode;
    }
    CHECK_MSG(found, "fakenpu is not listed as a graph-mode device");
    void *h = dlopen(FAKENPU_DIR "/libplexus-fakenpu.so", RTLD_NOW | RTLD_NOLOAD);
    void (*counters)(uint64_t *, uint64_t *) = NULL;
    if (h) {
        void *sym = dlsym(h, "pxtest_fakenpu_counters");
        memcpy(&counters, &sym, sizeof counters);
    }
    CHECK(counters != NULL);
    px_graph *g = build();
    CHECK_OK(px_graph_status(g));
    for (int32_t T = 1; T <= 6; T += 5) {
        float out_npu[48], act_npu[48], out_cpu[48], act_cpu[48];
        px_program_stats s_npu, s_cpu;
        uint64_t c0 = 0, e0 = 0, c1 = 0, e1 = 0;
        if (counters) counters(&c0, &e0);
        run(ctx, g, "fakenpu,cpu", T, out_npu, act_npu, &s_npu);
        if (counters) counters(&c1, &e1);
        run(ctx, g, "cpu", T, out_cpu, act_cpu, &s_cpu);
        /* npu [a b r r2] -> cpu [c] -> npu [d e]: 3 segments, 2 units, run twice. */
        CHECK_MSG(s_npu.n_segments == 3, "segments %d", s_npu.n_segments);
        CHECK(c1 - c0 == 2);
        CHECK_MSG(e1 - e0 == 4, "executed %llu units", (unsigned long long)(e1 - e0));
        CHECK(s_cpu.n_segments == 1 && s_cpu.n_transfers == 0);
        /* Transfers: act (b) to the CPU for softmax, c back to the NPU. */
        CHECK_MSG(s_npu.n_transfers == 2, "transfers %d", s_npu.n_transfers);
        double md = 0;
        for (int i = 0; i < T * 8; i++) {
            md = fmax(md, fabs(out_npu[i] - out_cpu[i]));
            md = fmax(md, fabs(act_npu[i] - act_cpu[i]));
        }
        CHECK_MSG(md < 1e-5, "T=%d: graph-mode results differ from the CPU by %g", T, md);
    }
    px_graph_destroy(g);
    if (h) dlclose(h);
    px_context_destroy(ctx);
    return px_test_finish("test_graphmode");
}
