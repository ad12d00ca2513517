// SPDX-License-Identifier: MIT
// Datagrams over real QUIC (PROTOCOL.md sections 3 and 5): forwarding, every drop reason as a
// peer sees it in `stats`, probes, datagrams before welcome, and the relay.frame event.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "lanparty/proto/overlay_header.hpp"
#include "memory_trim.hpp"
#include "relay_harness.hpp"
#include "relay_test_support.hpp"

namespace lanparty::relay::testing {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

const proto::MacAddress kGatewayAddress = mac("00:11:22:33:44:55");
const proto::MacAddress kClientA = mac("02:5a:00:00:00:01");
const proto::MacAddress kClientB = mac("02:5a:00:00:00:02");
const proto::MacAddress kLanHost = mac("00:aa:bb:cc:dd:ee");
const proto::MacAddress kBroadcast = mac("ff:ff:ff:ff:ff:ff");

constexpr std::uint8_t kEthernet = 1;
constexpr std::uint8_t kProbe = 2;
constexpr std::uint8_t kProbeReply = 3;

// The gateway's hello fixes the room MTU at 598 (620 - 22): small enough that a jumbo frame
// fits any QUIC path, before or after path MTU discovery.
constexpr int kRoomMaxDatagram = 620;
constexpr std::size_t kRoomMtu = kRoomMaxDatagram - 22;

Bytes with_header(std::uint8_t version, std::uint8_t kind, std::uint16_t peer_id,
                  const Bytes& body) {
  Bytes out{version, kind, static_cast<std::uint8_t>(peer_id >> 8),
            static_cast<std::uint8_t>(peer_id & 0xff)};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// A room with a gateway and clients A and B, all joined.
struct Room {
  std::unique_ptr<RelayHarness> h;
  std::unique_ptr<TestPeer> gw;
  std::unique_ptr<TestPeer> a;
  std::unique_ptr<TestPeer> b;
};

Room start_room(bool with_gateway = true, HarnessOptions options = {}) {
  Room room;
  room.h = RelayHarness::start(std::move(options));
  if (!room.h) return room;
  if (with_gateway) {
    room.gw =
        room.h->join(hello_json("gateway", "ROOM1", kGatewayAddress.to_string(), kRoomMaxDatagram));
  }
  room.a = room.h->join(hello_json("client", "ROOM1", kClientA.to_string(), kRoomMaxDatagram));
  room.b = room.h->join(hello_json("client", "ROOM1", kClientB.to_string(), kRoomMaxDatagram));
  return room;
}

bool ready(const Room& room, bool with_gateway = true) {
  return room.h && room.a && room.b && (!with_gateway || room.gw);
}

// Stats as PROTOCOL.md defines them for a peer that sent `sent` and was sent nothing.
ctrl::Stats sender_stats(const std::vector<Bytes>& sent, ctrl::Stats::Counts dropped) {
  ctrl::Stats s;
  for (const Bytes& d : sent) {
    if (d.size() >= 2 && d[1] == kProbe) continue;
    ++s.rx_frames;
    s.rx_bytes += d.size() >= 4 ? d.size() - 4 : 0;
  }
  s.dropped = std::move(dropped);
  return s;
}

::testing::AssertionResult stats_become(TestPeer& peer, const ctrl::Stats& expected) {
  const auto last = peer.wait_stats([&](const ctrl::Stats& s) { return s == expected; });
  if (last && *last == expected) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << "expected stats " << ctrl::encode_json(expected) << ", last seen ";
  if (last) {
    failure << ctrl::encode_json(*last);
  } else {
    failure << "none";
  }
  return failure;
}

// After a fence, the frames (kind 1) `peer` received.
std::vector<ReceivedDatagram> frames_after_fence(TestPeer& peer) {
  EXPECT_TRUE(peer.probe_fence());
  return peer.frames();
}

// --- forwarding --------------------------------------------------------------------------

TEST(RelayForwarding, BroadcastFloodsToEveryOtherPeerButNotTheSender) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  const Bytes arp = frame(kBroadcast, kClientA, 0x0806);
  ASSERT_TRUE(succeeded(r.a->send_frame(arp)));

  for (TestPeer* receiver : {r.gw.get(), r.b.get()}) {
    ASSERT_TRUE(receiver->run_until([&] { return receiver->frames().size() == 1; }));
    const ReceivedDatagram got = receiver->frames()[0];
    EXPECT_EQ(got.peer_id, r.a->peer_id());
    EXPECT_EQ(got.body, arp);
  }
  EXPECT_TRUE(frames_after_fence(*r.a).empty());

  ctrl::Stats to_receiver;
  to_receiver.tx_frames = 1;
  to_receiver.tx_bytes = arp.size();
  EXPECT_TRUE(stats_become(*r.gw, to_receiver));
  EXPECT_TRUE(stats_become(*r.b, to_receiver));
  EXPECT_TRUE(stats_become(*r.a, sender_stats({with_header(1, 1, 0, arp)}, {})));
}

TEST(RelayRateLimit, ABroadcastStormIsCutToThePeersBroadcastRateAndCounted) {
  HarnessOptions options;
  options.relay.peer_broadcast_rate = RateLimit{.frames_per_second = 100};
  Room r = start_room(true, std::move(options));
  ASSERT_TRUE(ready(r));
  const Bytes arp = frame(kBroadcast, kClientA, 0x0806);
  const Bytes unicast = ipv4_udp_frame(kClientB, kClientA, 4000, 4001);
  constexpr std::size_t kBroadcasts = 400;
  // In batches the sender's own datagram queue holds; unicast after each batch.
  for (int batch = 0; batch < 4; ++batch) {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(succeeded(r.a->send_frame(arp)));
    ASSERT_TRUE(succeeded(r.a->send_frame(unicast)));
    ASSERT_TRUE(r.a->probe_fence());
  }
  ASSERT_TRUE(r.b->probe_fence());
  std::size_t broadcasts_to_b = 0;
  std::size_t unicasts_to_b = 0;
  for (const ReceivedDatagram& got : r.b->frames()) {
    if (got.body == arp) ++broadcasts_to_b;
    if (got.body == unicast) ++unicasts_to_b;
  }
  const std::uint64_t limited = r.h->relay().totals().drops.count(proto::DropReason::kRateLimited);
  // Every broadcast either went out or was counted; the burst (64) went out, and at 100/s
  // most of the storm did not. Unicast has its own budget and all of it went out.
  EXPECT_EQ(broadcasts_to_b + limited, kBroadcasts);
  EXPECT_GE(broadcasts_to_b, 64u);
  EXPECT_GE(limited, 100u);
  EXPECT_EQ(unicasts_to_b, 4u);
  // The sender hears it in its stats.
  const auto reports_limited = [&](const ctrl::Stats& s) {
    for (const auto& [reason, n] : s.dropped) {
      if (reason == "rate_limited") return n == limited;
    }
    return false;
  };
  const auto last = r.a->wait_stats(reports_limited);
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(reports_limited(*last)) << ctrl::encode_json(*last);
  EXPECT_FALSE(r.a->closed());
}

TEST(RelayForwarding, MulticastFromTheGatewayFloodsToEveryClient) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  const Bytes mdns = ipv4_udp_frame(mac("01:00:5e:00:00:fb"), kLanHost, 5353, 5353);
  ASSERT_TRUE(succeeded(r.gw->send_frame(mdns)));
  for (TestPeer* receiver : {r.a.get(), r.b.get()}) {
    ASSERT_TRUE(receiver->run_until([&] { return receiver->frames().size() == 1; }));
    EXPECT_EQ(receiver->frames()[0].peer_id, r.gw->peer_id());
    EXPECT_EQ(receiver->frames()[0].body, mdns);
  }
  EXPECT_TRUE(frames_after_fence(*r.gw).empty());
}

