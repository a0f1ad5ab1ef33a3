/* Decompositions of the composite ops (RMS_NORM, SWIGLU, ROPE, ATTENTION)
 * into primitive ops of ops.h, built with the public builder API of ir.h.
 *
 * Every decomposition computes in at least F32 (F64 stays F64 where the
 * primitives allow it), as ops.h asks of kernels, and casts the result to
 * the dtype the composite node's output has in the source graph. Shapes keep
 * their symbolic dims: reshapes copy px_dim values from the input shapes.
 *
 * Error handling follows ir.h: once a builder call fails, every later call
 * returns PX_NONE, so each decomposition is written straight through and the
 * caller sees PX_NONE with the error recorded on `dst`. Preconditions the
 * builder cannot see are recorded with px_graph_fail (graph.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decompose.h"
#include "graph.h"

/* ---- small builder helpers ----------------------------------------------- */

typedef struct dc {
    px_graph *g;
    const char *base; /* the composite node's name */
    char name[256];
} dc;

/* "<base>.<step>" in a buffer reused by each call (the builder copies it). */
static const char *nm(dc *d, const char *step) {
    snprintf(d->name, sizeof d->name, "%s.%s", d->base, step);
    return d->name;
}

static int info(dc *d, px_value v, px_value_info *out) {
    if (v == PX_NONE || px_graph_status(d->g) != PX_OK) return -1;
    if (px_graph_value_info(d->g, v, out) != PX_OK) {
        px_graph_fail(d->g, PX_ERR_INTERNAL, "decompose '%s': value %d is not in the graph", d->base, v);
        return -1;
    }
    return 0;
}

static px_shape shape_of(int32_t rank, const px_dim *dims) {
    px_shape s;
    memset(&s, 0, sizeof s);
    s.rank = rank;
    for (int32_t i = 0; i < rank; i++) s.d[i] = dims[i];
    return s;
}

/* k * d for a dim d = k'*S + c. */
static px_dim dim_mul(px_dim d, int64_t k) {
    px_dim r = d;
    r.c = d.c * k;
    if (d.sym >= 0) r.k = (int32_t)(d.k * k);
    return r;
}

static px_value un(dc *d, px_op op, px_value x, const char *step) {
    return px_graph_node(d->g, op, &x, 1, NULL, 0, nm(d, step));
}

static px_value bin(dc *d, px_op op, px_value a, px_value b, const char *step) {
    px_value in[2] = {a, b};
    return px_graph_node(d->g, op, in, 2, NULL, 0, nm(d, step));
}

static px_value scale(dc *d, px_value x, double s, double b, const char *step) {
    px_attr a[2] = {PX_ATTR_F("scale", s), PX_ATTR_F("bias", b)};
    return px_graph_node(d->g, PX_OP_SCALE, &x, 1, a, 2, nm(d, step));
}

/* CAST unless x already has dtype `dt`. */
static px_value cast(dc *d, px_value x, px_dtype dt, const char *step) {
    px_value_info vi;
    if (info(d, x, &vi)) return PX_NONE;
    if (vi.dtype == dt) return x;
    px_attr a[1] = {PX_ATTR_I("dtype", (int64_t)dt)};
    return px_graph_node(d->g, PX_OP_CAST, &x, 1, a, 1, nm(d, step));
}

/* x[..., start:end:step] along `axis`. */
static px_value slice(dc *d, px_value x, int64_t axis, int64_t start, int64_t end, int64_t stride,
                      const char *step) {
    int64_t s[1] = {start}, e[1] = {end}, ax[1] = {axis}, st[1] = {stride};
    px_attr a[4] = {PX_ATTR_INTS("starts", s, 1), PX_ATTR_INTS("ends", e, 1), PX_ATTR_INTS("axes", ax, 1),
                    PX_ATTR_INTS("steps", st, 1)};
    return px_graph_node(d->g, PX_OP_SLICE, &x, 1, a, 4, nm(d, step));
}

