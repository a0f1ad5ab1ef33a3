/* ONNX ops of neural-network layers: MatMul, Gemm, Softmax, reductions,
 * normalisations, integer matmul and (de)quantization, Einsum. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

px_value ox_dt_shape(ox_ctx *c, px_value v, px_dtype *dt, int32_t *rank, int64_t *ne) {
    ox_shape(c, v, dt, rank, ne);
    return v;
}

px_value ox_scale(ox_ctx *c, px_value x, double s, double b) {
    px_attr a[] = {PX_ATTR_F("scale", s), PX_ATTR_F("bias", b)};
    return ox_node(c, PX_OP_SCALE, &x, 1, a, 2);
}

/* ---- MatMul, Gemm ------------------------------------------------------------------------- */

px_value ox_matmul(ox_ctx *c, px_value a, px_value b) {
    px_dtype da, db;
    int32_t ra, rb;
    int64_t na[PX_MAX_DIMS], nb[PX_MAX_DIMS];
    ox_dt_shape(c, a, &da, &ra, na);
    ox_dt_shape(c, b, &db, &rb, nb);
    int squeeze_a = 0, squeeze_b = 0;
    if (ra == 1) {
        int64_t s[2] = {1, na[0]};
        a = ox_reshape(c, a, 2, s);
        squeeze_a = 1;
    }
    if (rb == 1) {
        int64_t s[2] = {nb[0], 1};
        b = ox_reshape(c, b, 2, s);
        squeeze_b = 1;
    }
    px_dtype odt = da;
    int integer = !ox_is_float(da);
    if (integer) { /* exact in double for |sums| < 2^53 */
        a = ox_cast(c, a, PX_F64);
        b = ox_cast(c, b, PX_F64);
    }
    px_value in[2] = {a, b};
    px_value y = ox_node(c, PX_OP_MATMUL, in, 2, NULL, 0);
    if (integer) y = ox_cast(c, y, odt);
    if (squeeze_a || squeeze_b) {
        px_dtype dy;
        int32_t ry;
        int64_t ny[PX_MAX_DIMS], o[PX_MAX_DIMS];
        ox_dt_shape(c, y, &dy, &ry, ny);
        int32_t r = 0;
        for (int32_t d = 0; d < ry; d++) {
            if (squeeze_a && d == ry - 2) continue;
            if (squeeze_b && d == ry - 1) continue;
            o[r++] = ny[d];
        }
        y = ox_reshape(c, y, r, o);
    }
    return y;
}

static px_status imp_matmul(ox_ctx *c, const onx_node *n) {
    return ox_out_ir(c, n, 0, ox_matmul(c, ox_in_ir(c, n, 0), ox_in_ir(c, n, 1)));
}

static px_status imp_gemm(ox_ctx *c, const onx_node *n) {
    px_value a = ox_in_ir(c, n, 0), b = ox_in_ir(c, n, 1), bias = ox_in_ir(c, n, 2);
    int64_t perm[2] = {1, 0};
    if (ox_attr_i(n, "transA", 0)) a = ox_permute(c, a, 2, perm);
    px_attr tb[] = {PX_ATTR_I("trans_b", ox_attr_i(n, "transB", 0) != 0)};
    px_value in[2] = {a, b};
    px_value y = ox_node(c, PX_OP_MATMUL, in, 2, tb, 1);
    double alpha = ox_attr_f(n, "alpha", 1.0), beta = ox_attr_f(n, "beta", 1.0);
    if (alpha != 1.0) y = ox_scale(c, y, alpha, 0);
    if (bias != PX_NONE && beta != 0.0) {
        if (beta != 1.0) bias = ox_scale(c, bias, beta, 0);
        y = ox_binary(c, PX_OP_ADD, y, bias);
    }
    return ox_out_ir(c, n, 0, y);
}

/* ---- Softmax family -------------------------------------------------------------------------- */

static px_status imp_softmax(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    int log = !strcmp(n->op_type, "LogSoftmax");
    px_op op = log ? PX_OP_LOG_SOFTMAX : PX_OP_SOFTMAX;
    if (r == 0) return ox_fail(c, n, PX_ERR_SHAPE, "input must have rank >= 1");
    if (ox_opset(c) < 13) { /* coerced to 2-D at axis */
        int32_t ax = ox_axis(ox_attr_i(n, "axis", 1), r);
        if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
        int64_t s2[2] = {ox_numel(ax, ne), ox_numel(r - ax, ne + ax)};
        px_value y = ox_unary(c, op, ox_reshape(c, x, 2, s2));
        return ox_out_ir(c, n, 0, ox_reshape(c, y, r, ne));
    }
    int32_t ax = ox_axis(ox_attr_i(n, "axis", -1), r);
    if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
    if (ax == r - 1) return ox_out_ir(c, n, 0, ox_unary(c, op, x));
    int64_t perm[PX_MAX_DIMS];
    for (int32_t d = 0; d < r; d++) perm[d] = d;
    perm[ax] = r - 1;
    perm[r - 1] = ax;
    px_value y = ox_unary(c, op, ox_permute(c, x, r, perm));
    return ox_out_ir(c, n, 0, ox_permute(c, y, r, perm));
}

