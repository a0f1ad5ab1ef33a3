/* CPU plugin — ATTENTION (ops.h): grouped-query attention with an optional
 * KV cache, causal / sliding-window masking, soft-capping and an additive
 * mask.
 *
 * With a cache, the rows k[i] / v[i] are first written into the caches at
 * rows positions[i] (converted to the cache dtype), then every query reads
 * its keys back from the cache (so results carry the cache's rounding).
 *
 * Work items are (query token, kv head, group of query heads sharing that kv
 * head): each key and value row is loaded (converted, dequantized) once per
 * item and used by every query head of the group. Logits, softmax and the
 * weighted sum of values are computed in double. Per-thread scratch: the
 * group's query rows, logits and accumulators, one key and one value row. */
#include <math.h>
#include <string.h>

#include "cpu_common.h"

static int cache_dtype_ok(px_dtype t) { return t == PX_F16 || t == PX_F32 || t == PX_Q8_0; }

int cpu_attention_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs < 3 || n->n_inputs > 7 || n->n_outputs < 1) return 0;
    for (int32_t i = 0; i < 3; i++)
        if (!cpu_in(n, i) || n->inputs[i].rank != 3) return 0;
    const px_value_desc *q = &n->inputs[0], *k = &n->inputs[1], *v = &n->inputs[2];
    px_dtype dt = q->dtype;
    if (!cpu_is_float(dt) || k->dtype != dt || v->dtype != dt || n->outputs[0].dtype != dt) return 0;
    int64_t Hq = q->ne[1], Hkv = k->ne[1], D = q->ne[2], Dv = v->ne[2];
    if (Hkv <= 0 || Hq % Hkv || k->ne[2] != D || v->ne[1] != Hkv || v->ne[0] != k->ne[0]) return 0;
    int kc = cpu_in(n, 3), vc = cpu_in(n, 4), pos = cpu_in(n, 5);
    if (kc != vc || (kc && !pos)) return 0;
    if (kc) {
        const px_value_desc *K = &n->inputs[3], *V = &n->inputs[4];
        if (!cache_dtype_ok(K->dtype) || !cache_dtype_ok(V->dtype) || K->rank != 3 || V->rank != 3) return 0;
        if (K->ne[1] != Hkv || K->ne[2] != D || V->ne[1] != Hkv || V->ne[2] != Dv || K->ne[0] != V->ne[0]) return 0;
        if ((K->dtype == PX_Q8_0 && D % PX_QK) || (V->dtype == PX_Q8_0 && Dv % PX_QK)) return 0;
    }
    if (pos && (cpu_in_dt(n, 5) != PX_I32 || n->inputs[5].rank != 1)) return 0;
    if (cpu_in(n, 6) && (!cpu_is_float(cpu_in_dt(n, 6)) || n->inputs[6].rank > 2)) return 0;
    return 1;
}

/* Query heads per work item: split a kv head's group when there are too
 * few (token, kv head) pairs to keep the threads busy. */
int64_t cpu_attention_heads_per_item(int64_t T, int64_t Hkv, int64_t G, int32_t threads) {
    int64_t pairs = T * Hkv;
    if (pairs <= 0 || pairs >= 2 * (int64_t)threads) return G;
    int64_t splits = (2 * (int64_t)threads + pairs - 1) / pairs;
    if (splits > G) splits = G;
    return (G + splits - 1) / splits;
}

/* Keys visible to the queries: the cache rows 0..max(positions), or Tk. */
static int64_t key_count(const cpu_shape *in, int32_t n_in) {
    int64_t Tk = in[1].ne[0];
    if (n_in > 4 && (int32_t)in[3].dtype >= 0 && in[3].ne[0] > Tk) return in[3].ne[0];
    return Tk;
}

void cpu_attention_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                        size_t *shared, size_t *per_thread) {
    (void)node;
    (void)out;
    int64_t D = in[0].ne[2], Dv = in[2].ne[2], Hq = in[0].ne[1], Hkv = in[1].ne[1] > 0 ? in[1].ne[1] : 1;
    int64_t G = Hq / Hkv, nk = key_count(in, n_in);
    /* sized for a whole group: heads_per_item never exceeds it */
    *shared = 0;
    *per_thread = (size_t)(G * (D + nk + Dv) + D + Dv) * sizeof(double) + CPU_TILE * sizeof(float);
}