TEST(RelayForwarding, UnicastToAPeerGoesToThatPeerOnly) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  const Bytes packet = ipv4_udp_frame(kClientB, kClientA, 4000, 4001);
  ASSERT_TRUE(succeeded(r.a->send_frame(packet)));
  ASSERT_TRUE(r.b->run_until([&] { return r.b->frames().size() == 1; }));
  EXPECT_EQ(r.b->frames()[0].peer_id, r.a->peer_id());
  EXPECT_EQ(r.b->frames()[0].body, packet);
  EXPECT_TRUE(frames_after_fence(*r.gw).empty());
  EXPECT_TRUE(frames_after_fence(*r.a).empty());
}

TEST(RelayMemory, TheTrimGivesBackTheBuffersABurstTouchedAndTheRoomStillForwards) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  auto resident = [&] { return r.h->server().udp_stats().buffer_resident_bytes; };
  MemoryTrim trim(r.h->loop(), r.h->server(), 100ms);
  trim.trim_now();
  EXPECT_EQ(resident(), 0u);

  // A burst of frames from A to B touches the relay's receive batches and its send buffer.
  constexpr std::size_t kBurst = 200;
  for (std::size_t i = 0; i < kBurst; ++i) {
    ASSERT_TRUE(succeeded(r.a->send_frame(frame(kClientB, kClientA, 0x88b5, 500))));
  }
  ASSERT_TRUE(r.b->run_until([&] { return r.b->frames().size() == kBurst; }));
  EXPECT_GT(resident(), 0u);

  // The timer hands the pages back while the room sits idle...
  EXPECT_TRUE(r.h->run_until([&] { return resident() == 0; }, 2s));
  // ...and they come back on demand: the next frame arrives whole.
  const Bytes packet = ipv4_udp_frame(kClientB, kClientA, 4000, 4001);
  ASSERT_TRUE(succeeded(r.a->send_frame(packet)));
  ASSERT_TRUE(r.b->run_until([&] { return r.b->frames().size() == kBurst + 1; }));
  EXPECT_EQ(r.b->frames().back().body, packet);
}

