/* px_model: a model file opened through the format plugin that scores it
 * highest. */
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"

struct px_model {
    px_context *ctx;
    const px_loaded_plugin *plugin;
    const px_format_ops *ops;
    void *handle;
    char *path;
};

px_status px_model_open(px_context *ctx, const char *path, px_model **out) {
    if (!ctx || !path || !out) return px_set_error(PX_ERR_INVALID_ARG, "px_model_open: NULL argument");
    *out = NULL;
    unsigned char head[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
    if (fd < 0) return px_set_error(PX_ERR_IO, "%s: cannot open", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return px_set_error(PX_ERR_IO, "%s: not a regular file", path);
    }
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    if (n < 0) return px_set_error(PX_ERR_IO, "%s: cannot read", path);
    const px_loaded_plugin *best = NULL;
    int32_t best_score = 0;
    for (int32_t i = 0; i < ctx->n_plugins; i++) {
        const px_loaded_plugin *r = &ctx->plugins[i];
        if (!r->loaded || r->kind != PX_PLUGIN_FORMAT || !r->plugin->format_ops) continue;
        const px_format_ops *ops = r->plugin->format_ops;
        if (!ops->probe_file || !ops->open) continue;
        int32_t s = ops->probe_file(path, head, (size_t)n);
        if (s > best_score) {
            best = r;
            best_score = s;
        }
    }
    if (!best) return px_set_error(PX_ERR_UNSUPPORTED, "%s: no loaded format plugin reads this file", path);
    px_model *m = px_calloc(1, sizeof *m);
    if (!m || !(m->path = px_strdup(path))) {
        free(m);
        return PX_ERR_NO_MEMORY;
    }
    m->ctx = ctx;
    m->plugin = best;
    m->ops = best->plugin->format_ops;
    px_clear_error();
    px_status st = m->ops->open(path, &m->handle);
    if (st || !m->handle) {
        free(m->path);
        free(m);
        if (!px_last_error()[0]) px_set_error(st, "%s: cannot be opened", path);
        return st ? st : PX_ERR_INTERNAL;
    }
    *out = m;
    return PX_OK;
}

void px_model_close(px_model *m) {
    if (!m) return;
    m->ops->close(m->handle);
    free(m->path);
    free(m);
}

const char *px_model_format(const px_model *m) { return m ? m->plugin->name : NULL; }
const char *px_model_path(const px_model *m) { return m ? m->path : NULL; }
int64_t px_model_meta_count(const px_model *m) { return m && m->ops->meta_count ? m->ops->meta_count(m->handle) : 0; }

px_status px_model_meta_get(const px_model *m, int64_t i, const char **key, px_meta_value *out) {
    if (!m || !out || !m->ops->meta_get) return px_set_error(PX_ERR_INVALID_ARG, "px_model_meta_get: bad argument");
    return m->ops->meta_get(m->handle, i, key, out);
}

px_status px_model_meta_find(const px_model *m, const char *key, px_meta_value *out) {
    if (!m || !key || !out || !m->ops->meta_find) return px_set_error(PX_ERR_INVALID_ARG, "px_model_meta_find: bad argument");
    px_status st = m->ops->meta_find(m->handle, key, out);
    if (st == PX_ERR_NOT_FOUND) return px_set_error(st, "%s: no metadata key '%s'", m->path, key);
    return st;
}

int64_t px_model_tensor_count(const px_model *m) { return m && m->ops->tensor_count ? m->ops->tensor_count(m->handle) : 0; }

px_status px_model_tensor_get(const px_model *m, int64_t i, px_tensor_info *out) {
    if (!m || !out || !m->ops->tensor_get) return px_set_error(PX_ERR_INVALID_ARG, "px_model_tensor_get: bad argument");
    return m->ops->tensor_get(m->handle, i, out);
}

px_status px_model_build_graph_with(px_model *m, const char *const *keys, const char *const *values, int32_t n,
                                    px_graph **out) {
    if (!m || !out || n < 0 || (n && (!keys || !values)))
        return px_set_error(PX_ERR_INVALID_ARG, "px_model_build_graph_with: bad argument");
    if (!m->ops->build_graph)
        return px_set_error(PX_ERR_UNSUPPORTED, "%s: the %s plugin cannot build compute graphs yet", m->path, m->plugin->name);
    const px_config_section *ini = px_config_plugin_section(m->ctx->cfg, m->plugin->name);
    int32_t ni = ini ? ini->n : 0, total = ni + n;
    px_config_kv *kv = calloc((size_t)(total ? total : 1), sizeof *kv);
    if (!kv) return px_set_error(PX_ERR_NO_MEMORY, "%s: out of memory", m->path);
    for (int32_t i = 0; i < ni; i++) kv[i] = ini->kv[i];
    for (int32_t i = 0; i < n; i++) {
        px_config_kv *e = &kv[ni + i];
        e->key = keys[i];
        e->value = values[i];
        char *end;
        long long iv = strtoll(values[i], &end, 10);
        e->is_int = *values[i] && !*end;
        e->i = iv;
        double fv = strtod(values[i], &end);
        e->is_float = *values[i] && !*end;
        e->f = fv;
    }
    px_config_section sec = {sizeof sec, total, kv};
    px_status st = m->ops->build_graph(m->handle, &sec, out);
    free(kv);
    return st;
}

px_status px_model_build_graph(px_model *m, px_graph **out) {
    if (!m || !out) return px_set_error(PX_ERR_INVALID_ARG, "px_model_build_graph: NULL argument");
    if (!m->ops->build_graph)
        return px_set_error(PX_ERR_UNSUPPORTED, "%s: the %s plugin cannot build compute graphs yet", m->path, m->plugin->name);
    return m->ops->build_graph(m->handle, px_config_plugin_section(m->ctx->cfg, m->plugin->name), out);
}
