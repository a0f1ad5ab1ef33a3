/* sepmem — kernels. Plain F32 loops, written for clarity, not speed.
 *
 * Ops: ADD SUB MUL DIV, NEG EXP SQRT RSQRT SIN COS TANH SIGMOID SILU SCALE,
 * MATMUL (F32, trans_b 0/1, batch broadcast, optional bias), SOFTMAX (mask,
 * scale), REDUCE_SUM/MEAN/MAX, PERMUTE, COPY, CONCAT, SLICE, GATHER (axis 0,
 * I32 indices), CAST (F32 <-> I32/F16/BOOL), WHERE, the comparisons (F32 or
 * I32 inputs), ARANGE (F32/I32), SET_ROWS (F32/F16 destination).
 * Integer inputs are accepted only where the decompositions of the
 * composite ops need them (positions, masks); everything else is F32.
 * Deliberately absent: RMS_NORM, SWIGLU, ROPE, ATTENTION (the core must
 * decompose them), LAYER_NORM, GELU, ERF (the core must fall back). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plexus/dtype.h"
#include "sepmem.h"

#define MAX_IN 16

/* ---- helpers ------------------------------------------------------------------ */

static int64_t numel(const px_tensor *t) {
    int64_t n = 1;
    for (int32_t i = 0; i < t->rank; i++) n *= t->ne[i];
    return n;
}

static void contiguous_strides(const px_tensor *t, int64_t *st) {
    int64_t s = 1;
    for (int32_t i = t->rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= t->ne[i];
    }
}

static int in_dtype(const px_node_desc *n, int32_t i) {
    return px_node_has_input(n, i) ? (int)n->inputs[i].dtype : -1;
}
static int out_dtype(const px_node_desc *n) { return n->n_outputs > 0 ? (int)n->outputs[0].dtype : -1; }

/* Resolved arguments of one kernel call. */
typedef struct kargs {
    sm_device *dev;
    const px_kernel_args *a;
    int32_t n_in;
    const px_tensor *ti[MAX_IN];
    uint8_t *in[MAX_IN];       /* NULL for absent inputs and empty tensors */
    const px_tensor *to;
    uint8_t *out;
} kargs;

static px_status kbegin(const px_kernel_args *a, kargs *k) {
    memset(k, 0, sizeof *k);
    if (!a || a->n_outputs < 1 || !a->outputs || a->n_inputs > MAX_IN || (a->n_inputs > 0 && !a->inputs))
        return sm_host->set_error(PX_ERR_INTERNAL, "sepmem kernel: malformed kernel args");
    k->a = a;
    k->dev = a->device;
    k->n_in = a->n_inputs;
    char what[32];
    for (int32_t i = 0; i < a->n_inputs; i++) {
        if ((int)a->inputs[i].dtype < 0) continue; /* absent optional input */
        k->ti[i] = &a->inputs[i];
        snprintf(what, sizeof what, "input %d", i);
        px_status st = sm_resolve(k->dev, &a->inputs[i], what, &k->in[i]);
        if (st) return st;
    }
    k->to = &a->outputs[0];
    px_status st = sm_resolve(k->dev, k->to, "output 0", &k->out);
    sm_count_kernel_run();
    return st;
}

static const px_attr *attrs_of(const kargs *k, int32_t *n) {
    *n = k->a->node ? k->a->node->n_attrs : 0;
    return k->a->node ? k->a->node->attrs : NULL;
}

/* Odometer over an iteration shape, with up to 4 operands' element offsets. */
typedef struct iter {
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    int64_t st[4][PX_MAX_DIMS];
    int64_t idx[PX_MAX_DIMS];
    int64_t off[4];
    int32_t n_ops;
} iter;

static void it_init(iter *it, int32_t rank, const int64_t *ne, int32_t n_ops) {
    memset(it, 0, sizeof *it);
    it->r = rank;
    for (int32_t i = 0; i < rank; i++) it->ne[i] = ne[i];
    it->n_ops = n_ops;
}

/* Broadcast strides of `t` against the iteration shape (numpy rules). */
static void it_bcast(iter *it, int32_t op, const px_tensor *t) {
    int64_t st[PX_MAX_DIMS];
    contiguous_strides(t, st);
    for (int32_t d = 0; d < it->r; d++) {
        int32_t j = d - (it->r - t->rank);
        it->st[op][d] = (j < 0 || (t->ne[j] == 1 && it->ne[d] != 1)) ? 0 : st[j];
    }
}

