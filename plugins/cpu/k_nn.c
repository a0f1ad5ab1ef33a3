/* CPU plugin — SOFTMAX, LOG_SOFTMAX, RMS_NORM, LAYER_NORM, ROPE, SWIGLU.
 *
 * Row ops load a row into a per-thread double buffer (scratch), compute in
 * double and round once on store. RoPE computes angles and rotations in
 * double. SWIGLU computes in float (double for F64). */
#include <math.h>
#include <string.h>

#include "cpu_common.h"
#include "cpu_simd_x86.h"

static int same_float_out(const px_node_desc *n) {
    return n->n_outputs >= 1 && cpu_in(n, 0) && cpu_is_float(cpu_in_dt(n, 0)) && n->outputs[0].dtype == cpu_in_dt(n, 0);
}

/* Strides of a tensor (rank r, dims ne) broadcast against a shape of rank
 * xr: 0 on broadcast dims. Returns 0 if it does not broadcast. */
static int bcast_strides(int32_t r, const int64_t *ne, int32_t xr, const int64_t *xne, int64_t *st) {
    if (r > xr) return 0;
    int64_t s = 1;
    for (int32_t i = xr - 1; i >= 0; i--) {
        int32_t j = i - (xr - r);
        int64_t d = j >= 0 ? ne[j] : 1;
        if (d != 1 && d != xne[i]) return 0;
        st[i] = d == 1 ? 0 : s;
        s *= d;
    }
    return 1;
}

void cpu_nn_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                 size_t *shared, size_t *per_thread) {
    (void)n_in;
    (void)out;
    int64_t D = in[0].rank >= 1 ? in[0].ne[in[0].rank - 1] : 1;
    *per_thread = (size_t)D * sizeof(double);
    *shared = node->op == PX_OP_SOFTMAX ? 0 : 2 * (size_t)D * sizeof(double);
}

void cpu_axis_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                   size_t *shared, size_t *per_thread) {
    (void)n_in;
    (void)out;
    int64_t def = node->op == PX_OP_LOG_SOFTMAX ? -1 : 0;
    int32_t ax = cpu_axis(px_attr_int(node->attrs, node->n_attrs, "axis", def), in[0].rank);
    int64_t dim = ax >= 0 ? in[0].ne[ax] : 1;
    *shared = 0;
    *per_thread = (size_t)dim * sizeof(double); /* doubles or int64 */
}

/* ---- softmax ------------------------------------------------------------------ */

int cpu_softmax_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs < 1 || n->n_inputs > 2 || !same_float_out(n) || n->inputs[0].rank < 1) return 0;
    if (cpu_in(n, 1)) {
        int64_t st[PX_MAX_DIMS];
        const px_value_desc *m = &n->inputs[1], *x = &n->inputs[0];
        if (!cpu_is_float(m->dtype) || !bcast_strides(m->rank, m->ne, x->rank, x->ne, st)) return 0;
    }
    return 1;
}

typedef struct sm_ctx {
    const px_tensor *X, *M, *O;
    double scale;
    int64_t n;
    int64_t mst[PX_MAX_DIMS];
    const cpu_scratch *s;
} sm_ctx;

static void sm_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const sm_ctx *c = vctx;
    double *z = cpu_scratch_thread(c->s, thread), mbuf[CPU_TILE];
    const int32_t r = c->X->rank;
    const int64_t n = c->n;
    for (int64_t row = b; row < e; row++) {
        cpu_load_f64(c->X->dtype, c->X->data, row * n, 1, n, z);
        double mx = -INFINITY;
        if (c->M) {
            int64_t moff = 0, q = row;
            for (int32_t i = r - 2; i >= 0; i--) {
                int64_t t = q / c->X->ne[i];
                moff += (q - t * c->X->ne[i]) * c->mst[i];
                q = t;
            }
            for (int64_t i0 = 0; i0 < n; i0 += CPU_TILE) {
                int64_t m = n - i0 < CPU_TILE ? n - i0 : CPU_TILE;
                cpu_load_f64(c->M->dtype, c->M->data, moff + i0 * c->mst[r - 1], c->mst[r - 1], m, mbuf);
                for (int64_t k = 0; k < m; k++) z[i0 + k] = z[i0 + k] * c->scale + mbuf[k];
            }
        } else {
            for (int64_t k = 0; k < n; k++) z[k] *= c->scale;
        }
        for (int64_t k = 0; k < n; k++) mx = z[k] > mx ? z[k] : mx;
        if (mx == -INFINITY) { /* every input -inf: zeros */
            for (int64_t k = 0; k < n; k++) z[k] = 0;
        } else {
            double sum = 0;
            for (int64_t k = 0; k < n; k++) {
                z[k] = exp(z[k] - mx);
                sum += z[k];
            }
            double inv = 1.0 / sum;
            for (int64_t k = 0; k < n; k++) z[k] *= inv;
        }
        cpu_store_f64(c->O->dtype, c->O->data, row * n, 1, n, z);
    }
}

