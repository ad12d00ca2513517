# SPDX-License-Identifier: MIT
# Exposes one directory of the host's /usr/include (a header-only library) to the mingw build
# without putting all of /usr/include, with its Linux headers, on the include path.
include_guard(GLOBAL)

# lanparty_host_headers(<dir under /usr/include> <out var>): symlinks it into a staging
# directory in the build tree and returns that directory.
function(lanparty_host_headers name out)
  set(stage ${CMAKE_BINARY_DIR}/host-headers)
  if(NOT EXISTS /usr/include/${name})
    message(FATAL_ERROR "mingw build: /usr/include/${name} is missing; run scripts/install-deps.sh")
  endif()
  file(MAKE_DIRECTORY ${stage})
  if(NOT EXISTS ${stage}/${name})
    file(CREATE_LINK /usr/include/${name} ${stage}/${name} SYMBOLIC)
  endif()
  set(${out} ${stage} PARENT_SCOPE)
endfunction()