static void it_next(iter *it) {
    for (int32_t d = it->r - 1; d >= 0; d--) {
        it->idx[d]++;
        for (int32_t o = 0; o < it->n_ops; o++) it->off[o] += it->st[o][d];
        if (it->idx[d] < it->ne[d]) return;
        for (int32_t o = 0; o < it->n_ops; o++) it->off[o] -= it->st[o][d] * it->ne[d];
        it->idx[d] = 0;
    }
}

/* ---- binary arithmetic, comparisons, where --------------------------------------- */

static int sup_binary(void *dev, const px_node_desc *n) {
    (void)dev;
    return in_dtype(n, 0) == PX_F32 && in_dtype(n, 1) == PX_F32 && out_dtype(n) == PX_F32;
}

static px_status run_binary(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int64_t n = numel(k.to);
    if (n == 0) return PX_OK;
    iter it;
    it_init(&it, k.to->rank, k.to->ne, 2);
    it_bcast(&it, 0, k.ti[0]);
    it_bcast(&it, 1, k.ti[1]);
    const float *x = (const float *)k.in[0], *y = (const float *)k.in[1];
    float *o = (float *)k.out;
    px_op op = a->node->op;
    for (int64_t i = 0; i < n; i++, it_next(&it)) {
        float u = x[it.off[0]], v = y[it.off[1]];
        float r;
        switch (op) {
        case PX_OP_ADD: r = u + v; break;
        case PX_OP_SUB: r = u - v; break;
        case PX_OP_MUL: r = u * v; break;
        default: r = u / v; break;
        }
        o[i] = r;
    }
    return PX_OK;
}

static int sup_compare(void *dev, const px_node_desc *n) {
    (void)dev;
    int t = in_dtype(n, 0);
    return (t == PX_F32 || t == PX_I32) && in_dtype(n, 1) == t && out_dtype(n) == PX_BOOL;
}

static int compare(px_op op, double u, double v) {
    switch (op) {
    case PX_OP_EQUAL: return u == v;
    case PX_OP_NOT_EQUAL: return u != v;
    case PX_OP_LESS: return u < v;
    case PX_OP_LESS_EQUAL: return u <= v;
    case PX_OP_GREATER: return u > v;
    default: return u >= v;
    }
}

static px_status run_compare(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int64_t n = numel(k.to);
    if (n == 0) return PX_OK;
    iter it;
    it_init(&it, k.to->rank, k.to->ne, 2);
    it_bcast(&it, 0, k.ti[0]);
    it_bcast(&it, 1, k.ti[1]);
    int is_i32 = k.ti[0]->dtype == PX_I32;
    for (int64_t i = 0; i < n; i++, it_next(&it)) {
        double u, v;
        if (is_i32) {
            u = ((const int32_t *)k.in[0])[it.off[0]];
            v = ((const int32_t *)k.in[1])[it.off[1]];
        } else {
            u = ((const float *)k.in[0])[it.off[0]];
            v = ((const float *)k.in[1])[it.off[1]];
        }
        k.out[i] = (uint8_t)compare(a->node->op, u, v);
    }
    return PX_OK;
}

static int sup_where(void *dev, const px_node_desc *n) {
    (void)dev;
    return in_dtype(n, 0) == PX_BOOL && in_dtype(n, 1) == PX_F32 && in_dtype(n, 2) == PX_F32;
}

static px_status run_where(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int64_t n = numel(k.to);
    if (n == 0) return PX_OK;
    iter it;
    it_init(&it, k.to->rank, k.to->ne, 3);
    for (int32_t i = 0; i < 3; i++) it_bcast(&it, i, k.ti[i]);
    const float *x = (const float *)k.in[1], *y = (const float *)k.in[2];
    float *o = (float *)k.out;
    for (int64_t i = 0; i < n; i++, it_next(&it)) o[i] = k.in[0][it.off[0]] ? x[it.off[1]] : y[it.off[2]];
    return PX_OK;
}

/* ---- unary ------------------------------------------------------------------------- */

static int sup_unary(void *dev, const px_node_desc *n) {
    (void)dev;
    return in_dtype(n, 0) == PX_F32 && out_dtype(n) == PX_F32;
}

