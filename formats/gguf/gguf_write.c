/* GGUF v3 writer. */
#include "gguf_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_types.h"
#include "plexus/dtype.h"

typedef struct wkv {
    char *key;
    px_meta_value v;
    char *owned_str; /* convenience strings */
} wkv;

typedef struct wtensor {
    char *name;
    px_dtype dtype;
    int32_t rank;
    int64_t ne[4];
    const void *data;
    px_gguf_fill_fn fill; /* or: made at write time */
    void *user;
    uint64_t nbytes, offset;
} wtensor;

struct px_gguf_writer {
    uint32_t alignment;
    wkv *kv;
    int64_t n_kv, cap_kv;
    wtensor *t;
    int64_t n_t, cap_t;
    char err[512];
};

static px_status fail(px_gguf_writer *w, px_status st, const char *fmt, ...) PX_PRINTF(3, 4);
static px_status fail(px_gguf_writer *w, px_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    return st;
}

px_status px_gguf_writer_create(uint32_t alignment, px_gguf_writer **out) {
    if (!out || alignment == 0 || (alignment & (alignment - 1))) return PX_ERR_INVALID_ARG;
    px_gguf_writer *w = calloc(1, sizeof *w);
    if (!w) return PX_ERR_NO_MEMORY;
    w->alignment = alignment;
    *out = w;
    return PX_OK;
}

void px_gguf_writer_destroy(px_gguf_writer *w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].owned_str);
    }
    for (int64_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w);
}

const char *px_gguf_writer_error(const px_gguf_writer *w) { return w ? w->err : ""; }

static int grow(void **p, int64_t *cap, int64_t n, size_t elem) {
    if (n < *cap) return 1;
    int64_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

px_status px_gguf_add_meta(px_gguf_writer *w, const char *key, const px_meta_value *v) {
    if (!w || !key || !*key || !v) return PX_ERR_INVALID_ARG;
    for (int64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0) return fail(w, PX_ERR_INVALID_ARG, "metadata key '%s' added twice", key);
    if (!grow((void **)&w->kv, &w->cap_kv, w->n_kv, sizeof *w->kv)) return fail(w, PX_ERR_NO_MEMORY, "out of memory");
    wkv *e = &w->kv[w->n_kv];
    memset(e, 0, sizeof *e);
    if (!(e->key = strdup(key))) return fail(w, PX_ERR_NO_MEMORY, "out of memory");
    e->v = *v;
    w->n_kv++;
    return PX_OK;
}

px_status px_gguf_add_u32(px_gguf_writer *w, const char *key, uint32_t x) {
    px_meta_value v = {.type = PX_META_U32};
    v.u.u64 = x;
    return px_gguf_add_meta(w, key, &v);
}

px_status px_gguf_add_f32(px_gguf_writer *w, const char *key, float x) {
    px_meta_value v = {.type = PX_META_F32};
    v.u.f64 = x;
    return px_gguf_add_meta(w, key, &v);
}

px_status px_gguf_add_str(px_gguf_writer *w, const char *key, const char *s) {
    char *d = strdup(s);
    if (!d) return fail(w, PX_ERR_NO_MEMORY, "out of memory");
    px_meta_value v = {.type = PX_META_STRING};
    v.u.str.ptr = d;
    v.u.str.len = strlen(d);
    px_status st = px_gguf_add_meta(w, key, &v);
    if (st) free(d);
    else w->kv[w->n_kv - 1].owned_str = d;
    return st;
}

static px_status add_tensor(px_gguf_writer *w, const char *name, px_dtype dtype, int32_t rank, const int64_t *ne,
                            const void *data, px_gguf_fill_fn fill, void *user) {
    if (!w || !name || !*name || rank < 1 || rank > 4 || !ne) return PX_ERR_INVALID_ARG;
    if (gguf_from_dtype(dtype) < 0) return fail(w, PX_ERR_DTYPE, "tensor '%s': GGUF has no %s type", name, px_dtype_name(dtype));
    for (int64_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0) return fail(w, PX_ERR_INVALID_ARG, "tensor '%s' added twice", name);
    int64_t numel = 1;
    for (int32_t d = 0; d < rank; d++) {
        if (ne[d] < 0 || (ne[d] && numel > INT64_MAX / ne[d])) return fail(w, PX_ERR_SHAPE, "tensor '%s': bad dims", name);
        numel *= ne[d];
    }
    int64_t bytes = px_dtype_row_size(dtype, numel);
    const px_dtype_traits *tr = px_dtype_get_traits(dtype);
    if (bytes < 0 || ne[rank - 1] % tr->block_size)
        return fail(w, PX_ERR_SHAPE, "tensor '%s': last dim %lld is not a multiple of %s's block size %d", name,
                    (long long)ne[rank - 1], tr->name, tr->block_size);
    if (!grow((void **)&w->t, &w->cap_t, w->n_t, sizeof *w->t)) return fail(w, PX_ERR_NO_MEMORY, "out of memory");
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) return fail(w, PX_ERR_NO_MEMORY, "out of memory");
    t->dtype = dtype;
    t->rank = rank;
    memcpy(t->ne, ne, (size_t)rank * sizeof *ne);
    t->data = data;
    t->fill = fill;
    t->user = user;
    t->nbytes = (uint64_t)bytes;
    w->n_t++;
    return PX_OK;
}