/* ---- reductions ----------------------------------------------------------------------------- */

static px_status imp_reduce(ox_ctx *c, const onx_node *n) {
    const char *t = n->op_type;
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    int64_t *axes = NULL, k = 0;
    int from_input = !strcmp(t, "ReduceSum") ? ox_opset(c) >= 13 : ox_opset(c) >= 18;
    if (from_input) {
        if (ox_in(c, n, 1)) {
            px_status st = ox_const_i64(c, n, ox_in(c, n, 1), "axes", &axes, &k);
            if (st) return st;
        }
    } else {
        const int64_t *a;
        k = ox_attr_ints(n, "axes", &a);
        axes = (int64_t *)a;
        if (k < 0) k = 0;
    }
    int64_t keep = ox_attr_i(n, "keepdims", 1);
    if (k == 0 && ox_attr_i(n, "noop_with_empty_axes", 0)) return ox_out_ir(c, n, 0, ox_unary(c, PX_OP_COPY, x));
    int64_t all[PX_MAX_DIMS];
    if (k == 0) {
        for (int32_t d = 0; d < r; d++) all[d] = d;
        axes = all;
        k = r;
    }
    for (int64_t i = 0; i < k; i++)
        if (ox_axis(axes[i], r) < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis %lld out of range", (long long)axes[i]);
    px_attr a[] = {PX_ATTR_INTS("axes", axes, (int32_t)k), PX_ATTR_I("keepdims", keep)};
    px_attr ak[] = {PX_ATTR_INTS("axes", axes, (int32_t)k), PX_ATTR_I("keepdims", 1)};
    px_value y;
    if (dt == PX_BOOL && (!strcmp(t, "ReduceMax") || !strcmp(t, "ReduceMin"))) { /* any / all */
        px_value u = ox_cast(c, x, PX_U8);
        y = ox_node(c, !strcmp(t, "ReduceMax") ? PX_OP_REDUCE_MAX : PX_OP_REDUCE_MIN, &u, 1, a, 2);
        return ox_out_ir(c, n, 0, ox_cast(c, y, PX_BOOL));
    }
    if (!strcmp(t, "ReduceSum")) y = ox_node(c, PX_OP_REDUCE_SUM, &x, 1, a, 2);
    else if (!strcmp(t, "ReduceMean")) y = ox_node(c, PX_OP_REDUCE_MEAN, &x, 1, a, 2);
    else if (!strcmp(t, "ReduceMax")) y = ox_node(c, PX_OP_REDUCE_MAX, &x, 1, a, 2);
    else if (!strcmp(t, "ReduceMin")) y = ox_node(c, PX_OP_REDUCE_MIN, &x, 1, a, 2);
    else if (!strcmp(t, "ReduceProd")) y = ox_node(c, PX_OP_REDUCE_PROD, &x, 1, a, 2);
    else if (!strcmp(t, "ReduceL1")) {
        px_value ax_ = ox_unary(c, PX_OP_ABS, x);
        y = ox_node(c, PX_OP_REDUCE_SUM, &ax_, 1, a, 2);
    } else if (!strcmp(t, "ReduceL2") || !strcmp(t, "ReduceSumSquare")) {
        px_value sq = ox_binary(c, PX_OP_MUL, x, x);
        y = ox_node(c, PX_OP_REDUCE_SUM, &sq, 1, a, 2);
        if (!strcmp(t, "ReduceL2")) y = ox_unary(c, PX_OP_SQRT, y);
    } else if (!strcmp(t, "ReduceLogSum")) {
        y = ox_unary(c, PX_OP_LOG, ox_node(c, PX_OP_REDUCE_SUM, &x, 1, a, 2));
    } else { /* ReduceLogSumExp: m + log(sum(exp(x - m))), m = max (0 where not finite) */
        px_value m = ox_node(c, PX_OP_REDUCE_MAX, &x, 1, ak, 2);
        px_value fin = ox_unary(c, PX_OP_NOT, ox_unary(c, PX_OP_ISINF, m));
        px_value w[3] = {fin, m, ox_scalar(c, dt, 0)};
        m = ox_node(c, PX_OP_WHERE, w, 3, NULL, 0);
        px_value e = ox_unary(c, PX_OP_EXP, ox_binary(c, PX_OP_SUB, x, m));
        px_value s = ox_unary(c, PX_OP_LOG, ox_node(c, PX_OP_REDUCE_SUM, &e, 1, ak, 2));
        y = ox_binary(c, PX_OP_ADD, s, m);
        if (!keep) {
            px_dtype dy;
            int32_t ry;
            int64_t ny[PX_MAX_DIMS], o[PX_MAX_DIMS];
            ox_dt_shape(c, y, &dy, &ry, ny);
            int32_t q = 0;
            for (int32_t d = 0; d < ry; d++) {
                int red = 0;
                for (int64_t i = 0; i < k; i++) red |= ox_axis(axes[i], r) == d;
                if (!red) o[q++] = ny[d];
            }
            y = ox_reshape(c, y, q, o);
        }
    }
    return ox_out_ir(c, n, 0, y);
}

/* ---- normalisations ------------------------------------------------------------------------- */

/* x viewed as [outer, inner] at axis; a parameter p broadcast to x's shape
 * from axis on, viewed as [inner]. */
static px_value param_inner(ox_ctx *c, px_value p, int32_t r, const int64_t *ne, int32_t ax) {
    if (p == PX_NONE) return p;
    px_dtype dp;
    int32_t rp;
    int64_t np[PX_MAX_DIMS];
    ox_dt_shape(c, p, &dp, &rp, np);
    int64_t inner = ox_numel(r - ax, ne + ax);
    if (ox_numel(rp, np) != inner) {
        px_attr a[] = {PX_ATTR_INTS("shape", ne + ax, r - ax)};
        p = ox_node(c, PX_OP_EXPAND, &p, 1, a, 1);
    }
    return ox_reshape(c, p, 1, &inner);
}

static px_status imp_layer_norm(ox_ctx *c, const onx_node *n) {
    int rms = !strcmp(n->op_type, "RMSNormalization");
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    int32_t ax = ox_axis(ox_attr_i(n, "axis", -1), r);
    if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
    double eps = ox_attr_f(n, "epsilon", rms ? 1e-5 : 1e-5);
    int64_t s2[2] = {ox_numel(ax, ne), ox_numel(r - ax, ne + ax)};
    px_value x2 = ox_reshape(c, x, 2, s2);
    px_value w = param_inner(c, ox_in_ir(c, n, 1), r, ne, ax);
    px_value in[3] = {x2, w, rms ? PX_NONE : param_inner(c, ox_in_ir(c, n, 2), r, ne, ax)};
    px_attr a[] = {PX_ATTR_F("eps", eps)};
    px_value y = ox_node(c, rms ? PX_OP_RMS_NORM : PX_OP_LAYER_NORM, in, rms ? 2 : 3, a, 1);
    px_status st = ox_out_ir(c, n, 0, ox_reshape(c, y, r, ne));
    if (st || rms || (!ox_has_out(n, 1) && !ox_has_out(n, 2))) return st;
    /* Mean and InvStdDev: shape x.shape[:axis] + [1]*(r-axis), stash type */
    px_dtype sdt = ox_attr_i(n, "stash_type", 1) == 1 ? PX_F32 : dt;
    px_value xs = ox_cast(c, x2, sdt);
    int64_t last = -1;
    px_attr ra[] = {PX_ATTR_INTS("axes", &last, 1), PX_ATTR_I("keepdims", 1)};
    px_value mean = ox_node(c, PX_OP_REDUCE_MEAN, &xs, 1, ra, 2);
    px_value dev = ox_binary(c, PX_OP_SUB, xs, mean);
    px_value var = ox_binary(c, PX_OP_MUL, dev, dev);
    var = ox_node(c, PX_OP_REDUCE_MEAN, &var, 1, ra, 2);
    px_value inv = ox_unary(c, PX_OP_RSQRT, ox_scale(c, var, 1, eps));
    int64_t on[PX_MAX_DIMS];
    for (int32_t d = 0; d < r; d++) on[d] = d < ax ? ne[d] : 1;
    if ((st = ox_out_ir(c, n, 1, ox_reshape(c, mean, r, on)))) return st;
    return ox_out_ir(c, n, 2, ox_reshape(c, inv, r, on));
}

/* A per-channel parameter [C] shaped [C, 1, ..., 1] for an [N, C, ...] input. */
static px_value per_channel(ox_ctx *c, px_value p, int32_t r, int64_t C) {
    int64_t s[PX_MAX_DIMS];
    s[0] = C;
    for (int32_t d = 1; d < r - 1; d++) s[d] = 1;
    return ox_reshape(c, p, r - 1, s);
}

static px_status imp_batch_norm(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    if (r < 2) return ox_fail(c, n, PX_ERR_SHAPE, "input must be [N, C, ...]");
    double eps = ox_attr_f(n, "epsilon", 1e-5);
    px_value sc = per_channel(c, ox_cast(c, ox_in_ir(c, n, 1), dt), r, ne[1]);
    px_value b = per_channel(c, ox_cast(c, ox_in_ir(c, n, 2), dt), r, ne[1]);
    px_value mean = per_channel(c, ox_cast(c, ox_in_ir(c, n, 3), dt), r, ne[1]);
    px_value var = per_channel(c, ox_cast(c, ox_in_ir(c, n, 4), dt), r, ne[1]);
    if (ox_attr_i(n, "training_mode", 0)) { /* batch statistics; running ones updated with momentum */
        int64_t axes[PX_MAX_DIMS], na = 0, C = ne[1];
        for (int32_t d = 0; d < r; d++)
            if (d != 1) axes[na++] = d;
        px_attr ra[] = {PX_ATTR_INTS("axes", axes, (int32_t)na), PX_ATTR_I("keepdims", 0)};
        px_value bm = ox_node(c, PX_OP_REDUCE_MEAN, &x, 1, ra, 2); /* [C] */
        px_value dev = ox_binary(c, PX_OP_SUB, x, per_channel(c, bm, r, C));
        px_value sq = ox_binary(c, PX_OP_MUL, dev, dev);
        px_value bv = ox_node(c, PX_OP_REDUCE_MEAN, &sq, 1, ra, 2);
        double mom = ox_attr_f(n, "momentum", 0.9);
        px_value rm = ox_binary(c, PX_OP_ADD, ox_scale(c, ox_cast(c, ox_in_ir(c, n, 3), dt), mom, 0), ox_scale(c, bm, 1 - mom, 0));
        px_value rv = ox_binary(c, PX_OP_ADD, ox_scale(c, ox_cast(c, ox_in_ir(c, n, 4), dt), mom, 0), ox_scale(c, bv, 1 - mom, 0));
        px_status st;
        if ((st = ox_out_ir(c, n, 1, rm)) || (st = ox_out_ir(c, n, 2, rv))) return st;
        mean = per_channel(c, bm, r, C);
        var = per_channel(c, bv, r, C);
    }
    px_value inv = ox_unary(c, PX_OP_RSQRT, ox_scale(c, var, 1, eps));
    px_value y = ox_binary(c, PX_OP_MUL, ox_binary(c, PX_OP_SUB, x, mean), ox_binary(c, PX_OP_MUL, inv, sc));
    return ox_out_ir(c, n, 0, ox_binary(c, PX_OP_ADD, y, b));
}

/* InstanceNormalization and GroupNormalization: LAYER_NORM over groups. */
static px_status imp_group_norm(ox_ctx *c, const onx_node *n) {
    int inst = !strcmp(n->op_type, "InstanceNormalization");
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    if (r < 2) return ox_fail(c, n, PX_ERR_SHAPE, "input must be [N, C, ...]");
    int64_t C = ne[1], G = inst ? C : ox_attr_i(n, "num_groups", 0);
    if (G <= 0 || C % G) return ox_fail(c, n, PX_ERR_INVALID_ARG, "num_groups must divide the channels");
    double eps = ox_attr_f(n, "epsilon", 1e-5);
    int64_t s2[2] = {ne[0] * G, ox_numel(r, ne) / (ne[0] * G)};
    px_attr a[] = {PX_ATTR_F("eps", eps)};
    px_value x2 = ox_reshape(c, x, 2, s2);
    px_value y = ox_reshape(c, ox_node(c, PX_OP_LAYER_NORM, &x2, 1, a, 1), r, ne);
    px_value sc = ox_cast(c, ox_in_ir(c, n, 1), dt), b = ox_cast(c, ox_in_ir(c, n, 2), dt);
    px_dtype ds;
    int32_t rs;
    int64_t ns[PX_MAX_DIMS];
    ox_dt_shape(c, sc, &ds, &rs, ns);
    if (!inst && ns[0] == G && G != C) { /* opset 18: one scale per group */
        int64_t g3[3] = {G, 1, 1}, e3[3] = {G, C / G, 1}, cne = C;
        px_attr ea[] = {PX_ATTR_INTS("shape", e3, 3)};
        px_value t = ox_reshape(c, sc, 3, g3);
        sc = ox_reshape(c, ox_node(c, PX_OP_EXPAND, &t, 1, ea, 1), 1, &cne);
        t = ox_reshape(c, b, 3, g3);
        b = ox_reshape(c, ox_node(c, PX_OP_EXPAND, &t, 1, ea, 1), 1, &cne);
    }
    y = ox_binary(c, PX_OP_MUL, y, per_channel(c, sc, r, C));
    return ox_out_ir(c, n, 0, ox_binary(c, PX_OP_ADD, y, per_channel(c, b, r, C)));
}

/* ---- Einsum ------------------------------------------------------------------------------------ */

/* Einsum as broadcast products and sums: each operand is laid out over all
 * labels (size 1 where it lacks one; a label repeated in one operand is
 * reduced to its diagonal with an identity mask), the operands are
 * multiplied, the labels absent from the output summed, and the result
 * permuted to the output order. */
static px_status imp_einsum(ox_ctx *c, const onx_node *n) {
    const char *eq = ox_attr_s(c, n, "equation", "");
    char lhs[128], rhs[64];
    int has_arrow = strstr(eq, "->") != NULL;
    size_t j = 0;
    const char *p = eq;
    for (; *p && !(p[0] == '-' && p[1] == '>') && j < sizeof lhs - 1; p++)
        if (!isspace((unsigned char)*p)) lhs[j++] = *p;
    lhs[j] = 0;
    j = 0;
    if (has_arrow)
        for (p += 2; *p && j < sizeof rhs - 1; p++)
            if (!isspace((unsigned char)*p)) rhs[j++] = *p;
    rhs[j] = 0;
    if (strstr(lhs, "...") || strstr(rhs, "...")) {
        /* ellipsis: replace by upper-case labels for the broadcast dims below */
    }
    /* split operands */
    char ops[8][32];
    int nops = 0;
    for (char *s = lhs, *e; nops < 8; s = e + 1) {
        e = strchr(s, ',');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l >= sizeof ops[0]) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "equation too long");
        memcpy(ops[nops], s, l);
        ops[nops++][l] = 0;
        if (!e) break;
    }
    if (nops != n->n_inputs) return ox_fail(c, n, PX_ERR_INVALID_ARG, "equation has %d operands, the node %d", nops, n->n_inputs);
    /* expand "..." into labels 'A'.. per operand (right-aligned broadcast) */
    int ell_rank = 0;
    for (int i = 0; i < nops; i++) {
        ox_val *v = ox_in(c, n, i);
        if (!v) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input %d missing", i);
        char *e = strstr(ops[i], "...");
        if (!e) continue;
        int named = (int)strlen(ops[i]) - 3, er = v->rank - named;
        if (er < 0) return ox_fail(c, n, PX_ERR_SHAPE, "operand %d has too few dims", i);
        if (er > ell_rank) ell_rank = er;
    }
    for (int i = 0; i < nops; i++) {
        char *e = strstr(ops[i], "...");
        if (!e) continue;
        ox_val *v = ox_in(c, n, i);
        int er = v->rank - ((int)strlen(ops[i]) - 3);
        char tail[32], buf[64];
        size_t lt = strlen(e + 3);
        memcpy(tail, e + 3, lt + 1); /* ops[i] is shorter than 32 */
        *e = 0;
        size_t l = strlen(ops[i]);
        memcpy(buf, ops[i], l);
        for (int k = 0; k < er && l < 32; k++) buf[l++] = (char)('A' + (ell_rank - er) + k);
        if (l + lt >= sizeof ops[i]) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "equation too long");
        memcpy(buf + l, tail, lt + 1);
        memcpy(ops[i], buf, l + lt + 1);
    }
    char out[64];
    if (has_arrow) {
        char *e = strstr(rhs, "...");
        if (e) {
            char tail[sizeof rhs];
            memcpy(tail, e + 3, strlen(e + 3) + 1);
            *e = 0;
            size_t l = strlen(rhs);
            for (int k = 0; k < ell_rank && l < sizeof rhs - 1; k++) rhs[l++] = (char)('A' + k);
            rhs[l] = 0;
            strncat(rhs, tail, sizeof rhs - strlen(rhs) - 1);
        }
        snprintf(out, sizeof out, "%s", rhs);
    } else { /* implicit: broadcast labels, then labels seen once, alphabetical */
        size_t l = 0;
        for (int k = 0; k < ell_rank; k++) out[l++] = (char)('A' + k);
        for (char ch = 'a'; ch <= 'z'; ch++) {
            int cnt = 0;
            for (int i = 0; i < nops; i++)
                for (const char *q = ops[i]; *q; q++) cnt += *q == ch;
            if (cnt == 1) out[l++] = ch;
        }
        out[l] = 0;
    }
    /* all labels: output labels first, then the summed ones */
    char labels[64];
    int64_t size[64];
    int nl = 0;
    for (const char *q = out; *q; q++) {
        if (nl >= PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than %d labels", PX_MAX_DIMS);
        labels[nl++] = *q;
    }
    for (int i = 0; i < nops; i++)
        for (const char *q = ops[i]; *q; q++)
            if (!memchr(labels, *q, (size_t)nl)) {
                if (nl >= PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than %d labels", PX_MAX_DIMS);
                labels[nl++] = *q;
            }
    if (nl > PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than %d labels", PX_MAX_DIMS);
    for (int l = 0; l < nl; l++) size[l] = 1;
    px_value prod = PX_NONE;
    for (int i = 0; i < nops; i++) {
        ox_val *v = ox_in(c, n, i);
        if ((int)strlen(ops[i]) != v->rank) return ox_fail(c, n, PX_ERR_SHAPE, "operand %d: %d labels for rank %d", i, (int)strlen(ops[i]), v->rank);
        px_value x = ox_ir(c, v);
        char lab[32];
        int32_t r = v->rank;
        int64_t ne[PX_MAX_DIMS];
        memcpy(lab, ops[i], (size_t)r + 1);
        memcpy(ne, v->ne, sizeof(int64_t) * (size_t)r);
        /* repeated labels: keep the diagonal */
        for (int a = 0; a < r; a++)
            for (int b = a + 1; b < r; b++) {
                if (lab[a] != lab[b]) continue;
                if (ne[a] != ne[b]) return ox_fail(c, n, PX_ERR_SHAPE, "label %c has two sizes", lab[a]);
                int64_t D = ne[a];
                if (D > 4096) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "a repeated label of %lld elements", (long long)D);
                uint8_t *eye = onx_alloc(ox_arena(c), (size_t)(D * D > 0 ? D * D : 1));
                if (!eye) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
                int64_t me[PX_MAX_DIMS];
                for (int d = 0; d < r; d++) me[d] = d == a || d == b ? D : 1;
                for (int64_t t = 0; t < D; t++) eye[t * D + t] = 1;
                uint8_t zero[8] = {0};
                px_value w[3] = {ox_reshape(c, ox_constant(c, PX_BOOL, 1, (int64_t[]){D * D}, eye), r, me), x,
                                 ox_constant(c, v->dt, 0, NULL, zero)};
                x = ox_node(c, PX_OP_WHERE, w, 3, NULL, 0);
                int64_t bb = b;
                px_attr ra[] = {PX_ATTR_INTS("axes", &bb, 1), PX_ATTR_I("keepdims", 0)};
                x = ox_node(c, PX_OP_REDUCE_SUM, &x, 1, ra, 2);
                memmove(lab + b, lab + b + 1, (size_t)(r - b));
                memmove(ne + b, ne + b + 1, sizeof(int64_t) * (size_t)(r - b - 1));
                r--;
                b--;
            }
        /* permute to label order and insert size-1 dims */
        int64_t perm[PX_MAX_DIMS], full[PX_MAX_DIMS];
        int32_t q = 0;
        for (int l = 0; l < nl; l++) {
            const char *f = memchr(lab, labels[l], (size_t)r);
            full[l] = 1;
            if (f) {
                perm[q++] = f - lab;
                full[l] = ne[f - lab];
                if (size[l] != 1 && full[l] != 1 && size[l] != full[l])
                    return ox_fail(c, n, PX_ERR_SHAPE, "label %c has sizes %lld and %lld", labels[l], (long long)size[l], (long long)full[l]);
                if (full[l] != 1) size[l] = full[l];
            }
        }
        int ident = 1;
        for (int32_t d = 0; d < q; d++) ident &= perm[d] == d;
        if (!ident) x = ox_permute(c, x, q, perm);
        x = ox_reshape(c, x, nl, full);
        prod = prod == PX_NONE ? x : ox_binary(c, PX_OP_MUL, prod, x);
    }
    int no = (int)strlen(out);
    if (nl > no) {
        int64_t axes[PX_MAX_DIMS];
        for (int l = no; l < nl; l++) axes[l - no] = l;
        px_attr ra[] = {PX_ATTR_INTS("axes", axes, nl - no), PX_ATTR_I("keepdims", 0)};
        prod = ox_node(c, PX_OP_REDUCE_SUM, &prod, 1, ra, 2);
    } else if (nops == 1) {
        prod = ox_unary(c, PX_OP_COPY, prod);
    }
    /* broadcast dims of size 1 in every operand stay 1; expand to the sizes */
    int64_t ons[PX_MAX_DIMS];
    for (int l = 0; l < no; l++) ons[l] = size[l];
    px_dtype dy;
    int32_t ry;
    int64_t ny[PX_MAX_DIMS];
    ox_dt_shape(c, prod, &dy, &ry, ny);
    if (ox_numel(ry, ny) != ox_numel(no, ons)) {
        px_attr ea[] = {PX_ATTR_INTS("shape", ons, no)};
        prod = ox_node(c, PX_OP_EXPAND, &prod, 1, ea, 1);
    }
    return ox_out_ir(c, n, 0, prod);
}


/* ---- Hardmax, LpNormalization, SwiGLU ------------------------------------------------------------ */

static px_status imp_hardmax(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    if (r == 0) return ox_fail(c, n, PX_ERR_SHAPE, "input must have rank >= 1");
    px_value v = x;
    int32_t ax;
    int64_t s2[2];
    if (ox_opset(c) < 13) { /* coerced to 2-D at axis */
        ax = ox_axis(ox_attr_i(n, "axis", 1), r);
        if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
        s2[0] = ox_numel(ax, ne);
        s2[1] = ox_numel(r - ax, ne + ax);
        v = ox_reshape(c, x, 2, s2);
        ax = 1;
    } else {
        ax = ox_axis(ox_attr_i(n, "axis", -1), r);
        if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
    }
    px_dtype vd;
    int32_t vr;
    int64_t vn[PX_MAX_DIMS], an[PX_MAX_DIMS];
    ox_dt_shape(c, v, &vd, &vr, vn);
    px_attr a[] = {PX_ATTR_I("axis", ax), PX_ATTR_I("keepdims", 1)};
    px_value am = ox_node(c, PX_OP_ARGMAX, &v, 1, a, 2);
    for (int32_t d = 0; d < vr; d++) an[d] = d == ax ? vn[ax] : 1;
    px_value ar = ox_reshape(c, px_graph_arange(ox_graph(c), px_dim_c(vn[ax]), 0, 1, PX_I64, NULL), vr, an);
    px_value y = ox_cast(c, ox_binary(c, PX_OP_EQUAL, am, ar), dt);
    if (vr != r) y = ox_reshape(c, y, r, ne);
    return ox_out_ir(c, n, 0, y);
}

static px_status imp_lp_norm(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    int32_t ax = ox_axis(ox_attr_i(n, "axis", -1), r);
    int64_t p = ox_attr_i(n, "p", 2), axes = ax;
    if (ax < 0 || (p != 1 && p != 2)) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range or p not 1 or 2");
    px_attr a[] = {PX_ATTR_INTS("axes", &axes, 1), PX_ATTR_I("keepdims", 1)};
    px_value t = p == 1 ? ox_unary(c, PX_OP_ABS, x) : ox_binary(c, PX_OP_MUL, x, x);
    px_value norm = ox_node(c, PX_OP_REDUCE_SUM, &t, 1, a, 2);
    if (p == 2) norm = ox_unary(c, PX_OP_SQRT, norm);
    px_value zero = ox_scalar(c, dt, 0);
    px_value w3[3] = {ox_binary(c, PX_OP_EQUAL, norm, zero), zero, ox_binary(c, PX_OP_DIV, x, norm)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_WHERE, w3, 3, NULL, 0)); /* a zero vector stays zero */
}

