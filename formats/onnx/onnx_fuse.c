/* Fusions at import: patterns of ONNX nodes that exporters emit for one
 * layer are imported as the IR's composite op, so ONNX models get the same
 * kernels as GGUF ones:
 *   MatMul + Add(bias)                         -> MATMUL with bias
 *   x * 0.5 * (1 + Erf(x / sqrt(2)))           -> GELU
 *   ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div
 *     (+ Mul(gamma) + Add(beta))               -> LAYER_NORM
 * The plan is made per graph before its nodes are imported: a pattern's
 * inner nodes must have their outputs used once, inside the pattern, and not
 * be graph outputs. When the pattern's operands turn out not to be what the
 * fused op needs (weights computed at run time, a reduction over another
 * axis), the nodes are imported one by one as usual. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

typedef struct name_ix {
    const onx_graph *g;
    int32_t *producer; /* per slot: node index */
    int32_t *uses;
    const char **key;
    uint32_t cap;
} name_ix;

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int32_t slot(name_ix *ix, const char *name, int insert) {
    for (uint32_t i = hash(name) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
        if (!ix->key[i]) {
            if (!insert) return -1;
            ix->key[i] = name;
            ix->producer[i] = -1;
            return (int32_t)i;
        }
        if (!strcmp(ix->key[i], name)) return (int32_t)i;
    }
}

static int32_t producer(name_ix *ix, const char *name) {
    int32_t s = name[0] ? slot(ix, name, 0) : -1;
    return s < 0 ? -1 : ix->producer[s];
}

static int32_t uses(name_ix *ix, const char *name) {
    int32_t s = slot(ix, name, 0);
    return s < 0 ? 0 : ix->uses[s];
}

static const onx_node *node_of(name_ix *ix, const char *name, const char *op) {
    int32_t p = producer(ix, name);
    if (p < 0) return NULL;
    const onx_node *n = &ix->g->nodes[p];
    return !strcmp(n->op_type, op) && !n->domain[0] ? n : NULL;
}

/* a single-use intermediate produced by op */
static const onx_node *inner(name_ix *ix, const char *name, const char *op) {
    return uses(ix, name) == 1 ? node_of(ix, name, op) : NULL;
}

static int32_t index_of(name_ix *ix, const onx_node *n) { return (int32_t)(n - ix->g->nodes); }

/* ---- the plan ---------------------------------------------------------------------- */

enum { F_NONE = 0, F_MATMUL_BIAS, F_GELU, F_LAYER_NORM };

struct ox_fusion {
    int kind;
    const onx_node *head;      /* the pattern's last node: its outputs are the result */
    const onx_node *nodes[12]; /* every node of the pattern, in graph order (for the fallback) */
    int32_t n_nodes;
    const char *x, *w, *b;     /* operands */
    double eps;
    const onx_node *mean1;     /* layer norm: the first ReduceMean (its axes) */
};

static void add(ox_fusion *f, const onx_node *n) {
    if (f->n_nodes < 12) f->nodes[f->n_nodes++] = n;
}

static int by_index(const void *a, const void *b) {
    const onx_node *x = *(const onx_node *const *)a, *y = *(const onx_node *const *)b;
    return x < y ? -1 : x > y;
}

/* Add(MatMul(x, w), b) */
static int match_matmul_bias(name_ix *ix, const onx_node *add_n, ox_fusion *f) {
    if (add_n->n_inputs != 2) return 0;
    for (int side = 0; side < 2; side++) {
        const onx_node *mm = inner(ix, add_n->inputs[side], "MatMul");
        if (!mm || mm->n_inputs != 2) continue;
        f->kind = F_MATMUL_BIAS;
        f->x = mm->inputs[0];
        f->w = mm->inputs[1];
        f->b = add_n->inputs[1 - side];
        add(f, mm);
        add(f, add_n);
        return 1;
    }
    return 0;
}

/* Mul(Mul(x, Add(Erf(Div(x, sqrt2)), 1)), 0.5) in any operand order, also
 * Mul(Mul(x, 0.5), Add(...)). The constants are checked at import. */
