/* CPU plugin — K-quant x Q8_K dot products for decoding (see k_dot_k.h).
 *
 * Block layouts: core/common/quant.h. The scalar kernels read them through
 * quant.h's helpers; the SIMD kernels decode the 12 packed scale bytes of
 * Q3_K/Q4_K/Q5_K with 32-bit masks and shifts (little-endian hosts, as
 * every target of this file), which the test checks against the helpers.
 *
 * Integer ranges: a weight code times an activation code fits the int16
 * pair sums of vpmaddubsw (at most 2 * 63 * 128); per super-block every
 * |sum| < 2^31 (Q6_K's largest: 256 * 128 * 32 * 128 = 2^27). */
#include <math.h>
#include <string.h>

#include "k_dot_k.h"
#include "quant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KQ_X86 1
#elif defined(__aarch64__)
#include "cpu_simd_arm.h"
#define KQ_ARM 1
#endif

/* One super-block into the running sum, the same steps on every path. The
 * scale and min terms can be far larger than their difference (a group's
 * min cancels most of its values), so they are combined in double, where
 * both are within 2^-53 (d_w * d_a is exact), and rounded to F32 once.
 * Separate statements: no fused multiply-add on any path (clang contracts
 * within an expression). */
static inline float kq_step(float acc, float dw, float dmin, float da, int32_t sumi, int32_t summ) {
    double s = (double)dw * da;
    s *= sumi;
    double m = (double)dmin * da;
    m *= summ;
    return acc + (float)(s - m);
}

/* ---- activation quantization ------------------------------------------------ */

static void quantize_q8k_scalar(const float *x, int64_t K, cpu_q8k_block *out) {
    for (int64_t b = 0; b < K / 256; b++, x += 256) {
        cpu_q8k_block *o = &out[b];
        float amax = 0, max = 0;
        for (int i = 0; i < 256; i++) {
            float ax = fabsf(x[i]);
            if (ax > amax) amax = ax, max = x[i]; /* NaN never compares greater */
        }
        memset(o, 0, sizeof *o);
        if (amax == 0) continue;
        float iscale = -127.0f / max;
        for (int i = 0; i < 256; i++) {
            float r = nearbyintf(iscale * x[i]);
            o->q[i] = (int8_t)(r >= 127 ? 127 : r > -128 ? (int)r : -128); /* NaN: -128, as the SIMD converts */
        }
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += o->q[16 * g + i];
            o->bsums[g] = (int16_t)s;
        }
        o->d = 1 / iscale;
    }
}

/* ---- scalar dots (the layouts as quant.h states them) ------------------------- */

static float dot_q2k_scalar(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 84) {
        const uint8_t *sc = w, *qs = w + 16;
        const int8_t *y = a[b].q;
        int32_t sumi = 0, summ = 0;
        for (int e0 = 0; e0 < 256; e0 += 16) { /* group g = e0 / 16 */
            int g = e0 / 16, h = e0 / 128, s = (e0 / 32) % 4, l0 = e0 % 32, sum = 0;
            for (int l = l0; l < l0 + 16; l++) sum += ((qs[32 * h + l] >> (2 * s)) & 3) * y[128 * h + 32 * s + l];
            sumi += (sc[g] & 15) * sum;
            summ += (sc[g] >> 4) * a[b].bsums[g];
        }
        acc = kq_step(acc, px_load_f16_le(w + 80), px_load_f16_le(w + 82), a[b].d, sumi, summ);
    }
    return acc;
}

static float dot_q3k_scalar(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 110) {
        const uint8_t *hm = w, *qs = w + 32;
        const int8_t *y = a[b].q;
        int32_t sumi = 0;
        for (int e0 = 0; e0 < 256; e0 += 16) {
            int g = e0 / 16, h = e0 / 128, s = (e0 / 32) % 4, l0 = e0 % 32, sum = 0;
            for (int l = l0; l < l0 + 16; l++) {
                int q = ((qs[32 * h + l] >> (2 * s)) & 3) | (((hm[l] >> (4 * h + s)) & 1) << 2);
                sum += q * y[128 * h + 32 * s + l];
            }
            sumi += px_q3k_scale(w + 96, g) * (sum - 4 * a[b].bsums[g]);
        }
        acc = kq_step(acc, px_load_f16_le(w + 108), 0, a[b].d, sumi, 0);
    }
    return acc;
}

/* Q4_K and Q5_K (five: its fifth bits, 32 bytes of qh before qs): group j
 * is nibble j % 2 of qs[32 * (j / 2) + l], Q5_K's bit 4 bit j of qh[l]. */
