/* CPU plugin — the vision ops appended for the ONNX importer, except the
 * convolutions (k_conv.c):
 *  - MAX_POOL, AVG_POOL, LP_POOL: one item per output row (batch, channel,
 *    D, H); each input row a window touches is loaded once (as double, or
 *    int64 for integer max pooling) and swept by every kernel column. A
 *    window that covers no element of x (possible only with pads as wide as
 *    the dilated kernel) gives the dtype's lowest value (-inf) and index -1
 *    for MAX_POOL, 0/0 for AVG_POOL without count_include_pad, 0 for LP_POOL.
 *    MAX_POOL ignores NaN unless the whole window is NaN (ONNX's reference).
 *  - PAD: negative pads crop first; the positive ones then extend what is
 *    left, by mode: constant, reflect (period 2(n-1)), edge, wrap (period n).
 *    Rows of the output are copied as bytes, so every plain dtype works.
 *  - RESIZE: per axis, a table of taps (input index, weight) for every
 *    output index, in double, from ONNX Resize's rules (the n nearest input
 *    indices, ties to the lower one, clamped to the edge); an output element
 *    is the sum over the product of its axes' taps. Axes the table leaves
 *    unchanged are skipped. A scale that is out/in rounded to float is taken
 *    as out/in exactly (the importer passes sizes as such scales).
 *    exclude_outside applies to linear and cubic. Nearest copies bytes.
 *  - LRN across channels, in double.
 * Scratch (pool rows, resize tables) is the device's: cpu_vision_prepare
 * reserves it for the node's upper-bound shapes, cpu_vision_scratch_begin
 * holds it for one run. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "cpu_common.h"

/* ---- shared: window, scratch, prepare ------------------------------------------------------- */

int cpu_win_init(const px_node_desc *node, int32_t n, const int64_t *x_sp, const int64_t *out_sp,
                 const int64_t *kernel, int neg_pads, cpu_win *w) {
    const int64_t *s = NULL, *d = NULL, *p = NULL;
    int32_t ns = cpu_attr_ints(node, "strides", &s), nd = cpu_attr_ints(node, "dilations", &d);
    int32_t np = cpu_attr_ints(node, "pads", &p);
    if (n < 1 || n > 3 || ns < -1 || nd < -1 || np < -1 || (ns >= 0 && ns != n) || (nd >= 0 && nd != n) ||
        (np >= 0 && np != 2 * n))
        return -1;
    for (int32_t j = 0; j < 3; j++) {
        int32_t i = j - (3 - n);
        w->in[j] = i < 0 ? 1 : x_sp[i];
        w->out[j] = i < 0 ? 1 : out_sp[i];
        w->k[j] = i < 0 ? 1 : kernel[i];
        w->s[j] = i < 0 || ns < 0 ? 1 : s[i];
        w->d[j] = i < 0 || nd < 0 ? 1 : d[i];
        w->pb[j] = i < 0 || np < 0 ? 0 : p[i];
        w->pe[j] = i < 0 || np < 0 ? 0 : p[n + i];
        if (w->k[j] < 1 || w->s[j] < 1 || w->d[j] < 1 || w->in[j] < 0 || w->out[j] < 0) return -1;
        if (!neg_pads && (w->pb[j] < 0 || w->pe[j] < 0)) return -1;
    }
    return 0;
}

void cpu_win_cols(int64_t b, int64_t s, int64_t lim, int64_t cap, int64_t *lo, int64_t *hi) {
    *lo = b >= 0 ? 0 : (-b + s - 1) / s;
    *hi = b > lim - 1 ? 0 : (lim - 1 - b) / s + 1;
    if (*hi > cap) *hi = cap;
    if (*lo > *hi) *lo = *hi;
}

void cpu_vision_shapes(const px_node_desc *node, const px_tensor *t_in, const px_tensor *t_out, cpu_shape *in,
                       int32_t *n_in, cpu_shape *out) {
    *n_in = node->n_inputs < CPU_MAX_SHAPES ? node->n_inputs : CPU_MAX_SHAPES;
    for (int32_t i = 0; i < *n_in + 1; i++) {
        cpu_shape *s = i < *n_in ? &in[i] : out;
        if (t_in) {
            const px_tensor *t = i < *n_in ? &t_in[i] : t_out;
            s->dtype = t->dtype;
            s->rank = t->rank;
            memcpy(s->ne, t->ne, sizeof s->ne);
        } else {
            const px_value_desc *v = i < *n_in ? &node->inputs[i] : &node->outputs[0];
            s->dtype = v->dtype;
            s->rank = v->rank;
            memcpy(s->ne, v->ne, sizeof s->ne);
        }
    }
}

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

static void pool_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                      size_t *shared, size_t *per_thread);
static void resize_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                        size_t *shared, size_t *per_thread);

