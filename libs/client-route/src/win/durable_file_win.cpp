// SPDX-License-Identifier: MIT
// replace_file_durably with Win32: FlushFileBuffers on the data, then MoveFileEx with
// MOVEFILE_WRITE_THROUGH, which returns only once the rename is on the disk.
#include <windows.h>

#include <system_error>

#include <fmt/format.h>

#include "durable_file.hpp"
#include "lanparty/base/errc.hpp"

namespace lanparty::client_route::detail {
namespace {

tl::unexpected<Error> win32_fail(DWORD code, std::string context) {
  return fail(std::error_code(static_cast<int>(code), std::system_category()), std::move(context));
}

}  // namespace

Status replace_file_durably(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  HANDLE file = ::CreateFileW(temp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    return win32_fail(::GetLastError(), fmt::format("create {}", temp.string()));
  }
  DWORD written = 0;
  DWORD error = NO_ERROR;
  if (!::WriteFile(file, bytes.data(), static_cast<DWORD>(bytes.size()), &written, nullptr)) {
    error = ::GetLastError();
  } else if (written != bytes.size()) {
    error = ERROR_WRITE_FAULT;
  } else if (!::FlushFileBuffers(file)) {
    error = ::GetLastError();
  }
  ::CloseHandle(file);
  if (error == NO_ERROR && !::MoveFileExW(temp.c_str(), path.c_str(),
                                          MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    error = ::GetLastError();
  }
  if (error != NO_ERROR) {
    ::DeleteFileW(temp.c_str());
    return win32_fail(error, fmt::format("write {} over {}", temp.string(), path.string()));
  }
  return ok();
}

}  // namespace lanparty::client_route::detail
