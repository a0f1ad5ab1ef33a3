/* CPU plugin — REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX, REDUCE_MIN over any set
 * of axes (attr axes, default all; keepdims does not change the memory
 * layout of the output).
 *
 * The input's dims are split into kept dims (one output element per index)
 * and reduced dims; each list is collapsed where dims are contiguous. Each
 * output element walks its reduced elements with an odometer, loading the
 * innermost reduced dim in tiles. Floats accumulate in double (MAX/MIN
 * propagate NaN); integers in 64 bits (SUM wraps on store).
 * Empty reductions: SUM 0, MEAN NaN, MAX -inf / the type's minimum,
 * MIN +inf / the type's maximum. */
#include <math.h>
#include <string.h>

#include "cpu_common.h"

int cpu_reduce_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 1 || n->n_outputs < 1 || !cpu_in(n, 0)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    if (n->outputs[0].dtype != t) return 0;
    if (!cpu_is_float(t) && !(n->op != PX_OP_REDUCE_MEAN && cpu_is_int(t))) return 0;
    const int64_t *axes;
    int32_t na = cpu_attr_ints(n, "axes", &axes);
    if (na == -2) return 0;
    int seen[PX_MAX_DIMS] = {0};
    for (int32_t i = 0; i < na; i++) {
        int32_t ax = cpu_axis(axes[i], n->inputs[0].rank);
        if (ax < 0 || seen[ax]) return 0;
        seen[ax] = 1;
    }
    return 1;
}

typedef struct dimlist {
    int32_t n;
    int64_t ne[PX_MAX_DIMS], st[PX_MAX_DIMS];
} dimlist;

static void dimlist_push(dimlist *l, int64_t ne, int64_t st) {
    if (ne == 1) return;
    if (l->n > 0 && l->st[l->n - 1] == st * ne) {
        l->ne[l->n - 1] *= ne;
        l->st[l->n - 1] = st;
        return;
    }
    l->ne[l->n] = ne;
    l->st[l->n] = st;
    l->n++;
}

typedef struct red_ctx {
    px_op op;
    px_dtype dt;
    int cls;
    const void *x;
    void *o;
    dimlist keep, red;
    int64_t n_red, n_out;
} red_ctx;

/* Identity (the empty result) of MAX and MIN for integer dtypes. */
static int64_t int_lowest(px_dtype t) {
    switch (t) {
    case PX_I8: return INT8_MIN;
    case PX_I16: return INT16_MIN;
    case PX_I32: return INT32_MIN;
    case PX_I64: return INT64_MIN;
    default: return 0;
    }
}
static int64_t int_highest(px_dtype t) {
    switch (t) {
    case PX_I8: return INT8_MAX;
    case PX_I16: return INT16_MAX;
    case PX_I32: return INT32_MAX;
    case PX_I64: return INT64_MAX;
    default: return -1; /* all ones: the maximum of every unsigned width */
    }
}

/* Reduce the elements of one output, starting at element offset base. */
static double reduce_float(const red_ctx *c, int64_t base) {
    const dimlist *r = &c->red;
    double acc = c->op == PX_OP_REDUCE_MAX ? -INFINITY : c->op == PX_OP_REDUCE_MIN ? INFINITY : 0.0;
    if (c->n_red == 0) return c->op == PX_OP_REDUCE_MEAN ? NAN : acc;
    int32_t l = r->n - 1;
    int64_t inner = l >= 0 ? r->ne[l] : 1, ist = l >= 0 ? r->st[l] : 0;
    int64_t idx[PX_MAX_DIMS] = {0}, off = base;
    double buf[CPU_TILE];
    for (;;) {
        for (int64_t i0 = 0; i0 < inner; i0 += CPU_TILE) {
            int64_t m = inner - i0 < CPU_TILE ? inner - i0 : CPU_TILE;
            cpu_load_f64(c->dt, c->x, off + i0 * ist, ist, m, buf);
            switch (c->op) {
            case PX_OP_REDUCE_MAX:
                for (int64_t k = 0; k < m; k++)
                    if (buf[k] > acc || isnan(buf[k])) acc = isnan(acc) ? acc : buf[k];
                break;
            case PX_OP_REDUCE_MIN:
                for (int64_t k = 0; k < m; k++)
                    if (buf[k] < acc || isnan(buf[k])) acc = isnan(acc) ? acc : buf[k];
                break;
            default:
                for (int64_t k = 0; k < m; k++) acc += buf[k];
                break;
            }
        }
        /* odometer over the outer reduced dims */
        int32_t d = l - 1;
        for (; d >= 0; d--) {
            off += r->st[d];
            if (++idx[d] < r->ne[d]) break;
            off -= r->st[d] * r->ne[d];
            idx[d] = 0;
        }
        if (d < 0) break;
    }
    if (c->op == PX_OP_REDUCE_MEAN) acc /= (double)c->n_red;
    return acc;
}

