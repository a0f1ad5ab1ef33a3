/* CPU plugin — MATMUL with integer dot products: F32 activations times
 * Q8_0 / Q4_0 weights read in place (trans_b = 1), and F16 weights.
 *
 * Same arithmetic as matmul_act (see k_matmul.c): each activation row is
 * first quantized to 8-bit blocks of 32 with an F16 scale (or rounded to F16
 * for F16 weights), then
 *   out[m][n] = sum over blocks of d_w * d_a * (sum of q_w * q_a)
 * where the inner sums are exact integers. Only the order of the float
 * additions differs from matmul_act.
 *
 * Paths, chosen once from CPUID on x86 (PLEXUS_CPU_ISA=scalar|avx2|avx512
 * caps it, for tests and comparisons):
 *   avx512: AVX-512 VNNI vpdpbusd on 256-bit lanes; F16 weights via
 *           vcvtph2ps on 512 bits;
 *   avx2:   vpmaddubsw + vpmaddwd; F16C;
 * and from getauxval(AT_HWCAP) on 64-bit ARM (PLEXUS_CPU_ISA=scalar|neon|
 * dotprod caps it):
 *   dotprod: sdot (vdotq_s32, HWCAP_ASIMDDP: Cortex-A55/A76 and later);
 *   neon:    smull + sadalp (every ARMv8-A); F16 weights via fcvtl and fmla
 *            in F32 on both ARM paths; prompt batches in NEON 4x4 tiles;
 * and everywhere:
 *   scalar:  plain C (every other CPU).
 *
 * Work: the activation rows are quantized once per run into the device's
 * shared scratch (grown at prepare, so runs allocate nothing), then items of
 * (up to 64 rows of a) x (up to MQ_NB weight rows) are spread over the
 * thread pool; each weight row is read from memory once per item and dotted
 * with every row of the item while it is in L1.
 *
 * Batches of more than MQ_INT_MAX_M rows with quantized weights (prompts)
 * take the GEMM of k_gemm_q.c (exact integer sums per block as here, the
 * weights unpacked into interleaved panels once per batch). */
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_common.h"
#include "k_dot_k.h"
#include "k_gemm_q.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MQ_X86 1
#elif defined(__aarch64__)
#include "cpu_simd_arm.h"
#define MQ_ARM 1
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#endif

#define MQ_NB 8  /* weight rows per item */
#define MQ_MT 64 /* activation rows per item */
#define MQ_PREFETCH 16384 /* bytes ahead for the long rows' prefetches (dot_f16h_avx512) */
#define MQ_L1_ROOM 24576  /* bytes of a 32 KiB L1 a weight row and its activation row may take together */
#define MQ_INT_MAX_M 4 /* integer path for quantized weights up to this many rows */

/* An activation block: 32 int8 values, their scale (the F16-rounded scale,
 * as a float), their sum, and -8 times the sum of each group of 4 values
 * (Q4_0's offset of 8, as the starting lanes of vpdpbusd). 72 bytes. */
typedef struct act_block {
    float d;
    int32_t sum;
    int8_t q[32];
    int32_t c8[8];
} act_block;

/* Levels, each a superset of the one below; the ARM ones share the numbers. */
typedef enum { ISA_SCALAR = 0, ISA_AVX2 = 1, ISA_AVX512 = 2, ISA_NEON = 1, ISA_DOTPROD = 2 } mq_isa;

#ifdef MQ_ARM
static const char *const isa_keys[] = {"scalar", "neon", "dotprod"}; /* PLEXUS_CPU_ISA values */
static const char *const isa_names[] = {"scalar", "neon", "neon-dotprod"};
#else
static const char *const isa_keys[] = {"scalar", "avx2", "avx512"};
static const char *const isa_names[] = {"scalar", "avx2", "avx512-vnni"};
#endif

static int mq_isa_level = -1;

#ifdef MQ_X86
#include <cpuid.h>
/* CPUID and XCR0 (the OS must save the wider registers). */
static int x86_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return ISA_SCALAR;
    int fma = (c >> 12) & 1, f16c = (c >> 29) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return ISA_SCALAR;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    if ((xlo & 6) != 6) return ISA_SCALAR; /* XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return ISA_SCALAR;
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    int vnni = (c >> 11) & 1;
    if (!(avx2 && fma && f16c)) return ISA_SCALAR;
    if (avx512f && avx512bw && avx512vl && vnni && (xlo & 0xE0) == 0xE0) return ISA_AVX512;
    return ISA_AVX2;
}
#endif

#ifdef MQ_ARM
/* Advanced SIMD is part of ARMv8-A; sdot is optional (ARMv8.2-A and later):
 * the kernel's HWCAP says. Elsewhere than Linux, what the compiler targets. */
static int arm_level(void) {
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? ISA_DOTPROD : ISA_NEON;
#elif defined(__ARM_FEATURE_DOTPROD)
    return ISA_DOTPROD;
#else
    return ISA_NEON;
#endif
}
#endif

