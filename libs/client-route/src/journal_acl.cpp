// SPDX-License-Identifier: MIT
// A strict reader for the subset of SDDL that file security descriptors use
// (https://learn.microsoft.com/windows/win32/secauthz/security-descriptor-string-format), and
// the journal's rule: owned by SYSTEM or Administrators, changeable by nobody else.
#include "journal_acl.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_route::detail {
namespace {

constexpr std::string_view kSystem = "S-1-5-18";
constexpr std::string_view kAdministrators = "S-1-5-32-544";

// SID aliases that stand for one fixed SID on every machine.
constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kSidAliases{{
    {"SY", kSystem},
    {"BA", kAdministrators},
    {"BU", "S-1-5-32-545"},
    {"BG", "S-1-5-32-546"},
    {"PU", "S-1-5-32-547"},
    {"WD", "S-1-1-0"},
    {"AU", "S-1-5-11"},
    {"IU", "S-1-5-4"},
    {"CO", "S-1-3-0"},
    {"CG", "S-1-3-1"},
    {"OW", "S-1-3-4"},
    {"LS", "S-1-5-19"},
    {"NS", "S-1-5-20"},
    {"AN", "S-1-5-7"},
}};

// Access right abbreviations (sddl.h SDDL_*).
constexpr std::array<std::pair<std::string_view, std::uint32_t>, 24> kRights{{
    {"GA", 0x10000000}, {"GR", 0x80000000}, {"GW", 0x40000000}, {"GX", 0x20000000},
    {"RC", 0x00020000}, {"SD", 0x00010000}, {"WD", 0x00040000}, {"WO", 0x00080000},
    {"RP", 0x00000010}, {"WP", 0x00000020}, {"CC", 0x00000001}, {"DC", 0x00000002},
    {"LC", 0x00000004}, {"SW", 0x00000008}, {"LO", 0x00000080}, {"DT", 0x00000040},
    {"CR", 0x00000100}, {"FA", 0x001F01FF}, {"FR", 0x00120089}, {"FW", 0x00120116},
    {"FX", 0x001200A0}, {"KA", 0x000F003F}, {"KR", 0x00020019}, {"KW", 0x00020006},
}};

// Names people recognise, for the refusal sentence.
std::string display_sid(std::string_view sid) {
  if (sid == "S-1-1-0") return "Everyone";
  if (sid == "S-1-5-32-545") return "Users";
  if (sid == "S-1-5-11") return "Authenticated Users";
  if (sid == "S-1-5-4") return "INTERACTIVE";
  if (sid == "S-1-3-0") return "CREATOR OWNER";
  return std::string(sid);
}

bool trusted(std::string_view sid) { return sid == kSystem || sid == kAdministrators; }

tl::unexpected<Error> bad(std::string_view sddl, std::string_view why) {
  return fail(Errc::kParseError, fmt::format("security descriptor \"{}\": {}", sddl, why));
}

// A SID at the front of `text`: "S-1-..." up to the first character that cannot be in one,
// or a two-letter alias.
std::optional<std::string> take_sid(std::string_view& text) {
  if (text.starts_with("S-")) {
    std::size_t n = 2;
    while (n < text.size() && (text[n] == '-' || (text[n] >= '0' && text[n] <= '9'))) ++n;
    if (n == 2) return std::nullopt;
    std::string sid(text.substr(0, n));
    text.remove_prefix(n);
    return sid;
  }
  if (text.size() < 2) return std::nullopt;
  const std::string_view alias = text.substr(0, 2);
  text.remove_prefix(2);
  for (const auto& [name, sid] : kSidAliases) {
    if (name == alias) return std::string(sid);
  }
  if (alias[0] < 'A' || alias[0] > 'Z' || alias[1] < 'A' || alias[1] > 'Z') return std::nullopt;
  return std::string(alias);  // an alias of a machine- or domain-relative SID: never trusted
}

std::optional<std::uint32_t> parse_rights(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) {
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data() + 2, text.data() + text.size(), value, 16);
    if (ec != std::errc() || end != text.data() + text.size() || text.size() == 2) {
      return std::nullopt;
    }
    return value;
  }
  if (text.empty() || text.size() % 2 != 0) return std::nullopt;
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    bool known = false;
    for (const auto& [name, bits] : kRights) {
      if (name == text.substr(i, 2)) {
        value |= bits;
        known = true;
      }
    }
    if (!known) return std::nullopt;
  }
  return value;
}

