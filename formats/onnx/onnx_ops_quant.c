/* ONNX integer matmul and (de)quantization: MatMulInteger, QLinearMatMul,
 * QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
 *
 * Quantized types: the 8/16/32-bit integers, int4/uint4/int2/uint2 (round
 * half to even, saturate to the type's range) and the float8/float4 types
 * (x / scale + zero point cast with round to nearest even, saturating unless
 * the saturate attribute is 0). */
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

/* ---- integer matmul and (de)quantization ----------------------------------------------------- */

/* x - zero_point in double; zp shaped for per-row (a) use when `row`. */
static px_value centered(ox_ctx *c, px_value x, px_value zp, int row) {
    x = ox_cast(c, x, PX_F64);
    if (zp == PX_NONE) return x;
    zp = ox_cast(c, zp, PX_F64);
    px_dtype dz;
    int32_t rz;
    int64_t nz[PX_MAX_DIMS];
    ox_dt_shape(c, zp, &dz, &rz, nz);
    if (row && rz == 1 && nz[0] > 1) {
        int64_t s[2] = {nz[0], 1};
        zp = ox_reshape(c, zp, 2, s);
    }
    return ox_binary(c, PX_OP_SUB, x, zp);
}

static px_status imp_matmul_integer(ox_ctx *c, const onx_node *n) {
    px_value a = centered(c, ox_in_ir(c, n, 0), ox_in_ir(c, n, 2), 1);
    px_value b = centered(c, ox_in_ir(c, n, 1), ox_in_ir(c, n, 3), 0);
    return ox_out_ir(c, n, 0, ox_cast(c, ox_matmul(c, a, b), PX_I32));
}

static void int_range(px_dtype t, double *lo, double *hi) {
    switch (t) {
    case PX_I2: *lo = -2; *hi = 1; break;
    case PX_U2: *lo = 0; *hi = 3; break;
    case PX_I4: *lo = -8; *hi = 7; break;
    case PX_U4: *lo = 0; *hi = 15; break;
    case PX_I8: *lo = -128; *hi = 127; break;
    case PX_U8: *lo = 0; *hi = 255; break;
    case PX_I16: *lo = -32768; *hi = 32767; break;
    case PX_U16: *lo = 0; *hi = 65535; break;
    case PX_I32: *lo = -2147483648.0; *hi = 2147483647.0; break;
    default: *lo = 0; *hi = 4294967295.0; break;
    }
}

/* round(v) + zp, saturated, cast to dt (v in F64). */
static px_value requantize(ox_ctx *c, px_value v, px_value zp, px_dtype dt) {
    v = ox_unary(c, PX_OP_ROUND, v);
    if (zp != PX_NONE) v = ox_binary(c, PX_OP_ADD, v, ox_cast(c, zp, PX_F64));
    double lo, hi;
    int_range(dt, &lo, &hi);
    v = ox_binary(c, PX_OP_MAX, v, ox_scalar(c, PX_F64, lo));
    v = ox_binary(c, PX_OP_MIN, v, ox_scalar(c, PX_F64, hi));
    return ox_cast(c, v, dt);
}

static px_status imp_qlinear_matmul(ox_ctx *c, const onx_node *n) {
    px_value a = centered(c, ox_in_ir(c, n, 0), ox_in_ir(c, n, 2), 1);
    px_value b = centered(c, ox_in_ir(c, n, 3), ox_in_ir(c, n, 5), 0);
    px_value sa = ox_cast(c, ox_in_ir(c, n, 1), PX_F64), sb = ox_cast(c, ox_in_ir(c, n, 4), PX_F64);
    px_value sy = ox_cast(c, ox_in_ir(c, n, 6), PX_F64);
    px_dtype da, ds;
    int32_t r, rs;
    int64_t ne[PX_MAX_DIMS], ns[PX_MAX_DIMS];
    ox_dt_shape(c, sa, &ds, &rs, ns);
    if (rs == 1 && ns[0] > 1) {
        int64_t s2[2] = {ns[0], 1};
        sa = ox_reshape(c, sa, 2, s2);
    }
    px_value y = ox_binary(c, PX_OP_MUL, ox_binary(c, PX_OP_MUL, ox_matmul(c, a, b), sa), sb);
    y = ox_binary(c, PX_OP_DIV, y, sy);
    ox_val *yz = ox_in(c, n, 7);
    ox_dt_shape(c, ox_in_ir(c, n, 0), &da, &r, ne);
    return ox_out_ir(c, n, 0, requantize(c, y, ox_ir(c, yz), yz ? yz->dt : da));
}