TEST(RelayForwarding, GatewayUnicastToAClientReachesIt) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  const Bytes packet = ipv4_udp_frame(kClientA, kLanHost, 53, 4000);
  ASSERT_TRUE(succeeded(r.gw->send_frame(packet)));
  ASSERT_TRUE(r.a->run_until([&] { return r.a->frames().size() == 1; }));
  EXPECT_EQ(r.a->frames()[0].peer_id, r.gw->peer_id());
  EXPECT_EQ(r.a->frames()[0].body, packet);
  EXPECT_TRUE(frames_after_fence(*r.b).empty());
}

TEST(RelayForwarding, UnknownUnicastFromAClientGoesToTheGateway) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  const Bytes packet = ipv4_udp_frame(kLanHost, kClientA, 4000, 80);
  ASSERT_TRUE(succeeded(r.a->send_frame(packet)));
  ASSERT_TRUE(r.gw->run_until([&] { return r.gw->frames().size() == 1; }));
  EXPECT_EQ(r.gw->frames()[0].peer_id, r.a->peer_id());
  EXPECT_EQ(r.gw->frames()[0].body, packet);
  EXPECT_TRUE(frames_after_fence(*r.b).empty());
}

TEST(RelayForwarding, FramesAtTheRoomMtuLimitAreForwarded) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  ASSERT_EQ(r.a->welcome().mtu, kRoomMtu);
  const Bytes untagged = frame(kClientB, kClientA, 0x0800, kRoomMtu);          // mtu + 14
  const Bytes tagged = tagged_frame(kClientB, kClientA, 7, 0x0800, kRoomMtu);  // mtu + 18
  ASSERT_TRUE(succeeded(r.a->send_frame(untagged)));
  ASSERT_TRUE(succeeded(r.a->send_frame(tagged)));
  ASSERT_TRUE(r.b->run_until([&] { return r.b->frames().size() == 2; }));
  std::vector<Bytes> bodies{r.b->frames()[0].body, r.b->frames()[1].body};
  EXPECT_THAT(bodies, ::testing::UnorderedElementsAre(untagged, tagged));
}

TEST(RelayForwarding, ClientOnlyFiltersDoNotApplyToTheGateway) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  // The LAN's DHCP server and router are behind the gateway.
  const Bytes dhcp_offer = ipv4_udp_frame(kBroadcast, kLanHost, 67, 68);
  const Bytes router_advert = icmpv6_frame(mac("33:33:00:00:00:01"), kLanHost, 134);
  ASSERT_TRUE(succeeded(r.gw->send_frame(dhcp_offer)));
  ASSERT_TRUE(succeeded(r.gw->send_frame(router_advert)));
  ASSERT_TRUE(r.a->run_until([&] { return r.a->frames().size() == 2; }));
  std::vector<Bytes> bodies{r.a->frames()[0].body, r.a->frames()[1].body};
  EXPECT_THAT(bodies, ::testing::UnorderedElementsAre(dhcp_offer, router_advert));
}

