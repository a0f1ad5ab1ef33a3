/* ONNX sequences and optionals, resolved at import: a sequence is a list of
 * tensor values known when the model is loaded (its length and every
 * element's shape), an optional a list of zero or one. SequenceConstruct,
 * SequenceEmpty, SequenceInsert, SequenceErase, SequenceAt, SequenceLength,
 * SplitToSequence, ConcatFromSequence, Optional, OptionalHasElement,
 * OptionalGetElement. Positions must be known at load. Graph inputs and
 * outputs of these types are not supported (onnx-run reads and writes
 * tensors). */
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

static px_status oom(ox_ctx *c, const onx_node *n) { return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory"); }

/* Define output 0 of n as a sequence (kind 1) or optional (kind 2). */
static px_status out_seq(ox_ctx *c, const onx_node *n, int kind, ox_val **items, int32_t count, px_dtype elem) {
    ox_val tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.v = PX_NONE;
    tmp.is_seq = kind;
    tmp.seq_n = count;
    tmp.elem_dt = elem;
    if (count) {
        if (!(tmp.seq = onx_alloc(ox_arena(c), sizeof(ox_val *) * (size_t)count))) return oom(c, n);
        memcpy(tmp.seq, items, sizeof(ox_val *) * (size_t)count);
    }
    return ox_out_alias(c, n, 0, &tmp);
}

static ox_val *seq_in(ox_ctx *c, const onx_node *n, int i, int kind) {
    ox_val *v = ox_in(c, n, i);
    return v && v->is_seq == kind ? v : NULL;
}

/* A position known at load, in [-len, len] (insert) or [-len, len-1]. */
static px_status position(ox_ctx *c, const onx_node *n, int i, int32_t len, int insert, int32_t *out) {
    ox_val *p = ox_in(c, n, i);
    if (!p) {
        *out = insert ? len : len - 1;
        return PX_OK;
    }
    int64_t *v, k;
    px_status st = ox_const_i64(c, n, p, "position", &v, &k);
    if (st) return st;
    int64_t q = k ? v[0] : 0;
    if (q < 0) q += len;
    if (q < 0 || q > len - (insert ? 0 : 1)) return ox_fail(c, n, PX_ERR_RANGE, "position %lld is out of range for a sequence of %d", (long long)(k ? v[0] : 0), len);
    *out = (int32_t)q;
    return PX_OK;
}

static px_status imp_seq_construct(ox_ctx *c, const onx_node *n) {
    ox_val *items[256];
    if (n->n_inputs > 256) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than 256 elements");
    for (int32_t i = 0; i < n->n_inputs; i++)
        if (!(items[i] = ox_in(c, n, i)) || items[i]->is_seq) return ox_fail(c, n, PX_ERR_INVALID_ARG, "element %d is not a tensor", i);
    return out_seq(c, n, 1, items, n->n_inputs, n->n_inputs ? items[0]->dt : PX_F32);
}

static px_status imp_seq_empty(ox_ctx *c, const onx_node *n) {
    int dt = onx_to_px_dtype((int32_t)ox_attr_i(n, "dtype", 1));
    return out_seq(c, n, 1, NULL, 0, dt < 0 ? PX_F32 : (px_dtype)dt);
}

static px_status imp_seq_insert_erase(ox_ctx *c, const onx_node *n) {
    ox_val *s = seq_in(c, n, 0, 1);
    if (!s) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input 0 is not a sequence");
    int insert = !strcmp(n->op_type, "SequenceInsert");
    ox_val **items = onx_alloc(ox_arena(c), sizeof(ox_val *) * (size_t)(s->seq_n + 1));
    if (!items) return oom(c, n);
    int32_t pos;
    px_status st = position(c, n, insert ? 2 : 1, s->seq_n, insert, &pos);
    if (st) return st;
    int32_t k = 0;
    for (int32_t i = 0; i <= s->seq_n; i++) {
        if (insert && i == pos) {
            ox_val *t = ox_in(c, n, 1);
            if (!t || t->is_seq) return ox_fail(c, n, PX_ERR_INVALID_ARG, "the inserted value is not a tensor");
            items[k++] = t;
        }
        if (i < s->seq_n && (insert || i != pos)) items[k++] = s->seq[i];
    }
    return out_seq(c, n, 1, items, k, s->elem_dt);
}

static px_status imp_seq_at(ox_ctx *c, const onx_node *n) {
    ox_val *s = seq_in(c, n, 0, 1);
    if (!s) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input 0 is not a sequence");
    int32_t pos;
    if (!ox_in(c, n, 1)) return ox_fail(c, n, PX_ERR_INVALID_ARG, "position is required");
    px_status st = position(c, n, 1, s->seq_n, 0, &pos);
    return st ? st : ox_out_alias(c, n, 0, s->seq[pos]);
}

static px_status imp_seq_length(ox_ctx *c, const onx_node *n) {
    ox_val *s = seq_in(c, n, 0, 1);
    if (!s) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input 0 is not a sequence");
    int64_t len = s->seq_n;
    return ox_out_const(c, n, 0, PX_I64, 0, NULL, &len);
}

static px_status imp_split_to_seq(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    if (!x || x->is_seq) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input is not a tensor");
    int32_t ax = ox_axis(ox_attr_i(n, "axis", 0), x->rank);
    if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
    int64_t dim = x->ne[ax], sizes[1024], cnt = 0;
    int keep = (int)ox_attr_i(n, "keepdims", 1);
    ox_val *sp = ox_in(c, n, 1);
    if (sp) {
        int64_t *v, k;
        px_status st = ox_const_i64(c, n, sp, "split", &v, &k);
        if (st) return st;
        if (sp->rank == 0) { /* chunks of v[0], the last one shorter */
            if (v[0] <= 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "split must be positive");
            for (int64_t o = 0; o < dim && cnt < 1024; o += v[0]) sizes[cnt++] = dim - o < v[0] ? dim - o : v[0];
        } else {
            int64_t sum = 0;
            for (int64_t i = 0; i < k && cnt < 1024; i++) sum += sizes[cnt++] = v[i];
            if (sum != dim) return ox_fail(c, n, PX_ERR_SHAPE, "split sizes add up to %lld, the axis has %lld", (long long)sum, (long long)dim);
        }
        keep = 1;
    } else {
        for (int64_t i = 0; i < dim && cnt < 1024; i++) sizes[cnt++] = 1;
    }
    if (cnt >= 1024) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "more than 1024 pieces");
    ox_val **items = onx_alloc(ox_arena(c), sizeof(ox_val *) * (size_t)(cnt ? cnt : 1));
    if (!items) return oom(c, n);
    px_value xv = ox_ir(c, x);
    int64_t off = 0;
    for (int64_t i = 0; i < cnt; i++) {
        int64_t s0 = off, e0 = off + sizes[i], a0 = ax, one = 1;
        px_attr a[] = {PX_ATTR_INTS("starts", &s0, 1), PX_ATTR_INTS("ends", &e0, 1), PX_ATTR_INTS("axes", &a0, 1),
                       PX_ATTR_INTS("steps", &one, 1)};
        px_value piece = ox_node(c, PX_OP_SLICE, &xv, 1, a, 4);
        if (!keep) {
            int64_t ne[PX_MAX_DIMS];
            int32_t r = 0;
            for (int32_t d = 0; d < x->rank; d++)
                if (d != ax) ne[r++] = x->ne[d];
            piece = ox_reshape(c, piece, r, ne);
        }
        ox_val *v = onx_alloc(ox_arena(c), sizeof *v);
        if (!v || piece == PX_NONE) return piece == PX_NONE ? ox_fail(c, n, px_graph_status(ox_graph(c)), "%s", px_graph_error_message(ox_graph(c))) : oom(c, n);
        v->name = "";
        v->v = piece;
        ox_shape(c, piece, &v->dt, &v->rank, v->ne);
        items[i] = v;
        off += sizes[i];
    }
    return out_seq(c, n, 1, items, (int32_t)cnt, x->dt);
}

