# SPDX-License-Identifier: MIT
# Helpers that give every module the same shape: one library target, warnings (errors in the
# dev, asan, fuzz, mingw and CI builds), one test binary, fuzzers that become corpus replays
# under g++.

set(LANPARTY_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion)
if(LANPARTY_WERROR)
  list(APPEND LANPARTY_WARNINGS -Werror)
endif()

function(lanparty_apply_common target)
  get_target_property(type ${target} TYPE)
  target_compile_options(${target} PRIVATE ${LANPARTY_WARNINGS})
  if(LANPARTY_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    # Not position-independent: ASan's global metadata makes a test binary carry ~1M relative
    # relocations, 0.08 of the 0.2 s every one of the ~1500 test processes spends starting.
    if(type STREQUAL "EXECUTABLE")
      target_link_options(${target} PRIVATE -no-pie)
    endif()
  endif()
  # Fuzz builds instrument the libraries too, so libFuzzer sees coverage of the code under test.
  if(LANPARTY_BUILD_FUZZERS)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  endif()
  # Test binaries share one precompiled header of GoogleTest, GMock and RapidCheck (see
  # lanparty_test_pch below), so each test translation unit loads them instead of parsing them.
  if(LANPARTY_PCH_TESTS AND target MATCHES "_tests$")
    lanparty_test_pch()
    target_precompile_headers(${target} REUSE_FROM lanparty_test_pch)
    # A PCH GCC cannot use (other options than its donor's) is silently parsed as text again;
    # make that a warning, an error with LANPARTY_WERROR, so the saving cannot quietly vanish.
    target_compile_options(${target} PRIVATE -Winvalid-pch)
    # Product sources a test binary compiles itself are left as they are (their OS headers).
    get_target_property(sources ${target} SOURCES)
    foreach(source IN LISTS sources)
      if(source MATCHES "(^|/)src/")
        set_source_files_properties(${source} TARGET_DIRECTORY ${target}
                                    PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
      endif()
    endforeach()
  endif()
  # Product code shares one precompiled header of the standard library and fmt (below).
  if(LANPARTY_PCH_PRODUCT AND NOT LANPARTY_NO_PRODUCT_PCH AND NOT target MATCHES "_tests$|_pch$"
     AND type MATCHES "^(STATIC_LIBRARY|EXECUTABLE|OBJECT_LIBRARY)$")
    lanparty_product_pch()
    target_precompile_headers(${target} REUSE_FROM lanparty_product_pch)
    target_compile_options(${target} PRIVATE -Winvalid-pch)
    # The header was made with fmt's definitions (FMT_SHARED); GCC takes it only where they are
    # the same, so code that does not link fmt itself gets them too (they only mark fmt's API).
    get_target_property(fmt_definitions fmt::fmt INTERFACE_COMPILE_DEFINITIONS)
    if(fmt_definitions)
      target_compile_definitions(${target} PRIVATE ${fmt_definitions})
    endif()
  endif()
  # Test binaries are most of the build, and most of each test file's time is parsing gtest,
  # gmock and RapidCheck: a unity build parses them once per batch of files.
  if(LANPARTY_UNITY_TESTS AND target MATCHES "_tests$")
    # Batches of six test files; product sources that a test binary compiles itself stay
    # in their own translation unit (GROUP mode leaves ungrouped files alone): they mix OS
    # headers (linux/if_arp.h vs net/if_arp.h) that one unit cannot hold together.
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE GROUP)
    get_target_property(sources ${target} SOURCES)
    set(index 0)
    foreach(source IN LISTS sources)
      if(NOT source MATCHES "(^|/)src/" AND source MATCHES "\\.(cpp|cc)$")
        math(EXPR batch "${index} / 6")
        set_source_files_properties(${source} TARGET_DIRECTORY ${target}
                                    PROPERTIES UNITY_GROUP "${target}_${batch}")
        math(EXPR index "${index} + 1")
      endif()
    endforeach()
  endif()
endfunction()

# lanparty_discover_tests(<target> [TEST_PREFIX p] [LABELS ...] [TIMEOUT seconds]): registers a
# GoogleTest binary's tests with ctest, TIMEOUT being per test. With LANPARTY_TESTS_PER_SUITE (the
# sanitizer build) one ctest entry runs a whole suite: an ASan process takes ~0.12 s to start
# and exit (its leak scan included), which one process per test paid ~1500 times.
function(lanparty_discover_tests target)
  cmake_parse_arguments(ARG "" "TEST_PREFIX;TIMEOUT" "LABELS" ${ARGN})
  if(NOT LANPARTY_TESTS_PER_SUITE)
    set(timeout)
    if(ARG_TIMEOUT)
      set(timeout TIMEOUT ${ARG_TIMEOUT})
    endif()
    gtest_discover_tests(${target} TEST_PREFIX "${ARG_TEST_PREFIX}"
                         PROPERTIES LABELS "${ARG_LABELS}" ${timeout} DISCOVERY_TIMEOUT 60)
    return()
  endif()
  set(base ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 0)
  endif()
  file(WRITE ${base}_params.cmake
       "set(EXE [==[$<TARGET_FILE:${target}>]==])\n"
       "set(PREFIX [==[${ARG_TEST_PREFIX}]==])\n"
       "set(WORKDIR [==[${CMAKE_CURRENT_BINARY_DIR}]==])\n"
       "set(OUT [==[${base}.cmake]==])\n"
       "set(LABELS [==[${ARG_LABELS}]==])\n"
       "set(PER_TEST_TIMEOUT ${ARG_TIMEOUT})\n")
  # file(GENERATE) resolves $<TARGET_FILE>; the listing runs after every link.
  file(GENERATE OUTPUT ${base}_params_resolved.cmake INPUT ${base}_params.cmake)
  add_custom_command(TARGET ${target} POST_BUILD
                     COMMAND ${CMAKE_COMMAND} -D PARAMS=${base}_params_resolved.cmake
                             -P ${PROJECT_SOURCE_DIR}/cmake/GTestSuites.cmake
                     VERBATIM)
  file(WRITE ${base}_include.cmake
       "if(EXISTS [==[${base}.cmake]==])\n"
       "  include([==[${base}.cmake]==])\n"
       "else()\n"
       "  add_test([==[${target}_NOT_BUILT]==] [==[${target}_NOT_BUILT]==])\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${base}_include.cmake)
endfunction()

# lanparty_pch_donor(<target> HEADERS ... LIBS ...): an object library of one empty source whose
# precompiled header other targets reuse. Built with the same options as they are
# (lanparty_apply_common), so GCC accepts it for each of them. Not for mingw: its targets define
# _WIN32_WINNT per target, which GCC (rightly) refuses to mix with one shared PCH.
function(lanparty_pch_donor target)
  if(TARGET ${target})
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "HEADERS;LIBS" ${ARGN})
  set(source ${PROJECT_BINARY_DIR}/${target}.cpp)
  if(NOT EXISTS ${source})
    file(WRITE ${source} "// Generated: the donor of a shared precompiled header.\n")
  endif()
  add_library(${target} OBJECT ${source})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS})
  target_precompile_headers(${target} PRIVATE ${ARG_HEADERS})
  lanparty_apply_common(${target})