static int isa(void) {
    if (mq_isa_level >= 0) return mq_isa_level;
    int level = ISA_SCALAR;
#ifdef MQ_X86
    level = x86_level();
#elif defined(MQ_ARM)
    level = arm_level();
#endif
    const char *force = getenv("PLEXUS_CPU_ISA");
    if (force) {
        int want = level; /* an unknown name (another architecture's) changes nothing */
        for (int i = 0; i < 3; i++)
            if (strcmp(force, isa_keys[i]) == 0) want = i;
        if (want < level) level = want; /* never above what the CPU has */
    }
    mq_isa_level = level;
    return level;
}

const char *cpu_matmul_q_isa_name(void) { return isa_names[isa()]; }
int cpu_isa_level(void) { return isa(); }

/* ---- activation quantization (exactly act_round's Q8_0 in k_matmul.c) ----
 * As llama.cpp's x86 quantizer does it: scale amax/127 stored as F16, the
 * values multiplied by 127/amax and rounded to nearest, ties to even. */

static void quantize_row(const float *x, int64_t K, act_block *out) {
    for (int64_t b = 0; b < K / 32; b++) {
        const float *v = x + b * 32;
        float amax = 0;
        for (int i = 0; i < 32; i++) {
            float a = v[i] < 0 ? -v[i] : v[i];
            amax = a > amax ? a : amax;
        }
        float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
        int32_t sum = 0;
        for (int i = 0; i < 32; i++) {
            int q = (int)nearbyintf(v[i] * id);
            out[b].q[i] = (int8_t)q;
            sum += q;
        }
        out[b].d = px_f16_to_f32(px_f32_to_f16(d));
        out[b].sum = sum;
        for (int j = 0; j < 8; j++)
            out[b].c8[j] = -8 * (out[b].q[4 * j] + out[b].q[4 * j + 1] + out[b].q[4 * j + 2] + out[b].q[4 * j + 3]);
    }
}

/* ---- dot products: one weight row with one activation row ----------------- */

static float dot_q8_scalar(const uint8_t *w, const act_block *a, int64_t nb) {
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 34) {
        const int8_t *q = (const int8_t *)(w + 2);
        int32_t s = 0;
        for (int i = 0; i < 32; i++) s += q[i] * a[b].q[i];
        uint16_t h;
        memcpy(&h, w, 2);
        acc += (float)s * (px_f16_to_f32(h) * a[b].d);
    }
    return acc;
}

static float dot_q4_scalar(const uint8_t *w, const act_block *a, int64_t nb) {
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 18) {
        const uint8_t *q = w + 2;
        int32_t s = 0;
        for (int i = 0; i < 16; i++) s += (q[i] & 15) * a[b].q[i] + (q[i] >> 4) * a[b].q[i + 16];
        s -= 8 * a[b].sum;
        uint16_t h;
        memcpy(&h, w, 2);
        acc += (float)s * (px_f16_to_f32(h) * a[b].d);
    }
    return acc;
}

static float dot_f16_scalar(const uint16_t *w, const float *a, int64_t K) {
    float s[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
        for (int j = 0; j < 8; j++) s[j] += px_f16_to_f32(w[k + j]) * a[k + j];
    for (; k < K; k++) s[0] += px_f16_to_f32(w[k]) * a[k];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

#ifdef MQ_X86
__attribute__((target("avx2,fma,f16c"))) static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma,f16c"))) static inline __m256i q4_unpack(const uint8_t *q) {
    __m128i b = _mm_loadu_si128((const __m128i *)q);
    __m128i lo = _mm_and_si128(b, _mm_set1_epi8(15));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(15));
    return _mm256_set_m128i(hi, lo); /* elements 0..15, then 16..31 */
}

/* One block's exact integer sums in eight lanes (the lanes of vpdpbusd:
 * vpmaddubsw pairs, then vpmaddwd with ones, sums of four), scaled and
 * added as the AVX-512 kernels do (even and odd blocks in two
 * accumulators): the steps of dot_q8_avx512 / dot_q4_avx512. */
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline __m256 q8_block_avx2(const uint8_t *w,
                                                                                           const act_block *ab, __m256 acc) {
    __m256i qw = _mm256_loadu_si256((const __m256i *)(w + 2));
    __m256i qa = _mm256_loadu_si256((const __m256i *)ab->q);
    __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qa, qw)),
                                  _mm256_set1_epi16(1));
    uint16_t h;
    memcpy(&h, w, 2);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(_cvtsh_ss(h) * ab->d), acc);
}

__attribute__((target("avx2,fma,f16c"))) static float dot_q8_avx2(const uint8_t *w, const act_block *a, int64_t nb) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2, w += 68) {
        acc0 = q8_block_avx2(w, &a[b], acc0);
        acc1 = q8_block_avx2(w + 34, &a[b + 1], acc1);
    }
    if (b < nb) acc0 = q8_block_avx2(w, &a[b], acc0);
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* Q4_0: the nibbles q times the activations, from -8 x (sum of each four
 * activations) (c8): the exact sums of (q - 8) * a. */
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline __m256 q4_block_avx2(const uint8_t *w,
                                                                                           const act_block *ab, __m256 acc) {
    __m256i qa = _mm256_loadu_si256((const __m256i *)ab->q);
    __m256i s = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(q4_unpack(w + 2), qa), _mm256_set1_epi16(1)),
                                 _mm256_loadu_si256((const __m256i *)ab->c8));
    uint16_t h;
    memcpy(&h, w, 2);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(_cvtsh_ss(h) * ab->d), acc);
}

