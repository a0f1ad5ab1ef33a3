/* CPU plugin — shared helpers: element loads/stores by dtype, broadcast
 * iteration, per-run scratch. */
#include "cpu_common.h"

#include <string.h>
#include <unistd.h>

size_t cpu_elt_size(px_dtype t) {
    switch (t) {
    case PX_F32: case PX_I32: case PX_U32: return 4;
    case PX_F16: case PX_BF16: case PX_I16: case PX_U16: return 2;
    case PX_F64: case PX_I64: case PX_U64: return 8;
    case PX_I8: case PX_U8: case PX_BOOL: return 1;
    default: return cpu_is_plain(t) ? 1 : 0; /* float8/float4, i4/u4/i2/u2: one byte */
    }
}

int cpu_class(px_dtype t) {
    if (t == PX_F32 || t == PX_F16 || t == PX_BF16) return CPU_CLS_F32;
    if (t == PX_F64) return CPU_CLS_F64;
    if (cpu_is_sint(t)) return CPU_CLS_SINT;
    if (cpu_is_uint(t) || t == PX_BOOL) return CPU_CLS_UINT;
    return CPU_CLS_NONE;
}

int32_t cpu_attr_ints(const px_node_desc *n, const char *name, const int64_t **out) {
    const px_attr *a = px_attr_find(n->attrs, n->n_attrs, name);
    if (!a) return -1;
    if (a->type == PX_ATTR_INT) {
        *out = &a->u.i;
        return 1;
    }
    if (a->type != PX_ATTR_INTS || a->n < 0) return -2;
    *out = a->u.ints;
    return a->n;
}

/* ---- loads and stores -------------------------------------------------------------- */

/* One typed loop per source dtype: dst[k] = CONV(src[i0 + k*stride]). */
#define LOAD_LOOP(SRC_T, CONV)                                         \
    do {                                                               \
        const SRC_T *s_ = (const SRC_T *)base + i0;                    \
        for (int64_t k = 0; k < n; k++) dst[k] = CONV(s_[k * stride]); \
    } while (0)
#define ID(x) (x)
#define NZ(x) ((x) != 0)

void cpu_load_f32(px_dtype t, const void *base, int64_t i0, int64_t stride, int64_t n, float *dst) {
    if (n <= 0) return;
    switch (t) {
    case PX_F32: LOAD_LOOP(float, ID); break;
    case PX_F16: LOAD_LOOP(uint16_t, px_f16_to_f32); break;
    case PX_BF16: LOAD_LOOP(uint16_t, px_bf16_to_f32); break;
    case PX_F64: LOAD_LOOP(double, (float)); break;
    case PX_I8: LOAD_LOOP(int8_t, (float)); break;
    case PX_I16: LOAD_LOOP(int16_t, (float)); break;
    case PX_I32: LOAD_LOOP(int32_t, (float)); break;
    case PX_I64: LOAD_LOOP(int64_t, (float)); break;
    case PX_U8: case PX_BOOL: LOAD_LOOP(uint8_t, (float)); break;
    case PX_U16: LOAD_LOOP(uint16_t, (float)); break;
    case PX_U32: LOAD_LOOP(uint32_t, (float)); break;
    case PX_U64: LOAD_LOOP(uint64_t, (float)); break;
    default: memset(dst, 0, (size_t)n * sizeof *dst); break;
    }
}

void cpu_load_f64(px_dtype t, const void *base, int64_t i0, int64_t stride, int64_t n, double *dst) {
    if (n <= 0) return;
    switch (t) {
    case PX_F32: LOAD_LOOP(float, (double)); break;
    case PX_F16: LOAD_LOOP(uint16_t, (double)px_f16_to_f32); break;
    case PX_BF16: LOAD_LOOP(uint16_t, (double)px_bf16_to_f32); break;
    case PX_F64: LOAD_LOOP(double, ID); break;
    case PX_I8: LOAD_LOOP(int8_t, (double)); break;
    case PX_I16: LOAD_LOOP(int16_t, (double)); break;
    case PX_I32: LOAD_LOOP(int32_t, (double)); break;
    case PX_I64: LOAD_LOOP(int64_t, (double)); break;
    case PX_U8: case PX_BOOL: LOAD_LOOP(uint8_t, (double)); break;
    case PX_U16: LOAD_LOOP(uint16_t, (double)); break;
    case PX_U32: LOAD_LOOP(uint32_t, (double)); break;
    case PX_U64: LOAD_LOOP(uint64_t, (double)); break;
    default: memset(dst, 0, (size_t)n * sizeof *dst); break;
    }
}

