/* ONNX tensor and shape ops: Constant, Shape, Reshape and friends, Concat,
 * Split, Slice, Gather*, Scatter*, Expand, Tile, Cast, Range, Trilu, TopK,
 * ArgMax/ArgMin, CumSum, DepthToSpace, OneHot. Values known at import
 * (shape arithmetic) are computed here; everything else becomes IR nodes. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

#define FOLD_MAX 65536

static int known(const ox_val *v) { return ox_known(v); }

static px_status oom(ox_ctx *c, const onx_node *n) { return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory"); }

/* Output i as x seen with another shape (same elements in the same order). */
static px_status out_view(ox_ctx *c, const onx_node *n, int i, ox_val *x, int32_t rank, const int64_t *ne) {
    if (ox_numel(rank, ne) != ox_numel(x->rank, x->ne))
        return ox_fail(c, n, PX_ERR_SHAPE, "cannot view %lld elements as %lld", (long long)ox_numel(x->rank, x->ne),
                       (long long)ox_numel(rank, ne));
    if (rank > PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "rank %d is above %d", rank, PX_MAX_DIMS);
    if (known(x) && !x->is_input) { /* a constant seen with another shape */
        px_status st = ox_out_alias(c, n, i, x);
        if (st || !ox_has_out(n, i)) return st;
        ox_val *o = ox_find(c, n->outputs[i]);
        o->rank = rank;
        memcpy(o->ne, ne, sizeof(int64_t) * (size_t)rank);
        o->v = PX_NONE;
        return PX_OK;
    }
    return ox_out_ir(c, n, i, ox_reshape(c, ox_ir(c, x), rank, ne));
}

static px_status need_in(ox_ctx *c, const onx_node *n, int i, ox_val **out) {
    *out = ox_in(c, n, i);
    if (!*out) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input %d is missing", i);
    return PX_OK;
}

/* ---- Constant, Identity, Shape, Size ----------------------------------------------- */

static px_status imp_constant(ox_ctx *c, const onx_node *n) {
    if (n->n_attrs != 1) return ox_fail(c, n, PX_ERR_INVALID_ARG, "needs exactly one value attribute");
    const onx_attr *a = &n->attrs[0];
    const char *nm = a->name;
    if (!strcmp(nm, "value")) {
        if (!a->t) return ox_fail(c, n, PX_ERR_INVALID_ARG, "value is not a tensor");
        const void *d;
        uint64_t nb;
        char err[300];
        px_status st = onx_tensor_data(ox_arena(c), a->t, NULL, 0, &d, &nb, err, sizeof err);
        if (st) return ox_fail(c, n, st, "%s", err);
        if (a->t->rank > PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "rank %d is above %d", a->t->rank, PX_MAX_DIMS);
        return ox_out_const(c, n, 0, (px_dtype)onx_to_px_dtype(a->t->data_type), a->t->rank, a->t->dims, d);
    }
    int64_t one = 1;
    if (!strcmp(nm, "value_float")) return ox_out_const(c, n, 0, PX_F32, 0, NULL, &a->f);
    if (!strcmp(nm, "value_int")) return ox_out_const(c, n, 0, PX_I64, 0, NULL, &a->i);
    if (!strcmp(nm, "value_floats")) {
        int64_t k = a->floats ? a->n : 0; /* n counts the floats (onx_attr) */
        return ox_out_const(c, n, 0, PX_F32, 1, &k, a->floats ? (const void *)a->floats : (const void *)&one);
    }
    if (!strcmp(nm, "value_ints")) {
        int64_t k = a->ints ? a->n : 0;
        return ox_out_const(c, n, 0, PX_I64, 1, &k, a->ints ? (const void *)a->ints : (const void *)&one);
    }
    return ox_fail(c, n, PX_ERR_UNSUPPORTED, "attribute %s (strings and sparse tensors) is not supported", nm);
}

static px_status imp_identity(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    if ((st = ox_out_alias(c, n, 0, x))) return st;
    if (!strcmp(n->op_type, "Dropout") && ox_has_out(n, 1)) { /* inference: keep everything */
        uint8_t one = 1; /* the mask: all true, made at run time */
        px_value t1 = ox_constant(c, PX_BOOL, 0, NULL, &one);
        if (x->rank == 0) return ox_out_ir(c, n, 1, ox_unary(c, PX_OP_COPY, t1));
        px_attr ea[] = {PX_ATTR_INTS("shape", x->ne, x->rank)};
        return ox_out_ir(c, n, 1, ox_node(c, PX_OP_EXPAND, &t1, 1, ea, 1));
    }
    return PX_OK;
}

