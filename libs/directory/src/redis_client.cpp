// SPDX-License-Identifier: MIT
#include "redis_client.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <cerrno>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "redis_tls.hpp"

namespace lanparty::directory::detail {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{.tv_sec = static_cast<time_t>(ms.count() / 1000),
                 .tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

bool is_error(const redisReply& r) noexcept { return r.type == REDIS_REPLY_ERROR; }

// hiredis writes with write(2), so a server that went away raises SIGPIPE, whose default
// action kills the process. A library must not change the process's signal handling: this
// blocks SIGPIPE on the calling thread for one command (a write's SIGPIPE goes to the thread
// that wrote) and consumes one raised meanwhile, as the write itself reports EPIPE anyway.
class SigpipeShield {
 public:
  SigpipeShield() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  SigpipeShield(const SigpipeShield&) = delete;
  SigpipeShield& operator=(const SigpipeShield&) = delete;
  ~SigpipeShield() {
    if (!was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

}  // namespace

std::string_view text_of(const redisReply& r) noexcept {
  if (r.str == nullptr) return {};
  return {r.str, r.len};
}

Result<long long> integer_of(const redisReply& r, std::string_view what) {
  if (r.type != REDIS_REPLY_INTEGER) {
    return fail(Errc::kParseError, fmt::format("redis {}: expected an integer reply", what));
  }
  return r.integer;
}

RedisClient::RedisClient(RedisEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
RedisClient::~RedisClient() = default;

void RedisClient::drop() noexcept {
  ctx_.reset();
  tls_.reset();
}

Status RedisClient::open_transport() {
  if (endpoint_.tls) {
    auto tls = RedisTlsConnection::connect(endpoint_);
    if (!tls) return fail(tls.error().code, tls.error().context);
    tls_ = std::move(*tls);
    return ok();
  }
  const timeval connect_tv = to_timeval(endpoint_.connect_timeout);
  redisContext* raw =
      endpoint_.unix_path.empty()
          ? redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, connect_tv)
          : redisConnectUnixWithTimeout(endpoint_.unix_path.c_str(), connect_tv);
  std::unique_ptr<redisContext, CtxFree> ctx(raw);
  if (!ctx) {
    return fail(std::make_error_code(std::errc::not_enough_memory),
                fmt::format("connecting to {}: out of memory", endpoint_.describe()));
  }
  if (ctx->err != 0) {
    const bool timed_out =
        ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EINPROGRESS || errno == ETIMEDOUT);
    return fail(timed_out ? make_error_code(Errc::kTimedOut)
                          : std::make_error_code(std::errc::connection_refused),
                fmt::format("connecting to Redis at {}: {} (is redis-server running and "
                            "reachable?)",
                            endpoint_.describe(), ctx->errstr));
  }
  if (redisSetTimeout(ctx.get(), to_timeval(endpoint_.command_timeout)) != REDIS_OK) {
    return fail(
        std::make_error_code(std::errc::io_error),
        fmt::format("setting the command timeout on {}: {}", endpoint_.describe(), ctx->errstr));
  }
  ctx_ = std::move(ctx);
  return ok();
}

Status RedisClient::connect() {
  if (connected()) return ok();
  if (Status s = open_transport(); !s) return s;
  used_ = false;
  shas_.clear();
  // AUTH and SELECT before anything else; a failure leaves no half-set-up connection.
  auto setup = [&](std::span<const std::string_view> args, std::string_view what) -> Status {
    bool retryable = false;
    auto r = run_once(args, what, retryable);
    if (!r) {
      drop();
      return fail(r.error().code, r.error().context);
    }
    return ok();
  };
  if (endpoint_.password) {
    const std::string_view args[] = {"AUTH", *endpoint_.password};
    if (Status s = setup(args, "AUTH (check --directory-password-file)"); !s) return s;
  }
  if (endpoint_.db != 0) {
    const std::string db = std::to_string(endpoint_.db);
    const std::string_view args[] = {"SELECT", db};
    if (Status s = setup(args, "SELECT"); !s) return s;
  }
  return ok();
}

Result<Reply> RedisClient::run_once(std::span<const std::string_view> args, std::string_view what,
                                    bool& retryable) {
  retryable = false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (tls_) {
    auto reply = tls_->command(args, endpoint_.command_timeout);
    if (!reply) {
      // As below: worth one retry on a new connection unless it timed out.
      retryable = used_ && reply.error().code != make_error_code(Errc::kTimedOut);
      drop();
      return fail(reply.error().code, fmt::format("redis {} at {}: {}", what, endpoint_.describe(),
                                                  reply.error().context));
    }
    used_ = true;
    if (is_error(**reply)) {
      return fail(std::make_error_code(std::errc::io_error),
                  fmt::format("redis {} at {}: {}", what, endpoint_.describe(), text_of(**reply)));
    }
    return std::move(*reply);
  }
  const SigpipeShield shield;
  errno = 0;
  Reply reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (!reply) {
    const int err = errno;
    const bool timed_out = ctx_->err == REDIS_ERR_IO && (err == EAGAIN || err == EWOULDBLOCK);
    std::string detail = ctx_->errstr;
    // A failure on a connection that had served commands before is most likely a server
    // that restarted meanwhile: worth one retry on a new connection.
    retryable = used_ && !timed_out;
    ctx_.reset();
    if (timed_out) {
      return fail(Errc::kTimedOut,
                  fmt::format("redis {} at {}: no reply within {} ms", what, endpoint_.describe(),
                              endpoint_.command_timeout.count()));
    }
    return fail(std::make_error_code(std::errc::io_error),
                fmt::format("redis {} at {}: {}", what, endpoint_.describe(),
                            detail.empty() ? "connection lost" : detail));
  }
  used_ = true;
  if (is_error(*reply)) {
    return fail(std::make_error_code(std::errc::io_error),
                fmt::format("redis {} at {}: {}", what, endpoint_.describe(), text_of(*reply)));
  }
  return reply;
}

Result<Reply> RedisClient::command(std::span<const std::string_view> args, std::string_view what) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (Status s = connect(); !s) return fail(s.error().code, s.error().context);
    bool retryable = false;
    auto r = run_once(args, what, retryable);
    if (r || !retryable) return r;
  }
  return fail(std::make_error_code(std::errc::io_error),
              fmt::format("redis {} at {}: connection lost twice", what, endpoint_.describe()));
}

Result<std::string> RedisClient::load(const Script& script) {
  for (const auto& [text, sha] : shas_) {
    if (text == script.text.data()) return sha;
  }
  const std::string_view args[] = {"SCRIPT", "LOAD", script.text};
  auto r = command(args, fmt::format("SCRIPT LOAD {}", script.name));
  if (!r) return fail(r.error().code, r.error().context);
  if ((*r)->type != REDIS_REPLY_STRING) {
    return fail(Errc::kParseError, fmt::format("redis SCRIPT LOAD {}: no SHA", script.name));
  }
  shas_.emplace_back(script.text.data(), std::string(text_of(**r)));
  return shas_.back().second;
}

Result<Reply> RedisClient::eval(const Script& script, std::span<const std::string> keys,
                                std::span<const std::string> args, std::string_view what) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto sha = load(script);
    if (!sha) return fail(sha.error().code, sha.error().context);
    const std::string nkeys = std::to_string(keys.size());
    std::vector<std::string_view> argv{"EVALSHA", *sha, nkeys};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    // A reconnect inside command() empties shas_: the script may be unknown on the new
    // connection's server, which answers NOSCRIPT; load it and run again.
    auto r = command(argv, what);
    if (r || r.error().context.find("NOSCRIPT") == std::string::npos) return r;
    shas_.clear();
  }
  return fail(std::make_error_code(std::errc::io_error),
              fmt::format("redis {} at {}: script {} kept being unknown (NOSCRIPT)", what,
                          endpoint_.describe(), script.name));
}

}  // namespace lanparty::directory::detail