static px_value concat2(dc *d, px_value a, px_value b, int64_t axis, const char *step) {
    px_value in[2] = {a, b};
    px_attr at[1] = {PX_ATTR_I("axis", axis)};
    return px_graph_node(d->g, PX_OP_CONCAT, in, 2, at, 1, nm(d, step));
}

static px_value permute(dc *d, px_value x, const int64_t *perm, int32_t n, const char *step) {
    px_attr a[1] = {PX_ATTR_INTS("perm", perm, n)};
    return px_graph_node(d->g, PX_OP_PERMUTE, &x, 1, a, 1, nm(d, step));
}

static px_value reshape(dc *d, px_value x, int32_t rank, const px_dim *dims, const char *step) {
    px_shape s = shape_of(rank, dims);
    return px_graph_reshape(d->g, x, &s, nm(d, step));
}

/* A constant of `n` floats stored as dtype `dt` (F32 or F64). */
static px_value const_floats(dc *d, px_dtype dt, int32_t rank, const int64_t *dims, const double *vals,
                             int64_t n, const char *step) {
    if (px_graph_status(d->g) != PX_OK) return PX_NONE;
    px_shape s = px_shape_make(rank, dims);
    size_t esz = dt == PX_F64 ? sizeof(double) : sizeof(float);
    size_t nbytes = (size_t)n * esz;
    void *buf = px_malloc(nbytes ? nbytes : 1);
    if (!buf) return px_graph_fail(d->g, PX_ERR_NO_MEMORY, "decompose '%s': out of memory", d->base);
    for (int64_t i = 0; i < n; i++) {
        if (dt == PX_F64) ((double *)buf)[i] = vals[i];
        else ((float *)buf)[i] = (float)vals[i];
    }
    px_value v = px_graph_constant(d->g, nm(d, step), dt, &s, buf, nbytes, PX_CONST_COPY);
    free(buf);
    return v;
}

static px_value const_scalar(dc *d, px_dtype dt, double val, const char *step) {
    int64_t one[1] = {1};
    return const_floats(d, dt, 1, one, &val, 1, step);
}

/* Dtype to compute in: F64 stays F64, everything else goes through F32. */
static px_dtype compute_dtype(px_dtype t) { return t == PX_F64 ? PX_F64 : PX_F32; }

static px_value input_at(const px_node_info *node, const px_value *inputs, int32_t i) {
    return i < node->n_inputs ? inputs[i] : PX_NONE;
}

/* ---- RMS_NORM: y = x * rsqrt(mean(x^2, -1) + eps) * weight ----------------
 * x [..., D] -> cast to F32 -> MUL(x, x) -> REDUCE_MEAN(axes=[-1], keepdims)
 * -> SCALE(bias=eps) -> RSQRT -> MUL(x, .) -> MUL(., weight) -> cast back.  */
static px_value rms_norm(dc *d, const px_node_info *node, const px_value *inputs, px_dtype out_dt) {
    px_value x = input_at(node, inputs, 0), w = input_at(node, inputs, 1);
    px_value_info xi;
    if (info(d, x, &xi)) return PX_NONE;
    double eps = px_attr_float(node->attrs, node->n_attrs, "eps", 1e-6);
    px_dtype ct = compute_dtype(xi.dtype);
    int64_t axes[1] = {-1};
    px_attr ra[2] = {PX_ATTR_INTS("axes", axes, 1), PX_ATTR_I("keepdims", 1)};

    px_value xc = cast(d, x, ct, "x");
    px_value sq = bin(d, PX_OP_MUL, xc, xc, "sq");
    px_value ms = px_graph_node(d->g, PX_OP_REDUCE_MEAN, &sq, 1, ra, 2, nm(d, "mean"));
    px_value den = scale(d, ms, 1.0, eps, "add_eps");
    px_value r = un(d, PX_OP_RSQRT, den, "rsqrt");
    px_value y = bin(d, PX_OP_MUL, xc, r, "norm");
    if (w != PX_NONE) y = bin(d, PX_OP_MUL, y, cast(d, w, ct, "weight"), "mul_weight");
    return cast(d, y, out_dt, "out");
}

