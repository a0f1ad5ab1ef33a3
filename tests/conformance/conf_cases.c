/* Op conformance test: the cases of every op. Each generator draws shapes,
 * dtypes, attributes and values from its own seeded RNG, so a case is
 * reproduced by its op, the seed and its index. Shapes include sizes that
 * are not multiples of 8/16/32 (or of the quant block where that is legal),
 * broadcasting, rank 0 and empty tensors (a 0 dim). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define EMIT()             \
    do {                   \
        sink(&c, ctx);     \
        case_free(&c);     \
    } while (0)

static const int64_t k_odd[] = {1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33};
#define N_ODD ((int)(sizeof k_odd / sizeof k_odd[0]))

static const px_dtype k_float[] = {PX_F32, PX_F16, PX_BF16, PX_F64};
static const px_dtype k_quant[] = {PX_Q4_0, PX_Q4_1, PX_Q5_0, PX_Q5_1, PX_Q8_0, PX_Q2_K,
                                   PX_Q3_K, PX_Q4_K, PX_Q5_K, PX_Q6_K, PX_IQ4_NL};
#define N_QUANT ((int)(sizeof k_quant / sizeof k_quant[0]))

static const char *dn(px_dtype t) { return px_dtype_name(t); }

static int64_t numel(int32_t rank, const int64_t *ne) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= ne[i];
    return n;
}

/* A random shape of `rank` dims drawn from k_odd, with at most `cap`
 * elements. */
static void rshape(crng *r, int32_t rank, int64_t cap, int64_t *ne) {
    for (;;) {
        for (int32_t i = 0; i < rank; i++) ne[i] = rng_pick(r, k_odd, N_ODD);
        if (numel(rank, ne) <= cap) return;
    }
}

static const char *sh(const otensor *t, char *buf, size_t cap) { return shape_str(t->rank, t->ne, buf, cap); }

/* Label "op dt a[..] b[..]" from the case's present inputs. */
static void label_inputs(ccase *c) {
    char b[64];
    case_label(c, "%s", px_op_name(c->op));
    for (int i = 0; i < c->n_in; i++) {
        if (c->kind[i] == IN_ABSENT) {
            case_label(c, " -");
            continue;
        }
        case_label(c, " %s%s%s", dn(c->in[i].dtype), sh(&c->in[i], b, sizeof b),
                   c->kind[i] == IN_CONST ? "(c)" : c->kind[i] == IN_STATE ? "(s)" : "");
    }
}

/* ---- binary arithmetic and comparisons --------------------------------------------- */

/* Shapes of a and b for broadcast pattern p. */
static void bin_shapes(crng *r, int p, int32_t *ra, int64_t *a, int32_t *rb, int64_t *b) {
    int64_t M = rng_pick(r, k_odd, N_ODD), N = rng_pick(r, k_odd, N_ODD), B = rng_int(r, 2, 4);
    switch (p) {
    case 0: *ra = *rb = (int32_t)rng_int(r, 1, 4); rshape(r, *ra, 3000, a); memcpy(b, a, sizeof(int64_t) * (size_t)*ra); break;
    case 1: *ra = (int32_t)rng_int(r, 1, 3); rshape(r, *ra, 2000, a); *rb = 0; break;
    case 2: *ra = 2; a[0] = M; a[1] = N; *rb = 1; b[0] = N; break;
    case 3: *ra = *rb = 2; a[0] = M; a[1] = 1; b[0] = 1; b[1] = N; break;
    case 4: *ra = 3; a[0] = B; a[1] = 1; a[2] = N; *rb = 2; b[0] = M; b[1] = 1; break;
    case 5: *ra = 2; a[0] = 0; a[1] = N; *rb = 1; b[0] = N; break;
    case 6: *ra = *rb = 0; break;
    default: *ra = 3; a[0] = 3; a[1] = 37; a[2] = 5; *rb = 2; b[0] = 37; b[1] = 1; break;
    }
    if (p >= 1 && p <= 5 && (rng_next(r) & 1)) {
        int64_t t[PX_MAX_DIMS];
        int32_t tr = *ra;
        memcpy(t, a, sizeof t);
        memcpy(a, b, sizeof t);
        memcpy(b, t, sizeof t);
        *ra = *rb;
        *rb = tr;
    }
}

/* Value ranges of a and b for an arithmetic op, chosen so that integer
 * results stay in range and float results stay finite. */
static void bin_range(px_op op, px_dtype t, double r[4]) {
    int fl = oracle_is_float(t), un = t == PX_U8 || t == PX_U16 || t == PX_U32 || t == PX_U64;
    double v[4] = {-4, 4, -4, 4};
    if (fl) {
        if (op == PX_OP_DIV) v[2] = 0.5, v[3] = 2;
        if (op == PX_OP_POW) v[0] = 0.2, v[1] = 3, v[2] = -2, v[3] = 2;
    } else if (un) {
        double u[][4] = {{0, 100, 0, 100}, {100, 200, 0, 100}, {0, 15, 0, 15}, {0, 200, 0, 7}, {0, 5, 0, 3}, {0, 255, 0, 255}};
        int k = op == PX_OP_ADD ? 0 : op == PX_OP_SUB ? 1 : op == PX_OP_MUL ? 2 : op == PX_OP_DIV ? 3 : op == PX_OP_POW ? 4 : 5;
        memcpy(v, u[k], sizeof v);
    } else {
        double s[][4] = {{-50, 50, -50, 50}, {-50, 50, -50, 50}, {-11, 11, -11, 11}, {-100, 100, -5, 5}, {-4, 4, 0, 3}, {-128, 127, -128, 127}};
        int k = op == PX_OP_ADD ? 0 : op == PX_OP_SUB ? 1 : op == PX_OP_MUL ? 2 : op == PX_OP_DIV ? 3 : op == PX_OP_POW ? 4 : 5;
        memcpy(v, s[k], sizeof v);
    }
    memcpy(r, v, sizeof v);
}

static void gen_binary(px_op op, crng *r, case_sink sink, void *ctx) {
    static const px_dtype ints[] = {PX_I8, PX_I16, PX_I32, PX_I64, PX_U8, PX_U32};
    for (int di = 0; di < 10; di++) {
        px_dtype t = di < 4 ? k_float[di] : ints[di - 4];
        int n_pat = di < 2 ? 8 : 3;
        for (int k = 0; k < n_pat; k++) {
            int p = di < 2 ? k : (int)rng_int(r, 0, 7);
            ccase c;
            case_init(&c, op);
            int32_t ra, rb;
            int64_t a[PX_MAX_DIMS], b[PX_MAX_DIMS];
            bin_shapes(r, p, &ra, a, &rb, b);
            double rg[4];
            bin_range(op, t, rg);
            case_rand(&c, 0, IN_INPUT, t, ra, a, r, rg[0], rg[1]);
            case_rand(&c, 1, (k & 1) ? IN_CONST : IN_INPUT, t, rb, b, r, rg[2], rg[3]);
            if (oracle_is_float(t) && op == PX_OP_DIV && (rng_next(r) & 1)) {
                /* negative divisors too */
                case_rand(&c, 1, IN_INPUT, t, rb, b, r, -2, -0.5);
            }
            label_inputs(&c);
            EMIT();
        }
    }
}

