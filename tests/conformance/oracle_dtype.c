/* Conformance oracle: dtype traits, decoders for every dtype (including the
 * GGUF block types, from the layouts written in types.h, and the float8 /
 * float4 / sub-byte integer types from the formats described there),
 * rounding to the float dtypes and the store tolerance. Independent of
 * core/common. */
#include <math.h>
#include <string.h>

#include "oracle.h"
#include "oracle_internal.h"

typedef struct otraits {
    int32_t block, size;
    uint8_t is_float, is_int, is_quant;
} otraits;

static const otraits k_traits[PX_DTYPE_COUNT] = {
    [PX_F32] = {1, 4, 1, 0, 0},     [PX_F16] = {1, 2, 1, 0, 0},     [PX_BF16] = {1, 2, 1, 0, 0},
    [PX_F64] = {1, 8, 1, 0, 0},     [PX_I8] = {1, 1, 0, 1, 0},      [PX_I16] = {1, 2, 0, 1, 0},
    [PX_I32] = {1, 4, 0, 1, 0},     [PX_I64] = {1, 8, 0, 1, 0},     [PX_U8] = {1, 1, 0, 1, 0},
    [PX_U16] = {1, 2, 0, 1, 0},     [PX_U32] = {1, 4, 0, 1, 0},     [PX_U64] = {1, 8, 0, 1, 0},
    [PX_BOOL] = {1, 1, 0, 0, 0},    [PX_Q4_0] = {32, 18, 0, 0, 1},  [PX_Q4_1] = {32, 20, 0, 0, 1},
    [PX_Q5_0] = {32, 22, 0, 0, 1},  [PX_Q5_1] = {32, 24, 0, 0, 1},  [PX_Q8_0] = {32, 34, 0, 0, 1},
    [PX_Q2_K] = {256, 84, 0, 0, 1}, [PX_Q3_K] = {256, 110, 0, 0, 1}, [PX_Q4_K] = {256, 144, 0, 0, 1},
    [PX_Q5_K] = {256, 176, 0, 0, 1}, [PX_Q6_K] = {256, 210, 0, 0, 1}, [PX_IQ4_NL] = {32, 18, 0, 0, 1},
    [PX_F8E4M3FN] = {1, 1, 1, 0, 0}, [PX_F8E4M3FNUZ] = {1, 1, 1, 0, 0}, [PX_F8E5M2] = {1, 1, 1, 0, 0},
    [PX_F8E5M2FNUZ] = {1, 1, 1, 0, 0}, [PX_F8E8M0] = {1, 1, 1, 0, 0}, [PX_F4E2M1] = {1, 1, 1, 0, 0},
    [PX_I4] = {1, 1, 0, 1, 0},      [PX_U4] = {1, 1, 0, 1, 0},      [PX_I2] = {1, 1, 0, 1, 0},
    [PX_U2] = {1, 1, 0, 1, 0},
};

static int valid(px_dtype t) { return (int)t >= 0 && t < PX_DTYPE_COUNT; }
int32_t oracle_block_size(px_dtype t) { return valid(t) ? k_traits[t].block : 0; }
int32_t oracle_type_size(px_dtype t) { return valid(t) ? k_traits[t].size : 0; }
int oracle_is_float(px_dtype t) { return valid(t) && k_traits[t].is_float; }
int oracle_is_int(px_dtype t) { return valid(t) && k_traits[t].is_int; }
int oracle_is_quant(px_dtype t) { return valid(t) && k_traits[t].is_quant; }

int64_t oracle_nbytes(px_dtype t, int64_t n) {
    if (!valid(t) || n < 0 || n % k_traits[t].block) return -1;
    return n / k_traits[t].block * k_traits[t].size;
}

/* ---- scalar decoders ------------------------------------------------------------ */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

double oracle_half(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0) v = ldexp((double)m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp((double)(m + 1024), e - 25);
    return s ? -v : v;
}

