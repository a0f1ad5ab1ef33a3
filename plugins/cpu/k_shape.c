/* CPU plugin — data movement: GATHER, CONCAT, SLICE, PERMUTE, COPY, CAST,
 * SET_ROWS, ARANGE.
 *
 * Layout ops copy bytes (exact for every plain dtype); GATHER dequantizes
 * block-quantized rows; CAST and SET_ROWS convert with px_convert. */
#include <string.h>

#include "cpu_common.h"

#define COPY_GRAIN_BYTES (1 << 18)

static int64_t load_index(const px_tensor *I, int64_t j) {
    return I->dtype == PX_I64 ? ((const int64_t *)I->data)[j] : (int64_t)((const int32_t *)I->data)[j];
}

/* ---- strided copy (slice, permute) ------------------------------------------------------ */

typedef struct sc_ctx {
    size_t es;
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
    int64_t st[PX_MAX_DIMS];   /* source strides in elements (may be negative) */
    const uint8_t *src;        /* element 0 of the copy in the source */
    uint8_t *dst;
} sc_ctx;

static void sc_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const sc_ctx *c = vctx;
    const int32_t l = c->rank - 1;
    const int64_t inner = c->ne[l], sst = c->st[l];
    for (int64_t row = b; row < e; row++) {
        int64_t off = 0, r = row;
        for (int32_t i = l - 1; i >= 0 && r > 0; i--) {
            int64_t q = r / c->ne[i];
            off += (r - q * c->ne[i]) * c->st[i];
            r = q;
        }
        const uint8_t *s = c->src + off * (int64_t)c->es;
        uint8_t *d = c->dst + (size_t)(row * inner) * c->es;
        if (sst == 1) {
            memcpy(d, s, (size_t)inner * c->es);
            continue;
        }
        switch (c->es) {
        case 1: for (int64_t k = 0; k < inner; k++) d[k] = s[k * sst]; break;
        case 2: for (int64_t k = 0; k < inner; k++) memcpy(d + 2 * k, s + 2 * k * sst, 2); break;
        case 4: for (int64_t k = 0; k < inner; k++) memcpy(d + 4 * k, s + 4 * k * sst, 4); break;
        default: for (int64_t k = 0; k < inner; k++) memcpy(d + 8 * k, s + 8 * k * sst, 8); break;
        }
    }
}

/* dst (contiguous, shape ne) = src elements at base + sum i_d * st[d]. */
static void copy_strided(const px_host_api *h, size_t es, int32_t rank, const int64_t *ne, const int64_t *st,
                         const uint8_t *src, uint8_t *dst) {
    sc_ctx c;
    memset(&c, 0, sizeof c);
    c.es = es;
    c.src = src;
    c.dst = dst;
    int64_t total = 1;
    for (int32_t i = 0; i < rank; i++) {
        total *= ne[i];
        if (ne[i] == 1) continue;
        if (c.rank > 0 && c.st[c.rank - 1] == st[i] * ne[i]) {
            c.ne[c.rank - 1] *= ne[i];
            c.st[c.rank - 1] = st[i];
            continue;
        }
        c.ne[c.rank] = ne[i];
        c.st[c.rank] = st[i];
        c.rank++;
    }
    if (total == 0) return;
    if (c.rank == 0) {
        c.rank = 1;
        c.ne[0] = 1;
        c.st[0] = 1;
    }
    int64_t rows = cpu_prod(c.ne, 0, c.rank - 1);
    h->parallel_for(rows, cpu_grain(c.ne[c.rank - 1] * (int64_t)es, COPY_GRAIN_BYTES), sc_range, &c);
}

static void contiguous_strides(int32_t rank, const int64_t *ne, int64_t *st) {
    int64_t s = 1;
    for (int32_t i = rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= ne[i];
    }
}

/* ---- gather ----------------------------------------------------------------------------- */

