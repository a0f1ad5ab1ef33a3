/* Plugin search and loading.
 *
 * Search order for the plugin directories (colon-separated lists):
 *  1. the caller's plugin_dir (the command line's --plugin-dir),
 *  2. the ini file's [runtime] plugin_dir (relative to the ini file),
 *  3. PLEXUS_PLUGIN_PATH (an empty element inserts the defaults),
 *  4. the defaults: <exe>/../lib/plexus/plugins, <libplexus dir>/plexus/plugins,
 *     and the install dir compiled in.
 * Every file named libplexus-*.so in those folders is a candidate; it is
 * dlopen'ed by its absolute path. Verbose mode (PLEXUS_DEBUG=1 or the
 * option) logs each candidate and why it was taken or refused.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "plexus/dtype.h"

#ifndef PLEXUS_PLUGIN_SUBDIR
#define PLEXUS_PLUGIN_SUBDIR "lib/plexus/plugins"
#endif
#ifndef PLEXUS_INSTALL_PLUGIN_DIR
#define PLEXUS_INSTALL_PLUGIN_DIR "/usr/local/lib/plexus/plugins"
#endif

/* ---- host API -------------------------------------------------------- */

static void host_log(px_log_level level, const char *plugin, const char *fmt, ...) {
    if ((int)level > px_log_threshold) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    px_log(level, plugin, "%s", buf);
}

static px_status host_set_error(px_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    px_set_errorv(st, fmt, ap);
    va_end(ap);
    return st;
}

static void *host_alloc(size_t size, size_t align) {
    if (align & (align - 1)) return NULL;
    return px_aligned_alloc(size, align);
}

static void host_parallel_for(int64_t n, int64_t grain, px_range_fn fn, void *ctx) {
    px_pool_parallel_for(px_pool_current(), n, grain, fn, ctx);
}

static int32_t host_n_threads(void) { return px_pool_threads(px_pool_current()); }

const px_host_api px_host_table = {
    .struct_size = sizeof(px_host_api),
    .abi_major = PX_ABI_MAJOR,
    .abi_minor = PX_ABI_MINOR,
    .log = host_log,
    .set_error = host_set_error,
    .alloc = host_alloc,
    .free = px_aligned_free,
    .parallel_for = host_parallel_for,
    .n_threads = host_n_threads,
    .convert = px_convert,
};

/* ---- search directories ---------------------------------------------------- */

typedef struct strlist {
    char **v;
    int32_t n, cap;
} strlist;

static px_status strlist_push(strlist *l, const char *s) {
    for (int32_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0) return PX_OK; /* keep the first occurrence */
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 8;
        char **v = px_realloc_array(l->v, (size_t)cap, sizeof *v);
        if (!v) return PX_ERR_NO_MEMORY;
        l->v = v;
        l->cap = cap;
    }
    char *d = px_strdup(s);
    if (!d) return PX_ERR_NO_MEMORY;
    l->v[l->n++] = d;
    return PX_OK;
}

/* Make `dir` absolute: relative to `base` (a directory) or the cwd. */
static void make_abs(const char *dir, const char *base, char *out, size_t cap) {
    char tmp[PATH_MAX * 2 + 2];
    if (dir[0] == '/') snprintf(tmp, sizeof tmp, "%s", dir);
    else if (base) snprintf(tmp, sizeof tmp, "%s/%s", base, dir);
    else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
        snprintf(tmp, sizeof tmp, "%s/%s", cwd, dir);
    }
    char real[PATH_MAX];
    const char *src = realpath(tmp, real) ? real : tmp;
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(out, src, n);
    out[n] = 0;
}