/* ---- SWIGLU: SILU(gate) -> MUL(., up), in the inputs' dtype --------------- */
static px_value swiglu(dc *d, const px_node_info *node, const px_value *inputs, px_dtype out_dt) {
    px_value gate = input_at(node, inputs, 0), up = input_at(node, inputs, 1);
    px_value s = un(d, PX_OP_SILU, gate, "silu");
    px_value y = bin(d, PX_OP_MUL, s, up, "mul");
    return cast(d, y, out_dt, "out");
}

/* ---- ROPE -------------------------------------------------------------------
 * theta [T, n/2] = CAST(positions) [T, 1] * inv_freq [1, n/2]
 *                  (inv_freq[i] = freq_scale * freq_base^(-2i/n), a constant)
 *                  / freq_factors [1, n/2]  (if given)
 * c, s = COS(theta), SIN(theta), reshaped to [T, 1, n/2] for x [T, H, D].
 * x0, x1 = SLICE of x's last axis: normal mode 0:n:2 and 1:n:2, neox mode
 * 0:n/2 and n/2:n. y0 = x0*c - x1*s, y1 = x0*s + x1*c. Normal mode
 * re-interleaves: reshape y0, y1 to [..., n/2, 1], CONCAT on the last axis,
 * reshape to [..., n]; neox mode concatenates. Dims n..D-1 pass through
 * (SLICE + CONCAT).                                                          */
