/* CPU plugin — helpers shared by the kernel files.
 *
 * Everything here is internal to libplexus-cpu.so (hidden visibility).
 *
 * Conventions of the kernels
 *  - Tensors are contiguous and row-major (types.h). Element offsets are in
 *    elements of the tensor's dtype; byte offsets only appear for block types.
 *  - Float kernels compute in float for F32/F16/BF16 and in double for F64
 *    (some composite kernels compute in double for every float dtype), and
 *    round once on store.
 *  - Integer arithmetic is done on 64-bit values: signed dtypes are sign-
 *    extended, unsigned ones (and BOOL) zero-extended; results are truncated
 *    to the output width on store (wrap-around), never saturated.
 *  - A kernel never touches a tensor's data pointer when the tensor has no
 *    elements (the pointer may be NULL).
 */
#ifndef PLEXUS_CPU_COMMON_H
#define PLEXUS_CPU_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include "plexus/dtype.h"
#include "plexus/plugin.h"
#include "quant.h"

/* The host table given to plexus_plugin_query (cpu_plugin.c). */
extern const px_host_api *cpu_host;

/* The CPU device. `scratch` is shared by the kernels that need a large
 * per-run buffer (the quantized activations of matmul_q): grown at prepare
 * (never during a run when the shapes stay within their bounds) and held
 * under `lock` for the duration of one kernel run. */
typedef struct cpu_device {
    char name[64];
    pthread_mutex_t lock;
    uint8_t *scratch;
    size_t cap;
} cpu_device;

/* Grow the device scratch to at least `bytes` (prepare time). */
px_status cpu_device_scratch_reserve(void *dev, size_t bytes);
/* Lock the device scratch for one run; *out has at least `bytes`. */
px_status cpu_device_scratch_acquire(void *dev, size_t bytes, void **out);
void cpu_device_scratch_release(void *dev);

/* Elements processed per step by the chunked loops (stack buffers). */
#define CPU_TILE 256

/* ---- dtype classes ---------------------------------------------------------- */

static inline int cpu_valid(px_dtype t) { return (int)t >= 0 && t < PX_DTYPE_COUNT; }
static inline int cpu_is_float(px_dtype t) { return t == PX_F32 || t == PX_F16 || t == PX_BF16 || t == PX_F64; }
static inline int cpu_is_sint(px_dtype t) { return t == PX_I8 || t == PX_I16 || t == PX_I32 || t == PX_I64; }
static inline int cpu_is_uint(px_dtype t) { return t == PX_U8 || t == PX_U16 || t == PX_U32 || t == PX_U64; }
/* I8..U64 (not BOOL). */
static inline int cpu_is_int(px_dtype t) { return cpu_is_sint(t) || cpu_is_uint(t); }
static inline int cpu_is_quant(px_dtype t) { return t >= PX_Q4_0 && t <= PX_IQ4_NL; }
/* Every dtype with one element per "block" (floats, integers, BOOL, and the
 * one-byte float8/float4 and sub-byte integer types, which layout kernels
 * move as bytes and arithmetic kernels do not take). */
static inline int cpu_is_plain(px_dtype t) { return cpu_valid(t) && !cpu_is_quant(t); }
static inline int cpu_is_index(px_dtype t) { return t == PX_I32 || t == PX_I64; }

/* Bytes per element of a plain dtype (0 for block types and invalid ones). */
size_t cpu_elt_size(px_dtype t);

/* Compute class of a dtype for arithmetic: F32 class (F32/F16/BF16), F64,
 * signed integer, unsigned integer (incl. BOOL). */
enum { CPU_CLS_F32 = 0, CPU_CLS_F64 = 1, CPU_CLS_SINT = 2, CPU_CLS_UINT = 3, CPU_CLS_NONE = -1 };
int cpu_class(px_dtype t);

/* ---- element loads and stores --------------------------------------------------
 * Load n elements of plain dtype t from `base`, the k-th at element index
 * i0 + k*stride (stride may be 0 or negative), converting to the buffer's
 * type. Stores write n elements the same way. */
void cpu_load_f32(px_dtype t, const void *base, int64_t i0, int64_t stride, int64_t n, float *dst);
void cpu_load_f64(px_dtype t, const void *base, int64_t i0, int64_t stride, int64_t n, double *dst);
/* Integers and BOOL only: sign- or zero-extended to 64 bits. */
void cpu_load_i64(px_dtype t, const void *base, int64_t i0, int64_t stride, int64_t n, int64_t *dst);
/* Float dtypes: round once (F16/BF16 round to nearest even). Integer dtypes
 * (store_f64 only): px_convert's rules (truncate toward zero, saturate). */
