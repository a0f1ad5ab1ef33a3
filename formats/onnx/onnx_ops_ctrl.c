/* ONNX control flow, resolved at import: If with a condition known at load
 * imports one branch (with a run-time condition both branches and a Where
 * per output); Loop with a known trip count or known conditions and Scan are
 * unrolled, one copy of the body per iteration. Shapes are fixed when the
 * model is loaded, so the iteration counts are known then. */
#include <stdio.h>
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

#define MAX_IO 64
#define MAX_ITER 4096

static const onx_graph *graph_attr(const onx_node *n, const char *name) {
    const onx_attr *a = ox_attr(n, name);
    return a && a->type == ONX_ATTR_GRAPH ? a->g : NULL;
}

static int known(const ox_val *v) { return ox_known(v); }

/* A known scalar int64 or bool as a value for a subgraph input. */
static ox_val *scalar_val(ox_ctx *c, px_dtype dt, int64_t v) {
    ox_val *o = onx_alloc(ox_arena(c), sizeof *o);
    void *d = onx_alloc(ox_arena(c), 8);
    if (!o || !d) return NULL;
    if (px_convert(PX_I64, &v, dt, d, 1)) return NULL;
    o->name = "";
    o->dt = dt;
    o->rank = 0;
    o->v = PX_NONE;
    o->data = d;
    return o;
}

/* An IR value as an ox_val (for slices fed to a body). */
static ox_val *ir_val(ox_ctx *c, px_value v) {
    if (v == PX_NONE) return NULL;
    ox_val *o = onx_alloc(ox_arena(c), sizeof *o);
    if (!o) return NULL;
    o->name = "";
    o->v = v;
    ox_shape(c, v, &o->dt, &o->rank, o->ne);
    return o;
}

/* x [.., T, ..] at index t of axis, the axis removed. */
static px_value take(ox_ctx *c, ox_val *x, int32_t axis, int64_t t) {
    int64_t s = t, e = t + 1, ax = axis, one = 1;
    px_attr a[] = {PX_ATTR_INTS("starts", &s, 1), PX_ATTR_INTS("ends", &e, 1), PX_ATTR_INTS("axes", &ax, 1),
                   PX_ATTR_INTS("steps", &one, 1)};
    px_value xv = ox_ir(c, x);
    px_value sl = ox_node(c, PX_OP_SLICE, &xv, 1, a, 4);
    int64_t ne[PX_MAX_DIMS];
    int32_t r = 0;
    for (int32_t d = 0; d < x->rank; d++)
        if (d != axis) ne[r++] = x->ne[d];
    return ox_reshape(c, sl, r, ne);
}

/* Stack per-iteration values along a new axis. */
static px_value stack(ox_ctx *c, ox_val **parts, int64_t n, int32_t axis, int reverse) {
    if (n == 0) return PX_NONE;
    px_value *in = onx_alloc(ox_arena(c), (size_t)n * sizeof *in);
    if (!in) return PX_NONE;
    for (int64_t i = 0; i < n; i++) {
        ox_val *p = parts[reverse ? n - 1 - i : i];
        int64_t ne[PX_MAX_DIMS];
        int32_t r = p->rank + 1;
        for (int32_t d = 0, s = 0; d < r; d++) ne[d] = d == axis ? 1 : p->ne[s++];
        in[i] = ox_reshape(c, ox_ir(c, p), r, ne);
    }
    if (n == 1) return ox_unary(c, PX_OP_COPY, in[0]);
    px_attr a[] = {PX_ATTR_I("axis", axis)};
    return ox_node(c, PX_OP_CONCAT, in, (int32_t)n, a, 1);
}

/* ---- If ------------------------------------------------------------------------------------- */