static void gen_compare(px_op op, crng *r, case_sink sink, void *ctx) {
    static const px_dtype types[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I32, PX_I64, PX_I8, PX_U8, PX_BOOL};
    for (int di = 0; di < 9; di++) {
        px_dtype t = types[di];
        for (int k = 0; k < (di == 0 ? 8 : 3); k++) {
            ccase c;
            case_init(&c, op);
            int32_t ra, rb;
            int64_t a[PX_MAX_DIMS], b[PX_MAX_DIMS];
            bin_shapes(r, di == 0 ? k : (int)rng_int(r, 0, 7), &ra, a, &rb, b);
            /* few distinct values, so that ties are frequent */
            int64_t na = numel(ra, a), nb = numel(rb, b);
            double *va = malloc((size_t)(na + 1) * sizeof *va), *vb = malloc((size_t)(nb + 1) * sizeof *vb);
            for (int64_t i = 0; i < na; i++) va[i] = t == PX_BOOL ? (double)rng_int(r, 0, 1) : (double)rng_int(r, 0, 6) * (oracle_is_float(t) ? 0.5 : 1) - (t == PX_U8 ? 0 : 1);
            for (int64_t i = 0; i < nb; i++) vb[i] = t == PX_BOOL ? (double)rng_int(r, 0, 1) : (double)rng_int(r, 0, 6) * (oracle_is_float(t) ? 0.5 : 1) - (t == PX_U8 ? 0 : 1);
            case_values(&c, 0, IN_INPUT, t, ra, a, va);
            case_values(&c, 1, IN_INPUT, t, rb, b, vb);
            free(va);
            free(vb);
            label_inputs(&c);
            EMIT();
        }
    }
}

static void gen_where(crng *r, case_sink sink, void *ctx) {
    static const px_dtype types[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I32, PX_I64, PX_I8, PX_BOOL};
    for (int di = 0; di < 8; di++)
        for (int k = 0; k < (di == 0 ? 6 : 2); k++) {
            ccase c;
            case_init(&c, PX_OP_WHERE);
            int32_t ra, rb;
            int64_t a[PX_MAX_DIMS], b[PX_MAX_DIMS];
            bin_shapes(r, di == 0 ? k : (int)rng_int(r, 0, 7), &ra, a, &rb, b);
            int64_t cs[PX_MAX_DIMS];
            int32_t rc = ra;
            memcpy(cs, a, sizeof cs);
            if (k % 3 == 1 && ra > 0) cs[ra - 1] = 1; /* cond broadcasts too */
            case_rand(&c, 0, IN_INPUT, PX_BOOL, rc, cs, r, 0, 1);
            case_rand(&c, 1, IN_INPUT, types[di], rb, b, r, -20, 20);
            case_rand(&c, 2, IN_INPUT, types[di], ra, a, r, -20, 20);
            label_inputs(&c);
            EMIT();
        }
}

/* ---- unary ------------------------------------------------------------------------------ */

static void gen_unary(px_op op, crng *r, case_sink sink, void *ctx) {
    double lo = -5, hi = 5;
    switch (op) {
    case PX_OP_LOG: lo = 0.05; hi = 20; break;
    case PX_OP_SQRT: lo = 0; hi = 20; break;
    case PX_OP_RSQRT: lo = 0.05; hi = 20; break;
    case PX_OP_SIN: case PX_OP_COS: lo = -12; hi = 12; break;
    case PX_OP_EXP: lo = -10; hi = 10; break;
    case PX_OP_SIGMOID: case PX_OP_SILU: case PX_OP_GELU: lo = -12; hi = 12; break;
    default: break;
    }
    static const px_dtype ints[] = {PX_I32, PX_I8, PX_I64, PX_I16};
    int n_dt = (op == PX_OP_NEG || op == PX_OP_ABS) ? 8 : 4;
    for (int di = 0; di < n_dt; di++) {
        px_dtype t = di < 4 ? k_float[di] : ints[di - 4];
        for (int k = 0; k < (di == 0 ? 6 : 3); k++) {
            ccase c;
            case_init(&c, op);
            int32_t rank = (int32_t)rng_int(r, 0, 4);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 3000, ne);
            if (k == 2 && rank > 0) ne[rng_int(r, 0, rank - 1)] = 0;
            if (k == 3) {
                rank = 1;
                ne[0] = 1037; /* long odd row: SIMD body + tail */
            }
            if (oracle_is_int(t)) case_rand(&c, 0, IN_INPUT, t, rank, ne, r, -100, 100);
            else case_rand(&c, 0, IN_INPUT, t, rank, ne, r, lo, hi);
            label_inputs(&c);
            if (op == PX_OP_GELU) {
                case_attr_i(&c, "approximate", k & 1);
                case_label(&c, " approximate=%d", k & 1);
            }
            if (op == PX_OP_SCALE && k != 1) {
                double s = rng_uniform(r, -3, 3), b = k == 0 ? 0 : rng_uniform(r, -2, 2);
                case_attr_f(&c, "scale", s);
                if (k) case_attr_f(&c, "bias", b);
                case_label(&c, " scale=%g bias=%g", s, b);
            }
            EMIT();
        }
    }
}

/* ---- matmul ------------------------------------------------------------------------------ */

static void matmul_case(crng *r, case_sink sink, void *ctx, px_dtype ta, px_dtype tb, int trans, int batch,
                        int64_t M, int64_t K, int64_t N, int bias, int b_const) {
    ccase c;
    case_init(&c, PX_OP_MATMUL);
    int64_t a[PX_MAX_DIMS], b[PX_MAX_DIMS];
    int32_t ra = 2, rb = 2;
    switch (batch) {
    case 1: ra = 3; a[0] = 3; break;                                       /* a [3,M,K], b 2-D */
    case 2: ra = rb = 3; a[0] = b[0] = 2; break;                           /* equal batch */
    case 3: ra = 4; rb = 3; a[0] = 3; a[1] = 1; b[0] = 2; break;           /* [3,1] x [2] -> [3,2] */
    case 4: ra = rb = 3; a[0] = 1; b[0] = 4; break;                        /* a broadcasts */
    default: break;
    }
    a[ra - 2] = M;
    a[ra - 1] = K;
    b[rb - 2] = trans ? N : K;
    b[rb - 1] = trans ? K : N;
    case_rand(&c, 0, IN_INPUT, ta, ra, a, r, -1, 1);
    case_rand(&c, 1, b_const ? IN_CONST : IN_INPUT, tb, rb, b, r, -1, 1);
    if (bias) case_rand(&c, 2, IN_INPUT, bias == 2 ? ta : PX_F32, 1, &N, r, -1, 1);
    label_inputs(&c);
    if (trans || oracle_is_quant(tb)) case_attr_i(&c, "trans_b", 1);
    case_label(&c, " trans_b=%d", trans);
    EMIT();
}

static void gen_matmul(crng *r, case_sink sink, void *ctx) {
    static const px_dtype pairs[][2] = {{PX_F32, PX_F32}, {PX_F32, PX_F16}, {PX_F32, PX_BF16}, {PX_F16, PX_F16},
                                        {PX_BF16, PX_BF16}, {PX_F16, PX_F32}, {PX_F64, PX_F64}};
    static const int64_t Ms[] = {1, 3, 7, 16, 33}, Ks[] = {1, 5, 16, 31, 64, 100}, Ns[] = {1, 3, 8, 17, 40};
    for (int pi = 0; pi < 7; pi++)
        for (int k = 0; k < (pi == 0 ? 14 : 5); k++) {
            int64_t M = rng_pick(r, Ms, 5), K = rng_pick(r, Ks, 6), N = rng_pick(r, Ns, 5);
            int batch = (int)rng_int(r, 0, 4);
            if (k == 3) M = 0;
            if (k == 4) N = 0;
            if (k == 5) K = 0;
            matmul_case(r, sink, ctx, pairs[pi][0], pairs[pi][1], k & 1, batch, M, K, N, (int)rng_int(r, 0, 2),
                        (k & 2) != 0);
        }
    /* F16/BF16 weights with trans_b = 1 (a model's layout): one-row products, tiles and their leftovers */
    for (int hi = 0; hi < 2; hi++)
        for (int k = 0; k < 6; k++) {
            int64_t M = rng_pick(r, (const int64_t[]){1, 2, 5, 8, 13}, 5);
            int64_t K = rng_pick(r, (const int64_t[]){16, 31, 64, 100, 300}, 5), N = rng_pick(r, (const int64_t[]){1, 5, 17}, 3);
            matmul_case(r, sink, ctx, PX_F32, hi ? PX_BF16 : PX_F16, 1, 0, M, K, N, k & 1, (k & 2) != 0);
        }
    /* block-quantized weights, trans_b = 1, K a multiple of the block */
    for (int qi = 0; qi < N_QUANT; qi++) {
        px_dtype q = k_quant[qi];
        int64_t bs = oracle_block_size(q);
        for (int k = 0; k < 4; k++) {
            int64_t K = bs * (bs == 32 ? rng_pick(r, (const int64_t[]){1, 3, 5}, 3) : rng_int(r, 1, 2));
            int64_t M = rng_pick(r, (const int64_t[]){1, 3, 8}, 3), N = rng_pick(r, (const int64_t[]){1, 5, 17}, 3);
            if (k == 3) N = 0;
            matmul_case(r, sink, ctx, k == 2 ? PX_F16 : PX_F32, q, 1, k == 1 ? 1 : 0, M, K, N, k == 1, k != 2);
        }
    }
}

