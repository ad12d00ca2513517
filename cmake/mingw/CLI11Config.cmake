# SPDX-License-Identifier: MIT
# mingw build: CLI11::CLI11 from Debian's header-only libcli11-dev (/usr/include/CLI).
include(${CMAKE_CURRENT_LIST_DIR}/LanpartyHostHeaders.cmake)
if(NOT TARGET CLI11::CLI11)
  lanparty_host_headers(CLI lanparty_stage)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${lanparty_stage})
endif()
set(CLI11_FOUND TRUE)
