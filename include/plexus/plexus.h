/* Plexus — the embedding API.
 *
 * A px_context loads the plugins and creates their devices, owns the thread
 * pool and the configuration. A px_program is a graph compiled for the
 * context's devices: scheduled (each node placed on a device, the graph cut
 * into per-device segments with transfers at the boundaries), memory-planned
 * (one arena per device) and with its constants uploaded. A program is made
 * once and run many times; running allocates nothing.
 *
 * Every fallible call returns a px_status; px_last_error() gives the message
 * of the last error on the calling thread. Every create has a destroy.
 */
#ifndef PLEXUS_PLEXUS_H
#define PLEXUS_PLEXUS_H

#include "dtype.h"
#include "ir.h"
#include "ops.h"
#include "plugin.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLEXUS_VERSION_STRING "0.1.0"

/* Message of the last error on this thread ("" if none). Valid until the
 * next failing call on this thread. */
const char *px_last_error(void);
const char *px_status_name(px_status s);
/* Library version, e.g. "0.1.0". */
const char *px_version(void);

/* ---- context ------------------------------------------------------------- */

typedef struct px_context px_context;

typedef struct px_context_options {
    uint32_t struct_size;     /* sizeof(px_context_options) */
    const char *config_path;  /* ini file, or NULL */
    const char *plugin_dir;   /* overrides the ini file's plugin_dir and
                                 PLEXUS_PLUGIN_PATH; NULL: not given */
    int32_t n_threads;        /* > 0 overrides the ini file; 0: ini, else
                                 the number of cores */
    int32_t verbose;          /* 1: log plugin search to stderr (also
                                 PLEXUS_DEBUG=1 in the environment) */
} px_context_options;

/* Zero-initialised options with struct_size set. */
px_context_options px_context_options_default(void);

px_status px_context_create(const px_context_options *opts, px_context **out_ctx);
void px_context_destroy(px_context *ctx);

/* Plugins the loader looked at, including those it refused. */
typedef struct px_plugin_report {
    const char *path;       /* absolute path */
    const char *name;       /* plugin name, or NULL if the query failed */
    const char *version;
    uint32_t abi_major, abi_minor;
    int32_t loaded;         /* 1 if in use */
    int32_t score;
    int32_t kind;           /* px_plugin_kind */
    const char *detail;     /* probe detail, or why it was refused */
} px_plugin_report;

int32_t px_context_plugin_count(const px_context *ctx);
px_status px_context_plugin_report(const px_context *ctx, int32_t i, px_plugin_report *out);
/* The directories searched, in order (valid while ctx lives). */
int32_t px_context_search_dir_count(const px_context *ctx);
const char *px_context_search_dir(const px_context *ctx, int32_t i);

typedef struct px_device_report {
    const char *id;         /* "cpu", "cpu:1", "opencl": as used in ini files */
    const char *plugin;     /* plugin name */
    int32_t kind;           /* px_device_kind */
    const char *name;
    uint64_t mem_total, mem_free;
    uint32_t flags, alignment;
    int32_t n_kernels;
    int32_t graph_mode;     /* 1 if the device compiles whole subgraphs */
} px_device_report;

int32_t px_context_device_count(const px_context *ctx);
px_status px_context_device_report(const px_context *ctx, int32_t i, px_device_report *out);
/* Number of kernels device i registers for `op`, and the name of kernel j. */
int32_t px_context_kernel_count(const px_context *ctx, int32_t device, px_op op);
const char *px_context_kernel_name(const px_context *ctx, int32_t device, px_op op, int32_t j);
int32_t px_context_threads(const px_context *ctx);

/* ---- program -------------------------------------------------------------- */

typedef struct px_program px_program;

typedef struct px_program_options {
    uint32_t struct_size;
    /* Device priority list (ids as in px_device_report), comma-separated.
     * NULL: the ini file's [placement] order, else every device with
     * accelerators before CPUs. */
    const char *order;
    /* Nodes of the last N groups go to the first non-CPU device of the
     * order (like llama.cpp's -ngl); -1: all (default unless the ini file
     * says otherwise). */
    int32_t offload_layers;
    /* Composite ops to replace by their decomposition into primitives even
     * where a kernel exists: comma-separated op names, or "all". NULL: only
     * where the chosen device has no kernel. (Testing and kernel research.) */
    const char *decompose;
    /* 1: schedule and plan memory only: nothing is allocated on any device
     * and nothing uploaded; the program can report its memory
     * (px_program_memory_report), placement and schedule, not run. */
    int32_t plan_only;
} px_program_options;