static px_status imp_if(ox_ctx *c, const onx_node *n) {
    ox_val *cond = ox_in(c, n, 0);
    const onx_graph *tg = graph_attr(n, "then_branch"), *eg = graph_attr(n, "else_branch");
    if (!cond || !tg || !eg) return ox_fail(c, n, PX_ERR_INVALID_ARG, "needs cond, then_branch and else_branch");
    int32_t no = n->n_outputs;
    if (no > MAX_IO) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than %d outputs", MAX_IO);
    ox_val *to[MAX_IO], *eo[MAX_IO];
    px_status st;
    if (known(cond)) {
        int64_t *cv, k;
        if ((st = ox_const_i64(c, n, cond, "cond", &cv, &k))) return st;
        if (k != 1) return ox_fail(c, n, PX_ERR_SHAPE, "cond must hold one value");
        if ((st = ox_run_subgraph(c, n, cv[0] ? tg : eg, NULL, 0, to, no))) return st;
        for (int32_t i = 0; i < no; i++)
            if ((st = ox_out_alias(c, n, i, to[i]))) return st;
        return PX_OK;
    }
    if ((st = ox_run_subgraph(c, n, tg, NULL, 0, to, no)) || (st = ox_run_subgraph(c, n, eg, NULL, 0, eo, no))) return st;
    for (int32_t i = 0; i < no; i++) {
        if (to[i]->dt != eo[i]->dt)
            return ox_fail(c, n, PX_ERR_UNSUPPORTED, "with a condition known only at run time, both branches must give output %d the same type", i);
        px_value in[3] = {ox_ir(c, cond), ox_ir(c, to[i]), ox_ir(c, eo[i])};
        if ((st = ox_out_ir(c, n, i, ox_node(c, PX_OP_WHERE, in, 3, NULL, 0)))) return st;
    }
    return PX_OK;
}

/* ---- Loop ----------------------------------------------------------------------------------- */

static px_status imp_loop(ox_ctx *c, const onx_node *n) {
    const onx_graph *body = graph_attr(n, "body");
    if (!body) return ox_fail(c, n, PX_ERR_INVALID_ARG, "body is missing");
    px_status st;
    int64_t trips = -1;
    ox_val *mv = ox_in(c, n, 0), *cv = ox_in(c, n, 1);
    if (mv) {
        int64_t *v, k;
        if ((st = ox_const_i64(c, n, mv, "M (trip count)", &v, &k))) return st;
        trips = k ? v[0] : 0;
    }
    int cond = 1;
    if (cv) {
        int64_t *v, k;
        if ((st = ox_const_i64(c, n, cv, "cond", &v, &k))) return st;
        cond = k && v[0];
    }
    int32_t nc = n->n_inputs - 2; /* loop-carried */
    int32_t nk = body->n_outputs - 1 - nc; /* scan outputs */
    if (nc < 0 || nk < 0 || nc + 2 > MAX_IO || 1 + nc + nk > MAX_IO) return ox_fail(c, n, PX_ERR_FORMAT, "body inputs/outputs do not match the node");
    ox_val *carried[MAX_IO], *in[MAX_IO], *out[MAX_IO];
    for (int32_t i = 0; i < nc; i++)
        if (!(carried[i] = ox_in(c, n, 2 + i))) return ox_fail(c, n, PX_ERR_INVALID_ARG, "loop-carried input %d is missing", i);
    ox_val **scans = onx_alloc(ox_arena(c), sizeof(ox_val *) * (size_t)(nk ? nk : 1) * MAX_ITER);
    if (!scans) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    int64_t it = 0;
    for (; cond && (trips < 0 || it < trips); it++) {
        if (it >= MAX_ITER)
            return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than %d iterations (loops are unrolled when the model is loaded)", MAX_ITER);
        if (!(in[0] = scalar_val(c, PX_I64, it)) || !(in[1] = scalar_val(c, PX_BOOL, 1))) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
        for (int32_t i = 0; i < nc; i++) in[2 + i] = carried[i];
        if ((st = ox_run_subgraph(c, n, body, in, 2 + nc, out, 1 + nc + nk))) return st;
        if (!known(out[0]))
            return ox_fail(c, n, PX_ERR_UNSUPPORTED, "the loop condition is computed at run time (loops are unrolled when the model is loaded)");
        int64_t *v, k;
        if ((st = ox_const_i64(c, n, out[0], "cond_out", &v, &k))) return st;
        cond = k && v[0];
        for (int32_t i = 0; i < nc; i++) carried[i] = out[1 + i];
        for (int32_t i = 0; i < nk; i++) scans[(size_t)i * MAX_ITER + (size_t)it] = out[1 + nc + i];
    }
    for (int32_t i = 0; i < nc; i++)
        if ((st = ox_out_alias(c, n, i, carried[i]))) return st;
    for (int32_t i = 0; i < nk; i++) {
        if (!ox_has_out(n, nc + i)) continue;
        if (it == 0) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "a loop that runs no iteration has empty scan outputs of unknown shape");
        if ((st = ox_out_ir(c, n, nc + i, stack(c, &scans[(size_t)i * MAX_ITER], it, 0, 0)))) return st;
    }
    return PX_OK;
}

