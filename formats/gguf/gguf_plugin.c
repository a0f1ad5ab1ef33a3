/* GGUF format plugin: reads GGUF v2/v3 files (metadata of every type,
 * nested arrays, tensor infos) from a read-only memory mapping. Every count,
 * length and offset is checked against the file size before use; a bad file
 * gives "<path>: <problem> (at byte N)", never a crash. Tensor data stays in
 * the mapping. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_types.h"
#include "plexus/dtype.h"
#include "plexus/plugin.h"

static const px_host_api *host;

#define GGUF_MAX_DEPTH 8

typedef struct gguf_kv {
    char *key;
    px_meta_value v;
} gguf_kv;

typedef struct gguf_model {
    char *path;
    const uint8_t *map;
    uint64_t size;
    uint32_t version;
    int64_t n_kv, n_tensors;
    gguf_kv *kv;
    px_tensor_info *tensors;
    char **tensor_names;
    void **allocs; /* decoded arrays, freed at close */
    int64_t n_allocs, cap_allocs;
} gguf_model;

typedef struct reader {
    gguf_model *m;
    uint64_t pos;
} reader;

#define BAD(r, ...) bad((r), __VA_ARGS__)
static px_status bad(reader *r, const char *fmt, ...) PX_PRINTF(2, 3);
static px_status bad(reader *r, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return host->set_error(PX_ERR_FORMAT, "%s: %s (at byte %llu)", r->m->path, msg, (unsigned long long)r->pos);
}

static int need(reader *r, uint64_t n) { return n <= r->m->size && r->pos <= r->m->size - n; }

static px_status rd(reader *r, void *dst, uint64_t n, const char *what) {
    if (!need(r, n)) return BAD(r, "file ends inside %s", what);
    memcpy(dst, r->m->map + r->pos, n);
    r->pos += n;
    return PX_OK;
}

static px_status rd_u32(reader *r, uint32_t *v, const char *what) { return rd(r, v, 4, what); }
static px_status rd_u64(reader *r, uint64_t *v, const char *what) { return rd(r, v, 8, what); }

static px_status rd_str(reader *r, px_meta_string *s, const char *what) {
    uint64_t n = 0;
    px_status st = rd_u64(r, &n, what);
    if (st) return st;
    if (!need(r, n)) return BAD(r, "%s: string length %llu runs past the end of the file", what, (unsigned long long)n);
    s->ptr = (const char *)r->m->map + r->pos;
    s->len = n;
    r->pos += n;
    return PX_OK;
}

static void *track(gguf_model *m, size_t n) {
    if (m->n_allocs == m->cap_allocs) {
        int64_t cap = m->cap_allocs ? m->cap_allocs * 2 : 64;
        void **a = realloc(m->allocs, (size_t)cap * sizeof *a);
        if (!a) return NULL;
        m->allocs = a;
        m->cap_allocs = cap;
    }
    void *p = calloc(1, n ? n : 1);
    if (p) m->allocs[m->n_allocs++] = p;
    return p;
}

static void set_scalar(px_meta_value *v, int32_t t, const uint8_t *p) {
    memset(&v->u, 0, sizeof v->u);
    switch (t) {
    case PX_META_U8: case PX_META_BOOL: v->u.u64 = p[0]; break;
    case PX_META_I8: v->u.i64 = (int8_t)p[0]; break;
    case PX_META_U16: { uint16_t x; memcpy(&x, p, 2); v->u.u64 = x; break; }
    case PX_META_I16: { int16_t x; memcpy(&x, p, 2); v->u.i64 = x; break; }
    case PX_META_U32: { uint32_t x; memcpy(&x, p, 4); v->u.u64 = x; break; }
    case PX_META_I32: { int32_t x; memcpy(&x, p, 4); v->u.i64 = x; break; }
    case PX_META_F32: { float x; memcpy(&x, p, 4); v->u.f64 = x; break; }
    case PX_META_U64: memcpy(&v->u.u64, p, 8); break;
    case PX_META_I64: memcpy(&v->u.i64, p, 8); break;
    case PX_META_F64: memcpy(&v->u.f64, p, 8); break;
    default: break;
    }
}