static inline float dot_q45k_scalar(const uint8_t *w, const cpu_q8k_block *a, int64_t nb, const int five) {
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += five ? 176 : 144) {
        const uint8_t *qh = w + 16, *qs = w + (five ? 48 : 16);
        const int8_t *y = a[b].q;
        int32_t sumi = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, mn;
            px_kquant_scale_min(w + 4, j, &sc, &mn);
            int sum = 0;
            for (int l = 0; l < 32; l++) {
                int q = (qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 15;
                if (five) q |= ((qh[l] >> j) & 1) << 4;
                sum += q * y[32 * j + l];
            }
            sumi += sc * sum;
            summ += mn * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
        }
        acc = kq_step(acc, px_load_f16_le(w), px_load_f16_le(w + 2), a[b].d, sumi, summ);
    }
    return acc;
}

static float dot_q4k_scalar(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) { return dot_q45k_scalar(w, a, nb, 0); }
static float dot_q5k_scalar(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) { return dot_q45k_scalar(w, a, nb, 1); }

static float dot_q6k_scalar(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 210) {
        const uint8_t *ql = w, *qh = w + 128;
        const int8_t *sc = (const int8_t *)(w + 192), *y = a[b].q;
        int32_t sumi = 0;
        for (int e0 = 0; e0 < 256; e0 += 16) {
            int g = e0 / 16, h = e0 / 128, s = (e0 / 32) % 4, l0 = e0 % 32, sum = 0;
            for (int l = l0; l < l0 + 16; l++) {
                int q = ((ql[64 * h + 32 * (s % 2) + l] >> (4 * (s / 2))) & 15) | (((qh[32 * h + l] >> (2 * s)) & 3) << 4);
                sum += q * y[128 * h + 32 * s + l];
            }
            sumi += sc[g] * (sum - 32 * a[b].bsums[g]);
        }
        acc = kq_step(acc, px_load_f16_le(w + 208), 0, a[b].d, sumi, 0);
    }
    return acc;
}

/* ---- packed scales, 32 bits at a time (the SIMD paths) ------------------------ */

#if defined(KQ_X86) || defined(KQ_ARM)
/* Q4_K/Q5_K: bytes 0..7 of r the 6-bit scales, 8..15 the 6-bit mins (see
 * px_kquant_scale_min: groups 4..7 take 4 bits from bytes 8..11 and their
 * top 2 bits from bits 6..7 of bytes 0..3 (scales) or 4..7 (mins)). Results
 * stay in registers: a vector load of bytes just stored in 32-bit pieces
 * would wait for them (no store forwarding). */
static inline void q4k_scales(const uint8_t *s, uint32_t r[4]) {
    uint32_t v[3];
    memcpy(v, s, 12);
    r[0] = v[0] & 0x3f3f3f3f;
    r[1] = (v[2] & 0x0f0f0f0f) | ((v[0] >> 2) & 0x30303030);
    r[2] = v[1] & 0x3f3f3f3f;
    r[3] = ((v[2] >> 4) & 0x0f0f0f0f) | ((v[1] >> 2) & 0x30303030);
}

/* Q3_K: byte g of r = the 6-bit scale of group g plus 32 (0..63; see
 * px_q3k_scale): nibble g / 8 of byte g % 8, bits 2 * (g / 4) of byte
 * 8 + g % 4. */
static inline void q3k_scales(const uint8_t *s, uint32_t r[4]) {
    uint32_t v[3];
    memcpy(v, s, 12);
    r[0] = (v[0] & 0x0f0f0f0f) | ((v[2] << 4) & 0x30303030);
    r[1] = (v[1] & 0x0f0f0f0f) | ((v[2] << 2) & 0x30303030);
    r[2] = ((v[0] >> 4) & 0x0f0f0f0f) | (v[2] & 0x30303030);
    r[3] = ((v[1] >> 4) & 0x0f0f0f0f) | ((v[2] >> 2) & 0x30303030);
}
#endif

#ifdef KQ_X86
/* ---- x86: AVX2 ------------------------------------------------------------------
 * Weight codes (unsigned) times activations with vpmaddubsw into int16 pair
 * sums, times each group's scale with vpmaddwd into int32 lanes; per
 * super-block one horizontal sum. Scales are broadcast to their lanes with
 * vpshufb from 8 int16 values held in both 128-bit halves. */
#define KQ_AVX2 __attribute__((target("avx2,fma,f16c")))

static inline uint16_t load_u16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h;
}

KQ_AVX2 static inline __m128i u32x4(const uint32_t r[4]) {
    return _mm_setr_epi32((int)r[0], (int)r[1], (int)r[2], (int)r[3]);
}

/* kq_step with sumi = the sum of x's lanes, summ = the sum of y's, and
 * [d_w, dmin_w] in the low lanes of dd (dmin_w = 0 for Q3_K/Q6_K, whatever
 * y is): the same double arithmetic, in vector registers (no trip through
 * general registers). */
