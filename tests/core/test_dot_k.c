/* Tests of the CPU plugin's K-quant dot products (plugins/cpu/k_dot_k.c,
 * compiled into this test).
 *
 *  - the Q8_K activation quantizer: every level gives the bytes of the
 *    scalar one, which follows ggml's reference (checked here on values
 *    whose rounding is known: ties to even, the sign of d, zero blocks);
 *  - each dot (Q2_K..Q6_K) at every level the CPU has, against a double sum
 *    of the dequantized weights (px_dequantize_row_get) times d * q, within
 *    1e-5 of the sum of |w * a|, and bit-identical to the scalar level.
 *    Weight rows come from the project's quantizers (random and extreme
 *    floats) and from random bytes (every code and scale pattern).
 *
 * PLEXUS_DOT_K_BENCH=1 also prints the GB/s of weight bytes of single-thread
 * matrix-vector products per type and level (best of several runs). */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "k_dot_k.h"
#include "plexus/plexus.h"
#include "quant.h"
#include "test.h"
#include "test_rng.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

/* ---- helpers ------------------------------------------------------------------- */

/* The highest level this CPU runs (k_dot_k.h's numbering). */
static int cpu_level(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        return 2;
    return 1;
#elif defined(__aarch64__) && defined(__linux__) && defined(HWCAP_ASIMDDP)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? 2 : 1;
#elif defined(__aarch64__)
    return 1;
#else
    return 0;
#endif
}

static const px_dtype kinds[] = {PX_Q4_K, PX_Q6_K, PX_Q5_K, PX_Q3_K, PX_Q2_K};
static const char *const kind_names[] = {"Q4_K", "Q6_K", "Q5_K", "Q3_K", "Q2_K"};
#define NKINDS 5

/* Offsets of the F16 fields (d, and dmin where there is one) of a block. */
static void f16_fields(px_dtype t, int *d, int *dmin) {
    *dmin = -1;
    switch (t) {
    case PX_Q2_K: *d = 80, *dmin = 82; break;
    case PX_Q3_K: *d = 108; break;
    case PX_Q4_K: case PX_Q5_K: *d = 0, *dmin = 2; break;
    default: *d = 208; break; /* Q6_K */
    }
}

/* Row kinds for the float inputs. */
enum { ROW_GAUSS, ROW_OUTLIERS, ROW_WIDE, ROW_SPARSE, ROW_CONST, ROW_KINDS };

static void fill_row(float *x, int64_t K, int kind) {
    for (int64_t i = 0; i < K; i++) {
        float g = rng_gauss();
        switch (kind) {
        case ROW_GAUSS: x[i] = g; break;
        case ROW_OUTLIERS: x[i] = (rng_u32() % 97 == 0) ? 300.0f * g : 0.01f * g; break;
        case ROW_WIDE: x[i] = g * powf(2.0f, (float)(int)(rng_u32() % 24) - 12.0f); break; /* 2^-12 .. 2^11 */
        case ROW_SPARSE: x[i] = ((i / 256) % 2 == 0 || rng_u32() % 8) ? 0.0f : 65000.0f * (g > 0 ? 1.0f : -1.0f); break;
        default: x[i] = (rng_u32() & 1) ? 1.0f : -1.0f; break; /* every activation at +-127 */
        }
    }
}

/* ---- the activation quantizer ------------------------------------------------- */

