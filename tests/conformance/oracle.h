/* Conformance oracle: every op of include/plexus/ops.h evaluated in double
 * precision, written from the text of ops.h (and the block layouts of
 * types.h), independently of any plugin. It also has its own decoders for
 * every dtype (F16/BF16 bit patterns, the GGUF block types), so what it
 * checks does not depend on the library's conversion code either.
 *
 * Tolerances. ops.h lets a kernel compute in F32 ("at least F32 precision")
 * and round once on store. For each output element the oracle returns the
 * exact result `v` and an allowance `tol` for the error an F32 computation
 * may make, derived from the op's conditioning with U = 2^-24 (the F32 unit
 * roundoff):
 *   exact ops (layout, gather, compare, where, integer arithmetic, argmax,
 *     max/min, copies)                              tol = 0
 *   add/sub                                         U * (|a| + |b|)
 *   mul/div                                         3U * |v|
 *   pow                                             U * |v| * (8 + 2|b ln a|)
 *   unary transcendental f                          8U|v| + 4U|x f'(x)| + 8U
 *   sums (reduce_sum/mean, cumsum, matmul dots)     U * (n + 3) * sum|terms|
 *       (the worst-case bound of recursive summation: no false alarms, and
 *        a dropped or doubled term is still far outside it for n < ~2000)
 *   softmax / log_softmax                           exponent errors U*|z| and
 *                                                   the sum's U * (n + 8)
 *   rms_norm / layer_norm                           U * (n + 16) relative, plus
 *                                                   the cancellation of x - mean
 *   rope                                            (|x0|+|x1|) * (U|theta|(n_dims/2
 *                                                   + 10) + 4U): theta may be
 *                                                   built by repeated products
 *   attention                                       logit errors U(D+4)sum|q k|,
 *                                                   propagated through softmax
 *                                                   and the weighted sum of v
 *   matmul with a block-quantized b: the kernel may also quantize each block
 *     of a's row to 8 bits (as ggml's dot products do); allowed: 6 sigma of
 *     that rounding noise, 6*sqrt(sum_k b_k^2 (amax_blk/254)^2 / 3), plus
 *     2^-10 * sum over blocks of |that block's partial dot product| for the
 *     f16 scales of the 8-bit blocks.
 *   quantizing (CAST or SET_ROWS to a block type): the dequantized result
 *     must lie within c * amax of its block (c per type, oracle_quant_c).
 *   dequantizing: 8U * amax of the block (one or two F32 roundings).
 * The caller adds the rounding of the output dtype, oracle_store_tol():
 * one ulp relative (F32 2^-23, F16 2^-10, BF16 2^-7, F64 2^-52) plus the
 * smallest subnormal step of F16. Integer and BOOL results must be exact.
 * When `exact` is set (CAST to a float dtype, copies) the output must equal
 * v bit for bit in value (NaN matches NaN, the sign of infinities counts).
 */
#ifndef PXTEST_ORACLE_H
#define PXTEST_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "plexus/ir.h"
#include "plexus/ops.h"
#include "plexus/types.h"

#define ORACLE_U (1.0 / 16777216.0) /* 2^-24 */

/* A host tensor: row-major, contiguous, in its dtype's bytes. data == NULL
 * marks an absent optional input. */
typedef struct otensor {
    px_dtype dtype;
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
    const void *data;
} otensor;

typedef struct oresult {
    px_dtype dtype;
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
    int64_t n;        /* element count */
    double *v;        /* expected values [n] */
    double *tol;      /* allowed |got - v| before the store rounding [n] */
    int exact;        /* 1: got must equal v exactly */
} oresult;

/* Evaluate one node. attrs are those of the node; ARANGE also needs an
 * attribute "n" (its length). Returns 0 with *out filled, 1 if ops.h says
 * the kernel must report an error for these inputs (e.g. an index out of
 * range), -1 if the oracle cannot evaluate the case (msg says why). */
int oracle_eval(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                char *msg, size_t msg_cap);
void oresult_free(oresult *r);

/* Decode n elements of dtype t (for block types n is a multiple of the block
 * size) into doubles. Returns 0, or -1 for a bad dtype or n. */
int oracle_decode(px_dtype t, const void *data, int64_t n, double *out);

/* Store rounding of the output dtype for a value v: rel*|v| + abs. */
double oracle_store_tol(px_dtype t, double v);

/* Quantization allowance c of a block type (max error / block amax). */
double oracle_quant_c(px_dtype t);

/* Round a double to the nearest F16 / BF16 / F32 value (ties to even),
 * with overflow to infinity. */
double oracle_round_f16(double x);
double oracle_round_bf16(double x);
double oracle_round_f32(double x);

/* Traits the oracle needs, from its own table: block size (1 for plain
 * types), bytes per block, 1 for float dtypes, 1 for integers (not BOOL). */
int32_t oracle_block_size(px_dtype t);
int32_t oracle_type_size(px_dtype t);
int oracle_is_float(px_dtype t);
int oracle_is_int(px_dtype t);
int oracle_is_quant(px_dtype t);
/* Element count of a tensor. */
int64_t ot_numel(const otensor *t);
/* Bytes of n elements (n a multiple of the block size). */
int64_t oracle_nbytes(px_dtype t, int64_t n);

#endif
