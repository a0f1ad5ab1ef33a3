/* ONNX elementwise ops: arithmetic, comparisons, logic, math functions and
 * activations. Activations without an IR op of their own are decomposed
 * into IR primitives here. Arithmetic on values known at import (shape
 * computations) is evaluated here, on the host. */
#include <math.h>
#include <string.h>

#include "onnx_import.h"
#include "plexus/dtype.h"

#define FOLD_MAX 65536 /* largest result evaluated at import */

/* ---- evaluation at import -------------------------------------------------------- */

static int bshape(int32_t ra, const int64_t *a, int32_t rb, const int64_t *b, int32_t *ro, int64_t *o) {
    int32_t r = ra > rb ? ra : rb;
    for (int32_t i = 0; i < r; i++) {
        int64_t da = i - (r - ra) >= 0 ? a[i - (r - ra)] : 1, db = i - (r - rb) >= 0 ? b[i - (r - rb)] : 1;
        if (da != db && da != 1 && db != 1) return -1;
        o[i] = da == 1 ? db : da;
    }
    *ro = r;
    return 0;
}

/* Flat index into a (rank ra, dims a) for output position `flat` of shape o. */
static int64_t bidx(int64_t flat, int32_t r, const int64_t *o, int32_t ra, const int64_t *a) {
    int64_t idx = 0, stride = 1;
    for (int32_t i = r - 1; i >= 0; i--) {
        int64_t c = flat % o[i];
        flat /= o[i];
        int32_t j = i - (r - ra);
        if (j >= 0) {
            if (a[j] != 1) idx += c * stride;
            stride *= a[j];
        }
    }
    return idx;
}

typedef enum { F_ADD, F_SUB, F_MUL, F_DIV, F_MIN, F_MAX, F_EQ, F_LT, F_LE, F_GT, F_GE, F_AND, F_OR, F_XOR, F_MOD,
               F_POW } fold_op;

static double fold_f(fold_op op, double a, double b) {
    switch (op) {
    case F_ADD: return a + b;
    case F_SUB: return a - b;
    case F_MUL: return a * b;
    case F_DIV: return a / b;
    case F_MIN: return a < b ? a : b;
    case F_MAX: return a > b ? a : b;
    case F_EQ: return a == b;
    case F_LT: return a < b;
    case F_LE: return a <= b;
    case F_GT: return a > b;
    case F_GE: return a >= b;
    case F_AND: return a != 0 && b != 0;
    case F_OR: return a != 0 || b != 0;
    case F_XOR: return (a != 0) != (b != 0);
    case F_MOD: return fmod(a, b);
    case F_POW: return pow(a, b);
    }
    return 0;
}

static int64_t fold_i(fold_op op, int64_t a, int64_t b) {
    switch (op) {
    case F_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case F_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
    case F_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case F_DIV: return b == 0 || (a == INT64_MIN && b == -1) ? 0 : a / b;
    case F_MOD: {
        if (b == 0 || (a == INT64_MIN && b == -1)) return 0;
        int64_t m = a % b;
        return m != 0 && ((m < 0) != (b < 0)) ? m + b : m;
    }
    case F_POW: {
        int64_t r = 1;
        for (int64_t k = 0; k < b && k < 64; k++) r = (int64_t)((uint64_t)r * (uint64_t)a);
        return b < 0 ? 0 : r;
    }
    default: return (int64_t)fold_f(op, (double)a, (double)b);
    }
}

/* Evaluate a binary op on two values known at import. Returns 1 when done
 * (output defined), 0 when not foldable, <0 on error (*st). */