KQ_AVX2 static inline float kq_step_avx2(float acc, __m128 dd, float da, __m256i x, __m256i y) {
    __m256i h = _mm256_hadd_epi32(x, y); /* per half: x01 x23 y01 y23 */
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    s = _mm_hadd_epi32(s, s); /* sumi, summ, sumi, summ */
    __m128d t = _mm_mul_pd(_mm_mul_pd(_mm_cvtps_pd(dd), _mm_set1_pd(da)), _mm_cvtepi32_pd(s));
    return acc + (float)(_mm_cvtsd_f64(t) - _mm_cvtsd_f64(_mm_unpackhi_pd(t, t)));
}

/* [d, dmin] from the F16 pair at p, or [d, 0] from the one F16 at p. */
KQ_AVX2 static inline __m128 f16x2(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int)v));
}

KQ_AVX2 static inline __m128 f16x1(const uint8_t *p) { return _mm_cvtph_ps(_mm_cvtsi32_si128(load_u16(p))); }

/* 8 signed bytes widened to int16, in both 128-bit halves. */
KQ_AVX2 static inline __m256i scales8_avx2(const uint8_t *p) {
    return _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)p)));
}

/* Shuffle for 16-groups: int16 element 2s in the low half, 2s + 1 in the
 * high half (a 32-value vector holds two groups of 16). */
KQ_AVX2 static inline __m256i pair_shuffle(int s) {
    return _mm256_set_m128i(_mm_set1_epi16((short)(((4 * s + 3) << 8) | (4 * s + 2))),
                            _mm_set1_epi16((short)(((4 * s + 1) << 8) | (4 * s))));
}

/* acc + sum of sc * (q . y) over int32 lanes: q 32 codes, y 32 activations. */
KQ_AVX2 static inline __m256i mac_avx2(__m256i acc, __m256i q, const int8_t *y, __m256i sc) {
    __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)y));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, sc));
}

KQ_AVX2 static float dot_q2k_avx2(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    const __m256i m3 = _mm256_set1_epi8(3);
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 84) {
        __m128i sb = _mm_loadu_si128((const __m128i *)w);
        __m128i sc = _mm_and_si128(sb, _mm_set1_epi8(15)), mn = _mm_and_si128(_mm_srli_epi16(sb, 4), _mm_set1_epi8(15));
        __m256i summ = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a[b].bsums), _mm256_cvtepu8_epi16(mn));
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i q2 = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * h));
            __m256i sc8 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(h ? _mm_srli_si128(sc, 8) : sc));
            for (int s = 0; s < 4; s++) {
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(q2, 2 * s), m3);
                sumi = mac_avx2(sumi, q, a[b].q + 128 * h + 32 * s, _mm256_shuffle_epi8(sc8, pair_shuffle(s)));
            }
        }
        acc = kq_step_avx2(acc, f16x2(w + 80), a[b].d, sumi, summ);
    }
    return acc;
}

KQ_AVX2 static float dot_q3k_avx2(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 110) {
        uint32_t r[4];
        q3k_scales(w + 96, r);
        __m128i sc = _mm_sub_epi8(u32x4(r), _mm_set1_epi8(32));
        /* the codes' offset of 4: sum of sc * bsums, taken 4 times */
        __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a[b].bsums), _mm256_cvtepi8_epi16(sc));
        __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 2));
        /* bit 2 of element 32k + l is bit k of hm[l]: shifted down one bit per
         * step, read at bit 0 (bits entering from the byte above stay above) */
        __m256i hm = _mm256_loadu_si256((const __m256i *)w);
        for (int h = 0; h < 2; h++) {
            __m256i q2 = _mm256_loadu_si256((const __m256i *)(w + 32 + 32 * h));
            __m256i sc8 = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(h ? _mm_srli_si128(sc, 8) : sc));
            for (int s = 0; s < 4; s++) {
                __m256i q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q2, 2 * s), m3),
                                            _mm256_and_si256(_mm256_slli_epi16(hm, 2), m4));
                hm = _mm256_srli_epi16(hm, 1);
                sumi = mac_avx2(sumi, q, a[b].q + 128 * h + 32 * s, _mm256_shuffle_epi8(sc8, pair_shuffle(s)));
            }
        }
        acc = kq_step_avx2(acc, f16x1(w + 108), a[b].d, sumi, sumi);
    }
    return acc;
}

/* Q4_K and Q5_K: 8 groups of 32, each one 32-value vector; mins times the
 * pairs of bsums with vpmaddwd. hbits: Q5_K's qh (NULL for Q4_K). */
