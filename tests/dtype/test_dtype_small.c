/* Tests of the small dtypes of px_convert: float8 (E4M3FN, E4M3FNUZ, E5M2,
 * E5M2FNUZ, E8M0), float4 E2M1 and the sub-byte integers I4, U4, I2, U2.
 *
 * Every code of every small float type is decoded and encoded back, and
 * every value between neighbouring codes (midpoints and their neighbours,
 * beyond the range, infinities, NaN) is rounded and compared with the
 * brute-force reference of small_ref.h, with and without saturation. Every
 * value of the 4-bit and 2-bit integer types goes through every plain dtype
 * that holds it, and back.
 */
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "plexus/plexus.h"
#include "small_ref.h"
#include "test.h"

static uint8_t to_small(px_dtype st, const void *v, px_dtype dt, uint32_t flags) {
    uint8_t b = 0xA5;
    CHECK_OK(px_convert_ex(st, v, dt, &b, 1, flags));
    return b;
}

static double from_small(px_dtype t, uint8_t b) {
    double d = 0;
    CHECK_OK(px_convert(t, &b, PX_F64, &d, 1));
    return d;
}

static int same_value(double a, double b) {
    if (a != a || b != b) return a != a && b != b;
    return a == b && !!signbit(a) == !!signbit(b);
}

static int is_nan_code(const ref_fmt *f, unsigned b) { return ref_value(f, b) != ref_value(f, b); }

/* ---- float8 / float4 with sign, exponent and mantissa ---------------------------------- */