static px_status imp_shape(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    int64_t r = x->rank, s = ox_attr_i(n, "start", 0), e = ox_attr_i(n, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    int64_t k = e > s ? e - s : 0;
    return ox_out_const(c, n, 0, PX_I64, 1, &k, x->ne + s);
}

static px_status imp_size(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    int64_t k = ox_numel(x->rank, x->ne);
    return ox_out_const(c, n, 0, PX_I64, 0, NULL, &k);
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ---------------------------------------------- */

static px_status imp_reshape(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    int64_t *sh, k;
    if (ox_opset(c) < 5) {
        const int64_t *a;
        k = ox_attr_ints(n, "shape", &a);
        if (k < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "attribute shape is missing");
        sh = (int64_t *)a;
    } else if ((st = ox_const_i64(c, n, ox_in(c, n, 1), "shape", &sh, &k))) {
        return st;
    }
    if (k > PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "rank %lld is above %d", (long long)k, PX_MAX_DIMS);
    int allowzero = (int)ox_attr_i(n, "allowzero", 0);
    int64_t ne[PX_MAX_DIMS], prod = 1;
    int neg = -1;
    for (int64_t i = 0; i < k; i++) {
        ne[i] = sh[i];
        if (sh[i] == 0 && !allowzero) {
            if (i >= x->rank) return ox_fail(c, n, PX_ERR_SHAPE, "shape[%lld] = 0 copies a dim the input lacks", (long long)i);
            ne[i] = x->ne[i];
        }
        if (ne[i] == -1) {
            if (neg >= 0) return ox_fail(c, n, PX_ERR_SHAPE, "shape has more than one -1");
            neg = (int)i;
        } else if (ne[i] < 0) {
            return ox_fail(c, n, PX_ERR_SHAPE, "shape[%lld] = %lld", (long long)i, (long long)ne[i]);
        } else {
            prod *= ne[i];
        }
    }
    int64_t total = ox_numel(x->rank, x->ne);
    if (neg >= 0) {
        if (prod == 0 || total % prod) return ox_fail(c, n, PX_ERR_SHAPE, "cannot infer the -1 dim (%lld elements)", (long long)total);
        ne[neg] = total / prod;
    }
    return out_view(c, n, 0, x, (int32_t)k, ne);
}

static px_status imp_flatten(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    int64_t ax = ox_attr_i(n, "axis", 1);
    if (ax < 0) ax += x->rank;
    if (ax < 0 || ax > x->rank) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
    int64_t ne[2] = {ox_numel((int32_t)ax, x->ne), ox_numel(x->rank - (int32_t)ax, x->ne + ax)};
    return out_view(c, n, 0, x, 2, ne);
}

/* axes from the attribute (old opsets) or input 1 */
static px_status axes_of(ox_ctx *c, const onx_node *n, int64_t attr_before, int64_t **axes, int64_t *k) {
    if (ox_opset(c) < attr_before) {
        const int64_t *a;
        *k = ox_attr_ints(n, "axes", &a);
        *axes = (int64_t *)a;
        if (*k < 0) *k = 0, *axes = NULL;
        return PX_OK;
    }
    ox_val *v = ox_in(c, n, 1);
    if (!v) {
        *k = 0;
        *axes = NULL;
        return PX_OK;
    }
    return ox_const_i64(c, n, v, "axes", axes, k);
}

static px_status imp_squeeze(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    int64_t *axes, k;
    if (st || (st = axes_of(c, n, 13, &axes, &k))) return st;
    int drop[PX_MAX_DIMS] = {0};
    for (int64_t i = 0; i < k; i++) {
        int32_t a = ox_axis(axes[i], x->rank);
        if (a < 0 || x->ne[a] != 1) return ox_fail(c, n, PX_ERR_SHAPE, "axis %lld cannot be squeezed", (long long)axes[i]);
        drop[a] = 1;
    }
    int64_t ne[PX_MAX_DIMS];
    int32_t r = 0;
    for (int32_t d = 0; d < x->rank; d++)
        if (!(k ? drop[d] : x->ne[d] == 1)) ne[r++] = x->ne[d];
    return out_view(c, n, 0, x, r, ne);
}

static px_status imp_unsqueeze(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    int64_t *axes, k;
    if (st || (st = axes_of(c, n, 13, &axes, &k))) return st;
    int32_t r = x->rank + (int32_t)k;
    if (r > PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "rank %d is above %d", r, PX_MAX_DIMS);
    int ins[PX_MAX_DIMS] = {0};
    for (int64_t i = 0; i < k; i++) {
        int32_t a = ox_axis(axes[i], r);
        if (a < 0 || ins[a]) return ox_fail(c, n, PX_ERR_INVALID_ARG, "bad or repeated axis %lld", (long long)axes[i]);
        ins[a] = 1;
    }
    int64_t ne[PX_MAX_DIMS];
    for (int32_t d = 0, s = 0; d < r; d++) ne[d] = ins[d] ? 1 : x->ne[s++];
    return out_view(c, n, 0, x, r, ne);
}

/* ---- Transpose, Concat, Split, Slice --------------------------------------------------- */

static px_status imp_transpose(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    const int64_t *p;
    int64_t perm[PX_MAX_DIMS];
    int32_t k = ox_attr_ints(n, "perm", &p);
    for (int32_t d = 0; d < x->rank; d++) perm[d] = k >= 0 ? (d < k ? p[d] : d) : x->rank - 1 - d;
    if (k >= 0 && k != x->rank) return ox_fail(c, n, PX_ERR_INVALID_ARG, "perm has %d entries for rank %d", k, x->rank);
    return ox_out_ir(c, n, 0, ox_permute(c, ox_ir(c, x), x->rank, perm));
}

static px_status imp_concat(ox_ctx *c, const onx_node *n) {
    ox_val *x0;
    px_status st = need_in(c, n, 0, &x0);
    if (st) return st;
    int32_t ax = ox_axis(ox_attr_i(n, "axis", 0), x0->rank);
    if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range for rank %d", x0->rank);
    /* shape arithmetic: 1-D integer vectors known at import */
    if (ox_all_const(c, n) && x0->rank == 1 && ox_is_int(x0->dt)) {
        int64_t total = 0;
        for (int32_t i = 0; i < n->n_inputs; i++) {
            ox_val *v = ox_in(c, n, i);
            if (v && (v->rank != 1 || v->dt != x0->dt)) goto ir;
            if (v) total += v->ne[0];
        }
        size_t es = onx_px_size(x0->dt);
        uint8_t *d = onx_alloc(ox_arena(c), (size_t)(total ? total : 1) * es), *p = d;
        if (!d) return oom(c, n);
        for (int32_t i = 0; i < n->n_inputs; i++) {
            ox_val *v = ox_in(c, n, i);
            if (!v) continue;
            memcpy(p, v->data, (size_t)v->ne[0] * es);
            p += (size_t)v->ne[0] * es;
        }
        return ox_out_const(c, n, 0, x0->dt, 1, &total, d);
    }
ir:;
    px_value in[256];
    int32_t k = 0;
    for (int32_t i = 0; i < n->n_inputs && k < 256; i++) {
        ox_val *v = ox_in(c, n, i);
        if (v && v->ne[ax] == 0 && v->rank == x0->rank) continue; /* empty pieces add nothing */
        if (v) in[k++] = ox_ir(c, v);
    }
    if (k == 0) in[k++] = ox_ir(c, x0);
    if (k == 1) return ox_out_ir(c, n, 0, ox_unary(c, PX_OP_COPY, in[0]));
    px_attr a[] = {PX_ATTR_I("axis", ax)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_CONCAT, in, k, a, 1));
}

static px_value slice1(ox_ctx *c, px_value x, int64_t axis, int64_t start, int64_t end) {
    int64_t st = 1;
    px_attr a[] = {PX_ATTR_INTS("starts", &start, 1), PX_ATTR_INTS("ends", &end, 1), PX_ATTR_INTS("axes", &axis, 1),
                   PX_ATTR_INTS("steps", &st, 1)};
    return ox_node(c, PX_OP_SLICE, &x, 1, a, 4);
}

/* Host slice of a value known at import (shape arithmetic). */
static px_status slice_known(ox_ctx *c, const onx_node *n, ox_val *x, int64_t k, const int64_t *st_, const int64_t *en,
                             const int64_t *ax, const int64_t *sp) {
    int64_t b[PX_MAX_DIMS], s[PX_MAX_DIMS], ne[PX_MAX_DIMS];
    for (int32_t d = 0; d < x->rank; d++) b[d] = 0, s[d] = 1, ne[d] = x->ne[d];
    for (int64_t i = 0; i < k; i++) {
        int32_t a = ox_axis(ax ? ax[i] : i, x->rank);
        if (a < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
        int64_t dim = x->ne[a], step = sp ? sp[i] : 1, lo = st_[i], hi = en[i];
        if (step == 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "step 0");
        if (lo < 0) lo += dim;
        if (hi < 0) hi += dim;
        if (step > 0) {
            lo = lo < 0 ? 0 : lo > dim ? dim : lo;
            hi = hi < 0 ? 0 : hi > dim ? dim : hi;
            ne[a] = hi > lo ? (hi - lo + step - 1) / step : 0;
        } else {
            lo = lo < 0 ? 0 : lo > dim - 1 ? dim - 1 : lo;
            hi = hi < -1 ? -1 : hi > dim - 1 ? dim - 1 : hi;
            ne[a] = lo > hi ? (lo - hi - step - 1) / -step : 0;
        }
        b[a] = lo;
        s[a] = step;
    }
    int64_t cnt = ox_numel(x->rank, ne);
    size_t es = onx_px_size(x->dt);
    uint8_t *d = onx_alloc(ox_arena(c), (size_t)(cnt ? cnt : 1) * es);
    if (!d) return oom(c, n);
    for (int64_t i = 0; i < cnt; i++) {
        int64_t rem = i, src = 0, stride = 1;
        for (int32_t dd = x->rank - 1; dd >= 0; dd--) {
            int64_t cc = rem % ne[dd];
            rem /= ne[dd];
            src += (b[dd] + cc * s[dd]) * stride;
            stride *= x->ne[dd];
        }
        memcpy(d + (size_t)i * es, (const uint8_t *)x->data + (size_t)src * es, es);
    }
    return ox_out_const(c, n, 0, x->dt, x->rank, ne, d);
}

static px_status imp_split(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    int32_t ax = ox_axis(ox_attr_i(n, "axis", 0), x->rank);
    if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
    int64_t *sp = NULL, k = 0;
    if (ox_opset(c) < 13) {
        const int64_t *a;
        k = ox_attr_ints(n, "split", &a);
        sp = (int64_t *)a;
        if (k < 0) k = 0;
    } else if (ox_in(c, n, 1) && (st = ox_const_i64(c, n, ox_in(c, n, 1), "split", &sp, &k))) {
        return st;
    }
    int32_t no = n->n_outputs;
    int64_t sizes[256];
    if (no > 256) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than 256 outputs");
    int64_t dim = x->ne[ax];
    if (k) {
        if (k != no) return ox_fail(c, n, PX_ERR_INVALID_ARG, "split has %lld entries for %d outputs", (long long)k, no);
        int64_t sum = 0;
        for (int32_t i = 0; i < no; i++) sum += sizes[i] = sp[i];
        if (sum != dim) return ox_fail(c, n, PX_ERR_SHAPE, "split sizes add up to %lld, the axis has %lld", (long long)sum, (long long)dim);
    } else { /* equal parts; the last one smaller (num_outputs, opset 18) */
        int64_t part = (dim + no - 1) / no;
        for (int32_t i = 0; i < no; i++) {
            int64_t left = dim - part * i;
            sizes[i] = left < 0 ? 0 : left < part ? left : part;
        }
    }
    int64_t off = 0;
    if (known(x) && ox_numel(x->rank, x->ne) <= FOLD_MAX) { /* shape arithmetic */
        for (int32_t i = 0; i < no; i++) {
            int64_t s0 = off, e0 = off + sizes[i], a0 = ax;
            onx_node one = *n;
            one.n_outputs = 1;
            one.outputs = &n->outputs[i];
            if (ox_has_out(n, i) && (st = slice_known(c, &one, x, 1, &s0, &e0, &a0, NULL))) return st;
            off += sizes[i];
        }
        return PX_OK;
    }
    px_value xv = ox_ir(c, x);
    for (int32_t i = 0; i < no; i++) {
        if ((st = ox_out_ir(c, n, i, slice1(c, xv, ax, off, off + sizes[i])))) return st;
        off += sizes[i];
    }
    return PX_OK;
}

static px_status imp_slice(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    int64_t *s, *e, *ax = NULL, *sp = NULL, k, k2, k3 = -1, k4 = -1;
    if (ox_opset(c) < 10) {
        const int64_t *a, *b, *cx;
        k = ox_attr_ints(n, "starts", &a);
        k2 = ox_attr_ints(n, "ends", &b);
        k3 = ox_attr_ints(n, "axes", &cx);
        s = (int64_t *)a, e = (int64_t *)b, ax = k3 >= 0 ? (int64_t *)cx : NULL;
        if (k < 0 || k2 < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "starts and ends are required");
    } else {
        if ((st = ox_const_i64(c, n, ox_in(c, n, 1), "starts", &s, &k)) || (st = ox_const_i64(c, n, ox_in(c, n, 2), "ends", &e, &k2)))
            return st;
        if (ox_in(c, n, 3) && (st = ox_const_i64(c, n, ox_in(c, n, 3), "axes", &ax, &k3))) return st;
        if (ox_in(c, n, 4) && (st = ox_const_i64(c, n, ox_in(c, n, 4), "steps", &sp, &k4))) return st;
    }
    if (k != k2 || (k3 >= 0 && k3 != k) || (k4 >= 0 && k4 != k))
        return ox_fail(c, n, PX_ERR_INVALID_ARG, "starts, ends, axes and steps differ in length");
    if (k > PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_INVALID_ARG, "too many axes");
    if (known(x) && ox_numel(x->rank, x->ne) <= FOLD_MAX) return slice_known(c, n, x, k, s, e, ax, sp);
    int64_t axes[PX_MAX_DIMS], steps[PX_MAX_DIMS];
    for (int64_t i = 0; i < k; i++) {
        axes[i] = ax ? ax[i] : i;
        steps[i] = sp ? sp[i] : 1;
    }
    px_value xv = ox_ir(c, x);
    if (k == 0) return ox_out_ir(c, n, 0, ox_unary(c, PX_OP_COPY, xv));
    px_attr a[] = {PX_ATTR_INTS("starts", s, (int32_t)k), PX_ATTR_INTS("ends", e, (int32_t)k),
                   PX_ATTR_INTS("axes", axes, (int32_t)k), PX_ATTR_INTS("steps", steps, (int32_t)k)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_SLICE, &xv, 1, a, 4));
}

/* ---- Gather and Scatter ---------------------------------------------------------------- */

static px_status imp_gather(ox_ctx *c, const onx_node *n) {
    ox_val *x, *idx;
    px_status st;
    if ((st = need_in(c, n, 0, &x)) || (st = need_in(c, n, 1, &idx))) return st;
    int32_t ax = ox_axis(ox_attr_i(n, "axis", 0), x->rank);
    if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range for rank %d", x->rank);
    if (known(x) && known(idx) && ox_numel(x->rank, x->ne) <= FOLD_MAX) { /* Gather on shapes */
        int64_t *iv, ni;
        if ((st = ox_const_i64(c, n, idx, "indices", &iv, &ni))) return st;
        int64_t outer = ox_numel(ax, x->ne), dim = x->ne[ax], inner = ox_numel(x->rank - ax - 1, x->ne + ax + 1);
        int32_t r = x->rank - 1 + idx->rank;
        if (r > PX_MAX_DIMS || outer * ni * inner > FOLD_MAX) goto ir;
        int64_t ne[PX_MAX_DIMS];
        int32_t q = 0;
        for (int32_t d = 0; d < ax; d++) ne[q++] = x->ne[d];
        for (int32_t d = 0; d < idx->rank; d++) ne[q++] = idx->ne[d];
        for (int32_t d = ax + 1; d < x->rank; d++) ne[q++] = x->ne[d];
        size_t es = onx_px_size(x->dt);
        uint8_t *out = onx_alloc(ox_arena(c), (size_t)(outer * ni * inner + 1) * es), *p = out;
        if (!out) return oom(c, n);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < ni; j++) {
                int64_t t = iv[j] < 0 ? iv[j] + dim : iv[j];
                if (t < 0 || t >= dim) return ox_fail(c, n, PX_ERR_RANGE, "index %lld is out of range for dim %lld", (long long)iv[j], (long long)dim);
                memcpy(p, (const uint8_t *)x->data + (size_t)((o * dim + t) * inner) * es, (size_t)inner * es);
                p += (size_t)inner * es;
            }
        return ox_out_const(c, n, 0, x->dt, r, ne, out);
    }
ir:;
    px_value in[2] = {ox_ir(c, x), ox_ir(c, idx)};
    px_attr a[] = {PX_ATTR_I("axis", ax)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_GATHER, in, 2, a, 1));
}

