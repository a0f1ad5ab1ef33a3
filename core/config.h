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
#define PX_CFG_MAX_BUDGETS 32            /* max keys of [memory]             */
#define PX_CFG_MAX_PLUGIN_SECTIONS 64    /* max [plugin.<name>] sections     */
#define PX_CFG_MAX_PLUGIN_KEYS 256       /* max keys of one plugin section   */
#define PX_CFG_MAX_FILE_BYTES (1u << 20) /* larger files are refused         */
#define PX_CFG_MAX_DEVICE_INDEX 65535    /* largest <n> in a device id p:<n> */

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

/* Where a key (or, with key NULL, a section header) was set. */
typedef struct px_cfg_origin {
    char *section;        /* "runtime", "plugin.cpu" */
    char *key;            /* as stored (see px_config_line); NULL: the header */
    int32_t line;
} px_cfg_origin;

typedef struct px_config {
    char *path;                      /* file it came from ("<string>" if parsed from memory) */
    /* [runtime] */
    int32_t threads;                 /* 0: not given */
    char *plugin_dir;                /* NULL: not given; colon-separated like PLEXUS_PLUGIN_PATH */
    int32_t n_plugins;               /* plugins = cpu, opencl: allow-list; 0: all */
    char plugins[PX_CFG_MAX_LIST][64];
    int32_t log_level;               /* a px_log_level; -1: not given */
    /* [placement] */
    int32_t n_order;                 /* order = qnn, opencl, cpu (device ids) */
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
    /* Where each section and key came from, in file order (px_config_line). */
    int32_t n_origins;
    px_cfg_origin *origins;
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

/* The line of cfg->path that set `key` in `section`, or with key NULL the
 * line of the section header; 0 when the file did not set it. `section` is
 * "runtime", "placement", "memory", "kernels" or "plugin.<name>"; `key` is as
 * the config stores it: "threads", "op.matmul" (placement overrides, op name
 * as px_op_name spells it), "matmul" ([kernels]), "opencl:1" ([memory], a
 * canonical device id). For messages about an entry that later turns out
 * unusable: "%s:%d: [kernels] matmul: plugin cpu has no kernel ...". */
int32_t px_config_line(const px_config *cfg, const char *section, const char *key);

/* Parse a byte size: digits with an optional fraction (at most 6 decimals,
 * only with a suffix) and an optional suffix K, M, G or T (powers of 1024,
 * either case): "512M", "1.5G", "1048576". PX_OK, or PX_ERR_CONFIG (not a
 * size, negative) / PX_ERR_RANGE (above UINT64_MAX) with px_last_error set. */
px_status px_config_parse_size(const char *text, uint64_t *out_bytes);

/* Parse a device id "<plugin>" or "<plugin>:<index>": plugin is a lower-case
 * name ([a-z][a-z0-9_-]*), index 0..PX_CFG_MAX_DEVICE_INDEX. Returns 1 and
 * fills the outputs (each may be NULL) when valid, else 0. out_canonical gets
 * the canonical spelling, which omits ":0" ("opencl:0" -> "opencl"); every id
 * the config stores is canonical. */
int px_config_device_id(const char *id, char out_plugin[64], int32_t *out_index,
                        char out_canonical[64]);
/* 1 if device id `id` names device `index` of plugin `plugin`: "opencl" and
 * "opencl:0" both name device 0, "opencl:1" device 1. */
int px_config_device_is(const char *id, const char *plugin, int32_t index);

#endif
