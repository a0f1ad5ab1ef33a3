/* Op names. */
#include <string.h>
#include <strings.h>

#include "plexus/ops.h"

static const char *const px_op_names[PX_OP_COUNT] = {
    [PX_OP_INVALID] = "invalid",
    [PX_OP_ADD] = "add", [PX_OP_SUB] = "sub", [PX_OP_MUL] = "mul", [PX_OP_DIV] = "div",
    [PX_OP_POW] = "pow", [PX_OP_MIN] = "min", [PX_OP_MAX] = "max",
    [PX_OP_NEG] = "neg", [PX_OP_ABS] = "abs", [PX_OP_EXP] = "exp", [PX_OP_LOG] = "log",
    [PX_OP_SQRT] = "sqrt", [PX_OP_RSQRT] = "rsqrt", [PX_OP_SIN] = "sin", [PX_OP_COS] = "cos",
    [PX_OP_TANH] = "tanh", [PX_OP_ERF] = "erf", [PX_OP_SIGMOID] = "sigmoid",
    [PX_OP_RELU] = "relu", [PX_OP_GELU] = "gelu", [PX_OP_SILU] = "silu",
    [PX_OP_SCALE] = "scale", [PX_OP_MATMUL] = "matmul", [PX_OP_GATHER] = "gather",
    [PX_OP_CONCAT] = "concat", [PX_OP_SLICE] = "slice", [PX_OP_RESHAPE] = "reshape",
    [PX_OP_PERMUTE] = "permute", [PX_OP_COPY] = "copy",
    [PX_OP_REDUCE_SUM] = "reduce_sum", [PX_OP_REDUCE_MEAN] = "reduce_mean",
    [PX_OP_REDUCE_MAX] = "reduce_max", [PX_OP_REDUCE_MIN] = "reduce_min",
    [PX_OP_SOFTMAX] = "softmax", [PX_OP_LOG_SOFTMAX] = "log_softmax",
    [PX_OP_RMS_NORM] = "rms_norm", [PX_OP_LAYER_NORM] = "layer_norm", [PX_OP_ROPE] = "rope",
    [PX_OP_ATTENTION] = "attention", [PX_OP_SWIGLU] = "swiglu", [PX_OP_CAST] = "cast",
    [PX_OP_WHERE] = "where", [PX_OP_EQUAL] = "equal", [PX_OP_NOT_EQUAL] = "not_equal",
    [PX_OP_LESS] = "less", [PX_OP_LESS_EQUAL] = "less_equal", [PX_OP_GREATER] = "greater",
    [PX_OP_GREATER_EQUAL] = "greater_equal", [PX_OP_CUMSUM] = "cumsum",
    [PX_OP_ARGMAX] = "argmax", [PX_OP_SET_ROWS] = "set_rows", [PX_OP_ARANGE] = "arange",
    [PX_OP_EXPAND] = "expand", [PX_OP_NOT] = "not", [PX_OP_AND] = "and", [PX_OP_OR] = "or",
    [PX_OP_XOR] = "xor", [PX_OP_FLOOR] = "floor", [PX_OP_CEIL] = "ceil", [PX_OP_ROUND] = "round",
    [PX_OP_SIGN] = "sign", [PX_OP_RECIPROCAL] = "reciprocal", [PX_OP_TAN] = "tan",
    [PX_OP_ASIN] = "asin", [PX_OP_ACOS] = "acos", [PX_OP_ATAN] = "atan", [PX_OP_SINH] = "sinh",
    [PX_OP_COSH] = "cosh", [PX_OP_ASINH] = "asinh", [PX_OP_ACOSH] = "acosh",
    [PX_OP_ATANH] = "atanh", [PX_OP_SOFTPLUS] = "softplus", [PX_OP_ISNAN] = "isnan",
    [PX_OP_ISINF] = "isinf", [PX_OP_MOD] = "mod", [PX_OP_BITSHIFT] = "bitshift",
    [PX_OP_BITWISE_AND] = "bitwise_and", [PX_OP_BITWISE_OR] = "bitwise_or",
    [PX_OP_BITWISE_XOR] = "bitwise_xor", [PX_OP_BITWISE_NOT] = "bitwise_not",
    [PX_OP_REDUCE_PROD] = "reduce_prod", [PX_OP_ARGMIN] = "argmin",
    [PX_OP_GATHER_ELEMENTS] = "gather_elements", [PX_OP_GATHER_ND] = "gather_nd",
    [PX_OP_SCATTER_ELEMENTS] = "scatter_elements", [PX_OP_SCATTER_ND] = "scatter_nd",
    [PX_OP_TOPK] = "topk", [PX_OP_CONV] = "conv", [PX_OP_CONV_TRANSPOSE] = "conv_transpose",
    [PX_OP_MAX_POOL] = "max_pool", [PX_OP_AVG_POOL] = "avg_pool", [PX_OP_LP_POOL] = "lp_pool",
    [PX_OP_PAD] = "pad", [PX_OP_RESIZE] = "resize", [PX_OP_LRN] = "lrn", [PX_OP_GRID_SAMPLE] = "grid_sample",
};

const char *px_op_name(px_op op) {
    if ((int)op <= 0 || op >= PX_OP_COUNT || !px_op_names[op]) return "invalid";
    return px_op_names[op];
}

px_op px_op_from_name(const char *name) {
    if (!name) return PX_OP_INVALID;
    for (int i = 1; i < PX_OP_COUNT; i++)
        if (px_op_names[i] && strcasecmp(px_op_names[i], name) == 0) return (px_op)i;
    return PX_OP_INVALID;
}

int px_op_is_composite(px_op op) {
    return op == PX_OP_RMS_NORM || op == PX_OP_SWIGLU || op == PX_OP_ROPE || op == PX_OP_ATTENTION;
}