static int64_t reduction_of(ox_ctx *c, const onx_node *n) {
    const char *r = ox_attr_s(c, n, "reduction", "none");
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    for (int64_t i = 0; i < 5; i++)
        if (!strcmp(r, names[i])) return i;
    return -1;
}

static px_status imp_indexed(ox_ctx *c, const onx_node *n) {
    const char *t = n->op_type;
    px_op op = !strcmp(t, "GatherElements") ? PX_OP_GATHER_ELEMENTS
             : !strcmp(t, "GatherND") ? PX_OP_GATHER_ND
             : !strcmp(t, "ScatterND") ? PX_OP_SCATTER_ND
                                       : PX_OP_SCATTER_ELEMENTS; /* ScatterElements, Scatter */
    int n_in = op == PX_OP_GATHER_ELEMENTS || op == PX_OP_GATHER_ND ? 2 : 3;
    px_value in[3];
    for (int i = 0; i < n_in; i++)
        if ((in[i] = ox_in_ir(c, n, i)) == PX_NONE) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input %d is missing", i);
    px_attr a[2];
    int na = 0;
    if (op == PX_OP_GATHER_ND) a[na++] = (px_attr)PX_ATTR_I("batch_dims", ox_attr_i(n, "batch_dims", 0));
    else if (op != PX_OP_SCATTER_ND) a[na++] = (px_attr)PX_ATTR_I("axis", ox_attr_i(n, "axis", 0));
    if (n_in == 3) {
        int64_t red = reduction_of(c, n);
        if (red < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "unknown reduction");
        a[na++] = (px_attr)PX_ATTR_I("reduction", red);
    }
    return ox_out_ir(c, n, 0, ox_node(c, op, in, n_in, a, na));
}

