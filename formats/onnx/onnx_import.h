/* ONNX -> Plexus IR import: the state shared by the importer (onnx_import.c)
 * and the op mappings (onnx_ops_*.c).
 *
 * Every ONNX value gets an ox_val with a concrete dtype and shape: input
 * shapes come from the model or from the build options (shape.NAME, dim.PARAM,
 * input.NAME = a TensorProto file), and every node's output shape follows
 * from them, so shape arithmetic (Shape, Gather on shapes, Concat, Reshape
 * with 0 and -1, Range, ConstantOfShape, ...) is evaluated here, at import.
 * A value whose contents are known at import (initializers, Constant nodes,
 * folded shape arithmetic) is "constant": it becomes an IR constant only when
 * a kernel needs it, and ops that need constant operands (Reshape's shape,
 * Slice's starts, ...) read it here. */
#ifndef PLEXUS_ONNX_IMPORT_H
#define PLEXUS_ONNX_IMPORT_H

#include <stdint.h>

#include "onnx_pb.h"
#include "plexus/ir.h"
#include "plexus/plugin.h"

typedef struct ox_val {
    const char *name;
    px_dtype dt;
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
    px_value v;           /* IR value, PX_NONE until needed (constants) */
    const void *data;     /* host data when the value is known at import */
    int is_input;         /* a graph input (run-time data) */
    int in_file;          /* data lies in the mapped model (or external) file: borrowed */
    /* sequences and optionals, which exist at import only (onnx_ops_seq.c):
     * is_seq 1 for a sequence of seq_n tensors, 2 for an optional (seq_n 0
     * or 1); elem_dt is the element type of an empty one */
    int is_seq;
    int32_t seq_n;
    struct ox_val **seq;
    px_dtype elem_dt;
} ox_val;

typedef struct ox_ctx ox_ctx;

/* The host's API table (set by the plugin when it is loaded). */
extern const px_host_api *ox_host;

/* One op mapping: reads node inputs with ox_in, writes outputs with
 * ox_out_ir / ox_out_const. */
typedef px_status (*ox_import_fn)(ox_ctx *c, const onx_node *n);

typedef struct ox_op {
    const char *op_type;
    ox_import_fn fn;
} ox_op;

/* Tables of the op mapping files; NULL-terminated. */
extern const ox_op ox_ops_elementwise[];
extern const ox_op ox_ops_tensor[];
extern const ox_op ox_ops_nn[];
extern const ox_op ox_ops_quant[];
extern const ox_op ox_ops_vision[];
extern const ox_op ox_ops_attn[];
extern const ox_op ox_ops_ctrl[];
extern const ox_op ox_ops_misc[];
extern const ox_op ox_ops_rnn[];
extern const ox_op ox_ops_seq[];

/* ---- the importer's services ------------------------------------------------ */

const char *ox_path(const ox_ctx *c);
px_graph *ox_graph(ox_ctx *c);
onx_arena *ox_arena(ox_ctx *c);
/* The ai.onnx opset version the model imports. */
int64_t ox_opset(const ox_ctx *c);

/* Error for node n: "<file>: node '<name>' (<op>): <message>". */
px_status ox_fail(ox_ctx *c, const onx_node *n, px_status st, const char *fmt, ...) PX_PRINTF(4, 5);

/* Input i of n; NULL when absent (beyond n_inputs or the empty name). An
 * input name never defined is an error (*st set). */
ox_val *ox_in(ox_ctx *c, const onx_node *n, int i);
/* The value named `name`, NULL when not defined (yet). */
ox_val *ox_find(ox_ctx *c, const char *name);
/* The IR value of v (a constant is added to the graph on first use). */
px_value ox_ir(ox_ctx *c, ox_val *v);
/* IR value of input i (PX_NONE when absent). */
px_value ox_in_ir(ox_ctx *c, const onx_node *n, int i);

/* Constant contents as int64 / double (any integer/float dtype). Fails,
 * naming the node, when v is not known at import. `out` holds numel values;
 * it is allocated from the arena. */
px_status ox_const_i64(ox_ctx *c, const onx_node *n, const ox_val *v, const char *what, int64_t **out, int64_t *count);
px_status ox_const_f64(ox_ctx *c, const onx_node *n, const ox_val *v, const char *what, double **out, int64_t *count);

/* Define output i of n from an IR value (dtype/shape read from the graph). */
px_status ox_out_ir(ox_ctx *c, const onx_node *n, int i, px_value v);
/* Define output i as a value known at import (data copied into the arena). */
px_status ox_out_const(ox_ctx *c, const onx_node *n, int i, px_dtype dt, int32_t rank, const int64_t *ne,
                       const void *data);
