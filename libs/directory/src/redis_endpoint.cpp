// SPDX-License-Identifier: MIT
#include "lanparty/directory/redis_endpoint.hpp"

#include <charconv>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::directory {
namespace {

template <class Int>
bool parse_int(std::string_view text, Int& out) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

auto bad(std::string_view url, std::string_view why) {
  return fail(
      Errc::kInvalidArgument,
      fmt::format("directory URL '{}': {}; expected redis://HOST:PORT/DB (rediss:// for TLS), e.g. "
                  "redis://127.0.0.1:6379/0",
                  url, why));
}

Result<int> parse_db(std::string_view url, std::string_view text) {
  int db = 0;
  if (!parse_int(text, db) || db < 0 || db > 65535) {
    return bad(url, fmt::format("database '{}' is not a number from 0", text));
  }
  return db;
}

}  // namespace

std::string RedisEndpoint::describe() const {
  if (!unix_path.empty()) return fmt::format("redis+unix://{}?db={}", unix_path, db);
  const std::string_view scheme = tls ? "rediss" : "redis";
  if (host.find(':') != std::string::npos) {
    return fmt::format("{}://[{}]:{}/{}", scheme, host, port, db);
  }
  return fmt::format("{}://{}:{}/{}", scheme, host, port, db);
}

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  constexpr std::string_view kTcp = "redis://";
  constexpr std::string_view kTls = "rediss://";
  constexpr std::string_view kUnix = "redis+unix://";
  RedisEndpoint endpoint;
  if (url.starts_with(kUnix)) {
    std::string_view rest = url.substr(kUnix.size());
    const auto query = rest.find('?');
    if (query != std::string_view::npos) {
      const std::string_view q = rest.substr(query + 1);
      if (!q.starts_with("db=")) return bad(url, "the only query parameter is db=N");
      auto db = parse_db(url, q.substr(3));
      if (!db) return fail(db.error().code, db.error().context);
      endpoint.db = *db;
      rest = rest.substr(0, query);
    }
    if (!rest.starts_with('/')) return bad(url, "a unix socket path must be absolute");
    endpoint.unix_path = std::string(rest);
    return endpoint;
  }
  endpoint.tls = url.starts_with(kTls);
  if (!endpoint.tls && !url.starts_with(kTcp)) return bad(url, "unknown scheme");
  std::string_view rest = url.substr(endpoint.tls ? kTls.size() : kTcp.size());
  if (rest.find('@') != std::string_view::npos) {
    return bad(url,
               "a password in the URL would show in `ps` and logs; put it in "
               "--directory-password-file instead");
  }
  std::string_view authority = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    const std::string_view db_text = rest.substr(slash + 1);
    if (!db_text.empty()) {
      auto db = parse_db(url, db_text);
      if (!db) return fail(db.error().code, db.error().context);
      endpoint.db = *db;
    }
  }
  std::string_view host = authority;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad(url, "unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return bad(url, "junk after ']'");
      port_text = after.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (host.empty()) return bad(url, "no host");
  endpoint.host = std::string(host);
  if (!port_text.empty()) {
    std::uint16_t port = 0;
    if (!parse_int(port_text, port) || port == 0) {
      return bad(url, fmt::format("port '{}' is not a number from 1 to 65535", port_text));
    }
    endpoint.port = port;
  }
  return endpoint;
}

}  // namespace lanparty::directory