void cpu_store_f32(px_dtype t, void *base, int64_t i0, int64_t stride, int64_t n, const float *src);
void cpu_store_f64(px_dtype t, void *base, int64_t i0, int64_t stride, int64_t n, const double *src);
/* Integers and BOOL only: truncated to the dtype's width. */
void cpu_store_i64(px_dtype t, void *base, int64_t i0, int64_t stride, int64_t n, const int64_t *src);

/* Load n consecutive elements starting at element e0 of a row of dtype t
 * (plain or block-quantized; for block types e0 and n are multiples of the
 * block size) as doubles. `tmp` is a float buffer of at least
 * min(n, CPU_TILE) elements. */
void cpu_load_row_f64(px_dtype t, const void *base, int64_t e0, int64_t n, double *dst, float *tmp);

/* ---- shapes ----------------------------------------------------------------------- */

static inline int64_t cpu_numel(const px_tensor *t) {
    int64_t n = 1;
    for (int32_t i = 0; i < t->rank; i++) n *= t->ne[i];
    return n;
}
/* Normalise an axis (negative counts from the end); -1 if out of range. */
static inline int32_t cpu_axis(int64_t axis, int32_t rank) {
    if (axis < 0) axis += rank;
    return axis >= 0 && axis < rank ? (int32_t)axis : -1;
}
/* Product of ne[lo..hi). */
static inline int64_t cpu_prod(const int64_t *ne, int32_t lo, int32_t hi) {
    int64_t n = 1;
    for (int32_t i = lo; i < hi; i++) n *= ne[i];
    return n;
}

/* Node helpers (for supports): input i is present. */
static inline int cpu_in(const px_node_desc *n, int32_t i) { return px_node_has_input(n, i); }
static inline px_dtype cpu_in_dt(const px_node_desc *n, int32_t i) { return n->inputs[i].dtype; }
/* Kernel-args helper: input i is present (dtype >= 0). */
static inline int cpu_arg_in(const px_kernel_args *a, int32_t i) {
    return i < a->n_inputs && (int32_t)a->inputs[i].dtype >= 0;
}
static inline int64_t cpu_attr_i(const px_node_desc *n, const char *name, int64_t def) {
    return px_attr_int(n->attrs, n->n_attrs, name, def);
}
static inline double cpu_attr_f(const px_node_desc *n, const char *name, double def) {
    return px_attr_float(n->attrs, n->n_attrs, name, def);
}
/* INTS attribute (a single INT counts as a list of one): count, or -1 when
 * absent, -2 when of another type. */
int32_t cpu_attr_ints(const px_node_desc *n, const char *name, const int64_t **out);

/* ---- broadcast iteration ---------------------------------------------------------------
 * An output shape and up to CPU_ITER_MAX operands that broadcast to it
 * (numpy rules, right-aligned), with dims of size 1 dropped and adjacent
 * dims merged where every operand allows it. The last dim is the "inner"
 * dim walked by the tiles; rows are the other dims. */
#define CPU_ITER_MAX 4

typedef struct cpu_iter {
    int32_t rank;                          /* >= 1 */
    int32_t n_ops;
    int64_t ne[PX_MAX_DIMS];
    int64_t st[CPU_ITER_MAX][PX_MAX_DIMS]; /* element strides, 0 on broadcast dims */
    int64_t rows, inner;
} cpu_iter;

/* Operands are given by rank and dims; an operand with the output's shape
 * gets contiguous strides. Returns 0, or -1 when an operand does not
 * broadcast to the shape. */
int cpu_iter_init(cpu_iter *it, int32_t rank, const int64_t *ne, int32_t n_ops, const int32_t *op_rank,
                   const int64_t *const *op_ne);
/* Element offsets of every operand at the start of `row`. */
void cpu_iter_row(const cpu_iter *it, int64_t row, int64_t *off);

/* Called for one tile: off[k] is operand k's element offset of the tile's
 * first element, it->st[k][it->rank - 1] its stride along the tile. */
typedef void (*cpu_tile_fn)(void *ctx, const int64_t *off, int64_t n);
/* Run fn over every tile (of up to CPU_TILE elements) of it, in parallel. */
void cpu_iter_run(const px_host_api *h, const cpu_iter *it, cpu_tile_fn fn, void *ctx);

