/* CPU plugin — CONV and CONV_TRANSPOSE (channels first, 1 to 3 spatial dims,
 * handled as 3-D: see cpu_win).
 *
 * CONV on F32/F16/BF16 with at least CONV_GEMM_MIN_M output channels per
 * group is a matrix product per (image, group):
 *   out[Mg, O] = w[Mg, Kg] x col[Kg, O],  Kg = C/group * K1*K2*K3, O = O1*O2*O3
 * where col is the im2col matrix of the input, never stored whole: the
 * product is blocked (BLIS style) into items of CONV_MC rows x CONV_NC
 * columns spread over the thread pool, and each item walks Kg in chunks of
 * CONV_KC, packing that chunk of w into row panels of MR and of col into
 * column panels of NR (im2col on the fly, converted to F32), then runs an
 * MR x NR register-blocked micro-kernel over the panels. An item sums into
 * its own F32 block and stores it once, adding the bias, rounding to the
 * output dtype. Micro-kernels: AVX-512 (12 x 32), AVX2+FMA (6 x 16), plain C
 * (4 x 16), chosen from CPUID at run time (PLEXUS_CPU_ISA=scalar|avx2 caps
 * it, as for matmul_q).
 *
 * CONV_TRANSPOSE on F32 with at least CONV_GEMM_MIN_M input channels per
 * group takes the same blocks the other way round:
 *   cols[(Mg, K), I] = w^T[(Mg, K), Cg] x x[Cg, I]
 * scattered (col2im) into the F32 output, which first holds the bias. An
 * item owns a set of output channels, so no two threads add to one element.
 *
 * The rest (F64, depthwise and other narrow groups, F16/BF16 transposed)
 * runs directly in double: one item per output row (image, channel, D, H)
 * adds every kernel tap times the input row it meets.
 *
 * Scratch is the device's (reserved at prepare, see cpu_vision_prepare):
 * per thread the packed panels and the F32 block, or the direct path's rows. */
#include <stdlib.h>
#include <string.h>

#include "cpu_common.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define CONV_X86 1
#endif

#define CONV_MC 96   /* rows (output channels) per item: a multiple of every MR */
#define CONV_NC 256  /* columns (output positions) per item: a multiple of every NR */
#define CONV_KC 256  /* depth of one packed chunk */
#define CONV_GEMM_MIN_M 4
#define MAX_MR 12
#define MAX_NR 32

/* ---- micro-kernels: c[MR x NR] (+)= a[kc][MR] * b[kc][NR], c row stride ldc ---- */

typedef void (*conv_ukernel)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc);

static void uk_scalar(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc) {
    float t[4][16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 16; j++) t[i][j] = acc ? c[i * ldc + j] : 0.0f;
    for (int64_t k = 0; k < kc; k++, a += 4, b += 16)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 16; j++) t[i][j] += a[i] * b[j];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 16; j++) c[i * ldc + j] = t[i][j];
}

#ifdef CONV_X86
/* Row i of the tile: two vectors of accumulators, c<i>_0 and c<i>_1. */
#define UK_DECL(V, i) V c##i##_0, c##i##_1
#define UK_LOAD(i, LD, ZERO, W)                                    \
    c##i##_0 = acc ? LD(c + (i) * ldc) : ZERO();                   \
    c##i##_1 = acc ? LD(c + (i) * ldc + (W)) : ZERO()
#define UK_FMA(i, V, SET1, FMA)          \
    {                                    \
        V a_ = SET1(a[i]);               \
        c##i##_0 = FMA(a_, b0, c##i##_0); \
        c##i##_1 = FMA(a_, b1, c##i##_1); \
    }
