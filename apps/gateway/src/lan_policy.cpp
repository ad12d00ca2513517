// SPDX-License-Identifier: MIT
#include "lan_policy.hpp"

#include <algorithm>

namespace lanparty::gateway {

void LanMacTable::record(const proto::MacAddress& mac, Clock::time_point now) {
  if (last_seen_.size() >= kMaxEntries && !last_seen_.contains(mac.to_u64())) {
    sweep(now);
    if (last_seen_.size() >= kMaxEntries) return;
  }
  last_seen_[mac.to_u64()] = now;
  last_mac_ = mac.to_u64();
  last_update_ = now;
}

bool LanMacTable::seen_recently(const proto::MacAddress& mac, Clock::time_point now) const {
  const auto it = last_seen_.find(mac.to_u64());
  return it != last_seen_.end() && now - it->second < kWindow;
}

void LanMacTable::sweep(Clock::time_point now) {
  std::erase_if(last_seen_, [&](const auto& entry) { return now - entry.second >= kWindow; });
}

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