int cpu_gather_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 2 || n->n_outputs < 1 || !cpu_in(n, 0) || !cpu_in(n, 1)) return 0;
    px_dtype dt = cpu_in_dt(n, 0), odt = n->outputs[0].dtype;
    if (!cpu_is_index(cpu_in_dt(n, 1))) return 0;
    int32_t ax = cpu_axis(cpu_attr_i(n, "axis", 0), n->inputs[0].rank);
    if (ax < 0) return 0;
    if (cpu_is_plain(dt)) return odt == dt;
    if (!cpu_is_quant(dt) || ax != 0 || !cpu_is_float(odt)) return 0;
    return odt == (px_dtype)cpu_attr_i(n, "dtype", PX_F32);
}

typedef struct gather_ctx {
    const px_tensor *D, *I, *O;
    int64_t dim, inner, ni;
    size_t es;           /* plain data: bytes per element */
    size_t row_bytes;    /* quantized data: bytes of one row of `inner` elements */
    px_dequantize_row_fn deq;
} gather_ctx;

static void gather_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const gather_ctx *c = vctx;
    const uint8_t *src = c->D->data;
    uint8_t *dst = c->O->data;
    for (int64_t item = b; item < e; item++) {
        int64_t o = item / c->ni, j = item - o * c->ni;
        int64_t k = load_index(c->I, j);
        if (k < 0) k += c->dim;
        int64_t s_row = o * c->dim + k;
        if (!c->deq) {
            memcpy(dst + (size_t)item * (size_t)c->inner * c->es, src + (size_t)s_row * (size_t)c->inner * c->es,
                   (size_t)c->inner * c->es);
            continue;
        }
        const uint8_t *p = src + (size_t)s_row * c->row_bytes;
        if (c->O->dtype == PX_F32) {
            c->deq(p, (float *)(void *)dst + item * c->inner, c->inner);
            continue;
        }
        const px_dtype_traits *tr = px_dtype_get_traits(c->D->dtype);
        float tmp[CPU_TILE];
        for (int64_t i = 0; i < c->inner; i += CPU_TILE) {
            int64_t m = c->inner - i < CPU_TILE ? c->inner - i : CPU_TILE;
            c->deq(p + (i / tr->block_size) * tr->type_size, tmp, m);
            cpu_store_f32(c->O->dtype, dst, item * c->inner + i, 1, m, tmp);
        }
    }
}

px_status cpu_gather_run(const px_kernel_args *a) {
    const px_tensor *D = &a->inputs[0], *I = &a->inputs[1], *O = &a->outputs[0];
    int32_t ax = cpu_axis(px_attr_int(a->node->attrs, a->node->n_attrs, "axis", 0), D->rank);
    if (ax < 0) return a->host->set_error(PX_ERR_INVALID_ARG, "gather: axis out of range for rank %d", D->rank);
    gather_ctx c = {D, I, O, D->ne[ax], cpu_prod(D->ne, ax + 1, D->rank), cpu_numel(I), 0, 0, NULL};
    int64_t outer = cpu_prod(D->ne, 0, ax);
    if (outer == 0 || c.ni == 0) return PX_OK;
    for (int64_t j = 0; j < c.ni; j++) {
        int64_t k = load_index(I, j);
        if (k < -c.dim || k >= c.dim)
            return a->host->set_error(PX_ERR_RANGE, "gather: index %lld (at %lld) out of range for axis %d of size %lld",
                                      (long long)k, (long long)j, ax, (long long)c.dim);
    }
    if (c.inner == 0) return PX_OK;
    if (cpu_is_quant(D->dtype)) {
        int64_t rb = px_dtype_row_size(D->dtype, c.inner);
        if (rb < 0) return a->host->set_error(PX_ERR_SHAPE, "gather: rows of %lld elements do not fill %s blocks",
                                              (long long)c.inner, px_dtype_name(D->dtype));
        c.row_bytes = (size_t)rb;
        c.deq = px_dequantize_row_get(D->dtype);
    } else {
        c.es = cpu_elt_size(D->dtype);
    }
    int64_t per = c.inner * (c.deq ? 8 : (int64_t)c.es);
    a->host->parallel_for(outer * c.ni, cpu_grain(per, COPY_GRAIN_BYTES), gather_range, &c);
    return PX_OK;
}

/* ---- concat ------------------------------------------------------------------------------ */

