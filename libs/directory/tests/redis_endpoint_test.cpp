// SPDX-License-Identifier: MIT
// parse_redis_url: what `--directory redis://...` accepts and how it refuses the rest.
#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/directory/redis_endpoint.hpp"

namespace lanparty::directory {
namespace {

TEST(RedisUrl, HostPortAndDb) {
  auto e = parse_redis_url("redis://10.213.5.1:6380/3");
  ASSERT_TRUE(e) << e.error().describe();
  EXPECT_EQ(e->host, "10.213.5.1");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 3);
  EXPECT_TRUE(e->unix_path.empty());
  EXPECT_EQ(e->describe(), "redis://10.213.5.1:6380/3");
}

TEST(RedisUrl, DefaultsPortAndDb) {
  auto e = parse_redis_url("redis://redis.example");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "redis.example");
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->db, 0);
  auto slash = parse_redis_url("redis://h/");
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->db, 0);
}

TEST(RedisUrl, BracketedIpv6) {
  auto e = parse_redis_url("redis://[::1]:7000/1");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 7000);
  EXPECT_EQ(e->describe(), "redis://[::1]:7000/1");
}

TEST(RedisUrl, UnixSocket) {
  auto e = parse_redis_url("redis+unix:///run/redis/redis.sock?db=2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(e->db, 2);
}

TEST(RedisUrl, RedissIsTls) {
  auto e = parse_redis_url("rediss://redis.example:6380/2");
  ASSERT_TRUE(e) << e.error().describe();
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->host, "redis.example");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 2);
  EXPECT_EQ(e->describe(), "rediss://redis.example:6380/2");
  EXPECT_FALSE(parse_redis_url("redis://h")->tls);
}

TEST(RedisUrl, RefusesWhatItCannotHonour) {
  for (const char* url :
       {"rediss://u:pw@h:6379/0", "redis://user:pw@h:6379/0", "http://h:6379", "redis://:6379/0",
        "redis://h:0/0", "redis://h:70000/0", "redis://h:port/0", "redis://h:6379/x",
        "redis://h:6379/-1", "redis://[::1/0", "redis+unix://relative.sock",
        "redis+unix:///s.sock?x=1"}) {
    auto e = parse_redis_url(url);
    ASSERT_FALSE(e) << url;
    EXPECT_EQ(e.error().code, Errc::kInvalidArgument) << url;
    EXPECT_NE(e.error().context.find(url), std::string::npos) << e.error().context;
  }
  EXPECT_NE(parse_redis_url("redis://a:b@h").error().context.find("--directory-password-file"),
            std::string::npos);
}

}  // namespace
}  // namespace lanparty::directory