// "(type;flags;rights;object guid;inherit object guid;sid[;resource attribute])", without
// the parentheses.
Result<SddlAce> parse_ace(std::string_view sddl, std::string_view body) {
  std::array<std::string_view, 6> fields{};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::size_t semi = body.find(';');
    if (i + 1 < fields.size()) {
      if (semi == std::string_view::npos) return bad(sddl, fmt::format("ACE ({}) is short", body));
      fields[i] = body.substr(0, semi);
      body.remove_prefix(semi + 1);
    } else {
      fields[i] = body.substr(0, semi);  // a resource attribute may follow; it grants nothing
    }
  }
  SddlAce ace;
  // XA/XD are conditional (callback) ACEs: they may apply, so count them like A/D.
  if (fields[0] == "A" || fields[0] == "XA") {
    ace.kind = SddlAce::Kind::kAllow;
  } else if (fields[0] == "D" || fields[0] == "XD") {
    ace.kind = SddlAce::Kind::kDeny;
  } else {
    return bad(sddl, fmt::format("ACE type \"{}\" is not one a file's DACL holds", fields[0]));
  }
  std::string_view flags = fields[1];
  if (flags.size() % 2 != 0) return bad(sddl, fmt::format("ACE flags \"{}\"", fields[1]));
  for (std::size_t i = 0; i < flags.size(); i += 2) {
    const std::string_view flag = flags.substr(i, 2);
    if (flag == "IO") {
      ace.inherit_only = true;
    } else if (flag != "OI" && flag != "CI" && flag != "NP" && flag != "ID" && flag != "SA" &&
               flag != "FA") {
      return bad(sddl, fmt::format("ACE flag \"{}\"", flag));
    }
  }
  const auto rights = parse_rights(fields[2]);
  if (!rights) return bad(sddl, fmt::format("access rights \"{}\"", fields[2]));
  ace.rights = *rights;
  if (!fields[3].empty() || !fields[4].empty()) {
    return bad(sddl, "object ACEs (with GUIDs) do not belong to a file");
  }
  std::string_view sid_text = fields[5];
  auto sid = take_sid(sid_text);
  if (!sid || !sid_text.empty()) return bad(sddl, fmt::format("SID \"{}\"", fields[5]));
  ace.sid = std::move(*sid);
  return ace;
}

}  // namespace

Result<SddlDescriptor> parse_sddl(std::string_view sddl) {
  SddlDescriptor out;
  std::string_view rest = sddl;
  while (!rest.empty()) {
    if (rest.size() < 2 || rest[1] != ':') return bad(sddl, "expected O:, G:, D: or S:");
    const char part = rest[0];
    rest.remove_prefix(2);
    if (part == 'O' || part == 'G') {
      auto sid = take_sid(rest);
      if (!sid) return bad(sddl, fmt::format("{}: is not followed by a SID", part));
      if (part == 'O') out.owner = std::move(*sid);
      continue;
    }
    if (part != 'D' && part != 'S') return bad(sddl, fmt::format("unknown part \"{}:\"", part));
    // Flags up to the first ACE, then ACEs up to the next part.
    const std::size_t first_ace = rest.find('(');
    const std::size_t next_part = rest.find(':');
    const std::size_t flags_end =
        std::min(first_ace, next_part == std::string_view::npos ? rest.size() : next_part - 1);
    std::string_view flags = rest.substr(0, std::min(flags_end, rest.size()));
    rest.remove_prefix(flags.size());
    bool null_dacl = false;
    bool is_protected = false;
    while (!flags.empty()) {
      if (flags.starts_with("NO_ACCESS_CONTROL")) {
        null_dacl = true;
        flags.remove_prefix(17);
      } else if (flags.starts_with("P")) {
        is_protected = true;
        flags.remove_prefix(1);
      } else if (flags.starts_with("AI") || flags.starts_with("AR")) {
        flags.remove_prefix(2);
      } else {
        return bad(sddl, fmt::format("ACL flags \"{}\"", flags));
      }
    }
    std::vector<SddlAce> aces;
    while (rest.starts_with("(")) {
      const std::size_t close = rest.find(')');
      if (close == std::string_view::npos) return bad(sddl, "an ACE has no closing \")\"");
      // The SACL (audit entries, integrity label) grants nothing: skipped unread.
      if (part == 'D') {
        auto ace = parse_ace(sddl, rest.substr(1, close - 1));
        if (!ace) return tl::unexpected(ace.error());
        aces.push_back(std::move(*ace));
      }
      rest.remove_prefix(close + 1);
    }
    if (part == 'D') {
      out.has_dacl = !null_dacl;
      out.protected_dacl = is_protected;
      out.dacl = std::move(aces);
    }
  }
  return out;
}

std::optional<std::string> admin_only_problem(std::string_view sddl, std::string_view what) {
  auto sd = parse_sddl(sddl);
  if (!sd) {
    return fmt::format("the {} has a security descriptor this program cannot judge ({})", what,
                       sd.error().context);
  }
  if (!sd->owner) return fmt::format("the {} has no owner", what);
  if (!trusted(*sd->owner)) {
    return fmt::format(
        "the {} is owned by {}, not by Administrators or SYSTEM, so a program without "
        "Administrator rights may have written it",
        what, display_sid(*sd->owner));
  }
  if (!sd->has_dacl) {
    return fmt::format("the {} has no access list (a NULL DACL): anyone may change it", what);
  }
  for (const auto& ace : sd->dacl) {
    // Deny entries only take rights away; inherit-only ones apply to children, which are
    // checked themselves.
    if (ace.kind != SddlAce::Kind::kAllow || ace.inherit_only || trusted(ace.sid)) continue;
    if ((ace.rights & kWriteRights) != 0) {
      return fmt::format("the {} lets {} change it (access mask 0x{:08x})", what,
                         display_sid(ace.sid), ace.rights);
    }
  }
  return std::nullopt;
}

}  // namespace lanparty::client_route::detail