__attribute__((target("avx2,fma,f16c"))) static float dot_q4_avx2(const uint8_t *w, const act_block *a, int64_t nb) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2, w += 36) {
        acc0 = q4_block_avx2(w, &a[b], acc0);
        acc1 = q4_block_avx2(w + 18, &a[b + 1], acc1);
    }
    if (b < nb) acc0 = q4_block_avx2(w, &a[b], acc0);
    return hsum256(_mm256_add_ps(acc0, acc1));
}

__attribute__((target("avx2,fma,f16c"))) static float dot_f16_avx2(const uint16_t *w, const float *a, int64_t K) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k))), _mm256_loadu_ps(a + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k + 8))), _mm256_loadu_ps(a + k + 8), s1);
    }
    float r = hsum256(_mm256_add_ps(s0, s1));
    for (; k < K; k++) r += px_f16_to_f32(w[k]) * a[k];
    return r;
}

#define AVX512 "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni"

__attribute__((target(AVX512))) static float dot_q8_avx512(const uint8_t *w, const act_block *a, int64_t nb) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2, w += 68) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(w + 2)), w1 = _mm256_loadu_si256((const __m256i *)(w + 36));
        __m256i a0 = _mm256_loadu_si256((const __m256i *)a[b].q), a1 = _mm256_loadu_si256((const __m256i *)a[b + 1].q);
        __m256i s0 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w0), _mm256_sign_epi8(a0, w0));
        __m256i s1 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w1), _mm256_sign_epi8(a1, w1));
        uint16_t h0, h1;
        memcpy(&h0, w, 2);
        memcpy(&h1, w + 34, 2);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), _mm256_set1_ps(_cvtsh_ss(h0) * a[b].d), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), _mm256_set1_ps(_cvtsh_ss(h1) * a[b + 1].d), acc1);
    }
    for (; b < nb; b++, w += 34) {
        __m256i qw = _mm256_loadu_si256((const __m256i *)(w + 2));
        __m256i qa = _mm256_loadu_si256((const __m256i *)a[b].q);
        __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(qw), _mm256_sign_epi8(qa, qw));
        uint16_t h;
        memcpy(&h, w, 2);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(_cvtsh_ss(h) * a[b].d), acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* Per block the exact integer sums of (q - 8) * a in eight lanes (the -8
 * enters as vpdpbusd's starting lanes, precomputed per activation block),
 * times d_w * d_a; even and odd blocks in two 8-lane accumulators. */
__attribute__((target(AVX512))) static float dot_q4_avx512(const uint8_t *w, const act_block *a, int64_t nb) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2, w += 36) {
        __m256i s0 = _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i *)a[b].c8), q4_unpack(w + 2),
                                         _mm256_loadu_si256((const __m256i *)a[b].q));
        __m256i s1 = _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i *)a[b + 1].c8), q4_unpack(w + 20),
                                         _mm256_loadu_si256((const __m256i *)a[b + 1].q));
        uint16_t h0, h1;
        memcpy(&h0, w, 2);
        memcpy(&h1, w + 18, 2);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(h0) * a[b].d), _mm256_cvtepi32_ps(s0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(h1) * a[b + 1].d), _mm256_cvtepi32_ps(s1), acc1);
    }
    for (; b < nb; b++, w += 18) {
        __m256i s = _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i *)a[b].c8), q4_unpack(w + 2),
                                        _mm256_loadu_si256((const __m256i *)a[b].q));
        uint16_t h;
        memcpy(&h, w, 2);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(h) * a[b].d), _mm256_cvtepi32_ps(s), acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* F16 x F16 in llama.cpp's order (so that logits match its CPU backend to the
 * last bit where it can): rows whose length is a multiple of 16 as its GEMM
 * does them (one 16-lane accumulator, then a full reduction); other lengths
 * as its vector dot product (four 16-lane accumulators over 64-element
 * steps, reduced pairwise, then the tail in double). */
__attribute__((target(AVX512))) static float dot_f16_avx512(const uint16_t *w, const float *a, int64_t K) {
    if (K % 16 == 0) {
        __m512 acc = _mm512_setzero_ps();
        for (int64_t k = 0; k < K; k += 16)
            acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + k))), _mm512_loadu_ps(a + k), acc);
        return _mm512_reduce_add_ps(acc);
    }
    __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t np = K & ~(int64_t)63;
    for (int64_t i = 0; i < np; i += 64)
        for (int j = 0; j < 4; j++)
            s[j] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 16 * j))),
                                   _mm512_loadu_ps(a + i + 16 * j), s[j]);
    s[0] = _mm512_add_ps(s[0], s[2]);
    s[1] = _mm512_add_ps(s[1], s[3]);
    s[0] = _mm512_add_ps(s[0], s[1]);
    double r = (double)_mm512_reduce_add_ps(s[0]);
    for (int64_t i = np; i < K; i++) r += (double)(px_f16_to_f32(w[i]) * a[i]);
    return (float)r;
}

