/* px_context: config, thread pool, plugins and devices. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"

px_context_options px_context_options_default(void) {
    px_context_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}

static int32_t default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int32_t)n;
}

px_status px_context_create(const px_context_options *opts, px_context **out) {
    if (!out) return px_set_error(PX_ERR_INVALID_ARG, "px_context_create: out is NULL");
    *out = NULL;
    px_context_options o = px_context_options_default();
    if (opts) {
        if (opts->struct_size < offsetof(px_context_options, verbose) + sizeof(int32_t))
            return px_set_error(PX_ERR_INVALID_ARG, "px_context_create: options.struct_size is %u", opts->struct_size);
        o = *opts;
    }
    px_context *ctx = px_calloc(1, sizeof *ctx);
    if (!ctx) return PX_ERR_NO_MEMORY;
    const char *dbg = getenv("PLEXUS_DEBUG");
    ctx->verbose = o.verbose || (dbg && *dbg && strcmp(dbg, "0") != 0);
    if (ctx->verbose && px_log_threshold < PX_LOG_INFO) px_log_threshold = PX_LOG_INFO;
    px_status st = o.config_path ? px_config_load(o.config_path, &ctx->cfg) : px_config_empty(&ctx->cfg);
    if (st) {
        free(ctx);
        return st;
    }
    if (ctx->cfg->log_level >= 0 && !ctx->verbose) px_log_threshold = ctx->cfg->log_level;
    int32_t threads = o.n_threads > 0 ? o.n_threads : ctx->cfg->threads > 0 ? ctx->cfg->threads : default_threads();
    st = px_pool_create(threads, &ctx->pool);
    if (st == PX_OK) st = px_loader_run(ctx, o.plugin_dir);
    if (st) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", px_last_error());
        px_context_destroy(ctx);
        return px_set_error(st, "%s", msg);
    }
    *out = ctx;
    return PX_OK;
}

void px_context_destroy(px_context *ctx) {
    if (!ctx) return;
    px_loader_unload(ctx);
    px_pool_destroy(ctx->pool);
    px_config_free(ctx->cfg);
    free(ctx);
}

int32_t px_context_plugin_count(const px_context *ctx) { return ctx ? ctx->n_plugins : 0; }

px_status px_context_plugin_report(const px_context *ctx, int32_t i, px_plugin_report *out) {
    if (!ctx || !out || i < 0 || i >= ctx->n_plugins)
        return px_set_error(PX_ERR_INVALID_ARG, "px_context_plugin_report: no plugin %d", i);
    const px_loaded_plugin *r = &ctx->plugins[i];
    memset(out, 0, sizeof *out);
    out->path = r->path;
    out->name = r->name;
    out->version = r->version;
    out->abi_major = r->abi_major;
    out->abi_minor = r->abi_minor;
    out->loaded = r->loaded;
    out->score = r->probe.score;
    out->kind = r->kind;
    out->detail = r->detail ? r->detail : "";
    return PX_OK;
}

int32_t px_context_search_dir_count(const px_context *ctx) { return ctx ? ctx->n_dirs : 0; }
const char *px_context_search_dir(const px_context *ctx, int32_t i) {
    return ctx && i >= 0 && i < ctx->n_dirs ? ctx->dirs[i] : NULL;
}

int32_t px_context_device_count(const px_context *ctx) { return ctx ? ctx->n_devices : 0; }

px_status px_context_device_report(const px_context *ctx, int32_t i, px_device_report *out) {
    if (!ctx || !out || i < 0 || i >= ctx->n_devices)
        return px_set_error(PX_ERR_INVALID_ARG, "px_context_device_report: no device %d", i);
    const px_device_rec *d = &ctx->devices[i];
    memset(out, 0, sizeof *out);
    out->id = d->id;
    out->plugin = ctx->plugins[d->plugin].name;
    out->kind = d->info.kind;
    out->name = d->info.name;
    out->mem_total = d->info.mem_total;
    out->mem_free = d->info.mem_free;
    out->flags = d->info.flags;
    out->alignment = d->info.alignment;
    out->n_kernels = d->n_kernels;
    out->graph_mode = d->graph_mode;
    return PX_OK;
}

int32_t px_context_kernel_count(const px_context *ctx, int32_t device, px_op op) {
    if (!ctx || device < 0 || device >= ctx->n_devices) return 0;
    const px_device_rec *d = &ctx->devices[device];
    int32_t n = 0;
    for (int32_t k = 0; k < d->n_kernels; k++) n += d->kernels[k].op == op;
    return n;
}

const char *px_context_kernel_name(const px_context *ctx, int32_t device, px_op op, int32_t j) {
    if (!ctx || device < 0 || device >= ctx->n_devices) return NULL;
    const px_device_rec *d = &ctx->devices[device];
    for (int32_t k = 0; k < d->n_kernels; k++)
        if (d->kernels[k].op == op && j-- == 0) return d->kernels[k].name;
    return NULL;
}

int32_t px_context_threads(const px_context *ctx) { return ctx ? px_pool_threads(ctx->pool) : 0; }
