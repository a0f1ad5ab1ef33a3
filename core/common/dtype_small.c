/* Codecs of the small floating-point dtypes: see dtype_small.h for the rules.
 *
 * The sign/exponent/mantissa formats are described by one table row each and
 * share one encoder: the value is scaled by the quantum of its binade (a
 * power of two, so exactly), rounded to an integer with ties to even, and the
 * integer becomes the mantissa. E8M0 has its own exponent-only rounding. */
#include "dtype_small.h"

#include <math.h>

#include "plexus/dtype.h"

enum { K_FN, K_FNUZ, K_IEEE, K_FP4 };

typedef struct sf_fmt {
    uint8_t ebits, mbits, kind;
    int8_t bias;
    double max;       /* largest finite value */
    uint8_t max_code; /* its code (positive) */
} sf_fmt;

static const sf_fmt *fmt_of(px_dtype t) {
    static const sf_fmt e4m3fn = {4, 3, K_FN, 7, 448.0, 0x7E};
    static const sf_fmt e4m3fnuz = {4, 3, K_FNUZ, 8, 240.0, 0x7F};
    static const sf_fmt e5m2 = {5, 2, K_IEEE, 15, 57344.0, 0x7B};
    static const sf_fmt e5m2fnuz = {5, 2, K_FNUZ, 16, 57344.0, 0x7F};
    static const sf_fmt e2m1 = {2, 1, K_FP4, 1, 6.0, 0x7};
    switch (t) {
    case PX_F8E4M3FN: return &e4m3fn;
    case PX_F8E4M3FNUZ: return &e4m3fnuz;
    case PX_F8E5M2: return &e5m2;
    case PX_F8E5M2FNUZ: return &e5m2fnuz;
    case PX_F4E2M1: return &e2m1;
    default: return NULL;
    }
}

int px_small_float_is(px_dtype t) { return t == PX_F8E8M0 || fmt_of(t) != NULL; }

double px_small_float_decode(px_dtype t, uint8_t b) {
    if (t == PX_F8E8M0) return b == 0xFF ? (double)NAN : ldexp(1.0, (int)b - 127);
    const sf_fmt *f = fmt_of(t);
    if (!f) return 0.0;
    const int M = f->mbits, width = 1 + f->ebits + M;
    const unsigned sign = (b >> (width - 1)) & 1u, emax = (1u << f->ebits) - 1u;
    const unsigned e = (b >> M) & emax, m = b & ((1u << M) - 1u);
    if (f->kind == K_FNUZ && sign && e == 0 && m == 0) return (double)NAN;
    if (f->kind == K_FN && e == emax && m == (1u << M) - 1u) return sign ? -(double)NAN : (double)NAN;
    if (f->kind == K_IEEE && e == emax) {
        if (m) return sign ? -(double)NAN : (double)NAN;
        return sign ? -(double)INFINITY : (double)INFINITY;
    }
    const double v = e ? ldexp((double)((1u << M) | m), (int)e - f->bias - M) : ldexp((double)m, 1 - f->bias - M);
    return sign ? -v : v;
}

/* x >= 0, small: nearest integer, ties to even (no dependence on the FPU's
 * rounding mode). */
static double round_even(double x) {
    double r = floor(x);
    const double d = x - r;
    if (d > 0.5 || (d == 0.5 && fmod(r, 2.0) != 0.0)) r += 1.0;
    return r;
}

static uint8_t encode_sem(const sf_fmt *f, double v, uint32_t flags) {
    const int M = f->mbits, width = 1 + f->ebits + M;
    const uint8_t sign = signbit(v) ? (uint8_t)(1u << (width - 1)) : 0;
    const uint8_t nan = f->kind == K_FNUZ ? 0x80 : f->kind == K_FP4 ? 0x8 : (uint8_t)(sign | 0x7F);
    if (v != v) return nan;
    const uint8_t zero = f->kind == K_FNUZ ? 0 : sign;
    const int saturate = f->kind == K_FP4 || !(flags & PX_CONVERT_NO_SATURATE);
    const uint8_t over = saturate ? (uint8_t)(sign | f->max_code) : f->kind == K_IEEE ? (uint8_t)(sign | 0x7C) : nan;
    const double a = fabs(v);
    if (a == 0.0) return zero;
    if (a > 2.0 * f->max) return over; /* infinities and far out of range */
    int k;
    frexp(a, &k);
    int e = k - 1; /* a in [2^e, 2^(e+1)) */
    const int emin = 1 - f->bias;
    if (e < emin) e = emin; /* subnormal binade: quantum 2^(emin-M) */
    const double n = round_even(ldexp(a, M - e));
    if (ldexp(n, e - M) > f->max) return over;
    unsigned q = (unsigned)n;
    if (q == 0) return zero;
    if (q >= (2u << M)) { /* rounded up into the next binade */
        q >>= 1;
        e++;
    }
    if (q < (1u << M)) return (uint8_t)(sign | q); /* subnormal (e == emin) */
    return (uint8_t)(sign | (unsigned)(e + f->bias) << M | (q - (1u << M)));
}

/* E8M0: the exponent of the exact value, rounded by its fraction. */
static uint8_t encode_e8m0(double v, uint32_t flags) {
    if (v != v || isinf(v)) return 0xFF;
    const double a = fabs(v);
    if (a == 0.0) return 0x00;
    int k;
    const double m = frexp(a, &k); /* a = m * 2^k, m in [0.5, 1) */
    const int e = k - 1;           /* a in [2^e, 2^(e+1)) */
    if (e < -127) return 0x00;     /* below the smallest value: 2^-127 is up, nearest, and the floor's clamp */
    int code = e + 127, up;
    if (flags & PX_CONVERT_ROUND_DOWN) up = 0;
    else if (flags & PX_CONVERT_ROUND_NEAREST) up = m >= 0.75; /* fraction >= 1/2: ties up */
    else up = m != 0.5;
    code += up;
    if (code >= 0xFF) return flags & PX_CONVERT_NO_SATURATE ? 0xFF : 0xFE;
    return (uint8_t)code;
}

uint8_t px_small_float_encode(px_dtype t, double v, uint32_t flags) {
    if (t == PX_F8E8M0) return encode_e8m0(v, flags);
    const sf_fmt *f = fmt_of(t);
    return f ? encode_sem(f, v, flags) : 0;
}
