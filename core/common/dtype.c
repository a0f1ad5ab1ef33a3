/* Dtype traits, f16/bf16 conversion, and px_convert between any two dtypes.
 *
 * Plain types are converted element by element through an exact
 * intermediate (double for floating-point sources, int64/uint64 for integer
 * ones), in chunks on the stack, so no allocation is ever made. Block types
 * go through f32. Narrowing to f16/bf16 from double or a 64-bit integer
 * rounds to f32 with round-to-odd first, which makes the final
 * round-to-nearest-even exact (no double rounding); so does narrowing a
 * 64-bit integer to a float8/float4 type (dtype_small.c encodes from double).
 * With PX_CONVERT_NO_SATURATE, integer targets are written from the source
 * value wrapped to 64 bits (wrap_*), keeping its low bits.
 *
 * Plain-type data is accessed with memcpy, so it may sit at any address.
 */
#include <math.h>
#include <string.h>

#include "plexus/dtype.h"
#include "dtype_small.h"
#include "quant.h"

/* ---- traits ---------------------------------------------------------------- */

/* is_signed: the type can hold negative values (floats but F8E8M0, signed
 * integers and every block type). */
static const px_dtype_traits px_traits[PX_DTYPE_COUNT] = {
    [PX_F32] = {"f32", 1, 4, 0, 1, 0, 1},
    [PX_F16] = {"f16", 1, 2, 0, 1, 0, 1},
    [PX_BF16] = {"bf16", 1, 2, 0, 1, 0, 1},
    [PX_F64] = {"f64", 1, 8, 0, 1, 0, 1},
    [PX_I8] = {"i8", 1, 1, 0, 0, 1, 1},
    [PX_I16] = {"i16", 1, 2, 0, 0, 1, 1},
    [PX_I32] = {"i32", 1, 4, 0, 0, 1, 1},
    [PX_I64] = {"i64", 1, 8, 0, 0, 1, 1},
    [PX_U8] = {"u8", 1, 1, 0, 0, 1, 0},
    [PX_U16] = {"u16", 1, 2, 0, 0, 1, 0},
    [PX_U32] = {"u32", 1, 4, 0, 0, 1, 0},
    [PX_U64] = {"u64", 1, 8, 0, 0, 1, 0},
    [PX_BOOL] = {"bool", 1, 1, 0, 0, 1, 0},
    [PX_Q4_0] = {"q4_0", 32, 18, 1, 0, 0, 1},
    [PX_Q4_1] = {"q4_1", 32, 20, 1, 0, 0, 1},
    [PX_Q5_0] = {"q5_0", 32, 22, 1, 0, 0, 1},
    [PX_Q5_1] = {"q5_1", 32, 24, 1, 0, 0, 1},
    [PX_Q8_0] = {"q8_0", 32, 34, 1, 0, 0, 1},
    [PX_Q2_K] = {"q2_k", 256, 84, 1, 0, 0, 1},
    [PX_Q3_K] = {"q3_k", 256, 110, 1, 0, 0, 1},
    [PX_Q4_K] = {"q4_k", 256, 144, 1, 0, 0, 1},
    [PX_Q5_K] = {"q5_k", 256, 176, 1, 0, 0, 1},
    [PX_Q6_K] = {"q6_k", 256, 210, 1, 0, 0, 1},
    [PX_IQ4_NL] = {"iq4_nl", 32, 18, 1, 0, 0, 1},
    [PX_F8E4M3FN] = {"f8e4m3fn", 1, 1, 0, 1, 0, 1},
    [PX_F8E4M3FNUZ] = {"f8e4m3fnuz", 1, 1, 0, 1, 0, 1},
    [PX_F8E5M2] = {"f8e5m2", 1, 1, 0, 1, 0, 1},
    [PX_F8E5M2FNUZ] = {"f8e5m2fnuz", 1, 1, 0, 1, 0, 1},
    [PX_F8E8M0] = {"f8e8m0", 1, 1, 0, 1, 0, 0},
    [PX_F4E2M1] = {"f4e2m1", 1, 1, 0, 1, 0, 1},
    [PX_I4] = {"i4", 1, 1, 0, 0, 1, 1},
    [PX_U4] = {"u4", 1, 1, 0, 0, 1, 0},
    [PX_I2] = {"i2", 1, 1, 0, 0, 1, 1},
    [PX_U2] = {"u2", 1, 1, 0, 0, 1, 0},
};