static px_status run_unary(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int64_t n = numel(k.to);
    const float *x = (const float *)k.in[0];
    float *o = (float *)k.out;
    int32_t na;
    const px_attr *at = attrs_of(&k, &na);
    double sc = px_attr_float(at, na, "scale", 1.0), bias = px_attr_float(at, na, "bias", 0.0);
    px_op op = a->node->op;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i], r;
        switch (op) {
        case PX_OP_NEG: r = -v; break;
        case PX_OP_EXP: r = exp(v); break;
        case PX_OP_SQRT: r = sqrt(v); break;
        case PX_OP_RSQRT: r = 1.0 / sqrt(v); break;
        case PX_OP_SIN: r = sin(v); break;
        case PX_OP_COS: r = cos(v); break;
        case PX_OP_TANH: r = tanh(v); break;
        case PX_OP_SIGMOID: r = 1.0 / (1.0 + exp(-v)); break;
        case PX_OP_SILU: r = v / (1.0 + exp(-v)); break;
        default: r = v * sc + bias; break; /* SCALE */
        }
        o[i] = (float)r;
    }
    return PX_OK;
}

/* ---- matmul ------------------------------------------------------------------------ */

static int sup_matmul(void *dev, const px_node_desc *n) {
    (void)dev;
    if (in_dtype(n, 0) != PX_F32 || in_dtype(n, 1) != PX_F32 || out_dtype(n) != PX_F32) return 0;
    if (px_node_has_input(n, 2) && in_dtype(n, 2) != PX_F32) return 0;
    return 1;
}

static px_status run_matmul(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int32_t na;
    const px_attr *at = attrs_of(&k, &na);
    int tb = px_attr_int(at, na, "trans_b", 0) != 0;
    const px_tensor *A = k.ti[0], *B = k.ti[1], *O = k.to;
    if (A->rank < 2 || B->rank < 2 || O->rank < 2)
        return sm_host->set_error(PX_ERR_SHAPE, "sepmem matmul: ranks %d, %d, %d", A->rank, B->rank, O->rank);
    int64_t M = A->ne[A->rank - 2], K = A->ne[A->rank - 1];
    int64_t N = O->ne[O->rank - 1];
    int64_t Kb = tb ? B->ne[B->rank - 1] : B->ne[B->rank - 2];
    int64_t Nb = tb ? B->ne[B->rank - 2] : B->ne[B->rank - 1];
    if (Kb != K || Nb != N || O->ne[O->rank - 2] != M)
        return sm_host->set_error(PX_ERR_SHAPE, "sepmem matmul: shapes do not agree (M %lld K %lld / K %lld N %lld)",
                                  (long long)M, (long long)K, (long long)Kb, (long long)Nb);
    /* Batch dims as tensors of matrices. */
    px_tensor ab = *A, bb = *B;
    ab.rank -= 2;
    bb.rank -= 2;
    iter it;
    it_init(&it, O->rank - 2, O->ne, 2);
    it_bcast(&it, 0, &ab);
    it_bcast(&it, 1, &bb);
    int64_t nb = 1;
    for (int32_t i = 0; i < O->rank - 2; i++) nb *= O->ne[i];
    if (M * N == 0) return PX_OK;
    const float *x = (const float *)k.in[0], *w = (const float *)k.in[1];
    const float *bias = (const float *)k.in[2];
    float *o = (float *)k.out;
    for (int64_t b = 0; b < nb; b++, it_next(&it)) {
        const float *xa = x ? x + it.off[0] * M * K : NULL;
        const float *wb = w ? w + it.off[1] * K * N : NULL;
        float *ob = o + b * M * N;
        for (int64_t m = 0; m < M; m++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t kk = 0; kk < K; kk++) {
                    double bv = tb ? wb[j * K + kk] : wb[kk * N + j];
                    s += (double)xa[m * K + kk] * bv;
                }
                if (bias) s += bias[j];
                ob[m * N + j] = (float)s;
            }
    }
    return PX_OK;
}

/* ---- softmax ---------------------------------------------------------------------- */

static int sup_softmax(void *dev, const px_node_desc *n) {
    (void)dev;
    if (in_dtype(n, 0) != PX_F32 || out_dtype(n) != PX_F32) return 0;
    return !px_node_has_input(n, 1) || in_dtype(n, 1) == PX_F32;
}

