/* Conformance oracle for the vision ops appended for the ONNX importer. */
#include "oracle_internal.h"

int oracle_vision(px_op op, const px_attr *attrs, int32_t n_attrs, const otensor *in, int32_t n_in, oresult *out,
                 char *msg, size_t msg_cap) {
    (void)op; (void)attrs; (void)n_attrs; (void)in; (void)n_in; (void)out; (void)msg; (void)msg_cap;
    return ORACLE_NOT_MINE;
}
