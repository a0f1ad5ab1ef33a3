/* The deployment ini parser (core/config.c): every key, every error with its
 * exact message and line, sizes, lists, plugin sections, the files in
 * configs/ (argv[1]) and tests/config/bad/ (argv[2]), and a deterministic
 * stress of truncated and mutated input. */
#include <dirent.h>
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "plexus/plexus.h"
#include "test.h"

/* ---- helpers ---------------------------------------------------------------- */

static px_config *parse_at(int line, const char *text) {
    px_config *cfg = NULL;
    px_status st = px_config_parse(text, strlen(text), "t.ini", &cfg);
    CHECK_MSG(st == PX_OK && cfg, "line %d: status %d: %s", line, (int)st, px_last_error());
    return st == PX_OK ? cfg : NULL;
}
#define PARSE(text) parse_at(__LINE__, text)

static void expect_at(int line, const char *text, size_t len, px_status want, const char *msg) {
    px_config *cfg = (px_config *)&cfg; /* must be reset to NULL */
    px_status st = px_config_parse(text, len, "t.ini", &cfg);
    CHECK_MSG(st == want, "line %d: status %d, want %d (%s)", line, (int)st, (int)want,
              px_last_error());
    CHECK_MSG(cfg == NULL, "line %d: out_cfg not NULL after an error", line);
    CHECK_MSG(strcmp(px_last_error(), msg) == 0, "line %d:\n   got: %s\n  want: %s", line,
              px_last_error(), msg);
    if (st == PX_OK) px_config_free(cfg);
}
#define EXPECT_ERR(text, msg) expect_at(__LINE__, text, strlen(text), PX_ERR_CONFIG, msg)

/* ---- defaults ---------------------------------------------------------------- */

static void check_defaults(const px_config *cfg) {
    CHECK(cfg->threads == 0);
    CHECK(cfg->plugin_dir == NULL);
    CHECK(cfg->n_plugins == 0);
    CHECK(cfg->log_level == -1);
    CHECK(cfg->n_order == 0);
    CHECK(cfg->offload_layers == -1);
    CHECK(cfg->n_op_devices == 0);
    CHECK(cfg->n_budgets == 0);
    CHECK(cfg->n_kernels == 0);
    CHECK(cfg->n_plugin_sections == 0);
    const px_config_section *s = px_config_plugin_section(cfg, "cpu");
    CHECK(s && s->n == 0 && s->struct_size == sizeof(px_config_section));
    CHECK(px_config_budget(cfg, "cpu") == 0);
    CHECK(px_config_line(cfg, "runtime", "threads") == 0);
}

static void test_defaults(void) {
    px_config *cfg = NULL;
    CHECK_OK(px_config_empty(&cfg));
    if (cfg) {
        check_defaults(cfg);
        CHECK(strcmp(cfg->path, "<defaults>") == 0);
        px_config_free(cfg);
    }
    cfg = PARSE("");
    if (cfg) {
        check_defaults(cfg);
        px_config_free(cfg);
    }
    CHECK_OK(px_config_parse(NULL, 0, NULL, &cfg));
    if (cfg) {
        CHECK(strcmp(cfg->path, "<string>") == 0);
        check_defaults(cfg);
        px_config_free(cfg);
    }
    /* Sections without keys, comments, blank lines. */
    cfg = PARSE("; comment\n# comment\n\n[runtime]\n[placement]\n[memory]\n[kernels]\n");
    if (cfg) {
        check_defaults(cfg);
        CHECK(px_config_line(cfg, "runtime", NULL) == 4);
        CHECK(px_config_line(cfg, "kernels", NULL) == 7);
        px_config_free(cfg);
    }
    /* Empty lists and an empty plugin_dir mean "not given". */
    cfg = PARSE("[runtime]\nplugins =\nplugin_dir =\n[placement]\norder =\n");
    if (cfg) {
        check_defaults(cfg);
        px_config_free(cfg);
    }

    CHECK(px_config_empty(NULL) == PX_ERR_INVALID_ARG);
    CHECK(px_config_parse("x", 1, "t", NULL) == PX_ERR_INVALID_ARG);
    CHECK(px_config_parse(NULL, 1, "t", &cfg) == PX_ERR_INVALID_ARG && cfg == NULL);
    CHECK(px_config_load(NULL, &cfg) == PX_ERR_INVALID_ARG);
    CHECK(px_config_load("x.ini", NULL) == PX_ERR_INVALID_ARG);
    px_config_free(NULL);
    CHECK(px_config_plugin_section(NULL, "cpu")->n == 0);
    CHECK(px_config_budget(NULL, "cpu") == 0);
    CHECK(px_config_line(NULL, "runtime", NULL) == 0);
}

/* ---- every key ----------------------------------------------------------------- */

static void test_runtime(void) {
    px_config *cfg = PARSE("[runtime]\n"
                           "threads = 6\n"
                           "plugin_dir = /opt/plexus/plugins:./build/lib/plexus/plugins\n"
                           "plugins = cpu, opencl,qnn ,  my-npu_2\n"
                           "log_level = debug\n");
    if (!cfg) return;
    CHECK(cfg->threads == 6);
    CHECK(cfg->plugin_dir && strcmp(cfg->plugin_dir, "/opt/plexus/plugins:./build/lib/plexus/plugins") == 0);
    CHECK(cfg->n_plugins == 4);
    CHECK(strcmp(cfg->plugins[0], "cpu") == 0 && strcmp(cfg->plugins[1], "opencl") == 0);
    CHECK(strcmp(cfg->plugins[2], "qnn") == 0 && strcmp(cfg->plugins[3], "my-npu_2") == 0);
    CHECK(cfg->log_level == PX_LOG_DEBUG);
    CHECK(px_config_line(cfg, "runtime", NULL) == 1);
    CHECK(px_config_line(cfg, "runtime", "threads") == 2);
    CHECK(px_config_line(cfg, "runtime", "log_level") == 5);
    CHECK(px_config_line(cfg, "placement", "threads") == 0);
    px_config_free(cfg);

    const char *levels[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof text, "[runtime]\nlog_level = %s\n", levels[i]);
        cfg = PARSE(text);
        if (cfg) {
        CHECK(cfg->log_level == i);
        px_config_free(cfg);
    }
    }
    cfg = PARSE("[runtime]\nthreads = 1\n");
    if (cfg) {
        CHECK(cfg->threads == 1);
        px_config_free(cfg);
    }
    cfg = PARSE("[runtime]\nthreads = +4096\n");
    if (cfg) {
        CHECK(cfg->threads == 4096);
        px_config_free(cfg);
    }
    cfg = PARSE("[runtime]\nplugin_dir = relative/dir\n");
    if (cfg) {
        CHECK(strcmp(cfg->plugin_dir, "relative/dir") == 0);
        px_config_free(cfg);
    }
}