static int fold_binary(ox_ctx *c, const onx_node *n, fold_op op, px_dtype out_dt, px_status *st) {
    ox_val *a = ox_in(c, n, 0), *b = ox_in(c, n, 1);
    if (!a || !b || !ox_all_const(c, n) || a->dt != b->dt) return 0;
    int32_t r;
    int64_t o[PX_MAX_DIMS];
    if (bshape(a->rank, a->ne, b->rank, b->ne, &r, o)) return 0;
    int64_t cnt = ox_numel(r, o);
    if (cnt > FOLD_MAX) return 0;
    int is_f = ox_is_float(a->dt) && op != F_MOD;
    int64_t na, nb;
    void *va, *vb;
    if (is_f ? (*st = ox_const_f64(c, n, a, "A", (double **)&va, &na)) || (*st = ox_const_f64(c, n, b, "B", (double **)&vb, &nb))
             : (*st = ox_const_i64(c, n, a, "A", (int64_t **)&va, &na)) || (*st = ox_const_i64(c, n, b, "B", (int64_t **)&vb, &nb)))
        return -1;
    int64_t *res = onx_alloc(ox_arena(c), (size_t)(cnt ? cnt : 1) * 8);
    uint8_t *outb = onx_alloc(ox_arena(c), (size_t)(cnt ? cnt : 1) * 8);
    if (!res || !outb) return *st = ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory"), -1;
    int cmp = op >= F_EQ && op <= F_XOR;
    for (int64_t i = 0; i < cnt; i++) {
        int64_t ia = bidx(i, r, o, a->rank, a->ne), ib = bidx(i, r, o, b->rank, b->ne);
        if (is_f) {
            double x = fold_f(op, ((double *)va)[ia], ((double *)vb)[ib]);
            if (cmp) res[i] = (int64_t)x;
            else memcpy(&res[i], &x, 8);
        } else {
            res[i] = fold_i(op, ((int64_t *)va)[ia], ((int64_t *)vb)[ib]);
        }
    }
    px_dtype from = is_f && !cmp ? PX_F64 : PX_I64;
    if (px_convert(from, res, out_dt, outb, cnt) != PX_OK) return 0;
    *st = ox_out_const(c, n, 0, out_dt, r, o, outb);
    return *st ? -1 : 1;
}

/* ---- binary ops ---------------------------------------------------------------------- */

typedef struct bin_map {
    const char *name;
    px_op op;
    fold_op fold;
    int cmp;
} bin_map;

static const bin_map bins[] = {
    {"Add", PX_OP_ADD, F_ADD, 0}, {"Sub", PX_OP_SUB, F_SUB, 0}, {"Mul", PX_OP_MUL, F_MUL, 0},
    {"Div", PX_OP_DIV, F_DIV, 0}, {"Pow", PX_OP_POW, F_POW, 0}, {"Equal", PX_OP_EQUAL, F_EQ, 1},
    {"Less", PX_OP_LESS, F_LT, 1}, {"LessOrEqual", PX_OP_LESS_EQUAL, F_LE, 1}, {"Greater", PX_OP_GREATER, F_GT, 1},
    {"GreaterOrEqual", PX_OP_GREATER_EQUAL, F_GE, 1}, {"And", PX_OP_AND, F_AND, 1}, {"Or", PX_OP_OR, F_OR, 1},
    {"Xor", PX_OP_XOR, F_XOR, 1}, {"BitwiseAnd", PX_OP_BITWISE_AND, F_ADD, -1},
    {"BitwiseOr", PX_OP_BITWISE_OR, F_ADD, -1}, {"BitwiseXor", PX_OP_BITWISE_XOR, F_ADD, -1},
};

static px_status imp_binary(ox_ctx *c, const onx_node *n) {
    const bin_map *m = NULL;
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++)
        if (strcmp(bins[i].name, n->op_type) == 0) m = &bins[i];
    ox_val *a = ox_in(c, n, 0), *b = ox_in(c, n, 1);
    if (!a || !b) return ox_fail(c, n, PX_ERR_INVALID_ARG, "needs two inputs");
    px_status st = PX_OK;
    if (m->cmp >= 0) {
        int r = fold_binary(c, n, m->fold, m->cmp ? PX_BOOL : a->dt, &st);
        if (r) return r < 0 ? st : PX_OK;
    }
    px_value va = ox_ir(c, a), vb = ox_ir(c, b);
    if (m->op == PX_OP_POW && a->dt != b->dt) vb = ox_cast(c, vb, a->dt); /* Pow: exponent of another type */
    return ox_out_ir(c, n, 0, ox_binary(c, m->op, va, vb));
}

