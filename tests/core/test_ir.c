/* IR: building through the public API, shape inference, validation errors
 * that name the node, symbolic dims, printing. */
#include <string.h>

#include "plexus/plexus.h"
#include "test.h"

static px_shape sh(int32_t rank, const int64_t *d) { return px_shape_make(rank, d); }

static void test_broadcast_and_matmul(void) {
    px_graph *g;
    CHECK_OK(px_graph_create(&g));
    int32_t T = px_graph_add_sym(g, "n_tokens", 64);
    CHECK(T == 0);
    px_shape xs = {.rank = 2, .d = {px_dim_s(T), px_dim_c(16)}};
    px_value x = px_graph_input(g, "x", PX_F32, &xs);
    static float w[8 * 16];
    px_shape ws = sh(2, (int64_t[]){8, 16});
    px_value W = px_graph_constant(g, "w", PX_F32, &ws, w, sizeof w, PX_CONST_BORROW);
    px_attr tb[] = {PX_ATTR_I("trans_b", 1)};
    px_value y = px_graph_node(g, PX_OP_MATMUL, (px_value[]){x, W}, 2, tb, 1, "proj");
    px_value_info vi;
    CHECK_OK(px_graph_value_info(g, y, &vi));
    CHECK(vi.shape.rank == 2 && vi.shape.d[0].sym == T && vi.shape.d[1].c == 8 && vi.dtype == PX_F32);
    /* Broadcast [n,8] + [8] -> [n,8]. */
    static float b[8];
    px_shape bs = sh(1, (int64_t[]){8});
    px_value B = px_graph_constant(g, "b", PX_F32, &bs, b, sizeof b, PX_CONST_BORROW);
    px_value z = px_graph_node(g, PX_OP_ADD, (px_value[]){y, B}, 2, NULL, 0, "bias");
    CHECK_OK(px_graph_value_info(g, z, &vi));
    CHECK(vi.shape.rank == 2 && vi.shape.d[0].sym == T && vi.shape.d[1].c == 8);
    /* Reshape [n, 8] -> [n, 2, 4] and concat on the symbolic axis: 2n. */
    px_shape rs = {.rank = 3, .d = {px_dim_s(T), px_dim_c(2), px_dim_c(4)}};
    px_value r = px_graph_reshape(g, z, &rs, "split_heads");
    px_value c = px_graph_node(g, PX_OP_CONCAT, (px_value[]){r, r}, 2, (px_attr[]){PX_ATTR_I("axis", 0)}, 1, "cat");
    CHECK_OK(px_graph_value_info(g, c, &vi));
    CHECK(vi.shape.d[0].sym == T && vi.shape.d[0].k == 2 && vi.shape.d[0].c == 0);
    px_value s = px_graph_node(g, PX_OP_SOFTMAX, &c, 1, NULL, 0, "sm");
    CHECK_OK(px_graph_mark_output(g, s, "probs"));
    CHECK_OK(px_graph_validate(g));
    CHECK(px_graph_find_value(g, "probs") == s);
    /* Printing names nodes and the symbol. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    px_graph_print(g, f);
    fclose(f);
    CHECK(strstr(buf, "matmul(") && strstr(buf, "'proj'") && strstr(buf, "2*n_tokens") && strstr(buf, "output 'probs'"));
    free(buf);
    px_graph_destroy(g);
}

static void expect_error(px_status want, const char *needle, px_graph *g) {
    CHECK(px_graph_status(g) == want);
    CHECK_MSG(strstr(px_graph_error_message(g), needle) != NULL, "message '%s' lacks '%s'", px_graph_error_message(g),
              needle);
}

static void test_errors_name_the_node(void) {
    px_graph *g;
    /* Inner dims differ. */
    CHECK_OK(px_graph_create(&g));
    px_shape as = sh(2, (int64_t[]){3, 5}), bs = sh(2, (int64_t[]){4, 7});
    px_value a = px_graph_input(g, "a", PX_F32, &as), b = px_graph_input(g, "b", PX_F32, &bs);
    px_value y = px_graph_node(g, PX_OP_MATMUL, (px_value[]){a, b}, 2, NULL, 0, "layer3.ffn_up");
    CHECK(y == PX_NONE);
    expect_error(PX_ERR_SHAPE, "layer3.ffn_up", g);
    /* Sticky: later calls with PX_NONE fail quietly, first error kept. */
    px_value z = px_graph_node(g, PX_OP_RELU, &y, 1, NULL, 0, "after");
    CHECK(z == PX_NONE);
    expect_error(PX_ERR_SHAPE, "inner dims", g);
    CHECK(px_graph_validate(g) == PX_ERR_SHAPE);
    px_graph_destroy(g);

    /* Dtype mismatch. */
    CHECK_OK(px_graph_create(&g));
    px_shape s4 = sh(1, (int64_t[]){4});
    a = px_graph_input(g, "a", PX_F32, &s4);
    b = px_graph_input(g, "b", PX_F16, &s4);
    px_graph_node(g, PX_OP_ADD, (px_value[]){a, b}, 2, NULL, 0, "mix");
    expect_error(PX_ERR_DTYPE, "'mix'", g);
    px_graph_destroy(g);

    /* Broadcast failure. */
    CHECK_OK(px_graph_create(&g));
    px_shape s3 = sh(1, (int64_t[]){3});
    a = px_graph_input(g, "a", PX_F32, &s4);
    b = px_graph_input(g, "b", PX_F32, &s3);
    px_graph_node(g, PX_OP_MUL, (px_value[]){a, b}, 2, NULL, 0, "bad_bcast");
    expect_error(PX_ERR_SHAPE, "do not broadcast", g);
    px_graph_destroy(g);

    /* Quantized weight without trans_b, constant size mismatch, bad reshape. */
    CHECK_OK(px_graph_create(&g));
    static uint8_t q[34 * 2];
    px_shape qs = sh(2, (int64_t[]){2, 32});
    px_value W = px_graph_constant(g, "wq", PX_Q8_0, &qs, q, sizeof q, PX_CONST_BORROW);
    CHECK(W != PX_NONE);
    px_shape xs = sh(2, (int64_t[]){1, 32});
    px_value x = px_graph_input(g, "x", PX_F32, &xs);
    px_graph_node(g, PX_OP_MATMUL, (px_value[]){x, W}, 2, NULL, 0, "qmm");
    expect_error(PX_ERR_DTYPE, "trans_b", g);
    px_graph_destroy(g);

    CHECK_OK(px_graph_create(&g));
    px_graph_constant(g, "short", PX_Q4_0, &qs, q, 10, PX_CONST_BORROW);
    expect_error(PX_ERR_INVALID_ARG, "bytes given", g);
    px_graph_destroy(g);

    CHECK_OK(px_graph_create(&g));
    a = px_graph_input(g, "a", PX_F32, &s4);
    px_graph_reshape(g, a, &s3, "rs");
    expect_error(PX_ERR_SHAPE, "element counts differ", g);
    px_graph_destroy(g);

    /* A graph without outputs does not validate. */
    CHECK_OK(px_graph_create(&g));
    a = px_graph_input(g, "a", PX_F32, &s4);
    px_graph_node(g, PX_OP_EXP, &a, 1, NULL, 0, "e");
    CHECK(px_graph_validate(g) == PX_ERR_INVALID_ARG);
    px_graph_destroy(g);

    /* SET_ROWS needs a state as its destination. */
    CHECK_OK(px_graph_create(&g));
    px_shape cs = sh(2, (int64_t[]){8, 4}), rs = sh(2, (int64_t[]){2, 4}), is = sh(1, (int64_t[]){2});
    px_value notstate = px_graph_input(g, "cache", PX_F32, &cs);
    px_value src = px_graph_input(g, "src", PX_F32, &rs), idx = px_graph_input(g, "idx", PX_I32, &is);
    px_graph_node(g, PX_OP_SET_ROWS, (px_value[]){notstate, src, idx}, 3, NULL, 0, "write");
    expect_error(PX_ERR_INVALID_ARG, "state", g);
    px_graph_destroy(g);
}