_Static_assert(sizeof(px_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(px_block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(px_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(px_block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(px_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(px_block_q2_k) == 84, "q2_k layout");
_Static_assert(sizeof(px_block_q3_k) == 110, "q3_k layout");
_Static_assert(sizeof(px_block_q4_k) == 144, "q4_k layout");
_Static_assert(sizeof(px_block_q5_k) == 176, "q5_k layout");
_Static_assert(sizeof(px_block_q6_k) == 210, "q6_k layout");
_Static_assert(sizeof(px_block_iq4_nl) == 18, "iq4_nl layout");

static inline int valid_dtype(px_dtype t) { return (unsigned)t < (unsigned)PX_DTYPE_COUNT; }

const px_dtype_traits *px_dtype_get_traits(px_dtype t) { return valid_dtype(t) ? &px_traits[t] : NULL; }

const char *px_dtype_name(px_dtype t) { return valid_dtype(t) ? px_traits[t].name : "invalid"; }

int px_dtype_from_name(const char *name, px_dtype *out) {
    if (!name) return -1;
    for (int t = 0; t < PX_DTYPE_COUNT; t++) {
        const char *a = px_traits[t].name, *b = name;
        while (*a) {
            char c = *b;
            if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
            if (c != *a) break;
            a++;
            b++;
        }
        if (*a == 0 && *b == 0) {
            if (out) *out = (px_dtype)t;
            return 0;
        }
    }
    return -1;
}

int64_t px_dtype_row_size(px_dtype t, int64_t n) {
    if (!valid_dtype(t) || n < 0) return -1;
    const int64_t bs = px_traits[t].block_size, ts = px_traits[t].type_size;
    if (n % bs != 0) return -1;
    const int64_t blocks = n / bs;
    if (blocks > INT64_MAX / ts) return -1;
    return blocks * ts;
}

/* ---- f16 / bf16 -------------------------------------------------------------- */

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t px_f32_to_f16(float f) {
    const uint32_t x = f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) { /* inf, NaN (quieted, top payload bits kept) */
        if (ax == 0x7f800000u) return (uint16_t)(sign | 0x7c00u);
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    }
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520: inf */
    if (ax >= 0x38800000u) {                                   /* normal half */
        ax += 0x0fffu + ((ax >> 13) & 1u);                      /* round to nearest even */
        return (uint16_t)(sign | ((ax - 0x38000000u) >> 13));
    }
    if (ax <= 0x33000000u) return sign; /* <= 2^-25 (a tie goes to zero) */
    /* subnormal half: the value in units of 2^-24, rounded to nearest even */
    const uint32_t e = ax >> 23;
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e; /* 14..24 */
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (uint16_t)(sign | q);
}

float px_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, em = h & 0x7fffu;
    if (em >= 0x0400u && em < 0x7c00u) /* normal: rebias the exponent by 112 */
        return bits_f32(sign | ((em << 13) + 0x38000000u));
    if (em >= 0x7c00u) { /* inf; NaN is quieted, as hardware converters do */
        const uint32_t m = em & 0x3ffu;
        return bits_f32(sign | 0x7f800000u | (m ? 0x400000u | (m << 13) : 0u));
    }
    /* zero or subnormal: m * 2^-24, exact (operands and result are normal
     * floats, so flush-to-zero modes do not matter) */
    const float v = (float)em * 0x1p-24f;
    return sign ? -v : v;
}

uint16_t px_f32_to_bf16(float f) {
    const uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

float px_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

/* double -> float rounded to odd: exact when the result is exact, else the
 * truncated value with its last bit set. */
static float f64_to_f32_odd(double d) {
    float f = (float)d;
    if (d != d || (double)f == d) return f;
    uint32_t b = f32_bits(f);
    if (fabs((double)f) > fabs(d)) b--; /* step toward zero */
    return bits_f32(b | 1u);
}

/* |integer| -> float rounded to odd (magnitude below 2^64). */
static float u64_to_f32_odd(uint64_t u) {
    int sh = 0;
    uint64_t v = u;
    while (v >= (1ull << 24)) {
        v >>= 1;
        sh++;
    }
    if (sh && (u & ((1ull << sh) - 1)) != 0) v |= 1;
    return ldexpf((float)v, sh);
}

static float i64_to_f32_odd(int64_t s) {
    if (s >= 0) return u64_to_f32_odd((uint64_t)s);
    return -u64_to_f32_odd(0 - (uint64_t)s);
}

/* ---- plain element conversion ------------------------------------------------ */

#define CHUNK 256

static inline int is_block(px_dtype t) { return px_traits[t].block_size > 1; }

/* Source kinds: 'f' double, 's' int64, 'u' uint64. */
static inline char src_kind(px_dtype t) {
    if (px_traits[t].is_float) return 'f';
    return t == PX_U64 ? 'u' : 's';
}

#define LOAD_LOOP(T, out, expr_of_v)                       \
    for (int64_t i = 0; i < n; i++) {                      \
        T v;                                               \
        memcpy(&v, p + (size_t)i * sizeof(T), sizeof(T));  \
        out[i] = (expr_of_v);                              \
    }

static void load_f(px_dtype t, const uint8_t *p, double *o, int64_t n) {
    switch (t) {
    case PX_F32: LOAD_LOOP(float, o, (double)v) break;
    case PX_F64: LOAD_LOOP(double, o, v) break;
    case PX_F16: LOAD_LOOP(uint16_t, o, (double)px_f16_to_f32(v)) break;
    case PX_BF16: LOAD_LOOP(uint16_t, o, (double)px_bf16_to_f32(v)) break;
    default: LOAD_LOOP(uint8_t, o, px_small_float_decode(t, v)) break; /* float8/float4 */
    }
}

/* Sub-byte integers: the low bits of the byte, sign-extended for I4/I2. */
static inline int64_t sext(unsigned v, int bits) {
    const unsigned m = (1u << bits) - 1u, h = 1u << (bits - 1);
    v &= m;
    return (int64_t)(v & h ? (int)v - (int)(m + 1u) : (int)v);
}

static void load_s(px_dtype t, const uint8_t *p, int64_t *o, int64_t n) {
    switch (t) {
    case PX_I8: LOAD_LOOP(int8_t, o, v) break;
    case PX_I16: LOAD_LOOP(int16_t, o, v) break;
    case PX_I32: LOAD_LOOP(int32_t, o, v) break;
    case PX_I64: LOAD_LOOP(int64_t, o, v) break;
    case PX_U8: LOAD_LOOP(uint8_t, o, v) break;
    case PX_U16: LOAD_LOOP(uint16_t, o, v) break;
    case PX_U32: LOAD_LOOP(uint32_t, o, (int64_t)v) break;
    case PX_BOOL: LOAD_LOOP(uint8_t, o, v != 0) break;
    case PX_I4: LOAD_LOOP(uint8_t, o, sext(v, 4)) break;
    case PX_U4: LOAD_LOOP(uint8_t, o, v & 15) break;
    case PX_I2: LOAD_LOOP(uint8_t, o, sext(v, 2)) break;
    case PX_U2: LOAD_LOOP(uint8_t, o, v & 3) break;
    default: break;
    }
}

static void load_u(const uint8_t *p, uint64_t *o, int64_t n) { LOAD_LOOP(uint64_t, o, v) }

#define STORE_LOOP(T, expr_of_v)                           \
    for (int64_t i = 0; i < n; i++) {                      \
        const T r = (expr_of_v(in[i]));                    \
        memcpy(p + (size_t)i * sizeof(T), &r, sizeof(T));  \
    }

/* double -> integer: truncate toward zero, saturate, NaN -> 0. */
static inline int64_t f_to_i(double v, int64_t lo, int64_t hi) {
    if (v != v) return 0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi + 1.0) return hi;
    return (int64_t)v;
}

static inline uint64_t f_to_u(double v, uint64_t hi) {
    if (!(v > 0.0)) return 0;
    if (v >= (double)hi + 1.0) return hi;
    return (uint64_t)v;
}

#define F_I8(v) (int8_t) f_to_i(v, INT8_MIN, INT8_MAX)
#define F_I16(v) (int16_t) f_to_i(v, INT16_MIN, INT16_MAX)
#define F_I32(v) (int32_t) f_to_i(v, INT32_MIN, INT32_MAX)
#define F_I64(v) f_to_i(v, INT64_MIN, INT64_MAX)
#define F_U8(v) (uint8_t) f_to_u(v, UINT8_MAX)
#define F_U16(v) (uint16_t) f_to_u(v, UINT16_MAX)
#define F_U32(v) (uint32_t) f_to_u(v, UINT32_MAX)
#define F_U64(v) f_to_u(v, UINT64_MAX)
#define F_BOOL(v) (uint8_t)((v) != 0.0)
#define F_F32(v) (float)(v)
#define F_F64(v) (v)
#define F_F16(v) px_f32_to_f16(f64_to_f32_odd(v))
#define F_BF16(v) px_f32_to_bf16(f64_to_f32_odd(v))
#define F_I4(v) (int8_t) f_to_i(v, -8, 7)
#define F_U4(v) (uint8_t) f_to_u(v, 15)
#define F_I2(v) (int8_t) f_to_i(v, -2, 1)
#define F_U2(v) (uint8_t) f_to_u(v, 3)

/* Float8/float4 targets (t a small float dtype) from doubles. */
static void store_small(px_dtype t, const double *in, uint8_t *p, int64_t n, uint32_t flags) {
    for (int64_t i = 0; i < n; i++) p[i] = px_small_float_encode(t, in[i], flags);
}

static void store_f(px_dtype t, const double *in, uint8_t *p, int64_t n, uint32_t flags) {
    if (px_small_float_is(t)) {
        store_small(t, in, p, n, flags);
        return;
    }
    switch (t) {
    case PX_F32: STORE_LOOP(float, F_F32) break;
    case PX_F64: STORE_LOOP(double, F_F64) break;
    case PX_F16: STORE_LOOP(uint16_t, F_F16) break;
    case PX_BF16: STORE_LOOP(uint16_t, F_BF16) break;
    case PX_I8: STORE_LOOP(int8_t, F_I8) break;
    case PX_I16: STORE_LOOP(int16_t, F_I16) break;
    case PX_I32: STORE_LOOP(int32_t, F_I32) break;
    case PX_I64: STORE_LOOP(int64_t, F_I64) break;
    case PX_U8: STORE_LOOP(uint8_t, F_U8) break;
    case PX_U16: STORE_LOOP(uint16_t, F_U16) break;
    case PX_U32: STORE_LOOP(uint32_t, F_U32) break;
    case PX_U64: STORE_LOOP(uint64_t, F_U64) break;
    case PX_BOOL: STORE_LOOP(uint8_t, F_BOOL) break;
    case PX_I4: STORE_LOOP(int8_t, F_I4) break;
    case PX_U4: STORE_LOOP(uint8_t, F_U4) break;
    case PX_I2: STORE_LOOP(int8_t, F_I2) break;
    case PX_U2: STORE_LOOP(uint8_t, F_U2) break;
    default: break;
    }
}

static inline int64_t s_clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }
static inline uint64_t s_to_u(int64_t v, uint64_t hi) { return v < 0 ? 0 : (uint64_t)v > hi ? hi : (uint64_t)v; }

#define S_I8(v) (int8_t) s_clamp(v, INT8_MIN, INT8_MAX)
#define S_I16(v) (int16_t) s_clamp(v, INT16_MIN, INT16_MAX)
#define S_I32(v) (int32_t) s_clamp(v, INT32_MIN, INT32_MAX)
#define S_I64(v) (v)
#define S_U8(v) (uint8_t) s_to_u(v, UINT8_MAX)
#define S_U16(v) (uint16_t) s_to_u(v, UINT16_MAX)
#define S_U32(v) (uint32_t) s_to_u(v, UINT32_MAX)
#define S_U64(v) s_to_u(v, UINT64_MAX)
#define S_BOOL(v) (uint8_t)((v) != 0)
#define S_F32(v) (float)(v)
#define S_F64(v) (double)(v)
#define S_F16(v) px_f32_to_f16(i64_to_f32_odd(v))
#define S_BF16(v) px_f32_to_bf16(i64_to_f32_odd(v))
#define S_I4(v) (int8_t) s_clamp(v, -8, 7)
#define S_U4(v) (uint8_t) s_to_u(v, 15)
#define S_I2(v) (int8_t) s_clamp(v, -2, 1)
#define S_U2(v) (uint8_t) s_to_u(v, 3)

static void store_s(px_dtype t, const int64_t *in, uint8_t *p, int64_t n, uint32_t flags) {
    if (px_small_float_is(t)) {
        double d[CHUNK]; /* n <= CHUNK; round to odd keeps the final rounding exact */
        for (int64_t i = 0; i < n; i++) d[i] = (double)i64_to_f32_odd(in[i]);
        store_small(t, d, p, n, flags);
        return;
    }
    switch (t) {
    case PX_F32: STORE_LOOP(float, S_F32) break;
    case PX_F64: STORE_LOOP(double, S_F64) break;
    case PX_F16: STORE_LOOP(uint16_t, S_F16) break;
    case PX_BF16: STORE_LOOP(uint16_t, S_BF16) break;
    case PX_I8: STORE_LOOP(int8_t, S_I8) break;
    case PX_I16: STORE_LOOP(int16_t, S_I16) break;
    case PX_I32: STORE_LOOP(int32_t, S_I32) break;
    case PX_I64: STORE_LOOP(int64_t, S_I64) break;
    case PX_U8: STORE_LOOP(uint8_t, S_U8) break;
    case PX_U16: STORE_LOOP(uint16_t, S_U16) break;
    case PX_U32: STORE_LOOP(uint32_t, S_U32) break;
    case PX_U64: STORE_LOOP(uint64_t, S_U64) break;
    case PX_BOOL: STORE_LOOP(uint8_t, S_BOOL) break;
    case PX_I4: STORE_LOOP(int8_t, S_I4) break;
    case PX_U4: STORE_LOOP(uint8_t, S_U4) break;
    case PX_I2: STORE_LOOP(int8_t, S_I2) break;
    case PX_U2: STORE_LOOP(uint8_t, S_U2) break;
    default: break;
    }
}

static inline uint64_t u_min(uint64_t v, uint64_t hi) { return v > hi ? hi : v; }

#define U_I8(v) (int8_t) u_min(v, INT8_MAX)
#define U_I16(v) (int16_t) u_min(v, INT16_MAX)
#define U_I32(v) (int32_t) u_min(v, INT32_MAX)
#define U_I64(v) (int64_t) u_min(v, INT64_MAX)
#define U_U8(v) (uint8_t) u_min(v, UINT8_MAX)
#define U_U16(v) (uint16_t) u_min(v, UINT16_MAX)
#define U_U32(v) (uint32_t) u_min(v, UINT32_MAX)
#define U_U64(v) (v)
#define U_BOOL(v) (uint8_t)((v) != 0)
#define U_F32(v) (float)(v)
#define U_F64(v) (double)(v)
#define U_F16(v) px_f32_to_f16(u64_to_f32_odd(v))
#define U_BF16(v) px_f32_to_bf16(u64_to_f32_odd(v))
#define U_I4(v) (int8_t) u_min(v, 7)
#define U_U4(v) (uint8_t) u_min(v, 15)
#define U_I2(v) (int8_t) u_min(v, 1)
#define U_U2(v) (uint8_t) u_min(v, 3)

static void store_u(px_dtype t, const uint64_t *in, uint8_t *p, int64_t n, uint32_t flags) {
    if (px_small_float_is(t)) {
        double d[CHUNK];
        for (int64_t i = 0; i < n; i++) d[i] = (double)u64_to_f32_odd(in[i]);
        store_small(t, d, p, n, flags);
        return;
    }
    switch (t) {
    case PX_F32: STORE_LOOP(float, U_F32) break;
    case PX_F64: STORE_LOOP(double, U_F64) break;
    case PX_F16: STORE_LOOP(uint16_t, U_F16) break;
    case PX_BF16: STORE_LOOP(uint16_t, U_BF16) break;
    case PX_I8: STORE_LOOP(int8_t, U_I8) break;
    case PX_I16: STORE_LOOP(int16_t, U_I16) break;
    case PX_I32: STORE_LOOP(int32_t, U_I32) break;
    case PX_I64: STORE_LOOP(int64_t, U_I64) break;
    case PX_U8: STORE_LOOP(uint8_t, U_U8) break;
    case PX_U16: STORE_LOOP(uint16_t, U_U16) break;
    case PX_U32: STORE_LOOP(uint32_t, U_U32) break;
    case PX_U64: STORE_LOOP(uint64_t, U_U64) break;
    case PX_BOOL: STORE_LOOP(uint8_t, U_BOOL) break;
    case PX_I4: STORE_LOOP(int8_t, U_I4) break;
    case PX_U4: STORE_LOOP(uint8_t, U_U4) break;
    case PX_I2: STORE_LOOP(int8_t, U_I2) break;
    case PX_U2: STORE_LOOP(uint8_t, U_U2) break;
    default: break;
    }
}

/* ---- wrap-around integer stores (PX_CONVERT_NO_SATURATE) ----------------- */

/* The integer part of v modulo 2^64 (NaN and infinities give 0). */
static uint64_t f_wrap(double v) {
    if (!isfinite(v)) return 0;
    double t = trunc(v);
    if (fabs(t) >= 18446744073709551616.0) t = fmod(t, 18446744073709551616.0); /* exact */
    return t < 0 ? 0 - (uint64_t)(-t) : (uint64_t)t;
}

static inline int is_int_target(px_dtype t) {
    return px_traits[t].is_integer && t != PX_BOOL;
}

#define W_I4(v) (int8_t) sext((unsigned)((v) & 15u), 4)
#define W_U4(v) (uint8_t)((v) & 15u)
#define W_I2(v) (int8_t) sext((unsigned)((v) & 3u), 2)
#define W_U2(v) (uint8_t)((v) & 3u)

/* Integer dtype t (not BOOL) from values modulo 2^64: the low bits. */
static void store_wrap(px_dtype t, const uint64_t *in, uint8_t *p, int64_t n) {
    switch (t) {
    case PX_I8: case PX_U8: STORE_LOOP(uint8_t, (uint8_t)) break;
    case PX_I16: case PX_U16: STORE_LOOP(uint16_t, (uint16_t)) break;
    case PX_I32: case PX_U32: STORE_LOOP(uint32_t, (uint32_t)) break;
    case PX_I64: case PX_U64: STORE_LOOP(uint64_t, (uint64_t)) break;
    case PX_I4: STORE_LOOP(int8_t, W_I4) break;
    case PX_U4: STORE_LOOP(uint8_t, W_U4) break;
    case PX_I2: STORE_LOOP(int8_t, W_I2) break;
    case PX_U2: STORE_LOOP(uint8_t, W_U2) break;
    default: break;
    }
}

/* Plain -> plain, st != dt, both valid and not block types. */
static void convert_plain(px_dtype st, const uint8_t *src, px_dtype dt, uint8_t *dst, int64_t n, uint32_t flags) {
    const int64_t ss = px_traits[st].type_size, ds = px_traits[dt].type_size;
    union {
        double f[CHUNK];
        int64_t s[CHUNK];
        uint64_t u[CHUNK];
    } buf;
    const char kind = src_kind(st);
    const int wrap = (flags & PX_CONVERT_NO_SATURATE) && is_int_target(dt);
    for (int64_t off = 0; off < n; off += CHUNK) {
        const int64_t c = n - off < CHUNK ? n - off : CHUNK;
        const uint8_t *sp = src + off * ss;
        uint8_t *dp = dst + off * ds;
        if (kind == 'f') {
            load_f(st, sp, buf.f, c);
            if (wrap) {
                for (int64_t i = 0; i < c; i++) buf.u[i] = f_wrap(buf.f[i]);
                store_wrap(dt, buf.u, dp, c);
            } else {
                store_f(dt, buf.f, dp, c, flags);
            }
        } else if (kind == 's') {
            load_s(st, sp, buf.s, c);
            if (wrap) {
                for (int64_t i = 0; i < c; i++) buf.u[i] = (uint64_t)buf.s[i];
                store_wrap(dt, buf.u, dp, c);
            } else {
                store_s(dt, buf.s, dp, c, flags);
            }
        } else {
            load_u(sp, buf.u, c);
            if (wrap) store_wrap(dt, buf.u, dp, c);
            else store_u(dt, buf.u, dp, c, flags);
        }
    }
}

/* ---- row functions for plain types ----------------------------------------- */

static void f32_to_f32(const void *src, float *dst, int64_t n) {
    if (n > 0) memcpy(dst, src, (size_t)n * sizeof(float));
}

static void f16_to_f32_row(const void *src, float *dst, int64_t n) {
    const uint8_t *p = (const uint8_t *)src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        dst[i] = px_f16_to_f32(h);
    }
}

static void bf16_to_f32_row(const void *src, float *dst, int64_t n) {
    const uint8_t *p = (const uint8_t *)src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        dst[i] = px_bf16_to_f32(h);
    }
}

