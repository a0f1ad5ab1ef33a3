/* ONNX transformer ops: Attention (opsets 23 and 24) and RotaryEmbedding,
 * decomposed into IR matmuls, softmax and elementwise ops in the order of
 * the ops' function bodies in the ONNX spec. */
#include <math.h>
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

static px_value where3(ox_ctx *c, px_value cond, px_value a, px_value b) {
    px_value in[3] = {cond, a, b};
    return ox_node(c, PX_OP_WHERE, in, 3, NULL, 0);
}

/* [B, S, H*D] -> [B, H, S, D] */
static px_value heads_first(ox_ctx *c, px_value x, int64_t heads) {
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    int64_t s4[4] = {ne[0], ne[1], heads, heads ? ne[2] / heads : 0}, p[4] = {0, 2, 1, 3};
    return ox_permute(c, ox_reshape(c, x, 4, s4), 4, p);
}

/* [B, Hkv, L, D] -> [B, Hkv*g, L, D]: each kv head serves g consecutive q heads */
static px_value repeat_heads(ox_ctx *c, px_value x, int64_t g) {
    if (g == 1) return x;
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    int64_t s5[5] = {ne[0], ne[1], 1, ne[2], ne[3]}, e5[5] = {ne[0], ne[1], g, ne[2], ne[3]};
    px_value t = ox_reshape(c, x, 5, s5);
    px_attr a[] = {PX_ATTR_INTS("shape", e5, 5)};
    t = ox_node(c, PX_OP_EXPAND, &t, 1, a, 1);
    int64_t s4[4] = {ne[0], ne[1] * g, ne[2], ne[3]};
    return ox_reshape(c, t, 4, s4);
}