/* ---- Expand, Tile ---------------------------------------------------------------------- */

static px_status imp_expand(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    int64_t *sh, k;
    if (st || (st = ox_const_i64(c, n, ox_in(c, n, 1), "shape", &sh, &k))) return st;
    int32_t r = x->rank > k ? x->rank : (int32_t)k;
    if (r > PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "rank %d is above %d", r, PX_MAX_DIMS);
    int64_t ne[PX_MAX_DIMS];
    for (int32_t i = 0; i < r; i++) {
        int64_t a = i - (r - x->rank) >= 0 ? x->ne[i - (r - x->rank)] : 1, b = i - (r - k) >= 0 ? sh[i - (r - k)] : 1;
        if (a != b && a != 1 && b != 1) return ox_fail(c, n, PX_ERR_SHAPE, "shape does not broadcast with the input (dim %d)", i);
        ne[i] = a == 1 ? b : a;
    }
    px_value xv = ox_ir(c, x);
    px_attr a[] = {PX_ATTR_INTS("shape", ne, r)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_EXPAND, &xv, 1, a, 1));
}

static px_status imp_tile(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    int64_t *rep, k;
    if (st || (st = ox_const_i64(c, n, ox_in(c, n, 1), "repeats", &rep, &k))) return st;
    if (k != x->rank) return ox_fail(c, n, PX_ERR_INVALID_ARG, "repeats has %lld entries for rank %d", (long long)k, x->rank);
    px_value v = ox_ir(c, x);
    /* one axis at a time: [a, d, b] -> [a, 1, d, b] -> expand [a, r, d, b] -> [a, r*d, b] */
    int64_t cur[PX_MAX_DIMS];
    memcpy(cur, x->ne, sizeof cur);
    for (int32_t ax = 0; ax < x->rank; ax++) {
        if (rep[ax] < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "negative repeat");
        if (rep[ax] == 1) continue;
        int64_t ne3[3] = {ox_numel(ax, cur), cur[ax], ox_numel(x->rank - ax - 1, cur + ax + 1)};
        int64_t ne4[4] = {ne3[0], 1, ne3[1], ne3[2]};
        v = ox_reshape(c, v, 4, ne4);
        ne4[1] = rep[ax];
        px_attr a[] = {PX_ATTR_INTS("shape", ne4, 4)};
        v = ox_node(c, PX_OP_EXPAND, &v, 1, a, 1);
        cur[ax] *= rep[ax];
        v = ox_reshape(c, v, x->rank, cur);
    }
    if (v == ox_ir(c, x)) v = ox_unary(c, PX_OP_COPY, v);
    return ox_out_ir(c, n, 0, v);
}

