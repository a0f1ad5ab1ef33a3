/* CPU plugin — F16 weights in panels of 32 rows (AVX-512): the layout
 * matmul_q gives constant F16 weights at load, and the products on it.
 *
 * Layout: panel p holds rows 32p .. 32p+31 as K vectors of 32 F16 values
 * (one 64-byte line per k), panel[k][r] = B[32p + r][k]; the last panel's
 * missing rows are zeros. The same bytes as the file (but for those rows),
 * read as one stream per panel. Each panel is two halves of 16 rows (the
 * 16 lanes of one vector), and the kernels count in halves.
 *
 * Every output is one F32 lane that adds w * a over k = 0, 1, .., K-1 in
 * that order with fused multiply-adds, the activations rounded to F16 first
 * (as llama.cpp does for F16 weights, so each product is exact); the bias,
 * if any, is added at the end. One-row products (decode) and batches
 * (prompts) therefore give the same bits for the same row.
 *
 * Decode: one panel at a time, a[k] broadcast, two 16-lane accumulators (one
 * per half). Why 32 rows: one accumulator is one chain of fused
 * multiply-adds, 4 cycles each, one per 32 bytes — at most 8 bytes a cycle,
 * about 28 GB/s a core, below what one Zen 4 core reads (30 GB/s, and up to
 * 60 GB/s with two); two chains per line lift that ceiling to twice the
 * stream (measured: docs/performance.md).
 * Batches: activations packed six rows at a time as [k][6] (F16-rounded,
 * missing rows zero), then micro-kernels of 6 activation rows x 4 halves (24
 * accumulators of 16 outputs, no reduction) over blocks of GP_KC values of
 * k, the accumulators kept on the stack between blocks, so that a block of
 * 2 panels (64 KiB) stays in L2 while every group of activation rows goes
 * over it. Measured against the former 4 x 4 dot-product tiles on rows
 * (bench/, 1 thread): see docs/performance.md. */
#include <string.h>

#include "cpu_common.h"
#include "k_gemm_q.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define GP_T __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw")))
#define GP_MR 6    /* activation rows per micro-kernel */
#define GP_NP 4    /* halves (16 rows) per micro-kernel: two panels */
#define GP_PR 32   /* rows per panel */
#define GP_KC 512  /* k per block */
#define GP_MC 16   /* groups of GP_MR rows whose accumulators are kept at once (24 KiB) */
#define GP_PREFETCH 8192

size_t cpu_f16p_bytes(int64_t N, int64_t K) { return (size_t)((N + GP_PR - 1) / GP_PR) * (size_t)K * GP_PR * 2; }

size_t cpu_f16p_act_bytes(int64_t M, int64_t K) {
    return (size_t)((M + GP_MR - 1) / GP_MR) * GP_MR * (size_t)K * sizeof(float);
}

void cpu_f16p_repack(const uint16_t *src, int64_t N, int64_t K, uint16_t *dst) {
    for (int64_t p = 0; p < (N + GP_PR - 1) / GP_PR; p++) {
        uint16_t *d = dst + (size_t)p * (size_t)K * GP_PR;
        for (int r = 0; r < GP_PR; r++) {
            int64_t n = p * GP_PR + r;
            const uint16_t *s = n < N ? src + (size_t)n * (size_t)K : NULL;
            for (int64_t k = 0; k < K; k++) d[k * GP_PR + r] = s ? s[k] : 0;
        }
    }
}

typedef struct gp_ctx {
    int64_t M, K, N, nh; /* nh: halves (two per panel) */
    const float *A, *bias;
    const uint16_t *P;
    float *O;
    float *pa; /* packed activations: [M / 6][K][6], or the rounded row (M = 1) */
} gp_ctx;

/* x rounded to F16 and back (vcvtps2ph: to nearest even). */
GP_T static inline __m512 round_f16(__m512 x) { return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }

