/* K-quants: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (256-element super-blocks).
 *
 * Dequantizers compute each value with the same float operations, in the
 * same order, as ggml's reference dequantizers (bit-exact results).
 *
 * Quantizers are reference round-to-nearest quantizers with a small
 * least-squares search per group:
 *   - affine types (Q2_K, Q4_K, Q5_K: x ~ s*q - m, q >= 0): for a range of
 *     step counts around nmax, round (x - min) onto the grid and solve the
 *     weighted least-squares problem for (s, m); keep the lowest error.
 *   - symmetric types (Q3_K, Q6_K: x ~ s*q, q signed): for inverse scales
 *     that map the largest magnitude near either end of the signed range,
 *     round and solve for s; keep the one that removes the most error.
 * The group scales (and mins) are then quantized against one f16 super-block
 * scale, and every element is re-rounded with the scales as stored.
 */
#include <math.h>
#include <string.h>

#include "plexus/dtype.h"
#include "quant.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static inline float load_f16(const uint8_t *p) { return px_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

/* Nearest integer (ties to even) of v clamped to [lo, hi]; NaN gives lo.
 * Inline and free of libm calls: the scale searches call it a lot. Adding
 * 1.5 * 2^23 leaves the rounded value in the low mantissa bits. */
static inline int nearest_clamp(float v, int lo, int hi) {
    if (!(v > (float)lo)) return lo;
    if (v >= (float)hi) return hi;
    const float t = v + 12582912.0f;
    uint32_t u;
    memcpy(&u, &t, sizeof u);
    return (int)(u & 0x7fffffu) - 0x400000;
}

/* ---- scale searches -------------------------------------------------------- */

/* Fit x[0..n) ~ s*q + b with q in [0, nmax], s >= 0, b <= 0, minimising
 * sum w*(s*q + b - x)^2. Writes q to L, returns s and stores m = -b. */
static float fit_affine(const float *x, const float *w, int n, int nmax, uint8_t *L, float *out_m) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    if (lo > 0.0f) lo = 0.0f;
    /* constant (non-positive) group, or a range that is not finite */
    if (!(hi > lo) || !(hi - lo <= 3.0e38f)) {
        memset(L, 0, (size_t)n);
        *out_m = (lo == lo && lo > -3.0e38f) ? -lo : 0.0f;
        return 0.0f;
    }
    float sw = 0.0f, swx = 0.0f;
    for (int i = 0; i < n; i++) {
        sw += w[i];
        swx += w[i] * x[i];
    }
    float best_s = (hi - lo) / (float)nmax, best_b = lo, best_err = -1.0f;
    uint8_t Lt[32];
    for (int step = -5; step <= 5; step++) {
        const float iscale = ((float)nmax + 0.15f * (float)step) / (hi - lo);
        float swq = 0.0f, swqq = 0.0f, swqx = 0.0f;
        for (int i = 0; i < n; i++) {
            const int q = nearest_clamp((x[i] - lo) * iscale, 0, nmax);
            Lt[i] = (uint8_t)q;
            swq += w[i] * (float)q;
            swqq += w[i] * (float)(q * q);
            swqx += w[i] * (float)q * x[i];
        }
        const float det = sw * swqq - swq * swq;
        if (!(det > 0.0f)) continue;
        float s = (sw * swqx - swq * swx) / det;
        float b = (swqq * swx - swq * swqx) / det;
        if (b > 0.0f) { /* the offset must be non-positive: refit s alone */
            b = 0.0f;
            s = swqx / swqq;
        }
        if (!(s >= 0.0f)) continue;
        float err = 0.0f;
        for (int i = 0; i < n; i++) {
            const float e = s * (float)Lt[i] + b - x[i];
            err += w[i] * e * e;
        }
        if (best_err < 0.0f || err < best_err) {
            best_err = err;
            best_s = s;
            best_b = b;
            memcpy(L, Lt, (size_t)n);
        }
    }
    if (best_err < 0.0f) { /* no fit: plain min/max grid */
        for (int i = 0; i < n; i++) L[i] = (uint8_t)nearest_clamp((x[i] - lo) / best_s, 0, nmax);
    }
    *out_m = -best_b;
    return best_s;
}

/* Fit x[0..n) ~ s*l with l in [-nmax, nmax-1], maximising the error removed
 * (sum w*x*l)^2 / sum w*l*l. Returns s (may be negative; 0 for a zero group). */