static int match_gelu(name_ix *ix, const onx_node *head, ox_fusion *f) {
    if (head->n_inputs != 2) return 0;
    for (int side = 0; side < 2; side++) {
        const onx_node *m1 = inner(ix, head->inputs[side], "Mul");
        if (!m1 || m1->n_inputs != 2) continue;
        /* form 1: head = Mul(m1 = Mul(x, add1), 0.5); form 2: head = Mul(m1 = Mul(x, 0.5), add1) */
        for (int form = 0; form < 2; form++) {
            const char *other = head->inputs[1 - side];
            for (int s2 = 0; s2 < 2; s2++) {
                const char *xname = m1->inputs[s2];
                const char *addname = form == 0 ? m1->inputs[1 - s2] : other;
                const onx_node *a1 = inner(ix, addname, "Add");
                if (!a1 || a1->n_inputs != 2) continue;
                for (int s3 = 0; s3 < 2; s3++) {
                    const onx_node *er = inner(ix, a1->inputs[s3], "Erf");
                    if (!er) continue;
                    const onx_node *dv = inner(ix, er->inputs[0], "Div");
                    if (!dv || strcmp(dv->inputs[0], xname)) continue;
                    f->kind = F_GELU;
                    f->x = xname;
                    add(f, dv);
                    add(f, er);
                    add(f, a1);
                    add(f, m1);
                    add(f, head);
                    return 1;
                }
            }
        }
    }
    return 0;
}

/* Div(Sub(x, ReduceMean(x)), Sqrt(Add(ReduceMean(Pow(Sub, 2)), eps)))
 * [+ Mul(., gamma) [+ Add(., beta)]] */
static int match_layer_norm(name_ix *ix, const onx_node *div, ox_fusion *f, const onx_node **out_head) {
    if (div->n_inputs != 2) return 0;
    const onx_node *sub = node_of(ix, div->inputs[0], "Sub");
    const onx_node *sq = inner(ix, div->inputs[1], "Sqrt");
    if (!sub || !sq || uses(ix, div->inputs[0]) != 2) return 0;
    const onx_node *ad = inner(ix, sq->inputs[0], "Add");
    if (!ad || ad->n_inputs != 2) return 0;
    const onx_node *rm2 = inner(ix, ad->inputs[0], "ReduceMean");
    if (!rm2) return 0;
    const onx_node *pw = inner(ix, rm2->inputs[0], "Pow");
    if (!pw || strcmp(pw->inputs[0], sub->outputs[0])) return 0;
    const onx_node *rm1 = inner(ix, sub->inputs[1], "ReduceMean");
    if (!rm1 || strcmp(rm1->inputs[0], sub->inputs[0])) return 0;
    f->kind = F_LAYER_NORM;
    f->x = sub->inputs[0];
    f->mean1 = rm1;
    f->eps = 0; /* read from ad's other input at import */
    add(f, rm1);
    add(f, sub);
    add(f, pw);
    add(f, rm2);
    add(f, ad);
    add(f, sq);
    add(f, div);
    *out_head = div;
    return 1;
}

/* Fusions of graph g: role[i] = -1 for a node imported as part of a fusion
 * emitted later, k+1 when node i emits fusion k, 0 otherwise. */
