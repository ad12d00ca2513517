// SPDX-License-Identifier: MIT
// journal_store.hpp with the Win32 security API: CreateDirectoryW with a descriptor made by
// ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW read back as
// SDDL and judged by the pure detail::admin_only_problem.
#include <windows.h>
// windows.h first: the security and shell headers need its types.
#include <aclapi.h>
#include <knownfolders.h>
#include <sddl.h>
#include <shlobj.h>

#include <system_error>

#include <fmt/format.h>

#include "journal_acl.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/journal_store.hpp"
#include "win/running_under_wine.hpp"

namespace lanparty::client_route {
namespace {

tl::unexpected<Error> win32_fail(DWORD code, std::string context) {
  return fail(std::error_code(static_cast<int>(code), std::system_category()), std::move(context));
}

// Owner Administrators; protected (P: ProgramData's "Users may create" does not flow in);
// OICI: files made inside inherit the same entries. 0x1200a9 is "Read & execute".
constexpr wchar_t kAdminOnlyDirSddl[] =
    L"O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)";

std::string narrow(const wchar_t* text) {
  std::string out;
  for (const wchar_t* p = text; *p != L'\0'; ++p) {
    out.push_back(*p < 0x80 ? static_cast<char>(*p) : '?');  // SDDL is ASCII
  }
  return out;
}

}  // namespace

Result<std::filesystem::path> default_journal_dir() {
  wchar_t* folder = nullptr;
  const HRESULT hr = ::SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &folder);
  if (FAILED(hr)) {
    ::CoTaskMemFree(folder);
    return win32_fail(static_cast<DWORD>(hr), "SHGetKnownFolderPath(FOLDERID_ProgramData)");
  }
  std::filesystem::path dir = std::filesystem::path(folder) / "softlan-vpn";
  ::CoTaskMemFree(folder);
  return dir;
}

Status create_admin_only_dir(const std::filesystem::path& dir) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(kAdminOnlyDirSddl, SDDL_REVISION_1,
                                                              &sd, nullptr)) {
    return win32_fail(::GetLastError(), "ConvertStringSecurityDescriptorToSecurityDescriptorW");
  }
  SECURITY_ATTRIBUTES sa{sizeof(sa), sd, FALSE};
  const BOOL created = ::CreateDirectoryW(dir.c_str(), &sa);
  const DWORD error = created ? ERROR_SUCCESS : ::GetLastError();
  ::LocalFree(sd);
  if (created || error == ERROR_ALREADY_EXISTS) return ok();
  // ERROR_INVALID_OWNER: the token may not name Administrators as owner (not elevated).
  const bool needs_admin = error == ERROR_INVALID_OWNER || error == ERROR_ACCESS_DENIED ||
                           error == ERROR_PRIVILEGE_NOT_HELD;
  return win32_fail(error, fmt::format("create the route journal directory {}{}", dir.string(),
                                       needs_admin ? " (run as Administrator)" : ""));
}

Result<std::string> read_security_sddl(const std::filesystem::path& path) {
  // FILE_FLAG_OPEN_REPARSE_POINT: a link is judged itself, never what it points at.
  HANDLE handle = ::CreateFileW(
      path.c_str(), READ_CONTROL, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
      OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    return win32_fail(::GetLastError(), fmt::format("open {} to read its owner", path.string()));
  }
  PSECURITY_DESCRIPTOR sd = nullptr;
  const DWORD rc = ::GetSecurityInfo(handle, SE_FILE_OBJECT,
                                     OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                     nullptr, nullptr, nullptr, nullptr, &sd);
  ::CloseHandle(handle);
  if (rc != ERROR_SUCCESS) {
    return win32_fail(rc, fmt::format("GetSecurityInfo {}", path.string()));
  }
  wchar_t* text = nullptr;
  const BOOL converted = ::ConvertSecurityDescriptorToStringSecurityDescriptorW(
      sd, SDDL_REVISION_1, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &text, nullptr);
  const DWORD error = converted ? ERROR_SUCCESS : ::GetLastError();
  ::LocalFree(sd);
  if (!converted) {
    return win32_fail(error, fmt::format("ConvertSecurityDescriptorToStringSecurityDescriptorW "
                                         "{}",
                                         path.string()));
  }
  std::string sddl = narrow(text);
  ::LocalFree(text);
  return sddl;
}

Status check_admin_only(const std::filesystem::path& path, std::string_view what) {
  auto sddl = read_security_sddl(path);
  if (!sddl) return tl::unexpected(sddl.error());
  if (auto problem = detail::admin_only_problem(*sddl, what)) {
    return fail(Errc::kInvalidArgument, std::move(*problem));
  }
  return ok();
}

Result<RouteJournal> open_admin_journal(const std::filesystem::path& dir, const obs::Logger& log) {
  if (auto created = create_admin_only_dir(dir); !created) {
    return tl::unexpected(created.error());
  }
  const std::filesystem::path file = dir / kRouteJournalFileName;
  // A refusal gets the fix appended; an OS error reading the owner stays as it is.
  const auto judge = [&](const std::filesystem::path& path, std::string_view what,
                         std::string_view fix) -> Status {
    auto checked = check_admin_only(path, what);
    if (checked || checked.error().code != make_error_code(Errc::kInvalidArgument)) {
      return checked;
    }
    if (detail::running_under_wine()) {
      log.warn("route.journal_acl_unenforced", {{"path", path.string()},
                                                {"problem", checked.error().context},
                                                {"why", "wine keeps no ACLs"}});
      return ok();
    }
    return fail(checked.error().code, fmt::format("{}; {}", checked.error().context, fix));
  };
  if (auto st = judge(dir, fmt::format("route journal directory {}", dir.string()),
                      fmt::format("nothing in it was applied. Check it, delete it as "
                                  "Administrator (rmdir /s /q \"{}\") and run again; it is "
                                  "made anew",
                                  dir.string()));
      !st) {
    return tl::unexpected(st.error());
  }
  if (::GetFileAttributesW(file.c_str()) != INVALID_FILE_ATTRIBUTES) {
    if (auto st = judge(file, fmt::format("route journal {}", file.string()),
                        fmt::format("it was not applied. Restore the network settings it lists "
                                    "by hand, then delete it as Administrator (del \"{}\")",
                                    file.string()));
        !st) {
      return tl::unexpected(st.error());
    }
  }
  return RouteJournal::open(file);
}

// Wine's ntdll exports wine_get_version; Windows' never does, and a program without
// Administrator rights cannot swap the ntdll.dll every process maps from System32.
bool detail::running_under_wine() {
  const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && ::GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

}  // namespace lanparty::client_route
