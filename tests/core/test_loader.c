/* Plugin search: PLEXUS_PLUGIN_PATH semantics and the explicit plugin dir.
 * The CPU plugin must be found by dlopen from the build tree's default
 * location without any variable; an empty folder must give a clear error. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plexus/plexus.h"
#include "plexus/plugin.h"
#include "test.h"

static int has_cpu(px_context *ctx) {
    for (int32_t i = 0; i < px_context_device_count(ctx); i++) {
        px_device_report d;
        if (px_context_device_report(ctx, i, &d) == PX_OK && strcmp(d.id, "cpu") == 0) return 1;
    }
    return 0;
}

int main(void) {
    char empty[] = "/tmp/plexus-empty-XXXXXX";
    CHECK(mkdtemp(empty) != NULL);
    px_context *ctx = NULL;

    /* Defaults (relative to the executable): finds the CPU plugin. */
    unsetenv("PLEXUS_PLUGIN_PATH");
    CHECK_OK(px_context_create(NULL, &ctx));
    CHECK(ctx && has_cpu(ctx));
    if (ctx) {
        px_plugin_report r;
        int found = 0;
        for (int32_t i = 0; i < px_context_plugin_count(ctx); i++) {
            px_context_plugin_report(ctx, i, &r);
            if (r.loaded && r.name && strcmp(r.name, "cpu") == 0) {
                found = 1;
                CHECK(r.path[0] == '/');
                CHECK(r.abi_major == PX_ABI_MAJOR);
            }
        }
        CHECK(found);
        CHECK(px_context_threads(ctx) >= 1);
    }
    px_context_destroy(ctx);

    /* PLEXUS_PLUGIN_PATH replaces the defaults: an empty folder finds nothing. */
    setenv("PLEXUS_PLUGIN_PATH", empty, 1);
    ctx = NULL;
    px_status st = px_context_create(NULL, &ctx);
    CHECK(st == PX_ERR_NOT_FOUND && ctx == NULL);
    CHECK_MSG(strstr(px_last_error(), "no plugin") && strstr(px_last_error(), empty), "message: %s", px_last_error());

    /* An empty element inserts the defaults. */
    char both[256];
    snprintf(both, sizeof both, "%s:", empty);
    setenv("PLEXUS_PLUGIN_PATH", both, 1);
    CHECK_OK(px_context_create(NULL, &ctx));
    if (ctx) {
        CHECK(has_cpu(ctx));
        CHECK(px_context_search_dir_count(ctx) >= 2);
        CHECK(strcmp(px_context_search_dir(ctx, 0), empty) == 0 || strstr(px_context_search_dir(ctx, 0), "plexus-empty"));
        px_context_destroy(ctx);
        ctx = NULL;
    }

    /* The explicit plugin dir wins over the variable. */
    setenv("PLEXUS_PLUGIN_PATH", empty, 1);
    px_context_options o = px_context_options_default();
    o.plugin_dir = empty;
    o.n_threads = 2;
    st = px_context_create(&o, &ctx);
    CHECK(st == PX_ERR_NOT_FOUND);
    unsetenv("PLEXUS_PLUGIN_PATH");

    /* A missing config file is an error naming the file. */
    o = px_context_options_default();
    o.config_path = "/nonexistent/device.ini";
    st = px_context_create(&o, &ctx);
    CHECK(st != PX_OK);
    CHECK_MSG(strstr(px_last_error(), "/nonexistent/device.ini") != NULL, "message: %s", px_last_error());

    rmdir(empty);
    return px_test_finish("test_loader");
}
