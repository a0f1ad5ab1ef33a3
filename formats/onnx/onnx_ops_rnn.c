/* ONNX recurrent layers RNN, GRU and LSTM, unrolled over the sequence at
 * import (its length is fixed at load). The input projection of all steps
 * is one matmul; each step adds the recurrent projection and applies the
 * gates. Directions forward, reverse and bidirectional; sequence_lens (a
 * padded batch: steps past a sequence's length keep its state and output
 * zeros; reverse runs over each sequence's own length); layout 0 and 1;
 * clip; the activations Sigmoid, Tanh and Relu; LSTM peepholes and
 * input_forget; GRU linear_before_reset. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

#define MAX_SEQ 4096

typedef enum { K_RNN, K_GRU, K_LSTM } rnn_kind;

typedef struct rnn {
    ox_ctx *c;
    const onx_node *n;
    rnn_kind kind;
    px_dtype dt;
    int64_t T, B, I, H, G; /* steps, batch, input size, hidden, gates */
    px_op act[3];          /* f, g, h */
    double clip;
    px_value lens;         /* [B, 1] int64 or PX_NONE */
    const int64_t *known_lens;
} rnn;

static px_value slice(ox_ctx *c, px_value x, int64_t axis, int64_t b, int64_t e) {
    int64_t one = 1;
    px_attr a[] = {PX_ATTR_INTS("starts", &b, 1), PX_ATTR_INTS("ends", &e, 1), PX_ATTR_INTS("axes", &axis, 1),
                   PX_ATTR_INTS("steps", &one, 1)};
    return ox_node(c, PX_OP_SLICE, &x, 1, a, 4);
}

static px_value act(rnn *r, int which, px_value x) {
    if (r->clip > 0) {
        x = ox_binary(r->c, PX_OP_MAX, x, ox_scalar(r->c, r->dt, -r->clip));
        x = ox_binary(r->c, PX_OP_MIN, x, ox_scalar(r->c, r->dt, r->clip));
    }
    return ox_unary(r->c, r->act[which], x);
}

/* row block g of a [D, G*H, ...] weight for direction d: [H, ...] */
static px_value dir_part(rnn *r, px_value w, int64_t d) {
    px_dtype dt;
    int32_t rk;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(r->c, w, &dt, &rk, ne);
    px_value s = slice(r->c, w, 0, d, d + 1);
    return ox_reshape(r->c, s, rk - 1, ne + 1);
}

/* The step mask [B, 1]: 1 where step t is inside the sequence. */
static px_value step_mask(rnn *r, int64_t t) {
    if (r->lens == PX_NONE) return PX_NONE;
    return ox_binary(r->c, PX_OP_LESS, ox_scalar(r->c, PX_I64, (double)t), r->lens);
}

/* One direction over x [T, B, I] (already reversed per sequence for the
 * reverse direction). Fills ys[t] = [B, H] and the final states. */
