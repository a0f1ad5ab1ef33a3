/* CPU plugin — ATTENTION in F32 registers (AVX-512): the common case of
 * language models, F32 q/k/v/out with an F16, F32 or Q8_0 KV cache (or none), head
 * sizes a multiple of 16, no additive mask. k_attention.c's double-precision
 * kernel (attention_ref) takes everything else and is the reference.
 *
 * Same work items as attention_ref: (query token, kv head, group of query
 * heads sharing it); each visible key row and value row is converted once per
 * item (Q8_0) or widened in registers as it is read (F16), and used by every
 * head of the group. Only the visible keys are
 * visited (causal: up to the query's position; window: the last `window`).
 * Logits s = (q . k) * scale in F32 (16-lane fused multiply-adds, then a
 * reduction), soft-capped if asked; softmax over them with the maximum taken
 * first; the weighted sum of values in F32 lanes, divided by the sum of the
 * weights at the end. */
#include <math.h>
#include <string.h>

#include "cpu_common.h"
#include "cpu_simd_x86.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AF_TARGET CPU_AVX512_TARGET

static int cache_ok(px_dtype t) { return t == PX_F16 || t == PX_F32 || t == PX_Q8_0; }

int cpu_attention_f32_supports(void *dev, const px_node_desc *n) {
    if (cpu_isa_level() < 2 || !cpu_attention_supports(dev, n)) return 0;
    const px_value_desc *q = &n->inputs[0], *v = &n->inputs[2];
    int64_t D = q->ne[2], Dv = v->ne[2];
    if (q->dtype != PX_F32 || D % 16 || Dv % 16 || D <= 0 || Dv <= 0) return 0;
    if (cpu_in(n, 6)) return 0;
    if (cpu_in(n, 3) && (!cache_ok(n->inputs[3].dtype) || !cache_ok(n->inputs[4].dtype))) return 0;
    return 1;
}

typedef struct af_ctx {
    cpu_att_args p;
    int64_t gs, ngs;
    float softcap, scale;
    px_dtype kdt, vdt;
    const float *q;
    const uint8_t *k, *v;
    float *o;
    const cpu_scratch *s;
} af_ctx;

/* Row j of head hk of a key or value tensor: F32 and F16 rows in place (*f16
 * says which; F16 values are widened in registers as they are used), Q8_0
 * rows converted into buf as F32. */
AF_TARGET static const void *kv_row(px_dtype dt, const uint8_t *base, int64_t j, int64_t Hkv, int64_t hk, int64_t D,
                                    float *buf, int *f16) {
    size_t idx = (size_t)((j * Hkv + hk) * D);
    *f16 = dt == PX_F16;
    if (dt == PX_F32) return (const float *)(const void *)base + idx;
    if (dt == PX_F16) return (const uint16_t *)(const void *)base + idx;
    /* Q8_0: blocks of 32: f16 d, int8 q[32]; rows start on a block (D % 32 == 0) */
    const uint8_t *b = base + idx / 32 * 34;
    for (int64_t d = 0; d < D; d += 32, b += 34) {
        uint16_t h;
        memcpy(&h, b, 2);
        __m512 sc = _mm512_set1_ps(_cvtsh_ss(h));
        __m128i q0 = _mm_loadu_si128((const __m128i *)(b + 2)), q1 = _mm_loadu_si128((const __m128i *)(b + 18));
        _mm512_storeu_ps(buf + d, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)), sc));
        _mm512_storeu_ps(buf + d + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)), sc));
    }
    return buf;
}

/* Values d .. d+15 of a kv_row as F32. */
AF_TARGET static inline __m512 kv16(const void *r, int f16, int64_t d) {
    return f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)r + d))) : _mm512_loadu_ps((const float *)r + d);
}