px_program_options px_program_options_default(void);

/* Compile `graph` for the context. The graph is copied; it may be destroyed
 * afterwards, but borrowed constant data must outlive the program. */
px_status px_program_create(px_context *ctx, const px_graph *graph, const px_program_options *opts,
                            px_program **out_prog);
void px_program_destroy(px_program *p);

/* Bind a symbolic dim for the following runs (default: its upper bound). */
px_status px_program_set_sym(px_program *p, const char *sym, int64_t value);
/* Copy host data into an input (or overwrite a state). `nbytes` must match
 * the value's size with the current symbol bindings. */
px_status px_program_set_input(px_program *p, const char *name, const void *data, size_t nbytes);
px_status px_program_run(px_program *p);
/* Concrete shape of a value for the current bindings. */
px_status px_program_value_shape(const px_program *p, const char *name, px_dtype *out_dtype,
                                 int32_t *out_rank, int64_t *out_ne);
/* Copy an output (or state) to host memory; `cap` must be large enough. */
px_status px_program_get_output(px_program *p, const char *name, void *dst, size_t cap);
/* Reset all state values to zero. */
px_status px_program_reset_state(px_program *p);

typedef struct px_program_stats {
    int32_t n_nodes;         /* after decompositions (aliases included) */
    int32_t n_segments;
    int32_t n_transfers;     /* per run */
    int32_t n_decomposed;    /* composite nodes replaced by primitives */
    uint64_t uploads;        /* host->device copies done by the last run */
    uint64_t downloads;      /* device->host copies done by the last run */
} px_program_stats;
px_status px_program_get_stats(const px_program *p, px_program_stats *out);

/* Memory per device, planned at the symbols' upper bounds. */
typedef struct px_program_memory {
    const char *device;      /* device id */
    uint64_t weights;        /* constants resident on the device (bytes uploaded
                                or imported) */
    uint64_t state;          /* state values */
    uint64_t arena;          /* intermediates */
} px_program_memory;
int32_t px_program_device_count(const px_program *p);
px_status px_program_memory_report(const px_program *p, int32_t i, px_program_memory *out);

/* Where each node runs: device id of node i of the compiled graph. */
const char *px_program_node_device(const px_program *p, int32_t node);
/* Print the schedule: segments, transfers, kernels and the memory plan. */
void px_program_print(const px_program *p, FILE *f);

/* ---- model files ------------------------------------------------------------ */

/* A model file opened through the format plugin that scores it highest
 * (GGUF, ONNX). Weights stay in the mapped file. */
typedef struct px_model px_model;

/* Open `path`. Errors name the file and the problem (PX_ERR_IO: cannot
 * read; PX_ERR_FORMAT: malformed; PX_ERR_UNSUPPORTED: no format plugin
 * reads it). The model must be closed before its context is destroyed. */
px_status px_model_open(px_context *ctx, const char *path, px_model **out_model);
void px_model_close(px_model *m);
/* Name of the format plugin that opened it ("gguf"). */
const char *px_model_format(const px_model *m);
const char *px_model_path(const px_model *m);
int64_t px_model_meta_count(const px_model *m);
px_status px_model_meta_get(const px_model *m, int64_t i, const char **out_key, px_meta_value *out);
/* PX_ERR_NOT_FOUND (with a message naming the key) when absent. */
px_status px_model_meta_find(const px_model *m, const char *key, px_meta_value *out);
int64_t px_model_tensor_count(const px_model *m);
px_status px_model_tensor_get(const px_model *m, int64_t i, px_tensor_info *out);
/* Build the model's compute graph, if its format plugin can
 * (PX_ERR_UNSUPPORTED otherwise). The caller destroys the graph, before
 * closing the model (its constants point into the model's mapping). */
px_status px_model_build_graph(px_model *m, px_graph **out_graph);
/* The same with build options given by the caller: key/value pairs that come
 * after the ini file's [plugin.<format>] section (so they win). Keys a format
 * plugin understands are in its docs (ONNX: input.NAME = FILE.pb,
 * shape.NAME = 1,3,224,224, dim.PARAM = N; docs/onnx.md). */
px_status px_model_build_graph_with(px_model *m, const char *const *keys, const char *const *values, int32_t n,
                                    px_graph **out_graph);

#ifdef __cplusplus
}
#endif
#endif
