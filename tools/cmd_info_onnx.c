/* plexus info for ONNX models: opsets, graph inputs and outputs, op
 * histogram, initializers, the ops Plexus cannot import (if any) and, when
 * the graph builds, its memory plan per device (nothing allocated). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "plexus/ir.h"

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

/* A string-array metadata value, printed as a list. */
static void print_list(const px_model *m, const char *key, const char *title, int json) {
    px_meta_value v;
    if (px_model_meta_find(m, key, &v) != PX_OK || v.type != PX_META_ARRAY || v.elem_type != PX_META_STRING) {
        if (json) printf(",\"%s\":[]", title);
        return;
    }
    const px_meta_string *s = v.data;
    if (json) printf(",\"%s\":[", title);
    else printf("%s:\n", title);
    for (uint64_t i = 0; i < v.n; i++) {
        char buf[600];
        snprintf(buf, sizeof buf, "%.*s", (int)(s[i].len < 590 ? s[i].len : 590), s[i].ptr);
        if (json) {
            if (i) putchar(',');
            json_str(buf);
        } else {
            printf("  %s\n", buf);
        }
    }
    if (json) putchar(']');
}

int px_info_onnx(px_context *ctx, px_model *m, const char *path, int json, const char *const *keys,
                 const char *const *vals, int32_t n_opts) {
    int64_t nt = px_model_tensor_count(m);
    uint64_t wbytes = 0;
    for (int64_t i = 0; i < nt; i++) {
        px_tensor_info ti;
        if (px_model_tensor_get(m, i, &ti) == PX_OK) wbytes += ti.nbytes;
    }
    if (json) {
        printf("{\"file\":");
        json_str(path);
        printf(",\"format\":\"onnx\"");
    } else {
        printf("file:        %s\nformat:      onnx\n", path);
    }
    for (int64_t i = 0; i < px_model_meta_count(m); i++) {
        const char *k;
        px_meta_value v;
        if (px_model_meta_get(m, i, &k, &v) != PX_OK || v.type == PX_META_ARRAY) continue;
        if (!strcmp(k, "general.architecture")) continue;
        char val[300];
        if (v.type == PX_META_STRING) snprintf(val, sizeof val, "%.*s", (int)(v.u.str.len < 290 ? v.u.str.len : 290), v.u.str.ptr);
        else snprintf(val, sizeof val, "%lld", (long long)v.u.i64);
        if (json) {
            putchar(',');
            json_str(k);
            putchar(':');
            json_str(val);
        } else {
            printf("%-28s %s\n", k, val);
        }
    }
    if (json) printf(",\"initializers\":%lld,\"initializer_bytes\":%llu", (long long)nt, (unsigned long long)wbytes);
    else printf("initializers: %lld (%.2f MiB)\n", (long long)nt, (double)wbytes / (1024.0 * 1024.0));
    print_list(m, "onnx.inputs", "inputs", json);
    print_list(m, "onnx.outputs", "outputs", json);
    print_list(m, "onnx.ops", "ops", json);
    /* import: names unsupported ops, or plans memory */
    px_graph *g = NULL;
    px_program *p = NULL;
    char why[1024] = "";
    if (px_model_build_graph_with(m, keys, vals, n_opts, &g) != PX_OK) {
        snprintf(why, sizeof why, "%s", px_last_error());
    } else {
        px_program_options po = px_program_options_default();
        po.plan_only = 1;
        if (px_program_create(ctx, g, &po, &p) != PX_OK) snprintf(why, sizeof why, "%s", px_last_error());
    }
    if (json) {
        printf(",\"importable\":%s", p ? "true" : "false");
        if (!p) {
            printf(",\"import_error\":");
            json_str(why);
        } else {
            printf(",\"nodes\":%d,\"plan\":[", px_graph_node_count(g));
            for (int32_t i = 0; i < px_program_device_count(p); i++) {
                px_program_memory mem;
                if (px_program_memory_report(p, i, &mem)) continue;
                printf("%s{\"device\":", i ? "," : "");
                json_str(mem.device);
                printf(",\"weights\":%llu,\"state\":%llu,\"arena\":%llu}", (unsigned long long)mem.weights,
                       (unsigned long long)mem.state, (unsigned long long)mem.arena);
            }
            putchar(']');
        }
        printf("}\n");
    } else if (!p) {
        printf("import:      not possible: %s\n", why);
    } else {
        printf("import:      %d IR nodes\nplan:        per device (nothing allocated):\n", px_graph_node_count(g));
        for (int32_t i = 0; i < px_program_device_count(p); i++) {
            px_program_memory mem;
            if (px_program_memory_report(p, i, &mem)) continue;
            printf("  %-10s weights %.2f MiB, state %.2f MiB, arena %.2f MiB\n", mem.device,
                   (double)mem.weights / 1048576.0, (double)mem.state / 1048576.0, (double)mem.arena / 1048576.0);
        }
    }
    px_program_destroy(p);
    px_graph_destroy(g);
    return 0;
}