static void test_placement(void) {
    px_config *cfg = PARSE("[placement]\n"
                           "order = qnn, opencl:1, opencl:0, vulkan:007, cpu\n"
                           "offload_layers = 20\n"
                           "op.matmul = opencl:1\n"
                           "op.ATTENTION = cpu:0\n"
                           "op.rms_norm = qnn\n");
    if (!cfg) return;
    CHECK(cfg->n_order == 5);
    CHECK(strcmp(cfg->order[0], "qnn") == 0);
    CHECK(strcmp(cfg->order[1], "opencl:1") == 0);
    CHECK(strcmp(cfg->order[2], "opencl") == 0); /* canonical: ":0" dropped */
    CHECK(strcmp(cfg->order[3], "vulkan:7") == 0);
    CHECK(strcmp(cfg->order[4], "cpu") == 0);
    CHECK(cfg->offload_layers == 20);
    CHECK(cfg->n_op_devices == 3);
    if (cfg->n_op_devices == 3) {
        CHECK(cfg->op_devices[0].op == PX_OP_MATMUL && strcmp(cfg->op_devices[0].device, "opencl:1") == 0);
        CHECK(cfg->op_devices[1].op == PX_OP_ATTENTION && strcmp(cfg->op_devices[1].device, "cpu") == 0);
        CHECK(cfg->op_devices[2].op == PX_OP_RMS_NORM && strcmp(cfg->op_devices[2].device, "qnn") == 0);
    }
    CHECK(px_config_line(cfg, "placement", "op.attention") == 5);
    CHECK(px_config_line(cfg, "placement", "op.ATTENTION") == 0); /* stored canonical */
    px_config_free(cfg);

    const char *offload[] = {"-1", "0", "2147483647"};
    const int32_t want[] = {-1, 0, INT32_MAX};
    for (int i = 0; i < 3; i++) {
        char text[64];
        snprintf(text, sizeof text, "[placement]\noffload_layers = %s\n", offload[i]);
        cfg = PARSE(text);
        if (cfg) {
        CHECK(cfg->offload_layers == want[i]);
        px_config_free(cfg);
    }
    }
    /* Every op name can be overridden. */
    for (int op = 1; op < PX_OP_COUNT; op++) {
        char text[128];
        snprintf(text, sizeof text, "[placement]\nop.%s = cpu:3\n[kernels]\n%s = cpu:k_%d\n",
                 px_op_name((px_op)op), px_op_name((px_op)op), op);
        cfg = PARSE(text);
        if (!cfg) continue;
        CHECK(cfg->n_op_devices == 1 && cfg->op_devices[0].op == (px_op)op);
        CHECK(cfg->n_kernels == 1 && cfg->kernels[0].op == (px_op)op);
        px_config_free(cfg);
    }
}

static void test_memory(void) {
    px_config *cfg = PARSE("[memory]\n"
                           "cpu = 512M\n"
                           "opencl:1 = 2G\n"
                           "opencl:0 = 1.5G\n"
                           "qnn = 1048576\n"
                           "vulkan = 64K\n"
                           "my-npu:2 = 1T\n");
    if (!cfg) return;
    CHECK(cfg->n_budgets == 6);
    CHECK(px_config_budget(cfg, "cpu") == 512ull << 20);
    CHECK(px_config_budget(cfg, "opencl:1") == 2ull << 30);
    CHECK(px_config_budget(cfg, "opencl") == 3ull << 29);
    CHECK(px_config_budget(cfg, "opencl:0") == 3ull << 29);
    CHECK(px_config_budget(cfg, "qnn") == 1048576);
    CHECK(px_config_budget(cfg, "vulkan") == 65536);
    CHECK(px_config_budget(cfg, "my-npu:2") == 1ull << 40);
    CHECK(px_config_budget(cfg, "my-npu") == 0);
    CHECK(px_config_budget(cfg, "cpu:1") == 0);
    CHECK(px_config_budget(cfg, "not an id") == 0);
    CHECK(px_config_budget(cfg, NULL) == 0);
    CHECK(strcmp(cfg->budgets[2].device, "opencl") == 0);
    CHECK(px_config_line(cfg, "memory", "opencl:1") == 3);
    CHECK(px_config_line(cfg, "memory", "opencl") == 4);
    px_config_free(cfg);
}

static void test_kernels(void) {
    px_config *cfg = PARSE("[kernels]\n"
                           "matmul = cpu:matmul_q4_0_avx512\n"
                           "Softmax = my-plugin:Softmax.v2-fast\n");
    if (!cfg) return;
    CHECK(cfg->n_kernels == 2);
    if (cfg->n_kernels == 2) {
        CHECK(cfg->kernels[0].op == PX_OP_MATMUL);
        CHECK(strcmp(cfg->kernels[0].plugin, "cpu") == 0);
        CHECK(strcmp(cfg->kernels[0].kernel, "matmul_q4_0_avx512") == 0);
        CHECK(cfg->kernels[1].op == PX_OP_SOFTMAX);
        CHECK(strcmp(cfg->kernels[1].plugin, "my-plugin") == 0);
        CHECK(strcmp(cfg->kernels[1].kernel, "Softmax.v2-fast") == 0);
    }
    CHECK(px_config_line(cfg, "kernels", "softmax") == 3);
    px_config_free(cfg);
}

static const px_config_kv *find_kv(const px_config_section *s, const char *key) {
    for (int32_t i = 0; i < s->n; i++)
        if (strcmp(s->kv[i].key, key) == 0) return &s->kv[i];
    return NULL;
}

