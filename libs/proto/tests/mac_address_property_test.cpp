// SPDX-License-Identifier: MIT
// RapidCheck properties for MacAddress: parse inverts to_string in either case, other lengths
// never parse, and random_local_unicast forces only two bits. Apart so mac_address_test.cpp
// builds without RapidCheck.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include "lanparty/proto/mac_address.hpp"

namespace lanparty::proto {
namespace {

using Octets = std::array<std::uint8_t, 6>;

RC_GTEST_PROP(MacAddress, ParseInvertsToString, (Octets octets)) {
  const MacAddress mac(octets);
  const auto parsed = MacAddress::parse(mac.to_string());
  RC_ASSERT(parsed.has_value());
  RC_ASSERT(*parsed == mac);
}

RC_GTEST_PROP(MacAddress, ParseAcceptsUpperCaseOfToString, (Octets octets)) {
  const MacAddress mac(octets);
  std::string text = mac.to_string();
  std::transform(text.begin(), text.end(), text.begin(), [](char c) {
    return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  });
  const auto parsed = MacAddress::parse(text);
  RC_ASSERT(parsed.has_value());
  RC_ASSERT(*parsed == mac);
}

RC_GTEST_PROP(MacAddress, ParseNeverAcceptsOtherLengths, (std::string text)) {
  RC_PRE(text.size() != MacAddress::kTextSize);
  RC_ASSERT(!MacAddress::parse(text).has_value());
}

RC_GTEST_PROP(MacAddress, RandomLocalUnicastIsUnicastLocalAndNonZero, (Octets random)) {
  const auto mac = MacAddress::random_local_unicast(random);
  RC_ASSERT(mac.is_unicast());
  RC_ASSERT(mac.is_locally_administered());
  RC_ASSERT(!mac.is_zero());
  // Only octet 1's two low bits are forced; the other 46 bits are the input's.
  RC_ASSERT((mac.bytes()[0] & 0xfc) == (random[0] & 0xfc));
  RC_ASSERT(std::equal(random.begin() + 1, random.end(), mac.bytes().begin() + 1));
}

}  // namespace
}  // namespace lanparty::proto
