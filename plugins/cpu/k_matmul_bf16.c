/* CPU plugin — MATMUL of F32 activations with BF16 weights read in place
 * (trans_b = 1) on CPUs with AVX-512 BF16 (Zen 4, Cooper Lake, Sapphire
 * Rapids and later): `matmul_bf16`. Elsewhere matmul_act takes them.
 *
 * As llama.cpp does for BF16 weights: the activations are rounded to BF16
 * (to nearest even), then vdpbf16ps multiplies pairs of BF16 values exactly
 * and adds them into F32 lanes (denormals flushed, as the instruction does).
 * One-row products (decode) stream each weight row once, 4 accumulators.
 * Batches of more than 4 rows: each thread packs a panel of 16 weight rows,
 * transposed two values at a time (panel[k/2] = pairs k, k+1 of the 16 rows:
 * one vector), then micro-kernels of 12 activation rows broadcast a pair of
 * activations per row and k/2 into one vdpbf16ps with the panel's vector:
 * 12 vectors of 16 outputs in registers, no reduction. Rows whose length is
 * not a multiple of 32 end with masked loads (zeros add nothing). */
#include <string.h>

#include "cpu_common.h"
#include "cpu_simd_x86.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define BF_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512bf16")))
#define BF_MT 4 /* activation rows per item (batches of more take the GEMM) */
#define BF_NB 8  /* weight rows per item */

static int has_bf16(void) {
    static int cached = -1;
    if (cached < 0) {
        unsigned a, b, c, d;
        cached = cpu_isa_level() >= 2 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1);
    }
    return cached;
}

int cpu_matmul_bf16_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (!has_bf16() || n->n_inputs < 2 || n->n_inputs > 3 || n->n_outputs != 1 || !cpu_in(n, 0) || !cpu_in(n, 1))
        return 0;
    const px_value_desc *A = &n->inputs[0], *B = &n->inputs[1];
    if (A->dtype != PX_F32 || B->dtype != PX_BF16 || n->outputs[0].dtype != PX_F32) return 0;
    if (cpu_attr_i(n, "trans_b", 0) == 0 || B->rank != 2 || A->rank < 2 || B->ne[1] != A->ne[A->rank - 1]) return 0;
    if (cpu_in(n, 2) && (cpu_in_dt(n, 2) != PX_F32 || n->inputs[2].rank != 1)) return 0;
    return 1;
}

static int64_t rows_of(const px_value_desc *v) {
    int64_t m = 1;
    for (int32_t i = 0; i + 1 < v->rank; i++) m *= v->ne[i];
    return m;
}

/* Activations as BF16, each row padded with zeros to a multiple of 32. */
static size_t act_bytes(int64_t M, int64_t K) { return (size_t)(M * ((K + 31) / 32 * 32)) * 2; }

/* The device scratch for the activations; matmul's per-thread scratch
 * (17 rows of K floats) holds a panel (16 rows of K BF16, padded). */
px_status cpu_matmul_bf16_prepare(void *dev, const px_node_desc *node, void **out_state) {
    *out_state = NULL;
    const px_value_desc *A = &node->inputs[0];
    px_status st = cpu_device_scratch_reserve(dev, act_bytes(rows_of(A), A->ne[A->rank - 1]));
    return st ? st : cpu_prepare(dev, node, out_state);
}

void cpu_matmul_bf16_release(void *dev, void *op_state) { cpu_release(dev, op_state); }

typedef struct bf_ctx {
    int64_t M, K, Kp, N, ntm;
    const float *A, *bias;
    const uint16_t *B;
    uint16_t *ab; /* [M][Kp] */
    float *O;
    const cpu_scratch *scr;
} bf_ctx;

BF_TARGET static void round_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const bf_ctx *c = vctx;
    for (int64_t m = b; m < e; m++) {
        const float *x = c->A + m * c->K;
        uint16_t *y = c->ab + m * c->Kp;
        for (int64_t k = 0; k < c->Kp; k += 32) {
            __mmask16 m0 = k >= c->K ? 0 : c->K - k >= 16 ? 0xFFFF : (__mmask16)((1u << (c->K - k)) - 1);
            __mmask16 m1 = k + 16 >= c->K ? 0 : c->K - k - 16 >= 16 ? 0xFFFF : (__mmask16)((1u << (c->K - k - 16)) - 1);
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, x + k + 16), _mm512_maskz_loadu_ps(m0, x + k));
            _mm512_storeu_si512((void *)(y + k), (__m512i)v);
        }
    }
}