static float fit_symmetric(const float *x, const float *w, int n, int nmax) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        if (a > amax) {
            amax = a;
            max = x[i];
        }
    }
    if (!(amax > 1e-30f)) return 0.0f;
    if (!(amax <= 3.0e38f)) return max / (float)-nmax;
    float best_s = max / (float)-nmax, best_gain = -1.0f;
    for (int side = 0; side < 2; side++) {
        for (int step = -5; step <= 5; step++) {
            /* side 0: max -> -nmax (the longer end); side 1: max -> nmax-1 */
            const float target = side == 0 ? -(float)nmax + 0.15f * (float)step
                                           : (float)(nmax - 1) + 0.15f * (float)step;
            const float iscale = target / max;
            float sxl = 0.0f, sll = 0.0f;
            for (int i = 0; i < n; i++) {
                const int l = nearest_clamp(x[i] * iscale, -nmax, nmax - 1);
                sxl += w[i] * x[i] * (float)l;
                sll += w[i] * (float)(l * l);
            }
            if (sll > 0.0f && sxl * sxl / sll > best_gain) {
                best_gain = sxl * sxl / sll;
                best_s = sxl / sll;
            }
        }
    }
    return best_s;
}

/* Weights for the searches: the squared error of larger values counts more,
 * but every value counts (as in common practice for K-quants). */
static void make_weights(const float *x, int n, float *w) {
    float s2 = 0.0f;
    for (int i = 0; i < n; i++) s2 += x[i] * x[i];
    const float rms = sqrtf(s2 / (float)n);
    for (int i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        w[i] = (a == a && a <= 3.0e38f && rms <= 3.0e38f) ? rms + a : 1.0f;
    }
}

/* Quantize the non-negative values v[0..n) to integers in [0, qmax]
 * against one scale; returns the scale stored as f16 at p (as float). */
static float quantize_scales_unsigned(const float *v, int n, int qmax, uint8_t *out, uint8_t *p) {
    float vmax = 0.0f;
    for (int i = 0; i < n; i++)
        if (v[i] > vmax) vmax = v[i];
    const float d = px_store_f16_le(p, vmax / (float)qmax);
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    for (int i = 0; i < n; i++) out[i] = (uint8_t)nearest_clamp(v[i] * id, 0, qmax);
    return d;
}

/* Affine super-block: groups of `gs` (16 or 32) elements, q in [0, nmax],
 * scale/min codes in [0, smax]. Fills L[256], sc[], mn[] and d/dmin at the
 * given block offsets. */
static void quantize_affine_superblock(const float *x, int gs, int nmax, int smax, uint8_t *L,
                                       uint8_t *sc, uint8_t *mn, uint8_t *pd, uint8_t *pdmin) {
    const int ng = PX_QK_K / gs;
    float scales[16] = {0}, mins[16] = {0}, w[32];
    for (int g = 0; g < ng; g++) {
        make_weights(x + g * gs, gs, w);
        scales[g] = fit_affine(x + g * gs, w, gs, nmax, L + g * gs, &mins[g]);
    }
    const float d = quantize_scales_unsigned(scales, ng, smax, sc, pd);
    const float dmin = quantize_scales_unsigned(mins, ng, smax, mn, pdmin);
    for (int g = 0; g < ng; g++) {
        const float ds = d * (float)sc[g];
        const float dm = dmin * (float)mn[g];
        for (int i = 0; i < gs; i++) {
            const float v = x[g * gs + i];
            L[g * gs + i] = ds != 0.0f ? (uint8_t)nearest_clamp((v + dm) / ds, 0, nmax) : 0;
        }
    }
}

/* Symmetric super-block: 16 groups of 16, l in [-nmax, nmax-1], signed scale
 * codes in [-smax, smax-1]. Fills L[256] (offset by +nmax), sc[16] and d. */
