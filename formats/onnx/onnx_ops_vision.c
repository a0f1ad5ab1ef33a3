/* ONNX vision ops: Conv, ConvTranspose, pooling, Pad, Resize, LRN, ... */
#include "onnx_import.h"

const ox_op ox_ops_vision[] = {
    {NULL, NULL},
};