KQ_AVX2 static inline float sblock_q45k_avx2(float acc, const uint8_t *w, const uint8_t *qs, const uint8_t *qh,
                                             const cpu_q8k_block *a) {
    const __m256i m15 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
    uint32_t r[4];
    q4k_scales(w + 4, r);
    __m128i smv = u32x4(r);
    __m256i sc8 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(smv));
    __m256i mn2 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(smv, smv)); /* each min twice: bsums 2j, 2j+1 */
    __m256i summ = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a->bsums), mn2);
    __m256i sumi = _mm256_setzero_si256();
    __m256i shuf = _mm256_set1_epi16(0x0100); /* int16 element j, then j + 1, ... */
    /* bit 4 of group j's codes is bit j of qh: shifted down one bit per group,
     * read at bit 0 (bits entering from the byte above stay above bit 0) */
    __m256i hb = qh ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    for (int p = 0; p < 4; p++) {
        __m256i qw = _mm256_loadu_si256((const __m256i *)(qs + 32 * p));
        __m256i lo = _mm256_and_si256(qw, m15), hi = _mm256_and_si256(_mm256_srli_epi16(qw, 4), m15);
        if (qh) {
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hb, 4), m16));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hb, 3), m16));
            hb = _mm256_srli_epi16(hb, 2);
        }
        sumi = mac_avx2(sumi, lo, a->q + 64 * p, _mm256_shuffle_epi8(sc8, shuf));
        shuf = _mm256_add_epi16(shuf, _mm256_set1_epi16(0x0202));
        sumi = mac_avx2(sumi, hi, a->q + 64 * p + 32, _mm256_shuffle_epi8(sc8, shuf));
        shuf = _mm256_add_epi16(shuf, _mm256_set1_epi16(0x0202));
    }
    return kq_step_avx2(acc, f16x2(w), a->d, sumi, summ);
}

KQ_AVX2 static float dot_q4k_avx2(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 144) acc = sblock_q45k_avx2(acc, w, w + 16, NULL, &a[b]);
    return acc;
}

KQ_AVX2 static float dot_q5k_avx2(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 176) acc = sblock_q45k_avx2(acc, w, w + 48, w + 16, &a[b]);
    return acc;
}

KQ_AVX2 static float dot_q6k_avx2(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    const __m256i m15 = _mm256_set1_epi8(15), m48 = _mm256_set1_epi8(48);
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 210) {
        __m128i sc = _mm_loadu_si128((const __m128i *)(w + 192));
        /* the codes' offset of 32: sum of sc * bsums, taken 32 times */
        __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a[b].bsums), _mm256_cvtepi8_epi16(sc));
        __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = _mm256_loadu_si256((const __m256i *)(w + 64 * h));
            __m256i ql1 = _mm256_loadu_si256((const __m256i *)(w + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * h));
            __m256i sc8 = scales8_avx2(w + 192 + 8 * h);
            __m256i q[4] = { /* bits 4..5 from qh bits 2s..2s+1 */
                _mm256_or_si256(_mm256_and_si256(ql0, m15), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m48)),
                _mm256_or_si256(_mm256_and_si256(ql1, m15), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m48)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m15), _mm256_and_si256(qh, m48)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m15),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), m48)),
            };
            for (int s = 0; s < 4; s++)
                sumi = mac_avx2(sumi, q[s], a[b].q + 128 * h + 32 * s, _mm256_shuffle_epi8(sc8, pair_shuffle(s)));
        }
        acc = kq_step_avx2(acc, f16x1(w + 208), a[b].d, sumi, sumi);
    }
    return acc;
}

KQ_AVX2 static void quantize_q8k_avx2(const float *x, int64_t K, cpu_q8k_block *out) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < K / 256; b++, x += 256) {
        cpu_q8k_block *o = &out[b];
        __m256 vmax = _mm256_setzero_ps();
        for (int i = 0; i < 256; i += 8) /* vmaxps returns its second operand when one is NaN: NaN is skipped */
            vmax = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), vmax);
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        float amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
        memset(o, 0, sizeof *o);
        if (amax == 0) continue;
        int first = 0;
        while (fabsf(x[first]) != amax) first++;
        float iscale = -127.0f / x[first];
        __m256 vs = _mm256_set1_ps(iscale);
        for (int i = 0; i < 256; i += 32) {
            __m256i v[4];
            for (int k = 0; k < 4; k++) v[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * k), vs));
            /* saturating packs (NaN's 0x80000000 becomes -128) interleave the
             * 128-bit halves: restore the order with a 32-bit permute */
            __m256i q = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
            q = _mm256_permutevar8x32_epi32(q, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(o->q + i), q);
            /* bsums: byte sums of q + 128 over 8 bytes (vpsadbw), pairs added */
            __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(q, _mm256_set1_epi8(-128)), _mm256_setzero_si256());
            sad = _mm256_add_epi64(sad, _mm256_srli_si256(sad, 8));
            o->bsums[i / 16] = (int16_t)(_mm256_extract_epi64(sad, 0) - 16 * 128);
            o->bsums[i / 16 + 1] = (int16_t)(_mm256_extract_epi64(sad, 2) - 16 * 128);
        }
        o->d = 1 / iscale;
    }
}

/* ---- x86: AVX-512 VNNI ---------------------------------------------------------
 * 64 values per 512-bit register: vpmaddubsw, then vpdpwssd multiplies by
 * the scales and accumulates in one instruction. A register's 64 values
 * are 64 consecutive activations; the weights that go with them are built
 * from 32 bytes of codes broadcast to both halves and shifted by a
 * different amount in each half (vpsrlvw). Scales go to their lanes with
 * vpermw (4 groups of 16 per register). */