static void test_codes(const ref_fmt *f) {
    int bad_dec = 0, bad_f32 = 0, bad_trip = 0, bad_f16 = 0;
    for (int b = 0; b < ref_codes(f); b++) {
        const uint8_t code = (uint8_t)b;
        const double want = ref_value(f, code), got = from_small(f->t, code);
        if (!same_value(got, want)) bad_dec++;
        float g32;
        CHECK_OK(px_convert(f->t, &code, PX_F32, &g32, 1));
        if (!same_value((double)g32, want)) bad_f32++;
        for (uint32_t fl = 0; fl <= PX_CONVERT_NO_SATURATE; fl++) {
            /* infinities saturate by default; everything else comes back */
            const unsigned again = isinf(want) && !fl ? ref_encode(f, want, 1) : code;
            const uint8_t back = to_small(PX_F64, &got, f->t, fl);
            if (want != want ? !is_nan_code(f, back) : back != again) bad_trip++;
        }
        uint16_t h;
        CHECK_OK(px_convert(f->t, &code, PX_F16, &h, 1));
        const uint8_t back16 = to_small(PX_F16, &h, f->t, PX_CONVERT_NO_SATURATE);
        if (want != want ? !is_nan_code(f, back16) : back16 != code) bad_f16++;
    }
    CHECK_MSG(bad_dec == 0, "%s: %d codes decode wrongly", f->name, bad_dec);
    CHECK_MSG(bad_f32 == 0, "%s: %d codes decode wrongly to f32", f->name, bad_f32);
    CHECK_MSG(bad_trip == 0, "%s: %d codes do not survive ->f64->", f->name, bad_trip);
    CHECK_MSG(bad_f16 == 0, "%s: %d codes do not survive ->f16->", f->name, bad_f16);
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_rounding(const ref_fmt *f) {
    double vals[300];
    int nv = 0;
    for (int b = 0; b < ref_codes(f); b++) {
        const double v = ref_value(f, (unsigned)b);
        if (v == v && !isinf(v)) vals[nv++] = v;
    }
    qsort(vals, (size_t)nv, sizeof vals[0], cmp_double);
    double step;
    const double mx = ref_max(f, &step);
    double pts[4096];
    int np = 0;
    for (int i = 0; i + 1 < nv; i++) {
        const double lo = vals[i], hi = vals[i + 1], mid = (lo + hi) / 2;
        if (lo == hi) continue; /* +0 and -0 */
        const double p[] = {lo, mid, nextafter(mid, -INFINITY), nextafter(mid, INFINITY), lo + (hi - lo) / 4,
                            hi - (hi - lo) / 4};
        for (size_t k = 0; k < sizeof p / sizeof p[0]; k++) pts[np++] = p[k];
    }
    const double far[] = {mx, mx + step / 2, nextafter(mx + step / 2, 0), nextafter(mx + step / 2, INFINITY),
                          mx + step, 2 * mx, 1e30, 1e300, INFINITY, NAN, 0.0, 1e-300, 4.9e-324};
    for (size_t k = 0; k < sizeof far / sizeof far[0]; k++) {
        pts[np++] = far[k];
        pts[np++] = -far[k];
    }
    int bad = 0, bad32 = 0;
    for (int i = 0; i < np; i++) {
        for (int sat = 0; sat < 2; sat++) {
            const uint32_t fl = sat ? 0u : (uint32_t)PX_CONVERT_NO_SATURATE;
            const unsigned want = ref_encode(f, pts[i], sat);
            const uint8_t got = to_small(PX_F64, &pts[i], f->t, fl);
            if (got != want) {
                if (bad++ < 8)
                    fprintf(stderr, "  %s sat=%d: %.17g -> 0x%02x, want 0x%02x\n", f->name, sat, pts[i], got, want);
            }
            const float p32 = (float)pts[i];
            if ((double)p32 == pts[i] || pts[i] != pts[i]) {
                const uint8_t g32 = to_small(PX_F32, &p32, f->t, fl);
                if (g32 != want) bad32++;
            }
        }
    }
    CHECK_MSG(bad == 0, "%s: %d of %d values round wrongly from f64", f->name, bad, 2 * np);
    CHECK_MSG(bad32 == 0, "%s: %d values round wrongly from f32", f->name, bad32);

    /* integer sources: exact values, rounded once */
    int bad_int = 0;
    for (int64_t v = -70000; v <= 70000; v += 7) {
        const unsigned want = ref_encode(f, (double)v, 1);
        if (to_small(PX_I64, &v, f->t, 0) != want) bad_int++;
        const int32_t v32 = (int32_t)v;
        if (to_small(PX_I32, &v32, f->t, 0) != want) bad_int++;
    }
    const int64_t ext[] = {INT64_MAX, INT64_MIN, (int64_t)1 << 53, -((int64_t)1 << 60) - 1};
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++) {
        if (to_small(PX_I64, &ext[k], f->t, 0) != ref_encode(f, (double)ext[k], 1)) bad_int++;
        if (to_small(PX_I64, &ext[k], f->t, PX_CONVERT_NO_SATURATE) != ref_encode(f, (double)ext[k], 0)) bad_int++;
    }
    const uint64_t u = UINT64_MAX;
    if (to_small(PX_U64, &u, f->t, 0) != ref_encode(f, 1.8446744073709552e19, 1)) bad_int++;
    CHECK_MSG(bad_int == 0, "%s: %d integers convert wrongly", f->name, bad_int);
}