/* ---- gather -------------------------------------------------------------------------------- */

static void gather_case(crng *r, case_sink sink, void *ctx, px_dtype dt, int32_t rank, const int64_t *ne, int axis,
                        px_dtype it, int32_t irank, const int64_t *ine, int bad, int out_f16) {
    ccase c;
    case_init(&c, PX_OP_GATHER);
    int ax = axis < 0 ? axis + rank : axis;
    case_rand(&c, 0, IN_CONST, dt, rank, ne, r, -3, 3);
    int64_t ni = numel(irank, ine), dim = ne[ax];
    double *iv = malloc((size_t)(ni + 1) * sizeof *iv);
    for (int64_t i = 0; i < ni; i++) iv[i] = (double)rng_int(r, -dim, dim - 1); /* negative: from the end */
    bad = bad && ni > 0;
    if (bad) iv[rng_int(r, 0, ni - 1)] = (double)(rng_next(r) & 1 ? dim : -dim - 1);
    case_values(&c, 1, IN_INPUT, it, irank, ine, iv);
    free(iv);
    label_inputs(&c);
    case_attr_i(&c, "axis", axis);
    case_label(&c, " axis=%d%s", axis, bad ? " (index out of range)" : "");
    if (out_f16) {
        case_attr_i(&c, "dtype", PX_F16);
        case_label(&c, " dtype=f16");
    }
    EMIT();
}

static void gen_gather(crng *r, case_sink sink, void *ctx) {
    static const px_dtype types[] = {PX_F32, PX_F16, PX_BF16, PX_I32, PX_I64, PX_I8, PX_BOOL};
    for (int di = 0; di < 7; di++)
        for (int k = 0; k < (di == 0 ? 10 : 4); k++) {
            int32_t rank = (int32_t)rng_int(r, 1, 3), irank = (int32_t)rng_int(r, 0, 2);
            int64_t ne[PX_MAX_DIMS], ine[PX_MAX_DIMS];
            rshape(r, rank, 2000, ne);
            rshape(r, irank, 40, ine);
            int axis = k < 4 ? 0 : (int)rng_int(r, -rank, rank - 1);
            if (k == 5 && irank > 0) ine[0] = 0; /* no indices */
            gather_case(r, sink, ctx, types[di], rank, ne, axis, (k & 1) ? PX_I64 : PX_I32, irank, ine,
                        k == 7 && di < 2, 0);
        }
    for (int qi = 0; qi < N_QUANT; qi++) {
        int64_t bs = oracle_block_size(k_quant[qi]);
        for (int k = 0; k < 3; k++) {
            int64_t ne[2] = {rng_int(r, 1, 9), bs * rng_int(r, 1, 2)}, ine[2] = {rng_int(r, 1, 5), 2};
            gather_case(r, sink, ctx, k_quant[qi], 2, ne, 0, k ? PX_I32 : PX_I64, k == 2 ? 2 : 1, ine, 0, k == 1);
        }
    }
}

/* ---- layout ------------------------------------------------------------------------------------- */

static const px_dtype k_layout[] = {PX_F32, PX_F16, PX_BF16, PX_I32, PX_I8, PX_BOOL, PX_I64, PX_F64};

static void gen_concat(crng *r, case_sink sink, void *ctx) {
    for (int di = 0; di < 8; di++)
        for (int k = 0; k < (di == 0 ? 10 : 3); k++) {
            ccase c;
            case_init(&c, PX_OP_CONCAT);
            int32_t rank = (int32_t)rng_int(r, 1, 4);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 600, ne);
            int axis = (int)rng_int(r, -rank, rank - 1), ax = axis < 0 ? axis + rank : axis;
            int n = (int)rng_int(r, 1, 4);
            for (int i = 0; i < n; i++) {
                int64_t e[PX_MAX_DIMS];
                memcpy(e, ne, sizeof e);
                e[ax] = (k == 2 && i == 1) ? 0 : rng_pick(r, k_odd, N_ODD);
                case_rand(&c, i, IN_INPUT, k_layout[di], rank, e, r, -50, 50);
            }
            label_inputs(&c);
            case_attr_i(&c, "axis", axis);
            case_label(&c, " axis=%d", axis);
            EMIT();
        }
}

static void gen_slice(crng *r, case_sink sink, void *ctx) {
    for (int di = 0; di < 8; di++)
        for (int k = 0; k < (di == 0 ? 14 : 3); k++) {
            ccase c;
            case_init(&c, PX_OP_SLICE);
            int32_t rank = (int32_t)rng_int(r, 1, 4);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 3000, ne);
            case_rand(&c, 0, IN_INPUT, k_layout[di], rank, ne, r, -50, 50);
            label_inputs(&c);
            int32_t n = (int32_t)rng_int(r, 1, rank);
            int64_t st[PX_MAX_DIMS], en[PX_MAX_DIMS], ax[PX_MAX_DIMS], sp[PX_MAX_DIMS];
            int used[PX_MAX_DIMS] = {0};
            for (int32_t i = 0; i < n; i++) {
                int32_t a;
                do a = (int32_t)rng_int(r, 0, rank - 1);
                while (used[a]);
                used[a] = 1;
                int64_t dim = ne[a];
                ax[i] = (rng_next(r) & 1) ? a : a - rank;
                sp[i] = rng_pick(r, (const int64_t[]){1, 1, 2, 3, -1, -2}, 6);
                st[i] = rng_int(r, -dim - 2, dim + 2);
                en[i] = rng_int(r, -dim - 2, dim + 2);
                if (k == 1) { /* full reverse */
                    sp[i] = -1;
                    st[i] = -1;
                    en[i] = -dim - 1;
                }
                if (k == 2) { /* large sentinels, as ONNX exporters write them */
                    st[i] = 0;
                    en[i] = INT64_MAX;
                }
            }
            case_attr_ints(&c, "starts", st, n);
            case_attr_ints(&c, "ends", en, n);
            case_attr_ints(&c, "axes", ax, n);
            if (k != 3) case_attr_ints(&c, "steps", sp, n);
            case_label(&c, " slices");
            for (int32_t i = 0; i < n; i++)
                case_label(&c, " ax%lld:%lld:%lld:%lld", (long long)ax[i], (long long)st[i],
                           en[i] == INT64_MAX ? -999LL : (long long)en[i], (long long)(k != 3 ? sp[i] : 1));
            EMIT();
        }
}