static cpu_need_fn need_of(px_op op) {
    switch (op) {
    case PX_OP_CONV: case PX_OP_CONV_TRANSPOSE: return cpu_conv_need;
    case PX_OP_MAX_POOL: case PX_OP_AVG_POOL: case PX_OP_LP_POOL: return pool_need;
    case PX_OP_RESIZE: return resize_need;
    default: return NULL;
    }
}

px_status cpu_vision_prepare(void *dev, const px_node_desc *node, void **out_state) {
    *out_state = NULL;
    cpu_need_fn need = need_of(node->op);
    if (!need || node->n_outputs < 1) return PX_OK;
    cpu_shape in[CPU_MAX_SHAPES], out;
    int32_t n_in;
    cpu_vision_shapes(node, NULL, NULL, in, &n_in, &out);
    size_t shared = 0, per_thread = 0;
    need(node, in, n_in, &out, &shared, &per_thread);
    /* as cpu_prepare: the pool is not known here, size for the larger of the
     * host's thread count and the online CPUs */
    int32_t threads = cpu_host->n_threads ? cpu_host->n_threads() : 1;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online > threads && online <= 1024) threads = (int32_t)online;
    size_t bytes = round64(shared) + (size_t)(threads < 1 ? 1 : threads) * round64(per_thread);
    return bytes ? cpu_device_scratch_reserve(dev, bytes) : PX_OK;
}

px_status cpu_vision_scratch_begin(const px_kernel_args *a, cpu_need_fn need, cpu_scratch *s) {
    cpu_shape in[CPU_MAX_SHAPES], out;
    int32_t n_in;
    cpu_vision_shapes(a->node, a->inputs, a->outputs, in, &n_in, &out);
    size_t shared = 0, per_thread = 0;
    need(a->node, in, n_in, &out, &shared, &per_thread);
    memset(s, 0, sizeof *s);
    s->shared = round64(shared);
    s->per_thread = round64(per_thread);
    s->n_threads = a->host->n_threads ? a->host->n_threads() : 1;
    if (s->n_threads < 1) s->n_threads = 1;
    size_t bytes = s->shared + (size_t)s->n_threads * s->per_thread;
    if (!bytes) return PX_OK;
    void *p = NULL;
    px_status st = cpu_device_scratch_acquire(a->device, bytes, &p);
    if (st) return st;
    s->base = p;
    return PX_OK;
}

void cpu_vision_scratch_end(const px_kernel_args *a, cpu_scratch *s) {
    if (s->base) cpu_device_scratch_release(a->device);
    s->base = NULL;
}

/* ---- pooling ---------------------------------------------------------------------------------- */

typedef struct pool_ctx {
    px_op op;
    px_dtype xdt, odt;
    int is_int, cip;   /* integer max pooling; count_include_pad */
    int indices;       /* MAX_POOL's output: the flat indices */
    int64_t p;         /* LP_POOL's p */
    const uint8_t *x;
    uint8_t *o;
    int64_t C;
    cpu_win win;
    const cpu_scratch *s;
} pool_ctx;

/* The pool's window from node and shapes; -1 if they do not agree. */
static int pool_geometry(const px_node_desc *node, const cpu_shape *x, const cpu_shape *o, cpu_win *w) {
    const int64_t *k = NULL;
    int32_t n = x->rank - 2;
    if (n < 1 || n > 3 || o->rank != x->rank || o->ne[0] != x->ne[0] || o->ne[1] != x->ne[1]) return -1;
    if (cpu_attr_ints(node, "kernel", &k) != n || cpu_win_init(node, n, x->ne + 2, o->ne + 2, k, 0, w)) return -1;
    int ceil = cpu_attr_i(node, "ceil_mode", 0) != 0;
    for (int i = 0; i < 3; i++) {
        int64_t ext = (w->k[i] - 1) * w->d[i] + 1, span = w->in[i] + w->pb[i] + w->pe[i] - ext;
        if (span < 0) return -1;
        int64_t want = (span + (ceil ? w->s[i] - 1 : 0)) / w->s[i] + 1;
        if (ceil && (want - 1) * w->s[i] >= w->in[i] + w->pb[i]) want--;
        if (w->out[i] != want) return -1;
    }
    return 0;
}

int cpu_pool_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 1 || n->n_outputs != 1 || !cpu_in(n, 0)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    int idx = n->op == PX_OP_MAX_POOL && cpu_attr_i(n, "indices", 0) != 0;
    if (!cpu_is_float(t) && !(n->op == PX_OP_MAX_POOL && cpu_is_int(t))) return 0;
    if (n->outputs[0].dtype != (idx ? PX_I64 : t)) return 0;
    if (n->op == PX_OP_LP_POOL && cpu_attr_i(n, "p", 2) < 1) return 0;
    cpu_shape in[CPU_MAX_SHAPES], out;
    int32_t n_in;
    cpu_win w;
    cpu_vision_shapes(n, NULL, NULL, in, &n_in, &out);
    return pool_geometry(n, &in[0], &out, &w) == 0;
}