static void test_plugin_sections(void) {
    px_config *cfg = PARSE("[plugin.qnn]\n"
                           "backend = htp\n"
                           "vtcm_mb = 8\n"
                           "offset = -12\n"
                           "ratio = 0.75\n"
                           "tiny = -1.5e-3\n"
                           "exp = 2E+2\n"
                           "big = 99999999999999999999\n"
                           "version = 1.5.3\n"
                           "empty =\n"
                           "hex = 0x10\n"
                           "nan = nan\n"
                           "inf = 1e999\n"
                           "path = /vendor/lib64:/system/lib64\n"
                           "Mixed.Case-key_1 = a = b ; c\n"
                           "int_min = -9223372036854775808\n"
                           "[plugin.opencl]\n"
                           "platform = 1\n");
    if (!cfg) return;
    CHECK(cfg->n_plugin_sections == 2);
    const px_config_section *s = px_config_plugin_section(cfg, "qnn");
    CHECK(s->struct_size == sizeof(px_config_section) && s->n == 15);
    CHECK(strcmp(s->kv[0].key, "backend") == 0); /* file order */
    const px_config_kv *kv;
    kv = find_kv(s, "backend");
    CHECK(kv && strcmp(kv->value, "htp") == 0 && !kv->is_int && !kv->is_float);
    kv = find_kv(s, "vtcm_mb");
    CHECK(kv && kv->is_int && kv->is_float && kv->i == 8 && kv->f == 8.0);
    kv = find_kv(s, "offset");
    CHECK(kv && kv->is_int && kv->i == -12 && kv->f == -12.0);
    kv = find_kv(s, "ratio");
    CHECK(kv && !kv->is_int && kv->is_float && kv->f == 0.75);
    kv = find_kv(s, "tiny");
    CHECK(kv && !kv->is_int && kv->is_float && kv->f == -1.5e-3);
    kv = find_kv(s, "exp");
    CHECK(kv && !kv->is_int && kv->is_float && kv->f == 200.0);
    kv = find_kv(s, "big"); /* too big for int64: still a number */
    CHECK(kv && !kv->is_int && kv->is_float && kv->f == 1e20);
    kv = find_kv(s, "version");
    CHECK(kv && !kv->is_int && !kv->is_float && strcmp(kv->value, "1.5.3") == 0);
    kv = find_kv(s, "empty");
    CHECK(kv && !kv->is_int && !kv->is_float && strcmp(kv->value, "") == 0);
    kv = find_kv(s, "hex");
    CHECK(kv && !kv->is_int && !kv->is_float);
    kv = find_kv(s, "nan");
    CHECK(kv && !kv->is_float);
    kv = find_kv(s, "inf");
    CHECK(kv && !kv->is_float);
    kv = find_kv(s, "path");
    CHECK(kv && strcmp(kv->value, "/vendor/lib64:/system/lib64") == 0);
    kv = find_kv(s, "Mixed.Case-key_1"); /* the inline comment is cut */
    CHECK(kv && strcmp(kv->value, "a = b") == 0);
    kv = find_kv(s, "int_min");
    CHECK(kv && kv->is_int && kv->i == INT64_MIN);
    s = px_config_plugin_section(cfg, "opencl");
    CHECK(s->n == 1 && s->kv[0].is_int && s->kv[0].i == 1);
    CHECK(px_config_plugin_section(cfg, "vulkan")->n == 0);
    CHECK(px_config_plugin_section(cfg, NULL)->n == 0);
    CHECK(px_config_line(cfg, "plugin.qnn", NULL) == 1);
    CHECK(px_config_line(cfg, "plugin.qnn", "ratio") == 5);
    CHECK(px_config_line(cfg, "plugin.opencl", "platform") == 18);
    CHECK(px_config_line(cfg, "plugin.opencl", "ratio") == 0);
    px_config_free(cfg);

    /* Numbers do not depend on the C locale's decimal point. */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
        cfg = PARSE("[plugin.x]\nratio = 0.75\n");
        if (cfg) {
            CHECK(cfg->plugin_sections[0].section.kv[0].is_float);
            CHECK(cfg->plugin_sections[0].section.kv[0].f == 0.75);
            px_config_free(cfg);
        }
        setlocale(LC_NUMERIC, "C");
    }
}

/* ---- the ini dialect ------------------------------------------------------------- */

static void test_syntax(void) {
    /* CRLF, BOM, indentation, tabs, inline comments, no final newline,
     * "k=v" without spaces, blanks inside the brackets. */
    const char text[] = "\xEF\xBB\xBF; deployment\r\n"
                        "[ runtime ]   ; the runtime\r\n"
                        "\tthreads=3 ; three\r\n"
                        "   log_level = info # hash comments too\r\n"
                        "\r\n"
                        "  [placement]\n"
                        "    order = cpu ;opencl\n"
                        "[plugin.cpu]\n"
                        "note = a#b;c\n"
                        "x = 1";
    px_config *cfg = NULL;
    px_status st = px_config_parse(text, sizeof text - 1, "t.ini", &cfg);
    CHECK_OK(st);
    if (st == PX_OK) {
        CHECK(cfg->threads == 3);
        CHECK(cfg->log_level == PX_LOG_INFO);
        CHECK(px_config_line(cfg, "runtime", "log_level") == 4);
        CHECK(px_config_line(cfg, "placement", NULL) == 6);
        CHECK(cfg->n_order == 1 && strcmp(cfg->order[0], "cpu") == 0);
        const px_config_section *s = px_config_plugin_section(cfg, "cpu");
        CHECK(s->n == 2 && strcmp(s->kv[0].value, "a#b;c") == 0);
        CHECK(s->n == 2 && s->kv[1].is_int && s->kv[1].i == 1);
        px_config_free(cfg);
    }
    /* That order value is not a device id: the error proves the ';' stayed. */
    EXPECT_ERR("[placement]\norder = cpu;opencl\n",
               "t.ini:2: [placement] order: \"cpu;opencl\" is not a device id (expected <plugin> "
               "or <plugin>:<index>, e.g. cpu, opencl:1)");
    /* An indented line is not a continuation of the key above it. */
    cfg = PARSE("[runtime]\nthreads = 2\n    log_level = error\n");
    if (cfg) {
        CHECK(cfg->threads == 2 && cfg->log_level == PX_LOG_ERROR);
        px_config_free(cfg);
    }
    /* A ':' in a value is not a separator. */
    cfg = PARSE("[placement]\nop.matmul = opencl:2\n");
    if (cfg) {
        CHECK(strcmp(cfg->op_devices[0].device, "opencl:2") == 0);
        px_config_free(cfg);
    }
    /* Long comments are fine; only key lines have a length limit. */
    char longc[4096];
    memset(longc, 'c', sizeof longc);
    memcpy(longc, "; ", 2);
    memcpy(longc + sizeof longc - 32, "\n[runtime]\nthreads = 2 ;", 24);
    longc[sizeof longc - 8] = 'x';
    longc[sizeof longc - 1] = '\n';
    cfg = NULL;
    CHECK_OK(px_config_parse(longc, sizeof longc, "t.ini", &cfg));
    if (cfg) {
        CHECK(cfg->threads == 2);
        px_config_free(cfg);
    }
    /* A key line of 150 characters. */
    char mid[256];
    snprintf(mid, sizeof mid, "[plugin.x]\nk = %0146d\n", 7);
    cfg = PARSE(mid);
    if (cfg) {
        CHECK(cfg->plugin_sections[0].section.kv[0].i == 7);
        px_config_free(cfg);
    }
}

/* ---- errors, with their exact messages and lines ------------------------------- */