static void gen_permute(crng *r, case_sink sink, void *ctx) {
    for (int di = 0; di < 8; di++)
        for (int k = 0; k < (di == 0 ? 10 : 3); k++) {
            ccase c;
            case_init(&c, PX_OP_PERMUTE);
            int32_t rank = (int32_t)rng_int(r, 1, 5);
            int64_t ne[PX_MAX_DIMS], perm[PX_MAX_DIMS];
            rshape(r, rank, 3000, ne);
            if (k == 4) ne[rng_int(r, 0, rank - 1)] = 0;
            for (int32_t i = 0; i < rank; i++) perm[i] = i;
            for (int32_t i = rank - 1; i > 0; i--) {
                int32_t j = (int32_t)rng_int(r, 0, i);
                int64_t t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            case_rand(&c, 0, IN_INPUT, k_layout[di], rank, ne, r, -50, 50);
            label_inputs(&c);
            case_attr_ints(&c, "perm", perm, rank);
            case_label(&c, " perm=");
            for (int32_t i = 0; i < rank; i++) case_label(&c, "%s%lld", i ? "," : "", (long long)perm[i]);
            EMIT();
        }
}

static void gen_copy(crng *r, case_sink sink, void *ctx) {
    static const px_dtype types[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I8, PX_I16, PX_I32, PX_I64,
                                     PX_U8, PX_U16, PX_U32, PX_U64, PX_BOOL, PX_Q4_0, PX_Q8_0, PX_Q4_K, PX_Q6_K};
    for (int di = 0; di < 17; di++)
        for (int k = 0; k < 2; k++) {
            ccase c;
            case_init(&c, PX_OP_COPY);
            int32_t rank = (int32_t)rng_int(r, 1, 3);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 1500, ne);
            if (oracle_is_quant(types[di])) ne[rank - 1] = oracle_block_size(types[di]) * rng_int(r, 1, 2);
            if (k == 1) ne[0] = 0;
            case_rand(&c, 0, IN_INPUT, types[di], rank, ne, r, oracle_is_float(types[di]) || oracle_is_quant(types[di]) ? -5 : 0, 100);
            label_inputs(&c);
            EMIT();
        }
}

/* ---- reductions ----------------------------------------------------------------------------------- */

static void gen_reduce(px_op op, crng *r, case_sink sink, void *ctx) {
    static const px_dtype ints[] = {PX_I32, PX_I64, PX_I8};
    int n_dt = op == PX_OP_REDUCE_MEAN ? 4 : 7;
    for (int di = 0; di < n_dt; di++) {
        px_dtype t = di < 4 ? k_float[di] : ints[di - 4];
        for (int k = 0; k < (di == 0 ? 10 : 3); k++) {
            ccase c;
            case_init(&c, op);
            int32_t rank = (int32_t)rng_int(r, 1, 4);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 3000, ne);
            if (k == 4) {
                rank = 2;
                ne[0] = 3;
                ne[1] = 1000; /* a long row */
            }
            int32_t n = 0;
            int64_t axes[PX_MAX_DIMS];
            for (int32_t i = 0; i < rank; i++)
                if (rng_next(r) & 1) axes[n++] = (rng_next(r) & 1) ? i : i - rank;
            if (n == 0 && k != 1) axes[n++] = rank - 1;
            if (k == 3 && oracle_is_float(t)) ne[axes[0] < 0 ? axes[0] + rank : axes[0]] = 0; /* empty axis */
            double lo = oracle_is_float(t) ? -3 : (t == PX_I8 ? -2 : -1000), hi = -lo;
            if (t == PX_I8 && op != PX_OP_REDUCE_SUM) lo = -128, hi = 127;
            case_rand(&c, 0, IN_INPUT, t, rank, ne, r, lo, hi);
            label_inputs(&c);
            int keep = (int)(rng_next(r) & 1);
            if (k != 1) {
                case_attr_ints(&c, "axes", axes, n);
                case_label(&c, " axes=");
                for (int32_t i = 0; i < n; i++) case_label(&c, "%s%lld", i ? "," : "", (long long)axes[i]);
            } else {
                case_label(&c, " axes=all");
            }
            if (k == 2) keep = 1; /* default */
            else case_attr_i(&c, "keepdims", keep);
            case_label(&c, " keepdims=%d", keep);
            if (t == PX_I8 && op == PX_OP_REDUCE_SUM && numel(rank, ne) > 60) {
                case_free(&c); /* an i8 sum could overflow */
                continue;
            }
            EMIT();
        }
    }
}

/* ---- softmax, log_softmax --------------------------------------------------------------------------- */

static void gen_softmax(px_op op, crng *r, case_sink sink, void *ctx) {
    static const int64_t cols[] = {1, 5, 32, 100, 257};
    for (int di = 0; di < 4; di++)
        for (int k = 0; k < (di == 0 ? 12 : 4); k++) {
            ccase c;
            case_init(&c, op);
            int32_t rank = (int32_t)rng_int(r, 1, 4);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 600, ne);
            ne[rank - 1] = rng_pick(r, cols, 5);
            if (k == 5) ne[0] = 0;
            case_rand(&c, 0, IN_INPUT, k_float[di], rank, ne, r, -8, 8);
            if (op == PX_OP_SOFTMAX) {
                int mk = k % 4; /* 0 none, 1 [cols], 2 last two dims, 3 full */
                if (mk) {
                    int32_t mr = mk == 1 ? 1 : mk == 2 ? (rank >= 2 ? 2 : 1) : rank;
                    int64_t me[PX_MAX_DIMS];
                    for (int32_t i = 0; i < mr; i++) me[i] = ne[rank - mr + i];
                    int64_t n = numel(mr, me);
                    double *v = malloc((size_t)(n + 1) * sizeof *v);
                    for (int64_t i = 0; i < n; i++) v[i] = (rng_next(r) % 4 == 0) ? -INFINITY : rng_uniform(r, -3, 1);
                    if (k >= 6 && n >= me[mr - 1])
                        for (int64_t i = 0; i < me[mr - 1]; i++) v[i] = -INFINITY; /* a fully masked row */
                    case_values(&c, 1, IN_INPUT, (k & 4) ? k_float[di] : PX_F32, mr, me, v);
                    free(v);
                }
                label_inputs(&c);
                if (k & 1) {
                    double s = rng_uniform(r, 0.05, 2);
                    case_attr_f(&c, "scale", s);
                    case_label(&c, " scale=%g", s);
                }
            } else {
                label_inputs(&c);
                int axis = (int)rng_int(r, -rank, rank - 1);
                if (k != 1) case_attr_i(&c, "axis", axis);
                case_label(&c, " axis=%d", k != 1 ? axis : -1);
            }
            EMIT();
        }
}

/* ---- normalisation ---------------------------------------------------------------------------------- */

static void gen_norm(px_op op, crng *r, case_sink sink, void *ctx) {
    static const int64_t Ds[] = {1, 7, 64, 100, 333};
    for (int di = 0; di < 4; di++)
        for (int k = 0; k < (di == 0 ? 10 : 4); k++) {
            ccase c;
            case_init(&c, op);
            int32_t rank = (int32_t)rng_int(r, 1, 3);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 300, ne);
            ne[rank - 1] = rng_pick(r, Ds, 5);
            if (k == 3) ne[0] = 0;
            px_dtype t = k_float[di];
            case_rand(&c, 0, IN_INPUT, t, rank, ne, r, -2, 3);
            int w = k % 3, b = op == PX_OP_LAYER_NORM ? (int)(k / 3 % 2) : 0;
            int64_t D = ne[rank - 1];
            if (w) case_rand(&c, 1, IN_CONST, w == 1 ? PX_F32 : t, 1, &D, r, -2, 2);
            else if (b) case_absent(&c, 1);
            if (b) case_rand(&c, 2, IN_CONST, t, 1, &D, r, -1, 1);
            label_inputs(&c);
            if (k & 1) {
                double eps = rng_pick(r, (const int64_t[]){1, 10, 1000}, 3) * 1e-5;
                case_attr_f(&c, "eps", eps);
                case_label(&c, " eps=%g", eps);
            }
            EMIT();
        }
}

