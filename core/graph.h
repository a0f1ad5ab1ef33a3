/* Internal: the graph's storage, shared by the IR, the scheduler and the
 * program builder. The public view is ir.h. */
#ifndef PLEXUS_CORE_GRAPH_H
#define PLEXUS_CORE_GRAPH_H

#include "internal.h"
#include "plexus/ir.h"

typedef struct px_value_rec {
    char *name;
    px_value_kind kind;
    px_dtype dtype;
    px_shape shape;
    int32_t producer;     /* node index, -1 for inputs/constants/states */
    const void *data;     /* CONSTANT */
    void *owned;          /* CONSTANT copied into the graph */
    size_t const_bytes;
} px_value_rec;

typedef struct px_node_rec {
    char *name;
    px_op op;
    int32_t group;
    int32_t n_in, n_out, n_attrs;
    px_value *in;
    px_value *out;
    px_attr *attrs;       /* deep copies */
} px_node_rec;

typedef struct px_sym_rec {
    char *name;
    int64_t upper;
} px_sym_rec;

struct px_graph {
    px_value_rec *values;
    int32_t n_values, cap_values;
    px_node_rec *nodes;
    int32_t n_nodes, cap_nodes;
    px_sym_rec *syms;
    int32_t n_syms, cap_syms;
    int32_t group;
    px_status status;
    char *error;
};

/* Shape inference (shape.c). Given a node's op, inputs and attributes,
 * computes the output dtype and shape, or returns an error whose message
 * does not yet name the node (the caller prefixes it). For RESHAPE and
 * ARANGE, *out_shape holds the requested shape on entry. */
px_status px_infer(const px_graph *g, px_op op, const px_value *in, int32_t n_in,
                   const px_attr *attrs, int32_t n_attrs, px_dtype *out_dtype, px_shape *out_shape);

/* Shape inference of the ops appended for the ONNX importer: shape_index.c
 * (EXPAND..TOPK: logical, math, bitwise, gather/scatter, topk) and
 * shape_vision.c (CONV..LRN). Each returns PX_ERR_NOT_FOUND, without a
 * message, for an op it does not handle. */
px_status px_infer_index(const px_graph *g, px_op op, const px_value *in, int32_t n_in,
                         const px_attr *attrs, int32_t n_attrs, px_dtype *out_dtype, px_shape *out_shape);
px_status px_infer_vision(const px_graph *g, px_op op, const px_value *in, int32_t n_in,
                          const px_attr *attrs, int32_t n_attrs, px_dtype *out_dtype, px_shape *out_shape);
/* numpy broadcasting of two shapes (shape.c); symbolic dims broadcast only
 * against 1 or an identical dim. */
px_status px_shape_broadcast2(const px_graph *g, const px_shape *a, const px_shape *b, px_shape *out);

/* Evaluate a dim with symbols bound to `sym_values` (NULL: upper bounds). */
static inline int64_t px_dim_eval(const px_graph *g, px_dim d, const int64_t *sym_values) {
    if (d.sym < 0) return d.c;
    int64_t s = sym_values ? sym_values[d.sym] : g->syms[d.sym].upper;
    return (int64_t)d.k * s + d.c;
}
/* Element count of a shape (with symbol values or upper bounds); -1 on
 * overflow or a negative dim. */
int64_t px_shape_numel(const px_graph *g, const px_shape *s, const int64_t *sym_values);
/* Bytes of a value (dtype row size); -1 on error. */
int64_t px_value_bytes(const px_graph *g, px_value v, const int64_t *sym_values);
/* Write "[4, n_tokens, 2*n+1]" into buf. */
void px_shape_str(const px_graph *g, const px_shape *s, char *buf, size_t cap);
/* Normalise an axis in [-rank, rank) to [0, rank); -1 if out of range. */
static inline int32_t px_norm_axis(int64_t axis, int32_t rank) {
    if (axis < 0) axis += rank;
    return (axis < 0 || axis >= rank) ? -1 : (int32_t)axis;
}

/* Deep copy of an attribute array (NULL on allocation failure). */
px_attr *px_attrs_copy(const px_attr *attrs, int32_t n);
void px_attrs_free(px_attr *attrs, int32_t n);

/* Record an error on the graph (first one sticks) and in px_last_error. */
px_value px_graph_fail(px_graph *g, px_status st, const char *fmt, ...) PX_PRINTF(3, 4);

#endif