static void f32_to_f16_row(const float *src, void *dst, int64_t n) {
    uint8_t *p = (uint8_t *)dst;
    for (int64_t i = 0; i < n; i++) {
        const uint16_t h = px_f32_to_f16(src[i]);
        memcpy(p + 2 * i, &h, 2);
    }
}

static void f32_to_bf16_row(const float *src, void *dst, int64_t n) {
    uint8_t *p = (uint8_t *)dst;
    for (int64_t i = 0; i < n; i++) {
        const uint16_t h = px_f32_to_bf16(src[i]);
        memcpy(p + 2 * i, &h, 2);
    }
}

static void f32_from_f32(const float *src, void *dst, int64_t n) {
    if (n > 0) memcpy(dst, src, (size_t)n * sizeof(float));
}

/* Any other plain type to f32 (f64 and integers round to nearest). */
static void plain_to_f32(px_dtype t, const uint8_t *p, float *dst, int64_t n) {
    union {
        double f[CHUNK];
        int64_t s[CHUNK];
        uint64_t u[CHUNK];
    } buf;
    const char kind = src_kind(t);
    const int64_t ts = px_traits[t].type_size;
    for (int64_t off = 0; off < n; off += CHUNK) {
        const int64_t c = n - off < CHUNK ? n - off : CHUNK;
        if (kind == 'f') {
            load_f(t, p + off * ts, buf.f, c);
            for (int64_t i = 0; i < c; i++) dst[off + i] = (float)buf.f[i];
        } else if (kind == 's') {
            load_s(t, p + off * ts, buf.s, c);
            for (int64_t i = 0; i < c; i++) dst[off + i] = (float)buf.s[i];
        } else {
            load_u(p + off * ts, buf.u, c);
            for (int64_t i = 0; i < c; i++) dst[off + i] = (float)buf.u[i];
        }
    }
}

