/* libFuzzer target for the ONNX reader and importer. Each input is
 *   1. decoded as a ModelProto (onx_decode_model) and as a lone TensorProto
 *      (onx_decode_tensor + onx_tensor_data, as input .pb files are read);
 *   2. written to a file in a private folder and opened through the
 *      plugin's format table (decode, metadata, initializer list), all of
 *      which is walked;
 *   3. imported: build_graph without options, which runs the whole
 *      importer (shape inference at load, constant folding, subgraphs
 *      unrolled) and px_graph_validate.
 * The ONNX sources are compiled into the target (instrumented); the graph
 * API comes from libplexus. Any crash, leak, sanitizer report or timeout is
 * a bug, and so is a failure without a message naming the file (abort). */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx_pb.h"
#include "plexus/dtype.h"
#include "plexus/ir.h"
#include "plexus/plugin.h"

px_status plexus_plugin_query(uint32_t major, uint32_t minor, const px_host_api *h, const px_plugin **out);
/* libplexus: the thread's error message (what px_last_error returns). */
px_status px_set_errorv(px_status status, const char *fmt, va_list ap);
void px_clear_error(void);
const char *px_last_error(void);

static px_status f_set_error(px_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    px_set_errorv(st, fmt, ap);
    va_end(ap);
    return st;
}
static void f_log(px_log_level l, const char *p, const char *fmt, ...) {
    (void)l;
    (void)p;
    (void)fmt;
}
static const px_host_api host = {.struct_size = sizeof host, .abi_major = PX_ABI_MAJOR, .abi_minor = PX_ABI_MINOR,
                                 .log = f_log, .set_error = f_set_error, .convert = px_convert};

static void walk(const px_meta_value *v) {
    volatile unsigned sum = 0;
    if (v->type == PX_META_STRING && v->u.str.len) sum += (unsigned char)v->u.str.ptr[v->u.str.len - 1];
    if (v->type == PX_META_ARRAY && v->elem_type == PX_META_STRING) {
        const px_meta_string *s = v->data;
        for (uint64_t i = 0; i < v->n; i++)
            if (s[i].len) sum += (unsigned char)s[i].ptr[s[i].len - 1];
    }
    (void)sum;
}

/* A failure must say what is wrong and name the file. */
static void check_message(const char *what, px_status st, const char *path) {
    const char *e = px_last_error();
    if (!e[0] || (path && !strstr(e, path))) {
        fprintf(stderr, "fuzz_onnx: %s failed (%d) with an unclear message: '%s'\n", what, (int)st, e);
        abort();
    }
}

static void decode_only(const uint8_t *data, size_t size) {
    onx_arena *a = onx_arena_create();
    if (!a) return;
    char err[400];
    onx_model m;
    px_status st = onx_decode_model(a, data, size, &m, err, sizeof err);
    if (st && !err[0]) abort();
    onx_tensor t;
    err[0] = 0;
    if ((st = onx_decode_tensor(a, data, size, &t, err, sizeof err)) == PX_OK) {
        const void *d;
        uint64_t nb;
        err[0] = 0;
        st = onx_tensor_data(a, &t, NULL, 0, &d, &nb, err, sizeof err);
        if (st == PX_OK && nb) {
            volatile uint8_t x = ((const uint8_t *)d)[nb - 1];
            (void)x;
        }
    }
    if (st && !err[0]) abort();
    onx_arena_destroy(a);
}

static char dir[64], path[96];
static void remove_dir(void) { rmdir(dir); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const px_plugin *pl;
    if (!pl) {
        if (plexus_plugin_query(PX_ABI_MAJOR, PX_ABI_MINOR, &host, &pl) != PX_OK) abort();
        /* a private folder: external data locations resolve inside it */
        snprintf(dir, sizeof dir, "/tmp/fuzz-onnx-XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        atexit(remove_dir);
    }
    decode_only(data, size);

    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    int ok = !size || write(fd, data, size) == (ssize_t)size;
    close(fd);
    if (ok) {
        const px_format_ops *o = pl->format_ops;
        void *m = NULL;
        px_clear_error();
        px_status st = o->open(path, &m);
        if (st != PX_OK) {
            check_message("open", st, path);
        } else {
            for (int64_t i = 0; i < o->meta_count(m); i++) {
                const char *k;
                px_meta_value v;
                if (o->meta_get(m, i, &k, &v) == PX_OK) walk(&v);
            }
            volatile unsigned sum = 0;
            for (int64_t i = 0; i < o->tensor_count(m); i++) {
                px_tensor_info t;
                if (o->tensor_get(m, i, &t) == PX_OK && t.data && t.nbytes) sum += ((const unsigned char *)t.data)[t.nbytes - 1];
            }
            (void)sum;
            px_graph *g = NULL;
            px_clear_error();
            st = o->build_graph(m, NULL, &g);
            if (st != PX_OK) check_message("build_graph", st, path);
            px_graph_destroy(g);
            o->close(m);
        }
    }
    unlink(path);
    return 0;
}
