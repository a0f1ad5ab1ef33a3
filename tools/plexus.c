/* plexus — the command-line front end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: plexus <command> [options]\n"
            "\n"
            "commands:\n"
            "  run         generate text: -m FILE -p PROMPT [-n N] [--temp T] ... (run -h for all options)\n"
            "  chat        chat with a model's template: -m FILE [-sys TEXT] [--chat-template NAME]\n"
            "  info        describe a model file and plan its memory: -m FILE [-c N] [--json]\n"
            "  tokenize    token ids of a text: -m FILE (-p TEXT | -f FILE) [--ids] [--json]\n"
            "  logits      logits of the last prompt position: -m FILE -p TEXT [--json] [--all]\n"
            "  bench       speed: -m FILE [-p 512] [-n 128] [-r 5] [-o md|csv|json] (llama-bench's pp/tg)\n"
            "  synth       write a random-weight GGUF in a real model's shapes: --preset NAME -o FILE\n"
            "  quantize    convert a GGUF's matrices: IN.gguf OUT.gguf TYPE [-t N] (Q8_0, Q4_0, ..., Q6_K)\n"
            "  onnx-run    run an ONNX model on TensorProto inputs: MODEL.onnx --input NAME=IN.pb --output-dir DIR\n"
            "  devices     list plugins, devices and kernels (--json for machine-readable output)\n"
            "  -m FILE may be replaced by -hf OWNER/REPO/FILE.gguf or -hf OWNER/REPO[:QUANT] (downloaded once)\n"
            "\n"
            "common options:\n"
            "  --config FILE.ini   deployment config (see docs/config.md)\n"
            "  --plugin-dir DIRS   colon-separated plugin folders (overrides PLEXUS_PLUGIN_PATH)\n"
            "  -t, --threads N     worker threads\n"
            "  -v, --verbose       log plugin search and scheduling to stderr\n"
            "  --version           print the version\n");
}

int px_cli_common_arg(px_cli_common *c, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    const char *val = NULL;
#define TAKE()                                                           \
    do {                                                                 \
        if (*i + 1 >= argc) {                                            \
            fprintf(stderr, "plexus: option %s needs a value\n", a);     \
            return -1;                                                   \
        }                                                                \
        val = argv[++*i];                                                \
    } while (0)
    if (strcmp(a, "--config") == 0 || strcmp(a, "-C") == 0) {
        TAKE();
        c->config = val;
        return 1;
    }
    if (strcmp(a, "--plugin-dir") == 0) {
        TAKE();
        c->plugin_dir = val;
        return 1;
    }
    if (strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) {
        TAKE();
        char *end;
        long n = strtol(val, &end, 10);
        if (*end || n < 1 || n > 512) {
            fprintf(stderr, "plexus: %s expects a thread count 1..512, got '%s'\n", a, val);
            return -1;
        }
        c->threads = (int32_t)n;
        return 1;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
        c->verbose = 1;
        return 1;
    }
    if (strcmp(a, "--json") == 0) {
        c->json = 1;
        return 1;
    }
#undef TAKE
    return 0;
}

int px_cli_tail_arg(px_cli_common *c, const char *cmd, int argc, char **argv, int *i, void (*cmd_usage)(void)) {
    const char *a = argv[*i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        cmd_usage();
        return 0;
    }
    int r = px_cli_common_arg(c, argc, argv, i);
    if (r > 0) return -1;
    if (r == 0) {
        fprintf(stderr, "plexus %s: unknown option '%s'\n", cmd, a);
        cmd_usage();
    }
    return 2;
}

px_context *px_cli_context(const px_cli_common *c) {
    px_context_options o = px_context_options_default();
    o.config_path = c->config;
    o.plugin_dir = c->plugin_dir;
    o.n_threads = c->threads;
    o.verbose = c->verbose;
    px_context *ctx = NULL;
    px_status st = px_context_create(&o, &ctx);
    if (st != PX_OK) {
        fprintf(stderr, "plexus: %s\n", px_last_error());
        return NULL;
    }
    return ctx;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("plexus %s (plugin ABI %u.%u)\n", px_version(), PX_ABI_MAJOR, PX_ABI_MINOR);
        return 0;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"devices", px_cmd_devices}, {"info", px_cmd_info},   {"tokenize", px_cmd_tokenize},
        {"run", px_cmd_run},         {"chat", px_cmd_chat},   {"logits", px_cmd_logits},
        {"synth", px_cmd_synth},     {"bench", px_cmd_bench}, {"quantize", px_cmd_quantize},
        {"onnx-run", px_cmd_onnx_run},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(cmd, cmds[i].name) != 0) continue;
        return cmds[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "plexus: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