px_status px_gguf_add_tensor(px_gguf_writer *w, const char *name, px_dtype dtype, int32_t rank, const int64_t *ne,
                             const void *data) {
    return add_tensor(w, name, dtype, rank, ne, data, NULL, NULL);
}

px_status px_gguf_add_tensor_fill(px_gguf_writer *w, const char *name, px_dtype dtype, int32_t rank, const int64_t *ne,
                                  px_gguf_fill_fn fill, void *user) {
    if (!fill) return PX_ERR_INVALID_ARG;
    return add_tensor(w, name, dtype, rank, ne, NULL, fill, user);
}

static int put(FILE *f, const void *p, size_t n);

/* Tensor data: in place, or made by its fill function into a buffer. */
static int put_tensor(px_gguf_writer *w, FILE *f, const wtensor *t) {
    if (!t->fill) return put(f, t->data, (size_t)t->nbytes);
    void *buf = malloc(t->nbytes ? (size_t)t->nbytes : 1);
    if (!buf) {
        fail(w, PX_ERR_NO_MEMORY, "tensor '%s': cannot allocate %llu bytes", t->name, (unsigned long long)t->nbytes);
        return 0;
    }
    int ok = t->fill(t->user, t->name, buf, t->nbytes) == PX_OK;
    if (!ok) fail(w, PX_ERR_INTERNAL, "tensor '%s': its data could not be made", t->name);
    ok = ok && put(f, buf, (size_t)t->nbytes);
    free(buf);
    return ok;
}

/* ---- serialisation ---------------------------------------------------------------- */

static int put(FILE *f, const void *p, size_t n) { return n == 0 || fwrite(p, 1, n, f) == n; }
static int put_u32(FILE *f, uint32_t v) { return put(f, &v, 4); }
static int put_u64(FILE *f, uint64_t v) { return put(f, &v, 8); }
static int put_str(FILE *f, const char *p, uint64_t n) { return put_u64(f, n) && put(f, p, (size_t)n); }

static int put_scalar(FILE *f, const px_meta_value *v) {
    uint8_t b[8];
    switch (v->type) {
    case PX_META_U8: case PX_META_BOOL: b[0] = (uint8_t)v->u.u64; return put(f, b, 1);
    case PX_META_I8: b[0] = (uint8_t)(int8_t)v->u.i64; return put(f, b, 1);
    case PX_META_U16: { uint16_t x = (uint16_t)v->u.u64; return put(f, &x, 2); }
    case PX_META_I16: { int16_t x = (int16_t)v->u.i64; return put(f, &x, 2); }
    case PX_META_U32: { uint32_t x = (uint32_t)v->u.u64; return put(f, &x, 4); }
    case PX_META_I32: { int32_t x = (int32_t)v->u.i64; return put(f, &x, 4); }
    case PX_META_F32: { float x = (float)v->u.f64; return put(f, &x, 4); }
    case PX_META_U64: return put(f, &v->u.u64, 8);
    case PX_META_I64: return put(f, &v->u.i64, 8);
    case PX_META_F64: return put(f, &v->u.f64, 8);
    default: return 0;
    }
}

