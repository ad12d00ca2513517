// SPDX-License-Identifier: MIT
#include "redis_tls.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::directory::detail {
namespace {

using Clock = std::chrono::steady_clock;

struct ReaderFree {
  void operator()(redisReader* r) const noexcept { redisReaderFree(r); }
};
struct CredentialsFree {
  void operator()(gnutls_certificate_credentials_st* c) const noexcept {
    gnutls_certificate_free_credentials(c);
  }
};
struct SessionFree {
  void operator()(gnutls_session_int* s) const noexcept { gnutls_deinit(s); }
};

class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is readable (or writable) or `deadline` passes: 1 ready, 0 timed out,
// -1 error (errno).
int wait_for(int fd, bool writable, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return 0;
    pollfd p{.fd = fd, .events = static_cast<short>(writable ? POLLOUT : POLLIN), .revents = 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

// The socket's own send with MSG_NOSIGNAL: a server that went away must not raise SIGPIPE,
// whose default action would end the relay (the library never touches signal handling).
ssize_t push_no_sigpipe(gnutls_transport_ptr_t transport, const void* data, size_t size) {
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(transport));
  return ::send(fd, data, size, MSG_NOSIGNAL);
}

bool is_ip_literal(const std::string& host) {
  std::array<unsigned char, 16> buf{};
  return ::inet_pton(AF_INET, host.c_str(), buf.data()) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

// A non-blocking TCP socket connected to host:port, trying each address in turn.
Result<int> tcp_connect(const RedisEndpoint& e, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(e.port);
  if (const int rc = ::getaddrinfo(e.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return fail(std::make_error_code(std::errc::host_unreachable),
                fmt::format("connecting to Redis at {}: {}", e.describe(), ::gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(found, ::freeaddrinfo);
  std::string last_error = "no address";
  bool timed_out = false;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno == EINPROGRESS) {
      const int ready = wait_for(fd, /*writable=*/true, deadline);
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      if (ready > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 &&
          so_error == 0) {
        return fd;
      }
      timed_out = ready == 0;
      last_error = ready == 0 ? "timed out" : std::strerror(ready < 0 ? errno : so_error);
    } else {
      last_error = std::strerror(errno);
    }
    ::close(fd);
  }
  return fail(timed_out ? make_error_code(Errc::kTimedOut)
                        : std::make_error_code(std::errc::connection_refused),
              fmt::format("connecting to Redis at {}: {} (is redis-server running and "
                          "reachable?)",
                          e.describe(), last_error));
}

}  // namespace

struct RedisTlsConnection::Impl {
  std::unique_ptr<Fd> fd;
  std::unique_ptr<gnutls_certificate_credentials_st, CredentialsFree> credentials;
  std::unique_ptr<gnutls_session_int, SessionFree> session;
  std::unique_ptr<redisReader, ReaderFree> reader;
};

RedisTlsConnection::RedisTlsConnection(std::unique_ptr<Impl> impl) noexcept
    : impl_(std::move(impl)) {}
RedisTlsConnection::~RedisTlsConnection() = default;

Result<std::unique_ptr<RedisTlsConnection>> RedisTlsConnection::connect(
    const RedisEndpoint& endpoint) {
  const auto deadline = Clock::now() + endpoint.connect_timeout;
  const std::string where = endpoint.describe();
  auto impl = std::make_unique<Impl>();
  const auto tls_error = [&](std::string_view what, int rc) {
    return fail(Errc::kTlsError,
                fmt::format("TLS to Redis at {}: {}: {}", where, what, gnutls_strerror(rc)));
  };

  gnutls_certificate_credentials_t credentials = nullptr;
  if (const int rc = gnutls_certificate_allocate_credentials(&credentials); rc < 0) {
    return tls_error("credentials", rc);
  }
  impl->credentials.reset(credentials);
  if (!endpoint.tls_ca_file.empty()) {
    const int n = gnutls_certificate_set_x509_trust_file(credentials, endpoint.tls_ca_file.c_str(),
                                                         GNUTLS_X509_FMT_PEM);
    if (n <= 0) {
      return fail(
          Errc::kInvalidArgument,
          fmt::format("TLS to Redis at {}: the CA file {} holds no PEM certificate{}", where,
                      endpoint.tls_ca_file, n < 0 ? fmt::format(" ({})", gnutls_strerror(n)) : ""));
    }
  } else if (const int n = gnutls_certificate_set_x509_system_trust(credentials); n <= 0) {
    return fail(Errc::kInvalidArgument,
                fmt::format("TLS to Redis at {}: no CA file given and the system's trust store "
                            "is empty; give --directory-ca-file",
                            where));
  }

  auto fd = tcp_connect(endpoint, deadline);
  if (!fd) return fail(fd.error().code, fd.error().context);
  impl->fd = std::make_unique<Fd>(*fd);

  gnutls_session_t session = nullptr;
  if (const int rc = gnutls_init(&session, GNUTLS_CLIENT | GNUTLS_NONBLOCK); rc < 0) {
    return tls_error("session", rc);
  }
  impl->session.reset(session);
  if (const int rc = gnutls_set_default_priority(session); rc < 0) return tls_error("priority", rc);
  if (const int rc = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, credentials); rc < 0) {
    return tls_error("credentials", rc);
  }
  const std::string& name =
      endpoint.tls_server_name.empty() ? endpoint.host : endpoint.tls_server_name;
  if (!is_ip_literal(name)) {  // SNI carries DNS names only (RFC 6066 section 3)
    if (const int rc = gnutls_server_name_set(session, GNUTLS_NAME_DNS, name.data(), name.size());
        rc < 0) {
      return tls_error("server name", rc);
    }
  }
  // Chain to the trusted CA and the name (DNS or IP subjectAltName) checked in the handshake.
  gnutls_session_set_verify_cert(session, name.c_str(), 0);
  gnutls_transport_set_int(session, impl->fd->get());
  gnutls_transport_set_push_function(session, push_no_sigpipe);

  for (;;) {
    const int rc = gnutls_handshake(session);
    if (rc == GNUTLS_E_SUCCESS) break;
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
      const int ready =
          wait_for(impl->fd->get(), gnutls_record_get_direction(session) == 1, deadline);
      if (ready > 0) continue;
      return fail(Errc::kTimedOut,
                  fmt::format("TLS to Redis at {}: no handshake within {} ms (is the port a "
                              "TLS port, --tls-port?)",
                              where, endpoint.connect_timeout.count()));
    }
    if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
      gnutls_datum_t text{};
      const unsigned status = gnutls_session_get_verify_cert_status(session);
      std::string why = "rejected";
      if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
        why.assign(reinterpret_cast<const char*>(text.data), text.size);
        gnutls_free(text.data);
      }
      return fail(Errc::kTlsError,
                  fmt::format("TLS to Redis at {}: the server's certificate does not verify "
                              "against {} for the name {}: {}",
                              where,
                              endpoint.tls_ca_file.empty() ? std::string("the system's CAs")
                                                           : endpoint.tls_ca_file,
                              name, why));
    }
    if (gnutls_error_is_fatal(rc) != 0) return tls_error("handshake", rc);
  }
  impl->reader.reset(redisReaderCreate());
  if (!impl->reader) {
    return fail(std::make_error_code(std::errc::not_enough_memory), "redis reply reader");
  }
  return std::unique_ptr<RedisTlsConnection>(new RedisTlsConnection(std::move(impl)));
}