/* ---- per-run scratch memory ------------------------------------------------------------
 * Kernels that need scratch (row buffers, weight tiles) size it from the
 * node's shapes: a shared part and a per-thread part. prepare() allocates it
 * for the upper-bound shapes and keeps it in op_state; run() reuses it (and
 * grows it only if this run needs more, e.g. more threads than foreseen).
 * Without op_state, run() allocates and frees it itself. */
typedef struct cpu_shape {
    px_dtype dtype;   /* -1: absent */
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
} cpu_shape;

#define CPU_MAX_SHAPES 8
/* Bytes of scratch a node needs for the given input/output shapes. */
typedef void (*cpu_need_fn)(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                            size_t *shared, size_t *per_thread);

typedef struct cpu_scratch {
    uint8_t *base;
    size_t shared, per_thread; /* rounded to 64 */
    int32_t n_threads;
    int temp;                  /* allocated for this run only */
} cpu_scratch;

px_status cpu_scratch_begin(const px_kernel_args *a, cpu_need_fn need, cpu_scratch *s);
void cpu_scratch_end(const px_kernel_args *a, cpu_scratch *s);
static inline void *cpu_scratch_shared(const cpu_scratch *s) { return s->base; }
static inline void *cpu_scratch_thread(const cpu_scratch *s, int32_t thread) {
    return s->base + s->shared + (size_t)thread * s->per_thread;
}

/* A node's own data kept with its state (allocated with host->alloc, freed
 * by cpu_release): repacked weights. */
void *cpu_op_aux(void *op_state);
void cpu_op_set_aux(void *op_state, void *aux);

/* prepare/release shared by every kernel with scratch. */
px_status cpu_prepare(void *dev, const px_node_desc *node, void **out_state);
void cpu_release(void *dev, void *op_state);
/* The need function of an op (NULL if the op needs no scratch). */
cpu_need_fn cpu_need_of(px_op op);

/* Parallel-for grain giving chunks of about `work` units when one item costs
 * `per_item` units. */
static inline int64_t cpu_grain(int64_t per_item, int64_t work) {
    if (per_item < 1) per_item = 1;
    int64_t g = work / per_item;
    return g < 1 ? 1 : g;
}

/* ---- the kernels (one pair per op family) ---------------------------------------- */

#define CPU_KERNEL_DECL(name)                                    \
    int cpu_##name##_supports(void *dev, const px_node_desc *n); \
    px_status cpu_##name##_run(const px_kernel_args *a)

CPU_KERNEL_DECL(binary);     /* k_elementwise.c */
CPU_KERNEL_DECL(unary);
CPU_KERNEL_DECL(matmul);     /* k_matmul.c */
CPU_KERNEL_DECL(matmul_act);
CPU_KERNEL_DECL(matmul_q);  /* k_matmul_q.c */
CPU_KERNEL_DECL(matmul_bf16); /* k_matmul_bf16.c */
px_status cpu_matmul_bf16_prepare(void *dev, const px_node_desc *node, void **out_state);
void cpu_matmul_bf16_release(void *dev, void *op_state);
px_status cpu_matmul_q_prepare(void *dev, const px_node_desc *node, void **out_state);
void cpu_matmul_q_release(void *dev, void *op_state);
const char *cpu_matmul_q_isa_name(void);
CPU_KERNEL_DECL(reduce);     /* k_reduce.c */
CPU_KERNEL_DECL(softmax);    /* k_nn.c */
CPU_KERNEL_DECL(log_softmax);
CPU_KERNEL_DECL(norm);
CPU_KERNEL_DECL(rope);
CPU_KERNEL_DECL(swiglu);
CPU_KERNEL_DECL(attention); /* k_attention.c */
CPU_KERNEL_DECL(attention_f32); /* k_attention_f32.c */
/* ATTENTION's shapes and attributes, after the checks and the cache update
 * (k_attention.c); k and v are what the queries read (the caches if any). */
typedef struct cpu_att_args {
    int64_t T, Hq, Hkv, G, D, Dv, nk;
    int causal;
    int64_t window;
    double softcap, scale;
    const int32_t *pos;
    const px_tensor *k, *v;
} cpu_att_args;
px_status cpu_attention_begin(const px_kernel_args *a, cpu_att_args *p);
int64_t cpu_attention_heads_per_item(int64_t T, int64_t Hkv, int64_t G, int32_t threads);
/* The SIMD level k_matmul_q.c picked (PLEXUS_CPU_ISA caps it): 2 avx512-vnni
 * (x86) / dotprod (arm), 1 avx2 / neon, 0 scalar. */
