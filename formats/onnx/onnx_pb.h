/* ONNX protobuf messages, decoded by a small zero-copy wire-format reader.
 *
 * Only the messages and fields an inference engine needs are decoded
 * (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto/TypeProto, OperatorSetIdProto, StringStringEntryProto);
 * unknown fields are skipped as protobuf requires. Field numbers are those of
 * onnx.proto. Every length and offset is checked against the buffer.
 *
 * Ownership: everything is allocated from one onx_arena and freed with it.
 * Byte spans (raw_data, string attributes) point into the decoded buffer,
 * which must outlive the arena's users. Names are copied and NUL-terminated.
 */
#ifndef PLEXUS_ONNX_PB_H
#define PLEXUS_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

#include "plexus/dtype.h"
#include "plexus/types.h"

/* Bytes of one element of a plain dtype. */
static inline size_t onx_px_size(px_dtype t) { return (size_t)px_dtype_row_size(t, 1); }

/* TensorProto.DataType */
enum {
    ONX_UNDEFINED = 0, ONX_FLOAT = 1, ONX_UINT8 = 2, ONX_INT8 = 3, ONX_UINT16 = 4, ONX_INT16 = 5,
    ONX_INT32 = 6, ONX_INT64 = 7, ONX_STRING = 8, ONX_BOOL = 9, ONX_FLOAT16 = 10, ONX_DOUBLE = 11,
    ONX_UINT32 = 12, ONX_UINT64 = 13, ONX_COMPLEX64 = 14, ONX_COMPLEX128 = 15, ONX_BFLOAT16 = 16,
    ONX_FLOAT8E4M3FN = 17, ONX_FLOAT8E4M3FNUZ = 18, ONX_FLOAT8E5M2 = 19, ONX_FLOAT8E5M2FNUZ = 20,
    ONX_UINT4 = 21, ONX_INT4 = 22, ONX_FLOAT4E2M1 = 23, ONX_FLOAT8E8M0 = 24, ONX_UINT2 = 25, ONX_INT2 = 26
};

/* AttributeProto.AttributeType */
enum {
    ONX_ATTR_UNDEFINED = 0, ONX_ATTR_FLOAT = 1, ONX_ATTR_INT = 2, ONX_ATTR_STRING = 3, ONX_ATTR_TENSOR = 4,
    ONX_ATTR_GRAPH = 5, ONX_ATTR_FLOATS = 6, ONX_ATTR_INTS = 7, ONX_ATTR_STRINGS = 8, ONX_ATTR_TENSORS = 9,
    ONX_ATTR_GRAPHS = 10, ONX_ATTR_SPARSE_TENSOR = 11, ONX_ATTR_SPARSE_TENSORS = 12, ONX_ATTR_TYPE_PROTO = 13,
    ONX_ATTR_TYPE_PROTOS = 14
};

#define ONX_MAX_RANK 16

typedef struct onx_arena onx_arena;
onx_arena *onx_arena_create(void);
void onx_arena_destroy(onx_arena *a);
void *onx_alloc(onx_arena *a, size_t n); /* zeroed; NULL when out of memory */

typedef struct onx_bytes {
    const uint8_t *p;
    uint64_t n;
} onx_bytes;

typedef struct onx_tensor {
    const char *name;
    int32_t data_type;
    int32_t rank;
    int64_t dims[ONX_MAX_RANK];
    int has_raw;
    onx_bytes raw;          /* raw_data */
    onx_bytes msg;          /* the whole message: typed fields are decoded on demand */
    int external;           /* data_location == EXTERNAL */
    const char *location;   /* external_data "location" (relative to the model) */
    int64_t ext_offset, ext_length; /* -1 when not given */
} onx_tensor;

typedef struct onx_graph onx_graph;

typedef struct onx_attr {
    const char *name;
    const char *ref_attr_name; /* inside functions; NULL otherwise */
    int32_t type;
    float f;
    int64_t i;
    onx_bytes s;
    onx_tensor *t;
    onx_graph *g;
    int32_t n;              /* element count of the list kinds */
    float *floats;
    int64_t *ints;
    onx_bytes *strings;
    onx_tensor **tensors;
    onx_graph **graphs;
} onx_attr;

typedef struct onx_node {
    const char *name, *op_type, *domain;
    int32_t n_inputs, n_outputs, n_attrs;
    const char **inputs;    /* "" for an absent optional input */
    const char **outputs;
    onx_attr *attrs;
} onx_node;

