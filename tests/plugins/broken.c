/* broken — a test plugin whose query fails the way a plugin does when its
 * vendor driver is missing: it returns an error and a message through the
 * host's set_error. The host must refuse it, keep the message, and go on
 * loading the other plugins. */
#include "plexus/plugin.h"

PX_EXPORT px_status plexus_plugin_query(uint32_t host_abi_major, uint32_t host_abi_minor, const px_host_api *host,
                                        const px_plugin **out);

PX_EXPORT px_status plexus_plugin_query(uint32_t host_abi_major, uint32_t host_abi_minor, const px_host_api *host,
                                        const px_plugin **out) {
    (void)host_abi_major;
    (void)host_abi_minor;
    if (out) *out = NULL;
    if (!host || !host->set_error) return PX_ERR_DEVICE;
    return host->set_error(PX_ERR_DEVICE, "broken test plugin: libpxtest_missing_driver.so.1 not found (simulated)");
}