#define KQ_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

/* 16-bit lanes: lo in the low 256 bits, hi in the high. */
KQ_AVX512 static inline __m512i halves16(short lo, short hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(lo)), _mm256_set1_epi16(hi), 1);
}

KQ_AVX512 static inline __m512i bcast256(const uint8_t *p) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
}

/* acc + sc * (q . y), y 64 activations. */
KQ_AVX512 static inline __m512i mac_avx512(__m512i acc, __m512i q, const int8_t *y, __m512i sc) {
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(q, _mm512_loadu_si512(y)), sc);
}

/* The int32 lanes of a 512-bit sum folded into 256 bits. */
KQ_AVX512 static inline __m256i fold512(__m512i v) {
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

/* Index vectors for vpermw over the 16 group scales (int16) of 16-groups:
 * 64 values = 4 groups, 8 lanes each, starting at group 4t. */
KQ_AVX512 static inline __m512i quad_index(int t) {
    return _mm512_add_epi16(_mm512_set1_epi16((short)(4 * t)),
                            _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_setr_epi16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)),
                                               _mm256_setr_epi16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), 1));
}

KQ_AVX512 static float dot_q6k_avx512(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    const __m512i m15 = _mm512_set1_epi8(15), m48 = _mm512_set1_epi8(48);
    const __m512i up01 = halves16(4, 2), down23 = halves16(0, 2); /* qh bits 2s..2s+1 to bits 4..5 */
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 210) {
        __m128i scb = _mm_loadu_si128((const __m128i *)(w + 192));
        __m256i sc = _mm256_cvtepi8_epi16(scb);
        __m512i sc16 = _mm512_castsi256_si512(sc);
        __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a[b].bsums), sc);
        __m512i sumi = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            __m512i ql = _mm512_loadu_si512(w + 64 * h); /* s = 0 | 1: low nibbles; s = 2 | 3: high */
            __m512i qh = bcast256(w + 128 + 32 * h);
            __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m15), _mm512_and_si512(_mm512_sllv_epi16(qh, up01), m48));
            __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m15),
                                          _mm512_and_si512(_mm512_srlv_epi16(qh, down23), m48));
            sumi = mac_avx512(sumi, q01, a[b].q + 128 * h, _mm512_permutexvar_epi16(quad_index(2 * h), sc16));
            sumi = mac_avx512(sumi, q23, a[b].q + 128 * h + 64, _mm512_permutexvar_epi16(quad_index(2 * h + 1), sc16));
        }
        __m256i si = _mm256_sub_epi32(fold512(sumi), _mm256_slli_epi32(off, 5));
        acc = kq_step_avx2(acc, f16x1(w + 208), a[b].d, si, si);
    }
    return acc;
}

KQ_AVX512 static float dot_q2k_avx512(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    const __m512i m3 = _mm512_set1_epi8(3);
    const __m512i sh01 = halves16(0, 2), sh23 = halves16(4, 6);
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 84) {
        __m128i sb = _mm_loadu_si128((const __m128i *)w);
        __m128i sc = _mm_and_si128(sb, _mm_set1_epi8(15)), mn = _mm_and_si128(_mm_srli_epi16(sb, 4), _mm_set1_epi8(15));
        __m256i summ = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a[b].bsums), _mm256_cvtepu8_epi16(mn));
        __m512i sc16 = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(sc));
        __m512i sumi = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            __m512i q2 = bcast256(w + 16 + 32 * h);
            __m512i q01 = _mm512_and_si512(_mm512_srlv_epi16(q2, sh01), m3);
            __m512i q23 = _mm512_and_si512(_mm512_srlv_epi16(q2, sh23), m3);
            sumi = mac_avx512(sumi, q01, a[b].q + 128 * h, _mm512_permutexvar_epi16(quad_index(2 * h), sc16));
            sumi = mac_avx512(sumi, q23, a[b].q + 128 * h + 64, _mm512_permutexvar_epi16(quad_index(2 * h + 1), sc16));
        }
        acc = kq_step_avx2(acc, f16x2(w + 80), a[b].d, fold512(sumi), summ);
    }
    return acc;
}

