/* cpu_exp_avx512 (plugins/cpu/cpu_simd_x86.h) against exp() in double: every
 * 97th float in [-104, 89] within 2 ulp (relative 2.4e-7 on normal results),
 * 0 and +inf past the float range, NaN kept. Skipped without AVX-512. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "test.h"

#if defined(__x86_64__)
#include "cpu_simd_x86.h"

CPU_AVX512_TARGET static void exp16(const float *x, float *y) { _mm512_storeu_ps(y, cpu_exp_avx512(_mm512_loadu_ps(x))); }

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl")) {
        printf("test_exp_avx512: skipped: no AVX-512 on this CPU\n");
        return PX_TEST_SKIP;
    }
    double worst = 0;
    float wx = 0;
    int64_t n = 0;
    float x[16], y[16];
    int64_t k = 0;
    for (float v = -104.0f; v <= 89.0f; v = nextafterf(v, INFINITY)) {
        if (++k % 97) continue;
        x[n % 16] = v;
        if (++n % 16 == 0) {
            exp16(x, y);
            for (int i = 0; i < 16; i++) {
                double ref = exp((double)x[i]);
                if (ref < 1.1754944e-38) continue; /* subnormal results: checked below as near 0 */
                if (ref > 3.4028234663852886e38) { /* past FLT_MAX: +inf (or FLT_MAX, 1 ulp below the rounding point) */
                    CHECK_MSG(y[i] >= 3.4028234e38f, "exp(%.9g) = %g, want +inf", (double)x[i], (double)y[i]);
                    continue;
                }
                double e = fabs(y[i] - ref) / ref;
                if (e > worst) worst = e, wx = x[i];
            }
        }
    }
    CHECK_MSG(worst <= 2.4e-7, "largest relative error %.3g at x = %.9g", worst, (double)wx);
    float sx[16] = {-INFINITY, INFINITY, NAN, -1000.0f, 1000.0f, 0.0f, -0.0f, 88.7f, 89.0f, -87.0f, -104.0f,
                    -150.0f, 1.0f, -1.0f, 0.5f, 88.72f};
    exp16(sx, y);
    CHECK(y[0] == 0.0f && isinf(y[1]) && y[1] > 0 && isnan(y[2]) && y[3] == 0.0f && isinf(y[4]));
    CHECK(y[5] == 1.0f && y[6] == 1.0f && isinf(y[8]) && y[10] < 1e-44f && y[11] == 0.0f);
    CHECK_MSG(fabs(y[7] - exp(88.7f)) / exp(88.7f) < 2.4e-7, "exp(88.7) = %.9g", (double)y[7]);
    CHECK_MSG(fabs(y[12] - M_E) / M_E < 2.4e-7, "exp(1) = %.9g", (double)y[12]);
    CHECK(fabs(y[9] - exp(-87.0)) / exp(-87.0) < 2.4e-7);
    printf("test_exp_avx512: %lld values, largest relative error %.3g at x = %.9g\n", (long long)n, worst, (double)wx);
    return px_test_finish("test_exp_avx512");
}
#else
int main(void) {
    printf("test_exp_avx512: skipped: not x86-64\n");
    return PX_TEST_SKIP;
}
#endif
