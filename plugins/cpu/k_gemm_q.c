/* CPU plugin — GEMM of F32 activations with block-quantized weights read in
 * place (MATMUL with trans_b = 1 and more than a few activation rows: the
 * prompt, batched decoding). k_matmul_q.c takes the one-row products.
 *
 * Arithmetic. Every weight type is seen as blocks of BS = 32 (16 for Q2_K,
 * Q3_K, Q6_K) values w = s * v + m, with v an int8, s a float scale and m a
 * float offset (0 for the symmetric types): Q4_0 v = q - 8, Q8_0 v = q,
 * Q4_K v = q with s = d * sc and m = -dmin * mn, and so on. Activations are
 * quantized as for the one-row products (k_matmul_q.c): 32 values, int8
 * a = round(x * 127 / amax), scale da = amax / 127 rounded to F16. Then per
 * output and block, in block order,
 *     acc = fma((float)(sum of v * a), s * da, acc)
 *     acc = fma(m, da * (float)(sum of a), acc)         (types with m only)
 * where the sums are exact integers. Every ISA path computes exactly this,
 * so results do not depend on the path, the thread count or the batch size
 * (as long as the batch takes this GEMM).
 *
 * Work. The weight rows are cut into panels of NR = 16 rows; each thread
 * takes a panel, unpacks it once into its scratch as int8 values
 * interleaved four at a time ([block][k/4][row][4]: one 64-byte vector holds
 * four consecutive k of all 16 rows) with the per-row scales, then runs
 * micro-kernels of MR activation rows x 16 weight rows over it:
 *   avx512-vnni: vpdpbusd of a broadcast group of four activations (as
 *                unsigned: a + 128, the weights' sum times 128 taken off
 *                through the starting value) with the 16 rows, 16 lanes;
 *   avx2:        vpsignb / vpmaddubsw / vpmaddwd on two halves of 8 rows;
 *   dotprod:     sdot by element (one activation group per lane), 4 rows
 *                per vector;
 *   scalar:      plain C, also the reference for the others.
 * The packing is amortized over the M activation rows; one-row products
 * stay in k_matmul_q.c, which reads the weights as stored. */
#include <math.h>
#include <string.h>

#include "k_gemm_q.h"
#include "cpu_simd_x86.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GQ_X86 1
#define GQ_AVX512 "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni"
#elif defined(__aarch64__)
#include "cpu_simd_arm.h"
#define GQ_ARM 1
#endif

#define NR 16 /* weight rows per panel (one 512-bit vector of int32 lanes) */
#define MR 8  /* activation rows per micro-kernel call */
#define MR_MAX 8

/* ---- weight blocks as int8 values, a scale and an offset -------------------------- */

typedef struct gq_type {
    px_dtype t;
    int bs;                                   /* values per block (32 or 16) */
    int has_min;
    size_t block_bytes;                       /* bytes per block of bs (or per super-block for K types) */
    int per_super;                            /* blocks of bs per stored block */
    void (*unpack)(const uint8_t *blk, int sub, int8_t *v, float *s, float *m);
} gq_type;

static inline float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return px_f16_to_f32(h);
}

static void un_q4_0(const uint8_t *b, int sub, int8_t *v, float *s, float *m) {
    (void)sub;
    for (int j = 0; j < 16; j++) {
        v[j] = (int8_t)((b[2 + j] & 15) - 8);
        v[j + 16] = (int8_t)((b[2 + j] >> 4) - 8);
    }
    *s = f16(b);
    *m = 0;
}

static void un_q4_1(const uint8_t *b, int sub, int8_t *v, float *s, float *m) {
    (void)sub;
    for (int j = 0; j < 16; j++) {
        v[j] = (int8_t)(b[4 + j] & 15);
        v[j + 16] = (int8_t)(b[4 + j] >> 4);
    }
    *s = f16(b);
    *m = f16(b + 2);
}

static void un_q5(const uint8_t *qs, uint32_t qh, int off, int8_t *v) {
    for (int j = 0; j < 16; j++) {
        v[j] = (int8_t)(((qs[j] & 15) | (((qh >> j) & 1) << 4)) - off);
        v[j + 16] = (int8_t)(((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - off);
    }
}

static void un_q5_0(const uint8_t *b, int sub, int8_t *v, float *s, float *m) {
    (void)sub;
    uint32_t qh;
    memcpy(&qh, b + 2, 4);
    un_q5(b + 6, qh, 16, v);
    *s = f16(b);
    *m = 0;
}

static void un_q5_1(const uint8_t *b, int sub, int8_t *v, float *s, float *m) {
    (void)sub;
    uint32_t qh;
    memcpy(&qh, b + 4, 4);
    un_q5(b + 8, qh, 0, v);
    *s = f16(b);
    *m = f16(b + 2);
}

static void un_q8_0(const uint8_t *b, int sub, int8_t *v, float *s, float *m) {
    (void)sub;
    memcpy(v, b + 2, 32);
    *s = f16(b);
    *m = 0;
}

static void un_iq4_nl(const uint8_t *b, int sub, int8_t *v, float *s, float *m) {
    (void)sub;
    for (int j = 0; j < 16; j++) {
        v[j] = px_iq4nl_values[b[2 + j] & 15];
        v[j + 16] = px_iq4nl_values[b[2 + j] >> 4];
    }
    *s = f16(b);
    *m = 0;
}

/* Q4_K / Q5_K: sub-block j (0..7) of 32 is nibble (j & 1) of qs[32 * (j / 2) + l]. */
static void un_q4_k(const uint8_t *b, int j, int8_t *v, float *s, float *m) {
    const uint8_t *q = b + 16 + 32 * (j / 2);
    int sh = 4 * (j & 1);
    for (int l = 0; l < 32; l++) v[l] = (int8_t)((q[l] >> sh) & 15);
    uint8_t sc, mn;
    px_kquant_scale_min(b + 4, j, &sc, &mn);
    *s = f16(b) * (float)sc;
    *m = -(f16(b + 2) * (float)mn);
}

static void un_q5_k(const uint8_t *b, int j, int8_t *v, float *s, float *m) {
    const uint8_t *qh = b + 16, *q = b + 48 + 32 * (j / 2);
    int sh = 4 * (j & 1);
    for (int l = 0; l < 32; l++) v[l] = (int8_t)(((q[l] >> sh) & 15) | (((qh[l] >> j) & 1) << 4));
    uint8_t sc, mn;
    px_kquant_scale_min(b + 4, j, &sc, &mn);
    *s = f16(b) * (float)sc;
    *m = -(f16(b + 2) * (float)mn);
}

/* Q2_K / Q3_K / Q6_K: sub-block g (0..15) of 16; half h = g / 8 of 128
 * values, and within it the 2-bit plane (g % 8) / 2 of 32 bytes, 16 of them. */
static void un_q2_k(const uint8_t *b, int g, int8_t *v, float *s, float *m) {
    int h = g / 8, sh = 2 * ((g % 8) / 2), half = g % 2;
    const uint8_t *q = b + 16 + 32 * h + 16 * half;
    for (int l = 0; l < 16; l++) v[l] = (int8_t)((q[l] >> sh) & 3);
    *s = f16(b + 80) * (float)(b[g] & 15);
    *m = -(f16(b + 82) * (float)(b[g] >> 4));
}

static void un_q3_k(const uint8_t *b, int g, int8_t *v, float *s, float *m) {
    int h = g / 8, p = (g % 8) / 2, half = g % 2, bit = 4 * h + p;
    const uint8_t *q = b + 32 + 32 * h + 16 * half, *hm = b + 16 * half;
    for (int l = 0; l < 16; l++) v[l] = (int8_t)(((q[l] >> (2 * p)) & 3) - (((hm[l] >> bit) & 1) ? 0 : 4));
    *s = f16(b + 108) * (float)px_q3k_scale(b + 96, g);
    *m = 0;
}

/* Q6_K: value e of a half is ql nibble + 2 bits of qh; sub-block g covers
 * plane p = (g % 8) / 2 (ql[l] low, ql[l + 32] low, ql[l] high, ql[l + 32] high). */
static void un_q6_k(const uint8_t *b, int g, int8_t *v, float *s, float *m) {
    int h = g / 8, p = (g % 8) / 2, l0 = 16 * (g % 2);
    const uint8_t *ql = b + 64 * h + 32 * (p & 1), *qh = b + 128 + 32 * h;
    int nsh = 4 * (p >> 1), hsh = 2 * p;
    for (int l = l0; l < l0 + 16; l++) v[l - l0] = (int8_t)((((ql[l] >> nsh) & 15) | (((qh[l] >> hsh) & 3) << 4)) - 32);
    *s = f16(b + 208) * (float)(int8_t)b[192 + g];
    *m = 0;
}

static const gq_type gq_types[] = {
    {PX_Q4_0, 32, 0, 18, 1, un_q4_0},   {PX_Q4_1, 32, 1, 20, 1, un_q4_1},   {PX_Q5_0, 32, 0, 22, 1, un_q5_0},
    {PX_Q5_1, 32, 1, 24, 1, un_q5_1},   {PX_Q8_0, 32, 0, 34, 1, un_q8_0},   {PX_IQ4_NL, 32, 0, 18, 1, un_iq4_nl},
    {PX_Q4_K, 32, 1, 144, 8, un_q4_k},  {PX_Q5_K, 32, 1, 176, 8, un_q5_k},  {PX_Q2_K, 16, 1, 84, 16, un_q2_k},
    {PX_Q3_K, 16, 0, 110, 16, un_q3_k}, {PX_Q6_K, 16, 0, 210, 16, un_q6_k},
};

static const gq_type *type_of(px_dtype t) {
    for (size_t i = 0; i < sizeof gq_types / sizeof gq_types[0]; i++)
        if (gq_types[i].t == t) return &gq_types[i];
    return NULL;
}

int cpu_gemm_q_has(px_dtype t) { return type_of(t) != NULL; }

/* A packed block: int8 values [bs / 4][NR][4], then int32 corr[NR] (-128
 * times each row's sum of values: the vnni path's unsigned activations), then
 * float s[NR], float m[NR]. */
static size_t rec_bytes(int bs) { return (size_t)bs * NR + 3 * 64; }

size_t cpu_gemm_q_panel_bytes(int64_t K) { return (size_t)(K / 16) * rec_bytes(16) + 64; }

/* ---- activations ---------------------------------------------------------------------
 * Row-major int8 values [M][K] (vnni: stored as a + 128), then the scales
 * da[M][K / 32], then the sums of each 16 values as[M][K / 16]. */
typedef struct gq_act {
    uint8_t *q;
    float *da;
    int32_t *as;
    int32_t *ci; /* one-row products (M <= GV_MAX_M): per block of 32, eight lanes of -offset x (sum of 4 values) */
} gq_act;

#define GV_MAX_M 4

size_t cpu_gemm_q_act_bytes(int64_t M, int64_t K) {
    size_t ci = M <= GV_MAX_M ? (size_t)(M * K) * sizeof(int32_t) / 4 : 0;
    return (size_t)(M * K) + (size_t)(M * (K / 32)) * sizeof(float) + (size_t)(M * (K / 16)) * sizeof(int32_t) + ci + 192;
}

static gq_act act_layout(void *base, int64_t M, int64_t K) {
    gq_act a;
    a.q = base;
    a.da = (float *)(void *)(a.q + ((size_t)(M * K) + 63) / 64 * 64);
    a.as = (int32_t *)(void *)(a.da + M * (K / 32));
    a.ci = (int32_t *)(void *)(((uintptr_t)(a.as + M * (K / 16)) + 63) & ~(uintptr_t)63);
    return a;
}

/* As k_matmul_q.c's quantize_row: scale amax / 127 (stored as F16), values
 * x * (127 / amax) rounded to nearest, ties to even. */
static void quant_scalar(const float *x, int64_t K, uint8_t *q, float *da, int32_t *as, int flip) {
    for (int64_t b = 0; b < K / 32; b++) {
        const float *v = x + b * 32;
        float amax = 0;
        for (int i = 0; i < 32; i++) {
            float a = v[i] < 0 ? -v[i] : v[i];
            amax = a > amax ? a : amax;
        }
        float id = amax != 0 ? 127.0f / amax : 0.0f;
        int32_t s[2] = {0, 0};
        for (int i = 0; i < 32; i++) {
            int qi = (int)nearbyintf(v[i] * id);
            q[b * 32 + i] = (uint8_t)(qi ^ (flip ? 0x80 : 0));
            s[i / 16] += qi;
        }
        da[b] = px_f16_to_f32(px_f32_to_f16(amax / 127.0f));
        as[2 * b] = s[0];
        as[2 * b + 1] = s[1];
    }
}

#ifdef GQ_X86
/* The same in 512-bit lanes: max is exact in any order, vcvtps2dq rounds to
 * nearest even (the default MXCSR mode, as nearbyintf). */
__attribute__((target(GQ_AVX512))) static void quant_avx512(const float *x, int64_t K, uint8_t *q, float *da,
                                                             int32_t *as, int flip) {
    for (int64_t b = 0; b < K / 32; b++) {
        __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
        __m512 m = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_setzero_ps());
        m = _mm512_max_ps(_mm512_abs_ps(v1), m);
        float amax = _mm512_reduce_max_ps(m);
        __m512 id = _mm512_set1_ps(amax != 0 ? 127.0f / amax : 0.0f);
        __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
        as[2 * b] = _mm512_reduce_add_epi32(q0);
        as[2 * b + 1] = _mm512_reduce_add_epi32(q1);
        __m256i q8 = _mm256_set_m128i(_mm512_cvtepi32_epi8(q1), _mm512_cvtepi32_epi8(q0));
        if (flip) q8 = _mm256_xor_si256(q8, _mm256_set1_epi8((char)0x80));
        _mm256_storeu_si256((__m256i *)(q + 32 * b), q8);
        da[b] = px_f16_to_f32(px_f32_to_f16(amax / 127.0f));
    }
}
#endif

typedef struct gq_ctx {
    const cpu_gemm_q_args *g;
    const gq_type *ty;
    gq_act act;
    int64_t nb;   /* blocks of bs per row */
    size_t rec;   /* bytes per packed block */
    int flip;     /* activations stored as a + 128 (vnni) */
} gq_ctx;

static void quant_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const gq_ctx *c = vctx;
    int64_t K = c->g->K;
    for (int64_t m = b; m < e; m++) {
        uint8_t *q = c->act.q + m * K;
        float *da = c->act.da + m * (K / 32);
        int32_t *as = c->act.as + m * (K / 16);
#ifdef GQ_X86
        if (c->g->level >= 2) {
            quant_avx512(c->g->A + m * K, K, q, da, as, c->flip);
            continue;
        }
#endif
        quant_scalar(c->g->A + m * K, K, q, da, as, c->flip);
    }
}