/* dot_f16_avx512's K % 16 == 0 order with the activations stored as F16
 * (the same values: they are rounded to F16 either way). With `ahead`, the
 * weights MQ_PREFETCH bytes on are asked into L2 (prefetcht1) once per 64
 * bytes: rows so long that the row and the activation row do not both stay
 * in L1 (F16, K = 8192: 16 KiB each) stream at half speed otherwise, the
 * weights evicting the activations, which then come from L2 on every row
 * (bench: one thread 15 -> 28 GB/s at K = 8192). For shorter rows the
 * prefetches cost more than they give with two threads (33 -> 30 GB/s at
 * K = 4864), so they are only made where the rows are long. */
__attribute__((target(AVX512), always_inline)) static inline float dot_f16h_body(const uint16_t *w, const uint16_t *a,
                                                                                  int64_t K, int ahead) {
    __m512 acc = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
        if (ahead) _mm_prefetch((const char *)(w + k) + MQ_PREFETCH, _MM_HINT_T1);
        acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + k))),
                              _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + k))), acc);
        acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + k + 16))),
                              _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + k + 16))), acc);
    }
    if (k < K)
        acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + k))),
                              _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + k))), acc);
    return _mm512_reduce_add_ps(acc);
}

__attribute__((target(AVX512))) static float dot_f16h_avx512(const uint16_t *w, const uint16_t *a, int64_t K) {
    return 4 * K > MQ_L1_ROOM ? dot_f16h_body(w, a, K, 1) : dot_f16h_body(w, a, K, 0);
}

/* 4 activation rows x 4 F16 weight rows at once, each output in exactly
 * dot_f16_avx512's order (K a multiple of 16): one 16-lane accumulator per
 * output, fused multiply-add along k, then a full reduction. */
__attribute__((target(AVX512))) static void tile_f16_avx512(const uint16_t *const *w, const float *const *a, int64_t K,
                                                           float out[4][4]) {
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
        __m512 wv[4];
        for (int j = 0; j < 4; j++) wv[j] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w[j] + k)));
        for (int i = 0; i < 4; i++) {
            __m512 av = _mm512_loadu_ps(a[i] + k);
            for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_ps(wv[j], av, acc[i][j]);
        }
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) out[i][j] = _mm512_reduce_add_ps(acc[i][j]);
}
#endif

#ifdef MQ_ARM
/* ---- 64-bit ARM: Advanced SIMD, and sdot where the CPU has it ------------------
 * The integer sums per block are exact on every path (the same integers as
 * dot_q8_scalar/dot_q4_scalar); each block's sum is scaled by d_w * d_a and
 * added in F32 lanes, even and odd blocks in two accumulators. */

/* Q4_0 nibbles as int8 with the offset of 8 taken off: elements 0..15, 16..31. */
static inline int8x16x2_t q4_unpack_neon(const uint8_t *q) {
    uint8x16_t b = vld1q_u8(q);
    int8x16x2_t r;
    r.val[0] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(15))), vdupq_n_s8(8));
    r.val[1] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), vdupq_n_s8(8));
    return r;
}

/* One block's exact integer sums of weight * activation, in four lanes. */
#define MQ_BLOCK_Q8(DOT, w, ab) \
    DOT(DOT(vdupq_n_s32(0), vld1q_s8((const int8_t *)(w) + 2), vld1q_s8((ab).q)), \
        vld1q_s8((const int8_t *)(w) + 18), vld1q_s8((ab).q + 16))
#define MQ_BLOCK_Q4(DOT, w, ab) \
    (wq = q4_unpack_neon((w) + 2), \
     DOT(DOT(vdupq_n_s32(0), wq.val[0], vld1q_s8((ab).q)), wq.val[1], vld1q_s8((ab).q + 16)))

/* dot_<name>(w, a, nb): BLOCK for each of nb blocks of BYTES bytes. */
#define MQ_DEF_DOT(name, attr, BLOCK, DOT, BYTES) \
    attr static float name(const uint8_t *w, const act_block *a, int64_t nb) { \
        float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0); \
        __attribute__((unused)) int8x16x2_t wq; /* MQ_BLOCK_Q4's */ \
        int64_t b = 0; \
        for (; b + 2 <= nb; b += 2, w += 2 * (BYTES)) { \
            int32x4_t s0 = BLOCK(DOT, w, a[b]), s1 = BLOCK(DOT, w + (BYTES), a[b + 1]); \
            acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(s0), cpu_f16_arm(w) * a[b].d); \
            acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(s1), cpu_f16_arm(w + (BYTES)) * a[b + 1].d); \
        } \
        if (b < nb) acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(BLOCK(DOT, w, a[b])), cpu_f16_arm(w) * a[b].d); \
        return vaddvq_f32(vaddq_f32(acc0, acc1)); \
    }