px_status ox_fuse_plan(ox_ctx *c, const onx_graph *g, int32_t *role, ox_fusion **out, int32_t *out_n) {
    *out = NULL;
    *out_n = 0;
    memset(role, 0, sizeof(int32_t) * (size_t)g->n_nodes);
    if (getenv("PLEXUS_ONNX_NO_FUSE")) return PX_OK;
    uint32_t cap = 64;
    int64_t names = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) names += g->nodes[i].n_outputs + g->nodes[i].n_inputs;
    while (cap < 2 * (uint64_t)names + 16) cap *= 2;
    name_ix ix = {g, onx_alloc(ox_arena(c), cap * sizeof(int32_t)), onx_alloc(ox_arena(c), cap * sizeof(int32_t)),
                  onx_alloc(ox_arena(c), cap * sizeof(char *)), cap};
    ox_fusion *fs = onx_alloc(ox_arena(c), sizeof(ox_fusion) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!ix.producer || !ix.uses || !ix.key || !fs) return ox_fail(c, NULL, PX_ERR_NO_MEMORY, "out of memory");
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const onx_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_outputs; k++)
            if (n->outputs[k][0]) ix.producer[slot(&ix, n->outputs[k], 1)] = i;
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k][0]) ix.uses[slot(&ix, n->inputs[k], 1)]++;
        for (int32_t k = 0; k < n->n_attrs; k++) /* subgraphs may read outer values */
            if (n->attrs[k].g || n->attrs[k].graphs) return PX_OK;
    }
    for (int32_t i = 0; i < g->n_outputs; i++) {
        int32_t s = slot(&ix, g->outputs[i].name, 0);
        if (s >= 0) ix.uses[s] += 1 << 20; /* never an inner value */
    }
    int32_t nf = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const onx_node *n = &g->nodes[i];
        if (role[i] || n->domain[0]) continue;
        ox_fusion f;
        memset(&f, 0, sizeof f);
        const onx_node *head = n;
        int ok = 0;
        if (!strcmp(n->op_type, "Div")) {
            ok = match_layer_norm(&ix, n, &f, &head);
            if (ok) { /* optional affine tail: Mul(gamma) then Add(beta) */
                const onx_node *mul = NULL, *ad = NULL;
                for (int32_t j = i + 1; j < g->n_nodes && !mul; j++)
                    if (!strcmp(g->nodes[j].op_type, "Mul") && uses(&ix, n->outputs[0]) == 1 &&
                        (!strcmp(g->nodes[j].inputs[0], n->outputs[0]) || !strcmp(g->nodes[j].inputs[1], n->outputs[0])))
                        mul = &g->nodes[j];
                if (mul) {
                    f.w = !strcmp(mul->inputs[0], n->outputs[0]) ? mul->inputs[1] : mul->inputs[0];
                    add(&f, mul);
                    head = mul;
                    for (int32_t j = index_of(&ix, mul) + 1; j < g->n_nodes && !ad; j++)
                        if (!strcmp(g->nodes[j].op_type, "Add") && uses(&ix, mul->outputs[0]) == 1 &&
                            (!strcmp(g->nodes[j].inputs[0], mul->outputs[0]) || !strcmp(g->nodes[j].inputs[1], mul->outputs[0])))
                            ad = &g->nodes[j];
                    if (ad) {
                        f.b = !strcmp(ad->inputs[0], mul->outputs[0]) ? ad->inputs[1] : ad->inputs[0];
                        add(&f, ad);
                        head = ad;
                    } else {
                        f.b = NULL;
                    }
                } else {
                    f.b = NULL;
                }
            }
        } else if (!strcmp(n->op_type, "Mul")) {
            ok = match_gelu(&ix, n, &f);
        } else if (!strcmp(n->op_type, "Add")) {
            ok = match_matmul_bias(&ix, n, &f);
        }
        if (!ok) continue;
        int clash = 0;
        for (int32_t k = 0; k < f.n_nodes; k++) clash |= role[index_of(&ix, f.nodes[k])] != 0;
        if (clash) continue;
        qsort(f.nodes, (size_t)f.n_nodes, sizeof f.nodes[0], by_index);
        f.head = head;
        for (int32_t k = 0; k < f.n_nodes; k++) role[index_of(&ix, f.nodes[k])] = -1;
        role[index_of(&ix, head)] = nf + 1;
        fs[nf++] = f;
    }
    *out = fs;
    *out_n = nf;
    return PX_OK;
}

/* ---- emitting ------------------------------------------------------------------------ */

static ox_val *val(ox_ctx *c, const char *name) { return name && name[0] ? ox_find(c, name) : NULL; }

static int known_float(const ox_val *v) { return v && ox_known(v) && v->dt == PX_F32; }

/* A constant float scalar's value. */
static int scalar_is(ox_ctx *c, const onx_node *n, const char *name, double want, double tol) {
    ox_val *v = val(c, name);
    double *d;
    int64_t k;
    if (!v || !ox_known(v) || ox_numel(v->rank, v->ne) != 1 || ox_const_f64(c, n, v, "", &d, &k)) return 0;
    return fabs(d[0] - want) <= tol;
}

static px_status emit_matmul_bias(ox_ctx *c, const ox_fusion *f, int *done) {
    ox_val *x = val(c, f->x), *w = val(c, f->w), *b = val(c, f->b);
    if (!x || !known_float(w) || w->rank != 2 || x->dt != PX_F32 || x->rank < 2 || !b || b->dt != PX_F32 ||
        ox_numel(b->rank, b->ne) != w->ne[1] || b->ne[b->rank - 1] != w->ne[1])
        return PX_OK;
    /* the weight transposed once at import to [N, K]: the layout of the CPU matmul kernels */
    int64_t K = w->ne[0], N = w->ne[1];
    float *t = onx_alloc(ox_arena(c), (size_t)(K * N) * sizeof(float) + 4);
    if (!t) return ox_fail(c, f->head, PX_ERR_NO_MEMORY, "out of memory");
    const float *src = w->data;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++) t[j * K + k] = src[k * N + j];
    int64_t tn[2] = {N, K};
    px_value in[3] = {ox_ir(c, x), ox_constant(c, PX_F32, 2, tn, t), ox_reshape(c, ox_ir(c, b), 1, &N)};
    px_attr a[] = {PX_ATTR_I("trans_b", 1)};
    *done = 1;
    return ox_out_ir(c, f->head, 0, ox_node(c, PX_OP_MATMUL, in, 3, a, 1));
}