typedef struct att_ctx {
    cpu_att_args p;
    int64_t gs, ngs;
    double softcap, scale;
    px_dtype qdt, kdt, vdt, odt, mdt;
    const void *q, *k, *v, *mask;
    void *o;
    int64_t mr, mc; /* mask rows and columns (1: broadcast) */
    const cpu_scratch *s;
} att_ctx;

/* Dot product with 8 independent partial sums (they vectorise). */
static double dot8(const double *x, const double *y, int64_t n) {
    double s[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++) s[j] += x[k + j] * y[k + j];
    for (; k < n; k++) s[0] += x[k] * y[k];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void att_item(const att_ctx *c, int64_t item, uint8_t *scr) {
    const int64_t D = c->p.D, Dv = c->p.Dv, nk = c->p.nk;
    int64_t per_t = c->p.Hkv * c->ngs;
    int64_t t = item / per_t, r = item - t * per_t, hk = r / c->ngs, g0 = (r - hk * c->ngs) * c->gs;
    int64_t gs = c->p.G - g0 < c->gs ? c->p.G - g0 : c->gs;
    double *q = (double *)(void *)scr, *sc = q + gs * D, *acc = sc + gs * nk, *krow = acc + gs * Dv,
           *vrow = krow + D, mx[64], sum[64];
    float *tmp = (float *)(void *)(vrow + Dv);
    int64_t p = c->p.pos ? (int64_t)c->p.pos[t] : t;
    int64_t h0 = hk * c->p.G + g0;
    for (int64_t g = 0; g < gs; g++) cpu_load_f64(c->qdt, c->q, (t * c->p.Hq + h0 + g) * D, 1, D, q + g * D);
    /* logits */
    for (int64_t j = 0; j < nk; j++) {
        int vis = (!c->p.causal || j <= p) && (c->p.window <= 0 || j > p - c->p.window);
        if (!vis) {
            for (int64_t g = 0; g < gs; g++) sc[g * nk + j] = -INFINITY;
            continue;
        }
        cpu_load_row_f64(c->kdt, c->k, (j * c->p.Hkv + hk) * D, D, krow, tmp);
        double mv = 0;
        if (c->mask)
            cpu_load_f64(c->mdt, c->mask, (c->mr == 1 ? 0 : t) * c->mc + (c->mc == 1 ? 0 : j), 1, 1, &mv);
        for (int64_t g = 0; g < gs; g++) {
            double s = dot8(q + g * D, krow, D) * c->scale;
            if (c->softcap > 0) s = c->softcap * tanh(s / c->softcap);
            sc[g * nk + j] = s + mv;
        }
    }
    /* softmax and the weighted sum of values, all heads of the item at once */
    int any = 0;
    for (int64_t g = 0; g < gs; g++) {
        double m = -INFINITY;
        for (int64_t j = 0; j < nk; j++) m = sc[g * nk + j] > m ? sc[g * nk + j] : m;
        mx[g] = m;
        sum[g] = 0;
        any |= m != -INFINITY;
    }
    memset(acc, 0, (size_t)(gs * Dv) * sizeof *acc);
    for (int64_t j = 0; j < nk && any; j++) {
        int need = 0;
        for (int64_t g = 0; g < gs; g++) need |= sc[g * nk + j] != -INFINITY && mx[g] != -INFINITY;
        if (!need) continue;
        cpu_load_row_f64(c->vdt, c->v, (j * c->p.Hkv + hk) * Dv, Dv, vrow, tmp);
        for (int64_t g = 0; g < gs; g++) {
            if (mx[g] == -INFINITY || sc[g * nk + j] == -INFINITY) continue;
            double w = exp(sc[g * nk + j] - mx[g]);
            sum[g] += w;
            double *ag = acc + g * Dv;
            for (int64_t d = 0; d < Dv; d++) ag[d] += w * vrow[d];
        }
    }
    for (int64_t g = 0; g < gs; g++) {
        double *ag = acc + g * Dv;
        if (mx[g] != -INFINITY) { /* a query that sees no key keeps zeros */
            double inv = 1.0 / sum[g];
            for (int64_t d = 0; d < Dv; d++) ag[d] *= inv;
        }
        cpu_store_f64(c->odt, c->o, (t * c->p.Hq + h0 + g) * Dv, 1, Dv, ag);
    }
}

static void att_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const att_ctx *c = vctx;
    uint8_t *scr = cpu_scratch_thread(c->s, thread);
    for (int64_t item = b; item < e; item++) att_item(c, item, scr);
}

