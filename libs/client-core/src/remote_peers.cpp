// SPDX-License-Identifier: MIT
#include "lanparty/client_core/remote_peers.hpp"

#include <algorithm>

namespace lanparty::client_core {

void RemotePeers::reset(const std::vector<ctrl::PeerInfo>& peers) {
  clear();
  for (const auto& p : peers) add(p);
}

void RemotePeers::add(const ctrl::PeerInfo& peer) {
  peers_[peer.peer_id] = peer;
  mac_owner_[peer.mac.to_u64()] = peer.peer_id;
}

void RemotePeers::remove(std::uint16_t peer_id) {
  peers_.erase(peer_id);
  std::erase_if(mac_owner_, [peer_id](const auto& entry) { return entry.second == peer_id; });
}

void RemotePeers::learn(std::uint16_t peer_id, const proto::MacAddress& mac) {
  if (!peers_.contains(peer_id) || mac.is_multicast()) return;
  mac_owner_[mac.to_u64()] = peer_id;
}

void RemotePeers::clear() {
  peers_.clear();
  mac_owner_.clear();
}

std::vector<proto::MacAddress> RemotePeers::client_macs() const {
  std::vector<proto::MacAddress> macs;
  for (const auto& [id, peer] : peers_) {
    if (peer.role == ctrl::Role::kClient) macs.push_back(peer.mac);
  }
  std::sort(macs.begin(), macs.end());
  return macs;
}

}  // namespace lanparty::client_core
