/* Shape and dtype inference for the ops CONV..LRN of ops.h. */
#include "graph.h"

px_status px_infer_vision(const px_graph *g, px_op op, const px_value *in, int32_t n_in, const px_attr *attrs,
                         int32_t n_attrs, px_dtype *out_dtype, px_shape *out_shape) {
    (void)g; (void)op; (void)in; (void)n_in; (void)attrs; (void)n_attrs; (void)out_dtype; (void)out_shape;
    return PX_ERR_NOT_FOUND;
}
