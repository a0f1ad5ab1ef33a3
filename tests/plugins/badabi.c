/* badabi / newminor — test plugins built for an ABI this host does not
 * provide. badabi's table says abi_major = PX_ABI_MAJOR + 1; newminor
 * (this file built with PXTEST_NEWMINOR) says abi_minor = PX_ABI_MINOR + 1.
 * Both answer the query with PX_OK so that the host itself must notice the
 * versions in the table and refuse the plugin, naming both versions. */
#include <stdio.h>
#include <string.h>

#include "plexus/plugin.h"

#ifdef PXTEST_NEWMINOR
#define T_NAME "newminor"
#define T_MAJOR PX_ABI_MAJOR
#define T_MINOR (PX_ABI_MINOR + 1u)
#else
#define T_NAME "badabi"
#define T_MAJOR (PX_ABI_MAJOR + 1u)
#define T_MINOR PX_ABI_MINOR
#endif

PX_EXPORT px_status plexus_plugin_query(uint32_t host_abi_major, uint32_t host_abi_minor, const px_host_api *host,
                                        const px_plugin **out);

/* Never called by a correct host: the table is refused first. They still
 * behave (no devices) in case a broken host calls them. */
static px_status t_probe(px_probe_result *out) {
    if (!out) return PX_ERR_INVALID_ARG;
    out->n_devices = 0;
    out->score = 0;
    snprintf(out->detail, sizeof out->detail, "%s", "must never be probed");
    return PX_OK;
}

static px_status t_device_create(int32_t index, const px_config_section *config, void **out_dev) {
    (void)index;
    (void)config;
    if (out_dev) *out_dev = NULL;
    return PX_ERR_UNSUPPORTED;
}

static void t_device_destroy(void *dev) { (void)dev; }

static px_status t_get_info(void *dev, px_device_info *out) {
    (void)dev;
    (void)out;
    return PX_ERR_UNSUPPORTED;
}

static const px_device_ops t_ops = {.struct_size = sizeof(px_device_ops), .get_info = t_get_info};

static const px_plugin t_plugin = {
    .struct_size = sizeof(px_plugin),
    .abi_major = T_MAJOR,
    .abi_minor = T_MINOR,
    .kind = PX_PLUGIN_DEVICE,
    .name = T_NAME,
    .version = "test-1",
    .probe = t_probe,
    .device_create = t_device_create,
    .device_destroy = t_device_destroy,
    .device_ops = &t_ops,
    .format_ops = NULL,
};

PX_EXPORT px_status plexus_plugin_query(uint32_t host_abi_major, uint32_t host_abi_minor, const px_host_api *host,
                                        const px_plugin **out) {
    (void)host_abi_major;
    (void)host_abi_minor;
    (void)host;
    if (!out) return PX_ERR_INVALID_ARG;
    *out = &t_plugin;
    return PX_OK;
}