static void test_errors(void) {
    /* The example from the issue. */
    EXPECT_ERR("; laptop\n[runtime]\nthreads = 4\n\n[placement]\norder = cpu\noffload_layers = lots\n",
               "t.ini:7: [placement] offload_layers: expected an integer >= -1, got \"lots\"");
    {
        const char *t = "[placement]\noffload_layers = lots\n";
        px_config *cfg = NULL;
        CHECK(px_config_parse(t, strlen(t), "laptop.ini", &cfg) == PX_ERR_CONFIG);
        CHECK(strcmp(px_last_error(),
                     "laptop.ini:2: [placement] offload_layers: expected an integer >= -1, got \"lots\"") == 0);
    }

    /* Structure. */
    EXPECT_ERR("threads = 4\n", "t.ini:1: key \"threads\" before any [section]");
    EXPECT_ERR("\n\n[foo]\n", "t.ini:3: unknown section [foo] (known sections: runtime, placement, "
                              "memory, kernels, plugin.<name>)");
    EXPECT_ERR("[runtme]\n", "t.ini:1: unknown section [runtme] (did you mean [runtime]?)");
    EXPECT_ERR("[Memory]\n", "t.ini:1: unknown section [Memory] (did you mean [memory]?)");
    EXPECT_ERR("[plugin]\n", "t.ini:1: section [plugin] needs a plugin name: [plugin.<name>]");
    EXPECT_ERR("[plugin.]\n", "t.ini:1: section [plugin.]: \"\" is not a valid plugin name (plugin "
                              "names are lower-case letters, digits, '_' and '-', starting with a "
                              "letter; at most 63)");
    EXPECT_ERR("[plugin.Cpu]\n", "t.ini:1: section [plugin.Cpu]: \"Cpu\" is not a valid plugin name "
                                 "(plugin names are lower-case letters, digits, '_' and '-', "
                                 "starting with a letter; at most 63)");
    EXPECT_ERR("[runtime\n", "t.ini:1: section header without a closing \"]\"");
    EXPECT_ERR("[runtime] threads = 4\n",
               "t.ini:1: unexpected text after the section header: \" threads = 4\"");
    EXPECT_ERR("[ ]\n", "t.ini:1: empty section name \"[]\"");
    EXPECT_ERR("[runtime]\nthreads = 2\n[memory]\n[runtime]\n",
               "t.ini:4: duplicate section [runtime] (first on line 1)");
    EXPECT_ERR("[plugin.a]\n[plugin.b]\n[plugin.a]\n",
               "t.ini:3: duplicate section [plugin.a] (first on line 1)");
    EXPECT_ERR("[runtime]\nthreads\n",
               "t.ini:2: expected \"key = value\", a [section] or a comment, got \"threads\"");
    EXPECT_ERR("[runtime]\nthreads: 4\n",
               "t.ini:2: expected \"key = value\", a [section] or a comment, got \"threads: 4\"");
    EXPECT_ERR("[runtime]\nthreads ; = 4\n",
               "t.ini:2: expected \"key = value\", a [section] or a comment, got \"threads\"");
    EXPECT_ERR("[runtime]\n = 4\n", "t.ini:2: [runtime] missing key before \"=\"");

    /* Unknown and duplicate keys. */
    EXPECT_ERR("[runtime]\nthread = 4\n",
               "t.ini:2: [runtime] unknown key \"thread\" (did you mean \"threads\"?)");
    EXPECT_ERR("[runtime]\nThreads = 4\n",
               "t.ini:2: [runtime] unknown key \"Threads\" (did you mean \"threads\"?)");
    EXPECT_ERR("[runtime]\nmodel = x.gguf\n", "t.ini:2: [runtime] unknown key \"model\" (known keys: "
                                              "threads, plugin_dir, plugins, log_level)");
    EXPECT_ERR("[placement]\nlayers = 3\n", "t.ini:2: [placement] unknown key \"layers\" (known "
                                            "keys: order, offload_layers, op.<opname>)");
    EXPECT_ERR("[placement]\noffload_layer = 3\n",
               "t.ini:2: [placement] unknown key \"offload_layer\" (did you mean \"offload_layers\"?)");
    EXPECT_ERR("[runtime]\nthreads = 4\n; again\nthreads = 4\n",
               "t.ini:4: [runtime] threads: duplicate key (first set on line 2)");
    EXPECT_ERR("[placement]\nop.matmul = cpu\nop.MatMul = qnn\n",
               "t.ini:3: [placement] op.MatMul: duplicate key (first set on line 2)");
    EXPECT_ERR("[memory]\nopencl = 1G\nopencl:0 = 2G\n",
               "t.ini:3: [memory] opencl:0: duplicate key (first set on line 2)");
    EXPECT_ERR("[kernels]\nmatmul = cpu:a\nMATMUL = cpu:b\n",
               "t.ini:3: [kernels] MATMUL: duplicate key (first set on line 2)");
    EXPECT_ERR("[plugin.qnn]\nbackend = htp\nbackend = cpu\n",
               "t.ini:3: [plugin.qnn] backend: duplicate key (first set on line 2)");
    /* The same key in different sections is fine. */
    px_config *cfg = PARSE("[plugin.a]\nk = 1\n[plugin.b]\nk = 2\n");
    px_config_free(cfg);

    /* [runtime] values. */
    EXPECT_ERR("[runtime]\nthreads = 0\n",
               "t.ini:2: [runtime] threads: expected an integer from 1 to 4096, got \"0\"");
    EXPECT_ERR("[runtime]\nthreads = 4097\n",
               "t.ini:2: [runtime] threads: expected an integer from 1 to 4096, got \"4097\"");
    EXPECT_ERR("[runtime]\nthreads = -2\n",
               "t.ini:2: [runtime] threads: expected an integer from 1 to 4096, got \"-2\"");
    EXPECT_ERR("[runtime]\nthreads = 4.5\n",
               "t.ini:2: [runtime] threads: expected an integer from 1 to 4096, got \"4.5\"");
    EXPECT_ERR("[runtime]\nthreads = 4 cores\n",
               "t.ini:2: [runtime] threads: expected an integer from 1 to 4096, got \"4 cores\"");
    EXPECT_ERR("[runtime]\nthreads =\n",
               "t.ini:2: [runtime] threads: expected an integer from 1 to 4096, got \"\"");
    EXPECT_ERR("[runtime]\nthreads = 99999999999999999999\n",
               "t.ini:2: [runtime] threads: expected an integer from 1 to 4096, got "
               "\"99999999999999999999\"");
    EXPECT_ERR("[runtime]\nthreads = 0x10\n",
               "t.ini:2: [runtime] threads: expected an integer from 1 to 4096, got \"0x10\"");
    EXPECT_ERR("[runtime]\nthreads = -\n",
               "t.ini:2: [runtime] threads: expected an integer from 1 to 4096, got \"-\"");
    EXPECT_ERR("[runtime]\nlog_level = verbose\n",
               "t.ini:2: [runtime] log_level: expected one of error, warn, info, debug, got \"verbose\"");
    EXPECT_ERR("[runtime]\nlog_level = INFO\n",
               "t.ini:2: [runtime] log_level: expected one of error, warn, info, debug, got \"INFO\"");
    EXPECT_ERR("[runtime]\nplugin_dir = /a::/b\n",
               "t.ini:2: [runtime] plugin_dir: empty directory in the list \"/a::/b\"");
    EXPECT_ERR("[runtime]\nplugin_dir = /a:\n",
               "t.ini:2: [runtime] plugin_dir: empty directory in the list \"/a:\"");
    EXPECT_ERR("[runtime]\nplugin_dir = :/a\n",
               "t.ini:2: [runtime] plugin_dir: empty directory in the list \":/a\"");
    EXPECT_ERR("[runtime]\nplugins = cpu,,qnn\n",
               "t.ini:2: [runtime] plugins: empty entry in the list \"cpu,,qnn\"");
    EXPECT_ERR("[runtime]\nplugins = cpu,\n",
               "t.ini:2: [runtime] plugins: empty entry in the list \"cpu,\"");
    EXPECT_ERR("[runtime]\nplugins = ,\n", "t.ini:2: [runtime] plugins: empty entry in the list \",\"");
    EXPECT_ERR("[runtime]\nplugins = cpu, CPU\n",
               "t.ini:2: [runtime] plugins: \"CPU\" is not a plugin name (plugin names are "
               "lower-case letters, digits, '_' and '-', starting with a letter; at most 63)");
    EXPECT_ERR("[runtime]\nplugins = open cl\n",
               "t.ini:2: [runtime] plugins: \"open cl\" is not a plugin name (plugin names are "
               "lower-case letters, digits, '_' and '-', starting with a letter; at most 63)");
    EXPECT_ERR("[runtime]\nplugins = cpu, qnn, cpu\n",
               "t.ini:2: [runtime] plugins: \"cpu\" is listed twice");

    /* [placement] values. */
    EXPECT_ERR("[placement]\noffload_layers = -2\n",
               "t.ini:2: [placement] offload_layers: expected an integer >= -1, got \"-2\"");
    EXPECT_ERR("[placement]\noffload_layers = 2147483648\n",
               "t.ini:2: [placement] offload_layers: expected an integer >= -1, got \"2147483648\"");
    EXPECT_ERR("[placement]\norder = cpu, opencl:x\n",
               "t.ini:2: [placement] order: \"opencl:x\" is not a device id (expected <plugin> or "
               "<plugin>:<index>, e.g. cpu, opencl:1)");
    EXPECT_ERR("[placement]\norder = opencl:65536\n",
               "t.ini:2: [placement] order: \"opencl:65536\" is not a device id (expected <plugin> "
               "or <plugin>:<index>, e.g. cpu, opencl:1)");
    EXPECT_ERR("[placement]\norder = opencl:\n",
               "t.ini:2: [placement] order: \"opencl:\" is not a device id (expected <plugin> or "
               "<plugin>:<index>, e.g. cpu, opencl:1)");
    EXPECT_ERR("[placement]\norder = opencl, opencl:0\n",
               "t.ini:2: [placement] order: \"opencl\" is listed twice");
    EXPECT_ERR("[placement]\nop.matmull = cpu\n",
               "t.ini:2: [placement] op.matmull: unknown op \"matmull\" (did you mean \"matmul\"?)");
    EXPECT_ERR("[placement]\nop.conv2d = cpu\n",
               "t.ini:2: [placement] op.conv2d: unknown op \"conv2d\" (the op names are listed in "
               "docs/config.md)");
    EXPECT_ERR("[placement]\nop. = cpu\n",
               "t.ini:2: [placement] op.: unknown op \"\" (the op names are listed in docs/config.md)");
    EXPECT_ERR("[placement]\nop.invalid = cpu\n",
               "t.ini:2: [placement] op.invalid: unknown op \"invalid\" (the op names are listed in "
               "docs/config.md)");
    EXPECT_ERR("[placement]\nop.matmul = GPU\n",
               "t.ini:2: [placement] op.matmul: \"GPU\" is not a device id (expected <plugin> or "
               "<plugin>:<index>, e.g. cpu, opencl:1)");
    EXPECT_ERR("[placement]\nop.matmul =\n",
               "t.ini:2: [placement] op.matmul: \"\" is not a device id (expected <plugin> or "
               "<plugin>:<index>, e.g. cpu, opencl:1)");

    /* [memory]. */
    EXPECT_ERR("[memory]\ncpu = lots\n",
               "t.ini:2: [memory] cpu: expected a size such as 512M, 1.5G or 1048576 (K, M, G, T: "
               "powers of 1024), got \"lots\"");
    EXPECT_ERR("[memory]\ncpu = -1G\n",
               "t.ini:2: [memory] cpu: expected a size such as 512M, 1.5G or 1048576 (K, M, G, T: "
               "powers of 1024), got \"-1G\"");
    EXPECT_ERR("[memory]\ncpu = 2GB\n",
               "t.ini:2: [memory] cpu: expected a size such as 512M, 1.5G or 1048576 (K, M, G, T: "
               "powers of 1024), got \"2GB\"");
    EXPECT_ERR("[memory]\ncpu = 16777216T\n", "t.ini:2: [memory] cpu: size \"16777216T\" is too large");
    EXPECT_ERR("[memory]\ncpu = 18446744073709551616\n",
               "t.ini:2: [memory] cpu: size \"18446744073709551616\" is too large");
    EXPECT_ERR("[memory]\ncpu = 1.0000001G\n",
               "t.ini:2: [memory] cpu: size \"1.0000001G\" has more than 6 decimals");
    EXPECT_ERR("[memory]\ncpu = 0\n", "t.ini:2: [memory] cpu: a budget must be more than 0 bytes "
                                      "(leave a device out of [order] to not use it)");
    EXPECT_ERR("[memory]\ncpu = 0.0001K\n", "t.ini:2: [memory] cpu: a budget must be more than 0 "
                                            "bytes (leave a device out of [order] to not use it)");
    EXPECT_ERR("[memory]\nCPU = 1G\n", "t.ini:2: [memory] CPU: keys of [memory] are device ids "
                                       "(expected <plugin> or <plugin>:<index>, e.g. cpu, opencl:1)");
    EXPECT_ERR("[memory]\ncpu:-1 = 1G\n", "t.ini:2: [memory] cpu:-1: keys of [memory] are device ids "
                                          "(expected <plugin> or <plugin>:<index>, e.g. cpu, opencl:1)");

    /* [kernels]. */
    EXPECT_ERR("[kernels]\nmatmul = cpu\n",
               "t.ini:2: [kernels] matmul: expected <plugin>:<kernel> (e.g. cpu:matmul_avx2; the "
               "kernel name is letters, digits, '_', '.', '-'), got \"cpu\"");
    EXPECT_ERR("[kernels]\nmatmul = cpu:\n",
               "t.ini:2: [kernels] matmul: expected <plugin>:<kernel> (e.g. cpu:matmul_avx2; the "
               "kernel name is letters, digits, '_', '.', '-'), got \"cpu:\"");
    EXPECT_ERR("[kernels]\nmatmul = :fast\n",
               "t.ini:2: [kernels] matmul: expected <plugin>:<kernel> (e.g. cpu:matmul_avx2; the "
               "kernel name is letters, digits, '_', '.', '-'), got \":fast\"");
    EXPECT_ERR("[kernels]\nmatmul = cpu:a:b\n",
               "t.ini:2: [kernels] matmul: expected <plugin>:<kernel> (e.g. cpu:matmul_avx2; the "
               "kernel name is letters, digits, '_', '.', '-'), got \"cpu:a:b\"");
    EXPECT_ERR("[kernels]\nmatmul = cpu:a b\n",
               "t.ini:2: [kernels] matmul: expected <plugin>:<kernel> (e.g. cpu:matmul_avx2; the "
               "kernel name is letters, digits, '_', '.', '-'), got \"cpu:a b\"");
    EXPECT_ERR("[kernels]\nsoftmx = cpu:a\n",
               "t.ini:2: [kernels] softmx: unknown op \"softmx\" (did you mean \"softmax\"?)");
    EXPECT_ERR("[kernels]\nop.matmul = cpu:a\n",
               "t.ini:2: [kernels] op.matmul: unknown op \"op.matmul\" (the op names are listed in "
               "docs/config.md)");

    /* [plugin.<name>] keys. */
    EXPECT_ERR("[plugin.qnn]\nperf mode = burst\n",
               "t.ini:2: [plugin.qnn] perf mode: keys of plugin sections are letters, digits, '_', "
               "'.' and '-' (at most 255)");

    /* Bytes that do not belong in a text file. */
    expect_at(__LINE__, "[runtime]\nthreads = 4\0\n", 23, PX_ERR_CONFIG,
              "t.ini:2: NUL byte (not a text file?)");
    EXPECT_ERR("[runtime]\n\n; \x01\n", "t.ini:3: control character 0x01 (not a text file?)");
    EXPECT_ERR("[runtime]\nthreads = 4\r2\n", "t.ini:2: control character 0x0d (not a text file?)");
    EXPECT_ERR("[runtime]\x7f\n", "t.ini:1: control character 0x7f (not a text file?)");
    /* A BOM anywhere but at the start is not one. */
    EXPECT_ERR("\n\xEF\xBB\xBF[runtime]\n", "t.ini:2: expected \"key = value\", a [section] or a "
                                            "comment, got \"\xEF\xBB\xBF[runtime]\"");
}