static px_status imp_attention(ox_ctx *c, const onx_node *n) {
    ox_val *qv = ox_in(c, n, 0), *kv = ox_in(c, n, 1), *vv = ox_in(c, n, 2);
    if (!qv || !kv || !vv) return ox_fail(c, n, PX_ERR_INVALID_ARG, "Q, K and V are required");
    if (qv->rank != kv->rank || qv->rank != vv->rank || (qv->rank != 3 && qv->rank != 4))
        return ox_fail(c, n, PX_ERR_SHAPE, "Q, K, V must all be 3-D or all 4-D");
    px_dtype dt = qv->dt;
    px_value q = ox_ir(c, qv), k = ox_ir(c, kv), v = ox_ir(c, vv);
    int three = qv->rank == 3;
    if (three) {
        int64_t hq = ox_attr_i(n, "q_num_heads", 0), hk = ox_attr_i(n, "kv_num_heads", 0);
        if (hq <= 0 || hk <= 0 || qv->ne[2] % hq || kv->ne[2] % hk || vv->ne[2] % hk)
            return ox_fail(c, n, PX_ERR_INVALID_ARG, "3-D inputs need q_num_heads and kv_num_heads dividing the hidden sizes");
        q = heads_first(c, q, hq);
        k = heads_first(c, k, hk);
        v = heads_first(c, v, hk);
    }
    px_status st;
    ox_val *pk = ox_in(c, n, 4), *pv = ox_in(c, n, 5), *np = ox_in(c, n, 6);
    if (pk && pv) {
        px_attr a[] = {PX_ATTR_I("axis", 2)};
        px_value in[2] = {ox_ir(c, pk), k};
        k = ox_node(c, PX_OP_CONCAT, in, 2, a, 1);
        px_value in2[2] = {ox_ir(c, pv), v};
        v = ox_node(c, PX_OP_CONCAT, in2, 2, a, 1);
    }
    if ((st = ox_out_ir(c, n, 1, ox_unary(c, PX_OP_COPY, k))) || (st = ox_out_ir(c, n, 2, ox_unary(c, PX_OP_COPY, v))))
        return st;
    int64_t qn[PX_MAX_DIMS], kn[PX_MAX_DIMS], vn[PX_MAX_DIMS];
    int32_t r;
    px_dtype t;
    ox_dt_shape(c, q, &t, &r, qn);
    ox_dt_shape(c, k, &t, &r, kn);
    ox_dt_shape(c, v, &t, &r, vn);
    int64_t B = qn[0], Hq = qn[1], S = qn[2], D = qn[3], Hk = kn[1], L = kn[2];
    if (Hk <= 0 || Hq % Hk) return ox_fail(c, n, PX_ERR_SHAPE, "q heads (%lld) must be a multiple of kv heads (%lld)", (long long)Hq, (long long)Hk);
    double scale = ox_attr_f(n, "scale", 1.0 / sqrt((double)D)), softcap = ox_attr_f(n, "softcap", 0);
    int64_t mode = ox_attr_i(n, "qk_matmul_output_mode", 0);
    /* the additive bias [., ., S, L] (F32 until the end): mask, causal, padding */
    px_value bias = PX_NONE;
    ox_val *mv = ox_in(c, n, 3);
    px_value ninf = ox_scalar(c, dt, -INFINITY), zero = ox_scalar(c, dt, 0);
    if (mv) {
        px_value m = ox_ir(c, mv);
        if (mv->dt == PX_BOOL) m = where3(c, m, zero, ninf);
        int64_t ml = mv->ne[mv->rank - 1];
        if (ml < L) { /* a shorter mask is padded with -inf */
            int64_t pne[PX_MAX_DIMS];
            memcpy(pne, mv->ne, sizeof(int64_t) * (size_t)mv->rank);
            pne[mv->rank - 1] = L - ml;
            px_attr fa[] = {PX_ATTR_INTS("shape", pne, mv->rank)};
            px_value fill = ox_node(c, PX_OP_EXPAND, &ninf, 1, fa, 1);
            px_attr a[] = {PX_ATTR_I("axis", mv->rank - 1)};
            px_value in[2] = {m, fill};
            m = ox_node(c, PX_OP_CONCAT, in, 2, a, 1);
        }
        bias = m;
    }
    if (ox_attr_i(n, "is_causal", 0)) {
        /* query i may see keys j <= i + offset; offset = the past length
         * (0 without a past: the top-left aligned triangle), or per batch
         * nonpad_kv_seqlen[b] - S */
        px_value row = px_graph_arange(ox_graph(c), px_dim_c(S), 0, 1, PX_I64, NULL);
        px_value col = px_graph_arange(ox_graph(c), px_dim_c(L), 0, 1, PX_I64, NULL);
        int64_t rs[4] = {1, 1, S, 1}, cs[4] = {1, 1, 1, L};
        row = ox_reshape(c, row, 4, rs);
        col = ox_reshape(c, col, 4, cs);
        px_value off;
        if (np) {
            int64_t bs[4] = {B, 1, 1, 1};
            off = ox_reshape(c, ox_binary(c, PX_OP_SUB, ox_cast(c, ox_ir(c, np), PX_I64), ox_scalar(c, PX_I64, (double)S)), 4, bs);
        } else {
            off = ox_scalar(c, PX_I64, pk ? (double)pk->ne[2] : 0);
        }
        px_value masked = ox_binary(c, PX_OP_LESS, ox_binary(c, PX_OP_ADD, row, off), col);
        px_value cm = where3(c, masked, ninf, zero);
        bias = bias == PX_NONE ? cm : ox_binary(c, PX_OP_ADD, bias, cm);
    }
    if (np) { /* keys at or past nonpad_kv_seqlen[b] are padding */
        px_value col = px_graph_arange(ox_graph(c), px_dim_c(L), 0, 1, PX_I64, NULL);
        int64_t cs[4] = {1, 1, 1, L}, bs[4] = {B, 1, 1, 1};
        px_value lens = ox_reshape(c, ox_cast(c, ox_ir(c, np), PX_I64), 4, bs);
        px_value pm = where3(c, ox_binary(c, PX_OP_LESS, ox_reshape(c, col, 4, cs), lens), zero, ninf);
        bias = bias == PX_NONE ? pm : ox_binary(c, PX_OP_ADD, bias, pm);
    }
    /* scores */
    k = repeat_heads(c, k, Hq / Hk);
    v = repeat_heads(c, v, Hq / Hk);
    double rs = sqrt(scale);
    px_value qs = ox_scale(c, q, rs, 0), ks = ox_scale(c, k, rs, 0);
    px_attr tb[] = {PX_ATTR_I("trans_b", 1)};
    px_value in[2] = {qs, ks};
    px_value w = ox_node(c, PX_OP_MATMUL, in, 2, tb, 1);
    if (softcap > 0) w = ox_scale(c, ox_unary(c, PX_OP_TANH, ox_scale(c, w, 1.0 / softcap, 0)), softcap, 0);
    px_value wsc = w;
    if (bias != PX_NONE) w = ox_binary(c, PX_OP_ADD, w, bias);
    px_value sdt_w = w;
    int64_t sp = ox_attr_i(n, "softmax_precision", 0);
    if (sp && onx_to_px_dtype((int32_t)sp) >= 0) sdt_w = ox_cast(c, w, (px_dtype)onx_to_px_dtype((int32_t)sp));
    px_value p = ox_cast(c, ox_unary(c, PX_OP_SOFTMAX, sdt_w), dt);
    if (bias != PX_NONE) { /* rows whose bias is all -inf attend to nothing */
        int64_t last = -1;
        px_attr ra[] = {PX_ATTR_INTS("axes", &last, 1), PX_ATTR_I("keepdims", 1)};
        px_value bm = ox_node(c, PX_OP_REDUCE_MAX, &bias, 1, ra, 2);
        p = where3(c, ox_binary(c, PX_OP_EQUAL, bm, ninf), zero, p);
    }
    /* modes as the spec's function body: 0 and 1 give the (soft-capped)
     * scores, 2 the scores with the bias, 3 the probabilities */
    px_value qk_out = mode == 3 ? p : mode == 2 ? w : wsc;
    if ((st = ox_out_ir(c, n, 3, qk_out))) return st;
    px_value in2[2] = {p, v};
    px_value y = ox_node(c, PX_OP_MATMUL, in2, 2, NULL, 0);
    if (three) {
        int64_t pr[4] = {0, 2, 1, 3}, s3[3] = {B, S, Hq * vn[3]};
        y = ox_reshape(c, ox_permute(c, y, 4, pr), 3, s3);
    }
    return ox_out_ir(c, n, 0, y);
}