void cpu_load_i64(px_dtype t, const void *base, int64_t i0, int64_t stride, int64_t n, int64_t *dst) {
    if (n <= 0) return;
    switch (t) {
    case PX_I8: LOAD_LOOP(int8_t, (int64_t)); break;
    case PX_I16: LOAD_LOOP(int16_t, (int64_t)); break;
    case PX_I32: LOAD_LOOP(int32_t, (int64_t)); break;
    case PX_I64: LOAD_LOOP(int64_t, ID); break;
    case PX_U8: case PX_BOOL: LOAD_LOOP(uint8_t, (int64_t)); break;
    case PX_U16: LOAD_LOOP(uint16_t, (int64_t)); break;
    case PX_U32: LOAD_LOOP(uint32_t, (int64_t)); break;
    case PX_U64: LOAD_LOOP(uint64_t, (int64_t)); break;
    default: memset(dst, 0, (size_t)n * sizeof *dst); break;
    }
}

#define STORE_LOOP(DST_T, CONV)                                        \
    do {                                                               \
        DST_T *d_ = (DST_T *)base + i0;                                \
        for (int64_t k = 0; k < n; k++) d_[k * stride] = CONV(src[k]); \
    } while (0)

/* Convert through px_convert one element at a time (strided stores of the
 * rare pairs that have no typed loop). */
static void store_convert(px_dtype st, const void *src, size_t ssz, px_dtype t, void *base, int64_t i0,
                          int64_t stride, int64_t n) {
    size_t es = cpu_elt_size(t);
    if (stride == 1) {
        px_convert(st, src, t, (uint8_t *)base + (size_t)i0 * es, n);
        return;
    }
    for (int64_t k = 0; k < n; k++)
        px_convert(st, (const uint8_t *)src + (size_t)k * ssz, t, (uint8_t *)base + (i0 + k * stride) * (int64_t)es, 1);
}

void cpu_store_f32(px_dtype t, void *base, int64_t i0, int64_t stride, int64_t n, const float *src) {
    if (n <= 0) return;
    switch (t) {
    case PX_F32: STORE_LOOP(float, ID); break;
    case PX_F16: STORE_LOOP(uint16_t, px_f32_to_f16); break;
    case PX_BF16: STORE_LOOP(uint16_t, px_f32_to_bf16); break;
    case PX_F64: STORE_LOOP(double, (double)); break;
    default:
        if (cpu_is_plain(t)) store_convert(PX_F32, src, sizeof *src, t, base, i0, stride, n);
        break;
    }
}

void cpu_store_f64(px_dtype t, void *base, int64_t i0, int64_t stride, int64_t n, const double *src) {
    if (n <= 0) return;
    switch (t) {
    case PX_F64: STORE_LOOP(double, ID); break;
    case PX_F32: STORE_LOOP(float, (float)); break;
    default:
        /* F16/BF16 from double round once (px_convert), integers follow its rules */
        if (cpu_is_plain(t)) store_convert(PX_F64, src, sizeof *src, t, base, i0, stride, n);
        break;
    }
}

void cpu_store_i64(px_dtype t, void *base, int64_t i0, int64_t stride, int64_t n, const int64_t *src) {
    if (n <= 0) return;
    switch (t) {
    case PX_I8: STORE_LOOP(int8_t, (int8_t)(uint8_t)); break;
    case PX_I16: STORE_LOOP(int16_t, (int16_t)(uint16_t)); break;
    case PX_I32: STORE_LOOP(int32_t, (int32_t)(uint32_t)); break;
    case PX_I64: STORE_LOOP(int64_t, ID); break;
    case PX_U8: STORE_LOOP(uint8_t, (uint8_t)); break;
    case PX_BOOL: STORE_LOOP(uint8_t, (uint8_t)NZ); break;
    case PX_U16: STORE_LOOP(uint16_t, (uint16_t)); break;
    case PX_U32: STORE_LOOP(uint32_t, (uint32_t)); break;
    case PX_U64: STORE_LOOP(uint64_t, (uint64_t)); break;
    default: break;
    }
}

