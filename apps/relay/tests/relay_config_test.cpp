// SPDX-License-Identifier: MIT
// The real lanparty-relay binary with a config file (--config, --print-config), as its
// systemd unit starts it (packaging/systemd/lanparty-relay.service), and talking sd_notify to
// a socket standing in for systemd.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "relay_harness.hpp"

namespace lanparty::relay::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// The relay as a child process, in its own working directory and environment.
class Child : public apps::testing::ChildProcess {
 public:
  Child(const std::vector<std::string>& args, const std::filesystem::path& cwd,
        const std::vector<std::string>& env)
      : ChildProcess(LANPARTY_RELAY_BINARY, args, {.cwd = cwd, .env = env}) {
    if (!started()) ADD_FAILURE() << "posix_spawn: " << std::strerror(spawn_error());
  }
  [[nodiscard]] bool wait_for_output(std::string_view text,
                                     std::chrono::milliseconds timeout = kWait) {
    return ChildProcess::wait_for_output(text, timeout);
  }
  [[nodiscard]] std::optional<int> wait_exit(std::chrono::milliseconds timeout = kWait) {
    return ChildProcess::wait_exit(timeout);
  }
};

// A private working directory, HOME and TMPDIR for each child, so that a test can also
// see what the relay wrote where it should not have.
struct Sandbox {
  TempDir dir;
  std::filesystem::path cwd = dir.path() / "cwd";
  std::filesystem::path home = dir.path() / "home";
  std::filesystem::path tmp = dir.path() / "tmp";
  Sandbox() {
    for (const auto& d : {cwd, home, tmp}) std::filesystem::create_directory(d);
  }
  [[nodiscard]] std::vector<std::string> env(std::vector<std::string> more = {}) const {
    std::vector<std::string> e{"PATH=/usr/bin:/bin", "HOME=" + home.string(),
                               "TMPDIR=" + tmp.string()};
    e.insert(e.end(), more.begin(), more.end());
    return e;
  }
  [[nodiscard]] std::filesystem::path write(const std::string& name,
                                            const std::string& text) const {
    const auto path = dir.path() / name;
    std::ofstream(path) << text;
    return path;
  }
};

// Files (not directories) under `root`, relative to it.
std::vector<std::string> files_under(const std::filesystem::path& root) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_directory()) {
      files.push_back(std::filesystem::relative(entry.path(), root).string());
    }
  }
  return files;
}

std::string print_config(const Sandbox& box, std::vector<std::string> args) {
  args.emplace_back("--print-config");
  Child relay(args, box.cwd, box.env());
  EXPECT_TRUE(relay.started());
  const auto code = relay.wait_exit();
  EXPECT_EQ(code, 0) << relay.output();
  return relay.output();
}

// --- config file ----------------------------------------------------------------------------

TEST(RelayConfig, FileValuesApplyAndFlagsOverrideThem) {
  Sandbox box;
  const auto config = box.write("relay.toml",
                                "# a comment\n"
                                "max-rooms = 100\n"
                                "max-peers-per-room = 7\n"
                                "rooms = \"open\"\n");
  const std::string printed =
      print_config(box, {"--config", config.string(), "--max-rooms", "200"});
  EXPECT_THAT(printed, HasSubstr("max-rooms=200"));         // the flag wins
  EXPECT_THAT(printed, HasSubstr("max-peers-per-room=7"));  // from the file
  EXPECT_THAT(printed, HasSubstr("rooms=\"open\""));
  EXPECT_THAT(printed, HasSubstr("max-mtu="));  // defaults are listed too
  EXPECT_THAT(printed, Not(HasSubstr("print-config")));
}

TEST(RelayConfig, PrintedConfigReadsBackAsAConfigFile) {
  Sandbox box;
  const std::string printed =
      print_config(box, {"--config", "", "--max-rooms", "300", "--rooms", "open"});
  const auto config = box.write("printed.toml", printed);
  EXPECT_EQ(print_config(box, {"--config", config.string()}), printed);
}

