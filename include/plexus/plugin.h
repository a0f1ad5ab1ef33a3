/* Plexus — plugin ABI. This header is the specification a plugin is written
 * against; docs/plugin-guide.md walks through it.
 *
 * Rules that keep the ABI stable
 *  - A plugin shared library exports one symbol, `plexus_plugin_query`.
 *  - ABI versions: the major must match; a plugin built against an older
 *    minor loads on a newer host. The host refuses a plugin whose major
 *    differs or whose minor is newer than its own, naming both versions.
 *  - Every struct that crosses the boundary begins with `uint32_t struct_size`
 *    (sizeof as the writer compiled it). Tables only grow at the end. A reader
 *    treats a slot beyond struct_size, or a NULL slot, as "not implemented".
 *    tests/test_abi_layout.c pins every field offset.
 *  - A plugin never aborts the process, never prints to stdout, never exits
 *    and never starts threads of its own for compute: it reports errors with
 *    host->set_error (a status plus a message) and runs parallel work
 *    through host->parallel_for.
 */
#ifndef PLEXUS_PLUGIN_H
#define PLEXUS_PLUGIN_H

#include <stdarg.h>

#include "ir.h"
#include "ops.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PX_ABI_MAJOR 1u
#define PX_ABI_MINOR 0u

/* ---- what the host gives a plugin -------------------------------------- */

typedef enum px_log_level {
    PX_LOG_ERROR = 0,
    PX_LOG_WARN = 1,
    PX_LOG_INFO = 2,
    PX_LOG_DEBUG = 3
} px_log_level;

/* One key of the plugin's ini section ([plugin.<name>]), as text, with the
 * parsed number where the text is one. */
typedef struct px_config_kv {
    const char *key;
    const char *value;
    int32_t is_int;    /* value parsed fully as an integer */
    int32_t is_float;  /* value parsed fully as a number   */
    int64_t i;
    double f;
} px_config_kv;

typedef struct px_config_section {
    uint32_t struct_size;
    int32_t n;
    const px_config_kv *kv;
} px_config_section;

/* fn(ctx, begin, end, thread): process items [begin, end). thread is in
 * [0, n_threads) and is stable for the call; use it to index scratch.      */
typedef void (*px_range_fn)(void *ctx, int64_t begin, int64_t end, int32_t thread);

typedef struct px_host_api {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    /* Log a message (never to stdout). `plugin` names the caller. */
    void (*log)(px_log_level level, const char *plugin, const char *fmt, ...) PX_PRINTF(3, 4);
    /* Record an error message for the current call and return `status`, so
     * a plugin can write: return host->set_error(PX_ERR_DEVICE, "...", ...); */
    px_status (*set_error)(px_status status, const char *fmt, ...) PX_PRINTF(2, 3);
    /* Host memory. alloc returns memory aligned to `align` (a power of two,
     * >= sizeof(void*)), or NULL. free accepts NULL. */
    void *(*alloc)(size_t size, size_t align);
    void (*free)(void *p);
    /* Run fn over [0, n) on the core's thread pool, in chunks of at least
     * `grain` items; returns when all items are done. The calling thread
     * takes part. Nested calls run serially on the calling thread. */
    void (*parallel_for)(int64_t n, int64_t grain, px_range_fn fn, void *ctx);
    /* Threads parallel_for uses (>= 1). */
    int32_t (*n_threads)(void);
    /* Element conversion between any two dtypes (see px_convert, dtype.h). */
    px_status (*convert)(px_dtype st, const void *src, px_dtype dt, void *dst, int64_t n);
} px_host_api;

/* ---- describing nodes to plugins ---------------------------------------- */

/* A value as a plugin sees it when deciding or preparing: dtype, kind and the
 * shape at the upper bounds of its symbolic dims (is_sym marks those dims). */
typedef struct px_value_desc {
    px_dtype dtype;
    int32_t kind; /* px_value_kind */
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
    uint8_t is_sym[PX_MAX_DIMS];
    const void *const_data; /* CONSTANT values: host bytes (read-only), else NULL */
} px_value_desc;

