// SPDX-License-Identifier: MIT
// Small helpers shared by the Win32 files of client-tap: UTF-8 <-> UTF-16 and Win32 error
// values with context (wintun api/adapter.c names what it was doing with every error).
#pragma once

#include <string>
#include <string_view>

#include <windows.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_tap::win {

// Input is UTF-8 text we built or read; an invalid sequence becomes U+FFFD, never a failure.
inline std::wstring widen(std::string_view utf8) {
  if (utf8.empty()) return {};
  const int n =
      ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

inline std::string narrow(std::wstring_view wide) {
  if (wide.empty()) return {};
  const int n = ::WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()),
                                      nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), out.data(), n,
                        nullptr, nullptr);
  return out;
}

// Maps the Win32 codes the seams promise portable meanings for; the rest stay Win32 codes.
inline tl::unexpected<Error> error(DWORD code, std::string context) {
  context += " (Win32 error " + std::to_string(code) + ")";
  switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_NOT_FOUND:
      return fail(Errc::kNotFound, std::move(context));
    case ERROR_BROKEN_PIPE:
    case ERROR_PIPE_NOT_CONNECTED:
    case ERROR_HANDLE_EOF:
    case ERROR_NO_DATA:
      return fail(Errc::kClosed, std::move(context));
    case ERROR_MORE_DATA:
      return fail(Errc::kTooLarge, std::move(context));
    default:
      return fail(std::error_code(static_cast<int>(code), std::system_category()),
                  std::move(context));
  }
}

}  // namespace lanparty::client_tap::win