static void test_literals(void) {
    /* spot values from the ONNX Cast tests (test_cast_FLOAT_to_FLOAT8*) */
    const float in[] = {0.47892547f, 0.48033667f, 0.49968487f, 0.81910545f, 0.72290379f, 1e6f, 1e-7f, -1e-7f};
    const double e4m3fn[] = {0.46875, 0.46875, 0.5, 0.8125, 0.75, 448, 0, -0.0};
    const double e5m2[] = {0.5, 0.5, 0.5, 0.875, 0.75, 57344, 0, -0.0};
    for (size_t k = 0; k < sizeof in / sizeof in[0]; k++) {
        CHECK(same_value(from_small(PX_F8E4M3FN, to_small(PX_F32, &in[k], PX_F8E4M3FN, 0)), e4m3fn[k]));
        CHECK(same_value(from_small(PX_F8E5M2, to_small(PX_F32, &in[k], PX_F8E5M2, 0)), e5m2[k]));
        CHECK(from_small(PX_F8E4M3FNUZ, to_small(PX_F32, &in[k], PX_F8E4M3FNUZ, 0)) == (k == 5 ? 240 : e4m3fn[k]));
    }
    const float inf = INFINITY, big = 1e6f, nan = NAN;
    CHECK(to_small(PX_F32, &inf, PX_F8E4M3FN, 0) == 0x7E);
    CHECK(to_small(PX_F32, &inf, PX_F8E4M3FN, PX_CONVERT_NO_SATURATE) == 0x7F);
    CHECK(to_small(PX_F32, &inf, PX_F8E5M2, PX_CONVERT_NO_SATURATE) == 0x7C);
    CHECK(to_small(PX_F32, &big, PX_F8E5M2, PX_CONVERT_NO_SATURATE) == 0x7C);
    CHECK(to_small(PX_F32, &big, PX_F8E5M2FNUZ, PX_CONVERT_NO_SATURATE) == 0x80);
    CHECK(to_small(PX_F32, &inf, PX_F4E2M1, PX_CONVERT_NO_SATURATE) == 0x7);
    CHECK(to_small(PX_F32, &nan, PX_F4E2M1, 0) == 0x8);
    const float m0 = -0.0f;
    CHECK(to_small(PX_F32, &m0, PX_F8E4M3FNUZ, 0) == 0x00);
    CHECK(to_small(PX_F32, &m0, PX_F8E4M3FN, 0) == 0x80);
    /* float16 inputs of test_cast_FLOAT16_to_FLOAT4E2M1 */
    const float f4in[] = {0.48f, 0.25f, 1.05f, -3.5f, -8.0f, 9.0f, 0.01f};
    const double f4out[] = {0.5, 0.0, 1.0, -4.0, -6.0, 6.0, 0.0};
    for (size_t k = 0; k < sizeof f4in / sizeof f4in[0]; k++) {
        const uint16_t h = px_f32_to_f16(f4in[k]);
        CHECK_MSG(from_small(PX_F4E2M1, to_small(PX_F16, &h, PX_F4E2M1, 0)) == f4out[k], "f4 %g", (double)f4in[k]);
    }
}

/* ---- float8 e8m0 --------------------------------------------------------------------- */

