#!/bin/sh
# 64-bit ARM: cross-builds Plexus for aarch64 (cmake/aarch64-linux-gnu.cmake,
# Debian's gcc-aarch64-linux-gnu and arm64 multiarch libraries) and runs the
# tests under qemu-aarch64 (user-mode emulation; CTest runs every test
# executable through it, see CMAKE_CROSSCOMPILING_EMULATOR).
#
#  1. every test executable (test_*): the op conformance suite, the golden
#     model tests (skipped, exit 77, without ../shared/models), the unit
#     tests; with the ISA the CPU plugin picks itself (qemu's default CPU has
#     sdot: the dotprod path) and test_conformance_scalar;
#  2. the matmul conformance cases with each ARM path forced
#     (PLEXUS_CPU_ISA=dotprod, neon; only k_matmul_q.c reads it), and with
#     the ISA picked on a CPU without sdot (QEMU_CPU=cortex-a53: the HWCAP
#     check must choose neon, or sdot would be an illegal instruction).
# Tests that run the `plexus` command from a host script (cli_*, hf_*,
# onnx_*, tokenizer_golden) are not run: the host cannot exec an arm64 ELF.
# qemu says nothing about speed: see plugins/cpu/README.md.
# Usage: scripts/test-arm.sh [build dir]   (default: build-arm)
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh arm
dir="${1:-build-arm}"
jobs="$(nproc)"
# The binaries run with the arm64 multiarch C library (/lib/ld-linux-aarch64.so.1);
# a prefix pointing at the cross toolchain's older one mixes two glibc builds.
unset QEMU_LD_PREFIX QEMU_CPU PLEXUS_CPU_ISA

start=$(date +%s)
echo "=== $dir: aarch64 cross build"
cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" -j"$jobs"

echo "=== $dir: tests under qemu-aarch64"
ctest --test-dir "$dir" --output-on-failure -j"$jobs" -R '^test_' -E '^test_conformance_avx2$'
for isa in dotprod neon; do
  echo "=== $dir: matmul conformance, PLEXUS_CPU_ISA=$isa"
  PLEXUS_CPU_ISA=$isa PLEXUS_CONF_OPS=matmul ctest --test-dir "$dir" --output-on-failure -R '^test_conformance$'
done
echo "=== $dir: matmul conformance on a CPU without sdot (QEMU_CPU=cortex-a53)"
QEMU_CPU=cortex-a53 PLEXUS_CONF_OPS=matmul ctest --test-dir "$dir" --output-on-failure -R '^test_conformance$'
echo "=== $dir: aarch64 build and tests took $(($(date +%s) - start)) s"