static void pool_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                      size_t *shared, size_t *per_thread) {
    cpu_win w;
    *shared = *per_thread = 0;
    if (n_in >= 1 && pool_geometry(node, &in[0], out, &w) == 0)
        *per_thread = 8 * (size_t)(w.in[2] + 3 * w.out[2]); /* input row; value, index, sum per column */
}

/* Taps of axis i at output index o that fall inside x (*valid) and inside
 * the padded input (*padded). */
static void axis_taps(const cpu_win *w, int i, int64_t o, int64_t *valid, int64_t *padded) {
    int64_t v = 0, p = 0;
    for (int64_t k = 0; k < w->k[i]; k++) {
        int64_t pos = o * w->s[i] - w->pb[i] + k * w->d[i];
        v += pos >= 0 && pos < w->in[i];
        p += pos >= -w->pb[i] && pos < w->in[i] + w->pe[i];
    }
    *valid = v;
    *padded = p;
}

/* Sweep one input row through every kernel column: max (value, index) or
 * sum (of x, or |x|^p) per output column. */
static void pool_sweep(const pool_ctx *c, const double *row, const int64_t *irow, int64_t base, double *val,
                       int64_t *idx, double *sum) {
    const cpu_win *w = &c->win;
    for (int64_t kw = 0; kw < w->k[2]; kw++) {
        int64_t ix0 = kw * w->d[2] - w->pb[2], sw = w->s[2], lo, hi;
        cpu_win_cols(ix0, sw, w->in[2], w->out[2], &lo, &hi);
        for (int64_t ow = lo; ow < hi; ow++) {
            int64_t ix = ow * sw + ix0;
            if (c->op == PX_OP_MAX_POOL && c->is_int) {
                int64_t *best = (int64_t *)(void *)val;
                if (idx[ow] < 0 || irow[ix] > best[ow]) best[ow] = irow[ix], idx[ow] = base + ix;
            } else if (c->op == PX_OP_MAX_POOL) {
                double v = row[ix];
                if (idx[ow] < 0 || v > val[ow] || (isnan(val[ow]) && !isnan(v))) val[ow] = v, idx[ow] = base + ix;
            } else if (c->op == PX_OP_AVG_POOL) {
                sum[ow] += row[ix];
            } else {
                double a = fabs(row[ix]);
                sum[ow] += c->p == 1 ? a : c->p == 2 ? a * a : pow(a, (double)c->p);
            }
        }
    }
}

static void pool_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const pool_ctx *c = vctx;
    const cpu_win *w = &c->win;
    const int64_t OW = w->out[2], IW = w->in[2];
    double *row = cpu_scratch_thread(c->s, thread), *val = row + IW, *sum = val + OW;
    int64_t *idx = (int64_t *)(void *)(sum + OW);
    for (int64_t item = b; item < e; item++) {
        int64_t oh = item % w->out[1], t = item / w->out[1], od = t % w->out[0], plane = t / w->out[0];
        for (int64_t ow = 0; ow < OW; ow++) idx[ow] = -1, sum[ow] = 0;
        for (int64_t kd = 0; kd < w->k[0]; kd++) {
            int64_t id = od * w->s[0] - w->pb[0] + kd * w->d[0];
            if (id < 0 || id >= w->in[0]) continue;
            for (int64_t kh = 0; kh < w->k[1]; kh++) {
                int64_t ih = oh * w->s[1] - w->pb[1] + kh * w->d[1];
                if (ih < 0 || ih >= w->in[1]) continue;
                int64_t base = ((plane * w->in[0] + id) * w->in[1] + ih) * IW;
                if (c->is_int) cpu_load_i64(c->xdt, c->x, base, 1, IW, (int64_t *)(void *)row);
                else cpu_load_f64(c->xdt, c->x, base, 1, IW, row);
                pool_sweep(c, row, (const int64_t *)(const void *)row, base, val, idx, sum);
            }
        }
        int64_t vd, pd, vh, ph, vw, pw;
        axis_taps(w, 0, od, &vd, &pd);
        axis_taps(w, 1, oh, &vh, &ph);
        int64_t off = (plane * w->out[0] + od) * w->out[1] * OW + oh * OW;
        for (int64_t ow = 0; ow < OW; ow++) {
            axis_taps(w, 2, ow, &vw, &pw);
            if (c->op == PX_OP_AVG_POOL) val[ow] = sum[ow] / (double)(c->cip ? pd * ph * pw : vd * vh * vw);
            else if (c->op == PX_OP_LP_POOL) val[ow] = c->p == 1 ? sum[ow] : c->p == 2 ? sqrt(sum[ow]) : pow(sum[ow], 1.0 / (double)c->p);
            else if (idx[ow] < 0 && !c->is_int) val[ow] = -INFINITY;
        }
        if (c->indices) cpu_store_i64(PX_I64, c->o, off, 1, OW, idx);
        else if (c->is_int) cpu_store_i64(c->odt, c->o, off, 1, OW, (const int64_t *)(const void *)val);
        else cpu_store_f64(c->odt, c->o, off, 1, OW, val);
        for (int64_t ow = 0; c->is_int && !c->indices && ow < OW; ow++) { /* empty windows: the lowest value */
            static const double lowest = -INFINITY;
            if (idx[ow] < 0) cpu_store_f64(c->odt, c->o, off + ow, 1, 1, &lowest); /* saturates */
        }
    }
}