/* ---- packing a panel ---------------------------------------------------------------- */

static void pack_panel(const gq_ctx *c, int64_t n0, uint8_t *panel) {
    const cpu_gemm_q_args *g = c->g;
    const gq_type *ty = c->ty;
    int bs = ty->bs, ng = bs / 4;
    const uint8_t *rows[NR];
    for (int r = 0; r < NR; r++) rows[r] = g->B + (size_t)(n0 + r < g->N ? n0 + r : n0) * g->row_bytes;
    for (int64_t blk = 0; blk < c->nb; blk++) {
        uint8_t *rec = panel + (size_t)blk * c->rec;
        int32_t *corr = (int32_t *)(void *)(rec + (size_t)bs * NR);
        float *s = (float *)(corr + NR), *m = s + NR;
        int64_t stored = blk / ty->per_super;
        int sub = (int)(blk - stored * ty->per_super);
        for (int r = 0; r < NR; r++) {
            int8_t v[32];
            ty->unpack(rows[r] + (size_t)stored * ty->block_bytes, sub, v, &s[r], &m[r]);
            int32_t sum = 0;
            for (int i = 0; i < bs; i++) sum += v[i];
            corr[r] = -128 * sum;
            for (int q = 0; q < ng; q++) memcpy(rec + ((size_t)q * NR + r) * 4, v + 4 * q, 4);
        }
    }
}

#ifdef GQ_X86
/* The same packing with the common types unpacked in SIMD registers and the
 * int8 values transposed four at a time in registers (16 rows x BS bytes ->
 * BS/4 vectors of 16 rows); the rest unpack through the scalar functions. */
__attribute__((target(GQ_AVX512), always_inline)) static inline __m256i unpack_avx512(const gq_type *ty, const px_dtype t,
                                                                              const uint8_t *b, int sub, float *s,
                                                                              float *m) {
    uint16_t h;
    switch (t) {
    case PX_Q4_0:
    case PX_Q5_0: {
        int q5 = t == PX_Q5_0;
        __m128i q = _mm_loadu_si128((const __m128i *)(b + (q5 ? 6 : 2)));
        __m256i x = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(15)),
                                     _mm_and_si128(q, _mm_set1_epi8(15)));
        if (q5) {
            uint32_t qh;
            memcpy(&qh, b + 2, 4);
            x = _mm256_or_si256(x, _mm256_maskz_mov_epi8(qh, _mm256_set1_epi8(16)));
        }
        memcpy(&h, b, 2);
        *s = _cvtsh_ss(h);
        *m = 0;
        return _mm256_sub_epi8(x, _mm256_set1_epi8(q5 ? 16 : 8));
    }
    case PX_Q8_0:
        memcpy(&h, b, 2);
        *s = _cvtsh_ss(h);
        *m = 0;
        return _mm256_loadu_si256((const __m256i *)(b + 2));
    case PX_Q4_K: {
        __m256i q = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * (sub / 2)));
        if (sub & 1) q = _mm256_srli_epi16(q, 4);
        uint8_t sc, mn;
        px_kquant_scale_min(b + 4, sub, &sc, &mn);
        uint16_t hm;
        memcpy(&h, b, 2);
        memcpy(&hm, b + 2, 2);
        *s = _cvtsh_ss(h) * (float)sc;
        *m = -(_cvtsh_ss(hm) * (float)mn);
        return _mm256_and_si256(q, _mm256_set1_epi8(15));
    }
    case PX_Q6_K: {
        int hf = sub / 8, p = (sub % 8) / 2, l0 = 16 * (sub % 2);
        __m128i ql = _mm_loadu_si128((const __m128i *)(b + 64 * hf + 32 * (p & 1) + l0));
        __m128i qh = _mm_loadu_si128((const __m128i *)(b + 128 + 32 * hf + l0));
        ql = _mm_and_si128(_mm_srl_epi16(ql, _mm_cvtsi32_si128(4 * (p >> 1))), _mm_set1_epi8(15));
        qh = _mm_and_si128(_mm_srl_epi16(qh, _mm_cvtsi32_si128(2 * p)), _mm_set1_epi8(3));
        memcpy(&h, b + 208, 2);
        *s = _cvtsh_ss(h) * (float)(int8_t)b[192 + sub];
        *m = 0;
        return _mm256_castsi128_si256(_mm_sub_epi8(_mm_or_si128(ql, _mm_slli_epi16(qh, 4)), _mm_set1_epi8(32)));
    }
    default: {
        int8_t v[32] = {0};
        ty->unpack(b, sub, v, s, m);
        return _mm256_loadu_si256((const __m256i *)v);
    }
    }
}