static void quantize_symmetric_superblock(const float *x, int nmax, int smax, uint8_t *L, int *sc,
                                          uint8_t *pd) {
    float scales[16], w[16];
    float amax = 0.0f, max = 0.0f;
    for (int g = 0; g < 16; g++) {
        make_weights(x + 16 * g, 16, w);
        scales[g] = fit_symmetric(x + 16 * g, w, 16, nmax);
        if (fabsf(scales[g]) > amax) {
            amax = fabsf(scales[g]);
            max = scales[g];
        }
    }
    const float d = px_store_f16_le(pd, amax > 0.0f ? max / (float)-smax : 0.0f);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int g = 0; g < 16; g++) {
        sc[g] = nearest_clamp(scales[g] * id, -smax, smax - 1);
        const float ds = d * (float)sc[g];
        for (int i = 0; i < 16; i++) {
            const float v = x[16 * g + i];
            const int l = ds != 0.0f ? nearest_clamp(v / ds, -nmax, nmax - 1) : 0;
            L[16 * g + i] = (uint8_t)(l + nmax);
        }
    }
}

/* 2-bit fields of 128 elements: element 32*s + l at bits 2s of q[l]. */
static void pack_2bit(const uint8_t *L, uint8_t *q) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++)
            q[32 * h + l] = (uint8_t)((L[128 * h + l] & 3) | ((L[128 * h + 32 + l] & 3) << 2) |
                                      ((L[128 * h + 64 + l] & 3) << 4) | ((L[128 * h + 96 + l] & 3) << 6));
}

/* ---- Q2_K: u8 scales[16]; u8 qs[64]; f16 d, dmin (84 bytes) -------------- */