typedef struct px_node_desc {
    uint32_t struct_size;
    px_op op;
    const char *name;
    int32_t group;
    int32_t n_inputs;                /* absent optional inputs have dtype -1 */
    const px_value_desc *inputs;
    int32_t n_outputs;
    const px_value_desc *outputs;
    int32_t n_attrs;
    const px_attr *attrs;
} px_node_desc;

/* 1 if input slot i is present. */
static inline int px_node_has_input(const px_node_desc *n, int32_t i) {
    return i < n->n_inputs && (int32_t)n->inputs[i].dtype >= 0;
}

/* ---- kernels --------------------------------------------------------------- */

typedef struct px_kernel_args {
    uint32_t struct_size;
    const px_node_desc *node;
    int32_t n_inputs;
    const px_tensor *inputs;   /* absent optional inputs: dtype -1, data NULL */
    int32_t n_outputs;
    const px_tensor *outputs;
    void *device;              /* the plugin's device handle */
    void *op_state;            /* from prepare, or NULL */
    const px_host_api *host;
} px_kernel_args;

typedef struct px_kernel {
    uint32_t struct_size;
    px_op op;
    const char *name;     /* unique within the plugin, e.g. "matmul_ref" */
    /* Higher wins when several kernels of a device support a node, unless
     * the ini file's [kernels] section names one. */
    int32_t priority;
    /* Return 1 if this kernel can run `node`, else 0 (and may log why at
     * DEBUG). Must not fail otherwise. NULL: supports every node of `op`.  */
    int (*supports)(void *device, const px_node_desc *node);
    /* Run the node. Inputs and outputs are on this kernel's device, with
     * the concrete shapes of this run. */
    px_status (*run)(const px_kernel_args *args);
    /* Optional: called once when a program is made; *out_state is passed
     * to every run and released with release. */
    px_status (*prepare)(void *device, const px_node_desc *node, void **out_state);
    void (*release)(void *device, void *op_state);
} px_kernel;

/* ---- whole-subgraph execution (NPUs) -------------------------------------- */

/* A view of the graph handed to claim(): nodes in execution order. */
typedef struct px_subgraph_desc {
    uint32_t struct_size;
    int32_t n_nodes;
    const px_node_desc *nodes;   /* nodes[i] */
    const int32_t *node_ids;     /* graph node index of nodes[i] */
    /* value ids: node i's inputs are input_ids[input_off[i] ...] */
    const px_value *input_ids;
    const int32_t *input_off;
    const px_value *output_ids;
    const int32_t *output_off;
} px_subgraph_desc;

typedef struct px_claim_result {
    uint32_t struct_size;
    /* Per node of the subgraph desc: group id >= 0 if claimed (nodes with
     * one id are compiled together), -1 if refused. */
    int32_t *group_of_node;
    /* Per node: why it was refused (static string or NULL). */
    const char **reason;
} px_claim_result;

/* ---- devices --------------------------------------------------------------- */

typedef enum px_device_kind {
    PX_DEVICE_CPU = 0,
    PX_DEVICE_GPU = 1,
    PX_DEVICE_NPU = 2
} px_device_kind;

enum {
    PX_DEVICE_HOST_VISIBLE = 1u << 0,  /* buffers are plain host memory      */
    PX_DEVICE_UNIFIED_MEMORY = 1u << 1,/* shares physical memory with host  */
    PX_DEVICE_IMPORT_HOST = 1u << 2    /* can wrap host memory (mmap) as a buffer */
};

typedef struct px_device_info {
    uint32_t struct_size;
    px_device_kind kind;
    char name[64];          /* human-readable, e.g. "AMD EPYC 9454P (avx512)" */
    uint64_t mem_total;     /* bytes, 0 if unknown */
    uint64_t mem_free;      /* bytes, 0 if unknown */
    uint32_t flags;         /* PX_DEVICE_* */
    uint32_t alignment;     /* buffer offset alignment in bytes (power of 2) */
    uint64_t max_alloc;     /* largest single buffer, 0 if unlimited */
} px_device_info;

/* Device operations. `dev` is the handle device_create returned. Buffers are
 * opaque handles; a host-visible device also returns its base address from
 * buffer_base. */
