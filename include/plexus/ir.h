/* Plexus — the tensor-graph IR.
 *
 * A graph is a list of values and a list of nodes in topological order (a
 * node can only use values that exist when it is added, so the order in which
 * nodes are added is a valid execution order).
 *
 * Values have a dtype, a shape and a kind. A shape's dims are either
 * constants or affine in one symbolic dim (k*S + c), where a symbolic dim S
 * (`n_tokens`, `batch`) is declared with an upper bound and bound to a value
 * per run. Memory is planned once for the upper bounds.
 *
 * Error handling: builder calls return a px_value, PX_NONE on error. The
 * first error sticks to the graph (px_graph_status returns it, with a message
 * naming the node); any later builder call that is handed PX_NONE as an
 * input just returns PX_NONE, so a graph can be built without checking every
 * call and checked once at the end.
 *
 * Ownership: the graph copies names, attributes and shapes. Constant data is
 * borrowed unless PX_CONST_COPY is given: borrowed data must stay valid and
 * unchanged for the life of the graph and of every program made from it.
 */
#ifndef PLEXUS_IR_H
#define PLEXUS_IR_H

#include <stdio.h>

#include "ops.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct px_graph px_graph;

/* A value is named by its index in the graph. */
typedef int32_t px_value;
#define PX_NONE ((px_value)-1)

typedef enum px_value_kind {
    PX_VALUE_INTERMEDIATE = 0, /* produced by a node, not kept after the run  */
    PX_VALUE_INPUT = 1,        /* set by the caller before each run           */
    PX_VALUE_OUTPUT = 2,       /* produced by a node and read after the run   */
    PX_VALUE_CONSTANT = 3,     /* weights: data fixed when the graph is built */
    PX_VALUE_STATE = 4         /* persists across runs (KV cache); starts zero */
} px_value_kind;

/* One dim: value = k * sym + c when sym >= 0, else c. */
typedef struct px_dim {
    int64_t c;
    int32_t sym; /* symbolic dim id, or -1 */
    int32_t k;   /* multiplier of the symbol (>= 1 when sym >= 0) */
} px_dim;

typedef struct px_shape {
    int32_t rank;
    px_dim d[PX_MAX_DIMS];
} px_shape;

/* Attributes. */
typedef enum px_attr_type {
    PX_ATTR_INT = 0,
    PX_ATTR_FLOAT = 1,
    PX_ATTR_INTS = 2,
    PX_ATTR_FLOATS = 3,
    PX_ATTR_STRING = 4
} px_attr_type;

typedef struct px_attr {
    const char *name;
    int32_t type; /* px_attr_type */
    int32_t n;    /* element count of INTS / FLOATS */
    union {
        int64_t i;
        double f;
        const int64_t *ints;
        const float *floats;
        const char *s;
    } u;
} px_attr;

/* Constructors usable in initialisers: px_attr a[] = {PX_ATTR_I("axis", 1)}; */
#define PX_ATTR_I(nm, v) {.name = (nm), .type = PX_ATTR_INT, .n = 1, .u = {.i = (v)}}
#define PX_ATTR_F(nm, v) {.name = (nm), .type = PX_ATTR_FLOAT, .n = 1, .u = {.f = (v)}}
#define PX_ATTR_INTS(nm, p, cnt) {.name = (nm), .type = PX_ATTR_INTS, .n = (cnt), .u = {.ints = (p)}}
#define PX_ATTR_FLOATS(nm, p, cnt) {.name = (nm), .type = PX_ATTR_FLOATS, .n = (cnt), .u = {.floats = (p)}}
#define PX_ATTR_S(nm, v) {.name = (nm), .type = PX_ATTR_STRING, .n = 1, .u = {.s = (v)}}

/* Attribute lookup over an array (header-only, usable by plugins). */
static inline const px_attr *px_attr_find(const px_attr *attrs, int32_t n, const char *name) {
    for (int32_t i = 0; i < n; i++) {
        const char *a = attrs[i].name, *b = name;
        while (*a && *a == *b) { a++; b++; }
        if (*a == 0 && *b == 0) return &attrs[i];
    }
    return (const px_attr *)0;
}
static inline int64_t px_attr_int(const px_attr *attrs, int32_t n, const char *name, int64_t def) {
    const px_attr *a = px_attr_find(attrs, n, name);
    if (!a) return def;
    if (a->type == PX_ATTR_INT) return a->u.i;
    if (a->type == PX_ATTR_FLOAT) return (int64_t)a->u.f;
    return def;
}
static inline double px_attr_float(const px_attr *attrs, int32_t n, const char *name, double def) {
    const px_attr *a = px_attr_find(attrs, n, name);
    if (!a) return def;
    if (a->type == PX_ATTR_FLOAT) return a->u.f;
    if (a->type == PX_ATTR_INT) return (double)a->u.i;
    return def;
}