#define UK_STORE(i, ST, W)         \
    ST(c + (i) * ldc, c##i##_0);   \
    ST(c + (i) * ldc + (W), c##i##_1)

#define L2(i) UK_LOAD(i, _mm256_loadu_ps, _mm256_setzero_ps, 8)
#define F2(i) UK_FMA(i, __m256, _mm256_set1_ps, _mm256_fmadd_ps)
#define S2(i) UK_STORE(i, _mm256_storeu_ps, 8)
__attribute__((target("avx2,fma"))) static void uk_avx2(int64_t kc, const float *a, const float *b, float *c,
                                                        int64_t ldc, int acc) {
    UK_DECL(__m256, 0); UK_DECL(__m256, 1); UK_DECL(__m256, 2);
    UK_DECL(__m256, 3); UK_DECL(__m256, 4); UK_DECL(__m256, 5);
    L2(0); L2(1); L2(2); L2(3); L2(4); L2(5);
    for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        F2(0) F2(1) F2(2) F2(3) F2(4) F2(5)
    }
    S2(0); S2(1); S2(2); S2(3); S2(4); S2(5);
}

#define L5(i) UK_LOAD(i, _mm512_loadu_ps, _mm512_setzero_ps, 16)
#define F5(i) UK_FMA(i, __m512, _mm512_set1_ps, _mm512_fmadd_ps)
#define S5(i) UK_STORE(i, _mm512_storeu_ps, 16)
__attribute__((target("avx512f,fma"))) static void uk_avx512(int64_t kc, const float *a, const float *b, float *c,
                                                             int64_t ldc, int acc) {
    UK_DECL(__m512, 0); UK_DECL(__m512, 1); UK_DECL(__m512, 2); UK_DECL(__m512, 3);
    UK_DECL(__m512, 4); UK_DECL(__m512, 5); UK_DECL(__m512, 6); UK_DECL(__m512, 7);
    UK_DECL(__m512, 8); UK_DECL(__m512, 9); UK_DECL(__m512, 10); UK_DECL(__m512, 11);
    L5(0); L5(1); L5(2); L5(3); L5(4); L5(5); L5(6); L5(7); L5(8); L5(9); L5(10); L5(11);
    for (int64_t k = 0; k < kc; k++, a += 12, b += 32) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        F5(0) F5(1) F5(2) F5(3) F5(4) F5(5) F5(6) F5(7) F5(8) F5(9) F5(10) F5(11)
    }
    S5(0); S5(1); S5(2); S5(3); S5(4); S5(5); S5(6); S5(7); S5(8); S5(9); S5(10); S5(11);
}
#endif

typedef struct conv_isa {
    conv_ukernel fn;
    int mr, nr;
    const char *name;
} conv_isa;

/* The best micro-kernel this CPU runs, capped by PLEXUS_CPU_ISA. */
static conv_isa pick_isa(void) {
    conv_isa isa = {uk_scalar, 4, 16, "scalar"};
#ifdef CONV_X86
    const char *cap = getenv("PLEXUS_CPU_ISA");
    int level = cap && strcmp(cap, "scalar") == 0 ? 0 : cap && strcmp(cap, "avx2") == 0 ? 1 : 2;
    __builtin_cpu_init();
    if (level >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
        conv_isa v = {uk_avx512, 12, 32, "avx512"};
        return v;
    }
    if (level >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        conv_isa v = {uk_avx2, 6, 16, "avx2"};
        return v;
    }
#endif
    return isa;
}

/* ---- geometry --------------------------------------------------------------------------- */

typedef struct conv_ctx {
    int transposed;
    px_dtype xdt, wdt, bdt, odt; /* bdt -1: no bias */
    const uint8_t *x, *w, *bias;
    uint8_t *o;
    int64_t N, C, M, G, Cg, Mg; /* channels in, out, groups, per group */
    cpu_win win;
    int64_t isz, osz, ksz;      /* elements of one input, output, kernel plane (3-D) */
    int64_t Kg;                 /* Cg * ksz: the depth of the product */
    int pointwise;              /* 1x1x1 kernel, stride 1, no pads: col is x itself */
    conv_isa isa;
    int64_t n_mb, n_nb;         /* CONV: row and column blocks; CONV_TRANSPOSE: n_mb channels an item */
    const cpu_scratch *s;
} conv_ctx;

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* CONV on F32/F16/BF16 with CONV_GEMM_MIN_M output channels per group or
 * more, CONV_TRANSPOSE on F32 with as many input channels per group; the
 * rest (F64, depthwise and narrow groups) go direct. */
