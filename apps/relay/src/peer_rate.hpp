// SPDX-License-Identifier: MIT
// Per-peer rate limits (--peer-rate, --peer-broadcast-rate): one admitted peer cannot make the
// relay copy more than this, and a broadcast, which the relay copies to every other peer of
// the room, has its own tighter budget. Pure policy: the caller passes the time.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/base/token_bucket.hpp"

namespace lanparty::relay {

// 0 in a field: no limit on it.
struct RateLimit {
  double frames_per_second = 0;
  double bytes_per_second = 0;
  friend bool operator==(const RateLimit&, const RateLimit&) = default;
};

// Far above what a 32-player LAN game sends (a peer's whole traffic: a bulk TCP copy at
// 2 Gbit/s; broadcast and multicast: the LAN chatter a gateway relays plus a game ticking
// broadcasts at 35 Hz for 32 players), far below what floods the relay.
inline constexpr RateLimit kDefaultPeerRate{.frames_per_second = 200000, .bytes_per_second = 250e6};
inline constexpr RateLimit kDefaultPeerBroadcastRate{.frames_per_second = 2000,
                                                     .bytes_per_second = 4e6};

// "off", or one or two comma-separated parts: "<n>pps" and/or "<n><unit>" with unit one of
// bit, kbit, Mbit, Gbit (per second, SI) or B, kB, MB, GB; e.g. "2000pps,32Mbit". A part left
// out is unlimited. kInvalidArgument with a sentence naming `flag` and the accepted forms.
[[nodiscard]] Result<RateLimit> parse_rate_limit(std::string_view text, std::string_view flag);
// The same form back ("2000pps,32Mbit", "off").
[[nodiscard]] std::string to_string(const RateLimit& limit);

class PeerRateLimiter {
 public:
  using Clock = TokenBucket::Clock;

  // Unlimited.
  PeerRateLimiter() = default;
  // Bursts of a fifth of a second's worth (at least 64 frames / 64 KiB), so a TCP window's
  // worth of back-to-back frames passes and a sustained excess does not.
  PeerRateLimiter(const RateLimit& all, const RateLimit& broadcast) noexcept;

  // Whether one frame of `bytes` from this peer may be forwarded now; `flooded` is a
  // broadcast or multicast destination. A refused frame is the caller's rate_limited drop.
  [[nodiscard]] bool admit(Clock::time_point now, std::size_t bytes, bool flooded) noexcept;
  // Whether admit() can ever refuse (so the caller can skip reading the clock).
  [[nodiscard]] bool limited() const noexcept { return limited_; }

 private:
  TokenBucket all_frames_;
  TokenBucket all_bytes_;
  TokenBucket flooded_frames_;
  TokenBucket flooded_bytes_;
  bool limited_ = false;
};

}  // namespace lanparty::relay