/* Define output i as an alias of an existing value (Identity). */
px_status ox_out_alias(ox_ctx *c, const onx_node *n, int i, ox_val *src);
/* 1 if output i is requested (present and named). */
int ox_has_out(const onx_node *n, int i);

/* Attributes. */
const onx_attr *ox_attr(const onx_node *n, const char *name);
int64_t ox_attr_i(const onx_node *n, const char *name, int64_t def);
double ox_attr_f(const onx_node *n, const char *name, double def);
/* INTS attribute: count, or -1 when absent. */
int32_t ox_attr_ints(const onx_node *n, const char *name, const int64_t **out);
/* STRING attribute as a NUL-terminated copy (arena); def when absent. */
const char *ox_attr_s(ox_ctx *c, const onx_node *n, const char *name, const char *def);

/* ---- IR building helpers ----------------------------------------------------- */

px_value ox_node(ox_ctx *c, px_op op, const px_value *in, int32_t n_in, const px_attr *attrs, int32_t n_attrs);
px_value ox_unary(ox_ctx *c, px_op op, px_value x);
px_value ox_binary(ox_ctx *c, px_op op, px_value a, px_value b);
px_value ox_cast(ox_ctx *c, px_value x, px_dtype dt);
px_value ox_reshape(ox_ctx *c, px_value x, int32_t rank, const int64_t *ne);
px_value ox_permute(ox_ctx *c, px_value x, int32_t rank, const int64_t *perm);
/* numpy matmul (1-D operands promoted, the added dim removed; integer
 * operands exact through F64). */
px_value ox_matmul(ox_ctx *c, px_value a, px_value b);
/* x*s + b */
px_value ox_scale(ox_ctx *c, px_value x, double s, double b);
/* dtype and shape of v; returns v. */
px_value ox_dt_shape(ox_ctx *c, px_value v, px_dtype *dt, int32_t *rank, int64_t *ne);
/* A scalar constant of dtype dt (shape [] ) holding v. */
px_value ox_scalar(ox_ctx *c, px_dtype dt, double v);
/* Zeros of a shape, made at run time (no host memory sized by the shape). */
px_value ox_zeros(ox_ctx *c, px_dtype dt, int32_t rank, const int64_t *ne);
/* A constant with the given contents (copied). */
px_value ox_constant(ox_ctx *c, px_dtype dt, int32_t rank, const int64_t *ne, const void *data);
/* dtype and shape of an IR value. */
void ox_shape(ox_ctx *c, px_value v, px_dtype *dt, int32_t *rank, int64_t *ne);

/* Normalise a possibly negative axis for rank r; -1 when out of range. */
int32_t ox_axis(int64_t axis, int32_t rank);
int64_t ox_numel(int32_t rank, const int64_t *ne);
int ox_is_float(px_dtype t);
int ox_is_int(px_dtype t);

/* Import subgraph g (an attribute of n) inline: its inputs are bound to
 * `inputs`, its nodes imported, and its outputs returned. Names defined in
 * the subgraph stay visible afterwards (ONNX names are unique). Used by If,
 * Loop and Scan, which are unrolled at import. */
px_status ox_run_subgraph(ox_ctx *c, const onx_node *n, const onx_graph *g, ox_val *const *inputs, int32_t n_inputs,
                          ox_val **outputs, int32_t n_outputs);

/* Fusions (onnx_fuse.c): the plan of graph g gives role[i] = -1 for nodes
 * imported inside a fusion, k+1 for the node that emits fusion k. Emitting
 * sets *done = 0 when the operands do not fit; the caller then imports the
 * fusion's nodes (ox_fuse_nodes, in graph order) one by one. */
typedef struct ox_fusion ox_fusion;
px_status ox_fuse_plan(ox_ctx *c, const onx_graph *g, int32_t *role, ox_fusion **out, int32_t *out_n);
px_status ox_fuse_emit(ox_ctx *c, const ox_fusion *f, int *done);
int32_t ox_fuse_nodes(const ox_fusion *f, const onx_node *const **out);
const ox_fusion *ox_fusion_at(const ox_fusion *fs, int32_t k);

/* 1 when v's contents are known at import and may be folded: constants,
 * and graph inputs given with small integer contents (shapes). */
int ox_known(const ox_val *v);
/* 1 when every present input of n is ox_known. */
int ox_all_const(ox_ctx *c, const onx_node *n);

/* Maps the external data file `location` (relative to the model's folder)
 * for the life of the model. */
typedef px_status (*ox_external_fn)(void *ud, const char *location, const uint8_t **base, uint64_t *len);

/* Build the IR graph of a decoded model (onnx_import.c). Errors name `path`
 * (px_set_error). Constants in the model file are borrowed by the graph. */
px_status ox_import(const char *path, const onx_model *m, const px_config_section *options, ox_external_fn ext,
                    void *ext_ud, px_graph **out_graph);

#endif