/* 32 BF16 weights from k (masked past K). */
BF_TARGET static inline __m512bh wload(const uint16_t *w, int64_t k, int64_t K) {
    if (K - k >= 32) return (__m512bh)_mm512_loadu_si512((const void *)(w + k));
    __mmask32 m = (__mmask32)((1ull << (K - k)) - 1);
    return (__m512bh)_mm512_maskz_loadu_epi16(m, w + k);
}

BF_TARGET static void item_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const bf_ctx *c = vctx;
    const int64_t K = c->K, Kp = c->Kp;
    for (int64_t item = b; item < e; item++) {
        int64_t tn = item / c->ntm, tm = item - tn * c->ntm;
        int64_t n0 = tn * BF_NB, n1 = n0 + BF_NB < c->N ? n0 + BF_NB : c->N;
        int64_t m0 = tm * BF_MT, m1 = m0 + BF_MT < c->M ? m0 + BF_MT : c->M;
        for (int64_t i0 = m0; i0 < m1; i0++) /* one row at a time (decode, and batches of up to 4) */
            for (int64_t n = n0; n < n1; n++) {
                const uint16_t *w = c->B + (size_t)n * K, *a = c->ab + i0 * Kp;
                __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
                int64_t k = 0;
                for (; k + 128 <= K; k += 128)
                    for (int u = 0; u < 4; u++)
                        s[u] = _mm512_dpbf16_ps(s[u], (__m512bh)_mm512_loadu_si512((const void *)(a + k + 32 * u)),
                                                (__m512bh)_mm512_loadu_si512((const void *)(w + k + 32 * u)));
                for (; k < Kp; k += 32)
                    s[0] = _mm512_dpbf16_ps(s[0], (__m512bh)_mm512_loadu_si512((const void *)(a + k)), wload(w, k, K));
                float r = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]), _mm512_add_ps(s[2], s[3])));
                c->O[i0 * c->N + n] = r + (c->bias ? c->bias[n] : 0.0f);
            }
    }
}

#define GB_NR 16
#define GB_MR 12

/* 16 BF16 of a row from k (masked past K). */
BF_TARGET static inline __m256i row16(const uint16_t *w, int64_t k, int64_t K) {
    if (K - k >= 16) return _mm256_loadu_si256((const __m256i *)(w + k));
    if (k >= K) return _mm256_setzero_si256(); /* the padding up to a multiple of 32 */
    return _mm256_maskz_loadu_epi16((__mmask16)((1u << (K - k)) - 1), w + k);
}

BF_TARGET static void gemm_kern(const bf_ctx *c, const uint32_t *panel, int64_t m0, int mr, int64_t n0) {
    const uint32_t *a[GB_MR];
    for (int i = 0; i < GB_MR; i++) a[i] = (const uint32_t *)(const void *)(c->ab + (m0 + (i < mr ? i : 0)) * c->Kp);
    __m512 acc[GB_MR];
    for (int i = 0; i < GB_MR; i++) acc[i] = _mm512_setzero_ps();
    for (int64_t p = 0; p < c->Kp / 2; p++) {
        __m512bh w = (__m512bh)_mm512_load_si512((const void *)(panel + p * GB_NR));
        for (int i = 0; i < GB_MR; i++) acc[i] = _mm512_dpbf16_ps(acc[i], (__m512bh)_mm512_set1_epi32((int)a[i][p]), w);
    }
    int nr = c->N - n0 < GB_NR ? (int)(c->N - n0) : GB_NR;
    __mmask16 mask = (__mmask16)((1u << nr) - 1);
    __m512 bias = c->bias ? _mm512_maskz_loadu_ps(mask, c->bias + n0) : _mm512_setzero_ps();
    for (int i = 0; i < mr; i++) _mm512_mask_storeu_ps(c->O + (m0 + i) * c->N + n0, mask, _mm512_add_ps(acc[i], bias));
}

