/* Internal: the deployment ini file (schema in docs/config.md), parsed with
 * inih. Every unknown section or key and every bad value is an error that
 * names the file and the line. */
#ifndef PLEXUS_CORE_CONFIG_H
#define PLEXUS_CORE_CONFIG_H

#include <stdint.h>

#include "plexus/ops.h"
#include "plexus/plugin.h"
#include "plexus/types.h"

#define PX_CFG_MAX_LIST 32 /* max entries of a comma-separated list */

typedef struct px_cfg_op_device {
    px_op op;
    char device[64];      /* device id, e.g. "cpu", "opencl:1" */
} px_cfg_op_device;

typedef struct px_cfg_kernel {
    px_op op;
    char plugin[64];      /* plugin name */
    char kernel[64];      /* kernel name within the plugin */
} px_cfg_kernel;

typedef struct px_cfg_budget {
    char device[64];      /* device id */
    uint64_t bytes;       /* "512M", "2G", "1048576" */
} px_cfg_budget;

typedef struct px_cfg_plugin {
    char name[64];        /* from [plugin.<name>] */
    px_config_section section; /* kv owned by the config */
} px_cfg_plugin;

typedef struct px_config {
    char *path;                      /* file it came from ("<string>" if parsed from memory) */
    /* [runtime] */
    int32_t threads;                 /* 0: not given */
    char *plugin_dir;                /* NULL: not given; colon-separated like PLEXUS_PLUGIN_PATH */
    int32_t n_plugins;               /* plugins = cpu, opencl: allow-list; 0: all */
    char plugins[PX_CFG_MAX_LIST][64];
    /* [placement] */
    int32_t n_order;                 /* order = npu, gpu, cpu (device ids) */
    char order[PX_CFG_MAX_LIST][64];
    int32_t offload_layers;          /* -1: not given */
    int32_t n_op_devices;            /* op.<op> = device */
    px_cfg_op_device *op_devices;
    /* [memory] */
    int32_t n_budgets;               /* <device> = size */
    px_cfg_budget *budgets;
    /* [kernels] */
    int32_t n_kernels;               /* <op> = plugin:kernel */
    px_cfg_kernel *kernels;
    /* [plugin.<name>] */
    int32_t n_plugin_sections;
    px_cfg_plugin *plugin_sections;
} px_config;

/* Parse an ini file. On error returns PX_ERR_CONFIG (or PX_ERR_IO when the
 * file cannot be read, PX_ERR_NO_MEMORY) and sets px_last_error to
 * "<path>:<line>: <problem>". */
px_status px_config_load(const char *path, px_config **out_cfg);
/* Same, from text in memory; `name` is used in messages. */
px_status px_config_parse(const char *text, size_t len, const char *name, px_config **out_cfg);
/* An empty config (everything "not given"). */
px_status px_config_empty(px_config **out_cfg);
void px_config_free(px_config *cfg);

/* The [plugin.<name>] section, or an empty section (never NULL). */
const px_config_section *px_config_plugin_section(const px_config *cfg, const char *plugin);
/* Budget for a device id, or 0 if none. */
uint64_t px_config_budget(const px_config *cfg, const char *device);

#endif
