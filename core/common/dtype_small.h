/* Plexus — codecs of the small floating-point dtypes (internal to
 * core/common, compiled into libplexus and every plugin like quant.h).
 *
 * PX_F8E4M3FN, PX_F8E4M3FNUZ, PX_F8E5M2, PX_F8E5M2FNUZ, PX_F8E8M0 and
 * PX_F4E2M1 each take one byte per element (F4E2M1 in the low four bits).
 * The rules are those of the ONNX Cast operator (onnx/docs/Operators.md,
 * "Cast"; the E8M0 rules of onnx.numpy_helper.to_float8e8m0):
 *
 *  - F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ, F4E2M1: round to nearest,
 *    ties to even, from the exact value. An out-of-range value (infinities
 *    included) becomes the largest finite value of its sign; with
 *    PX_CONVERT_NO_SATURATE it becomes inf (E5M2) or NaN (the others).
 *    F4E2M1 has neither inf nor NaN: it always saturates, and NaN becomes
 *    0x8 (-0), as the ONNX reference (ml_dtypes) does. The FNUZ types have no
 *    negative zero: -0 and negative values that round to zero give +0.
 *    NaN gives NaN (0x7F | sign for E4M3FN and E5M2, 0x80 for the FNUZ ones).
 *  - F8E8M0 (2^(b-127), 0xFF = NaN, unsigned, no zero): the sign is ignored;
 *    NaN and +-inf give 0xFF; zero gives 0x00 (2^-127). The exponent of the
 *    exact value is rounded: up (default) unless the value is a power of two,
 *    down (PX_CONVERT_ROUND_DOWN), or to nearest with ties up
 *    (PX_CONVERT_ROUND_NEAREST: up when the fraction is 1/2 or more). For
 *    normal f32 inputs this is the ONNX reference's rule on the f32 bits;
 *    below 2^-126 the reference sends every f32 subnormal up to 2^-126, here
 *    values in [2^-127, 2^-126) round like the others and smaller ones give
 *    2^-127. Past 2^127 the result stays at 2^127 (0xFE), or is NaN with
 *    PX_CONVERT_NO_SATURATE.
 *
 * All functions are pure and thread-safe.
 */
#ifndef PLEXUS_COMMON_DTYPE_SMALL_H
#define PLEXUS_COMMON_DTYPE_SMALL_H

#include <stdint.h>

#include "plexus/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 for the six small float dtypes above. */
int px_small_float_is(px_dtype t);
/* Exact value of code b of small float dtype t (NaN, +-inf where the type
 * has them). Bits of b above the type's width are ignored. */
double px_small_float_decode(px_dtype t, uint8_t b);
/* Code of v in small float dtype t under `flags` (PX_CONVERT_*, dtype.h). */
uint8_t px_small_float_encode(px_dtype t, double v, uint32_t flags);

#ifdef __cplusplus
}
#endif
#endif
