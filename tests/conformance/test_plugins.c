/* Plugin refusal: a plugin folder holding the real plugins (cpu) next to
 * badabi (ABI major + 1), newminor (ABI minor + 1), broken (query fails like
 * a missing driver) and garbage (not an ELF file). The good plugins load and
 * run; each bad one is listed by px_context_plugin_report with loaded = 0
 * and a detail that names the problem (both ABI versions for the ABI
 * mismatches). An empty folder gives PX_ERR_NOT_FOUND with a clear message;
 * a folder with only the test plugins still gives the sepmem device. Also
 * unit checks of sepmem's own guards (bad handles, ranges, host pointers),
 * on which the other multi-device tests rely to catch runtime bugs. */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plexus/plexus.h"
#include "plexus/plugin.h"
#include "test.h"

#ifndef PX_TEST_CPU_PLUGIN_DIR
#define PX_TEST_CPU_PLUGIN_DIR ""
#endif

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int link_into(const char *dir, const char *src_dir, const char *name) {
    char src[PATH_MAX], dst[PATH_MAX];
    snprintf(src, sizeof src, "%s/%s", src_dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    if (access(src, R_OK) != 0) {
        fprintf(stderr, "missing %s\n", src);
        return -1;
    }
    return symlink(src, dst);
}

/* Link every libplexus-*.so of `src_dir` into `dir`. Returns the count. */
static int link_all(const char *dir, const char *src_dir) {
    DIR *d = opendir(src_dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "libplexus-", 10) == 0 && len > 3 && strcmp(e->d_name + len - 3, ".so") == 0)
            n += link_into(dir, src_dir, e->d_name) == 0;
    }
    closedir(d);
    return n;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static const px_plugin_report *find_report(px_plugin_report *all, int32_t n, const char *file) {
    for (int32_t i = 0; i < n; i++)
        if (strcmp(base_name(all[i].path), file) == 0) return &all[i];
    return NULL;
}

/* A one-node graph on the cpu device must still run. */
static void check_cpu_runs(px_context *ctx) {
    px_graph *g = NULL;
    CHECK_OK(px_graph_create(&g));
    int64_t n[1] = {5};
    px_shape s = px_shape_make(1, n);
    px_value a = px_graph_input(g, "a", PX_F32, &s), b = px_graph_input(g, "b", PX_F32, &s);
    px_value in[2] = {a, b};
    px_value o = px_graph_node(g, PX_OP_ADD, in, 2, NULL, 0, "add");
    CHECK_OK(px_graph_mark_output(g, o, "out"));
    px_program_options po = px_program_options_default();
    po.order = "cpu";
    px_program *p = NULL;
    CHECK_OK(px_program_create(ctx, g, &po, &p));
    px_graph_destroy(g);
    if (!p) return;
    float x[5] = {1, 2, 3, 4, 5}, y[5] = {10, 20, 30, 40, 50}, z[5] = {0};
    CHECK_OK(px_program_set_input(p, "a", x, sizeof x));
    CHECK_OK(px_program_set_input(p, "b", y, sizeof y));
    CHECK_OK(px_program_run(p));
    CHECK_OK(px_program_get_output(p, "out", z, sizeof z));
    for (int i = 0; i < 5; i++) CHECK(z[i] == x[i] + y[i]);
    px_program_destroy(p);
}

/* ---- sepmem itself: the checks that catch runtime bugs -------------------------------- */

static char g_msg[512];
static px_status t_set_error(px_status st, const char *fmt, ...) PX_PRINTF(2, 3);
static px_status t_set_error(px_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return st;
}
static void t_log(px_log_level level, const char *plugin, const char *fmt, ...) PX_PRINTF(3, 4);
static void t_log(px_log_level level, const char *plugin, const char *fmt, ...) {
    (void)level;
    (void)plugin;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
}
static void *t_alloc(size_t size, size_t align) {
    void *p = NULL;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size ? size : 1) ? NULL : p;
}
static void t_parallel_for(int64_t n, int64_t grain, px_range_fn fn, void *ctx) {
    (void)grain;
    if (n > 0) fn(ctx, 0, n, 0);
}
static int32_t t_threads(void) { return 1; }