static px_status rd_value(reader *r, int32_t type, px_meta_value *v, int depth, const char *key) {
    memset(v, 0, sizeof *v);
    v->type = type;
    int sz = gguf_scalar_size(type);
    if (sz) {
        if (!need(r, (uint64_t)sz)) return BAD(r, "key '%s': file ends inside its value", key);
        set_scalar(v, type, r->m->map + r->pos);
        r->pos += (uint64_t)sz;
        return PX_OK;
    }
    if (type == PX_META_STRING) return rd_str(r, &v->u.str, key);
    if (type != PX_META_ARRAY) return BAD(r, "key '%s': unknown value type %d", key, type);
    if (depth >= GGUF_MAX_DEPTH) return BAD(r, "key '%s': arrays nested deeper than %d", key, GGUF_MAX_DEPTH);
    uint32_t et = 0;
    uint64_t n = 0;
    px_status st;
    if ((st = rd_u32(r, &et, key)) || (st = rd_u64(r, &n, key))) return st;
    v->elem_type = (int32_t)et;
    v->n = n;
    int esz = gguf_scalar_size((int32_t)et);
    /* Each element takes at least one byte (8 for strings and arrays), so a
     * count the rest of the file cannot hold is rejected before allocating. */
    uint64_t min_elem = esz ? (uint64_t)esz : 8;
    if (et > PX_META_F64) return BAD(r, "key '%s': unknown array element type %u", key, et);
    if (n > (r->m->size - r->pos) / min_elem) return BAD(r, "key '%s': array of %llu elements runs past the end of the file", key, (unsigned long long)n);
    if (esz) {
        size_t csize = (size_t)esz; /* C layout = file layout on little-endian hosts */
        void *a = track(r->m, (size_t)n * csize);
        if (!a) return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory reading key '%s'", r->m->path, key);
        memcpy(a, r->m->map + r->pos, (size_t)n * csize);
        r->pos += n * csize;
        v->data = a;
        return PX_OK;
    }
    if (et == PX_META_STRING) {
        px_meta_string *a = track(r->m, (size_t)n * sizeof *a);
        if (!a) return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory reading key '%s'", r->m->path, key);
        for (uint64_t i = 0; i < n; i++)
            if ((st = rd_str(r, &a[i], key))) return st;
        v->data = a;
        return PX_OK;
    }
    px_meta_value *a = track(r->m, (size_t)n * sizeof *a);
    if (!a) return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory reading key '%s'", r->m->path, key);
    for (uint64_t i = 0; i < n; i++) {
        /* A nested array element carries its own element type and count. */
        if ((st = rd_value(r, (int32_t)et, &a[i], depth + 1, key))) return st;
    }
    v->data = a;
    return PX_OK;
}

static void model_free(gguf_model *m) {
    if (!m) return;
    if (m->map) munmap((void *)m->map, (size_t)m->size);
    for (int64_t i = 0; i < m->n_allocs; i++) free(m->allocs[i]);
    free(m->allocs);
    if (m->kv)
        for (int64_t i = 0; i < m->n_kv; i++) free(m->kv[i].key);
    free(m->kv);
    if (m->tensor_names)
        for (int64_t i = 0; i < m->n_tensors; i++) free(m->tensor_names[i]);
    free(m->tensor_names);
    free(m->tensors);
    free(m->path);
    free(m);
}

static char *dup_str(const px_meta_string *s) {
    char *d = malloc((size_t)s->len + 1);
    if (d) {
        memcpy(d, s->ptr, (size_t)s->len);
        d[s->len] = 0;
    }
    return d;
}

