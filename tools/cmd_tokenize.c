/* plexus tokenize: placeholder until the GGUF runtime lands (in progress). */
#include <stdio.h>

#include "cli.h"

int px_cmd_tokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "plexus tokenize: not available yet\n");
    return 2;
}
