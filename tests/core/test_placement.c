/* The ini placement policy, end to end on the CPU and the sepmem test device:
 * device order, offload_layers (the last N groups), per-op overrides,
 * memory budgets, [kernels] selection, unknown device ids in the order,
 * and results that do not depend on placement. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plexus/plexus.h"
#include "test.h"

#define D 32
#define LAYERS 4

static float weights[LAYERS][D * D];

/* x -> [matmul -> silu -> add(x)] per layer (group = layer) -> softmax */
static px_graph *build(void) {
    px_graph *g;
    px_graph_create(&g);
    px_shape xs = px_shape_make(2, (int64_t[]){3, D}), ws = px_shape_make(2, (int64_t[]){D, D});
    px_value x = px_graph_input(g, "x", PX_F32, &xs);
    for (int l = 0; l < LAYERS; l++) {
        px_graph_set_group(g, l);
        char nm[32];
        snprintf(nm, sizeof nm, "w%d", l);
        px_value w = px_graph_constant(g, nm, PX_F32, &ws, weights[l], sizeof weights[l], PX_CONST_BORROW);
        px_value y = px_graph_node(g, PX_OP_MATMUL, (px_value[]){x, w}, 2, (px_attr[]){PX_ATTR_I("trans_b", 1)}, 1, NULL);
        px_value a = px_graph_node(g, PX_OP_SILU, &y, 1, NULL, 0, NULL);
        x = px_graph_node(g, PX_OP_ADD, (px_value[]){a, x}, 2, NULL, 0, NULL);
    }
    px_graph_set_group(g, -1);
    px_value s = px_graph_node(g, PX_OP_SOFTMAX, &x, 1, NULL, 0, "probs");
    px_graph_mark_output(g, s, "out");
    return g;
}

static char cfg_path[64];

