/* GGUF writer -> reader round trip: every metadata value type (nested
 * arrays and strings with arbitrary bytes included), tensors of every dtype
 * GGUF has, alignments 32 and 64; and the writer's own error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf_write.h"
#include "plexus/plexus.h"
#include "test.h"

static px_context *ctx;

static int str_eq(px_meta_string s, const char *p, size_t n) { return s.len == n && memcmp(s.ptr, p, n) == 0; }

static void round_trip(uint32_t alignment) {
    px_gguf_writer *w;
    CHECK_OK(px_gguf_writer_create(alignment, &w));
    /* scalars */
    static const int32_t types[] = {PX_META_U8, PX_META_I8, PX_META_U16, PX_META_I16, PX_META_U32, PX_META_I32,
                                    PX_META_U64, PX_META_I64, PX_META_BOOL};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        char key[32];
        snprintf(key, sizeof key, "s.%d", types[i]);
        px_meta_value v = {.type = types[i]};
        if (types[i] == PX_META_I8 || types[i] == PX_META_I16 || types[i] == PX_META_I32 || types[i] == PX_META_I64)
            v.u.i64 = -(int64_t)(i + 1);
        else v.u.u64 = types[i] == PX_META_BOOL ? 1 : i + 200;
        CHECK_OK(px_gguf_add_meta(w, key, &v));
    }
    CHECK_OK(px_gguf_add_f32(w, "s.f32", 0.15625f));
    px_meta_value f64 = {.type = PX_META_F64};
    f64.u.f64 = -1e300;
    CHECK_OK(px_gguf_add_meta(w, "s.f64", &f64));
    static const char odd[] = {'a', 0, '\xff', '\n', 'z'};
    px_meta_value sv = {.type = PX_META_STRING};
    sv.u.str.ptr = odd;
    sv.u.str.len = sizeof odd;
    CHECK_OK(px_gguf_add_meta(w, "s.odd", &sv));
    /* arrays: numbers, strings, nested */
    static const float fl[] = {1.5f, -2.25f, 1e-30f};
    px_meta_value af = {.type = PX_META_ARRAY, .elem_type = PX_META_F32, .n = 3, .data = fl};
    CHECK_OK(px_gguf_add_meta(w, "a.f32", &af));
    static const px_meta_string ss[] = {{"", 0}, {"\xe2\x96\x81hello", 8}, {"<0x0A>", 6}};
    px_meta_value as = {.type = PX_META_ARRAY, .elem_type = PX_META_STRING, .n = 3, .data = ss};
    CHECK_OK(px_gguf_add_meta(w, "a.str", &as));
    static const int64_t i64s[] = {INT64_MIN, 0, INT64_MAX};
    px_meta_value inner[2] = {{.type = PX_META_ARRAY, .elem_type = PX_META_I64, .n = 3, .data = i64s},
                              {.type = PX_META_ARRAY, .elem_type = PX_META_STRING, .n = 2, .data = ss}};
    px_meta_value nested = {.type = PX_META_ARRAY, .elem_type = PX_META_ARRAY, .n = 2, .data = inner};
    CHECK_OK(px_gguf_add_meta(w, "a.nested", &nested));
    px_meta_value empty = {.type = PX_META_ARRAY, .elem_type = PX_META_U8, .n = 0, .data = NULL};
    CHECK_OK(px_gguf_add_meta(w, "a.empty", &empty));
    CHECK_OK(px_gguf_add_str(w, "general.architecture", "llama"));
    CHECK(px_gguf_add_str(w, "general.architecture", "again") == PX_ERR_INVALID_ARG);
    /* tensors of every GGUF dtype: shape [3, 2*block] */
    static uint8_t buf[PX_DTYPE_COUNT][4096];
    int n_t = 0;
    for (int t = 0; t < PX_DTYPE_COUNT; t++) {
        const px_dtype_traits *tr = px_dtype_get_traits((px_dtype)t);
        int64_t ne[2] = {3, 2 * tr->block_size};
        int64_t bytes = px_dtype_row_size((px_dtype)t, ne[0] * ne[1]);
        for (int64_t b = 0; b < bytes; b++) buf[t][b] = (uint8_t)(b * 7 + t);
        if (t == PX_Q4_0 || t == PX_Q8_0 || t == PX_F16) /* keep f16 scales finite */
            for (int64_t b = 0; b < bytes; b++) buf[t][b] &= 0x3f;
        char name[32];
        snprintf(name, sizeof name, "t.%s", tr->name);
        px_status st = px_gguf_add_tensor(w, name, (px_dtype)t, 2, ne, buf[t]);
        if (t == PX_U8 || t == PX_U16 || t == PX_U32 || t == PX_U64 || t == PX_BOOL || t > PX_IQ4_NL) {
            CHECK(st == PX_ERR_DTYPE);
        } else {
            CHECK_OK(st);
            n_t++;
        }
    }
    int64_t bad[2] = {2, 33};
    CHECK(px_gguf_add_tensor(w, "t.bad", PX_Q8_0, 2, bad, buf[0]) == PX_ERR_SHAPE);
    char path[] = "/tmp/plexus-gguf-write-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_OK(px_gguf_write(w, path));
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);
    px_gguf_writer_destroy(w);

    px_model *m = NULL;
    CHECK_OK(px_model_open(ctx, path, &m));
    if (m) {
        px_meta_value v;
        for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
            char key[32];
            snprintf(key, sizeof key, "s.%d", types[i]);
            CHECK_OK(px_model_meta_find(m, key, &v));
            CHECK(v.type == types[i]);
            if (types[i] == PX_META_I8 || types[i] == PX_META_I16 || types[i] == PX_META_I32 || types[i] == PX_META_I64)
                CHECK(v.u.i64 == -(int64_t)(i + 1));
            else CHECK(v.u.u64 == (types[i] == PX_META_BOOL ? 1 : i + 200));
        }
        CHECK(px_model_meta_find(m, "s.f32", &v) == PX_OK && v.u.f64 == 0.15625);
        CHECK(px_model_meta_find(m, "s.f64", &v) == PX_OK && v.u.f64 == -1e300);
        CHECK(px_model_meta_find(m, "s.odd", &v) == PX_OK && str_eq(v.u.str, odd, sizeof odd));
        CHECK(px_model_meta_find(m, "a.f32", &v) == PX_OK && v.n == 3 && memcmp(v.data, fl, sizeof fl) == 0);
        CHECK(px_model_meta_find(m, "a.str", &v) == PX_OK && v.n == 3);
        if (v.n == 3) {
            const px_meta_string *s = v.data;
            CHECK(str_eq(s[0], "", 0) && str_eq(s[1], "\xe2\x96\x81hello", 8) && str_eq(s[2], "<0x0A>", 6));
        }
        CHECK(px_model_meta_find(m, "a.nested", &v) == PX_OK && v.elem_type == PX_META_ARRAY && v.n == 2);
        if (v.n == 2) {
            const px_meta_value *a = v.data;
            CHECK(a[0].elem_type == PX_META_I64 && a[0].n == 3 && memcmp(a[0].data, i64s, sizeof i64s) == 0);
            CHECK(a[1].elem_type == PX_META_STRING && a[1].n == 2);
        }
        CHECK(px_model_meta_find(m, "a.empty", &v) == PX_OK && v.n == 0);
        if (alignment != 32) CHECK(px_model_meta_find(m, "general.alignment", &v) == PX_OK && v.u.u64 == alignment);
        CHECK(px_model_tensor_count(m) == n_t);
        for (int64_t i = 0; i < px_model_tensor_count(m); i++) {
            px_tensor_info t;
            CHECK_OK(px_model_tensor_get(m, i, &t));
            CHECK(t.file_offset % alignment == 0);
            const px_dtype_traits *tr = px_dtype_get_traits(t.dtype);
            CHECK(t.rank == 2 && t.ne[0] == 3 && t.ne[1] == 2 * tr->block_size);
            CHECK(memcmp(t.data, buf[t.dtype], (size_t)t.nbytes) == 0);
        }
        px_model_close(m);
    }
    unlink(path);
}

int main(void) {
    px_context_options o = px_context_options_default();
    o.plugin_dir = PLUGIN_DIR;
    CHECK_OK(px_context_create(&o, &ctx));
    if (!ctx) return px_test_finish("test_gguf_write");
    round_trip(32);
    round_trip(64);
    /* A write into a missing folder fails and leaves nothing behind. */
    px_gguf_writer *w;
    CHECK_OK(px_gguf_writer_create(32, &w));
    CHECK(px_gguf_write(w, "/nonexistent-dir/x.gguf") == PX_ERR_IO);
    CHECK(strstr(px_gguf_writer_error(w), "/nonexistent-dir/x.gguf") != NULL);
    px_gguf_writer_destroy(w);
    px_context_destroy(ctx);
    return px_test_finish("test_gguf_write");
}
