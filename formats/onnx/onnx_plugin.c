/* ONNX format plugin: maps a .onnx file read-only, decodes its ModelProto
 * (onnx_pb.c), lists metadata and initializers, and builds the IR graph
 * (onnx_import.c). Initializer bytes stored as raw_data or in external data
 * files are used in place from the mappings. Errors name the file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_import.h"
#include "onnx_pb.h"
#include "plexus/dtype.h"
#include "plexus/plugin.h"

static const px_host_api *host;
const px_host_api *ox_host;

typedef struct ext_map {
    char *location;
    const uint8_t *base;
    uint64_t len;
} ext_map;

typedef struct onnx_file {
    char *path;
    const uint8_t *map;
    uint64_t size;
    onx_arena *a;
    onx_model m;
    /* metadata, made at open */
    int64_t n_kv;
    const char **keys;
    px_meta_value *vals;
    /* initializers as px_tensor_info (supported dtypes only) */
    int64_t n_tensors;
    px_tensor_info *tensors;
    ext_map *ext;
    int32_t n_ext, cap_ext;
} onnx_file;

static void file_free(onnx_file *f) {
    if (!f) return;
    for (int32_t i = 0; i < f->n_ext; i++) {
        if (f->ext[i].len) munmap((void *)f->ext[i].base, f->ext[i].len);
        free(f->ext[i].location);
    }
    free(f->ext);
    if (f->map && f->size) munmap((void *)f->map, f->size);
    onx_arena_destroy(f->a);
    free(f->path);
    free(f);
}

static int map_file(const char *path, const uint8_t **out, uint64_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    *len = (uint64_t)sb.st_size;
    *out = NULL;
    if (*len) {
        void *p = mmap(NULL, (size_t)*len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return -1;
        }
        *out = p;
    }
    close(fd);
    return 0;
}

/* External data: `location` relative to the model's folder, no absolute
 * paths and no "..", mapped once per model. */
static px_status external(void *ud, const char *location, const uint8_t **base, uint64_t *len) {
    onnx_file *f = ud;
    for (int32_t i = 0; i < f->n_ext; i++)
        if (strcmp(f->ext[i].location, location) == 0) {
            *base = f->ext[i].base;
            *len = f->ext[i].len;
            return PX_OK;
        }
    if (location[0] == '/' || strstr(location, ".."))
        return host->set_error(PX_ERR_FORMAT, "%s: external data location '%s' leaves the model's folder", f->path, location);
    const char *slash = strrchr(f->path, '/');
    size_t dl = slash ? (size_t)(slash - f->path) + 1 : 0;
    char *full = malloc(dl + strlen(location) + 1);
    if (!full) return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", f->path);
    memcpy(full, f->path, dl);
    strcpy(full + dl, location);
    { /* resolved (symbolic links followed), it must still lie in the model's folder */
        char *dir = malloc(dl + 2), *rd, *rf;
        if (!dir) {
            free(full);
            return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", f->path);
        }
        if (dl) memcpy(dir, f->path, dl);
        strcpy(dir + dl, ".");
        rd = realpath(dir, NULL);
        rf = realpath(full, NULL);
        size_t rl = rd ? strlen(rd) : 0;
        int inside = rd && rf && strncmp(rf, rd, rl) == 0 && (rf[rl] == '/' || (rl == 1 && rd[0] == '/'));
        free(dir);
        free(rd);
        free(rf);
        if (!inside) {
            px_status st = host->set_error(PX_ERR_FORMAT, "%s: external data '%s' is missing or resolves outside the model's folder",
                                           f->path, location);
            free(full);
            return st;
        }
    }
    if (f->n_ext == f->cap_ext) {
        int32_t nc = f->cap_ext ? f->cap_ext * 2 : 4;
        ext_map *ne = realloc(f->ext, (size_t)nc * sizeof *ne);
        if (!ne) {
            free(full);
            return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", f->path);
        }
        f->ext = ne;
        f->cap_ext = nc;
    }
    ext_map *e = &f->ext[f->n_ext];
    if (map_file(full, &e->base, &e->len)) {
        px_status st = host->set_error(PX_ERR_IO, "%s: cannot open its external data file %s", f->path, full);
        free(full);
        return st;
    }
    free(full);
    if (!(e->location = strdup(location))) {
        if (e->len) munmap((void *)e->base, e->len);
        return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", f->path);
    }
    f->n_ext++;
    *base = e->base;
    *len = e->len;
    return PX_OK;
}