__attribute__((target(GQ_AVX512), always_inline)) static inline void pack_avx512_t(const gq_ctx *c, int64_t n0,
                                                                                  uint8_t *panel, const px_dtype t,
                                                                                  const int bs) {
    const cpu_gemm_q_args *g = c->g;
    const gq_type *ty = c->ty;
    const uint8_t *rows[NR];
    for (int r = 0; r < NR; r++) rows[r] = g->B + (size_t)(n0 + r < g->N ? n0 + r : n0) * g->row_bytes;
    const __m512i ones = _mm512_set1_epi8(1);
    for (int64_t blk = 0; blk < c->nb; blk++) {
        uint8_t *rec = panel + (size_t)blk * c->rec;
        float *s = (float *)(void *)(rec + (size_t)bs * NR + 64), *m = s + NR;
        int64_t stored = blk / ty->per_super;
        int sub = (int)(blk - stored * ty->per_super);
        size_t off = (size_t)stored * ty->block_bytes;
        __m512i o[8], sum = _mm512_setzero_si512();
        if (bs == 32) {
            /* z[k] = rows k and k + 8; 8x8 dword transposes in both halves */
            __m512i z[8];
            for (int k = 0; k < 8; k++) {
                __m256i lo8 = unpack_avx512(ty, t, rows[k] + off, sub, &s[k], &m[k]);
                __m256i hi8 = unpack_avx512(ty, t, rows[k + 8] + off, sub, &s[k + 8], &m[k + 8]);
                z[k] = _mm512_inserti64x4(_mm512_castsi256_si512(lo8), hi8, 1);
            }
            cpu_transpose_16x8_epi32(z, o);
        } else {
            /* z[k] = rows k, k + 4, k + 8, k + 12: 4x4 dword transposes per 128-bit lane */
            __m128i x[NR];
            for (int r = 0; r < NR; r++) x[r] = _mm256_castsi256_si128(unpack_avx512(ty, t, rows[r] + off, sub, &s[r], &m[r]));
            __m512i z[4], tt[4];
            for (int k = 0; k < 4; k++)
                z[k] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(x[k + 4], x[k])),
                                          _mm256_set_m128i(x[k + 12], x[k + 8]), 1);
            tt[0] = _mm512_unpacklo_epi32(z[0], z[1]);
            tt[1] = _mm512_unpackhi_epi32(z[0], z[1]);
            tt[2] = _mm512_unpacklo_epi32(z[2], z[3]);
            tt[3] = _mm512_unpackhi_epi32(z[2], z[3]);
            o[0] = _mm512_unpacklo_epi64(tt[0], tt[2]);
            o[1] = _mm512_unpackhi_epi64(tt[0], tt[2]);
            o[2] = _mm512_unpacklo_epi64(tt[1], tt[3]);
            o[3] = _mm512_unpackhi_epi64(tt[1], tt[3]);
        }
        for (int q = 0; q < bs / 4; q++) {
            _mm512_store_si512((void *)(rec + 64 * q), o[q]);
            sum = _mm512_dpbusd_epi32(sum, ones, o[q]);
        }
        _mm512_store_si512((void *)(rec + (size_t)bs * NR), _mm512_mullo_epi32(sum, _mm512_set1_epi32(-128)));
    }
}

/* One copy per common type, the type's unpacking inlined. */
__attribute__((target(GQ_AVX512))) static void pack_panel_avx512(const gq_ctx *c, int64_t n0, uint8_t *panel) {
    switch (c->ty->t) {
    case PX_Q4_0: pack_avx512_t(c, n0, panel, PX_Q4_0, 32); break;
    case PX_Q5_0: pack_avx512_t(c, n0, panel, PX_Q5_0, 32); break;
    case PX_Q8_0: pack_avx512_t(c, n0, panel, PX_Q8_0, 32); break;
    case PX_Q4_K: pack_avx512_t(c, n0, panel, PX_Q4_K, 32); break;
    case PX_Q6_K: pack_avx512_t(c, n0, panel, PX_Q6_K, 16); break;
    default:
        if (c->ty->bs == 32) pack_avx512_t(c, n0, panel, PX_DTYPE_COUNT, 32);
        else pack_avx512_t(c, n0, panel, PX_DTYPE_COUNT, 16);
        break;
    }
}
#endif

/* ---- micro-kernels: MR activation rows (from m0; rows past M repeat m0) x the panel's 16 rows */

static void store_rows(const gq_ctx *c, int64_t m0, int mr, int64_t n0, float (*acc)[NR]) {
    const cpu_gemm_q_args *g = c->g;
    int nr = g->N - n0 < NR ? (int)(g->N - n0) : NR;
    for (int i = 0; i < mr; i++)
        for (int r = 0; r < nr; r++) g->O[(m0 + i) * g->N + n0 + r] = acc[i][r] + (g->bias ? g->bias[n0 + r] : 0.0f);
}

static void kern_scalar(const gq_ctx *c, const uint8_t *panel, int64_t m0, int mr, int64_t n0) {
    const int64_t K = c->g->K;
    const int bs = c->ty->bs, ng = bs / 4;
    float acc[MR][NR];
    memset(acc, 0, sizeof acc);
    for (int i = 0; i < mr; i++) {
        const int8_t *a = (const int8_t *)c->act.q + (m0 + i) * K;
        const float *da = c->act.da + (m0 + i) * (K / 32);
        const int32_t *as = c->act.as + (m0 + i) * (K / 16);
        for (int64_t blk = 0; blk < c->nb; blk++) {
            const uint8_t *rec = panel + (size_t)blk * c->rec;
            const float *s = (const float *)(const void *)(rec + (size_t)bs * NR + 64), *m = s + NR;
            const int8_t *ab = a + blk * bs;
            float d = da[blk * bs / 32];
            int32_t asum = bs == 32 ? as[2 * blk] + as[2 * blk + 1] : as[blk];
            for (int r = 0; r < NR; r++) {
                int32_t isum = 0;
                for (int q = 0; q < ng; q++) {
                    const int8_t *w = (const int8_t *)rec + ((size_t)q * NR + r) * 4;
                    isum += w[0] * ab[4 * q] + w[1] * ab[4 * q + 1] + w[2] * ab[4 * q + 2] + w[3] * ab[4 * q + 3];
                }
                acc[i][r] = fmaf((float)isum, s[r] * d, acc[i][r]);
                if (c->ty->has_min) acc[i][r] = fmaf(m[r], d * (float)asum, acc[i][r]);
            }
        }
    }
    store_rows(c, m0, mr, n0, acc);
}

#ifdef GQ_X86
/* The activation rows of an AVX-512 micro-kernel call: rows m0 .. m0+mr-1,
 * the rest of its nrow repeating row m0 (computed, never stored). */
static inline void vnni_rows(const gq_ctx *c, int64_t m0, int mr, int nrow, const uint8_t **a, const float **da,
                             const int32_t **as) {
    const int64_t K = c->g->K;
    for (int i = 0; i < nrow; i++) {
        int64_t row = m0 + (i < mr ? i : 0);
        a[i] = c->act.q + row * K;
        da[i] = c->act.da + row * (K / 32);
        as[i] = c->act.as + row * (K / 16);
    }
}

/* Its mr rows of 16 outputs (masked at the panel's end) plus the bias, as
 * store_rows adds it. */
__attribute__((target(GQ_AVX512), always_inline)) static inline void vnni_store(const gq_ctx *c, int64_t m0, int mr,
                                                                                int64_t n0, const __m512 *acc) {
    const cpu_gemm_q_args *g = c->g;
    int nr = g->N - n0 < NR ? (int)(g->N - n0) : NR;
    __mmask16 mask = (__mmask16)((1u << nr) - 1);
    __m512 bias = g->bias ? _mm512_maskz_loadu_ps(mask, g->bias + n0) : _mm512_setzero_ps();
    for (int i = 0; i < mr; i++) _mm512_mask_storeu_ps(g->O + (m0 + i) * g->N + n0, mask, _mm512_add_ps(acc[i], bias));
}

__attribute__((target(GQ_AVX512), always_inline)) static inline void
kern_vnni_t(const gq_ctx *c, const uint8_t *panel, int64_t m0, int mr, int64_t n0, const int bs, const int has_min,
            const int nrow) {
    const uint8_t *a[MR_MAX];
    const float *da[MR_MAX];
    const int32_t *as[MR_MAX];
    vnni_rows(c, m0, mr, nrow, a, da, as);
    __m512 acc[MR_MAX];
    for (int i = 0; i < nrow; i++) acc[i] = _mm512_setzero_ps();
    const size_t rec = c->rec;
    for (int64_t blk = 0; blk < c->nb; blk++) {
        const uint8_t *p = panel + (size_t)blk * rec;
        const __m512i corr = _mm512_load_si512((const void *)(p + bs * NR));
        __m512i isum[MR_MAX];
        for (int i = 0; i < nrow; i++) isum[i] = corr;
        for (int q = 0; q < bs / 4; q++) {
            __m512i w = _mm512_load_si512((const void *)(p + q * 64));
            for (int i = 0; i < nrow; i++) {
                int32_t g4;
                memcpy(&g4, a[i] + blk * bs + 4 * q, 4);
                isum[i] = _mm512_dpbusd_epi32(isum[i], _mm512_set1_epi32(g4), w);
            }
        }
        const __m512 s = _mm512_load_ps((const void *)(p + bs * NR + 64));
        for (int i = 0; i < nrow; i++) {
            float d = da[i][blk * bs / 32];
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]), _mm512_mul_ps(s, _mm512_set1_ps(d)), acc[i]);
        }
        if (has_min) {
            const __m512 m = _mm512_load_ps((const void *)(p + bs * NR + 128));
            for (int i = 0; i < nrow; i++) {
                int32_t asum = bs == 32 ? as[i][2 * blk] + as[i][2 * blk + 1] : as[i][blk];
                acc[i] = _mm512_fmadd_ps(m, _mm512_set1_ps(da[i][blk * bs / 32] * (float)asum), acc[i]);
            }
        }
    }
    vnni_store(c, m0, mr, n0, acc);
}

/* One copy per block size, offsets and number of activation rows (1, 2, 4
 * or 8: decode steps and small batches do not pay for 8). */
#define VNNI_ROWS(bs_, min_)                                                           \
    do {                                                                               \
        if (mr == 1) kern_vnni_t(c, panel, m0, mr, n0, bs_, min_, 1);                  \
        else if (mr == 2) kern_vnni_t(c, panel, m0, mr, n0, bs_, min_, 2);             \
        else if (mr <= 4) kern_vnni_t(c, panel, m0, mr, n0, bs_, min_, 4);             \
        else kern_vnni_t(c, panel, m0, mr, n0, bs_, min_, 8);                          \
    } while (0)

__attribute__((target(GQ_AVX512))) static void kern_vnni(const gq_ctx *c, const uint8_t *panel, int64_t m0, int mr,
                                                          int64_t n0) {
    if (c->ty->bs == 32) {
        if (c->ty->has_min) VNNI_ROWS(32, 1);
        else VNNI_ROWS(32, 0);
    } else {
        if (c->ty->has_min) VNNI_ROWS(16, 1);
        else VNNI_ROWS(16, 0);
    }
}
#endif

#ifdef GQ_X86
/* AVX2: the 16 rows as two halves of 8 int32 lanes; per group of four k
 * vpsignb moves the weights' signs onto the activations, vpmaddubsw (|w| <=
 * 128 times |a| <= 127: pairs fit int16) and vpmaddwd give each row's four
 * products. Four activation rows per pass; their float sums stay in L1. */
