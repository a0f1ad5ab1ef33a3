/* k_matmul_f16p.c, constant F16 weights in panels of 32 rows (AVX-512):
 * every output must equal, bit for bit, one F32 lane that adds
 * w * round_f16(a) over k = 0 .. K-1 in order with fused multiply-adds,
 * plus the bias at the end, whatever the batch size (one-row products and
 * the GEMM agree), for shapes with row, panel and activation-group tails.
 * Built from the plugin's source: the kernel is internal. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k_gemm_q.h"
#include "kernel_test.h"
#include "quant.h"
#include "test.h"

#if defined(__x86_64__)
static int check_shape(int64_t M, int64_t N, int64_t K, int with_bias) {
    uint16_t *w = malloc((size_t)(N * K) * 2);
    float *a = malloc((size_t)(M * K) * 4), *bias = malloc((size_t)N * 4), *o = malloc((size_t)(M * N) * 4);
    float *o1 = malloc((size_t)N * 4);
    uint16_t *pan = aligned_alloc(64, (cpu_f16p_bytes(N, K) + 63) / 64 * 64);
    float *act = aligned_alloc(64, (cpu_f16p_act_bytes(M, K) + 63) / 64 * 64);
    for (int64_t i = 0; i < N * K; i++) w[i] = px_f32_to_f16((float)rnd());
    for (int64_t i = 0; i < M * K; i++) a[i] = (float)rnd() * 3.0f;
    for (int64_t i = 0; i < N; i++) bias[i] = (float)rnd();
    for (int64_t i = 0; i < M * N; i++) o[i] = NAN;
    cpu_f16p_repack(w, N, K, pan);
    px_host_api h;
    memset(&h, 0, sizeof h);
    h.parallel_for = two_threads;
    cpu_f16p_args g = {.M = M, .K = K, .N = N, .A = a, .panels = pan, .bias = with_bias ? bias : NULL, .O = o, .act = act};
    cpu_f16p_run(&h, &g);
    int bad = 0;
    for (int64_t m = 0; m < M; m++) {
        /* the same row alone (decode) */
        cpu_f16p_args g1 = g;
        g1.M = 1;
        g1.A = a + m * K;
        g1.O = o1;
        cpu_f16p_run(&h, &g1);
        for (int64_t n = 0; n < N; n++) {
            float s = 0;
            for (int64_t k = 0; k < K; k++)
                s = fmaf(px_f16_to_f32(w[n * K + k]), px_f16_to_f32(px_f32_to_f16(a[m * K + k])), s);
            if (with_bias) s += bias[n];
            float got = o[m * N + n];
            if (memcmp(&got, &s, 4) != 0 || memcmp(&o1[n], &s, 4) != 0) {
                if (bad++ < 3)
                    fprintf(stderr, "M=%lld N=%lld K=%lld: out[%lld][%lld] %.9g, alone %.9g, expected %.9g\n", (long long)M,
                            (long long)N, (long long)K, (long long)m, (long long)n, got, o1[n], s);
            }
        }
    }
    free(w), free(a), free(bias), free(o), free(o1), free(pan), free(act);
    return bad;
}

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl") ||
        !__builtin_cpu_supports("fma")) { /* every AVX-512 CPU has F16C (clang 14 cannot ask for it here) */
        printf("test_f16_panels: skipped: no AVX-512 on this CPU\n");
        return PX_TEST_SKIP;
    }
    static const int64_t Ms[] = {1, 2, 5, 6, 7, 13, 100};
    static const int64_t Ns[] = {16, 20, 64, 80, 96, 100};
    static const int64_t Ks[] = {1, 3, 16, 33, 511, 512, 513, 1100};
    for (size_t i = 0; i < sizeof Ms / sizeof Ms[0]; i++)
        for (size_t j = 0; j < sizeof Ns / sizeof Ns[0]; j++)
            for (size_t k = 0; k < sizeof Ks / sizeof Ks[0]; k++) {
                int bad = check_shape(Ms[i], Ns[j], Ks[k], (int)((i + j + k) & 1));
                CHECK_MSG(bad == 0, "M=%lld N=%lld K=%lld: %d outputs differ", (long long)Ms[i], (long long)Ns[j],
                          (long long)Ks[k], bad);
            }
    /* a long row: the one-row products' prefetching branch */
    CHECK(check_shape(3, 32, 8200, 1) == 0);
    return px_test_finish("test_f16_panels");
}
#else
int main(void) {
    printf("test_f16_panels: skipped: not x86-64\n");
    return PX_TEST_SKIP;
}
#endif
