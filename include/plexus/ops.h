/* Plexus — the op set. This header is the specification of every op.
 *
 * Conventions
 *  - Shapes are row-major: dimension 0 is outermost, the last dimension is
 *    contiguous. Negative axes count from the end (-1 is the last).
 *  - "Broadcast" means numpy broadcasting: shapes are right-aligned, and each
 *    pair of dims must be equal or one of them 1.
 *  - "Float" dtypes are F32, F16, BF16, F64. Unless an op says otherwise, its
 *    inputs share one dtype and the output has that dtype. Kernels compute in
 *    at least F32 precision and round once on store.
 *  - Attributes are named; an attribute not given takes the default written
 *    next to it. Types: i = int64, f = double, ints = int64 list,
 *    floats = float list, s = string.
 *  - Inputs marked (opt) may be absent: pass PX_NONE (-1) in their slot, or
 *    leave trailing optional inputs out.
 *  - "Composite" ops have a decomposition into primitives that the core uses
 *    when the chosen device has no kernel for them.
 *
 * Enum values are part of the ABI: append only.
 */
#ifndef PLEXUS_OPS_H
#define PLEXUS_OPS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum px_op {
    PX_OP_INVALID = 0,

    /* ---- binary elementwise, broadcast: (a, b) -> out ---------------------
     * Inputs of one dtype (float or integer), output of that dtype.
     * Integer overflow wraps. DIV on integers truncates toward zero;
     * division by zero on integers gives 0. POW on integers is exact for
     * non-negative exponents; a negative exponent gives the real result
     * truncated toward zero.                                              */
    PX_OP_ADD = 1,
    PX_OP_SUB = 2,
    PX_OP_MUL = 3,
    PX_OP_DIV = 4,
    PX_OP_POW = 5,
    PX_OP_MIN = 6,
    PX_OP_MAX = 7,

    /* ---- unary elementwise: (x) -> out, float dtypes (NEG and ABS also on
     * signed integers) -------------------------------------------------- */
    PX_OP_NEG = 8,
    PX_OP_ABS = 9,
    PX_OP_EXP = 10,
    PX_OP_LOG = 11,
    PX_OP_SQRT = 12,
    PX_OP_RSQRT = 13,     /* 1/sqrt(x)                                        */
    PX_OP_SIN = 14,
    PX_OP_COS = 15,
    PX_OP_TANH = 16,
    PX_OP_ERF = 17,
    PX_OP_SIGMOID = 18,   /* 1/(1+exp(-x))                                    */
    PX_OP_RELU = 19,      /* max(x, 0)                                        */
    PX_OP_GELU = 20,      /* attr approximate:i = 0: x*0.5*(1+erf(x/sqrt2));
                             1: 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715x^3)))   */
    PX_OP_SILU = 21,      /* x*sigmoid(x)                                     */
    PX_OP_SCALE = 22,     /* x*scale + bias; attrs scale:f = 1, bias:f = 0    */

    /* ---- matmul -----------------------------------------------------------
     * (a [..., M, K], b, bias (opt) [N]) -> out [..., M, N]
     *  attr trans_b:i = 0. With trans_b = 0, b is [..., K, N];
     *  with trans_b = 1, b is [..., N, K] (the weight layout of GGUF files:
     *  each output row's K weights are contiguous).
     *  Batch dims of a and b broadcast; a rank-2 b is shared by all batches.
     *  a: float. out: a's dtype, except F64 only with F64 b.
     *  b: F32/F16/BF16/F64, or any block-quantized dtype when trans_b = 1
     *     (then K must be a multiple of the block size).
     *  bias: F32 or a's dtype, added to every row.                          */
    PX_OP_MATMUL = 23,

    /* ---- gather ---------------------------------------------------------
     * (data [d0, ..., dr-1], indices (I32 or I64) [i...]) -> out
     *  attr axis:i = 0. out shape = data.shape[:axis] + indices.shape +
     *  data.shape[axis+1:]. Negative indices count from the end of the axis;
     *  an index out of range is an error reported by the kernel.
     *  With axis = 0 this is get_rows: data may be block-quantized (rows are
     *  dequantized); out is then F32 unless attr dtype:i (a px_dtype) says
     *  otherwise. For plain dtypes out has data's dtype.                  */
    PX_OP_GATHER = 24,

    /* ---- shape and layout --------------------------------------------- */
    PX_OP_CONCAT = 25,    /* (x0, x1, ...) -> out; attr axis:i (required).
                             All inputs share dtype and all dims but axis.   */
    PX_OP_SLICE = 26,     /* (x) -> out; attrs starts:ints, ends:ints,
                             axes:ints (default 0..n-1), steps:ints (default 1).
                             ONNX Slice semantics: negative starts/ends count
                             from the end once; then for step > 0 starts and
                             ends clamp to [0, dim], for step < 0 starts clamp
                             to [0, dim-1] and ends to [-1, dim-1]. Shapes
                             must be static along sliced axes.               */
    PX_OP_RESHAPE = 27,   /* (x) -> out; the output shape is given when the
                             node is built (px_graph_reshape). Element count
                             must agree. Never needs a kernel: the output
                             aliases the input's memory.                     */
    PX_OP_PERMUTE = 28,   /* (x) -> out; attr perm:ints (required), out dim i =
                             in dim perm[i]. Output is contiguous (a copy).  */
    PX_OP_COPY = 29,      /* (x) -> out; identical contiguous copy.          */

    /* ---- reductions: (x) -> out; attrs axes:ints (default all),
     * keepdims:i = 1. Float inputs; SUM, MAX, MIN also integers.
     * Reducing an empty axis: SUM 0, MEAN NaN, MAX -inf, MIN +inf (floats). */
    PX_OP_REDUCE_SUM = 30,
    PX_OP_REDUCE_MEAN = 31,
    PX_OP_REDUCE_MAX = 32,
    PX_OP_REDUCE_MIN = 33,

    /* ---- softmax ---------------------------------------------------------
     * (x, mask (opt)) -> out, over the last axis.
     *  y = softmax(x*scale + mask); attr scale:f = 1. mask broadcasts to x
     *  (typically [T, T_kv] for x [H, T, T_kv]) and may hold -inf.
     *  A row whose inputs are all -inf gives all zeros.                    */
    PX_OP_SOFTMAX = 34,
    PX_OP_LOG_SOFTMAX = 35,  /* (x) -> out, over attr axis:i = -1            */

    /* ---- normalisation (composite where noted) --------------------------
     * RMS_NORM (composite): (x [..., D], weight (opt) [D]) -> out
     *   y = x / sqrt(mean(x^2) + eps) * weight; attr eps:f = 1e-6.
     * LAYER_NORM: (x [..., D], weight (opt) [D], bias (opt) [D]) -> out
     *   y = (x - mean) / sqrt(var + eps) * weight + bias; attr eps:f = 1e-5.
     *   Both normalise over the last axis only.                           */
    PX_OP_RMS_NORM = 36,
    PX_OP_LAYER_NORM = 37,

    /* ---- RoPE (composite) -------------------------------------------------
     * (x [T, H, D], positions I32 [T], freq_factors (opt) F32 [n_dims/2])
     *   -> out [T, H, D]
     *  attrs n_dims:i = D (rotated dims, even, <= D; the rest pass through),
     *        mode:i = 0 (0: normal, pairs (2i, 2i+1); 2: neox, pairs
     *        (i, i + n_dims/2)), freq_base:f = 10000, freq_scale:f = 1.
     *  For pair i (0 <= i < n_dims/2) at position p:
     *   theta = p * freq_scale * freq_base^(-2i/n_dims) / freq_factors[i]
     *   (x0, x1) -> (x0*cos(theta) - x1*sin(theta), x0*sin(theta) + x1*cos(theta))
     *  x may also be [T, D] (one head).                                    */
    PX_OP_ROPE = 38,

    /* ---- attention (composite) ------------------------------------------
     * (q [T, Hq, D], k [Tk, Hkv, D], v [Tk, Hkv, Dv],
     *  k_cache (opt) [C, Hkv, D], v_cache (opt) [C, Hkv, Dv],
     *  positions (opt) I32 [T], mask (opt) [T, Tk'])  -> out [T, Hq, Dv]
     *  Hq must be a multiple of Hkv (grouped-query attention: query head h
     *  uses kv head h / (Hq/Hkv)).
     *  attrs causal:i = 1, window:i = 0 (sliding window: a query at position
     *  p sees keys at positions > p - window; 0 = unlimited),
     *  softcap:f = 0 (if > 0, logits s become softcap*tanh(s/softcap) before
     *  masking), scale:f = 1/sqrt(D).
     *  Without a cache: keys are k/v rows 0..Tk-1 at positions 0..Tk-1 and
     *  queries at positions given by `positions` (default 0..T-1 when absent).
     *  With a cache (both k_cache and v_cache, state values of dtype F16,
     *  F32 or Q8_0, positions required, Tk == T): first, for each token i,
     *  row positions[i] of each cache is overwritten with k[i] / v[i]
     *  (converted to the cache dtype); then query i attends to cache rows
     *  0..max(positions) (rows of the cache are positions), read back from the
     *  cache (so results reflect the cache dtype's rounding).
     *  `causal` hides keys at positions > the query's position.
     *  mask (F32), if given, is added to the scaled (and soft-capped) logits:
     *  [T or 1, K'] where K' is 1 or at least the number of keys; column j
     *  belongs to key j (with a cache: cache row j), so a [T, C] mask serves
     *  every run.
     *  A query that sees no key gives zeros.                               */
    PX_OP_ATTENTION = 39,

    /* ---- gated activations (composite) -----------------------------------
     * SWIGLU: (gate, up) -> silu(gate) * up, same shapes.                 */
    PX_OP_SWIGLU = 40,

    /* ---- cast ---------------------------------------------------------------
     * (x) -> out; attr dtype:i (a px_dtype, required), saturate:i = 1,
     * round_mode:i = 0. Any pair of dtypes; to/from block types
     * quantizes/dequantizes along the last axis. Rules of px_convert
     * (dtype.h); saturate = 0 is px_convert_ex's PX_CONVERT_NO_SATURATE
     * (float8 overflow gives inf/NaN, integer targets wrap around);
     * round_mode applies to F8E8M0 targets: 0 up, 1 down, 2 nearest (ties
     * up), PX_CONVERT_ROUND_DOWN / _NEAREST.                                 */
    PX_OP_CAST = 41,

    /* ---- select and compare ----------------------------------------------
     * WHERE: (cond BOOL, a, b) -> out, broadcast over all three;
     *   out = cond ? a : b, dtype of a (= b).
     * Comparisons: (a, b) -> out BOOL, broadcast, inputs of one dtype.     */
    PX_OP_WHERE = 42,
    PX_OP_EQUAL = 43,
    PX_OP_NOT_EQUAL = 44,
    PX_OP_LESS = 45,
    PX_OP_LESS_EQUAL = 46,
    PX_OP_GREATER = 47,
    PX_OP_GREATER_EQUAL = 48,

    /* ---- scans and index ops --------------------------------------------
     * CUMSUM: (x) -> out; attrs axis:i = 0, exclusive:i = 0, reverse:i = 0
     *   (ONNX CumSum semantics). Float or integer dtypes.
     * ARGMAX: (x) -> out I64; attrs axis:i = 0, keepdims:i = 1; the first
     *   maximal index wins. Float or integer input.                        */
    PX_OP_CUMSUM = 49,
    PX_OP_ARGMAX = 50,

    /* ---- state update -------------------------------------------------------
     * SET_ROWS: (dst [R, ...], src [N, ...], indices I32/I64 [N]) -> out
     *   Writes src row i into dst row indices[i] (converted to dst's dtype,
     *   which may be a block type). dst must be a STATE value; it is updated
     *   in place and `out` aliases it (use out to order later readers after
     *   the write). Out-of-range indices are an error reported by the kernel.
     *   Used by the decomposition of ATTENTION to write the KV cache.        */
    PX_OP_SET_ROWS = 51,

    /* ---- misc ----------------------------------------------------------------
     * ARANGE: () -> out [n]; attrs start:f = 0, step:f = 1, dtype:i = F32,
     *   n taken from the output shape given at build time
     *   (px_graph_arange). out[i] = start + i*step.                         */
    PX_OP_ARANGE = 52,

    /* ==== appended for the ONNX importer (values 53..) =====================
     * Unless noted: plain dtypes only (no block types); shapes static or
     * symbolic as for the ops above; "broadcast" as above.                  */

    /* EXPAND: (x) -> out; attr shape:ints (required) is the output shape,
     *   x broadcasts to it (numpy rules). Any plain dtype.                 */
    PX_OP_EXPAND = 53,

    /* ---- logical, BOOL in and out ------------------------------------------
     * NOT: (x) -> out. AND, OR, XOR: (a, b) -> out, broadcast.            */
    PX_OP_NOT = 54,
    PX_OP_AND = 55,
    PX_OP_OR = 56,
    PX_OP_XOR = 57,

    /* ---- more unary elementwise: (x) -> out, float dtypes unless noted ----
     * ROUND rounds half to even. SIGN: -1, 0, 1 (also on integer dtypes).
     * RECIPROCAL: 1/x. SOFTPLUS: log(1+exp(x)) without overflow.
     * ISNAN, ISINF: float in, BOOL out; ISINF attrs detect_positive:i = 1,
     * detect_negative:i = 1.                                              */
    PX_OP_FLOOR = 58,
    PX_OP_CEIL = 59,
    PX_OP_ROUND = 60,
    PX_OP_SIGN = 61,
    PX_OP_RECIPROCAL = 62,
    PX_OP_TAN = 63,
    PX_OP_ASIN = 64,
    PX_OP_ACOS = 65,
    PX_OP_ATAN = 66,
    PX_OP_SINH = 67,
    PX_OP_COSH = 68,
    PX_OP_ASINH = 69,
    PX_OP_ACOSH = 70,
    PX_OP_ATANH = 71,
    PX_OP_SOFTPLUS = 72,
    PX_OP_ISNAN = 73,
    PX_OP_ISINF = 74,

    /* ---- integer and bitwise binary ops, broadcast -------------------------
     * MOD: attr fmod:i = 0. fmod = 0: integers only, the result takes the
     *   sign of the divisor (Python's %); fmod = 1: C fmod (sign of the
     *   dividend), floats or integers. x mod 0 is 0 for integers.
     * BITSHIFT: unsigned integers, attr direction:i (0 = left, 1 = right);
     *   shifting by the bit width or more gives 0.
     * BITWISE_AND/OR/XOR: integers. BITWISE_NOT: (x) -> out, integers.   */
    PX_OP_MOD = 75,
    PX_OP_BITSHIFT = 76,
    PX_OP_BITWISE_AND = 77,
    PX_OP_BITWISE_OR = 78,
    PX_OP_BITWISE_XOR = 79,
    PX_OP_BITWISE_NOT = 80,

    /* REDUCE_PROD: as REDUCE_SUM (floats and integers); empty axis gives 1. */
    PX_OP_REDUCE_PROD = 81,
    /* ARGMIN: as ARGMAX, the first minimal index wins. Both ARGMAX and ARGMIN
     * take attr select_last_index:i = 0 (1: the last extremal index wins). */
    PX_OP_ARGMIN = 82,

    /* ---- indexed gather and scatter (ONNX semantics) -----------------------
     * Indices are I32 or I64; negative indices count from the end of their
     * axis; an index out of range is an error reported by the kernel.
     * GATHER_ELEMENTS: (data, indices) -> out; attr axis:i = 0; indices has
     *   data's rank; out has indices' shape and data's dtype:
     *   out[i..] = data[i.. with dim axis replaced by indices[i..]].
     * GATHER_ND: (data, indices) -> out; attr batch_dims:i = 0. The last dim
     *   of indices (q) indexes the first q dims after the batch dims; out
     *   shape = indices.shape[:-1] + data.shape[batch_dims + q:].
     * SCATTER_ELEMENTS: (data, indices, updates) -> out; attrs axis:i = 0,
     *   reduction:i = 0 (0 none, 1 add, 2 mul, 3 max, 4 min). out is a copy
     *   of data with each element of updates written (or combined) at the
     *   position GATHER_ELEMENTS would read. updates has indices' shape.
     * SCATTER_ND: (data, indices, updates) -> out; attr reduction:i = 0 as
     *   above. indices [..., q] addresses slices data[idx] (q <= rank);
     *   updates shape = indices.shape[:-1] + data.shape[q:]. Updates apply
     *   in index order, so with reduction 0 the last duplicate wins.       */
    PX_OP_GATHER_ELEMENTS = 83,
    PX_OP_GATHER_ND = 84,
    PX_OP_SCATTER_ELEMENTS = 85,
    PX_OP_SCATTER_ND = 86,

    /* TOPK: (x) -> out I64 indices; attrs k:i (required, 0 <= k <= dim),
     *   axis:i = -1, largest:i = 1, sorted:i = 1. out shape = x's with dim
     *   axis = k. Order: by value (descending if largest, else ascending),
     *   equal values by lower index first (also when sorted = 0). The values
     *   are GATHER_ELEMENTS(x, out, axis). NaN sorts as the largest value.  */
    PX_OP_TOPK = 87,

    /* ---- convolution and pooling (channels first, 1 to 3 spatial dims) ---
     * CONV: (x [N, C, D1..Dn], w [M, C/group, K1..Kn], bias (opt) [M])
     *   -> out [N, M, O1..On]; attrs strides:ints (1 each), dilations:ints
     *   (1 each), pads:ints (2n: begin of each spatial dim, then end; 0),
     *   group:i = 1. Oi = floor((Di + pb + pe - ((Ki-1)*dil+1)) / stride) + 1.
     *   Float dtypes; x, w, bias one dtype.
     * CONV_TRANSPOSE: (x [N, C, D1..Dn], w [C, M/group, K1..Kn], bias (opt)
     *   [M]) -> out [N, M, O1..On]; attrs strides, dilations, pads (as CONV),
     *   output_padding:ints (0 each), group:i = 1.
     *   Oi = stride*(Di-1) + output_padding + (Ki-1)*dil + 1 - pb - pe.
     * MAX_POOL, AVG_POOL, LP_POOL: (x [N, C, D1..Dn]) -> out [N, C, O1..On];
     *   attrs kernel:ints (required), strides, dilations, pads (as CONV),
     *   ceil_mode:i = 0 (ceil instead of floor in the Oi formula; a window
     *   that would start inside the end padding is dropped).
     *   MAX_POOL: attr indices:i = 0; with 1 the output is I64: the flat
     *   index (row-major over the whole input [N, C, D...]) of the maximum
     *   (the first one on ties). Floats and integers. Padding never wins.
     *   AVG_POOL: attr count_include_pad:i = 0 (1: pads count as zeros in the
     *   divisor; never the part of a window beyond the end padding).
     *   LP_POOL: attr p:i = 2: (sum |x|^p)^(1/p) over the window.         */
    PX_OP_CONV = 88,
    PX_OP_CONV_TRANSPOSE = 89,
    PX_OP_MAX_POOL = 90,
    PX_OP_AVG_POOL = 91,
    PX_OP_LP_POOL = 92,

    /* PAD: (x) -> out; attrs pads:ints (required, 2*rank: begin of each
     *   axis, then end; negative values crop), mode:i = 0 (0 constant,
     *   1 reflect, 2 edge, 3 wrap), value:f = 0 (constant mode). Any plain
     *   dtype.                                                            */
    PX_OP_PAD = 93,

    /* RESIZE: (x) -> out; attrs sizes:ints (required: the output shape),
     *   scales:floats (per axis; default out/in) used by the coordinate
     *   transform, mode:i = 0 (0 nearest, 1 linear, 2 cubic: separable over
     *   every axis), coord:i = 0 (0 half_pixel, 1 asymmetric,
     *   2 pytorch_half_pixel, 3 tf_crop_and_resize, 4 align_corners,
     *   5 half_pixel_symmetric), nearest_mode:i = 0 (0 round_prefer_floor,
     *   1 round_prefer_ceil, 2 floor, 3 ceil), cubic_coeff_a:f = -0.75,
     *   exclude_outside:i = 0, extrapolation_value:f = 0, antialias:i = 0,
     *   roi:floats (2*rank: starts then ends, tf_crop_and_resize only).
     *   ONNX Resize (opset 19) semantics. Float dtypes (nearest: any).     */
    PX_OP_RESIZE = 94,

    /* LRN: (x [N, C, ...]) -> out; attrs size:i (required), alpha:f = 1e-4,
     *   beta:f = 0.75, bias:f = 1 (ONNX LRN across channels).            */
    PX_OP_LRN = 95,

    /* GRID_SAMPLE: (x [N, C, D1..Dr], grid [N, O1..Or, r]) -> out [N, C, O1..Or],
     *   r = 1..3; grid[..., 0] is the coordinate along the last dim of x,
     *   normalised to [-1, 1]. attrs mode:i = 0 (0 linear, 1 nearest: ties
     *   to even, 2 cubic: a = -0.75), padding:i = 0 (0 zeros, 1 border,
     *   2 reflection), align_corners:i = 0. ONNX GridSample (opset 20)
     *   semantics. Float dtypes; x and grid one dtype.                      */
    PX_OP_GRID_SAMPLE = 96,

    PX_OP_COUNT
} px_op;

/* Name of an op in lower case ("matmul", "rms_norm"), or "invalid". */
const char *px_op_name(px_op op);
/* Parse an op name. Returns PX_OP_INVALID when unknown. */
px_op px_op_from_name(const char *name);
/* 1 if `op` is composite (has a decomposition into primitives). */
int px_op_is_composite(px_op op);

#ifdef __cplusplus
}
#endif
#endif