#define MR2 4
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void
kern_avx2_t(const gq_ctx *c, const uint8_t *panel, int64_t m0, int mr, int64_t n0, const int bs, const int has_min) {
    const int64_t K = c->g->K;
    const size_t rec = c->rec;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int i0 = 0; i0 < mr; i0 += MR2) {
        const int8_t *a[MR2];
        const float *da[MR2];
        const int32_t *as[MR2];
        for (int i = 0; i < MR2; i++) {
            int64_t row = m0 + (i0 + i < mr ? i0 + i : i0);
            a[i] = (const int8_t *)c->act.q + row * K;
            da[i] = c->act.da + row * (K / 32);
            as[i] = c->act.as + row * (K / 16);
        }
        __m256 acc[MR2][2];
        for (int i = 0; i < MR2; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
        for (int64_t blk = 0; blk < c->nb; blk++) {
            const uint8_t *p = panel + (size_t)blk * rec;
            __m256i isum[MR2][2];
            for (int i = 0; i < MR2; i++) isum[i][0] = isum[i][1] = _mm256_setzero_si256();
            for (int q = 0; q < bs / 4; q++) {
                __m256i w0 = _mm256_load_si256((const __m256i *)(p + q * 64)), w1 = _mm256_load_si256((const __m256i *)(p + q * 64 + 32));
                __m256i u0 = _mm256_abs_epi8(w0), u1 = _mm256_abs_epi8(w1);
                for (int i = 0; i < MR2; i++) {
                    int32_t g4;
                    memcpy(&g4, a[i] + blk * bs + 4 * q, 4);
                    __m256i av = _mm256_set1_epi32(g4);
                    isum[i][0] = _mm256_add_epi32(isum[i][0], _mm256_madd_epi16(_mm256_maddubs_epi16(u0, _mm256_sign_epi8(av, w0)), ones));
                    isum[i][1] = _mm256_add_epi32(isum[i][1], _mm256_madd_epi16(_mm256_maddubs_epi16(u1, _mm256_sign_epi8(av, w1)), ones));
                }
            }
            const float *sp = (const float *)(const void *)(p + bs * NR + 64), *mp = sp + NR;
            for (int h = 0; h < 2; h++) {
                __m256 s = _mm256_load_ps(sp + 8 * h);
                for (int i = 0; i < MR2; i++) {
                    float d = da[i][blk * bs / 32];
                    acc[i][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i][h]), _mm256_mul_ps(s, _mm256_set1_ps(d)), acc[i][h]);
                }
                if (has_min) {
                    __m256 m = _mm256_load_ps(mp + 8 * h);
                    for (int i = 0; i < MR2; i++) {
                        int32_t asum = bs == 32 ? as[i][2 * blk] + as[i][2 * blk + 1] : as[i][blk];
                        acc[i][h] = _mm256_fmadd_ps(m, _mm256_set1_ps(da[i][blk * bs / 32] * (float)asum), acc[i][h]);
                    }
                }
            }
        }
        float out[MR][NR];
        for (int i = 0; i < MR2 && i0 + i < mr; i++) {
            _mm256_storeu_ps(out[i0 + i], acc[i][0]);
            _mm256_storeu_ps(out[i0 + i] + 8, acc[i][1]);
        }
        store_rows(c, m0 + i0, mr - i0 < MR2 ? mr - i0 : MR2, n0, (float(*)[NR])out[i0]);
    }
}

__attribute__((target("avx2,fma,f16c"))) static void kern_avx2(const gq_ctx *c, const uint8_t *panel, int64_t m0, int mr,
                                                                int64_t n0) {
    if (c->ty->bs == 32) {
        if (c->ty->has_min) kern_avx2_t(c, panel, m0, mr, n0, 32, 1);
        else kern_avx2_t(c, panel, m0, mr, n0, 32, 0);
    } else {
        if (c->ty->has_min) kern_avx2_t(c, panel, m0, mr, n0, 16, 1);
        else kern_avx2_t(c, panel, m0, mr, n0, 16, 0);
    }
}
#endif

#ifdef GQ_ARM
/* 64-bit ARM: the 16 rows as four vectors of 4 int32 lanes (one 16-byte
 * load each per group of four k). With sdot (HWCAP dotprod) one instruction
 * per vector and activation row; without, smull of the weights with the
 * activation group repeated, and sadalp into pair sums that one addp per
 * block completes. Four activation rows per pass. */
#define MR4 4

/* The float part of a block, shared by both ARM kernels. */
static inline void arm_block_tail(const gq_ctx *c, const uint8_t *p, int64_t blk, const float *const *da,
                                  const int32_t *const *as, int32x4_t isum[MR4][4], float32x4_t acc[MR4][4]) {
    const int bs = c->ty->bs;
    const float *sp = (const float *)(const void *)(p + bs * NR + 64), *mp = sp + NR;
    for (int v = 0; v < 4; v++) {
        float32x4_t s = vld1q_f32(sp + 4 * v), m = vld1q_f32(mp + 4 * v);
        for (int i = 0; i < MR4; i++) {
            float d = da[i][blk * bs / 32];
            acc[i][v] = vfmaq_f32(acc[i][v], vcvtq_f32_s32(isum[i][v]), vmulq_n_f32(s, d));
            if (c->ty->has_min) {
                int32_t asum = bs == 32 ? as[i][2 * blk] + as[i][2 * blk + 1] : as[i][blk];
                acc[i][v] = vfmaq_f32(acc[i][v], m, vdupq_n_f32(d * (float)asum));
            }
        }
    }
}

#define GQ_ARM_KERNEL(name, attr, SDOT_PATH)                                                                 \
    attr static void name(const gq_ctx *c, const uint8_t *panel, int64_t m0, int mr, int64_t n0) {            \
        const int64_t K = c->g->K;                                                                             \
        const int bs = c->ty->bs;                                                                              \
        for (int i0 = 0; i0 < mr; i0 += MR4) {                                                                 \
            const int8_t *a[MR4];                                                                              \
            const float *da[MR4];                                                                              \
            const int32_t *as[MR4];                                                                            \
            for (int i = 0; i < MR4; i++) {                                                                    \
                int64_t row = m0 + (i0 + i < mr ? i0 + i : i0);                                                \
                a[i] = (const int8_t *)c->act.q + row * K;                                                     \
                da[i] = c->act.da + row * (K / 32);                                                            \
                as[i] = c->act.as + row * (K / 16);                                                            \
            }                                                                                                  \
            float32x4_t acc[MR4][4];                                                                           \
            for (int i = 0; i < MR4; i++)                                                                      \
                for (int v = 0; v < 4; v++) acc[i][v] = vdupq_n_f32(0);                                        \
            for (int64_t blk = 0; blk < c->nb; blk++) {                                                        \
                const uint8_t *p = panel + (size_t)blk * c->rec;                                               \
                int32x4_t isum[MR4][4];                                                                        \
                SDOT_PATH                                                                                      \
                arm_block_tail(c, p, blk, da, as, isum, acc);                                                  \
            }                                                                                                  \
            float out[MR4][NR];                                                                                \
            for (int i = 0; i < MR4; i++)                                                                      \
                for (int v = 0; v < 4; v++) vst1q_f32(out[i] + 4 * v, acc[i][v]);                              \
            store_rows(c, m0 + i0, mr - i0 < MR4 ? mr - i0 : MR4, n0, (float(*)[NR])out[0]);                   \
        }                                                                                                      \
    }

/* sdot: lanes are whole rows */
#define GQ_PATH_SDOT                                                                                         \
    for (int i = 0; i < MR4; i++)                                                                              \
        for (int v = 0; v < 4; v++) isum[i][v] = vdupq_n_s32(0);                                               \
    for (int q = 0; q < bs / 4; q++) {                                                                         \
        int8x16_t w[4];                                                                                        \
        for (int v = 0; v < 4; v++) w[v] = vld1q_s8((const int8_t *)p + q * 64 + 16 * v);                      \
        for (int i = 0; i < MR4; i++) {                                                                        \
            int32_t g4;                                                                                        \
            memcpy(&g4, a[i] + blk * bs + 4 * q, 4);                                                           \
            int8x16_t av = vreinterpretq_s8_s32(vdupq_n_s32(g4));                                              \
            for (int v = 0; v < 4; v++) isum[i][v] = CPU_SDOT(isum[i][v], w[v], av);                            \
        }                                                                                                      \
    }

/* plain NEON: pair sums in two vectors per four rows, then addp */
#define GQ_PATH_NEON                                                                                         \
    int32x4_t pr[MR4][4][2];                                                                                   \
    for (int i = 0; i < MR4; i++)                                                                              \
        for (int v = 0; v < 4; v++) pr[i][v][0] = pr[i][v][1] = vdupq_n_s32(0);                                \
    for (int q = 0; q < bs / 4; q++) {                                                                         \
        int8x16_t w[4];                                                                                        \
        for (int v = 0; v < 4; v++) w[v] = vld1q_s8((const int8_t *)p + q * 64 + 16 * v);                      \
        for (int i = 0; i < MR4; i++) {                                                                        \
            int32_t g4;                                                                                        \
            memcpy(&g4, a[i] + blk * bs + 4 * q, 4);                                                           \
            int8x8_t av = vreinterpret_s8_s32(vdup_n_s32(g4));                                                 \
            for (int v = 0; v < 4; v++) {                                                                      \
                pr[i][v][0] = vpadalq_s16(pr[i][v][0], vmull_s8(vget_low_s8(w[v]), av));                       \
                pr[i][v][1] = vpadalq_s16(pr[i][v][1], vmull_s8(vget_high_s8(w[v]), av));                      \
            }                                                                                                  \
        }                                                                                                      \
    }                                                                                                          \
    for (int i = 0; i < MR4; i++)                                                                              \
        for (int v = 0; v < 4; v++) isum[i][v] = vpaddq_s32(pr[i][v][0], pr[i][v][1]);

GQ_ARM_KERNEL(kern_dotprod, CPU_DOTPROD, GQ_PATH_SDOT)
GQ_ARM_KERNEL(kern_neon, , GQ_PATH_NEON)
#endif

