// SPDX-License-Identifier: MIT
// Durability under SIGKILL: a child process (crash_child.cpp) claims rooms or revokes
// invites and acknowledges each after the call returned; it is killed at a random point, and
// everything it acknowledged must be in the reopened file, which must pass integrity_check.
// (SIGKILL tests the process-crash half of durability; power loss is what synchronous=FULL
// is for, and cannot be simulated here.)
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "crash_protocol.hpp"
#include "lanparty/directory/sqlite_room_directory.hpp"
#include "raw_sqlite.hpp"
#include "temp_dir.hpp"

namespace lanparty::directory {
namespace {

namespace crash = testing_support::crash;

constexpr int kRounds = 5;
constexpr std::uint64_t kPerRound = 100'000;  // numbers of round r start at r * kPerRound

struct RoundResult {
  std::set<std::uint64_t> acknowledged;
  bool killed = false;  // false: the child ended on its own (a failure: see its stderr)
};

// Runs the child until it has acknowledged `kill_after` calls, waits a random few hundred
// microseconds more (so the kill lands anywhere in a call: bind, step, commit, fsync,
// checkpoint, or the write of the acknowledgement), SIGKILLs it, then reads every
// acknowledgement it managed to write.
RoundResult run_child(const std::filesystem::path& db, const char* mode, std::uint64_t first,
                      std::size_t kill_after, std::chrono::microseconds grace) {
  RoundResult result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return result;
  }
  const std::string first_text = std::to_string(first);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
    ::execl(LANPARTY_DIRECTORY_CRASH_CHILD, LANPARTY_DIRECTORY_CRASH_CHILD, db.c_str(), mode,
            first_text.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    ::close(fds[0]);
    return result;
  }

  std::string pending;
  char buf[4096];
  bool sent_kill = false;
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is dead (or done) and the pipe drained
    pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      std::istringstream line(pending.substr(0, nl));
      pending.erase(0, nl + 1);
      std::string word;
      std::uint64_t number = 0;
      line >> word >> number;
      result.acknowledged.insert(number);
    }
    if (!sent_kill && result.acknowledged.size() >= kill_after) {
      std::this_thread::sleep_for(grace);
      ::kill(pid, SIGKILL);
      sent_kill = true;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  EXPECT_TRUE(pending.empty()) << "a torn acknowledgement: " << pending;
  return result;
}

void expect_intact(const std::filesystem::path& db) {
  testing_support::RawDb raw(db);
  EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw.text("PRAGMA foreign_key_check"), "");
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const unsigned seed = std::random_device{}();
    rng_.seed(seed);
    RecordProperty("seed", static_cast<int>(seed));
    std::printf("crash test seed %u\n", seed);
  }
  std::size_t kill_after() { return std::uniform_int_distribution<std::size_t>(50, 300)(rng_); }
  std::chrono::microseconds grace() {
    return std::chrono::microseconds(std::uniform_int_distribution<int>(0, 500)(rng_));
  }
  [[nodiscard]] std::filesystem::path db() const {
    return tmp_.path() / std::string(kRoomsFileName);
  }

  testing_support::TempDir tmp_;
  std::mt19937 rng_;
};

TEST_F(CrashTest, AcknowledgedClaimsSurviveSigkill) {
  std::size_t total = 0;
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t first = static_cast<std::uint64_t>(round) * kPerRound;
    const std::size_t target = kill_after();
    SCOPED_TRACE("round " + std::to_string(round) + ", kill after " + std::to_string(target));
    const RoundResult r = run_child(db(), "claim", first, target, grace());
    ASSERT_TRUE(r.killed) << "the child ended by itself";
    ASSERT_GE(r.acknowledged.size(), target);
    total += r.acknowledged.size();

    expect_intact(db());
    auto dir = SqliteRoomDirectory::open(
        SqliteConfig{.path = db(), .limits = {.max_room_records = crash::kMaxRecords}});
    ASSERT_TRUE(dir) << dir.error().describe();
    for (const std::uint64_t n : r.acknowledged) {
      auto found = (*dir)->lookup(crash::room(n), crash::kNow);
      ASSERT_TRUE(found) << found.error().describe();
      ASSERT_TRUE(found->has_value()) << "acknowledged claim of " << crash::room(n) << " lost";
      EXPECT_EQ((*found)->owner_key, crash::owner(n));
    }
    // At most the one claim committed but killed before its acknowledgement is extra.
    const std::int64_t stored = testing_support::RawDb(db()).integer("SELECT count(*) FROM rooms");
    EXPECT_GE(static_cast<std::size_t>(stored), total);
    EXPECT_LE(static_cast<std::size_t>(stored), total + static_cast<std::size_t>(round) + 1);
  }
}

TEST_F(CrashTest, AcknowledgedRevocationsSurviveSigkill) {
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t first = static_cast<std::uint64_t>(round) * kPerRound;
    const std::size_t target = kill_after();
    SCOPED_TRACE("round " + std::to_string(round) + ", kill after " + std::to_string(target));
    const RoundResult r = run_child(db(), "revoke", first, target, grace());
    ASSERT_TRUE(r.killed) << "the child ended by itself";
    ASSERT_GE(r.acknowledged.size(), target);

    expect_intact(db());
    auto dir = SqliteRoomDirectory::open(
        SqliteConfig{.path = db(), .limits = {.max_room_records = crash::kMaxRecords}});
    ASSERT_TRUE(dir) << dir.error().describe();
    auto record = (*dir)->lookup(crash::kRevokeRoom, crash::kNow);
    ASSERT_TRUE(record && record->has_value());
    std::set<std::string> stored;
    for (const Revocation& rev : (*record)->revocations) stored.insert(rev.invite_id);
    for (const std::uint64_t n : r.acknowledged) {
      EXPECT_TRUE(stored.count(crash::invite_id(n)) == 1)
          << "acknowledged revocation " << crash::invite_id(n) << " lost";
      auto revoked = (*dir)->is_revoked(crash::kRevokeRoom, crash::invite_id(n), crash::kNow);
      ASSERT_TRUE(revoked) << revoked.error().describe();
      EXPECT_TRUE(*revoked);
    }
  }
}

}  // namespace
}  // namespace lanparty::directory