/* ---- rope --------------------------------------------------------------------------------------------- */

static void gen_rope(crng *r, case_sink sink, void *ctx) {
    static const int64_t Ds[] = {2, 8, 18, 64, 66};
    for (int di = 0; di < 3; di++)
        for (int k = 0; k < (di == 0 ? 14 : 5); k++) {
            ccase c;
            case_init(&c, PX_OP_ROPE);
            int64_t T = rng_pick(r, (const int64_t[]){1, 3, 7}, 3), H = rng_pick(r, (const int64_t[]){1, 2, 5}, 3);
            int64_t D = rng_pick(r, Ds, 5);
            int32_t rank = (k % 4 == 3) ? 2 : 3;
            int64_t ne[3] = {T, H, D};
            if (rank == 2) ne[1] = D;
            if (k == 9) ne[0] = T = 0;
            case_rand(&c, 0, IN_INPUT, k_float[di], rank, ne, r, -2, 2);
            case_rand(&c, 1, IN_INPUT, PX_I32, 1, &T, r, 0, k & 4 ? 4096 : 64);
            int64_t nd = (k & 2) && D > 2 ? 2 * rng_int(r, 1, D / 2 - 1) : D;
            int64_t h2 = nd / 2;
            if (k % 5 == 1) case_rand(&c, 2, IN_CONST, PX_F32, 1, &h2, r, 0.5, 4);
            label_inputs(&c);
            int mode = (k & 1) ? 2 : 0;
            double base = (double)rng_pick(r, (const int64_t[]){10000, 500000, 1000}, 3);
            double fs = (k % 3 == 2) ? 0.25 : 1.0;
            if (nd != D) case_attr_i(&c, "n_dims", nd);
            case_attr_i(&c, "mode", mode);
            case_attr_f(&c, "freq_base", base);
            if (fs != 1.0) case_attr_f(&c, "freq_scale", fs);
            case_label(&c, " n_dims=%lld mode=%d base=%g scale=%g", (long long)nd, mode, base, fs);
            EMIT();
        }
}

/* ---- attention ---------------------------------------------------------------------------------------- */

static void attention_case(crng *r, case_sink sink, void *ctx, px_dtype dt, int k) {
    ccase c;
    case_init(&c, PX_OP_ATTENTION);
    int64_t Hkv = rng_pick(r, (const int64_t[]){1, 2, 3}, 3), G = rng_pick(r, (const int64_t[]){1, 2, 4}, 3);
    int64_t Hq = Hkv * G, D = rng_pick(r, (const int64_t[]){8, 16, 33, 64}, 4);
    int64_t Dv = (k % 3 == 2) ? 12 : D, T = rng_pick(r, (const int64_t[]){1, 4, 9}, 3);
    int64_t Tk = rng_pick(r, (const int64_t[]){1, 4, 9, 12}, 4);
    int64_t qs[3] = {T, Hq, D}, ks[3] = {Tk, Hkv, D}, vs[3] = {Tk, Hkv, Dv};
    case_rand(&c, 0, IN_INPUT, dt, 3, qs, r, -1, 1);
    case_rand(&c, 1, IN_INPUT, dt, 3, ks, r, -1, 1);
    case_rand(&c, 2, IN_INPUT, dt, 3, vs, r, -1, 1);
    int pos = k & 1, mask = (k >> 1) % 3;
    if (pos || mask) {
        case_absent(&c, 3);
        case_absent(&c, 4);
    }
    if (pos) {
        double *p = malloc((size_t)T * sizeof *p);
        for (int64_t i = 0; i < T; i++) p[i] = (double)rng_int(r, 0, Tk + 2);
        case_values(&c, 5, IN_INPUT, PX_I32, 1, &T, p);
        free(p);
    } else if (mask) {
        case_absent(&c, 5);
    }
    if (mask) {
        int64_t ms[2] = {mask == 1 ? T : 1, Tk};
        case_rand(&c, 6, IN_INPUT, PX_F32, 2, ms, r, -2, 0.5);
    }
    label_inputs(&c);
    int causal = k % 4 != 2, window = k % 5 == 3 ? 3 : 0;
    double softcap = k % 6 == 4 ? 2.0 : 0.0;
    if (!causal) case_attr_i(&c, "causal", 0);
    if (window) case_attr_i(&c, "window", window);
    if (softcap > 0) case_attr_f(&c, "softcap", softcap);
    if (k % 7 == 5) case_attr_f(&c, "scale", 0.3);
    case_label(&c, " causal=%d window=%d softcap=%g%s", causal, window, softcap, k % 7 == 5 ? " scale=0.3" : "");
    EMIT();
}

static void attention_cache_case(crng *r, case_sink sink, void *ctx, px_dtype dt, px_dtype cdt, int k) {
    ccase c;
    case_init(&c, PX_OP_ATTENTION);
    int64_t Hkv = rng_pick(r, (const int64_t[]){1, 2}, 2), G = rng_pick(r, (const int64_t[]){1, 3}, 2);
    int64_t Hq = Hkv * G, D = cdt == PX_Q8_0 ? 32 * rng_int(r, 1, 2) : rng_pick(r, (const int64_t[]){8, 20, 64}, 3);
    int64_t Dv = cdt == PX_Q8_0 ? 32 : D, C = rng_pick(r, (const int64_t[]){16, 40}, 2);
    int64_t T = rng_pick(r, (const int64_t[]){1, 3, 5}, 3);
    int64_t qs[3] = {T, Hq, D}, ks[3] = {T, Hkv, D}, vs[3] = {T, Hkv, Dv}, kc[3] = {C, Hkv, D}, vc[3] = {C, Hkv, Dv};
    case_rand(&c, 0, IN_INPUT, dt, 3, qs, r, -1, 1);
    case_rand(&c, 1, IN_INPUT, dt, 3, ks, r, -1, 1);
    case_rand(&c, 2, IN_INPUT, dt, 3, vs, r, -1, 1);
    case_rand(&c, 3, IN_STATE, cdt, 3, kc, r, -1, 1);
    case_rand(&c, 4, IN_STATE, cdt, 3, vc, r, -1, 1);
    /* distinct positions: a decode step continues a sequence, prefill
     * writes a block, others are scattered */
    double p[8];
    int64_t base = rng_int(r, 0, C - T);
    for (int64_t i = 0; i < T; i++) p[i] = (double)(base + i);
    if (k & 1)
        for (int64_t i = T - 1; i > 0; i--) {
            int64_t j = rng_int(r, 0, i);
            double t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
    case_values(&c, 5, IN_INPUT, PX_I32, 1, &T, p);
    if (k % 3 == 2) {
        int64_t ms[2] = {T, C};
        case_rand(&c, 6, IN_INPUT, PX_F32, 2, ms, r, -2, 0.5);
    }
    label_inputs(&c);
    int causal = k % 4 != 1, window = k % 5 == 4 ? 4 : 0;
    if (!causal) case_attr_i(&c, "causal", 0);
    if (window) case_attr_i(&c, "window", window);
    case_label(&c, " causal=%d window=%d positions", causal, window);
    for (int64_t i = 0; i < T; i++) case_label(&c, "%s%g", i ? "," : "=", p[i]);
    c.n_state_checks = 2;
    c.state_in[0] = 3;
    c.state_src[0] = 1;
    c.state_in[1] = 4;
    c.state_src[1] = 2;
    c.state_idx = 5;
    EMIT();
}

static void gen_attention(crng *r, case_sink sink, void *ctx) {
    for (int di = 0; di < 3; di++)
        for (int k = 0; k < (di == 0 ? 16 : 5); k++) attention_case(r, sink, ctx, k_float[di], k);
    static const px_dtype caches[] = {PX_F32, PX_F16, PX_Q8_0};
    for (int ci = 0; ci < 3; ci++)
        for (int k = 0; k < 6; k++) attention_cache_case(r, sink, ctx, k < 4 ? PX_F32 : PX_F16, caches[ci], k);
}

/* ---- swiglu, cast, cumsum, argmax ------------------------------------------------------------------------ */

static void gen_swiglu(crng *r, case_sink sink, void *ctx) {
    for (int di = 0; di < 4; di++)
        for (int k = 0; k < (di == 0 ? 6 : 3); k++) {
            ccase c;
            case_init(&c, PX_OP_SWIGLU);
            int32_t rank = (int32_t)rng_int(r, 1, 3);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 3000, ne);
            if (k == 2) ne[0] = 0;
            case_rand(&c, 0, IN_INPUT, k_float[di], rank, ne, r, -8, 8);
            case_rand(&c, 1, IN_INPUT, k_float[di], rank, ne, r, -3, 3);
            label_inputs(&c);
            EMIT();
        }
}