static px_value rope(dc *d, const px_node_info *node, const px_value *inputs, px_dtype out_dt) {
    px_value x = input_at(node, inputs, 0), pos = input_at(node, inputs, 1);
    px_value ff = input_at(node, inputs, 2);
    px_value_info xi, pi;
    if (info(d, x, &xi) || info(d, pos, &pi)) return PX_NONE;
    int32_t r = xi.shape.rank;
    if (r < 2 || r + 1 > PX_MAX_DIMS || xi.shape.d[r - 1].sym >= 0 || pi.shape.rank != 1)
        return px_graph_fail(d->g, PX_ERR_SHAPE, "decompose '%s': rope needs x [T, (H,) D] with a static D",
                             d->base);
    int64_t D = xi.shape.d[r - 1].c;
    int64_t n = px_attr_int(node->attrs, node->n_attrs, "n_dims", D);
    int64_t mode = px_attr_int(node->attrs, node->n_attrs, "mode", 0);
    double base = px_attr_float(node->attrs, node->n_attrs, "freq_base", 10000.0);
    double fscale = px_attr_float(node->attrs, node->n_attrs, "freq_scale", 1.0);
    if (n <= 0 || n % 2 || n > D)
        return px_graph_fail(d->g, PX_ERR_INVALID_ARG, "decompose '%s': n_dims %lld must be even and in 2..%lld",
                             d->base, (long long)n, (long long)D);
    if (mode != 0 && mode != 2)
        return px_graph_fail(d->g, PX_ERR_UNSUPPORTED, "decompose '%s': rope mode %lld is not 0 or 2", d->base,
                             (long long)mode);
    int64_t h = n / 2;
    px_dtype ct = compute_dtype(xi.dtype);
    px_dim T = pi.shape.d[0];

    /* theta [T, h] */
    double *inv = px_malloc((size_t)h * sizeof *inv);
    if (!inv) return px_graph_fail(d->g, PX_ERR_NO_MEMORY, "decompose '%s': out of memory", d->base);
    for (int64_t i = 0; i < h; i++) inv[i] = fscale * pow(base, -2.0 * (double)i / (double)n);
    int64_t inv_dims[2] = {1, h};
    px_value invf = const_floats(d, ct, 2, inv_dims, inv, h, "inv_freq");
    free(inv);
    px_dim t1[2] = {T, px_dim_c(1)};
    px_value p = reshape(d, cast(d, pos, ct, "pos"), 2, t1, "pos_col");
    px_value theta = bin(d, PX_OP_MUL, p, invf, "theta");
    if (ff != PX_NONE) {
        px_dim fd[2] = {px_dim_c(1), px_dim_c(h)};
        px_value f = reshape(d, cast(d, ff, ct, "ff_cast"), 2, fd, "ff_row");
        theta = bin(d, PX_OP_DIV, theta, f, "theta_ff");
    }
    px_value c = un(d, PX_OP_COS, theta, "cos");
    px_value s = un(d, PX_OP_SIN, theta, "sin");
    if (r > 2) { /* [T, 1, ..., 1, h] to broadcast over the head dims */
        px_dim cd[PX_MAX_DIMS];
        cd[0] = T;
        for (int32_t i = 1; i < r - 1; i++) cd[i] = px_dim_c(1);
        cd[r - 1] = px_dim_c(h);
        c = reshape(d, c, r, cd, "cos_b");
        s = reshape(d, s, r, cd, "sin_b");
    }

    /* rotate */
    px_value xc = cast(d, x, ct, "x");
    int64_t ax = r - 1;
    px_value x0, x1;
    if (mode == 0) {
        x0 = slice(d, xc, ax, 0, n, 2, "x0");
        x1 = slice(d, xc, ax, 1, n, 2, "x1");
    } else {
        x0 = slice(d, xc, ax, 0, h, 1, "x0");
        x1 = slice(d, xc, ax, h, n, 1, "x1");
    }
    px_value x0c = bin(d, PX_OP_MUL, x0, c, "x0c"), x1s = bin(d, PX_OP_MUL, x1, s, "x1s");
    px_value x0s = bin(d, PX_OP_MUL, x0, s, "x0s"), x1c = bin(d, PX_OP_MUL, x1, c, "x1c");
    px_value y0 = bin(d, PX_OP_SUB, x0c, x1s, "y0");
    px_value y1 = bin(d, PX_OP_ADD, x0s, x1c, "y1");
    px_value rot;
    if (mode == 0) {
        px_dim sd[PX_MAX_DIMS];
        for (int32_t i = 0; i < r - 1; i++) sd[i] = xi.shape.d[i];
        sd[r - 1] = px_dim_c(h);
        sd[r] = px_dim_c(1);
        px_value a = reshape(d, y0, r + 1, sd, "y0_col");
        px_value b = reshape(d, y1, r + 1, sd, "y1_col");
        px_value ab = concat2(d, a, b, r, "pairs"); /* [..., h, 2] */
        sd[r - 1] = px_dim_c(n);
        rot = reshape(d, ab, r, sd, "interleave");
    } else {
        rot = concat2(d, y0, y1, ax, "halves");
    }
    if (n < D) {
        px_value tail = slice(d, xc, ax, n, D, 1, "tail");
        rot = concat2(d, rot, tail, ax, "pass");
    }
    return cast(d, rot, out_dt, "out");
}

