// SPDX-License-Identifier: MIT
// Rooms, peers and admission (PROTOCOL.md sections 2 and 4): the relay's state with no I/O,
// so every reject rule is unit-tested without sockets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <tl/expected.hpp>

#include "lanparty/ctrl/hello.hpp"
#include "lanparty/ctrl/messages.hpp"
#include "lanparty/obs/counters.hpp"
#include "lanparty/proto/drop_reason.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "peer_rate.hpp"

namespace lanparty::quic {
class Connection;
}

namespace lanparty::relay {

using DropCounters = obs::ReasonCounters<proto::DropReason, proto::kDropReasonCount>;

// An Ed25519 public key (a room key of PROTOCOL.md section 7).
using RoomKeyBytes = std::array<std::uint8_t, 32>;

// PROTOCOL.md section 7: the invite a client was admitted with (`claimed`/`owners` modes).
struct InviteInfo {
  std::string id;  // 16 lower-case hex digits; the owner revokes by it
  std::optional<std::string> name = std::nullopt;  // shown to the room
  RoomKeyBytes signed_by{};                        // the owner key that signed it
};

struct Room;

struct Peer {
  std::uint16_t id = 0;
  ctrl::Role role = ctrl::Role::kClient;
  proto::MacAddress mac;
  std::uint64_t mac_key = 0;  // mac.to_u64(), compared on the per-frame path
  std::size_t budget_bytes = 0;
  std::string software;
  std::optional<InviteInfo> invite = std::nullopt;  // clients of claimed rooms only
  Room* room = nullptr;
  quic::Connection* connection = nullptr;  // null in unit tests
  obs::TunnelCounters counters;            // stats: rx excludes probes, tx counts frames sent
  DropCounters rx_drops;                   // drops of datagrams from this peer
  PeerRateLimiter rate;                    // set by the relay at admission
  // A gateway in the table while its claim is written (section 7): it holds its MAC and the
  // gateway's place, but until its welcome nobody hears of it and no frame goes to it.
  bool welcome_pending = false;
};

struct Room {
  std::string name;
  std::size_t mtu = 0;
  Peer* gateway = nullptr;
  std::vector<Peer*> peers;  // admission order; at most --max-peers-per-room

  // The admitted peer with this MAC, or null. Linear: rooms are small and this stays in cache.
  [[nodiscard]] Peer* find_mac(std::uint64_t mac_key) const noexcept {
    for (Peer* p : peers) {
      if (p->mac_key == mac_key) return p;
    }
    return nullptr;
  }
};

struct RoomLimits {
  std::size_t max_mtu = 1380;
  std::size_t max_peers_per_room = 64;
  std::size_t max_rooms = 4096;
};

// What the relay knows of a connection when its hello arrives, besides the hello itself.
struct AdmissionInput {
  ctrl::ValidHello hello;
  std::uint64_t peer_max_datagram_frame_size = 0;   // transport parameter; 0 = none
  std::optional<InviteInfo> invite = std::nullopt;  // section 7, kept on the peer
};

class RoomTable {
 public:
  explicit RoomTable(RoomLimits limits) : limits_(limits) {}

  // Checks 6-11 of PROTOCOL.md section 2 in order, then admits: assigns a peer id, creates the
  // room if needed (fixing its MTU), and returns the new peer. The table owns the peer.
  [[nodiscard]] tl::expected<Peer*, ctrl::RejectCode> admit(const AdmissionInput& input);

  // Frees the peer's id and MAC; deletes the room when it empties. `peer` is invalid after.
  void remove(Peer* peer);

  [[nodiscard]] const Room* find_room(std::string_view name) const;
  // The live peer with this id, or null.
  [[nodiscard]] Peer* find_peer(std::uint16_t id) const;
  [[nodiscard]] std::size_t room_count() const noexcept { return rooms_.size(); }
  [[nodiscard]] std::size_t peer_count() const noexcept { return peers_.size(); }
  [[nodiscard]] const RoomLimits& limits() const noexcept { return limits_; }

  template <class Visitor>
  void for_each_peer(Visitor&& visit) const {
    for (const auto& [id, peer] : peers_) visit(*peer);
  }

 private:
  [[nodiscard]] std::uint16_t allocate_peer_id();

  RoomLimits limits_;
  std::unordered_map<std::string, std::unique_ptr<Room>> rooms_;
  std::unordered_map<std::uint16_t, std::unique_ptr<Peer>> peers_;
  std::uint16_t next_peer_id_ = 1;
};

}  // namespace lanparty::relay