/* f32 to any other plain type (through double: exact). */
static void plain_from_f32(const float *src, px_dtype t, uint8_t *p, int64_t n) {
    double buf[CHUNK];
    const int64_t ts = px_traits[t].type_size;
    for (int64_t off = 0; off < n; off += CHUNK) {
        const int64_t c = n - off < CHUNK ? n - off : CHUNK;
        for (int64_t i = 0; i < c; i++) buf[i] = (double)src[off + i];
        store_f(t, buf, p + off * ts, c, 0);
    }
}

#define PLAIN_ROW_FNS(T, name)                                                                  \
    static void name##_to_f32_row(const void *s, float *d, int64_t n) {                         \
        plain_to_f32(T, (const uint8_t *)s, d, n);                                              \
    }                                                                                           \
    static void name##_from_f32_row(const float *s, void *d, int64_t n) {                       \
        plain_from_f32(s, T, (uint8_t *)d, n);                                                  \
    }

PLAIN_ROW_FNS(PX_F64, f64)
PLAIN_ROW_FNS(PX_I8, i8)
PLAIN_ROW_FNS(PX_I16, i16)
PLAIN_ROW_FNS(PX_I32, i32)
PLAIN_ROW_FNS(PX_I64, i64)
PLAIN_ROW_FNS(PX_U8, u8)
PLAIN_ROW_FNS(PX_U16, u16)
PLAIN_ROW_FNS(PX_U32, u32)
PLAIN_ROW_FNS(PX_U64, u64)
PLAIN_ROW_FNS(PX_BOOL, bool)
PLAIN_ROW_FNS(PX_F8E4M3FN, f8e4m3fn)
PLAIN_ROW_FNS(PX_F8E4M3FNUZ, f8e4m3fnuz)
PLAIN_ROW_FNS(PX_F8E5M2, f8e5m2)
PLAIN_ROW_FNS(PX_F8E5M2FNUZ, f8e5m2fnuz)
PLAIN_ROW_FNS(PX_F8E8M0, f8e8m0)
PLAIN_ROW_FNS(PX_F4E2M1, f4e2m1)
PLAIN_ROW_FNS(PX_I4, i4)
PLAIN_ROW_FNS(PX_U4, u4)
PLAIN_ROW_FNS(PX_I2, i2)
PLAIN_ROW_FNS(PX_U2, u2)