MQ_DEF_DOT(dot_q8_neon, , MQ_BLOCK_Q8, cpu_dot16_neon, 34)
MQ_DEF_DOT(dot_q8_dotprod, CPU_DOTPROD, MQ_BLOCK_Q8, cpu_dot16_sdot, 34)
MQ_DEF_DOT(dot_q4_neon, , MQ_BLOCK_Q4, cpu_dot16_neon, 18)
MQ_DEF_DOT(dot_q4_dotprod, CPU_DOTPROD, MQ_BLOCK_Q4, cpu_dot16_sdot, 18)

/* F16 weights x F16-rounded activations: widened to F32 (fcvtl), fused
 * multiply-add in four 4-lane accumulators over 16-element steps (as
 * llama.cpp's NEON F16 dot without FP16 arithmetic), then the tail. */
static float dot_f16_neon(const uint16_t *w, const float *a, int64_t K) {
    float32x4_t s[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
    const float16_t *h = (const float16_t *)(const void *)w;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        float16x8_t h0 = vld1q_f16(h + k), h1 = vld1q_f16(h + k + 8);
        s[0] = vfmaq_f32(s[0], vcvt_f32_f16(vget_low_f16(h0)), vld1q_f32(a + k));
        s[1] = vfmaq_f32(s[1], vcvt_high_f32_f16(h0), vld1q_f32(a + k + 4));
        s[2] = vfmaq_f32(s[2], vcvt_f32_f16(vget_low_f16(h1)), vld1q_f32(a + k + 8));
        s[3] = vfmaq_f32(s[3], vcvt_high_f32_f16(h1), vld1q_f32(a + k + 12));
    }
    float r = vaddvq_f32(vaddq_f32(vaddq_f32(s[0], s[1]), vaddq_f32(s[2], s[3])));
    for (; k < K; k++) r += (float)h[k] * a[k];
    return r;
}
#endif

typedef float (*dot_q_fn)(const uint8_t *w, const act_block *a, int64_t nb);
typedef float (*dot_h_fn)(const uint16_t *w, const float *a, int64_t K);

/* ---- the kernel ------------------------------------------------------------------- */

static int64_t rows_of(const px_value_desc *v) {
    int64_t m = 1;
    for (int32_t i = 0; i + 1 < v->rank; i++) m *= v->ne[i];
    return m;
}

int cpu_matmul_q_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs < 2 || n->n_inputs > 3 || n->n_outputs != 1 || !cpu_in(n, 0) || !cpu_in(n, 1)) return 0;
    const px_value_desc *A = &n->inputs[0], *B = &n->inputs[1];
    px_dtype bt = B->dtype;
    if (A->dtype != PX_F32 || n->outputs[0].dtype != PX_F32) return 0;
    if (cpu_attr_i(n, "trans_b", 0) == 0 || B->rank != 2 || A->rank < 2) return 0;
    if (bt != PX_F16 && !cpu_gemm_q_has(bt)) return 0;
    int64_t K = A->ne[A->rank - 1];
    if (B->ne[1] != K || (bt != PX_F16 && K % px_dtype_get_traits(bt)->block_size)) return 0;
    if (cpu_in(n, 2) && (cpu_in_dt(n, 2) != PX_F32 || n->inputs[2].rank != 1)) return 0;
    return 1;
}

/* Batches of quantized weights, and the types without a one-row product
 * here, take the GEMM of k_gemm_q.c. */
static int uses_gemm(px_dtype bt, int64_t M) {
    return bt != PX_F16 && (M > MQ_INT_MAX_M || (bt != PX_Q8_0 && bt != PX_Q4_0));
}

/* K-quant weights whose rows are whole super-blocks, in batches small enough
 * for one-row products (decode): activations as Q8_K (blocks of 256, as
 * llama.cpp quantizes them for these types) and k_dot_k.c's products, where
 * the weights are not repacked (Q4_K/Q6_K on AVX-512 VNNI are). */
static int kquant_rows(px_dtype bt, int64_t M, int64_t K) {
    return (bt == PX_Q2_K || bt == PX_Q3_K || bt == PX_Q4_K || bt == PX_Q5_K || bt == PX_Q6_K) && M <= MQ_INT_MAX_M &&
           K % 256 == 0;
}

/* Shared scratch: the quantized (or F16-rounded) activation rows. */
static size_t act_bytes(px_dtype bt, int64_t M, int64_t K) {
    size_t q = (size_t)(M * (K / 32)) * sizeof(act_block), f = (size_t)(M * K) * sizeof(float);
    if (bt == PX_F16) return f;
    size_t g = uses_gemm(bt, M) ? cpu_gemm_q_act_bytes(M, K) : q;
    if (kquant_rows(bt, M, K)) {
        size_t k8 = (size_t)(M * (K / 256)) * sizeof(cpu_q8k_block);
        if (k8 > g) g = k8;
    }
    return g;
}

/* Prepare: the device scratch for the activations, and matmul_act's own
 * scratch (op_state) for the batches it takes over (see cpu_matmul_q_run). */