/* RotaryEmbedding (opset 23): X [B, S, H*D] (num_heads given) or [B, H, S, D];
 * cos/sin caches [max_pos, rot/2] indexed by position_ids [B, S], or
 * [B, S, rot/2] when position_ids is absent. */
static px_status imp_rotary(ox_ctx *c, const onx_node *n) {
    ox_val *xv = ox_in(c, n, 0), *cv = ox_in(c, n, 1), *sv = ox_in(c, n, 2), *pv = ox_in(c, n, 3);
    if (!xv || !cv || !sv) return ox_fail(c, n, PX_ERR_INVALID_ARG, "X, cos_cache and sin_cache are required");
    int64_t heads = ox_attr_i(n, "num_heads", 0), rot = ox_attr_i(n, "rotary_embedding_dim", 0);
    int interleaved = (int)ox_attr_i(n, "interleaved", 0);
    px_value x = ox_ir(c, xv);
    int64_t B = xv->ne[0], S, H, D;
    int four = xv->rank == 4;
    if (four) { /* [B, H, S, D] -> [B, S, H, D] */
        int64_t p[4] = {0, 2, 1, 3};
        H = xv->ne[1], S = xv->ne[2], D = xv->ne[3];
        x = ox_permute(c, x, 4, p);
    } else if (xv->rank == 3) {
        S = xv->ne[1];
        if (heads <= 0 || xv->ne[2] % heads) return ox_fail(c, n, PX_ERR_INVALID_ARG, "3-D input needs num_heads dividing the hidden size");
        H = heads, D = xv->ne[2] / heads;
        int64_t s4[4] = {B, S, H, D};
        x = ox_reshape(c, x, 4, s4);
    } else {
        return ox_fail(c, n, PX_ERR_SHAPE, "X must be 3-D or 4-D");
    }
    if (rot == 0) rot = D;
    if (rot > D || rot % 2) return ox_fail(c, n, PX_ERR_INVALID_ARG, "rotary_embedding_dim must be even and <= head size");
    int64_t half = rot / 2;
    px_value cs = ox_ir(c, cv), sn = ox_ir(c, sv);
    if (pv) {
        px_value idx = ox_ir(c, pv);
        px_value in[2] = {cs, idx};
        cs = ox_node(c, PX_OP_GATHER, in, 2, NULL, 0);
        px_value in2[2] = {sn, idx};
        sn = ox_node(c, PX_OP_GATHER, in2, 2, NULL, 0);
    }
    /* cos/sin: [B, S, half] -> [B, S, 1, half] */
    int64_t c4[4] = {B, S, 1, half};
    px_dtype cdt;
    int32_t cr;
    int64_t cne[PX_MAX_DIMS];
    ox_dt_shape(c, cs, &cdt, &cr, cne);
    if (cne[cr - 1] < half) return ox_fail(c, n, PX_ERR_SHAPE, "cos/sin caches are narrower than rotary_embedding_dim/2");
    if (cne[cr - 1] > half) {
        int64_t z = 0, e = half, ax = cr - 1, one = 1;
        px_attr sl[] = {PX_ATTR_INTS("starts", &z, 1), PX_ATTR_INTS("ends", &e, 1), PX_ATTR_INTS("axes", &ax, 1),
                        PX_ATTR_INTS("steps", &one, 1)};
        cs = ox_node(c, PX_OP_SLICE, &cs, 1, sl, 4);
        sn = ox_node(c, PX_OP_SLICE, &sn, 1, sl, 4);
    }
    cs = ox_cast(c, ox_reshape(c, cs, 4, c4), xv->dt);
    sn = ox_cast(c, ox_reshape(c, sn, 4, c4), xv->dt);
    /* split the rotated part into the pair halves */
    int64_t z = 0, ax3 = 3, one = 1;
    px_value xr = x, pass = PX_NONE;
    if (rot < D) {
        int64_t e = rot, dd = D;
        px_attr a1[] = {PX_ATTR_INTS("starts", &z, 1), PX_ATTR_INTS("ends", &e, 1), PX_ATTR_INTS("axes", &ax3, 1), PX_ATTR_INTS("steps", &one, 1)};
        px_attr a2[] = {PX_ATTR_INTS("starts", &e, 1), PX_ATTR_INTS("ends", &dd, 1), PX_ATTR_INTS("axes", &ax3, 1), PX_ATTR_INTS("steps", &one, 1)};
        xr = ox_node(c, PX_OP_SLICE, &x, 1, a1, 4);
        pass = ox_node(c, PX_OP_SLICE, &x, 1, a2, 4);
    }
    px_value x1, x2;
    if (interleaved) { /* pairs (2i, 2i+1): view [B, S, H, half, 2] */
        int64_t s5[5] = {B, S, H, half, 2}, ax4 = 4, z1 = 1, e1 = 1, e2 = 2, two = 2;
        px_value t = ox_reshape(c, xr, 5, s5);
        px_attr a1[] = {PX_ATTR_INTS("starts", &z, 1), PX_ATTR_INTS("ends", &e1, 1), PX_ATTR_INTS("axes", &ax4, 1), PX_ATTR_INTS("steps", &one, 1)};
        px_attr a2[] = {PX_ATTR_INTS("starts", &z1, 1), PX_ATTR_INTS("ends", &e2, 1), PX_ATTR_INTS("axes", &ax4, 1), PX_ATTR_INTS("steps", &one, 1)};
        (void)two;
        int64_t s4[4] = {B, S, H, half};
        x1 = ox_reshape(c, ox_node(c, PX_OP_SLICE, &t, 1, a1, 4), 4, s4);
        x2 = ox_reshape(c, ox_node(c, PX_OP_SLICE, &t, 1, a2, 4), 4, s4);
    } else { /* pairs (i, i + half) */
        int64_t e1 = half, e2 = rot;
        px_attr a1[] = {PX_ATTR_INTS("starts", &z, 1), PX_ATTR_INTS("ends", &e1, 1), PX_ATTR_INTS("axes", &ax3, 1), PX_ATTR_INTS("steps", &one, 1)};
        px_attr a2[] = {PX_ATTR_INTS("starts", &e1, 1), PX_ATTR_INTS("ends", &e2, 1), PX_ATTR_INTS("axes", &ax3, 1), PX_ATTR_INTS("steps", &one, 1)};
        x1 = ox_node(c, PX_OP_SLICE, &xr, 1, a1, 4);
        x2 = ox_node(c, PX_OP_SLICE, &xr, 1, a2, 4);
    }
    px_value r1 = ox_binary(c, PX_OP_SUB, ox_binary(c, PX_OP_MUL, x1, cs), ox_binary(c, PX_OP_MUL, x2, sn));
    px_value r2 = ox_binary(c, PX_OP_ADD, ox_binary(c, PX_OP_MUL, x2, cs), ox_binary(c, PX_OP_MUL, x1, sn));
    px_value out;
    if (interleaved) {
        int64_t s5[5] = {B, S, H, half, 1}, s4[4] = {B, S, H, rot};
        px_attr a[] = {PX_ATTR_I("axis", 4)};
        px_value in[2] = {ox_reshape(c, r1, 5, s5), ox_reshape(c, r2, 5, s5)};
        out = ox_reshape(c, ox_node(c, PX_OP_CONCAT, in, 2, a, 1), 4, s4);
    } else {
        px_attr a[] = {PX_ATTR_I("axis", 3)};
        px_value in[2] = {r1, r2};
        out = ox_node(c, PX_OP_CONCAT, in, 2, a, 1);
    }
    if (pass != PX_NONE) {
        px_attr a[] = {PX_ATTR_I("axis", 3)};
        px_value in[2] = {out, pass};
        out = ox_node(c, PX_OP_CONCAT, in, 2, a, 1);
    }
    if (four) {
        int64_t p[4] = {0, 2, 1, 3};
        out = ox_permute(c, out, 4, p);
    } else {
        int64_t s3[3] = {B, S, H * D};
        out = ox_reshape(c, out, 3, s3);
    }
    return ox_out_ir(c, n, 0, out);
}