KQ_AVX512 static float dot_q3k_avx512(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) {
    const __m512i m3 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(4);
    const __m512i sh01 = halves16(0, 2), sh23 = halves16(4, 6);
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += 110) {
        uint32_t r[4];
        q3k_scales(w + 96, r);
        __m256i sc = _mm256_cvtepi8_epi16(_mm_sub_epi8(u32x4(r), _mm_set1_epi8(32)));
        __m512i sc16 = _mm512_castsi256_si512(sc);
        __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a[b].bsums), sc);
        /* bit 2 of the codes of 32-value step k is bit k of hm: halves one
         * step apart, then two steps per register, read at bit 0 */
        __m512i hm = _mm512_srlv_epi16(bcast256(w), halves16(0, 1));
        __m512i sumi = _mm512_setzero_si512();
        for (int t = 0; t < 4; t++) { /* 64 values: h = t / 2, s = 2 * (t % 2) and one more */
            __m512i q2 = bcast256(w + 32 + 32 * (t / 2));
            __m512i q = _mm512_and_si512(_mm512_srlv_epi16(q2, t % 2 ? sh23 : sh01), m3);
            q = _mm512_or_si512(q, _mm512_and_si512(_mm512_slli_epi16(hm, 2), m4));
            hm = _mm512_srli_epi16(hm, 2);
            sumi = mac_avx512(sumi, q, a[b].q + 64 * t, _mm512_permutexvar_epi16(quad_index(t), sc16));
        }
        __m256i si = _mm256_sub_epi32(fold512(sumi), _mm256_slli_epi32(off, 2));
        acc = kq_step_avx2(acc, f16x1(w + 108), a[b].d, si, si);
    }
    return acc;
}

KQ_AVX512 static void quantize_q8k_avx512(const float *x, int64_t K, cpu_q8k_block *out) {
    for (int64_t b = 0; b < K / 256; b++, x += 256) {
        cpu_q8k_block *o = &out[b];
        __m512 vmax = _mm512_setzero_ps();
        for (int i = 0; i < 256; i += 16) /* NaN skipped, as in quantize_q8k_avx2 */
            vmax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), vmax);
        float amax = _mm512_reduce_max_ps(vmax);
        memset(o, 0, sizeof *o);
        if (amax == 0) continue;
        int first = 0;
        while (fabsf(x[first]) != amax) first++;
        float iscale = -127.0f / x[first];
        __m512 vs = _mm512_set1_ps(iscale);
        for (int g = 0; g < 16; g++) {
            __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), vs));
            v = _mm512_max_epi32(_mm512_min_epi32(v, _mm512_set1_epi32(127)), _mm512_set1_epi32(-128));
            _mm_storeu_si128((__m128i *)(o->q + 16 * g), _mm512_cvtepi32_epi8(v));
            o->bsums[g] = (int16_t)_mm512_reduce_add_epi32(v);
        }
        o->d = 1 / iscale;
    }
}
#endif /* KQ_X86 */

#ifdef KQ_ARM
/* ---- 64-bit ARM: Advanced SIMD, and sdot where the CPU has it -------------------
 * Each super-block's weight codes are unpacked into 16 vectors of 16 (one
 * 16-value group each; Q4_K/Q5_K's groups of 32 are two with one scale),
 * then one loop per instruction set dots them with the activations and
 * multiplies by the group scales in int32 lanes. */

/* A super-block ready for the dot: codes, int16 scale per 16-group, and
 * what goes beside the dot: sumi = dot - off, summ as in kq_step. */
typedef struct kq_unpacked {
    int8x16_t q[16];
    int16_t sc[16];
    int32_t off, summ;
    float d, dmin;
} kq_unpacked;


/* sum over 16-groups g of v[g] * bsums[g] */
static inline int32_t bsums_dot(const int16_t *bsums, const int16_t v[16]) {
    int32x4_t s = vmull_s16(vld1_s16(bsums), vld1_s16(v));
    s = vmlal_s16(s, vld1_s16(bsums + 4), vld1_s16(v + 4));
    s = vmlal_s16(s, vld1_s16(bsums + 8), vld1_s16(v + 8));
    s = vmlal_s16(s, vld1_s16(bsums + 12), vld1_s16(v + 12));
    return vaddvq_s32(s);
}

static inline int8x16_t s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }

static inline void unpack_q2k(const uint8_t *w, const cpu_q8k_block *a, kq_unpacked *u) {
    int16_t mn[16];
    for (int g = 0; g < 16; g++) u->sc[g] = (int16_t)(w[g] & 15), mn[g] = (int16_t)(w[g] >> 4);
    for (int h = 0; h < 2; h++) {
        uint8x16_t q0 = vld1q_u8(w + 16 + 32 * h), q1 = vld1q_u8(w + 32 + 32 * h);
        for (int s = 0; s < 4; s++) {
            int8x16_t sh = vdupq_n_s8((int8_t)(-2 * s));
            u->q[8 * h + 2 * s] = s8(vandq_u8(vshlq_u8(q0, sh), vdupq_n_u8(3)));
            u->q[8 * h + 2 * s + 1] = s8(vandq_u8(vshlq_u8(q1, sh), vdupq_n_u8(3)));
        }
    }
    u->off = 0;
    u->summ = bsums_dot(a->bsums, mn);
    u->d = cpu_f16_arm(w + 80), u->dmin = cpu_f16_arm(w + 82);
}