/* Max, Min, Sum, Mean: variadic with broadcasting. */
static px_status imp_variadic(ox_ctx *c, const onx_node *n) {
    px_op op = !strcmp(n->op_type, "Max") ? PX_OP_MAX : !strcmp(n->op_type, "Min") ? PX_OP_MIN : PX_OP_ADD;
    if (n->n_inputs < 1) return ox_fail(c, n, PX_ERR_INVALID_ARG, "needs at least one input");
    if (n->n_inputs == 2 && op != PX_OP_ADD) {
        px_status st = PX_OK;
        int r = fold_binary(c, n, op == PX_OP_MAX ? F_MAX : F_MIN, ox_in(c, n, 0)->dt, &st);
        if (r) return r < 0 ? st : PX_OK;
    }
    px_value acc = ox_in_ir(c, n, 0);
    for (int32_t i = 1; i < n->n_inputs; i++) acc = ox_binary(c, op, acc, ox_in_ir(c, n, i));
    if (n->n_inputs == 1) acc = ox_unary(c, PX_OP_COPY, acc);
    if (!strcmp(n->op_type, "Mean") && n->n_inputs > 1) {
        px_attr a[] = {PX_ATTR_F("scale", 1.0 / n->n_inputs)};
        acc = ox_node(c, PX_OP_SCALE, &acc, 1, a, 1);
    }
    return ox_out_ir(c, n, 0, acc);
}

static px_status imp_mod(ox_ctx *c, const onx_node *n) {
    int64_t fm = ox_attr_i(n, "fmod", 0);
    ox_val *a = ox_in(c, n, 0);
    if (!a) return ox_fail(c, n, PX_ERR_INVALID_ARG, "needs two inputs");
    if (!fm && ox_is_int(a->dt)) {
        px_status st = PX_OK;
        int r = fold_binary(c, n, F_MOD, a->dt, &st);
        if (r) return r < 0 ? st : PX_OK;
    }
    px_value in[2] = {ox_ir(c, a), ox_in_ir(c, n, 1)};
    px_attr at[] = {PX_ATTR_I("fmod", fm)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_MOD, in, 2, at, 1));
}

static px_status imp_bitshift(ox_ctx *c, const onx_node *n) {
    const char *dir = ox_attr_s(c, n, "direction", "");
    int right = !strcmp(dir, "RIGHT");
    if (!right && strcmp(dir, "LEFT")) return ox_fail(c, n, PX_ERR_INVALID_ARG, "direction must be LEFT or RIGHT, not '%s'", dir);
    px_value in[2] = {ox_in_ir(c, n, 0), ox_in_ir(c, n, 1)};
    px_attr at[] = {PX_ATTR_I("direction", right)};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_BITSHIFT, in, 2, at, 1));
}

/* ---- unary ops --------------------------------------------------------------------- */

typedef struct un_map {
    const char *name;
    px_op op;
} un_map;