static px_status push_defaults(strlist *l) {
    char exe[PATH_MAX], dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            char rel[PATH_MAX + 64];
            snprintf(rel, sizeof rel, "%s/../%s", exe, PLEXUS_PLUGIN_SUBDIR);
            make_abs(rel, NULL, dir, sizeof dir);
            if (strlist_push(l, dir)) return PX_ERR_NO_MEMORY;
        }
    }
    Dl_info info;
    if (dladdr((void *)&px_host_table, &info) && info.dli_fname && info.dli_fname[0] == '/') {
        char lib[PATH_MAX];
        snprintf(lib, sizeof lib, "%s", info.dli_fname);
        char *slash = strrchr(lib, '/');
        if (slash) {
            *slash = 0;
            char rel[PATH_MAX + 32];
            snprintf(rel, sizeof rel, "%s/plexus/plugins", lib);
            make_abs(rel, NULL, dir, sizeof dir);
            if (strlist_push(l, dir)) return PX_ERR_NO_MEMORY;
        }
    }
    return strlist_push(l, PLEXUS_INSTALL_PLUGIN_DIR);
}

/* Split a colon list; an empty element inserts the defaults when allowed. */
static px_status push_list(strlist *l, const char *list, const char *base, int empty_is_default) {
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            if (empty_is_default && push_defaults(l)) return PX_ERR_NO_MEMORY;
        } else {
            char item[PATH_MAX], abs[PATH_MAX];
            if (len >= sizeof item) len = sizeof item - 1;
            memcpy(item, p, len);
            item[len] = 0;
            make_abs(item, base, abs, sizeof abs);
            if (strlist_push(l, abs)) return PX_ERR_NO_MEMORY;
        }
        if (!e) break;
        p = e + 1;
    }
    return PX_OK;
}

static px_status build_dirs(px_context *ctx, const char *override, strlist *l) {
    if (override && *override) {
        if (ctx->verbose) px_log(PX_LOG_INFO, "loader", "plugin dirs from --plugin-dir: %s", override);
        return push_list(l, override, NULL, 0);
    }
    if (ctx->cfg && ctx->cfg->plugin_dir) {
        char base[PATH_MAX] = ".";
        const char *path = ctx->cfg->path ? ctx->cfg->path : "";
        const char *slash = strrchr(path, '/');
        if (slash) snprintf(base, sizeof base, "%.*s", (int)(slash - path), path);
        if (ctx->verbose)
            px_log(PX_LOG_INFO, "loader", "plugin dirs from %s [runtime] plugin_dir: %s", path, ctx->cfg->plugin_dir);
        return push_list(l, ctx->cfg->plugin_dir, base, 0);
    }
    const char *env = getenv("PLEXUS_PLUGIN_PATH");
    if (env) {
        if (ctx->verbose) px_log(PX_LOG_INFO, "loader", "plugin dirs from PLEXUS_PLUGIN_PATH: \"%s\"", env);
        return push_list(l, env, NULL, 1);
    }
    if (ctx->verbose) px_log(PX_LOG_INFO, "loader", "plugin dirs: the defaults");
    return push_defaults(l);
}

/* ---- loading ---------------------------------------------------------------- */

