// SPDX-License-Identifier: MIT
// The OS's name for a waitable socket or descriptor, Windows': a SOCKET (UINT_PTR), without
// <winsock2.h>. The build puts this folder (include-win/) or include-linux/ on the include
// path; no #ifdef here.
#pragma once

#include <cstdint>

namespace lanparty::io {

using NativeFd = std::uintptr_t;

}  // namespace lanparty::io
