// SPDX-License-Identifier: MIT
// RapidCheck properties for check_frame: no read past the span, determinism, the IPv6 walk on
// random extension-header chains, and per-role limits. Apart so frame_filter_test.cpp builds
// without RapidCheck.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "frame_builder.hpp"
#include "frame_filter_support.hpp"
#include "lanparty/proto/frame_filter.hpp"

namespace lanparty::proto {
namespace {

using namespace lanparty::proto::testing;  // NOLINT: the builder vocabulary reads best bare

// Copies into an exact-size heap block so ASan flags any read past the end.
struct ExactBuffer {
  explicit ExactBuffer(const Bytes& bytes)
      : data(std::make_unique<std::uint8_t[]>(bytes.size())), size(bytes.size()) {
    std::copy(bytes.begin(), bytes.end(), data.get());
  }
  [[nodiscard]] std::span<const std::uint8_t> span() const { return {data.get(), size}; }
  std::unique_ptr<std::uint8_t[]> data;
  std::size_t size;
};

bool same(const tl::expected<EthernetView, DropReason>& a,
          const tl::expected<EthernetView, DropReason>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return a.error() == b.error();
  return a->destination == b->destination && a->source == b->source &&
         a->ethertype == b->ethertype && a->header_size == b->header_size &&
         a->payload.data() == b->payload.data() && a->payload.size() == b->payload.size();
}

const std::vector<std::uint16_t> kInterestingTypes = {kEtherTypeIpv4,          kEtherTypeIpv6,
                                                      kEtherTypeVlan,          kEtherTypeQinQ,
                                                      kEtherTypeSlowProtocols, 0x0806};

// Arbitrary bytes with an interesting EtherType (or two, behind a tag) and the client's own
// source, so the random bytes reach the IP parsers instead of stopping at rule 3's first line.
RC_GTEST_PROP(CheckFrame, StaysInsideTheSpanAndIsDeterministic, ()) {
  const auto outer = *rc::gen::elementOf(kInterestingTypes);
  const auto inner = *rc::gen::elementOf(kInterestingTypes);
  const auto body = *rc::gen::arbitrary<Bytes>();
  const auto mtu = *rc::gen::inRange<std::size_t>(0, 2000);
  const auto role = *rc::gen::element(kClient, kGateway);
  Bytes frame = frame_of(outer, body);
  if (outer == kEtherTypeVlan) {
    const Bytes tagged = frame_of(inner, body, {kEtherTypeVlan});
    frame = tagged;
  }
  frame.resize(*rc::gen::inRange<std::size_t>(0, frame.size() + 1));

  const ExactBuffer buffer(frame);
  const auto first = check_frame(buffer.span(), mtu, role, kClientMac);
  RC_ASSERT(same(first, check_frame(buffer.span(), mtu, role, kClientMac)));
  if (first) {
    RC_ASSERT(first->payload.data() + first->payload.size() == buffer.span().data() + frame.size());
    RC_ASSERT(frame.size() - first->header_size <= mtu);
  }
}

// Random extension-header chains, cut at a random length or within a byte or two of a header
// boundary (where off-by-one reads live): the walk must stay in bounds, and a cut inside the
// first 40 bytes must be uninspectable.
RC_GTEST_PROP(CheckFrame, Ipv6WalkStaysInsideTheSpan, ()) {
  const std::vector<std::uint8_t> kNextHeaders = {
      kHopByHop, kRouting, kFragment, kAh, kDestOpts, kEsp, kNoNext, kUdp, kIcmpv6, kTcp};
  const auto chain = *rc::gen::container<std::vector<std::uint8_t>>(
      *rc::gen::inRange<std::size_t>(0, 12), rc::gen::elementOf(kNextHeaders));
  const auto last_next = *rc::gen::elementOf(kNextHeaders);
  Bytes rest;
  std::vector<std::size_t> boundaries = {14 + 40};
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const std::uint8_t next = i + 1 < chain.size() ? chain[i + 1] : last_next;
    Bytes header;
    switch (chain[i]) {
      case kAh:
        header = ipv6_ah(next, *rc::gen::inRange<std::uint8_t>(1, 6));
        break;
      case kFragment:
        header = ipv6_fragment(next, *rc::gen::inRange<std::uint16_t>(0, 2), false);
        break;
      case kHopByHop:
      case kRouting:
      case kDestOpts:
        header = ipv6_options(next, 8 * *rc::gen::inRange<std::size_t>(1, 4));
        break;
      default:
        header = *rc::gen::arbitrary<Bytes>();
        break;
    }
    rest.insert(rest.end(), header.begin(), header.end());
    boundaries.push_back(14 + 40 + rest.size());
  }
  const Bytes tail = *rc::gen::arbitrary<Bytes>();
  rest.insert(rest.end(), tail.begin(), tail.end());
  Bytes frame = ipv6_frame(chain.empty() ? last_next : chain[0], rest);
  std::size_t cut = *rc::gen::inRange<std::size_t>(14, frame.size() + 1);
  if (*rc::gen::arbitrary<bool>()) {
    cut = *rc::gen::elementOf(boundaries) + *rc::gen::inRange<std::size_t>(0, 3);
  }
  frame.resize(std::min(cut, frame.size()));

  const ExactBuffer buffer(frame);
  const auto result = check_frame(buffer.span(), SIZE_MAX / 2, kClient, kClientMac);
  RC_ASSERT(same(result, check_frame(buffer.span(), SIZE_MAX / 2, kClient, kClientMac)));
  if (frame.size() < 14 + 40) {
    RC_ASSERT(!result.has_value());
    RC_ASSERT(result.error() == DropReason::kIpv6Uninspectable);
  }
}

RC_GTEST_PROP(CheckFrame, GatewayOnlyMeetsRulesOneAndTwo, (Bytes frame)) {
  const ExactBuffer buffer(frame);
  const auto result = check_frame(buffer.span(), kMtu, kGateway, kGatewayMac);
  if (!result) {
    RC_ASSERT(result.error() == DropReason::kRunt || result.error() == DropReason::kJumbo ||
              result.error() == DropReason::kSwitchControl);
  }
}

RC_GTEST_PROP(CheckFrame, ClientWithForeignSourceNeverForwards, (Bytes body)) {
  const Bytes frame = frame_of(kEtherTypeIpv4, body, {}, kOtherMac);
  const auto result = check_frame(frame, SIZE_MAX / 2, kClient, kClientMac);
  RC_ASSERT(!result.has_value());
  RC_ASSERT(result.error() == DropReason::kSpoofedSource);
}

}  // namespace
}  // namespace lanparty::proto