/* A value's type: tensor with element type and optional shape. Other kinds
 * (sequence, map, optional, sparse) are recorded by `kind`. */
enum { ONX_TYPE_NONE = 0, ONX_TYPE_TENSOR = 1, ONX_TYPE_SEQUENCE = 2, ONX_TYPE_MAP = 3, ONX_TYPE_OPTIONAL = 4,
       ONX_TYPE_SPARSE = 5 };
typedef struct onx_value_info {
    const char *name;
    int32_t kind;
    int32_t elem_type;
    int32_t has_shape;
    int32_t rank;
    int64_t dims[ONX_MAX_RANK];     /* -1 where unknown */
    const char *params[ONX_MAX_RANK]; /* dim_param or NULL */
} onx_value_info;

struct onx_graph {
    const char *name;
    int32_t n_nodes, n_inits, n_inputs, n_outputs, n_value_infos, n_sparse_inits;
    onx_node *nodes;
    onx_tensor *inits;
    onx_value_info *inputs, *outputs, *value_infos;
};

typedef struct onx_opset {
    const char *domain; /* "" for ai.onnx */
    int64_t version;
} onx_opset;

typedef struct onx_function {
    const char *name, *domain;
    int32_t n_inputs, n_outputs, n_attrs, n_nodes, n_opsets;
    const char **inputs, **outputs, **attr_names;
    onx_node *nodes;
    onx_opset *opsets;
} onx_function;

typedef struct onx_model {
    int64_t ir_version;
    const char *producer_name, *producer_version, *domain;
    int64_t model_version;
    int32_t n_opsets, n_functions, n_props;
    onx_opset *opsets;
    onx_function *functions;
    const char **prop_keys, **prop_values; /* metadata_props */
    onx_graph *graph;
} onx_model;

/* Decode a ModelProto from buf[0..n). On error returns PX_ERR_FORMAT (or
 * PX_ERR_NO_MEMORY) and writes "<problem> (at byte N)" into err. */
px_status onx_decode_model(onx_arena *a, const uint8_t *buf, uint64_t n, onx_model *out, char *err, size_t err_cap);
/* Decode a lone TensorProto (the .pb files of the ONNX tests). */
px_status onx_decode_tensor(onx_arena *a, const uint8_t *buf, uint64_t n, onx_tensor *out, char *err, size_t err_cap);

/* Plexus dtype for an ONNX element type; -1 when Plexus has none. */
int onx_to_px_dtype(int32_t onnx_type);
int32_t onx_from_px_dtype(px_dtype t);
const char *onx_type_name(int32_t onnx_type);

/* Bits per element of the ONNX types stored packed (4 or 2), else 0. */
int onx_packed_bits(int32_t onnx_type);

/* Element count of a tensor (-1 on overflow or negative dims). */
int64_t onx_tensor_numel(const onx_tensor *t);

/* The tensor's elements as the Plexus dtype `dt` (= onx_to_px_dtype of its
 * type) in host order: *out points into `data` (raw_data, zero-copy) or into
 * a buffer from the arena (typed fields decoded). `ext_base`/`ext_len` is the
 * mapped external file for external tensors (NULL otherwise). Errors name the
 * tensor. The 4-bit and 2-bit types (int4, uint4, float4e2m1, int2, uint2)
 * are stored packed, low bits first (raw_data, external data, or one packed
 * byte per int32_data entry); they are unpacked into the arena, one byte per
 * element (int4/int2 sign-extended), so *out never points into the file for
 * them. */
px_status onx_tensor_data(onx_arena *a, const onx_tensor *t, const uint8_t *ext_base, uint64_t ext_len,
                          const void **out, uint64_t *out_nbytes, char *err, size_t err_cap);

/* Encode a TensorProto (name, dims, data_type, raw_data) into a malloc'd
 * buffer. Returns NULL when out of memory. `raw` holds the elements in
 * Plexus layout; for the 4-bit and 2-bit types (one byte per element,
 * raw_len = element count) they are packed as ONNX stores them. */
uint8_t *onx_encode_tensor(const char *name, int32_t data_type, int32_t rank, const int64_t *dims, const void *raw,
                           uint64_t raw_len, uint64_t *out_len);

#endif
