/* k_gemm_q.c, the prompt GEMM over block-quantized weights, against a
 * double-precision reference for every weight type it takes, odd shapes
 * (row and panel tails), bias, and every ISA path this CPU has; for batches
 * of more than 4 rows the paths must agree bit for bit (the GEMM's
 * arithmetic is specified per output, see k_gemm_q.c), smaller batches may
 * take one-row products. Built from the plugin's source: the kernel is
 * internal. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include "k_gemm_q.h"
#include "kernel_test.h"
#include "quant.h"
#include "test.h"

#if defined(__x86_64__)
#define IS_X86 1
#else
#define IS_X86 0
#endif

/* The activation quantization the GEMM specifies: per 32, scale amax/127
 * rounded to F16, values rounded to nearest even. */
static void ref_act(const float *x, int64_t K, double *out) {
    for (int64_t b = 0; b < K; b += 32) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[b + i]));
        float id = amax != 0 ? 127.0f / amax : 0.0f;
        double d = px_f16_to_f32(px_f32_to_f16(amax / 127.0f));
        for (int i = 0; i < 32; i++) out[b + i] = d * nearbyintf(x[b + i] * id);
    }
}

static int levels_here(int *lv) {
    int n = 0;
    lv[n++] = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) lv[n++] = 1;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        lv[n++] = 2;
#elif defined(__aarch64__)
    lv[n++] = 1; /* Advanced SIMD: every ARMv8-A */
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) lv[n++] = 2;
#endif
#endif
    return n;
}

