// SPDX-License-Identifier: MIT
// Where the Windows client keeps its route journal, and why it can trust it. The elevated
// client restores what the journal lists, so a journal that a program without Administrator
// rights could write would let that program choose routes and metrics: it lives in a
// directory only SYSTEM and Administrators can change, and anything else is refused.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/client_route/route_journal.hpp"
#include "lanparty/obs/log.hpp"

namespace lanparty::client_route {

inline constexpr std::string_view kRouteJournalFileName = "route-journal.txt";

// %ProgramData%\softlan-vpn, from the ProgramData known folder (not the environment, which
// any program of the user can set). kUnsupportedPlatform off Windows.
[[nodiscard]] Result<std::filesystem::path> default_journal_dir();

// Creates `dir` if it is missing, owned by Administrators with a protected DACL (nothing
// inherited from the parent, whose ACL lets Users create files): SYSTEM and Administrators
// full control, Users read. An existing `dir` is left as it is (check_admin_only judges it).
// Needs an elevated process; otherwise the OS error, with "run as Administrator".
[[nodiscard]] Status create_admin_only_dir(const std::filesystem::path& dir);

// Refuses `path` (kInvalidArgument, a sentence naming `what`, the reason and the fix) unless
// SYSTEM or Administrators own it and its DACL lets nobody else change it
// (detail::admin_only_problem). A link is judged itself, not its target.
[[nodiscard]] Status check_admin_only(const std::filesystem::path& path, std::string_view what);

// The owner and DACL of `path` in SDDL, as the OS reports them.
[[nodiscard]] Result<std::string> read_security_sddl(const std::filesystem::path& path);

// The elevated client's journal, `dir`/kRouteJournalFileName: creates `dir` as above, refuses
// a directory or journal file that check_admin_only refuses (the journal is then not read,
// let alone applied), and opens the journal; later saves give the file the same protection
// (FileAccess::kAdministrators). Under wine, which reports every file as owned by the one
// unix user and keeps no ACLs, the checks cannot pass and guard nothing (every wine program
// runs as that user): there a refusal is logged (warn route.journal_acl_unenforced) instead.
[[nodiscard]] Result<RouteJournal> open_admin_journal(const std::filesystem::path& dir,
                                                      const obs::Logger& log = {});

}  // namespace lanparty::client_route
