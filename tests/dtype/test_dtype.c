/* Tests of the dtype library (include/plexus/dtype.h, core/common/quant.h).
 *
 *   test_dtype        traits, row sizes, f16/bf16 (exhaustive), integer rules,
 *                     px_convert over every pair of dtypes, hand-built blocks of
 *                     every block type, quantization round trips
 *   test_dtype gguf   cross-check against tensors of the stories260K GGUF files
 *                     in PLEXUS_SHARED_DIR (exit 77 when they are absent)
 *
 * Expected values for the block types are computed here from the layout as
 * bit positions (element e -> bit offsets of its fields), independently of
 * how the library walks the blocks.
 */
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "plexus/plexus.h"
#include "small_ref.h"
#include "test.h"
#include "test_rng.h"
#include "quant.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- small helpers --------------------------------------------------------- */

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int same_float(float a, float b) { return bits_of(a) == bits_of(b); }

/* Set `nbits` bits of v at absolute bit position pos (LSB-first bytes). */
static void set_bits(uint8_t *b, int pos, int nbits, unsigned v) {
    for (int k = 0; k < nbits; k++) {
        const int p = pos + k;
        if ((v >> k) & 1u)
            b[p / 8] |= (uint8_t)(1u << (p % 8));
        else
            b[p / 8] &= (uint8_t)~(1u << (p % 8));
    }
}

/* A random f16-representable scale in [lo, hi), stored little-endian at byte. */
static float put_scale(uint8_t *b, int byte, float lo, float hi) {
    const uint16_t h = px_f32_to_f16(lo + (hi - lo) * rng_uniform());
    set_bits(b, 8 * byte, 16, h);
    return px_f16_to_f32(h);
}

/* ---- traits and sizes ------------------------------------------------------- */

static void test_traits(void) {
    static const struct {
        px_dtype t;
        const char *name;
        int bs, ts, q, f, i, s;
    } want[] = {
        {PX_F32, "f32", 1, 4, 0, 1, 0, 1},       {PX_F16, "f16", 1, 2, 0, 1, 0, 1},
        {PX_BF16, "bf16", 1, 2, 0, 1, 0, 1},     {PX_F64, "f64", 1, 8, 0, 1, 0, 1},
        {PX_I8, "i8", 1, 1, 0, 0, 1, 1},         {PX_I16, "i16", 1, 2, 0, 0, 1, 1},
        {PX_I32, "i32", 1, 4, 0, 0, 1, 1},       {PX_I64, "i64", 1, 8, 0, 0, 1, 1},
        {PX_U8, "u8", 1, 1, 0, 0, 1, 0},         {PX_U16, "u16", 1, 2, 0, 0, 1, 0},
        {PX_U32, "u32", 1, 4, 0, 0, 1, 0},       {PX_U64, "u64", 1, 8, 0, 0, 1, 0},
        {PX_BOOL, "bool", 1, 1, 0, 0, 1, 0},     {PX_Q4_0, "q4_0", 32, 18, 1, 0, 0, 1},
        {PX_Q4_1, "q4_1", 32, 20, 1, 0, 0, 1},   {PX_Q5_0, "q5_0", 32, 22, 1, 0, 0, 1},
        {PX_Q5_1, "q5_1", 32, 24, 1, 0, 0, 1},   {PX_Q8_0, "q8_0", 32, 34, 1, 0, 0, 1},
        {PX_Q2_K, "q2_k", 256, 84, 1, 0, 0, 1},  {PX_Q3_K, "q3_k", 256, 110, 1, 0, 0, 1},
        {PX_Q4_K, "q4_k", 256, 144, 1, 0, 0, 1}, {PX_Q5_K, "q5_k", 256, 176, 1, 0, 0, 1},
        {PX_Q6_K, "q6_k", 256, 210, 1, 0, 0, 1}, {PX_IQ4_NL, "iq4_nl", 32, 18, 1, 0, 0, 1},
        {PX_F8E4M3FN, "f8e4m3fn", 1, 1, 0, 1, 0, 1},     {PX_F8E4M3FNUZ, "f8e4m3fnuz", 1, 1, 0, 1, 0, 1},
        {PX_F8E5M2, "f8e5m2", 1, 1, 0, 1, 0, 1},         {PX_F8E5M2FNUZ, "f8e5m2fnuz", 1, 1, 0, 1, 0, 1},
        {PX_F8E8M0, "f8e8m0", 1, 1, 0, 1, 0, 0},         {PX_F4E2M1, "f4e2m1", 1, 1, 0, 1, 0, 1},
        {PX_I4, "i4", 1, 1, 0, 0, 1, 1},                 {PX_U4, "u4", 1, 1, 0, 0, 1, 0},
        {PX_I2, "i2", 1, 1, 0, 0, 1, 1},                 {PX_U2, "u2", 1, 1, 0, 0, 1, 0},
    };
    CHECK(sizeof want / sizeof want[0] == PX_DTYPE_COUNT);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const px_dtype_traits *tr = px_dtype_get_traits(want[k].t);
        CHECK_MSG(tr != NULL, "%s", want[k].name);
        if (!tr) continue;
        CHECK_MSG(strcmp(tr->name, want[k].name) == 0, "%s vs %s", tr->name, want[k].name);
        CHECK_MSG(tr->block_size == want[k].bs && tr->type_size == want[k].ts, "%s", want[k].name);
        CHECK_MSG(tr->is_quantized == want[k].q && tr->is_float == want[k].f &&
                      tr->is_integer == want[k].i && tr->is_signed == want[k].s,
                  "%s flags", want[k].name);
        CHECK(strcmp(px_dtype_name(want[k].t), want[k].name) == 0);
        px_dtype t = PX_DTYPE_COUNT;
        CHECK(px_dtype_from_name(want[k].name, &t) == 0 && t == want[k].t);
        char upper[24];
        size_t j = 0;
        for (; want[k].name[j] && j + 1 < sizeof upper; j++) {
            const char c = want[k].name[j];
            upper[j] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
        upper[j] = 0;
        t = PX_DTYPE_COUNT;
        CHECK_MSG(px_dtype_from_name(upper, &t) == 0 && t == want[k].t, "%s", upper);
        /* the layouts of quant.h agree with the traits */
        if (tr->is_quantized) CHECK(px_dequantize_row_get(want[k].t) && px_quantize_row_get(want[k].t));
    }
    CHECK(px_dtype_get_traits(PX_DTYPE_COUNT) == NULL);
    CHECK(px_dtype_get_traits((px_dtype)-1) == NULL);
    CHECK(strcmp(px_dtype_name(PX_DTYPE_COUNT), "invalid") == 0);
    CHECK(strcmp(px_dtype_name((px_dtype)1000), "invalid") == 0);
    px_dtype t = PX_F16;
    CHECK(px_dtype_from_name("q4_2", &t) == -1 && t == PX_F16);
    CHECK(px_dtype_from_name("", &t) == -1);
    CHECK(px_dtype_from_name("f3", &t) == -1);
    CHECK(px_dtype_from_name("f322", &t) == -1);
    CHECK(px_dtype_from_name("invalid", &t) == -1);
    CHECK(px_dtype_from_name(NULL, &t) == -1);
    CHECK(px_dequantize_row_get(PX_DTYPE_COUNT) == NULL && px_quantize_row_get(PX_DTYPE_COUNT) == NULL);
}

