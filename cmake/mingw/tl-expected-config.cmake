# SPDX-License-Identifier: MIT
# mingw build: tl::expected from Debian's header-only libexpected-dev.
include(${CMAKE_CURRENT_LIST_DIR}/LanpartyHostHeaders.cmake)
if(NOT TARGET tl::expected)
  lanparty_host_headers(tl lanparty_stage)
  add_library(tl::expected INTERFACE IMPORTED)
  set_target_properties(tl::expected PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${lanparty_stage})
endif()
set(tl-expected_FOUND TRUE)