BF_TARGET static void gemm_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const bf_ctx *c = vctx;
    uint32_t *panel = cpu_scratch_thread(c->scr, thread);
    for (int64_t item = b; item < e; item++) {
        int64_t n0 = item * GB_NR;
        const uint16_t *rows[GB_NR];
        for (int r = 0; r < GB_NR; r++) rows[r] = c->B + (size_t)(n0 + r < c->N ? n0 + r : n0) * c->K;
        for (int64_t k = 0; k < c->Kp; k += 16) {
            __m512i z[8], o[8];
            for (int r = 0; r < 8; r++)
                z[r] = _mm512_inserti64x4(_mm512_castsi256_si512(row16(rows[r], k, c->K)), row16(rows[r + 8], k, c->K), 1);
            cpu_transpose_16x8_epi32(z, o);
            for (int q = 0; q < 8; q++) _mm512_store_si512((void *)(panel + (k / 2 + q) * GB_NR), o[q]);
        }
        for (int64_t m0 = 0; m0 < c->M; m0 += GB_MR) gemm_kern(c, panel, m0, c->M - m0 < GB_MR ? (int)(c->M - m0) : GB_MR, n0);
    }
}

px_status cpu_matmul_bf16_run(const px_kernel_args *a) {
    const px_tensor *A = &a->inputs[0], *B = &a->inputs[1], *O = &a->outputs[0];
    bf_ctx c;
    memset(&c, 0, sizeof c);
    c.K = A->ne[A->rank - 1];
    c.Kp = (c.K + 31) / 32 * 32;
    c.M = 1;
    for (int32_t i = 0; i + 1 < A->rank; i++) c.M *= A->ne[i];
    c.N = B->ne[0];
    if (B->ne[1] != c.K || O->ne[O->rank - 1] != c.N)
        return a->host->set_error(PX_ERR_SHAPE, "matmul: shapes of a, b and out do not agree");
    if (c.M == 0 || c.N == 0) return PX_OK;
    c.A = A->data;
    c.B = B->data;
    c.O = O->data;
    c.bias = cpu_arg_in(a, 2) ? a->inputs[2].data : NULL;
    void *scr = NULL;
    px_status st = cpu_device_scratch_acquire(a->device, act_bytes(c.M, c.K), &scr);
    if (st) return st;
    c.ab = scr;
    a->host->parallel_for(c.M, 1, round_range, &c);
    if (c.M > 4) {
        cpu_scratch s;
        st = cpu_scratch_begin(a, cpu_matmul_need, &s);
        if (!st) {
            if (s.per_thread >= (size_t)c.Kp * GB_NR * 2) {
                c.scr = &s;
                a->host->parallel_for((c.N + GB_NR - 1) / GB_NR, 1, gemm_range, &c);
            } else {
                st = a->host->set_error(PX_ERR_INTERNAL, "matmul: panel scratch too small");
            }
            cpu_scratch_end(a, &s);
        }
        cpu_device_scratch_release(a->device);
        return st;
    }
    c.ntm = (c.M + BF_MT - 1) / BF_MT;
    int64_t items = ((c.N + BF_NB - 1) / BF_NB) * c.ntm;
    a->host->parallel_for(items, cpu_grain((c.M < BF_MT ? c.M : BF_MT) * BF_NB * c.K, 1 << 15), item_range, &c);
    cpu_device_scratch_release(a->device);
    return PX_OK;
}
#else
int cpu_matmul_bf16_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    (void)n;
    return 0;
}
px_status cpu_matmul_bf16_prepare(void *dev, const px_node_desc *node, void **out_state) {
    (void)dev;
    (void)node;
    *out_state = NULL;
    return PX_OK;
}
void cpu_matmul_bf16_release(void *dev, void *op_state) {
    (void)dev;
    (void)op_state;
}
px_status cpu_matmul_bf16_run(const px_kernel_args *a) {
    return a->host->set_error(PX_ERR_UNSUPPORTED, "matmul_bf16: not built for this architecture");
}
#endif