/* Values for a cast from `t`: the type's range with its extremes, and for
 * floats fractions, halves, large values and NaN/inf/-0. */
static void cast_values(crng *r, px_dtype t, int64_t n, double *v) {
    static const double special[] = {NAN, INFINITY, -INFINITY, -0.0, 0.5, -0.5, 1.5, -2.5, 1e10, -1e10, 300.7,
                                     -300.7, 65504, 65519, 70000, 1e-6, 127.9, -128.9, 255.5, 3e38};
    for (int64_t i = 0; i < n; i++) {
        if (oracle_is_float(t)) {
            if (i < 20) v[i] = special[i];
            else v[i] = rng_uniform(r, -400, 400) * (rng_next(r) & 1 ? 1 : 0.01);
            if (t != PX_F32 && t != PX_F64 && fabs(v[i]) > 1e30 && !isinf(v[i])) v[i] = 1e4;
            /* exact in F32, so that F64 -> F16/BF16 is one rounding even
             * if an implementation goes through F32 */
            v[i] = (double)(float)v[i];
        } else if (t == PX_BOOL) {
            v[i] = (double)(rng_next(r) & 1);
        } else {
            double lo, hi;
            switch (t) {
            case PX_I8: lo = -128; hi = 127; break;
            case PX_I16: lo = -32768; hi = 32767; break;
            case PX_U8: lo = 0; hi = 255; break;
            case PX_U16: lo = 0; hi = 65535; break;
            case PX_U32: lo = 0; hi = 4294967295.0; break;
            case PX_U64: lo = 0; hi = 1e15; break;
            case PX_I64: lo = -1e15; hi = 1e15; break;
            case PX_I4: lo = -8; hi = 7; break;
            case PX_U4: lo = 0; hi = 15; break;
            case PX_I2: lo = -2; hi = 1; break;
            case PX_U2: lo = 0; hi = 3; break;
            default: lo = -2147483648.0; hi = 2147483647.0; break;
            }
            v[i] = i == 0 ? lo : i == 1 ? hi : (rng_next(r) & 1) ? (double)rng_int(r, -300, 300) : floor(rng_uniform(r, lo, hi));
            if (v[i] < lo) v[i] = lo;
            if (v[i] > hi) v[i] = hi;
        }
    }
}

static void gen_cast(crng *r, case_sink sink, void *ctx) {
    static const px_dtype plain[] = {PX_F32,        PX_F16,   PX_BF16,       PX_F64,    PX_I8,     PX_I16,
                                     PX_I32,        PX_I64,   PX_U8,         PX_U16,    PX_U32,    PX_U64,
                                     PX_BOOL,       PX_F8E4M3FN, PX_F8E4M3FNUZ, PX_F8E5M2, PX_F8E5M2FNUZ, PX_F8E8M0,
                                     PX_F4E2M1,     PX_I4,    PX_U4,         PX_I2,     PX_U2};
    enum { N_PLAIN = sizeof plain / sizeof plain[0] };
    for (int si = 0; si < N_PLAIN; si++)
        for (int ti = 0; ti < N_PLAIN; ti++) {
            ccase c;
            case_init(&c, PX_OP_CAST);
            int64_t ne[2] = {rng_int(r, 0, 3) ? 3 : 0, rng_pick(r, (const int64_t[]){17, 40}, 2)};
            int64_t n = ne[0] * ne[1];
            double *v = malloc((size_t)(n + 1) * sizeof *v);
            cast_values(r, plain[si], n, v);
            case_values(&c, 0, IN_INPUT, plain[si], 2, ne, v);
            free(v);
            label_inputs(&c);
            case_attr_i(&c, "dtype", plain[ti]);
            case_label(&c, " -> %s", dn(plain[ti]));
            EMIT();
        }
    /* saturate = 0 (float8 overflow to inf/NaN, integers wrap around) and the
     * F8E8M0 rounding modes, from the float sources and I32 */
    static const px_dtype src[] = {PX_F32, PX_F16, PX_F64, PX_I32};
    static const px_dtype dst[] = {PX_F8E4M3FN, PX_F8E4M3FNUZ, PX_F8E5M2, PX_F8E5M2FNUZ, PX_F8E8M0, PX_F4E2M1,
                                   PX_I4,       PX_U4,         PX_I2,     PX_U2,         PX_I8,     PX_U16};
    for (int si = 0; si < 4; si++)
        for (int ti = 0; ti < (int)(sizeof dst / sizeof dst[0]); ti++)
            for (int rm = 0; rm < (dst[ti] == PX_F8E8M0 ? 3 : 1); rm++) {
                ccase c;
                case_init(&c, PX_OP_CAST);
                int64_t ne[2] = {2, 40};
                double v[80];
                cast_values(r, src[si], 80, v);
                case_values(&c, 0, IN_INPUT, src[si], 2, ne, v);
                label_inputs(&c);
                case_attr_i(&c, "dtype", dst[ti]);
                case_attr_i(&c, "saturate", 0);
                if (rm) case_attr_i(&c, "round_mode", rm);
                case_label(&c, " -> %s saturate=0 round_mode=%d", dn(dst[ti]), rm);
                EMIT();
            }
    for (int qi = 0; qi < N_QUANT; qi++)
        for (int k = 0; k < 4; k++) {
            ccase c;
            case_init(&c, PX_OP_CAST);
            px_dtype q = k_quant[qi], f = (k & 1) ? PX_F16 : PX_F32;
            int64_t ne[2] = {rng_int(r, 1, 3), oracle_block_size(q) * rng_int(r, 1, 2)};
            if (k < 2) {
                case_rand(&c, 0, IN_INPUT, f, 2, ne, r, -4, 4); /* quantize */
                label_inputs(&c);
                case_attr_i(&c, "dtype", q);
                case_label(&c, " -> %s", dn(q));
            } else {
                case_rand(&c, 0, IN_INPUT, q, 2, ne, r, -4, 4); /* dequantize */
                label_inputs(&c);
                case_attr_i(&c, "dtype", f);
                case_label(&c, " -> %s", dn(f));
            }
            EMIT();
        }
}

static void gen_cumsum(crng *r, case_sink sink, void *ctx) {
    static const px_dtype types[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I32, PX_I64};
    for (int di = 0; di < 6; di++)
        for (int k = 0; k < (di == 0 ? 8 : 3); k++) {
            ccase c;
            case_init(&c, PX_OP_CUMSUM);
            int32_t rank = (int32_t)rng_int(r, 1, 3);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 2000, ne);
            if (k == 5) ne[0] = 0;
            case_rand(&c, 0, IN_INPUT, types[di], rank, ne, r, -100, 100);
            label_inputs(&c);
            int axis = (int)rng_int(r, -rank, rank - 1), ex = k & 1, rev = (k >> 1) & 1;
            if (k != 0) case_attr_i(&c, "axis", axis);
            else axis = 0;
            if (ex) case_attr_i(&c, "exclusive", 1);
            if (rev) case_attr_i(&c, "reverse", 1);
            case_label(&c, " axis=%d exclusive=%d reverse=%d", axis, ex, rev);
            EMIT();
        }
}