static const un_map uns[] = {
    {"Abs", PX_OP_ABS}, {"Neg", PX_OP_NEG}, {"Exp", PX_OP_EXP}, {"Log", PX_OP_LOG}, {"Sqrt", PX_OP_SQRT},
    {"Sin", PX_OP_SIN}, {"Cos", PX_OP_COS}, {"Tanh", PX_OP_TANH}, {"Erf", PX_OP_ERF}, {"Sigmoid", PX_OP_SIGMOID},
    {"Relu", PX_OP_RELU}, {"Floor", PX_OP_FLOOR}, {"Ceil", PX_OP_CEIL}, {"Round", PX_OP_ROUND},
    {"Sign", PX_OP_SIGN}, {"Reciprocal", PX_OP_RECIPROCAL}, {"Tan", PX_OP_TAN}, {"Asin", PX_OP_ASIN},
    {"Acos", PX_OP_ACOS}, {"Atan", PX_OP_ATAN}, {"Sinh", PX_OP_SINH}, {"Cosh", PX_OP_COSH},
    {"Asinh", PX_OP_ASINH}, {"Acosh", PX_OP_ACOSH}, {"Atanh", PX_OP_ATANH}, {"Softplus", PX_OP_SOFTPLUS},
    {"IsNaN", PX_OP_ISNAN}, {"Not", PX_OP_NOT}, {"BitwiseNot", PX_OP_BITWISE_NOT},
};

static px_status imp_unary(ox_ctx *c, const onx_node *n) {
    px_op op = PX_OP_INVALID;
    for (size_t i = 0; i < sizeof uns / sizeof uns[0]; i++)
        if (!strcmp(uns[i].name, n->op_type)) op = uns[i].op;
    ox_val *x = ox_in(c, n, 0);
    if (!x) return ox_fail(c, n, PX_ERR_INVALID_ARG, "needs an input");
    /* a known value (shape arithmetic, scales): evaluated here */
    if (ox_all_const(c, n) && ox_numel(x->rank, x->ne) <= FOLD_MAX && (ox_is_int(x->dt) || ox_is_float(x->dt) || x->dt == PX_BOOL)) {
        int64_t k;
        double *v;
        px_status st = ox_const_f64(c, n, x, "X", &v, &k);
        if (st) return st;
        int ok = 1;
        for (int64_t i = 0; i < k && ok; i++) {
            double a = v[i];
            switch (op) {
            case PX_OP_NEG: a = -a; break;
            case PX_OP_ABS: a = fabs(a); break;
            case PX_OP_SQRT: a = sqrt(a); break;
            case PX_OP_EXP: a = exp(a); break;
            case PX_OP_LOG: a = log(a); break;
            case PX_OP_FLOOR: a = floor(a); break;
            case PX_OP_CEIL: a = ceil(a); break;
            case PX_OP_RECIPROCAL: a = 1.0 / a; break;
            case PX_OP_NOT: a = a == 0; break;
            case PX_OP_SIGN: a = (a > 0) - (a < 0); break;
            case PX_OP_RELU: a = a > 0 ? a : 0; break;
            default: ok = 0; break;
            }
            v[i] = a;
        }
        if (ok && (x->dt != PX_I64 || op == PX_OP_NEG || op == PX_OP_ABS || op == PX_OP_SIGN || op == PX_OP_RELU)) {
            void *o = onx_alloc(ox_arena(c), (size_t)(k ? k : 1) * 8);
            if (!o) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
            if (x->dt == PX_I64) { /* exact for every int64 */
                int64_t *iv;
                if ((st = ox_const_i64(c, n, x, "X", &iv, &k))) return st;
                for (int64_t i = 0; i < k; i++)
                    iv[i] = op == PX_OP_NEG ? -iv[i] : op == PX_OP_ABS ? (iv[i] < 0 ? -iv[i] : iv[i])
                          : op == PX_OP_RELU ? (iv[i] > 0 ? iv[i] : 0) : (iv[i] > 0) - (iv[i] < 0);
                memcpy(o, iv, (size_t)k * 8);
            } else if (px_convert(PX_F64, v, x->dt, o, k)) {
                return ox_fail(c, n, PX_ERR_DTYPE, "cannot convert");
            }
            return ox_out_const(c, n, 0, x->dt, x->rank, x->ne, o);
        }
    }
    return ox_out_ir(c, n, 0, ox_unary(c, op, ox_ir(c, x)));
}