px_status cpu_pool_run(const px_kernel_args *a) {
    const px_node_desc *n = a->node;
    pool_ctx c;
    memset(&c, 0, sizeof c);
    cpu_shape in[CPU_MAX_SHAPES], out;
    int32_t n_in;
    cpu_vision_shapes(n, a->inputs, a->outputs, in, &n_in, &out);
    if (pool_geometry(n, &in[0], &out, &c.win))
        return a->host->set_error(PX_ERR_SHAPE, "%s: the shapes of x and out do not match the window",
                                  n->op == PX_OP_MAX_POOL ? "max_pool" : n->op == PX_OP_AVG_POOL ? "avg_pool" : "lp_pool");
    c.op = n->op;
    c.xdt = a->inputs[0].dtype;
    c.odt = a->outputs[0].dtype;
    c.is_int = cpu_is_int(c.xdt);
    c.indices = c.op == PX_OP_MAX_POOL && cpu_attr_i(n, "indices", 0) != 0;
    c.cip = cpu_attr_i(n, "count_include_pad", 0) != 0;
    c.p = cpu_attr_i(n, "p", 2);
    c.x = a->inputs[0].data;
    c.o = a->outputs[0].data;
    int64_t rows = out.ne[0] * out.ne[1] * c.win.out[0] * c.win.out[1];
    if (rows == 0 || c.win.out[2] == 0) return PX_OK;
    cpu_scratch s;
    px_status st = cpu_vision_scratch_begin(a, pool_need, &s);
    if (st) return st;
    c.s = &s;
    int64_t per_row = c.win.k[0] * c.win.k[1] * (c.win.in[2] + c.win.k[2] * c.win.out[2]);
    a->host->parallel_for(rows, cpu_grain(per_row, 1 << 15), pool_range, &c);
    cpu_vision_scratch_end(a, &s);
    return PX_OK;
}

/* ---- pad -------------------------------------------------------------------------------------- */

typedef struct pad_ctx {
    int32_t rank;
    int64_t mode;
    size_t es;
    uint8_t value[8];             /* the constant, in the dtype */
    int64_t in[PX_MAX_DIMS], out[PX_MAX_DIMS];
    int64_t crop[PX_MAX_DIMS];    /* elements cropped at the start of each axis */
    int64_t len[PX_MAX_DIMS];     /* elements left after cropping */
    int64_t pb[PX_MAX_DIMS];      /* positive padding at the start */
    const uint8_t *x;
    uint8_t *o;
} pad_ctx;

/* The source index along axis i of output index o, or -1 (the constant). */
static int64_t pad_src(const pad_ctx *c, int32_t i, int64_t o) {
    int64_t n = c->len[i], j = o - c->pb[i];
    if (j < 0 || j >= n) {
        switch (c->mode) {
        case 1: { /* reflect: period 2(n-1) */
            int64_t per = 2 * (n - 1);
            if (per == 0) {
                j = 0;
                break;
            }
            j %= per;
            if (j < 0) j += per;
            if (j >= n) j = per - j;
            break;
        }
        case 2: j = j < 0 ? 0 : n - 1; break;
        case 3: j %= n; if (j < 0) j += n; break;
        default: return -1;
        }
    }
    return c->crop[i] + j;
}

static void pad_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const pad_ctx *c = vctx;
    const int32_t last = c->rank - 1;
    const int64_t OL = c->out[last], IL = c->in[last];
    const size_t es = c->es;
    for (int64_t r = b; r < e; r++) {
        uint8_t *dst = c->o + (size_t)(r * OL) * es;
        int64_t src_row = 0, t = r, mul = 1;
        for (int32_t i = last - 1; i >= 0 && src_row >= 0; i--) {
            int64_t s = pad_src(c, i, t % c->out[i]);
            src_row = s < 0 ? -1 : src_row + s * mul;
            t /= c->out[i];
            mul *= c->in[i];
        }
        if (src_row < 0) {
            for (int64_t j = 0; j < OL; j++) memcpy(dst + (size_t)j * es, c->value, es);
            continue;
        }
        const uint8_t *src = c->x + (size_t)(src_row * IL) * es;
        int64_t mid0 = c->pb[last] > 0 ? c->pb[last] : 0, mid1 = mid0 + c->len[last];
        if (mid1 > OL) mid1 = OL;
        if (mid1 > mid0) memcpy(dst + (size_t)mid0 * es, src + (size_t)c->crop[last] * es, (size_t)(mid1 - mid0) * es);
        for (int64_t j = 0; j < OL; j++) {
            if (j == mid0 && mid1 > mid0) j = mid1;
            if (j >= OL) break;
            int64_t s = pad_src(c, last, j);
            memcpy(dst + (size_t)j * es, s < 0 ? c->value : src + (size_t)s * es, es);
        }
    }
}