static void test_quantizer(int top) {
    enum { K = 256 * 8 };
    static float x[K];
    static cpu_q8k_block ref[K / 256], got[K / 256];
    /* block 0: ties (max -127 makes iscale exactly 1); 1: zeros; 2: one
     * positive extreme (d < 0); 3: NaN and inf; 4..7: random kinds */
    for (int i = 0; i < 256; i++) x[i] = (float)(i % 8) - 3.5f + (float)(i % 3);
    x[17] = -127.0f;
    for (int i = 256; i < 512; i++) x[i] = 0.0f;
    x[300] = -0.0f;
    for (int i = 512; i < 768; i++) x[i] = rng_gauss();
    x[600] = 50.0f;
    for (int i = 768; i < 1024; i++) x[i] = rng_gauss();
    x[800] = NAN;
    x[801] = INFINITY;
    fill_row(x + 1024, 256, ROW_OUTLIERS);
    fill_row(x + 1280, 256, ROW_WIDE);
    fill_row(x + 1536, 256, ROW_CONST);
    for (int i = 1792; i < K; i++) x[i] = 1e-30f * rng_gauss(); /* denormal products */

    cpu_quantize_row_q8k(x, K, ref, 0);
    /* ties to even: x = q + 0.5 for the tie values */
    CHECK(ref[0].d == 1.0f);
    int ties_ok = 1;
    for (int i = 0; i < 256; i++) {
        if (i == 17) continue;
        ties_ok &= ref[0].q[i] == (int8_t)nearbyintf(x[i]);
    }
    CHECK(ties_ok);
    CHECK(ref[0].q[17] == -127 && ref[0].q[1] == -2 && ref[0].q[4] == 2); /* -1.5, 1.5 */
    CHECK(ref[1].d == 0.0f && ref[1].q[0] == 0 && ref[1].bsums[3] == 0);
    CHECK(ref[2].d < 0 && ref[2].q[600 - 512] == -127);
    int bs_ok = 1;
    for (int b = 0; b < K / 256; b++)
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += ref[b].q[16 * g + i];
            bs_ok &= s == ref[b].bsums[g];
        }
    CHECK(bs_ok);
    for (int level = 1; level <= top; level++) {
        memset(got, 0x55, sizeof got);
        cpu_quantize_row_q8k(x, K, got, level);
        for (int b = 0; b < K / 256; b++)
            CHECK_MSG(memcmp(&ref[b], &got[b], sizeof ref[b]) == 0, "level %d, block %d differs from scalar", level, b);
    }
}

/* ---- the dots ------------------------------------------------------------------- */

/* sum of the dequantized weights times d * q, in double, and of |w * a|. */
static double ref_dot(px_dtype t, const uint8_t *w, const cpu_q8k_block *a, int64_t K, float *wf, double *mag) {
    px_dequantize_row_get(t)(w, wf, K);
    double s = 0, m = 0;
    for (int64_t i = 0; i < K; i++) {
        double p = (double)wf[i] * ((double)a[i / 256].d * a[i / 256].q[i % 256]);
        s += p;
        m += fabs(p);
    }
    *mag = m;
    return s;
}

/* One weight row against one activation row at every level. */
static void check_row(px_dtype t, const char *name, const uint8_t *w, const cpu_q8k_block *a, int64_t K, int top,
                      float *wf, const char *what) {
    double mag, ref = ref_dot(t, w, a, K, wf, &mag);
    float base = 0;
    for (int level = 0; level <= top; level++) {
        cpu_dot_k_fn f = cpu_dot_k_get(t, level);
        CHECK(f != NULL);
        if (!f) return;
        float v = f(w, a, K / 256);
        CHECK_MSG(fabs((double)v - ref) <= 1e-5 * mag + 1e-30, "%s K=%lld %s level %d: %.9g, reference %.9g (sum |w*a| %.3g)",
                  name, (long long)K, what, level, (double)v, ref, mag);
        if (level == 0) base = v;
        else CHECK_MSG(memcmp(&v, &base, sizeof v) == 0, "%s K=%lld %s: level %d gives %.9g, scalar %.9g", name,
                       (long long)K, what, level, (double)v, (double)base);
    }
}

