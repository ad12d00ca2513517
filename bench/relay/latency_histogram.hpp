// SPDX-License-Identifier: MIT
// A fixed-size log-linear histogram of latencies in nanoseconds: recording is a few shifts
// and one increment (no allocation on the per-frame path), percentiles are within 1/64.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace lanparty::bench {

// Values below 128 ns get one bucket each; above, every power of two is split into 64 equal
// buckets, so a reported percentile is within 1/64 (1.6 %) of a recorded value. Covers the
// whole uint64 range. About 30 KB; keep one per scenario, not per frame.
class LatencyHistogram {
 public:
  static constexpr unsigned kSubBucketBits = 6;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBucketBits;  // 64
  static constexpr std::size_t kBucketCount = (64 - kSubBucketBits + 1) * kSubBuckets;

  void record(std::uint64_t nanoseconds) noexcept {
    ++buckets_[index_of(nanoseconds)];
    ++count_;
    if (nanoseconds > max_) max_ = nanoseconds;
  }

  void reset() noexcept {
    buckets_.fill(0);
    count_ = 0;
    max_ = 0;
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }

  // The value at quantile q (0 < q <= 1): the midpoint of the bucket holding the
  // ceil(q * count)-th smallest sample, never above max(). 0 when empty.
  [[nodiscard]] std::uint64_t percentile(double q) const noexcept {
    if (count_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
    if (static_cast<double>(rank) < q * static_cast<double>(count_)) ++rank;  // ceil
    if (rank == 0) rank = 1;
    if (rank > count_) rank = count_;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBucketCount; ++i) {
      seen += buckets_[i];
      if (seen >= rank) {
        const std::uint64_t low = lower_bound_of(i);
        const std::uint64_t mid = low + (width_of(i) - 1) / 2;
        return mid < max_ ? mid : max_;
      }
    }
    return max_;
  }

  // Bucket arithmetic, public so tests can check the layout.
  [[nodiscard]] static constexpr std::size_t index_of(std::uint64_t v) noexcept {
    if (v < 2 * kSubBuckets) return static_cast<std::size_t>(v);
    const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 1 - kSubBucketBits;
    return static_cast<std::size_t>((shift + 1) * kSubBuckets + ((v >> shift) - kSubBuckets));
  }
  [[nodiscard]] static constexpr std::uint64_t lower_bound_of(std::size_t index) noexcept {
    if (index < 2 * kSubBuckets) return index;
    const std::uint64_t shift = index / kSubBuckets - 1;
    return (index % kSubBuckets + kSubBuckets) << shift;
  }
  [[nodiscard]] static constexpr std::uint64_t width_of(std::size_t index) noexcept {
    if (index < 2 * kSubBuckets) return 1;
    return std::uint64_t{1} << (index / kSubBuckets - 1);
  }

 private:
  std::array<std::uint64_t, kBucketCount> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

static_assert(LatencyHistogram::index_of(~std::uint64_t{0}) == LatencyHistogram::kBucketCount - 1);
static_assert(LatencyHistogram::index_of(128) == 128 &&
              LatencyHistogram::lower_bound_of(128) == 128);

}  // namespace lanparty::bench
