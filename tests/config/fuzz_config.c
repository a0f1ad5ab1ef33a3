/* libFuzzer target for the deployment ini parser: any bytes go to
 * px_config_parse. It must never crash, leak or read out of bounds (ASan,
 * UBSan), must fail only with PX_ERR_CONFIG and a "fuzz.ini:" message, and
 * a config it accepts must keep every documented limit and invariant.
 * Built by tests/config/CMakeLists.txt with clang and -DPLEXUS_FUZZ=ON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "plexus/plexus.h"

#define FUZZ_ASSERT(cond)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz_config: invariant failed: %s\n", #cond);       \
            abort();                                                             \
        }                                                                        \
    } while (0)

/* A stored device id must be valid and already canonical. */
static void check_device_id(const char *id) {
    char canon[64];
    FUZZ_ASSERT(memchr(id, 0, 64) != NULL);
    FUZZ_ASSERT(px_config_device_id(id, NULL, NULL, canon));
    FUZZ_ASSERT(strcmp(id, canon) == 0);
}

static void check_config(const px_config *cfg) {
    FUZZ_ASSERT(cfg->threads == 0 || (cfg->threads >= 1 && cfg->threads <= 4096));
    FUZZ_ASSERT(cfg->offload_layers >= -1);
    FUZZ_ASSERT(cfg->log_level >= -1 && cfg->log_level <= PX_LOG_DEBUG);
    FUZZ_ASSERT(cfg->n_plugins >= 0 && cfg->n_plugins <= PX_CFG_MAX_LIST);
    FUZZ_ASSERT(cfg->n_order >= 0 && cfg->n_order <= PX_CFG_MAX_LIST);
    FUZZ_ASSERT(!cfg->plugin_dir || cfg->plugin_dir[0]);
    for (int32_t i = 0; i < cfg->n_order; i++) check_device_id(cfg->order[i]);
    for (int32_t i = 0; i < cfg->n_plugins; i++) FUZZ_ASSERT(cfg->plugins[i][0]);
    for (int32_t i = 0; i < cfg->n_op_devices; i++) {
        FUZZ_ASSERT(cfg->op_devices[i].op > PX_OP_INVALID && cfg->op_devices[i].op < PX_OP_COUNT);
        check_device_id(cfg->op_devices[i].device);
    }
    FUZZ_ASSERT(cfg->n_op_devices < PX_OP_COUNT && cfg->n_kernels < PX_OP_COUNT);
    FUZZ_ASSERT(cfg->n_budgets >= 0 && cfg->n_budgets <= PX_CFG_MAX_BUDGETS);
    for (int32_t i = 0; i < cfg->n_budgets; i++) {
        check_device_id(cfg->budgets[i].device);
        FUZZ_ASSERT(cfg->budgets[i].bytes > 0);
        FUZZ_ASSERT(px_config_budget(cfg, cfg->budgets[i].device) == cfg->budgets[i].bytes);
    }
    for (int32_t i = 0; i < cfg->n_kernels; i++) {
        FUZZ_ASSERT(cfg->kernels[i].op > PX_OP_INVALID && cfg->kernels[i].op < PX_OP_COUNT);
        FUZZ_ASSERT(cfg->kernels[i].plugin[0] && cfg->kernels[i].kernel[0]);
    }
    FUZZ_ASSERT(cfg->n_plugin_sections <= PX_CFG_MAX_PLUGIN_SECTIONS);
    for (int32_t i = 0; i < cfg->n_plugin_sections; i++) {
        const px_cfg_plugin *pl = &cfg->plugin_sections[i];
        FUZZ_ASSERT(px_config_plugin_section(cfg, pl->name) == &pl->section);
        FUZZ_ASSERT(pl->section.struct_size == sizeof(px_config_section));
        FUZZ_ASSERT(pl->section.n >= 0 && pl->section.n <= PX_CFG_MAX_PLUGIN_KEYS);
        for (int32_t j = 0; j < pl->section.n; j++) {
            const px_config_kv *kv = &pl->section.kv[j];
            FUZZ_ASSERT(kv->key && kv->key[0] && kv->value);
            FUZZ_ASSERT(!kv->is_int || (kv->is_float && kv->f == (double)kv->i));
        }
    }
    /* Every origin is found again, at its line, and lines only grow. */
    for (int32_t i = 0; i < cfg->n_origins; i++) {
        const px_cfg_origin *o = &cfg->origins[i];
        FUZZ_ASSERT(o->line >= 1);
        FUZZ_ASSERT(i == 0 || o->line > cfg->origins[i - 1].line);
        FUZZ_ASSERT(px_config_line(cfg, o->section, o->key) == o->line);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    px_config *cfg = NULL;
    px_status st = px_config_parse((const char *)data, size, "fuzz.ini", &cfg);
    if (st != PX_OK) {
        FUZZ_ASSERT(cfg == NULL);
        FUZZ_ASSERT(st == PX_ERR_CONFIG);
        FUZZ_ASSERT(strncmp(px_last_error(), "fuzz.ini", 8) == 0);
        return 0;
    }
    FUZZ_ASSERT(cfg != NULL);
    check_config(cfg);
    px_config_free(cfg);
    return 0;
}
