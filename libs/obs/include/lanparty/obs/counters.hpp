// SPDX-License-Identifier: MIT
// Tunnel counters and per-reason drop counters (STYLE.md: every drop has a named reason and a
// counter). Plain integers: each counter set is owned by one thread (the event loop).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lanparty::obs {

struct TunnelCounters {
  std::uint64_t rx_frames = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_frames = 0;
  std::uint64_t tx_bytes = 0;
};

// One counter per enumerator of Reason, which must be dense from 0 to Count-1.
// `name_of` turns a reason into its stable wire name (e.g. proto::to_string(DropReason)).
template <class Reason, std::size_t Count>
class ReasonCounters {
 public:
  void on_drop(Reason reason) noexcept { ++counts_[static_cast<std::size_t>(reason)]; }
  void add(Reason reason, std::uint64_t n) noexcept {
    counts_[static_cast<std::size_t>(reason)] += n;
  }
  [[nodiscard]] std::uint64_t count(Reason reason) const noexcept {
    return counts_[static_cast<std::size_t>(reason)];
  }
  [[nodiscard]] std::uint64_t total() const noexcept {
    std::uint64_t sum = 0;
    for (auto c : counts_) sum += c;
    return sum;
  }
  // Calls visit(reason, count) for every reason with a non-zero count, in enum order.
  template <class Visitor>
  void for_each_nonzero(Visitor&& visit) const {
    for (std::size_t i = 0; i < Count; ++i) {
      if (counts_[i] != 0) visit(static_cast<Reason>(i), counts_[i]);
    }
  }
  // Calls visit(reason, count) for every reason, zero included (for metrics exposition).
  template <class Visitor>
  void for_each(Visitor&& visit) const {
    for (std::size_t i = 0; i < Count; ++i) visit(static_cast<Reason>(i), counts_[i]);
  }

 private:
  std::array<std::uint64_t, Count> counts_{};
};

}  // namespace lanparty::obs