void cpu_load_row_f64(px_dtype t, const void *base, int64_t e0, int64_t n, double *dst, float *tmp) {
    if (!cpu_is_quant(t)) {
        cpu_load_f64(t, base, e0, 1, n, dst);
        return;
    }
    const px_dtype_traits *tr = px_dtype_get_traits(t);
    px_dequantize_row_fn deq = px_dequantize_row_get(t);
    const uint8_t *p = (const uint8_t *)base + (e0 / tr->block_size) * tr->type_size;
    /* CPU_TILE is a multiple of every block size */
    for (int64_t i = 0; i < n; i += CPU_TILE) {
        int64_t m = n - i < CPU_TILE ? n - i : CPU_TILE;
        deq(p + (i / tr->block_size) * tr->type_size, tmp, m);
        for (int64_t k = 0; k < m; k++) dst[i + k] = tmp[k];
    }
}

/* ---- broadcast iteration ------------------------------------------------------------ */

int cpu_iter_init(cpu_iter *it, int32_t rank, const int64_t *ne, int32_t n_ops, const int32_t *op_rank,
                  const int64_t *const *op_ne) {
    int64_t fne[PX_MAX_DIMS], fst[CPU_ITER_MAX][PX_MAX_DIMS];
    memset(it, 0, sizeof *it);
    it->n_ops = n_ops;
    if (rank < 0 || rank > PX_MAX_DIMS || n_ops > CPU_ITER_MAX) return -1;
    for (int32_t k = 0; k < n_ops; k++) {
        int64_t s = 1;
        if (op_rank[k] > rank) return -1;
        for (int32_t i = rank - 1; i >= 0; i--) {
            int32_t j = i - (rank - op_rank[k]);
            int64_t d = j >= 0 ? op_ne[k][j] : 1;
            if (d != 1 && d != ne[i]) return -1;
            fst[k][i] = (d == 1) ? 0 : s;
            s *= d;
        }
    }
    for (int32_t i = 0; i < rank; i++) fne[i] = ne[i];
    /* drop dims of size 1, merge dims that are contiguous for every operand */
    int32_t r = 0;
    for (int32_t i = 0; i < rank; i++) {
        if (fne[i] == 1) continue;
        int merge = r > 0;
        for (int32_t k = 0; k < n_ops && merge; k++) merge = fst[k][i] * fne[i] == it->st[k][r - 1];
        if (merge) {
            it->ne[r - 1] *= fne[i];
            for (int32_t k = 0; k < n_ops; k++) it->st[k][r - 1] = fst[k][i];
            continue;
        }
        it->ne[r] = fne[i];
        for (int32_t k = 0; k < n_ops; k++) it->st[k][r] = fst[k][i];
        r++;
    }
    if (r == 0) {
        it->ne[0] = 1;
        for (int32_t k = 0; k < n_ops; k++) it->st[k][0] = 0;
        r = 1;
    }
    it->rank = r;
    it->inner = it->ne[r - 1];
    it->rows = cpu_prod(it->ne, 0, r - 1);
    for (int32_t i = 0; i < rank; i++)
        if (ne[i] == 0) it->rows = it->inner = 0;
    return 0;
}

void cpu_iter_row(const cpu_iter *it, int64_t row, int64_t *off) {
    for (int32_t k = 0; k < it->n_ops; k++) off[k] = 0;
    for (int32_t i = it->rank - 2; i >= 0 && row > 0; i--) {
        int64_t q = row / it->ne[i], r = row - q * it->ne[i];
        for (int32_t k = 0; k < it->n_ops; k++) off[k] += r * it->st[k][i];
        row = q;
    }
}

typedef struct iter_job {
    const cpu_iter *it;
    cpu_tile_fn fn;
    void *ctx;
    int64_t tiles; /* per row */
} iter_job;