int cpu_isa_level(void);
CPU_KERNEL_DECL(gather);    /* k_shape.c */
CPU_KERNEL_DECL(concat);
CPU_KERNEL_DECL(slice);
CPU_KERNEL_DECL(permute);
CPU_KERNEL_DECL(copy);
CPU_KERNEL_DECL(cast);
CPU_KERNEL_DECL(set_rows);
CPU_KERNEL_DECL(arange);
CPU_KERNEL_DECL(where);     /* k_misc.c */
CPU_KERNEL_DECL(compare);
CPU_KERNEL_DECL(cumsum);
CPU_KERNEL_DECL(argmax);
/* k_index.c: ops for the ONNX importer (logical, math, bitwise, gather/scatter, topk) */
CPU_KERNEL_DECL(elementwise_ext); /* logical, unary math, isnan/isinf, mod, bitshift, bitwise */
CPU_KERNEL_DECL(expand);
CPU_KERNEL_DECL(reduce_prod);
CPU_KERNEL_DECL(gather_elements);
CPU_KERNEL_DECL(gather_nd);
CPU_KERNEL_DECL(scatter_elements);
CPU_KERNEL_DECL(scatter_nd);
CPU_KERNEL_DECL(topk);           /* ARGMIN: the argmax kernel (k_misc.c) */
/* k_vision.c: ops for the ONNX importer (conv, pooling, pad, resize, lrn) */
CPU_KERNEL_DECL(conv);           /* CONV and CONV_TRANSPOSE (k_conv.c) */
CPU_KERNEL_DECL(pool);           /* MAX_POOL, AVG_POOL, LP_POOL */
CPU_KERNEL_DECL(pad);
CPU_KERNEL_DECL(resize);
CPU_KERNEL_DECL(lrn);
/* prepare of these kernels: reserves the device scratch their runs take. */
px_status cpu_vision_prepare(void *dev, const px_node_desc *node, void **out_state);
/* The window of a conv or pool node over x [N, C, D1..Dn] (n = 1..3), its
 * spatial dims as 3-D (D, H, W): 1-D and 2-D inputs get leading dims of 1
 * (kernel, stride and dilation 1, no pads). */
typedef struct cpu_win {
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
} cpu_win;
/* From the node's strides, dilations and pads attributes, the spatial dims
 * of x and out (n of each) and the kernel dims; 0, or -1 when an attribute
 * has the wrong length or a value out of range (pads < 0 unless neg_pads). */
int cpu_win_init(const px_node_desc *node, int32_t n, const int64_t *x_sp, const int64_t *out_sp,
                 const int64_t *kernel, int neg_pads, cpu_win *w);
/* The q in [*lo, *hi) with 0 <= q*s + b < lim and q < cap (s >= 1): the
 * columns of a window sweep that stay inside a row of lim elements. */
void cpu_win_cols(int64_t b, int64_t s, int64_t lim, int64_t cap, int64_t *lo, int64_t *hi);
/* The shapes of a node's inputs and first output: from its desc (t_in and
 * t_out NULL, at prepare) or from the tensors of a run. */
void cpu_vision_shapes(const px_node_desc *node, const px_tensor *t_in, const px_tensor *t_out, cpu_shape *in,
                       int32_t *n_in, cpu_shape *out);
/* Scratch of the vision kernels: the device scratch (see cpu_device),
 * shared part then one part per thread, held until cpu_vision_scratch_end. */
px_status cpu_vision_scratch_begin(const px_kernel_args *a, cpu_need_fn need, cpu_scratch *s);
void cpu_vision_scratch_end(const px_kernel_args *a, cpu_scratch *s);
void cpu_conv_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                   size_t *shared, size_t *per_thread);
CPU_KERNEL_DECL(grid_sample); /* k_grid.c */

/* Need functions of the kernels with scratch. */
void cpu_matmul_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                     size_t *shared, size_t *per_thread);
void cpu_attention_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                        size_t *shared, size_t *per_thread);
void cpu_nn_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                 size_t *shared, size_t *per_thread);
void cpu_axis_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                   size_t *shared, size_t *per_thread);

#endif
