# Cross-compiling for 64-bit ARM Linux with Debian's cross toolchain
# (gcc-aarch64-linux-gnu) and Debian multiarch libraries (libinih-dev:arm64,
# libjansson-dev:arm64, libcurl4-openssl-dev:arm64 in /usr/lib/aarch64-linux-gnu).
# scripts/setup.sh arm installs all of it; scripts/test-arm.sh uses this file.
#
#   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# Tests run under qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR: CTest puts it
# in front of every test executable), with the cross C library as its root for
# the dynamic loader; the multiarch libraries are found on the host paths.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_AR aarch64-linux-gnu-ar CACHE FILEPATH "")
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP aarch64-linux-gnu-strip CACHE FILEPATH "")

# pkg-config: only the arm64 .pc files (never the build machine's).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# find_library/find_path: the multiarch directories (CMAKE_LIBRARY_ARCHITECTURE)
# and the cross sysroot; programs from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

find_program(PX_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(PX_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${PX_QEMU_AARCH64}")
endif()
