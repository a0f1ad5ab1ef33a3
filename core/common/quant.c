/* Block types of 32 elements: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL.
 *
 * Blocks are read and written byte by byte (the f16 fields little-endian),
 * so rows may sit at any address. The dequantizers compute each value with
 * the same float operations, in the same order, as ggml's reference
 * dequantizers, so results agree bit for bit. The quantizers of the linear
 * types use ggml's reference rounding rules (scale from the largest
 * magnitude, truncation after adding a bias) so they reproduce the bytes of
 * imatrix-free GGUF files; IQ4_NL has a scale search of its own.
 */
#include <math.h>
#include <string.h>

#include "plexus/dtype.h"
#include "quant.h"

#if defined(__clang__)
/* Keep a*b + c as two roundings, as in the reference dequantizers. */
#pragma STDC FP_CONTRACT OFF
#endif

const int8_t px_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                    1,    13,   25,  38,  53,  69,  89,  113};

/* ---- helpers -------------------------------------------------------------- */

static inline float load_f16(const uint8_t *p) { return px_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

float px_load_f16_le(const uint8_t *p) { return load_f16(p); }

float px_store_f16_le(uint8_t *p, float f) {
    const uint16_t h = px_f32_to_f16(f);
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
    return px_f16_to_f32(h);
}

/* Nearest integer (ties away from zero, like roundf) of v clamped to
 * [lo, hi]; NaN counts as 0. */
static inline int round_clamp(float v, int lo, int hi) {
    if (v != v) v = 0.0f;
    if (v <= (float)lo) return lo;
    if (v >= (float)hi) return hi;
    return (int)roundf(v);
}

/* Truncation toward zero of v clamped to [lo, hi] (lo >= 0); NaN gives lo. */
static inline int trunc_clamp(float v, int lo, int hi) {
    if (!(v > (float)lo)) return lo;
    if (v >= (float)hi) return hi;
    return (int)v;
}

/* Value of largest magnitude (first one on ties) and its magnitude. */
static inline float signed_absmax(const float *x, int n, float *out_amax) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        float a = fabsf(x[j]);
        if (amax < a) {
            amax = a;
            max = x[j];
        }
    }
    *out_amax = amax;
    return max;
}

/* ---- Q4_0: f16 d; u8 qs[16] -------------------------------------------- */

void px_dequantize_row_q4_0(const void *restrict src, float *restrict dst, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 18, dst += PX_QK) {
        const float d = load_f16(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            const int lo = (qs[j] & 15) - 8;
            const int hi = (qs[j] >> 4) - 8;
            dst[j] = (float)lo * d;
            dst[j + 16] = (float)hi * d;
        }
    }
}

void px_quantize_row_q4_0(const float *restrict src, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 18, src += PX_QK) {
        float amax;
        const float max = signed_absmax(src, PX_QK, &amax);
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        px_store_f16_le(b, d);
        for (int j = 0; j < 16; j++) {
            const int lo = trunc_clamp(src[j] * id + 8.5f, 0, 15);
            const int hi = trunc_clamp(src[j + 16] * id + 8.5f, 0, 15);
            b[2 + j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

/* ---- Q4_1: f16 d, m; u8 qs[16] ----------------------------------------- */

void px_dequantize_row_q4_1(const void *restrict src, float *restrict dst, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 20, dst += PX_QK) {
        const float d = load_f16(b);
        const float m = load_f16(b + 2);
        const uint8_t *qs = b + 4;
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)(qs[j] & 15) * d + m;
            dst[j + 16] = (float)(qs[j] >> 4) * d + m;
        }
    }
}

/* Smallest and largest value of a block (NaN ignored). */
static inline void block_minmax(const float *x, int n, float *out_min, float *out_max) {
    float mn = 3.402823466e38f, mx = -3.402823466e38f;
    for (int j = 0; j < n; j++) {
        if (x[j] < mn) mn = x[j];
        if (x[j] > mx) mx = x[j];
    }
    *out_min = mn;
    *out_max = mx;
}