static inline void unpack_q3k(const uint8_t *w, const cpu_q8k_block *a, kq_unpacked *u) {
    uint32_t r[4];
    uint8_t scb[16];
    q3k_scales(w + 96, r);
    memcpy(scb, r, 16);
    for (int g = 0; g < 16; g++) u->sc[g] = (int16_t)(scb[g] - 32);
    uint8x16_t hm0 = vld1q_u8(w), hm1 = vld1q_u8(w + 16);
    for (int h = 0; h < 2; h++) {
        uint8x16_t q0 = vld1q_u8(w + 32 + 32 * h), q1 = vld1q_u8(w + 48 + 32 * h);
        for (int s = 0; s < 4; s++) {
            int8x16_t sh = vdupq_n_s8((int8_t)(-2 * s)), hs = vdupq_n_s8((int8_t)(2 - (4 * h + s)));
            uint8x16_t lo0 = vandq_u8(vshlq_u8(q0, sh), vdupq_n_u8(3)), lo1 = vandq_u8(vshlq_u8(q1, sh), vdupq_n_u8(3));
            u->q[8 * h + 2 * s] = s8(vorrq_u8(lo0, vandq_u8(vshlq_u8(hm0, hs), vdupq_n_u8(4))));
            u->q[8 * h + 2 * s + 1] = s8(vorrq_u8(lo1, vandq_u8(vshlq_u8(hm1, hs), vdupq_n_u8(4))));
        }
    }
    u->off = 4 * bsums_dot(a->bsums, u->sc);
    u->summ = 0;
    u->d = cpu_f16_arm(w + 108), u->dmin = 0;
}

/* Q4_K (qh NULL) and Q5_K. */
static inline void unpack_q45k(const uint8_t *w, const uint8_t *qs, const uint8_t *qh, const cpu_q8k_block *a,
                               kq_unpacked *u) {
    uint32_t r[4];
    uint8_t sm[16];
    int16_t mn[16];
    q4k_scales(w + 4, r);
    memcpy(sm, r, 16);
    for (int g = 0; g < 16; g++) u->sc[g] = sm[g / 2], mn[g] = sm[8 + g / 2];
    uint8x16_t h0 = qh ? vld1q_u8(qh) : vdupq_n_u8(0), h1 = qh ? vld1q_u8(qh + 16) : vdupq_n_u8(0);
    for (int p = 0; p < 4; p++) {
        uint8x16_t v0 = vld1q_u8(qs + 32 * p), v1 = vld1q_u8(qs + 32 * p + 16);
        /* bit 4 of group 2p + k is bit 2p + k of qh */
        int8x16_t sl = vdupq_n_s8((int8_t)(4 - 2 * p)), sh = vdupq_n_s8((int8_t)(3 - 2 * p));
        uint8x16_t m16 = vdupq_n_u8(16), m15 = vdupq_n_u8(15);
        u->q[4 * p] = s8(vorrq_u8(vandq_u8(v0, m15), vandq_u8(vshlq_u8(h0, sl), m16)));
        u->q[4 * p + 1] = s8(vorrq_u8(vandq_u8(v1, m15), vandq_u8(vshlq_u8(h1, sl), m16)));
        u->q[4 * p + 2] = s8(vorrq_u8(vshrq_n_u8(v0, 4), vandq_u8(vshlq_u8(h0, sh), m16)));
        u->q[4 * p + 3] = s8(vorrq_u8(vshrq_n_u8(v1, 4), vandq_u8(vshlq_u8(h1, sh), m16)));
    }
    u->off = 0;
    u->summ = bsums_dot(a->bsums, mn);
    u->d = cpu_f16_arm(w), u->dmin = cpu_f16_arm(w + 2);
}

static inline void unpack_q4k(const uint8_t *w, const cpu_q8k_block *a, kq_unpacked *u) {
    unpack_q45k(w, w + 16, NULL, a, u);
}

static inline void unpack_q5k(const uint8_t *w, const cpu_q8k_block *a, kq_unpacked *u) {
    unpack_q45k(w, w + 48, w + 16, a, u);
}

static inline void unpack_q6k(const uint8_t *w, const cpu_q8k_block *a, kq_unpacked *u) {
    for (int g = 0; g < 16; g++) u->sc[g] = (int8_t)w[192 + g];
    const uint8x16_t m15 = vdupq_n_u8(15), m48 = vdupq_n_u8(48);
    for (int h = 0; h < 2; h++) {
        for (int k = 0; k < 2; k++) { /* the two 16-value halves of each 32-value step */
            uint8x16_t ql0 = vld1q_u8(w + 64 * h + 16 * k), ql1 = vld1q_u8(w + 64 * h + 32 + 16 * k);
            uint8x16_t qh = vld1q_u8(w + 128 + 32 * h + 16 * k);
            u->q[8 * h + k] = s8(vorrq_u8(vandq_u8(ql0, m15), vandq_u8(vshlq_n_u8(qh, 4), m48)));
            u->q[8 * h + 2 + k] = s8(vorrq_u8(vandq_u8(ql1, m15), vandq_u8(vshlq_n_u8(qh, 2), m48)));
            u->q[8 * h + 4 + k] = s8(vorrq_u8(vshrq_n_u8(ql0, 4), vandq_u8(qh, m48)));
            u->q[8 * h + 6 + k] = s8(vorrq_u8(vshrq_n_u8(ql1, 4), vandq_u8(vshrq_n_u8(qh, 2), m48)));
        }
    }
    u->off = 32 * bsums_dot(a->bsums, u->sc);
    u->summ = 0;
    u->d = cpu_f16_arm(w + 208), u->dmin = 0;
}