static void test_dots(int top) {
    static const int64_t Ks[] = {256, 512, 4864, 8960};
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
        int64_t K = Ks[ki];
        float *x = malloc((size_t)K * sizeof *x), *wf = malloc((size_t)K * sizeof *wf);
        cpu_q8k_block *a = malloc((size_t)(K / 256) * sizeof *a);
        uint8_t *w = malloc((size_t)px_dtype_row_size(PX_Q6_K, K));
        for (int k = 0; k < NKINDS; k++) {
            px_dtype t = kinds[k];
            int64_t bytes = px_dtype_row_size(t, K), bb = bytes / (K / 256);
            for (int wk = 0; wk < ROW_KINDS; wk++)
                for (int ak = 0; ak < ROW_KINDS; ak++) {
                    char what[64];
                    fill_row(x, K, ak);
                    cpu_quantize_row_q8k(x, K, a, 0);
                    fill_row(x, K, wk);
                    CHECK_OK(px_quantize_row(t, x, w, K));
                    snprintf(what, sizeof what, "quantized weights %d, activations %d", wk, ak);
                    check_row(t, kind_names[k], w, a, K, top, wf, what);
                    /* random bytes: every code, scale and min; F16 fields finite */
                    for (int64_t i = 0; i < bytes; i++) w[i] = (uint8_t)rng_u32();
                    int fd, fm;
                    f16_fields(t, &fd, &fm);
                    for (int64_t b = 0; b < K / 256; b++) {
                        px_store_f16_le(w + b * bb + fd, (rng_uniform() - 0.5f) * 0.02f);
                        if (fm >= 0) px_store_f16_le(w + b * bb + fm, rng_uniform() * 0.01f);
                    }
                    snprintf(what, sizeof what, "random bytes, activations %d", ak);
                    check_row(t, kind_names[k], w, a, K, top, wf, what);
                }
        }
        free(x);
        free(wf);
        free(a);
        free(w);
    }
}

/* ---- benchmark ---------------------------------------------------------------------- */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench(int top) {
    /* N x K: Qwen2.5-0.5B's ffn_down (its 4864 x 896 cannot be a K-quant: K
     * must be a multiple of 256), 1.5B's ffn_down and ffn_up, and 128 rows
     * that stay in L2 (the kernels' own speed) */
    static const int64_t shapes[][2] = {{128, 4864}, {896, 4864}, {1536, 8960}, {8960, 1536}};
    volatile float sink = 0;
    printf("single-thread matrix-vector product, GB/s of weight bytes (best of 15)\n");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int64_t N = shapes[si][0], K = shapes[si][1];
        float *x = malloc((size_t)K * sizeof *x);
        cpu_q8k_block *a = malloc((size_t)(K / 256) * sizeof *a);
        fill_row(x, K, ROW_GAUSS);
        cpu_quantize_row_q8k(x, K, a, 0);
        for (int k = 0; k < NKINDS; k++) {
            px_dtype t = kinds[k];
            int64_t rb = px_dtype_row_size(t, K);
            uint8_t *w = malloc((size_t)(rb * N));
            for (int64_t i = 0; i < rb * N; i++) w[i] = (uint8_t)rng_u32(); /* speed does not depend on values */
            printf("  %5lld x %-5lld %s:", (long long)N, (long long)K, kind_names[k]);
            for (int level = 0; level <= top; level++) {
                cpu_dot_k_fn f = cpu_dot_k_get(t, level);
                double best = 1e30;
                for (int r = 0; r < 15; r++) {
                    double t0 = now();
                    for (int64_t n = 0; n < N; n++) sink += f(w + n * rb, a, K / 256);
                    double dt = now() - t0;
                    best = dt < best ? dt : best;
                }
                printf("  level %d %6.1f", level, (double)(rb * N) / best * 1e-9);
            }
            printf("\n");
            free(w);
        }
        free(x);
        free(a);
    }
    (void)sink;
}

int main(void) {
    int top = cpu_level();
    printf("levels 0..%d\n", top);
    test_quantizer(top);
    test_dots(top);
    if (getenv("PLEXUS_DOT_K_BENCH")) bench(top);
    return px_test_finish("test_dot_k");
}