px_status cpu_softmax_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    sm_ctx c;
    memset(&c, 0, sizeof c);
    c.X = X;
    c.O = O;
    c.scale = px_attr_float(a->node->attrs, a->node->n_attrs, "scale", 1.0);
    if (X->rank < 1) return a->host->set_error(PX_ERR_SHAPE, "softmax: x needs rank >= 1");
    c.n = X->ne[X->rank - 1];
    if (cpu_arg_in(a, 1)) {
        c.M = &a->inputs[1];
        if (!bcast_strides(c.M->rank, c.M->ne, X->rank, X->ne, c.mst))
            return a->host->set_error(PX_ERR_SHAPE, "softmax: mask does not broadcast to x");
    }
    int64_t numel = cpu_numel(X);
    if (numel == 0) return PX_OK;
    cpu_scratch s;
    px_status st = cpu_scratch_begin(a, cpu_nn_need, &s);
    if (st) return st;
    c.s = &s;
    a->host->parallel_for(numel / c.n, cpu_grain(c.n, 1 << 14), sm_range, &c);
    cpu_scratch_end(a, &s);
    return PX_OK;
}

/* ---- log_softmax ------------------------------------------------------------------ */

int cpu_log_softmax_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    return n->n_inputs == 1 && same_float_out(n) && cpu_axis(cpu_attr_i(n, "axis", -1), n->inputs[0].rank) >= 0;
}

typedef struct lsm_ctx {
    const px_tensor *X, *O;
    int64_t dim, inner;
    const cpu_scratch *s;
} lsm_ctx;

static void lsm_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const lsm_ctx *c = vctx;
    double *z = cpu_scratch_thread(c->s, thread);
    for (int64_t item = b; item < e; item++) {
        int64_t o = item / c->inner, i = item - o * c->inner, base = o * c->dim * c->inner + i;
        cpu_load_f64(c->X->dtype, c->X->data, base, c->inner, c->dim, z);
        double mx = -INFINITY, sum = 0;
        for (int64_t k = 0; k < c->dim; k++) mx = z[k] > mx ? z[k] : mx;
        for (int64_t k = 0; k < c->dim; k++) sum += exp(z[k] - mx);
        double ls = log(sum);
        for (int64_t k = 0; k < c->dim; k++) z[k] = z[k] - mx - ls;
        cpu_store_f64(c->O->dtype, c->O->data, base, c->inner, c->dim, z);
    }
}

px_status cpu_log_softmax_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    int32_t ax = cpu_axis(px_attr_int(a->node->attrs, a->node->n_attrs, "axis", -1), X->rank);
    if (ax < 0) return a->host->set_error(PX_ERR_INVALID_ARG, "log_softmax: axis out of range for rank %d", X->rank);
    if (cpu_numel(X) == 0) return PX_OK;
    lsm_ctx c = {X, O, X->ne[ax], cpu_prod(X->ne, ax + 1, X->rank), NULL};
    cpu_scratch s;
    px_status st = cpu_scratch_begin(a, cpu_axis_need, &s);
    if (st) return st;
    c.s = &s;
    a->host->parallel_for(cpu_prod(X->ne, 0, ax) * c.inner, cpu_grain(c.dim, 1 << 14), lsm_range, &c);
    cpu_scratch_end(a, &s);
    return PX_OK;
}

/* ---- rms_norm, layer_norm ------------------------------------------------------------ */