static px_status run_softmax(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int32_t na;
    const px_attr *at = attrs_of(&k, &na);
    double scale = px_attr_float(at, na, "scale", 1.0);
    const px_tensor *X = k.ti[0];
    int64_t n = numel(X);
    if (n == 0) return PX_OK;
    int64_t cols = X->ne[X->rank - 1], rows = n / cols;
    const float *x = (const float *)k.in[0], *mask = (const float *)k.in[1];
    float *o = (float *)k.out;
    iter it;
    it_init(&it, X->rank, X->ne, 1);
    if (mask) it_bcast(&it, 0, k.ti[1]);
    for (int64_t r = 0; r < rows; r++) {
        float *row = o + r * cols;
        double mx = -INFINITY;
        for (int64_t c = 0; c < cols; c++, it_next(&it)) {
            double v = x[r * cols + c] * scale + (mask ? mask[it.off[0]] : 0.0);
            row[c] = (float)v;
            if (v > mx) mx = v;
        }
        if (mx == -INFINITY) {
            for (int64_t c = 0; c < cols; c++) row[c] = 0.0f;
            continue;
        }
        double sum = 0;
        for (int64_t c = 0; c < cols; c++) sum += exp((double)row[c] - mx);
        for (int64_t c = 0; c < cols; c++) row[c] = (float)(exp((double)row[c] - mx) / sum);
    }
    return PX_OK;
}

/* ---- reductions --------------------------------------------------------------------- */

static int sup_reduce(void *dev, const px_node_desc *n) {
    (void)dev;
    int t = in_dtype(n, 0);
    if (t == PX_F32) return 1;
    return t == PX_I32 && n->op == PX_OP_REDUCE_MAX;
}

static px_status run_reduce(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    const px_tensor *X = k.ti[0];
    int32_t na;
    const px_attr *at = attrs_of(&k, &na);
    const px_attr *ax = px_attr_find(at, na, "axes");
    int red[PX_MAX_DIMS] = {0};
    if (!ax) {
        for (int32_t i = 0; i < X->rank; i++) red[i] = 1;
    } else {
        int32_t cnt = ax->type == PX_ATTR_INTS ? ax->n : 1;
        for (int32_t i = 0; i < cnt; i++) {
            int64_t v = ax->type == PX_ATTR_INTS ? ax->u.ints[i] : ax->u.i;
            if (v < 0) v += X->rank;
            if (v < 0 || v >= X->rank) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem reduce: bad axis");
            red[v] = 1;
        }
    }
    /* Output strides over the input's dims: 0 on reduced dims. */
    int64_t ost[PX_MAX_DIMS], s = 1, count = 1, n_out = 1;
    for (int32_t i = X->rank - 1; i >= 0; i--) {
        if (red[i]) {
            ost[i] = 0;
            count *= X->ne[i];
        } else {
            ost[i] = s;
            s *= X->ne[i];
            n_out *= X->ne[i];
        }
    }
    if (n_out == 0) return PX_OK;
    double *acc = sm_host->alloc((size_t)n_out * sizeof(double), 16);
    if (!acc) return sm_host->set_error(PX_ERR_NO_MEMORY, "sepmem reduce: out of memory");
    px_op op = a->node->op;
    double init = op == PX_OP_REDUCE_MAX ? -INFINITY : 0.0;
    for (int64_t i = 0; i < n_out; i++) acc[i] = init;
    iter it;
    it_init(&it, X->rank, X->ne, 1);
    for (int32_t i = 0; i < X->rank; i++) it.st[0][i] = ost[i];
    int64_t n = numel(X);
    int is_i32 = X->dtype == PX_I32;
    for (int64_t i = 0; i < n; i++, it_next(&it)) {
        double v = is_i32 ? (double)((const int32_t *)k.in[0])[i] : (double)((const float *)k.in[0])[i];
        double *d = &acc[it.off[0]];
        if (op == PX_OP_REDUCE_MAX) {
            if (v > *d) *d = v;
        } else {
            *d += v;
        }
    }
    for (int64_t i = 0; i < n_out; i++) {
        double v = acc[i];
        if (op == PX_OP_REDUCE_MEAN) v = v / (double)count;
        if (is_i32) ((int32_t *)k.out)[i] = v == -INFINITY ? INT32_MIN : (int32_t)v;
        else ((float *)k.out)[i] = (float)v;
    }
    sm_host->free(acc);
    return PX_OK;
}

