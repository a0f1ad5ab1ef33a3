/* ONNX ops outside the transformer and vision families: EyeLike, the
 * window functions, CumProd, ReverseSequence, and the training optimisers of
 * ai.onnx.preview.training (Adagrad, Momentum, Adam) for models that run an
 * update step on the device. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

static px_status oom(ox_ctx *c, const onx_node *n) { return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory"); }

/* A constant from doubles, converted to dt. */
static px_status out_doubles(ox_ctx *c, const onx_node *n, px_dtype dt, int32_t rank, const int64_t *ne, const double *v) {
    int64_t cnt = ox_numel(rank, ne);
    void *d = onx_alloc(ox_arena(c), (size_t)(cnt > 0 ? cnt : 1) * 8);
    if (!d) return oom(c, n);
    if (px_convert(PX_F64, v, dt, d, cnt)) return ox_fail(c, n, PX_ERR_DTYPE, "cannot make a %s constant", px_dtype_name(dt));
    return ox_out_const(c, n, 0, dt, rank, ne, d);
}

static px_status imp_eye_like(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    if (!x || x->rank != 2) return ox_fail(c, n, PX_ERR_SHAPE, "input must be 2-D");
    px_dtype dt = x->dt;
    const onx_attr *a = ox_attr(n, "dtype");
    if (a) {
        int t = onx_to_px_dtype((int32_t)a->i);
        if (t < 0) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "dtype %s is not supported", onx_type_name((int32_t)a->i));
        dt = (px_dtype)t;
    }
    int64_t k = ox_attr_i(n, "k", 0), R = x->ne[0], C = x->ne[1];
    if (R * C > (1 << 22)) return ox_fail(c, n, PX_ERR_RANGE, "an identity of %lld x %lld is too large to make at load", (long long)R, (long long)C);
    double *v = onx_alloc(ox_arena(c), (size_t)(R * C > 0 ? R * C : 1) * sizeof(double));
    if (!v) return oom(c, n);
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++) v[i * C + j] = j - i == k;
    return out_doubles(c, n, dt, 2, x->ne, v);
}

/* HannWindow, HammingWindow, BlackmanWindow (opset 17): size known at load. */
static px_status imp_window(ox_ctx *c, const onx_node *n) {
    int64_t *sz, k;
    px_status st = ox_const_i64(c, n, ox_in(c, n, 0), "size", &sz, &k);
    if (st) return st;
    if (k != 1 || sz[0] < 0 || sz[0] > (1 << 24)) return ox_fail(c, n, PX_ERR_INVALID_ARG, "size must be one count");
    int t = onx_to_px_dtype((int32_t)ox_attr_i(n, "output_datatype", 1));
    if (t < 0) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "output_datatype is not supported");
    int64_t N = sz[0], periodic = ox_attr_i(n, "periodic", 1);
    double N1 = periodic ? (double)N : (double)N - 1;
    double *v = onx_alloc(ox_arena(c), (size_t)(N ? N : 1) * sizeof(double));
    if (!v) return oom(c, n);
    for (int64_t i = 0; i < N; i++) {
        double x = 2.0 * M_PI * (double)i / N1;
        if (!strcmp(n->op_type, "HannWindow")) v[i] = 0.5 - 0.5 * cos(x);
        else if (!strcmp(n->op_type, "HammingWindow")) v[i] = 25.0 / 46.0 - 21.0 / 46.0 * cos(x);
        else v[i] = 0.42 - 0.5 * cos(x) + 0.08 * cos(2 * x);
    }
    return out_doubles(c, n, (px_dtype)t, 1, &N, v);
}

/* CumProd: the running product as a chain of multiplies along the axis
 * (axes of a few thousand elements at most). */
static px_status imp_cumprod(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    int64_t *av, k;
    px_status st;
    if (!x) return ox_fail(c, n, PX_ERR_INVALID_ARG, "x is required");
    if ((st = ox_const_i64(c, n, ox_in(c, n, 1), "axis", &av, &k))) return st;
    int32_t ax = k == 1 ? ox_axis(av[0], x->rank) : -1;
    if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
    int64_t L = x->ne[ax], excl = ox_attr_i(n, "exclusive", 0), rev = ox_attr_i(n, "reverse", 0);
    if (L > 4096) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "an axis of %lld elements (CumProd is unrolled at load)", (long long)L);
    if (L == 0) return ox_out_ir(c, n, 0, ox_unary(c, PX_OP_COPY, ox_ir(c, x)));
    px_value xv = ox_ir(c, x), *parts = onx_alloc(ox_arena(c), (size_t)L * sizeof(px_value));
    if (!parts) return oom(c, n);
    int64_t one_ne[PX_MAX_DIMS];
    memcpy(one_ne, x->ne, sizeof one_ne);
    one_ne[ax] = 1;
    px_value acc = ox_binary(c, PX_OP_ADD, ox_zeros(c, x->dt, x->rank, one_ne), ox_scalar(c, x->dt, 1)); /* ones */
    for (int64_t s = 0; s < L; s++) {
        int64_t t = rev ? L - 1 - s : s, e = t + 1, a1 = ax, step = 1;
        px_attr sa[] = {PX_ATTR_INTS("starts", &t, 1), PX_ATTR_INTS("ends", &e, 1), PX_ATTR_INTS("axes", &a1, 1),
                        PX_ATTR_INTS("steps", &step, 1)};
        px_value xt = ox_node(c, PX_OP_SLICE, &xv, 1, sa, 4);
        if (excl) {
            parts[t] = acc;
            acc = ox_binary(c, PX_OP_MUL, acc, xt);
        } else {
            acc = ox_binary(c, PX_OP_MUL, acc, xt);
            parts[t] = acc;
        }
    }
    if (L == 1) return ox_out_ir(c, n, 0, ox_unary(c, PX_OP_COPY, parts[0]));
    px_attr ca[] = {PX_ATTR_I("axis", ax)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_CONCAT, parts, (int32_t)L, ca, 1));
}

