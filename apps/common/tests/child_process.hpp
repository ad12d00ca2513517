// SPDX-License-Identifier: MIT
// A binary under test: started with its own arguments, working directory and a bare
// environment (nothing inherited, as under systemd), stdout and stderr read together,
// signalled, waited for.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lanparty::apps::testing {

struct SpawnOptions {
  std::filesystem::path cwd;                           // empty: the test's own
  std::vector<std::string> env{"PATH=/usr/bin:/bin"};  // the whole environment
};

class ChildProcess {
 public:
  ChildProcess(const std::string& binary, const std::vector<std::string>& args,
               const SpawnOptions& options = {}) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
    out_fd_ = fds[0];
    std::vector<std::string> argv_text{binary};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_text = options.env;
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
    spawn_error_ = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    if (spawn_error_ != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
  }
  ~ChildProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] bool started() const noexcept { return pid_ > 0; }
  [[nodiscard]] int spawn_error() const noexcept { return spawn_error_; }  // an errno value
  [[nodiscard]] const std::string& output() const noexcept { return output_; }
  void send_signal(int signal) const { ::kill(pid_, signal); }

  // Reads output until it contains `text` after byte `from`; false at the timeout or EOF.
  [[nodiscard]] bool wait_for_output(std::string_view text, std::chrono::milliseconds timeout,
                                     std::size_t from = 0) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find(text, from) == std::string::npos) {
      if (!read_until(deadline)) return false;
    }
    return true;
  }

  // The exit code once the child exits by itself; nullopt on timeout or death by a signal.
  [[nodiscard]] std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_until(deadline)) {
    }
    for (;;) {
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
        exited_ = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!WIFEXITED(status_)) return std::nullopt;
    return WEXITSTATUS(status_);
  }

 private:
  bool read_until(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_fd_ < 0) return false;
    pollfd pfd{.fd = out_fd_, .events = POLLIN, .revents = 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::read(out_fd_, buffer, sizeof(buffer));
    if (n <= 0) return false;
    output_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int spawn_error_ = 0;
  int out_fd_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string output_;
};

}  // namespace lanparty::apps::testing