/* ---- Scan (opset 9 and later) ------------------------------------------------------------------ */

static px_status imp_scan(ox_ctx *c, const onx_node *n) {
    const onx_graph *body = graph_attr(n, "body");
    if (!body) return ox_fail(c, n, PX_ERR_INVALID_ARG, "body is missing");
    if (ox_opset(c) < 9) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "Scan of opset 8 (with sequence_lens) is not supported");
    int32_t m = (int32_t)ox_attr_i(n, "num_scan_inputs", -1), ns = n->n_inputs - m;
    int32_t nk = n->n_outputs - ns;
    if (m < 1 || ns < 0 || nk < 0 || n->n_inputs > MAX_IO || n->n_outputs > MAX_IO)
        return ox_fail(c, n, PX_ERR_FORMAT, "num_scan_inputs does not match the node");
    const int64_t *in_ax = NULL, *in_dir = NULL, *out_ax = NULL, *out_dir = NULL;
    int32_t k1 = ox_attr_ints(n, "scan_input_axes", &in_ax), k2 = ox_attr_ints(n, "scan_input_directions", &in_dir);
    int32_t k3 = ox_attr_ints(n, "scan_output_axes", &out_ax), k4 = ox_attr_ints(n, "scan_output_directions", &out_dir);
    ox_val *states[MAX_IO], *xs[MAX_IO], *in[MAX_IO], *out[MAX_IO];
    int32_t axes[MAX_IO];
    int64_t T = -1;
    for (int32_t i = 0; i < ns; i++)
        if (!(states[i] = ox_in(c, n, i))) return ox_fail(c, n, PX_ERR_INVALID_ARG, "state input %d is missing", i);
    for (int32_t j = 0; j < m; j++) {
        if (!(xs[j] = ox_in(c, n, ns + j))) return ox_fail(c, n, PX_ERR_INVALID_ARG, "scan input %d is missing", j);
        axes[j] = ox_axis(k1 == m ? in_ax[j] : 0, xs[j]->rank);
        if (axes[j] < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "scan input axis out of range");
        int64_t len = xs[j]->ne[axes[j]];
        if (T >= 0 && len != T) return ox_fail(c, n, PX_ERR_SHAPE, "scan inputs differ in length (%lld, %lld)", (long long)T, (long long)len);
        T = len;
    }
    if (T > MAX_ITER) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than %d iterations (scans are unrolled when the model is loaded)", MAX_ITER);
    ox_val **scans = onx_alloc(ox_arena(c), sizeof(ox_val *) * (size_t)(nk ? nk : 1) * (size_t)(T ? T : 1));
    if (!scans) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    px_status st;
    for (int64_t t = 0; t < T; t++) {
        for (int32_t i = 0; i < ns; i++) in[i] = states[i];
        for (int32_t j = 0; j < m; j++) {
            int64_t at = k2 == m && in_dir[j] ? T - 1 - t : t;
            if (!(in[ns + j] = ir_val(c, take(c, xs[j], axes[j], at))))
                return ox_fail(c, n, px_graph_status(ox_graph(c)), "%s", px_graph_error_message(ox_graph(c)));
        }
        if ((st = ox_run_subgraph(c, n, body, in, ns + m, out, ns + nk))) return st;
        for (int32_t i = 0; i < ns; i++) states[i] = out[i];
        for (int32_t i = 0; i < nk; i++) scans[(size_t)i * (size_t)T + (size_t)t] = out[ns + i];
    }
    for (int32_t i = 0; i < ns; i++)
        if ((st = ox_out_alias(c, n, i, states[i]))) return st;
    for (int32_t i = 0; i < nk; i++) {
        if (!ox_has_out(n, ns + i)) continue;
        if (T == 0) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "an empty scan has scan outputs of unknown shape");
        ox_val *first = scans[(size_t)i * (size_t)T];
        int32_t ax = ox_axis(k3 == nk ? out_ax[i] : 0, first->rank + 1);
        if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "scan output axis out of range");
        if ((st = ox_out_ir(c, n, ns + i, stack(c, &scans[(size_t)i * (size_t)T], T, ax, k4 == nk && out_dir[i])))) return st;
    }
    return PX_OK;
}

const ox_op ox_ops_ctrl[] = {
    {"If", imp_if},
    {"Loop", imp_loop},
    {"Scan", imp_scan},
    {NULL, NULL},
};
