// SPDX-License-Identifier: MIT
// Helper of crash_test.cpp: claims rooms (or revokes invites) in a loop and writes one line
// per call to stdout only after the call returned, so every line is a promise of durability.
// Usage: lanparty_directory_crash_child DB claim|revoke FIRST
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "crash_protocol.hpp"
#include "lanparty/directory/sqlite_room_directory.hpp"

namespace {

using namespace lanparty::directory;
namespace crash = lanparty::directory::testing_support::crash;

// Unbuffered: a line sits in the pipe the moment write() returns, before the next call.
bool acknowledge(std::string_view word, std::uint64_t n) {
  std::string line = fmt::format("{} {}\n", word, n);
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t w = ::write(STDOUT_FILENO, rest.data(), rest.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    rest.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

int die(const std::string& what) {
  std::fprintf(stderr, "crash_child: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return die("usage: crash_child DB claim|revoke FIRST");
  const std::string_view mode = argv[2];
  const std::uint64_t first = std::strtoull(argv[3], nullptr, 10);

  auto opened = SqliteRoomDirectory::open(
      SqliteConfig{.path = argv[1], .limits = {.max_room_records = crash::kMaxRecords}});
  if (!opened) return die(opened.error().describe());
  RoomDirectory& dir = **opened;

  if (mode == "claim") {
    for (std::uint64_t n = first; n < first + crash::kMaxIterations; ++n) {
      auto claimed = dir.claim(crash::room(n), crash::owner(n), crash::kNow);
      if (!claimed) return die(claimed.error().describe());
      if (*claimed != ClaimOutcome::kClaimed) return die(std::string(to_string(*claimed)));
      if (!acknowledge("claimed", n)) return 0;  // the parent is gone
    }
    return 0;
  }
  if (mode == "revoke") {
    auto claimed = dir.claim(crash::kRevokeRoom, crash::owner(0), crash::kNow);
    if (!claimed) return die(claimed.error().describe());
    for (std::uint64_t n = first; n < first + crash::kMaxIterations; ++n) {
      if (lanparty::Status s =
              dir.revoke(crash::kRevokeRoom, crash::invite_id(n), crash::exp(n), crash::kNow);
          !s) {
        return die(s.error().describe());
      }
      if (!acknowledge("revoked", n)) return 0;
    }
    return 0;
  }
  return die("unknown mode");
}
