// SPDX-License-Identifier: MIT
// The journal's trust rule on security descriptors written as SDDL strings (the form
// ConvertSecurityDescriptorToStringSecurityDescriptorW gives), on every OS.
#include "journal_acl.hpp"

#include <gtest/gtest.h>

#include <string>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_route::detail {
namespace {

constexpr std::string_view kWhat = "route journal C:\\ProgramData\\softlan-vpn\\route-journal.txt";

// What create_admin_only_dir asks for, and what a file made inside inherits.
constexpr std::string_view kAdminOnlyDir =
    "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)";
constexpr std::string_view kAdminOnlyFile = "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200a9;;;BU)";

TEST(JournalAcl, AdministratorsOwnedWithOnlySystemAndAdministratorsIsAccepted) {
  for (std::string_view sddl :
       {kAdminOnlyDir, kAdminOnlyFile, std::string_view("O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)"),
        std::string_view("O:SYD:(A;;FA;;;SY)(A;ID;FA;;;BA)"),
        // The same with numeric SIDs and a hex mask, as some tools print them.
        std::string_view("O:S-1-5-32-544D:P(A;;0x1f01ff;;;S-1-5-18)(A;;0x1f01ff;;;S-1-5-32-544)"),
        // Nobody but the owner's implicit rights: nothing to fear.
        std::string_view("O:BAD:")}) {
    EXPECT_EQ(admin_only_problem(sddl, kWhat), std::nullopt) << sddl;
  }
}

TEST(JournalAcl, UsersOwnedWithEveryoneWriteIsRefusedForTheOwner) {
  const auto problem = admin_only_problem("O:BUD:(A;;FA;;;BU)(A;;FW;;;WD)", kWhat);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("owned by Users, not by Administrators or SYSTEM"), std::string::npos)
      << *problem;
  EXPECT_NE(problem->find(kWhat), std::string::npos) << *problem;
}

TEST(JournalAcl, AUserOwnedJournalIsRefusedEvenWithAStrictAcl) {
  // What a program of the user (not elevated) makes: it could rewrite its own DACL any time.
  const auto problem = admin_only_problem(
      "O:S-1-5-21-1004336348-1177238915-682003330-1001D:P(A;;FA;;;SY)(A;;FA;;;BA)", kWhat);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("owned by S-1-5-21-1004336348-1177238915-682003330-1001"),
            std::string::npos)
      << *problem;
}

TEST(JournalAcl, AdministratorsOwnedButWritableByOthersIsRefusedNamingWho) {
  struct Case {
    std::string_view sddl;
    std::string_view who;
  };
  for (const Case& c : {
           Case{"O:BAD:(A;;FA;;;SY)(A;;FA;;;BA)(A;;FW;;;WD)", "lets Everyone change it"},
           Case{"O:BAD:(A;;FA;;;BA)(A;OICI;0x1301bf;;;BU)", "lets Users change it"},
           Case{"O:BAD:(A;;FA;;;BA)(A;;GA;;;AU)", "lets Authenticated Users change it"},
           Case{"O:BAD:(A;;FA;;;BA)(A;;0x2;;;S-1-5-21-1-2-3-1001)", "lets S-1-5-21-1-2-3-1001"},
           Case{"O:BAD:(A;;FA;;;BA)(A;;WD;;;BU)", "lets Users change it"},  // WRITE_DAC
           Case{"O:BAD:(A;;FA;;;BA)(A;;SD;;;BU)", "lets Users change it"},  // DELETE
           Case{"O:BAD:(A;;FA;;;BA)(XA;;FA;;;BU;(@User.x == 1))", "cannot judge"},
       }) {
    const auto problem = admin_only_problem(c.sddl, kWhat);
    ASSERT_TRUE(problem) << c.sddl;
    EXPECT_NE(problem->find(c.who), std::string::npos) << *problem;
  }
}

TEST(JournalAcl, ReadingIsAllowedToOthers) {
  for (std::string_view sddl : {std::string_view("O:BAD:(A;;FA;;;BA)(A;;FR;;;WD)"),
                                std::string_view("O:BAD:(A;;FA;;;BA)(A;;0x1200a9;;;BU)"),
                                std::string_view("O:BAD:(A;;FA;;;BA)(A;;GRGX;;;AU)")}) {
    EXPECT_EQ(admin_only_problem(sddl, kWhat), std::nullopt) << sddl;
  }
}

TEST(JournalAcl, DenyAndInheritOnlyEntriesGrantNothingHere) {
  // ProgramData's own "CREATOR OWNER: full, inherit only" applies to children, which are
  // judged on their own.
  EXPECT_EQ(admin_only_problem("O:SYD:(D;;FA;;;WD)(A;OICIIO;GA;;;CO)(A;;FA;;;BA)", kWhat),
            std::nullopt);
}

TEST(JournalAcl, NoOwnerOrNoAccessListIsRefused) {
  EXPECT_TRUE(admin_only_problem("D:(A;;FA;;;BA)", kWhat));
  const auto null_dacl = admin_only_problem("O:BAD:NO_ACCESS_CONTROL", kWhat);
  ASSERT_TRUE(null_dacl);
  EXPECT_NE(null_dacl->find("anyone may change it"), std::string::npos) << *null_dacl;
  EXPECT_TRUE(admin_only_problem("O:BA", kWhat)) << "no DACL part at all";
}

TEST(JournalAcl, WhatDoesNotParseIsRefused) {
  for (std::string_view sddl :
       {"", "garbage", "O:", "O:BAD:(A;;FA;;;BA", "O:BAD:(Q;;FA;;;BA)", "O:BAD:(A;ZZ;FA;;;BA)",
        "O:BAD:(A;;QQ;;;BA)", "O:BAD:(A;;FA;;;)", "O:BAD:(A;;0x;;;BU)", "O:BAD:(OA;;FA;a-guid;;BU)",
        "O:BAD:(A;;FA;;;BA)X:"}) {
    const auto problem = admin_only_problem(sddl, kWhat);
    ASSERT_TRUE(problem) << sddl;
    if (!sddl.empty() && sddl != "O:") {
      EXPECT_NE(problem->find("cannot judge"), std::string::npos) << sddl << ": " << *problem;
    }
  }
}

TEST(JournalAcl, ParsesOwnerAndEntries) {
  auto sd = parse_sddl("O:BAG:SYD:PAI(A;OICI;FA;;;SY)(D;;0x10000;;;S-1-1-0)S:(AU;SA;FA;;;WD)");
  ASSERT_TRUE(sd) << sd.error().describe();
  EXPECT_EQ(sd->owner, "S-1-5-32-544");
  EXPECT_TRUE(sd->has_dacl);
  EXPECT_TRUE(sd->protected_dacl);
  ASSERT_EQ(sd->dacl.size(), 2u);
  EXPECT_EQ(sd->dacl[0].sid, "S-1-5-18");
  EXPECT_EQ(sd->dacl[0].rights, 0x1f01ffu);
  EXPECT_EQ(sd->dacl[1].kind, SddlAce::Kind::kDeny);
  EXPECT_EQ(sd->dacl[1].rights, 0x10000u);
}

}  // namespace
}  // namespace lanparty::client_route::detail