/* ---- metadata ------------------------------------------------------------------- */

static px_meta_value mstr(const char *s) {
    px_meta_value v = {.type = PX_META_STRING};
    v.u.str.ptr = s;
    v.u.str.len = strlen(s);
    return v;
}

static px_meta_value mi64(int64_t x) {
    px_meta_value v = {.type = PX_META_I64};
    v.u.i64 = x;
    return v;
}

static char *fmt(onx_arena *a, const char *f, const char *s1, const char *s2) {
    size_t n = strlen(f) + strlen(s1) + strlen(s2) + 1;
    char *d = onx_alloc(a, n);
    if (d) snprintf(d, n, f, s1, s2);
    return d;
}

/* "name: float[1,3,N,N]" for each graph input/output. */
static px_meta_value value_list(onx_arena *a, const onx_value_info *vi, int32_t n, int *bad) {
    px_meta_value v = {.type = PX_META_ARRAY, .elem_type = PX_META_STRING, .n = (uint64_t)n};
    px_meta_string *s = onx_alloc(a, (size_t)(n ? n : 1) * sizeof *s);
    if (!s) {
        *bad = 1;
        return v;
    }
    for (int32_t i = 0; i < n; i++) {
        char buf[512];
        size_t len = 0;
        /* names are cut to fit; every append is bounded by what is left */
#define APPEND(...)                                                                  \
    do {                                                                             \
        if (len < sizeof buf - 1) {                                                  \
            int w_ = snprintf(buf + len, sizeof buf - len, __VA_ARGS__);             \
            len = w_ < 0 ? len : len + (size_t)w_ < sizeof buf ? len + (size_t)w_ : sizeof buf - 1; \
        }                                                                            \
    } while (0)
        buf[0] = 0;
        APPEND("%.200s: %s", vi[i].name, vi[i].kind == ONX_TYPE_TENSOR ? onx_type_name(vi[i].elem_type) : "non-tensor");
        if (vi[i].has_shape) {
            APPEND("[");
            for (int32_t d = 0; d < vi[i].rank; d++) {
                if (vi[i].params[d]) APPEND("%s%.24s", d ? "," : "", vi[i].params[d]);
                else if (vi[i].dims[d] >= 0) APPEND("%s%lld", d ? "," : "", (long long)vi[i].dims[d]);
                else APPEND("%s?", d ? "," : "");
            }
            APPEND("]");
        }
#undef APPEND
        len = strlen(buf);
        char *d = onx_alloc(a, len + 1);
        if (!d) {
            *bad = 1;
            return v;
        }
        memcpy(d, buf, len);
        s[i].ptr = d;
        s[i].len = len;
    }
    v.data = s;
    return v;
}

/* "Op: count" per op type of the main graph, in order of first use. */
/* "Op: count" per op type of the main graph, in order of first use; one
 * pass over the nodes against at most 256 distinct types (the rest are
 * counted as "other ops"). */
#define HIST_MAX 256
static px_meta_value op_histogram(onx_arena *a, const onx_graph *g, int *bad) {
    px_meta_value v = {.type = PX_META_ARRAY, .elem_type = PX_META_STRING};
    px_meta_string *s = onx_alloc(a, (HIST_MAX + 1) * sizeof *s);
    const onx_node **first = onx_alloc(a, HIST_MAX * sizeof *first);
    int64_t *cnt = onx_alloc(a, (HIST_MAX + 1) * sizeof *cnt);
    if (!s || !first || !cnt) {
        *bad = 1;
        return v;
    }
    int32_t nd_ = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const onx_node *nd = &g->nodes[i];
        int32_t j = 0;
        while (j < nd_ && (strcmp(first[j]->op_type, nd->op_type) || strcmp(first[j]->domain, nd->domain))) j++;
        if (j == nd_ && nd_ < HIST_MAX) first[nd_++] = nd;
        cnt[j < nd_ ? j : HIST_MAX]++;
    }
    uint64_t n = 0;
    for (int32_t j = 0; j <= nd_; j++) {
        if (j == nd_ && !cnt[HIST_MAX]) break;
        char buf[300];
        if (j < nd_)
            snprintf(buf, sizeof buf, "%.60s%s%.200s: %lld", first[j]->domain, first[j]->domain[0] ? "." : "", first[j]->op_type,
                     (long long)cnt[j]);
        else
            snprintf(buf, sizeof buf, "other ops: %lld", (long long)cnt[HIST_MAX]);
        char *t = fmt(a, "%s%s", buf, "");
        if (!t) {
            *bad = 1;
            return v;
        }
        s[n].ptr = t;
        s[n++].len = strlen(t);
    }
    v.n = n;
    v.data = s;
    return v;
}