/* dot_<type>_<isa>: UNPACK each super-block of BYTES bytes, DOT its groups. */
#define KQ_DEF_ARM(name, attr, UNPACK, BYTES, DOT) \
    attr static float name(const uint8_t *w, const cpu_q8k_block *a, int64_t nb) { \
        float acc = 0; \
        for (int64_t b = 0; b < nb; b++, w += (BYTES)) { \
            kq_unpacked u; \
            UNPACK(w, &a[b], &u); \
            int32x4_t s = vdupq_n_s32(0); \
            for (int g = 0; g < 16; g++) \
                s = vmlaq_n_s32(s, DOT(vdupq_n_s32(0), u.q[g], vld1q_s8(a[b].q + 16 * g)), u.sc[g]); \
            acc = kq_step(acc, u.d, u.dmin, a[b].d, vaddvq_s32(s) - u.off, u.summ); \
        } \
        return acc; \
    }

KQ_DEF_ARM(dot_q2k_neon, , unpack_q2k, 84, cpu_dot16_neon)
KQ_DEF_ARM(dot_q3k_neon, , unpack_q3k, 110, cpu_dot16_neon)
KQ_DEF_ARM(dot_q4k_neon, , unpack_q4k, 144, cpu_dot16_neon)
KQ_DEF_ARM(dot_q5k_neon, , unpack_q5k, 176, cpu_dot16_neon)
KQ_DEF_ARM(dot_q6k_neon, , unpack_q6k, 210, cpu_dot16_neon)
KQ_DEF_ARM(dot_q2k_dotprod, CPU_DOTPROD, unpack_q2k, 84, cpu_dot16_sdot)
KQ_DEF_ARM(dot_q3k_dotprod, CPU_DOTPROD, unpack_q3k, 110, cpu_dot16_sdot)
KQ_DEF_ARM(dot_q4k_dotprod, CPU_DOTPROD, unpack_q4k, 144, cpu_dot16_sdot)
KQ_DEF_ARM(dot_q5k_dotprod, CPU_DOTPROD, unpack_q5k, 176, cpu_dot16_sdot)
KQ_DEF_ARM(dot_q6k_dotprod, CPU_DOTPROD, unpack_q6k, 210, cpu_dot16_sdot)
#endif /* KQ_ARM */

/* ---- selection --------------------------------------------------------------------- */

void cpu_quantize_row_q8k(const float *x, int64_t K, cpu_q8k_block *out, int level) {
#ifdef KQ_X86
    if (level >= 2) {
        quantize_q8k_avx512(x, K, out);
        return;
    }
    if (level == 1) {
        quantize_q8k_avx2(x, K, out);
        return;
    }
#endif
    (void)level;
    quantize_q8k_scalar(x, K, out);
}

cpu_dot_k_fn cpu_dot_k_get(px_dtype wt, int level) {
    static const px_dtype types[5] = {PX_Q2_K, PX_Q3_K, PX_Q4_K, PX_Q5_K, PX_Q6_K};
    static const cpu_dot_k_fn table[3][5] = {
        {dot_q2k_scalar, dot_q3k_scalar, dot_q4k_scalar, dot_q5k_scalar, dot_q6k_scalar},
#ifdef KQ_X86
        {dot_q2k_avx2, dot_q3k_avx2, dot_q4k_avx2, dot_q5k_avx2, dot_q6k_avx2},
        /* Q4_K, Q5_K: AVX2's; 512 bits did not help there (one 32-byte load
         * feeds both halves; ~5% slower on Zen 4, whose 512-bit ops take two
         * passes) */
        {dot_q2k_avx512, dot_q3k_avx512, dot_q4k_avx2, dot_q5k_avx2, dot_q6k_avx512},
#elif defined(KQ_ARM)
        {dot_q2k_neon, dot_q3k_neon, dot_q4k_neon, dot_q5k_neon, dot_q6k_neon},
        {dot_q2k_dotprod, dot_q3k_dotprod, dot_q4k_dotprod, dot_q5k_dotprod, dot_q6k_dotprod},
#endif
    };
#if defined(KQ_X86) || defined(KQ_ARM)
    int top = 2;
#else
    int top = 0;
#endif
    int l = level < 0 ? 0 : level > top ? top : level;
    for (int i = 0; i < 5; i++)
        if (types[i] == wt) return table[l][i];
    return NULL;
}