static void panel_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const gq_ctx *c = vctx;
    const cpu_gemm_q_args *g = c->g;
    uint8_t *panel = cpu_scratch_thread(g->scr, thread);
    panel = (uint8_t *)(((uintptr_t)panel + 63) & ~(uintptr_t)63);
    for (int64_t item = b; item < e; item++) {
        int64_t n0 = item * NR;
#ifdef GQ_X86
        if (g->level >= 2) pack_panel_avx512(c, n0, panel);
        else pack_panel(c, n0, panel);
#else
        pack_panel(c, n0, panel);
#endif
        for (int64_t m0 = 0; m0 < g->M; m0 += MR) {
            int mr = g->M - m0 < MR ? (int)(g->M - m0) : MR;
#ifdef GQ_X86
            if (g->level >= 2) kern_vnni(c, panel, m0, mr, n0);
            else if (g->level == 1) kern_avx2(c, panel, m0, mr, n0);
            else kern_scalar(c, panel, m0, mr, n0);
#elif defined(GQ_ARM)
            if (g->level >= 2) kern_dotprod(c, panel, m0, mr, n0);
            else if (g->level == 1) kern_neon(c, panel, m0, mr, n0);
            else kern_scalar(c, panel, m0, mr, n0);
#else
            kern_scalar(c, panel, m0, mr, n0);
#endif
        }
    }
}

/* ---- one-row products (decode) for Q4_1, Q5_0, Q5_1, IQ4_NL ---------------------------
 * A row's blocks are read in place, in order (the prefetchers see one stream
 * per row), unpacked to unsigned bytes u (nibbles; Q5_x with their fifth
 * bit; IQ4_NL's codebook value + 128) and multiplied with the signed
 * activations by vpdpbusd, starting from -offset x (sum of each 4
 * activations) so that each lane holds an exact sum of v * a; then per block
 * acc = fma((float)lanes, s * da, acc) in 8 lanes, the offsets m of Q4_1/Q5_1
 * as m * da * (sum of a) in a float of their own. Two blocks per step. */
#ifdef GQ_X86
__attribute__((target(GQ_AVX512), always_inline)) static inline __m256i gv_unpack(const uint8_t *b, const px_dtype t) {
    int q5 = t == PX_Q5_0 || t == PX_Q5_1;
    const uint8_t *qs = b + (t == PX_Q4_1 ? 4 : t == PX_Q5_0 ? 6 : t == PX_Q5_1 ? 8 : 2);
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    __m256i x = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(15)), _mm_and_si128(q, _mm_set1_epi8(15)));
    if (q5) {
        uint32_t qh;
        memcpy(&qh, b + (t == PX_Q5_0 ? 2 : 4), 4);
        x = _mm256_or_si256(x, _mm256_maskz_mov_epi8(qh, _mm256_set1_epi8(16)));
    }
    if (t == PX_IQ4_NL)
        x = _mm256_shuffle_epi8( /* the codebook + 128 */
            _mm256_broadcastsi128_si256(_mm_xor_si128(_mm_loadu_si128((const __m128i *)px_iq4nl_values), _mm_set1_epi8(-128))), x);
    return x;
}

/* One block b into acc (and the offset term into macc). */
__attribute__((target(GQ_AVX512), always_inline)) static inline __m256 gv_block(const uint8_t *w, const int8_t *a,
                                                                                 const float *da, const int32_t *as,
                                                                                 const int32_t *ci, int64_t b, __m256 acc,
                                                                                 float *macc, const px_dtype t) {
    uint16_t h;
    memcpy(&h, w, 2);
    __m256i s = _mm256_dpbusd_epi32(_mm256_load_si256((const __m256i *)(ci + 8 * b)), gv_unpack(w, t),
                                    _mm256_loadu_si256((const __m256i *)(a + 32 * b)));
    if (t == PX_Q4_1 || t == PX_Q5_1) {
        uint16_t hm;
        memcpy(&hm, w + 2, 2);
        *macc = fmaf(_cvtsh_ss(hm), da[b] * (float)(as[2 * b] + as[2 * b + 1]), *macc);
    }
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(_cvtsh_ss(h) * da[b]), acc);
}

/* A row's blocks in order, even and odd ones in two accumulators, then the
 * 8 lanes summed (halves, pairs, then the two), plus the offsets' float:
 * the body of gv_dot_t and gv2_dot_t with their block function BLOCK. */
#define GV_DOT_BODY(BLOCK)                                                                          \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                                  \
    float macc = 0;                                                                                 \
    int64_t b = 0;                                                                                  \
    for (; b + 2 <= nb; b += 2) {                                                                   \
        acc0 = BLOCK(w + (size_t)b * bb, a, da, as, ci, b, acc0, &macc, t);                         \
        acc1 = BLOCK(w + (size_t)(b + 1) * bb, a, da, as, ci, b + 1, acc1, &macc, t);               \
    }                                                                                               \
    if (b < nb) acc0 = BLOCK(w + (size_t)b * bb, a, da, as, ci, b, acc0, &macc, t);                 \
    __m256 v = _mm256_add_ps(acc0, acc1);                                                           \
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));                  \
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));                                                         \
    x = _mm_add_ss(x, _mm_movehdup_ps(x));                                                          \
    return _mm_cvtss_f32(x) + macc

__attribute__((target(GQ_AVX512), always_inline)) static inline float gv_dot_t(const uint8_t *w, const int8_t *a,
                                                                                const float *da, const int32_t *as,
                                                                                const int32_t *ci, int64_t nb,
                                                                                const px_dtype t, const size_t bb) {
    GV_DOT_BODY(gv_block);
}

static int gv_offset(px_dtype t) { return t == PX_Q5_0 ? 16 : t == PX_IQ4_NL ? 128 : 0; }

/* The starting lanes of each block: -offset x (sum of each 4 activations). */
__attribute__((target(GQ_AVX512))) static void gv_init(const gq_ctx *c, int64_t m) {
    int64_t K = c->g->K;
    const int8_t *a = (const int8_t *)c->act.q + m * K;
    int32_t *ci = c->act.ci + m * (K / 4);
    const __m256i ones = _mm256_set1_epi8(1), off = _mm256_set1_epi32(-gv_offset(c->g->wt));
    for (int64_t b = 0; b < K / 32; b++) {
        __m256i g4 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, _mm256_loadu_si256((const __m256i *)(a + 32 * b)));
        _mm256_store_si256((__m256i *)(ci + 8 * b), _mm256_mullo_epi32(g4, off));
    }
}

#define GV_CASE(DOT, T, BB)                                                                                    \
    case T:                                                                                                    \
        for (int64_t n = b; n < e; n++)                                                                        \
            for (int64_t m = 0; m < g->M; m++)                                                                 \
                g->O[m * g->N + n] = DOT(g->B + (size_t)n * g->row_bytes, (const int8_t *)c->act.q + m * K,   \
                                              c->act.da + m * (K / 32), c->act.as + m * (K / 16),              \
                                              c->act.ci + m * (K / 4), K / 32, T, BB) +                        \
                                     (g->bias ? g->bias[n] : 0.0f);                                            \
        break;

/* The range function NAME (built for TARGET) over output columns, each
 * type's case with its block bytes. */
#define GV_RANGE(NAME, TARGET, DOT)                                                  \
    __attribute__((target(TARGET))) static void NAME(void *vctx, int64_t b, int64_t e, int32_t thread) { \
        (void)thread;                                                                \
        const gq_ctx *c = vctx;                                                      \
        const cpu_gemm_q_args *g = c->g;                                             \
        const int64_t K = g->K;                                                      \
        switch (g->wt) {                                                             \
            GV_CASE(DOT, PX_Q4_1, 20)                                                \
            GV_CASE(DOT, PX_Q5_0, 22)                                                \
            GV_CASE(DOT, PX_Q5_1, 24)                                                \
            GV_CASE(DOT, PX_IQ4_NL, 18)                                              \
        default: break;                                                              \
        }                                                                            \
    }

GV_RANGE(gv_range, GQ_AVX512, gv_dot_t)
#endif

#ifdef GQ_X86
/* The same one-row products with AVX2 (no vpdpbusd, no byte masks): the
 * unsigned values times the signed activations by vpmaddubsw (pairs of
 * products: at most 2 * 31 * 127, no saturation) and vpmaddwd with ones
 * (sums of four, the lanes of vpdpbusd); IQ4_NL's codebook values stay
 * signed (vpmaddubsw of |v| and a with v's sign: no offset, as +128 could
 * saturate). Every lane holds the same integer as on AVX-512, so the
 * results are the same bits. */
#define GV2 __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

GV2 __m256i gv2_unpack(const uint8_t *b, const px_dtype t) {
    const uint8_t *qs = b + (t == PX_Q4_1 ? 4 : t == PX_Q5_0 ? 6 : t == PX_Q5_1 ? 8 : 2);
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    __m256i x = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(15)), _mm_and_si128(q, _mm_set1_epi8(15)));
    if (t == PX_Q5_0 || t == PX_Q5_1) { /* value j's fifth bit is bit j of qh */
        uint32_t qh;
        memcpy(&qh, b + (t == PX_Q5_0 ? 2 : 4), 4);
        const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3,
                                              3, 3, 3, 3, 3, 3);
        const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
        __m256i h = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), pick);
        h = _mm256_cmpeq_epi8(_mm256_and_si256(h, bit), bit);
        x = _mm256_or_si256(x, _mm256_and_si256(h, _mm256_set1_epi8(16)));
    }
    if (t == PX_IQ4_NL)
        x = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)px_iq4nl_values)), x);
    return x;
}

GV2 __m256 gv2_block(const uint8_t *w, const int8_t *a, const float *da, const int32_t *as, const int32_t *ci, int64_t b,
                     __m256 acc, float *macc, const px_dtype t) {
    uint16_t h;
    memcpy(&h, w, 2);
    __m256i u = gv2_unpack(w, t), av = _mm256_loadu_si256((const __m256i *)(a + 32 * b));
    __m256i p = t == PX_IQ4_NL ? _mm256_maddubs_epi16(_mm256_abs_epi8(u), _mm256_sign_epi8(av, u)) : _mm256_maddubs_epi16(u, av);
    __m256i s = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
    if (t != PX_IQ4_NL) s = _mm256_add_epi32(s, _mm256_load_si256((const __m256i *)(ci + 8 * b)));
    if (t == PX_Q4_1 || t == PX_Q5_1) {
        uint16_t hm;
        memcpy(&hm, w + 2, 2);
        *macc = fmaf(_cvtsh_ss(hm), da[b] * (float)(as[2 * b] + as[2 * b + 1]), *macc);
    }
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(_cvtsh_ss(h) * da[b]), acc);
}

GV2 float gv2_dot_t(const uint8_t *w, const int8_t *a, const float *da, const int32_t *as, const int32_t *ci, int64_t nb,
                    const px_dtype t, const size_t bb) {
    GV_DOT_BODY(gv2_block);
}