/* ---- ATTENTION ---------------------------------------------------------------
 * (cache form) kw = SET_ROWS(k_cache, k, positions), vw likewise; keys and
 *   values are CAST(kw / vw, F32) [C, Hkv, D], at positions 0..C-1.
 * (no cache)   keys and values are CAST(k / v, F32), at positions 0..Tk-1.
 * q [T, Hq, D] -PERMUTE-> [Hq, T, D] -RESHAPE-> [Hkv, G*T, D] (G = Hq/Hkv:
 *   heads of one kv group are adjacent), keys -PERMUTE-> [Hkv, N, D],
 *   values -PERMUTE-> [Hkv, N, Dv].
 * scores = MATMUL(q, keys, trans_b) [Hkv, G*T, N]; with softcap q is first
 *   scaled by scale/softcap and scores become softcap*TANH(scores).
 * mask [T, N] = WHERE(visible, user mask or 0, -inf), one WHERE per rule:
 *   causal: kpos <= qpos; window: qpos < kpos + window; cache without causal:
 *   kpos <= REDUCE_MAX(positions). kpos = ARANGE(N), qpos = positions or
 *   ARANGE(T), compared in I32.
 * p = SOFTMAX(scores as [Hq, T, N], mask, scale) (all -inf rows give zeros),
 * out = MATMUL(p as [Hkv, G*T, N], values) -> [Hq, T, Dv] -PERMUTE->
 *   [T, Hq, Dv] -> cast to the output dtype.                                */
