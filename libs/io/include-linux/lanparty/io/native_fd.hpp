// SPDX-License-Identifier: MIT
// The OS's name for a waitable socket or descriptor, Linux's: a file descriptor. The build
// puts this folder (include-linux/) or include-win/ on the include path; no #ifdef here.
#pragma once

namespace lanparty::io {

using NativeFd = int;

}  // namespace lanparty::io
