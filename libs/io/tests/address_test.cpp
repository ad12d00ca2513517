// SPDX-License-Identifier: MIT
// parse_listen_address forms, resolve_host_port, SocketAddress printing.
#include "lanparty/io/address.hpp"

#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::io {
namespace {

struct ListenCase {
  const char* text;
  AddressFamily family;
  std::uint16_t port;
  bool wildcard;
  const char* printed;
};

class ParseListenAddress : public ::testing::TestWithParam<ListenCase> {};

TEST_P(ParseListenAddress, AcceptsDocumentedForm) {
  const ListenCase& c = GetParam();
  auto address = parse_listen_address(c.text);
  ASSERT_TRUE(address.has_value()) << c.text << ": " << address.error().describe();
  EXPECT_EQ(address->family(), c.family);
  EXPECT_EQ(address->port(), c.port);
  EXPECT_EQ(address->is_wildcard(), c.wildcard);
  EXPECT_EQ(address->to_string(), c.printed);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, ParseListenAddress,
    ::testing::Values(ListenCase{"443/udp", AddressFamily::kIPv6, 443, true, "[::]:443"},
                      ListenCase{"0.0.0.0:4433", AddressFamily::kIPv4, 4433, true, "0.0.0.0:4433"},
                      ListenCase{"[::]:4433", AddressFamily::kIPv6, 4433, true, "[::]:4433"},
                      ListenCase{"127.0.0.1:0", AddressFamily::kIPv4, 0, false, "127.0.0.1:0"},
                      ListenCase{"[::1]:4433", AddressFamily::kIPv6, 4433, false, "[::1]:4433"}));

TEST(ParseListenAddress, RejectsMalformedText) {
  for (const char* text : {"", "443", "443/tcp", "/udp", "70000/udp", "127.0.0.1", "127.0.0.1:",
                           "127.0.0.1:65536", "::1:4433", "[::1]", "[::1]4433", "[127.0.0.1]:1",
                           "localhost:443", "1.2.3:4", "127.0.0.1:+1", "127.0.0.1:4433x"}) {
    auto address = parse_listen_address(text);
    ASSERT_FALSE(address.has_value()) << text;
    EXPECT_EQ(address.error().code, Errc::kParseError) << text;
  }
}

TEST(ResolveHostPort, NumericHostsNeedNoLookup) {
  auto v4 = resolve_host_port("192.0.2.7", 4433);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->to_string(), "192.0.2.7:4433");
  auto v6 = resolve_host_port("[2001:db8::1]", 443);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->to_string(), "[2001:db8::1]:443");
}

TEST(ResolveHostPort, LocalhostResolves) {
  auto address = resolve_host_port("localhost", 80);
  ASSERT_TRUE(address.has_value()) << address.error().describe();
  EXPECT_EQ(address->port(), 80);
}

TEST(ResolveHostPort, UnknownNameIsNotFound) {
  auto address = resolve_host_port("no-such-host.invalid", 80);
  ASSERT_FALSE(address.has_value());
  EXPECT_EQ(address.error().code, Errc::kNotFound);
}

TEST(SocketAddress, Ipv4MappedAddressPrintsAsIpv4) {
  auto mapped = resolve_host_port("::ffff:10.1.2.3", 9);
  ASSERT_TRUE(mapped.has_value());
  EXPECT_EQ(mapped->family(), AddressFamily::kIPv6);
  EXPECT_EQ(mapped->to_string(), "10.1.2.3:9");
}

TEST(SocketAddress, EqualityComparesAddressAndPort) {
  auto a = *parse_listen_address("127.0.0.1:5");
  EXPECT_EQ(a, *parse_listen_address("127.0.0.1:5"));
  EXPECT_FALSE(a == *parse_listen_address("127.0.0.1:6"));
  EXPECT_FALSE(a == *parse_listen_address("127.0.0.2:5"));
  EXPECT_EQ(a.with_port(6), *parse_listen_address("127.0.0.1:6"));
  EXPECT_FALSE(SocketAddress{}.valid());
}

TEST(SocketAddress, FromBytesRejectsNonInetFamilies) {
  const unsigned char junk[16] = {1, 0};  // AF_UNIX
  auto address = SocketAddress::from_bytes(junk, sizeof(junk));
  ASSERT_FALSE(address.has_value());
  EXPECT_EQ(address.error().code, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace lanparty::io
