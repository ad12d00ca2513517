# SPDX-License-Identifier: MIT
# mingw build: GoogleTest/GMock 1.12 compiled from the sources Debian's googletest package
# ships in /usr/src/googletest (there is no mingw libgtest), with the GTest:: names
# FindGTest gives on Linux. EXCLUDE_FROM_ALL: built only when a test exe needs it.
if(NOT TARGET GTest::gtest)
  set(lanparty_googletest /usr/src/googletest)
  if(NOT EXISTS ${lanparty_googletest}/CMakeLists.txt)
    message(FATAL_ERROR "mingw build: ${lanparty_googletest} is missing (Debian googletest)")
  endif()
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  set(BUILD_GMOCK ON CACHE BOOL "" FORCE)
  add_subdirectory(${lanparty_googletest} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  foreach(lib gtest gtest_main gmock gmock_main)
    if(NOT TARGET GTest::${lib})  # googletest 1.12 already aliases some of them
      add_library(GTest::${lib} ALIAS ${lib})
    endif()
  endforeach()
endif()
set(GTest_FOUND TRUE)