static px_status parse(gguf_model *m) {
    reader r = {m, 0};
    uint32_t magic = 0, version = 0;
    uint64_t n_tensors = 0, n_kv = 0;
    px_status st;
    if ((st = rd_u32(&r, &magic, "the header"))) return st;
    if (memcmp(&magic, "GGUF", 4) != 0) return BAD(&r, "not a GGUF file (bad magic)");
    if ((st = rd_u32(&r, &version, "the header"))) return st;
    if (version < 2 || version > 3) return BAD(&r, "GGUF version %u is not supported (2 and 3 are)", version);
    m->version = version;
    if ((st = rd_u64(&r, &n_tensors, "the header")) || (st = rd_u64(&r, &n_kv, "the header"))) return st;
    uint64_t rest = m->size - r.pos;
    if (n_kv > rest / 12) return BAD(&r, "metadata count %llu cannot fit in the file", (unsigned long long)n_kv);
    if (n_tensors > rest / 24) return BAD(&r, "tensor count %llu cannot fit in the file", (unsigned long long)n_tensors);
    m->kv = calloc((size_t)n_kv + 1, sizeof *m->kv);
    m->tensors = calloc((size_t)n_tensors + 1, sizeof *m->tensors);
    m->tensor_names = calloc((size_t)n_tensors + 1, sizeof *m->tensor_names);
    if (!m->kv || !m->tensors || !m->tensor_names) return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", m->path);
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < n_kv; i++) {
        px_meta_string key = {0};
        uint32_t type = 0;
        if ((st = rd_str(&r, &key, "a metadata key")) || (st = rd_u32(&r, &type, "a metadata type"))) return st;
        char *k = dup_str(&key);
        if (!k) return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", m->path);
        m->kv[i].key = k;
        m->n_kv = (int64_t)i + 1;
        if (strlen(k) != key.len || key.len == 0) return BAD(&r, "metadata key %llu is empty or holds a NUL byte", (unsigned long long)i);
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(m->kv[j].key, k) == 0) return BAD(&r, "metadata key '%s' appears twice", k);
        if ((st = rd_value(&r, (int32_t)type, &m->kv[i].v, 0, k))) return st;
        if (strcmp(k, "general.alignment") == 0) {
            const px_meta_value *v = &m->kv[i].v;
            if (v->type != PX_META_U32 && v->type != PX_META_U64) return BAD(&r, "general.alignment must be an unsigned integer");
            alignment = v->u.u64;
            if (alignment == 0 || (alignment & (alignment - 1)) || alignment > (1u << 20))
                return BAD(&r, "general.alignment %llu is not a power of two up to 1 MiB", (unsigned long long)alignment);
        }
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        px_meta_string name = {0};
        uint32_t n_dims = 0, type = 0;
        uint64_t off = 0;
        if ((st = rd_str(&r, &name, "a tensor name"))) return st;
        char *nm = dup_str(&name);
        if (!nm) return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", m->path);
        m->tensor_names[i] = nm;
        m->n_tensors = (int64_t)i + 1;
        if ((st = rd_u32(&r, &n_dims, nm))) return st;
        if (n_dims == 0 || n_dims > 4) return BAD(&r, "tensor '%s': %u dims (1 to 4 allowed)", nm, n_dims);
        uint64_t dims[4] = {0};
        for (uint32_t d = 0; d < n_dims; d++)
            if ((st = rd_u64(&r, &dims[d], nm))) return st;
        if ((st = rd_u32(&r, &type, nm)) || (st = rd_u64(&r, &off, nm))) return st;
        int dt = gguf_to_dtype(type);
        if (dt < 0) return BAD(&r, "tensor '%s': unknown or unsupported ggml type %u", nm, type);
        px_tensor_info *t = &m->tensors[i];
        t->name = nm;
        t->dtype = (px_dtype)dt;
        t->rank = (int32_t)n_dims;
        uint64_t numel = 1;
        for (uint32_t d = 0; d < n_dims; d++) {
            if (dims[d] > (uint64_t)INT64_MAX || (dims[d] && numel > UINT64_MAX / dims[d] / 64))
                return BAD(&r, "tensor '%s': dims overflow", nm);
            numel *= dims[d];
            t->ne[n_dims - 1 - d] = (int64_t)dims[d]; /* innermost first -> row-major */
        }
        const px_dtype_traits *tr = px_dtype_get_traits(t->dtype);
        if (dims[0] % (uint64_t)tr->block_size)
            return BAD(&r, "tensor '%s': row of %llu elements is not a multiple of %s's block size %d", nm,
                       (unsigned long long)dims[0], tr->name, tr->block_size);
        int64_t bytes = px_dtype_row_size(t->dtype, (int64_t)numel);
        if (bytes < 0) return BAD(&r, "tensor '%s': size overflows", nm);
        t->nbytes = (uint64_t)bytes;
        t->file_offset = off;
        if (off % alignment) return BAD(&r, "tensor '%s': data offset %llu is not aligned to %llu", nm, (unsigned long long)off, (unsigned long long)alignment);
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(m->tensor_names[j], nm) == 0) return BAD(&r, "tensor name '%s' appears twice", nm);
    }
    uint64_t data = (r.pos + alignment - 1) / alignment * alignment;
    for (int64_t i = 0; i < m->n_tensors; i++) {
        px_tensor_info *t = &m->tensors[i];
        if (data > m->size || t->file_offset > m->size - data || t->nbytes > m->size - data - t->file_offset) {
            r.pos = data;
            return BAD(&r, "tensor '%s': data (%llu bytes at offset %llu) runs past the end of the file", t->name,
                       (unsigned long long)t->nbytes, (unsigned long long)t->file_offset);
        }
        t->file_offset += data;
        t->data = m->map + t->file_offset;
    }
    return PX_OK;
}