__attribute__((target("avx2,fma,f16c"))) static void gv2_init(const gq_ctx *c, int64_t m) {
    int64_t K = c->g->K;
    const int8_t *a = (const int8_t *)c->act.q + m * K;
    int32_t *ci = c->act.ci + m * (K / 4);
    const __m256i ones = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1), off = _mm256_set1_epi32(-gv_offset(c->g->wt));
    for (int64_t b = 0; b < K / 32; b++) {
        __m256i g4 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, _mm256_loadu_si256((const __m256i *)(a + 32 * b))), ones16);
        _mm256_store_si256((__m256i *)(ci + 8 * b), _mm256_mullo_epi32(g4, off));
    }
}

GV_RANGE(gv2_range, "avx2,fma,f16c", gv2_dot_t)

static int gv_has(const cpu_gemm_q_args *g) {
    return g->level >= 1 && g->M <= GV_MAX_M &&
           (g->wt == PX_Q4_1 || g->wt == PX_Q5_0 || g->wt == PX_Q5_1 || g->wt == PX_IQ4_NL);
}

static void quant_gv_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    quant_range(vctx, b, e, thread);
    const gq_ctx *c = vctx;
    for (int64_t m = b; m < e; m++) {
        if (c->g->level >= 2) gv_init(vctx, m);
        else if (c->g->wt != PX_IQ4_NL) gv2_init(vctx, m);
    }
}
#endif

/* ---- Q4_0 repacked at load (AVX-512 VNNI) ---------------------------------------------
 * Panel p, block b: 288 bytes at (p * nb + b) * 288: the 16 rows' F16 scales
 * (32 bytes), then for g = 0..3 the 16 rows' bytes 4g..4g+3 of qs (64 bytes):
 * low nibbles are elements 4g..4g+3, high nibbles 16+4g..16+4g+3. The
 * micro-kernel splits the nibbles (and, shift) into two vectors of unsigned
 * values and multiplies each by a group of four activations broadcast
 * (vpdpbusd), from -8 x (sum of the block's activations): the same exact
 * block sums, and the same float steps, as the GEMM above. */
#define RP_BYTES 288

#define RP8_BYTES 544  /* Q8_0: per panel and block, the same as 16 rows of the file's */
#define RP5_BYTES 352  /* Q5_0: the same */
#define RPK_BYTES 2304 /* Q4_K: per panel and super-block of 256, the same as 16 rows of the file's */
#define RP6_BYTES 3360 /* Q6_K: the same as 16 rows of the file's */

int cpu_repack_ok(px_dtype t, int level, int64_t N, int64_t K) {
#ifdef GQ_X86
    return level >= 2 && N > 0 && K > 0 &&
           (((t == PX_Q4_0 || t == PX_Q5_0 || t == PX_Q8_0) && K % 32 == 0) || ((t == PX_Q4_K || t == PX_Q6_K) && K % 256 == 0));
#else
    (void)t, (void)level, (void)N, (void)K;
    return 0;
#endif
}

/* Bytes of one repacked record: a panel's 16 rows of one (super-)block of t. */
static inline size_t rp_rec(px_dtype t) {
    return t == PX_Q4_K ? RPK_BYTES : t == PX_Q6_K ? RP6_BYTES : t == PX_Q8_0 ? RP8_BYTES : t == PX_Q5_0 ? RP5_BYTES : RP_BYTES;
}

/* Where panel p's records start. */
static inline const uint8_t *rp_panel(const uint8_t *repacked, px_dtype t, int64_t K, int64_t p) {
    return repacked + (size_t)(p * (K / px_dtype_get_traits(t)->block_size)) * rp_rec(t);
}

size_t cpu_repack_bytes(px_dtype t, int64_t N, int64_t K) {
    return (size_t)((N + NR - 1) / NR) * (size_t)(K / px_dtype_get_traits(t)->block_size) * rp_rec(t);
}

/* The walk every repacked layout shares: panel p of 16 rows (the last
 * panel's missing rows repeat row N-1), block b of t, record (p * nb + b);
 * fn puts row r's block into it. */
static inline void repack_panels(const uint8_t *src, size_t row_bytes, int64_t N, int64_t K, px_dtype t,
                                 void (*fn)(const uint8_t *blk, int r, uint8_t *out), uint8_t *dst) {
    const px_dtype_traits *tr = px_dtype_get_traits(t);
    int64_t nb = K / tr->block_size;
    size_t blk_bytes = (size_t)tr->type_size, rec = rp_rec(t);
    for (int64_t p = 0; p < (N + NR - 1) / NR; p++)
        for (int64_t b = 0; b < nb; b++)
            for (int r = 0; r < NR; r++) {
                int64_t row = p * NR + r < N ? p * NR + r : N - 1;
                fn(src + (size_t)row * row_bytes + (size_t)b * blk_bytes, r, dst + (size_t)(p * nb + b) * rec);
            }
}

/* Q4_K, panel p, super-block b: 2304 bytes at (p * nsb + b) * 2304: the 16
 * rows' d (F16), dmin (F16), then the 12 bytes of packed 6-bit scales and
 * mins as they are in the file ([12][16]: byte i of the 16 rows), unpacked
 * by the kernel (q4k_scales), then for the pairs of sub-blocks q = 0..3 and
 * g = 0..7 the 16 rows' bytes 32q+4g..+3 of qs (low nibbles: sub-block 2q,
 * high: 2q+1). */
static void rp_q4_k(const uint8_t *sb, int r, uint8_t *out) {
    memcpy(out + 2 * r, sb, 2);
    memcpy(out + 32 + 2 * r, sb + 2, 2);
    for (int i = 0; i < 12; i++) out[64 + 16 * i + r] = sb[4 + i];
    for (int q = 0; q < 4; q++)
        for (int g = 0; g < 8; g++) memcpy(out + 256 + ((q * 8 + g) * NR + r) * 4, sb + 16 + 32 * q + 4 * g, 4);
}

/* Q6_K, panel p, super-block b: 3360 bytes at (p * nsb + b) * 3360: the 16
 * rows' d (F16), their 16 sub-block scales ([16][16] int8), then for each
 * half h = 0, 1 and g = 0..7 three groups of the 16 rows' four bytes: ql at
 * 64h+4g (low nibbles: values 128h+4g.., high: +64), ql at 64h+32+4g (+32,
 * +96), qh at 32h+4g (two bits of each of the four). */
static void rp_q6_k(const uint8_t *sb, int r, uint8_t *out) {
    memcpy(out + 2 * r, sb + 208, 2);
    for (int j = 0; j < 16; j++) out[32 + 16 * j + r] = sb[192 + j];
    for (int h = 0; h < 2; h++)
        for (int g = 0; g < 8; g++) {
            uint8_t *grp = out + 288 + (h * 8 + g) * 192 + 4 * r;
            memcpy(grp, sb + 64 * h + 4 * g, 4);
            memcpy(grp + 64, sb + 64 * h + 32 + 4 * g, 4);
            memcpy(grp + 128, sb + 128 + 32 * h + 4 * g, 4);
        }
}

static void rp_q4_0(const uint8_t *blk, int r, uint8_t *out) {
    memcpy(out + 2 * r, blk, 2);
    for (int g = 0; g < 4; g++) memcpy(out + 32 + (g * NR + r) * 4, blk + 2 + 4 * g, 4);
}

/* Q8_0, panel p, block b: 544 bytes at (p * nb + b) * 544: the 16 rows' F16
 * scales (32 bytes), then for g = 0..7 the 16 rows' values 4g..4g+3 (64
 * bytes), each stored as the unsigned byte value + 128 (x ^ 0x80), so that
 * they are vpdpbusd's unsigned side; the kernel starts each block's sums from
 * -128 x (sum of the block's activations): the exact sums of the GEMM. */
static void rp_q8_0(const uint8_t *blk, int r, uint8_t *out) {
    memcpy(out + 2 * r, blk, 2);
    for (int g = 0; g < 8; g++) {
        uint32_t v;
        memcpy(&v, blk + 2 + 4 * g, 4);
        v ^= 0x80808080u;
        memcpy(out + 32 + (g * NR + r) * 4, &v, 4);
    }
}

/* Q5_0, panel p, block b: 352 bytes at (p * nb + b) * 352: the 16 rows'
 * F16 scales (32 bytes), their fifth bits (64 bytes: four per row), then for
 * g = 0..3 the 16 rows' bytes 4g..4g+3 of qs as Q4_0's (64 bytes). The fifth
 * bits are rearranged so that byte j of a row's four holds, in bit 2g, the
 * bit of value 4g+j and, in bit 2g+1, that of value 16+4g+j: one shift and
 * mask per group puts them on bit 4 of the same byte lanes as the nibbles. */
/* Bits 0, 4, 8, 12 of x on bits 0, 2, 4, 6. */
static inline uint32_t q5_spread(uint32_t x) {
    x &= 0x1111u;
    x = (x | x >> 3 | x >> 6 | x >> 9) & 0xfu;
    x = (x | x << 2) & 0x33u;
    return (x | x << 1) & 0x55u;
}

static void rp_q5_0(const uint8_t *blk, int r, uint8_t *out) {
    uint32_t qh = (uint32_t)blk[2] | (uint32_t)blk[3] << 8 | (uint32_t)blk[4] << 16 | (uint32_t)blk[5] << 24;
    memcpy(out + 2 * r, blk, 2);
    for (int j = 0; j < 4; j++) out[32 + 4 * r + j] = (uint8_t)(q5_spread(qh >> j) | q5_spread(qh >> (16 + j)) << 1);
    for (int g = 0; g < 4; g++) memcpy(out + 96 + (g * NR + r) * 4, blk + 6 + 4 * g, 4);
}

void cpu_repack(px_dtype t, const uint8_t *src, size_t row_bytes, int64_t N, int64_t K, uint8_t *dst) {
    repack_panels(src, row_bytes, N, K, t,
                  t == PX_Q8_0   ? rp_q8_0
                  : t == PX_Q5_0 ? rp_q5_0
                  : t == PX_Q4_K ? rp_q4_k
                  : t == PX_Q6_K ? rp_q6_k
                                 : rp_q4_0,
                  dst);
}

#ifdef GQ_X86
/* The bits of (x shifted by SH, left if positive, right if not) that are set in M. */
#define Q5_BITS(x, SH, M)                                                                                         \
    _mm512_and_si512((SH) >= 0 ? _mm512_slli_epi16(x, (SH) >= 0 ? (SH) : 0) : _mm512_srli_epi16(x, (SH) < 0 ? -(SH) : 0), \
                     M)