/* x [B, T, H*w] -> [B, H, T, w] (w from the shape) */
static px_value per_head(ox_ctx *c, px_value x, int64_t H) {
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    int64_t s4[4] = {ne[0], ne[1], H, ne[2] / H}, p[4] = {0, 2, 1, 3};
    return ox_permute(c, ox_reshape(c, x, 4, s4), 4, p);
}

/* [B, H, T, w] at step t -> [B, H, w] */
static px_value step(ox_ctx *c, px_value x, int64_t t) {
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    int64_t s = t, e = t + 1, ax = 2, one = 1;
    px_attr a[] = {PX_ATTR_INTS("starts", &s, 1), PX_ATTR_INTS("ends", &e, 1), PX_ATTR_INTS("axes", &ax, 1),
                   PX_ATTR_INTS("steps", &one, 1)};
    int64_t o[3] = {ne[0], ne[1], ne[3]};
    return ox_reshape(c, ox_node(c, PX_OP_SLICE, &x, 1, a, 4), 3, o);
}

static px_value with_dims(ox_ctx *c, px_value x, int64_t a, int64_t b) {
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dt, &r, ne);
    int64_t s4[4] = {ne[0], ne[1], a, b};
    return ox_reshape(c, x, 4, s4);
}

/* LinearAttention (opset 27): the recurrence of the spec, unrolled over T:
 *  linear      S = S + k v^T
 *  gated       S = exp(g) S + k v^T
 *  delta       S = S + k (beta (v - S^T k))^T
 *  gated_delta S' = exp(g) S; S = S' + k (beta (v - S'^T k))^T
 *  o_t = scale q_t^T S (each kv state serves q_num_heads/kv_num_heads heads) */