static px_status imp_concat_from_seq(ox_ctx *c, const onx_node *n) {
    ox_val *s = seq_in(c, n, 0, 1);
    if (!s || s->seq_n == 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input 0 is not a non-empty sequence");
    int new_axis = (int)ox_attr_i(n, "new_axis", 0);
    int32_t r0 = s->seq[0]->rank, ax = ox_axis(ox_attr_i(n, "axis", 0), r0 + new_axis);
    if (ax < 0) return ox_fail(c, n, PX_ERR_INVALID_ARG, "axis out of range");
    px_value *in = onx_alloc(ox_arena(c), sizeof(px_value) * (size_t)s->seq_n);
    if (!in) return oom(c, n);
    for (int32_t i = 0; i < s->seq_n; i++) {
        ox_val *e = s->seq[i];
        in[i] = ox_ir(c, e);
        if (new_axis) {
            int64_t ne[PX_MAX_DIMS];
            for (int32_t d = 0, q = 0; d <= e->rank; d++) ne[d] = d == ax ? 1 : e->ne[q++];
            in[i] = ox_reshape(c, in[i], e->rank + 1, ne);
        }
    }
    if (s->seq_n == 1) return ox_out_ir(c, n, 0, ox_unary(c, PX_OP_COPY, in[0]));
    px_attr a[] = {PX_ATTR_I("axis", ax)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_CONCAT, in, s->seq_n, a, 1));
}

static px_status imp_optional(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    px_dtype dt = PX_F32;
    const onx_attr *a = ox_attr(n, "type");
    (void)a;
    return x ? out_seq(c, n, 2, &x, 1, x->dt) : out_seq(c, n, 2, NULL, 0, dt);
}

static px_status imp_optional_has(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    uint8_t has = x && !(x->is_seq == 2 && x->seq_n == 0);
    return ox_out_const(c, n, 0, PX_BOOL, 0, NULL, &has);
}

static px_status imp_optional_get(ox_ctx *c, const onx_node *n) {
    ox_val *x = ox_in(c, n, 0);
    if (!x) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input is missing");
    if (x->is_seq != 2) return ox_out_alias(c, n, 0, x); /* a plain tensor or sequence passes */
    if (!x->seq_n) return ox_fail(c, n, PX_ERR_INVALID_ARG, "the optional is empty");
    return ox_out_alias(c, n, 0, x->seq[0]);
}

const ox_op ox_ops_seq[] = {
    {"SequenceConstruct", imp_seq_construct}, {"SequenceEmpty", imp_seq_empty},
    {"SequenceInsert", imp_seq_insert_erase}, {"SequenceErase", imp_seq_insert_erase}, {"SequenceAt", imp_seq_at},
    {"SequenceLength", imp_seq_length}, {"SplitToSequence", imp_split_to_seq},
    {"ConcatFromSequence", imp_concat_from_seq}, {"Optional", imp_optional},
    {"OptionalHasElement", imp_optional_has}, {"OptionalGetElement", imp_optional_get},
    {NULL, NULL},
};