static px_value attention(dc *d, const px_node_info *node, const px_value *inputs, px_dtype out_dt) {
    px_value q = input_at(node, inputs, 0), k = input_at(node, inputs, 1), v = input_at(node, inputs, 2);
    px_value kc = input_at(node, inputs, 3), vc = input_at(node, inputs, 4);
    px_value pos = input_at(node, inputs, 5), mask = input_at(node, inputs, 6);
    px_value_info qi, ki, vi, ci, pi;
    if (info(d, q, &qi) || info(d, k, &ki) || info(d, v, &vi)) return PX_NONE;
    if (qi.shape.rank != 3 || ki.shape.rank != 3 || vi.shape.rank != 3)
        return px_graph_fail(d->g, PX_ERR_SHAPE, "decompose '%s': q, k, v must be rank 3", d->base);
    px_dim T = qi.shape.d[0], Hqd = qi.shape.d[1], Dd = qi.shape.d[2], Hkvd = ki.shape.d[1], Dvd = vi.shape.d[2];
    if (Hqd.sym >= 0 || Hkvd.sym >= 0 || Dd.sym >= 0 || Dvd.sym >= 0 || Hkvd.c <= 0 || Hqd.c % Hkvd.c)
        return px_graph_fail(d->g, PX_ERR_SHAPE,
                             "decompose '%s': heads and head dims must be static, Hq a multiple of Hkv", d->base);
    int64_t Hq = Hqd.c, Hkv = Hkvd.c, G = Hq / Hkv;
    int has_cache = kc != PX_NONE || vc != PX_NONE;
    if (has_cache && (kc == PX_NONE || vc == PX_NONE || pos == PX_NONE))
        return px_graph_fail(d->g, PX_ERR_INVALID_ARG,
                             "decompose '%s': a cache needs k_cache, v_cache and positions", d->base);

    int64_t causal = px_attr_int(node->attrs, node->n_attrs, "causal", 1);
    int64_t window = px_attr_int(node->attrs, node->n_attrs, "window", 0);
    double softcap = px_attr_float(node->attrs, node->n_attrs, "softcap", 0.0);
    double sc = px_attr_float(node->attrs, node->n_attrs, "scale", 1.0 / sqrt((double)Dd.c));
    if (window < 0)
        return px_graph_fail(d->g, PX_ERR_INVALID_ARG, "decompose '%s': window %lld < 0", d->base,
                             (long long)window);

    /* keys and values, F32, [N, Hkv, D] / [N, Hkv, Dv] */
    px_value keys, vals;
    px_dim N;
    if (has_cache) {
        px_value kin[3] = {kc, k, pos}, vin[3] = {vc, v, pos};
        px_value kw = px_graph_node(d->g, PX_OP_SET_ROWS, kin, 3, NULL, 0, nm(d, "k_store"));
        px_value vw = px_graph_node(d->g, PX_OP_SET_ROWS, vin, 3, NULL, 0, nm(d, "v_store"));
        keys = cast(d, kw, PX_F32, "k_load");
        vals = cast(d, vw, PX_F32, "v_load");
        if (info(d, kc, &ci)) return PX_NONE;
        N = ci.shape.d[0];
    } else {
        keys = cast(d, k, PX_F32, "k_f32");
        vals = cast(d, v, PX_F32, "v_f32");
        N = ki.shape.d[0];
    }

    /* scores [Hkv, G*T, N] */
    double sm_scale = sc;
    px_value qc = cast(d, q, PX_F32, "q_f32");
    if (softcap > 0) {
        qc = scale(d, qc, sc / softcap, 0.0, "q_scale");
        sm_scale = 1.0;
    }
    const int64_t p102[3] = {1, 0, 2};
    px_dim GT = dim_mul(T, G);
    px_dim qd[3] = {px_dim_c(Hkv), GT, Dd};
    px_value qh = permute(d, qc, p102, 3, "q_heads");
    px_value qg = reshape(d, qh, 3, qd, "q_groups");
    px_value kp = permute(d, keys, p102, 3, "k_heads");
    px_value vp = permute(d, vals, p102, 3, "v_heads");
    px_attr tb[1] = {PX_ATTR_I("trans_b", 1)};
    px_value qk[2] = {qg, kp};
    px_value scores = px_graph_node(d->g, PX_OP_MATMUL, qk, 2, tb, 1, nm(d, "scores"));
    if (softcap > 0) {
        px_value t = un(d, PX_OP_TANH, scores, "tanh");
        scores = scale(d, t, softcap, 0.0, "softcap");
    }
    px_dim sd[3] = {px_dim_c(Hq), T, N};
    scores = reshape(d, scores, 3, sd, "scores_h");

    /* additive mask [T or 1, N] */
    px_value m = mask != PX_NONE ? cast(d, mask, PX_F32, "mask_f32") : PX_NONE;
    int need_qpos = causal != 0 || window > 0;
    int need_max = has_cache && !causal;
    if (need_qpos || need_max) {
        px_dtype pdt = PX_I32;
        if (pos != PX_NONE) {
            if (info(d, pos, &pi)) return PX_NONE;
            pdt = pi.dtype;
        }
        px_value ninf = const_scalar(d, PX_F32, -INFINITY, "neg_inf");
        if (m == PX_NONE) m = const_scalar(d, PX_F32, 0.0, "zero");
        px_value kpos = px_graph_arange(d->g, N, 0.0, 1.0, pdt, nm(d, "kpos")); /* [N] */
        px_value qpos = PX_NONE;
        if (need_qpos) {
            px_value qp = pos != PX_NONE ? pos : px_graph_arange(d->g, T, 0.0, 1.0, pdt, nm(d, "qpos_range"));
            px_dim t1[2] = {T, px_dim_c(1)};
            qpos = reshape(d, qp, 2, t1, "qpos"); /* [T, 1] */
        }
        if (causal) {
            px_value vis = bin(d, PX_OP_LESS_EQUAL, kpos, qpos, "causal");
            px_value w3[3] = {vis, m, ninf};
            m = px_graph_node(d->g, PX_OP_WHERE, w3, 3, NULL, 0, nm(d, "mask_causal"));
        }
        if (window > 0) {
            px_value kend = px_graph_arange(d->g, N, (double)window, 1.0, pdt, nm(d, "kpos_window"));
            px_value vis = bin(d, PX_OP_LESS, qpos, kend, "window");
            px_value w3[3] = {vis, m, ninf};
            m = px_graph_node(d->g, PX_OP_WHERE, w3, 3, NULL, 0, nm(d, "mask_window"));
        }
        if (need_max) {
            int64_t axes[1] = {0};
            px_attr ra[2] = {PX_ATTR_INTS("axes", axes, 1), PX_ATTR_I("keepdims", 1)};
            px_value mx = px_graph_node(d->g, PX_OP_REDUCE_MAX, &pos, 1, ra, 2, nm(d, "max_pos"));
            px_value vis = bin(d, PX_OP_LESS_EQUAL, kpos, mx, "written");
            px_value w3[3] = {vis, m, ninf};
            m = px_graph_node(d->g, PX_OP_WHERE, w3, 3, NULL, 0, nm(d, "mask_written"));
        }
    }

    px_attr sa[1] = {PX_ATTR_F("scale", sm_scale)};
    px_value sm_in[2] = {scores, m};
    px_value probs = px_graph_node(d->g, PX_OP_SOFTMAX, sm_in, 2, sa, 1, nm(d, "probs"));
    px_dim pd[3] = {px_dim_c(Hkv), GT, N};
    probs = reshape(d, probs, 3, pd, "probs_g");
    px_value pv[2] = {probs, vp};
    px_value o = px_graph_node(d->g, PX_OP_MATMUL, pv, 2, NULL, 0, nm(d, "pv")); /* [Hkv, G*T, Dv] */
    px_dim od[3] = {px_dim_c(Hq), T, Dvd};
    o = reshape(d, o, 3, od, "pv_h");
    o = permute(d, o, p102, 3, "out_tokens"); /* [T, Hq, Dv] */
    return cast(d, o, out_dt, "out");
}