int cpu_concat_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs < 1 || n->n_outputs < 1) return 0;
    px_dtype dt = n->outputs[0].dtype;
    if (!cpu_is_plain(dt) || !px_attr_find(n->attrs, n->n_attrs, "axis")) return 0;
    for (int32_t i = 0; i < n->n_inputs; i++)
        if (!cpu_in(n, i) || cpu_in_dt(n, i) != dt || n->inputs[i].rank != n->outputs[0].rank) return 0;
    return cpu_axis(cpu_attr_i(n, "axis", 0), n->outputs[0].rank) >= 0;
}

typedef struct concat_ctx {
    const px_kernel_args *a;
    size_t out_chunk;  /* bytes of one outer step of the output */
    size_t inner_bytes;
    int32_t ax;
} concat_ctx;

static void concat_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const concat_ctx *c = vctx;
    const px_kernel_args *a = c->a;
    for (int64_t o = b; o < e; o++) {
        uint8_t *d = (uint8_t *)a->outputs[0].data + (size_t)o * c->out_chunk;
        for (int32_t i = 0; i < a->n_inputs; i++) {
            size_t chunk = (size_t)a->inputs[i].ne[c->ax] * c->inner_bytes;
            if (!chunk) continue;
            memcpy(d, (const uint8_t *)a->inputs[i].data + (size_t)o * chunk, chunk);
            d += chunk;
        }
    }
}

px_status cpu_concat_run(const px_kernel_args *a) {
    const px_tensor *O = &a->outputs[0];
    int32_t ax = cpu_axis(px_attr_int(a->node->attrs, a->node->n_attrs, "axis", 0), O->rank);
    if (ax < 0) return a->host->set_error(PX_ERR_INVALID_ARG, "concat: axis out of range for rank %d", O->rank);
    int64_t total = 0;
    for (int32_t i = 0; i < a->n_inputs; i++) total += a->inputs[i].ne[ax];
    if (total != O->ne[ax]) return a->host->set_error(PX_ERR_SHAPE, "concat: input sizes along axis %d do not add up", ax);
    if (cpu_numel(O) == 0) return PX_OK;
    concat_ctx c = {a, 0, (size_t)cpu_prod(O->ne, ax + 1, O->rank) * cpu_elt_size(O->dtype), ax};
    c.out_chunk = (size_t)O->ne[ax] * c.inner_bytes;
    int64_t outer = cpu_prod(O->ne, 0, ax);
    a->host->parallel_for(outer, cpu_grain((int64_t)c.out_chunk, COPY_GRAIN_BYTES), concat_range, &c);
    return PX_OK;
}

/* ---- slice --------------------------------------------------------------------------------- */

static int plain_unary_layout_supports(const px_node_desc *n) {
    if (n->n_inputs != 1 || n->n_outputs < 1 || !cpu_in(n, 0)) return 0;
    return cpu_is_plain(cpu_in_dt(n, 0)) && n->outputs[0].dtype == cpu_in_dt(n, 0);
}

int cpu_slice_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    const int64_t *s, *e;
    return plain_unary_layout_supports(n) && cpu_attr_ints(n, "starts", &s) >= 0 && cpu_attr_ints(n, "ends", &e) >= 0;
}