/* Rows 6g .. 6g+5 of A, rounded to F16, as [k][6]. */
GP_T static void pack_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const gp_ctx *c = vctx;
    float tmp[GP_MR][16];
    for (int64_t g = b; g < e; g++) {
        float *d = c->pa + (size_t)g * (size_t)c->K * GP_MR;
        for (int64_t k0 = 0; k0 < c->K; k0 += 16) {
            int64_t nk = c->K - k0 < 16 ? c->K - k0 : 16;
            __mmask16 mk = (__mmask16)((1u << nk) - 1);
            for (int i = 0; i < GP_MR; i++) {
                int64_t m = g * GP_MR + i;
                __m512 v = m < c->M ? _mm512_maskz_loadu_ps(mk, c->A + (size_t)m * (size_t)c->K + k0) : _mm512_setzero_ps();
                _mm512_storeu_ps(tmp[i], round_f16(v));
            }
            for (int64_t k = 0; k < nk; k++)
                for (int i = 0; i < GP_MR; i++) d[(k0 + k) * GP_MR + i] = tmp[i][k];
        }
    }
}

GP_T static void round_row(const float *x, float *h, int64_t K) {
    for (int64_t k = 0; k < K; k += 16) {
        __mmask16 mk = (__mmask16)(K - k < 16 ? (1u << (K - k)) - 1 : 0xffffu);
        _mm512_mask_storeu_ps(h + k, mk, round_f16(_mm512_maskz_loadu_ps(mk, x + k)));
    }
}

/* The 32 outputs of one panel for one activation row, as two halves. Long
 * panels ask for their bytes GP_PREFETCH ahead with prefetchnta: on Zen 4
 * this loop read 30 GB/s with it on one core, 27 without, and 21 with the
 * prefetcht1 at 16 KiB that the one-chain loop used (bench-style loop over
 * 2.5 GB, medians of 7). */
GP_T __attribute__((always_inline)) static inline void panel_row(const uint16_t *p, const float *a, int64_t K, int ahead,
                                                                 __m512 *lo, __m512 *hi) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        const uint16_t *w = p + k * GP_PR;
        if (ahead) _mm_prefetch((const char *)w + GP_PREFETCH, _MM_HINT_NTA);
        __m512 av = _mm512_set1_ps(a[k]);
        acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_load_si256((const __m256i *)w)), av, acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(w + 16))), av, acc1);
    }
    *lo = acc0, *hi = acc1;
}

/* The 16 (or fewer, in the last panel; none past N) outputs of half h for row m. */
GP_T static void store_row(const gp_ctx *c, int64_t m, int64_t h, __m512 acc) {
    int64_t n0 = h * 16, nn = c->N - n0 < 16 ? c->N - n0 : 16;
    if (nn <= 0) return;
    __mmask16 mk = (__mmask16)(nn == 16 ? 0xffffu : (1u << nn) - 1);
    if (c->bias) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(mk, c->bias + n0));
    _mm512_mask_storeu_ps(c->O + (size_t)m * (size_t)c->N + n0, mk, acc);
}

GP_T static void decode_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const gp_ctx *c = vctx;
    int ahead = 4 * c->K > 24576; /* the activation row and a panel's k-steps would not stay in L1 together */
    for (int64_t p = b; p < e; p++) {
        const uint16_t *w = c->P + (size_t)p * (size_t)c->K * GP_PR;
        __m512 lo, hi;
        if (ahead) panel_row(w, c->pa, c->K, 1, &lo, &hi);
        else panel_row(w, c->pa, c->K, 0, &lo, &hi);
        store_row(c, 0, 2 * p, lo);
        store_row(c, 0, 2 * p + 1, hi);
    }
}

/* acc[6][NP] += packed activations [kc][6] x NP halves over kc values of k
 * (half j: panel j / 2 from w, pstride apart, 16 values in). NP is a
 * constant in each instance, so the loops unroll into registers. */