static const px_dequantize_row_fn px_to_f32_fns[PX_DTYPE_COUNT] = {
    [PX_F32] = f32_to_f32,
    [PX_F16] = f16_to_f32_row,
    [PX_BF16] = bf16_to_f32_row,
    [PX_F64] = f64_to_f32_row,
    [PX_I8] = i8_to_f32_row,
    [PX_I16] = i16_to_f32_row,
    [PX_I32] = i32_to_f32_row,
    [PX_I64] = i64_to_f32_row,
    [PX_U8] = u8_to_f32_row,
    [PX_U16] = u16_to_f32_row,
    [PX_U32] = u32_to_f32_row,
    [PX_U64] = u64_to_f32_row,
    [PX_BOOL] = bool_to_f32_row,
    [PX_Q4_0] = px_dequantize_row_q4_0,
    [PX_Q4_1] = px_dequantize_row_q4_1,
    [PX_Q5_0] = px_dequantize_row_q5_0,
    [PX_Q5_1] = px_dequantize_row_q5_1,
    [PX_Q8_0] = px_dequantize_row_q8_0,
    [PX_Q2_K] = px_dequantize_row_q2_k,
    [PX_Q3_K] = px_dequantize_row_q3_k,
    [PX_Q4_K] = px_dequantize_row_q4_k,
    [PX_Q5_K] = px_dequantize_row_q5_k,
    [PX_Q6_K] = px_dequantize_row_q6_k,
    [PX_IQ4_NL] = px_dequantize_row_iq4_nl,    [PX_F8E4M3FN] = f8e4m3fn_to_f32_row,
    [PX_F8E4M3FNUZ] = f8e4m3fnuz_to_f32_row,
    [PX_F8E5M2] = f8e5m2_to_f32_row,
    [PX_F8E5M2FNUZ] = f8e5m2fnuz_to_f32_row,
    [PX_F8E8M0] = f8e8m0_to_f32_row,
    [PX_F4E2M1] = f4e2m1_to_f32_row,
    [PX_I4] = i4_to_f32_row,
    [PX_U4] = u4_to_f32_row,
    [PX_I2] = i2_to_f32_row,
    [PX_U2] = u2_to_f32_row,
};