/* A per-axis or blocked scale/zero point shaped to broadcast against x. */
static px_value q_param(ox_ctx *c, const onx_node *n, px_value p, int32_t r, const int64_t *ne) {
    if (p == PX_NONE) return p;
    px_dtype dp;
    int32_t rp;
    int64_t np[PX_MAX_DIMS];
    ox_dt_shape(c, p, &dp, &rp, np);
    if (rp == 0 || (rp == 1 && np[0] == 1 && r != 1)) return p;
    int32_t ax = ox_axis(ox_attr_i(n, "axis", 1), r);
    int64_t bs = ox_attr_i(n, "block_size", 0);
    if (ax < 0) return PX_NONE;
    if (bs > 0 && rp == r) { /* blocked: repeat each entry bs times along axis */
        int64_t e[PX_MAX_DIMS + 1], s[PX_MAX_DIMS + 1];
        int32_t q = 0;
        for (int32_t d = 0; d < rp; d++) {
            s[q] = np[d];
            e[q++] = np[d];
            if (d == ax) {
                s[q] = 1;
                e[q++] = bs;
            }
        }
        px_value t = ox_reshape(c, p, q, s);
        px_attr a[] = {PX_ATTR_INTS("shape", e, q)};
        t = ox_node(c, PX_OP_EXPAND, &t, 1, a, 1);
        int64_t full[PX_MAX_DIMS];
        memcpy(full, np, sizeof(int64_t) * (size_t)rp);
        full[ax] = np[ax] * bs;
        t = ox_reshape(c, t, rp, full);
        if (full[ax] != ne[ax]) {
            int64_t z = 0, en = ne[ax], a1 = ax, one = 1;
            px_attr sl[] = {PX_ATTR_INTS("starts", &z, 1), PX_ATTR_INTS("ends", &en, 1), PX_ATTR_INTS("axes", &a1, 1),
                            PX_ATTR_INTS("steps", &one, 1)};
            t = ox_node(c, PX_OP_SLICE, &t, 1, sl, 4);
        }
        return t;
    }
    int64_t s[PX_MAX_DIMS];
    for (int32_t d = 0; d < r; d++) s[d] = d == ax ? np[0] : 1;
    return ox_reshape(c, p, r, s);
}

