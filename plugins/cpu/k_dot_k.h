/* CPU plugin — dot products of one K-quant weight row (Q2_K..Q6_K, as
 * stored in GGUF) with one activation row quantized to 8 bits per value in
 * super-blocks of 256, for decoding (matrix times vector).
 *
 * Arithmetic, the same on every path: per super-block the sums of
 * (weight code) * (activation code) are exact integers, with the sub-block
 * scales and mins (and Q3_K's / Q6_K's offset of 4 / 32) applied in integer
 * arithmetic too, the mins through the activation block's bsums; then
 *   acc += (float)(d_w * d_a * sumi - dmin_w * d_a * summ)
 * with the right side in double, super-blocks in order. So every level
 * returns bit-identical results.
 *
 * Levels: 0 scalar C; 1 AVX2 (with FMA, F16C) on x86, Advanced SIMD on
 * 64-bit ARM; 2 AVX-512 VNNI (F, BW, VL, VNNI) on x86, NEON with sdot on
 * ARM. The caller passes the level its CPU has (see isa() in k_matmul_q.c);
 * a level above what this build knows for the architecture is taken as the
 * highest one it knows. */
#ifndef PLEXUS_CPU_K_DOT_K_H
#define PLEXUS_CPU_K_DOT_K_H

#include <stdint.h>

#include "plexus/types.h"

/* 256 activations: x[i] ~ d * q[i]; bsums[g] = sum of q[16g .. 16g+15]. */
typedef struct cpu_q8k_block {
    float d;
    int8_t q[256];
    int16_t bsums[16];
} cpu_q8k_block;

/* Quantize K floats (K % 256 == 0) into K / 256 blocks, exactly as ggml's
 * quantize_row_q8_K_ref (so activations match llama.cpp's): per block the
 * first value of largest magnitude `max` gives iscale = -127 / max,
 * q = iscale * x rounded to nearest, ties to even, and d = 1 / iscale (d
 * is negative when max is positive). An all-zero block gets d = 0. Every
 * level gives the same bytes; NaN values give q = -128. */
void cpu_quantize_row_q8k(const float *x, int64_t K, cpu_q8k_block *out, int level);

/* sum over the row of w * a, nb = K / 256 super-blocks. */
typedef float (*cpu_dot_k_fn)(const uint8_t *w, const cpu_q8k_block *a, int64_t nb);

/* The dot of weight type wt at `level`, or NULL when wt has none here. */
cpu_dot_k_fn cpu_dot_k_get(px_dtype wt, int level);

#endif