static void test_row_size(void) {
    CHECK(px_dtype_row_size(PX_F32, 0) == 0);
    CHECK(px_dtype_row_size(PX_F32, 10) == 40);
    CHECK(px_dtype_row_size(PX_F16, 3) == 6);
    CHECK(px_dtype_row_size(PX_BOOL, 7) == 7);
    CHECK(px_dtype_row_size(PX_F64, 5) == 40);
    CHECK(px_dtype_row_size(PX_Q4_0, 64) == 36);
    CHECK(px_dtype_row_size(PX_Q8_0, 32) == 34);
    CHECK(px_dtype_row_size(PX_Q6_K, 512) == 420);
    CHECK(px_dtype_row_size(PX_IQ4_NL, 4096) == 128 * 18);
    CHECK(px_dtype_row_size(PX_Q4_0, 33) == -1);
    CHECK(px_dtype_row_size(PX_Q4_K, 32) == -1);
    CHECK(px_dtype_row_size(PX_Q2_K, 255) == -1);
    CHECK(px_dtype_row_size(PX_F32, -1) == -1);
    CHECK(px_dtype_row_size(PX_Q4_0, -32) == -1);
    CHECK(px_dtype_row_size(PX_DTYPE_COUNT, 4) == -1);
    CHECK(px_dtype_row_size((px_dtype)-3, 4) == -1);
    /* overflow of int64 */
    CHECK(px_dtype_row_size(PX_F32, INT64_MAX / 4) == INT64_MAX / 4 * 4);
    CHECK(px_dtype_row_size(PX_F32, INT64_MAX / 4 + 1) == -1);
    CHECK(px_dtype_row_size(PX_F64, INT64_MAX) == -1);
    CHECK(px_dtype_row_size(PX_U8, INT64_MAX) == INT64_MAX);
    /* Q8_0 is the one block type with more bytes than elements */
    const int64_t n8 = INT64_MAX / 32 * 32, fit8 = INT64_MAX / 34 * 32;
    CHECK(px_dtype_row_size(PX_Q8_0, n8) == -1);
    CHECK(px_dtype_row_size(PX_Q8_0, fit8) == INT64_MAX / 34 * 34);
    CHECK(px_dtype_row_size(PX_Q8_0, fit8 + 32) == -1);
    CHECK(px_dtype_row_size(PX_Q6_K, INT64_MAX / 256 * 256) == INT64_MAX / 256 * 210);
}

/* ---- f16 / bf16 ------------------------------------------------------------------ */

/* Value of a half from its fields (independent of the library). */
static double f16_value(uint16_t h) {
    const int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (double)INFINITY : ldexp(1024 + m, e - 25);
    return (h & 0x8000) ? -v : v;
}

