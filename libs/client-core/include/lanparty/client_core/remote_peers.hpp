// SPDX-License-Identifier: MIT
// Who else is in the room, by peer id and MAC: from welcome, peer_joined, peer_left, and the
// source MACs of frames the relay delivers (PROTOCOL.md section 6).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "lanparty/ctrl/messages.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::client_core {

class RemotePeers {
 public:
  void reset(const std::vector<ctrl::PeerInfo>& peers);
  void add(const ctrl::PeerInfo& peer);
  void remove(std::uint16_t peer_id);
  // A frame from `peer_id` carried source `mac`: remember it (a peer's LAN-side hosts, for the
  // gateway, come and go this way). Unknown peer ids are ignored.
  void learn(std::uint16_t peer_id, const proto::MacAddress& mac);
  void clear();

  [[nodiscard]] bool contains_mac(const proto::MacAddress& mac) const noexcept {
    return mac_owner_.contains(mac.to_u64());
  }
  [[nodiscard]] const std::unordered_map<std::uint16_t, ctrl::PeerInfo>& peers() const noexcept {
    return peers_;
  }
  // Hello MACs of the remote clients (not the gateway): what the gateway's CAM refresh announces.
  [[nodiscard]] std::vector<proto::MacAddress> client_macs() const;

 private:
  std::unordered_map<std::uint16_t, ctrl::PeerInfo> peers_;
  std::unordered_map<std::uint64_t, std::uint16_t> mac_owner_;  // MAC -> peer id
};

}  // namespace lanparty::client_core
