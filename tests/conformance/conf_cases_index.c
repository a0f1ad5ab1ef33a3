/* Conformance cases for the index ops appended for the ONNX importer. */
#include "conf.h"

void conf_generate_index(px_op op, crng *r, case_sink sink, void *ctx) {
    (void)op; (void)r; (void)sink; (void)ctx;
}
