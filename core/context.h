/* Internal: the context — loaded plugins, devices, thread pool, config. */
#ifndef PLEXUS_CORE_CONTEXT_H
#define PLEXUS_CORE_CONTEXT_H

#include "config.h"
#include "internal.h"
#include "threadpool.h"

typedef struct px_loaded_plugin {
    char *path;               /* absolute */
    void *handle;             /* dlopen handle, NULL if refused */
    const px_plugin *plugin;  /* NULL if refused */
    char *name, *version;
    uint32_t abi_major, abi_minor;
    int32_t kind;
    int32_t loaded;
    px_probe_result probe;
    char *detail;             /* probe detail or the reason it was refused */
} px_loaded_plugin;

typedef struct px_device_rec {
    char id[80];                  /* "cpu", "cpu:1" */
    int32_t plugin;               /* index into ctx->plugins */
    void *dev;
    const px_device_ops *ops;
    px_device_info info;
    const px_kernel *kernels;
    int32_t n_kernels;
    int32_t graph_mode;
} px_device_rec;

struct px_context {
    px_config *cfg;
    px_pool *pool;
    int32_t verbose;
    char **dirs;
    int32_t n_dirs;
    px_loaded_plugin *plugins;
    int32_t n_plugins;
    px_device_rec *devices;
    int32_t n_devices;
};

/* The host API table handed to every plugin. */
extern const px_host_api px_host_table;

/* Loader (loader.c): fill ctx->dirs, ctx->plugins, ctx->devices. */
px_status px_loader_run(px_context *ctx, const char *plugin_dir_override);
void px_loader_unload(px_context *ctx);

/* Device index for an id ("cpu", "cpu:0", "opencl:1"), or -1. */
int32_t px_context_find_device(const px_context *ctx, const char *id);

#endif