int cpu_pad_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    const int64_t *p = NULL;
    if (n->n_inputs != 1 || n->n_outputs != 1 || !cpu_in(n, 0) || !cpu_is_plain(cpu_in_dt(n, 0))) return 0;
    int64_t mode = cpu_attr_i(n, "mode", 0);
    return n->outputs[0].dtype == cpu_in_dt(n, 0) && cpu_attr_ints(n, "pads", &p) == 2 * n->inputs[0].rank &&
           mode >= 0 && mode <= 3 && cpu_elt_size(cpu_in_dt(n, 0)) > 0;
}

px_status cpu_pad_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    const int64_t *p = NULL;
    pad_ctx c;
    memset(&c, 0, sizeof c);
    c.rank = X->rank;
    c.mode = cpu_attr_i(a->node, "mode", 0);
    c.es = cpu_elt_size(X->dtype);
    if (cpu_attr_ints(a->node, "pads", &p) != 2 * c.rank || O->rank != c.rank || O->dtype != X->dtype)
        return a->host->set_error(PX_ERR_INVALID_ARG, "pad: pads must have 2 * rank values");
    for (int32_t i = 0; i < c.rank; i++) {
        int64_t pb = p[i], pe = p[c.rank + i];
        c.in[i] = X->ne[i];
        c.out[i] = O->ne[i];
        c.crop[i] = pb < 0 ? -pb : 0;
        c.len[i] = X->ne[i] - c.crop[i] - (pe < 0 ? -pe : 0);
        c.pb[i] = pb > 0 ? pb : 0;
        if (c.len[i] < 0 || c.out[i] != X->ne[i] + pb + pe)
            return a->host->set_error(PX_ERR_SHAPE, "pad: axis %d of %lld elements with pads %lld, %lld does not give %lld",
                                      i, (long long)X->ne[i], (long long)pb, (long long)pe, (long long)O->ne[i]);
        if (c.len[i] == 0 && c.mode != 0 && c.out[i] > 0)
            return a->host->set_error(PX_ERR_SHAPE, "pad: axis %d is empty; mode %lld has nothing to pad with", i, (long long)c.mode);
    }
    double v = cpu_attr_f(a->node, "value", 0);
    px_status st = a->host->convert(PX_F64, &v, X->dtype, c.value, 1);
    if (st) return st;
    c.x = X->data;
    c.o = O->data;
    if (cpu_numel(O) == 0) return PX_OK;
    if (c.rank == 0) {
        memcpy(c.o, c.x, c.es);
        return PX_OK;
    }
    int64_t rows = cpu_numel(O) / c.out[c.rank - 1];
    a->host->parallel_for(rows, cpu_grain(c.out[c.rank - 1], 1 << 14), pad_range, &c);
    return PX_OK;
}

/* ---- resize ----------------------------------------------------------------------------------- */

/* One axis: for output index o, taps idx/w[o*taps + t] (idx clamped to the
 * axis), ext[o] set where tf_crop_and_resize extrapolates. */
typedef struct rs_axis {
    int64_t in, out, taps, stride; /* stride: of the axis in x */
    int identity;
    int64_t *idx;
    double *w;
    uint8_t *ext;
} rs_axis;

typedef struct rs_ctx {
    int32_t rank, n_act;        /* axes, axes that change */
    int32_t act[PX_MAX_DIMS];
    rs_axis ax[PX_MAX_DIMS];
    int64_t mode;
    px_dtype t;
    size_t es;
    double extrap;
    uint8_t extrap_raw[8];
    const uint8_t *x;
    uint8_t *o;
    const cpu_scratch *s;
} rs_ctx;

/* The scale of axis i: attr scales, or out/in; a scale that is out/in
 * rounded to float is taken as out/in. */
static double rs_scale(const px_node_desc *n, int32_t i, int64_t in, int64_t out) {
    const px_attr *a = px_attr_find(n->attrs, n->n_attrs, "scales");
    double exact = (double)out / (double)in;
    if (!a || a->type != PX_ATTR_FLOATS || i >= a->n) return exact;
    return (float)exact == a->u.floats[i] ? exact : (double)a->u.floats[i];
}