px_status cpu_slice_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    const px_node_desc *nd = a->node;
    const int64_t *starts = NULL, *ends = NULL, *axes = NULL, *steps = NULL;
    int32_t ns = cpu_attr_ints(nd, "starts", &starts), ne = cpu_attr_ints(nd, "ends", &ends);
    int32_t na = cpu_attr_ints(nd, "axes", &axes), nst = cpu_attr_ints(nd, "steps", &steps);
    if (ns < 0 || ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns) || na == -2 || nst == -2)
        return a->host->set_error(PX_ERR_INVALID_ARG, "slice: starts, ends, axes and steps must be int lists of one length");
    if (O->rank != X->rank) return a->host->set_error(PX_ERR_SHAPE, "slice: output rank differs from the input's");
    int64_t xst[PX_MAX_DIMS], begin[PX_MAX_DIMS], step[PX_MAX_DIMS], len[PX_MAX_DIMS];
    contiguous_strides(X->rank, X->ne, xst);
    for (int32_t d = 0; d < X->rank; d++) {
        begin[d] = 0;
        step[d] = 1;
        len[d] = X->ne[d];
    }
    for (int32_t i = 0; i < ns; i++) {
        int32_t d = cpu_axis(na >= 0 ? axes[i] : i, X->rank);
        int64_t stp = nst >= 0 ? steps[i] : 1, dim = X->ne[d < 0 ? 0 : d];
        if (d < 0 || stp == 0) return a->host->set_error(PX_ERR_INVALID_ARG, "slice: bad axis or step 0 (entry %d)", i);
        int64_t s = starts[i], e = ends[i];
        if (s < 0) s += dim;
        if (e < 0 && e > INT64_MIN + dim) e += dim;
        if (stp > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            len[d] = e > s ? (e - s - 1) / stp + 1 : 0;
        } else {
            /* ONNX: starts clamp to [0, dim-1], ends to [-1, dim-1] */
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            int64_t back = stp == INT64_MIN ? INT64_MAX : -stp;
            len[d] = dim > 0 && s > e ? (s - e - 1) / back + 1 : 0;
        }
        begin[d] = s;
        step[d] = stp;
    }
    int64_t st[PX_MAX_DIMS], base = 0, total = 1;
    for (int32_t d = 0; d < X->rank; d++) {
        if (len[d] != O->ne[d])
            return a->host->set_error(PX_ERR_SHAPE, "slice: output dim %d is %lld, the slice gives %lld", d,
                                      (long long)O->ne[d], (long long)len[d]);
        total *= len[d];
        st[d] = step[d] * xst[d];
    }
    if (total == 0) return PX_OK;
    for (int32_t d = 0; d < X->rank; d++) base += begin[d] * xst[d];
    size_t es = cpu_elt_size(X->dtype);
    copy_strided(a->host, es, O->rank, O->ne, st, (const uint8_t *)X->data + base * (int64_t)es, O->data);
    return PX_OK;
}

/* ---- permute -------------------------------------------------------------------------------- */

int cpu_permute_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    const int64_t *perm;
    return plain_unary_layout_supports(n) && cpu_attr_ints(n, "perm", &perm) == n->inputs[0].rank;
}

px_status cpu_permute_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    const int64_t *perm = NULL;
    if (cpu_attr_ints(a->node, "perm", &perm) != X->rank || O->rank != X->rank)
        return a->host->set_error(PX_ERR_INVALID_ARG, "permute: perm must list %d axes", X->rank);
    int64_t xst[PX_MAX_DIMS], st[PX_MAX_DIMS];
    int seen[PX_MAX_DIMS] = {0};
    contiguous_strides(X->rank, X->ne, xst);
    for (int32_t i = 0; i < X->rank; i++) {
        int32_t p = cpu_axis(perm[i], X->rank);
        if (p < 0 || seen[p] || X->ne[p] != O->ne[i])
            return a->host->set_error(PX_ERR_INVALID_ARG, "permute: perm is not a permutation of the input's axes");
        seen[p] = 1;
        st[i] = xst[p];
    }
    if (cpu_numel(O) == 0) return PX_OK;
    copy_strided(a->host, cpu_elt_size(X->dtype), O->rank, O->ne, st, X->data, O->data);
    return PX_OK;
}

/* ---- copy ----------------------------------------------------------------------------------- */

int cpu_copy_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 1 || n->n_outputs < 1 || !cpu_in(n, 0)) return 0;
    return cpu_valid(cpu_in_dt(n, 0)) && n->outputs[0].dtype == cpu_in_dt(n, 0);
}

typedef struct bytes_ctx {
    const uint8_t *src;
    uint8_t *dst;
    int64_t n;
} bytes_ctx;

static void bytes_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const bytes_ctx *c = vctx;
    int64_t lo = b * COPY_GRAIN_BYTES, hi = e * COPY_GRAIN_BYTES < c->n ? e * COPY_GRAIN_BYTES : c->n;
    memcpy(c->dst + lo, c->src + lo, (size_t)(hi - lo));
}