/* Q4_0/Q5_0/Q8_0/Q4_K/Q6_K weights that are constants are repacked here for AVX-512
 * VNNI (see k_gemm_q.c), the other types copied as they are (for the 2 MiB
 * pages);
 * the original bytes are then not read again, and their pages
 * are handed back to the kernel (MADV_PAGEOUT: a file mapping's clean pages
 * are dropped from memory, other memory is only swapped; never lost). */
/* Constant F16 weights on AVX-512 CPUs go into panels of 32 rows (k_matmul_f16p.c). */
static int f16_panels(px_dtype bt, int level) {
#ifdef MQ_X86
    return bt == PX_F16 && level == ISA_AVX512;
#else
    (void)bt, (void)level;
    return 0;
#endif
}

static px_status repack(void *state, const px_value_desc *B) {
    int64_t N = B->ne[0], K = B->ne[1];
    size_t row_bytes = (size_t)px_dtype_row_size(B->dtype, K);
    int panels = f16_panels(B->dtype, isa()), copy = !panels && !cpu_repack_ok(B->dtype, isa(), N, K);
    size_t bytes = panels ? cpu_f16p_bytes(N, K) : copy ? row_bytes * (size_t)N : cpu_repack_bytes(B->dtype, N, K);
    uint8_t *buf = cpu_host->alloc(bytes, 64);
    if (!buf) return cpu_host->set_error(PX_ERR_NO_MEMORY, "cpu: cannot allocate %zu bytes for repacked weights", bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    { /* 2 MiB pages where the kernel offers them on request: fewer TLB misses on the stream */
        uintptr_t lo2 = ((uintptr_t)buf + (1u << 21) - 1) & ~(uintptr_t)((1u << 21) - 1), hi2 = ((uintptr_t)buf + bytes) & ~(uintptr_t)((1u << 21) - 1);
        if (hi2 > lo2) (void)madvise((void *)lo2, hi2 - lo2, MADV_HUGEPAGE);
    }
#endif
    if (panels) cpu_f16p_repack((const uint16_t *)B->const_data, N, K, (uint16_t *)(void *)buf);
    else if (copy) memcpy(buf, B->const_data, bytes); /* the same layout, in 2 MiB pages */
    else cpu_repack(B->dtype, B->const_data, row_bytes, N, K, buf);
    cpu_op_set_aux(state, buf);
#if defined(__linux__) && defined(MADV_PAGEOUT)
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = ((uintptr_t)B->const_data + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)B->const_data + row_bytes * (size_t)N) & ~(page - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_PAGEOUT);
#endif
    return PX_OK;
}

static int will_repack(const px_node_desc *node) {
    const px_value_desc *B = &node->inputs[1];
    return B->const_data && isa() == ISA_AVX512 && B->ne[0] > 0 && B->ne[1] > 0;
}

px_status cpu_matmul_q_prepare(void *dev, const px_node_desc *node, void **out_state) {
    *out_state = NULL;
    const px_value_desc *A = &node->inputs[0];
    int64_t M = rows_of(A), K = A->ne[A->rank - 1];
    px_dtype bt = node->inputs[1].dtype;
    size_t act = !will_repack(node)                                                      ? act_bytes(bt, M, K)
                 : f16_panels(bt, isa())                                                 ? cpu_f16p_act_bytes(M, K)
                 : cpu_repack_ok(bt, isa(), node->inputs[1].ne[0], node->inputs[1].ne[1]) ? cpu_gemm_q_act_bytes(M, K)
                                                                                         : act_bytes(bt, M, K);
    px_status st = cpu_device_scratch_reserve(dev, act);
    if (!st) st = cpu_prepare(dev, node, out_state);
    if (!st && *out_state && will_repack(node)) st = repack(*out_state, &node->inputs[1]);
    return st;
}

void cpu_matmul_q_release(void *dev, void *op_state) { cpu_release(dev, op_state); }

typedef struct mq_ctx {
    px_dtype bt;
    int64_t M, K, N, nb;
    const float *A, *bias;
    const uint8_t *B;
    float *O;
    act_block *qa; /* [M][nb] */
    float *ha;     /* [M][K], F16-rounded */
    uint16_t *hh;  /* [M][K], the same as F16 (AVX-512 one-row products: half the bytes next to the weights in L1) */
    size_t row_bytes;
    int64_t ntm;
    dot_q_fn dq;
    dot_h_fn dh;
    int f16_tiles; /* AVX-512 4x4 F16 tiles for batches */
} mq_ctx;

#ifdef MQ_X86
/* x as F16 (K a multiple of 16), 16 at a time (vcvtps2ph: round to nearest even). */
__attribute__((target(AVX512))) static void to_f16_avx512(const float *x, uint16_t *h, int64_t K) {
    for (int64_t k = 0; k < K; k += 16)
        _mm256_storeu_si256((__m256i *)(h + k), _mm512_cvtps_ph(_mm512_loadu_ps(x + k), _MM_FROUND_TO_NEAREST_INT));
}

/* x rounded to F16 and back, 8 at a time (vcvtps2ph rounds to nearest even,
 * as px_f32_to_f16 does, subnormals and NaN included). */
