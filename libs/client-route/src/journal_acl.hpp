// SPDX-License-Identifier: MIT
// Whether a security descriptor (in SDDL) keeps the route journal safe from programs without
// Administrator rights. Pure: the Windows shell hands in what GetNamedSecurityInfoW read, the
// tests hand in SDDL strings, on every OS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"

namespace lanparty::client_route::detail {

// The parts of an SDDL string the check reads. SIDs are numeric ("S-1-5-32-544"); an alias
// that is not a fixed well-known SID (e.g. "LA", the domain's Administrator) stays "LA".
struct SddlAce {
  enum class Kind { kAllow, kDeny };
  Kind kind = Kind::kAllow;
  bool inherit_only = false;  // IO: applies to children only, not to the object itself
  std::uint32_t rights = 0;
  std::string sid;
};
struct SddlDescriptor {
  std::optional<std::string> owner;
  bool has_dacl = false;        // false: no D: part, or D:NO_ACCESS_CONTROL (a NULL DACL)
  bool protected_dacl = false;  // P: nothing inherited from the parent
  std::vector<SddlAce> dacl;
};

// Parses the owner (O:), DACL (D:) and, skipped, the group (G:) and SACL (S:). Unknown ACE
// types, flags or rights are a kParseError: the check refuses what it cannot read.
[[nodiscard]] Result<SddlDescriptor> parse_sddl(std::string_view sddl);

// Rights that change a file or directory (contents, entries, ACL, owner) rather than read it.
inline constexpr std::uint32_t kWriteRights = 0x0002         // FILE_WRITE_DATA / ADD_FILE
                                              | 0x0004       // FILE_APPEND_DATA / ADD_SUBDIRECTORY
                                              | 0x0040       // FILE_DELETE_CHILD
                                              | 0x00010000   // DELETE
                                              | 0x00040000   // WRITE_DAC
                                              | 0x00080000   // WRITE_OWNER
                                              | 0x02000000   // MAXIMUM_ALLOWED
                                              | 0x10000000   // GENERIC_ALL
                                              | 0x40000000;  // GENERIC_WRITE

// nullopt when `sddl` is owned by SYSTEM or Administrators and its DACL lets nobody else
// change the object; otherwise why not, as a sentence about `what` ("route journal
// directory C:\ProgramData\softlan-vpn"). A descriptor that does not parse is refused.
[[nodiscard]] std::optional<std::string> admin_only_problem(std::string_view sddl,
                                                            std::string_view what);

}  // namespace lanparty::client_route::detail
