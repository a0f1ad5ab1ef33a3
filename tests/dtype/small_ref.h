/* Reference model of the small dtypes for the dtype tests, written from the
 * format definitions (ONNX "Float stored in 8 bits", OCP MX formats) and
 * independent of core/common/dtype_small.c: values come from the bit
 * fields, and rounding is a brute-force search over every code of the type
 * (nearest value, ties to the code with an even last bit), not arithmetic on
 * exponents. */
#ifndef PLEXUS_TEST_SMALL_REF_H
#define PLEXUS_TEST_SMALL_REF_H

#include <math.h>
#include <stdint.h>

#include "plexus/dtype.h"

typedef struct ref_fmt {
    px_dtype t;
    const char *name;
    int ebits, mbits, bias;
    int fn, uz, ieee; /* fn: NaN = all ones, no inf; uz: NaN = 0x80, no -0; ieee: inf and NaN at emax */
} ref_fmt;

static const ref_fmt ref_fmts[] = {
    {PX_F8E4M3FN, "f8e4m3fn", 4, 3, 7, 1, 0, 0},     {PX_F8E4M3FNUZ, "f8e4m3fnuz", 4, 3, 8, 0, 1, 0},
    {PX_F8E5M2, "f8e5m2", 5, 2, 15, 0, 0, 1},        {PX_F8E5M2FNUZ, "f8e5m2fnuz", 5, 2, 16, 0, 1, 0},
    {PX_F4E2M1, "f4e2m1", 2, 1, 1, 0, 0, 0},
};
enum { REF_N_FMTS = sizeof ref_fmts / sizeof ref_fmts[0] };

static inline const ref_fmt *ref_fmt_of(px_dtype t) {
    for (int i = 0; i < REF_N_FMTS; i++)
        if (ref_fmts[i].t == t) return &ref_fmts[i];
    return 0;
}

static inline int ref_codes(const ref_fmt *f) { return 1 << (1 + f->ebits + f->mbits); }

/* Value of code b (NaN, +-inf where defined). */
static inline double ref_value(const ref_fmt *f, unsigned b) {
    const int w = 1 + f->ebits + f->mbits;
    const unsigned s = (b >> (w - 1)) & 1, e = (b >> f->mbits) & ((1u << f->ebits) - 1), m = b & ((1u << f->mbits) - 1);
    const unsigned emax = (1u << f->ebits) - 1, mmax = (1u << f->mbits) - 1;
    if (f->uz && b == 1u << (w - 1)) return NAN;
    if (f->fn && e == emax && m == mmax) return NAN;
    if (f->ieee && e == emax) return m ? NAN : s ? -INFINITY : INFINITY;
    double v = 0;
    for (int k = 0; k < f->mbits; k++) /* mantissa bits as a sum of powers of two */
        if (m >> k & 1) v += pow(2.0, k - f->mbits);
    v = e ? (1.0 + v) * pow(2.0, (double)e - f->bias) : v * pow(2.0, 1.0 - f->bias);
    return s ? -v : v;
}

/* Largest finite value and the step above it (the first value the format
 * would have with one more code). */
static inline double ref_max(const ref_fmt *f, double *step) {
    double mx = 0, below = 0;
    for (int b = 0; b < ref_codes(f); b++) {
        const double v = ref_value(f, (unsigned)b);
        if (v == v && !isinf(v) && v > mx) {
            below = mx;
            mx = v;
        } else if (v == v && !isinf(v) && v > below && v < mx) {
            below = v;
        }
    }
    if (step) *step = mx - below;
    return mx;
}

/* Code for v: round to nearest, ties to the even code; beyond the largest
 * value (rounding the virtual next code counts as beyond) saturate or give
 * inf/NaN. F4E2M1 always saturates; its NaN is 0x8. */
static inline unsigned ref_encode(const ref_fmt *f, double v, int saturate) {
    const int w = 1 + f->ebits + f->mbits;
    const unsigned sign = signbit(v) ? 1u << (w - 1) : 0;
    const int fp4 = !f->fn && !f->uz && !f->ieee;
    unsigned nan = f->uz ? 1u << (w - 1) : fp4 ? 0x8 : sign | ((1u << (w - 1)) - 1);
    if (v != v) return nan;
    if (fp4) saturate = 1;
    double step;
    const double mx = ref_max(f, &step), a = fabs(v);
    unsigned best = 0, max_code = 0;
    double best_d = INFINITY;
    for (unsigned b = 0; b < (1u << (w - 1)); b++) { /* positive codes */
        const double x = ref_value(f, b);
        if (x != x || isinf(x)) continue;
        if (x == mx) max_code = b;
        const double d = fabs(x - a);
        if (d < best_d || (d == best_d && !(b & 1))) {
            best_d = d;
            best = b;
        }
    }
    /* the virtual code after the largest value */
    const double dv = fabs(mx + step - a);
    const int over = a > mx + step || dv < best_d || (dv == best_d && !((max_code + 1) & 1));
    if (over) {
        if (saturate) return sign | max_code;
        return f->ieee ? sign | ((1u << (w - 1)) - (1u << f->mbits)) : nan;
    }
    if (best == 0 && f->uz) return 0;
    return sign | best;
}

/* F8E8M0: 2^(b-127), 0xFF NaN. */
static inline double ref_e8m0_value(unsigned b) { return b == 0xFF ? NAN : ldexp(1.0, (int)b - 127); }

/* F8E8M0 code of v (sign ignored) under round mode (0 up, 1 down, 2 nearest
 * with ties up), by search over the powers of two; v in [2^-127, 2^128). */
static inline unsigned ref_e8m0_encode(double v, int mode, int saturate) {
    if (v != v || isinf(v)) return 0xFF;
    const double a = fabs(v);
    unsigned lo = 0; /* largest code with value <= a */
    for (unsigned b = 0; b < 0xFF; b++)
        if (ref_e8m0_value(b) <= a) lo = b;
    if (ref_e8m0_value(lo) == a) return lo;
    const double vlo = ref_e8m0_value(lo), vhi = 2 * vlo;
    const int up = mode == 0 ? 1 : mode == 1 ? 0 : a >= (vlo + vhi) / 2; /* nearest: ties up */
    if (!up) return lo;
    if (lo == 0xFE) return saturate ? 0xFE : 0xFF;
    return lo + 1;
}

#endif
