/* plexus info: placeholder until the GGUF runtime lands (in progress). */
#include <stdio.h>

#include "cli.h"

int px_cmd_info(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "plexus info: not available yet\n");
    return 2;
}
