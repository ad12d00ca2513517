# SPDX-License-Identifier: MIT
# Cross build for 64-bit Windows with Debian's mingw-w64 (posix threads: the win32 thread
# variant has no std::thread), test exes run under wine64. Used by the `mingw` preset.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(LANPARTY_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${LANPARTY_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${LANPARTY_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${LANPARTY_MINGW_TRIPLE}-windres)

# Libraries and headers come from the mingw sysroot only; a stray host library (Linux gtest,
# fmt.so) would link into a PE file and fail at the last step, far from the cause.
set(CMAKE_FIND_ROOT_PATH /usr/${LANPARTY_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# mingw-w64's <time.h> declares the POSIX reentrant gmtime_r/localtime_r (over gmtime_s)
# only on request; obs's sinks use gmtime_r, so shared code stays free of #ifdef _WIN32.
set(CMAKE_C_FLAGS_INIT "-D_POSIX_THREAD_SAFE_FUNCTIONS=200112L")
set(CMAKE_CXX_FLAGS_INIT "-D_POSIX_THREAD_SAFE_FUNCTIONS=200112L")

# Debug without debug info: DWARF for every gtest/fmt/nlohmann TU costs about a quarter of
# the cross build's time, and nobody steps through these exes in gdb under wine. Pass
# -DCMAKE_CXX_FLAGS_DEBUG=-g to get it back. (A cache entry, because CMake appends -g to
# the _INIT flags.)
# And -Og rather than -O0: at -O0 every inline function of gtest, fmt (header-only here) and
# nlohmann is emitted into each object, ~4x the COFF sections and symbols, and binutils 2.40's
# PE linker is quadratic in those per object (coff_section_from_bfd_index walks the section
# list for each symbol): the mingw preset's 19 links took 251 s of 976 s, with -Og 25 s, and
# its compiles got cheaper too. Asserts stay on (no NDEBUG); the tests run the same.
set(CMAKE_C_FLAGS_DEBUG "-Og -g0" CACHE STRING "mingw Debug: -Og, no debug info (see toolchain file)")
set(CMAKE_CXX_FLAGS_DEBUG "-Og -g0" CACHE STRING "mingw Debug: -Og, no debug info (see toolchain file)")

# Static libstdc++/libgcc/winpthread: the exes then run under wine (and on a player's PC)
# without shipping or locating the mingw runtime DLLs.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# Debian ships no mingw builds of our header-only dependencies or of GoogleTest. The config
# packages in cmake/mingw/ define the targets the top-level find_package() calls expect
# (tl::expected, fmt::fmt header-only, nlohmann_json::nlohmann_json, CLI11::CLI11, GTest::*),
# exposing only /usr/include/{tl,fmt,nlohmann,CLI} and building /usr/src/googletest in the
# build tree. LanpartyMingwQuicDeps: wolfSSL and ngtcp2 from scripts/build-mingw-deps.sh.
foreach(package tl-expected fmt nlohmann_json CLI11 GTest LanpartyMingwQuicDeps)
  set(${package}_DIR ${CMAKE_CURRENT_LIST_DIR}/mingw)
endforeach()

# ctest runs the exes through this wrapper: wine64 with a private, once-booted WINEPREFIX
# inside the build tree.
if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/wine-run.sh
                                    --prefix=${CMAKE_BINARY_DIR}/wineprefix)
endif()
