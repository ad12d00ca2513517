// SPDX-License-Identifier: MIT
// private_file.hpp with Win32: CreateFileW(CREATE_NEW) with the final security descriptor,
// WriteFile, FlushFileBuffers, then MoveFileExW with MOVEFILE_WRITE_THROUGH, which returns
// only once the rename is on the disk (Windows has no directory fsync).
#include <windows.h>
// windows.h first: the security headers need its types.
#include <sddl.h>

#include <memory>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "lanparty/base/defer.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"

namespace lanparty {
namespace {

tl::unexpected<Error> win32_fail(DWORD code, std::string context) {
  return fail(std::error_code(static_cast<int>(code), std::system_category()), std::move(context));
}

struct LocalFreeDeleter {
  void operator()(void* p) const noexcept { ::LocalFree(p); }
};
using LocalSecurityDescriptor = std::unique_ptr<void, LocalFreeDeleter>;

tl::unexpected<Error> refuse_reparse_point(const std::filesystem::path& path) {
  return fail(Errc::kInvalidArgument,
              fmt::format("{} is a symbolic link or junction; refusing to follow it (whoever "
                          "can change the link would choose where this goes): give the real "
                          "file's path",
                          path.string()));
}

// This process's user as an SDDL SID string ("S-1-5-21-...").
Result<std::wstring> current_user_sid() {
  HANDLE token = nullptr;
  if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token)) {
    return win32_fail(::GetLastError(), "OpenProcessToken");
  }
  Defer close_token([token] { ::CloseHandle(token); });
  DWORD size = 0;
  (void)::GetTokenInformation(token, TokenUser, nullptr, 0, &size);
  auto buffer = std::make_unique<unsigned char[]>(size);
  if (!::GetTokenInformation(token, TokenUser, buffer.get(), size, &size)) {
    return win32_fail(::GetLastError(), "GetTokenInformation(TokenUser)");
  }
  wchar_t* text = nullptr;
  if (!::ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buffer.get())->User.Sid, &text)) {
    return win32_fail(::GetLastError(), "ConvertSidToStringSidW");
  }
  std::wstring sid(text);
  ::LocalFree(text);
  return sid;
}

// The descriptor a new file gets, or null for kPublic (the directory's inherited ACL).
// "P" protects the DACL from inheritance: what the directory allows does not widen it.
Result<LocalSecurityDescriptor> descriptor_for(FileAccess access) {
  std::wstring sddl;
  switch (access) {
    case FileAccess::kPublic:
      return LocalSecurityDescriptor{};
    case FileAccess::kPrivate: {
      auto user = current_user_sid();
      if (!user) return tl::unexpected(user.error());
      sddl = L"D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" + *user + L")";
      break;
    }
    case FileAccess::kAdministrators:
      // 0x1200a9: read, read attributes, execute, synchronize (Windows' "Read & execute").
      sddl = L"O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200a9;;;BU)";
      break;
  }
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &sd,
                                                              nullptr)) {
    return win32_fail(::GetLastError(), "ConvertStringSecurityDescriptorToSecurityDescriptorW");
  }
  return LocalSecurityDescriptor(sd);
}

// ERROR_INVALID_OWNER from CreateFileW with owner Administrators: the token has no right to it.
std::string creation_hint(DWORD error, FileAccess access) {
  if (access == FileAccess::kAdministrators &&
      (error == ERROR_INVALID_OWNER || error == ERROR_ACCESS_DENIED)) {
    return " (only an elevated process can create it: run as Administrator)";
  }
  return "";
}

Status write_all(HANDLE file, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const DWORD chunk = bytes.size() > 0x10000000 ? 0x10000000 : static_cast<DWORD>(bytes.size());
    DWORD written = 0;
    if (!::WriteFile(file, bytes.data(), chunk, &written, nullptr)) {
      return win32_fail(::GetLastError(), fmt::format("write {}", path.string()));
    }
    if (written == 0) return win32_fail(ERROR_WRITE_FAULT, fmt::format("write {}", path.string()));
    bytes.remove_prefix(written);
  }
  return ok();
}