/* ---- limits ------------------------------------------------------------------------ */

static void test_limits(void) {
    char text[8192];
    /* PX_CFG_MAX_LIST list entries, then one more. */
    for (int extra = 0; extra < 2; extra++) {
        int n = snprintf(text, sizeof text, "[runtime]\nplugins = ");
        for (int i = 0; i < PX_CFG_MAX_LIST + extra; i++)
            n += snprintf(text + n, sizeof text - (size_t)n, "%sp%d", i ? "," : "", i);
        snprintf(text + n, sizeof text - (size_t)n, "\n");
        if (!extra) {
            px_config *cfg = PARSE(text);
            if (cfg) {
        CHECK(cfg->n_plugins == PX_CFG_MAX_LIST);
        px_config_free(cfg);
    }
        } else {
            EXPECT_ERR(text, "t.ini:2: [runtime] plugins: too many entries (at most 32)");
        }
    }
    /* Budgets. */
    for (int extra = 0; extra < 2; extra++) {
        int n = snprintf(text, sizeof text, "[memory]\n");
        for (int i = 0; i < PX_CFG_MAX_BUDGETS + extra; i++)
            n += snprintf(text + n, sizeof text - (size_t)n, "cpu:%d = 1M\n", i);
        if (!extra) {
            px_config *cfg = PARSE(text);
            if (cfg) {
        CHECK(cfg->n_budgets == PX_CFG_MAX_BUDGETS);
        px_config_free(cfg);
    }
        } else {
            EXPECT_ERR(text, "t.ini:34: [memory] cpu:32: too many devices in [memory] (at most 32)");
        }
    }
    /* Plugin sections and keys. */
    static char big[64 * 1024];
    for (int extra = 0; extra < 2; extra++) {
        int n = 0;
        for (int i = 0; i < PX_CFG_MAX_PLUGIN_SECTIONS + extra; i++)
            n += snprintf(big + n, sizeof big - (size_t)n, "[plugin.p%d]\nk = %d\n", i, i);
        if (!extra) {
            px_config *cfg = PARSE(big);
            if (cfg) {
                CHECK(cfg->n_plugin_sections == PX_CFG_MAX_PLUGIN_SECTIONS);
                CHECK(px_config_plugin_section(cfg, "p63")->kv[0].i == 63);
                px_config_free(cfg);
            }
        } else {
            EXPECT_ERR(big, "t.ini:129: too many [plugin.<name>] sections (at most 64)");
        }
    }
    for (int extra = 0; extra < 2; extra++) {
        int n = snprintf(big, sizeof big, "[plugin.x]\n");
        for (int i = 0; i < PX_CFG_MAX_PLUGIN_KEYS + extra; i++)
            n += snprintf(big + n, sizeof big - (size_t)n, "k%d = %d.5\n", i, i);
        if (!extra) {
            px_config *cfg = PARSE(big);
            if (cfg) {
                const px_config_section *s = px_config_plugin_section(cfg, "x");
                CHECK(s->n == PX_CFG_MAX_PLUGIN_KEYS && s->kv[255].f == 255.5);
                px_config_free(cfg);
            }
        } else {
            EXPECT_ERR(big, "t.ini:258: [plugin.x] k256: too many keys in [plugin.x] (at most 256)");
        }
    }
    /* A key line longer than the line buffer. */
    {
        size_t len = 100000;
        char *t = malloc(len + 32);
        if (!t) return;
        int n = snprintf(t, 32, "[plugin.x]\nk = ");
        memset(t + n, 'v', len);
        t[n + len] = '\n';
        px_config *cfg = (px_config *)t;
        CHECK(px_config_parse(t, (size_t)n + len + 1, "t.ini", &cfg) == PX_ERR_CONFIG && !cfg);
        const char *want = "t.ini:2: line too long (100004 characters; at most ";
        CHECK_MSG(strncmp(px_last_error(), want, strlen(want)) == 0, "%s", px_last_error());
        free(t);
    }
    /* Files above PX_CFG_MAX_FILE_BYTES. */
    {
        size_t len = PX_CFG_MAX_FILE_BYTES + 1;
        char *t = malloc(len);
        if (!t) return;
        memset(t, '\n', len);
        px_config *cfg = NULL;
        CHECK(px_config_parse(t, len, "t.ini", &cfg) == PX_ERR_CONFIG && !cfg);
        CHECK(strcmp(px_last_error(), "t.ini: file too large (1048577 bytes; at most 1048576)") == 0);
        CHECK_OK(px_config_parse(t, len - 1, "t.ini", &cfg)); /* exactly the limit */
        px_config_free(cfg);
        free(t);
    }
}

