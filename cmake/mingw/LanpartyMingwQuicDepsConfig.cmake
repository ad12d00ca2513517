# SPDX-License-Identifier: MIT
# mingw build: imported targets for the static wolfSSL (QUIC API), ngtcp2 and ngtcp2_crypto_wolfssl
# built by scripts/build-mingw-deps.sh from Debian's source packages (Debian ships no mingw ones).
# Default: <repo>/build/mingw-deps/current, i.e. ${CMAKE_SOURCE_DIR}/build/mingw-deps/current
# for the top-level build, found relative to this file so standalone projects agree.
get_filename_component(_lanparty_mingw_repo "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(LANPARTY_MINGW_DEPS_PREFIX "${_lanparty_mingw_repo}/build/mingw-deps/current"
    CACHE PATH "Install prefix made by scripts/build-mingw-deps.sh (wolfSSL + ngtcp2 for mingw)")
unset(_lanparty_mingw_repo)

set(_lanparty_mingw_stamp "${LANPARTY_MINGW_DEPS_PREFIX}/lanparty-mingw-deps.stamp")
if(NOT EXISTS "${_lanparty_mingw_stamp}")
  # The stamp is the script's last write: without it the prefix is missing or half-built.
  set(LanpartyMingwQuicDeps_FOUND FALSE)
  string(CONCAT LanpartyMingwQuicDeps_NOT_FOUND_MESSAGE
         "no complete wolfSSL/ngtcp2 mingw build in ${LANPARTY_MINGW_DEPS_PREFIX}; run "
         "scripts/build-mingw-deps.sh (about 3 minutes, cached afterwards) or set "
         "LANPARTY_MINGW_DEPS_PREFIX to the prefix it printed")
  return()
endif()
# A rebuilt prefix (new Debian revision, edited script) re-runs this file, so the definitions
# below never go stale.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_lanparty_mingw_stamp}")

if(NOT TARGET lanparty_mingw::wolfssl)
  set(_lanparty_mingw_include "${LANPARTY_MINGW_DEPS_PREFIX}/include")
  set(_lanparty_mingw_lib "${LANPARTY_MINGW_DEPS_PREFIX}/lib")

  # wolfSSL's struct layouts depend on the macros in its generated <wolfssl/options.h>. Every
  # consumer gets them as compile definitions too, so a TU that includes <wolfssl/ssl.h> before
  # options.h still agrees with the library instead of corrupting memory. (options.h #undefs
  # before each #define, so the duplicates raise no warning.) Macros starting with "_" are the
  # system ones options.h guards with WOLFSSL_OPTIONS_IGNORE_SYS; they are left out.
  file(STRINGS "${_lanparty_mingw_include}/wolfssl/options.h" _lanparty_mingw_defines
       REGEX "^#define [A-Za-z][A-Za-z0-9_]*( .*)?$")
  set(_lanparty_mingw_wolfssl_definitions "")
  foreach(_line IN LISTS _lanparty_mingw_defines)
    string(REGEX REPLACE "^#define ([A-Za-z0-9_]+) ?(.*)$" "\\1;\\2" _pair "${_line}")
    list(GET _pair 0 _name)
    list(GET _pair 1 _value)
    if(_name STREQUAL "WOLFSSL_OPTIONS_H")
      continue()
    endif()
    if(_value STREQUAL "")
      list(APPEND _lanparty_mingw_wolfssl_definitions "${_name}")
    else()
      list(APPEND _lanparty_mingw_wolfssl_definitions "${_name}=${_value}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES _lanparty_mingw_wolfssl_definitions)

  add_library(lanparty_mingw::wolfssl STATIC IMPORTED)
  # ws2_32: wolfSSL's socket I/O callbacks (send/recv/closesocket); advapi32: CryptGenRandom,
  # its entropy source. Checked with nm against the built library: nothing else is imported.
  set_target_properties(
    lanparty_mingw::wolfssl
    PROPERTIES IMPORTED_LOCATION "${_lanparty_mingw_lib}/libwolfssl.a"
               INTERFACE_INCLUDE_DIRECTORIES "${_lanparty_mingw_include}"
               INTERFACE_COMPILE_DEFINITIONS "${_lanparty_mingw_wolfssl_definitions}"
               INTERFACE_LINK_LIBRARIES "ws2_32;advapi32")

  # NGTCP2_STATICLIB: without it ngtcp2.h declares every function __declspec(dllimport).
  add_library(lanparty_mingw::ngtcp2 STATIC IMPORTED)
  set_target_properties(
    lanparty_mingw::ngtcp2
    PROPERTIES IMPORTED_LOCATION "${_lanparty_mingw_lib}/libngtcp2_static.a"
               INTERFACE_INCLUDE_DIRECTORIES "${_lanparty_mingw_include}"
               INTERFACE_COMPILE_DEFINITIONS "NGTCP2_STATICLIB")

  add_library(lanparty_mingw::ngtcp2_crypto_wolfssl STATIC IMPORTED)
  set_target_properties(
    lanparty_mingw::ngtcp2_crypto_wolfssl
    PROPERTIES IMPORTED_LOCATION "${_lanparty_mingw_lib}/libngtcp2_crypto_wolfssl_static.a"
               INTERFACE_INCLUDE_DIRECTORIES "${_lanparty_mingw_include}"
               INTERFACE_LINK_LIBRARIES "lanparty_mingw::ngtcp2;lanparty_mingw::wolfssl")

  unset(_lanparty_mingw_include)
  unset(_lanparty_mingw_lib)
  unset(_lanparty_mingw_defines)
  unset(_lanparty_mingw_wolfssl_definitions)
endif()
unset(_lanparty_mingw_stamp)
set(LanpartyMingwQuicDeps_FOUND TRUE)
