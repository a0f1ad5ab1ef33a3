#!/bin/sh
# 64-bit ARM: cross-builds Plexus for aarch64 (cmake/aarch64-linux-gnu.cmake,
# Debian's gcc-aarch64-linux-gnu and arm64 multiarch libraries) and runs the
# tests under qemu-aarch64 (user-mode emulation; CTest runs every test
# executable through it, see CMAKE_CROSSCOMPILING_EMULATOR).
#
#  1. the op conformance suite (test_conformance, test_mixed, test_plugins),
#     the golden model tests (test_golden; skipped, exit 77, without
#     ../shared/models), and the unit tests whose outcome can depend on the
#     architecture (struct layout, thread pool, plugin loading, GGUF
#     parsing, the prompt GEMM on each ARM path), with the ISA the CPU
#     plugin picks itself: qemu's default
#     CPU has sdot, so the dotprod path; test_dot_k (the K-quant dots at
#     every ARM level, compared with the scalar one);
#  2. the matmul conformance cases with each ARM path forced
#     (PLEXUS_CPU_ISA=dotprod, neon, scalar; only k_matmul_q.c reads it),
#     and with the ISA picked on a CPU without sdot (QEMU_CPU=cortex-a53:
#     the HWCAP check must choose neon, or sdot is an illegal instruction).
# The other unit tests are left to the x86 builds (they would add minutes
# under emulation); so are the tests that run the `plexus` command from a
# host script (cli_*, hf_*, onnx_*, tokenizer_golden): the host cannot
# exec an arm64 ELF. qemu says nothing about speed: see plugins/cpu/README.md.
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
ctest --test-dir "$dir" --output-on-failure -j"$jobs" \
  -R '^(test_conformance|test_mixed|test_plugins|test_golden|test_abi_layout|test_threadpool|test_loader|test_gguf|test_gemm_q|test_dot_k)$'
for isa in dotprod neon scalar; do
  echo "=== $dir: matmul conformance, PLEXUS_CPU_ISA=$isa"
  PLEXUS_CPU_ISA=$isa PLEXUS_CONF_OPS=matmul ctest --test-dir "$dir" --output-on-failure -R '^test_conformance$'
done
echo "=== $dir: matmul conformance on a CPU without sdot (QEMU_CPU=cortex-a53)"
QEMU_CPU=cortex-a53 PLEXUS_CONF_OPS=matmul ctest --test-dir "$dir" --output-on-failure -R '^test_conformance$'
echo "=== $dir: aarch64 build and tests took $(($(date +%s) - start)) s"