static void gen_argmax(crng *r, case_sink sink, void *ctx) {
    static const px_dtype types[] = {PX_F32, PX_F16, PX_BF16, PX_F64, PX_I32, PX_I8, PX_U8, PX_I64};
    for (int di = 0; di < 8; di++)
        for (int k = 0; k < (di == 0 ? 8 : 3); k++) {
            ccase c;
            case_init(&c, PX_OP_ARGMAX);
            int32_t rank = (int32_t)rng_int(r, 1, 3);
            int64_t ne[PX_MAX_DIMS];
            rshape(r, rank, 2000, ne);
            if (k == 4) {
                rank = 1;
                ne[0] = 32001; /* a vocabulary row */
            }
            int axis = (int)rng_int(r, -rank, rank - 1), keep = k & 1;
            if (k == 6 && rank > 1) ne[((axis < 0 ? axis + rank : axis) + 1) % rank] = 0; /* empty output */
            /* few distinct values: ties, the first maximum must win */
            case_rand(&c, 0, IN_INPUT, types[di], rank, ne, r, 0, k == 4 ? 1000 : 5);
            label_inputs(&c);
            case_attr_i(&c, "axis", axis);
            if (k != 2) case_attr_i(&c, "keepdims", keep);
            else keep = 1;
            case_label(&c, " axis=%d keepdims=%d", axis, keep);
            EMIT();
        }
}

/* ---- set_rows, arange --------------------------------------------------------------------------------- */

