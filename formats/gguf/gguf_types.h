/* Facts of the GGUF format shared by the reader and the writer. */
#ifndef PLEXUS_GGUF_TYPES_H
#define PLEXUS_GGUF_TYPES_H

#include "plexus/plugin.h"

/* Bytes of a scalar metadata value of type t; 0 for strings and arrays. */
static inline int gguf_scalar_size(int32_t t) {
    switch (t) {
    case PX_META_U8: case PX_META_I8: case PX_META_BOOL: return 1;
    case PX_META_U16: case PX_META_I16: return 2;
    case PX_META_U32: case PX_META_I32: case PX_META_F32: return 4;
    case PX_META_U64: case PX_META_I64: case PX_META_F64: return 8;
    default: return 0;
    }
}

/* ggml type ids (GGUF tensor types) and the px_dtype of each. */
static const struct {
    uint32_t ggml;
    px_dtype dtype;
} gguf_type_map[] = {
    {0, PX_F32},   {1, PX_F16},   {2, PX_Q4_0},  {3, PX_Q4_1},  {6, PX_Q5_0},  {7, PX_Q5_1},   {8, PX_Q8_0},
    {10, PX_Q2_K}, {11, PX_Q3_K}, {12, PX_Q4_K}, {13, PX_Q5_K}, {14, PX_Q6_K}, {20, PX_IQ4_NL}, {24, PX_I8},
    {25, PX_I16},  {26, PX_I32},  {27, PX_I64},  {28, PX_F64},  {30, PX_BF16},
};
#define GGUF_N_TYPES ((int)(sizeof gguf_type_map / sizeof *gguf_type_map))

/* px_dtype of a ggml type id, or -1. */
static inline int gguf_to_dtype(uint32_t ggml) {
    for (int i = 0; i < GGUF_N_TYPES; i++)
        if (gguf_type_map[i].ggml == ggml) return gguf_type_map[i].dtype;
    return -1;
}
/* ggml type id of a px_dtype, or -1 (GGUF has no unsigned or bool tensors). */
static inline int gguf_from_dtype(px_dtype t) {
    for (int i = 0; i < GGUF_N_TYPES; i++)
        if (gguf_type_map[i].dtype == t) return (int)gguf_type_map[i].ggml;
    return -1;
}

#endif