/* ---- cache update --------------------------------------------------------------------- */

typedef struct cache_ctx {
    const px_tensor *src[2], *cache[2];
    const int32_t *pos;
} cache_ctx;

static void cache_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const cache_ctx *c = vctx;
    for (int64_t i = b; i < e; i++)
        for (int w = 0; w < 2; w++) {
            const px_tensor *S = c->src[w], *C = c->cache[w];
            int64_t row = S->ne[1] * S->ne[2];
            int64_t cb = px_dtype_row_size(C->dtype, row);
            px_convert(S->dtype, (const uint8_t *)S->data + (size_t)(i * row) * cpu_elt_size(S->dtype), C->dtype,
                       (uint8_t *)C->data + (size_t)(c->pos[i] * cb), row);
        }
}

/* Checks the shapes and positions, writes k and v into the caches (if any)
 * and gives the number of keys the queries may see. */
static px_status cache_update(const px_kernel_args *a, int64_t *nk) {
    const px_host_api *h = a->host;
    const px_tensor *Q = &a->inputs[0], *K = &a->inputs[1], *V = &a->inputs[2], *O = &a->outputs[0];
    int64_t T = Q->ne[0], Hq = Q->ne[1], D = Q->ne[2], Hkv = K->ne[1], Dv = V->ne[2];
    if (Hkv <= 0 || Hq % Hkv || K->ne[2] != D || V->ne[0] != K->ne[0] || V->ne[1] != Hkv || O->ne[0] != T ||
        O->ne[1] != Hq || O->ne[2] != Dv)
        return h->set_error(PX_ERR_SHAPE, "attention: shapes of q, k, v and out do not agree");
    const int32_t *pos = cpu_arg_in(a, 5) ? a->inputs[5].data : NULL;
    if (pos && cpu_numel(&a->inputs[5]) != T) return h->set_error(PX_ERR_SHAPE, "attention: positions must be [T]");
    if (!(cpu_arg_in(a, 3) && cpu_arg_in(a, 4))) {
        *nk = K->ne[0];
        return PX_OK;
    }
    const px_tensor *KC = &a->inputs[3], *VC = &a->inputs[4];
    int64_t C = KC->ne[0];
    if (!pos) return h->set_error(PX_ERR_INVALID_ARG, "attention: a cache needs positions");
    if (K->ne[0] != T || VC->ne[0] != C || KC->ne[1] != Hkv || KC->ne[2] != D || VC->ne[1] != Hkv || VC->ne[2] != Dv)
        return h->set_error(PX_ERR_SHAPE, "attention: cache shapes do not agree with k and v");
    int increasing = 1;
    *nk = 0;
    for (int64_t i = 0; i < T; i++) {
        int64_t p = pos[i];
        if (p < 0 || p >= C)
            return h->set_error(PX_ERR_RANGE, "attention: position %lld (token %lld) outside the cache of %lld rows",
                                (long long)p, (long long)i, (long long)C);
        if (p + 1 > *nk) *nk = p + 1;
        if (i > 0 && p <= pos[i - 1]) increasing = 0;
    }
    if (px_dtype_row_size(KC->dtype, Hkv * D) < 0 || px_dtype_row_size(VC->dtype, Hkv * Dv) < 0)
        return h->set_error(PX_ERR_SHAPE, "attention: cache rows do not fill whole blocks");
    cache_ctx cc = {{K, V}, {KC, VC}, pos};
    if (Hkv * (D + Dv) > 0) {
        if (increasing) h->parallel_for(T, cpu_grain(Hkv * (D + Dv), 1 << 14), cache_range, &cc);
        else cache_range(&cc, 0, T, 0); /* repeated positions: the last token wins */
    }
    return PX_OK;
}

