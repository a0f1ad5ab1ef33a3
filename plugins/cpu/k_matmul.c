/* CPU plugin — MATMUL: (a [..., M, K], b, bias (opt) [N]) -> out [..., M, N].
 *
 * Work is split into items of (batch, MM_NB output columns, MM_MT output
 * rows). An item first makes its MM_NB weight rows available as contiguous
 * float rows of K: F32 rows of b (trans_b = 1) are used in place, other
 * dtypes are converted/dequantized one row at a time into per-thread
 * scratch, and with trans_b = 0 the columns of b are gathered into rows.
 * Then every row of a in the item (converted once if not F32) is dotted
 * with those rows, 8 partial sums per dot product (a loop compilers
 * vectorise). Float accumulation for F32/F16/BF16 a, double for F64 a; the
 * result is rounded once on store. Scratch per thread: MM_NB rows of K
 * weights and one converted row of a.
 *
 * matmul_act (the default for F32 a times F16/BF16/block-quantized b):
 * the same loop, but each row of a is first rounded the way llama.cpp's CPU
 * backend rounds activations for that weight type ("vec_dot_type"): to F16
 * for F16 weights, BF16 for BF16, 8-bit blocks of 32 with an F16 scale
 * (Q8_0) for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/IQ4_NL, and 8-bit blocks of 256 with
 * an F32 scale (Q8_K) for the K-quants. This is the arithmetic the integer
 * SIMD kernels do, and it reproduces llama.cpp's logits on quantized models
 * far more closely than exact F32 activations; matmul_ref keeps the exact
 * path (select it in [kernels] to compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_common.h"

#define MM_NB 16 /* output columns per item */
#define MM_MT 64 /* output rows per item    */

int cpu_matmul_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs < 2 || n->n_inputs > 3 || n->n_outputs < 1 || !cpu_in(n, 0) || !cpu_in(n, 1)) return 0;
    px_dtype at = cpu_in_dt(n, 0), bt = cpu_in_dt(n, 1);
    int tb = cpu_attr_i(n, "trans_b", 0) != 0;
    const px_value_desc *A = &n->inputs[0], *B = &n->inputs[1];
    if (!cpu_is_float(at) || n->outputs[0].dtype != at) return 0;
    if (A->rank < 2 || B->rank < 2 || n->outputs[0].rank < 2) return 0;
    if (cpu_is_quant(bt)) {
        const px_dtype_traits *tr = px_dtype_get_traits(bt);
        if (!tb || !tr || A->ne[A->rank - 1] % tr->block_size) return 0;
    } else if (!cpu_is_float(bt)) {
        return 0;
    }
    if (at == PX_F64 && bt != PX_F64) return 0;
    if (cpu_in(n, 2)) {
        px_dtype bias = cpu_in_dt(n, 2);
        if ((bias != PX_F32 && bias != at) || n->inputs[2].rank != 1) return 0;
    }
    return 1;
}

void cpu_matmul_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                     size_t *shared, size_t *per_thread) {
    (void)node;
    (void)n_in;
    (void)out;
    int64_t K = in[0].rank >= 1 ? in[0].ne[in[0].rank - 1] : 0;
    size_t es = in[0].dtype == PX_F64 ? sizeof(double) : sizeof(float);
    *shared = 0;
    *per_thread = (size_t)K * (MM_NB + 1) * es + 64;
}

typedef struct mm_ctx {
    px_dtype adt, bdt, odt, biasdt;
    int tb, has_bias;
    int64_t M, K, N;
    int32_t ob;                 /* output batch rank */
    int64_t bne[PX_MAX_DIMS];   /* output batch dims */
    int64_t ast[PX_MAX_DIMS];   /* a: matrices per step of each batch dim (0: broadcast) */
    int64_t bst[PX_MAX_DIMS];   /* b: same */
    int64_t ntn, ntm;
    const uint8_t *A, *B, *bias;
    uint8_t *O;
    size_t b_row_bytes;         /* trans_b = 1: bytes of one row of b (K elements) */
    px_dequantize_row_fn deq;   /* trans_b = 1, b not F32: row -> float */
    int act;                    /* matmul_act: activation rounding (ACT_*) */
    const cpu_scratch *s;
} mm_ctx;

