/* CPU plugin — elementwise kernels: binary ops with broadcasting (ADD..MAX)
 * and unary ops (NEG..SILU, SCALE).
 *
 * Each tile of up to CPU_TILE elements is loaded into stack buffers of its
 * compute type (float for F32/F16/BF16, double for F64, 64-bit integers),
 * computed with one loop per op, and stored once. */
#include <math.h>
#include <string.h>

#include "cpu_common.h"

/* ---- integer helpers (wrap-around arithmetic without signed overflow) ---- */

static inline int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

static int64_t sdiv(int64_t a, int64_t b) {
    if (b == 0) return 0;
    if (b == -1) return wrap_sub(0, a); /* INT64_MIN / -1 wraps */
    return a / b;                        /* C truncates toward zero */
}
static int64_t udiv(int64_t a, int64_t b) { return b == 0 ? 0 : (int64_t)((uint64_t)a / (uint64_t)b); }

/* a^b by squaring, wrapping. Negative exponents (signed types only):
 * the real result truncated toward zero: 1 for a = 1, +-1 for a = -1,
 * else 0 (a = 0 gives 0 too: division by zero on integers gives 0). */
static int64_t ipow(int64_t a, int64_t b, int is_unsigned) {
    if (!is_unsigned && b < 0) {
        if (a == 1) return 1;
        if (a == -1) return (b & 1) ? -1 : 1;
        return 0;
    }
    uint64_t r = 1, x = (uint64_t)a, e = (uint64_t)b;
    while (e) {
        if (e & 1) r *= x;
        x *= x;
        e >>= 1;
    }
    return (int64_t)r;
}

/* ---- binary ------------------------------------------------------------------- */

int cpu_binary_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 2 || n->n_outputs < 1 || !cpu_in(n, 0) || !cpu_in(n, 1)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    if (cpu_in_dt(n, 1) != t || n->outputs[0].dtype != t) return 0;
    return cpu_is_float(t) || cpu_is_int(t);
}

typedef struct bin_ctx {
    px_op op;
    px_dtype dt;
    int cls;
    const cpu_iter *it;
    const void *a, *b;
    void *o;
} bin_ctx;

#define BIN_FLOAT_OPS(T, POW)                                                                \
    switch (op) {                                                                            \
    case PX_OP_ADD: for (int64_t i = 0; i < n; i++) r[i] = x[i] + y[i]; break;               \
    case PX_OP_SUB: for (int64_t i = 0; i < n; i++) r[i] = x[i] - y[i]; break;               \
    case PX_OP_MUL: for (int64_t i = 0; i < n; i++) r[i] = x[i] * y[i]; break;               \
    case PX_OP_DIV: for (int64_t i = 0; i < n; i++) r[i] = x[i] / y[i]; break;               \
    case PX_OP_POW: for (int64_t i = 0; i < n; i++) r[i] = POW(x[i], y[i]); break;           \
    case PX_OP_MIN: for (int64_t i = 0; i < n; i++) r[i] = x[i] < y[i] ? x[i] : y[i]; break; \
    case PX_OP_MAX: for (int64_t i = 0; i < n; i++) r[i] = x[i] > y[i] ? x[i] : y[i]; break; \
    default: memset(r, 0, (size_t)n * sizeof(T)); break;                                     \
    }