static int uses_gemm(int transposed, px_dtype t, int64_t Cg, int64_t Mg) {
    if (transposed) return t == PX_F32 && Cg >= CONV_GEMM_MIN_M;
    return t != PX_F64 && Mg >= CONV_GEMM_MIN_M;
}

/* ---- the GEMM path ------------------------------------------------------------------------- */

/* Pack rows 0..mc, columns k0..k0+kc of A(i, k) = w[a0 + i*rs + k*cs] into
 * panels of mr rows: dst[(p * kc + k) * mr + i]; rows past mc are zero. */
static void pack_w(const conv_ctx *c, int64_t a0, int64_t rs, int64_t cs, int64_t mc, int64_t k0, int64_t kc,
                   float *dst, float *tmp) {
    const int mr = c->isa.mr;
    for (int64_t i = 0; i < ceil_div(mc, mr) * mr; i++) {
        float *d = dst + (i / mr) * kc * mr + i % mr;
        if (i >= mc) {
            for (int64_t k = 0; k < kc; k++) d[k * mr] = 0.0f;
            continue;
        }
        int64_t off = a0 + i * rs + k0 * cs;
        const float *src = (const float *)(const void *)c->w + off;
        if (c->wdt != PX_F32 || cs != 1) {
            cpu_load_f32(c->wdt, c->w, off, cs, kc, tmp);
            src = tmp;
        }
        for (int64_t k = 0; k < kc; k++) d[k * mr] = src[k];
    }
}

/* n values of input row `row` (element offset in x) at columns ix0 + q*sw,
 * zero where the column falls outside 0..IW-1. */
static void gather_row(const conv_ctx *c, int64_t row, int64_t ix0, int64_t n, float *dst) {
    int64_t sw = c->win.s[2], lo, hi;
    cpu_win_cols(ix0, sw, c->win.in[2], n, &lo, &hi);
    for (int64_t q = 0; q < lo; q++) dst[q] = 0.0f;
    if (hi > lo) {
        int64_t off = row + ix0 + lo * sw;
        if (c->xdt == PX_F32 && sw == 1) {
            memcpy(dst + lo, (const float *)(const void *)c->x + off, sizeof(float) * (size_t)(hi - lo));
        } else if (c->xdt == PX_F32) {
            const float *s = (const float *)(const void *)c->x + off;
            for (int64_t q = lo; q < hi; q++) dst[q] = s[(q - lo) * sw];
        } else {
            cpu_load_f32(c->xdt, c->x, off, sw, hi - lo, dst + lo);
        }
    }
    for (int64_t q = hi; q < n; q++) dst[q] = 0.0f;
}

/* Pack rows k0..k0+kc, columns n0..n0+nc of the im2col matrix of input
 * image `img` (element offset of x[n, g*Cg]) into panels of nr columns:
 * dst[(p * kc + k) * nr + j]. Columns are walked in segments that stay in
 * one output row and one panel; each segment is a strided input row. */
static void pack_col(const conv_ctx *c, int64_t img, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *dst) {
    const cpu_win *w = &c->win;
    const int nr = c->isa.nr;
    const int64_t OW = w->out[2], OH = w->out[1], KW = w->k[2], KH = w->k[1], KD = w->k[0];
    int64_t tail = nc % nr;
    if (tail) { /* the last panel's unused columns */
        float *p = dst + (nc / nr) * kc * nr;
        for (int64_t k = 0; k < kc; k++)
            for (int64_t j = tail; j < nr; j++) p[k * nr + j] = 0.0f;
    }
    for (int64_t j = 0; j < nc;) {
        int64_t pos = n0 + j, jj = j % nr, len = nr - jj;
        if (len > nc - j) len = nc - j;
        float *col = dst + (j / nr) * kc * nr + jj;
        if (c->pointwise || c->transposed) { /* row k of col is input channel k, contiguous */
            for (int64_t k = 0; k < kc; k++) cpu_load_f32(c->xdt, c->x, img + (k0 + k) * c->isz + pos, 1, len, col + k * nr);
            j += len;
            continue;
        }
        int64_t ow = pos % OW, oh = (pos / OW) % OH, od = pos / OW / OH;
        if (len > OW - ow) len = OW - ow;
        int64_t kw = k0 % KW, kh = (k0 / KW) % KH, kd = (k0 / KW / KH) % KD, ch = k0 / KW / KH / KD;
        for (int64_t k = 0; k < kc; k++, col += nr) {
            int64_t id = od * w->s[0] - w->pb[0] + kd * w->d[0], ih = oh * w->s[1] - w->pb[1] + kh * w->d[1];
            if (id < 0 || id >= w->in[0] || ih < 0 || ih >= w->in[1]) {
                for (int64_t q = 0; q < len; q++) col[q] = 0.0f;
            } else {
                int64_t row = img + ch * c->isz + (id * w->in[1] + ih) * w->in[2];
                gather_row(c, row, ow * w->s[2] - w->pb[2] + kw * w->d[2], len, col);
            }
            if (++kw == KW) {
                kw = 0;
                if (++kh == KH) {
                    kh = 0;
                    if (++kd == KD) {
                        kd = 0;
                        ch++;
                    }
                }
            }
        }
        j += len;
    }
}