TEST(RelayConfig, TheRunningRelayUsesTheFileAndTheFlags) {
  Sandbox box;
  const auto config = box.write("relay.toml",
                                "listen = \"127.0.0.1:0\"\n"
                                "dev-cert-der-out = \"" +
                                    (box.dir.path() / "relay.der").string() +
                                    "\"\n"
                                    "rooms = \"open\"\n"
                                    "max-rooms = 100\n"
                                    "max-peers-per-room = 7\n");
  Child relay({"--config", config.string(), "--max-rooms", "200"}, box.cwd, box.env());
  ASSERT_TRUE(relay.started());
  ASSERT_TRUE(relay.wait_for_output("relay.listening")) << relay.output();
  ASSERT_TRUE(relay.wait_for_output("max_rooms_per_source")) << relay.output();
  EXPECT_THAT(relay.output(), HasSubstr("max_rooms=200"));
  EXPECT_THAT(relay.output(), HasSubstr("max_peers_per_room=7"));
  EXPECT_THAT(relay.output(), HasSubstr("rooms=open"));
  relay.send_signal(SIGTERM);
  EXPECT_EQ(relay.wait_exit(), 0) << relay.output();
}

TEST(RelayConfig, AnUnknownKeyIsAnErrorNamingFileLineAndKey) {
  Sandbox box;
  const auto config = box.write("relay.toml",
                                "max-rooms = 100\n"
                                "\n"
                                "max-romos = 5\n");
  Child relay({"--config", config.string(), "--print-config"}, box.cwd, box.env());
  ASSERT_TRUE(relay.started());
  const auto code = relay.wait_exit();
  ASSERT_TRUE(code) << relay.output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(relay.output(), HasSubstr(config.string() + ": line 3: unknown key 'max-romos'"));
}

TEST(RelayConfig, ABadValueInTheFileNamesTheKeyAndTheFile) {
  Sandbox box;
  const auto config = box.write("relay.toml", "max-mtu = 100\n");
  Child relay({"--config", config.string(), "--print-config"}, box.cwd, box.env());
  ASSERT_TRUE(relay.started());
  const auto code = relay.wait_exit();
  ASSERT_TRUE(code) << relay.output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(relay.output(), HasSubstr("--max-mtu"));
  EXPECT_THAT(relay.output(), HasSubstr(config.string()));
}

TEST(RelayConfig, AValueCheckedAfterParsingSaysWhatToChange) {
  Sandbox box;
  const auto config = box.write("relay.toml", "rooms = \"closed\"\n");
  Child relay(
      {"--config", config.string(), "--dev-cert-der-out", (box.dir.path() / "relay.der").string()},
      box.cwd, box.env());
  ASSERT_TRUE(relay.started());
  const auto code = relay.wait_exit();
  ASSERT_TRUE(code) << relay.output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(relay.output(), HasSubstr("--rooms closed: expected open"));
}

TEST(RelayConfig, AMissingConfigFileGivenByFlagIsAnError) {
  Sandbox box;
  const auto missing = box.dir.path() / "nonexistent.toml";
  Child relay({"--config", missing.string(), "--print-config"}, box.cwd, box.env());
  ASSERT_TRUE(relay.started());
  const auto code = relay.wait_exit();
  ASSERT_TRUE(code) << relay.output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(relay.output(), HasSubstr(missing.string()));
}

TEST(RelayConfig, TheShippedConfigFileParses) {
  Sandbox box;
  const std::string printed =
      print_config(box, {"--config", LANPARTY_SOURCE_DIR "/packaging/etc/relay.toml"});
  EXPECT_THAT(printed, HasSubstr("dev-cert-der-out=\"/var/lib/lanparty-relay/relay.der\""));
  EXPECT_THAT(printed, HasSubstr("listen=\"4433/udp\""));
}