#define GP_KERNEL(NP)                                                                                              \
    GP_T static void kern_##NP(const float *a, const uint16_t *w, size_t pstride, int64_t kc, __m512 *accm) {     \
        __m512 acc[GP_MR][NP];                                                                                     \
        for (int i = 0; i < GP_MR; i++)                                                                            \
            for (int j = 0; j < NP; j++) acc[i][j] = accm[i * GP_NP + j];                                          \
        for (int64_t k = 0; k < kc; k++) {                                                                         \
            __m512 wv[NP];                                                                                         \
            for (int j = 0; j < NP; j++)                                                                           \
                wv[j] = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(w + (j / 2) * pstride + (j % 2) * 16 + (size_t)k * GP_PR))); \
            for (int i = 0; i < GP_MR; i++) {                                                                      \
                __m512 av = _mm512_set1_ps(a[k * GP_MR + i]);                                                      \
                for (int j = 0; j < NP; j++) acc[i][j] = _mm512_fmadd_ps(wv[j], av, acc[i][j]);                   \
            }                                                                                                      \
        }                                                                                                          \
        for (int i = 0; i < GP_MR; i++)                                                                            \
            for (int j = 0; j < NP; j++) accm[i * GP_NP + j] = acc[i][j];                                          \
    }
GP_KERNEL(2)
GP_KERNEL(4)

/* Items: groups of GP_NP halves (two panels). */
GP_T static void gemm_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const gp_ctx *c = vctx;
    int64_t groups = (c->M + GP_MR - 1) / GP_MR;
    size_t pstride = (size_t)c->K * GP_PR;
    __m512 accm[GP_MC][GP_MR * GP_NP];
    for (int64_t item = b; item < e; item++) {
        int64_t p0 = item * GP_NP, np = c->nh - p0 < GP_NP ? c->nh - p0 : GP_NP; /* halves: 4, or 2 at the end */
        const uint16_t *w = c->P + (size_t)(p0 / 2) * pstride;
        for (int64_t g0 = 0; g0 < groups; g0 += GP_MC) {
            int64_t ng = groups - g0 < GP_MC ? groups - g0 : GP_MC;
            for (int64_t g = 0; g < ng; g++)
                for (int i = 0; i < GP_MR * GP_NP; i++) accm[g][i] = _mm512_setzero_ps();
            for (int64_t k0 = 0; k0 < c->K; k0 += GP_KC) {
                int64_t kc = c->K - k0 < GP_KC ? c->K - k0 : GP_KC;
                for (int64_t g = 0; g < ng; g++) {
                    const float *a = c->pa + ((size_t)(g0 + g) * (size_t)c->K + (size_t)k0) * GP_MR;
                    const uint16_t *wk = w + (size_t)k0 * GP_PR;
                    if (np == 4) kern_4(a, wk, pstride, kc, accm[g]);
                    else kern_2(a, wk, pstride, kc, accm[g]);
                }
            }
            for (int64_t g = 0; g < ng; g++)
                for (int i = 0; i < GP_MR; i++) {
                    int64_t m = (g0 + g) * GP_MR + i;
                    if (m >= c->M) break;
                    for (int64_t j = 0; j < np; j++) store_row(c, m, p0 + j, accm[g][i * GP_NP + j]);
                }
        }
    }
}

void cpu_f16p_run(const px_host_api *h, const cpu_f16p_args *g) {
    gp_ctx c = {.M = g->M, .K = g->K, .N = g->N, .nh = (g->N + GP_PR - 1) / GP_PR * 2, .A = g->A, .bias = g->bias, .P = g->panels,
                .O = g->O, .pa = g->act};
    if (c.M == 1) {
        round_row(c.A, c.pa, c.K);
        h->parallel_for(c.nh / 2, cpu_grain(GP_PR * c.K, 1 << 15), decode_range, &c);
        return;
    }
    int64_t groups = (c.M + GP_MR - 1) / GP_MR;
    h->parallel_for(groups, 1, pack_range, &c);
    h->parallel_for((c.nh + GP_NP - 1) / GP_NP, 1, gemm_range, &c);
}

#else
size_t cpu_f16p_bytes(int64_t N, int64_t K) {
    (void)N, (void)K;
    return 0;
}
size_t cpu_f16p_act_bytes(int64_t M, int64_t K) {
    (void)M, (void)K;
    return 0;
}
void cpu_f16p_repack(const uint16_t *src, int64_t N, int64_t K, uint16_t *dst) { (void)src, (void)N, (void)K, (void)dst; }
void cpu_f16p_run(const px_host_api *h, const cpu_f16p_args *g) { (void)h, (void)g; }
#endif
