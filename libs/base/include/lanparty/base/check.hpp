// SPDX-License-Identifier: MIT
// Invariant checks for programmer errors only; never for network or OS input.
#pragma once

#include <source_location>

namespace lanparty::detail {
[[noreturn]] void check_failed(const char* expr, std::source_location where) noexcept;
}  // namespace lanparty::detail

// Always on: logs the failed expression and aborts.
#define LANPARTY_CHECK(cond)                                                            \
  do {                                                                                  \
    if (!(cond)) [[unlikely]]                                                           \
      ::lanparty::detail::check_failed(#cond, ::std::source_location::current());       \
  } while (false)

#ifdef NDEBUG
#define LANPARTY_DCHECK(cond) \
  do {                        \
  } while (false && (cond))
#else
#define LANPARTY_DCHECK(cond) LANPARTY_CHECK(cond)
#endif
