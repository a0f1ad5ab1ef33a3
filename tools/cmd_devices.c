/* plexus devices: plugins found, their ABI versions, devices and kernels. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void json_str(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static const char *kind_name(int32_t k) {
    return k == PX_DEVICE_GPU ? "gpu" : k == PX_DEVICE_NPU ? "npu" : "cpu";
}

static void print_text(px_context *ctx) {
    printf("plexus %s, plugin ABI %u.%u, %d thread(s)\n", px_version(), PX_ABI_MAJOR, PX_ABI_MINOR,
           px_context_threads(ctx));
    printf("plugin search path:\n");
    for (int32_t i = 0; i < px_context_search_dir_count(ctx); i++) printf("  %s\n", px_context_search_dir(ctx, i));
    printf("plugins:\n");
    for (int32_t i = 0; i < px_context_plugin_count(ctx); i++) {
        px_plugin_report r;
        px_context_plugin_report(ctx, i, &r);
        if (r.loaded)
            printf("  %-10s %-8s ABI %u.%u  score %-4d %s  (%s)\n", r.name, r.version, r.abi_major, r.abi_minor, r.score,
                   r.path, r.detail);
        else
            printf("  %-10s refused: %s  (%s)\n", r.name ? r.name : "?", r.detail, r.path);
    }
    printf("devices:\n");
    for (int32_t i = 0; i < px_context_device_count(ctx); i++) {
        px_device_report d;
        px_context_device_report(ctx, i, &d);
        printf("  %-10s %s  %s  memory %.1f GiB (%.1f GiB free)  align %u%s%s\n", d.id, kind_name(d.kind), d.name,
               (double)d.mem_total / (1 << 30), (double)d.mem_free / (1 << 30), d.alignment,
               (d.flags & PX_DEVICE_HOST_VISIBLE) ? "  host-visible" : "", d.graph_mode ? "  graph-mode" : "");
        printf("    kernels (%d):", d.n_kernels);
        int col = 0;
        for (int op = 1; op < PX_OP_COUNT; op++) {
            int32_t n = px_context_kernel_count(ctx, i, (px_op)op);
            if (!n) continue;
            if (col++ % 6 == 0) printf("\n     ");
            printf(" %s", px_op_name((px_op)op));
            if (n > 1) printf("(x%d)", n);
        }
        printf("\n");
    }
}

static void print_json(px_context *ctx) {
    printf("{\"version\":");
    json_str(px_version());
    printf(",\"abi\":{\"major\":%u,\"minor\":%u},\"threads\":%d,\"search_path\":[", PX_ABI_MAJOR, PX_ABI_MINOR,
           px_context_threads(ctx));
    for (int32_t i = 0; i < px_context_search_dir_count(ctx); i++) {
        if (i) putchar(',');
        json_str(px_context_search_dir(ctx, i));
    }
    printf("],\"plugins\":[");
    for (int32_t i = 0; i < px_context_plugin_count(ctx); i++) {
        px_plugin_report r;
        px_context_plugin_report(ctx, i, &r);
        printf("%s{\"path\":", i ? "," : "");
        json_str(r.path);
        printf(",\"name\":");
        if (r.name) json_str(r.name);
        else printf("null");
        printf(",\"version\":");
        if (r.version) json_str(r.version);
        else printf("null");
        printf(",\"abi\":{\"major\":%u,\"minor\":%u},\"loaded\":%s,\"score\":%d,\"detail\":", r.abi_major, r.abi_minor,
               r.loaded ? "true" : "false", r.score);
        json_str(r.detail);
        printf("}");
    }
    printf("],\"devices\":[");
    for (int32_t i = 0; i < px_context_device_count(ctx); i++) {
        px_device_report d;
        px_context_device_report(ctx, i, &d);
        printf("%s{\"id\":", i ? "," : "");
        json_str(d.id);
        printf(",\"plugin\":");
        json_str(d.plugin);
        printf(",\"kind\":\"%s\",\"name\":", kind_name(d.kind));
        json_str(d.name);
        printf(",\"memory_total\":%llu,\"memory_free\":%llu,\"alignment\":%u,\"host_visible\":%s,\"graph_mode\":%s,"
               "\"kernels\":{",
               (unsigned long long)d.mem_total, (unsigned long long)d.mem_free, d.alignment,
               (d.flags & PX_DEVICE_HOST_VISIBLE) ? "true" : "false", d.graph_mode ? "true" : "false");
        int first = 1;
        for (int op = 1; op < PX_OP_COUNT; op++) {
            int32_t n = px_context_kernel_count(ctx, i, (px_op)op);
            if (!n) continue;
            printf("%s\"%s\":%d", first ? "" : ",", px_op_name((px_op)op), n);
            first = 0;
        }
        printf("}}");
    }
    printf("]}\n");
}

int px_cmd_devices(int argc, char **argv) {
    px_cli_common c = {0};
    for (int i = 1; i < argc; i++) {
        int r = px_cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 2;
        if (r == 0) {
            fprintf(stderr, "plexus devices: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    px_context *ctx = px_cli_context(&c);
    if (!ctx) return 1;
    if (c.json) print_json(ctx);
    else print_text(ctx);
    px_context_destroy(ctx);
    return 0;
}