endfunction()

# lanparty_test_pch(): the donor every test binary reuses (LANPARTY_PCH_TESTS): third-party test
# headers only. Measured on the dev build: about 1.5 of 18 CPU-s per test unit.
function(lanparty_test_pch)
  set(headers <gtest/gtest.h> <gmock/gmock.h>)
  set(libs GTest::gmock GTest::gtest)
  if(TARGET rapidcheck)
    list(APPEND headers <rapidcheck.h> <rapidcheck/gtest.h>)
    list(APPEND libs rapidcheck rapidcheck_gtest)
  endif()
  lanparty_pch_donor(lanparty_test_pch HEADERS ${headers} LIBS ${libs})
endfunction()

# lanparty_product_pch(): the donor the libraries and programs reuse (LANPARTY_PCH_PRODUCT): the
# standard headers most sources include, and fmt; a quarter of their compile time (12 sources:
# 29.0 -> 22.0 CPU-s). The asan preset uses it, dev does not: a source that forgot an include
# must still fail to build where the release build would.
function(lanparty_product_pch)
  lanparty_pch_donor(lanparty_product_pch LIBS fmt::fmt
                     HEADERS <algorithm> <array> <chrono> <cstdint> <cstring> <functional> <map>
                             <memory> <optional> <span> <string> <string_view> <system_error>
                             <utility> <vector> <fmt/format.h>)
endfunction()