/* Per-thread scratch of the GEMM path, in floats. */
static int64_t gemm_scratch_floats(void) { return (int64_t)CONV_MC * CONV_KC + (int64_t)CONV_KC * CONV_NC + (int64_t)CONV_MC * CONV_NC + CONV_KC + 64; }

/* The thread's packed panels and F32 block. */
typedef struct gemm_bufs {
    float *a, *b, *c, *tmp;
} gemm_bufs;

static gemm_bufs thread_bufs(const conv_ctx *c, int32_t thread) {
    gemm_bufs g;
    g.a = cpu_scratch_thread(c->s, thread);
    g.b = g.a + (int64_t)CONV_MC * CONV_KC;
    g.c = g.b + (int64_t)CONV_KC * CONV_NC;
    g.tmp = g.c + (int64_t)CONV_MC * CONV_NC;
    return g;
}

/* buf->c[mc x nc] (row stride CONV_NC) = A[mc x depth] x B[depth x nc], A as
 * pack_w reads it, B the columns n0.. of image img's col matrix. */
static void gemm_block(const conv_ctx *c, int64_t a0, int64_t rs, int64_t cs, int64_t mc, int64_t depth, int64_t img,
                       int64_t n0, int64_t nc, const gemm_bufs *buf) {
    const int mr = c->isa.mr, nr = c->isa.nr;
    int64_t mp = ceil_div(mc, mr), np = ceil_div(nc, nr);
    if (depth == 0)
        for (int64_t i = 0; i < mc; i++) memset(buf->c + i * CONV_NC, 0, sizeof(float) * (size_t)nc);
    for (int64_t k0 = 0; k0 < depth; k0 += CONV_KC) {
        int64_t kc = depth - k0 < CONV_KC ? depth - k0 : CONV_KC;
        pack_w(c, a0, rs, cs, mc, k0, kc, buf->a, buf->tmp);
        pack_col(c, img, k0, kc, n0, nc, buf->b);
        for (int64_t ip = 0; ip < mp; ip++)
            for (int64_t jp = 0; jp < np; jp++)
                c->isa.fn(kc, buf->a + ip * kc * mr, buf->b + jp * kc * nr, buf->c + ip * mr * CONV_NC + jp * nr,
                          CONV_NC, k0 > 0);
    }
}

static float bias_of(const conv_ctx *c, int64_t m) {
    float b = 0;
    if (c->bdt >= 0) cpu_load_f32(c->bdt, c->bias, m, 1, 1, &b);
    return b;
}

/* CONV item: output rows m0..m0+CONV_MC of group g, columns n0..n0+CONV_NC
 * of image n: w[Mg, Kg] x col[Kg, O], plus the bias, stored once. */