static void test_shapes(void) {
    px_graph *g;
    CHECK_OK(px_graph_create(&g));
    px_shape xs = sh(3, (int64_t[]){2, 5, 7});
    px_value x = px_graph_input(g, "x", PX_F32, &xs);
    px_value_info vi;
    /* reduce over axis 1, keepdims 0 */
    px_value r = px_graph_node(g, PX_OP_REDUCE_SUM, &x, 1,
                               (px_attr[]){PX_ATTR_INTS("axes", (int64_t[]){-2}, 1), PX_ATTR_I("keepdims", 0)}, 2, "r");
    px_graph_value_info(g, r, &vi);
    CHECK(vi.shape.rank == 2 && vi.shape.d[0].c == 2 && vi.shape.d[1].c == 7);
    /* slice with negative step */
    px_value s = px_graph_node(g, PX_OP_SLICE, &x, 1,
                               (px_attr[]){PX_ATTR_INTS("starts", (int64_t[]){-1}, 1), PX_ATTR_INTS("ends", (int64_t[]){-100}, 1),
                                           PX_ATTR_INTS("axes", (int64_t[]){2}, 1), PX_ATTR_INTS("steps", (int64_t[]){-2}, 1)},
                               4, "s");
    px_graph_value_info(g, s, &vi);
    CHECK(vi.shape.d[2].c == 4); /* 6,4,2,0 */
    /* permute */
    static const int64_t perm[] = {2, 0, 1};
    px_value p = px_graph_node(g, PX_OP_PERMUTE, &x, 1, (px_attr[]){PX_ATTR_INTS("perm", perm, 3)}, 1, "p");
    px_graph_value_info(g, p, &vi);
    CHECK(vi.shape.d[0].c == 7 && vi.shape.d[1].c == 2 && vi.shape.d[2].c == 5);
    /* gather: data [2,5,7], indices [3] on axis 1 -> [2,3,7] */
    px_shape is = sh(1, (int64_t[]){3});
    px_value ids = px_graph_input(g, "ids", PX_I64, &is);
    px_value gt = px_graph_node(g, PX_OP_GATHER, (px_value[]){x, ids}, 2, (px_attr[]){PX_ATTR_I("axis", 1)}, 1, "g");
    px_graph_value_info(g, gt, &vi);
    CHECK(vi.shape.rank == 3 && vi.shape.d[1].c == 3 && vi.shape.d[2].c == 7);
    /* argmax keepdims 0 -> I64 [2,7] */
    px_value am = px_graph_node(g, PX_OP_ARGMAX, &x, 1, (px_attr[]){PX_ATTR_I("axis", 1), PX_ATTR_I("keepdims", 0)}, 2, "am");
    px_graph_value_info(g, am, &vi);
    CHECK(vi.dtype == PX_I64 && vi.shape.rank == 2 && vi.shape.d[1].c == 7);
    /* compare -> bool; where */
    px_value c = px_graph_node(g, PX_OP_LESS, (px_value[]){x, x}, 2, NULL, 0, "lt");
    px_graph_value_info(g, c, &vi);
    CHECK(vi.dtype == PX_BOOL);
    px_value w = px_graph_node(g, PX_OP_WHERE, (px_value[]){c, x, x}, 3, NULL, 0, "w");
    CHECK(w != PX_NONE);
    /* cast to q8_0 needs a multiple of 32 in the last dim */
    px_value q = px_graph_node(g, PX_OP_CAST, &x, 1, (px_attr[]){PX_ATTR_I("dtype", PX_Q8_0)}, 1, "toq");
    CHECK(q == PX_NONE);
    CHECK(px_graph_status(g) == PX_ERR_SHAPE);
    px_graph_destroy(g);

    /* attention with a cache: q [T,4,8], k/v [T,2,8], caches [16,2,8] */
    CHECK_OK(px_graph_create(&g));
    int32_t T = px_graph_add_sym(g, "T", 16);
    px_shape qs = {.rank = 3, .d = {px_dim_s(T), px_dim_c(4), px_dim_c(8)}};
    px_shape ks = {.rank = 3, .d = {px_dim_s(T), px_dim_c(2), px_dim_c(8)}};
    px_shape ps = {.rank = 1, .d = {px_dim_s(T)}};
    px_shape cs = sh(3, (int64_t[]){16, 2, 8});
    px_value qv = px_graph_input(g, "q", PX_F32, &qs), kv = px_graph_input(g, "k", PX_F32, &ks);
    px_value vv = px_graph_input(g, "v", PX_F32, &ks), pos = px_graph_input(g, "pos", PX_I32, &ps);
    px_value kc = px_graph_state(g, "kc", PX_F16, &cs), vc = px_graph_state(g, "vc", PX_F16, &cs);
    px_value at = px_graph_node(g, PX_OP_ATTENTION, (px_value[]){qv, kv, vv, kc, vc, pos}, 6, NULL, 0, "attn");
    px_graph_value_info(g, at, &vi);
    CHECK(vi.shape.rank == 3 && vi.shape.d[0].sym == T && vi.shape.d[1].c == 4 && vi.shape.d[2].c == 8);
    /* GQA ratio must divide */
    px_shape q3 = {.rank = 3, .d = {px_dim_s(T), px_dim_c(3), px_dim_c(8)}};
    px_value qbad = px_graph_input(g, "q3", PX_F32, &q3);
    px_graph_node(g, PX_OP_ATTENTION, (px_value[]){qbad, kv, vv}, 3, NULL, 0, "attn_bad");
    expect_error(PX_ERR_SHAPE, "multiple of kv heads", g);
    px_graph_destroy(g);
}

int main(void) {
    test_broadcast_and_matmul();
    test_errors_name_the_node();
    test_shapes();
    return px_test_finish("test_ir");
}
