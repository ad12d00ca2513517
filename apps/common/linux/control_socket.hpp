// SPDX-License-Identifier: MIT
// A running daemon's local control socket (a Unix stream socket, mode 0600, in its state or
// runtime directory): `lanparty-gateway ctl peers|kick|revoke` and `status` of the gateway,
// the Linux client and the relay talk to it. One request line in, the answer out, then the
// server closes. Only the daemon's own user (and root) can connect: the socket's mode is set
// before anyone can reach it (bound under umask 077).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "lanparty/base/result.hpp"
#include "lanparty/io/event_loop.hpp"

namespace lanparty::apps {

inline constexpr std::string_view kControlSocketName = "ctl.sock";

class ControlServer {
 public:
  // One accepted request. answer() sends the reply and closes; a handler may keep the
  // Request (it is movable) and answer later, e.g. when the relay has replied.
  class Request {
   public:
    Request(int fd, std::string line) : fd_(fd), line_(std::move(line)) {}
    Request(Request&& other) noexcept : fd_(other.fd_), line_(std::move(other.line_)) {
      other.fd_ = -1;
    }
    Request& operator=(Request&&) = delete;
    Request(const Request&) = delete;
    ~Request();
    [[nodiscard]] const std::string& line() const noexcept { return line_; }
    void answer(std::string_view text);

   private:
    int fd_;
    std::string line_;
  };
  using Handler = std::function<void(Request)>;

  // Binds `path` (a stale socket left by a killed daemon is replaced; a live one, or any
  // other file there, is refused) and serves requests on `loop`. A missing parent directory
  // (not its parents) is created, mode 0700.
  [[nodiscard]] static Result<std::unique_ptr<ControlServer>> open(
      io::EventLoop& loop, const std::filesystem::path& path, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  ControlServer(io::EventLoop& loop, int fd, std::filesystem::path path, Handler handler)
      : loop_(loop), fd_(fd), path_(std::move(path)), handler_(std::move(handler)) {}
  void on_accept();
  void on_client(int fd);

  io::EventLoop& loop_;
  int fd_;
  std::filesystem::path path_;
  Handler handler_;
  std::unordered_map<int, std::string> partial_;  // client fd -> bytes before the newline
};

// The `ctl`/`status` side: sends `line` to the daemon listening at `path` and returns its
// answer. Nobody listening there (no socket file, or a stale one) is a system error_code
// no_such_file_or_directory or connection_refused: see nobody_listening().
[[nodiscard]] Result<std::string> control_request(const std::filesystem::path& path,
                                                  const std::string& line,
                                                  std::chrono::seconds timeout);

// The error of control_request means that no daemon runs at that path.
[[nodiscard]] bool nobody_listening(const Error& error) noexcept;

}  // namespace lanparty::apps
