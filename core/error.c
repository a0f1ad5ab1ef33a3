/* Thread-local last error, logging, checked allocation. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PX_ERROR_MAX 1024

static _Thread_local char px_error_buf[PX_ERROR_MAX];

int px_log_threshold = PX_LOG_WARN;

const char *px_last_error(void) { return px_error_buf; }

void px_clear_error(void) { px_error_buf[0] = 0; }

px_status px_set_errorv(px_status status, const char *fmt, va_list ap) {
    /* formatted aside first: the arguments may include px_last_error() */
    char msg[PX_ERROR_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    memcpy(px_error_buf, msg, sizeof px_error_buf);
    return status;
}

px_status px_set_error(px_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    px_set_errorv(status, fmt, ap);
    va_end(ap);
    return status;
}

void px_error_prefix(const char *fmt, ...) {
    char prefix[PX_ERROR_MAX / 2], old[PX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, px_error_buf, sizeof old);
    int n = snprintf(px_error_buf, sizeof px_error_buf, "%s: ", prefix);
    if (n > 0 && (size_t)n < sizeof px_error_buf)
        snprintf(px_error_buf + n, sizeof px_error_buf - (size_t)n, "%.*s", (int)(sizeof px_error_buf - (size_t)n - 1), old);
}

const char *px_status_name(px_status s) {
    switch (s) {
    case PX_OK: return "ok";
    case PX_ERR_INVALID_ARG: return "invalid argument";
    case PX_ERR_NO_MEMORY: return "out of memory";
    case PX_ERR_UNSUPPORTED: return "unsupported";
    case PX_ERR_IO: return "i/o error";
    case PX_ERR_FORMAT: return "malformed file";
    case PX_ERR_ABI: return "incompatible ABI";
    case PX_ERR_NOT_FOUND: return "not found";
    case PX_ERR_DEVICE: return "device error";
    case PX_ERR_SHAPE: return "shape mismatch";
    case PX_ERR_DTYPE: return "dtype mismatch";
    case PX_ERR_CONFIG: return "configuration error";
    case PX_ERR_INTERNAL: return "internal error";
    case PX_ERR_RANGE: return "out of range";
    }
    return "unknown status";
}

const char *px_version(void) { return PLEXUS_VERSION_STRING; }

void px_log(px_log_level level, const char *who, const char *fmt, ...) {
    if ((int)level > px_log_threshold) return;
    static const char *names[] = {"error", "warning", "info", "debug"};
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "plexus: %s%s%s: ", who ? who : "", who ? ": " : "", names[level & 3]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static atomic_int_fast64_t alloc_fail_at, alloc_count;

int64_t px_debug_fail_alloc_after(int64_t n) {
    int64_t c = atomic_exchange(&alloc_count, 0);
    atomic_store(&alloc_fail_at, n);
    return c;
}

/* 1 if this allocation must fail (the test hook above). */
static int alloc_should_fail(void) {
    int64_t c = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
    int64_t at = atomic_load_explicit(&alloc_fail_at, memory_order_relaxed);
    return at > 0 && c == at;
}

void *px_malloc(size_t n) {
    void *p = alloc_should_fail() ? NULL : malloc(n ? n : 1);
    if (!p) px_set_error(PX_ERR_NO_MEMORY, "out of memory allocating %zu bytes", n);
    return p;
}

void *px_calloc(size_t n, size_t size) {
    void *p = alloc_should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
    if (!p) px_set_error(PX_ERR_NO_MEMORY, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *px_realloc_array(void *p, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) {
        px_set_error(PX_ERR_NO_MEMORY, "allocation size overflow");
        return NULL;
    }
    size_t bytes = n * size;
    void *q = alloc_should_fail() ? NULL : realloc(p, bytes ? bytes : 1);
    if (!q) px_set_error(PX_ERR_NO_MEMORY, "out of memory allocating %zu bytes", n * size);
    return q;
}

char *px_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = px_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *px_aligned_alloc(size_t size, size_t align) {
    if (align < sizeof(void *)) align = sizeof(void *);
    void *p = NULL;
    if (alloc_should_fail() || posix_memalign(&p, align, size ? size : 1) != 0) {
        px_set_error(PX_ERR_NO_MEMORY, "out of memory allocating %zu bytes", size);
        return NULL;
    }
    return p;
}

void px_aligned_free(void *p) { free(p); }