/* ---- entry points --------------------------------------------------------- */

int px_decompose_supported(px_op op) {
    return op == PX_OP_RMS_NORM || op == PX_OP_SWIGLU || op == PX_OP_ROPE || op == PX_OP_ATTENTION;
}

px_value px_decompose_node(px_graph *dst, const px_graph *src, const px_node_info *node,
                           const px_value *inputs) {
    if (!dst) return PX_NONE;
    if (px_graph_status(dst) != PX_OK) return PX_NONE;
    if (!src || !node || (node->n_inputs > 0 && !inputs))
        return px_graph_fail(dst, PX_ERR_INVALID_ARG, "px_decompose_node: NULL argument");
    dc d;
    memset(&d, 0, sizeof d);
    d.g = dst;
    d.base = node->name && *node->name ? node->name : px_op_name(node->op);
    if (!px_decompose_supported(node->op))
        return px_graph_fail(dst, PX_ERR_UNSUPPORTED, "decompose '%s': op %s has no decomposition", d.base,
                             px_op_name(node->op));
    for (int32_t i = 0; i < node->n_inputs; i++)
        if (inputs[i] != PX_NONE && (inputs[i] < 0 || inputs[i] >= px_graph_value_count(dst)))
            return px_graph_fail(dst, PX_ERR_INVALID_ARG, "decompose '%s': input %d is not a value of the graph",
                                 d.base, i);

    /* The output dtype is the composite node's, as inferred in the source. */
    px_value_info oi, xi;
    px_dtype out_dt;
    if (node->n_outputs >= 1 && node->outputs && px_graph_value_info(src, node->outputs[0], &oi) == PX_OK)
        out_dt = oi.dtype;
    else if (node->n_inputs >= 1 && px_graph_value_info(dst, inputs[0], &xi) == PX_OK)
        out_dt = xi.dtype;
    else
        return px_graph_fail(dst, PX_ERR_INVALID_ARG, "decompose '%s': no output and no first input", d.base);

    int32_t saved_group = dst->group;
    px_graph_set_group(dst, node->group);
    px_value out = PX_NONE;
    switch (node->op) {
    case PX_OP_RMS_NORM: out = rms_norm(&d, node, inputs, out_dt); break;
    case PX_OP_SWIGLU: out = swiglu(&d, node, inputs, out_dt); break;
    case PX_OP_ROPE: out = rope(&d, node, inputs, out_dt); break;
    case PX_OP_ATTENTION: out = attention(&d, node, inputs, out_dt); break;
    default: break;
    }
    px_graph_set_group(dst, saved_group);
    if (px_graph_status(dst) != PX_OK) return PX_NONE;
    return out;
}