static px_status make_meta(onnx_file *f) {
    const onx_model *m = &f->m;
    int64_t cap = 10 + m->n_opsets + m->n_props;
    f->keys = onx_alloc(f->a, (size_t)cap * sizeof *f->keys);
    f->vals = onx_alloc(f->a, (size_t)cap * sizeof *f->vals);
    if (!f->keys || !f->vals) return PX_ERR_NO_MEMORY;
    int bad = 0;
#define KV(k, v) (f->keys[f->n_kv] = (k), f->vals[f->n_kv++] = (v))
    KV("general.architecture", mstr("onnx"));
    KV("onnx.ir_version", mi64(m->ir_version));
    KV("onnx.producer_name", mstr(m->producer_name));
    KV("onnx.producer_version", mstr(m->producer_version));
    KV("onnx.graph_name", mstr(m->graph->name));
    for (int32_t i = 0; i < m->n_opsets; i++) {
        char *k = fmt(f->a, "onnx.opset.%s%s", m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx", "");
        if (!k) return PX_ERR_NO_MEMORY;
        KV(k, mi64(m->opsets[i].version));
    }
    KV("onnx.inputs", value_list(f->a, m->graph->inputs, m->graph->n_inputs, &bad));
    KV("onnx.outputs", value_list(f->a, m->graph->outputs, m->graph->n_outputs, &bad));
    KV("onnx.ops", op_histogram(f->a, m->graph, &bad));
    for (int32_t i = 0; i < m->n_props; i++) {
        char *k = fmt(f->a, "onnx.meta.%s%s", m->prop_keys[i], "");
        if (!k) return PX_ERR_NO_MEMORY;
        KV(k, mstr(m->prop_values[i]));
    }
#undef KV
    return bad ? PX_ERR_NO_MEMORY : PX_OK;
}

static px_status make_tensors(onnx_file *f) {
    const onx_graph *g = f->m.graph;
    f->tensors = onx_alloc(f->a, (size_t)(g->n_inits ? g->n_inits : 1) * sizeof *f->tensors);
    if (!f->tensors) return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", f->path);
    for (int32_t i = 0; i < g->n_inits; i++) {
        const onx_tensor *t = &g->inits[i];
        px_tensor_info *ti = &f->tensors[f->n_tensors];
        int dt = onx_to_px_dtype(t->data_type);
        if (dt < 0 || t->rank > PX_MAX_DIMS) continue; /* listed by info as unsupported; import says why */
        ti->name = t->name;
        ti->dtype = (px_dtype)dt;
        ti->rank = t->rank;
        memcpy(ti->ne, t->dims, sizeof(int64_t) * (size_t)t->rank);
        int64_t n = onx_tensor_numel(t);
        if (n < 0) return host->set_error(PX_ERR_FORMAT, "%s: initializer '%s': dims overflow", f->path, t->name);
        ti->nbytes = (uint64_t)n * onx_px_size((px_dtype)dt);
        int bits = onx_packed_bits(t->data_type);
        if (bits && t->has_raw && !t->external) { /* packed: not usable in place */
            if (t->raw.n != ((uint64_t)n * (uint64_t)bits + 7) / 8)
                return host->set_error(PX_ERR_FORMAT, "%s: initializer '%s': raw_data has %llu bytes, its shape needs %llu",
                                       f->path, t->name, (unsigned long long)t->raw.n,
                                       (unsigned long long)(((uint64_t)n * (uint64_t)bits + 7) / 8));
        } else if (t->has_raw && !t->external) {
            if (t->raw.n != ti->nbytes)
                return host->set_error(PX_ERR_FORMAT, "%s: initializer '%s': raw_data has %llu bytes, its shape needs %llu (at byte %llu)",
                                       f->path, t->name, (unsigned long long)t->raw.n, (unsigned long long)ti->nbytes,
                                       (unsigned long long)(t->raw.p - f->map));
            ti->data = t->raw.p;
            ti->file_offset = (uint64_t)(t->raw.p - f->map);
        }
        f->n_tensors++;
    }
    return PX_OK;
}

/* ---- the table ------------------------------------------------------------------- */

static int32_t onnx_probe_file(const char *path, const void *head, size_t head_len) {
    const uint8_t *h = head;
    size_t pl = strlen(path);
    int ext = pl >= 5 && strcmp(path + pl - 5, ".onnx") == 0;
    /* A ModelProto starts with a field key: ir_version (0x08) in practice. */
    if (head_len >= 2 && h[0] == 0x08 && h[1] < 0x80) return ext ? 60 : 20;
    if (ext && head_len >= 1 && (h[0] & 7) <= 2 && h[0] >= 0x08) return 30;
    return 0;
}

static px_status onnx_open(const char *path, void **out) {
    *out = NULL;
    onnx_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path)) || !(f->a = onx_arena_create())) {
        file_free(f);
        return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    if (map_file(path, &f->map, &f->size)) {
        file_free(f);
        return host->set_error(PX_ERR_IO, "%s: cannot open as a regular file", path);
    }
    if (f->size == 0) {
        file_free(f);
        return host->set_error(PX_ERR_FORMAT, "%s: empty file", path);
    }
    char err[400];
    px_status st = onx_decode_model(f->a, f->map, f->size, &f->m, err, sizeof err);
    if (st) {
        file_free(f);
        return host->set_error(st, "%s: not a valid ONNX model: %s", path, err);
    }
    if ((st = make_meta(f))) {
        file_free(f);
        return host->set_error(st, "%s: out of memory", path);
    }
    if ((st = make_tensors(f))) {
        file_free(f);
        return st;
    }
    *out = f;
    return PX_OK;
}

