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

#endif
#endif