/* SwiGLU (opset 28): Swish(A, alpha) * B. */
static px_status imp_swiglu(ox_ctx *c, const onx_node *n) {
    px_value a = ox_in_ir(c, n, 0), b = ox_in_ir(c, n, 1);
    if (a == PX_NONE || b == PX_NONE) return ox_fail(c, n, PX_ERR_INVALID_ARG, "needs two inputs");
    double al = ox_attr_f(n, "alpha", 1.0);
    if (al == 1.0) {
        px_value in[2] = {a, b};
        return ox_out_ir(c, n, 0, ox_node(c, PX_OP_SWIGLU, in, 2, NULL, 0));
    }
    px_value sw = ox_binary(c, PX_OP_MUL, a, ox_unary(c, PX_OP_SIGMOID, ox_scale(c, a, al, 0)));
    return ox_out_ir(c, n, 0, ox_binary(c, PX_OP_MUL, sw, b));
}

/* ---- SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss ------------------------------------------------ */

/* loss[n, d...] = -input[n, target[n, d...], d...] * weight[target], with
 * ignore_index giving 0; reduction none / sum / mean (mean divides by the
 * sum of the weights used). */
static px_status nll(ox_ctx *c, const onx_node *n, px_value logp, px_value target, px_value weight, px_value *out_loss) {
    px_dtype dt, tdt;
    int32_t r, tr;
    int64_t ne[PX_MAX_DIMS], tn[PX_MAX_DIMS];
    ox_dt_shape(c, logp, &dt, &r, ne);
    ox_dt_shape(c, target, &tdt, &tr, tn);
    if (r < 2 || tr != r - 1) return ox_fail(c, n, PX_ERR_SHAPE, "input must be [N, C, d...] and target [N, d...]");
    const onx_attr *ig = ox_attr(n, "ignore_index");
    int64_t ignore = ig ? ig->i : 0;
    px_value t64 = ox_cast(c, target, PX_I64);
    px_value valid = PX_NONE, tgt = t64;
    if (ig) { /* ignored targets gather class 0 and weigh 0 */
        valid = ox_unary(c, PX_OP_NOT, ox_binary(c, PX_OP_EQUAL, t64, ox_scalar(c, PX_I64, (double)ignore)));
        px_value w3[3] = {valid, t64, ox_scalar(c, PX_I64, 0)};
        tgt = ox_node(c, PX_OP_WHERE, w3, 3, NULL, 0);
    }
    /* gather along C: indices [N, 1, d...] */
    int64_t un[PX_MAX_DIMS];
    un[0] = tn[0];
    un[1] = 1;
    for (int32_t d = 1; d < tr; d++) un[d + 1] = tn[d];
    px_value idx = ox_reshape(c, tgt, r, un);
    px_attr ga[] = {PX_ATTR_I("axis", 1)};
    px_value gin[2] = {logp, idx};
    px_value picked = ox_reshape(c, ox_node(c, PX_OP_GATHER_ELEMENTS, gin, 2, ga, 1), tr, tn);
    px_value loss = ox_unary(c, PX_OP_NEG, picked);
    px_value w = PX_NONE;
    if (weight != PX_NONE) {
        px_value win[2] = {weight, tgt};
        w = ox_node(c, PX_OP_GATHER, win, 2, NULL, 0); /* [N, d...] */
    }
    if (valid != PX_NONE) {
        px_value vf = ox_cast(c, valid, dt);
        w = w == PX_NONE ? vf : ox_binary(c, PX_OP_MUL, w, vf);
    }
    if (w != PX_NONE) loss = ox_binary(c, PX_OP_MUL, loss, w);
    const char *red = ox_attr_s(c, n, "reduction", "mean");
    px_attr all[] = {PX_ATTR_I("keepdims", 0)};
    if (!strcmp(red, "sum")) {
        loss = ox_node(c, PX_OP_REDUCE_SUM, &loss, 1, all, 1);
    } else if (!strcmp(red, "mean")) {
        if (w == PX_NONE) {
            loss = ox_node(c, PX_OP_REDUCE_MEAN, &loss, 1, all, 1);
        } else {
            px_value s = ox_node(c, PX_OP_REDUCE_SUM, &loss, 1, all, 1);
            px_value ws = ox_node(c, PX_OP_REDUCE_SUM, &w, 1, all, 1);
            loss = ox_binary(c, PX_OP_DIV, s, ws);
        }
    } else if (strcmp(red, "none")) {
        return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown reduction '%s'", red);
    }
    *out_loss = loss;
    return PX_OK;
}