static void bin_tile(void *vctx, const int64_t *off, int64_t n) {
    const bin_ctx *c = vctx;
    const cpu_iter *it = c->it;
    int32_t l = it->rank - 1;
    px_op op = c->op;
    if (c->cls == CPU_CLS_F32) {
        float x[CPU_TILE], y[CPU_TILE], r[CPU_TILE];
        cpu_load_f32(c->dt, c->a, off[0], it->st[0][l], n, x);
        cpu_load_f32(c->dt, c->b, off[1], it->st[1][l], n, y);
        BIN_FLOAT_OPS(float, powf)
        cpu_store_f32(c->dt, c->o, off[2], 1, n, r);
    } else if (c->cls == CPU_CLS_F64) {
        double x[CPU_TILE], y[CPU_TILE], r[CPU_TILE];
        cpu_load_f64(c->dt, c->a, off[0], it->st[0][l], n, x);
        cpu_load_f64(c->dt, c->b, off[1], it->st[1][l], n, y);
        BIN_FLOAT_OPS(double, pow)
        cpu_store_f64(c->dt, c->o, off[2], 1, n, r);
    } else {
        int64_t x[CPU_TILE], y[CPU_TILE], r[CPU_TILE];
        int u = c->cls == CPU_CLS_UINT;
        cpu_load_i64(c->dt, c->a, off[0], it->st[0][l], n, x);
        cpu_load_i64(c->dt, c->b, off[1], it->st[1][l], n, y);
        switch (op) {
        case PX_OP_ADD: for (int64_t i = 0; i < n; i++) r[i] = wrap_add(x[i], y[i]); break;
        case PX_OP_SUB: for (int64_t i = 0; i < n; i++) r[i] = wrap_sub(x[i], y[i]); break;
        case PX_OP_MUL: for (int64_t i = 0; i < n; i++) r[i] = wrap_mul(x[i], y[i]); break;
        case PX_OP_DIV:
            for (int64_t i = 0; i < n; i++) r[i] = u ? udiv(x[i], y[i]) : sdiv(x[i], y[i]);
            break;
        case PX_OP_POW: for (int64_t i = 0; i < n; i++) r[i] = ipow(x[i], y[i], u); break;
        case PX_OP_MIN:
            for (int64_t i = 0; i < n; i++)
                r[i] = (u ? (uint64_t)x[i] < (uint64_t)y[i] : x[i] < y[i]) ? x[i] : y[i];
            break;
        case PX_OP_MAX:
            for (int64_t i = 0; i < n; i++)
                r[i] = (u ? (uint64_t)x[i] > (uint64_t)y[i] : x[i] > y[i]) ? x[i] : y[i];
            break;
        default: memset(r, 0, (size_t)n * sizeof *r); break;
        }
        cpu_store_i64(c->dt, c->o, off[2], 1, n, r);
    }
}

px_status cpu_binary_run(const px_kernel_args *a) {
    const px_tensor *A = &a->inputs[0], *B = &a->inputs[1], *O = &a->outputs[0];
    if (cpu_numel(O) == 0) return PX_OK;
    cpu_iter it;
    int32_t ranks[3] = {A->rank, B->rank, O->rank};
    const int64_t *nes[3] = {A->ne, B->ne, O->ne};
    if (cpu_iter_init(&it, O->rank, O->ne, 3, ranks, nes))
        return a->host->set_error(PX_ERR_SHAPE, "binary op: input shapes do not broadcast to the output's");
    bin_ctx c = {a->node->op, A->dtype, cpu_class(A->dtype), &it, A->data, B->data, O->data};
    cpu_iter_run(a->host, &it, bin_tile, &c);
    return PX_OK;
}

/* ---- unary -------------------------------------------------------------------- */

int cpu_unary_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 1 || n->n_outputs < 1 || !cpu_in(n, 0)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    if (n->outputs[0].dtype != t) return 0;
    if (cpu_is_float(t)) return 1;
    return (n->op == PX_OP_NEG || n->op == PX_OP_ABS) && cpu_is_sint(t);
}

typedef struct un_ctx {
    px_op op;
    px_dtype dt;
    int cls;
    int approx;
    double scale, bias;
    const void *x;
    void *o;
} un_ctx;