static void conv_item(const conv_ctx *c, int64_t n, int64_t g, int64_t m0, int64_t n0, const gemm_bufs *buf) {
    int64_t mc = c->Mg - m0 < CONV_MC ? c->Mg - m0 : CONV_MC, nc = c->osz - n0 < CONV_NC ? c->osz - n0 : CONV_NC;
    gemm_block(c, (g * c->Mg + m0) * c->Kg, c->Kg, 1, mc, c->Kg, (n * c->C + g * c->Cg) * c->isz, n0, nc, buf);
    for (int64_t i = 0; i < mc; i++) {
        int64_t m = g * c->Mg + m0 + i;
        float *row = buf->c + i * CONV_NC, b = bias_of(c, m);
        for (int64_t j = 0; j < nc && b != 0; j++) row[j] += b;
        cpu_store_f32(c->odt, c->o, (n * c->M + m) * c->osz + n0, 1, nc, row);
    }
}

/* CONV_TRANSPOSE: scatter rows r0..r0+mc of the block (row R = mo*K + tap of
 * group g), columns n0.. (input positions) into the F32 output of image n. */
static void col2im(const conv_ctx *c, int64_t n, int64_t g, int64_t r0, int64_t mc, int64_t n0, int64_t nc,
                   const float *cb) {
    const cpu_win *w = &c->win;
    const int64_t IW = w->in[2], IH = w->in[1], sw = w->s[2];
    float *out = (float *)(void *)c->o;
    for (int64_t i = 0; i < mc; i++) {
        int64_t R = r0 + i, mo = R / c->ksz, t = R % c->ksz;
        int64_t kw = t % w->k[2], kh = t / w->k[2] % w->k[1], kd = t / w->k[2] / w->k[1];
        float *plane = out + (n * c->M + g * c->Mg + mo) * c->osz;
        const float *crow = cb + i * CONV_NC;
        for (int64_t j = 0; j < nc;) { /* segments along one input row */
            int64_t p = n0 + j, iw = p % IW, ih = p / IW % IH, id = p / IW / IH, len = IW - iw, lo, hi;
            if (len > nc - j) len = nc - j;
            int64_t od = id * w->s[0] - w->pb[0] + kd * w->d[0], oh = ih * w->s[1] - w->pb[1] + kh * w->d[1];
            if (od >= 0 && od < w->out[0] && oh >= 0 && oh < w->out[1]) {
                int64_t b = iw * sw - w->pb[2] + kw * w->d[2]; /* output column of input column iw + q: q*sw + b */
                float *orow = plane + (od * w->out[1] + oh) * w->out[2];
                cpu_win_cols(b, sw, w->out[2], len, &lo, &hi);
                for (int64_t q = lo; q < hi; q++) orow[q * sw + b] += crow[j + q];
            }
            j += len;
        }
    }
}

/* CONV_TRANSPOSE item: output channels mo0..mo1 of group g, image n (no
 * other item writes them): bias, then w^T[(mo, tap), Cg] x x[Cg, I] in
 * blocks, each scattered into the output. */
static void convt_item(const conv_ctx *c, int64_t n, int64_t g, int64_t mo0, int64_t mo1, const gemm_bufs *buf) {
    float *out = (float *)(void *)c->o;
    for (int64_t mo = mo0; mo < mo1; mo++) {
        float b = bias_of(c, g * c->Mg + mo), *plane = out + (n * c->M + g * c->Mg + mo) * c->osz;
        for (int64_t j = 0; j < c->osz; j++) plane[j] = b;
    }
    int64_t rows = c->Mg * c->ksz; /* w [C, Mg, K]: A(R, k) = w[(g*Cg + k) * rows + R] */
    for (int64_t r0 = mo0 * c->ksz; r0 < mo1 * c->ksz; r0 += CONV_MC) {
        int64_t mc = mo1 * c->ksz - r0 < CONV_MC ? mo1 * c->ksz - r0 : CONV_MC;
        for (int64_t n0 = 0; n0 < c->isz; n0 += CONV_NC) {
            int64_t nc = c->isz - n0 < CONV_NC ? c->isz - n0 : CONV_NC;
            gemm_block(c, g * c->Cg * rows + r0, 1, rows, mc, c->Cg, (n * c->C + g * c->Cg) * c->isz, n0, nc, buf);
            col2im(c, n, g, r0, mc, n0, nc, buf->c);
        }
    }
}

/* Items: CONV (image*group, row block, column block); CONV_TRANSPOSE
 * (image*group, block of n_mb output channels). */