static void iter_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const iter_job *j = vctx;
    const cpu_iter *it = j->it;
    int64_t row = -1, base[CPU_ITER_MAX], off[CPU_ITER_MAX];
    for (int64_t item = b; item < e; item++) {
        int64_t r = item / j->tiles, t = item - r * j->tiles;
        if (r != row) {
            cpu_iter_row(it, r, base);
            row = r;
        }
        int64_t i0 = t * CPU_TILE, n = it->inner - i0 < CPU_TILE ? it->inner - i0 : CPU_TILE;
        for (int32_t k = 0; k < it->n_ops; k++) off[k] = base[k] + i0 * it->st[k][it->rank - 1];
        j->fn(j->ctx, off, n);
    }
}

void cpu_iter_run(const px_host_api *h, const cpu_iter *it, cpu_tile_fn fn, void *ctx) {
    if (it->rows == 0 || it->inner == 0) return;
    iter_job j = {it, fn, ctx, (it->inner + CPU_TILE - 1) / CPU_TILE};
    int64_t items = it->rows * j.tiles;
    int64_t per = it->inner < CPU_TILE ? it->inner : CPU_TILE;
    h->parallel_for(items, cpu_grain(per, 32768), iter_range, &j);
}

/* ---- scratch ---------------------------------------------------------------------------- */

typedef struct cpu_op_state {
    uint8_t *buf;
    size_t cap;
    void *aux; /* a kernel's own data for the node (repacked weights), freed with the state */
} cpu_op_state;

void *cpu_op_aux(void *op_state) { return op_state ? ((cpu_op_state *)op_state)->aux : NULL; }
void cpu_op_set_aux(void *op_state, void *aux) { ((cpu_op_state *)op_state)->aux = aux; }

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

static void shapes_from_tensors(const px_tensor *t, int32_t n, cpu_shape *out) {
    for (int32_t i = 0; i < n && i < CPU_MAX_SHAPES; i++) {
        out[i].dtype = t[i].dtype;
        out[i].rank = t[i].rank;
        memcpy(out[i].ne, t[i].ne, sizeof out[i].ne);
    }
}

static void shapes_from_desc(const px_value_desc *v, int32_t n, cpu_shape *out) {
    for (int32_t i = 0; i < n && i < CPU_MAX_SHAPES; i++) {
        out[i].dtype = v[i].dtype;
        out[i].rank = v[i].rank;
        memcpy(out[i].ne, v[i].ne, sizeof out[i].ne);
    }
}

static size_t total_bytes(size_t shared, size_t per_thread, int32_t threads) {
    return round64(shared) + (size_t)threads * round64(per_thread);
}

px_status cpu_scratch_begin(const px_kernel_args *a, cpu_need_fn need, cpu_scratch *s) {
    const px_host_api *h = a->host;
    cpu_shape in[CPU_MAX_SHAPES], out[CPU_MAX_SHAPES];
    int32_t ni = a->n_inputs < CPU_MAX_SHAPES ? a->n_inputs : CPU_MAX_SHAPES;
    int32_t no = a->n_outputs < CPU_MAX_SHAPES ? a->n_outputs : CPU_MAX_SHAPES;
    shapes_from_tensors(a->inputs, ni, in);
    shapes_from_tensors(a->outputs, no, out);
    size_t shared = 0, per_thread = 0;
    need(a->node, in, ni, out, &shared, &per_thread);
    memset(s, 0, sizeof *s);
    s->shared = round64(shared);
    s->per_thread = round64(per_thread);
    s->n_threads = h->n_threads ? h->n_threads() : 1;
    if (s->n_threads < 1) s->n_threads = 1;
    size_t bytes = total_bytes(shared, per_thread, s->n_threads);
    if (bytes == 0) bytes = 64;
    cpu_op_state *st = a->op_state;
    if (st && st->cap >= bytes) {
        s->base = st->buf;
        return PX_OK;
    }
    uint8_t *p = h->alloc(bytes, 64);
    if (!p) return h->set_error(PX_ERR_NO_MEMORY, "cpu: cannot allocate %zu bytes of scratch", bytes);
    if (st) {
        h->free(st->buf);
        st->buf = p;
        st->cap = bytes;
    } else {
        s->temp = 1;
    }
    s->base = p;
    return PX_OK;
}