/* ---- sizes and device ids ------------------------------------------------------------ */

static void test_sizes(void) {
    static const struct {
        const char *text;
        px_status st;
        uint64_t bytes;
    } cases[] = {
        {"0", PX_OK, 0},
        {"1", PX_OK, 1},
        {"1048576", PX_OK, 1048576},
        {"64K", PX_OK, 65536},
        {"64k", PX_OK, 65536},
        {"512M", PX_OK, 512ull << 20},
        {"2G", PX_OK, 2ull << 30},
        {"2g", PX_OK, 2ull << 30},
        {"1T", PX_OK, 1ull << 40},
        {"1.5G", PX_OK, 3ull << 29},
        {"0.5K", PX_OK, 512},
        {"0.1K", PX_OK, 102}, /* rounded down to whole bytes */
        {"1.000001T", PX_OK, (1ull << 40) + 1099511},
        {"007M", PX_OK, 7ull << 20},
        {"18446744073709551615", PX_OK, UINT64_MAX},
        {"16777215T", PX_OK, 16777215ull << 40},
        {"18446744073709551616", PX_ERR_RANGE, 0},
        {"16777216T", PX_ERR_RANGE, 0},
        {"16777215.999999T", PX_OK, (16777215ull << 40) + ((999999ull << 40) / 1000000)},
        {"1.0000001G", PX_ERR_CONFIG, 0},
        {"", PX_ERR_CONFIG, 0},
        {"-1", PX_ERR_CONFIG, 0},
        {"-1G", PX_ERR_CONFIG, 0},
        {"+1G", PX_ERR_CONFIG, 0},
        {"1.5", PX_ERR_CONFIG, 0},
        {"1.G", PX_ERR_CONFIG, 0},
        {".5G", PX_ERR_CONFIG, 0},
        {"1 G", PX_ERR_CONFIG, 0},
        {"1GB", PX_ERR_CONFIG, 0},
        {"1GiB", PX_ERR_CONFIG, 0},
        {"1P", PX_ERR_CONFIG, 0},
        {"G", PX_ERR_CONFIG, 0},
        {"1e9", PX_ERR_CONFIG, 0},
        {"0x100", PX_ERR_CONFIG, 0},
        {"lots", PX_ERR_CONFIG, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 12345;
        px_status st = px_config_parse_size(cases[i].text, &v);
        CHECK_MSG(st == cases[i].st, "\"%s\": status %d", cases[i].text, (int)st);
        if (cases[i].st == PX_OK)
            CHECK_MSG(v == cases[i].bytes, "\"%s\": %llu", cases[i].text, (unsigned long long)v);
    }
    uint64_t v;
    CHECK(px_config_parse_size("2x", &v) == PX_ERR_CONFIG);
    CHECK(strcmp(px_last_error(), "expected a size such as 512M, 1.5G or 1048576 (K, M, G, T: powers "
                                  "of 1024), got \"2x\"") == 0);
    CHECK(px_config_parse_size("99999T", &v) == PX_OK);
    CHECK(px_config_parse_size("99999999T", &v) == PX_ERR_RANGE);
    CHECK(strcmp(px_last_error(), "size \"99999999T\" is too large") == 0);
    CHECK(px_config_parse_size(NULL, &v) == PX_ERR_INVALID_ARG);
    CHECK(px_config_parse_size("1", NULL) == PX_ERR_INVALID_ARG);
}

static void test_device_ids(void) {
    char plugin[64], canon[64];
    int32_t index = -5;
    CHECK(px_config_device_id("cpu", plugin, &index, canon));
    CHECK(strcmp(plugin, "cpu") == 0 && index == 0 && strcmp(canon, "cpu") == 0);
    CHECK(px_config_device_id("opencl:1", plugin, &index, canon));
    CHECK(strcmp(plugin, "opencl") == 0 && index == 1 && strcmp(canon, "opencl:1") == 0);
    CHECK(px_config_device_id("opencl:0", plugin, &index, canon));
    CHECK(strcmp(plugin, "opencl") == 0 && index == 0 && strcmp(canon, "opencl") == 0);
    CHECK(px_config_device_id("vk-2_x:65535", NULL, &index, NULL) && index == 65535);
    CHECK(px_config_device_id("a", NULL, NULL, NULL));
    const char *bad[] = {"", "CPU", "1cpu", "_cpu", "cpu:", ":1", "cpu:1:2", "cpu:-1", "cpu:+1",
                         "cpu:65536", "cpu:99999999999999", "cpu 1", "cpu.1", "cpu:1a", NULL};
    for (int i = 0; bad[i]; i++) CHECK_MSG(!px_config_device_id(bad[i], NULL, NULL, NULL), "%s", bad[i]);
    CHECK(!px_config_device_id(NULL, NULL, NULL, NULL));
    /* 63 characters is the longest id. */
    char id[80];
    memset(id, 'a', 63);
    id[63] = 0;
    CHECK(px_config_device_id(id, plugin, NULL, canon) && strlen(canon) == 63);
    id[63] = 'a';
    id[64] = 0;
    CHECK(!px_config_device_id(id, NULL, NULL, NULL));
    memset(id, 'a', 60);
    memcpy(id + 60, ":12", 4); /* 63 */
    CHECK(px_config_device_id(id, NULL, &index, canon) && index == 12);
    memcpy(id + 60, ":123", 5); /* 64 */
    CHECK(!px_config_device_id(id, NULL, NULL, NULL));
    memcpy(id + 60, ":0000", 6); /* canonical "aaa...a" fits */
    CHECK(px_config_device_id(id, NULL, &index, canon) && index == 0 && strlen(canon) == 60);

    CHECK(px_config_device_is("opencl", "opencl", 0));
    CHECK(px_config_device_is("opencl:0", "opencl", 0));
    CHECK(px_config_device_is("opencl:1", "opencl", 1));
    CHECK(!px_config_device_is("opencl:1", "opencl", 0));
    CHECK(!px_config_device_is("opencl", "opencl", 1));
    CHECK(!px_config_device_is("opencl", "vulkan", 0));
    CHECK(!px_config_device_is("bad id", "bad id", 0));
    CHECK(!px_config_device_is("cpu", NULL, 0));
}

/* ---- files --------------------------------------------------------------------------- */

static void test_load(void) {
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/px_test_config_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char good[] = "[runtime]\nthreads = 3\n[memory]\ncpu = 1G\n";
    CHECK(write(fd, good, sizeof good - 1) == (ssize_t)(sizeof good - 1));
    close(fd);
    px_config *cfg = NULL;
    CHECK_OK(px_config_load(path, &cfg));
    if (cfg) {
        CHECK(strcmp(cfg->path, path) == 0);
        CHECK(cfg->threads == 3 && px_config_budget(cfg, "cpu") == 1ull << 30);
        px_config_free(cfg);
    }
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs("[runtime]\n\nthreads = many\n", f);
        fclose(f);
    }
    cfg = (px_config *)path;
    CHECK(px_config_load(path, &cfg) == PX_ERR_CONFIG && cfg == NULL);
    char want[700];
    snprintf(want, sizeof want, "%s:3: [runtime] threads: expected an integer from 1 to 4096, got \"many\"",
             path);
    CHECK_MSG(strcmp(px_last_error(), want) == 0, "%s", px_last_error());
    /* A file larger than the limit. */
    f = fopen(path, "wb");
    if (f) {
        for (unsigned i = 0; i <= PX_CFG_MAX_FILE_BYTES / 64; i++)
            fputs(";;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;\n", f);
        fclose(f);
    }
    CHECK(px_config_load(path, &cfg) == PX_ERR_CONFIG && cfg == NULL);
    snprintf(want, sizeof want, "%s: file too large (more than 1048576 bytes)", path);
    CHECK_MSG(strcmp(px_last_error(), want) == 0, "%s", px_last_error());
    unlink(path);

    CHECK(px_config_load(path, &cfg) == PX_ERR_IO && cfg == NULL);
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    CHECK_MSG(strcmp(px_last_error(), want) == 0, "%s", px_last_error());
    const char *dir = tmp && *tmp ? tmp : "/tmp";
    CHECK(px_config_load(dir, &cfg) == PX_ERR_IO && cfg == NULL);
    snprintf(want, sizeof want, "%s: cannot read: %s", dir, strerror(EISDIR));
    CHECK_MSG(strcmp(px_last_error(), want) == 0, "%s", px_last_error());
}

