// SPDX-License-Identifier: MIT
// The server's accept policy: Retry, the handshake cap, and per-source connection and
// handshake-rate limits. No sockets and no clock of its own: the Endpoint asks, tests too.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "lanparty/base/token_bucket.hpp"
#include "lanparty/io/address.hpp"
#include "lanparty/quic/server.hpp"

namespace lanparty::quic::detail {

class AdmissionPolicy {
 public:
  using Clock = TokenBucket::Clock;

  enum class Verdict : std::uint8_t { kAccept, kRetry, kRefuse };
  struct Decision {
    Verdict verdict = Verdict::kAccept;
    Refusal refusal = Refusal::kServerFull;  // when kRefuse
  };

  AdmissionPolicy(AdmissionLimits limits, std::size_t max_connections) noexcept;

  // A new connection's Initial from `source`; `validated` when it carries a Retry token that
  // verified. Takes a handshake from the source's budget when the answer is kAccept.
  [[nodiscard]] Decision on_initial(const io::SourcePrefix& source, bool validated,
                                    std::size_t connections, Clock::time_point now);
  // The connection was accepted (after kAccept). `validated`: its address is proven now.
  void on_accepted(const io::SourcePrefix& source, bool validated);
  // An accepted connection's handshake completed (its address is proven from now on).
  void on_handshake_completed(const io::SourcePrefix& source, bool was_validated);
  // An accepted connection is gone. `counted`: its address was proven (a Retry token at
  // accept, or a completed handshake), so it was counted against its source.
  void on_closed(const io::SourcePrefix& source, bool handshake_completed, bool counted);

  [[nodiscard]] std::size_t handshakes_in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] std::size_t sources_tracked() const noexcept { return sources_.size(); }
  [[nodiscard]] std::size_t validated_connections(const io::SourcePrefix& source) const noexcept;

 private:
  struct Source {
    TokenBucket unvalidated;      // Initials without a token: spoofable, so a miss means Retry
    TokenBucket validated;        // Initials with a proven address: a miss means refusal
    std::size_t connections = 0;  // address-proven connections alive
  };
  [[nodiscard]] Source new_source() const noexcept;
  Source* find_or_add(const io::SourcePrefix& source, Clock::time_point now);
  void prune(Clock::time_point now);

  AdmissionLimits limits_;
  std::size_t max_connections_;
  std::size_t max_sources_;
  std::size_t in_flight_ = 0;
  std::unordered_map<io::SourcePrefix, Source, io::SourcePrefixHash> sources_;
  Clock::time_point last_prune_{};
};

}  // namespace lanparty::quic::detail