/* ---- Cast, CastLike, ConstantOfShape, Range ------------------------------------------- */

/* Cast and CastLike to ONNX type `to`. saturate (default 1) applies to the
 * float8 targets; casts to int4/uint4/int2/uint2 wrap around (ONNX defines
 * them by ml_dtypes' astype: the low bits of the value truncated toward
 * zero); round_mode ("up", "down", "nearest") applies to float8e8m0. */
static px_status cast_to(ox_ctx *c, const onx_node *n, int32_t to) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    int dt = onx_to_px_dtype(to);
    if (dt < 0) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "cast to %s is not supported", onx_type_name(to));
    const int f8 = dt == PX_F8E4M3FN || dt == PX_F8E4M3FNUZ || dt == PX_F8E5M2 || dt == PX_F8E5M2FNUZ || dt == PX_F8E8M0;
    const int sub_int = dt == PX_I4 || dt == PX_U4 || dt == PX_I2 || dt == PX_U2;
    const int saturate = !sub_int && (!f8 || ox_attr_i(n, "saturate", 1) != 0);
    int64_t round_mode = 0;
    if (dt == PX_F8E8M0) {
        const char *rm = ox_attr_s(c, n, "round_mode", "up");
        if (!strcmp(rm, "down")) round_mode = 1;
        else if (!strcmp(rm, "nearest")) round_mode = 2;
        else if (strcmp(rm, "up")) return ox_fail(c, n, PX_ERR_INVALID_ARG, "round_mode '%s' is not up, down or nearest", rm);
    }
    const uint32_t flags = (saturate ? 0u : (uint32_t)PX_CONVERT_NO_SATURATE) |
                           (round_mode == 1 ? (uint32_t)PX_CONVERT_ROUND_DOWN : 0u) |
                           (round_mode == 2 ? (uint32_t)PX_CONVERT_ROUND_NEAREST : 0u);
    if (known(x) && ox_numel(x->rank, x->ne) <= FOLD_MAX) {
        int64_t cnt = ox_numel(x->rank, x->ne);
        void *d = onx_alloc(ox_arena(c), (size_t)(cnt ? cnt : 1) * 8);
        if (!d) return oom(c, n);
        if (px_convert_ex(x->dt, x->data, (px_dtype)dt, d, cnt, flags)) return ox_fail(c, n, PX_ERR_DTYPE, "cannot convert");
        return ox_out_const(c, n, 0, (px_dtype)dt, x->rank, x->ne, d);
    }
    px_value xv = ox_ir(c, x);
    if (x->dt == (px_dtype)dt) return ox_out_ir(c, n, 0, ox_unary(c, PX_OP_COPY, xv));
    if (!flags) return ox_out_ir(c, n, 0, ox_cast(c, xv, (px_dtype)dt));
    px_attr a[] = {PX_ATTR_I("dtype", dt), PX_ATTR_I("saturate", saturate), PX_ATTR_I("round_mode", round_mode)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_CAST, &xv, 1, a, 3));
}

