// SPDX-License-Identifier: MIT
// MacAddress: strict text syntax, bit tests, and the generator's guarantees on fixed inputs.
// The round-trip and generator properties are in mac_address_property_test.cpp.
#include "lanparty/proto/mac_address.hpp"

#include <gtest/gtest.h>

#include <random>
#include <unordered_set>

#include "lanparty/base/errc.hpp"

namespace lanparty::proto {
namespace {

using Octets = std::array<std::uint8_t, 6>;

TEST(MacAddress, DefaultIsAllZero) {
  constexpr MacAddress mac;
  EXPECT_TRUE(mac.is_zero());
  EXPECT_EQ(mac.to_string(), "00:00:00:00:00:00");
}

TEST(MacAddress, ParsesLowerUpperAndMixedCase) {
  const MacAddress expected(Octets{0x02, 0x5a, 0x11, 0x22, 0xab, 0xcd});
  for (std::string_view text : {"02:5a:11:22:ab:cd", "02:5A:11:22:AB:CD", "02:5a:11:22:aB:Cd"}) {
    auto mac = MacAddress::parse(text);
    ASSERT_TRUE(mac) << text << ": " << mac.error().describe();
    EXPECT_EQ(*mac, expected) << text;
  }
}

struct BadMac {
  std::string_view text;
  std::string_view complaint;  // must appear in the error context
};

void PrintTo(const BadMac& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class MacAddressRejects : public ::testing::TestWithParam<BadMac> {};

TEST_P(MacAddressRejects, WithParseErrorNamingTheProblem) {
  auto mac = MacAddress::parse(GetParam().text);
  ASSERT_FALSE(mac) << GetParam().text;
  EXPECT_EQ(mac.error().code, Errc::kParseError);
  EXPECT_NE(mac.error().context.find(GetParam().complaint), std::string::npos)
      << mac.error().context;
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, MacAddressRejects,
    ::testing::Values(BadMac{"", "expected 17 characters"},
                      BadMac{"02:5a:11:22:33", "expected 17 characters"},
                      BadMac{"02:5a:11:22:33:44:55", "expected 17 characters"},
                      BadMac{" 02:5a:11:22:33:44", "expected 17 characters"},
                      BadMac{"02:5a:11:22:33:44\n", "expected 17 characters"},
                      BadMac{"2:5a:11:22:33:44:", "octet 1"},
                      BadMac{"02-5a-11-22-33-44", "expected ':' at position 2"},
                      BadMac{"02:5a:11:22:33-44", "expected ':' at position 14"},
                      BadMac{"02:5a:1g:22:33:44", "octet 3 is not two hex digits"},
                      BadMac{"02:5a:11:22:33: 4", "octet 6 is not two hex digits"},
                      BadMac{"025a:11:22:33:44:", "expected ':' at position 2"},
                      BadMac{"+2:5a:11:22:33:44", "octet 1 is not two hex digits"}));

TEST(MacAddress, ErrorContextQuotesTheInput) {
  auto mac = MacAddress::parse("02:5a:11:22:33:4z");
  ASSERT_FALSE(mac);
  EXPECT_NE(mac.error().context.find("\"02:5a:11:22:33:4z\""), std::string::npos);
}

TEST(MacAddress, FormatsLowerCase) {
  const MacAddress mac(Octets{0x02, 0x5A, 0x0B, 0xCD, 0xEF, 0x00});
  EXPECT_EQ(mac.to_string(), "02:5a:0b:cd:ef:00");
  const auto chars = mac.to_chars();
  EXPECT_EQ(std::string_view(chars.data(), chars.size()), "02:5a:0b:cd:ef:00");
}

TEST(MacAddress, FromBytesCopiesWireOrder) {
  const std::uint8_t wire[] = {0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  const auto mac = MacAddress::from_bytes(std::span<const std::uint8_t, 6>(wire + 1, 6));
  EXPECT_EQ(mac.bytes(), (Octets{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}));
}

TEST(MacAddress, ClassifiesAddressBits) {
  const MacAddress broadcast(Octets{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  EXPECT_TRUE(broadcast.is_broadcast());
  EXPECT_TRUE(broadcast.is_multicast());
  EXPECT_FALSE(broadcast.is_unicast());

  const MacAddress ipv6_multicast(Octets{0x33, 0x33, 0, 0, 0, 1});
  EXPECT_TRUE(ipv6_multicast.is_multicast());
  EXPECT_FALSE(ipv6_multicast.is_broadcast());

  const MacAddress local(Octets{0x02, 0x5a, 0x11, 0x22, 0x33, 0x44});
  EXPECT_TRUE(local.is_unicast());
  EXPECT_TRUE(local.is_locally_administered());
  EXPECT_FALSE(local.is_zero());

  const MacAddress universal(Octets{0x00, 0x11, 0x22, 0x33, 0x44, 0x55});
  EXPECT_TRUE(universal.is_unicast());
  EXPECT_FALSE(universal.is_locally_administered());
}

TEST(MacAddress, ToU64IsBigEndianAndOrdersLikeBytes) {
  const MacAddress a(Octets{0x02, 0, 0, 0, 0, 0x01});
  const MacAddress b(Octets{0x02, 0, 0, 0, 0x01, 0x00});
  EXPECT_EQ(a.to_u64(), 0x020000000001ULL);
  EXPECT_LT(a, b);
  EXPECT_LT(a.to_u64(), b.to_u64());
  EXPECT_NE(a, b);
}

TEST(MacAddress, HashesIntoUnorderedContainers) {
  std::unordered_set<MacAddress> set;
  set.insert(MacAddress(Octets{2, 0, 0, 0, 0, 1}));
  set.insert(MacAddress(Octets{2, 0, 0, 0, 0, 1}));
  set.insert(MacAddress(Octets{2, 0, 0, 0, 0, 2}));
  EXPECT_EQ(set.size(), 2U);
}

TEST(MacAddress, RandomLocalUnicastFixesOnlyTheTwoLowBitsOfOctetOne) {
  const Octets zeros{};
  EXPECT_EQ(MacAddress::random_local_unicast(zeros).to_string(), "02:00:00:00:00:00");
  const Octets ones{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(MacAddress::random_local_unicast(ones).to_string(), "fe:ff:ff:ff:ff:ff");
}

TEST(MacAddress, RandomLocalUnicastFromGeneratorIsDeterministicForASeed) {
  std::mt19937 a(42);
  std::mt19937 b(42);
  const auto first = MacAddress::random_local_unicast(a);
  EXPECT_EQ(first, MacAddress::random_local_unicast(b));
  EXPECT_TRUE(first.is_unicast());
  EXPECT_TRUE(first.is_locally_administered());
  EXPECT_NE(first, MacAddress::random_local_unicast(a));  // the generator advanced
}

}  // namespace
}  // namespace lanparty::proto
