/* The plexus command: shared option parsing for subcommands. */
#ifndef PLEXUS_TOOLS_CLI_H
#define PLEXUS_TOOLS_CLI_H

#include "plexus/plexus.h"
#include "plexus/plugin.h"
#include "plexus/llm.h"

/* Options every subcommand understands. */
typedef struct px_cli_common {
    const char *config;      /* --config FILE.ini */
    const char *plugin_dir;  /* --plugin-dir DIRS */
    int32_t threads;         /* -t N */
    int32_t verbose;         /* -v / --verbose */
    int32_t json;            /* --json */
} px_cli_common;

/* Parse a common option at argv[*i]; returns 1 if taken (advancing *i past
 * its value), 0 if not a common option, -1 on a bad value (message printed). */
int px_cli_common_arg(px_cli_common *c, int argc, char **argv, int *i);
/* The end of every command's option loop: -h/--help (prints usage), the
 * common options, else "unknown option" with the usage. Returns -1 when the
 * argument was taken (go on), otherwise the command's exit code (0 for
 * help, 2 for a bad option). */
int px_cli_tail_arg(px_cli_common *c, const char *cmd, int argc, char **argv, int *i, void (*cmd_usage)(void));
/* Create a context from the common options; prints the error and returns
 * NULL on failure. */
px_context *px_cli_context(const px_cli_common *c);

/* Options of the commands that load a language model (cmd_llm_common.c). */
typedef struct px_cli_llm {
    const char *model; /* -m FILE */
    const char *hf;    /* -hf REPO/FILE */
    px_llm_params params;
} px_cli_llm;
void px_cli_llm_init(px_cli_llm *o);
/* Like px_cli_common_arg, for -m, -hf, -c, -b, --cache-type/-ctk, -ngl, --device. */
int px_cli_llm_arg(px_cli_llm *o, int argc, char **argv, int *i);
/* Load the model (downloading it for -hf); prints the error and returns -1. */
int px_cli_llm_load(px_cli_llm *o, px_context *ctx, px_llm **out);
/* Tokenize a prompt (control tokens in the text are parsed); prints errors. */
int px_cli_tokenize(const px_llm *llm, const char *text, int add_special, int32_t **ids, int32_t *n);
/* Sampling flags (--temp, --top-k, ...): 1 if taken, 0 if not, -1 on error. */
int px_cli_sampling_arg(px_sampler_params *s, int argc, char **argv, int *i);
/* Whole file, NUL-terminated (NULL if unreadable). */
char *px_cli_read_file(const char *path, size_t *len);
/* "f16" / "f32" / "q8_0" -> dtype; -1 if unknown. */
int px_cli_cache_type(const char *s, px_dtype *out);
/* tools/hf.c: resolve a -hf spec (OWNER/REPO/FILE.gguf or OWNER/REPO[:QUANT])
 * to a local file, downloading it into the cache if needed. Prints errors;
 * returns 0 and a malloc'd path. */
int px_hf_resolve(const char *spec, int verbose, char **out_path);

int px_cmd_devices(int argc, char **argv);
int px_cmd_info(int argc, char **argv);
int px_cmd_tokenize(int argc, char **argv);
int px_cmd_run(int argc, char **argv);
int px_cmd_chat(int argc, char **argv);
int px_cmd_logits(int argc, char **argv);
int px_cmd_synth(int argc, char **argv);
int px_cmd_bench(int argc, char **argv);
int px_cmd_quantize(int argc, char **argv);
int px_cmd_onnx_run(int argc, char **argv);
/* plexus info for an ONNX model (cmd_info_onnx.c); options are build options
 * (shape.NAME / dim.PARAM). */
int px_info_onnx(px_context *ctx, px_model *m, const char *path, int json, const char *const *keys,
                 const char *const *vals, int32_t n_opts);

#endif
