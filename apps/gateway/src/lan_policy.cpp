// SPDX-License-Identifier: MIT
#include "lan_policy.hpp"

#include <algorithm>

namespace lanparty::gateway {

std::array<std::uint8_t, kCamRefreshFrameBytes> cam_refresh_frame(
    const proto::MacAddress& client, const proto::MacAddress& gateway) noexcept {
  std::array<std::uint8_t, kCamRefreshFrameBytes> f{};
  std::copy(gateway.bytes().begin(), gateway.bytes().end(), f.begin());
  std::copy(client.bytes().begin(), client.bytes().end(), f.begin() + 6);
  f[12] = static_cast<std::uint8_t>(kCamRefreshEtherType >> 8);
  f[13] = static_cast<std::uint8_t>(kCamRefreshEtherType & 0xff);
  return f;
}

}  // namespace lanparty::gateway