/* Shape helpers. */
static inline px_dim px_dim_c(int64_t c) { px_dim d = {c, -1, 0}; return d; }
static inline px_dim px_dim_s(int32_t sym) { px_dim d = {0, sym, 1}; return d; }
/* Shape with constant dims: px_shape_make(2, (int64_t[]){4, 8}). */
px_shape px_shape_make(int32_t rank, const int64_t *dims);

/* ---- building ---------------------------------------------------------- */

px_status px_graph_create(px_graph **out_graph);
void px_graph_destroy(px_graph *g);

/* First error recorded while building (PX_OK if none). The message is also
 * stored in px_last_error() at the moment the error happens and kept in the
 * graph: px_graph_error_message(). */
px_status px_graph_status(const px_graph *g);
const char *px_graph_error_message(const px_graph *g);

/* Declare a symbolic dim with an upper bound (>= 1). Returns its id (>= 0) or
 * -1 on error. Names are unique within a graph. */
int32_t px_graph_add_sym(px_graph *g, const char *name, int64_t upper_bound);
int32_t px_graph_find_sym(const px_graph *g, const char *name);

/* Nodes added from now on carry this group (the transformer layer index);
 * -1 (the default) means no group. */
void px_graph_set_group(px_graph *g, int32_t group);

px_value px_graph_input(px_graph *g, const char *name, px_dtype dtype, const px_shape *shape);

enum {
    PX_CONST_BORROW = 0, /* keep a pointer: data must outlive the graph */
    PX_CONST_COPY = 1    /* copy the bytes into the graph                */
};
/* A constant's shape must be static. `nbytes` must equal the tensor's size. */
px_value px_graph_constant(px_graph *g, const char *name, px_dtype dtype, const px_shape *shape,
                           const void *data, size_t nbytes, int flags);
/* A state value (persists across runs of a program, zero at creation). Its
 * shape must be static. */
px_value px_graph_state(px_graph *g, const char *name, px_dtype dtype, const px_shape *shape);

/* Add a node. Its outputs' dtypes and shapes are inferred; the first output
 * is returned (all ops of the core op set have one output). `name` may be
 * NULL (a name is made up). Inputs may hold PX_NONE for absent optional
 * inputs. */
px_value px_graph_node(px_graph *g, px_op op, const px_value *inputs, int32_t n_inputs,
                       const px_attr *attrs, int32_t n_attrs, const char *name);
/* RESHAPE with an explicit output shape. */
px_value px_graph_reshape(px_graph *g, px_value x, const px_shape *shape, const char *name);
/* ARANGE with an explicit output length. */
px_value px_graph_arange(px_graph *g, px_dim n, double start, double step, px_dtype dtype,
                         const char *name);

/* Mark a produced value as a graph output. `name` may be NULL (keeps the
 * value's name). */
px_status px_graph_mark_output(px_graph *g, px_value v, const char *name);

/* Full check: every node's inputs, dtypes, shapes and attributes (shape
 * inference is re-run), states only written through SET_ROWS/ATTENTION, at
 * least one output. Returns PX_OK or the first problem, naming the node. */
px_status px_graph_validate(px_graph *g);

/* Print the graph as text, one line per value and node. */
void px_graph_print(const px_graph *g, FILE *f);

/* ---- introspection ------------------------------------------------------ */

typedef struct px_value_info {
    const char *name;
    px_value_kind kind;
    px_dtype dtype;
    px_shape shape;
    int32_t producer;      /* node index, or -1 */
    const void *data;      /* CONSTANT: the bytes, else NULL */
    size_t nbytes;         /* bytes at the upper bounds of the shape */
} px_value_info;

typedef struct px_node_info {
    const char *name;
    px_op op;
    int32_t group;
    int32_t n_inputs;
    const px_value *inputs;
    int32_t n_outputs;
    const px_value *outputs;
    int32_t n_attrs;
    const px_attr *attrs;
} px_node_info;

int32_t px_graph_value_count(const px_graph *g);
int32_t px_graph_node_count(const px_graph *g);
int32_t px_graph_sym_count(const px_graph *g);
px_status px_graph_value_info(const px_graph *g, px_value v, px_value_info *out);
px_status px_graph_node_info(const px_graph *g, int32_t node, px_node_info *out);
/* Find a value by name; PX_NONE if absent. */
px_value px_graph_find_value(const px_graph *g, const char *name);
/* Symbol name and upper bound. */
const char *px_graph_sym_name(const px_graph *g, int32_t sym);
int64_t px_graph_sym_upper(const px_graph *g, int32_t sym);

#ifdef __cplusplus
}
#endif
#endif
