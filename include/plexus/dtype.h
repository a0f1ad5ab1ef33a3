/* Plexus — dtype traits and element conversion (reference implementations).
 *
 * These functions are exported by libplexus and are also compiled into each
 * plugin from the same sources (a static helper library), so a plugin does not
 * depend on libplexus symbols. All are pure functions: no allocation, no
 * global state, safe from any thread.
 */
#ifndef PLEXUS_DTYPE_H
#define PLEXUS_DTYPE_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct px_dtype_traits {
    const char *name;      /* "f32", "q4_0", ... (lower case, as in GGUF tools) */
    int32_t block_size;    /* elements per block; 1 for plain types            */
    int32_t type_size;     /* bytes per block                                  */
    uint8_t is_quantized;  /* block type                                        */
    uint8_t is_float;      /* f16/bf16/f32/f64 and the float8/float4 types      */
    uint8_t is_integer;    /* i8..u64, i4/u4/i2/u2 and bool                      */
    uint8_t is_signed;
} px_dtype_traits;

/* Traits of `t`, or NULL when `t` is not a valid dtype. */
const px_dtype_traits *px_dtype_get_traits(px_dtype t);
/* Name of `t` ("f32"), or "invalid". */
const char *px_dtype_name(px_dtype t);
/* Parse a name as printed by px_dtype_name (case-insensitive). Returns 0 on
 * success and stores the dtype, -1 if unknown. */
int px_dtype_from_name(const char *name, px_dtype *out);
/* Bytes taken by `n` elements of `t`. For a block type `n` must be a multiple
 * of the block size; returns -1 if not (or if `t` is invalid or the size
 * overflows int64). */
int64_t px_dtype_row_size(px_dtype t, int64_t n);

/* Half and bfloat16 conversions (round to nearest even; NaN stays NaN). */
uint16_t px_f32_to_f16(float f);
float px_f16_to_f32(uint16_t h);
uint16_t px_f32_to_bf16(float f);
float px_bf16_to_f32(uint16_t h);

/* Convert `n` elements from `src` (of dtype `st`) to `dst` (of dtype `dt`).
 * Any pair of dtypes is allowed. Conversions to integers truncate toward
 * zero and saturate at the type's range (NaN becomes 0); conversion to BOOL
 * gives 1 for any non-zero value. Quantizing to a block type uses a reference
 * round-to-nearest quantizer; for block types `n` must be a multiple of the
 * block size. Returns PX_OK, or PX_ERR_INVALID_ARG (bad dtype, n not a
 * multiple of the block). src and dst must not overlap.
 *
 * The float8/float4 types (F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ,
 * F4E2M1) follow ONNX Cast: round to nearest even, out-of-range values and
 * infinities saturate to the largest finite value, NaN stays NaN (F4E2M1 has
 * none: NaN gives 0x8). F8E8M0 rounds the exponent up, ignores the sign and
 * saturates at 2^127; zero gives 2^-127, NaN and inf give NaN. Reading a
 * sub-byte integer (I4, U4, I2, U2) uses only the low 4/2 bits of its byte
 * (sign-extended for I4/I2); writing one stores the value sign-extended
 * (I4/I2) or zero-extended (U4/U2) in the byte. */
px_status px_convert(px_dtype st, const void *src, px_dtype dt, void *dst, int64_t n);

/* Flags of px_convert_ex (0 gives px_convert). */
enum {
    /* Out-of-range values do not saturate: float8 targets give inf (F8E5M2)
     * or NaN (the other float8 types, F8E8M0 included), integer targets
     * (not BOOL) keep the low bits of the value truncated toward zero
     * (wrap-around modulo 2^bits; NaN and infinities give 0), as numpy's
     * astype and ONNX Cast to int4/uint4/int2/uint2 do. F4E2M1 and the floats of 16 bits and
     * more are not affected.                                              */
    PX_CONVERT_NO_SATURATE = 1,
    /* F8E8M0 targets: round the exponent down (toward zero) / to nearest with
     * ties up instead of up (ONNX Cast round_mode "down" / "nearest").       */
    PX_CONVERT_ROUND_DOWN = 2,
    PX_CONVERT_ROUND_NEAREST = 4
};

/* px_convert with flags (PX_CONVERT_*). Unknown flag bits are an error
 * (PX_ERR_INVALID_ARG), as are both rounding flags at once. */
px_status px_convert_ex(px_dtype st, const void *src, px_dtype dt, void *dst, int64_t n, uint32_t flags);

/* Shorthands over px_convert. */
px_status px_to_f32(px_dtype st, const void *src, float *dst, int64_t n);
px_status px_from_f32(const float *src, px_dtype dt, void *dst, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
