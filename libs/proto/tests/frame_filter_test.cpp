// SPDX-License-Identifier: MIT
// check_frame: PROTOCOL.md section 5 rules 1-3, one table row per behaviour, golden frames
// per drop reason, seed verdicts, no allocation. Properties: frame_filter_property_test.cpp.
#include "lanparty/proto/frame_filter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "frame_builder.hpp"
#include "frame_filter_support.hpp"
#include "lanparty/proto/overlay_header.hpp"

// Counts every allocation in this test binary, so the per-frame path can prove it makes none.
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace lanparty::proto {
namespace {

using namespace lanparty::proto::testing;  // NOLINT: the builder vocabulary reads best bare

struct FilterCase {
  std::string name;
  Bytes frame;
  SenderRole role;
  std::optional<DropReason> expected;  // nullopt: forwarded
  std::size_t mtu = kMtu;
};

// gtest prints a parameter on failure; the row name is what identifies it.
void PrintTo(const FilterCase& c, std::ostream* os) { *os << c.name; }

std::string filter_outcome(const tl::expected<EthernetView, DropReason>& result) {
  return result ? "forward" : std::string(to_string(result.error()));
}

std::string filter_outcome(const std::optional<DropReason>& expected) {
  return expected ? std::string(to_string(*expected)) : "forward";
}

Bytes ipv4_udp_frame(std::uint16_t sport, std::uint16_t dport, std::uint16_t flags_fragment = 0,
                     std::vector<std::uint16_t> tags = {}) {
  return frame_of(
      kEtherTypeIpv4,
      Ipv4Packet{.flags_fragment = flags_fragment, .payload = udp(sport, dport, 240)}.build(),
      std::move(tags), kClientMac, kBroadcast);
}

Bytes dhcp_offer() { return ipv4_udp_frame(67, 68); }

// `count` Destination Options headers chained, the last pointing at `last_next`.
Bytes ext_chain(std::size_t count, std::uint8_t last_next) {
  Bytes out;
  for (std::size_t i = 0; i < count; ++i) {
    const Bytes one = ipv6_options(i + 1 == count ? last_next : kDestOpts);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

Bytes with_ipv6_payload_length(Bytes frame, std::uint16_t length) {
  frame[14 + 4] = static_cast<std::uint8_t>(length >> 8);
  frame[14 + 5] = static_cast<std::uint8_t>(length);
  return frame;
}

Bytes truncated(Bytes frame, std::size_t size) {
  frame.resize(size);
  return frame;
}

Bytes patched(Bytes frame, std::size_t at, const Bytes& bytes) {
  std::copy(bytes.begin(), bytes.end(), frame.begin() + static_cast<std::ptrdiff_t>(at));
  return frame;
}

MacAddress mac(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint8_t e,
               std::uint8_t f) {
  return MacAddress(std::array<std::uint8_t, 6>{a, b, c, d, e, f});
}

std::vector<FilterCase> cases() {
  const Bytes stp = frame_of(0x0026, filler(38), {}, kClientMac, mac(0x01, 0x80, 0xc2, 0, 0, 0));
  return {
      // Rule 1: size.
      {"runt_13_bytes", Bytes(13, 0x02), kClient, DropReason::kRunt},
      {"runt_13_bytes_from_gateway", Bytes(13, 0x02), kGateway, DropReason::kRunt},
      {"runt_tagged_17_bytes", truncated(frame_of(kEtherTypeIpv4, {}, {kEtherTypeVlan}), 17),
       kClient, DropReason::kRunt},
      {"header_only_forwarded", frame_of(kEtherTypeIpv4, {}), kClient, std::nullopt},
      {"tagged_header_only_forwarded", frame_of(kEtherTypeIpv4, {}, {kEtherTypeVlan}), kClient,
       std::nullopt},
      {"exactly_mtu_untagged_forwarded", frame_of(kEtherTypeLocalExperimental, filler(576)),
       kClient, std::nullopt, 576},
      {"mtu_plus_one_untagged_jumbo", frame_of(kEtherTypeLocalExperimental, filler(577)), kClient,
       DropReason::kJumbo, 576},
      {"exactly_mtu_tagged_forwarded",
       frame_of(kEtherTypeLocalExperimental, filler(576), {kEtherTypeVlan}), kClient, std::nullopt,
       576},
      {"mtu_plus_one_tagged_jumbo",
       frame_of(kEtherTypeLocalExperimental, filler(577), {kEtherTypeVlan}), kGateway,
       DropReason::kJumbo, 576},
      // 0x88a8 is not a tag for rule 1: its frame gets the untagged limit.
      {"qinq_outer_gets_untagged_limit",
       frame_of(kEtherTypeQinQ, filler(577), {}, kGatewayMac, kBroadcast), kGateway,
       DropReason::kJumbo, 576},
      {"jumbo_beats_switch_control",
       frame_of(0x0026, filler(577), {}, kClientMac, mac(0x01, 0x80, 0xc2, 0, 0, 0)), kClient,
       DropReason::kJumbo, 576},
      {"jumbo_beats_spoofed_source", frame_of(kEtherTypeIpv4, filler(577), {}, kOtherMac), kClient,
       DropReason::kJumbo, 576},

      // Rule 2: switch control, for both roles.
      {"stp_destination", stp, kClient, DropReason::kSwitchControl},
      {"stp_destination_from_gateway", stp, kGateway, DropReason::kSwitchControl},
      {"lldp_destination_0e",
       frame_of(0x88cc, filler(40), {}, kClientMac, mac(0x01, 0x80, 0xc2, 0, 0, 0x0e)), kClient,
       DropReason::kSwitchControl},
      {"reserved_destination_0f",
       frame_of(0x88cc, filler(40), {}, kClientMac, mac(0x01, 0x80, 0xc2, 0, 0, 0x0f)), kGateway,
       DropReason::kSwitchControl},
      {"destination_10_forwarded",
       frame_of(0x88cc, filler(40), {}, kClientMac, mac(0x01, 0x80, 0xc2, 0, 0, 0x10)), kClient,
       std::nullopt},
      {"slow_protocols_outer", frame_of(kEtherTypeSlowProtocols, filler(40)), kGateway,
       DropReason::kSwitchControl},
      {"slow_protocols_behind_tag", frame_of(kEtherTypeSlowProtocols, filler(40), {kEtherTypeVlan}),
       kClient, DropReason::kSwitchControl},
      // Only one tag is looked through: behind two, 0x8808 is hidden.
      {"slow_protocols_behind_two_tags_from_gateway",
       frame_of(kEtherTypeSlowProtocols, filler(40), {kEtherTypeVlan, kEtherTypeVlan}), kGateway,
       std::nullopt},
      {"slow_protocols_behind_two_tags_from_client",
       frame_of(kEtherTypeSlowProtocols, filler(40), {kEtherTypeVlan, kEtherTypeVlan}), kClient,
       DropReason::kStackedVlan},
      {"switch_control_beats_spoofed_source",
       frame_of(0x0026, filler(38), {}, kOtherMac, mac(0x01, 0x80, 0xc2, 0, 0, 0)), kClient,
       DropReason::kSwitchControl},

      // Rule 3: source.
      {"spoofed_source", frame_of(kEtherTypeIpv4, filler(40), {}, kOtherMac), kClient,
       DropReason::kSpoofedSource},
      {"foreign_source_from_gateway", frame_of(kEtherTypeIpv4, filler(40), {}, kOtherMac), kGateway,
       std::nullopt},
      {"spoofed_source_beats_dhcp_server",
       frame_of(kEtherTypeIpv4, Ipv4Packet{.payload = udp(67, 68)}.build(), {}, kOtherMac), kClient,
       DropReason::kSpoofedSource},
      {"arp_broadcast_forwarded", frame_of(0x0806, filler(28), {}, kClientMac, kBroadcast), kClient,
       std::nullopt},
      {"tagged_arp_forwarded",
       frame_of(0x0806, filler(28), {kEtherTypeVlan}, kClientMac, kBroadcast), kClient,
       std::nullopt},

      // Rule 3: DHCPv4.
      {"dhcpv4_offer", dhcp_offer(), kClient, DropReason::kDhcpServer},
      {"dhcpv4_offer_from_gateway",
       frame_of(kEtherTypeIpv4, Ipv4Packet{.payload = udp(67, 68)}.build(), {}, kGatewayMac),
       kGateway, std::nullopt},
      {"dhcpv4_offer_tagged", ipv4_udp_frame(67, 68, 0, {kEtherTypeVlan}), kClient,
       DropReason::kDhcpServer},
      {"dhcpv4_discover_forwarded", ipv4_udp_frame(68, 67), kClient, std::nullopt},
      {"dhcpv4_first_fragment", ipv4_udp_frame(67, 68, 0x2000), kClient, DropReason::kDhcpServer},
      {"ipv4_fragment_offset_nonzero_forwarded", ipv4_udp_frame(67, 68, 0x2001), kClient,
       std::nullopt},
      {"ipv4_last_fragment_forwarded", ipv4_udp_frame(67, 68, 0x00b9), kClient, std::nullopt},
      {"ipv4_options_honoured",
       frame_of(kEtherTypeIpv4, Ipv4Packet{.ihl = 6, .payload = udp(67, 68)}.build()), kClient,
       DropReason::kDhcpServer},
      {"ipv4_max_options_honoured",
       frame_of(kEtherTypeIpv4, Ipv4Packet{.ihl = 15, .payload = udp(67, 68)}.build()), kClient,
       DropReason::kDhcpServer},
      // Decision (frame_filter.hpp): malformed IPv4 forwards, no reason exists for it.
      {"ipv4_ihl_below_5_forwarded",
       frame_of(kEtherTypeIpv4, Ipv4Packet{.ihl = 4, .payload = udp(67, 68)}.build()), kClient,
       std::nullopt},
      // IHL 4 would put "UDP" at IPv4 offset 16, the destination address: 0.67.0.68 there
      // must not read as source port 67.
      {"ipv4_ihl_below_5_not_read_at_offset_16",
       patched(frame_of(kEtherTypeIpv4, Ipv4Packet{.ihl = 4, .payload = udp(68, 67)}.build()),
               14 + 16, {0, 67, 0, 68}),
       kClient, std::nullopt},
      {"ipv4_header_truncated_forwarded",
       truncated(frame_of(kEtherTypeIpv4, Ipv4Packet{.payload = udp(67, 68)}.build()), 14 + 19),
       kClient, std::nullopt},
      {"ipv4_options_beyond_frame_forwarded",
       truncated(frame_of(kEtherTypeIpv4, Ipv4Packet{.ihl = 15, .payload = udp(67, 68)}.build()),
                 14 + 40),
       kClient, std::nullopt},
      {"ipv4_udp_header_truncated_forwarded",
       truncated(frame_of(kEtherTypeIpv4, Ipv4Packet{.payload = udp(67, 68)}.build()), 14 + 20 + 7),
       kClient, std::nullopt},
      {"ipv4_udp_header_exactly_8_bytes",
       frame_of(kEtherTypeIpv4, Ipv4Packet{.payload = udp(67, 68, 0)}.build()), kClient,
       DropReason::kDhcpServer},
      {"ipv4_tcp_port_67_forwarded",
       frame_of(kEtherTypeIpv4, Ipv4Packet{.protocol = kTcp, .payload = udp(67, 68)}.build()),
       kClient, std::nullopt},

      // Rule 3: DHCPv6 and RA after the extension-header walk.
      {"dhcpv6_advertise", ipv6_frame(kUdp, udp(547, 546)), kClient, DropReason::kDhcpServer},
      {"dhcpv6_solicit_forwarded", ipv6_frame(kUdp, udp(546, 547)), kClient, std::nullopt},
      {"dhcpv6_advertise_from_gateway",
       frame_of(kEtherTypeIpv6, ipv6(kUdp, udp(547, 546)), {}, kGatewayMac), kGateway,
       std::nullopt},
      {"dhcpv6_behind_hop_by_hop_and_routing",
       ipv6_frame(kHopByHop,
                  concat({ipv6_options(kRouting), ipv6_options(kUdp, 24), udp(547, 546)})),
       kClient, DropReason::kDhcpServer},
      {"dhcpv6_udp_exactly_8_bytes", ipv6_frame(kUdp, udp(547, 546, 0)), kClient,
       DropReason::kDhcpServer},
      {"router_advertisement", ipv6_frame(kIcmpv6, icmpv6(134, 16)), kClient,
       DropReason::kRouterAdvertisement},
      {"router_advertisement_tagged", ipv6_frame(kIcmpv6, icmpv6(134, 16), {kEtherTypeVlan}),
       kClient, DropReason::kRouterAdvertisement},
      {"router_advertisement_from_gateway",
       frame_of(kEtherTypeIpv6, ipv6(kIcmpv6, icmpv6(134, 16)), {}, kGatewayMac), kGateway,
       std::nullopt},
      {"router_solicitation_forwarded", ipv6_frame(kIcmpv6, icmpv6(133)), kClient, std::nullopt},
      {"router_advertisement_one_byte", ipv6_frame(kIcmpv6, icmpv6(134, 1)), kClient,
       DropReason::kRouterAdvertisement},
      // AH is (n + 2) * 4 bytes: n = 1 is 12 bytes. Read as (n + 1) * 8 = 16 it would swallow
      // the 4-byte ICMPv6 header and the verdicts below would differ.
      {"ah_length_router_advertisement",
       ipv6_frame(kAh, concat({ipv6_ah(kIcmpv6, 1), icmpv6(134, 4)})), kClient,
       DropReason::kRouterAdvertisement},
      {"ah_length_echo_forwarded", ipv6_frame(kAh, concat({ipv6_ah(kIcmpv6, 1), icmpv6(128, 4)})),
       kClient, std::nullopt},
      {"ah_n4_then_dhcpv6", ipv6_frame(kAh, concat({ipv6_ah(kUdp, 4), udp(547, 546)})), kClient,
       DropReason::kDhcpServer},
      {"first_fragment_walked_to_dhcpv6",
       ipv6_frame(kFragment, concat({ipv6_fragment(kUdp, 0, true), udp(547, 546)})), kClient,
       DropReason::kDhcpServer},
      {"fragment_offset_nonzero_forwarded",
       ipv6_frame(kFragment, concat({ipv6_fragment(kUdp, 185, false), filler(16)})), kClient,
       std::nullopt},
      {"fragment_offset_nonzero_chain_not_followed",
       ipv6_frame(kHopByHop, concat({ipv6_options(kFragment), ipv6_fragment(kEsp, 1, true)})),
       kClient, std::nullopt},
      {"no_next_header_forwarded", ipv6_frame(kNoNext, filler(20)), kClient, std::nullopt},
      {"no_next_header_after_options_forwarded", ipv6_frame(kHopByHop, ipv6_options(kNoNext)),
       kClient, std::nullopt},
      {"tcp_forwarded", ipv6_frame(kTcp, filler(20)), kClient, std::nullopt},
      {"unwalked_next_header_forwarded", ipv6_frame(135, filler(8)), kClient, std::nullopt},
      {"eight_extension_headers_forwarded",
       ipv6_frame(kDestOpts, concat({ext_chain(8, kUdp), udp(546, 547)})), kClient, std::nullopt},
      {"eight_extension_headers_walked_to_ra",
       ipv6_frame(kDestOpts, concat({ext_chain(8, kIcmpv6), icmpv6(134)})), kClient,
       DropReason::kRouterAdvertisement},
      {"eight_extension_headers_then_no_next_header", ipv6_frame(kDestOpts, ext_chain(8, kNoNext)),
       kClient, std::nullopt},
      {"ninth_extension_header_uninspectable",
       ipv6_frame(kDestOpts, concat({ext_chain(9, kUdp), udp(546, 547)})), kClient,
       DropReason::kIpv6Uninspectable},
      {"ninth_header_fragment_uninspectable",
       ipv6_frame(kDestOpts,
                  concat({ext_chain(8, kFragment), ipv6_fragment(kUdp, 0, true), udp(546, 547)})),
       kClient, DropReason::kIpv6Uninspectable},
      {"ninth_header_nonfirst_fragment_uninspectable",
       ipv6_frame(kDestOpts,
                  concat({ext_chain(8, kFragment), ipv6_fragment(kUdp, 3, true), filler(8)})),
       kClient, DropReason::kIpv6Uninspectable},

      // Rule 3: ipv6_uninspectable.
      {"ipv6_header_39_bytes", truncated(ipv6_frame(kNoNext, {}), 14 + 39), kClient,
       DropReason::kIpv6Uninspectable},
      {"ipv6_header_only_40_bytes_then_nothing", ipv6_frame(kUdp, {}), kClient,
       DropReason::kIpv6Uninspectable},
      {"esp_uninspectable", ipv6_frame(kEsp, filler(32)), kClient, DropReason::kIpv6Uninspectable},
      {"esp_after_hop_by_hop_uninspectable",
       ipv6_frame(kHopByHop, concat({ipv6_options(kEsp), filler(32)})), kClient,
       DropReason::kIpv6Uninspectable},
      {"esp_from_gateway_forwarded",
       frame_of(kEtherTypeIpv6, ipv6(kEsp, filler(32)), {}, kGatewayMac), kGateway, std::nullopt},
      {"udp_7_bytes_uninspectable", ipv6_frame(kUdp, truncated(udp(546, 547, 0), 7)), kClient,
       DropReason::kIpv6Uninspectable},
      {"udp_port_547_in_7_bytes_uninspectable", ipv6_frame(kUdp, truncated(udp(547, 546, 0), 7)),
       kClient, DropReason::kIpv6Uninspectable},
      {"icmpv6_zero_bytes_uninspectable", ipv6_frame(kIcmpv6, {}), kClient,
       DropReason::kIpv6Uninspectable},
      {"hop_by_hop_one_byte_uninspectable", ipv6_frame(kHopByHop, Bytes{kUdp}), kClient,
       DropReason::kIpv6Uninspectable},
      {"hop_by_hop_length_beyond_frame_uninspectable",
       ipv6_frame(kHopByHop, truncated(ipv6_options(kUdp, 16), 15)), kClient,
       DropReason::kIpv6Uninspectable},
      {"ah_length_beyond_frame_uninspectable", ipv6_frame(kAh, truncated(ipv6_ah(kIcmpv6, 4), 23)),
       kClient, DropReason::kIpv6Uninspectable},
      {"fragment_7_bytes_uninspectable",
       ipv6_frame(kFragment, truncated(ipv6_fragment(kUdp, 0, true), 7)), kClient,
       DropReason::kIpv6Uninspectable},
      {"first_fragment_chain_cut_uninspectable",
       ipv6_frame(kFragment, concat({ipv6_fragment(kRouting, 0, true), Bytes{kUdp, 4}})), kClient,
       DropReason::kIpv6Uninspectable},
      // The frame's end bounds the walk, not the IPv6 payload length field.
      {"payload_length_zero_ignored",
       with_ipv6_payload_length(ipv6_frame(kHopByHop, concat({ipv6_options(kUdp), udp(547, 546)})),
                                0),
       kClient, DropReason::kDhcpServer},
      {"payload_length_beyond_frame_ignored",
       with_ipv6_payload_length(ipv6_frame(kUdp, truncated(udp(546, 547, 0), 6)), 1000), kClient,
       DropReason::kIpv6Uninspectable},

      // Rule 3: stacked tags.
      {"qinq_outer", frame_of(kEtherTypeQinQ, filler(40)), kClient, DropReason::kStackedVlan},
      {"qinq_outer_from_gateway", frame_of(kEtherTypeQinQ, filler(40), {}, kGatewayMac), kGateway,
       std::nullopt},
      {"qinq_behind_vlan", frame_of(kEtherTypeQinQ, filler(40), {kEtherTypeVlan}), kClient,
       DropReason::kStackedVlan},
      {"vlan_behind_vlan", frame_of(kEtherTypeIpv4, filler(40), {kEtherTypeVlan, kEtherTypeVlan}),
       kClient, DropReason::kStackedVlan},
      {"vlan_behind_vlan_from_gateway",
       frame_of(kEtherTypeIpv4, filler(40), {kEtherTypeVlan, kEtherTypeVlan}, kGatewayMac),
       kGateway, std::nullopt},
      {"ra_behind_two_tags_is_stacked_vlan",
       ipv6_frame(kIcmpv6, icmpv6(134), {kEtherTypeVlan, kEtherTypeVlan}), kClient,
       DropReason::kStackedVlan},
  };
}

class CheckFrame : public ::testing::TestWithParam<FilterCase> {};

TEST_P(CheckFrame, AppliesRulesOneToThreeInOrder) {
  const auto& c = GetParam();
  const MacAddress sender = c.role == kClient ? kClientMac : kGatewayMac;
  EXPECT_EQ(filter_outcome(check_frame(c.frame, c.mtu, c.role, sender)),
            filter_outcome(c.expected));
}

std::string case_name(const ::testing::TestParamInfo<FilterCase>& param) {
  return param.param.name;
}

INSTANTIATE_TEST_SUITE_P(Section5, CheckFrame, ::testing::ValuesIn(cases()), case_name);

TEST(CheckFrame, TableCoversEveryReasonItCanReturnAndForwarding) {
  std::set<std::string> seen;
  for (const auto& c : cases()) seen.insert(filter_outcome(c.expected));
  for (auto reason :
       {DropReason::kRunt, DropReason::kJumbo, DropReason::kSwitchControl,
        DropReason::kSpoofedSource, DropReason::kDhcpServer, DropReason::kRouterAdvertisement,
        DropReason::kIpv6Uninspectable, DropReason::kStackedVlan}) {
    EXPECT_TRUE(seen.contains(std::string(to_string(reason)))) << to_string(reason);
  }
  EXPECT_TRUE(seen.contains("forward"));
  EXPECT_EQ(seen.size(), 9U) << "check_frame returns a reason the table does not cover";
}

TEST(CheckFrame, ForwardedFrameReturnsTheParsedView) {
  const auto frame = ipv4_udp_frame(68, 67, 0, {kEtherTypeVlan});
  const auto eth = check_frame(frame, kMtu, kClient, kClientMac);
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->source, kClientMac);
  EXPECT_TRUE(eth->destination.is_broadcast());
  EXPECT_TRUE(eth->tagged);
  EXPECT_EQ(eth->ethertype, kEtherTypeIpv4);
  EXPECT_EQ(eth->payload.data(), frame.data() + 18);
}

TEST(CheckFrame, PerFramePathDoesNotAllocate) {
  std::vector<Bytes> datagrams;
  for (const auto& c : cases()) {
    Bytes d = {kOverlayVersion, 1, 0, 9};
    d.insert(d.end(), c.frame.begin(), c.frame.end());
    datagrams.push_back(std::move(d));
  }
  std::size_t forwarded = 0;
  const std::size_t before = g_allocations.load();
  ASSERT_GT(before, 0U) << "the counting operator new is not in effect";
  for (const auto& d : datagrams) {
    const auto view = parse_from_peer(d, 9);
    ASSERT_TRUE(view);
    for (auto role : {kClient, kGateway}) {
      if (check_frame(view->body, kMtu, role, kClientMac)) ++forwarded;
    }
  }
  EXPECT_EQ(g_allocations.load(), before);
  EXPECT_GT(forwarded, 0U);  // the loop exercised both outcomes
}

TEST(CheckFrame, HugeMtuDoesNotOverflowTheJumboCheck) {
  const auto frame = dhcp_offer();
  EXPECT_TRUE(check_frame(frame, SIZE_MAX, kGateway, kGatewayMac));
}

// Golden frames, one per drop reason, written out byte by byte so they do not depend on the
// builder. Each is what a real host might emit.
TEST(CheckFrame, GoldenFramesDropWithTheirReason) {
  // Ethernet header helpers: destination, source kClientMac.
  const Bytes runt = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x5a,
                      0x11, 0x22, 0x33, 0x44, 0x81, 0x00, 0x00};
  const Bytes stp_bpdu = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00, 0x02, 0x5a, 0x11, 0x22, 0x33,
                          0x44, 0x00, 0x26, 0x42, 0x42, 0x03, 0x00, 0x00, 0x00, 0x00};
  const Bytes spoofed = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x5a, 0x11, 0x22, 0x33,
                         0x45,  // one bit off kClientMac
                         0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01};
  const Bytes dhcp_offer_header = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x5a, 0x11, 0x22, 0x33, 0x44, 0x08, 0x00,
      // IPv4: IHL 5, total 28, DF, TTL 64, UDP, 192.168.1.1 -> 255.255.255.255
      0x45, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x01,
      0x01, 0xff, 0xff, 0xff, 0xff,
      // UDP 67 -> 68, length 8
      0x00, 0x43, 0x00, 0x44, 0x00, 0x08, 0x00, 0x00};
  const Bytes ra = {
      0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x5a, 0x11, 0x22, 0x33, 0x44, 0x86, 0xdd,
      // IPv6: payload 16, next header ICMPv6, hop limit 255, fe80::1 -> ff02::1
      0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
      // ICMPv6 type 134 (Router Advertisement)
      0x86, 0x00, 0x00, 0x00, 0x40, 0x00, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00};
  Bytes esp = ra;
  esp[14 + 6] = 50;  // next header ESP
  const Bytes qinq = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x02, 0x5a, 0x11, 0x22,
                      0x33, 0x44, 0x81, 0x00, 0x00, 0x64, 0x88, 0xa8, 0x00, 0x01};

  EXPECT_EQ(filter_outcome(check_frame(runt, kMtu, kClient, kClientMac)), "runt");
  EXPECT_EQ(filter_outcome(check_frame(filler(kMtu + 15), kMtu, kGateway, kGatewayMac)), "jumbo");
  EXPECT_EQ(filter_outcome(check_frame(stp_bpdu, kMtu, kClient, kClientMac)), "switch_control");
  EXPECT_EQ(filter_outcome(check_frame(spoofed, kMtu, kClient, kClientMac)), "spoofed_source");
  EXPECT_EQ(filter_outcome(check_frame(dhcp_offer_header, kMtu, kClient, kClientMac)),
            "dhcp_server");
  EXPECT_EQ(filter_outcome(check_frame(ra, kMtu, kClient, kClientMac)), "router_advertisement");
  EXPECT_EQ(filter_outcome(check_frame(esp, kMtu, kClient, kClientMac)), "ipv6_uninspectable");
  EXPECT_EQ(filter_outcome(check_frame(qinq, kMtu, kClient, kClientMac)), "stacked_vlan");
  // The same RA from the gateway passes: rule 3 is for clients only.
  EXPECT_EQ(filter_outcome(check_frame(ra, kMtu, kGateway, kClientMac)), "forward");
}

