/* The plexus command: shared option parsing for subcommands. */
#ifndef PLEXUS_TOOLS_CLI_H
#define PLEXUS_TOOLS_CLI_H

#include "plexus/plexus.h"
#include "plexus/plugin.h"

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
/* Create a context from the common options; prints the error and returns
 * NULL on failure. */
px_context *px_cli_context(const px_cli_common *c);

int px_cmd_devices(int argc, char **argv);
int px_cmd_info(int argc, char **argv);
int px_cmd_tokenize(int argc, char **argv);
/* Commands still being written are weak so the tool links without them. */
__attribute__((weak)) int px_cmd_run(int argc, char **argv);
__attribute__((weak)) int px_cmd_chat(int argc, char **argv);
__attribute__((weak)) int px_cmd_logits(int argc, char **argv);
__attribute__((weak)) int px_cmd_synth(int argc, char **argv);

#endif