static px_status run_dir(rnn *r, px_value x, int64_t d, px_value W, px_value R, px_value Bias, px_value P, px_value h0,
                         px_value c0, px_value *ys, px_value *h_out, px_value *c_out) {
    ox_ctx *c = r->c;
    const int64_t GH = r->G * r->H;
    px_value w = dir_part(r, W, d), rr = dir_part(r, R, d); /* [GH, I], [GH, H] */
    px_value wb = PX_NONE, rb = PX_NONE;
    if (Bias != PX_NONE) {
        px_value b = dir_part(r, Bias, d); /* [2GH] */
        wb = slice(c, b, 0, 0, GH);
        rb = slice(c, b, 0, GH, 2 * GH);
    }
    px_attr tb[] = {PX_ATTR_I("trans_b", 1)};
    int64_t s2[2] = {r->T * r->B, r->I};
    px_value in[3] = {ox_reshape(c, x, 2, s2), w, wb};
    px_value xw = ox_node(c, PX_OP_MATMUL, in, 3, tb, 1); /* [T*B, GH] */
    int64_t s3[3] = {r->T, r->B, GH};
    xw = ox_reshape(c, xw, 3, s3);
    px_value h = h0, cs = c0;
    px_value p[3] = {PX_NONE, PX_NONE, PX_NONE};
    if (P != PX_NONE) {
        px_value pd = dir_part(r, P, d); /* [3H]: i, o, f */
        for (int k = 0; k < 3; k++) p[k] = slice(c, pd, 0, k * r->H, (k + 1) * r->H);
    }
    int64_t bh[2] = {r->B, r->H};
    for (int64_t t = 0; t < r->T; t++) {
        px_value xt = ox_reshape(c, slice(c, xw, 0, t, t + 1), 2, (int64_t[]){r->B, GH});
        px_value hr_in[3] = {h, rr, r->kind == K_GRU ? PX_NONE : rb};
        px_value hr = ox_node(c, PX_OP_MATMUL, hr_in, 3, tb, 1); /* [B, GH] */
        px_value hn, cn = PX_NONE;
        if (r->kind == K_RNN) {
            hn = act(r, 0, ox_binary(c, PX_OP_ADD, xt, hr));
        } else if (r->kind == K_GRU) { /* gates z, r, h */
            px_value g[3], hg[3];
            for (int k = 0; k < 3; k++) {
                g[k] = slice(c, xt, 1, k * r->H, (k + 1) * r->H);
                hg[k] = slice(c, hr, 1, k * r->H, (k + 1) * r->H);
                if (rb != PX_NONE) hg[k] = ox_binary(c, PX_OP_ADD, hg[k], slice(c, rb, 0, k * r->H, (k + 1) * r->H));
            }
            px_value z = act(r, 0, ox_binary(c, PX_OP_ADD, g[0], hg[0]));
            px_value rt = act(r, 0, ox_binary(c, PX_OP_ADD, g[1], hg[1]));
            px_value cand;
            if (ox_attr_i(r->n, "linear_before_reset", 0)) {
                cand = act(r, 1, ox_binary(c, PX_OP_ADD, g[2], ox_binary(c, PX_OP_MUL, rt, hg[2])));
            } else { /* (r * h) R_h^T + Rb_h */
                px_value rh = ox_binary(c, PX_OP_MUL, rt, h);
                px_value rw = slice(c, rr, 0, 2 * r->H, 3 * r->H);
                px_value in2[3] = {rh, rw, rb != PX_NONE ? slice(c, rb, 0, 2 * r->H, 3 * r->H) : PX_NONE};
                cand = act(r, 1, ox_binary(c, PX_OP_ADD, g[2], ox_node(c, PX_OP_MATMUL, in2, 3, tb, 1)));
            }
            /* h' = (1 - z) * cand + z * h = cand + z * (h - cand) */
            hn = ox_binary(c, PX_OP_ADD, cand, ox_binary(c, PX_OP_MUL, z, ox_binary(c, PX_OP_SUB, h, cand)));
        } else { /* LSTM gates i, o, f, c */
            px_value g[4];
            for (int k = 0; k < 4; k++) g[k] = ox_binary(c, PX_OP_ADD, slice(c, xt, 1, k * r->H, (k + 1) * r->H),
                                                           slice(c, hr, 1, k * r->H, (k + 1) * r->H));
            if (p[0] != PX_NONE) g[0] = ox_binary(c, PX_OP_ADD, g[0], ox_binary(c, PX_OP_MUL, p[0], cs));
            if (p[2] != PX_NONE) g[2] = ox_binary(c, PX_OP_ADD, g[2], ox_binary(c, PX_OP_MUL, p[2], cs));
            px_value it = act(r, 0, g[0]);
            px_value ft = ox_attr_i(r->n, "input_forget", 0) ? ox_scale(c, it, -1, 1) : act(r, 0, g[2]);
            px_value ct = act(r, 1, g[3]);
            cn = ox_binary(c, PX_OP_ADD, ox_binary(c, PX_OP_MUL, ft, cs), ox_binary(c, PX_OP_MUL, it, ct));
            if (p[1] != PX_NONE) g[1] = ox_binary(c, PX_OP_ADD, g[1], ox_binary(c, PX_OP_MUL, p[1], cn));
            px_value ot = act(r, 0, g[1]);
            hn = ox_binary(c, PX_OP_MUL, ot, act(r, 2, cn));
        }
        px_value m = step_mask(r, t);
        if (m != PX_NONE) { /* past a sequence's end: keep the state, output zeros */
            px_value w3[3] = {m, hn, h};
            px_value zero = ox_scalar(c, r->dt, 0);
            px_value y3[3] = {m, hn, zero};
            ys[t] = ox_node(c, PX_OP_WHERE, y3, 3, NULL, 0);
            hn = ox_node(c, PX_OP_WHERE, w3, 3, NULL, 0);
            if (cn != PX_NONE) {
                px_value c3[3] = {m, cn, cs};
                cn = ox_node(c, PX_OP_WHERE, c3, 3, NULL, 0);
            }
        } else {
            ys[t] = hn;
        }
        h = hn;
        if (cn != PX_NONE) cs = cn;
    }
    (void)bh;
    *h_out = h;
    *c_out = cs;
    return PX_OK;
}

/* Reverse each sequence within its length along axis 0 of x [T, B, ...]:
 * with known lengths a gather made at load, else all T steps. */