/* ReverseSequence: per batch entry, the first sequence_lens[b] steps along
 * time_axis reversed; the lengths are known at load (a small int input). */
static px_status imp_reverse_sequence(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    int64_t *lens, k;
    px_status st;
    if (!x || x->rank < 2) return ox_fail(c, n, PX_ERR_SHAPE, "input must have rank >= 2");
    if ((st = ox_const_i64(c, n, ox_in(c, n, 1), "sequence_lens", &lens, &k))) return st;
    int32_t ba = ox_axis(ox_attr_i(n, "batch_axis", 1), x->rank), ta = ox_axis(ox_attr_i(n, "time_axis", 0), x->rank);
    if (ba < 0 || ta < 0 || ba == ta || k != x->ne[ba]) return ox_fail(c, n, PX_ERR_INVALID_ARG, "bad axes or sequence_lens");
    int64_t T = x->ne[ta], B = x->ne[ba], ine[PX_MAX_DIMS];
    if (T * B > (1 << 22)) return ox_fail(c, n, PX_ERR_RANGE, "%lld steps x %lld sequences is too large", (long long)T, (long long)B);
    for (int32_t d = 0; d < x->rank; d++) ine[d] = d == ta ? T : d == ba ? B : 1;
    int64_t *idx = onx_alloc(ox_arena(c), (size_t)(T * B > 0 ? T * B : 1) * sizeof(int64_t));
    if (!idx) return oom(c, n);
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++) {
            int64_t len = lens[b] < 0 ? 0 : lens[b] > T ? T : lens[b];
            int64_t v = t < len ? len - 1 - t : t;
            idx[ta < ba ? t * B + b : b * T + t] = v;
        }
    px_value iv = ox_constant(c, PX_I64, x->rank, ine, idx);
    px_attr ea[] = {PX_ATTR_INTS("shape", x->ne, x->rank)};
    iv = ox_node(c, PX_OP_EXPAND, &iv, 1, ea, 1);
    px_value in[2] = {ox_ir(c, x), iv};
    px_attr ga[] = {PX_ATTR_I("axis", ta)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_GATHER_ELEMENTS, in, 2, ga, 1));
}

/* ---- ai.onnx.preview.training optimisers ------------------------------------------------------------ */

/* Inputs R, T, then k tensors of each of `groups` kinds (X..., G..., ...). */
static px_status opt_setup(ox_ctx *c, const onx_node *n, int groups, int64_t *k, double *r, int64_t *t) {
    if (n->n_inputs < 2 || (n->n_inputs - 2) % groups) return ox_fail(c, n, PX_ERR_INVALID_ARG, "inputs do not come in groups of %d", groups);
    *k = (n->n_inputs - 2) / groups;
    double *rv;
    int64_t *tv, cnt;
    px_status st;
    if ((st = ox_const_f64(c, n, ox_in(c, n, 0), "R", &rv, &cnt)) || (st = ox_const_i64(c, n, ox_in(c, n, 1), "T", &tv, &cnt)))
        return st;
    *r = rv[0];
    *t = tv[0];
    return PX_OK;
}