int cpu_norm_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    int32_t hi = n->op == PX_OP_RMS_NORM ? 2 : 3;
    if (n->n_inputs < 1 || n->n_inputs > hi || !same_float_out(n) || n->inputs[0].rank < 1) return 0;
    int64_t D = n->inputs[0].ne[n->inputs[0].rank - 1];
    for (int32_t i = 1; i < n->n_inputs; i++) {
        if (!cpu_in(n, i)) continue;
        if (!cpu_is_float(cpu_in_dt(n, i)) || n->inputs[i].rank != 1 || n->inputs[i].ne[0] != D) return 0;
    }
    return 1;
}

typedef struct norm_ctx {
    const px_tensor *X, *O;
    int rms;
    double eps;
    int64_t D;
    const double *w, *b; /* NULL when absent */
    const cpu_scratch *s;
} norm_ctx;

static void norm_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const norm_ctx *c = vctx;
    double *x = cpu_scratch_thread(c->s, thread);
    const int64_t D = c->D;
    for (int64_t row = b; row < e; row++) {
        cpu_load_f64(c->X->dtype, c->X->data, row * D, 1, D, x);
        if (c->rms) {
            double sq = 0;
            for (int64_t i = 0; i < D; i++) sq += x[i] * x[i];
            double inv = 1.0 / sqrt(sq / (double)D + c->eps);
            for (int64_t i = 0; i < D; i++) x[i] = x[i] * inv * (c->w ? c->w[i] : 1.0);
        } else {
            double mean = 0, var = 0;
            for (int64_t i = 0; i < D; i++) mean += x[i];
            mean /= (double)D;
            for (int64_t i = 0; i < D; i++) var += (x[i] - mean) * (x[i] - mean);
            double inv = 1.0 / sqrt(var / (double)D + c->eps);
            for (int64_t i = 0; i < D; i++)
                x[i] = (x[i] - mean) * inv * (c->w ? c->w[i] : 1.0) + (c->b ? c->b[i] : 0.0);
        }
        cpu_store_f64(c->O->dtype, c->O->data, row * D, 1, D, x);
    }
}

px_status cpu_norm_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    norm_ctx c;
    memset(&c, 0, sizeof c);
    c.X = X;
    c.O = O;
    c.rms = a->node->op == PX_OP_RMS_NORM;
    c.eps = px_attr_float(a->node->attrs, a->node->n_attrs, "eps", c.rms ? 1e-6 : 1e-5);
    if (X->rank < 1) return a->host->set_error(PX_ERR_SHAPE, "norm: x needs rank >= 1");
    c.D = X->ne[X->rank - 1];
    for (int32_t i = 1; i < a->n_inputs && i < 3; i++)
        if (cpu_arg_in(a, i) && cpu_numel(&a->inputs[i]) != c.D)
            return a->host->set_error(PX_ERR_SHAPE, "norm: input %d must be [D = %lld]", i, (long long)c.D);
    int64_t numel = cpu_numel(X);
    if (numel == 0) return PX_OK;
    cpu_scratch s;
    px_status st = cpu_scratch_begin(a, cpu_nn_need, &s);
    if (st) return st;
    c.s = &s;
    double *w = cpu_scratch_shared(&s);
    if (cpu_arg_in(a, 1)) {
        cpu_load_f64(a->inputs[1].dtype, a->inputs[1].data, 0, 1, c.D, w);
        c.w = w;
    }
    if (!c.rms && cpu_arg_in(a, 2)) {
        cpu_load_f64(a->inputs[2].dtype, a->inputs[2].data, 0, 1, c.D, w + c.D);
        c.b = w + c.D;
    }
    a->host->parallel_for(numel / c.D, cpu_grain(c.D, 1 << 14), norm_range, &c);
    cpu_scratch_end(a, &s);
    return PX_OK;
}

/* ---- rope ------------------------------------------------------------------------------ */