/* Taps per output index: 1 (nearest), 2 (linear), 4 (cubic), or the
 * antialiasing filter's footprint when downscaling. */
static int64_t rs_taps(int64_t mode, int aa, double scale) {
    if (mode == 0) return 1;
    if (!aa) return mode == 1 ? 2 : 4;
    double s = scale < 1 ? scale : 1;
    return 2 - 2 * (int64_t)(floor((mode == 1 ? -1.0 : -2.0) / s) + 1);
}

static double cubic_w(double A, double x) {
    x = fabs(x);
    if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
}

/* The input coordinate of output index o (ONNX's coordinate transforms). */
static double rs_coord(int64_t coord, int64_t o, int64_t in, int64_t out, double scale, double r0, double r1) {
    double len = scale * (double)in, x = (double)o;
    switch (coord) {
    case 1: return x / scale;
    case 2: return len == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case 3: return (len == 1 ? (r1 - r0) * (double)(in - 1) / 2 : x * (r1 - r0) * (double)(in - 1) / (len - 1)) +
                   r0 * (double)(in - 1);
    case 4: return len == 1 ? 0 : x * (double)(in - 1) / (len - 1);
    case 5: return (double)in / 2 * (1 - (double)out / len) + (x + 0.5) / scale - 0.5;
    default: return (x + 0.5) / scale - 0.5;
    }
}

static void rs_axis_fill(const px_node_desc *n, int32_t i, rs_axis *ax) {
    int64_t mode = cpu_attr_i(n, "mode", 0), coord = cpu_attr_i(n, "coord", 0), nm = cpu_attr_i(n, "nearest_mode", 0);
    int aa = cpu_attr_i(n, "antialias", 0) != 0, excl = cpu_attr_i(n, "exclude_outside", 0) != 0;
    double A = cpu_attr_f(n, "cubic_coeff_a", -0.75), scale = rs_scale(n, i, ax->in, ax->out), r0 = 0, r1 = 1;
    const px_attr *roi = px_attr_find(n->attrs, n->n_attrs, "roi");
    if (roi && roi->type == PX_ATTR_FLOATS && roi->n == 2 * n->inputs[0].rank) {
        r0 = roi->u.floats[i];
        r1 = roi->u.floats[n->inputs[0].rank + i];
    }
    double s = scale < 1 ? scale : 1;
    ax->identity = ax->in == ax->out;
    for (int64_t o = 0; o < ax->out; o++) {
        double x = rs_coord(coord, o, ax->in, ax->out, scale, r0, r1);
        if (!(x > -1e15 && x < 1e15)) x = x > 0 ? 1e15 : -1e15; /* far outside (or NaN): the edge */
        int64_t i0 = (int64_t)ceil(x) - 1, T = ax->taps, first;
        double r = x - (double)i0, *w = ax->w + o * T, sum = 0;
        int64_t *idx = ax->idx + o * T;
        ax->ext[o] = coord == 3 && (x < 0 || x > (double)(ax->in - 1));
        if (mode == 0) {
            int up = r == 1 || nm == 3 || (nm == 0 && r > 0.5) || (nm == 1 && r >= 0.5);
            first = i0 + up;
            w[0] = 1;
        } else if (!aa) {
            first = mode == 1 ? i0 : i0 - 1;
            if (mode == 1) w[0] = 1 - r, w[1] = r;
            else for (int t = 0; t < 4; t++) w[t] = cubic_w(A, r + 1 - t);
        } else {
            first = i0 + 1 - T / 2;
            for (int64_t t = 0; t < T; t++) {
                double d = s * ((double)(first + t) - x);
                w[t] = mode == 1 ? (fabs(d) < 1 ? 1 - fabs(d) : 0) : cubic_w(A, d);
                sum += w[t];
            }
            for (int64_t t = 0; t < T; t++) w[t] /= sum;
        }
        if (excl && mode != 0) {
            sum = 0;
            for (int64_t t = 0; t < T; t++) {
                if (first + t < 0 || first + t >= ax->in) w[t] = 0;
                sum += w[t];
            }
            for (int64_t t = 0; t < T; t++) w[t] /= sum;
        }
        int one = 0;
        for (int64_t t = 0; t < T; t++) {
            int64_t j = first + t;
            idx[t] = j < 0 ? 0 : j >= ax->in ? ax->in - 1 : j;
            if (w[t] != 0) one += w[t] == 1 && idx[t] == o ? 1 : 2;
        }
        if (one != 1 || ax->ext[o]) ax->identity = 0;
    }
}