static px_status imp_quantize(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dx;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dx, &r, ne);
    ox_val *zpv = ox_in(c, n, 2);
    px_dtype odt = zpv ? zpv->dt : PX_U8;
    int64_t od = ox_attr_i(n, "output_dtype", 0);
    if (od) {
        int t = onx_to_px_dtype((int32_t)od);
        if (t < 0) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "output_dtype %s is not supported", onx_type_name((int32_t)od));
        odt = (px_dtype)t;
    }
    const int small_float = odt == PX_F8E4M3FN || odt == PX_F8E4M3FNUZ || odt == PX_F8E5M2 || odt == PX_F8E5M2FNUZ ||
                            odt == PX_F4E2M1;
    const int small_int = odt == PX_I4 || odt == PX_U4 || odt == PX_I2 || odt == PX_U2;
    if (!ox_is_int(odt) && !small_int && !small_float)
        return ox_fail(c, n, PX_ERR_UNSUPPORTED, "quantizing to %s is not supported", px_dtype_name(odt));
    px_value sc = q_param(c, n, ox_in_ir(c, n, 1), r, ne), zp = q_param(c, n, ox_ir(c, zpv), r, ne);
    if (sc == PX_NONE) return ox_fail(c, n, PX_ERR_INVALID_ARG, "bad scale or axis");
    px_dtype ds;
    int32_t rs;
    int64_t ns[PX_MAX_DIMS];
    ox_dt_shape(c, sc, &ds, &rs, ns);
    /* x / scale in the precision of the inputs, then rounded half to even */
    px_dtype work = dx == PX_F64 || ds == PX_F64 ? PX_F64 : PX_F32;
    px_value v = ox_binary(c, PX_OP_DIV, ox_cast(c, x, work), ox_cast(c, sc, work));
    if (small_float) { /* one rounding, by the cast (float8/float4 zero points are 0 in practice) */
        if (zp != PX_NONE) v = ox_binary(c, PX_OP_ADD, v, ox_cast(c, zp, work));
        const int sat = odt == PX_F4E2M1 || ox_attr_i(n, "saturate", 1) != 0;
        px_attr a[] = {PX_ATTR_I("dtype", odt), PX_ATTR_I("saturate", sat)};
        return ox_out_ir(c, n, 0, ox_node(c, PX_OP_CAST, &v, 1, a, 2));
    }
    return ox_out_ir(c, n, 0, requantize(c, ox_cast(c, v, PX_F64), zp, odt));
}

static px_status imp_dequantize(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dx;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_dt_shape(c, x, &dx, &r, ne);
    px_value sc = q_param(c, n, ox_in_ir(c, n, 1), r, ne), zp = q_param(c, n, ox_in_ir(c, n, 2), r, ne);
    if (sc == PX_NONE) return ox_fail(c, n, PX_ERR_INVALID_ARG, "bad scale or axis");
    px_dtype ds;
    int32_t rs;
    int64_t ns[PX_MAX_DIMS];
    ox_dt_shape(c, sc, &ds, &rs, ns);
    px_value v = ox_cast(c, x, PX_F64);
    if (zp != PX_NONE) v = ox_binary(c, PX_OP_SUB, v, ox_cast(c, zp, PX_F64));
    v = ox_binary(c, PX_OP_MUL, ox_cast(c, v, PX_F32 == ds ? PX_F32 : ds), sc);
    return ox_out_ir(c, n, 0, v);
}

static px_status imp_dynamic_quantize(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_value zero = ox_scalar(c, PX_F32, 0);
    px_attr a[] = {PX_ATTR_I("keepdims", 0)};
    px_value mx = ox_binary(c, PX_OP_MAX, ox_node(c, PX_OP_REDUCE_MAX, &x, 1, a, 1), zero);
    px_value mn = ox_binary(c, PX_OP_MIN, ox_node(c, PX_OP_REDUCE_MIN, &x, 1, a, 1), zero);
    px_value sc = ox_scale(c, ox_binary(c, PX_OP_SUB, mx, mn), 1.0 / 255.0, 0);
    px_value zpf = ox_binary(c, PX_OP_DIV, ox_unary(c, PX_OP_NEG, mn), sc);
    px_value zp = requantize(c, ox_cast(c, zpf, PX_F64), PX_NONE, PX_U8);
    px_value y = requantize(c, ox_cast(c, ox_binary(c, PX_OP_DIV, x, sc), PX_F64), zp, PX_U8);
    px_status st = ox_out_ir(c, n, 0, y);
    if (!st) st = ox_out_ir(c, n, 1, sc);
    if (!st) st = ox_out_ir(c, n, 2, zp);
    return st;
}

const ox_op ox_ops_quant[] = {
    {"MatMulInteger", imp_matmul_integer}, {"QLinearMatMul", imp_qlinear_matmul}, {"QuantizeLinear", imp_quantize},
    {"DequantizeLinear", imp_dequantize}, {"DynamicQuantizeLinear", imp_dynamic_quantize},
    {NULL, NULL},
};