static void gemm_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const conv_ctx *c = vctx;
    gemm_bufs buf = thread_bufs(c, thread);
    for (int64_t item = b; item < e; item++) {
        if (c->transposed) {
            int64_t nblk = ceil_div(c->Mg, c->n_mb), blk = item % nblk, bg = item / nblk;
            int64_t mo1 = (blk + 1) * c->n_mb < c->Mg ? (blk + 1) * c->n_mb : c->Mg;
            convt_item(c, bg / c->G, bg % c->G, blk * c->n_mb, mo1, &buf);
            continue;
        }
        int64_t nb = item % c->n_nb, t = item / c->n_nb, mb = t % c->n_mb, bg = t / c->n_mb;
        conv_item(c, bg / c->G, bg % c->G, mb * CONV_MC, nb * CONV_NC, &buf);
    }
}

/* ---- the direct path (double) ------------------------------------------------------------------- */

/* Per-thread scratch of the direct path, in doubles: the output row, one
 * input row, the weights of one output channel. */
static int64_t direct_scratch_doubles(const cpu_win *w, int64_t Kg) { return w->out[2] + w->in[2] + Kg + 8; }

/* The input index that output index o reads at kernel tap k along one
 * axis, or -1: CONV reads i = o*s - p + k*d; CONV_TRANSPOSE the i with
 * i*s - p + k*d = o. */
static int64_t src_index(int transposed, int64_t o, int64_t s, int64_t p, int64_t k, int64_t d, int64_t in) {
    int64_t t = transposed ? o + p - k * d : o * s - p + k * d;
    if (transposed) {
        if (t < 0 || t % s) return -1;
        t /= s;
    }
    return t >= 0 && t < in ? t : -1;
}

/* Output row (od, oh) of channel m, image n: acc[OW] += every kernel tap
 * times the input row it meets (CONV gathers the columns of the input row,
 * CONV_TRANSPOSE scatters them). */
static void direct_row(const conv_ctx *c, int64_t n, int64_t m, int64_t od, int64_t oh, double *acc, double *row,
                       const double *wt) {
    const cpu_win *w = &c->win;
    const int tr = c->transposed;
    int64_t g = m / c->Mg, sw = w->s[2];
    for (int64_t cg = 0; cg < c->Cg; cg++)
        for (int64_t kd = 0; kd < w->k[0]; kd++) {
            int64_t id = src_index(tr, od, w->s[0], w->pb[0], kd, w->d[0], w->in[0]);
            for (int64_t kh = 0; id >= 0 && kh < w->k[1]; kh++) {
                int64_t ih = src_index(tr, oh, w->s[1], w->pb[1], kh, w->d[1], w->in[1]);
                if (ih < 0) continue;
                cpu_load_f64(c->xdt, c->x, ((n * c->C + g * c->Cg + cg) * c->isz) + (id * w->in[1] + ih) * w->in[2],
                             1, w->in[2], row);
                const double *tap = wt + ((cg * w->k[0] + kd) * w->k[1] + kh) * w->k[2];
                for (int64_t kw = 0; kw < w->k[2]; kw++) {
                    int64_t b = kw * w->d[2] - w->pb[2], lo, hi;
                    if (tr) { /* input column iw lands on output column iw*sw + b */
                        cpu_win_cols(b, sw, w->out[2], w->in[2], &lo, &hi);
                        for (int64_t iw = lo; iw < hi; iw++) acc[iw * sw + b] += tap[kw] * row[iw];
                    } else { /* output column ow reads input column ow*sw + b */
                        cpu_win_cols(b, sw, w->in[2], w->out[2], &lo, &hi);
                        for (int64_t ow = lo; ow < hi; ow++) acc[ow] += tap[kw] * row[ow * sw + b];
                    }
                }
            }
        }
}

