// SPDX-License-Identifier: MIT
#include "control_socket.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::apps {
namespace {

constexpr std::size_t kMaxRequestBytes = 512;

Result<sockaddr_un> unix_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& p = path.native();
  if (p.size() >= sizeof(addr.sun_path)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("control socket path {} is too long ({} bytes at most); choose a "
                            "shorter one",
                            p, sizeof(addr.sun_path) - 1));
  }
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  return addr;
}

}  // namespace

ControlServer::Request::~Request() {
  if (fd_ >= 0) answer("error: no answer\n");
}

void ControlServer::Request::answer(std::string_view text) {
  if (fd_ < 0) return;
  // Answers are a few lines; the socket buffer takes them without blocking.
  (void)::send(fd_, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::close(fd_);
  fd_ = -1;
}

Result<std::unique_ptr<ControlServer>> ControlServer::open(io::EventLoop& loop,
                                                           const std::filesystem::path& path,
                                                           Handler handler) {
  auto addr = unix_address(path);
  if (!addr) return tl::unexpected(addr.error());
  // A runtime directory systemd did not make (a run by hand): only its owner may enter.
  if (const auto parent = path.parent_path();
      !parent.empty() && ::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail_errno(errno, fmt::format("create the directory of {}", path.string()));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("{} exists and is not a socket; remove it", path.string()));
    }
    // A live daemon would answer; a stale socket from a killed one refuses the connection.
    if (control_request(path, "ping", std::chrono::seconds(1))) {
      return fail(
          Errc::kInvalidArgument,
          fmt::format("another process is running with the control socket {}", path.string()));
    }
    ::unlink(path.c_str());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "control socket");
  const mode_t old_mask = ::umask(077);
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0 || ::listen(fd, 8) != 0) {
    const int err = bound != 0 ? bind_errno : errno;
    ::close(fd);
    return fail_errno(err, fmt::format("bind control socket {}", path.string()));
  }
  std::unique_ptr<ControlServer> server(new ControlServer(loop, fd, path, std::move(handler)));
  auto added = loop.add_fd(fd, EPOLLIN, [s = server.get()](std::uint32_t) { s->on_accept(); });
  if (!added) return tl::unexpected(added.error());
  return server;
}

ControlServer::~ControlServer() {
  for (const auto& [client, _] : partial_) {
    loop_.remove_fd(client);
    ::close(client);
  }
  loop_.remove_fd(fd_);
  ::close(fd_);
  ::unlink(path_.c_str());
}

void ControlServer::on_accept() {
  for (;;) {
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;
    if (!loop_.add_fd(client, EPOLLIN, [this, client](std::uint32_t) { on_client(client); })) {
      ::close(client);
      continue;
    }
    partial_[client];
  }
}

void ControlServer::on_client(int fd) {
  std::string& buf = partial_[fd];
  std::array<char, 256> chunk{};
  bool closed = false;
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n > 0) {
      buf.append(chunk.data(), static_cast<std::size_t>(n));
      continue;
    }
    closed = n == 0 || (errno != EAGAIN && errno != EINTR);
    break;
  }
  const auto newline = buf.find('\n');
  if (newline == std::string::npos && !closed && buf.size() <= kMaxRequestBytes) return;
  std::string line = buf.substr(0, std::min(newline, buf.size()));
  partial_.erase(fd);
  loop_.remove_fd(fd);
  if (line.size() > kMaxRequestBytes) {
    Request(fd, "").answer("error: request too long\n");
    return;
  }
  handler_(Request(fd, std::move(line)));
}

Result<std::string> control_request(const std::filesystem::path& path, const std::string& line,
                                    std::chrono::seconds timeout) {
  auto addr = unix_address(path);
  if (!addr) return tl::unexpected(addr.error());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "control socket");
  timeval tv{.tv_sec = static_cast<time_t>(timeout.count()), .tv_usec = 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    const int err = errno;
    ::close(fd);
    return fail_errno(err, fmt::format("connect to {}", path.string()));
  }
  const std::string request = line + "\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    const int err = errno;
    ::close(fd);
    return fail_errno(err, fmt::format("send to {}", path.string()));
  }
  std::string answer;
  std::array<char, 1024> chunk{};
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n > 0) {
      answer.append(chunk.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    if (n < 0) return fail_errno(err, fmt::format("no answer from {}", path.string()));
    return answer;
  }
}

bool nobody_listening(const Error& error) noexcept {
  return error.code == std::errc::no_such_file_or_directory ||
         error.code == std::errc::connection_refused;
}

}  // namespace lanparty::apps
