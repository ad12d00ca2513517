// SPDX-License-Identifier: MIT
// Where a Redis server is and how to talk to it: what `--directory redis://HOST:PORT/DB`
// names, plus the timeouts that keep a slow or absent server from hanging the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"

namespace lanparty::directory {

struct RedisEndpoint {
  // TCP: host name or address (IPv6 without brackets) and port. Unix: `unix_path` non-empty
  // (host and port are then unused).
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string unix_path;
  int db = 0;  // SELECT after connecting; 0..15 on a stock server
  // AUTH after connecting (the relay reads it from --directory-password-file); never logged.
  std::optional<std::string> password;
  // A connect that takes longer fails; so does a command whose reply takes longer. Either
  // way the call returns an error and the next one reconnects.
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
  // TLS over TCP (rediss://): the server's certificate must chain to `tls_ca_file` (PEM; empty
  // = the system's trust store) and name `tls_server_name` (empty = `host`, a DNS name or an
  // IP address).
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_server_name;

  // "redis://127.0.0.1:6379/0", "rediss://..." or "redis+unix:///run/redis.sock?db=0", for
  // logs (no password).
  [[nodiscard]] std::string describe() const;
};

// Parses `redis://HOST[:PORT][/DB]` (HOST may be `[v6addr]`; PORT defaults to 6379, DB to 0),
// the same with `rediss://` (TLS; the CA file is set by the caller) or
// `redis+unix://PATH[?db=DB]`. Credentials inside the URL are refused with a message that
// says what to use instead.
[[nodiscard]] Result<RedisEndpoint> parse_redis_url(std::string_view url);

}  // namespace lanparty::directory
