// SPDX-License-Identifier: MIT
// Small builders for relay unit tests: hellos and Ethernet frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lanparty/ctrl/hello.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::relay::testing {

inline proto::MacAddress mac(const char* text) { return *proto::MacAddress::parse(text); }

inline ctrl::ValidHello hello(ctrl::Role role, std::string room, const char* mac_text,
                              std::uint16_t max_datagram = 1430) {
  return ctrl::ValidHello{.role = role,
                          .room = std::move(room),
                          .mac = mac(mac_text),
                          .max_datagram = max_datagram,
                          .software = "test"};
}

// dst, src, ethertype, then `payload_bytes` zero bytes.
inline std::vector<std::uint8_t> frame(const proto::MacAddress& dst, const proto::MacAddress& src,
                                       std::uint16_t ethertype, std::size_t payload_bytes = 46) {
  std::vector<std::uint8_t> f;
  f.insert(f.end(), dst.bytes().begin(), dst.bytes().end());
  f.insert(f.end(), src.bytes().begin(), src.bytes().end());
  f.push_back(static_cast<std::uint8_t>(ethertype >> 8));
  f.push_back(static_cast<std::uint8_t>(ethertype & 0xff));
  f.resize(f.size() + payload_bytes, 0);
  return f;
}

}  // namespace lanparty::relay::testing