int cpu_rope_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs < 2 || n->n_inputs > 3 || !same_float_out(n) || !cpu_in(n, 1)) return 0;
    const px_value_desc *x = &n->inputs[0];
    if (x->rank != 2 && x->rank != 3) return 0;
    if (cpu_in_dt(n, 1) != PX_I32 || n->inputs[1].rank != 1) return 0;
    int64_t D = x->ne[x->rank - 1], nd = cpu_attr_i(n, "n_dims", D), mode = cpu_attr_i(n, "mode", 0);
    if (nd <= 0 || nd % 2 || nd > D || (mode != 0 && mode != 2)) return 0;
    if (cpu_in(n, 2) && (cpu_in_dt(n, 2) != PX_F32 || n->inputs[2].rank != 1 || n->inputs[2].ne[0] != nd / 2)) return 0;
    return 1;
}

#define ROPE_PAIRS 64

typedef struct rope_ctx {
    const px_tensor *X, *O;
    const int32_t *pos;
    const float *ff;
    int64_t H, D, nd, mode;
    double base, fscale;
} rope_ctx;

static void rope_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const rope_ctx *c = vctx;
    const int64_t h2 = c->nd / 2, D = c->D;
    const size_t es = cpu_elt_size(c->X->dtype);
    double cs[ROPE_PAIRS], sn[ROPE_PAIRS], x0[ROPE_PAIRS], x1[ROPE_PAIRS];
    for (int64_t t = b; t < e; t++) {
        double p = (double)c->pos[t];
        for (int64_t i0 = 0; i0 < h2; i0 += ROPE_PAIRS) {
            int64_t m = h2 - i0 < ROPE_PAIRS ? h2 - i0 : ROPE_PAIRS;
            for (int64_t k = 0; k < m; k++) {
                int64_t i = i0 + k;
                double theta = p * c->fscale * pow(c->base, -2.0 * (double)i / (double)c->nd);
                if (c->ff) theta /= (double)c->ff[i];
                cs[k] = cos(theta);
                sn[k] = sin(theta);
            }
            for (int64_t h = 0; h < c->H; h++) {
                int64_t row = (t * c->H + h) * D;
                /* element offsets of x0 and x1 of pair i0 and their stride */
                int64_t o0 = c->mode == 0 ? row + 2 * i0 : row + i0;
                int64_t o1 = c->mode == 0 ? o0 + 1 : o0 + h2;
                int64_t st = c->mode == 0 ? 2 : 1;
                cpu_load_f64(c->X->dtype, c->X->data, o0, st, m, x0);
                cpu_load_f64(c->X->dtype, c->X->data, o1, st, m, x1);
                for (int64_t k = 0; k < m; k++) {
                    double a0 = x0[k], a1 = x1[k];
                    x0[k] = a0 * cs[k] - a1 * sn[k];
                    x1[k] = a0 * sn[k] + a1 * cs[k];
                }
                cpu_store_f64(c->O->dtype, c->O->data, o0, st, m, x0);
                cpu_store_f64(c->O->dtype, c->O->data, o1, st, m, x1);
            }
        }
        if (c->nd < D) /* dims n_dims..D-1 pass through */
            for (int64_t h = 0; h < c->H; h++) {
                size_t off = (size_t)((t * c->H + h) * D + c->nd) * es;
                memcpy((uint8_t *)c->O->data + off, (const uint8_t *)c->X->data + off, (size_t)(D - c->nd) * es);
            }
    }
}

px_status cpu_rope_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *P = &a->inputs[1], *O = &a->outputs[0];
    const px_node_desc *nd = a->node;
    rope_ctx c;
    memset(&c, 0, sizeof c);
    c.X = X;
    c.O = O;
    if (X->rank != 2 && X->rank != 3) return a->host->set_error(PX_ERR_SHAPE, "rope: x must be [T, H, D] or [T, D]");
    int64_t T = X->ne[0];
    c.H = X->rank == 3 ? X->ne[1] : 1;
    c.D = X->ne[X->rank - 1];
    c.nd = px_attr_int(nd->attrs, nd->n_attrs, "n_dims", c.D);
    c.mode = px_attr_int(nd->attrs, nd->n_attrs, "mode", 0);
    c.base = px_attr_float(nd->attrs, nd->n_attrs, "freq_base", 10000.0);
    c.fscale = px_attr_float(nd->attrs, nd->n_attrs, "freq_scale", 1.0);
    if (c.nd <= 0 || c.nd % 2 || c.nd > c.D || (c.mode != 0 && c.mode != 2))
        return a->host->set_error(PX_ERR_INVALID_ARG, "rope: n_dims %lld (D %lld) or mode %lld not supported",
                                  (long long)c.nd, (long long)c.D, (long long)c.mode);
    if (cpu_numel(P) != T) return a->host->set_error(PX_ERR_SHAPE, "rope: positions must be [T]");
    if (cpu_arg_in(a, 2)) {
        if (cpu_numel(&a->inputs[2]) != c.nd / 2)
            return a->host->set_error(PX_ERR_SHAPE, "rope: freq_factors must be [n_dims/2]");
        c.ff = a->inputs[2].data;
    }
    if (cpu_numel(X) == 0) return PX_OK;
    c.pos = P->data;
    a->host->parallel_for(T, cpu_grain(c.H * c.D, 1 << 13), rope_range, &c);
    return PX_OK;
}

