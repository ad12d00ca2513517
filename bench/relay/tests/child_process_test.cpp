// SPDX-License-Identifier: MIT
// Child processes: pinning, CPU accounting from /proc, termination, and the relay start-up
// handshake against a stand-in script that prints the relay's banner.
#include "child_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "lanparty/base/errc.hpp"

namespace lanparty::bench {
namespace {

using namespace std::chrono_literals;

std::string read_all(int fd) {
  std::string text;
  char buffer[1024];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

class ScriptDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lanparty-bench-relay-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path script(const std::string& name, const std::string& body) {
    const auto path = dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
  }

  std::filesystem::path dir_;
};

TEST(ChildProcess, SpawnedChildIsPinnedToTheRequestedCpu) {
  if (!cpu_allowed(0)) GTEST_SKIP() << "CPU 0 is not in this process's affinity mask";
  auto child = ChildProcess::spawn(
      {.argv = {"/bin/cat", "/proc/self/status"}, .cpu = 0, .capture_stdout = true});
  ASSERT_TRUE(child) << child.error().describe();
  const std::string status = read_all(child->stdout_fd());
  EXPECT_NE(status.find("Cpus_allowed_list:\t0\n"), std::string::npos) << status;
  auto exit = child->wait_for(5s);
  ASSERT_TRUE(exit);
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0);
}

TEST(ChildProcess, CpuSecondsCountABusyChild) {
  auto child = ChildProcess::spawn({.argv = {"/bin/sh", "-c", "while :; do :; done"}});
  ASSERT_TRUE(child);
  const auto before = process_cpu_seconds(child->pid());
  ASSERT_TRUE(before);
  ::usleep(600'000);
  const auto after = process_cpu_seconds(child->pid());
  ASSERT_TRUE(after);
  // A spinning shell gets most of a core even on a loaded 2-core machine; 10 % is lenient.
  EXPECT_GE(*after - *before, 0.06);
  auto status = child->terminate(SIGTERM, 2s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGTERM);
}

TEST(ChildProcess, CpuSecondsOfAMissingProcessIsNotFound) {
  auto cpu = process_cpu_seconds(0x7ffffff0);
  ASSERT_FALSE(cpu);
  EXPECT_EQ(cpu.error().code, make_error_code(Errc::kNotFound));
}

TEST(ChildProcess, WaitTimesOutWhileTheChildRuns) {
  auto child = ChildProcess::spawn({.argv = {"/bin/sleep", "10"}});
  ASSERT_TRUE(child);
  auto status = child->wait_for(0ms);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, make_error_code(Errc::kTimedOut));
  EXPECT_TRUE(child->running());
}

TEST_F(ScriptDir, RelayStartReadsThePortFromTheBanner) {
  const auto relay = script("relay", R"(echo "warming up" >&2
printf '\nlanparty-relay is up on 127.0.0.1:4242.\n  Development certificate...\n' >&2
exec sleep 10)");
  auto started = RelayProcess::start({.binary = relay, .der_out = dir_ / "relay.der"});
  ASSERT_TRUE(started) << started.error().describe();
  EXPECT_EQ(started->port(), 4242);
  EXPECT_FALSE(started->exited());
  auto status = started->stop(2s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFSIGNALED(*status));
}

TEST_F(ScriptDir, RelayStartPassesTheBenchmarkFlags) {
  const auto args = dir_ / "args";
  const auto relay = script(
      "relay", "echo \"$@\" > " + args.string() + "\necho 'is up on 127.0.0.1:1.' >&2\nsleep 10");
  auto started = RelayProcess::start({.binary = relay, .der_out = dir_ / "relay.der"});
  ASSERT_TRUE(started) << started.error().describe();
  std::string line;
  std::getline(std::ifstream(args), line);
  EXPECT_EQ(line, "--listen 127.0.0.1:0 --dev-cert-der-out " + (dir_ / "relay.der").string() +
                      " --stats-interval 0 --log-level warn");
}

TEST_F(ScriptDir, RelayThatExitsBeforeListeningIsAnErrorWithItsOutput) {
  const auto relay = script("relay", "echo 'lanparty-relay: no certificate' >&2\nexit 2");
  auto started = RelayProcess::start({.binary = relay, .der_out = dir_ / "relay.der"});
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, make_error_code(Errc::kClosed));
  EXPECT_NE(started.error().context.find("exit 2"), std::string::npos);
  EXPECT_NE(started.error().context.find("no certificate"), std::string::npos);
}

TEST_F(ScriptDir, RelayWithoutBannerTimesOut) {
  const auto relay = script("relay", "exec sleep 10");
  auto started = RelayProcess::start(
      {.binary = relay, .der_out = dir_ / "relay.der", .startup_timeout = 200ms});
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, make_error_code(Errc::kTimedOut));
}

}  // namespace
}  // namespace lanparty::bench