/* ---- layout: permute, copy, concat, slice --------------------------------------------- */

static px_status run_permute(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int32_t na;
    const px_attr *at = attrs_of(&k, &na);
    const px_attr *pa = px_attr_find(at, na, "perm");
    const px_tensor *X = k.ti[0];
    if (!pa || pa->type != PX_ATTR_INTS || pa->n != X->rank)
        return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem permute: bad perm");
    int64_t ist[PX_MAX_DIMS];
    contiguous_strides(X, ist);
    iter it;
    it_init(&it, k.to->rank, k.to->ne, 1);
    for (int32_t i = 0; i < X->rank; i++) {
        int64_t p = pa->u.ints[i] < 0 ? pa->u.ints[i] + X->rank : pa->u.ints[i];
        it.st[0][i] = ist[p];
    }
    int64_t n = numel(k.to);
    const float *x = (const float *)k.in[0];
    float *o = (float *)k.out;
    for (int64_t i = 0; i < n; i++, it_next(&it)) o[i] = x[it.off[0]];
    return PX_OK;
}

static px_status run_copy(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int64_t n = numel(k.to);
    if (n) memcpy(k.out, k.in[0], (size_t)n * sizeof(float));
    return PX_OK;
}

static int sup_concat(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs < 1 || n->n_inputs > MAX_IN) return 0;
    for (int32_t i = 0; i < n->n_inputs; i++)
        if (in_dtype(n, i) != PX_F32) return 0;
    return 1;
}

static px_status run_concat(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int32_t na;
    const px_attr *at = attrs_of(&k, &na);
    const px_tensor *O = k.to;
    int64_t axis = px_attr_int(at, na, "axis", 0);
    if (axis < 0) axis += O->rank;
    if (axis < 0 || axis >= O->rank) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem concat: bad axis");
    int64_t outer = 1, inner = 1;
    for (int32_t i = 0; i < axis; i++) outer *= O->ne[i];
    for (int32_t i = (int32_t)axis + 1; i < O->rank; i++) inner *= O->ne[i];
    float *o = (float *)k.out;
    int64_t pos = 0;
    for (int64_t ou = 0; ou < outer; ou++)
        for (int32_t j = 0; j < k.n_in; j++) {
            int64_t len = k.ti[j]->ne[axis] * inner;
            if (len) memcpy(o + pos, (const float *)k.in[j] + ou * len, (size_t)len * sizeof(float));
            pos += len;
        }
    return PX_OK;
}

static px_status run_slice(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int32_t na;
    const px_attr *at = attrs_of(&k, &na);
    const px_attr *sa = px_attr_find(at, na, "starts"), *ea = px_attr_find(at, na, "ends");
    const px_attr *aa = px_attr_find(at, na, "axes"), *pa = px_attr_find(at, na, "steps");
    const px_tensor *X = k.ti[0];
    if (!sa || !ea || sa->type != PX_ATTR_INTS || ea->type != PX_ATTR_INTS)
        return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem slice: starts/ends must be int lists");
    int64_t start[PX_MAX_DIMS] = {0}, step[PX_MAX_DIMS];
    for (int32_t i = 0; i < X->rank; i++) step[i] = 1;
    for (int32_t i = 0; i < sa->n; i++) {
        int64_t ax = aa && aa->type == PX_ATTR_INTS ? aa->u.ints[i] : i;
        if (ax < 0) ax += X->rank;
        if (ax < 0 || ax >= X->rank) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem slice: bad axis");
        int64_t stp = pa && pa->type == PX_ATTR_INTS ? pa->u.ints[i] : 1, dim = X->ne[ax];
        int64_t s = sa->u.ints[i];
        if (s < 0) s += dim;
        if (stp > 0) s = s < 0 ? 0 : s > dim ? dim : s;
        else s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s; /* ONNX: [0, dim-1] for negative steps */
        start[ax] = s;
        step[ax] = stp;
    }
    int64_t ist[PX_MAX_DIMS];
    contiguous_strides(X, ist);
    int64_t n = numel(k.to);
    if (n == 0) return PX_OK;
    iter it;
    it_init(&it, k.to->rank, k.to->ne, 1);
    for (int32_t i = 0; i < X->rank; i++) {
        it.st[0][i] = ist[i] * step[i];
        it.off[0] += start[i] * ist[i];
    }
    const float *x = (const float *)k.in[0];
    float *o = (float *)k.out;
    for (int64_t i = 0; i < n; i++, it_next(&it)) o[i] = x[it.off[0]];
    return PX_OK;
}