static px_status imp_isinf(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_attr a[] = {PX_ATTR_I("detect_positive", ox_attr_i(n, "detect_positive", 1)),
                   PX_ATTR_I("detect_negative", ox_attr_i(n, "detect_negative", 1))};
    return ox_out_ir(c, n, 0, ox_node(c, PX_OP_ISINF, &x, 1, a, 2));
}

/* ---- activations by decomposition ---------------------------------------------------- */

static px_dtype dt_of(ox_ctx *c, px_value v) {
    px_dtype dt;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_shape(c, v, &dt, &r, ne);
    return dt;
}

static px_value scale(ox_ctx *c, px_value x, double s, double b) {
    px_attr a[] = {PX_ATTR_F("scale", s), PX_ATTR_F("bias", b)};
    return ox_node(c, PX_OP_SCALE, &x, 1, a, 2);
}

static px_value where(ox_ctx *c, px_value cond, px_value a, px_value b) {
    px_value in[3] = {cond, a, b};
    return ox_node(c, PX_OP_WHERE, in, 3, NULL, 0);
}

static px_status imp_activation(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    if (x == PX_NONE) return ox_fail(c, n, PX_ERR_INVALID_ARG, "needs an input");
    px_dtype dt = dt_of(c, x);
    px_value zero = ox_scalar(c, dt, 0), y;
    const char *t = n->op_type;
    if (!strcmp(t, "LeakyRelu")) {
        y = where(c, ox_binary(c, PX_OP_LESS, x, zero), scale(c, x, ox_attr_f(n, "alpha", 0.01), 0), x);
    } else if (!strcmp(t, "Elu")) {
        double al = ox_attr_f(n, "alpha", 1.0);
        y = where(c, ox_binary(c, PX_OP_LESS, x, zero), scale(c, ox_unary(c, PX_OP_EXP, x), al, -al), x);
    } else if (!strcmp(t, "Selu")) {
        double al = ox_attr_f(n, "alpha", 1.67326319217681884765625), ga = ox_attr_f(n, "gamma", 1.05070102214813232421875);
        y = where(c, ox_binary(c, PX_OP_LESS_EQUAL, x, zero), scale(c, ox_unary(c, PX_OP_EXP, x), al * ga, -al * ga),
                  scale(c, x, ga, 0));
    } else if (!strcmp(t, "Celu")) {
        double al = ox_attr_f(n, "alpha", 1.0);
        px_value neg = scale(c, ox_unary(c, PX_OP_EXP, scale(c, x, 1.0 / al, 0)), al, -al);
        y = ox_binary(c, PX_OP_ADD, ox_unary(c, PX_OP_RELU, x), ox_binary(c, PX_OP_MIN, zero, neg));
    } else if (!strcmp(t, "HardSigmoid") || !strcmp(t, "HardSwish")) {
        int sw = !strcmp(t, "HardSwish");
        double al = sw ? 1.0 / 6 : ox_attr_f(n, "alpha", 0.2), be = sw ? 0.5 : ox_attr_f(n, "beta", 0.5);
        y = ox_binary(c, PX_OP_MAX, zero, ox_binary(c, PX_OP_MIN, ox_scalar(c, dt, 1), scale(c, x, al, be)));
        if (sw) y = ox_binary(c, PX_OP_MUL, x, y);
    } else if (!strcmp(t, "Softsign")) {
        y = ox_binary(c, PX_OP_DIV, x, scale(c, ox_unary(c, PX_OP_ABS, x), 1, 1));
    } else if (!strcmp(t, "Mish")) {
        y = ox_binary(c, PX_OP_MUL, x, ox_unary(c, PX_OP_TANH, ox_unary(c, PX_OP_SOFTPLUS, x)));
    } else if (!strcmp(t, "ThresholdedRelu")) {
        y = where(c, ox_binary(c, PX_OP_GREATER, x, ox_scalar(c, dt, ox_attr_f(n, "alpha", 1.0))), x, zero);
    } else if (!strcmp(t, "PRelu")) {
        px_value slope = ox_in_ir(c, n, 1);
        int32_t rx, rs;
        int64_t nx[PX_MAX_DIMS], ns[PX_MAX_DIMS];
        px_dtype d1;
        ox_dt_shape(c, x, &d1, &rx, nx);
        ox_dt_shape(c, slope, &d1, &rs, ns);
        if (rs == 1 && rx >= 3 && ns[0] == nx[1] && ns[0] != nx[rx - 1]) { /* old opsets: one slope per channel */
            int64_t s[PX_MAX_DIMS];
            for (int32_t d = 0; d < rx - 1; d++) s[d] = d == 0 ? ns[0] : 1;
            slope = ox_reshape(c, slope, rx - 1, s);
        }
        y = where(c, ox_binary(c, PX_OP_LESS, x, zero), ox_binary(c, PX_OP_MUL, x, slope), x);
    } else if (!strcmp(t, "Swish")) {
        double al = ox_attr_f(n, "alpha", 1.0);
        y = al == 1.0 ? ox_unary(c, PX_OP_SILU, x) : ox_binary(c, PX_OP_MUL, x, ox_unary(c, PX_OP_SIGMOID, scale(c, x, al, 0)));
    } else if (!strcmp(t, "Gelu")) {
        const char *ap = ox_attr_s(c, n, "approximate", "none");
        if (strcmp(ap, "none") && strcmp(ap, "tanh")) return ox_fail(c, n, PX_ERR_INVALID_ARG, "approximate must be none or tanh");
        px_attr a[] = {PX_ATTR_I("approximate", !strcmp(ap, "tanh"))};
        y = ox_node(c, PX_OP_GELU, &x, 1, a, 1);
    } else { /* Shrink */
        double bi = ox_attr_f(n, "bias", 0), la = ox_attr_f(n, "lambd", 0.5);
        y = where(c, ox_binary(c, PX_OP_LESS, x, ox_scalar(c, dt, -la)), scale(c, x, 1, bi),
                  where(c, ox_binary(c, PX_OP_GREATER, x, ox_scalar(c, dt, la)), scale(c, x, 1, -bi), zero));
    }
    return ox_out_ir(c, n, 0, y);
}