// --- drops -------------------------------------------------------------------------------

enum class Sender { kClient, kGateway };

struct DropCase {
  const char* name;
  Sender sender;
  // The whole datagram payload, given the sender's peer id.
  std::function<Bytes(std::uint16_t sender_id)> datagram;
  const char* reason;
  bool section5 = true;  // a forwarding decision, logged as relay.frame
};

Bytes kind1(std::uint16_t id, const Bytes& ethernet) {
  return with_header(1, kEthernet, id, ethernet);
}

std::vector<DropCase> drop_cases() {
  const auto ok_frame = frame(kBroadcast, kClientA, 0x0806);
  return {
      // Section 3: the overlay header.
      {"BadHeader", Sender::kClient,
       [](std::uint16_t) {
         return Bytes{1, 1, 0};
       },
       "bad_header", false},
      // A kind byte of 2 makes it a probe for stats even though the header is cut short.
      {"ShortProbeIsBadHeaderAndNotRx", Sender::kClient,
       [](std::uint16_t) {
         return Bytes{1, kProbe, 0};
       },
       "bad_header", false},
      {"BadVersion", Sender::kClient,
       [=](std::uint16_t id) { return with_header(2, kEthernet, id, ok_frame); }, "bad_version",
       false},
      {"BadKindReplyFromPeer", Sender::kClient,
       [=](std::uint16_t id) { return with_header(1, kProbeReply, id, ok_frame); }, "bad_kind",
       false},
      {"BadKindZero", Sender::kClient,
       [=](std::uint16_t id) { return with_header(1, 0, id, ok_frame); }, "bad_kind", false},
      {"BadPeerId", Sender::kClient,
       [=](std::uint16_t id) {
         return with_header(1, kEthernet, static_cast<std::uint16_t>(id + 100), ok_frame);
       },
       "bad_peer_id", false},
      // Section 5 rule 1.
      {"Runt", Sender::kClient,
       [](std::uint16_t id) {
         Bytes f = frame(kBroadcast, kClientA, 0x0806, 0);
         f.pop_back();  // 13 bytes
         return kind1(id, f);
       },
       "runt"},
      {"RuntTagged", Sender::kClient,
       [](std::uint16_t id) {
         Bytes f = tagged_frame(kBroadcast, kClientA, 7, 0x0806, 0);
         f.pop_back();  // 17 bytes with 0x8100
         return kind1(id, f);
       },
       "runt"},
      {"Jumbo", Sender::kClient,
       [](std::uint16_t id) { return kind1(id, frame(kClientB, kClientA, 0x0800, kRoomMtu + 1)); },
       "jumbo"},
      {"JumboTagged", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, tagged_frame(kClientB, kClientA, 7, 0x0800, kRoomMtu + 1));
       },
       "jumbo"},
      {"JumboFromGateway", Sender::kGateway,
       [](std::uint16_t id) { return kind1(id, frame(kClientB, kLanHost, 0x0800, kRoomMtu + 1)); },
       "jumbo"},
      // Rule 2, for every sender.
      {"SwitchControlDestination", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, frame(mac("01:80:c2:00:00:00"), kClientA, 0x0027));
       },
       "switch_control"},
      {"SwitchControlDestinationFromGateway", Sender::kGateway,
       [](std::uint16_t id) {
         return kind1(id, frame(mac("01:80:c2:00:00:0f"), kLanHost, 0x0800));
       },
       "switch_control"},
      {"SlowProtocols", Sender::kGateway,
       [](std::uint16_t id) {
         return kind1(id, frame(mac("01:80:c2:00:00:02"), kLanHost, 0x8808));
       },
       "switch_control"},
      {"SlowProtocolsBehindTag", Sender::kClient,
       [](std::uint16_t id) { return kind1(id, tagged_frame(kBroadcast, kClientA, 7, 0x8808)); },
       "switch_control"},
      // Rule 3, clients only.
      {"SpoofedSource", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, frame(kBroadcast, mac("02:5a:00:00:00:99"), 0x0806));
       },
       "spoofed_source"},
      {"DhcpServerIpv4", Sender::kClient,
       [](std::uint16_t id) { return kind1(id, ipv4_udp_frame(kBroadcast, kClientA, 67, 68)); },
       "dhcp_server"},
      {"DhcpServerIpv4BehindTag", Sender::kClient,
       [](std::uint16_t id) {
         Bytes inner = ipv4_udp_frame(kBroadcast, kClientA, 67, 68);
         Bytes f = tagged_frame(kBroadcast, kClientA, 7, 0x0800, 0);
         f.insert(f.end(), inner.begin() + 14, inner.end());
         return kind1(id, f);
       },
       "dhcp_server"},
      {"DhcpServerIpv6", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, ipv6_udp_frame(mac("33:33:00:01:00:02"), kClientA, 547, 546));
       },
       "dhcp_server"},
      {"RouterAdvertisement", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, icmpv6_frame(mac("33:33:00:00:00:01"), kClientA, 134));
       },
       "router_advertisement"},
      {"Ipv6HeaderTruncated", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, frame(mac("33:33:00:00:00:01"), kClientA, 0x86dd, 39));
       },
       "ipv6_uninspectable"},
      {"Ipv6Esp", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id,
                      ipv6_frame(mac("33:33:00:00:00:01"), kClientA, 50, {0, 0, 1, 0, 0, 0, 0, 1}));
       },
       "ipv6_uninspectable"},
      {"Ipv6UdpTooShort", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, ipv6_frame(mac("33:33:00:00:00:01"), kClientA, 17, {2, 35, 2, 34}));
       },
       "ipv6_uninspectable"},
      {"StackedVlanQinQ", Sender::kClient,
       [](std::uint16_t id) { return kind1(id, frame(kBroadcast, kClientA, 0x88a8)); },
       "stacked_vlan"},
      {"StackedVlanDoubleTag", Sender::kClient,
       [](std::uint16_t id) { return kind1(id, tagged_frame(kBroadcast, kClientA, 7, 0x8100)); },
       "stacked_vlan"},
      // Rule 4, the gateway only.
      {"LoopSource", Sender::kGateway,
       [](std::uint16_t id) { return kind1(id, frame(kBroadcast, kClientA, 0x0806)); },
       "loop_source"},
      // Rule 6.
      {"ReflectionFromClient", Sender::kClient,
       [](std::uint16_t id) { return kind1(id, frame(kClientA, kClientA, 0x0800)); }, "reflection"},
      {"ReflectionFromGateway", Sender::kGateway,
       [](std::uint16_t id) { return kind1(id, frame(kGatewayAddress, kLanHost, 0x0800)); },
       "reflection"},
      // Rule 7.
      {"UnknownDestinationFromGateway", Sender::kGateway,
       [](std::uint16_t id) {
         return kind1(id, frame(mac("00:aa:bb:cc:dd:ff"), kLanHost, 0x0800));
       },
       "unknown_destination"},
      // The first rule that drops names the reason.
      {"JumboBeforeSwitchControl", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, frame(mac("01:80:c2:00:00:00"), kClientA, 0x0800, kRoomMtu + 1));
       },
       "jumbo"},
      {"SwitchControlBeforeSpoofedSource", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, frame(mac("01:80:c2:00:00:00"), mac("02:5a:00:00:00:99"), 0x0800));
       },
       "switch_control"},
      {"SpoofedSourceBeforeDhcpServer", Sender::kClient,
       [](std::uint16_t id) {
         return kind1(id, ipv4_udp_frame(kBroadcast, mac("02:5a:00:00:00:99"), 67, 68));
       },
       "spoofed_source"},
      {"BadPeerIdBeforeRunt", Sender::kClient,
       [](std::uint16_t id) {
         return with_header(1, kEthernet, static_cast<std::uint16_t>(id + 1), Bytes{1, 2, 3});
       },
       "bad_peer_id", false},
  };
}