static int64_t reduce_int(const red_ctx *c, int64_t base) {
    const dimlist *r = &c->red;
    int u = c->cls == CPU_CLS_UINT;
    int64_t acc = c->op == PX_OP_REDUCE_MAX ? int_lowest(c->dt) : c->op == PX_OP_REDUCE_MIN ? int_highest(c->dt) : 0;
    if (c->n_red == 0) return acc;
    int32_t l = r->n - 1;
    int64_t inner = l >= 0 ? r->ne[l] : 1, ist = l >= 0 ? r->st[l] : 0;
    int64_t idx[PX_MAX_DIMS] = {0}, off = base;
    int64_t buf[CPU_TILE];
    for (;;) {
        for (int64_t i0 = 0; i0 < inner; i0 += CPU_TILE) {
            int64_t m = inner - i0 < CPU_TILE ? inner - i0 : CPU_TILE;
            cpu_load_i64(c->dt, c->x, off + i0 * ist, ist, m, buf);
            switch (c->op) {
            case PX_OP_REDUCE_MAX:
                for (int64_t k = 0; k < m; k++)
                    if (u ? (uint64_t)buf[k] > (uint64_t)acc : buf[k] > acc) acc = buf[k];
                break;
            case PX_OP_REDUCE_MIN:
                for (int64_t k = 0; k < m; k++)
                    if (u ? (uint64_t)buf[k] < (uint64_t)acc : buf[k] < acc) acc = buf[k];
                break;
            default:
                for (int64_t k = 0; k < m; k++) acc = (int64_t)((uint64_t)acc + (uint64_t)buf[k]);
                break;
            }
        }
        int32_t d = l - 1;
        for (; d >= 0; d--) {
            off += r->st[d];
            if (++idx[d] < r->ne[d]) break;
            off -= r->st[d] * r->ne[d];
            idx[d] = 0;
        }
        if (d < 0) break;
    }
    return acc;
}

static void red_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const red_ctx *c = vctx;
    const dimlist *k = &c->keep;
    double fv[CPU_TILE];
    int64_t iv[CPU_TILE];
    for (int64_t o0 = b; o0 < e; o0 += CPU_TILE) {
        int64_t m = e - o0 < CPU_TILE ? e - o0 : CPU_TILE;
        for (int64_t j = 0; j < m; j++) {
            int64_t o = o0 + j, base = 0;
            for (int32_t d = k->n - 1; d >= 0 && o > 0; d--) {
                int64_t q = o / k->ne[d];
                base += (o - q * k->ne[d]) * k->st[d];
                o = q;
            }
            if (c->cls == CPU_CLS_F32 || c->cls == CPU_CLS_F64) fv[j] = reduce_float(c, base);
            else iv[j] = reduce_int(c, base);
        }
        if (c->cls == CPU_CLS_F32 || c->cls == CPU_CLS_F64) cpu_store_f64(c->dt, c->o, o0, 1, m, fv);
        else cpu_store_i64(c->dt, c->o, o0, 1, m, iv);
    }
}

px_status cpu_reduce_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    const int64_t *axes = NULL;
    int32_t na = cpu_attr_ints(a->node, "axes", &axes);
    int red[PX_MAX_DIMS] = {0};
    if (na == -2) return a->host->set_error(PX_ERR_INVALID_ARG, "reduce: attribute axes must be a list of ints");
    if (na < 0) {
        for (int32_t i = 0; i < X->rank; i++) red[i] = 1;
    } else {
        for (int32_t i = 0; i < na; i++) {
            int32_t ax = cpu_axis(axes[i], X->rank);
            if (ax < 0) return a->host->set_error(PX_ERR_INVALID_ARG, "reduce: axis %lld out of range", (long long)axes[i]);
            red[ax] = 1;
        }
    }
    red_ctx c;
    memset(&c, 0, sizeof c);
    c.op = a->node->op;
    c.dt = X->dtype;
    c.cls = cpu_class(X->dtype);
    c.x = X->data;
    c.o = O->data;
    int64_t st = 1, xst[PX_MAX_DIMS];
    for (int32_t i = X->rank - 1; i >= 0; i--) {
        xst[i] = st;
        st *= X->ne[i];
    }
    c.n_red = c.n_out = 1;
    for (int32_t i = 0; i < X->rank; i++) {
        if (red[i]) {
            dimlist_push(&c.red, X->ne[i], xst[i]);
            c.n_red *= X->ne[i];
        } else {
            dimlist_push(&c.keep, X->ne[i], xst[i]);
            c.n_out *= X->ne[i];
        }
    }
    if (c.n_out != cpu_numel(O)) return a->host->set_error(PX_ERR_SHAPE, "reduce: output has the wrong element count");
    if (c.n_out == 0) return PX_OK;
    if (c.n_red == 0) c.red.n = 0; /* nothing to walk */
    a->host->parallel_for(c.n_out, cpu_grain(c.n_red, 1 << 15), red_range, &c);
    return PX_OK;
}