static const px_quantize_row_fn px_from_f32_fns[PX_DTYPE_COUNT] = {
    [PX_F32] = f32_from_f32,
    [PX_F16] = f32_to_f16_row,
    [PX_BF16] = f32_to_bf16_row,
    [PX_F64] = f64_from_f32_row,
    [PX_I8] = i8_from_f32_row,
    [PX_I16] = i16_from_f32_row,
    [PX_I32] = i32_from_f32_row,
    [PX_I64] = i64_from_f32_row,
    [PX_U8] = u8_from_f32_row,
    [PX_U16] = u16_from_f32_row,
    [PX_U32] = u32_from_f32_row,
    [PX_U64] = u64_from_f32_row,
    [PX_BOOL] = bool_from_f32_row,
    [PX_Q4_0] = px_quantize_row_q4_0,
    [PX_Q4_1] = px_quantize_row_q4_1,
    [PX_Q5_0] = px_quantize_row_q5_0,
    [PX_Q5_1] = px_quantize_row_q5_1,
    [PX_Q8_0] = px_quantize_row_q8_0,
    [PX_Q2_K] = px_quantize_row_q2_k,
    [PX_Q3_K] = px_quantize_row_q3_k,
    [PX_Q4_K] = px_quantize_row_q4_k,
    [PX_Q5_K] = px_quantize_row_q5_k,
    [PX_Q6_K] = px_quantize_row_q6_k,
    [PX_IQ4_NL] = px_quantize_row_iq4_nl,    [PX_F8E4M3FN] = f8e4m3fn_from_f32_row,
    [PX_F8E4M3FNUZ] = f8e4m3fnuz_from_f32_row,
    [PX_F8E5M2] = f8e5m2_from_f32_row,
    [PX_F8E5M2FNUZ] = f8e5m2fnuz_from_f32_row,
    [PX_F8E8M0] = f8e8m0_from_f32_row,
    [PX_F4E2M1] = f4e2m1_from_f32_row,
    [PX_I4] = i4_from_f32_row,
    [PX_U4] = u4_from_f32_row,
    [PX_I2] = i2_from_f32_row,
    [PX_U2] = u2_from_f32_row,
};