// --- as the systemd unit runs it --------------------------------------------------------------

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string replace_all(std::string text, std::string_view from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The unit's ExecStart= words, with the installed paths moved into `box`: the binary under
// test, a copy of the shipped config file, and a fresh state directory.
std::vector<std::string> unit_args(const Sandbox& box, const std::filesystem::path& state) {
  const std::string unit =
      read_file(LANPARTY_SOURCE_DIR "/packaging/systemd/lanparty-relay.service");
  const auto at = unit.find("\nExecStart=");
  EXPECT_NE(at, std::string::npos);
  if (at == std::string::npos) return {};
  const auto begin = at + std::strlen("\nExecStart=");
  std::istringstream line(unit.substr(begin, unit.find('\n', begin) - begin));
  const auto config = box.write(
      "relay.toml", replace_all(read_file(LANPARTY_SOURCE_DIR "/packaging/etc/relay.toml"),
                                "/var/lib/lanparty-relay", state.string()));
  std::vector<std::string> args;
  std::string word;
  line >> word;
  EXPECT_EQ(word, "/usr/bin/lanparty-relay");
  while (line >> word) {
    if (word == "/etc/lanparty/relay.toml") {
      args.push_back(config.string());
    } else {
      args.push_back(replace_all(word, "/var/lib/lanparty-relay", state.string()));
    }
  }
  return args;
}

TEST(RelayUnit, WritesStateOnlyInTheStateDirectory) {
  Sandbox box;
  const auto state = box.dir.path() / "state";
  std::filesystem::create_directory(state);  // systemd's StateDirectory= makes it
  std::filesystem::permissions(state, std::filesystem::perms::owner_all);
  auto args = unit_args(box, state);
  ASSERT_FALSE(args.empty());
  args.insert(args.end(), {"--listen", "127.0.0.1:0"});  // the only change: no fixed port
  {
    Child relay(args, box.cwd, box.env());
    ASSERT_TRUE(relay.started());
    ASSERT_TRUE(relay.wait_for_output("relay.listening")) << relay.output();
    ASSERT_TRUE(relay.wait_for_output("lanparty-relay is up")) << relay.output();
    EXPECT_THAT(relay.output(), HasSubstr("rooms=claimed"));
    relay.send_signal(SIGTERM);
    EXPECT_EQ(relay.wait_exit(), 0) << relay.output();
  }
  EXPECT_THAT(files_under(state), ::testing::IsSupersetOf({"relay.der", "relay.key.pem",
                                                           "relay.pem", "rooms.sqlite3"}));
  EXPECT_TRUE(files_under(box.cwd).empty());
  EXPECT_TRUE(files_under(box.home).empty());
  EXPECT_TRUE(files_under(box.tmp).empty());
  // The key stays private even though the unit's UMask= is not applied here.
  EXPECT_EQ(std::filesystem::status(state / "relay.key.pem").permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

// --- sd_notify --------------------------------------------------------------------------------

// A datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ADD_FAILURE() << "cannot bind " << path;
    }
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // Every message until one contains `text`, or nullopt after `timeout`.
  [[nodiscard]] std::optional<std::string> wait_for(std::string_view text,
                                                    std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buffer[1024];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) continue;
      received_.append(buffer, static_cast<std::size_t>(n)).push_back('\n');
      if (received_.find(text) != std::string::npos) return received_;
    }
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::string received_;
};

TEST(RelayNotify, ReadyOnceListeningWatchdogWhileRunningStoppingOnShutdown) {
  Sandbox box;
  const auto socket_path = box.dir.path() / "notify";
  NotifySocket systemd(socket_path);
  Child relay({"--config", "", "--listen", "127.0.0.1:0", "--rooms", "open", "--dev-cert-der-out",
               (box.dir.path() / "relay.der").string()},
              box.cwd, box.env({"NOTIFY_SOCKET=" + socket_path.string(), "WATCHDOG_USEC=200000"}));
  ASSERT_TRUE(relay.started());
  const auto ready = systemd.wait_for("READY=1");
  ASSERT_TRUE(ready) << relay.output();
  // The relay logs relay.listening before it says READY=1, so the line is already in the pipe.
  EXPECT_TRUE(relay.wait_for_output("relay.listening", 100ms)) << relay.output();
  // A ping at once, then every half WATCHDOG_USEC (100 ms).
  const auto watchdog = systemd.wait_for("WATCHDOG=1\nWATCHDOG=1", 1000ms);
  EXPECT_TRUE(watchdog) << ready.value_or("");
  relay.send_signal(SIGTERM);
  EXPECT_TRUE(systemd.wait_for("STOPPING=1")) << relay.output();
  EXPECT_EQ(relay.wait_exit(), 0) << relay.output();
}

TEST(RelayNotify, WithoutNotifySocketTheRelayRunsAsBefore) {
  Sandbox box;
  Child relay({"--config", "", "--listen", "127.0.0.1:0", "--rooms", "open", "--dev-cert-der-out",
               (box.dir.path() / "relay.der").string()},
              box.cwd, box.env({"WATCHDOG_USEC=200000"}));
  ASSERT_TRUE(relay.started());
  ASSERT_TRUE(relay.wait_for_output("relay.listening")) << relay.output();
  relay.send_signal(SIGTERM);
  EXPECT_EQ(relay.wait_exit(), 0) << relay.output();
}

}  // namespace
}  // namespace lanparty::relay::testing
