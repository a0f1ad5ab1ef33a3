/* CPU plugin — GEMM of F32 activations (many rows: prompts, batches) with
 * block-quantized weights read in place. See k_gemm_q.c. */
#ifndef PX_CPU_K_GEMM_Q_H
#define PX_CPU_K_GEMM_Q_H

#include "cpu_common.h"

/* 1 when weights of type t have a GEMM path (their rows are a multiple of
 * the type's block). */
int cpu_gemm_q_has(px_dtype t);
/* Shared scratch for M activation rows of K (the quantized activations). */
size_t cpu_gemm_q_act_bytes(int64_t M, int64_t K);
/* Per-thread scratch: one packed panel of weight rows of K. */
size_t cpu_gemm_q_panel_bytes(int64_t K);

typedef struct cpu_gemm_q_args {
    px_dtype wt;
    int level;              /* the ISA level of k_matmul_q.c: 2 avx512-vnni / dotprod, 1 avx2 / neon, 0 scalar */
    int64_t M, K, N;
    const float *A;         /* [M][K] */
    const uint8_t *B;       /* [N] rows of K, as stored */
    size_t row_bytes;
    const float *bias;      /* [N] or NULL */
    float *O;               /* [M][N] */
    void *act;              /* cpu_gemm_q_act_bytes(M, K) bytes, 64-aligned */
    const cpu_scratch *scr; /* per-thread: cpu_gemm_q_panel_bytes(K) */
    const uint8_t *repacked; /* B repacked by cpu_repack (then B is not read), or NULL */
} cpu_gemm_q_args;

/* Q4_0 and Q4_K weights repacked at load for AVX-512 VNNI (cpu_repack_ok):
 * panels of 16 rows, each block of the 16 rows as their scales then their
 * nibbles four bytes at a time; the same size as the original (Q4_K: 2.8 %
 * more, the scales as bytes), read as one stream. The GEMM then takes any
 * number of rows, one included. */
int cpu_repack_ok(px_dtype t, int level, int64_t N, int64_t K);
size_t cpu_repack_bytes(px_dtype t, int64_t N, int64_t K);
void cpu_repack(px_dtype t, const uint8_t *src, size_t row_bytes, int64_t N, int64_t K, uint8_t *dst);

void cpu_gemm_q(const px_host_api *h, const cpu_gemm_q_args *g);

/* Constant F16 weights on AVX-512 CPUs: panels of 32 rows (k_matmul_f16p.c). */
typedef struct cpu_f16p_args {
    int64_t M, K, N;
    const float *A;          /* [M][K] */
    const uint16_t *panels;  /* cpu_f16p_repack's layout, 64-aligned */
    const float *bias;       /* [N] or NULL */
    float *O;                /* [M][N] */
    float *act;              /* cpu_f16p_act_bytes(M, K) bytes, 64-aligned */
} cpu_f16p_args;
size_t cpu_f16p_bytes(int64_t N, int64_t K);
size_t cpu_f16p_act_bytes(int64_t M, int64_t K);
void cpu_f16p_repack(const uint16_t *src, int64_t N, int64_t K, uint16_t *dst);
void cpu_f16p_run(const px_host_api *h, const cpu_f16p_args *g);

#endif
