// SPDX-License-Identifier: MIT
// The journal store with the real Win32 security API, under wine in CI (label `windows`).
// Wine keeps no ACLs: it shows a file's unix mode as a DACL and every file as owned by the
// one unix user. So here: the directory is made with the DACL asked for as far as wine can
// show it, SDDL round-trips through Windows' own converter into the same verdicts, and the
// check refuses what it must. The acceptance of a real Administrators-owned directory is
// covered by journal_acl_test.cpp and, on Windows itself, below.
#include <windows.h>
// windows.h first: the security headers need its types.
#include <sddl.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "journal_acl.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/journal_store.hpp"
#include "lanparty/obs/sinks.hpp"
#include "route_fixture.hpp"
#include "win/running_under_wine.hpp"

namespace lanparty::client_route {
namespace {

using testing::TempDir;

using detail::running_under_wine;

// SDDL -> a real SECURITY_DESCRIPTOR -> SDDL again, by Windows' own converters: the check
// then reads what the OS writes, not what a test author typed.
std::string through_windows(const wchar_t* sddl) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  EXPECT_TRUE(
      ::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, nullptr));
  wchar_t* text = nullptr;
  EXPECT_TRUE(::ConvertSecurityDescriptorToStringSecurityDescriptorW(
      sd, SDDL_REVISION_1, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &text, nullptr));
  std::string out;
  for (const wchar_t* p = text; p != nullptr && *p != L'\0'; ++p) {
    out.push_back(static_cast<char>(*p));
  }
  ::LocalFree(text);
  ::LocalFree(sd);
  return out;
}

TEST(JournalStoreWin, DescriptorsBuiltByWindowsGetTheSameVerdicts) {
  const std::string refused = through_windows(L"O:BUD:(A;;FA;;;BU)(A;;FW;;;WD)");
  const auto problem = detail::admin_only_problem(refused, "route journal X");
  ASSERT_TRUE(problem) << refused;
  EXPECT_NE(problem->find("owned by Users"), std::string::npos) << *problem;

  const std::string accepted = through_windows(L"O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)");
  EXPECT_EQ(detail::admin_only_problem(accepted, "route journal X"), std::nullopt) << accepted;

  const std::string everyone_writes = through_windows(L"O:BAD:P(A;;FA;;;BA)(A;;0x116;;;WD)");
  EXPECT_TRUE(detail::admin_only_problem(everyone_writes, "route journal X")) << everyone_writes;
}

TEST(JournalStoreWin, TheDefaultDirectoryIsUnderProgramData) {
  auto dir = default_journal_dir();
  ASSERT_TRUE(dir) << dir.error().describe();
  EXPECT_EQ(dir->filename(), "softlan-vpn");
  const char* program_data = std::getenv("ProgramData");
  if (program_data != nullptr) {
    EXPECT_EQ(dir->parent_path(), std::filesystem::path(program_data));
  }
}

TEST(JournalStoreWin, ADirectoryIsMadeWithTheDaclAskedFor) {
  TempDir scratch;
  const auto dir = scratch.path() / "journal";
  const auto plain = scratch.path() / "plain";
  ASSERT_TRUE(create_admin_only_dir(dir));
  ASSERT_TRUE(create_admin_only_dir(dir)) << "an existing directory is fine";
  ASSERT_TRUE(std::filesystem::create_directory(plain));
  auto ours = read_security_sddl(dir);
  ASSERT_TRUE(ours) << ours.error().describe();
  auto theirs = read_security_sddl(plain);
  ASSERT_TRUE(theirs) << theirs.error().describe();
  auto parsed = detail::parse_sddl(*ours);
  ASSERT_TRUE(parsed) << *ours;
  if (running_under_wine()) {
    // Wine turns the DACL into a unix mode (0750) and back: no Everyone entry, unlike the
    // plain directory next to it, which inherits %TEMP%'s "Everyone: read".
    EXPECT_EQ(ours->find(";;;WD)"), std::string::npos) << *ours;
    EXPECT_NE(theirs->find(";;;WD)"), std::string::npos) << *theirs;
  } else {
    EXPECT_EQ(parsed->owner, "S-1-5-32-544") << *ours;
    EXPECT_TRUE(parsed->protected_dacl) << *ours;
    EXPECT_EQ(detail::admin_only_problem(*ours, "dir"), std::nullopt) << *ours;
  }
  // Nobody but SYSTEM and Administrators (and, under wine, the unix user standing in for the
  // owner) may change it.
  for (const auto& ace : parsed->dacl) {
    const bool wine_owner = running_under_wine() && ace.sid.starts_with("S-1-5-21-");
    if (ace.kind == detail::SddlAce::Kind::kAllow && ace.sid != "S-1-5-18" &&
        ace.sid != "S-1-5-32-544" && !wine_owner) {
      EXPECT_EQ(ace.rights & detail::kWriteRights, 0u) << *ours;
    }
  }
}

TEST(JournalStoreWin, ADirectoryAnyProgramCouldHaveMadeIsRefusedWithTheFix) {
  TempDir scratch;
  const auto plain = scratch.path() / "plain";
  ASSERT_TRUE(std::filesystem::create_directory(plain));
  // Owned by this (non-Administrators) user under wine, or by the user's default owner.
  const auto checked = check_admin_only(plain, "route journal directory");
  if (!running_under_wine() && checked) GTEST_SKIP() << "this token makes Administrators owner";
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, Errc::kInvalidArgument);
  EXPECT_NE(checked.error().context.find("route journal directory is owned by"), std::string::npos)
      << checked.error().context;
}

TEST(JournalStoreWin, AMissingPathIsAnOsErrorNotARefusal) {
  TempDir scratch;
  const auto checked = check_admin_only(scratch.path() / "none", "route journal");
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().code, Errc::kInvalidArgument);
}

TEST(JournalStoreWin, TheAdminJournalOpensRecordsAndReopens) {
  TempDir scratch;
  obs::MemorySink sink;
  const auto dir = scratch.path() / "softlan-vpn";
  {
    auto journal = open_admin_journal(dir, obs::Logger(&sink));
    ASSERT_TRUE(journal) << journal.error().describe();
    EXPECT_EQ(journal->path(), dir / kRouteJournalFileName);
    ASSERT_TRUE(journal->record(HostRouteJournalEntry{
        RouteEntry{testing::prefix("198.51.100.7/32"), testing::ip("192.168.1.1"),
                   testing::kEthernetLuid, testing::kEthernetIndex, 0}}));
  }
  auto again = open_admin_journal(dir, obs::Logger(&sink));
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(again->entries().size(), 1u);
  // Under wine the checks cannot pass (see the header) and say so instead of refusing.
  if (running_under_wine()) {
    EXPECT_GE(sink.count("route.journal_acl_unenforced"), 1u);
  }
}

}  // namespace
}  // namespace lanparty::client_route
