// SPDX-License-Identifier: MIT
// Text forms of addresses, prefixes and adapter GUIDs: exact parsing and canonical output.
#include "lanparty/client_route/types.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_route {
namespace {

TEST(IpAddress, ParsesDottedQuadIntoNetworkOrderBytes) {
  auto a = IpAddress::parse("192.0.2.254");
  ASSERT_TRUE(a) << a.error().describe();
  EXPECT_EQ(a->family(), AddressFamily::kIpv4);
  const std::array<std::uint8_t, 4> expected{192, 0, 2, 254};
  EXPECT_TRUE(std::equal(a->bytes().begin(), a->bytes().end(), expected.begin(), expected.end()));
  EXPECT_EQ(a->to_string(), "192.0.2.254");
}

TEST(IpAddress, RejectsMalformedIpv4) {
  for (const char* text : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ",
                           "-1.2.3.4", "1..3.4", "a.b.c.d", "1.2.3.4/32"}) {
    auto a = IpAddress::parse(text);
    ASSERT_FALSE(a) << "accepted '" << text << "'";
    EXPECT_EQ(a.error().code, Errc::kParseError);
    EXPECT_NE(a.error().context.find(text), std::string::npos);
  }
}

struct Ipv6Case {
  const char* text;
  const char* canonical;  // RFC 5952
};

TEST(IpAddress, ParsesIpv6AndPrintsRfc5952Form) {
  const Ipv6Case cases[] = {
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"2001:DB8::1", "2001:db8::1"},
      {"2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // first of two equal runs
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // one zero group stays
      {"fe80::1:2:3:4", "fe80::1:2:3:4"},
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
  };
  for (const auto& c : cases) {
    auto a = IpAddress::parse(c.text);
    ASSERT_TRUE(a) << c.text << ": " << a.error().describe();
    EXPECT_EQ(a->family(), AddressFamily::kIpv6) << c.text;
    EXPECT_EQ(a->to_string(), c.canonical) << c.text;
    auto again = IpAddress::parse(a->to_string());
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *a) << c.text;
  }
}

TEST(IpAddress, RejectsMalformedIpv6) {
  for (const char* text : {":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::",
                           "g::1", "::ffff:1.2.3.4", "fe80::1%eth0", "1:2:3:4:5:6:7:8::", ":1::"}) {
    auto a = IpAddress::parse(text);
    EXPECT_FALSE(a) << "accepted '" << text << "'";
  }
}

TEST(IpAddress, UnspecifiedAddressesAreOnLinkNextHops) {
  EXPECT_TRUE(IpAddress::any(AddressFamily::kIpv4).is_unspecified());
  EXPECT_TRUE(IpAddress::any(AddressFamily::kIpv6).is_unspecified());
  EXPECT_EQ(IpAddress::any(AddressFamily::kIpv6).to_string(), "::");
  EXPECT_FALSE(IpAddress::parse("0.0.0.1")->is_unspecified());
}

TEST(IpPrefix, ParsesAndContainsOnlyItsOwnFamilyAndBits) {
  auto p = IpPrefix::parse("192.168.0.0/16");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*IpAddress::parse("192.168.200.1")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("192.169.0.1")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("::1")));
  auto odd = IpPrefix::parse("10.0.0.0/9");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(*IpAddress::parse("10.127.0.1")));
  EXPECT_FALSE(odd->contains(*IpAddress::parse("10.128.0.1")));
  auto all = IpPrefix::parse("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains(*IpAddress::parse("203.0.113.9")));
  EXPECT_EQ(IpPrefix::parse("2001:db8::/32")->to_string(), "2001:db8::/32");
}

TEST(IpPrefix, RejectsLengthsBeyondTheFamily) {
  for (const char* text :
       {"1.2.3.4/33", "::/129", "1.2.3.4", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/3x"}) {
    EXPECT_FALSE(IpPrefix::parse(text)) << "accepted '" << text << "'";
  }
}

TEST(AdapterGuid, ParsesWithOrWithoutBracesAndPrintsRegistryForm) {
  auto braced = AdapterGuid::parse("{4d36e972-e325-11ce-bfc1-08002be10318}");
  auto bare = AdapterGuid::parse("4D36E972-E325-11CE-BFC1-08002BE10318");
  ASSERT_TRUE(braced);
  ASSERT_TRUE(bare);
  EXPECT_EQ(*braced, *bare);
  EXPECT_EQ(braced->data1, 0x4D36E972u);
  EXPECT_EQ(braced->data2, 0xE325u);
  EXPECT_EQ(braced->data3, 0x11CEu);
  EXPECT_EQ(braced->data4[0], 0xBF);
  EXPECT_EQ(braced->data4[7], 0x18);
  EXPECT_EQ(braced->to_string(), "{4D36E972-E325-11CE-BFC1-08002BE10318}");
}

TEST(AdapterGuid, RejectsMalformedText) {
  for (const char* text :
       {"", "{}", "4D36E972-E325-11CE-BFC1-08002BE1031", "{4D36E972-E325-11CE-BFC1-08002BE10318",
        "4D36E972E325-11CE-BFC1-08002BE10318-", "4D36E97G-E325-11CE-BFC1-08002BE10318",
        "{4D36E972-E325-11CE-BFC108002BE10318-}"}) {
    auto g = AdapterGuid::parse(text);
    ASSERT_FALSE(g) << "accepted '" << text << "'";
    EXPECT_EQ(g.error().code, Errc::kParseError);
  }
}

}  // namespace
}  // namespace lanparty::client_route