static void test_e8m0(void) {
    int bad_dec = 0, bad_trip = 0;
    for (int b = 0; b < 256; b++) {
        const uint8_t code = (uint8_t)b;
        const double want = ref_e8m0_value(code), got = from_small(PX_F8E8M0, code);
        if (!same_value(got, want)) bad_dec++;
        for (uint32_t fl = 0; fl <= PX_CONVERT_ROUND_NEAREST; fl++) {
            if ((fl & 6) == 6) continue;
            if (to_small(PX_F64, &got, PX_F8E8M0, fl) != code) bad_trip++;
            float f = (float)got;
            if (to_small(PX_F32, &f, PX_F8E8M0, fl) != code) bad_trip++;
        }
    }
    CHECK_MSG(bad_dec == 0, "f8e8m0: %d codes decode wrongly", bad_dec);
    CHECK_MSG(bad_trip == 0, "f8e8m0: %d codes do not survive a round trip", bad_trip);

    static const uint32_t mode_flags[3] = {0, PX_CONVERT_ROUND_DOWN, PX_CONVERT_ROUND_NEAREST};
    const double fr[] = {0, 0.125, 0.25, 0.5 - 0x1p-23, 0.5, 0.5 + 0x1p-23, 0.75, 1 - 0x1p-23};
    int bad = 0;
    for (int k = -126; k <= 127; k++)
        for (size_t j = 0; j < sizeof fr / sizeof fr[0]; j++)
            for (int s = 0; s < 2; s++)
                for (int mode = 0; mode < 3; mode++)
                    for (int sat = 0; sat < 2; sat++) {
                        const float v = (float)ldexp((s ? -1.0 : 1.0) * (1.0 + fr[j]), k);
                        const uint32_t fl = mode_flags[mode] | (sat ? 0u : (uint32_t)PX_CONVERT_NO_SATURATE);
                        const unsigned want = ref_e8m0_encode(v, mode, sat);
                        const uint8_t got = to_small(PX_F32, &v, PX_F8E8M0, fl);
                        const double d = v;
                        if (got != want || to_small(PX_F64, &d, PX_F8E8M0, fl) != want) bad++;
                    }
    CHECK_MSG(bad == 0, "f8e8m0: %d values round wrongly", bad);
    const float z = 0.0f, mz = -0.0f, inf = INFINITY, nan = NAN, mx = FLT_MAX;
    CHECK(to_small(PX_F32, &z, PX_F8E8M0, 0) == 0x00 && to_small(PX_F32, &mz, PX_F8E8M0, 0) == 0x00);
    CHECK(to_small(PX_F32, &inf, PX_F8E8M0, 0) == 0xFF && to_small(PX_F32, &nan, PX_F8E8M0, 0) == 0xFF);
    CHECK(to_small(PX_F32, &mx, PX_F8E8M0, 0) == 0xFE);
    CHECK(to_small(PX_F32, &mx, PX_F8E8M0, PX_CONVERT_NO_SATURATE) == 0xFF);
    CHECK(to_small(PX_F32, &mx, PX_F8E8M0, PX_CONVERT_ROUND_DOWN) == 0xFE);
    const double huge = 1e300, tiny = 1e-300;
    CHECK(to_small(PX_F64, &huge, PX_F8E8M0, 0) == 0xFE);
    CHECK(to_small(PX_F64, &tiny, PX_F8E8M0, PX_CONVERT_ROUND_DOWN) == 0x00);
    /* test_cast_e8m0_FLOAT_to_FLOAT8E8M0: 0.124 -> 0.125, 1.1 -> 2 (round up) */
    const float t1 = 0.124f, t2 = 1.1f;
    CHECK(from_small(PX_F8E8M0, to_small(PX_F32, &t1, PX_F8E8M0, 0)) == 0.125);
    CHECK(from_small(PX_F8E8M0, to_small(PX_F32, &t2, PX_F8E8M0, 0)) == 2.0);
    /* integers round exactly: 2^62 + 1 rounds up to 2^63 */
    const int64_t i62 = ((int64_t)1 << 62) + 1;
    CHECK(from_small(PX_F8E8M0, to_small(PX_I64, &i62, PX_F8E8M0, 0)) == 0x1p63);
}

/* ---- sub-byte integers ------------------------------------------------------------- */

typedef struct sub_int {
    px_dtype t;
    const char *name;
    int bits, sgn;
} sub_int;

static const sub_int sub_ints[] = {{PX_I4, "i4", 4, 1}, {PX_U4, "u4", 4, 0}, {PX_I2, "i2", 2, 1}, {PX_U2, "u2", 2, 0}};

/* v modulo 2^bits as the type reads it. */
static int64_t wrap_of(const sub_int *s, int64_t v) {
    const int64_t m = (int64_t)1 << s->bits;
    int64_t r = ((v % m) + m) % m;
    return s->sgn && r >= m / 2 ? r - m : r;
}

