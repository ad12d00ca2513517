// SPDX-License-Identifier: MIT
// One synchronous hiredis connection (or, for rediss://, a RedisTlsConnection) with timeouts,
// reconnect on the next call after a failure, AUTH and SELECT, and Lua scripts run by SHA
// (reloaded after a server restart).
// Internal to libs/directory: hiredis never appears in a public header.
#pragma once

#include <hiredis.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/directory/redis_endpoint.hpp"

namespace lanparty::directory::detail {

struct ReplyFree {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// A Lua script; its SHA is learnt from SCRIPT LOAD per connection.
struct Script {
  std::string_view name;  // for error messages
  std::string_view text;
};

class RedisTlsConnection;

class RedisClient {
 public:
  explicit RedisClient(RedisEndpoint endpoint);
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;
  ~RedisClient();

  // Connects now (also done lazily by every call); an error says why, with the endpoint.
  [[nodiscard]] Status connect();

  // One command, arguments binary-safe. A server error reply is an error (with its text);
  // any other reply is returned. An I/O failure or timeout drops the connection: the next
  // call reconnects. A failure on a connection that had worked before (the server restarted
  // since) is retried once on a fresh connection, so one restart costs no call; timeouts are
  // not retried, so a call never waits more than connect + command timeout twice.
  [[nodiscard]] Result<Reply> command(std::span<const std::string_view> args,
                                      std::string_view what);

  // EVALSHA of `script` with `keys` and `args` (loading it first when this connection has
  // not, or the server answers NOSCRIPT after a restart).
  [[nodiscard]] Result<Reply> eval(const Script& script, std::span<const std::string> keys,
                                   std::span<const std::string> args, std::string_view what);

  [[nodiscard]] const RedisEndpoint& endpoint() const noexcept { return endpoint_; }
  [[nodiscard]] bool connected() const noexcept { return ctx_ != nullptr || tls_ != nullptr; }

 private:
  struct CtxFree {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
  };
  [[nodiscard]] Result<Reply> run_once(std::span<const std::string_view> args,
                                       std::string_view what, bool& retryable);
  [[nodiscard]] Result<std::string> load(const Script& script);
  [[nodiscard]] Status open_transport();
  void drop() noexcept;

  RedisEndpoint endpoint_;
  std::unique_ptr<redisContext, CtxFree> ctx_;
  std::unique_ptr<RedisTlsConnection> tls_;                // instead of ctx_ for rediss://
  bool used_ = false;                                      // a command has succeeded on ctx_
  std::vector<std::pair<const char*, std::string>> shas_;  // script text -> SHA, per connection
};

// Reply helpers: the text of a string/status reply, an integer reply.
[[nodiscard]] std::string_view text_of(const redisReply& r) noexcept;
[[nodiscard]] Result<long long> integer_of(const redisReply& r, std::string_view what);

}  // namespace lanparty::directory::detail