# lanparty_add_module(<name> [SOURCES ...]): library lanparty_<name>, alias lanparty::<name>.
# A module without sources is an INTERFACE library.
function(lanparty_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  set(target lanparty_${name})
  if(ARG_SOURCES)
    add_library(${target} STATIC ${ARG_SOURCES})
    target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                         PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    lanparty_apply_common(${target})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
  endif()
  add_library(lanparty::${name} ALIAS ${target})
endfunction()

# lanparty_add_tests(<name> SOURCES ... [LIBS ...] [LABELS ...]): binary lanparty_<name>_tests.
function(lanparty_add_tests name)
  if(NOT LANPARTY_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  set(target lanparty_${name}_tests)
  # RapidCheck has no mingw build: without it, files that include it are left out (and
  # named), so a module's plain unit tests still build and run under wine.
  set(rapidcheck_libs)
  if(TARGET rapidcheck)
    set(rapidcheck_libs rapidcheck rapidcheck_gtest)
  else()
    set(kept)
    foreach(source IN LISTS ARG_SOURCES)
      file(STRINGS ${source} uses_rapidcheck REGEX "#include <rapidcheck" LIMIT_COUNT 1)
      if(uses_rapidcheck)
        message(STATUS "${target}: ${source} skipped (needs RapidCheck, not available here)")
      else()
        list(APPEND kept ${source})
      endif()
    endforeach()
    set(ARG_SOURCES ${kept})
  endif()
  if(NOT ARG_SOURCES)
    message(STATUS "${target}: no test sources left on this platform")
    return()
  endif()
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE lanparty::${name} ${ARG_LIBS} ${rapidcheck_libs}
                                          GTest::gmock GTest::gtest_main)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src
                                               ${CMAKE_CURRENT_SOURCE_DIR}/tests)
  lanparty_apply_common(${target})
  if(CMAKE_CROSSCOMPILING)
    # Under wine each exe start costs about a second, so one ctest entry per binary (gtest
    # prints each failing test) instead of one per test case, and no discovery run at build
    # time, when the wine prefix may not be booted yet.
    add_test(NAME ${name}.all COMMAND ${target} --gtest_brief=1)
    set_tests_properties(${name}.all PROPERTIES LABELS "${ARG_LABELS}")
  else()
    lanparty_discover_tests(${target} TEST_PREFIX "${name}." LABELS ${ARG_LABELS})
  endif()
endfunction()

# lanparty_add_fuzzer(<module> <fuzzer> [LIBS ...]): fuzz/<fuzzer>_fuzz.cpp over
# tests/corpus/<fuzzer>/. With clang + LANPARTY_BUILD_FUZZERS it is a libFuzzer binary;
# otherwise the same entry point is linked with a replay driver and run by ctest over the
# corpus, so every build exercises the seeds.
function(lanparty_add_fuzzer module fuzzer)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  set(source ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${fuzzer}_fuzz.cpp)
  set(corpus ${CMAKE_CURRENT_SOURCE_DIR}/tests/corpus/${fuzzer})
  if(LANPARTY_BUILD_FUZZERS)
    set(target ${fuzzer}_fuzz)
    add_executable(${target} ${source})
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined ${LANPARTY_WARNINGS})
    target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${target} PRIVATE lanparty::${module} ${ARG_LIBS})
    set_property(GLOBAL APPEND PROPERTY LANPARTY_FUZZERS
                 "${target}|${CMAKE_CURRENT_BINARY_DIR}/${target}|${corpus}")
  elseif(LANPARTY_BUILD_TESTS)
    set(target ${fuzzer}_fuzz_replay)
    # The replay driver is the same for every fuzzer: compile it once, not once per replay exe.
    if(NOT TARGET lanparty_fuzz_replay_main)
      add_library(lanparty_fuzz_replay_main OBJECT ${PROJECT_SOURCE_DIR}/cmake/fuzz_replay_main.cpp)
      lanparty_apply_common(lanparty_fuzz_replay_main)
    endif()
    add_executable(${target} ${source} $<TARGET_OBJECTS:lanparty_fuzz_replay_main>)
    target_link_libraries(${target} PRIVATE lanparty::${module} ${ARG_LIBS})
    lanparty_apply_common(${target})
    add_test(NAME ${target} COMMAND ${target} ${corpus})
    set_tests_properties(${target} PROPERTIES LABELS unit)
  endif()
endfunction()