px_dequantize_row_fn px_dequantize_row_get(px_dtype t) { return valid_dtype(t) ? px_to_f32_fns[t] : NULL; }

px_quantize_row_fn px_quantize_row_get(px_dtype t) { return valid_dtype(t) ? px_from_f32_fns[t] : NULL; }

/* Common argument check: valid dtypes, n >= 0 and a multiple of both block
 * sizes, pointers present when there is work. */
static int args_ok(px_dtype st, const void *src, px_dtype dt, const void *dst, int64_t n) {
    if (!valid_dtype(st) || !valid_dtype(dt) || n < 0) return 0;
    if (n % px_traits[st].block_size != 0 || n % px_traits[dt].block_size != 0) return 0;
    if (px_dtype_row_size(st, n) < 0 || px_dtype_row_size(dt, n) < 0) return 0;
    if (n > 0 && (!src || !dst)) return 0;
    return 1;
}

px_status px_dequantize_row(px_dtype t, const void *src, float *dst, int64_t n) {
    if (!args_ok(t, src, PX_F32, dst, n)) return PX_ERR_INVALID_ARG;
    if (n > 0) px_to_f32_fns[t](src, dst, n);
    return PX_OK;
}

px_status px_quantize_row(px_dtype t, const float *src, void *dst, int64_t n) {
    if (!args_ok(PX_F32, src, t, dst, n)) return PX_ERR_INVALID_ARG;
    if (n > 0) px_from_f32_fns[t](src, dst, n);
    return PX_OK;
}