static px_value reverse_steps(rnn *r, px_value x) {
    ox_ctx *c = r->c;
    px_dtype dt;
    int32_t rk;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &rk, ne);
    int64_t *idx = onx_alloc(ox_arena(c), (size_t)(r->T * r->B > 0 ? r->T * r->B : 1) * sizeof(int64_t));
    if (!idx) return PX_NONE;
    for (int64_t t = 0; t < r->T; t++)
        for (int64_t b = 0; b < r->B; b++) {
            int64_t len = r->known_lens ? r->known_lens[b] : r->T;
            if (len < 0) len = 0;
            if (len > r->T) len = r->T;
            idx[t * r->B + b] = t < len ? len - 1 - t : t;
        }
    int64_t ine[PX_MAX_DIMS];
    for (int32_t k = 0; k < rk; k++) ine[k] = k < 2 ? ne[k] : 1;
    px_value iv = ox_constant(c, PX_I64, rk, ine, idx);
    px_attr ea[] = {PX_ATTR_INTS("shape", ne, rk)};
    iv = ox_node(c, PX_OP_EXPAND, &iv, 1, ea, 1);
    px_value in[2] = {x, iv};
    px_attr ga[] = {PX_ATTR_I("axis", 0)};
    return ox_node(c, PX_OP_GATHER_ELEMENTS, in, 2, ga, 1);
}

static px_op act_op(const char *s) {
    if (!strcmp(s, "Tanh")) return PX_OP_TANH;
    if (!strcmp(s, "Sigmoid")) return PX_OP_SIGMOID;
    if (!strcmp(s, "Relu")) return PX_OP_RELU;
    return PX_OP_INVALID;
}