static void gen_set_rows(crng *r, case_sink sink, void *ctx) {
    static const px_dtype dsts[] = {PX_F32, PX_F16, PX_BF16, PX_Q8_0, PX_Q4_0};
    for (int di = 0; di < 5; di++)
        for (int k = 0; k < 6; k++) {
            ccase c;
            case_init(&c, PX_OP_SET_ROWS);
            px_dtype dt = dsts[di];
            int64_t R = rng_pick(r, (const int64_t[]){1, 5, 16}, 3);
            int32_t rank = (k & 1) ? 3 : 2;
            int64_t ne[3] = {R, 2, 0};
            int64_t W = oracle_is_quant(dt) ? 32 * rng_int(r, 1, 3) : rng_pick(r, k_odd, N_ODD);
            ne[rank - 1] = W;
            if (rank == 3) ne[1] = rng_int(r, 1, 3);
            int64_t N = k == 2 ? 0 : rng_int(r, 1, R);
            int64_t se[3];
            memcpy(se, ne, sizeof se);
            se[0] = N;
            case_rand(&c, 0, IN_STATE, dt, rank, ne, r, -2, 2);
            case_rand(&c, 1, IN_INPUT, (k & 2) ? PX_F16 : PX_F32, rank, se, r, -3, 3);
            /* distinct rows: a random permutation's prefix */
            double perm[16];
            for (int64_t i = 0; i < R; i++) perm[i] = (double)i;
            for (int64_t i = R - 1; i > 0; i--) {
                int64_t j = rng_int(r, 0, i);
                double t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            if (k == 5 && N > 0) perm[N - 1] = (double)R; /* out of range */
            case_values(&c, 2, IN_INPUT, (k & 4) ? PX_I64 : PX_I32, 1, &N, perm);
            label_inputs(&c);
            if (k == 5 && N > 0) case_label(&c, " (index out of range)");
            c.n_state_checks = 1; /* the state read back by name equals out */
            c.state_in[0] = 0;
            c.state_src[0] = 1;
            c.state_idx = 2;
            EMIT();
        }
}

static void gen_arange(crng *r, case_sink sink, void *ctx) {
    static const px_dtype types[] = {PX_F32, PX_F16, PX_F64, PX_BF16, PX_I32, PX_I64};
    for (int di = 0; di < 6; di++)
        for (int k = 0; k < 4; k++) {
            ccase c;
            case_init(&c, PX_OP_ARANGE);
            int64_t n = rng_pick(r, (const int64_t[]){0, 1, 7, 100, 1000}, 5);
            int fl = oracle_is_float(types[di]);
            double start = fl ? rng_uniform(r, -10, 10) : (double)rng_int(r, -10, 10);
            double step = fl ? rng_uniform(r, -2, 2) : (double)rng_int(r, -3, 3);
            if (k == 0) start = 0, step = 1;
            c.arange_n = n;
            c.n_in = 0;
            case_attr_f(&c, "start", start);
            case_attr_f(&c, "step", step);
            case_attr_i(&c, "dtype", types[di]);
            case_oracle_attr_i(&c, "n", n);
            case_label(&c, "arange %s n=%lld start=%g step=%g", dn(types[di]), (long long)n, start, step);
            EMIT();
        }
}

/* ---- large cases: SIMD bodies and tails, and work split over threads ------------------------------------ */

static void big_case(crng *r, case_sink sink, void *ctx, px_op op, int n_in, const px_dtype *dt, const int32_t *rank,
                     const int64_t (*ne)[PX_MAX_DIMS], double lo, double hi) {
    ccase c;
    case_init(&c, op);
    for (int i = 0; i < n_in; i++) case_rand(&c, i, IN_INPUT, dt[i], rank[i], ne[i], r, lo, hi);
    label_inputs(&c);
    case_label(&c, " (large)");
    sink(&c, ctx);
    case_free(&c);
}

static void gen_big(px_op op, crng *r, case_sink sink, void *ctx) {
    const px_dtype f2[2] = {PX_F32, PX_F32}, h2[2] = {PX_F16, PX_F16};
    const int32_t r2[2] = {2, 1}, r22[2] = {2, 2};
    const int64_t bin[2][PX_MAX_DIMS] = {{257, 1031}, {1031}}, same[2][PX_MAX_DIMS] = {{300, 1001}, {300, 1001}};
    switch (op) {
    case PX_OP_ADD: case PX_OP_MUL: case PX_OP_SUB:
        big_case(r, sink, ctx, op, 2, f2, r2, bin, -4, 4);
        big_case(r, sink, ctx, op, 2, h2, r22, same, -4, 4);
        break;
    case PX_OP_DIV:
        big_case(r, sink, ctx, op, 2, f2, r2, bin, 0.5, 4);
        break;
    case PX_OP_EXP: case PX_OP_SILU: case PX_OP_GELU: case PX_OP_TANH: case PX_OP_SIGMOID: case PX_OP_NEG:
    case PX_OP_SCALE:
        big_case(r, sink, ctx, op, 1, f2, r22, same, -8, 8);
        big_case(r, sink, ctx, op, 1, h2, r22, same, -8, 8);
        break;
    case PX_OP_SOFTMAX: case PX_OP_LOG_SOFTMAX: case PX_OP_RMS_NORM: case PX_OP_LAYER_NORM: case PX_OP_CUMSUM: {
        const int64_t x[1][PX_MAX_DIMS] = {{33, 4099}};
        const int32_t rk[1] = {2};
        big_case(r, sink, ctx, op, 1, f2, rk, x, -4, 4);
        big_case(r, sink, ctx, op, 1, h2, rk, x, -4, 4);
        break;
    }
    case PX_OP_REDUCE_SUM: case PX_OP_REDUCE_MAX: case PX_OP_REDUCE_MEAN:
        for (int ax = 0; ax < 2; ax++) {
            ccase c;
            case_init(&c, op);
            int64_t ne[2] = {1000, 1001}, axes[1] = {ax};
            case_rand(&c, 0, IN_INPUT, ax ? PX_F32 : PX_F16, 2, ne, r, -2, 2);
            label_inputs(&c);
            case_attr_ints(&c, "axes", axes, 1);
            case_label(&c, " axes=%d (large)", ax);
            EMIT();
        }
        break;
    case PX_OP_ARGMAX: {
        ccase c;
        case_init(&c, op);
        int64_t ne[2] = {4, 151936};
        case_rand(&c, 0, IN_INPUT, PX_F32, 2, ne, r, -30, 30);
        label_inputs(&c);
        case_attr_i(&c, "axis", 1);
        case_label(&c, " axis=1 (large)");
        EMIT();
        break;
    }
    case PX_OP_CAST: {
        const int64_t x[1][PX_MAX_DIMS] = {{1000, 1024}};
        const int32_t rk[1] = {2};
        static const px_dtype to[3] = {PX_F16, PX_BF16, PX_Q8_0};
        for (int i = 0; i < 3; i++) {
            ccase c;
            case_init(&c, op);
            case_rand(&c, 0, IN_INPUT, PX_F32, rk[0], x[0], r, -100, 100);
            label_inputs(&c);
            case_attr_i(&c, "dtype", to[i]);
            case_label(&c, " -> %s (large)", dn(to[i]));
            EMIT();
        }
        break;
    }
    case PX_OP_MATMUL:
        matmul_case(r, sink, ctx, PX_F32, PX_F32, 1, 0, 32, 1024, 500, 0, 1);
        matmul_case(r, sink, ctx, PX_F32, PX_F16, 1, 0, 7, 2048, 515, 1, 1);
        matmul_case(r, sink, ctx, PX_F16, PX_F16, 0, 1, 33, 300, 129, 0, 0);
        matmul_case(r, sink, ctx, PX_BF16, PX_BF16, 1, 0, 5, 1000, 77, 0, 1);
        for (int qi = 0; qi < N_QUANT; qi++)
            matmul_case(r, sink, ctx, PX_F32, k_quant[qi], 1, 0, qi % 2 ? 1 : 9, 4096, 130, 0, 1);
        break;
    case PX_OP_GATHER:
        for (int qi = 0; qi < N_QUANT; qi += 3) {
            int64_t ne[2] = {700, 1024}, ine[1] = {100};
            gather_case(r, sink, ctx, k_quant[qi], 2, ne, 0, PX_I32, 1, ine, 0, 0);
        }
        break;
    case PX_OP_PERMUTE: {
        ccase c;
        case_init(&c, op);
        int64_t ne[4] = {64, 33, 2, 128}, perm[4] = {2, 1, 0, 3};
        case_rand(&c, 0, IN_INPUT, PX_F32, 4, ne, r, -1, 1);
        label_inputs(&c);
        case_attr_ints(&c, "perm", perm, 4);
        case_label(&c, " perm=2,1,0,3 (large)");
        EMIT();
        break;
    }
    case PX_OP_ROPE: {
        ccase c;
        case_init(&c, op);
        int64_t ne[3] = {64, 8, 128}, T = 64;
        case_rand(&c, 0, IN_INPUT, PX_F32, 3, ne, r, -2, 2);
        case_rand(&c, 1, IN_INPUT, PX_I32, 1, &T, r, 0, 8000);
        label_inputs(&c);
        case_attr_i(&c, "mode", 2);
        case_attr_f(&c, "freq_base", 500000);
        case_label(&c, " mode=2 base=500000 (large)");
        EMIT();
        break;
    }
    case PX_OP_ATTENTION: {
        ccase c;
        case_init(&c, op);
        int64_t qs[3] = {32, 8, 128}, ks[3] = {200, 2, 128};
        case_rand(&c, 0, IN_INPUT, PX_F32, 3, qs, r, -1, 1);
        case_rand(&c, 1, IN_INPUT, PX_F32, 3, ks, r, -1, 1);
        case_rand(&c, 2, IN_INPUT, PX_F32, 3, ks, r, -1, 1);
        case_absent(&c, 3);
        case_absent(&c, 4);
        double p[32];
        for (int i = 0; i < 32; i++) p[i] = 168 + i;
        int64_t T = 32;
        case_values(&c, 5, IN_INPUT, PX_I32, 1, &T, p);
        label_inputs(&c);
        case_label(&c, " causal=1 (large)");
        EMIT();
        break;
    }
    default: break;
    }
}

/* ---- dispatch ------------------------------------------------------------------------------------------- */

void conf_generate_large(px_op op, crng *r, case_sink sink, void *ctx) { gen_big(op, r, sink, ctx); }

void conf_generate(px_op op, crng *r, case_sink sink, void *ctx) {
    switch (op) {
    case PX_OP_ADD: case PX_OP_SUB: case PX_OP_MUL: case PX_OP_DIV: case PX_OP_POW: case PX_OP_MIN:
    case PX_OP_MAX:
        gen_binary(op, r, sink, ctx);
        break;
    case PX_OP_EQUAL: case PX_OP_NOT_EQUAL: case PX_OP_LESS: case PX_OP_LESS_EQUAL: case PX_OP_GREATER:
    case PX_OP_GREATER_EQUAL:
        gen_compare(op, r, sink, ctx);
        break;
    case PX_OP_NEG: case PX_OP_ABS: case PX_OP_EXP: case PX_OP_LOG: case PX_OP_SQRT: case PX_OP_RSQRT:
    case PX_OP_SIN: case PX_OP_COS: case PX_OP_TANH: case PX_OP_ERF: case PX_OP_SIGMOID: case PX_OP_RELU:
    case PX_OP_GELU: case PX_OP_SILU: case PX_OP_SCALE:
        gen_unary(op, r, sink, ctx);
        break;
    case PX_OP_MATMUL: gen_matmul(r, sink, ctx); break;
    case PX_OP_GATHER: gen_gather(r, sink, ctx); break;
    case PX_OP_CONCAT: gen_concat(r, sink, ctx); break;
    case PX_OP_SLICE: gen_slice(r, sink, ctx); break;
    case PX_OP_PERMUTE: gen_permute(r, sink, ctx); break;
    case PX_OP_COPY: gen_copy(r, sink, ctx); break;
    case PX_OP_REDUCE_SUM: case PX_OP_REDUCE_MEAN: case PX_OP_REDUCE_MAX: case PX_OP_REDUCE_MIN:
        gen_reduce(op, r, sink, ctx);
        break;
    case PX_OP_SOFTMAX: case PX_OP_LOG_SOFTMAX: gen_softmax(op, r, sink, ctx); break;
    case PX_OP_RMS_NORM: case PX_OP_LAYER_NORM: gen_norm(op, r, sink, ctx); break;
    case PX_OP_ROPE: gen_rope(r, sink, ctx); break;
    case PX_OP_ATTENTION: gen_attention(r, sink, ctx); break;
    case PX_OP_SWIGLU: gen_swiglu(r, sink, ctx); break;
    case PX_OP_CAST: gen_cast(r, sink, ctx); break;
    case PX_OP_WHERE: gen_where(r, sink, ctx); break;
    case PX_OP_CUMSUM: gen_cumsum(r, sink, ctx); break;
    case PX_OP_ARGMAX: gen_argmax(r, sink, ctx); break;
    case PX_OP_SET_ROWS: gen_set_rows(r, sink, ctx); break;
    case PX_OP_ARANGE: gen_arange(r, sink, ctx); break;
    default: /* RESHAPE: tested through graphs in test_conformance.c */
        conf_generate_index(op, r, sink, ctx);
        conf_generate_vision(op, r, sink, ctx);
        conf_generate_grid(op, r, sink, ctx);
        break;
    }
}