/* ---- swiglu ------------------------------------------------------------------------------ */

int cpu_swiglu_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 2 || !same_float_out(n) || !cpu_in(n, 1) || cpu_in_dt(n, 1) != cpu_in_dt(n, 0)) return 0;
    const px_value_desc *g = &n->inputs[0], *u = &n->inputs[1];
    if (g->rank != u->rank) return 0;
    for (int32_t i = 0; i < g->rank; i++)
        if (g->ne[i] != u->ne[i]) return 0;
    return 1;
}

typedef struct swiglu_ctx {
    px_dtype dt;
    const void *g, *u;
    void *o;
    int64_t n;
} swiglu_ctx;

#if defined(__x86_64__)
/* F32 in 16 lanes: g / (1 + e^-g) * u with cpu_exp_avx512. */
CPU_AVX512_TARGET static void swiglu_f32_avx512(const float *g, const float *u, float *o, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(k, g + i), y = _mm512_maskz_loadu_ps(k, u + i);
        __m512 e = cpu_exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        __m512 s = _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_mask_storeu_ps(o + i, k, _mm512_mul_ps(s, y));
    }
}
#endif

static void swiglu_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const swiglu_ctx *c = vctx;
#if defined(__x86_64__)
    if (c->dt == PX_F32 && cpu_isa_level() >= 2) {
        int64_t i0 = b * CPU_TILE, i1 = e * CPU_TILE < c->n ? e * CPU_TILE : c->n;
        swiglu_f32_avx512((const float *)c->g + i0, (const float *)c->u + i0, (float *)c->o + i0, i1 - i0);
        return;
    }
#endif
    for (int64_t t = b; t < e; t++) {
        int64_t i0 = t * CPU_TILE, m = c->n - i0 < CPU_TILE ? c->n - i0 : CPU_TILE;
        if (c->dt == PX_F64) {
            double g[CPU_TILE], u[CPU_TILE];
            cpu_load_f64(c->dt, c->g, i0, 1, m, g);
            cpu_load_f64(c->dt, c->u, i0, 1, m, u);
            for (int64_t k = 0; k < m; k++) g[k] = g[k] / (1.0 + exp(-g[k])) * u[k];
            cpu_store_f64(c->dt, c->o, i0, 1, m, g);
        } else {
            float g[CPU_TILE], u[CPU_TILE];
            cpu_load_f32(c->dt, c->g, i0, 1, m, g);
            cpu_load_f32(c->dt, c->u, i0, 1, m, u);
            for (int64_t k = 0; k < m; k++) g[k] = g[k] / (1.0f + expf(-g[k])) * u[k];
            cpu_store_f32(c->dt, c->o, i0, 1, m, g);
        }
    }
}

px_status cpu_swiglu_run(const px_kernel_args *a) {
    const px_tensor *G = &a->inputs[0], *U = &a->inputs[1], *O = &a->outputs[0];
    int64_t n = cpu_numel(G);
    if (n != cpu_numel(U) || n != cpu_numel(O)) return a->host->set_error(PX_ERR_SHAPE, "swiglu: shapes differ");
    if (n == 0) return PX_OK;
    swiglu_ctx c = {G->dtype, G->data, U->data, O->data, n};
    a->host->parallel_for((n + CPU_TILE - 1) / CPU_TILE, cpu_grain(CPU_TILE, 1 << 14), swiglu_range, &c);
    return PX_OK;
}