/* ---- format ops ------------------------------------------------------------------ */

static int32_t gguf_probe_file(const char *path, const void *head, size_t len) {
    (void)path;
    return len >= 4 && memcmp(head, "GGUF", 4) == 0 ? 100 : 0;
}

static px_status gguf_open(const char *path, void **out) {
    *out = NULL;
    gguf_model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        return host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        model_free(m);
        return host->set_error(PX_ERR_IO, "%s: cannot open as a regular file", path);
    }
    m->size = (uint64_t)sb.st_size;
    if (m->size < 24) {
        close(fd);
        reader r = {m, m->size};
        px_status st = BAD(&r, "file too short for a GGUF header (%llu bytes)", (unsigned long long)m->size);
        model_free(m);
        return st;
    }
    void *map = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        model_free(m);
        return host->set_error(PX_ERR_IO, "%s: cannot map the file", path);
    }
    m->map = map;
    px_status st = parse(m);
    if (st) {
        model_free(m);
        return st;
    }
    *out = m;
    return PX_OK;
}

static void gguf_close(void *model) { model_free(model); }
static int64_t gguf_meta_count(void *model) { return ((gguf_model *)model)->n_kv; }

static px_status gguf_meta_get(void *model, int64_t i, const char **key, px_meta_value *out) {
    gguf_model *m = model;
    if (i < 0 || i >= m->n_kv) return host->set_error(PX_ERR_INVALID_ARG, "%s: no metadata entry %lld", m->path, (long long)i);
    if (key) *key = m->kv[i].key;
    *out = m->kv[i].v;
    return PX_OK;
}

static px_status gguf_meta_find(void *model, const char *key, px_meta_value *out) {
    gguf_model *m = model;
    for (int64_t i = 0; i < m->n_kv; i++)
        if (strcmp(m->kv[i].key, key) == 0) {
            *out = m->kv[i].v;
            return PX_OK;
        }
    return PX_ERR_NOT_FOUND;
}

static int64_t gguf_tensor_count(void *model) { return ((gguf_model *)model)->n_tensors; }

static px_status gguf_tensor_get(void *model, int64_t i, px_tensor_info *out) {
    gguf_model *m = model;
    if (i < 0 || i >= m->n_tensors) return host->set_error(PX_ERR_INVALID_ARG, "%s: no tensor %lld", m->path, (long long)i);
    *out = m->tensors[i];
    return PX_OK;
}

static const px_format_ops gguf_ops = {
    .struct_size = sizeof(px_format_ops),
    .probe_file = gguf_probe_file,
    .open = gguf_open,
    .close = gguf_close,
    .meta_count = gguf_meta_count,
    .meta_get = gguf_meta_get,
    .meta_find = gguf_meta_find,
    .tensor_count = gguf_tensor_count,
    .tensor_get = gguf_tensor_get,
};

static px_status gguf_probe(px_probe_result *out) {
    out->n_devices = 0;
    out->score = 10;
    snprintf(out->detail, sizeof out->detail, "GGUF v2/v3 reader");
    return PX_OK;
}

static const px_plugin gguf_plugin = {
    .struct_size = sizeof(px_plugin),
    .abi_major = PX_ABI_MAJOR,
    .abi_minor = PX_ABI_MINOR,
    .kind = PX_PLUGIN_FORMAT,
    .name = "gguf",
    .version = "0.1.0",
    .probe = gguf_probe,
    .format_ops = &gguf_ops,
};

PX_EXPORT px_status plexus_plugin_query(uint32_t major, uint32_t minor, const px_host_api *h, const px_plugin **out) {
    (void)minor;
    if (major != PX_ABI_MAJOR) return h->set_error(PX_ERR_ABI, "gguf plugin needs plugin ABI %u.x", PX_ABI_MAJOR);
    host = h;
    *out = &gguf_plugin;
    return PX_OK;
}
