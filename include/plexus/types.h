/* Plexus — basic types shared by the public API and the plugin ABI.
 *
 * This header is part of the ABI: enum values are stable, new values are only
 * ever appended.
 */
#ifndef PLEXUS_TYPES_H
#define PLEXUS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define PX_EXPORT __declspec(dllexport)
#else
#define PX_EXPORT __attribute__((visibility("default")))
#endif

#if defined(__GNUC__)
#define PX_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define PX_PRINTF(fmt_idx, arg_idx)
#endif

/* Status codes. Every fallible call returns one; PX_OK is 0 and every error
 * is negative. The message that goes with an error is available from
 * px_last_error() on the thread that made the call (see plexus.h).          */
typedef enum px_status {
    PX_OK = 0,
    PX_ERR_INVALID_ARG = -1,  /* a caller broke a documented precondition      */
    PX_ERR_NO_MEMORY = -2,    /* host or device allocation failed              */
    PX_ERR_UNSUPPORTED = -3,  /* valid request this build/device cannot do     */
    PX_ERR_IO = -4,           /* open/read/mmap of a file failed               */
    PX_ERR_FORMAT = -5,       /* a file's content is malformed                 */
    PX_ERR_ABI = -6,          /* plugin and host ABI versions are incompatible */
    PX_ERR_NOT_FOUND = -7,    /* a named thing (plugin, value, key) is missing */
    PX_ERR_DEVICE = -8,       /* a device or driver call failed                */
    PX_ERR_SHAPE = -9,        /* shapes do not agree                           */
    PX_ERR_DTYPE = -10,       /* dtypes do not agree or are not supported      */
    PX_ERR_CONFIG = -11,      /* configuration (ini file, options) is invalid  */
    PX_ERR_INTERNAL = -12,    /* a bug in Plexus or a plugin                   */
    PX_ERR_RANGE = -13        /* a value is outside its allowed range          */
} px_status;

/* Element types. The block-quantized types use exactly the block layouts of
 * the GGUF file format, so tensor data from a GGUF file is read unchanged.
 * Elements of a quantized tensor are grouped in blocks along the innermost
 * (last, fastest varying) dimension; that dimension must be a multiple of the
 * block size.                                                                */
typedef enum px_dtype {
    PX_F32 = 0,
    PX_F16 = 1,
    PX_BF16 = 2,
    PX_F64 = 3,
    PX_I8 = 4,
    PX_I16 = 5,
    PX_I32 = 6,
    PX_I64 = 7,
    PX_U8 = 8,
    PX_U16 = 9,
    PX_U32 = 10,
    PX_U64 = 11,
    PX_BOOL = 12,  /* one byte, 0 or 1 */
    PX_Q4_0 = 13,  /* 32 elts, 18 B: f16 d; u8 qs[16]                          */
    PX_Q4_1 = 14,  /* 32 elts, 20 B: f16 d, m; u8 qs[16]                       */
    PX_Q5_0 = 15,  /* 32 elts, 22 B: f16 d; u8 qh[4]; u8 qs[16]                */
    PX_Q5_1 = 16,  /* 32 elts, 24 B: f16 d, m; u8 qh[4]; u8 qs[16]             */
    PX_Q8_0 = 17,  /* 32 elts, 34 B: f16 d; i8 qs[32]                          */
    PX_Q2_K = 18,  /* 256 elts, 84 B: u8 scales[16]; u8 qs[64]; f16 d, dmin    */
    PX_Q3_K = 19,  /* 256 elts, 110 B: u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d */
    PX_Q4_K = 20,  /* 256 elts, 144 B: f16 d, dmin; u8 scales[12]; u8 qs[128]  */
    PX_Q5_K = 21,  /* 256 elts, 176 B: f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] */
    PX_Q6_K = 22,  /* 256 elts, 210 B: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d */
    PX_IQ4_NL = 23,/* 32 elts, 18 B: f16 d; u8 qs[16] (non-linear 4-bit codebook) */
    /* Small floats and sub-byte integers (the ONNX element types). Each
     * element takes one byte in memory; only file formats pack them.
     * Float8 layouts s.eeee.mmm (E4M3) / s.eeeee.mm (E5M2):
     *   FN: no infinities, NaN = s.1111.111, max 448;
     *   FNUZ: no infinities, no negative zero, NaN = 0x80 only, bias one more;
     *   E5M2: IEEE-like (inf = s.11111.00), max 57344.                       */
    PX_F8E4M3FN = 24,   /* bias 7, max 448                                      */
    PX_F8E4M3FNUZ = 25, /* bias 8, max 240                                      */
    PX_F8E5M2 = 26,     /* bias 15, max 57344, +-inf                            */
    PX_F8E5M2FNUZ = 27, /* bias 16, max 57344                                   */
    PX_F8E8M0 = 28,     /* unsigned power of two 2^(b-127), 0xFF = NaN, no zero */
    PX_F4E2M1 = 29,     /* s.ee.m in the low 4 bits: 0, .5, 1, 1.5, 2, 3, 4, 6  */
    PX_I4 = 30,         /* -8..7, sign-extended in an int8                      */
    PX_U4 = 31,         /* 0..15 in the low 4 bits                              */
    PX_I2 = 32,         /* -2..1, sign-extended in an int8                      */
    PX_U2 = 33,         /* 0..3 in the low 2 bits                               */
    PX_DTYPE_COUNT
} px_dtype;

/* Maximum rank of a tensor. */
#define PX_MAX_DIMS 8

/* A tensor as a kernel sees it at run time: concrete shape, row-major,
 * contiguous (the last dimension varies fastest). A rank-0 tensor is a
 * scalar with one element.
 *
 * `buffer` and `offset` name the memory on the owning device. `data` is the
 * host address of element 0 when the memory is host-visible, else NULL: a
 * kernel of a device with separate memory resolves buffer+offset itself.   */
typedef struct px_tensor {
    void *data;
    void *buffer;
    uint64_t offset;
    px_dtype dtype;
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
} px_tensor;

#ifdef __cplusplus
}
#endif
#endif