static px_status imp_rnn(ox_ctx *c, const onx_node *n) {
    rnn r = {.c = c, .n = n, .lens = PX_NONE};
    r.kind = !strcmp(n->op_type, "GRU") ? K_GRU : !strcmp(n->op_type, "LSTM") ? K_LSTM : K_RNN;
    r.G = r.kind == K_RNN ? 1 : r.kind == K_GRU ? 3 : 4;
    ox_val *xv = ox_in(c, n, 0), *wv = ox_in(c, n, 1), *rv = ox_in(c, n, 2);
    if (!xv || !wv || !rv || xv->rank != 3 || wv->rank != 3 || rv->rank != 3)
        return ox_fail(c, n, PX_ERR_SHAPE, "X, W and R must be 3-D");
    int layout = (int)ox_attr_i(n, "layout", 0);
    const char *dir = ox_attr_s(c, n, "direction", "forward");
    int64_t D = !strcmp(dir, "bidirectional") ? 2 : 1;
    int reverse = !strcmp(dir, "reverse");
    if (D == 1 && !reverse && strcmp(dir, "forward")) return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown direction '%s'", dir);
    r.dt = xv->dt;
    r.T = layout ? xv->ne[1] : xv->ne[0];
    r.B = layout ? xv->ne[0] : xv->ne[1];
    r.I = xv->ne[2];
    r.H = ox_attr_i(n, "hidden_size", rv->ne[2]);
    if (wv->ne[0] != D || wv->ne[1] != r.G * r.H || wv->ne[2] != r.I || rv->ne[1] != r.G * r.H || rv->ne[2] != r.H)
        return ox_fail(c, n, PX_ERR_SHAPE, "W or R does not match hidden_size %lld and the input", (long long)r.H);
    if (r.T > MAX_SEQ) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than %d steps (unrolled at load)", MAX_SEQ);
    if (r.B > (1 << 20)) return ox_fail(c, n, PX_ERR_RANGE, "a batch of %lld", (long long)r.B);
    r.clip = ox_attr_f(n, "clip", 0);
    static const char *const defaults[3][3] = {{"Tanh", "Tanh", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    const onx_attr *aa = ox_attr(n, "activations");
    for (int k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "%s", defaults[r.kind][k]);
        if (aa && aa->strings && k < aa->n) snprintf(name, sizeof name, "%.*s", (int)aa->strings[k].n, (const char *)aa->strings[k].p);
        if ((r.act[k] = act_op(name)) == PX_OP_INVALID) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "activation %s is not supported", name);
    }
    px_value x = ox_ir(c, xv);
    if (layout) x = ox_permute(c, x, 3, (int64_t[]){1, 0, 2});
    ox_val *lv = ox_in(c, n, 4);
    if (lv) {
        int64_t *lens, k;
        if (ox_known(lv) && !ox_const_i64(c, n, lv, "sequence_lens", &lens, &k) && k == r.B) r.known_lens = lens;
        else if (reverse || D == 2) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "reverse directions need sequence_lens known at load");
        int64_t s2[2] = {r.B, 1};
        r.lens = ox_reshape(c, ox_cast(c, ox_ir(c, lv), PX_I64), 2, s2);
    }
    px_value W = ox_ir(c, wv), R = ox_ir(c, rv), Bias = ox_in_ir(c, n, 3), P = r.kind == K_LSTM ? ox_in_ir(c, n, 7) : PX_NONE;
    ox_val *h0v = ox_in(c, n, 5), *c0v = r.kind == K_LSTM ? ox_in(c, n, 6) : NULL;
    px_value *ys = onx_alloc(ox_arena(c), sizeof(px_value) * (size_t)(r.T ? r.T : 1) * (size_t)D);
    px_value hs[2], cs[2];
    if (!ys) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    int64_t bh[2] = {r.B, r.H};
    for (int64_t d = 0; d < D; d++) {
        int rev = reverse || d == 1;
        px_value h0 = h0v ? ox_reshape(c, slice(c, ox_ir(c, h0v), 0, d, d + 1), 2, bh) : ox_zeros(c, r.dt, 2, bh);
        px_value c0 = c0v ? ox_reshape(c, slice(c, ox_ir(c, c0v), 0, d, d + 1), 2, bh)
                          : r.kind == K_LSTM ? ox_zeros(c, r.dt, 2, bh) : PX_NONE;
        px_value xd = rev ? reverse_steps(&r, x) : x;
        px_status st = run_dir(&r, xd, d, W, R, Bias, P, h0, c0, ys + d * r.T, &hs[d], &cs[d]);
        if (st) return st;
        if (rev && r.T > 0) { /* outputs back in time order */
            int64_t s3[3] = {r.T, r.B, r.H}, one3[3] = {1, r.B, r.H};
            px_value *in = onx_alloc(ox_arena(c), sizeof(px_value) * (size_t)r.T);
            if (!in) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
            for (int64_t t = 0; t < r.T; t++) in[t] = ox_reshape(c, ys[d * r.T + t], 3, one3);
            px_attr ca[] = {PX_ATTR_I("axis", 0)};
            px_value all = r.T == 1 ? in[0] : ox_node(c, PX_OP_CONCAT, in, (int32_t)r.T, ca, 1);
            px_value back = reverse_steps(&r, ox_reshape(c, all, 3, s3));
            for (int64_t t = 0; t < r.T; t++) ys[d * r.T + t] = ox_reshape(c, slice(c, back, 0, t, t + 1), 2, bh);
        }
    }
    px_status st;
    if (ox_has_out(n, 0) && r.T > 0) { /* Y [T, D, B, H] (layout 1: [B, T, D, H]) */
        px_value *in = onx_alloc(ox_arena(c), sizeof(px_value) * (size_t)(r.T * D));
        if (!in) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
        int64_t one4[4] = {1, 1, r.B, r.H};
        for (int64_t t = 0; t < r.T; t++)
            for (int64_t d = 0; d < D; d++) in[t * D + d] = ox_reshape(c, ys[d * r.T + t], 4, one4);
        px_value y;
        if (r.T * D == 1) {
            y = ox_unary(c, PX_OP_COPY, in[0]);
        } else {
            int64_t s4[4] = {r.T, D, r.B, r.H};
            px_attr ca[] = {PX_ATTR_I("axis", 0)};
            y = ox_reshape(c, ox_node(c, PX_OP_CONCAT, in, (int32_t)(r.T * D), ca, 1), 4, s4);
        }
        if (layout) y = ox_permute(c, y, 4, (int64_t[]){2, 0, 1, 3});
        if ((st = ox_out_ir(c, n, 0, y))) return st;
    }
    for (int out = 1; out <= (r.kind == K_LSTM ? 2 : 1); out++) {
        if (!ox_has_out(n, out)) continue;
        px_value *src = out == 1 ? hs : cs, in[2];
        int64_t one3[3] = {1, r.B, r.H};
        for (int64_t d = 0; d < D; d++) in[d] = ox_reshape(c, src[d], 3, one3);
        px_attr ca[] = {PX_ATTR_I("axis", 0)};
        px_value yh = D == 1 ? ox_unary(c, PX_OP_COPY, in[0]) : ox_node(c, PX_OP_CONCAT, in, 2, ca, 1);
        if (layout) yh = ox_permute(c, yh, 3, (int64_t[]){1, 0, 2});
        if ((st = ox_out_ir(c, n, out, yh))) return st;
    }
    return PX_OK;
}

const ox_op ox_ops_rnn[] = {
    {"RNN", imp_rnn},
    {"GRU", imp_rnn},
    {"LSTM", imp_rnn},
    {NULL, NULL},
};
