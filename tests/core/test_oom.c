/* Out-of-memory paths: make the Nth allocation of the core fail, for every
 * N until the whole sequence (context, graph, program, run) succeeds. Each
 * failure must come back as a status with a message — never a crash — and
 * (in the sanitizer build) leak nothing. */
#include <string.h>

#include "internal.h"
#include "plexus/plexus.h"
#include "test.h"

/* When set, sequence() counts the checked allocations its runs make. */
static int count_run_allocs;
static int64_t run_allocs = -1;

static px_status sequence(void) {
    px_context *ctx = NULL;
    px_graph *g = NULL;
    px_program *p = NULL;
    px_context_options co = px_context_options_default();
    co.n_threads = 2;
    px_status st = px_context_create(&co, &ctx);
    if (st) return st;
    if ((st = px_graph_create(&g))) goto out;
    int32_t T = px_graph_add_sym(g, "T", 4);
    px_shape xs = {.rank = 2, .d = {px_dim_s(T), px_dim_c(8)}};
    static float w[8 * 8];
    for (int i = 0; i < 64; i++) w[i] = (float)(i % 7) * 0.1f;
    px_shape ws = px_shape_make(2, (int64_t[]){8, 8});
    px_value x = px_graph_input(g, "x", PX_F32, &xs);
    px_value W = px_graph_constant(g, "w", PX_F32, &ws, w, sizeof w, PX_CONST_COPY);
    px_value y = px_graph_node(g, PX_OP_MATMUL, (px_value[]){x, W}, 2, (px_attr[]){PX_ATTR_I("trans_b", 1)}, 1, "mm");
    px_value n = px_graph_node(g, PX_OP_RMS_NORM, &y, 1, NULL, 0, "norm");
    px_value s = px_graph_node(g, PX_OP_SOFTMAX, &n, 1, NULL, 0, "sm");
    px_graph_mark_output(g, s, "out");
    if ((st = px_graph_status(g))) goto out;
    px_program_options po = px_program_options_default();
    po.decompose = "rms_norm";
    if ((st = px_program_create(ctx, g, &po, &p))) goto out;
    float xv[16];
    for (int i = 0; i < 16; i++) xv[i] = (float)i;
    if ((st = px_program_set_sym(p, "T", 2))) goto out;
    if ((st = px_program_set_input(p, "x", xv, sizeof xv))) goto out;
    if (count_run_allocs) px_debug_fail_alloc_after(0); /* restart the count */
    for (int r = 0; r < 3 && st == PX_OK; r++) st = px_program_run(p);
    if (count_run_allocs) run_allocs = px_debug_fail_alloc_after(0);
    if (st) goto out;
    float out[16];
    st = px_program_get_output(p, "out", out, sizeof out);
out:
    px_program_destroy(p);
    px_graph_destroy(g);
    px_context_destroy(ctx);
    return st;
}

int main(void) {
    /* A run allocates nothing: everything is planned when the program is made. */
    count_run_allocs = 1;
    CHECK_OK(sequence());
    CHECK_MSG(run_allocs == 0, "3 runs made %lld checked allocations (want none)", (long long)run_allocs);
    count_run_allocs = 0;
    px_debug_fail_alloc_after(0);
    CHECK_OK(sequence());
    int64_t total = px_debug_fail_alloc_after(0);
    CHECK(total > 10);
    int failures = 0;
    for (int64_t n = 1; n <= total; n++) {
        px_debug_fail_alloc_after(n);
        px_status st = sequence();
        if (st != PX_OK) {
            failures++;
            CHECK_MSG(px_last_error()[0] != 0, "allocation %lld: status %d without a message", (long long)n, st);
        }
    }
    px_debug_fail_alloc_after(0);
    CHECK_MSG(failures > 0, "no injected failure surfaced");
    printf("test_oom: %lld allocations, %d injected failures surfaced as errors\n", (long long)total, failures);
    return px_test_finish("test_oom");
}