class DropTest : public ::testing::TestWithParam<DropCase> {};

TEST_P(DropTest, SenderSeesTheReasonInStatsAndNobodyGetsTheFrame) {
  const DropCase& c = GetParam();
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  TestPeer& sender = c.sender == Sender::kGateway ? *r.gw : *r.a;
  const Bytes datagram = c.datagram(sender.peer_id());
  ASSERT_TRUE(succeeded(sender.send_raw_datagram(datagram)));

  EXPECT_TRUE(stats_become(sender, sender_stats({datagram}, {{c.reason, 1}})));
  for (TestPeer* other : {r.gw.get(), r.a.get(), r.b.get()}) {
    EXPECT_TRUE(frames_after_fence(*other).empty()) << "at peer " << other->peer_id();
  }
  const auto reason = proto::parse_drop_reason(c.reason);
  ASSERT_TRUE(reason);
  EXPECT_EQ(r.h->relay().totals().drops.count(*reason), 1u);
  EXPECT_EQ(r.h->relay().totals().drops.total(), 1u);

  const auto decisions = r.h->log().named("relay.frame");
  if (c.section5) {
    ASSERT_EQ(decisions.size(), 1u);
    EXPECT_EQ(decisions[0].text("action"), "drop");
    EXPECT_EQ(decisions[0].text("reason"), c.reason);
    EXPECT_EQ(decisions[0].text("targets"), "0");
  } else {
    EXPECT_TRUE(decisions.empty()) << "header drops happen before any forwarding decision";
  }
}