static px_status imp_cast(ox_ctx *c, const onx_node *n) {
    if (!strcmp(n->op_type, "CastLike")) {
        ox_val *t;
        px_status st = need_in(c, n, 1, &t);
        if (st) return st;
        return cast_to(c, n, onx_from_px_dtype(t->dt));
    }
    const onx_attr *a = ox_attr(n, "to");
    if (!a) return ox_fail(c, n, PX_ERR_INVALID_ARG, "attribute to is missing");
    return cast_to(c, n, (int32_t)a->i);
}

static px_status imp_constant_of_shape(ox_ctx *c, const onx_node *n) {
    int64_t *sh, k;
    px_status st = ox_const_i64(c, n, ox_in(c, n, 0), "input", &sh, &k);
    if (st) return st;
    if (k > PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "rank %lld is above %d", (long long)k, PX_MAX_DIMS);
    px_dtype dt = PX_F32;
    uint8_t val[8] = {0};
    const onx_attr *a = ox_attr(n, "value");
    if (a && a->t) {
        const void *d;
        uint64_t nb;
        char err[300];
        if ((st = onx_tensor_data(ox_arena(c), a->t, NULL, 0, &d, &nb, err, sizeof err))) return ox_fail(c, n, st, "%s", err);
        if (nb < 1 || nb > 8) return ox_fail(c, n, PX_ERR_INVALID_ARG, "value must hold one element");
        dt = (px_dtype)onx_to_px_dtype(a->t->data_type);
        memcpy(val, d, nb);
    }
    int64_t cnt = 1;
    size_t es = onx_px_size(dt);
    for (int64_t i = 0; i < k; i++) {
        if (sh[i] < 0) return ox_fail(c, n, PX_ERR_SHAPE, "negative dim");
        if (sh[i] && cnt > (INT64_MAX / 16) / sh[i]) return ox_fail(c, n, PX_ERR_RANGE, "the shape's size overflows");
        cnt *= sh[i];
    }
    if ((uint64_t)cnt * es > ((uint64_t)256 << 20)) { /* very large: filled at run time, not held at load */
        px_value s0 = ox_constant(c, dt, 0, NULL, val);
        px_attr ea[] = {PX_ATTR_INTS("shape", sh, (int32_t)k)};
        return ox_out_ir(c, n, 0, ox_node(c, PX_OP_EXPAND, &s0, 1, ea, 1));
    }
    uint8_t *d = onx_alloc(ox_arena(c), (size_t)(cnt ? cnt : 1) * es);
    if (!d) return oom(c, n);
    for (int64_t i = 0; i < cnt; i++) memcpy(d + (size_t)i * es, val, es);
    return ox_out_const(c, n, 0, dt, (int32_t)k, sh, d);
}

static px_status imp_range(ox_ctx *c, const onx_node *n) {
    ox_val *s;
    px_status st = need_in(c, n, 0, &s);
    double *a, *b, *d;
    int64_t k;
    if (st || (st = ox_const_f64(c, n, s, "start", &a, &k)) || (st = ox_const_f64(c, n, ox_in(c, n, 1), "limit", &b, &k)) ||
        (st = ox_const_f64(c, n, ox_in(c, n, 2), "delta", &d, &k)))
        return st;
    if (d[0] == 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "delta is 0");
    double cnt = ceil((b[0] - a[0]) / d[0]);
    int64_t m = cnt > 0 ? (int64_t)cnt : 0;
    if (m > (1ll << 40)) return ox_fail(c, n, PX_ERR_RANGE, "range of %lld elements", (long long)m);
    if (m > FOLD_MAX) /* long: made at run time */
        return ox_out_ir(c, n, 0, px_graph_arange(ox_graph(c), px_dim_c(m), a[0], d[0], s->dt, NULL));
    double *v = onx_alloc(ox_arena(c), (size_t)(m ? m : 1) * 8);
    void *o = onx_alloc(ox_arena(c), (size_t)(m ? m : 1) * 8);
    if (!v || !o) return oom(c, n);
    if (ox_is_int(s->dt)) {
        int64_t *iv = (int64_t *)v, a0 = (int64_t)a[0], d0 = (int64_t)d[0];
        for (int64_t i = 0; i < m; i++) iv[i] = a0 + i * d0;
        px_convert(PX_I64, iv, s->dt, o, m);
    } else {
        for (int64_t i = 0; i < m; i++) v[i] = a[0] + (double)i * d[0];
        px_convert(PX_F64, v, s->dt, o, m);
    }
    return ox_out_const(c, n, 0, s->dt, 1, &m, o);
}