/* Every .ini file in configs/ must parse. */
static void test_config_dir(const char *dir) {
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d) return;
    int n = 0, seen = 0;
    const char *expected[] = {"raspberry-pi-5.ini", "laptop.ini", "android-snapdragon.ini",
                              "jetson-orin.ini"};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".ini") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        px_config *cfg = NULL;
        px_status st = px_config_load(path, &cfg);
        CHECK_MSG(st == PX_OK, "%s", px_last_error());
        if (st == PX_OK) {
            /* Each example says where the work goes and how many threads. */
            CHECK_MSG(cfg->n_order > 0 && cfg->threads > 0, "%s", path);
            CHECK_MSG(px_config_line(cfg, "runtime", NULL) > 0, "%s", path);
            px_config_free(cfg);
        }
        for (int i = 0; i < 4; i++)
            if (strcmp(e->d_name, expected[i]) == 0) seen |= 1 << i;
        n++;
    }
    closedir(d);
    CHECK_MSG(seen == 15, "missing example configs in %s (mask %d)", dir, seen);
    printf("test_config: %d files in %s parsed\n", n, dir);
}

/* Every .ini file in tests/config/bad/ must fail, with the message its
 * first line gives: "; expect: <line>: <problem>". */
static void test_bad_dir(const char *dir) {
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d) return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".ini") != 0) continue;
        char path[1024], first[1024] = "", want[2100];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        CHECK_MSG(f && fgets(first, sizeof first, f), "cannot read %s", path);
        if (f) fclose(f);
        first[strcspn(first, "\r\n")] = 0;
        CHECK_MSG(strncmp(first, "; expect: ", 10) == 0, "%s: no \"; expect: \" line", path);
        snprintf(want, sizeof want, "%s:%s", path, first + 10);
        px_config *cfg = NULL;
        CHECK_MSG(px_config_load(path, &cfg) == PX_ERR_CONFIG && !cfg, "%s parsed", path);
        CHECK_MSG(strcmp(px_last_error(), want) == 0, "\n   got: %s\n  want: %s", px_last_error(), want);
        n++;
    }
    closedir(d);
    CHECK(n > 0);
}