static px_status imp_linear_attention(ox_ctx *c, const onx_node *n) {
    ox_val *qv = ox_in(c, n, 0), *kv = ox_in(c, n, 1), *vv = ox_in(c, n, 2);
    if (!qv || !kv || !vv || qv->rank != 3 || kv->rank != 3 || vv->rank != 3)
        return ox_fail(c, n, PX_ERR_SHAPE, "query, key and value must be [B, T, H*D]");
    int64_t Hq = ox_attr_i(n, "q_num_heads", 0), Hk = ox_attr_i(n, "kv_num_heads", 0);
    if (Hq <= 0 || Hk <= 0 || Hq % Hk || qv->ne[2] % Hq || kv->ne[2] % Hk || vv->ne[2] % Hk)
        return ox_fail(c, n, PX_ERR_INVALID_ARG, "q_num_heads must be a multiple of kv_num_heads and divide the hidden sizes");
    const char *rule = ox_attr_s(c, n, "update_rule", "gated_delta"); /* the spec's default */
    int gated = !strcmp(rule, "gated") || !strcmp(rule, "gated_delta"), delta = !strcmp(rule, "delta") || !strcmp(rule, "gated_delta");
    if (!gated && !delta && strcmp(rule, "linear")) return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown update_rule '%s'", rule);
    int64_t B = qv->ne[0], T = qv->ne[1], dk = kv->ne[2] / Hk, dv = vv->ne[2] / Hk, g = Hq / Hk;
    if (T > 4096) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than 4096 steps (the recurrence is unrolled when the model is loaded)");
    double scale = ox_attr_f(n, "scale", 1.0 / sqrt((double)dk));
    px_dtype dt = qv->dt, f = PX_F32;
    px_value q = ox_cast(c, per_head(c, ox_ir(c, qv), Hq), f), k = ox_cast(c, per_head(c, ox_ir(c, kv), Hk), f);
    px_value v = ox_cast(c, per_head(c, ox_ir(c, vv), Hk), f);
    px_value decay = PX_NONE, beta = PX_NONE;
    ox_val *pv = ox_in(c, n, 3), *dv_ = ox_in(c, n, 4), *bv = ox_in(c, n, 5);
    if (gated) {
        if (!dv_) return ox_fail(c, n, PX_ERR_INVALID_ARG, "update_rule %s needs decay", rule);
        int64_t w = dv_->ne[2] / Hk; /* dk per element, or 1 per head */
        decay = ox_cast(c, per_head(c, ox_ir(c, dv_), Hk), f);
        (void)w;
    }
    if (delta) {
        if (!bv) return ox_fail(c, n, PX_ERR_INVALID_ARG, "update_rule %s needs beta", rule);
        int64_t bh = bv->ne[2] == 1 ? 1 : Hk;
        beta = ox_cast(c, per_head(c, ox_ir(c, bv), bh), f);
    }
    px_value S;
    if (pv) {
        S = ox_cast(c, ox_ir(c, pv), f);
    } else {
        int64_t sne[4] = {B, Hk, dk, dv};
        S = ox_zeros(c, PX_F32, 4, sne);
    }
    px_value *outs = onx_alloc(ox_arena(c), (size_t)(T ? T : 1) * sizeof *outs);
    if (!outs) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    px_attr tb[] = {PX_ATTR_I("trans_b", 0)};
    for (int64_t t = 0; t < T; t++) {
        px_value kc = with_dims(c, step(c, k, t), dk, 1); /* [B, Hk, dk, 1] */
        px_value vr = with_dims(c, step(c, v, t), 1, dv); /* [B, Hk, 1, dv] */
        if (gated) {
            px_value gt = step(c, decay, t); /* [B, Hk, dk] or [B, Hk, 1] */
            px_dtype gd;
            int32_t gr;
            int64_t gn[PX_MAX_DIMS];
            ox_dt_shape(c, gt, &gd, &gr, gn);
            S = ox_binary(c, PX_OP_MUL, S, with_dims(c, ox_unary(c, PX_OP_EXP, gt), gn[2], 1));
        }
        px_value w = vr;
        if (delta) {
            int64_t perm[4] = {0, 1, 3, 2};
            px_value in[2] = {ox_permute(c, S, 4, perm), kc};
            px_value ret = with_dims(c, ox_reshape(c, ox_node(c, PX_OP_MATMUL, in, 2, tb, 1), 3, (int64_t[]){B, Hk, dv}), 1, dv);
            px_value bt = with_dims(c, step(c, beta, t), 1, 1);
            w = ox_binary(c, PX_OP_MUL, bt, ox_binary(c, PX_OP_SUB, vr, ret));
        }
        px_value in[2] = {kc, w};
        S = ox_binary(c, PX_OP_ADD, S, ox_node(c, PX_OP_MATMUL, in, 2, tb, 1));
        /* output: q heads h use state h / g */
        px_value Sq = S;
        if (g > 1) {
            int64_t s5[5] = {B, Hk, 1, dk, dv}, e5[5] = {B, Hk, g, dk, dv}, s4[4] = {B, Hq, dk, dv};
            px_value tt = ox_reshape(c, S, 5, s5);
            px_attr ea[] = {PX_ATTR_INTS("shape", e5, 5)};
            Sq = ox_reshape(c, ox_node(c, PX_OP_EXPAND, &tt, 1, ea, 1), 4, s4);
        }
        px_value qr = with_dims(c, step(c, q, t), 1, dk); /* [B, Hq, 1, dk] */
        px_value in2[2] = {qr, Sq};
        outs[t] = ox_scale(c, ox_node(c, PX_OP_MATMUL, in2, 2, tb, 1), scale, 0); /* [B, Hq, 1, dv] */
    }
    px_value y;
    if (T == 1) {
        y = outs[0];
    } else {
        px_attr a[] = {PX_ATTR_I("axis", 2)};
        y = ox_node(c, PX_OP_CONCAT, outs, (int32_t)T, a, 1); /* [B, Hq, T, dv] */
    }
    int64_t p[4] = {0, 2, 1, 3}, s3[3] = {B, T, Hq * dv};
    y = ox_cast(c, ox_reshape(c, ox_permute(c, y, 4, p), 3, s3), dt);
    px_status st = ox_out_ir(c, n, 0, y);
    if (st) return st;
    return ox_out_ir(c, n, 1, ox_cast(c, S, pv ? pv->dt : dt));
}