TEST(CheckFrame, BuilderMatchesGoldenRouterAdvertisement) {
  const Bytes built = ipv6_frame(kIcmpv6, icmpv6(134, 16));
  ASSERT_EQ(built.size(), 14U + 40 + 16);
  EXPECT_EQ(built[12], 0x86);
  EXPECT_EQ(built[13], 0xdd);
  EXPECT_EQ(built[14 + 6], kIcmpv6);
  EXPECT_EQ(built[14 + 40], 134);
}

// The fuzz seeds are built by tests/make_corpus.py, independently of this file's builder:
// each must get the verdict its name promises. Byte 0 is the fuzzer's control byte.
TEST(CheckFrame, SeedCorpusFramesGetTheirVerdicts) {
  const std::pair<const char*, const char*> kExpected[] = {
      {"dhcp_offer", "dhcp_server"},      {"dhcp_discover", "forward"},
      {"gateway_dhcp_offer", "forward"},  {"router_advertisement", "router_advertisement"},
      {"arp_request", "forward"},         {"tagged_arp", "forward"},
      {"qinq", "stacked_vlan"},           {"ipv6_ext_chain_dhcpv6", "dhcp_server"},
      {"ipv6_ah_icmpv6", "forward"},      {"ipv6_fragment_nonfirst", "forward"},
      {"stp_bpdu", "switch_control"},     {"ipv4_fragment", "forward"},
      {"ipv6_esp", "ipv6_uninspectable"},
  };
  for (const auto& [name, verdict] : kExpected) {
    std::ifstream in(std::string(LANPARTY_PROTO_CORPUS_DIR) + "/frame_filter/" + name,
                     std::ios::binary);
    ASSERT_TRUE(in) << name;
    const Bytes seed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GE(seed.size(), 1U + 14) << name;
    const Bytes frame(seed.begin() + 1, seed.end());
    const auto role = (seed[0] & 1) != 0 ? kGateway : kClient;
    const auto sender =
        MacAddress::from_bytes(std::span<const std::uint8_t, 6>(frame.data() + 6, 6));
    EXPECT_EQ(filter_outcome(check_frame(frame, kMtu, role, sender)), verdict) << name;
  }
}

}  // namespace
}  // namespace lanparty::proto