static double bf16(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- float8 / float4 ------------------------------------------------------------------ */

/* Sign-exponent-mantissa formats of types.h. nan: 'f' (FN: all ones),
 * 'z' (FNUZ: 0x80 only, no -0), 'i' (IEEE: inf and NaN at the top
 * exponent), 'n' (E2M1: none). maxv is the largest finite value. */
typedef struct ofmt {
    int ebits, mant, bias;
    char nan;
    double maxv;
} ofmt;

static const ofmt *ofmt_of(px_dtype t) {
    static const ofmt f[] = {{4, 3, 7, 'f', 448}, {4, 3, 8, 'z', 240}, {5, 2, 15, 'i', 57344}, {5, 2, 16, 'z', 57344},
                             {2, 1, 1, 'n', 6}};
    switch (t) {
    case PX_F8E4M3FN: return &f[0];
    case PX_F8E4M3FNUZ: return &f[1];
    case PX_F8E5M2: return &f[2];
    case PX_F8E5M2FNUZ: return &f[3];
    case PX_F4E2M1: return &f[4];
    default: return NULL;
    }
}

static double small_float(px_dtype t, uint8_t b) {
    if (t == PX_F8E8M0) return b == 255 ? NAN : ldexp(1.0, b - 127);
    const ofmt *f = ofmt_of(t);
    int top = 1 << (f->ebits + f->mant); /* the sign bit */
    int s = (b & top) != 0, e = (b & (top - 1)) >> f->mant, m = b & ((1 << f->mant) - 1);
    int all_e = (1 << f->ebits) - 1, all_m = (1 << f->mant) - 1;
    if (f->nan == 'z' && s && !e && !m) return NAN;
    if (f->nan == 'f' && e == all_e && m == all_m) return NAN;
    if (f->nan == 'i' && e == all_e) return m ? NAN : s ? -INFINITY : INFINITY;
    double v = e ? ldexp((double)(m + (1 << f->mant)), e - f->bias - f->mant) : ldexp((double)m, 1 - f->bias - f->mant);
    return s ? -v : v;
}

double oracle_round_small(px_dtype t, double x, int saturate, int round_mode) {
    if (t == PX_F8E8M0) { /* powers of two 2^-127 .. 2^127, sign ignored */
        if (isnan(x) || isinf(x)) return NAN;
        double a = fabs(x), lo = ldexp(1.0, -127);
        if (a <= lo) return lo;
        int e;
        frexp(a, &e);
        double p = ldexp(1.0, e - 1), r = p; /* p <= a < 2p */
        if (a != p && (round_mode == 0 || (round_mode == 2 && a >= 1.5 * p))) r = 2 * p;
        if (r > ldexp(1.0, 127)) return saturate ? ldexp(1.0, 127) : NAN;
        return r;
    }
    const ofmt *f = ofmt_of(t);
    if (isnan(x)) return f->nan == 'n' ? -0.0 : NAN;
    if (f->nan == 'n') saturate = 1;
    double r = INFINITY;
    if (!isinf(x)) {
        int e;
        frexp(fabs(x), &e);
        e -= 1;
        if (e < 1 - f->bias) e = 1 - f->bias;
        double q = ldexp(1.0, e - f->mant);
        r = nearbyint(fabs(x) / q) * q; /* ties to even */
    }
    if (r > f->maxv) r = saturate ? f->maxv : f->nan == 'i' ? INFINITY : NAN;
    if (r == 0 && f->nan == 'z') return 0.0;
    return x < 0 ? -r : r;
}

/* ---- block decoders (one block of `block` elements each) -------------------------- */

static const int k_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* Low nibble of qs[i] is element i, high nibble element i + 16. */
static int nib32(const uint8_t *qs, int e) { return e < 16 ? qs[e] & 15 : qs[e - 16] >> 4; }

static void dec_q4_0(const uint8_t *b, double *y) {
    double d = oracle_half(le16(b));
    for (int e = 0; e < 32; e++) y[e] = d * (nib32(b + 2, e) - 8);
}
static void dec_q4_1(const uint8_t *b, double *y) {
    double d = oracle_half(le16(b)), m = oracle_half(le16(b + 2));
    for (int e = 0; e < 32; e++) y[e] = d * nib32(b + 4, e) + m;
}
static void dec_q5_0(const uint8_t *b, double *y) {
    double d = oracle_half(le16(b));
    uint32_t qh = le32(b + 2);
    for (int e = 0; e < 32; e++) y[e] = d * ((nib32(b + 6, e) | (int)(((qh >> e) & 1) << 4)) - 16);
}
static void dec_q5_1(const uint8_t *b, double *y) {
    double d = oracle_half(le16(b)), m = oracle_half(le16(b + 2));
    uint32_t qh = le32(b + 4);
    for (int e = 0; e < 32; e++) y[e] = d * (nib32(b + 8, e) | (int)(((qh >> e) & 1) << 4)) + m;
}
static void dec_q8_0(const uint8_t *b, double *y) {
    double d = oracle_half(le16(b));
    for (int e = 0; e < 32; e++) y[e] = d * (int8_t)b[2 + e];
}
static void dec_iq4_nl(const uint8_t *b, double *y) {
    double d = oracle_half(le16(b));
    for (int e = 0; e < 32; e++) y[e] = d * k_iq4nl[nib32(b + 2, e)];
}

/* Q2_K: scales[16] qs[64] d dmin. Element e = 128h + 32s + l. */
static void dec_q2_k(const uint8_t *b, double *y) {
    const uint8_t *sc = b, *qs = b + 16;
    double d = oracle_half(le16(b + 80)), dmin = oracle_half(le16(b + 82));
    for (int e = 0; e < 256; e++) {
        int h = e / 128, s = (e % 128) / 32, l = e % 32, g = e / 16;
        int q = (qs[32 * h + l] >> (2 * s)) & 3;
        y[e] = d * (sc[g] & 15) * q - dmin * (sc[g] >> 4);
    }
}

/* 6-bit signed scale of group g of a Q3_K block (12 packed bytes). */
static int q3k_scale(const uint8_t *s, int g) {
    int lo = (s[g % 8] >> (4 * (g / 8))) & 15;
    int hi = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

/* Q3_K: hmask[32] qs[64] scales[12] d. */
static void dec_q3_k(const uint8_t *b, double *y) {
    const uint8_t *hm = b, *qs = b + 32, *sc = b + 96;
    double d = oracle_half(le16(b + 108));
    for (int e = 0; e < 256; e++) {
        int h = e / 128, s = (e % 128) / 32, l = e % 32;
        int q = ((qs[32 * h + l] >> (2 * s)) & 3) | (((hm[e % 32] >> (e / 32)) & 1) << 2);
        y[e] = d * q3k_scale(sc, e / 16) * (q - 4);
    }
}

/* 6-bit scale and min of group j of a Q4_K/Q5_K block. */
static void k4_scale_min(const uint8_t *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* Q4_K: d dmin scales[12] qs[128]; element e = 64p + 32hi + l. */
static void dec_q4_k(const uint8_t *b, double *y) {
    double d = oracle_half(le16(b)), dmin = oracle_half(le16(b + 2));
    const uint8_t *s = b + 4, *qs = b + 16;
    for (int e = 0; e < 256; e++) {
        int p = e / 64, hi = (e % 64) / 32, l = e % 32, sc, mn;
        k4_scale_min(s, e / 32, &sc, &mn);
        int q = hi ? qs[32 * p + l] >> 4 : qs[32 * p + l] & 15;
        y[e] = d * sc * q - dmin * mn;
    }
}

/* Q5_K: d dmin scales[12] qh[32] qs[128]. */
static void dec_q5_k(const uint8_t *b, double *y) {
    double d = oracle_half(le16(b)), dmin = oracle_half(le16(b + 2));
    const uint8_t *s = b + 4, *qh = b + 16, *qs = b + 48;
    for (int e = 0; e < 256; e++) {
        int p = e / 64, hi = (e % 64) / 32, l = e % 32, sc, mn;
        k4_scale_min(s, e / 32, &sc, &mn);
        int q = hi ? qs[32 * p + l] >> 4 : qs[32 * p + l] & 15;
        q |= ((qh[l] >> (2 * p + hi)) & 1) << 4;
        y[e] = d * sc * q - dmin * mn;
    }
}

/* Q6_K: ql[128] qh[64] scales[16] (i8) d; element e = 128h + 32s + l. */
static void dec_q6_k(const uint8_t *b, double *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    double d = oracle_half(le16(b + 208));
    for (int e = 0; e < 256; e++) {
        int h = e / 128, s = (e % 128) / 32, l = e % 32;
        uint8_t lb = ql[64 * h + 32 * (s & 1) + l];
        int q = (s < 2 ? lb & 15 : lb >> 4) | (((qh[32 * h + l] >> (2 * s)) & 3) << 4);
        y[e] = d * sc[e / 16] * (q - 32);
    }
}

int oracle_decode(px_dtype t, const void *data, int64_t n, double *out) {
    if (!valid(t) || n < 0) return -1;
    if (n == 0) return 0;
    const uint8_t *p = data;
    const otraits *tr = &k_traits[t];
    if (tr->is_quant) {
        if (n % tr->block) return -1;
        void (*fn)(const uint8_t *, double *) = NULL;
        switch (t) {
        case PX_Q4_0: fn = dec_q4_0; break;
        case PX_Q4_1: fn = dec_q4_1; break;
        case PX_Q5_0: fn = dec_q5_0; break;
        case PX_Q5_1: fn = dec_q5_1; break;
        case PX_Q8_0: fn = dec_q8_0; break;
        case PX_Q2_K: fn = dec_q2_k; break;
        case PX_Q3_K: fn = dec_q3_k; break;
        case PX_Q4_K: fn = dec_q4_k; break;
        case PX_Q5_K: fn = dec_q5_k; break;
        case PX_Q6_K: fn = dec_q6_k; break;
        case PX_IQ4_NL: fn = dec_iq4_nl; break;
        default: return -1;
        }
        for (int64_t b = 0; b < n / tr->block; b++) fn(p + b * tr->size, out + b * tr->block);
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *q = p + i * tr->size;
        switch (t) {
        case PX_F32: { float f; memcpy(&f, q, 4); out[i] = f; break; }
        case PX_F16: out[i] = oracle_half(le16(q)); break;
        case PX_BF16: out[i] = bf16(le16(q)); break;
        case PX_F64: memcpy(&out[i], q, 8); break;
        case PX_I8: out[i] = (int8_t)q[0]; break;
        case PX_I16: { int16_t v; memcpy(&v, q, 2); out[i] = v; break; }
        case PX_I32: { int32_t v; memcpy(&v, q, 4); out[i] = v; break; }
        case PX_I64: { int64_t v; memcpy(&v, q, 8); out[i] = (double)v; break; }
        case PX_U8: out[i] = q[0]; break;
        case PX_U16: { uint16_t v; memcpy(&v, q, 2); out[i] = v; break; }
        case PX_U32: { uint32_t v; memcpy(&v, q, 4); out[i] = v; break; }
        case PX_U64: { uint64_t v; memcpy(&v, q, 8); out[i] = (double)v; break; }
        case PX_BOOL: out[i] = q[0] != 0; break;
        /* sub-byte integers: stored sign-extended (I4, I2) or zero-extended in
         * their byte; other bytes decode out of range and so never match */
        case PX_I4: case PX_I2: out[i] = (int8_t)q[0]; break;
        case PX_U4: case PX_U2: out[i] = q[0]; break;
        case PX_F8E4M3FN: case PX_F8E4M3FNUZ: case PX_F8E5M2: case PX_F8E5M2FNUZ: case PX_F8E8M0:
        case PX_F4E2M1: out[i] = small_float(t, q[0]); break;
        default: return -1;
        }
    }
    return 0;
}

/* ---- rounding ---------------------------------------------------------------------------- */

/* Round to a binary format with `mant` fraction bits, minimum normal
 * exponent emin and largest finite value `maxv` (ties to even). */
static double round_fmt(double x, int mant, int emin, double maxv) {
    if (isnan(x) || isinf(x) || x == 0) return x;
    double a = fabs(x);
    int e;
    frexp(a, &e); /* a = f * 2^e, f in [0.5, 1) -> exponent e - 1 */
    e -= 1;
    if (e < emin) e = emin;
    double q = ldexp(1.0, e - mant);
    double r = nearbyint(a / q) * q;
    /* Overflow: anything that rounds above maxv (ties to even go up). */
    double half_ulp_top = ldexp(1.0, (int)floor(log2(maxv)) - mant - 1);
    if (a >= maxv + half_ulp_top || r > maxv) r = INFINITY;
    return x < 0 ? -r : r;
}

double oracle_round_f16(double x) { return round_fmt(x, 10, -14, 65504.0); }
double oracle_round_bf16(double x) { return round_fmt(x, 7, -126, ldexp(255.0 / 128.0, 127)); }
double oracle_round_f32(double x) { return (double)(float)x; }

double oracle_store_tol(px_dtype t, double v) {
    double a = fabs(v);
    if (isinf(a) || isnan(a)) return 0;
    switch (t) {
    case PX_F32: return a * ldexp(1.0, -23) + 1e-37;
    case PX_F16: return a * ldexp(1.0, -10) + ldexp(1.0, -24);
    case PX_BF16: return a * ldexp(1.0, -7) + 1e-37;
    case PX_F64: return a * ldexp(1.0, -52);
    default: return 0;
    }
}

double oracle_quant_c(px_dtype t) {
    switch (t) {
    case PX_Q8_0: return 1.0 / 100;
    case PX_Q4_0: return 1.0 / 7;
    case PX_Q4_1: return 1.0 / 10;
    case PX_Q5_0: return 1.0 / 14;
    case PX_Q5_1: return 1.0 / 20;
    case PX_Q2_K: return 0.6;
    case PX_Q3_K: return 0.3;
    case PX_Q4_K: return 0.15;
    case PX_Q5_K: return 0.08;
    case PX_Q6_K: return 0.04;
    case PX_IQ4_NL: return 0.2;
    default: return 0;
    }
}

/* ---- Q8_0 rows as a cache stores them (ATTENTION with a q8_0 cache) ---------------------- */

void oracle_q8_0_roundtrip(const double *x, int64_t n, double *y, double *quantum) {
    for (int64_t b = 0; b < n / 32; b++) {
        float amax = 0;
        for (int i = 0; i < 32; i++) {
            float v = fabsf((float)x[b * 32 + i]);
            if (v > amax) amax = v;
        }
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        double ds = oracle_round_f16(d);
        for (int i = 0; i < 32; i++) {
            float q = roundf((float)x[b * 32 + i] * id);
            y[b * 32 + i] = ds * q;
            if (quantum) quantum[b * 32 + i] = ds;
        }
    }
}