/* CausalConvWithState (opset 27): seq = concat(past_state or zeros, input)
 * along the length; y[b,c,t] = act(bias[c] + sum_k w[c,0,k] seq[b,c,t+k]);
 * present_state = the last K-1 positions of seq. As K shifted slices
 * (K is a short kernel, 2 to 4 in the models that use the op). */
static px_status imp_causal_conv(ox_ctx *c, const onx_node *n) {
    ox_val *xv = ox_in(c, n, 0), *wv = ox_in(c, n, 1), *pv = ox_in(c, n, 3);
    if (!xv || !wv || xv->rank != 3 || wv->rank != 3 || wv->ne[0] != xv->ne[1] || wv->ne[1] != 1)
        return ox_fail(c, n, PX_ERR_SHAPE, "input must be [B, C, L] and weight [C, 1, K]");
    int64_t B = xv->ne[0], C = xv->ne[1], L = xv->ne[2], K = wv->ne[2];
    if (K < 1 || K > 64) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "kernel size %lld is not in 1..64", (long long)K);
    const char *act = ox_attr_s(c, n, "activation", "none");
    int silu = !strcmp(act, "silu") || !strcmp(act, "swish");
    if (!silu && strcmp(act, "none")) return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown activation '%s'", act);
    px_dtype dt = xv->dt, wk = dt == PX_F64 ? PX_F64 : PX_F32; /* half types accumulate in F32 */
    px_value x = ox_cast(c, ox_ir(c, xv), wk), seq = x;
    if (K > 1) {
        px_value past;
        if (pv) {
            past = ox_cast(c, ox_ir(c, pv), wk);
        } else {
            int64_t pne[3] = {B, C, K - 1};
            past = ox_zeros(c, wk, 3, pne);
        }
        px_attr a[] = {PX_ATTR_I("axis", 2)};
        px_value in[2] = {past, x};
        seq = ox_node(c, PX_OP_CONCAT, in, 2, a, 1);
    }
    px_value w = ox_cast(c, ox_ir(c, wv), wk), y = PX_NONE;
    int64_t one = 1, ax2 = 2, cs[2] = {C, 1};
    for (int64_t k = 0; k < K; k++) {
        int64_t s = k, e = k + L, s1 = k + 1;
        px_attr sa[] = {PX_ATTR_INTS("starts", &s, 1), PX_ATTR_INTS("ends", &e, 1), PX_ATTR_INTS("axes", &ax2, 1),
                        PX_ATTR_INTS("steps", &one, 1)};
        px_attr wa[] = {PX_ATTR_INTS("starts", &s, 1), PX_ATTR_INTS("ends", &s1, 1), PX_ATTR_INTS("axes", &ax2, 1),
                        PX_ATTR_INTS("steps", &one, 1)};
        px_value term = ox_binary(c, PX_OP_MUL, ox_node(c, PX_OP_SLICE, &seq, 1, sa, 4),
                                  ox_reshape(c, ox_node(c, PX_OP_SLICE, &w, 1, wa, 4), 2, cs));
        y = y == PX_NONE ? term : ox_binary(c, PX_OP_ADD, y, term);
    }
    if (ox_in(c, n, 2)) y = ox_binary(c, PX_OP_ADD, y, ox_reshape(c, ox_cast(c, ox_in_ir(c, n, 2), wk), 2, cs));
    if (silu) y = ox_unary(c, PX_OP_SILU, y);
    px_status st = ox_out_ir(c, n, 0, ox_cast(c, y, dt));
    if (st || !ox_has_out(n, 1)) return st;
    int64_t total = L + K - 1, s = total - (K - 1);
    px_attr pa[] = {PX_ATTR_INTS("starts", &s, 1), PX_ATTR_INTS("ends", &total, 1), PX_ATTR_INTS("axes", &ax2, 1),
                    PX_ATTR_INTS("steps", &one, 1)};
    return ox_out_ir(c, n, 1, ox_cast(c, ox_node(c, PX_OP_SLICE, &seq, 1, pa, 4), dt));
}