void px_dequantize_row_q2_k(const void *restrict src, float *restrict y, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 84) {
        const uint8_t *scales = b, *q = b + 16;
        const float d = load_f16(b + 80);
        const float dmin = load_f16(b + 82);
        int g = 0;
        for (int h = 0; h < 2; h++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++, g++) {
                    const float dl = d * (float)(scales[g] & 15);
                    const float ml = dmin * (float)(scales[g] >> 4);
                    const uint8_t *qq = q + 16 * half;
                    for (int l = 0; l < 16; l++) *y++ = dl * (float)((qq[l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

void px_quantize_row_q2_k(const float *restrict x, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 84, x += PX_QK_K) {
        uint8_t L[PX_QK_K], sc[16], mn[16];
        quantize_affine_superblock(x, 16, 3, 15, L, sc, mn, b + 80, b + 82);
        for (int g = 0; g < 16; g++) b[g] = (uint8_t)(sc[g] | (mn[g] << 4));
        pack_2bit(L, b + 16);
    }
}

/* ---- Q3_K: u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d (110 bytes) ----- */

void px_dequantize_row_q3_k(const void *restrict src, float *restrict y, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 110) {
        const uint8_t *hm = b, *q = b + 32, *scales = b + 96;
        const float d_all = load_f16(b + 108);
        int g = 0, bit = 0;
        for (int h = 0; h < 2; h++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, bit++) {
                for (int half = 0; half < 2; half++, g++) {
                    const float dl = d_all * (float)px_q3k_scale(scales, g);
                    const uint8_t *qq = q + 16 * half, *hh = hm + 16 * half;
                    for (int l = 0; l < 16; l++) {
                        const int v = ((qq[l] >> shift) & 3) - (((hh[l] >> bit) & 1) ? 0 : 4);
                        *y++ = dl * (float)v;
                    }
                }
            }
        }
    }
}

void px_quantize_row_q3_k(const float *restrict x, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 110, x += PX_QK_K) {
        uint8_t L[PX_QK_K];
        int sc[16];
        quantize_symmetric_superblock(x, 4, 32, L, sc, b + 108);
        memset(b, 0, 32);
        memset(b + 96, 0, 12);
        for (int g = 0; g < 16; g++) {
            const int v = sc[g] + 32;
            b[96 + g % 8] |= (uint8_t)((v & 15) << (4 * (g / 8)));
            b[96 + 8 + g % 4] |= (uint8_t)((v >> 4) << (2 * (g / 4)));
        }
        for (int e = 0; e < PX_QK_K; e++) {
            if (L[e] & 4) b[e % 32] |= (uint8_t)(1u << (e / 32));
        }
        pack_2bit(L, b + 32);
    }
}

/* ---- Q4_K: f16 d, dmin; u8 scales[12]; u8 qs[128] (144 bytes) ------------ */

/* Pack eight 6-bit scales and mins (the inverse of px_kquant_scale_min). */
static void pack_scale_min_k(const uint8_t *sc, const uint8_t *mn, uint8_t *s) {
    memset(s, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            s[j] |= sc[j] & 63;
            s[j + 4] |= mn[j] & 63;
        } else {
            s[j + 4] = (uint8_t)((sc[j] & 15) | ((mn[j] & 15) << 4));
            s[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            s[j] |= (uint8_t)((mn[j] >> 4) << 6);
        }
    }
}

void px_dequantize_row_q4_k(const void *restrict src, float *restrict y, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 144) {
        const float d = load_f16(b);
        const float dmin = load_f16(b + 2);
        const uint8_t *scales = b + 4, *q = b + 16;
        for (int p = 0; p < 4; p++, q += 32) {
            uint8_t sc, mn;
            px_kquant_scale_min(scales, 2 * p, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            px_kquant_scale_min(scales, 2 * p + 1, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 15) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

void px_quantize_row_q4_k(const float *restrict x, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 144, x += PX_QK_K) {
        uint8_t L[PX_QK_K], sc[8], mn[8];
        quantize_affine_superblock(x, 32, 15, 63, L, sc, mn, b, b + 2);
        pack_scale_min_k(sc, mn, b + 4);
        for (int p = 0; p < 4; p++)
            for (int l = 0; l < 32; l++)
                b[16 + 32 * p + l] = (uint8_t)(L[64 * p + l] | (L[64 * p + 32 + l] << 4));
    }
}

/* ---- Q5_K: f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] (176 bytes) - */

void px_dequantize_row_q5_k(const void *restrict src, float *restrict y, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 176) {
        const float d = load_f16(b);
        const float dmin = load_f16(b + 2);
        const uint8_t *scales = b + 4, *qh = b + 16, *ql = b + 48;
        for (int p = 0; p < 4; p++, ql += 32) {
            uint8_t sc, mn;
            px_kquant_scale_min(scales, 2 * p, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            px_kquant_scale_min(scales, 2 * p + 1, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            const int b1 = 2 * p, b2 = 2 * p + 1;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((ql[l] & 15) + (((qh[l] >> b1) & 1) << 4)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)((ql[l] >> 4) + (((qh[l] >> b2) & 1) << 4)) - m2;
        }
    }
}

void px_quantize_row_q5_k(const float *restrict x, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 176, x += PX_QK_K) {
        uint8_t L[PX_QK_K], sc[8], mn[8];
        quantize_affine_superblock(x, 32, 31, 63, L, sc, mn, b, b + 2);
        pack_scale_min_k(sc, mn, b + 4);
        memset(b + 16, 0, 32);
        for (int p = 0; p < 4; p++) {
            for (int l = 0; l < 32; l++) {
                const int lo = L[64 * p + l], hi = L[64 * p + 32 + l];
                b[48 + 32 * p + l] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
                b[16 + l] |= (uint8_t)(((lo >> 4) << (2 * p)) | ((hi >> 4) << (2 * p + 1)));
            }
        }
    }
}

/* ---- Q6_K: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d (210 bytes) ------- */

void px_dequantize_row_q6_k(const void *restrict src, float *restrict y, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 210) {
        const float d = load_f16(b + 208);
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        for (int h = 0; h < 2; h++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int g = l / 16;
                const int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[g] * (float)q1;
                y[l + 32] = d * (float)sc[g + 2] * (float)q2;
                y[l + 64] = d * (float)sc[g + 4] * (float)q3;
                y[l + 96] = d * (float)sc[g + 6] * (float)q4;
            }
        }
    }
}

void px_quantize_row_q6_k(const float *restrict x, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK_K; i++, b += 210, x += PX_QK_K) {
        uint8_t L[PX_QK_K];
        int sc[16];
        quantize_symmetric_superblock(x, 32, 128, L, sc, b + 208);
        for (int g = 0; g < 16; g++) b[192 + g] = (uint8_t)(int8_t)sc[g];
        memset(b, 0, 192);
        for (int h = 0; h < 2; h++) {
            for (int s = 0; s < 4; s++) {
                for (int l = 0; l < 32; l++) {
                    const int v = L[128 * h + 32 * s + l];
                    b[64 * h + 32 * (s & 1) + l] |= (uint8_t)((v & 15) << (4 * (s >> 1)));
                    b[128 + 32 * h + l] |= (uint8_t)((v >> 4) << (2 * s));
                }
            }
        }
    }
}