/* ---- px_convert ------------------------------------------------------------ */

px_status px_convert_ex(px_dtype st, const void *src, px_dtype dt, void *dst, int64_t n, uint32_t flags) {
    const uint32_t rounding = PX_CONVERT_ROUND_DOWN | PX_CONVERT_ROUND_NEAREST;
    if ((flags & ~(uint32_t)(PX_CONVERT_NO_SATURATE | rounding)) || (flags & rounding) == rounding)
        return PX_ERR_INVALID_ARG;
    if (!args_ok(st, src, dt, dst, n)) return PX_ERR_INVALID_ARG;
    if (n == 0) return PX_OK;
    if (st == dt) {
        memcpy(dst, src, (size_t)px_dtype_row_size(st, n));
        return PX_OK;
    }
    if (dt == PX_F32) {
        px_to_f32_fns[st](src, (float *)dst, n);
        return PX_OK;
    }
    if (st == PX_F32 && (flags == 0 || is_block(dt))) {
        px_from_f32_fns[dt](src, dst, n);
        return PX_OK;
    }
    const uint8_t *sp = (const uint8_t *)src;
    uint8_t *dp = (uint8_t *)dst;
    if (!is_block(st) && !is_block(dt)) {
        convert_plain(st, sp, dt, dp, n, flags);
        return PX_OK;
    }
    /* Through f32 in chunks of whole blocks (CHUNK is a multiple of every
     * block size, so every chunk but the last is, and so is the rest of n). */
    float tmp[CHUNK];
    const int32_t sbs = px_traits[st].block_size, sts = px_traits[st].type_size;
    const int32_t dbs = px_traits[dt].block_size, dts = px_traits[dt].type_size;
    for (int64_t off = 0; off < n; off += CHUNK) {
        const int64_t c = n - off < CHUNK ? n - off : CHUNK;
        px_to_f32_fns[st](sp + off / sbs * sts, tmp, c);
        if (flags && !is_block(dt)) convert_plain(PX_F32, (const uint8_t *)tmp, dt, dp + off * dts, c, flags);
        else px_from_f32_fns[dt](tmp, dp + off / dbs * dts, c);
    }
    return PX_OK;
}

px_status px_convert(px_dtype st, const void *src, px_dtype dt, void *dst, int64_t n) {
    return px_convert_ex(st, src, dt, dst, n, 0);
}

px_status px_to_f32(px_dtype st, const void *src, float *dst, int64_t n) {
    return px_convert(st, src, PX_F32, dst, n);
}

px_status px_from_f32(const float *src, px_dtype dt, void *dst, int64_t n) {
    return px_convert(PX_F32, src, dt, dst, n);
}
