/* Conformance oracle: helpers shared by its files (not used by the tests). */
#ifndef PXTEST_ORACLE_INTERNAL_H
#define PXTEST_ORACLE_INTERNAL_H

#include <stdio.h>

#include "oracle.h"

#define OU ORACLE_U

double oracle_half(uint16_t h);
/* Round x to a float8/float4 dtype (types.h, ops.h CAST): ties to even;
 * saturate 0 gives inf/NaN out of range; round_mode 0 up, 1 down, 2
 * nearest for F8E8M0. */
double oracle_round_small(px_dtype t, double x, int saturate, int round_mode);
/* Round-trip rows of F32 values through Q8_0 the way ggml's reference
 * quantizer does (d = amax/127 stored as f16, q = round(x / d)); y gets the
 * dequantized values, quantum (may be NULL) the block's step. */
void oracle_q8_0_roundtrip(const double *x, int64_t n, double *y, double *quantum);

/* All elements of t as doubles (malloc'ed, at least one slot); NULL on
 * failure. Absent tensors give NULL. */
double *ot_decode(const otensor *t);
/* Allocate r for a result of dtype/shape (v and tol zeroed). 0 or -1. */
int ores_init(oresult *r, px_dtype dt, int32_t rank, const int64_t *ne);
void ostrides(int32_t rank, const int64_t *ne, int64_t *st);

/* Odometer over a shape, with element offsets of up to 4 operands. */
typedef struct oiter {
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    int64_t st[4][PX_MAX_DIMS];
    int64_t idx[PX_MAX_DIMS];
    int64_t off[4];
} oiter;
void oit_init(oiter *it, int32_t rank, const int64_t *ne);
/* Numpy broadcast strides of a tensor of rank/ne against the shape. */
void oit_bcast(oiter *it, int k, int32_t rank, const int64_t *ne);
void oit_next(oiter *it);
/* Broadcast shape of two shapes; -1 if they do not broadcast. */
int obroadcast(int32_t ra, const int64_t *a, int32_t rb, const int64_t *b, int32_t *ro, int64_t *o);

#define OFAIL(...) (snprintf(msg, msg_cap, __VA_ARGS__), -1)

/* Op families (oracle.c, oracle_nn.c). Same contract as oracle_eval. */
int oracle_nn(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
              char *msg, size_t msg_cap);
/* The ops appended for the ONNX importer: oracle_index.c (EXPAND..TOPK) and
 * oracle_vision.c (CONV..LRN). They return ORACLE_NOT_MINE for other ops. */
#define ORACLE_NOT_MINE 2 /* distinct from 1, "the kernel must fail" */
int oracle_index(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                 char *msg, size_t msg_cap);
int oracle_grid(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                char *msg, size_t msg_cap); /* oracle_grid.c */
int oracle_vision(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                  char *msg, size_t msg_cap);

#endif