/* The weights of output channel m as doubles, laid out [Cg][K]. */
static void load_channel_weights(const conv_ctx *c, int64_t m, double *wt) {
    if (!c->transposed) {
        cpu_load_f64(c->wdt, c->w, m * c->Kg, 1, c->Kg, wt);
        return;
    }
    int64_t g = m / c->Mg, mo = m % c->Mg; /* w [C, Mg, K] */
    for (int64_t cg = 0; cg < c->Cg; cg++)
        cpu_load_f64(c->wdt, c->w, ((g * c->Cg + cg) * c->Mg + mo) * c->ksz, 1, c->ksz, wt + cg * c->ksz);
}

static void direct_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const conv_ctx *c = vctx;
    const cpu_win *w = &c->win;
    double *acc = cpu_scratch_thread(c->s, thread), *row = acc + w->out[2], *wt = row + w->in[2];
    int64_t loaded = -1;
    for (int64_t item = b; item < e; item++) {
        int64_t oh = item % w->out[1], t = item / w->out[1], od = t % w->out[0];
        t /= w->out[0];
        int64_t m = t % c->M, n = t / c->M;
        if (m != loaded) load_channel_weights(c, m, wt);
        loaded = m;
        double bv = 0;
        if (c->bdt >= 0) cpu_load_f64(c->bdt, c->bias, m, 1, 1, &bv);
        for (int64_t ow = 0; ow < w->out[2]; ow++) acc[ow] = bv;
        direct_row(c, n, m, od, oh, acc, row, wt);
        cpu_store_f64(c->odt, c->o, (n * c->M + m) * c->osz + (od * w->out[1] + oh) * w->out[2], 1, w->out[2], acc);
    }
}

/* ---- supports, scratch, run ---------------------------------------------------------------------- */

/* Geometry from shapes (x, w, out) and the node's attributes; -1 if they
 * do not describe a valid conv. */
static int conv_geometry(const px_node_desc *node, const cpu_shape *x, const cpu_shape *wt, const cpu_shape *o,
                         conv_ctx *c) {
    int32_t nsp = x->rank - 2;
    c->transposed = node->op == PX_OP_CONV_TRANSPOSE;
    if (nsp < 1 || nsp > 3 || wt->rank != x->rank || o->rank != x->rank) return -1;
    c->N = x->ne[0];
    c->C = x->ne[1];
    c->M = o->ne[1];
    c->G = cpu_attr_i(node, "group", 1);
    if (c->G < 1 || c->C % c->G || c->M % c->G || o->ne[0] != c->N) return -1;
    c->Cg = c->C / c->G;
    c->Mg = c->M / c->G;
    if (c->transposed ? wt->ne[0] != c->C || wt->ne[1] != c->Mg : wt->ne[0] != c->M || wt->ne[1] != c->Cg) return -1;
    if (cpu_win_init(node, nsp, x->ne + 2, o->ne + 2, wt->ne + 2, c->transposed, &c->win)) return -1;
    const cpu_win *w = &c->win;
    for (int i = 0; i < 3; i++) {
        int64_t ext = (w->k[i] - 1) * w->d[i] + 1, want;
        if (c->transposed) {
            const int64_t *op = NULL;
            int32_t n_op = cpu_attr_ints(node, "output_padding", &op);
            int64_t opad = n_op == nsp && i >= 3 - nsp ? op[i - (3 - nsp)] : 0;
            if (n_op >= 0 && n_op != nsp) return -1;
            want = w->s[i] * (w->in[i] - 1) + opad + ext - w->pb[i] - w->pe[i];
        } else {
            want = (w->in[i] + w->pb[i] + w->pe[i] - ext) / w->s[i] + 1;
            if (w->in[i] + w->pb[i] + w->pe[i] < ext) return -1;
        }
        if (w->out[i] != want || w->k[i] < 1) return -1;
    }
    c->isz = w->in[0] * w->in[1] * w->in[2];
    c->osz = w->out[0] * w->out[1] * w->out[2];
    c->ksz = w->k[0] * w->k[1] * w->k[2];
    c->Kg = c->Cg * c->ksz;
    c->pointwise = c->ksz == 1;
    for (int i = 0; i < 3; i++) c->pointwise &= w->s[i] == 1 && w->pb[i] == 0 && w->pe[i] == 0;
    return 0;
}