/* Clip: min/max from attributes (opset < 11) or optional inputs. */
static px_status imp_clip(ox_ctx *c, const onx_node *n) {
    px_value x = ox_in_ir(c, n, 0);
    px_dtype dt = dt_of(c, x);
    px_value lo = PX_NONE, hi = PX_NONE;
    if (ox_opset(c) < 11) {
        if (ox_attr(n, "min")) lo = ox_scalar(c, dt, ox_attr_f(n, "min", 0));
        if (ox_attr(n, "max")) hi = ox_scalar(c, dt, ox_attr_f(n, "max", 0));
    } else {
        lo = ox_in_ir(c, n, 1);
        hi = ox_in_ir(c, n, 2);
    }
    px_value y = x;
    if (lo != PX_NONE) y = ox_binary(c, PX_OP_MAX, y, lo);
    if (hi != PX_NONE) y = ox_binary(c, PX_OP_MIN, y, hi);
    if (y == x) y = ox_unary(c, PX_OP_COPY, x);
    return ox_out_ir(c, n, 0, y);
}

static px_status imp_where(ox_ctx *c, const onx_node *n) {
    ox_val *cv = ox_in(c, n, 0), *a = ox_in(c, n, 1), *b = ox_in(c, n, 2);
    if (!cv || !a || !b) return ox_fail(c, n, PX_ERR_INVALID_ARG, "needs three inputs");
    if (ox_all_const(c, n) && a->dt == b->dt && ox_is_int(a->dt)) { /* shape arithmetic */
        int32_t r1, r;
        int64_t o1[PX_MAX_DIMS], o[PX_MAX_DIMS];
        if (!bshape(cv->rank, cv->ne, a->rank, a->ne, &r1, o1) && !bshape(r1, o1, b->rank, b->ne, &r, o) &&
            ox_numel(r, o) <= FOLD_MAX) {
            int64_t *vc, *va, *vb, k;
            px_status st;
            if ((st = ox_const_i64(c, n, cv, "condition", &vc, &k)) || (st = ox_const_i64(c, n, a, "X", &va, &k)) ||
                (st = ox_const_i64(c, n, b, "Y", &vb, &k)))
                return st;
            int64_t cnt = ox_numel(r, o);
            int64_t *res = onx_alloc(ox_arena(c), (size_t)(cnt ? cnt : 1) * 8);
            void *ob = onx_alloc(ox_arena(c), (size_t)(cnt ? cnt : 1) * 8);
            if (!res || !ob) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
            for (int64_t i = 0; i < cnt; i++)
                res[i] = vc[bidx(i, r, o, cv->rank, cv->ne)] ? va[bidx(i, r, o, a->rank, a->ne)] : vb[bidx(i, r, o, b->rank, b->ne)];
            px_convert(PX_I64, res, a->dt, ob, cnt);
            return ox_out_const(c, n, 0, a->dt, r, o, ob);
        }
    }
    return ox_out_ir(c, n, 0, where(c, ox_ir(c, cv), ox_ir(c, a), ox_ir(c, b)));
}

