/* Plexus — block-quantized dtypes: layouts and reference row functions.
 *
 * Internal header of core/common (compiled into libplexus and, with hidden
 * symbols, into every plugin). Kernels include it to read GGUF blocks.
 *
 * Layouts are exactly those of the GGUF file format (ggml), little-endian:
 * every `d`/`dmin`/`m` field is an IEEE half stored as two bytes, low byte
 * first. The structs below document the layouts for kernels that work on
 * naturally aligned data (blocks in a mapped GGUF file are: tensor data is
 * 32-byte aligned and every block size is even). The reference functions in
 * this header do not rely on that: block data may sit at any address. Float
 * arrays (the f32 side of every row function) must be naturally aligned.
 *
 * Element order inside one block (x[i] is the i-th value of the block):
 *   Q4_0   x[i] = d * (q[i] - 8),  q[i] = i < 16 ? qs[i] & 15 : qs[i-16] >> 4
 *   Q4_1   x[i] = d * q[i] + m,    q[i] as Q4_0
 *   Q5_0   x[i] = d * (q[i] - 16), q[i] = Q4 nibble | bit i of qh (as LE u32) << 4
 *   Q5_1   x[i] = d * q[i] + m,    q[i] as Q5_0
 *   Q8_0   x[i] = d * qs[i]
 *   IQ4_NL x[i] = d * px_iq4nl_values[q[i]], q[i] as Q4_0
 *   K-quants: 256 elements per super-block; see the comments of each struct.
 *
 * All functions are pure, thread-safe and allocate nothing.
 */
#ifndef PLEXUS_COMMON_QUANT_H
#define PLEXUS_COMMON_QUANT_H

#include <stdint.h>

#include "plexus/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PX_QK 32     /* elements per block of Q4_0 .. Q8_0 and IQ4_NL */
#define PX_QK_K 256  /* elements per super-block of the K-quants      */

/* ---- layouts ----------------------------------------------------------- */

typedef struct px_block_q4_0 {
    uint16_t d;             /* scale (f16) */
    uint8_t qs[PX_QK / 2];  /* low nibble: elements 0..15, high: 16..31 */
} px_block_q4_0;

typedef struct px_block_q4_1 {
    uint16_t d, m;          /* scale and offset (f16) */
    uint8_t qs[PX_QK / 2];
} px_block_q4_1;

typedef struct px_block_q5_0 {
    uint16_t d;
    uint8_t qh[4];          /* bit i (of the LE u32) is bit 4 of element i */
    uint8_t qs[PX_QK / 2];
} px_block_q5_0;

typedef struct px_block_q5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[PX_QK / 2];
} px_block_q5_1;

typedef struct px_block_q8_0 {
    uint16_t d;
    int8_t qs[PX_QK];
} px_block_q8_0;

/* Q2_K: 16 groups of 16. Group g has scale nibble sc = scales[g] & 15 and
 * min nibble mn = scales[g] >> 4: x = d*sc*q - dmin*mn, q in 0..3. Element
 * e = 128*h + 32*s + l (h half, s shift index 0..3, l 0..31) has
 * q = (qs[32*h + l] >> 2*s) & 3 and lies in group e / 16. */
typedef struct px_block_q2_k {
    uint8_t scales[PX_QK_K / 16];
    uint8_t qs[PX_QK_K / 4];
    uint16_t d, dmin;
} px_block_q2_k;

/* Q3_K: 16 groups of 16, x = d*(sc - 32)*(q - 4), q in 0..7. The low two
 * bits of q are stored like Q2_K's; bit 2 of element e is bit (e / 32) of
 * hmask[e % 32]. Group g's 6-bit scale sc: low 4 bits are nibble (g / 8) of
 * scales[g % 8] (low nibble first); high 2 bits are bits 2*(g/4)..2*(g/4)+1
 * of scales[8 + g % 4]. */
