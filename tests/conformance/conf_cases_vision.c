/* Conformance cases for the vision ops appended for the ONNX importer. */
#include "conf.h"

void conf_generate_vision(px_op op, crng *r, case_sink sink, void *ctx) {
    (void)op; (void)r; (void)sink; (void)ctx;
}
