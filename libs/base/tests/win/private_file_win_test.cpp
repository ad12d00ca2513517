// SPDX-License-Identifier: MIT
// The Windows side of private_file.hpp under wine: the DACL a new file gets and reparse
// points refused. (Wine keeps no ACLs of its own: it shows a file's unix mode as a DACL, so
// these tests check what that can show.)
#include <windows.h>
// windows.h first: the security headers need its types.
#include <aclapi.h>
#include <sddl.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"
#include "private_file_test_support.hpp"

namespace lanparty {
namespace {

namespace fs = std::filesystem;
using testing_support::ScratchDir;

// The owner and DACL of `path` in SDDL, as Windows reports them.
std::wstring dacl_sddl(const fs::path& path) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  const DWORD rc = ::GetNamedSecurityInfoW(path.c_str(), SE_FILE_OBJECT,
                                           OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                           nullptr, nullptr, nullptr, nullptr, &sd);
  EXPECT_EQ(rc, static_cast<DWORD>(ERROR_SUCCESS)) << path;
  if (rc != ERROR_SUCCESS) return L"";
  wchar_t* text = nullptr;
  EXPECT_TRUE(::ConvertSecurityDescriptorToStringSecurityDescriptorW(
      sd, SDDL_REVISION_1, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &text, nullptr));
  std::wstring out = text != nullptr ? text : L"";
  ::LocalFree(text);
  ::LocalFree(sd);
  return out;
}

std::string narrow(const std::wstring& w) { return std::string(w.begin(), w.end()); }

bool grants_everyone_or_users(const std::wstring& sddl) {
  for (const wchar_t* sid : {L";;;WD)", L";;;BU)", L";;;AU)", L";;;S-1-1-0)"}) {
    if (sddl.find(sid) != std::wstring::npos) return true;
  }
  return false;
}

bool under_wine() {
  const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && ::GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

// The scratch directory (under %TEMP%) lets everyone read what is made in it by inheritance
// under wine; a private file must not inherit that.
TEST(PrivateFileWin, APrivateFileGrantsNeitherEveryoneNorUsers) {
  ScratchDir dir;
  ASSERT_TRUE(write_private_file(dir.path() / "key", "secret"));
  const std::wstring sddl = dacl_sddl(dir.path() / "key");
  EXPECT_NE(sddl.find(L"D:"), std::wstring::npos) << narrow(sddl);
  EXPECT_FALSE(grants_everyone_or_users(sddl)) << narrow(sddl);
  ASSERT_TRUE(append_private_file(dir.path() / "log", "line\n"));
  EXPECT_FALSE(grants_everyone_or_users(dacl_sddl(dir.path() / "log")));
  // The check sees an inherited grant where there is one: wine's %TEMP% lets everyone read.
  if (under_wine()) {
    ASSERT_TRUE(write_file_atomically(dir.path() / "cert", "public", FileAccess::kPublic));
    EXPECT_TRUE(grants_everyone_or_users(dacl_sddl(dir.path() / "cert")));
  }
}

TEST(PrivateFileWin, AnAdministratorsFileGrantsNoWriteToOthers) {
  ScratchDir dir;
  auto written = write_file_atomically(dir.path() / "journal", "x", FileAccess::kAdministrators);
  ASSERT_TRUE(written) << written.error().describe();
  const std::wstring sddl = dacl_sddl(dir.path() / "journal");
  // Users may read it; FA (full access) or a write right for Everyone or Users must not appear.
  for (const wchar_t* ace : {L"FA;;;WD)", L"FA;;;BU)", L"FW;;;BU)", L"FW;;;WD)"}) {
    EXPECT_EQ(sddl.find(ace), std::wstring::npos) << narrow(sddl);
  }
}

TEST(PrivateFileWin, ASymbolicLinkTargetIsRefusedAndItsTargetUntouched) {
  ScratchDir dir;
  const fs::path victim = dir.path() / "victim";
  std::ofstream(victim) << "precious";
  const fs::path link = dir.path() / "key";
  // Wine 8's CreateSymbolicLinkW reports success and makes nothing: look before testing.
  const bool made = ::CreateSymbolicLinkW(link.c_str(), victim.c_str(), 0) &&
                    ::GetFileAttributesW(link.c_str()) != INVALID_FILE_ATTRIBUTES &&
                    (::GetFileAttributesW(link.c_str()) & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
  if (!made) GTEST_SKIP() << "cannot create a symbolic link here (wine, or no privilege)";
  auto written = write_private_file(link, "attacker's choice");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::kInvalidArgument) << written.error().describe();
  std::ifstream in(victim);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "precious");
  EXPECT_FALSE(read_private_file(link, 64));
}

}  // namespace
}  // namespace lanparty
