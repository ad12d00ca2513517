// SPDX-License-Identifier: MIT
// What both backends share of room_key.hpp: wiping the seed when a RoomKey dies.
#include "lanparty/quic/room_key.hpp"

namespace lanparty::quic {

RoomKey::~RoomKey() {
  // Volatile stores: the compiler may not drop them as dead stores to a dying object.
  volatile std::uint8_t* seed = seed_.data();
  for (std::size_t i = 0; i < seed_.size(); ++i) seed[i] = 0;
}

}  // namespace lanparty::quic
