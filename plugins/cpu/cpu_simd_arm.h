/* CPU plugin — small 64-bit ARM helpers shared by kernels (aarch64 only;
 * the sdot functions carry their target, so files need no -march flags). */
#ifndef PX_CPU_SIMD_ARM_H
#define PX_CPU_SIMD_ARM_H
#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

/* sdot in functions built for it whatever -march says. Clang's arm_neon.h
 * (before clang 16) declares vdotq_s32 only under -march=...+dotprod, so
 * clang builds call the builtin behind it. */
#if defined(__clang__)
#define CPU_DOTPROD __attribute__((target("dotprod")))
#define CPU_SDOT(acc, x, y) ((int32x4_t)__builtin_neon_vdotq_v((int8x16_t)(acc), (x), (y), 34))
#else
#define CPU_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define CPU_SDOT(acc, x, y) vdotq_s32((acc), (x), (y))
#endif

/* A little-endian F16 value (a block's scale) as float (fcvt). */
static inline float cpu_f16_arm(const uint8_t *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

/* acc + the four sums of four products of 16 int8 pairs: widening
 * multiplies (int8 * int8 fits int16) and pairwise adds, or one sdot. */
static inline int32x4_t cpu_dot16_neon(int32x4_t acc, int8x16_t x, int8x16_t y) {
    int16x8_t lo = vmull_s8(vget_low_s8(x), vget_low_s8(y));
    int16x8_t hi = vmull_s8(vget_high_s8(x), vget_high_s8(y));
    return vpadalq_s16(vpadalq_s16(acc, lo), hi);
}

CPU_DOTPROD static inline int32x4_t cpu_dot16_sdot(int32x4_t acc, int8x16_t x, int8x16_t y) {
    return CPU_SDOT(acc, x, y);
}

#endif
#endif