typedef struct px_block_q3_k {
    uint8_t hmask[PX_QK_K / 8];
    uint8_t qs[PX_QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} px_block_q3_k;

/* Q4_K: 8 groups of 32, x = d*sc*q - dmin*mn, q in 0..15. 6-bit sc/mn of
 * group g: see px_kquant_scale_min. Element e = 64*p + 32*hi + l has
 * q = nibble hi of qs[32*p + l]. */
typedef struct px_block_q4_k {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[PX_QK_K / 2];
} px_block_q4_k;

/* Q5_K: as Q4_K with q in 0..31; bit 4 of element e = 64*p + 32*hi + l is
 * bit (2*p + hi) of qh[l]. */
typedef struct px_block_q5_k {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[PX_QK_K / 8];
    uint8_t qs[PX_QK_K / 2];
} px_block_q5_k;

/* Q6_K: 16 groups of 16, x = d*scales[g]*(q - 32), q in 0..63. Element
 * e = 128*h + 32*s + l (s 0..3) has low nibble from ql[64*h + 32*(s&1) + l]
 * (low nibble for s < 2, high for s >= 2) and high two bits
 * (qh[32*h + l] >> 2*s) & 3. */
typedef struct px_block_q6_k {
    uint8_t ql[PX_QK_K / 2];
    uint8_t qh[PX_QK_K / 4];
    int8_t scales[PX_QK_K / 16];
    uint16_t d;
} px_block_q6_k;

typedef struct px_block_iq4_nl {
    uint16_t d;
    uint8_t qs[PX_QK / 2];
} px_block_iq4_nl;

/* The IQ4_NL codebook (indexed by the 4-bit code). */
extern const int8_t px_iq4nl_values[16];

/* 6-bit scale `sc` and min `mn` of group j (0..7) of a Q4_K/Q5_K block from
 * its 12 scale bytes: groups 0..3 are the low 6 bits of bytes j and j+4;
 * groups 4..7 take their low 4 bits from byte j+4 (sc: low nibble, mn: high
 * nibble) and their high 2 bits from the top bits of bytes j-4 (sc) and j
 * (mn). */
static inline void px_kquant_scale_min(const uint8_t *scales, int j, uint8_t *sc, uint8_t *mn) {
    if (j < 4) {
        *sc = (uint8_t)(scales[j] & 63);
        *mn = (uint8_t)(scales[j + 4] & 63);
    } else {
        *sc = (uint8_t)((scales[j + 4] & 15) | ((scales[j - 4] >> 6) << 4));
        *mn = (uint8_t)((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}

/* Signed scale (-32..31) of group g (0..15) of a Q3_K block. */
static inline int px_q3k_scale(const uint8_t *scales, int g) {
    int lo = (scales[g % 8] >> (4 * (g / 8))) & 15;
    int hi = (scales[8 + g % 4] >> (2 * (g / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

/* ---- row functions ------------------------------------------------------ */

/* A row function converts `n` elements; for block types `n` must be a
 * multiple of the block size (not checked by the per-type functions).
 * src and dst must not overlap. */
typedef void (*px_dequantize_row_fn)(const void *src, float *dst, int64_t n);
typedef void (*px_quantize_row_fn)(const float *src, void *dst, int64_t n);

/* Row function of any valid dtype (plain types convert like px_convert), or
 * NULL for an invalid dtype. */
px_dequantize_row_fn px_dequantize_row_get(px_dtype t);
px_quantize_row_fn px_quantize_row_get(px_dtype t);

/* Checked forms: PX_ERR_INVALID_ARG for an invalid dtype, n < 0, n not a
 * multiple of the block size, or NULL pointers with n > 0. */
px_status px_dequantize_row(px_dtype t, const void *src, float *dst, int64_t n);
px_status px_quantize_row(px_dtype t, const float *src, void *dst, int64_t n);

/* Dequantizers: bit-exact with ggml's reference dequantizers. */
void px_dequantize_row_q4_0(const void *src, float *dst, int64_t n);
void px_dequantize_row_q4_1(const void *src, float *dst, int64_t n);
void px_dequantize_row_q5_0(const void *src, float *dst, int64_t n);
void px_dequantize_row_q5_1(const void *src, float *dst, int64_t n);
void px_dequantize_row_q8_0(const void *src, float *dst, int64_t n);
void px_dequantize_row_q2_k(const void *src, float *dst, int64_t n);
void px_dequantize_row_q3_k(const void *src, float *dst, int64_t n);
void px_dequantize_row_q4_k(const void *src, float *dst, int64_t n);
void px_dequantize_row_q5_k(const void *src, float *dst, int64_t n);
void px_dequantize_row_q6_k(const void *src, float *dst, int64_t n);
void px_dequantize_row_iq4_nl(const void *src, float *dst, int64_t n);

/* Reference quantizers. Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 produce the same
 * bytes as ggml's reference (imatrix-free) quantizers; the K-quants and
 * IQ4_NL use a least-squares scale search of their own. Non-finite input
 * gives valid (if meaningless) blocks, never undefined behaviour. */
void px_quantize_row_q4_0(const float *src, void *dst, int64_t n);
void px_quantize_row_q4_1(const float *src, void *dst, int64_t n);
void px_quantize_row_q5_0(const float *src, void *dst, int64_t n);
void px_quantize_row_q5_1(const float *src, void *dst, int64_t n);
void px_quantize_row_q8_0(const float *src, void *dst, int64_t n);
void px_quantize_row_q2_k(const float *src, void *dst, int64_t n);
void px_quantize_row_q3_k(const float *src, void *dst, int64_t n);
void px_quantize_row_q4_k(const float *src, void *dst, int64_t n);
void px_quantize_row_q5_k(const float *src, void *dst, int64_t n);
void px_quantize_row_q6_k(const float *src, void *dst, int64_t n);
void px_quantize_row_iq4_nl(const float *src, void *dst, int64_t n);

/* ---- helpers ------------------------------------------------------------ */

/* Little-endian half at p, as float. */
float px_load_f16_le(const uint8_t *p);
/* Store a float as a little-endian half at p (round to nearest even);
 * returns the value stored, as float. */
float px_store_f16_le(uint8_t *p, float f);

#ifdef __cplusplus
}
#endif
#endif