static void test_f16(void) {
    int bad_trip = 0, bad_value = 0, bad_nan = 0, bad_round = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = px_f16_to_f32((uint16_t)h);
        const int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        const uint16_t back = px_f32_to_f16(f);
        if (is_nan) {
            const int back_nan = (back & 0x7c00) == 0x7c00 && (back & 0x3ff);
            if (!(f != f) || !!signbit(f) != !!(h & 0x8000) || !back_nan || (back & 0x8000) != (h & 0x8000))
                bad_nan++;
            continue;
        }
        if (back != h) bad_trip++;
        if ((double)f != f16_value((uint16_t)h) || !!signbit(f) != !!(h & 0x8000)) bad_value++;
    }
    CHECK_MSG(bad_trip == 0, "%d f16 patterns do not survive f16->f32->f16", bad_trip);
    CHECK_MSG(bad_value == 0, "%d f16 patterns decode to a wrong value", bad_value);
    CHECK_MSG(bad_nan == 0, "%d f16 NaNs are not kept as NaN with their sign", bad_nan);

    /* Rounding: between two neighbouring halves, the midpoint goes to the
     * even one, anything off the midpoint to the nearer one. */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        const double lo = f16_value((uint16_t)h);
        const double hi = h + 1 == 0x7c00 ? 65536.0 : f16_value((uint16_t)(h + 1));
        const float mid = (float)((lo + hi) / 2); /* exact: 12 significant bits */
        const uint32_t even = (h & 1) ? h + 1 : h;
        for (int s = 0; s < 2; s++) {
            const uint16_t sg = s ? 0x8000 : 0;
            const float m = s ? -mid : mid;
            if (px_f32_to_f16(m) != (uint16_t)(even | sg)) bad_round++;
            if (px_f32_to_f16(nextafterf(m, 0.0f)) != (uint16_t)(h | sg)) bad_round++;
            if (px_f32_to_f16(nextafterf(m, s ? -INFINITY : INFINITY)) != (uint16_t)((h + 1) | sg)) bad_round++;
        }
    }
    CHECK_MSG(bad_round == 0, "%d f32->f16 rounding errors", bad_round);

    CHECK(px_f32_to_f16(1.0f) == 0x3c00);
    CHECK(px_f32_to_f16(-2.0f) == 0xc000);
    CHECK(px_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(px_f32_to_f16(65519.996f) == 0x7bff);
    CHECK(px_f32_to_f16(65520.0f) == 0x7c00);
    CHECK(px_f32_to_f16(1e10f) == 0x7c00);
    CHECK(px_f32_to_f16(-FLT_MAX) == 0xfc00);
    CHECK(px_f32_to_f16(INFINITY) == 0x7c00);
    CHECK(px_f32_to_f16(-INFINITY) == 0xfc00);
    CHECK(px_f32_to_f16(0.0f) == 0x0000);
    CHECK(px_f32_to_f16(-0.0f) == 0x8000);
    CHECK(px_f32_to_f16(ldexpf(1.0f, -24)) == 0x0001);
    CHECK(px_f32_to_f16(ldexpf(1.0f, -25)) == 0x0000); /* tie -> even (zero) */
    CHECK(px_f32_to_f16(nextafterf(ldexpf(1.0f, -25), 1.0f)) == 0x0001);
    CHECK(px_f32_to_f16(ldexpf(3.0f, -25)) == 0x0002);  /* tie -> even */
    CHECK(px_f32_to_f16(ldexpf(1.0f, -14)) == 0x0400);  /* smallest normal */
    CHECK(px_f32_to_f16(ldexpf(1023.5f, -24)) == 0x0400); /* rounds up into normal */
    CHECK(px_f32_to_f16(FLT_TRUE_MIN) == 0x0000);
    CHECK(px_f32_to_f16(-FLT_TRUE_MIN) == 0x8000);
    CHECK(px_f32_to_f16(1.0f + ldexpf(1.0f, -11)) == 0x3c00);
    CHECK(px_f32_to_f16(1.0f + ldexpf(3.0f, -11)) == 0x3c02);
    const uint16_t qn = px_f32_to_f16(NAN);
    CHECK((qn & 0x7c00) == 0x7c00 && (qn & 0x3ff) != 0);
    const uint16_t sn = px_f32_to_f16(float_of(0x7f800001u)); /* payload only in low bits */
    CHECK((sn & 0x7c00) == 0x7c00 && (sn & 0x3ff) != 0);
    const uint16_t nn = px_f32_to_f16(float_of(0xffc00000u));
    CHECK((nn & 0xfc00) == 0xfc00 && (nn & 0x3ff) != 0);
    CHECK(same_float(px_f16_to_f32(0x8000), -0.0f));
    CHECK(px_f16_to_f32(0x7c00) == INFINITY && px_f16_to_f32(0xfc00) == -INFINITY);
    CHECK(px_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    CHECK(px_f16_to_f32(0x3555) == 0.333251953125f);
}

static void test_bf16(void) {
    int bad_trip = 0, bad_round = 0, bad_nan = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = px_bf16_to_f32((uint16_t)h);
        const int is_nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        const uint16_t back = px_f32_to_bf16(f);
        if (is_nan) {
            if (!(f != f) || !((back & 0x7f80) == 0x7f80 && (back & 0x7f)) || (back & 0x8000) != (h & 0x8000))
                bad_nan++;
            continue;
        }
        if (bits_of(f) != h << 16 || back != h) bad_trip++;
    }
    CHECK_MSG(bad_trip == 0, "%d bf16 patterns do not survive bf16->f32->bf16", bad_trip);
    CHECK_MSG(bad_nan == 0, "%d bf16 NaNs broken", bad_nan);
    for (uint32_t h = 0; h < 0x7f80; h++) {
        const uint32_t mid = (h << 16) | 0x8000u; /* halfway to the next bf16 */
        const uint32_t even = (h & 1) ? h + 1 : h;
        for (int s = 0; s < 2; s++) {
            const uint32_t sg = s ? 0x80000000u : 0u;
            const uint16_t s16 = (uint16_t)(sg >> 16);
            if (px_f32_to_bf16(float_of(mid | sg)) != (uint16_t)(even | s16)) bad_round++;
            if (px_f32_to_bf16(float_of((mid - 1) | sg)) != (uint16_t)(h | s16)) bad_round++;
            if (px_f32_to_bf16(float_of((mid + 1) | sg)) != (uint16_t)((h + 1) | s16)) bad_round++;
        }
    }
    CHECK_MSG(bad_round == 0, "%d f32->bf16 rounding errors", bad_round);
    const uint16_t sn = px_f32_to_bf16(float_of(0x7f800001u)); /* must not become inf */
    CHECK((sn & 0x7f80) == 0x7f80 && (sn & 0x7f) != 0);
    const uint16_t sn2 = px_f32_to_bf16(float_of(0xff80ffffu));
    CHECK((sn2 & 0xff80) == 0xff80 && (sn2 & 0x7f) != 0);
    CHECK(px_f32_to_bf16(FLT_MAX) == 0x7f80); /* above the largest bf16 + half an ulp */
    CHECK(px_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(px_f32_to_bf16(-0.0f) == 0x8000);
}

/* ---- integer rules and px_convert over plain types ------------------------------- */

static void test_int_rules(void) {
    const float fin[] = {-200.7f, -128.5f, -1.9f, -0.5f, -0.0f, 0.5f, 1.9f, 127.4f, 300.0f, NAN, INFINITY, -INFINITY};
    enum { NF = sizeof fin / sizeof fin[0] };
    const int8_t want_i8[NF] = {-128, -128, -1, 0, 0, 0, 1, 127, 127, 0, 127, -128};
    const uint8_t want_u8[NF] = {0, 0, 0, 0, 0, 0, 1, 127, 255, 0, 255, 0};
    const int32_t want_i32[NF] = {-200, -128, -1, 0, 0, 0, 1, 127, 300, 0, INT32_MAX, INT32_MIN};
    const uint8_t want_bool[NF] = {1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1};
    int8_t o8[NF];
    uint8_t ou8[NF], ob[NF];
    int32_t o32[NF];
    CHECK_OK(px_convert(PX_F32, fin, PX_I8, o8, NF));
    CHECK_OK(px_convert(PX_F32, fin, PX_U8, ou8, NF));
    CHECK_OK(px_convert(PX_F32, fin, PX_I32, o32, NF));
    CHECK_OK(px_convert(PX_F32, fin, PX_BOOL, ob, NF));
    for (int k = 0; k < NF; k++) {
        CHECK_MSG(o8[k] == want_i8[k], "f32 %g -> i8 %d", (double)fin[k], o8[k]);
        CHECK_MSG(ou8[k] == want_u8[k], "f32 %g -> u8 %d", (double)fin[k], ou8[k]);
        CHECK_MSG(o32[k] == want_i32[k], "f32 %g -> i32 %d", (double)fin[k], (int)o32[k]);
        CHECK_MSG(ob[k] == want_bool[k], "f32 %g -> bool %d", (double)fin[k], ob[k]);
    }

    const double din[] = {9.3e18, -9.3e18, 9223372036854775808.0, -9223372036854775808.0, 1e300, -1e300,
                          NAN,    -0.99,   1.8446744073709552e19, 4294967295.9, 123456789012.75};
    enum { ND = sizeof din / sizeof din[0] };
    const int64_t want_i64[ND] = {INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN,
                                  0,         0,         INT64_MAX, 4294967295, 123456789012};
    const uint64_t want_u64[ND] = {9300000000000000000ull, 0, 9223372036854775808ull, 0, UINT64_MAX, 0,
                                   0, 0, UINT64_MAX, 4294967295ull, 123456789012ull};
    const uint32_t want_u32[ND] = {UINT32_MAX, 0, UINT32_MAX, 0, UINT32_MAX, 0, 0, 0, UINT32_MAX, UINT32_MAX, UINT32_MAX};
    int64_t o64[ND];
    uint64_t ou64[ND];
    uint32_t ou32[ND];
    CHECK_OK(px_convert(PX_F64, din, PX_I64, o64, ND));
    CHECK_OK(px_convert(PX_F64, din, PX_U64, ou64, ND));
    CHECK_OK(px_convert(PX_F64, din, PX_U32, ou32, ND));
    for (int k = 0; k < ND; k++) {
        CHECK_MSG(o64[k] == want_i64[k], "f64 %g -> i64 %lld", din[k], (long long)o64[k]);
        CHECK_MSG(ou64[k] == want_u64[k], "f64 %g -> u64 %llu", din[k], (unsigned long long)ou64[k]);
        CHECK_MSG(ou32[k] == want_u32[k], "f64 %g -> u32 %u", din[k], (unsigned)ou32[k]);
    }

    /* integer -> integer saturation */
    const int64_t iin[] = {INT64_MAX, INT64_MIN, -5000000000ll, -1, 0, 70000, 255, 256, -129};
    enum { NI = sizeof iin / sizeof iin[0] };
    const int32_t w32[NI] = {INT32_MAX, INT32_MIN, INT32_MIN, -1, 0, 70000, 255, 256, -129};
    const uint16_t wu16[NI] = {65535, 0, 0, 0, 0, 65535, 255, 256, 0};
    const int8_t wi8[NI] = {127, -128, -128, -1, 0, 127, 127, 127, -128};
    const uint64_t wu64[NI] = {(uint64_t)INT64_MAX, 0, 0, 0, 0, 70000, 255, 256, 0};
    const uint8_t wb[NI] = {1, 1, 1, 1, 0, 1, 1, 1, 1};
    int32_t r32[NI];
    uint16_t ru16[NI];
    int8_t ri8[NI];
    uint64_t ru64[NI];
    uint8_t rb[NI];
    CHECK_OK(px_convert(PX_I64, iin, PX_I32, r32, NI));
    CHECK_OK(px_convert(PX_I64, iin, PX_U16, ru16, NI));
    CHECK_OK(px_convert(PX_I64, iin, PX_I8, ri8, NI));
    CHECK_OK(px_convert(PX_I64, iin, PX_U64, ru64, NI));
    CHECK_OK(px_convert(PX_I64, iin, PX_BOOL, rb, NI));
    for (int k = 0; k < NI; k++) {
        CHECK_MSG(r32[k] == w32[k] && ru16[k] == wu16[k] && ri8[k] == wi8[k] && ru64[k] == wu64[k] &&
                      rb[k] == wb[k],
                  "i64 %lld", (long long)iin[k]);
    }
    const uint64_t uin[] = {UINT64_MAX, (uint64_t)INT64_MAX + 1, 300, 0};
    int64_t s64[4];
    int8_t s8[4];
    float sf[4];
    CHECK_OK(px_convert(PX_U64, uin, PX_I64, s64, 4));
    CHECK_OK(px_convert(PX_U64, uin, PX_I8, s8, 4));
    CHECK_OK(px_convert(PX_U64, uin, PX_F32, sf, 4));
    CHECK(s64[0] == INT64_MAX && s64[1] == INT64_MAX && s64[2] == 300 && s64[3] == 0);
    CHECK(s8[0] == 127 && s8[2] == 127 && s8[3] == 0);
    CHECK(sf[0] == 18446744073709551616.0f && sf[2] == 300.0f);
    const uint32_t u32in[2] = {UINT32_MAX, 7};
    int32_t i32o[2];
    CHECK_OK(px_convert(PX_U32, u32in, PX_I32, i32o, 2));
    CHECK(i32o[0] == INT32_MAX && i32o[1] == 7);

    /* bool sources: any non-zero byte is true */
    const uint8_t bin[4] = {0, 1, 2, 255};
    float bf[4];
    int64_t bi[4];
    uint8_t bb[4];
    CHECK_OK(px_convert(PX_BOOL, bin, PX_F32, bf, 4));
    CHECK_OK(px_convert(PX_BOOL, bin, PX_I64, bi, 4));
    CHECK_OK(px_convert(PX_BOOL, bin, PX_U8, bb, 4));
    CHECK(bf[0] == 0.0f && bf[1] == 1.0f && bf[2] == 1.0f && bf[3] == 1.0f);
    CHECK(bi[0] == 0 && bi[1] == 1 && bi[2] == 1 && bi[3] == 1);
    CHECK(bb[0] == 0 && bb[3] == 1);

    /* wide -> narrow floats round once (no double rounding) */
    const double d16[3] = {1.0 + ldexp(1, -11) + ldexp(1, -40), 1.0 + ldexp(1, -11), 1e-300};
    uint16_t h16[3], hb[3];
    CHECK_OK(px_convert(PX_F64, d16, PX_F16, h16, 3));
    CHECK(h16[0] == 0x3c01 && h16[1] == 0x3c00 && h16[2] == 0);
    const double dbf[2] = {1.0 + ldexp(1, -8) + ldexp(1, -30), 1e300};
    CHECK_OK(px_convert(PX_F64, dbf, PX_BF16, hb, 2));
    CHECK(hb[0] == 0x3f81 && hb[1] == 0x7f80);
    const int64_t ibf[3] = {(1ll << 62) + (1ll << 54) + 1, (1ll << 62) + (1ll << 54), -((1ll << 62) + (1ll << 54) + 1)};
    CHECK_OK(px_convert(PX_I64, ibf, PX_BF16, hb, 3));
    CHECK(hb[0] == 0x5e81 && hb[1] == 0x5e80 && hb[2] == 0xde81);
    const int64_t i53[2] = {(1ll << 53) + 1, 65520};
    double o53[2];
    CHECK_OK(px_convert(PX_I64, i53, PX_F64, o53, 2));
    CHECK(o53[0] == 9007199254740992.0);
    CHECK_OK(px_convert(PX_I64, i53, PX_F16, h16, 2));
    CHECK(h16[1] == 0x7c00);
    const float fbig[2] = {3e38f, -1.5f};
    double dbig[2];
    CHECK_OK(px_convert(PX_F32, fbig, PX_F64, dbig, 2));
    CHECK(dbig[0] == (double)3e38f && dbig[1] == -1.5);
}

/* Store v (a small integer) as element i of a plain-typed array. */
static void put_plain(px_dtype t, void *p, int64_t i, double v) {
    CHECK_OK(px_convert(PX_F64, &v, t, (uint8_t *)p + i * px_dtype_get_traits(t)->type_size, 1));
}

/* What value v becomes in plain dtype t under the documented rules (v is
 * small and not negative, so of the integer ranges only the tops of the
 * sub-byte types matter; small floats follow small_ref.h). */
static double expect_plain(px_dtype t, double v) {
    const ref_fmt *sf = ref_fmt_of(t);
    if (sf) return ref_value(sf, ref_encode(sf, v, 1));
    switch (t) {
    case PX_F32: return (float)v;
    case PX_F64: return v;
    case PX_F16: return f16_value(px_f32_to_f16((float)v));
    case PX_BF16: return px_bf16_to_f32(px_f32_to_bf16((float)v));
    case PX_BOOL: return v != 0;
    case PX_F8E8M0: return fabs(v) < 0x1p-127 ? 0x1p-127 : ref_e8m0_value(ref_e8m0_encode(v, 0, 1));
    case PX_I4: return fmin(trunc(v), 7);
    case PX_U4: return fmin(trunc(v), 15);
    case PX_I2: return fmin(trunc(v), 1);
    case PX_U2: return fmin(trunc(v), 3);
    default: {
        const double tr = trunc(v);
        return !px_dtype_get_traits(t)->is_signed && tr < 0 ? 0.0 : tr;
    }
    }
}

/* Every pair of dtypes converts, and small integers (exact in every plain
 * type but the small ones, and close in every block type) come back as the
 * rules say. */
static void test_all_pairs(void) {
    enum { N = 512 };
    static double vals[N];
    static uint8_t src[N * 8], dst[N * 8];
    static double back[N];
    for (int i = 0; i < N; i++) vals[i] = (double)((i * 7) % 16);
    int n_pairs = 0;
    for (int st = 0; st < PX_DTYPE_COUNT; st++) {
        for (int dt = 0; dt < PX_DTYPE_COUNT; dt++) {
            const px_dtype_traits *ts = px_dtype_get_traits((px_dtype)st), *td = px_dtype_get_traits((px_dtype)dt);
            double want[N];
            if (ts->is_quantized) {
                float f[N];
                for (int i = 0; i < N; i++) f[i] = (float)vals[i];
                CHECK_OK(px_from_f32(f, (px_dtype)st, src, N));
                CHECK_OK(px_to_f32((px_dtype)st, src, f, N));
                for (int i = 0; i < N; i++) want[i] = f[i];
            } else {
                for (int i = 0; i < N; i++) {
                    put_plain((px_dtype)st, src, i, vals[i]);
                    want[i] = expect_plain((px_dtype)st, vals[i]);
                }
            }
            if (!td->is_quantized)
                for (int i = 0; i < N; i++) want[i] = expect_plain((px_dtype)dt, want[i]);
            memset(dst, 0xa5, sizeof dst);
            const px_status s = px_convert((px_dtype)st, src, (px_dtype)dt, dst, N);
            CHECK_MSG(s == PX_OK, "%s -> %s: %d", ts->name, td->name, (int)s);
            if (s != PX_OK) continue;
            CHECK_OK(px_convert((px_dtype)dt, dst, PX_F64, back, N));
            double err = 0, sig = 0;
            for (int i = 0; i < N; i++) {
                err += (back[i] - want[i]) * (back[i] - want[i]);
                sig += want[i] * want[i];
            }
            if (!td->is_quantized) {
                CHECK_MSG(err == 0, "%s -> %s not exact", ts->name, td->name);
            } else {
                CHECK_MSG(sqrt(err / sig) < 0.3, "%s -> %s rel rmse %g", ts->name, td->name, sqrt(err / sig));
            }
            n_pairs++;
        }
    }
    CHECK(n_pairs == PX_DTYPE_COUNT * PX_DTYPE_COUNT);

    /* argument errors */
    float f[64] = {0};
    uint8_t q[64 * 4];
    CHECK(px_convert(PX_F32, f, PX_Q4_0, q, 33) == PX_ERR_INVALID_ARG);
    CHECK(px_convert(PX_Q4_K, q, PX_F32, f, 32) == PX_ERR_INVALID_ARG);
    CHECK(px_convert(PX_F32, f, PX_F16, q, -1) == PX_ERR_INVALID_ARG);
    CHECK(px_convert(PX_DTYPE_COUNT, f, PX_F16, q, 1) == PX_ERR_INVALID_ARG);
    CHECK(px_convert(PX_F32, f, (px_dtype)-1, q, 1) == PX_ERR_INVALID_ARG);
    CHECK(px_convert(PX_F32, NULL, PX_F16, q, 1) == PX_ERR_INVALID_ARG);
    CHECK(px_convert(PX_F32, f, PX_F16, NULL, 1) == PX_ERR_INVALID_ARG);
    CHECK(px_convert(PX_F32, NULL, PX_F16, NULL, 0) == PX_OK);
    CHECK(px_to_f32(PX_Q8_0, q, f, 31) == PX_ERR_INVALID_ARG);
    CHECK(px_from_f32(f, PX_Q8_0, q, 48) == PX_ERR_INVALID_ARG);
    CHECK(px_dequantize_row(PX_Q6_K, q, f, 128) == PX_ERR_INVALID_ARG);
    CHECK(px_quantize_row(PX_DTYPE_COUNT, f, q, 32) == PX_ERR_INVALID_ARG);
    CHECK(px_quantize_row(PX_Q4_0, f, q, 64) == PX_OK);
    CHECK(px_dequantize_row(PX_Q4_0, q, f, 64) == PX_OK);
    CHECK(px_dequantize_row(PX_I16, q, f, 3) == PX_OK);
}

/* ---- hand-built blocks ----------------------------------------------------------- */

static const int8_t iq4nl_codebook[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* Build one block of type t with random fields, written bit by bit at the
 * positions the format defines; store the values it must decode to. */
static void build_block(px_dtype t, uint8_t *b, float *want) {
    const int ts = px_dtype_get_traits(t)->type_size;
    for (int i = 0; i < ts; i++) b[i] = (uint8_t)rng_u32(); /* fields not set below stay random */
    switch (t) {
    case PX_Q4_0:
    case PX_IQ4_NL: {
        const float d = put_scale(b, 0, -0.05f, 0.05f);
        for (int e = 0; e < 32; e++) {
            const unsigned q = rng_u32() & 15;
            set_bits(b, 8 * (2 + e % 16) + 4 * (e / 16), 4, q);
            want[e] = t == PX_Q4_0 ? (float)((int)q - 8) * d : d * (float)iq4nl_codebook[q];
        }
        break;
    }
    case PX_Q4_1: {
        const float d = put_scale(b, 0, 0.0f, 0.05f), m = put_scale(b, 2, -1.0f, 1.0f);
        for (int e = 0; e < 32; e++) {
            const unsigned q = rng_u32() & 15;
            set_bits(b, 8 * (4 + e % 16) + 4 * (e / 16), 4, q);
            want[e] = (float)q * d + m;
        }
        break;
    }
    case PX_Q5_0:
    case PX_Q5_1: {
        const int has_m = t == PX_Q5_1, qh = has_m ? 4 : 2, qs = qh + 4;
        const float d = put_scale(b, 0, -0.05f, 0.05f), m = has_m ? put_scale(b, 2, -1.0f, 1.0f) : 0.0f;
        for (int e = 0; e < 32; e++) {
            const unsigned q = rng_u32() & 31;
            set_bits(b, 8 * qh + e, 1, q >> 4);
            set_bits(b, 8 * (qs + e % 16) + 4 * (e / 16), 4, q & 15);
            want[e] = has_m ? (float)q * d + m : (float)((int)q - 16) * d;
        }
        break;
    }
    case PX_Q8_0: {
        const float d = put_scale(b, 0, -0.01f, 0.01f);
        for (int e = 0; e < 32; e++) {
            const int q = (int)(rng_u32() % 256) - 128;
            set_bits(b, 8 * (2 + e), 8, (unsigned)q & 255);
            want[e] = (float)q * d;
        }
        break;
    }
    case PX_Q2_K: {
        const float d = put_scale(b, 80, 0.0f, 0.02f), dmin = put_scale(b, 82, 0.0f, 0.02f);
        unsigned sc[16], mn[16];
        for (int g = 0; g < 16; g++) {
            sc[g] = rng_u32() & 15;
            mn[g] = rng_u32() & 15;
            set_bits(b, 8 * g, 4, sc[g]);
            set_bits(b, 8 * g + 4, 4, mn[g]);
        }
        for (int e = 0; e < 256; e++) {
            const unsigned q = rng_u32() & 3;
            set_bits(b, 8 * (16 + 32 * (e / 128) + e % 32) + 2 * ((e % 128) / 32), 2, q);
            want[e] = d * (float)sc[e / 16] * (float)q - dmin * (float)mn[e / 16];
        }
        break;
    }
    case PX_Q3_K: {
        const float d = put_scale(b, 108, -0.02f, 0.02f);
        int sc[16];
        for (int g = 0; g < 16; g++) {
            const unsigned s6 = rng_u32() & 63;
            sc[g] = (int)s6 - 32;
            set_bits(b, 8 * (96 + g % 8) + 4 * (g / 8), 4, s6 & 15);
            set_bits(b, 8 * (104 + g % 4) + 2 * (g / 4), 2, s6 >> 4);
        }
        for (int e = 0; e < 256; e++) {
            const unsigned q = rng_u32() & 7;
            set_bits(b, 8 * (32 + 32 * (e / 128) + e % 32) + 2 * ((e % 128) / 32), 2, q & 3);
            set_bits(b, 8 * (e % 32) + e / 32, 1, q >> 2);
            want[e] = d * (float)sc[e / 16] * (float)((int)q - 4);
        }
        break;
    }
    case PX_Q4_K:
    case PX_Q5_K: {
        const int five = t == PX_Q5_K, qs = five ? 48 : 16;
        const float d = put_scale(b, 0, 0.0f, 0.01f), dmin = put_scale(b, 2, 0.0f, 0.01f);
        unsigned sc[8], mn[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = rng_u32() & 63;
            mn[j] = rng_u32() & 63;
            if (j < 4) {
                set_bits(b, 8 * (4 + j), 6, sc[j]);
                set_bits(b, 8 * (4 + j + 4), 6, mn[j]);
            } else {
                set_bits(b, 8 * (4 + j + 4), 4, sc[j] & 15);
                set_bits(b, 8 * (4 + j + 4) + 4, 4, mn[j] & 15);
                set_bits(b, 8 * (4 + j - 4) + 6, 2, sc[j] >> 4);
                set_bits(b, 8 * (4 + j) + 6, 2, mn[j] >> 4);
            }
        }
        for (int e = 0; e < 256; e++) {
            const unsigned q = rng_u32() & (five ? 31 : 15);
            set_bits(b, 8 * (qs + 32 * (e / 64) + e % 32) + 4 * ((e / 32) % 2), 4, q & 15);
            if (five) set_bits(b, 8 * (16 + e % 32) + e / 32, 1, q >> 4);
            want[e] = d * (float)sc[e / 32] * (float)q - dmin * (float)mn[e / 32];
        }
        break;
    }
    case PX_Q6_K: {
        const float d = put_scale(b, 208, -0.001f, 0.001f);
        int sc[16];
        for (int g = 0; g < 16; g++) {
            sc[g] = (int)(rng_u32() % 256) - 128;
            set_bits(b, 8 * (192 + g), 8, (unsigned)sc[g] & 255);
        }
        for (int e = 0; e < 256; e++) {
            const unsigned q = rng_u32() & 63;
            const int h = e / 128, s = (e % 128) / 32, l = e % 32;
            set_bits(b, 8 * (64 * h + 32 * (s % 2) + l) + 4 * (s / 2), 4, q & 15);
            set_bits(b, 8 * (128 + 32 * h + l) + 2 * s, 2, q >> 4);
            want[e] = d * (float)sc[e / 16] * (float)((int)q - 32);
        }
        break;
    }
    default: break;
    }
}

static void test_hand_built_blocks(void) {
    for (int t = PX_Q4_0; t <= PX_IQ4_NL; t++) {
        const px_dtype_traits *tr = px_dtype_get_traits((px_dtype)t);
        enum { NB = 8 };
        uint8_t blocks[NB * 210 + 1];
        float want[NB * 256], got[NB * 256], got_odd[NB * 256];
        int bad = 0;
        for (int rep = 0; rep < 50; rep++) {
            for (int k = 0; k < NB; k++) build_block((px_dtype)t, blocks + k * tr->type_size, want + k * tr->block_size);
            const int64_t n = (int64_t)NB * tr->block_size;
            CHECK_OK(px_to_f32((px_dtype)t, blocks, got, n));
            for (int64_t i = 0; i < n; i++) bad += !same_float(got[i], want[i]);
            /* any alignment works */
            memmove(blocks + 1, blocks, (size_t)(NB * tr->type_size));
            px_dequantize_row_get((px_dtype)t)(blocks + 1, got_odd, n);
            CHECK(memcmp(got, got_odd, (size_t)n * sizeof(float)) == 0);
        }
        CHECK_MSG(bad == 0, "%s: %d values differ from the layout", tr->name, bad);
    }

    /* a few literal values */
    uint8_t b[34] = {0x00, 0x38}; /* d = 0.5 */
    b[2] = 0x0f;                  /* e0: 15-8 = 7; e16: 0-8 = -8 */
    b[3] = 0x98;                  /* e1: 0;        e17: 1 */
    float y[32];
    px_dequantize_row_q4_0(b, y, 32);
    CHECK(y[0] == 3.5f && y[16] == -4.0f && y[1] == 0.0f && y[17] == 0.5f);
    memset(b, 0, sizeof b);
    b[1] = 0x3c;      /* d = 1 */
    b[2] = 0x80;      /* -128 */
    b[33] = 0x7f;     /* 127 */
    px_dequantize_row_q8_0(b, y, 32);
    CHECK(y[0] == -128.0f && y[31] == 127.0f && y[5] == 0.0f);
    memset(b, 0, sizeof b);
    b[1] = 0x3c;
    b[2] = 0xf0; /* e0 -> -127, e16 -> 113 */
    px_dequantize_row_iq4_nl(b, y, 32);
    CHECK(y[0] == -127.0f && y[16] == 113.0f && y[1] == -127.0f);
    for (int k = 0; k < 16; k++) CHECK(px_iq4nl_values[k] == iq4nl_codebook[k]);
}

/* ---- quantization round trips ---------------------------------------------------- */

/* Relative RMSE (rms error / rms signal) that ggml's reference quantizers
 * (quantize_row_*_ref, no imatrix) reach on the three distributions used
 * below, N(0,1), U(-1,1) and 0.05 + 0.02*N(0,1), measured once with 16384
 * samples each by a harness linked against ggml. The bound is 8% above them:
 * the linear types produce ggml's bytes (they sit at 1.00, the margin covers
 * the different random samples here), and our K-quant/IQ4_NL searches must
 * be at least about as good as ggml's. For scale: a uniform quantizer with
 * L levels over a group's range R has RMSE R/(L-1)/sqrt(12), e.g. q4_1 on
 * N(0,1) with R ~ 4.1 sigma for 32 samples: 4.1/15/3.46 = 0.079 (ggml 0.078). */
static const struct {
    px_dtype t;
    double ggml[3];
} rt_ref[] = {
    {PX_Q4_0, {0.08629, 0.06510, 0.06083}},   {PX_Q4_1, {0.07828, 0.06076, 0.02912}},
    {PX_Q5_0, {0.04269, 0.03121, 0.03040}},   {PX_Q5_1, {0.03784, 0.02939, 0.01401}},
    {PX_Q8_0, {0.00535, 0.00377, 0.00382}},   {PX_Q2_K, {0.29631, 0.23260, 0.13297}},
    {PX_Q3_K, {0.15083, 0.12517, 0.10748}},   {PX_Q4_K, {0.07138, 0.05458, 0.02981}},
    {PX_Q5_K, {0.03608, 0.02761, 0.01485}},   {PX_Q6_K, {0.01772, 0.01324, 0.01276}},
    {PX_IQ4_NL, {0.07862, 0.06782, 0.06659}},
};

static void test_round_trip(void) {
    enum { N = 256 * 64 };
    static float x[N], y[N];
    static uint8_t q[N / 32 * 34 + 64], q2[N / 32 * 34 + 64];
    for (size_t k = 0; k < sizeof rt_ref / sizeof rt_ref[0]; k++) {
        const px_dtype t = rt_ref[k].t;
        const char *name = px_dtype_name(t);
        for (int dist = 0; dist < 3; dist++) {
            for (int i = 0; i < N; i++) {
                if (dist == 0) x[i] = rng_gauss();
                else if (dist == 1) x[i] = 2.0f * rng_uniform() - 1.0f;
                else x[i] = 0.02f * rng_gauss() + 0.05f; /* small, offset: weights-like */
            }
            CHECK_OK(px_quantize_row(t, x, q, N));
            CHECK_OK(px_dequantize_row(t, q, y, N));
            double e = 0, s = 0;
            for (int i = 0; i < N; i++) {
                e += (double)(y[i] - x[i]) * (y[i] - x[i]);
                s += (double)x[i] * x[i];
            }
            const double rel = sqrt(e / s), bound = 1.08 * rt_ref[k].ggml[dist];
            CHECK_MSG(rel < bound, "%s dist %d: rel rmse %.5f >= %.5f", name, dist, rel, bound);
            printf("  %-7s dist %d: rel rmse %.5f (ggml %.5f)\n", name, dist, rel, rt_ref[k].ggml[dist]);
        }

        /* zeros give zeros, constants and a lone outlier stay finite */
        memset(x, 0, 512 * sizeof(float));
        CHECK_OK(px_quantize_row(t, x, q, 512));
        CHECK_OK(px_dequantize_row(t, q, y, 512));
        int nz = 0;
        for (int i = 0; i < 512; i++) nz += y[i] != 0.0f;
        CHECK_MSG(nz == 0, "%s: zeros come back non-zero", name);
        for (int i = 0; i < 512; i++) x[i] = i < 256 ? 0.75f : -3.0f;
        x[300] = 1000.0f;
        CHECK_OK(px_quantize_row(t, x, q, 512));
        CHECK_OK(px_dequantize_row(t, q, y, 512));
        int bad = 0;
        double e = 0, s = 0;
        for (int i = 0; i < 256; i++) {
            e += (double)(y[i] - x[i]) * (y[i] - x[i]);
            s += (double)x[i] * x[i];
        }
        for (int i = 0; i < 512; i++) bad += !isfinite(y[i]);
        CHECK_MSG(bad == 0 && sqrt(e / s) < 0.3, "%s: constant block rel rmse %g", name, sqrt(e / s));
        CHECK_MSG(fabsf(y[300] - 1000.0f) < 1000.0f * 0.3f, "%s: outlier %g", name, (double)y[300]);
        /* tiny and non-finite inputs: valid blocks, no crash */
        for (int i = 0; i < 512; i++) x[i] = 1e-30f * (float)(i % 7);
        CHECK_OK(px_quantize_row(t, x, q, 512));
        CHECK_OK(px_dequantize_row(t, q, y, 512));
        for (int i = 0; i < 512; i++) bad += !isfinite(y[i]) || fabsf(y[i]) > 1e-20f;
        CHECK_MSG(bad == 0, "%s: tiny values", name);
        for (int i = 0; i < 512; i++) x[i] = (float)(i % 5) - 2.0f;
        x[3] = NAN;
        x[40] = INFINITY;
        x[300] = -INFINITY;
        x[301] = NAN;
        CHECK_OK(px_quantize_row(t, x, q, 512));
        CHECK_OK(px_dequantize_row(t, q, y, 512));

        /* requantizing a dequantized row reproduces it (bytes for the linear
         * types, values closely for the others) */
        for (int i = 0; i < N; i++) x[i] = rng_gauss();
        CHECK_OK(px_quantize_row(t, x, q, N));
        CHECK_OK(px_dequantize_row(t, q, x, N));
        CHECK_OK(px_quantize_row(t, x, q2, N));
        const int64_t nbytes = px_dtype_row_size(t, N);
        if (t == PX_Q4_0 || t == PX_Q4_1 || t == PX_Q5_0 || t == PX_Q5_1 || t == PX_Q8_0) {
            int64_t diff = 0;
            for (int64_t i = 0; i < nbytes; i++) diff += q[i] != q2[i];
            CHECK_MSG(diff == 0, "%s: requantized bytes differ in %lld places", name, (long long)diff);
        } else {
            CHECK_OK(px_dequantize_row(t, q2, y, N));
            e = s = 0;
            for (int i = 0; i < N; i++) {
                e += (double)(y[i] - x[i]) * (y[i] - x[i]);
                s += (double)x[i] * x[i];
            }
            CHECK_MSG(sqrt(e / s) < rt_ref[k].ggml[0] * 0.6, "%s: requantize rel rmse %g", name, sqrt(e / s));
        }
    }

    /* block -> block goes through f32: q8_0 -> q4_0 equals quantizing the
     * q8_0 values directly */
    for (int i = 0; i < 1024; i++) x[i] = rng_gauss();
    CHECK_OK(px_from_f32(x, PX_Q8_0, q, 1024));
    CHECK_OK(px_convert(PX_Q8_0, q, PX_Q4_0, q2, 1024));
    CHECK_OK(px_to_f32(PX_Q8_0, q, y, 1024));
    static uint8_t q3[1024];
    CHECK_OK(px_from_f32(y, PX_Q4_0, q3, 1024));
    CHECK(memcmp(q2, q3, (size_t)px_dtype_row_size(PX_Q4_0, 1024)) == 0);
    CHECK_OK(px_convert(PX_Q8_0, q, PX_Q8_0, q2, 1024));
    CHECK(memcmp(q, q2, (size_t)px_dtype_row_size(PX_Q8_0, 1024)) == 0);
}

/* ---- GGUF cross-check ------------------------------------------------------------ */

typedef struct gguf_file {
    uint8_t *data;
    size_t size, pos;
    int ok;
} gguf_file;

static uint64_t g_rd(gguf_file *g, int nbytes) {
    uint64_t v = 0;
    if (!g->ok || g->size - g->pos < (size_t)nbytes) {
        g->ok = 0;
        return 0;
    }
    for (int k = 0; k < nbytes; k++) v |= (uint64_t)g->data[g->pos + k] << (8 * k);
    g->pos += (size_t)nbytes;
    return v;
}

static void g_skip(gguf_file *g, uint64_t n) {
    if (!g->ok || g->size - g->pos < n) g->ok = 0;
    else g->pos += (size_t)n;
}

static void g_skip_value(gguf_file *g, uint32_t type, int depth) {
    static const int sizes[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
        g_skip(g, g_rd(g, 8));
    } else if (type == 9 && depth == 0) {
        const uint32_t et = (uint32_t)g_rd(g, 4);
        const uint64_t n = g_rd(g, 8);
        for (uint64_t i = 0; i < n && g->ok; i++) g_skip_value(g, et, 1);
    } else if (type < 13 && sizes[type]) {
        g_skip(g, (uint64_t)sizes[type]);
    } else {
        g->ok = 0;
    }
}

typedef struct gguf_tensor {
    char name[96];
    uint32_t type;
    int64_t ne;
    const uint8_t *data;
} gguf_tensor;

/* Parse header and tensor infos; every size is checked against the file. */
static int gguf_load(const char *path, gguf_file *g, gguf_tensor *tensors, int cap, int *n_out) {
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    const long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    g->data = sz > 0 ? malloc((size_t)sz) : NULL;
    g->size = (size_t)(sz > 0 ? sz : 0);
    g->ok = g->data && fread(g->data, 1, g->size, f) == g->size;
    fclose(f);
    if (g_rd(g, 4) != 0x46554747u || g_rd(g, 4) < 2) g->ok = 0; /* "GGUF", version */
    const uint64_t n_tensors = g_rd(g, 8), n_kv = g_rd(g, 8);
    uint64_t align = 32;
    for (uint64_t i = 0; i < n_kv && g->ok; i++) {
        const uint64_t klen = g_rd(g, 8);
        const size_t kpos = g->pos;
        g_skip(g, klen);
        const uint32_t type = (uint32_t)g_rd(g, 4);
        if (g->ok && klen == 17 && memcmp(g->data + kpos, "general.alignment", 17) == 0 && type == 4) {
            align = g_rd(g, 4);
        } else {
            g_skip_value(g, type, 0);
        }
    }
    if (n_tensors > (uint64_t)cap || align == 0) g->ok = 0;
    uint64_t offs[256];
    for (uint64_t i = 0; i < n_tensors && g->ok; i++) {
        gguf_tensor *t = &tensors[i];
        const uint64_t nlen = g_rd(g, 8);
        if (nlen >= sizeof t->name || g->size - g->pos < nlen) {
            g->ok = 0;
            break;
        }
        memcpy(t->name, g->data + g->pos, (size_t)nlen);
        t->name[nlen] = 0;
        g->pos += (size_t)nlen;
        const uint32_t nd = (uint32_t)g_rd(g, 4);
        if (nd > 8) g->ok = 0;
        t->ne = 1;
        for (uint32_t d = 0; d < nd && g->ok; d++) {
            const uint64_t ne = g_rd(g, 8);
            if (ne == 0 || ne > (1u << 30) || (uint64_t)t->ne * ne > (1u << 30)) g->ok = 0;
            else t->ne *= (int64_t)ne;
        }
        t->type = (uint32_t)g_rd(g, 4);
        offs[i] = g_rd(g, 8);
    }
    const uint64_t base = (g->pos + align - 1) / align * align;
    for (uint64_t i = 0; i < n_tensors && g->ok; i++) {
        gguf_tensor *t = &tensors[i];
        const int px = t->type == 0 ? PX_F32 : t->type == 1 ? PX_F16 : t->type == 2 ? PX_Q4_0 : t->type == 8 ? PX_Q8_0 : -1;
        const int64_t bytes = px < 0 ? 0 : px_dtype_row_size((px_dtype)px, t->ne);
        if (bytes < 0 || offs[i] > g->size || base > g->size - offs[i] || (uint64_t)bytes > g->size - base - offs[i]) {
            g->ok = 0;
            break;
        }
        t->data = g->data + base + offs[i];
    }
    *n_out = (int)n_tensors;
    return g->ok ? 0 : -2;
}

static int test_gguf(void) {
    const char *dir = getenv("PLEXUS_SHARED_DIR");
#ifdef PX_TEST_SHARED_DIR
    if (!dir || !*dir) dir = PX_TEST_SHARED_DIR;
#endif
    if (!dir || !*dir) dir = "../shared";
    static const char *const names[2] = {"q8_0", "q4_0"};
    const px_dtype types[2] = {PX_Q8_0, PX_Q4_0};
    const uint32_t ggml_types[2] = {8, 2};
    char path[1024];
    static gguf_tensor ft[256], qt[256];
    gguf_file ff, qf;
    int nf = 0, nq = 0;
    snprintf(path, sizeof path, "%s/models/stories260K/stories260K-f32.gguf", dir);
    int have_f32 = gguf_load(path, &ff, ft, 256, &nf);
    if (have_f32 == -1) {
        printf("skipped: %s not found\n", path);
        free(ff.data);
        return PX_TEST_SKIP;
    }
    CHECK_MSG(have_f32 == 0, "%s: malformed", path);
    int n_checked = 0;
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/models/stories260K/stories260K-%s-mix.gguf", dir, names[k]);
        const int r = gguf_load(path, &qf, qt, 256, &nq);
        if (r == -1) {
            printf("skipped: %s not found\n", path);
            free(qf.data);
            continue;
        }
        CHECK_MSG(r == 0, "%s: malformed", path);
        int64_t n_blocks = 0, requant_diff = 0, ref_diff = 0, n_tensors = 0;
        for (int i = 0; r == 0 && i < nq; i++) {
            if (qt[i].type != ggml_types[k]) continue;
            const px_dtype t = types[k];
            const int64_t n = qt[i].ne, bytes = px_dtype_row_size(t, n);
            float *x = malloc((size_t)n * sizeof(float));
            uint8_t *q = malloc((size_t)bytes);
            /* dequantize and requantize: same bytes */
            CHECK_OK(px_to_f32(t, qt[i].data, x, n));
            CHECK_OK(px_from_f32(x, t, q, n));
            for (int64_t j = 0; j < bytes; j++) requant_diff += q[j] != qt[i].data[j];
            /* quantize the f32 original: the bytes llama-quantize wrote */
            for (int j = 0; have_f32 == 0 && j < nf; j++) {
                if (strcmp(ft[j].name, qt[i].name) != 0 || ft[j].type != 0 || ft[j].ne != n) continue;
                CHECK_OK(px_from_f32((const float *)(const void *)ft[j].data, t, q, n));
                for (int64_t b = 0; b < bytes / px_dtype_get_traits(t)->type_size; b++) {
                    const int64_t ts = px_dtype_get_traits(t)->type_size;
                    ref_diff += memcmp(q + b * ts, qt[i].data + b * ts, (size_t)ts) != 0;
                }
            }
            n_blocks += bytes / px_dtype_get_traits(t)->type_size;
            n_tensors++;
            free(x);
            free(q);
        }
        printf("  %s: %lld tensors, %lld blocks; requantized bytes differing %lld; blocks differing from "
               "quantizing the f32 file %lld\n",
               names[k], (long long)n_tensors, (long long)n_blocks, (long long)requant_diff, (long long)ref_diff);
        CHECK_MSG(n_tensors > 0, "%s: no %s tensors", path, names[k]);
        CHECK(requant_diff == 0);
        CHECK(ref_diff == 0);
        n_checked++;
        free(qf.data);
    }
    free(ff.data);
    if (n_checked == 0) return PX_TEST_SKIP;
    return px_test_finish("dtype gguf");
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "gguf") == 0) return test_gguf();
    test_traits();
    test_row_size();
    test_f16();
    test_bf16();
    test_int_rules();
    test_all_pairs();
    test_hand_built_blocks();
    test_round_trip();
    return px_test_finish("dtype");
}