static int is_candidate(const char *name) {
    size_t n = strlen(name);
    return strncmp(name, "libplexus-", 10) == 0 && n > 13 && strcmp(name + n - 3, ".so") == 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static px_status add_plugin_rec(px_context *ctx, const char *path, px_loaded_plugin **out) {
    px_loaded_plugin *p = px_realloc_array(ctx->plugins, (size_t)ctx->n_plugins + 1, sizeof *p);
    if (!p) return PX_ERR_NO_MEMORY;
    ctx->plugins = p;
    px_loaded_plugin *r = &p[ctx->n_plugins];
    memset(r, 0, sizeof *r);
    r->path = px_strdup(path);
    if (!r->path) return PX_ERR_NO_MEMORY;
    ctx->n_plugins++;
    *out = r;
    return PX_OK;
}

static void refuse(px_context *ctx, px_loaded_plugin *r, const char *fmt, ...) PX_PRINTF(3, 4);
static void refuse(px_context *ctx, px_loaded_plugin *r, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(r->detail);
    r->detail = px_strdup(buf);
    r->loaded = 0;
    r->plugin = NULL;
    if (r->handle) {
        dlclose(r->handle);
        r->handle = NULL;
    }
    if (ctx->verbose) px_log(PX_LOG_INFO, "loader", "%s: refused: %s", r->path, buf);
}

static int allowed(const px_context *ctx, const char *name) {
    if (!ctx->cfg || ctx->cfg->n_plugins == 0) return 1;
    for (int32_t i = 0; i < ctx->cfg->n_plugins; i++)
        if (strcmp(ctx->cfg->plugins[i], name) == 0) return 1;
    return 0;
}

static void try_load(px_context *ctx, px_loaded_plugin *r) {
    dlerror();
    r->handle = dlopen(r->path, RTLD_NOW | RTLD_LOCAL);
    if (!r->handle) {
        const char *e = dlerror();
        refuse(ctx, r, "dlopen failed: %s", e ? e : "unknown error");
        return;
    }
    px_plugin_query_fn q = NULL;
    void *sym = dlsym(r->handle, PX_PLUGIN_QUERY_SYMBOL);
    memcpy(&q, &sym, sizeof q);
    if (!q) {
        refuse(ctx, r, "no symbol %s", PX_PLUGIN_QUERY_SYMBOL);
        return;
    }
    const px_plugin *pl = NULL;
    px_clear_error();
    px_status st = q(PX_ABI_MAJOR, PX_ABI_MINOR, &px_host_table, &pl);
    if (st != PX_OK || !pl) {
        refuse(ctx, r, "%s() failed (%s)%s%s", PX_PLUGIN_QUERY_SYMBOL, px_status_name(st),
               px_last_error()[0] ? ": " : "", px_last_error());
        return;
    }
    if (pl->struct_size < offsetof(px_plugin, format_ops) + sizeof(void *)) {
        refuse(ctx, r, "plugin table too small (%u bytes)", pl->struct_size);
        return;
    }
    r->abi_major = pl->abi_major;
    r->abi_minor = pl->abi_minor;
    if (pl->abi_major != PX_ABI_MAJOR || pl->abi_minor > PX_ABI_MINOR) {
        refuse(ctx, r,
               "built for plugin ABI %u.%u, this host provides ABI %u.%u (the major must match and the "
               "minor must not be newer)",
               pl->abi_major, pl->abi_minor, PX_ABI_MAJOR, PX_ABI_MINOR);
        return;
    }
    r->name = px_strdup(pl->name ? pl->name : "?");
    r->version = px_strdup(pl->version ? pl->version : "?");
    r->kind = pl->kind;
    if (!r->name || !r->version) {
        refuse(ctx, r, "out of memory");
        return;
    }
    if (!pl->name || !*pl->name) {
        refuse(ctx, r, "plugin has no name");
        return;
    }
    if (!allowed(ctx, pl->name)) {
        refuse(ctx, r, "not in the ini file's [runtime] plugins list");
        return;
    }
    if (pl->kind == PX_PLUGIN_DEVICE && (!pl->device_ops || !pl->probe || !pl->device_create)) {
        refuse(ctx, r, "device plugin without probe/device_create/device_ops");
        return;
    }
    if (pl->kind == PX_PLUGIN_FORMAT && !pl->format_ops) {
        refuse(ctx, r, "format plugin without format_ops");
        return;
    }
    memset(&r->probe, 0, sizeof r->probe);
    r->probe.struct_size = sizeof r->probe;
    if (pl->probe) {
        px_clear_error();
        st = pl->probe(&r->probe);
        r->probe.detail[sizeof r->probe.detail - 1] = 0;
        if (st != PX_OK) {
            refuse(ctx, r, "probe failed (%s): %s", px_status_name(st), px_last_error());
            return;
        }
    }
    r->plugin = pl;
    r->loaded = 1;
    r->detail = px_strdup(r->probe.detail);
    if (ctx->verbose)
        px_log(PX_LOG_INFO, "loader", "%s: %s %s, ABI %u.%u, %d device(s), score %d%s%s", r->path, r->name,
               r->version, r->abi_major, r->abi_minor, r->probe.n_devices, r->probe.score,
               r->probe.detail[0] ? ", " : "", r->probe.detail);
}

/* Among loaded plugins with one name, keep the best score. */
static void keep_best(px_context *ctx) {
    for (int32_t i = 0; i < ctx->n_plugins; i++) {
        px_loaded_plugin *a = &ctx->plugins[i];
        if (!a->loaded) continue;
        for (int32_t j = 0; j < ctx->n_plugins; j++) {
            px_loaded_plugin *b = &ctx->plugins[j];
            if (i == j || !b->loaded || strcmp(a->name, b->name) != 0) continue;
            if (b->probe.score > a->probe.score || (b->probe.score == a->probe.score && j < i)) {
                refuse(ctx, a, "superseded by %s (score %d > %d)", b->path, b->probe.score, a->probe.score);
                break;
            }
        }
    }
}

static px_status create_devices(px_context *ctx) {
    for (int32_t i = 0; i < ctx->n_plugins; i++) {
        px_loaded_plugin *r = &ctx->plugins[i];
        if (!r->loaded || r->kind != PX_PLUGIN_DEVICE) continue;
        const px_plugin *pl = r->plugin;
        const px_config_section *sec = px_config_plugin_section(ctx->cfg, r->name);
        for (int32_t d = 0; d < r->probe.n_devices && d < 64; d++) {
            void *dev = NULL;
            px_clear_error();
            px_status st = pl->device_create(d, sec, &dev);
            if (st != PX_OK || !dev) {
                px_log(PX_LOG_WARN, r->name, "device %d could not be created (%s): %s", d, px_status_name(st),
                       px_last_error());
                continue;
            }
            px_device_rec *v = px_realloc_array(ctx->devices, (size_t)ctx->n_devices + 1, sizeof *v);
            if (!v) {
                pl->device_destroy(dev);
                return PX_ERR_NO_MEMORY;
            }
            ctx->devices = v;
            px_device_rec *rec = &v[ctx->n_devices];
            memset(rec, 0, sizeof *rec);
            if (d == 0) snprintf(rec->id, sizeof rec->id, "%s", r->name);
            else snprintf(rec->id, sizeof rec->id, "%s:%d", r->name, d);
            rec->plugin = i;
            rec->dev = dev;
            rec->ops = pl->device_ops;
            rec->info.struct_size = sizeof rec->info;
            if (rec->ops->get_info && rec->ops->get_info(dev, &rec->info) != PX_OK) {
                px_log(PX_LOG_WARN, r->name, "device %d: get_info failed: %s", d, px_last_error());
                pl->device_destroy(dev);
                continue;
            }
            rec->info.name[sizeof rec->info.name - 1] = 0;
            if (rec->info.alignment == 0 || (rec->info.alignment & (rec->info.alignment - 1)))
                rec->info.alignment = 64;
            if (rec->ops->get_kernels && rec->ops->get_kernels(dev, &rec->kernels, &rec->n_kernels) != PX_OK) {
                rec->kernels = NULL;
                rec->n_kernels = 0;
            }
            rec->graph_mode = rec->ops->claim && rec->ops->compile && rec->ops->execute;
            if (!rec->ops->buffer_alloc || !rec->ops->buffer_free || !rec->ops->upload || !rec->ops->download) {
                px_log(PX_LOG_WARN, r->name, "device %d lacks buffer functions; not used", d);
                pl->device_destroy(dev);
                continue;
            }
            ctx->n_devices++;
        }
    }
    return PX_OK;
}

px_status px_loader_run(px_context *ctx, const char *override) {
    strlist dirs = {0};
    px_status bst = build_dirs(ctx, override, &dirs);
    ctx->dirs = dirs.v; /* owned by ctx even on failure */
    ctx->n_dirs = dirs.n;
    if (bst) return px_set_error(PX_ERR_NO_MEMORY, "out of memory");
    strlist seen = {0};
    for (int32_t i = 0; i < ctx->n_dirs; i++) {
        DIR *d = opendir(ctx->dirs[i]);
        if (!d) {
            if (ctx->verbose) px_log(PX_LOG_INFO, "loader", "%s: cannot open (skipped)", ctx->dirs[i]);
            continue;
        }
        strlist names = {0};
        struct dirent *e;
        while ((e = readdir(d)))
            if (is_candidate(e->d_name) && strlist_push(&names, e->d_name)) break;
        closedir(d);
        if (names.n) qsort(names.v, (size_t)names.n, sizeof *names.v, cmp_str);
        if (ctx->verbose) px_log(PX_LOG_INFO, "loader", "%s: %d candidate(s)", ctx->dirs[i], names.n);
        for (int32_t j = 0; j < names.n; j++) {
            char path[PATH_MAX * 2], real[PATH_MAX * 2];
            snprintf(path, sizeof path, "%s/%s", ctx->dirs[i], names.v[j]);
            if (!realpath(path, real)) memcpy(real, path, sizeof real);
            int dup = 0;
            for (int32_t k = 0; k < seen.n; k++) dup |= strcmp(seen.v[k], real) == 0;
            if (dup) continue;
            strlist_push(&seen, real);
            px_loaded_plugin *r;
            if (add_plugin_rec(ctx, real, &r) == PX_OK) try_load(ctx, r);
        }
        for (int32_t j = 0; j < names.n; j++) free(names.v[j]);
        free(names.v);
    }
    for (int32_t k = 0; k < seen.n; k++) free(seen.v[k]);
    free(seen.v);
    keep_best(ctx);
    px_status st = create_devices(ctx);
    if (st) return px_set_error(st, "out of memory creating devices");
    if (ctx->n_devices == 0) {
        char list[2048] = "";
        size_t o = 0;
        for (int32_t i = 0; i < ctx->n_dirs && o < sizeof list; i++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", ctx->dirs[i]);
        int32_t refused = 0;
        for (int32_t i = 0; i < ctx->n_plugins; i++) refused += !ctx->plugins[i].loaded;
        return px_set_error(PX_ERR_NOT_FOUND,
                            "no plugin with a usable device was found (searched: %s; %d candidate(s), %d "
                            "refused; run with PLEXUS_DEBUG=1 for details)",
                            list[0] ? list : "nothing", ctx->n_plugins, refused);
    }
    return PX_OK;
}

void px_loader_unload(px_context *ctx) {
    for (int32_t i = 0; i < ctx->n_devices; i++) {
        px_device_rec *d = &ctx->devices[i];
        ctx->plugins[d->plugin].plugin->device_destroy(d->dev);
    }
    free(ctx->devices);
    ctx->devices = NULL;
    ctx->n_devices = 0;
    for (int32_t i = 0; i < ctx->n_plugins; i++) {
        px_loaded_plugin *r = &ctx->plugins[i];
        if (r->handle && !getenv("PLEXUS_NO_DLCLOSE")) dlclose(r->handle);
        free(r->path);
        free(r->name);
        free(r->version);
        free(r->detail);
    }
    free(ctx->plugins);
    ctx->plugins = NULL;
    ctx->n_plugins = 0;
    for (int32_t i = 0; i < ctx->n_dirs; i++) free(ctx->dirs[i]);
    free(ctx->dirs);
    ctx->dirs = NULL;
    ctx->n_dirs = 0;
}

int32_t px_context_find_device(const px_context *ctx, const char *id) {
    for (int32_t i = 0; i < ctx->n_devices; i++) {
        if (strcmp(ctx->devices[i].id, id) == 0) return i;
        /* "cpu:0" names device 0 of plugin cpu, whose id is "cpu". */
        size_t n = strlen(ctx->devices[i].id);
        if (strncmp(ctx->devices[i].id, id, n) == 0 && strcmp(id + n, ":0") == 0) return i;
    }
    return -1;
}