Result<Reply> RedisTlsConnection::command(std::span<const std::string_view> args,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  gnutls_session_t session = impl_->session.get();
  const int fd = impl_->fd->get();
  const auto timed_out = [&] {
    return fail(Errc::kTimedOut, fmt::format("no reply within {} ms", timeout.count()));
  };
  const auto lost = [](std::string_view why) {
    return fail(std::make_error_code(std::errc::io_error), std::string(why));
  };

  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* raw = nullptr;
  const int length =
      redisFormatCommandArgv(&raw, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (length < 0 || raw == nullptr) {
    return fail(std::make_error_code(std::errc::not_enough_memory), "formatting a command");
  }
  const std::unique_ptr<char, void (*)(char*)> formatted(raw, redisFreeCommand);

  std::size_t sent = 0;
  while (sent < static_cast<std::size_t>(length)) {
    const ssize_t n = gnutls_record_send(session, formatted.get() + sent,
                                         static_cast<std::size_t>(length) - sent);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
      if (wait_for(fd, /*writable=*/true, deadline) <= 0) return timed_out();
    } else {
      return lost(fmt::format("sending: {}", gnutls_strerror(static_cast<int>(n))));
    }
  }

  std::array<char, 16384> buf{};
  for (;;) {
    void* parsed = nullptr;
    if (redisReaderGetReply(impl_->reader.get(), &parsed) != REDIS_OK) {
      return lost(fmt::format("a reply that does not parse: {}", impl_->reader->errstr));
    }
    if (parsed != nullptr) return Reply(static_cast<redisReply*>(parsed));
    const ssize_t n = gnutls_record_recv(session, buf.data(), buf.size());
    if (n > 0) {
      if (redisReaderFeed(impl_->reader.get(), buf.data(), static_cast<std::size_t>(n)) !=
          REDIS_OK) {
        return lost("the reply reader refused the bytes");
      }
    } else if (n == 0) {
      return lost("the server closed the connection");
    } else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
      if (wait_for(fd, /*writable=*/false, deadline) <= 0) return timed_out();
    } else {
      return lost(fmt::format("receiving: {}", gnutls_strerror(static_cast<int>(n))));
    }
  }
}

}  // namespace lanparty::directory::detail