AF_TARGET static void af_item(const af_ctx *c, int64_t item, float *scr) {
    const int64_t D = c->p.D, Dv = c->p.Dv, nk = c->p.nk;
    int64_t per_t = c->p.Hkv * c->ngs;
    int64_t t = item / per_t, r = item - t * per_t, hk = r / c->ngs, g0 = (r - hk * c->ngs) * c->gs;
    int64_t gs = c->p.G - g0 < c->gs ? c->p.G - g0 : c->gs;
    float *sc = scr, *acc = sc + gs * nk, *kbuf = acc + gs * Dv, *vbuf = kbuf + D, mx[64], sum[64];
    int64_t p = c->p.pos ? (int64_t)c->p.pos[t] : t;
    int64_t h0 = hk * c->p.G + g0;
    const float *q = c->q + (t * c->p.Hq + h0) * D; /* gs rows of D */
    int64_t j0 = 0, j1 = nk - 1;
    if (c->p.causal && p < j1) j1 = p;
    if (c->p.window > 0 && p - c->p.window + 1 > j0) j0 = p - c->p.window + 1;
    for (int64_t g = 0; g < gs; g++) mx[g] = -INFINITY, sum[g] = 0;
    for (int64_t j = j0; j <= j1; j++) {
        int kf16;
        const void *k = kv_row(c->kdt, c->k, j, c->p.Hkv, hk, D, kbuf, &kf16);
        for (int64_t g = 0; g < gs; g++) {
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
            const float *qg = q + g * D;
            int64_t d = 0;
            for (; d + 32 <= D; d += 32) {
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(qg + d), kv16(k, kf16, d), a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(qg + d + 16), kv16(k, kf16, d + 16), a1);
            }
            if (d < D) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(qg + d), kv16(k, kf16, d), a0);
            float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) * c->scale;
            if (c->softcap > 0) s = c->softcap * tanhf(s / c->softcap);
            sc[g * nk + j] = s;
            mx[g] = s > mx[g] ? s : mx[g];
        }
    }
    /* the weights e^(s - max) in place, and their sums */
    for (int64_t g = 0; g < gs; g++) {
        __m512 m = _mm512_set1_ps(mx[g]), sv = _mm512_setzero_ps();
        float *sg = sc + g * nk;
        for (int64_t j = j0; j <= j1; j += 16) {
            __mmask16 k = j1 + 1 - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (j1 + 1 - j)) - 1);
            __m512 w = cpu_exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, sg + j), m));
            w = _mm512_maskz_mov_ps(k, w);
            _mm512_mask_storeu_ps(sg + j, k, w);
            sv = _mm512_add_ps(sv, w);
        }
        sum[g] = _mm512_reduce_add_ps(sv);
    }
    memset(acc, 0, sizeof(float) * (size_t)(gs * Dv));
    for (int64_t j = j0; j <= j1; j++) {
        int vf16;
        const void *v = kv_row(c->vdt, c->v, j, c->p.Hkv, hk, Dv, vbuf, &vf16);
        for (int64_t g = 0; g < gs; g++) {
            __m512 wv = _mm512_set1_ps(sc[g * nk + j]);
            float *ag = acc + g * Dv;
            for (int64_t d = 0; d < Dv; d += 16)
                _mm512_storeu_ps(ag + d, _mm512_fmadd_ps(wv, kv16(v, vf16, d), _mm512_loadu_ps(ag + d)));
        }
    }
    for (int64_t g = 0; g < gs; g++) {
        float *o = c->o + (t * c->p.Hq + h0 + g) * Dv, *ag = acc + g * Dv;
        __m512 inv = _mm512_set1_ps(j0 <= j1 ? 1.0f / sum[g] : 0.0f); /* a query that sees no key gives zeros */
        for (int64_t d = 0; d < Dv; d += 16) _mm512_storeu_ps(o + d, _mm512_mul_ps(_mm512_loadu_ps(ag + d), inv));
    }
}

static void af_range(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const af_ctx *c = vctx;
    float *scr = cpu_scratch_thread(c->s, thread);
    for (int64_t item = b; item < e; item++) af_item(c, item, scr);
}

/* The cache update, shapes and positions as attention_ref (which checks them
 * and writes k and v into the caches); then the F32 loop. */
px_status cpu_attention_f32_run(const px_kernel_args *a) {
    const px_host_api *h = a->host;
    const px_tensor *O = &a->outputs[0];
    af_ctx c;
    memset(&c, 0, sizeof c);
    px_status st = cpu_attention_begin(a, &c.p);
    if (st) return st;
    c.softcap = (float)c.p.softcap;
    c.scale = (float)c.p.scale;
    c.q = a->inputs[0].data;
    c.o = O->data;
    c.k = c.p.k->data;
    c.v = c.p.v->data;
    c.kdt = c.p.k->dtype;
    c.vdt = c.p.v->dtype;
    if (cpu_numel(O) == 0) return PX_OK;
    cpu_scratch s;
    st = cpu_scratch_begin(a, cpu_attention_need, &s); /* sized in doubles for attention_ref: room to spare */
    if (st) return st;
    c.s = &s;
    c.gs = cpu_attention_heads_per_item(c.p.T, c.p.Hkv, c.p.G, s.n_threads);
    if (c.gs > 64) c.gs = 64;
    c.ngs = (c.p.G + c.gs - 1) / c.gs;
    int64_t per_item = c.gs * c.p.nk * (c.p.D + c.p.Dv) + 1;
    h->parallel_for(c.p.T * c.p.Hkv * c.ngs, cpu_grain(per_item, 1 << 15), af_range, &c);
    cpu_scratch_end(a, &s);
    return PX_OK;
}
#else
int cpu_attention_f32_supports(void *dev, const px_node_desc *n) {
    (void)dev;
    (void)n;
    return 0;
}
px_status cpu_attention_f32_run(const px_kernel_args *a) {
    return a->host->set_error(PX_ERR_UNSUPPORTED, "attention_f32: not built for this architecture");
}
#endif
