/* libFuzzer target for the GGUF reader: each input is written to an
 * in-memory file and opened through the plugin's format table; everything
 * the reader exposes is then walked. Any crash, leak or sanitizer report is
 * a bug. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plexus/dtype.h"
#include "plexus/plugin.h"

px_status plexus_plugin_query(uint32_t major, uint32_t minor, const px_host_api *h, const px_plugin **out);

static px_status f_set_error(px_status st, const char *fmt, ...) {
    (void)fmt;
    return st;
}
static void f_log(px_log_level l, const char *p, const char *fmt, ...) {
    (void)l;
    (void)p;
    (void)fmt;
}
static const px_host_api host = {.struct_size = sizeof host, .abi_major = PX_ABI_MAJOR, .abi_minor = PX_ABI_MINOR,
                                 .log = f_log, .set_error = f_set_error, .convert = px_convert};

static void walk(const px_meta_value *v, int depth) {
    if (v->type != PX_META_ARRAY || depth > 8) return;
    volatile unsigned sum = 0;
    if (v->elem_type == PX_META_STRING) {
        const px_meta_string *s = v->data;
        for (uint64_t i = 0; i < v->n; i++)
            if (s[i].len) sum += (unsigned char)s[i].ptr[s[i].len - 1];
    } else if (v->elem_type == PX_META_ARRAY) {
        const px_meta_value *a = v->data;
        for (uint64_t i = 0; i < v->n; i++) walk(&a[i], depth + 1);
    } else if (v->n) {
        sum += ((const unsigned char *)v->data)[0];
    }
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const px_plugin *pl;
    if (!pl && plexus_plugin_query(PX_ABI_MAJOR, PX_ABI_MINOR, &host, &pl) != PX_OK) abort();
    int fd = memfd_create("fuzz.gguf", 0);
    if (fd < 0) return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    void *m = NULL;
    if (pl->format_ops->open(path, &m) == PX_OK) {
        const px_format_ops *o = pl->format_ops;
        for (int64_t i = 0; i < o->meta_count(m); i++) {
            const char *k;
            px_meta_value v;
            if (o->meta_get(m, i, &k, &v) == PX_OK) walk(&v, 0);
        }
        volatile unsigned sum = 0;
        for (int64_t i = 0; i < o->tensor_count(m); i++) {
            px_tensor_info t;
            if (o->tensor_get(m, i, &t) == PX_OK && t.nbytes) sum += ((const unsigned char *)t.data)[t.nbytes - 1];
        }
        (void)sum;
        o->close(m);
    }
    close(fd);
    return 0;
}
