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
    uint8_t is_float;      /* f16/bf16/f32/f64                                  */
    uint8_t is_integer;    /* i8..u64 and bool                                  */
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
 * multiple of the block). src and dst must not overlap. */
px_status px_convert(px_dtype st, const void *src, px_dtype dt, void *dst, int64_t n);

/* Shorthands over px_convert. */
px_status px_to_f32(px_dtype st, const void *src, float *dst, int64_t n);
px_status px_from_f32(const float *src, px_dtype dt, void *dst, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