/* TensorScatter (opset 24): writes update [B, ..., S, ...] into the cache
 * [B, ..., M, ...] along axis (default -2) from write_indices[b] (0 when
 * absent), wrapping around M in circular mode. */
static px_status imp_tensor_scatter(ox_ctx *c, const onx_node *n) {
    ox_val *cv = ox_in(c, n, 0), *uv = ox_in(c, n, 1), *iv = ox_in(c, n, 2);
    if (!cv || !uv || cv->rank != uv->rank || cv->rank < 2) return ox_fail(c, n, PX_ERR_SHAPE, "past_cache and update must have one rank >= 2");
    int32_t r = cv->rank, ax = ox_axis(ox_attr_i(n, "axis", -2), r);
    if (ax <= 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis must be a non-batch axis");
    const char *mode = ox_attr_s(c, n, "mode", "linear");
    int circular = !strcmp(mode, "circular");
    if (!circular && strcmp(mode, "linear")) return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown mode '%s'", mode);
    int64_t B = cv->ne[0], S = uv->ne[ax], M = cv->ne[ax];
    int64_t an[PX_MAX_DIMS], bn[PX_MAX_DIMS];
    for (int32_t d = 0; d < r; d++) an[d] = d == ax ? S : 1, bn[d] = d == 0 ? B : 1;
    px_value pos = ox_reshape(c, px_graph_arange(ox_graph(c), px_dim_c(S), 0, 1, PX_I64, NULL), r, an);
    if (iv) pos = ox_binary(c, PX_OP_ADD, pos, ox_reshape(c, ox_cast(c, ox_ir(c, iv), PX_I64), r, bn));
    if (circular) {
        px_value in[2] = {pos, ox_scalar(c, PX_I64, (double)M)};
        px_attr a[] = {PX_ATTR_I("fmod", 0)};
        pos = ox_node(c, PX_OP_MOD, in, 2, a, 1);
    }
    px_attr ea[] = {PX_ATTR_INTS("shape", uv->ne, r)};
    pos = ox_node(c, PX_OP_EXPAND, &pos, 1, ea, 1);
    px_value in[3] = {ox_ir(c, cv), pos, ox_ir(c, uv)};
    px_attr a[] = {PX_ATTR_I("axis", ax), PX_ATTR_I("reduction", 0)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_SCATTER_ELEMENTS, in, 3, a, 2));
}