/* ---- Trilu, TopK, ArgMax/ArgMin, CumSum -------------------------------------------------- */

static px_status imp_trilu(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    if (x->rank < 2) return ox_fail(c, n, PX_ERR_SHAPE, "input must have rank >= 2");
    int64_t kk = 0;
    if (ox_in(c, n, 1)) {
        int64_t *kv, cnt;
        if ((st = ox_const_i64(c, n, ox_in(c, n, 1), "k", &kv, &cnt))) return st;
        kk = cnt ? kv[0] : 0;
    }
    int upper = (int)ox_attr_i(n, "upper", 1);
    int64_t R = x->ne[x->rank - 2], C = x->ne[x->rank - 1], r1[2] = {R, 1}, c1[2] = {1, C};
    /* keep (i, j) where j - i >= k (upper) or j - i <= k (lower), made at run time */
    px_value row = ox_reshape(c, px_graph_arange(ox_graph(c), px_dim_c(R), 0, 1, PX_I64, NULL), 2, r1);
    px_value col = ox_reshape(c, px_graph_arange(ox_graph(c), px_dim_c(C), 0, 1, PX_I64, NULL), 2, c1);
    px_value diff = ox_binary(c, PX_OP_SUB, col, row);
    px_value mask = ox_binary(c, upper ? PX_OP_GREATER_EQUAL : PX_OP_LESS_EQUAL, diff, ox_scalar(c, PX_I64, (double)kk));
    uint8_t zero[8] = {0};
    px_value in[3] = {mask, ox_ir(c, x), ox_constant(c, x->dt, 0, NULL, zero)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_WHERE, in, 3, NULL, 0));
}

static px_status imp_topk(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    int64_t k;
    if (ox_opset(c) < 10) {
        k = ox_attr_i(n, "k", -1);
    } else {
        int64_t *kv, cnt;
        if ((st = ox_const_i64(c, n, ox_in(c, n, 1), "K", &kv, &cnt))) return st;
        if (cnt != 1) return ox_fail(c, n, PX_ERR_INVALID_ARG, "K must hold one value");
        k = kv[0];
    }
    int32_t ax = ox_axis(ox_attr_i(n, "axis", -1), x->rank);
    if (ax < 0 || k < 0 || k > x->ne[ax]) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis or k out of range");
    px_value xv = ox_ir(c, x);
    px_attr a[] = {PX_ATTR_I("k", k), PX_ATTR_I("axis", ax), PX_ATTR_I("largest", ox_attr_i(n, "largest", 1)),
                   PX_ATTR_I("sorted", ox_attr_i(n, "sorted", 1))};
    px_value idx = ox_node(c, PX_OP_TOPK, &xv, 1, a, 4);
    px_value in[2] = {xv, idx};
    px_attr g[] = {PX_ATTR_I("axis", ax)};
    if ((st = ox_out_ir(c, n, 0, ox_node(c, PX_OP_GATHER_ELEMENTS, in, 2, g, 1)))) return st;
    return ox_out_ir(c, n, 1, idx);
}

static px_status imp_arg(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_attr a[] = {PX_ATTR_I("axis", ox_attr_i(n, "axis", 0)), PX_ATTR_I("keepdims", ox_attr_i(n, "keepdims", 1)),
                   PX_ATTR_I("select_last_index", ox_attr_i(n, "select_last_index", 0))};
    return ox_out_ir(c, n, 0, ox_node(c, !strcmp(n->op_type, "ArgMax") ? PX_OP_ARGMAX : PX_OP_ARGMIN, &x, 1, a, 3));
}

static px_status imp_cumsum(ox_ctx *c, const onx_node *n) {
    int64_t *ax, k;
    px_status st = ox_const_i64(c, n, ox_in(c, n, 1), "axis", &ax, &k);
    if (st) return st;
    if (k != 1) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis must hold one value");
    px_value x = ox_in_ir(c, n, 0);
    px_attr a[] = {PX_ATTR_I("axis", ax[0]), PX_ATTR_I("exclusive", ox_attr_i(n, "exclusive", 0)),
                   PX_ATTR_I("reverse", ox_attr_i(n, "reverse", 0))};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_CUMSUM, &x, 1, a, 3));
}

/* ---- DepthToSpace, SpaceToDepth, OneHot ---------------------------------------------------- */