px_status cpu_copy_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    int64_t n = cpu_numel(X);
    if (n != cpu_numel(O)) return a->host->set_error(PX_ERR_SHAPE, "copy: element counts differ");
    int64_t bytes = px_dtype_row_size(X->dtype, n);
    if (bytes < 0) return a->host->set_error(PX_ERR_SHAPE, "copy: %lld elements do not fill %s blocks", (long long)n,
                                             px_dtype_name(X->dtype));
    if (bytes == 0 || X->data == O->data) return PX_OK;
    bytes_ctx c = {X->data, O->data, bytes};
    a->host->parallel_for((bytes + COPY_GRAIN_BYTES - 1) / COPY_GRAIN_BYTES, 1, bytes_range, &c);
    return PX_OK;
}

/* ---- cast ----------------------------------------------------------------------------------- */

int cpu_cast_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 1 || n->n_outputs < 1 || !cpu_in(n, 0)) return 0;
    px_dtype st = cpu_in_dt(n, 0), dt = n->outputs[0].dtype;
    if (!cpu_valid(st) || !cpu_valid(dt) || (int64_t)dt != cpu_attr_i(n, "dtype", -1)) return 0;
    if ((uint64_t)cpu_attr_i(n, "round_mode", 0) > 2) return 0;
    /* block types need whole blocks along the last axis */
    const px_value_desc *x = &n->inputs[0];
    int64_t last = x->rank ? x->ne[x->rank - 1] : 1;
    return px_dtype_row_size(st, last) >= 0 && px_dtype_row_size(dt, last) >= 0;
}

#define CAST_CHUNK 16384 /* elements; a multiple of every block size */

typedef struct cast_ctx {
    px_dtype st, dt;
    const uint8_t *src;
    uint8_t *dst;
    int64_t n;
    uint32_t flags; /* PX_CONVERT_* from the saturate and round_mode attributes */
} cast_ctx;

static void cast_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const cast_ctx *c = vctx;
    for (int64_t t = b; t < e; t++) {
        int64_t i0 = t * CAST_CHUNK, m = c->n - i0 < CAST_CHUNK ? c->n - i0 : CAST_CHUNK;
        px_convert_ex(c->st, c->src + px_dtype_row_size(c->st, i0), c->dt, c->dst + px_dtype_row_size(c->dt, i0), m,
                      c->flags);
    }
}

px_status cpu_cast_run(const px_kernel_args *a) {
    const px_tensor *X = &a->inputs[0], *O = &a->outputs[0];
    int64_t n = cpu_numel(X);
    if (n != cpu_numel(O)) return a->host->set_error(PX_ERR_SHAPE, "cast: element counts differ");
    if (px_dtype_row_size(X->dtype, n) < 0 || px_dtype_row_size(O->dtype, n) < 0)
        return a->host->set_error(PX_ERR_SHAPE, "cast %s -> %s: %lld elements do not fill whole blocks",
                                  px_dtype_name(X->dtype), px_dtype_name(O->dtype), (long long)n);
    if (n == 0) return PX_OK;
    static const uint32_t rounding[3] = {0, PX_CONVERT_ROUND_DOWN, PX_CONVERT_ROUND_NEAREST};
    const int64_t rm = cpu_attr_i(a->node, "round_mode", 0);
    if (rm < 0 || rm > 2) return a->host->set_error(PX_ERR_INVALID_ARG, "cast: round_mode %lld is not 0, 1 or 2", (long long)rm);
    const uint32_t flags = (cpu_attr_i(a->node, "saturate", 1) ? 0u : (uint32_t)PX_CONVERT_NO_SATURATE) | rounding[rm];
    cast_ctx c = {X->dtype, O->dtype, X->data, O->data, n, flags};
    a->host->parallel_for((n + CAST_CHUNK - 1) / CAST_CHUNK, 1, cast_range, &c);
    return PX_OK;
}

/* ---- set_rows ----------------------------------------------------------------------------------- */

int cpu_set_rows_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs != 3 || n->n_outputs < 1 || !cpu_in(n, 0) || !cpu_in(n, 1) || !cpu_in(n, 2)) return 0;
    const px_value_desc *D = &n->inputs[0];
    px_dtype dt = D->dtype;
    if (!cpu_valid(dt) || n->outputs[0].dtype != dt || !cpu_is_plain(cpu_in_dt(n, 1)) || !cpu_is_index(cpu_in_dt(n, 2)))
        return 0;
    if (D->rank < 1) return 0;
    return px_dtype_row_size(dt, cpu_prod(D->ne, 1, D->rank)) >= 0;
}