typedef struct px_device_ops {
    uint32_t struct_size;
    px_status (*get_info)(void *dev, px_device_info *out);

    px_status (*buffer_alloc)(void *dev, size_t size, void **out_buffer);
    void (*buffer_free)(void *dev, void *buffer);
    /* Host address of the buffer's first byte, or NULL if not host-visible. */
    void *(*buffer_base)(void *dev, void *buffer);
    px_status (*upload)(void *dev, void *buffer, uint64_t offset, const void *src, size_t n);
    px_status (*download)(void *dev, void *buffer, uint64_t offset, void *dst, size_t n);
    /* Copy within the device (src and dst may be the same buffer, ranges do
     * not overlap). */
    px_status (*copy)(void *dev, void *dst_buffer, uint64_t dst_offset, void *src_buffer,
                      uint64_t src_offset, size_t n);
    /* Optional: wrap host memory (e.g. the mapped model file) as a buffer
     * without copying; the memory outlives the buffer. */
    px_status (*import_host)(void *dev, void *host_ptr, size_t size, void **out_buffer);
    /* Optional: wait until work issued to the device is done. */
    px_status (*synchronize)(void *dev);

    /* Kernels: a table owned by the plugin, valid while the device lives. */
    px_status (*get_kernels)(void *dev, const px_kernel **out_kernels, int32_t *out_count);

    /* Optional whole-subgraph execution (NPUs). All four or none.
     * claim: the host passes every node of the (lowered) graph in execution
     *   order, RESHAPE aliases included; the plugin fills out->group_of_node
     *   (and may fill out->reason). A node takes the device when it is
     *   claimed and the device comes first among the node's candidates.
     * compile: the host hands over one unit: a run of consecutive nodes
     *   (sub->nodes[node_idx[0..n_nodes-1]], increasing) that all run on this
     *   device with one group id (RESHAPE nodes inside the run are included),
     *   with the value ids of its external inputs (every value a unit node
     *   reads that no unit node produces, in order of first use) and of its
     *   outputs (values produced in the unit and read after it, by a later
     *   node or as graph outputs, in order of production).
     * execute: runs a compiled unit; inputs[i] and outputs[i] are the tensors
     *   of the ids compile got, in the same order, in this device's memory,
     *   with this run's shapes. */
    px_status (*claim)(void *dev, const px_subgraph_desc *sub, px_claim_result *out);
    px_status (*compile)(void *dev, const px_subgraph_desc *sub, const int32_t *node_idx,
                         int32_t n_nodes, const px_value *input_ids, int32_t n_inputs,
                         const px_value *output_ids, int32_t n_outputs, void **out_exec);
    px_status (*execute)(void *dev, void *exec, const px_tensor *inputs, int32_t n_inputs,
                         const px_tensor *outputs, int32_t n_outputs);
    void (*exec_free)(void *dev, void *exec);
} px_device_ops;

/* ---- the plugin ---------------------------------------------------------- */

typedef enum px_plugin_kind {
    PX_PLUGIN_DEVICE = 0,
    PX_PLUGIN_FORMAT = 1
} px_plugin_kind;

typedef struct px_probe_result {
    uint32_t struct_size;
    int32_t n_devices;   /* devices this plugin can create here (0: none) */
    int32_t score;       /* higher wins among plugins with the same name  */
    char detail[128];    /* e.g. "avx512 vnni" or why no device is there  */
} px_probe_result;

/* ---- format plugins ------------------------------------------------------ */

/* Metadata value types: the numbering is GGUF's. */
typedef enum px_meta_type {
    PX_META_U8 = 0,
    PX_META_I8 = 1,
    PX_META_U16 = 2,
    PX_META_I16 = 3,
    PX_META_U32 = 4,
    PX_META_I32 = 5,
    PX_META_F32 = 6,
    PX_META_BOOL = 7,
    PX_META_STRING = 8,
    PX_META_ARRAY = 9,
    PX_META_U64 = 10,
    PX_META_I64 = 11,
    PX_META_F64 = 12
} px_meta_type;