static void test_sub_byte(const sub_int *s) {
    const int64_t lo = s->sgn ? -((int64_t)1 << (s->bits - 1)) : 0, hi = s->sgn ? -lo - 1 : ((int64_t)1 << s->bits) - 1;
    static const px_dtype wide[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I8, PX_I16, PX_I32, PX_I64,
                                    PX_U8,  PX_U16, PX_U32,  PX_U64, PX_F8E4M3FN, PX_F8E5M2, PX_I4};
    int bad = 0;
    for (int64_t v = lo; v <= hi; v++) {
        uint8_t b = to_small(PX_I64, &v, s->t, 0);
        /* stored sign-extended (signed types) or zero-extended */
        if ((int64_t)(s->sgn ? (int64_t)(int8_t)b : (int64_t)b) != v) bad++;
        for (size_t k = 0; k < sizeof wide / sizeof wide[0]; k++) {
            const px_dtype w = wide[k];
            const px_dtype_traits *tr = px_dtype_get_traits(w);
            if (v < 0 && !tr->is_signed) continue;
            if ((w == PX_I4 && (v < -8 || v > 7)) || (w == PX_F8E5M2 && v > 8)) continue; /* not exact there */
            uint8_t mid[8];
            CHECK_OK(px_convert(s->t, &b, w, mid, 1));
            const uint8_t back = to_small(w, mid, s->t, 0);
            int64_t as_i64 = 0;
            CHECK_OK(px_convert(w, mid, PX_I64, &as_i64, 1));
            if (back != b || as_i64 != v) {
                if (bad++ < 8) fprintf(stderr, "  %s %lld via %s\n", s->name, (long long)v, tr->name);
            }
        }
    }
    CHECK_MSG(bad == 0, "%s: %d round trips fail", s->name, bad);

    /* reading uses the low bits only */
    for (int byte = 0; byte < 256; byte++) {
        const uint8_t b = (uint8_t)byte;
        int64_t got;
        CHECK_OK(px_convert(s->t, &b, PX_I64, &got, 1));
        const int64_t low = byte & ((1 << s->bits) - 1);
        const int64_t want = s->sgn && low >= (1 << (s->bits - 1)) ? low - (1 << s->bits) : low;
        if (got != want) bad++;
    }
    CHECK_MSG(bad == 0, "%s: bytes read wrongly", s->name);

    /* saturation (default) and wrap-around (PX_CONVERT_NO_SATURATE) */
    for (int64_t v = -40; v <= 40; v++) {
        const int64_t sat = v < lo ? lo : v > hi ? hi : v;
        int64_t got;
        uint8_t b = to_small(PX_I64, &v, s->t, 0);
        CHECK_OK(px_convert(s->t, &b, PX_I64, &got, 1));
        if (got != sat) bad++;
        b = to_small(PX_I64, &v, s->t, PX_CONVERT_NO_SATURATE);
        CHECK_OK(px_convert(s->t, &b, PX_I64, &got, 1));
        if (got != wrap_of(s, v)) bad++;
        const double d = (double)v + (v < 0 ? -0.75 : 0.75); /* truncated toward zero */
        b = to_small(PX_F64, &d, s->t, 0);
        CHECK_OK(px_convert(s->t, &b, PX_I64, &got, 1));
        if (got != sat) bad++;
        b = to_small(PX_F64, &d, s->t, PX_CONVERT_NO_SATURATE);
        CHECK_OK(px_convert(s->t, &b, PX_I64, &got, 1));
        if (got != wrap_of(s, v)) bad++;
    }
    CHECK_MSG(bad == 0, "%s: saturation or wrap-around wrong", s->name);
    const double nan = NAN;
    int64_t z;
    uint8_t b = to_small(PX_F64, &nan, s->t, 0);
    CHECK_OK(px_convert(s->t, &b, PX_I64, &z, 1));
    CHECK(z == 0);
}

