// SPDX-License-Identifier: MIT
// Invariant checks for programmer errors only; never for network or OS input.
#pragma once

namespace lanparty::detail {
// File/line/function come from the macro: clang 14 with libstdc++ 12 has no
// std::source_location (its builtin arrived in clang 15).
[[noreturn]] void check_failed(const char* expr, const char* file, int line,
                               const char* function) noexcept;
}  // namespace lanparty::detail

// Always on: logs the failed expression and aborts.
#define LANPARTY_CHECK(cond)                                                 \
  do {                                                                       \
    if (!(cond)) [[unlikely]]                                                \
      ::lanparty::detail::check_failed(#cond, __FILE__, __LINE__, __func__); \
  } while (false)

#ifdef NDEBUG
#define LANPARTY_DCHECK(cond) \
  do {                        \
  } while (false && (cond))
#else
#define LANPARTY_DCHECK(cond) LANPARTY_CHECK(cond)
#endif