static px_status emit_gelu(ox_ctx *c, const ox_fusion *f, int *done) {
    /* check the constants: Div by sqrt(2), Add 1, Mul 0.5 */
    const onx_node *dv = f->nodes[0];
    int ok = scalar_is(c, dv, dv->inputs[1], sqrt(2.0), 1e-4);
    for (int32_t k = 1; k < f->n_nodes && ok; k++) {
        const onx_node *n = f->nodes[k];
        if (!strcmp(n->op_type, "Add")) ok = scalar_is(c, n, n->inputs[0], 1.0, 1e-6) || scalar_is(c, n, n->inputs[1], 1.0, 1e-6);
    }
    int half = 0;
    for (int32_t k = 1; k < f->n_nodes && ok; k++) {
        const onx_node *n = f->nodes[k];
        if (!strcmp(n->op_type, "Mul"))
            half |= scalar_is(c, n, n->inputs[0], 0.5, 1e-6) || scalar_is(c, n, n->inputs[1], 0.5, 1e-6);
    }
    ox_val *x = val(c, f->x);
    if (!ok || !half || !x || !ox_is_float(x->dt)) return PX_OK;
    px_value xv = ox_ir(c, x);
    px_attr a[] = {PX_ATTR_I("approximate", 0)};
    *done = 1;
    return ox_out_ir(c, f->head, 0, ox_node(c, PX_OP_GELU, &xv, 1, a, 1));
}

static px_status emit_layer_norm(ox_ctx *c, const ox_fusion *f, int *done) {
    ox_val *x = val(c, f->x);
    if (!x || !ox_is_float(x->dt) || x->rank < 1) return PX_OK;
    /* both means over the last axis only, keepdims; Pow by 2; eps known */
    const onx_node *rm1 = f->mean1, *pw = NULL, *rm2 = NULL, *ad = NULL;
    for (int32_t k = 0; k < f->n_nodes; k++) {
        const onx_node *n = f->nodes[k];
        if (!strcmp(n->op_type, "Pow")) pw = n;
        else if (!strcmp(n->op_type, "ReduceMean") && n != rm1) rm2 = n;
        else if (!strcmp(n->op_type, "Add") && !ad) ad = n;
    }
    if (!pw || !rm2 || !ad || !scalar_is(c, pw, pw->inputs[1], 2.0, 0)) return PX_OK;
    const onx_node *means[2] = {rm1, rm2};
    for (int m = 0; m < 2; m++) {
        const int64_t *axes = NULL;
        int32_t na = ox_attr_ints(means[m], "axes", &axes);
        int64_t *iv = NULL, ni = 0;
        if (na < 0 && means[m]->n_inputs > 1 && val(c, means[m]->inputs[1]) &&
            !ox_const_i64(c, means[m], val(c, means[m]->inputs[1]), "axes", &iv, &ni))
            axes = iv, na = (int32_t)ni;
        if (na != 1 || ox_axis(axes[0], x->rank) != x->rank - 1 || !ox_attr_i(means[m], "keepdims", 1)) return PX_OK;
    }
    const char *epsname = !strcmp(ad->inputs[0], rm2->outputs[0]) ? ad->inputs[1] : ad->inputs[0];
    ox_val *ev = val(c, epsname);
    double *e;
    int64_t k;
    if (!ev || !ox_known(ev) || ox_numel(ev->rank, ev->ne) != 1 || ox_const_f64(c, ad, ev, "eps", &e, &k)) return PX_OK;
    int64_t D = x->ne[x->rank - 1];
    px_value wv = PX_NONE, bv = PX_NONE;
    ox_val *w = val(c, f->w), *b = val(c, f->b);
    if (f->w && (!w || ox_numel(w->rank, w->ne) != D || w->ne[w->rank - 1] != D)) return PX_OK;
    if (f->b && (!b || ox_numel(b->rank, b->ne) != D || b->ne[b->rank - 1] != D)) return PX_OK;
    if (w) wv = ox_reshape(c, ox_cast(c, ox_ir(c, w), x->dt), 1, &D);
    if (b) bv = ox_reshape(c, ox_cast(c, ox_ir(c, b), x->dt), 1, &D);
    px_value in[3] = {ox_ir(c, x), wv, bv};
    px_attr a[] = {PX_ATTR_F("eps", e[0])};
    *done = 1;
    return ox_out_ir(c, f->head, 0, ox_node(c, PX_OP_LAYER_NORM, in, 3, a, 1));
}

px_status ox_fuse_emit(ox_ctx *c, const ox_fusion *f, int *done) {
    *done = 0;
    switch (f->kind) {
    case F_MATMUL_BIAS: return emit_matmul_bias(c, f, done);
    case F_GELU: return emit_gelu(c, f, done);
    case F_LAYER_NORM: return emit_layer_norm(c, f, done);
    default: return PX_OK;
    }
}

int32_t ox_fuse_nodes(const ox_fusion *f, const onx_node *const **out) {
    *out = f->nodes;
    return f->n_nodes;
}

const ox_fusion *ox_fusion_at(const ox_fusion *fs, int32_t k) { return &fs[k]; }