static px_status imp_adagrad(ox_ctx *c, const onx_node *n) {
    int64_t k, t;
    double r;
    px_status st = opt_setup(c, n, 3, &k, &r, &t);
    if (st) return st;
    double decay = ox_attr_f(n, "decay_factor", 0), eps = ox_attr_f(n, "epsilon", 1e-6), norm = ox_attr_f(n, "norm_coefficient", 0);
    double rr = r / (1 + (double)t * decay);
    for (int64_t i = 0; i < k; i++) {
        px_value x = ox_in_ir(c, n, 2 + (int)i), g = ox_in_ir(c, n, 2 + (int)(k + i)), h = ox_in_ir(c, n, 2 + (int)(2 * k + i));
        px_value gr = ox_binary(c, PX_OP_ADD, ox_scale(c, x, norm, 0), g);
        px_value hn = ox_binary(c, PX_OP_ADD, h, ox_binary(c, PX_OP_MUL, gr, gr));
        px_value hs = ox_scale(c, ox_unary(c, PX_OP_SQRT, hn), 1, eps);
        px_value xn = ox_binary(c, PX_OP_SUB, x, ox_scale(c, ox_binary(c, PX_OP_DIV, gr, hs), rr, 0));
        if ((st = ox_out_ir(c, n, (int)i, xn)) || (st = ox_out_ir(c, n, (int)(k + i), hn))) return st;
    }
    return PX_OK;
}

static px_status imp_momentum(ox_ctx *c, const onx_node *n) {
    int64_t k, t;
    double r;
    px_status st = opt_setup(c, n, 3, &k, &r, &t);
    if (st) return st;
    double alpha = ox_attr_f(n, "alpha", 0), beta = ox_attr_f(n, "beta", 0), norm = ox_attr_f(n, "norm_coefficient", 0);
    int nesterov = !strcmp(ox_attr_s(c, n, "mode", "standard"), "nesterov");
    double b = t > 0 ? beta : 1;
    for (int64_t i = 0; i < k; i++) {
        px_value x = ox_in_ir(c, n, 2 + (int)i), g = ox_in_ir(c, n, 2 + (int)(k + i)), v = ox_in_ir(c, n, 2 + (int)(2 * k + i));
        px_value gr = ox_binary(c, PX_OP_ADD, ox_scale(c, x, norm, 0), g);
        px_value vn = ox_binary(c, PX_OP_ADD, ox_scale(c, v, alpha, 0), ox_scale(c, gr, b, 0));
        px_value step = nesterov ? ox_binary(c, PX_OP_ADD, gr, ox_scale(c, vn, alpha, 0)) : vn;
        px_value xn = ox_binary(c, PX_OP_SUB, x, ox_scale(c, step, r, 0));
        if ((st = ox_out_ir(c, n, (int)i, xn)) || (st = ox_out_ir(c, n, (int)(k + i), vn))) return st;
    }
    return PX_OK;
}

static px_status imp_adam(ox_ctx *c, const onx_node *n) {
    int64_t k, t;
    double r;
    px_status st = opt_setup(c, n, 4, &k, &r, &t);
    if (st) return st;
    double alpha = ox_attr_f(n, "alpha", 0.9), beta = ox_attr_f(n, "beta", 0.999), eps = ox_attr_f(n, "epsilon", 1e-6);
    double norm = ox_attr_f(n, "norm_coefficient", 0), post = ox_attr_f(n, "norm_coefficient_post", 0);
    double ra = t > 0 ? r * sqrt(1 - pow(beta, (double)t)) / (1 - pow(alpha, (double)t)) : r;
    for (int64_t i = 0; i < k; i++) {
        px_value x = ox_in_ir(c, n, 2 + (int)i), g = ox_in_ir(c, n, 2 + (int)(k + i));
        px_value v = ox_in_ir(c, n, 2 + (int)(2 * k + i)), h = ox_in_ir(c, n, 2 + (int)(3 * k + i));
        px_value gr = ox_binary(c, PX_OP_ADD, ox_scale(c, x, norm, 0), g);
        px_value vn = ox_binary(c, PX_OP_ADD, ox_scale(c, v, alpha, 0), ox_scale(c, gr, 1 - alpha, 0));
        px_value hn = ox_binary(c, PX_OP_ADD, ox_scale(c, h, beta, 0), ox_scale(c, ox_binary(c, PX_OP_MUL, gr, gr), 1 - beta, 0));
        px_value hs = ox_scale(c, ox_unary(c, PX_OP_SQRT, hn), 1, eps);
        px_value xn = ox_binary(c, PX_OP_SUB, x, ox_scale(c, ox_binary(c, PX_OP_DIV, vn, hs), ra, 0));
        xn = ox_scale(c, xn, 1 - post, 0);
        if ((st = ox_out_ir(c, n, (int)i, xn)) || (st = ox_out_ir(c, n, (int)(k + i), vn)) ||
            (st = ox_out_ir(c, n, (int)(2 * k + i), hn)))
            return st;
    }
    return PX_OK;
}

const ox_op ox_ops_misc[] = {
    {"EyeLike", imp_eye_like}, {"HannWindow", imp_window}, {"HammingWindow", imp_window},
    {"BlackmanWindow", imp_window}, {"CumProd", imp_cumprod}, {"ReverseSequence", imp_reverse_sequence},
    {"ai.onnx.preview.training.Adagrad", imp_adagrad}, {"ai.onnx.preview.training.Momentum", imp_momentum},
    {"ai.onnx.preview.training.Adam", imp_adam},
    {NULL, NULL},
};