static void check_sepmem_unit(const char *tdir) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/libplexus-sepmem.so", tdir);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK_MSG(h != NULL, "dlopen %s: %s", path, dlerror());
    if (!h) return;
    px_plugin_query_fn q = NULL;
    void (*counters)(uint64_t *, uint64_t *, uint64_t *) = NULL;
    void (*reset)(void) = NULL;
    void *s1 = dlsym(h, PX_PLUGIN_QUERY_SYMBOL), *s2 = dlsym(h, "pxtest_sepmem_counters"), *s3 = dlsym(h, "pxtest_sepmem_reset");
    memcpy(&q, &s1, sizeof q);
    memcpy(&counters, &s2, sizeof counters);
    memcpy(&reset, &s3, sizeof reset);
    CHECK(q && counters && reset);
    static px_host_api host;
    host.struct_size = sizeof host;
    host.abi_major = PX_ABI_MAJOR;
    host.abi_minor = PX_ABI_MINOR;
    host.log = t_log;
    host.set_error = t_set_error;
    host.alloc = t_alloc;
    host.free = free;
    host.parallel_for = t_parallel_for;
    host.n_threads = t_threads;
    host.convert = px_convert;
    const px_plugin *pl = NULL;
    if (!q || !counters || !reset || q(PX_ABI_MAJOR, PX_ABI_MINOR, &host, &pl) != PX_OK || !pl) {
        CHECK(0);
        dlclose(h);
        return;
    }
    CHECK(strcmp(pl->name, "sepmem") == 0 && pl->abi_major == PX_ABI_MAJOR);
    const px_device_ops *ops = pl->device_ops;
    px_config_section cfg = {sizeof cfg, 0, NULL};
    void *dev = NULL;
    CHECK_OK(pl->device_create(0, &cfg, &dev));
    px_device_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_OK(ops->get_info(dev, &info));
    CHECK(info.kind == PX_DEVICE_GPU && !(info.flags & PX_DEVICE_HOST_VISIBLE));
    reset();
    void *b = NULL, *b2 = NULL;
    CHECK_OK(ops->buffer_alloc(dev, 100, &b));
    CHECK_OK(ops->buffer_alloc(dev, 64, &b2));
    CHECK(ops->buffer_base(dev, b) == NULL);
    uint8_t src[100], dst[100];
    for (int i = 0; i < 100; i++) src[i] = (uint8_t)i;
    CHECK_OK(ops->upload(dev, b, 0, src, 100));
    CHECK_OK(ops->download(dev, b, 10, dst, 20));
    CHECK(dst[0] == 10 && dst[19] == 29);
    CHECK_OK(ops->copy(dev, b2, 0, b, 50, 50));
    CHECK_OK(ops->download(dev, b2, 0, dst, 50));
    CHECK(dst[0] == 50 && dst[49] == 99);
    uint64_t up, down, cp;
    counters(&up, &down, &cp);
    CHECK(up == 1 && down == 2 && cp == 1);
    /* bad ranges, offsets and handles are errors with a message */
    g_msg[0] = 0;
    CHECK(ops->upload(dev, b, 96, src, 8) != PX_OK && strstr(g_msg, "outside"));
    g_msg[0] = 0;
    CHECK(ops->download(dev, b, 101, dst, 0) != PX_OK && g_msg[0]);
    g_msg[0] = 0;
    CHECK(ops->download(dev, b, UINT64_MAX - 2, dst, 8) != PX_OK && g_msg[0]);
    g_msg[0] = 0;
    CHECK(ops->upload(dev, src, 0, src, 4) != PX_OK && strstr(g_msg, "not a live buffer"));
    g_msg[0] = 0;
    CHECK(ops->copy(dev, b, 0, b, 10, 20) != PX_OK && strstr(g_msg, "overlap"));
    g_msg[0] = 0;
    CHECK(ops->copy(dev, b2, 0, b, 90, 20) != PX_OK && g_msg[0]);
    counters(&up, &down, &cp);
    CHECK(up == 1 && down == 2 && cp == 1); /* failed calls move nothing */
    ops->buffer_free(dev, b2);
    g_msg[0] = 0;
    CHECK(ops->download(dev, b2, 0, dst, 4) != PX_OK && strstr(g_msg, "not a live buffer")); /* use after free */
    /* a kernel given a host pointer (the device is not host-visible) refuses */
    const px_kernel *ks = NULL;
    int32_t nk = 0;
    CHECK_OK(ops->get_kernels(dev, &ks, &nk));
    const px_kernel *add = NULL;
    for (int32_t i = 0; i < nk; i++)
        if (ks[i].op == PX_OP_ADD) add = &ks[i];
    CHECK(add != NULL);
    if (add) {
        px_tensor t[3];
        memset(t, 0, sizeof t);
        for (int i = 0; i < 3; i++) {
            t[i].dtype = PX_F32;
            t[i].rank = 1;
            t[i].ne[0] = 4;
            t[i].buffer = b;
            t[i].offset = (uint64_t)(16 * i);
        }
        px_value_desc vd[3];
        memset(vd, 0, sizeof vd);
        for (int i = 0; i < 3; i++) {
            vd[i].dtype = PX_F32;
            vd[i].rank = 1;
            vd[i].ne[0] = 4;
        }
        px_node_desc nd;
        memset(&nd, 0, sizeof nd);
        nd.struct_size = sizeof nd;
        nd.op = PX_OP_ADD;
        nd.name = "add";
        nd.n_inputs = 2;
        nd.inputs = vd;
        nd.n_outputs = 1;
        nd.outputs = vd + 2;
        px_kernel_args a;
        memset(&a, 0, sizeof a);
        a.struct_size = sizeof a;
        a.node = &nd;
        a.n_inputs = 2;
        a.inputs = t;
        a.n_outputs = 1;
        a.outputs = t + 2;
        a.device = dev;
        a.host = &host;
        CHECK(add->supports(dev, &nd));
        CHECK_OK(add->run(&a)); /* in range */
        t[2].offset = 90; /* out of the buffer */
        g_msg[0] = 0;
        CHECK(add->run(&a) != PX_OK && g_msg[0]);
        t[2].offset = 32;
        t[0].data = src;
        g_msg[0] = 0;
        CHECK(add->run(&a) != PX_OK && strstr(g_msg, "host pointer"));
        vd[0].dtype = PX_F16;
        CHECK(!add->supports(dev, &nd)); /* F32 only */
    }
    ops->buffer_free(dev, b);
    pl->device_destroy(dev);
    dlclose(h);
}

