// SPDX-License-Identifier: MIT
// rediss://: one TLS connection to a Redis server, for Debian 12's hiredis 0.14, which has no
// TLS. GnuTLS carries the bytes (the server's certificate checked against a CA file and its
// name); hiredis still formats each command and parses each reply (redisReader), so replies
// are the same redisReply objects as on a plain connection. Internal to libs/directory.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/directory/redis_endpoint.hpp"
#include "redis_client.hpp"

namespace lanparty::directory::detail {

class RedisTlsConnection {
 public:
  // TCP connect and TLS handshake, within the endpoint's connect timeout. Errors: kTimedOut,
  // connection_refused (TCP), kTlsError (handshake, certificate: the context says why),
  // kInvalidArgument (an unreadable CA file).
  [[nodiscard]] static Result<std::unique_ptr<RedisTlsConnection>> connect(
      const RedisEndpoint& endpoint);
  ~RedisTlsConnection();
  RedisTlsConnection(const RedisTlsConnection&) = delete;
  RedisTlsConnection& operator=(const RedisTlsConnection&) = delete;

  // Sends one command and reads its one reply (server error replies included) within
  // `timeout`. Errors: kTimedOut, or io_error (connection lost, TLS failure, a reply that does
  // not parse); after an error the connection is unusable.
  [[nodiscard]] Result<Reply> command(std::span<const std::string_view> args,
                                      std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit RedisTlsConnection(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lanparty::directory::detail
