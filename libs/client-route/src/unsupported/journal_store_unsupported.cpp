// SPDX-License-Identifier: MIT
// Non-Windows builds: the journal's Administrators-only directory is a Windows notion; say
// so instead of pretending (the Linux client changes no routes and keeps no journal).
#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/journal_store.hpp"

namespace lanparty::client_route {
namespace {

tl::unexpected<Error> unsupported(std::string_view what) {
  return fail(Errc::kUnsupportedPlatform,
              std::string(what) +
                  ": the Administrators-only route journal exists only on "
                  "Windows; this build is not for Windows");
}

}  // namespace

Result<std::filesystem::path> default_journal_dir() { return unsupported("default_journal_dir"); }

Status create_admin_only_dir(const std::filesystem::path& /*dir*/) {
  return unsupported("create_admin_only_dir");
}

Status check_admin_only(const std::filesystem::path& /*path*/, std::string_view /*what*/) {
  return unsupported("check_admin_only");
}

Result<std::string> read_security_sddl(const std::filesystem::path& /*path*/) {
  return unsupported("read_security_sddl");
}

Result<RouteJournal> open_admin_journal(const std::filesystem::path& /*dir*/,
                                        const obs::Logger& /*log*/) {
  return unsupported("open_admin_journal");
}

}  // namespace lanparty::client_route