typedef struct setrows_ctx {
    const px_tensor *D, *S, *I;
    int64_t row;
    size_t drow_bytes, srow_bytes;
} setrows_ctx;

static void setrows_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const setrows_ctx *c = vctx;
    for (int64_t i = b; i < e; i++) {
        int64_t r = load_index(c->I, i);
        px_convert(c->S->dtype, (const uint8_t *)c->S->data + (size_t)i * c->srow_bytes, c->D->dtype,
                   (uint8_t *)c->D->data + (size_t)r * c->drow_bytes, c->row);
    }
}

px_status cpu_set_rows_run(const px_kernel_args *a) {
    /* The runtime gives out and dst one memory: rows are written into dst
     * in place and nothing else is touched. */
    const px_tensor *D = &a->inputs[0], *S = &a->inputs[1], *I = &a->inputs[2];
    int64_t R = D->ne[0], row = cpu_prod(D->ne, 1, D->rank), N = cpu_numel(I);
    if (S->rank != D->rank || S->ne[0] != N || cpu_prod(S->ne, 1, S->rank) != row)
        return a->host->set_error(PX_ERR_SHAPE, "set_rows: src must be [N, ...dst row] with N indices");
    int increasing = 1;
    for (int64_t i = 0; i < N; i++) {
        int64_t r = load_index(I, i);
        if (r < 0 || r >= R)
            return a->host->set_error(PX_ERR_RANGE, "set_rows: index %lld (at %lld) out of range [0, %lld)",
                                      (long long)r, (long long)i, (long long)R);
        if (i > 0 && r <= load_index(I, i - 1)) increasing = 0;
    }
    int64_t drb = px_dtype_row_size(D->dtype, row);
    if (drb < 0) return a->host->set_error(PX_ERR_SHAPE, "set_rows: rows of %lld elements do not fill %s blocks",
                                           (long long)row, px_dtype_name(D->dtype));
    if (N == 0 || row == 0) return PX_OK;
    setrows_ctx c = {D, S, I, row, (size_t)drb, (size_t)row * cpu_elt_size(S->dtype)};
    if (increasing) /* distinct rows: safe to write in parallel */
        a->host->parallel_for(N, cpu_grain(row, 1 << 15), setrows_range, &c);
    else /* repeated indices: the last write wins, as in order */
        setrows_range(&c, 0, N, 0);
    return PX_OK;
}

/* ---- arange ------------------------------------------------------------------------------------- */

int cpu_arange_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_outputs < 1 || n->n_inputs != 0) return 0;
    px_dtype dt = n->outputs[0].dtype;
    return (cpu_is_float(dt) || cpu_is_int(dt)) && n->outputs[0].rank == 1;
}

typedef struct arange_ctx {
    double start, step;
    px_dtype dt;
    void *o;
    int64_t n;
} arange_ctx;

static void arange_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const arange_ctx *c = vctx;
    double v[CPU_TILE];
    for (int64_t t = b; t < e; t++) {
        int64_t i0 = t * CPU_TILE, m = c->n - i0 < CPU_TILE ? c->n - i0 : CPU_TILE;
        for (int64_t k = 0; k < m; k++) v[k] = c->start + (double)(i0 + k) * c->step;
        cpu_store_f64(c->dt, c->o, i0, 1, m, v);
    }
}

px_status cpu_arange_run(const px_kernel_args *a) {
    const px_tensor *O = &a->outputs[0];
    int64_t n = cpu_numel(O);
    if (n == 0) return PX_OK;
    arange_ctx c = {px_attr_float(a->node->attrs, a->node->n_attrs, "start", 0.0),
                    px_attr_float(a->node->attrs, a->node->n_attrs, "step", 1.0), O->dtype, O->data, n};
    a->host->parallel_for((n + CPU_TILE - 1) / CPU_TILE, cpu_grain(CPU_TILE, 1 << 15), arange_range, &c);
    return PX_OK;
}