__attribute__((target("avx2,fma,f16c"))) static int64_t round_f16_f16c(const float *x, float *h, int64_t K) {
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
        _mm256_storeu_ps(h + k, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + k), _MM_FROUND_TO_NEAREST_INT)));
    return k;
}
#endif

typedef struct kq_ctx {
    int64_t M, K, N, nb;
    const float *A, *bias;
    const uint8_t *B;
    float *O;
    size_t row_bytes;
    cpu_q8k_block *qa; /* [M][nb] */
    cpu_dot_k_fn dot;
    int level;
} kq_ctx;

static void kq_quant_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const kq_ctx *c = vctx;
    for (int64_t m = b; m < e; m++) cpu_quantize_row_q8k(c->A + m * c->K, c->K, c->qa + m * c->nb, c->level);
}

static void kq_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const kq_ctx *c = vctx;
    for (int64_t n = b; n < e; n++) {
        const uint8_t *w = c->B + (size_t)n * c->row_bytes;
        float bias = c->bias ? c->bias[n] : 0.0f;
        for (int64_t m = 0; m < c->M; m++) c->O[m * c->N + n] = c->dot(w, c->qa + m * c->nb, c->nb) + bias;
    }
}

static void quant_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const mq_ctx *c = vctx;
    for (int64_t m = b; m < e; m++) {
        if (c->bt == PX_F16) {
            const float *x = c->A + m * c->K;
            float *h = c->ha + m * c->K;
            int64_t k = 0;
#ifdef MQ_X86
            if (c->hh) {
                to_f16_avx512(x, c->hh + m * c->K, c->K);
                continue;
            }
            if (isa() >= ISA_AVX2) k = round_f16_f16c(x, h, c->K);
#endif
            for (; k < c->K; k++) h[k] = px_f16_to_f32(px_f32_to_f16(x[k]));
        } else {
            quantize_row(c->A + m * c->K, c->K, c->qa + m * c->nb);
        }
    }
}

static void mm_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const mq_ctx *c = vctx;
    for (int64_t item = b; item < e; item++) {
        int64_t tn = item / c->ntm, tm = item - tn * c->ntm;
        int64_t n0 = tn * MQ_NB, n1 = n0 + MQ_NB < c->N ? n0 + MQ_NB : c->N;
        int64_t m0 = tm * MQ_MT, m1 = m0 + MQ_MT < c->M ? m0 + MQ_MT : c->M;
#ifdef MQ_X86
        if (c->bt == PX_F16 && c->f16_tiles && c->K % 16 == 0) {
            for (int64_t i0 = m0; i0 < m1; i0 += 4)
                for (int64_t j0 = n0; j0 < n1; j0 += 4) {
                    const float *ap[4];
                    const uint16_t *wp[4];
                    for (int i = 0; i < 4; i++) ap[i] = c->ha + (i0 + i < m1 ? i0 + i : i0) * c->K;
                    for (int j = 0; j < 4; j++)
                        wp[j] = (const uint16_t *)(const void *)(c->B + (size_t)(j0 + j < n1 ? j0 + j : j0) * c->row_bytes);
                    float out[4][4];
                    tile_f16_avx512(wp, ap, c->K, out);
                    for (int i = 0; i < 4 && i0 + i < m1; i++)
                        for (int j = 0; j < 4 && j0 + j < n1; j++)
                            c->O[(i0 + i) * c->N + j0 + j] = out[i][j] + (c->bias ? c->bias[j0 + j] : 0.0f);
                }
            continue;
        }
#endif
        for (int64_t n = n0; n < n1; n++) {
            const uint8_t *w = c->B + (size_t)n * c->row_bytes;
            float bias = c->bias ? c->bias[n] : 0.0f;
            for (int64_t m = m0; m < m1; m++) {
                float v;
#ifdef MQ_X86
                if (c->hh) v = dot_f16h_avx512((const uint16_t *)(const void *)w, c->hh + m * c->K, c->K);
                else
#endif
                    v = c->bt == PX_F16 ? c->dh((const uint16_t *)(const void *)w, c->ha + m * c->K, c->K)
                                        : c->dq(w, c->qa + m * c->nb, c->nb);
                c->O[m * c->N + n] = v + bias;
            }
        }
    }
}

