#!/bin/sh
# Set up, build and run every test: a gcc release build, a clang build
# (warnings are errors with both compilers), an AddressSanitizer +
# UndefinedBehaviorSanitizer build, and a 64-bit ARM cross build whose tests
# run under qemu (scripts/test-arm.sh; PLEXUS_TEST_ARM=0 leaves it out).
# Tests that need ../shared skip when it is absent.
# Usage: scripts/test.sh [quick]   (quick: the gcc build only)
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
jobs="$(nproc)"

run() {  # run <build dir> <cmake args...>
  dir="$1"; shift
  echo "=== $dir: $*"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

run build-test -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc
[ "${1:-}" = quick ] && exit 0
run build-clang -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang -DPLEXUS_FUZZ=ON
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc -DPLEXUS_SANITIZE=ON
[ "${PLEXUS_TEST_ARM:-1}" = 0 ] || sh scripts/test-arm.sh build-arm