static void onnx_close(void *model) { file_free(model); }
static int64_t onnx_meta_count(void *model) { return ((onnx_file *)model)->n_kv; }

static px_status onnx_meta_get(void *model, int64_t i, const char **key, px_meta_value *out) {
    onnx_file *f = model;
    if (i < 0 || i >= f->n_kv) return host->set_error(PX_ERR_INVALID_ARG, "%s: no metadata entry %lld", f->path, (long long)i);
    if (key) *key = f->keys[i];
    *out = f->vals[i];
    return PX_OK;
}

static px_status onnx_meta_find(void *model, const char *key, px_meta_value *out) {
    onnx_file *f = model;
    for (int64_t i = 0; i < f->n_kv; i++)
        if (strcmp(f->keys[i], key) == 0) {
            *out = f->vals[i];
            return PX_OK;
        }
    return PX_ERR_NOT_FOUND;
}

static int64_t onnx_tensor_count(void *model) { return ((onnx_file *)model)->n_tensors; }

static px_status onnx_tensor_get(void *model, int64_t i, px_tensor_info *out) {
    onnx_file *f = model;
    if (i < 0 || i >= f->n_tensors) return host->set_error(PX_ERR_INVALID_ARG, "%s: no tensor %lld", f->path, (long long)i);
    *out = f->tensors[i];
    return PX_OK;
}

static px_status onnx_build_graph(void *model, const px_config_section *options, px_graph **out) {
    onnx_file *f = model;
    return ox_import(f->path, &f->m, options, external, f, out);
}

static const px_format_ops onnx_ops = {
    .struct_size = sizeof(px_format_ops),
    .probe_file = onnx_probe_file,
    .open = onnx_open,
    .close = onnx_close,
    .meta_count = onnx_meta_count,
    .meta_get = onnx_meta_get,
    .meta_find = onnx_meta_find,
    .tensor_count = onnx_tensor_count,
    .tensor_get = onnx_tensor_get,
    .build_graph = onnx_build_graph,
};

static px_status onnx_probe(px_probe_result *out) {
    out->n_devices = 0;
    out->score = 10;
    snprintf(out->detail, sizeof out->detail, "ONNX importer (IR 3-13, ai.onnx opsets)");
    return PX_OK;
}

static const px_plugin onnx_plugin = {
    .struct_size = sizeof(px_plugin),
    .abi_major = PX_ABI_MAJOR,
    .abi_minor = PX_ABI_MINOR,
    .kind = PX_PLUGIN_FORMAT,
    .name = "onnx",
    .version = "0.1.0",
    .probe = onnx_probe,
    .format_ops = &onnx_ops,
};

PX_EXPORT px_status plexus_plugin_query(uint32_t major, uint32_t minor, const px_host_api *h, const px_plugin **out) {
    (void)minor;
    if (major != PX_ABI_MAJOR) return h->set_error(PX_ERR_ABI, "onnx plugin needs plugin ABI %u.x", PX_ABI_MAJOR);
    host = ox_host = h;
    *out = &onnx_plugin;
    return PX_OK;
}