px_status cpu_matmul_q_run(const px_kernel_args *a) {
    const px_tensor *A = &a->inputs[0], *B = &a->inputs[1], *O = &a->outputs[0];
    mq_ctx c;
    memset(&c, 0, sizeof c);
    c.bt = B->dtype;
    c.K = A->ne[A->rank - 1];
    c.M = 1;
    for (int32_t i = 0; i + 1 < A->rank; i++) c.M *= A->ne[i];
    c.N = B->ne[0];
    if (B->ne[1] != c.K || O->ne[O->rank - 1] != c.N)
        return a->host->set_error(PX_ERR_SHAPE, "matmul: shapes of a, b and out do not agree");
    if (c.M == 0 || c.N == 0) return PX_OK;
    c.nb = c.K / 32;
    c.A = A->data;
    c.B = B->data;
    c.O = O->data;
    c.bias = cpu_arg_in(a, 2) ? a->inputs[2].data : NULL;
    c.row_bytes = (size_t)px_dtype_row_size(c.bt, c.K);
    int level = isa();
#ifdef MQ_X86
    c.dq = c.bt == PX_Q8_0 ? (level == ISA_AVX512 ? dot_q8_avx512 : level == ISA_AVX2 ? dot_q8_avx2 : dot_q8_scalar)
                           : (level == ISA_AVX512 ? dot_q4_avx512 : level == ISA_AVX2 ? dot_q4_avx2 : dot_q4_scalar);
    c.dh = level == ISA_AVX512 ? dot_f16_avx512 : level == ISA_AVX2 ? dot_f16_avx2 : dot_f16_scalar;
    c.f16_tiles = level == ISA_AVX512 && c.M > 1;
#elif defined(MQ_ARM)
    c.dq = c.bt == PX_Q8_0 ? (level == ISA_DOTPROD ? dot_q8_dotprod : level == ISA_NEON ? dot_q8_neon : dot_q8_scalar)
                           : (level == ISA_DOTPROD ? dot_q4_dotprod : level == ISA_NEON ? dot_q4_neon : dot_q4_scalar);
    c.dh = level >= ISA_NEON ? dot_f16_neon : dot_f16_scalar;
#else
    (void)level;
    c.dq = c.bt == PX_Q8_0 ? dot_q8_scalar : dot_q4_scalar;
    c.dh = dot_f16_scalar;
#endif
    const uint8_t *repacked = cpu_op_aux(a->op_state);
    if (repacked && f16_panels(c.bt, level)) {
        void *act = NULL;
        px_status st = cpu_device_scratch_acquire(a->device, cpu_f16p_act_bytes(c.M, c.K), &act);
        if (st) return st;
        cpu_f16p_args g = {.M = c.M, .K = c.K, .N = c.N, .A = c.A, .panels = (const uint16_t *)(const void *)repacked,
                           .bias = c.bias, .O = c.O, .act = act};
        cpu_f16p_run(a->host, &g);
        cpu_device_scratch_release(a->device);
        return PX_OK;
    }
    if (repacked && !cpu_repack_ok(c.bt, level, c.N, c.K)) { /* a copy in 2 MiB pages, the same layout */
        c.B = repacked;
        repacked = NULL;
    }
    cpu_dot_k_fn kdot = !repacked && kquant_rows(c.bt, c.M, c.K) ? cpu_dot_k_get(c.bt, level) : NULL;
    if (kdot) {
        void *act = NULL;
        px_status st = cpu_device_scratch_acquire(a->device, act_bytes(c.bt, c.M, c.K), &act);
        if (st) return st;
        kq_ctx k = {.M = c.M, .K = c.K, .N = c.N, .nb = c.K / 256, .A = c.A, .bias = c.bias, .B = c.B, .O = c.O,
                    .row_bytes = c.row_bytes, .qa = act, .dot = kdot, .level = level};
        a->host->parallel_for(c.M, 1, kq_quant_range, &k);
        a->host->parallel_for(c.N, cpu_grain(c.M * c.K, 1 << 15), kq_range, &k);
        cpu_device_scratch_release(a->device);
        return PX_OK;
    }
    void *scr = NULL;
    px_status st = cpu_device_scratch_acquire(a->device, repacked ? cpu_gemm_q_act_bytes(c.M, c.K) : act_bytes(c.bt, c.M, c.K), &scr);
    if (st) return st;
    c.qa = scr;
    c.ha = scr;
#ifdef MQ_X86
    if (c.bt == PX_F16 && level == ISA_AVX512 && !c.f16_tiles && c.K % 16 == 0) c.hh = scr;
#endif
    if (repacked || uses_gemm(c.bt, c.M)) { /* batches, repacked weights, and the types without a one-row product here: k_gemm_q.c */
        cpu_scratch s;
        st = cpu_scratch_begin(a, cpu_matmul_need, &s); /* matmul_act's per-thread rows (op_state): the panels */
        if (!st) {
            if (s.per_thread >= cpu_gemm_q_panel_bytes(c.K)) {
                cpu_gemm_q_args g = {.wt = c.bt, .level = level, .M = c.M, .K = c.K, .N = c.N, .A = c.A, .B = c.B,
                                     .row_bytes = c.row_bytes, .bias = c.bias, .O = c.O, .act = scr, .scr = &s,
                                     .repacked = repacked};
                cpu_gemm_q(a->host, &g);
            } else {
                st = a->host->set_error(PX_ERR_INTERNAL, "matmul: panel scratch too small");
            }
            cpu_scratch_end(a, &s);
        }
        cpu_device_scratch_release(a->device);
        return st;
    }
    a->host->parallel_for(c.M, 1, quant_range, &c);
    c.ntm = (c.M + MQ_MT - 1) / MQ_MT;
    int64_t items = ((c.N + MQ_NB - 1) / MQ_NB) * c.ntm;
    int64_t per_item = (c.M < MQ_MT ? c.M : MQ_MT) * MQ_NB * c.K;
    a->host->parallel_for(items, cpu_grain(per_item, 1 << 15), mm_range, &c);
    cpu_device_scratch_release(a->device);
    return PX_OK;
}