/* Shared scratch: every axis's table. Per thread: one output row. */
static void resize_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                        size_t *shared, size_t *per_thread) {
    *shared = *per_thread = 0;
    if (n_in < 1 || in[0].rank != out->rank) return;
    int64_t mode = cpu_attr_i(node, "mode", 0);
    int aa = cpu_attr_i(node, "antialias", 0) != 0;
    for (int32_t i = 0; i < out->rank; i++) {
        if (in[0].ne[i] == 0) continue;
        int64_t T = rs_taps(mode, aa, rs_scale(node, i, in[0].ne[i], out->ne[i]));
        *shared += round64((size_t)(out->ne[i] * T) * (sizeof(int64_t) + sizeof(double)) + (size_t)out->ne[i]);
    }
    *per_thread = out->rank ? sizeof(double) * (size_t)out->ne[out->rank - 1] : 0;
}

/* Output element at flat offset `base` of the unchanged axes, output
 * indices o[] of the changed ones: the weighted sum of its taps. */
static double rs_sum(const rs_ctx *c, int64_t base, const int64_t *o) {
    int64_t t[PX_MAX_DIMS] = {0};
    double acc = 0;
    for (;;) {
        int64_t off = base;
        double w = 1;
        for (int32_t k = 0; k < c->n_act; k++) {
            const rs_axis *ax = &c->ax[c->act[k]];
            off += ax->idx[o[k] * ax->taps + t[k]] * ax->stride;
            w *= ax->w[o[k] * ax->taps + t[k]];
        }
        if (w != 0) {
            double v;
            cpu_load_f64(c->t, c->x, off, 1, 1, &v);
            acc += w * v;
        }
        int32_t k = c->n_act - 1;
        while (k >= 0 && ++t[k] == c->ax[c->act[k]].taps) t[k--] = 0;
        if (k < 0) return acc;
    }
}

static void rs_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const rs_ctx *c = vctx;
    const int32_t last = c->rank - 1;
    const int64_t OL = c->ax[last].out;
    double *row = cpu_scratch_thread(c->s, thread);
    for (int64_t r = b; r < e; r++) {
        for (int64_t j = 0; j < OL; j++) {
            int64_t o[PX_MAX_DIMS], base = 0, q = r * OL + j;
            int ext = 0;
            for (int32_t i = last, k = c->n_act - 1; i >= 0; i--) {
                const rs_axis *ax = &c->ax[i];
                int64_t oi = q % ax->out;
                q /= ax->out;
                if (k >= 0 && c->act[k] == i) {
                    o[k--] = oi;
                    ext |= ax->ext[oi];
                } else {
                    base += oi * ax->stride;
                }
            }
            if (c->mode == 0) {
                uint8_t *dst = c->o + (size_t)(r * OL + j) * c->es;
                for (int32_t k = 0; k < c->n_act; k++) {
                    const rs_axis *ax = &c->ax[c->act[k]];
                    base += ax->idx[o[k]] * ax->stride;
                }
                memcpy(dst, ext ? c->extrap_raw : c->x + (size_t)base * c->es, c->es);
            } else {
                row[j] = ext ? c->extrap : rs_sum(c, base, o);
            }
        }
        if (c->mode != 0) cpu_store_f64(c->t, c->o, r * OL, 1, OL, row);
    }
}

int cpu_resize_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 1 || n->n_outputs != 1 || !cpu_in(n, 0)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    int64_t mode = cpu_attr_i(n, "mode", 0), coord = cpu_attr_i(n, "coord", 0), nm = cpu_attr_i(n, "nearest_mode", 0);
    if (mode < 0 || mode > 2 || coord < 0 || coord > 5 || nm < 0 || nm > 3 || n->outputs[0].dtype != t) return 0;
    if (mode == 0 ? !cpu_is_plain(t) || cpu_elt_size(t) == 0 : !cpu_is_float(t)) return 0;
    if (n->outputs[0].rank != n->inputs[0].rank || n->inputs[0].rank < 1) return 0;
    for (int32_t i = 0; i < n->inputs[0].rank; i++)
        if (n->inputs[0].ne[i] == 0 && n->outputs[0].ne[i] != 0) return 0;
    return 1;
}