/* ---- robustness ------------------------------------------------------------------------- */

static uint32_t rng_state = 12345;
static uint32_t rng(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static void parse_any(const char *text, size_t len) {
    px_config *cfg = NULL;
    px_status st = px_config_parse(text, len, "t.ini", &cfg);
    CHECK_MSG(st == PX_OK || st == PX_ERR_CONFIG, "status %d", (int)st);
    if (st == PX_OK) {
        CHECK(cfg != NULL);
        if (!cfg) return;
        CHECK(cfg->n_plugins <= PX_CFG_MAX_LIST && cfg->n_order <= PX_CFG_MAX_LIST);
        CHECK(cfg->n_budgets <= PX_CFG_MAX_BUDGETS);
        for (int32_t i = 0; i < cfg->n_budgets; i++) CHECK(cfg->budgets[i].bytes > 0);
        px_config_free(cfg);
    } else {
        CHECK(cfg == NULL);
        CHECK_MSG(strncmp(px_last_error(), "t.ini:", 6) == 0, "%s", px_last_error());
    }
}

static void test_robustness(void) {
    static const char base[] = "\xEF\xBB\xBF[runtime]\nthreads = 4 ; x\nplugins = cpu, qnn\n"
                               "plugin_dir = /a:/b\nlog_level = info\n[placement]\n"
                               "order = qnn, opencl:1, cpu\noffload_layers = -1\nop.matmul = qnn\n"
                               "[memory]\ncpu = 1.5G\nopencl:1 = 512M\n[kernels]\nmatmul = cpu:fast\n"
                               "[plugin.qnn]\nbackend = htp\nratio = 0.5\n";
    const size_t n = sizeof base - 1;
    for (size_t len = 0; len <= n; len++) parse_any(base, len); /* every prefix */
    static const char alphabet[] = "[]=:;#,.-_ \t\r\n\0\x01\xff" "0123456789KMGTkxop";
    char buf[sizeof base + 16];
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, base, n);
        size_t len = n;
        int edits = 1 + (int)(rng() % 4);
        for (int k = 0; k < edits; k++) {
            size_t at = rng() % len;
            char c = alphabet[rng() % (sizeof alphabet - 1)];
            switch (rng() % 3) {
            case 0: buf[at] = c; break;
            case 1: /* delete */
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default: /* insert */
                if (len < sizeof buf) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = c;
                    len++;
                }
            }
        }
        parse_any(buf, len);
    }
}

int main(int argc, char **argv) {
    test_defaults();
    test_runtime();
    test_placement();
    test_memory();
    test_kernels();
    test_plugin_sections();
    test_syntax();
    test_errors();
    test_limits();
    test_sizes();
    test_device_ids();
    test_load();
    /* argv[1]: configs/, argv[2]: tests/config/bad/ */
    if (argc > 1)
        test_config_dir(argv[1]);
    else
        fprintf(stderr, "test_config: no configs/ directory given; example files not checked\n");
    if (argc > 2) test_bad_dir(argv[2]);
    test_robustness();
    return px_test_finish("test_config");
}