enum { ACT_NONE = 0, ACT_F16, ACT_BF16, ACT_Q8_0, ACT_Q8_K };

static int act_for(px_dtype b) {
    switch (b) {
    case PX_F16: return ACT_F16;
    case PX_BF16: return ACT_BF16;
    case PX_Q4_0: case PX_Q4_1: case PX_Q5_0: case PX_Q5_1: case PX_Q8_0: case PX_IQ4_NL: return ACT_Q8_0;
    case PX_Q2_K: case PX_Q3_K: case PX_Q4_K: case PX_Q5_K: case PX_Q6_K: return ACT_Q8_K;
    default: return ACT_NONE;
    }
}

/* Round x[0..n) in place as llama.cpp's activation types would hold it. */
static void act_round(int act, float *x, int64_t n) {
    if (act == ACT_F16) {
        for (int64_t i = 0; i < n; i++) x[i] = px_f16_to_f32(px_f32_to_f16(x[i]));
    } else if (act == ACT_BF16) {
        for (int64_t i = 0; i < n; i++) x[i] = px_bf16_to_f32(px_f32_to_bf16(x[i]));
    } else if (act == ACT_Q8_0) {
        for (int64_t b = 0; b < n; b += 32) {
            float amax = 0;
            for (int64_t i = b; i < b + 32 && i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
            /* llama.cpp's x86 quantizer: values times 127/amax, rounded to
             * nearest with ties to even; scale amax/127 stored as F16 */
            float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
            float dh = px_f16_to_f32(px_f32_to_f16(d));
            for (int64_t i = b; i < b + 32 && i < n; i++) x[i] = dh * nearbyintf(x[i] * id);
        }
    } else if (act == ACT_Q8_K) {
        for (int64_t b = 0; b < n; b += 256) {
            float amax = 0, max = 0;
            for (int64_t i = b; i < b + 256 && i < n; i++)
                if (fabsf(x[i]) > amax) {
                    amax = fabsf(x[i]);
                    max = x[i];
                }
            if (amax == 0) {
                for (int64_t i = b; i < b + 256 && i < n; i++) x[i] = 0;
                continue;
            }
            float iscale = -127.0f / max, d = 1.0f / iscale;
            for (int64_t i = b; i < b + 256 && i < n; i++) {
                float q = rintf(iscale * x[i]);
                x[i] = d * (q > 127 ? 127 : q);
            }
        }
    }
}

static void batch_offsets(const mm_ctx *c, int64_t batch, int64_t *ma, int64_t *mb) {
    *ma = *mb = 0;
    for (int32_t i = c->ob - 1; i >= 0; i--) {
        int64_t q = batch / c->bne[i], r = batch - q * c->bne[i];
        *ma += r * c->ast[i];
        *mb += r * c->bst[i];
        batch = q;
    }
}

/* Dot product with 8 independent partial sums (they vectorise). */
static float dot_f32(const float *x, const float *y, int64_t n) {
    float s[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++) s[j] += x[k + j] * y[k + j];
    for (; k < n; k++) s[0] += x[k] * y[k];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void mm_item_f32(const mm_ctx *c, int64_t batch, int64_t n0, int64_t nb, int64_t m0, int64_t mt, float *scr) {
    const int64_t K = c->K, M = c->M, N = c->N;
    float *wt = scr, *arow = wt + K * MM_NB;
    const float *wp[MM_NB];
    int64_t ma, mb;
    batch_offsets(c, batch, &ma, &mb);
    /* the item's weight rows: F32 rows of b are used in place */
    if (c->tb) {
        for (int64_t j = 0; j < nb; j++) {
            const uint8_t *p = c->B + (size_t)(mb * N + n0 + j) * c->b_row_bytes;
            wp[j] = (const float *)(const void *)p;
            if (c->bdt != PX_F32) {
                c->deq(p, wt + j * K, K);
                wp[j] = wt + j * K;
            }
        }
    } else {
        float t[MM_NB];
        for (int64_t k = 0; k < K; k++) {
            cpu_load_f32(c->bdt, c->B, (mb * K + k) * N + n0, 1, nb, t);
            for (int64_t j = 0; j < nb; j++) wt[j * K + k] = t[j];
        }
        for (int64_t j = 0; j < nb; j++) wp[j] = wt + j * K;
    }
    float bv[MM_NB] = {0}, res[MM_NB];
    if (c->has_bias) cpu_load_f32(c->biasdt, c->bias, n0, 1, nb, bv);
    for (int64_t m = m0; m < m0 + mt; m++) {
        int64_t aoff = (ma * M + m) * K;
        const float *ar;
        if (c->adt == PX_F32) {
            ar = (const float *)(const void *)c->A + aoff;
        } else {
            cpu_load_f32(c->adt, c->A, aoff, 1, K, arow);
            ar = arow;
        }
        if (c->act) {
            if (ar != arow) memcpy(arow, ar, sizeof(float) * (size_t)K);
            act_round(c->act, arow, K);
            ar = arow;
        }
        for (int64_t j = 0; j < nb; j++) res[j] = dot_f32(ar, wp[j], K) + bv[j];
        cpu_store_f32(c->odt, c->O, (batch * M + m) * N + n0, 1, nb, res);
    }
}

static double dot_f64(const double *x, const double *y, int64_t n) {
    double s[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++) s[j] += x[k + j] * y[k + j];
    for (; k < n; k++) s[0] += x[k] * y[k];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* F64 a (and so F64 b): the same in double. */
static void mm_item_f64(const mm_ctx *c, int64_t batch, int64_t n0, int64_t nb, int64_t m0, int64_t mt, double *scr) {
    const int64_t K = c->K, M = c->M, N = c->N;
    const double *B = (const double *)(const void *)c->B, *A = (const double *)(const void *)c->A;
    const double *wp[MM_NB];
    int64_t ma, mb;
    batch_offsets(c, batch, &ma, &mb);
    if (c->tb) {
        for (int64_t j = 0; j < nb; j++) wp[j] = B + (mb * N + n0 + j) * K;
    } else {
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < nb; j++) scr[j * K + k] = B[(mb * K + k) * N + n0 + j];
        for (int64_t j = 0; j < nb; j++) wp[j] = scr + j * K;
    }
    double bv[MM_NB] = {0}, res[MM_NB];
    if (c->has_bias) cpu_load_f64(c->biasdt, c->bias, n0, 1, nb, bv);
    for (int64_t m = m0; m < m0 + mt; m++) {
        const double *ar = A + (ma * M + m) * K;
        for (int64_t j = 0; j < nb; j++) res[j] = dot_f64(ar, wp[j], K) + bv[j];
        cpu_store_f64(c->odt, c->O, (batch * M + m) * N + n0, 1, nb, res);
    }
}

static void mm_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const mm_ctx *c = vctx;
    void *scr = cpu_scratch_thread(c->s, thread);
    for (int64_t item = b; item < e; item++) {
        int64_t per_batch = c->ntn * c->ntm;
        int64_t batch = item / per_batch, r = item - batch * per_batch;
        int64_t tn = r / c->ntm, tm = r - tn * c->ntm;
        int64_t n0 = tn * MM_NB, m0 = tm * MM_MT;
        int64_t nb = c->N - n0 < MM_NB ? c->N - n0 : MM_NB;
        int64_t mt = c->M - m0 < MM_MT ? c->M - m0 : MM_MT;
        if (c->adt == PX_F64) mm_item_f64(c, batch, n0, nb, m0, mt, scr);
        else mm_item_f32(c, batch, n0, nb, m0, mt, scr);
    }
}

/* K = 0: every output row is the bias (or zeros). */
static void mm_fill_bias(const mm_ctx *c, int64_t rows) {
    double bv[CPU_TILE];
    for (int64_t n0 = 0; n0 < c->N; n0 += CPU_TILE) {
        int64_t nb = c->N - n0 < CPU_TILE ? c->N - n0 : CPU_TILE;
        if (c->has_bias) cpu_load_f64(c->biasdt, c->bias, n0, 1, nb, bv);
        else memset(bv, 0, sizeof bv);
        for (int64_t r = 0; r < rows; r++) cpu_store_f64(c->odt, c->O, r * c->N + n0, 1, nb, bv);
    }
}

static px_status matmul_run(const px_kernel_args *a, int act);

px_status cpu_matmul_run(const px_kernel_args *a) { return matmul_run(a, 0); }

int cpu_matmul_act_supports(void *dev, const px_node_desc *n) {
    return cpu_matmul_supports(dev, n) && cpu_in_dt(n, 0) == PX_F32 && cpu_attr_i(n, "trans_b", 0) != 0 &&
           act_for(cpu_in_dt(n, 1)) != ACT_NONE;
}

px_status cpu_matmul_act_run(const px_kernel_args *a) { return matmul_run(a, 1); }

static px_status matmul_run(const px_kernel_args *a, int act) {
    const px_tensor *A = &a->inputs[0], *B = &a->inputs[1], *O = &a->outputs[0];
    mm_ctx c;
    memset(&c, 0, sizeof c);
    c.adt = A->dtype;
    c.bdt = B->dtype;
    c.odt = O->dtype;
    c.tb = px_attr_int(a->node->attrs, a->node->n_attrs, "trans_b", 0) != 0;
    c.act = act && c.adt == PX_F32 && c.tb ? act_for(c.bdt) : ACT_NONE;
    c.has_bias = cpu_arg_in(a, 2);
    c.M = A->ne[A->rank - 2];
    c.K = A->ne[A->rank - 1];
    c.N = O->ne[O->rank - 1];
    int64_t bK = c.tb ? B->ne[B->rank - 1] : B->ne[B->rank - 2];
    int64_t bN = c.tb ? B->ne[B->rank - 2] : B->ne[B->rank - 1];
    if (bK != c.K || bN != c.N || O->ne[O->rank - 2] != c.M)
        return a->host->set_error(PX_ERR_SHAPE, "matmul: shapes of a, b and out do not agree");
    if (c.has_bias) {
        c.biasdt = a->inputs[2].dtype;
        c.bias = a->inputs[2].data;
        if (cpu_numel(&a->inputs[2]) != c.N) return a->host->set_error(PX_ERR_SHAPE, "matmul: bias must be [N]");
    }
    int64_t out_n = cpu_numel(O);
    if (out_n == 0) return PX_OK;
    c.A = A->data;
    c.B = B->data;
    c.O = O->data;
    /* batch dims: right-aligned broadcast of a's and b's leading dims */
    c.ob = O->rank - 2;
    int32_t ab = A->rank - 2, bb = B->rank - 2;
    int64_t sa = 1, sb = 1;
    for (int32_t i = c.ob - 1; i >= 0; i--) {
        int32_t ja = i - (c.ob - ab), jb = i - (c.ob - bb);
        int64_t da = ja >= 0 ? A->ne[ja] : 1, db = jb >= 0 ? B->ne[jb] : 1;
        c.bne[i] = O->ne[i];
        if ((da != 1 && da != O->ne[i]) || (db != 1 && db != O->ne[i]))
            return a->host->set_error(PX_ERR_SHAPE, "matmul: batch dim %d does not broadcast", i);
        c.ast[i] = da == 1 ? 0 : sa;
        c.bst[i] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
    }
    int64_t nbatch = cpu_prod(O->ne, 0, c.ob);
    if (c.K == 0) {
        mm_fill_bias(&c, nbatch * c.M);
        return PX_OK;
    }
    if (c.tb) {
        int64_t rb = px_dtype_row_size(c.bdt, c.K);
        if (rb < 0) return a->host->set_error(PX_ERR_SHAPE, "matmul: K = %lld is not a multiple of %s's block",
                                              (long long)c.K, px_dtype_name(c.bdt));
        c.b_row_bytes = (size_t)rb;
        c.deq = px_dequantize_row_get(c.bdt);
        if (!c.deq) return a->host->set_error(PX_ERR_DTYPE, "matmul: no row conversion for %s", px_dtype_name(c.bdt));
    }
    cpu_scratch s;
    px_status st = cpu_scratch_begin(a, cpu_matmul_need, &s);
    if (st) return st;
    c.s = &s;
    c.ntn = (c.N + MM_NB - 1) / MM_NB;
    c.ntm = (c.M + MM_MT - 1) / MM_MT;
    int64_t items = nbatch * c.ntn * c.ntm;
    int64_t per_item = (c.M < MM_MT ? c.M : MM_MT) * MM_NB * c.K;
    a->host->parallel_for(items, cpu_grain(per_item, 1 << 16), mm_range, &c);
    cpu_scratch_end(a, &s);
    return PX_OK;
}