px_status cpu_attention_begin(const px_kernel_args *a, cpu_att_args *p) {
    const px_tensor *Q = &a->inputs[0], *K = &a->inputs[1], *V = &a->inputs[2];
    const px_node_desc *nd = a->node;
    memset(p, 0, sizeof *p);
    px_status st = cache_update(a, &p->nk);
    if (st) return st;
    p->T = Q->ne[0];
    p->Hq = Q->ne[1];
    p->D = Q->ne[2];
    p->Hkv = K->ne[1];
    p->Dv = V->ne[2];
    p->G = p->Hq / p->Hkv;
    p->causal = px_attr_int(nd->attrs, nd->n_attrs, "causal", 1) != 0;
    p->window = px_attr_int(nd->attrs, nd->n_attrs, "window", 0);
    p->softcap = px_attr_float(nd->attrs, nd->n_attrs, "softcap", 0.0);
    p->scale = px_attr_float(nd->attrs, nd->n_attrs, "scale", p->D > 0 ? 1.0 / sqrt((double)p->D) : 1.0);
    p->pos = cpu_arg_in(a, 5) ? a->inputs[5].data : NULL;
    int cache = cpu_arg_in(a, 3) && cpu_arg_in(a, 4);
    p->k = cache ? &a->inputs[3] : K;
    p->v = cache ? &a->inputs[4] : V;
    return PX_OK;
}

px_status cpu_attention_run(const px_kernel_args *a) {
    const px_host_api *h = a->host;
    const px_tensor *Q = &a->inputs[0], *O = &a->outputs[0];
    att_ctx c;
    memset(&c, 0, sizeof c);
    px_status st = cpu_attention_begin(a, &c.p);
    if (st) return st;
    c.softcap = c.p.softcap;
    c.scale = c.p.scale;
    c.qdt = Q->dtype;
    c.odt = O->dtype;
    c.q = Q->data;
    c.o = O->data;
    c.k = c.p.k->data;
    c.v = c.p.v->data;
    c.kdt = c.p.k->dtype;
    c.vdt = c.p.v->dtype;
    if (cpu_arg_in(a, 6)) {
        const px_tensor *M = &a->inputs[6];
        c.mask = M->data;
        c.mdt = M->dtype;
        c.mr = M->rank >= 2 ? M->ne[M->rank - 2] : 1;
        c.mc = M->rank >= 1 ? M->ne[M->rank - 1] : 1;
        /* the key axis of the mask may be longer than the keys seen (a mask
         * over the whole cache); rows must be 1 or T */
        if ((c.mr != 1 && c.mr != c.p.T) || (c.mc != 1 && c.mc < c.p.nk))
            return h->set_error(PX_ERR_SHAPE, "attention: mask [%lld, %lld] does not broadcast to [T = %lld, keys = %lld]",
                                (long long)c.mr, (long long)c.mc, (long long)c.p.T, (long long)c.p.nk);
        if (cpu_numel(M) == 0) c.mask = NULL, c.mr = c.mc = 1;
    }
    if (cpu_numel(O) == 0) return PX_OK;
    cpu_scratch s;
    st = cpu_scratch_begin(a, cpu_attention_need, &s);
    if (st) return st;
    c.s = &s;
    c.gs = cpu_attention_heads_per_item(c.p.T, c.p.Hkv, c.p.G, s.n_threads);
    if (c.gs > 64) c.gs = 64; /* mx/sum live on the stack */
    c.ngs = (c.p.G + c.gs - 1) / c.gs;
    int64_t per_item = c.gs * c.p.nk * (c.p.D + c.p.Dv) + 1;
    h->parallel_for(c.p.T * c.p.Hkv * c.ngs, cpu_grain(per_item, 1 << 15), att_range, &c);
    cpu_scratch_end(a, &s);
    return PX_OK;
}
