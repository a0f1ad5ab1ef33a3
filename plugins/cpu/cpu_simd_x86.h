/* CPU plugin — small AVX-512 helpers shared by kernels (x86-64 only; every
 * function carries its target, so files need no -m flags). */
#ifndef PX_CPU_SIMD_X86_H
#define PX_CPU_SIMD_X86_H
#if defined(__x86_64__)
#include <immintrin.h>

#define CPU_AVX512_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw")))

/* e^x in 16 lanes, within 1-2 ulp of expf: x = n ln2 + r with |r| <= ln2/2
 * (ln2 in two parts), e^r by its Taylor series to r^7/7! (error below
 * 2^-24 there), times 2^n by vscalefps (which gives 0 and +inf past the
 * float range). NaN stays NaN; inputs are clamped to [-104, 89] first, where
 * e^x is already 0 or +inf in float. */
CPU_AVX512_TARGET static inline __m512 cpu_exp_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x)); /* NaN passes */
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    __m512 p = _mm512_set1_ps(1.98412698e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.38888889e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.33333333e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.16666667e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.66666667e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 16 rows of 8 dwords, z[k] = rows k (low half) and k + 8 (high half), to 8
 * vectors of one dword of all 16 rows (o[j] lane r = row r's dword j): 8x8
 * transposes in both 256-bit halves (unpack, then 128-bit lanes across). */
__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw"), always_inline)) static inline void
cpu_transpose_16x8_epi32(const __m512i z[8], __m512i o[8]) {
    const __m512i lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0), hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    __m512i t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm512_unpacklo_epi32(z[k], z[k + 1]);
        t[k + 1] = _mm512_unpackhi_epi32(z[k], z[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm512_unpacklo_epi64(t[k], t[k + 2]);
        u[k + 1] = _mm512_unpackhi_epi64(t[k], t[k + 2]);
        u[k + 2] = _mm512_unpacklo_epi64(t[k + 1], t[k + 3]);
        u[k + 3] = _mm512_unpackhi_epi64(t[k + 1], t[k + 3]);
    }
    /* u[j] (rows 0-3, 8-11) and u[j + 4] (rows 4-7, 12-15) hold dwords j and j + 4 */
    for (int j = 0; j < 4; j++) {
        o[j] = _mm512_permutex2var_epi64(u[j], lo, u[j + 4]);
        o[j + 4] = _mm512_permutex2var_epi64(u[j], hi, u[j + 4]);
    }
}

#endif
#endif