px_status cpu_resize_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    rs_ctx c;
    memset(&c, 0, sizeof c);
    c.rank = X->rank;
    c.t = X->dtype;
    c.es = cpu_elt_size(c.t);
    c.mode = cpu_attr_i(a->node, "mode", 0);
    c.extrap = cpu_attr_f(a->node, "extrapolation_value", 0);
    if (O->rank != c.rank || c.rank < 1) return a->host->set_error(PX_ERR_SHAPE, "resize: out must have x's rank");
    if (cpu_numel(O) == 0) return PX_OK;
    for (int32_t i = 0; i < c.rank; i++)
        if (X->ne[i] == 0) return a->host->set_error(PX_ERR_SHAPE, "resize: axis %d of x is empty", i);
    px_status st = a->host->convert(PX_F64, &c.extrap, c.t, c.extrap_raw, 1);
    if (st) return st;
    cpu_scratch s;
    if ((st = cpu_vision_scratch_begin(a, resize_need, &s))) return st;
    c.s = &s;
    uint8_t *p = cpu_scratch_shared(&s);
    int aa = cpu_attr_i(a->node, "antialias", 0) != 0;
    int64_t stride = 1;
    for (int32_t i = c.rank - 1; i >= 0; i--) {
        rs_axis *ax = &c.ax[i];
        ax->in = X->ne[i];
        ax->out = O->ne[i];
        ax->stride = stride;
        stride *= ax->in;
        ax->taps = rs_taps(c.mode, aa, rs_scale(a->node, i, ax->in, ax->out));
        size_t n = (size_t)(ax->out * ax->taps);
        ax->idx = (int64_t *)(void *)p;
        ax->w = (double *)(void *)(p + n * sizeof(int64_t));
        ax->ext = p + n * (sizeof(int64_t) + sizeof(double));
        p += round64(n * (sizeof(int64_t) + sizeof(double)) + (size_t)ax->out);
        rs_axis_fill(a->node, i, ax);
    }
    for (int32_t i = 0; i < c.rank; i++)
        if (!c.ax[i].identity) c.act[c.n_act++] = i;
    c.x = X->data;
    c.o = O->data;
    int64_t cost = 1;
    for (int32_t k = 0; k < c.n_act; k++) cost *= c.ax[c.act[k]].taps;
    int64_t OL = O->ne[c.rank - 1];
    a->host->parallel_for(cpu_numel(O) / OL, cpu_grain(OL * (cost + c.rank), 1 << 15), rs_range, &c);
    cpu_vision_scratch_end(a, &s);
    return PX_OK;
}

/* ---- lrn -------------------------------------------------------------------------------------- */

typedef struct lrn_ctx {
    px_dtype t;
    int64_t C, S, tiles, size;
    double alpha, beta, bias;
    const void *x;
    void *o;
} lrn_ctx;

/* Items: (batch, tile of CPU_TILE positions); every channel of the tile. */
static void lrn_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const lrn_ctx *c = vctx;
    double xv[CPU_TILE], sq[CPU_TILE], v[CPU_TILE];
    int64_t lo = (c->size - 1) / 2, hi = c->size - 1 - lo;
    for (int64_t item = b; item < e; item++) {
        int64_t n = item / c->tiles, s0 = (item % c->tiles) * CPU_TILE;
        int64_t len = c->S - s0 < CPU_TILE ? c->S - s0 : CPU_TILE;
        for (int64_t ch = 0; ch < c->C; ch++) {
            for (int64_t j = 0; j < len; j++) sq[j] = 0;
            for (int64_t k = ch - lo < 0 ? 0 : ch - lo; k <= ch + hi && k < c->C; k++) {
                cpu_load_f64(c->t, c->x, (n * c->C + k) * c->S + s0, 1, len, v);
                for (int64_t j = 0; j < len; j++) sq[j] += v[j] * v[j];
            }
            int64_t off = (n * c->C + ch) * c->S + s0;
            cpu_load_f64(c->t, c->x, off, 1, len, xv);
            for (int64_t j = 0; j < len; j++) v[j] = xv[j] / pow(c->bias + c->alpha / (double)c->size * sq[j], c->beta);
            cpu_store_f64(c->t, c->o, off, 1, len, v);
        }
    }
}

int cpu_lrn_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    return n->n_inputs == 1 && n->n_outputs == 1 && cpu_in(n, 0) && cpu_is_float(cpu_in_dt(n, 0)) &&
           n->outputs[0].dtype == cpu_in_dt(n, 0) && n->inputs[0].rank >= 2 && cpu_attr_i(n, "size", 0) >= 1;
}

px_status cpu_lrn_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0];
    lrn_ctx c;
    c.t = X->dtype;
    c.C = X->rank >= 2 ? X->ne[1] : 0;
    c.S = cpu_prod(X->ne, 2, X->rank);
    c.size = cpu_attr_i(a->node, "size", 0);
    c.alpha = cpu_attr_f(a->node, "alpha", 1e-4);
    c.beta = cpu_attr_f(a->node, "beta", 0.75);
    c.bias = cpu_attr_f(a->node, "bias", 1.0);
    c.x = X->data;
    c.o = a->outputs[0].data;
    if (X->rank < 2 || c.size < 1 || cpu_numel(&a->outputs[0]) != cpu_numel(X))
        return a->host->set_error(PX_ERR_SHAPE, "lrn: x must be [N, C, ...] and out like x; size >= 1");
    if (cpu_numel(X) == 0) return PX_OK;
    c.tiles = (c.S + CPU_TILE - 1) / CPU_TILE;
    a->host->parallel_for(X->ne[0] * c.tiles, cpu_grain(c.C * (c.size + 2) * CPU_TILE, 1 << 15), lrn_range, &c);
    return PX_OK;
}