/* Every 4-bit float code through every dtype that holds it exactly, and back. */
static void test_f4_all_pairs(void) {
    int bad = 0;
    for (int c = 0; c < 16; c++) {
        const uint8_t code = (uint8_t)c;
        for (int t = 0; t < PX_DTYPE_COUNT; t++) {
            const px_dtype_traits *tr = px_dtype_get_traits((px_dtype)t);
            if (!tr->is_float || t == PX_F8E8M0) continue;
            uint8_t mid[8];
            CHECK_OK(px_convert(PX_F4E2M1, &code, (px_dtype)t, mid, 1));
            if (to_small((px_dtype)t, mid, PX_F4E2M1, 0) != code) {
                /* FNUZ types have no -0 */
                if (!(c == 8 && (t == PX_F8E4M3FNUZ || t == PX_F8E5M2FNUZ))) bad++;
            }
        }
    }
    CHECK_MSG(bad == 0, "f4e2m1: %d round trips fail", bad);
}

/* ---- integers wrap around with PX_CONVERT_NO_SATURATE; argument checks -------------- */

static void test_wrap_and_args(void) {
    const double d[] = {300.7, -1.5, 1e20, -129.0, NAN, INFINITY};
    uint8_t u8[6], b8[6];
    int8_t i8[6];
    int64_t i64[6];
    CHECK_OK(px_convert_ex(PX_F64, d, PX_U8, u8, 6, PX_CONVERT_NO_SATURATE));
    CHECK_OK(px_convert_ex(PX_F64, d, PX_I8, i8, 6, PX_CONVERT_NO_SATURATE));
    CHECK_OK(px_convert_ex(PX_F64, d, PX_I64, i64, 6, PX_CONVERT_NO_SATURATE));
    CHECK_OK(px_convert_ex(PX_F64, d, PX_BOOL, b8, 6, PX_CONVERT_NO_SATURATE));
    CHECK(u8[0] == 44 && u8[1] == 255 && u8[3] == 127 && u8[4] == 0);
    CHECK(i8[0] == 44 && i8[1] == -1 && i8[3] == 127);
    CHECK(i64[2] == (int64_t)(100000000000000000000.0 - 5.0 * 18446744073709551616.0));
    CHECK(b8[0] == 1 && b8[4] == 1 && b8[5] == 1);
    const int64_t big[2] = {0x123456789, -1};
    uint16_t u16[2];
    CHECK_OK(px_convert_ex(PX_I64, big, PX_U16, u16, 2, PX_CONVERT_NO_SATURATE));
    CHECK(u16[0] == 0x6789 && u16[1] == 0xFFFF);

    /* a block source with flags */
    float f[32];
    for (int i = 0; i < 32; i++) f[i] = i == 0 ? 1000.0f : 1.0f;
    uint8_t q[34], o[32];
    CHECK_OK(px_from_f32(f, PX_Q8_0, q, 32));
    CHECK_OK(px_convert(PX_Q8_0, q, PX_F8E4M3FN, o, 32));
    CHECK(o[0] == 0x7E);
    CHECK_OK(px_convert_ex(PX_Q8_0, q, PX_F8E4M3FN, o, 32, PX_CONVERT_NO_SATURATE));
    CHECK(o[0] == 0x7F);

    uint8_t x = 0;
    const float one = 1.0f;
    CHECK(px_convert_ex(PX_F32, &one, PX_F8E8M0, &x, 1, 8) == PX_ERR_INVALID_ARG);
    CHECK(px_convert_ex(PX_F32, &one, PX_F8E8M0, &x, 1, PX_CONVERT_ROUND_DOWN | PX_CONVERT_ROUND_NEAREST) ==
          PX_ERR_INVALID_ARG);
    CHECK(px_convert_ex(PX_F32, &one, PX_F8E8M0, &x, 1, PX_CONVERT_ROUND_NEAREST) == PX_OK && x == 127);
}

int main(void) {
    for (int i = 0; i < REF_N_FMTS; i++) {
        test_codes(&ref_fmts[i]);
        test_rounding(&ref_fmts[i]);
    }
    test_literals();
    test_e8m0();
    for (size_t i = 0; i < sizeof sub_ints / sizeof sub_ints[0]; i++) test_sub_byte(&sub_ints[i]);
    test_f4_all_pairs();
    test_wrap_and_args();
    return px_test_finish("dtype_small");
}
