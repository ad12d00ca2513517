# SPDX-License-Identifier: MIT
# mingw build: fmt::fmt header-only (FMT_HEADER_ONLY) from Debian's libfmt-dev 9.1 headers;
# there is no mingw libfmt to link.
include(${CMAKE_CURRENT_LIST_DIR}/LanpartyHostHeaders.cmake)
if(NOT TARGET fmt::fmt)
  lanparty_host_headers(fmt lanparty_stage)
  add_library(fmt::fmt INTERFACE IMPORTED)
  set_target_properties(fmt::fmt PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${lanparty_stage}
                                             INTERFACE_COMPILE_DEFINITIONS FMT_HEADER_ONLY=1)
endif()
set(fmt_FOUND TRUE)