void px_quantize_row_q4_1(const float *restrict src, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 20, src += PX_QK) {
        float mn, mx;
        block_minmax(src, PX_QK, &mn, &mx);
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        px_store_f16_le(b, d);
        px_store_f16_le(b + 2, mn);
        for (int j = 0; j < 16; j++) {
            const int lo = trunc_clamp((src[j] - mn) * id + 0.5f, 0, 15);
            const int hi = trunc_clamp((src[j + 16] - mn) * id + 0.5f, 0, 15);
            b[4 + j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

/* ---- Q5_0: f16 d; u8 qh[4]; u8 qs[16] ---------------------------------- */

static inline uint32_t load_u32_le(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void store_u32_le(uint8_t *p, uint32_t v) {
    for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> (8 * k));
}

void px_dequantize_row_q5_0(const void *restrict src, float *restrict dst, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 22, dst += PX_QK) {
        const float d = load_f16(b);
        const uint32_t qh = load_u32_le(b + 2);
        const uint8_t *qs = b + 6;
        for (int j = 0; j < 16; j++) {
            const int lo = (int)((qs[j] & 15) | (((qh >> j) & 1) << 4)) - 16;
            const int hi = (int)((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            dst[j] = (float)lo * d;
            dst[j + 16] = (float)hi * d;
        }
    }
}

void px_quantize_row_q5_0(const float *restrict src, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 22, src += PX_QK) {
        float amax;
        const float max = signed_absmax(src, PX_QK, &amax);
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        px_store_f16_le(b, d);
        for (int j = 0; j < 16; j++) {
            const int lo = trunc_clamp(src[j] * id + 16.5f, 0, 31);
            const int hi = trunc_clamp(src[j + 16] * id + 16.5f, 0, 31);
            b[6 + j] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
            qh |= (uint32_t)(lo >> 4) << j;
            qh |= (uint32_t)(hi >> 4) << (j + 16);
        }
        store_u32_le(b + 2, qh);
    }
}

/* ---- Q5_1: f16 d, m; u8 qh[4]; u8 qs[16] ------------------------------- */

void px_dequantize_row_q5_1(const void *restrict src, float *restrict dst, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 24, dst += PX_QK) {
        const float d = load_f16(b);
        const float m = load_f16(b + 2);
        const uint32_t qh = load_u32_le(b + 4);
        const uint8_t *qs = b + 8;
        for (int j = 0; j < 16; j++) {
            const int lo = (int)((qs[j] & 15) | (((qh >> j) & 1) << 4));
            const int hi = (int)((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            dst[j] = (float)lo * d + m;
            dst[j + 16] = (float)hi * d + m;
        }
    }
}

void px_quantize_row_q5_1(const float *restrict src, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 24, src += PX_QK) {
        float mn, mx;
        block_minmax(src, PX_QK, &mn, &mx);
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        px_store_f16_le(b, d);
        px_store_f16_le(b + 2, mn);
        for (int j = 0; j < 16; j++) {
            const int lo = trunc_clamp((src[j] - mn) * id + 0.5f, 0, 31);
            const int hi = trunc_clamp((src[j + 16] - mn) * id + 0.5f, 0, 31);
            b[8 + j] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
            qh |= (uint32_t)(lo >> 4) << j;
            qh |= (uint32_t)(hi >> 4) << (j + 16);
        }
        store_u32_le(b + 4, qh);
    }
}

/* ---- Q8_0: f16 d; i8 qs[32] -------------------------------------------- */

void px_dequantize_row_q8_0(const void *restrict src, float *restrict dst, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 34, dst += PX_QK) {
        const float d = load_f16(b);
        const int8_t *qs = (const int8_t *)(b + 2);
        for (int j = 0; j < PX_QK; j++) dst[j] = (float)qs[j] * d;
    }
}

void px_quantize_row_q8_0(const float *restrict src, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 34, src += PX_QK) {
        float amax = 0.0f;
        for (int j = 0; j < PX_QK; j++) {
            const float a = fabsf(src[j]);
            if (a > amax) amax = a;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        px_store_f16_le(b, d);
        for (int j = 0; j < PX_QK; j++) {
            const int q = round_clamp(src[j] * id, -127, 127);
            b[2 + j] = (uint8_t)(int8_t)q;
        }
    }
}

/* ---- IQ4_NL: f16 d; u8 qs[16] (codebook indices) ------------------------ */

void px_dequantize_row_iq4_nl(const void *restrict src, float *restrict dst, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 18, dst += PX_QK) {
        const float d = load_f16(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            dst[j] = d * (float)px_iq4nl_values[qs[j] & 15];
            dst[j + 16] = d * (float)px_iq4nl_values[qs[j] >> 4];
        }
    }
}

/* Midpoints between neighbouring codebook entries. */
static const float iq4nl_mids[15] = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                                     7.0f,    19.0f,  31.5f,  45.5f,  61.0f,  79.0f,  101.0f};

/* Index of the codebook entry nearest to v (the lower one on a tie; NaN
 * gives 0): a binary search over the midpoints. */
static inline int iq4nl_nearest(float v) {
    int lo = 0;
    for (int step = 8; step > 0; step >>= 1)
        if (v > iq4nl_mids[lo + step - 1]) lo += step;
    return lo;
}

/* Weighted least-squares scale for x ~ d * values[idx]: tries inverse
 * scales that put the largest magnitude near either end of the codebook,
 * keeps the one that removes the most squared error. Returns d. */
static float iq4nl_fit(const float *x, const float *w) {
    float amax;
    const float max = signed_absmax(x, PX_QK, &amax);
    if (!(amax > 1e-30f) || !(amax <= 3.0e38f)) return amax > 1e-30f ? max / -127.0f : 0.0f;
    float best_d = max / -127.0f, best_gain = -1.0f;
    for (int side = 0; side < 2; side++) {
        for (int t = -6; t <= 6; t += 2) {
            /* side 0: max -> around -127 (index 0); side 1: around +113 */
            const float target = side == 0 ? -127.0f + (float)t : 113.0f + (float)t;
            const float id = target / max;
            float sxq = 0.0f, sqq = 0.0f;
            for (int j = 0; j < PX_QK; j++) {
                const float q = (float)px_iq4nl_values[iq4nl_nearest(x[j] * id)];
                sxq += w[j] * x[j] * q;
                sqq += w[j] * q * q;
            }
            if (sqq > 0.0f) {
                const float gain = sxq * sxq / sqq;
                if (gain > best_gain) {
                    best_gain = gain;
                    best_d = sxq / sqq;
                }
            }
        }
    }
    return best_d;
}

void px_quantize_row_iq4_nl(const float *restrict src, void *restrict dst, int64_t n) {
    uint8_t *b = (uint8_t *)dst;
    for (int64_t i = 0; i < n / PX_QK; i++, b += 18, src += PX_QK) {
        float w[PX_QK];
        for (int j = 0; j < PX_QK; j++) w[j] = 1.0f;
        const float d = px_store_f16_le(b, iq4nl_fit(src, w));
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < 16; j++) {
            const int lo = iq4nl_nearest(src[j] * id);
            const int hi = iq4nl_nearest(src[j + 16] * id);
            b[2 + j] = (uint8_t)(lo | (hi << 4));
        }
    }
}