/* A string: bytes (not NUL-terminated, may hold any byte) and length. */
typedef struct px_meta_string {
    const char *ptr;
    uint64_t len;
} px_meta_string;

/* A metadata value. Scalars are in `u`. A STRING is u.str. An ARRAY has
 * elem_type and n elements at `data`, as a naturally aligned C array in host
 * byte order: numbers as their C type (BOOL as uint8_t), strings as
 * px_meta_string, nested arrays as px_meta_value. Valid while the model is
 * open. */
typedef struct px_meta_value {
    int32_t type;       /* px_meta_type */
    int32_t elem_type;  /* arrays: px_meta_type of the elements */
    uint64_t n;         /* arrays: element count */
    const void *data;   /* arrays: the elements */
    union {
        uint64_t u64;   /* U8..U64 and BOOL */
        int64_t i64;    /* I8..I64 */
        double f64;     /* F32, F64 */
        px_meta_string str;
    } u;
} px_meta_value;

/* A tensor of a model file, in Plexus's row-major order (GGUF lists dims
 * innermost first; the plugin reverses them). `data` points into the mapped
 * file (read-only, valid while the model is open). */
typedef struct px_tensor_info {
    const char *name;
    px_dtype dtype;
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
    const void *data;
    uint64_t nbytes;
    uint64_t file_offset;
} px_tensor_info;

/* Format plugins (GGUF, ONNX) implement this table. A format plugin may link
 * libplexus to build graphs with the ir.h API. */
typedef struct px_format_ops {
    uint32_t struct_size;
    /* Score how well this plugin reads the file (0 = not at all), from the
     * first bytes of the file. Cheap: no allocation, no I/O. */
    int32_t (*probe_file)(const char *path, const void *head, size_t head_len);
    /* Open and validate a file (every offset and size checked against the
     * file size; weights stay in the mapped file). Errors name the file and
     * the problem, via host->set_error. */
    px_status (*open)(const char *path, void **out_model);
    void (*close)(void *model);
    /* Metadata, in file order. */
    int64_t (*meta_count)(void *model);
    px_status (*meta_get)(void *model, int64_t i, const char **out_key, px_meta_value *out);
    /* PX_ERR_NOT_FOUND when absent (no message needed). */
    px_status (*meta_find)(void *model, const char *key, px_meta_value *out);
    /* Tensors, in file order. */
    int64_t (*tensor_count)(void *model);
    px_status (*tensor_get)(void *model, int64_t i, px_tensor_info *out);
    /* Optional: build the model's compute graph (architecture builders). */
    px_status (*build_graph)(void *model, const px_config_section *options, px_graph **out_graph);
} px_format_ops;

typedef struct px_plugin {
    uint32_t struct_size;
    uint32_t abi_major;     /* PX_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;     /* PX_ABI_MINOR the plugin was built with */
    px_plugin_kind kind;
    const char *name;       /* "cpu", "opencl": the name used in ini files */
    const char *version;    /* the plugin's own version string */
    /* Cheap and free of side effects: no device contexts, no allocation the
     * host can see. May be called several times. */
    px_status (*probe)(px_probe_result *out);
    /* Heavy set-up. `config` is the ini section [plugin.<name>] (may be
     * empty, never NULL). */
    px_status (*device_create)(int32_t index, const px_config_section *config, void **out_dev);
    void (*device_destroy)(void *dev);
    const px_device_ops *device_ops;  /* NULL for format plugins */
    const px_format_ops *format_ops;  /* NULL for device plugins */
} px_plugin;

/* The one exported symbol. The host passes its ABI version and API table
 * (valid until the plugin is unloaded). A plugin that cannot work with the
 * host's version returns PX_ERR_ABI; otherwise it stores its table (static
 * storage) in *out and returns PX_OK. The host then checks the versions in
 * the table too. */
typedef px_status (*px_plugin_query_fn)(uint32_t host_abi_major, uint32_t host_abi_minor,
                                        const px_host_api *host, const px_plugin **out);
#define PX_PLUGIN_QUERY_SYMBOL "plexus_plugin_query"

#ifdef __cplusplus
}
#endif
#endif