/* ---- gather, set_rows ------------------------------------------------------------------ */

static int sup_gather(void *dev, const px_node_desc *n) {
    (void)dev;
    if (in_dtype(n, 0) != PX_F32 || in_dtype(n, 1) != PX_I32 || out_dtype(n) != PX_F32) return 0;
    return px_attr_int(n->attrs, n->n_attrs, "axis", 0) == 0 ||
           px_attr_int(n->attrs, n->n_attrs, "axis", 0) == -(int64_t)n->inputs[0].rank;
}

static px_status run_gather(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    const px_tensor *D = k.ti[0], *I = k.ti[1];
    if (D->rank < 1) return sm_host->set_error(PX_ERR_SHAPE, "sepmem gather: data needs rank >= 1");
    int64_t R = D->ne[0], row = 1;
    for (int32_t i = 1; i < D->rank; i++) row *= D->ne[i];
    int64_t ni = numel(I);
    const int32_t *ids = (const int32_t *)k.in[1];
    for (int64_t i = 0; i < ni; i++) {
        int64_t r = ids[i];
        if (r < 0) r += R;
        if (r < 0 || r >= R)
            return sm_host->set_error(PX_ERR_RANGE, "sepmem gather: index %d out of range [%lld, %lld)", ids[i],
                                      (long long)-R, (long long)R);
        if (row) memcpy((float *)k.out + i * row, (const float *)k.in[0] + r * row, (size_t)row * sizeof(float));
    }
    return PX_OK;
}

static int sup_set_rows(void *dev, const px_node_desc *n) {
    (void)dev;
    int d = in_dtype(n, 0), i = in_dtype(n, 2);
    return (d == PX_F32 || d == PX_F16) && in_dtype(n, 1) == PX_F32 && (i == PX_I32 || i == PX_I64);
}

static px_status run_set_rows(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    const px_tensor *D = k.ti[0], *S = k.ti[1], *I = k.ti[2];
    int64_t R = D->ne[0], row = 1;
    for (int32_t i = 1; i < D->rank; i++) row *= D->ne[i];
    size_t row_bytes = (size_t)px_dtype_row_size(D->dtype, row);
    /* out aliases dst; if the runtime gave separate memory, start from dst. */
    if (k.out != k.in[0] && k.out && k.in[0]) memcpy(k.out, k.in[0], (size_t)R * row_bytes);
    int64_t n = S->ne[0];
    if (I->ne[0] != n) return sm_host->set_error(PX_ERR_SHAPE, "sepmem set_rows: %lld rows, %lld indices", (long long)n, (long long)I->ne[0]);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = I->dtype == PX_I32 ? ((const int32_t *)k.in[2])[i] : ((const int64_t *)k.in[2])[i];
        if (r < 0 || r >= R)
            return sm_host->set_error(PX_ERR_RANGE, "sepmem set_rows: index %lld out of range [0, %lld)", (long long)r,
                                      (long long)R);
        if (!row) continue;
        st = sm_host->convert(PX_F32, (const float *)k.in[1] + i * row, D->dtype, k.out + (size_t)r * row_bytes, row);
        if (st) return st;
    }
    return PX_OK;
}

/* ---- cast, arange ------------------------------------------------------------------------ */

static int sup_cast(void *dev, const px_node_desc *n) {
    (void)dev;
    int s = in_dtype(n, 0), d = out_dtype(n);
    int other_s = s == PX_I32 || s == PX_F16 || s == PX_BOOL, other_d = d == PX_I32 || d == PX_F16 || d == PX_BOOL;
    return (s == PX_F32 && (other_d || d == PX_F32)) || (d == PX_F32 && other_s);
}

static px_status run_cast(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int64_t n = numel(k.to);
    if (n == 0) return PX_OK;
    return sm_host->convert(k.ti[0]->dtype, k.in[0], k.to->dtype, k.out, n);
}

static int sup_arange(void *dev, const px_node_desc *n) {
    (void)dev;
    return out_dtype(n) == PX_F32 || out_dtype(n) == PX_I32;
}