/* The value without its type tag (arrays: element type, count, elements). */
static int put_value(FILE *f, const px_meta_value *v, int depth) {
    if (gguf_scalar_size(v->type)) return put_scalar(f, v);
    if (v->type == PX_META_STRING) return put_str(f, v->u.str.ptr, v->u.str.len);
    if (v->type != PX_META_ARRAY || depth > 8) return 0;
    if (!put_u32(f, (uint32_t)v->elem_type) || !put_u64(f, v->n)) return 0;
    int esz = gguf_scalar_size(v->elem_type);
    if (esz) return put(f, v->data, (size_t)v->n * (size_t)esz);
    if (v->elem_type == PX_META_STRING) {
        const px_meta_string *s = v->data;
        for (uint64_t i = 0; i < v->n; i++)
            if (!put_str(f, s[i].ptr, s[i].len)) return 0;
        return 1;
    }
    if (v->elem_type != PX_META_ARRAY) return 0;
    const px_meta_value *a = v->data;
    for (uint64_t i = 0; i < v->n; i++)
        if (a[i].type != PX_META_ARRAY || !put_value(f, &a[i], depth + 1)) return 0;
    return 1;
}

static int pad(FILE *f, uint64_t align) {
    static const uint8_t zeros[4096];
    long pos = ftell(f);
    if (pos < 0) return 0;
    uint64_t n = ((uint64_t)pos + align - 1) / align * align - (uint64_t)pos;
    for (; n > 0;) {
        size_t k = n > sizeof zeros ? sizeof zeros : (size_t)n;
        if (!put(f, zeros, k)) return 0;
        n -= k;
    }
    return 1;
}

px_status px_gguf_write(px_gguf_writer *w, const char *path) {
    if (!w || !path) return PX_ERR_INVALID_ARG;
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) return fail(w, PX_ERR_INVALID_ARG, "path too long");
    FILE *f = fopen(tmp, "wb");
    if (!f) return fail(w, PX_ERR_IO, "%s: cannot create", tmp);
    int need_align_key = w->alignment != 32;
    for (int64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, "general.alignment") == 0) need_align_key = 0;
    int ok = put(f, "GGUF", 4) && put_u32(f, 3) && put_u64(f, (uint64_t)w->n_t) &&
             put_u64(f, (uint64_t)(w->n_kv + need_align_key));
    if (ok && need_align_key) {
        ok = put_str(f, "general.alignment", 17) && put_u32(f, PX_META_U32) && put_u32(f, w->alignment);
    }
    for (int64_t i = 0; ok && i < w->n_kv; i++)
        ok = put_str(f, w->kv[i].key, strlen(w->kv[i].key)) && put_u32(f, (uint32_t)w->kv[i].v.type) &&
             put_value(f, &w->kv[i].v, 0);
    uint64_t off = 0;
    for (int64_t i = 0; ok && i < w->n_t; i++) {
        wtensor *t = &w->t[i];
        t->offset = off;
        ok = put_str(f, t->name, strlen(t->name)) && put_u32(f, (uint32_t)t->rank);
        for (int32_t d = t->rank - 1; ok && d >= 0; d--) ok = put_u64(f, (uint64_t)t->ne[d]);
        ok = ok && put_u32(f, (uint32_t)gguf_from_dtype(t->dtype)) && put_u64(f, off);
        off += (t->nbytes + w->alignment - 1) / w->alignment * w->alignment;
    }
    w->err[0] = 0;
    for (int64_t i = 0; ok && i < w->n_t; i++) ok = pad(f, w->alignment) && put_tensor(w, f, &w->t[i]);
    if (fclose(f) != 0) ok = 0;
    if (!ok) {
        remove(tmp);
        if (w->err[0]) return PX_ERR_IO;
        return fail(w, PX_ERR_IO, "%s: write failed (disk full, or a metadata value of an unknown type)", path);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return fail(w, PX_ERR_IO, "%s: cannot rename %s into place", path, tmp);
    }
    return PX_OK;
}