void cpu_scratch_end(const px_kernel_args *a, cpu_scratch *s) {
    if (s->temp) a->host->free(s->base);
    s->base = NULL;
    s->temp = 0;
}

cpu_need_fn cpu_need_of(px_op op) {
    switch (op) {
    case PX_OP_MATMUL: return cpu_matmul_need;
    case PX_OP_ATTENTION: return cpu_attention_need;
    case PX_OP_SOFTMAX: case PX_OP_RMS_NORM: case PX_OP_LAYER_NORM: return cpu_nn_need;
    case PX_OP_LOG_SOFTMAX: case PX_OP_CUMSUM: case PX_OP_ARGMAX: return cpu_axis_need;
    default: return NULL;
    }
}

px_status cpu_prepare(void *dev, const px_node_desc *node, void **out_state) {
    (void)dev;
    *out_state = NULL;
    cpu_need_fn need = cpu_need_of(node->op);
    if (!need) return PX_OK;
    const px_host_api *h = cpu_host;
    cpu_shape in[CPU_MAX_SHAPES], out[CPU_MAX_SHAPES];
    int32_t ni = node->n_inputs < CPU_MAX_SHAPES ? node->n_inputs : CPU_MAX_SHAPES;
    int32_t no = node->n_outputs < CPU_MAX_SHAPES ? node->n_outputs : CPU_MAX_SHAPES;
    shapes_from_desc(node->inputs, ni, in);
    shapes_from_desc(node->outputs, no, out);
    size_t shared = 0, per_thread = 0;
    need(node, in, ni, out, &shared, &per_thread);
    /* The pool is not known here: size for the larger of the host's
     * current count and the online CPUs; a run with more threads grows it. */
    int32_t threads = h->n_threads ? h->n_threads() : 1;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online > threads && online <= 1024) threads = (int32_t)online;
    if (threads < 1) threads = 1;
    cpu_op_state *st = h->alloc(sizeof *st, 16);
    if (!st) return h->set_error(PX_ERR_NO_MEMORY, "cpu: cannot allocate kernel state");
    st->aux = NULL;
    st->cap = total_bytes(shared, per_thread, threads);
    if (st->cap == 0) st->cap = 64;
    st->buf = h->alloc(st->cap, 64);
    if (!st->buf) {
        h->free(st);
        return h->set_error(PX_ERR_NO_MEMORY, "cpu: cannot allocate %zu bytes of scratch for node '%s'",
                            total_bytes(shared, per_thread, threads), node->name ? node->name : "?");
    }
    *out_state = st;
    return PX_OK;
}

void cpu_release(void *dev, void *op_state) {
    (void)dev;
    cpu_op_state *st = op_state;
    if (!st) return;
    cpu_host->free(st->aux);
    cpu_host->free(st->buf);
    cpu_host->free(st);
}

/* ---- device scratch ---------------------------------------------------------------- */

static px_status grow(cpu_device *d, size_t bytes) {
    if (d->cap >= bytes) return PX_OK;
    uint8_t *p = cpu_host->alloc(bytes, 64);
    if (!p) return cpu_host->set_error(PX_ERR_NO_MEMORY, "cpu: cannot allocate %zu bytes of scratch", bytes);
    cpu_host->free(d->scratch);
    d->scratch = p;
    d->cap = bytes;
    return PX_OK;
}

px_status cpu_device_scratch_reserve(void *dev, size_t bytes) {
    cpu_device *d = dev;
    pthread_mutex_lock(&d->lock);
    px_status st = grow(d, bytes);
    pthread_mutex_unlock(&d->lock);
    return st;
}

px_status cpu_device_scratch_acquire(void *dev, size_t bytes, void **out) {
    cpu_device *d = dev;
    pthread_mutex_lock(&d->lock);
    px_status st = grow(d, bytes);
    if (st) {
        pthread_mutex_unlock(&d->lock);
        return st;
    }
    *out = d->scratch;
    return PX_OK;
}

void cpu_device_scratch_release(void *dev) { pthread_mutex_unlock(&((cpu_device *)dev)->lock); }