static px_status imp_nll_loss(ox_ctx *c, const onx_node *n) {
    px_value loss;
    px_status st = nll(c, n, ox_in_ir(c, n, 0), ox_in_ir(c, n, 1), ox_in_ir(c, n, 2), &loss);
    return st ? st : ox_out_ir(c, n, 0, loss);
}

static px_status imp_sce_loss(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    if (r < 2) return ox_fail(c, n, PX_ERR_SHAPE, "scores must be [N, C, d...]");
    /* log_softmax over axis 1 */
    int64_t perm[PX_MAX_DIMS];
    for (int32_t d = 0; d < r; d++) perm[d] = d;
    perm[1] = r - 1;
    perm[r - 1] = 1;
    px_value lp = r == 2 ? ox_unary(c, PX_OP_LOG_SOFTMAX, x)
                         : ox_permute(c, ox_unary(c, PX_OP_LOG_SOFTMAX, ox_permute(c, x, r, perm)), r, perm);
    px_value loss;
    px_status st = nll(c, n, lp, ox_in_ir(c, n, 1), ox_in_ir(c, n, 2), &loss);
    if (st || (st = ox_out_ir(c, n, 0, loss))) return st;
    return ox_out_ir(c, n, 1, lp);
}

const ox_op ox_ops_nn[] = {
    {"Hardmax", imp_hardmax}, {"LpNormalization", imp_lp_norm}, {"SwiGLU", imp_swiglu},
    {"NegativeLogLikelihoodLoss", imp_nll_loss}, {"SoftmaxCrossEntropyLoss", imp_sce_loss},
    {"MatMul", imp_matmul}, {"Gemm", imp_gemm}, {"Softmax", imp_softmax}, {"LogSoftmax", imp_softmax},
    {"ReduceSum", imp_reduce}, {"ReduceMean", imp_reduce}, {"ReduceMax", imp_reduce}, {"ReduceMin", imp_reduce},
    {"ReduceProd", imp_reduce}, {"ReduceL1", imp_reduce}, {"ReduceL2", imp_reduce}, {"ReduceLogSum", imp_reduce},
    {"ReduceLogSumExp", imp_reduce}, {"ReduceSumSquare", imp_reduce},
    {"LayerNormalization", imp_layer_norm}, {"RMSNormalization", imp_layer_norm},
    {"BatchNormalization", imp_batch_norm}, {"InstanceNormalization", imp_group_norm},
    {"GroupNormalization", imp_group_norm}, {"Einsum", imp_einsum},
    {NULL, NULL},
};