static px_status imp_depth_space(ox_ctx *c, const onx_node *n) {
    ox_val *x;
    px_status st = need_in(c, n, 0, &x);
    if (st) return st;
    if (x->rank != 4) return ox_fail(c, n, PX_ERR_SHAPE, "input must be [N, C, H, W]");
    int64_t b = ox_attr_i(n, "blocksize", 0), N = x->ne[0], C = x->ne[1], H = x->ne[2], W = x->ne[3];
    if (b <= 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "blocksize must be positive");
    px_value v = ox_ir(c, x);
    if (!strcmp(n->op_type, "DepthToSpace")) {
        if (C % (b * b)) return ox_fail(c, n, PX_ERR_SHAPE, "channels not divisible by blocksize^2");
        int crd = !strcmp(ox_attr_s(c, n, "mode", "DCR"), "CRD");
        int64_t c2 = C / (b * b);
        int64_t s6[6] = {N, b, b, c2, H, W}, p[6] = {0, 3, 4, 1, 5, 2};
        if (crd) {
            int64_t s6c[6] = {N, c2, b, b, H, W}, pc[6] = {0, 1, 4, 2, 5, 3};
            memcpy(s6, s6c, sizeof s6);
            memcpy(p, pc, sizeof p);
        }
        v = ox_permute(c, ox_reshape(c, v, 6, s6), 6, p);
        int64_t o[4] = {N, c2, H * b, W * b};
        return ox_out_ir(c, n, 0, ox_reshape(c, v, 4, o));
    }
    if (H % b || W % b) return ox_fail(c, n, PX_ERR_SHAPE, "H and W must be divisible by blocksize");
    int64_t s6[6] = {N, C, H / b, b, W / b, b}, p[6] = {0, 3, 5, 1, 2, 4};
    v = ox_permute(c, ox_reshape(c, v, 6, s6), 6, p);
    int64_t o[4] = {N, C * b * b, H / b, W / b};
    return ox_out_ir(c, n, 0, ox_reshape(c, v, 4, o));
}

static px_status imp_onehot(ox_ctx *c, const onx_node *n) {
    ox_val *idx, *vals;
    px_status st;
    double *dv;
    int64_t k;
    if ((st = need_in(c, n, 0, &idx)) || (st = need_in(c, n, 2, &vals)) ||
        (st = ox_const_f64(c, n, ox_in(c, n, 1), "depth", &dv, &k)))
        return st;
    int64_t depth = (int64_t)dv[0];
    int32_t r = idx->rank + 1;
    int32_t ax = ox_axis(ox_attr_i(n, "axis", -1), r);
    if (ax < 0 || r > PX_MAX_DIMS || depth <= 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis or depth out of range");
    /* normalise negative indices: i < 0 -> i + depth */
    px_value iv = ox_cast(c, ox_ir(c, idx), PX_I64);
    px_value dep = ox_scalar(c, PX_I64, (double)depth), zero = ox_scalar(c, PX_I64, 0);
    px_value in3[3] = {ox_binary(c, PX_OP_LESS, iv, zero), ox_binary(c, PX_OP_ADD, iv, dep), iv};
    iv = ox_node(c, PX_OP_WHERE, in3, 3, NULL, 0);
    int64_t ne[PX_MAX_DIMS], ane[PX_MAX_DIMS];
    for (int32_t d = 0, s = 0; d < r; d++) {
        ne[d] = d == ax ? 1 : idx->ne[s++];
        ane[d] = d == ax ? depth : 1;
    }
    iv = ox_reshape(c, iv, r, ne);
    px_value ar = ox_reshape(c, px_graph_arange(ox_graph(c), px_dim_c(depth), 0, 1, PX_I64, NULL), r, ane);
    px_value eq = ox_binary(c, PX_OP_EQUAL, iv, ar);
    int64_t one = 1, two = 2, b0 = 0, b1 = 1, ax0 = 0;
    px_value vv = ox_ir(c, vals);
    px_attr s0[] = {PX_ATTR_INTS("starts", &b0, 1), PX_ATTR_INTS("ends", &one, 1), PX_ATTR_INTS("axes", &ax0, 1)};
    px_attr s1[] = {PX_ATTR_INTS("starts", &b1, 1), PX_ATTR_INTS("ends", &two, 1), PX_ATTR_INTS("axes", &ax0, 1)};
    px_value off = ox_node(c, PX_OP_SLICE, &vv, 1, s0, 3), on = ox_node(c, PX_OP_SLICE, &vv, 1, s1, 3);
    px_value w[3] = {eq, on, off};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_WHERE, w, 3, NULL, 0));
}

const ox_op ox_ops_tensor[] = {
    {"Constant", imp_constant}, {"Identity", imp_identity}, {"Dropout", imp_identity}, {"Shape", imp_shape},
    {"Size", imp_size}, {"Reshape", imp_reshape}, {"Flatten", imp_flatten}, {"Squeeze", imp_squeeze},
    {"Unsqueeze", imp_unsqueeze}, {"Transpose", imp_transpose}, {"Concat", imp_concat}, {"Split", imp_split},
    {"Slice", imp_slice}, {"Gather", imp_gather}, {"GatherElements", imp_indexed}, {"GatherND", imp_indexed},
    {"ScatterElements", imp_indexed}, {"Scatter", imp_indexed}, {"ScatterND", imp_indexed},
    {"Expand", imp_expand}, {"Tile", imp_tile}, {"Cast", imp_cast}, {"CastLike", imp_cast},
    {"ConstantOfShape", imp_constant_of_shape}, {"Range", imp_range}, {"Trilu", imp_trilu}, {"TopK", imp_topk},
    {"ArgMax", imp_arg}, {"ArgMin", imp_arg}, {"CumSum", imp_cumsum}, {"DepthToSpace", imp_depth_space},
    {"SpaceToDepth", imp_depth_space}, {"OneHot", imp_onehot},
    {NULL, NULL},
};