static px_status run_arange(const px_kernel_args *a) {
    kargs k;
    px_status st = kbegin(a, &k);
    if (st) return st;
    int32_t na;
    const px_attr *at = attrs_of(&k, &na);
    double start = px_attr_float(at, na, "start", 0.0), step = px_attr_float(at, na, "step", 1.0);
    int64_t n = numel(k.to);
    for (int64_t i = 0; i < n; i++) {
        double v = start + (double)i * step;
        if (k.to->dtype == PX_I32) ((int32_t *)k.out)[i] = (int32_t)v;
        else ((float *)k.out)[i] = (float)v;
    }
    return PX_OK;
}

/* ---- table ---------------------------------------------------------------------------------- */

#define K(op_, nm, sup, fn) \
    {.struct_size = sizeof(px_kernel), .op = (op_), .name = (nm), .priority = 0, .supports = (sup), .run = (fn)}

static const px_kernel sm_kernels[] = {
    K(PX_OP_ADD, "sepmem_add", sup_binary, run_binary),
    K(PX_OP_SUB, "sepmem_sub", sup_binary, run_binary),
    K(PX_OP_MUL, "sepmem_mul", sup_binary, run_binary),
    K(PX_OP_DIV, "sepmem_div", sup_binary, run_binary),
    K(PX_OP_EQUAL, "sepmem_equal", sup_compare, run_compare),
    K(PX_OP_NOT_EQUAL, "sepmem_not_equal", sup_compare, run_compare),
    K(PX_OP_LESS, "sepmem_less", sup_compare, run_compare),
    K(PX_OP_LESS_EQUAL, "sepmem_less_equal", sup_compare, run_compare),
    K(PX_OP_GREATER, "sepmem_greater", sup_compare, run_compare),
    K(PX_OP_GREATER_EQUAL, "sepmem_greater_equal", sup_compare, run_compare),
    K(PX_OP_WHERE, "sepmem_where", sup_where, run_where),
    K(PX_OP_NEG, "sepmem_neg", sup_unary, run_unary),
    K(PX_OP_EXP, "sepmem_exp", sup_unary, run_unary),
    K(PX_OP_SQRT, "sepmem_sqrt", sup_unary, run_unary),
    K(PX_OP_RSQRT, "sepmem_rsqrt", sup_unary, run_unary),
    K(PX_OP_SIN, "sepmem_sin", sup_unary, run_unary),
    K(PX_OP_COS, "sepmem_cos", sup_unary, run_unary),
    K(PX_OP_TANH, "sepmem_tanh", sup_unary, run_unary),
    K(PX_OP_SIGMOID, "sepmem_sigmoid", sup_unary, run_unary),
    K(PX_OP_SILU, "sepmem_silu", sup_unary, run_unary),
    K(PX_OP_SCALE, "sepmem_scale", sup_unary, run_unary),
    K(PX_OP_MATMUL, "sepmem_matmul", sup_matmul, run_matmul),
    K(PX_OP_SOFTMAX, "sepmem_softmax", sup_softmax, run_softmax),
    K(PX_OP_REDUCE_SUM, "sepmem_reduce_sum", sup_reduce, run_reduce),
    K(PX_OP_REDUCE_MEAN, "sepmem_reduce_mean", sup_reduce, run_reduce),
    K(PX_OP_REDUCE_MAX, "sepmem_reduce_max", sup_reduce, run_reduce),
    K(PX_OP_PERMUTE, "sepmem_permute", sup_unary, run_permute),
    K(PX_OP_COPY, "sepmem_copy", sup_unary, run_copy),
    K(PX_OP_CONCAT, "sepmem_concat", sup_concat, run_concat),
    K(PX_OP_SLICE, "sepmem_slice", sup_unary, run_slice),
    K(PX_OP_GATHER, "sepmem_gather", sup_gather, run_gather),
    K(PX_OP_SET_ROWS, "sepmem_set_rows", sup_set_rows, run_set_rows),
    K(PX_OP_CAST, "sepmem_cast", sup_cast, run_cast),
    K(PX_OP_ARANGE, "sepmem_arange", sup_arange, run_arange),
};

const px_kernel *sm_kernel_table(int32_t *count) {
    *count = (int32_t)(sizeof sm_kernels / sizeof sm_kernels[0]);
    return sm_kernels;
}