/* Q4_0, Q5_0 and Q8_0 repacked (t is a constant in each copy): per block the
 * 16 rows' scales, then eight vectors of unsigned values, vector v holding
 * the rows' values 4v..4v+3 (Q4_0/Q5_0: group g's low nibbles are v = g,
 * its high nibbles v = g + 4, Q5_0's fifth bits or'ed in), each multiplied by
 * activations 4v..4v+3 broadcast (vpdpbusd), from -off x (sum of the block's
 * activations), off = 8, 16, 128: the exact block sums, and the same float
 * steps, as the GEMM above. */
__attribute__((target(GQ_AVX512), always_inline)) static inline void kern_rp_t(const gq_ctx *c, const uint8_t *panel,
                                                                                int64_t m0, int mr, int64_t n0,
                                                                                const px_dtype t, const int nrow) {
    const uint8_t *a[MR_MAX];
    const float *da[MR_MAX];
    const int32_t *as[MR_MAX];
    vnni_rows(c, m0, mr, nrow, a, da, as);
    const size_t bytes = rp_rec(t);
    const int qs = t == PX_Q5_0 ? 96 : 32, off = t == PX_Q8_0 ? 128 : t == PX_Q5_0 ? 16 : 8;
    __m512 acc[MR_MAX];
    for (int i = 0; i < nrow; i++) acc[i] = _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi8(15), b4 = _mm512_set1_epi8(16);
    for (int64_t b = 0; b < c->nb; b++) {
        const uint8_t *p = panel + (size_t)b * bytes;
        __m512 s = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        __m512i qh = t == PX_Q5_0 ? _mm512_loadu_si512((const void *)(p + 32)) : _mm512_setzero_si512();
        __m512i isum[MR_MAX];
        for (int i = 0; i < nrow; i++) isum[i] = _mm512_set1_epi32(-off * (as[i][2 * b] + as[i][2 * b + 1]));
        for (int g = 0; g < 4; g++) {
            __m512i w0, w1;
            if (t == PX_Q8_0) {
                w0 = _mm512_loadu_si512((const void *)(p + qs + 64 * g));
                w1 = _mm512_loadu_si512((const void *)(p + qs + 64 * (g + 4)));
            } else {
                __m512i q = _mm512_loadu_si512((const void *)(p + qs + 64 * g));
                w0 = _mm512_and_si512(q, low);
                w1 = _mm512_and_si512(_mm512_srli_epi16(q, 4), low);
                if (t == PX_Q5_0) {
                    w0 = _mm512_or_si512(w0, Q5_BITS(qh, 4 - 2 * g, b4));
                    w1 = _mm512_or_si512(w1, Q5_BITS(qh, 3 - 2 * g, b4));
                }
            }
            for (int i = 0; i < nrow; i++) {
                int32_t g0, g1;
                memcpy(&g0, a[i] + 32 * b + 4 * g, 4);
                memcpy(&g1, a[i] + 32 * b + 16 + 4 * g, 4);
                isum[i] = _mm512_dpbusd_epi32(isum[i], w0, _mm512_set1_epi32(g0));
                isum[i] = _mm512_dpbusd_epi32(isum[i], w1, _mm512_set1_epi32(g1));
            }
        }
        for (int i = 0; i < nrow; i++)
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]), _mm512_mul_ps(s, _mm512_set1_ps(da[i][b])), acc[i]);
    }
    vnni_store(c, m0, mr, n0, acc);
}

/* The 16 rows' 6-bit scale (*sc) and min (*mn) of sub-block j from the
 * repacked [12][16] scale bytes Q: px_kquant_scale_min on 16 bytes at once
 * ((x >> 6) << 4 of a byte is (x >> 2) & 0x30; the 16-bit shifts' bits from
 * the neighbouring byte are masked off). */
__attribute__((target(GQ_AVX512), always_inline)) static inline void q4k_scales(const __m128i *Q, int j, __m128i *sc, __m128i *mn) {
    const __m128i m63 = _mm_set1_epi8(63), m15 = _mm_set1_epi8(15), m48 = _mm_set1_epi8(0x30);
    if (j < 4) {
        *sc = _mm_and_si128(Q[j], m63);
        *mn = _mm_and_si128(Q[j + 4], m63);
    } else {
        *sc = _mm_or_si128(_mm_and_si128(Q[j + 4], m15), _mm_and_si128(_mm_srli_epi16(Q[j - 4], 2), m48));
        *mn = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(Q[j + 4], 4), m15), _mm_and_si128(_mm_srli_epi16(Q[j], 2), m48));
    }
}

/* Q4_K repacked: per super-block the 16 rows' scales s = d * sc and
 * offsets m = -dmin * mn as vectors, then per pair of sub-blocks the nibbles
 * split in registers; per sub-block the GEMM's steps (exact integer sum,
 * fma with s * da, fma of m with da * sum of a). */
__attribute__((target(GQ_AVX512), always_inline)) static inline void kern_q4kr_t(const gq_ctx *c, const uint8_t *panel,
                                                                                  int64_t m0, int mr, int64_t n0,
                                                                                  const int nrow) {
    const int64_t K = c->g->K;
    const uint8_t *a[MR_MAX];
    const float *da[MR_MAX];
    const int32_t *as[MR_MAX];
    vnni_rows(c, m0, mr, nrow, a, da, as);
    __m512 acc[MR_MAX];
    for (int i = 0; i < nrow; i++) acc[i] = _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi8(15);
    for (int64_t b = 0; b < K / 256; b++) {
        const uint8_t *p = panel + (size_t)b * RPK_BYTES;
        __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + 32)));
        __m128i Q[12];
        for (int i = 0; i < 12; i++) Q[i] = _mm_loadu_si128((const __m128i *)(p + 64 + 16 * i));
        for (int q = 0; q < 4; q++) {
            __m512i il[MR_MAX], ih[MR_MAX];
            for (int i = 0; i < nrow; i++) il[i] = ih[i] = _mm512_setzero_si512();
            for (int g = 0; g < 8; g++) {
                __m512i w = _mm512_loadu_si512((const void *)(p + 256 + 64 * (q * 8 + g)));
                __m512i lo = _mm512_and_si512(w, low), hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), low);
                for (int i = 0; i < nrow; i++) {
                    int32_t g0, g1;
                    memcpy(&g0, a[i] + 256 * b + 64 * q + 4 * g, 4);
                    memcpy(&g1, a[i] + 256 * b + 64 * q + 32 + 4 * g, 4);
                    il[i] = _mm512_dpbusd_epi32(il[i], lo, _mm512_set1_epi32(g0));
                    ih[i] = _mm512_dpbusd_epi32(ih[i], hi, _mm512_set1_epi32(g1));
                }
            }
            for (int h = 0; h < 2; h++) {
                int j = 2 * q + h;
                __m128i sc8, mn8;
                q4k_scales(Q, j, &sc8, &mn8);
                __m512 s = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(sc8)));
                __m512 m = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(dm, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(mn8))));
                for (int i = 0; i < nrow; i++) {
                    int64_t blk = 8 * b + j;
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(h ? ih[i] : il[i]), _mm512_mul_ps(s, _mm512_set1_ps(da[i][blk])), acc[i]);
                    acc[i] = _mm512_fmadd_ps(m, _mm512_set1_ps(da[i][blk] * (float)(as[i][2 * blk] + as[i][2 * blk + 1])), acc[i]);
                }
            }
        }
    }
    vnni_store(c, m0, mr, n0, acc);
}

/* Q6_K repacked: per half and group of four values the three byte groups
 * make the four 6-bit values of sub-blocks s = 0..3 in registers (nibble |
 * two bits << 4, unsigned), vpdpbusd from -32 x (sum of the activations of
 * the sub-block); per sub-block of 16, fma with d * sc * da. Sub-blocks are
 * summed in the order (half, quarter of 16, s), not 0..15: the per-output
 * order is fixed, but not the scalar GEMM's. */
__attribute__((target(GQ_AVX512), always_inline)) static inline void kern_q6kr_t(const gq_ctx *c, const uint8_t *panel,
                                                                                  int64_t m0, int mr, int64_t n0,
                                                                                  const int nrow) {
    const int64_t K = c->g->K;
    const uint8_t *a[MR_MAX];
    const float *da[MR_MAX];
    const int32_t *as[MR_MAX];
    vnni_rows(c, m0, mr, nrow, a, da, as);
    __m512 acc[MR_MAX];
    for (int i = 0; i < nrow; i++) acc[i] = _mm512_setzero_ps();
    const __m512i m15 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    for (int64_t b = 0; b < K / 256; b++) {
        const uint8_t *p = panel + (size_t)b * RP6_BYTES;
        __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        for (int h = 0; h < 2; h++)
            for (int gg = 0; gg < 2; gg++) {
                __m512i is[4][MR_MAX];
                for (int sq = 0; sq < 4; sq++)
                    for (int i = 0; i < nrow; i++) is[sq][i] = _mm512_set1_epi32(-32 * as[i][16 * b + 8 * h + 2 * sq + gg]);
                for (int g = 4 * gg; g < 4 * gg + 4; g++) {
                    const uint8_t *grp = p + 288 + (h * 8 + g) * 192;
                    __m512i A = _mm512_loadu_si512((const void *)grp), B = _mm512_loadu_si512((const void *)(grp + 64));
                    __m512i H = _mm512_loadu_si512((const void *)(grp + 128));
                    __m512i q[4];
                    q[0] = _mm512_or_si512(_mm512_and_si512(A, m15), _mm512_and_si512(_mm512_slli_epi16(H, 4), m30));
                    q[1] = _mm512_or_si512(_mm512_and_si512(B, m15), _mm512_and_si512(_mm512_slli_epi16(H, 2), m30));
                    q[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(A, 4), m15), _mm512_and_si512(H, m30));
                    q[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(B, 4), m15), _mm512_and_si512(_mm512_srli_epi16(H, 2), m30));
                    for (int sq = 0; sq < 4; sq++)
                        for (int i = 0; i < nrow; i++) {
                            int32_t g4;
                            memcpy(&g4, a[i] + 256 * b + 128 * h + 32 * sq + 4 * g, 4);
                            is[sq][i] = _mm512_dpbusd_epi32(is[sq][i], q[sq], _mm512_set1_epi32(g4));
                        }
                }
                for (int sq = 0; sq < 4; sq++) {
                    int sub = 8 * h + 2 * sq + gg;
                    __m512 sc = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 32 + 16 * sub)))));
                    for (int i = 0; i < nrow; i++)
                        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[sq][i]),
                                                 _mm512_mul_ps(sc, _mm512_set1_ps(da[i][8 * b + 4 * h + sq])), acc[i]);
                }
            }
    }
    vnni_store(c, m0, mr, n0, acc);
}