int main(void) {
    const char *tdir = getenv("PLEXUS_TEST_PLUGIN_DIR");
    if (!tdir || !*tdir) {
        fprintf(stderr, "PLEXUS_TEST_PLUGIN_DIR is not set (run through ctest)\n");
        return PX_TEST_SKIP;
    }
    char dir[] = "/tmp/plexus-plugins-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int n_real = link_all(dir, PX_TEST_CPU_PLUGIN_DIR);
    CHECK_MSG(n_real >= 1, "no plugin in %s", PX_TEST_CPU_PLUGIN_DIR);
    static const char *bad[] = {"libplexus-badabi.so", "libplexus-newminor.so", "libplexus-broken.so",
                                "libplexus-garbage.so"};
    for (int i = 0; i < 4; i++) CHECK_MSG(link_into(dir, tdir, bad[i]) == 0, "cannot link %s", bad[i]);

    /* ---- the mixed folder -------------------------------------------------------- */
    px_context_options o = px_context_options_default();
    o.plugin_dir = dir;
    px_context *ctx = NULL;
    CHECK_OK(px_context_create(&o, &ctx));
    if (ctx) {
        int32_t n = px_context_plugin_count(ctx);
        CHECK(n == n_real + 4);
        px_plugin_report *all = calloc((size_t)(n > 0 ? n : 1), sizeof *all);
        for (int32_t i = 0; i < n; i++) {
            CHECK_OK(px_context_plugin_report(ctx, i, &all[i]));
            printf("plugin %-24s name %-9s loaded %d abi %u.%u: %s\n", base_name(all[i].path),
                   all[i].name ? all[i].name : "-", all[i].loaded, all[i].abi_major, all[i].abi_minor,
                   all[i].detail ? all[i].detail : "");
            CHECK(all[i].path && all[i].path[0] == '/');
            CHECK(all[i].detail != NULL);
        }
        int cpu_loaded = 0;
        for (int32_t i = 0; i < n; i++) cpu_loaded |= all[i].loaded && all[i].name && strcmp(all[i].name, "cpu") == 0;
        CHECK_MSG(cpu_loaded, "the cpu plugin did not load next to the bad ones");

        char host_v[32], major_v[32], minor_v[32];
        snprintf(host_v, sizeof host_v, "%u.%u", PX_ABI_MAJOR, PX_ABI_MINOR);
        snprintf(major_v, sizeof major_v, "%u.%u", PX_ABI_MAJOR + 1, PX_ABI_MINOR);
        snprintf(minor_v, sizeof minor_v, "%u.%u", PX_ABI_MAJOR, PX_ABI_MINOR + 1);

        const px_plugin_report *r = find_report(all, n, "libplexus-badabi.so");
        CHECK(r != NULL);
        if (r) {
            CHECK(!r->loaded);
            CHECK(r->abi_major == PX_ABI_MAJOR + 1);
            CHECK_MSG(r->detail && strstr(r->detail, major_v) && strstr(r->detail, host_v),
                      "badabi detail must name %s and %s: %s", major_v, host_v, r->detail ? r->detail : "(null)");
        }
        r = find_report(all, n, "libplexus-newminor.so");
        CHECK(r != NULL);
        if (r) {
            CHECK(!r->loaded);
            CHECK(r->abi_minor == PX_ABI_MINOR + 1);
            CHECK_MSG(r->detail && strstr(r->detail, minor_v) && strstr(r->detail, host_v),
                      "newminor detail must name %s and %s: %s", minor_v, host_v, r->detail ? r->detail : "(null)");
        }
        r = find_report(all, n, "libplexus-broken.so");
        CHECK(r != NULL);
        if (r) {
            CHECK(!r->loaded);
            CHECK_MSG(r->detail && strstr(r->detail, "libpxtest_missing_driver.so.1"),
                      "broken: the plugin's own message must be kept: %s", r->detail ? r->detail : "(null)");
        }
        r = find_report(all, n, "libplexus-garbage.so");
        CHECK(r != NULL);
        if (r) {
            CHECK(!r->loaded);
            CHECK(r->name == NULL);
            CHECK_MSG(r->detail && (strstr(r->detail, "dlopen") || strstr(r->detail, "ELF")),
                      "garbage: the detail must say that dlopen failed: %s", r->detail ? r->detail : "(null)");
        }
        free(all);

        /* Devices: the cpu, nothing from the refused plugins. */
        int has_cpu = 0;
        for (int32_t i = 0; i < px_context_device_count(ctx); i++) {
            px_device_report d;
            CHECK_OK(px_context_device_report(ctx, i, &d));
            has_cpu |= strcmp(d.id, "cpu") == 0;
            CHECK(strcmp(d.plugin, "badabi") != 0 && strcmp(d.plugin, "newminor") != 0 && strcmp(d.plugin, "broken") != 0);
        }
        CHECK(has_cpu);
        if (has_cpu) check_cpu_runs(ctx);
        px_context_destroy(ctx);
    }

    /* ---- only the test plugins: the refused ones do not stop sepmem ------------------- */
    o.plugin_dir = tdir;
    ctx = NULL;
    CHECK_OK(px_context_create(&o, &ctx));
    if (ctx) {
        CHECK(px_context_device_count(ctx) == 1);
        px_device_report d;
        CHECK_OK(px_context_device_report(ctx, 0, &d));
        CHECK(strcmp(d.id, "sepmem") == 0);
        CHECK(d.kind == PX_DEVICE_GPU);
        CHECK((d.flags & PX_DEVICE_HOST_VISIBLE) == 0);
        CHECK(strcmp(d.name, "sepmem test device") == 0);
        CHECK(d.n_kernels > 0);
        CHECK(px_context_kernel_count(ctx, 0, PX_OP_MATMUL) == 1);
        CHECK(px_context_kernel_count(ctx, 0, PX_OP_RMS_NORM) == 0);
        px_context_destroy(ctx);
    }

    /* ---- sepmem's own checks (no context holds it now) ---------------------------------- */
    check_sepmem_unit(tdir);

    /* ---- an empty folder, and one that does not exist ----------------------------------- */
    remove_dir(dir);
    char empty[] = "/tmp/plexus-noplugins-XXXXXX";
    CHECK(mkdtemp(empty) != NULL);
    const char *dirs[2] = {empty, "/nonexistent/plexus-plugins"};
    for (int k = 0; k < 2; k++) {
        o.plugin_dir = dirs[k];
        ctx = NULL;
        px_status st = px_context_create(&o, &ctx);
        CHECK_MSG(st == PX_ERR_NOT_FOUND, "%s: status %s", dirs[k], px_status_name(st));
        CHECK(ctx == NULL);
        const char *m = px_last_error();
        CHECK_MSG(strstr(m, dirs[k]) != NULL, "the message must name the folder: %s", m);
        CHECK_MSG(strstr(m, "plugin") != NULL, "the message must say what is missing: %s", m);
        printf("empty plugin dir %s: %s\n", dirs[k], m);
        if (ctx) px_context_destroy(ctx);
    }
    rmdir(empty);
    return px_test_finish("test_plugins");
}