static px_context *context(const char *ini) {
    snprintf(cfg_path, sizeof cfg_path, "/tmp/plexus-placement-XXXXXX");
    int fd = mkstemp(cfg_path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(ini, f);
    fclose(f);
    char dirs[2048];
    const char *tp = getenv("PLEXUS_TEST_PLUGIN_DIR");
    snprintf(dirs, sizeof dirs, "%s:%s", CPU_PLUGIN_DIR, tp ? tp : "");
    px_context_options o = px_context_options_default();
    o.config_path = cfg_path;
    o.plugin_dir = dirs;
    px_context *ctx = NULL;
    px_status st = px_context_create(&o, &ctx);
    unlink(cfg_path);
    CHECK_MSG(st == PX_OK, "context: %s", px_last_error());
    return ctx;
}

/* Devices of the node that produces `name`'s layer l matmul, etc. */
static void devices(px_program *p, px_graph *g, char out[][16]) {
    for (int32_t i = 0; i < px_graph_node_count(g); i++) snprintf(out[i], 16, "%s", px_program_node_device(p, i));
}

static int run(px_context *ctx, px_graph *g, float *result, char dev[][16], px_program_stats *st) {
    px_program *p = NULL;
    px_status s = px_program_create(ctx, g, NULL, &p);
    CHECK_MSG(s == PX_OK, "program: %s", px_last_error());
    if (s) return 0;
    float x[3 * D];
    for (int i = 0; i < 3 * D; i++) x[i] = sinf((float)i);
    CHECK_OK(px_program_set_input(p, "x", x, sizeof x));
    CHECK_OK(px_program_run(p));
    CHECK_OK(px_program_get_output(p, "out", result, sizeof x));
    devices(p, g, dev);
    px_program_get_stats(p, st);
    px_program_destroy(p);
    return 1;
}

static int count(char dev[][16], int n, const char *id) {
    int c = 0;
    for (int i = 0; i < n; i++) c += strcmp(dev[i], id) == 0;
    return c;
}

int main(void) {
    if (!getenv("PLEXUS_TEST_PLUGIN_DIR")) {
        printf("test_placement: PLEXUS_TEST_PLUGIN_DIR not set (run through ctest)\n");
        return 1;
    }
    for (int l = 0; l < LAYERS; l++)
        for (int i = 0; i < D * D; i++) weights[l][i] = 0.05f * sinf((float)(i * (l + 1)));
    px_graph *g = build();
    CHECK_OK(px_graph_status(g));
    int nn = px_graph_node_count(g); /* 3 per layer + softmax */
    char dev[64][16];
    float ref[3 * D], out[3 * D];
    px_program_stats st;

    /* All CPU. */
    px_context *ctx = context("[placement]\norder = cpu\n");
    if (ctx && run(ctx, g, ref, dev, &st)) CHECK(count(dev, nn, "cpu") == nn && st.n_segments == 1);
    px_context_destroy(ctx);

    /* sepmem first, an absent device id skipped, everything offloaded. */
    ctx = context("[placement]\norder = opencl:3, sepmem, cpu\n");
    if (ctx && run(ctx, g, out, dev, &st)) {
        CHECK(count(dev, nn, "sepmem") == nn);
        for (int i = 0; i < 3 * D; i++) CHECK_MSG(fabsf(out[i] - ref[i]) < 1e-5f, "i=%d %g vs %g", i, out[i], ref[i]);
    }
    px_context_destroy(ctx);

    /* offload_layers = 1: only the last layer (group 3) on sepmem; ungrouped
     * nodes (softmax) stay on the CPU. */
    ctx = context("[placement]\norder = sepmem, cpu\noffload_layers = 1\n");
    if (ctx && run(ctx, g, out, dev, &st)) {
        for (int l = 0; l < LAYERS; l++)
            for (int k = 0; k < 3; k++)
                CHECK_MSG(strcmp(dev[l * 3 + k], l == LAYERS - 1 ? "sepmem" : "cpu") == 0, "layer %d node %d on %s", l, k,
                          dev[l * 3 + k]);
        CHECK(strcmp(dev[nn - 1], "cpu") == 0);
        CHECK_MSG(st.n_segments == 3 && st.n_transfers == 2, "segments %d transfers %d", st.n_segments, st.n_transfers);
        for (int i = 0; i < 3 * D; i++) CHECK(fabsf(out[i] - ref[i]) < 1e-5f);
    }
    px_context_destroy(ctx);

    /* Per-op override: silu on the CPU, the rest on sepmem. */
    ctx = context("[placement]\norder = sepmem, cpu\nop.silu = cpu\n");
    if (ctx && run(ctx, g, out, dev, &st)) {
        for (int l = 0; l < LAYERS; l++) {
            CHECK(strcmp(dev[l * 3 + 0], "sepmem") == 0);
            CHECK(strcmp(dev[l * 3 + 1], "cpu") == 0);
            CHECK(strcmp(dev[l * 3 + 2], "sepmem") == 0);
        }
        for (int i = 0; i < 3 * D; i++) CHECK(fabsf(out[i] - ref[i]) < 1e-5f);
    }
    px_context_destroy(ctx);

    /* Budget: sepmem may hold two layers' weights (2 x 4 KiB); later matmuls
     * fall back to the CPU. */
    ctx = context("[placement]\norder = sepmem, cpu\n[memory]\nsepmem = 8K\n");
    if (ctx && run(ctx, g, out, dev, &st)) {
        int on = 0;
        for (int l = 0; l < LAYERS; l++) on += strcmp(dev[l * 3], "sepmem") == 0;
        CHECK_MSG(on == 2, "%d matmuls on sepmem under an 8K budget", on);
        for (int i = 0; i < 3 * D; i++) CHECK(fabsf(out[i] - ref[i]) < 1e-5f);
    }
    px_context_destroy(ctx);

    /* [kernels]: naming an existing kernel works; an unknown one falls back
     * (with a warning) to the best available. */
    ctx = context("[kernels]\nmatmul = cpu:matmul_ref\nsilu = cpu:no_such_kernel\n[placement]\norder = cpu\n");
    if (ctx && run(ctx, g, out, dev, &st)) {
        CHECK(count(dev, nn, "cpu") == nn);
        for (int i = 0; i < 3 * D; i++) CHECK(fabsf(out[i] - ref[i]) < 1e-6f);
    }
    px_context_destroy(ctx);

    /* An order that names no present device is an error. */
    ctx = context("[placement]\norder = opencl, vulkan\n");
    if (ctx) {
        px_program *p = NULL;
        CHECK(px_program_create(ctx, g, NULL, &p) == PX_ERR_CONFIG);
        CHECK(strstr(px_last_error(), "no device") != NULL);
    }
    px_context_destroy(ctx);
    px_graph_destroy(g);
    return px_test_finish("test_placement");
}
