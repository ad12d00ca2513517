// SPDX-License-Identifier: MIT
#include "room_table.hpp"

#include <algorithm>

#include "lanparty/proto/mtu.hpp"

namespace lanparty::relay {

tl::expected<Peer*, ctrl::RejectCode> RoomTable::admit(const AdmissionInput& input) {
  using ctrl::RejectCode;
  const ctrl::ValidHello& hello = input.hello;

  // 6. datagrams_unsupported: a peer that cannot carry DATAGRAM frames cannot carry the LAN.
  if (input.peer_max_datagram_frame_size == 0) {
    return tl::unexpected(RejectCode::kDatagramsUnsupported);
  }
  const auto it = rooms_.find(hello.room);
  Room* room = it == rooms_.end() ? nullptr : it->second.get();

  // 7. relay_full: only a new room can exceed --max-rooms.
  if (room == nullptr && rooms_.size() >= limits_.max_rooms) {
    return tl::unexpected(RejectCode::kRelayFull);
  }
  if (room != nullptr) {
    // 8. gateway_exists, 9. duplicate_mac, 10. room_full.
    if (hello.role == ctrl::Role::kGateway && room->gateway != nullptr) {
      return tl::unexpected(RejectCode::kGatewayExists);
    }
    if (room->find_mac(hello.mac.to_u64()) != nullptr) {
      return tl::unexpected(RejectCode::kDuplicateMac);
    }
    if (room->peers.size() >= limits_.max_peers_per_room) {
      return tl::unexpected(RejectCode::kRoomFull);
    }
  } else if (limits_.max_peers_per_room == 0) {
    return tl::unexpected(RejectCode::kRoomFull);
  }
  // 11. mtu_too_small: the budget is min(hello max_datagram, max_datagram_frame_size - 3).
  const std::size_t budget = proto::peer_budget(static_cast<std::uint64_t>(hello.max_datagram),
                                                input.peer_max_datagram_frame_size);
  const std::size_t usable_mtu =
      budget >= proto::kFrameOverheadBytes ? budget - proto::kFrameOverheadBytes : 0;
  if (room != nullptr) {
    if (usable_mtu < room->mtu) return tl::unexpected(RejectCode::kMtuTooSmall);
  } else if (proto::room_mtu_for_budget(budget, limits_.max_mtu) < proto::kMinRoomMtu) {
    return tl::unexpected(RejectCode::kMtuTooSmall);
  }
  // Peer ids are 16 bits: at 65535 live peers there is none left to give.
  if (peers_.size() >= 65535) return tl::unexpected(RejectCode::kRelayFull);

  if (room == nullptr) {
    auto created = std::make_unique<Room>();
    created->name = hello.room;
    created->mtu = proto::room_mtu_for_budget(budget, limits_.max_mtu);
    created->peers.reserve(std::min<std::size_t>(limits_.max_peers_per_room, 64));
    room = created.get();
    rooms_.emplace(hello.room, std::move(created));
  }

  auto peer = std::make_unique<Peer>();
  peer->id = allocate_peer_id();
  peer->role = hello.role;
  peer->mac = hello.mac;
  peer->mac_key = hello.mac.to_u64();
  peer->budget_bytes = budget;
  peer->software = hello.software;
  peer->invite = input.invite;
  peer->room = room;
  Peer* raw = peer.get();
  peers_.emplace(raw->id, std::move(peer));
  room->peers.push_back(raw);
  if (raw->role == ctrl::Role::kGateway) room->gateway = raw;
  return raw;
}

void RoomTable::remove(Peer* peer) {
  Room* room = peer->room;
  if (room != nullptr) {
    std::erase(room->peers, peer);
    if (room->gateway == peer) room->gateway = nullptr;
    if (room->peers.empty()) rooms_.erase(room->name);
  }
  peers_.erase(peer->id);
}

const Room* RoomTable::find_room(std::string_view name) const {
  const auto it = rooms_.find(std::string(name));
  return it == rooms_.end() ? nullptr : it->second.get();
}

Peer* RoomTable::find_peer(std::uint16_t id) const {
  const auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : it->second.get();
}

std::uint16_t RoomTable::allocate_peer_id() {
  // Round-robin so a departed peer's id is not handed out again at once (a late datagram or
  // log line for the old peer cannot be mistaken for the new one). Caller ensures one is free.
  for (;;) {
    const std::uint16_t candidate = next_peer_id_;
    next_peer_id_ = next_peer_id_ == 65535 ? 1 : static_cast<std::uint16_t>(next_peer_id_ + 1);
    if (!peers_.contains(candidate)) return candidate;
  }
}

}  // namespace lanparty::relay