/* KERN over the activation rows in calls of 1, 2, 4 or MAXR (4 or 8) rows;
 * ARGS go between the row count and nrow. */
#define RP_CALLS(KERN, MAXR, ...)                                                     \
    for (int64_t m0 = 0; m0 < g->M; m0 += (MAXR)) {                                   \
        int mr = g->M - m0 < (MAXR) ? (int)(g->M - m0) : (MAXR);                      \
        if (mr == 1) KERN(c, panel, m0, mr, item * NR, __VA_ARGS__ 1);                \
        else if (mr == 2) KERN(c, panel, m0, mr, item * NR, __VA_ARGS__ 2);           \
        else if (mr <= 4) KERN(c, panel, m0, mr, item * NR, __VA_ARGS__ 4);           \
        else KERN(c, panel, m0, mr, item * NR, __VA_ARGS__(MAXR));                    \
    }

__attribute__((target(GQ_AVX512))) static void q4r_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const gq_ctx *c = vctx;
    const cpu_gemm_q_args *g = c->g;
    for (int64_t item = b; item < e; item++) {
        const uint8_t *panel = rp_panel(g->repacked, g->wt, g->K, item);
        switch (g->wt) {
        case PX_Q6_K: /* 5 vectors per row in registers: 4 rows */
            RP_CALLS(kern_q6kr_t, 4, );
            break;
        case PX_Q4_K: /* 3 vectors per row in registers: 4 rows */
            RP_CALLS(kern_q4kr_t, 4, );
            break;
        case PX_Q8_0:
            RP_CALLS(kern_rp_t, MR, PX_Q8_0, );
            break;
        case PX_Q5_0:
            RP_CALLS(kern_rp_t, MR, PX_Q5_0, );
            break;
        default:
            RP_CALLS(kern_rp_t, MR, PX_Q4_0, );
            break;
        }
    }
}
#endif

#ifdef GQ_ARM
/* One-row products (decode) of Q4_1/Q5_0/Q5_1/IQ4_NL on 64-bit ARM, as the
 * x86 ones above: each block's values as signed bytes (Q5_0 with its offset
 * of 16 taken off, IQ4_NL through its codebook by tbl), exact integer sums
 * of four products per lane (sdot, or smull + sadalp in pairs without it),
 * then per block acc = fma((float)lanes, s * da, acc), even and odd blocks
 * in two accumulators of 8 lanes, Q4_1/Q5_1's offsets m * da * (sum of a)
 * in a float of their own. With sdot the lanes and every float step are the
 * x86 paths', so the results are the same bits. */

static inline int8x16x2_t gvn_unpack(const uint8_t *b, const px_dtype t) {
    const uint8_t *qs = b + (t == PX_Q4_1 ? 4 : t == PX_Q5_0 ? 6 : t == PX_Q5_1 ? 8 : 2);
    uint8x16_t q = vld1q_u8(qs);
    uint8x16x2_t x = {{vandq_u8(q, vdupq_n_u8(15)), vshrq_n_u8(q, 4)}};
    if (t == PX_Q5_0 || t == PX_Q5_1) { /* value j's fifth bit is bit j of qh */
        uint32_t qh;
        memcpy(&qh, b + (t == PX_Q5_0 ? 2 : 4), 4);
        static const uint8_t pick[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
        static const uint8_t bits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
        uint8x16_t h = vreinterpretq_u8_u32(vdupq_n_u32(qh)), p = vld1q_u8(pick), bm = vld1q_u8(bits);
        uint8x16_t lo = vtstq_u8(vqtbl1q_u8(h, p), bm), hi = vtstq_u8(vqtbl1q_u8(h, vaddq_u8(p, vdupq_n_u8(2))), bm);
        x.val[0] = vorrq_u8(x.val[0], vandq_u8(lo, vdupq_n_u8(16)));
        x.val[1] = vorrq_u8(x.val[1], vandq_u8(hi, vdupq_n_u8(16)));
    }
    int8x16x2_t r;
    if (t == PX_IQ4_NL) {
        int8x16_t cb = vld1q_s8(px_iq4nl_values);
        r.val[0] = vqtbl1q_s8(cb, x.val[0]);
        r.val[1] = vqtbl1q_s8(cb, x.val[1]);
    } else {
        int8x16_t off = vdupq_n_s8(t == PX_Q5_0 ? 16 : 0);
        r.val[0] = vsubq_s8(vreinterpretq_s8_u8(x.val[0]), off);
        r.val[1] = vsubq_s8(vreinterpretq_s8_u8(x.val[1]), off);
    }
    return r;
}

static inline int32x4_t gvn_dot_neon(int8x16_t x, int8x16_t y) { /* lanes: sums of products 2i, 2i+1, 8+2i, 8+2i+1 */
    int32x4_t acc = vpaddlq_s16(vmull_s8(vget_low_s8(x), vget_low_s8(y)));
    return vpadalq_s16(acc, vmull_s8(vget_high_s8(x), vget_high_s8(y)));
}

CPU_DOTPROD static inline int32x4_t gvn_dot_sdot(int8x16_t x, int8x16_t y) { return CPU_SDOT(vdupq_n_s32(0), x, y); }

#define GVN_DOT(NAME, ATTR, DOT)                                                                               \
    ATTR static float NAME(const uint8_t *w, const int8_t *a, const float *da, const int32_t *as, int64_t nb,  \
                           const px_dtype t, const size_t bb) {                                                \
        float32x4_t acc[2][2] = {{vdupq_n_f32(0), vdupq_n_f32(0)}, {vdupq_n_f32(0), vdupq_n_f32(0)}};          \
        float macc = 0;                                                                                        \
        for (int64_t b = 0; b < nb; b++) {                                                                     \
            const uint8_t *blk = w + (size_t)b * bb;                                                           \
            int8x16x2_t v = gvn_unpack(blk, t);                                                                \
            float d = cpu_f16_arm(blk) * da[b];                                                                     \
            float32x4_t *ac = acc[b & 1];                                                                      \
            ac[0] = vfmaq_f32(ac[0], vcvtq_f32_s32(DOT(v.val[0], vld1q_s8(a + 32 * b))), vdupq_n_f32(d));      \
            ac[1] = vfmaq_f32(ac[1], vcvtq_f32_s32(DOT(v.val[1], vld1q_s8(a + 32 * b + 16))), vdupq_n_f32(d)); \
            if (t == PX_Q4_1 || t == PX_Q5_1)                                                                  \
                macc = fmaf(cpu_f16_arm(blk + 2), da[b] * (float)(as[2 * b] + as[2 * b + 1]), macc);            \
        }                                                                                                      \
        float32x4_t x = vaddq_f32(vaddq_f32(acc[0][0], acc[1][0]), vaddq_f32(acc[0][1], acc[1][1]));          \
        float y0 = vgetq_lane_f32(x, 0) + vgetq_lane_f32(x, 2), y1 = vgetq_lane_f32(x, 1) + vgetq_lane_f32(x, 3); \
        return (y0 + y1) + macc;                                                                               \
    }
GVN_DOT(gvn_dot_t_neon, , gvn_dot_neon)
GVN_DOT(gvn_dot_t_sdot, CPU_DOTPROD, gvn_dot_sdot)

static void gvn_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    (void)thread;
    const gq_ctx *c = vctx;
    const cpu_gemm_q_args *g = c->g;
    const int64_t K = g->K;
    const size_t bb = g->wt == PX_Q4_1 ? 20 : g->wt == PX_Q5_0 ? 22 : g->wt == PX_Q5_1 ? 24 : 18;
    for (int64_t n = b; n < e; n++)
        for (int64_t m = 0; m < g->M; m++) {
            const uint8_t *w = g->B + (size_t)n * g->row_bytes;
            const int8_t *a = (const int8_t *)c->act.q + m * K;
            const float *da = c->act.da + m * (K / 32);
            const int32_t *as = c->act.as + m * (K / 16);
            float v = g->level >= 2 ? gvn_dot_t_sdot(w, a, da, as, K / 32, g->wt, bb)
                                    : gvn_dot_t_neon(w, a, da, as, K / 32, g->wt, bb);
            g->O[m * g->N + n] = v + (g->bias ? g->bias[n] : 0.0f);
        }
}

static int gvn_has(const cpu_gemm_q_args *g) {
    return g->level >= 1 && g->M <= GV_MAX_M &&
           (g->wt == PX_Q4_1 || g->wt == PX_Q5_0 || g->wt == PX_Q5_1 || g->wt == PX_IQ4_NL);
}
#endif

void cpu_gemm_q(const px_host_api *h, const cpu_gemm_q_args *g) {
    gq_ctx c;
    c.g = g;
    c.ty = type_of(g->wt);
    c.act = act_layout(g->act, g->M, g->K);
    c.nb = g->K / c.ty->bs;
    c.rec = rec_bytes(c.ty->bs);
#ifdef GQ_X86
    c.flip = g->level >= 2;
#else
    c.flip = 0;
#endif
#ifdef GQ_X86
    if (g->repacked) {
        c.flip = 0; /* signed activations: the nibbles are vpdpbusd's unsigned side */
        h->parallel_for(g->M, 1, quant_range, &c);
        h->parallel_for((g->N + NR - 1) / NR, 1, q4r_range, &c);
        return;
    }
    if (gv_has(g)) {
        c.flip = 0; /* signed activations: the weights are vpdpbusd's unsigned side */
        h->parallel_for(g->M, 1, quant_gv_range, &c);
        h->parallel_for(g->N, cpu_grain(g->M * g->K, 1 << 16), g->level >= 2 ? gv_range : gv2_range, &c);
        return;
    }
#endif
#ifdef GQ_ARM
    if (gvn_has(g)) {
        h->parallel_for(g->M, 1, quant_range, &c);
        h->parallel_for(g->N, cpu_grain(g->M * g->K, 1 << 16), gvn_range, &c);
        return;
    }
#endif
    h->parallel_for(g->M, 1, quant_range, &c);
    h->parallel_for((g->N + NR - 1) / NR, 1, panel_range, &c);
}