/* An IR value handed to a subgraph as an input. */
static ox_val *as_val(ox_ctx *c, px_value v) {
    ox_val *o = onx_alloc(ox_arena(c), sizeof *o);
    if (!o || v == PX_NONE) return NULL;
    o->name = "";
    o->v = v;
    ox_shape(c, v, &o->dt, &o->rank, o->ne);
    return o;
}

/* Apply a one-input, one-output subgraph attribute (FlexAttention's
 * score_mod / prob_mod) to v. */
static px_status apply_mod(ox_ctx *c, const onx_node *n, const char *attr, px_value *v) {
    const onx_attr *a = ox_attr(n, attr);
    if (!a || !a->g) return PX_OK;
    ox_val *in = as_val(c, *v), *out = NULL;
    if (!in) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    px_status st = ox_run_subgraph(c, n, a->g, &in, 1, &out, 1);
    if (st) return st;
    *v = ox_ir(c, out);
    return *v == PX_NONE ? ox_fail(c, n, PX_ERR_INTERNAL, "%s gave no value", attr) : PX_OK;
}

/* ai.onnx.preview FlexAttention: Y = prob_mod(softmax(score_mod(Q K^T scale))) V
 * over [B, H, L, E] inputs; each K/V head serves a contiguous group of query
 * heads. */
static px_status imp_flex_attention(ox_ctx *c, const onx_node *n) {
    ox_val *qv = ox_in(c, n, 0), *kv = ox_in(c, n, 1), *vv = ox_in(c, n, 2);
    if (!qv || !kv || !vv || qv->rank != 4 || kv->rank != 4 || vv->rank != 4)
        return ox_fail(c, n, PX_ERR_SHAPE, "Q, K and V must be [B, H, L, E]");
    int64_t Hq = qv->ne[1], Hk = kv->ne[1];
    if (Hk <= 0 || Hq % Hk) return ox_fail(c, n, PX_ERR_SHAPE, "query heads must be a multiple of key/value heads");
    double scale = ox_attr_f(n, "scale", 1.0 / sqrt((double)qv->ne[3]));
    px_value k = repeat_heads(c, ox_ir(c, kv), Hq / Hk), v = repeat_heads(c, ox_ir(c, vv), Hq / Hk);
    px_value in[2] = {ox_ir(c, qv), k};
    px_attr tb[] = {PX_ATTR_I("trans_b", 1)};
    px_value s = ox_scale(c, ox_node(c, PX_OP_MATMUL, in, 2, tb, 1), scale, 0);
    px_status st = apply_mod(c, n, "score_mod", &s);
    if (st) return st;
    px_value p = ox_unary(c, PX_OP_SOFTMAX, s);
    if ((st = apply_mod(c, n, "prob_mod", &p))) return st;
    px_value in2[2] = {p, v};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_MATMUL, in2, 2, NULL, 0));
}

const ox_op ox_ops_attn[] = {
    {"ai.onnx.preview.FlexAttention", imp_flex_attention},
    {"CausalConvWithState", imp_causal_conv}, {"TensorScatter", imp_tensor_scatter},
    {"LinearAttention", imp_linear_attention},
    {"Attention", imp_attention},
    {"RotaryEmbedding", imp_rotary},
    {NULL, NULL},
};