INSTANTIATE_TEST_SUITE_P(Reasons, DropTest, ::testing::ValuesIn(drop_cases()),
                         [](const ::testing::TestParamInfo<DropCase>& case_info) {
                           return std::string(case_info.param.name);
                         });

TEST(RelayDrops, UnknownUnicastWithoutAGatewayIsNoGateway) {
  Room r = start_room(/*with_gateway=*/false);
  ASSERT_TRUE(ready(r, false));
  const Bytes datagram = kind1(r.a->peer_id(), frame(kLanHost, kClientA, 0x0800));
  ASSERT_TRUE(succeeded(r.a->send_raw_datagram(datagram)));
  EXPECT_TRUE(stats_become(*r.a, sender_stats({datagram}, {{"no_gateway", 1}})));
  EXPECT_TRUE(frames_after_fence(*r.b).empty());
}

TEST(RelayDrops, DatagramsBeforeWelcomeAreNotAdmittedAndNotCountedForThePeer) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(succeeded(peer->send_raw_datagram(kind1(1, frame(kBroadcast, kClientA, 0x0806)))));
  ASSERT_TRUE(succeeded(peer->send_raw_datagram(with_header(1, kProbe, 1, Bytes{1, 2, 3}))));
  ASSERT_TRUE(h->run_until(
      [&] { return h->relay().totals().drops.count(proto::DropReason::kNotAdmitted) == 2; }));
  EXPECT_EQ(h->relay().totals().frames.rx_frames, 0u);
  EXPECT_EQ(h->relay().totals().probes, 0u);
  EXPECT_TRUE(peer->datagrams().empty()) << "a probe before welcome is not answered";

  ASSERT_TRUE(peer->join(hello_json("client", "ROOM1", kClientA.to_string())));
  EXPECT_TRUE(stats_become(*peer, ctrl::Stats{}));
}

// --- probes ------------------------------------------------------------------------------

TEST(RelayProbe, EchoedToTheSenderAloneAsKindThreeWithPeerIdZero) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  for (const Bytes& body : {Bytes{}, Bytes{'r', 't', 't', 0, 1, 2}, Bytes(1000, 0x5a)}) {
    const std::size_t before = r.a->datagrams().size();
    ASSERT_TRUE(succeeded(r.a->send_datagram(kProbe, r.a->peer_id(), body)));
    ASSERT_TRUE(r.a->run_until([&] { return r.a->datagrams().size() == before + 1; }));
    const ReceivedDatagram& reply = r.a->datagrams().back();
    EXPECT_EQ(reply.kind, kProbeReply);
    EXPECT_EQ(reply.peer_id, 0u);
    EXPECT_EQ(reply.body, body);
  }
  for (TestPeer* other : {r.gw.get(), r.b.get()}) {
    ASSERT_TRUE(other->probe_fence());
    EXPECT_EQ(other->datagrams().size(), 1u) << "only the reply to its own fence";
  }
}