// Opened handles are checked after the open: FILE_FLAG_OPEN_REPARSE_POINT opens a link itself,
// so a link is seen here instead of followed.
Status check_plain_file(HANDLE file, const std::filesystem::path& path,
                        BY_HANDLE_FILE_INFORMATION* info) {
  if (!::GetFileInformationByHandle(file, info)) {
    return win32_fail(::GetLastError(),
                      fmt::format("GetFileInformationByHandle {}", path.string()));
  }
  if ((info->dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
    return refuse_reparse_point(path);
  }
  if ((info->dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    return fail(Errc::kInvalidArgument, fmt::format("{} is not a regular file", path.string()));
  }
  return ok();
}

}  // namespace

std::filesystem::path temp_path_for(const std::filesystem::path& path) {
  std::filesystem::path temp = path;
  temp += fmt::format(".tmp-{}", ::GetCurrentProcessId());
  return temp;
}

Status write_file_atomically(const std::filesystem::path& path, std::string_view bytes,
                             FileAccess access, IfExists if_exists) {
  const DWORD attributes = ::GetFileAttributesW(path.c_str());
  if (attributes != INVALID_FILE_ATTRIBUTES) {
    if ((attributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) return refuse_reparse_point(path);
    if (if_exists == IfExists::kKeep) {
      return fail(std::make_error_code(std::errc::file_exists),
                  fmt::format("create {}", path.string()));
    }
  } else if (const DWORD error = ::GetLastError();
             error != ERROR_FILE_NOT_FOUND && error != ERROR_PATH_NOT_FOUND) {
    return win32_fail(error, fmt::format("GetFileAttributesW {}", path.string()));
  }

  auto sd = descriptor_for(access);
  if (!sd) return tl::unexpected(sd.error());
  SECURITY_ATTRIBUTES sa{sizeof(sa), sd->get(), FALSE};
  const std::filesystem::path temp = temp_path_for(path);
  const auto create = [&] {
    return ::CreateFileW(temp.c_str(), GENERIC_WRITE, 0, sd->get() != nullptr ? &sa : nullptr,
                         CREATE_NEW, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  };
  HANDLE file = create();
  if (file == INVALID_HANDLE_VALUE && ::GetLastError() == ERROR_FILE_EXISTS) {
    // No live process but this one has our id: the sibling is a dead run's leftover.
    // DeleteFileW removes a link itself, never its target, and fails on a directory.
    if (!::DeleteFileW(temp.c_str())) {
      return win32_fail(::GetLastError(), fmt::format("remove the leftover {}", temp.string()));
    }
    file = create();
  }
  if (file == INVALID_HANDLE_VALUE) {
    const DWORD error = ::GetLastError();
    return win32_fail(error,
                      fmt::format("create {}{}", temp.string(), creation_hint(error, access)));
  }
  bool temp_exists = true;
  Defer remove_temp([&] {
    if (temp_exists) ::DeleteFileW(temp.c_str());
  });
  {
    Defer close_file([file] { ::CloseHandle(file); });
    if (auto st = write_all(file, bytes, temp); !st) return st;
    if (!::FlushFileBuffers(file)) {
      return win32_fail(::GetLastError(), fmt::format("flush {}", temp.string()));
    }
  }
  // Without MOVEFILE_REPLACE_EXISTING an existing name fails the move: kKeep never replaces.
  const DWORD move_flags =
      MOVEFILE_WRITE_THROUGH | (if_exists == IfExists::kReplace ? MOVEFILE_REPLACE_EXISTING : 0);
  if (!::MoveFileExW(temp.c_str(), path.c_str(), move_flags)) {
    const DWORD error = ::GetLastError();
    if (if_exists == IfExists::kKeep &&
        (error == ERROR_ALREADY_EXISTS || error == ERROR_FILE_EXISTS)) {
      return fail(std::make_error_code(std::errc::file_exists),
                  fmt::format("create {}", path.string()));
    }
    return win32_fail(error, fmt::format("rename {} to {}", temp.string(), path.string()));
  }
  temp_exists = false;
  return ok();
}

Status append_private_file(const std::filesystem::path& path, std::string_view bytes) {
  auto sd = descriptor_for(FileAccess::kPrivate);
  if (!sd) return tl::unexpected(sd.error());
  SECURITY_ATTRIBUTES sa{sizeof(sa), sd->get(), FALSE};
  // The descriptor applies only when OPEN_ALWAYS creates the file.
  HANDLE file =
      ::CreateFileW(path.c_str(), FILE_APPEND_DATA | SYNCHRONIZE, FILE_SHARE_READ, &sa, OPEN_ALWAYS,
                    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    return win32_fail(::GetLastError(), fmt::format("open {} to append", path.string()));
  }
  Defer close_file([file] { ::CloseHandle(file); });
  BY_HANDLE_FILE_INFORMATION info{};
  if (auto st = check_plain_file(file, path, &info); !st) return st;
  if (auto st = write_all(file, bytes, path); !st) return st;
  if (!::FlushFileBuffers(file)) {
    return win32_fail(::GetLastError(), fmt::format("flush {}", path.string()));
  }
  return ok();
}

Result<std::string> read_private_file(const std::filesystem::path& path, std::size_t max_bytes) {
  HANDLE file = ::CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                              FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    const DWORD error = ::GetLastError();
    if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND) {
      return fail(Errc::kNotFound, fmt::format("read {}", path.string()));
    }
    return win32_fail(error, fmt::format("open {}", path.string()));
  }
  Defer close_file([file] { ::CloseHandle(file); });
  BY_HANDLE_FILE_INFORMATION info{};
  if (auto st = check_plain_file(file, path, &info); !st) return tl::unexpected(st.error());
  const std::uint64_t size = (std::uint64_t{info.nFileSizeHigh} << 32) | info.nFileSizeLow;
  if (size > max_bytes) {
    return fail(Errc::kTooLarge,
                fmt::format("{} is larger than {} bytes", path.string(), max_bytes));
  }
  std::string data(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < data.size()) {
    DWORD got = 0;
    if (!::ReadFile(file, data.data() + done, static_cast<DWORD>(data.size() - done), &got,
                    nullptr)) {
      return win32_fail(::GetLastError(), fmt::format("read {}", path.string()));
    }
    if (got == 0) break;  // shrank meanwhile
    done += got;
  }
  data.resize(done);
  return data;
}

}  // namespace lanparty