static void run_case(px_dtype t, int64_t M, int64_t K, int64_t N, int with_bias) {
    const px_dtype_traits *tr = px_dtype_get_traits(t);
    size_t rb = (size_t)px_dtype_row_size(t, K);
    float *wf = malloc(sizeof(float) * (size_t)(N * K)), *A = malloc(sizeof(float) * (size_t)(M * K));
    uint8_t *B = malloc(rb * (size_t)N + 1);
    double *wd = malloc(sizeof(double) * (size_t)K), *ad = malloc(sizeof(double) * (size_t)(M * K));
    float *wrow = malloc(sizeof(float) * (size_t)K), *bias = malloc(sizeof(float) * (size_t)N);
    for (int64_t i = 0; i < N * K; i++) wf[i] = (float)rnd();
    for (int64_t i = 0; i < M * K; i++) A[i] = (float)(3 * rnd());
    if (K >= 64) {
        for (int i = 0; i < 32; i++) A[32 + i] = 0; /* an all-zero activation block */
        A[5] = 1000.0f;                              /* an outlier */
    }
    for (int64_t n = 0; n < N; n++) px_quantize_row_get(t)(wf + n * K, B + (size_t)n * rb, K);
    for (int64_t n = 0; n < N; n++) bias[n] = (float)rnd();
    for (int64_t m = 0; m < M; m++) ref_act(A + m * K, K, ad + m * K);

    int lv[3], nl = levels_here(lv);
    float *out[4];
    px_host_api host;
    memset(&host, 0, sizeof host);
    host.parallel_for = two_threads;
    size_t panel = cpu_gemm_q_panel_bytes(K);
    uint8_t *scr_mem = aligned_alloc(64, (panel + 63) / 64 * 64 * 2);
    void *act = aligned_alloc(64, (cpu_gemm_q_act_bytes(M, K) + 63) / 64 * 64);
    cpu_scratch scr = {.base = scr_mem, .shared = 0, .per_thread = (panel + 63) / 64 * 64, .n_threads = 2};
    for (int l = 0; l < nl; l++) {
        out[l] = malloc(sizeof(float) * (size_t)(M * N));
        cpu_gemm_q_args g = {.wt = t, .level = lv[l], .M = M, .K = K, .N = N, .A = A, .B = B, .row_bytes = rb,
                             .bias = with_bias ? bias : NULL, .O = out[l], .act = act, .scr = &scr};
        cpu_gemm_q(&host, &g);
    }
    /* Q4_0/Q5_0/Q8_0/Q4_K/Q6_K repacked at load (AVX-512 VNNI): one more path, from another layout */
    int rep = cpu_repack_ok(t, lv[nl - 1], N, K);
    uint8_t *rp = NULL;
    if (rep) {
        rp = aligned_alloc(64, (cpu_repack_bytes(t, N, K) + 63) / 64 * 64);
        out[nl] = malloc(sizeof(float) * (size_t)(M * N));
        cpu_repack(t, B, rb, N, K, rp);
        cpu_gemm_q_args g = {.wt = t, .level = lv[nl - 1], .M = M, .K = K, .N = N, .A = A, .B = B, .row_bytes = rb,
                             .bias = with_bias ? bias : NULL, .O = out[nl], .act = act, .scr = &scr, .repacked = rp};
        cpu_gemm_q(&host, &g);
    }
    double worst[4] = {0, 0, 0, 0};
    for (int64_t n = 0; n < N; n++) {
        px_dequantize_row_get(t)(B + (size_t)n * rb, wrow, K);
        for (int64_t k = 0; k < K; k++) wd[k] = wrow[k];
        for (int64_t m = 0; m < M; m++) {
            double s = with_bias ? bias[n] : 0, mag = fabs(s);
            for (int64_t k = 0; k < K; k++) {
                s += wd[k] * ad[m * K + k];
                mag += fabs(wd[k] * ad[m * K + k]);
            }
            for (int l = 0; l < nl + rep; l++) worst[l] = fmax(worst[l], fabs(out[l][m * N + n] - s) / (mag + 1e-30));
        }
    }
    for (int l = 0; l < nl + rep; l++)
        CHECK_MSG(worst[l] < 2e-6, "%s M=%lld K=%lld N=%lld %s %d: relative error %.3g", tr->name, (long long)M,
                  (long long)K, (long long)N, l < nl ? "level" : "repacked, level", lv[l < nl ? l : nl - 1], worst[l]);
    /* the GEMM proper (batches of more than 4 rows) gives the same bits on every path; one-row products
     * of some types sum in SIMD lanes instead */
    for (int l = 1; l < nl && M > 4; l++)
        CHECK_MSG(memcmp(out[0], out[l], sizeof(float) * (size_t)(M * N)) == 0,
                  "%s M=%lld K=%lld N=%lld: level %d differs from scalar", tr->name, (long long)M, (long long)K,
                  (long long)N, lv[l]);
    /* the one-row products of Q4_1/Q5_x/IQ4_NL hold the same integer lanes with AVX2 and AVX-512 VNNI
     * (on ARM, NEON without sdot sums other pairs: only the reference check holds there) */
    if (IS_X86 && M <= 4 && nl == 3 && (t == PX_Q4_1 || t == PX_Q5_0 || t == PX_Q5_1 || t == PX_IQ4_NL))
        CHECK_MSG(memcmp(out[1], out[2], sizeof(float) * (size_t)(M * N)) == 0,
                  "%s M=%lld K=%lld N=%lld: AVX2 one-row products differ from AVX-512's", tr->name, (long long)M,
                  (long long)K, (long long)N);
    /* the repacked Q4_0/Q5_0/Q8_0/Q4_K kernels make the scalar GEMM's steps (level 0 is the GEMM for every M);
     * Q6_K's sums its sub-blocks in another order */
    if (rep && t != PX_Q6_K)
        CHECK_MSG(memcmp(out[0], out[nl], sizeof(float) * (size_t)(M * N)) == 0,
                  "%s repacked M=%lld K=%lld N=%lld differs from the scalar GEMM", tr->name, (long long)M, (long long)K,
                  (long long)N);
    if (rep) free(out[nl]);
    free(rp);
    for (int l = 0; l < nl; l++) free(out[l]);
    free(wf), free(A), free(B), free(wd), free(ad), free(wrow), free(bias), free(scr_mem), free(act);
}

int main(void) {
    static const px_dtype types[] = {PX_Q4_0, PX_Q4_1, PX_Q5_0, PX_Q5_1, PX_Q8_0, PX_IQ4_NL,
                                     PX_Q2_K, PX_Q3_K, PX_Q4_K, PX_Q5_K, PX_Q6_K};
    static const int64_t Ms[] = {1, 2, 3, 5, 8, 13, 33}, Ns[] = {1, 16, 17, 40};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        px_dtype t = types[ti];
        CHECK_MSG(cpu_gemm_q_has(t), "%s has no GEMM", px_dtype_get_traits(t)->name);
        int64_t bs = px_dtype_get_traits(t)->block_size;
        const int64_t Ks[] = {bs, 3 * bs, bs == 32 ? 1024 : 1280};
        for (int i = 0; i < 7; i++)
            for (int k = 0; k < 3; k++) run_case(t, Ms[i], Ks[k], Ns[(i + k) % 4], (i + k) & 1);
    }
    CHECK(!cpu_gemm_q_has(PX_F16) && !cpu_gemm_q_has(PX_F32));
    int lv[3];
    printf("test_gemm_q: ISA levels checked:");
    for (int l = 0, n = levels_here(lv); l < n; l++) printf(" %d", lv[l]);
    printf("\n");
    return px_test_finish("test_gemm_q");
}