TEST(RelayProbe, ProbesAreNotCountedInRxEvenWhenDropped) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  const std::uint16_t id = r.a->peer_id();
  const Bytes arp = frame(kBroadcast, kClientA, 0x0806);
  const std::vector<Bytes> sent{
      with_header(1, kProbe, id, Bytes(100, 1)),
      with_header(1, kProbe, id, Bytes(200, 2)),
      with_header(1, kProbe, static_cast<std::uint16_t>(id + 1), Bytes(50, 3)),  // bad_peer_id
      with_header(2, kProbe, id, Bytes(50, 4)),                                  // bad_version
      kind1(id, arp),
  };
  for (const Bytes& d : sent) ASSERT_TRUE(succeeded(r.a->send_raw_datagram(d)));
  ctrl::Stats expected = sender_stats(sent, {{"bad_peer_id", 1}, {"bad_version", 1}});
  ASSERT_EQ(expected.rx_frames, 1u);
  EXPECT_TRUE(stats_become(*r.a, expected));
  EXPECT_EQ(r.h->relay().totals().probes, 4u);
}

// --- stats and the decision log ----------------------------------------------------------

TEST(RelayStats, CountsAccumulateAcrossFramesInBothDirections) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  const Bytes to_b = ipv4_udp_frame(kClientB, kClientA, 1, 2, 100);
  const Bytes to_all = frame(kBroadcast, kClientA, 0x0806);
  const Bytes spoofed = frame(kBroadcast, kLanHost, 0x0806);
  const Bytes from_b = ipv4_udp_frame(kClientA, kClientB, 2, 1, 300);
  std::vector<Bytes> a_sent{kind1(r.a->peer_id(), to_b), kind1(r.a->peer_id(), to_all),
                            kind1(r.a->peer_id(), to_all), kind1(r.a->peer_id(), spoofed)};
  for (const Bytes& d : a_sent) ASSERT_TRUE(succeeded(r.a->send_raw_datagram(d)));
  ASSERT_TRUE(succeeded(r.b->send_frame(from_b)));

  ctrl::Stats a_expected = sender_stats(a_sent, {{"spoofed_source", 1}});
  a_expected.tx_frames = 1;
  a_expected.tx_bytes = from_b.size();
  EXPECT_TRUE(stats_become(*r.a, a_expected));

  ctrl::Stats b_expected = sender_stats({kind1(0, from_b)}, {});
  b_expected.tx_frames = 3;
  b_expected.tx_bytes = to_b.size() + 2 * to_all.size();
  EXPECT_TRUE(stats_become(*r.b, b_expected));
}

TEST(RelayStats, DecisionEventCarriesEveryField) {
  Room r = start_room();
  ASSERT_TRUE(ready(r));
  const Bytes packet = ipv4_udp_frame(kClientB, kClientA, 4000, 4001);
  const Bytes arp = frame(kBroadcast, kClientA, 0x0806);
  ASSERT_TRUE(succeeded(r.a->send_frame(packet)));
  ASSERT_TRUE(r.h->run_until([&] { return r.h->log().count("relay.frame") == 1; }));
  ASSERT_TRUE(succeeded(r.a->send_frame(arp)));
  ASSERT_TRUE(r.h->run_until([&] { return r.h->log().count("relay.frame") == 2; }));

  const auto events = r.h->log().named("relay.frame");
  const auto& forward = events[0];
  EXPECT_EQ(forward.level, obs::Level::kDebug);
  EXPECT_EQ(forward.text("room"), "ROOM1");
  EXPECT_EQ(forward.text("peer_id"), std::to_string(r.a->peer_id()));
  EXPECT_EQ(forward.text("src"), "02:5a:00:00:00:01");
  EXPECT_EQ(forward.text("dst"), "02:5a:00:00:00:02");
  EXPECT_EQ(forward.text("ethertype"), "0x0800");
  EXPECT_EQ(forward.text("length"), std::to_string(packet.size()));
  EXPECT_EQ(forward.text("action"), "forward");
  EXPECT_EQ(forward.text("reason"), "");
  EXPECT_EQ(forward.text("targets"), "1");

  const auto& flood = events[1];
  EXPECT_EQ(flood.text("dst"), "ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(flood.text("ethertype"), "0x0806");
  EXPECT_EQ(flood.text("action"), "flood");
  EXPECT_EQ(flood.text("targets"), "2");
}

}  // namespace
}  // namespace lanparty::relay::testing