int cpu_conv_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    if (n->n_inputs < 2 || n->n_inputs > 3 || n->n_outputs != 1 || !cpu_in(n, 0) || !cpu_in(n, 1)) return 0;
    px_dtype t = cpu_in_dt(n, 0);
    if (!cpu_is_float(t) || cpu_in_dt(n, 1) != t || n->outputs[0].dtype != t) return 0;
    cpu_shape in[CPU_MAX_SHAPES], out;
    int32_t n_in;
    conv_ctx c;
    cpu_vision_shapes(n, NULL, NULL, in, &n_in, &out);
    if (conv_geometry(n, &in[0], &in[1], &out, &c)) return 0;
    if (cpu_in(n, 2) && (cpu_in_dt(n, 2) != t || n->inputs[2].rank != 1 || n->inputs[2].ne[0] != c.M)) return 0;
    return 1;
}

void cpu_conv_need(const px_node_desc *node, const cpu_shape *in, int32_t n_in, const cpu_shape *out,
                   size_t *shared, size_t *per_thread) {
    conv_ctx c;
    *shared = *per_thread = 0;
    if (n_in < 2 || conv_geometry(node, &in[0], &in[1], &out[0], &c)) return;
    if (uses_gemm(c.transposed, in[0].dtype, c.Cg, c.Mg)) *per_thread = sizeof(float) * (size_t)gemm_scratch_floats();
    else *per_thread = sizeof(double) * (size_t)direct_scratch_doubles(&c.win, c.Kg);
}

px_status cpu_conv_run(const px_kernel_args *a) {
    const char *nm = a->node->op == PX_OP_CONV ? "conv" : "conv_transpose";
    conv_ctx c;
    memset(&c, 0, sizeof c);
    cpu_shape in[CPU_MAX_SHAPES], out;
    int32_t n_in;
    cpu_vision_shapes(a->node, a->inputs, a->outputs, in, &n_in, &out);
    if (conv_geometry(a->node, &in[0], &in[1], &out, &c))
        return a->host->set_error(PX_ERR_SHAPE, "%s: the shapes of x, w and out do not describe this %s", nm, nm);
    c.bdt = (px_dtype)-1;
    if (cpu_arg_in(a, 2)) {
        if (cpu_numel(&a->inputs[2]) != c.M) return a->host->set_error(PX_ERR_SHAPE, "%s: bias must be [%lld]", nm, (long long)c.M);
        c.bdt = a->inputs[2].dtype;
        c.bias = a->inputs[2].data;
    }
    c.xdt = in[0].dtype;
    c.wdt = in[1].dtype;
    c.odt = out.dtype;
    c.x = a->inputs[0].data;
    c.w = a->inputs[1].data;
    c.o = a->outputs[0].data;
    if (cpu_numel(&a->outputs[0]) == 0) return PX_OK;
    cpu_scratch s;
    px_status st = cpu_vision_scratch_begin(a, cpu_conv_need, &s);
    if (st) return st;
    c.s = &s;
    if (uses_gemm(c.transposed, c.xdt, c.Cg, c.Mg)) {
        c.isa = pick_isa();
        int64_t items;
        if (c.transposed) { /* n_mb output channels per item: about 8 items per thread */
            int64_t want = 8 * (int64_t)s.n_threads, per = ceil_div(c.N * c.G * c.Mg, want);
            c.n_mb = per < 1 ? 1 : per > c.Mg ? c.Mg : per;
            items = c.N * c.G * ceil_div(c.Mg, c.n_mb);
        } else {
            c.n_mb = ceil_div(c.Mg, CONV_MC);
            c.n_nb = ceil_div(c.osz, CONV_NC);
            items = c.N * c.G * c.n_mb * c.n_nb;
        }
        a->host->parallel_for(items, 1, gemm_range, &c);
    } else {
        int64_t rows = c.N * c.M * c.win.out[0] * c.win.out[1];
        int64_t per_row = c.Kg * c.win.out[2] / (c.transposed ? c.win.s[0] * c.win.s[1] * c.win.s[2] : 1) + c.win.out[2];
        a->host->parallel_for(rows, cpu_grain(per_row, 1 << 15), direct_range, &c);
    }
    cpu_vision_scratch_end(a, &s);
    return PX_OK;
}