/* The loops of every unary op for compute type T with its libm functions. */
#define UN_OPS(T, FABS, EXP, LOG, SQRT, SIN, COS, TANH, ERF)                                      \
    switch (c->op) {                                                                              \
    case PX_OP_NEG: for (int64_t i = 0; i < n; i++) r[i] = -x[i]; break;                          \
    case PX_OP_ABS: for (int64_t i = 0; i < n; i++) r[i] = FABS(x[i]); break;                     \
    case PX_OP_EXP: for (int64_t i = 0; i < n; i++) r[i] = EXP(x[i]); break;                      \
    case PX_OP_LOG: for (int64_t i = 0; i < n; i++) r[i] = LOG(x[i]); break;                      \
    case PX_OP_SQRT: for (int64_t i = 0; i < n; i++) r[i] = SQRT(x[i]); break;                    \
    case PX_OP_RSQRT: for (int64_t i = 0; i < n; i++) r[i] = (T)1 / SQRT(x[i]); break;            \
    case PX_OP_SIN: for (int64_t i = 0; i < n; i++) r[i] = SIN(x[i]); break;                      \
    case PX_OP_COS: for (int64_t i = 0; i < n; i++) r[i] = COS(x[i]); break;                      \
    case PX_OP_TANH: for (int64_t i = 0; i < n; i++) r[i] = TANH(x[i]); break;                    \
    case PX_OP_ERF: for (int64_t i = 0; i < n; i++) r[i] = ERF(x[i]); break;                      \
    case PX_OP_SIGMOID: for (int64_t i = 0; i < n; i++) r[i] = (T)1 / ((T)1 + EXP(-x[i])); break; \
    case PX_OP_RELU: for (int64_t i = 0; i < n; i++) r[i] = x[i] > 0 ? x[i] : (T)0; break;        \
    case PX_OP_SILU: for (int64_t i = 0; i < n; i++) r[i] = x[i] / ((T)1 + EXP(-x[i])); break;    \
    case PX_OP_GELU:                                                                              \
        if (c->approx) {                                                                          \
            const T k0 = (T)0.79788456080286535588, k1 = (T)0.044715;                             \
            for (int64_t i = 0; i < n; i++)                                                       \
                r[i] = (T)0.5 * x[i] * ((T)1 + TANH(k0 * (x[i] + k1 * x[i] * x[i] * x[i])));      \
        } else {                                                                                  \
            const T rs2 = (T)0.70710678118654752440;                                              \
            for (int64_t i = 0; i < n; i++) r[i] = (T)0.5 * x[i] * ((T)1 + ERF(x[i] * rs2));      \
        }                                                                                         \
        break;                                                                                    \
    case PX_OP_SCALE: {                                                                           \
        /* in double: one rounding even for F32 (the attrs are doubles) */                        \
        for (int64_t i = 0; i < n; i++) r[i] = (T)((double)x[i] * c->scale + c->bias);            \
        break;                                                                                    \
    }                                                                                             \
    default: memset(r, 0, (size_t)n * sizeof(T)); break;                                          \
    }

typedef struct un_job {
    const un_ctx *c;
    int64_t numel;
} un_job;

static void un_tile(const un_ctx *c, int64_t i0, int64_t n) {
    if (c->cls == CPU_CLS_F32) {
        float x[CPU_TILE], r[CPU_TILE];
        cpu_load_f32(c->dt, c->x, i0, 1, n, x);
        UN_OPS(float, fabsf, expf, logf, sqrtf, sinf, cosf, tanhf, erff)
        cpu_store_f32(c->dt, c->o, i0, 1, n, r);
    } else if (c->cls == CPU_CLS_F64) {
        double x[CPU_TILE], r[CPU_TILE];
        cpu_load_f64(c->dt, c->x, i0, 1, n, x);
        UN_OPS(double, fabs, exp, log, sqrt, sin, cos, tanh, erf)
        cpu_store_f64(c->dt, c->o, i0, 1, n, r);
    } else {
        int64_t x[CPU_TILE], r[CPU_TILE];
        cpu_load_i64(c->dt, c->x, i0, 1, n, x);
        if (c->op == PX_OP_NEG)
            for (int64_t i = 0; i < n; i++) r[i] = wrap_sub(0, x[i]);
        else
            for (int64_t i = 0; i < n; i++) r[i] = x[i] < 0 ? wrap_sub(0, x[i]) : x[i];
        cpu_store_i64(c->dt, c->o, i0, 1, n, r);
    }
}

static void un_job_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const un_job *j = vctx;
    for (int64_t t = b; t < e; t++) {
        int64_t i0 = t * CPU_TILE, n = j->numel - i0 < CPU_TILE ? j->numel - i0 : CPU_TILE;
        un_tile(j->c, i0, n);
    }
}

px_status cpu_unary_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    int64_t numel = cpu_numel(O);
    if (numel == 0) return PX_OK;
    const px_node_desc *nd = a->node;
    un_ctx c = {nd->op, X->dtype, cpu_class(X->dtype), cpu_attr_i(nd, "approximate", 0) != 0,
                cpu_attr_f(nd, "scale", 1.0), cpu_attr_f(nd, "bias", 0.0), X->data, O->data};
    un_job j = {&c, numel};
    a->host->parallel_for((numel + CPU_TILE - 1) / CPU_TILE, cpu_grain(CPU_TILE, 32768), un_job_range, &j);
    return PX_OK;
}