const ox_op ox_ops_elementwise[] = {
    {"Add", imp_binary}, {"Sub", imp_binary}, {"Mul", imp_binary}, {"Div", imp_binary}, {"Pow", imp_binary},
    {"Equal", imp_binary}, {"Less", imp_binary}, {"LessOrEqual", imp_binary}, {"Greater", imp_binary},
    {"GreaterOrEqual", imp_binary}, {"And", imp_binary}, {"Or", imp_binary}, {"Xor", imp_binary},
    {"BitwiseAnd", imp_binary}, {"BitwiseOr", imp_binary}, {"BitwiseXor", imp_binary},
    {"Max", imp_variadic}, {"Min", imp_variadic}, {"Sum", imp_variadic}, {"Mean", imp_variadic},
    {"Mod", imp_mod}, {"BitShift", imp_bitshift},
    {"Abs", imp_unary}, {"Neg", imp_unary}, {"Exp", imp_unary}, {"Log", imp_unary}, {"Sqrt", imp_unary},
    {"Sin", imp_unary}, {"Cos", imp_unary}, {"Tanh", imp_unary}, {"Erf", imp_unary}, {"Sigmoid", imp_unary},
    {"Relu", imp_unary}, {"Floor", imp_unary}, {"Ceil", imp_unary}, {"Round", imp_unary}, {"Sign", imp_unary},
    {"Reciprocal", imp_unary}, {"Tan", imp_unary}, {"Asin", imp_unary}, {"Acos", imp_unary}, {"Atan", imp_unary},
    {"Sinh", imp_unary}, {"Cosh", imp_unary}, {"Asinh", imp_unary}, {"Acosh", imp_unary}, {"Atanh", imp_unary},
    {"Softplus", imp_unary}, {"IsNaN", imp_unary}, {"Not", imp_unary}, {"BitwiseNot", imp_unary},
    {"IsInf", imp_isinf},
    {"LeakyRelu", imp_activation}, {"Elu", imp_activation}, {"Selu", imp_activation}, {"Celu", imp_activation},
    {"HardSigmoid", imp_activation}, {"HardSwish", imp_activation}, {"Softsign", imp_activation},
    {"Mish", imp_activation}, {"ThresholdedRelu", imp_activation}, {"PRelu", imp_activation},
    {"Swish", imp_activation}, {"Gelu", imp_activation}, {"Shrink", imp_activation},
    {"Clip", imp_clip}, {"Where", imp_where},
    {NULL, NULL},
};
