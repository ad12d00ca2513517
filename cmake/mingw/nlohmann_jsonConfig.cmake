# SPDX-License-Identifier: MIT
# mingw build: nlohmann_json::nlohmann_json from Debian's header-only nlohmann-json3-dev.
include(${CMAKE_CURRENT_LIST_DIR}/LanpartyHostHeaders.cmake)
if(NOT TARGET nlohmann_json::nlohmann_json)
  lanparty_host_headers(nlohmann lanparty_stage)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json
                        PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${lanparty_stage})
endif()
set(nlohmann_json_FOUND TRUE)
