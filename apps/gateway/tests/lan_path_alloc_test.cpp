// SPDX-License-Identifier: MIT
// No heap allocation per frame on the gateway's LAN paths, once warm, through a real packet
// socket: frames from the room through LanWriter (TCP segments merged into super-frames, other
// frames batched into one sendmmsg), and the same frames read back with recvmmsg (receive())
// and finished for the room by forward_lan_frame. The socket is on the loopback interface of a
// network namespace of its own, where what is sent comes straight back in. A counting operator
// new (this binary only) counts every allocation while the frames go through. Needs root.
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "allocation_counter.hpp"
#include "lan_policy.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "linux/packet_socket.hpp"
#include "tcp_stream.hpp"

namespace lanparty::gateway {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A private network namespace (gone with the process) with its loopback up, and a packet
// socket on it.
std::unique_ptr<PacketSocket> open_loopback_or_skip() {
  if (::geteuid() != 0 || ::unshare(CLONE_NEWNET) != 0) return nullptr;
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return nullptr;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_UP;
  const int rc = ::ioctl(sock, SIOCSIFFLAGS, &ifr);
  ::close(sock);
  if (rc != 0) return nullptr;
  auto socket = PacketSocket::open("lo", proto::kOverlayHeaderSize);
  EXPECT_TRUE(socket) << socket.error().describe();
  return socket ? std::move(*socket) : nullptr;
}

TEST(LanPathAllocations, RoomToLanAndBackWithoutAllocating) {
  auto lan = open_loopback_or_skip();
  if (!lan) GTEST_SKIP() << "needs root and a network namespace";
  const auto client = *proto::MacAddress::parse("02:5a:00:77:00:01");
  const auto host = *proto::MacAddress::parse("02:5a:00:77:00:02");
  client_core::RemotePeers peers;
  ctrl::PeerInfo peer;
  peer.peer_id = 2;
  peer.role = ctrl::Role::kClient;
  peer.mac = client;
  peers.add(peer);

  LanWriter writer(*lan, /*coalesce=*/true);
  proto::LocalFrameFinisher finisher(proto::kOverlayHeaderSize);
  // A broadcast that is never merged: batched by sendmmsg.
  Bytes broadcast(60, 0);
  std::fill(broadcast.begin(), broadcast.begin() + 6, 0xff);
  std::copy(host.bytes().begin(), host.bytes().end(), broadcast.begin() + 6);
  broadcast[12] = 0x08;
  broadcast[13] = 0x06;
  std::vector<std::vector<Bytes>> batches;
  for (std::uint32_t i = 0; i < 60; ++i) {
    batches.push_back(proto::test_support::tcp_segments(client, host, 1 + i * 20 * 1448, 20));
    ASSERT_EQ(batches.back().size(), 20u);
  }
  std::size_t frames_back = 0, bytes_to_room = 0;
  auto run = [&](std::size_t from, std::size_t to) {
    for (std::size_t b = from; b < to; ++b) {
      for (std::size_t s = 0; s < batches[b].size(); ++s) {
        writer.write(batches[b][s]);
        if (s % 5 == 0) writer.write(broadcast);
      }
      writer.end_of_batch();
      // What loopback brings back in: super-frames (cut for the room) and broadcasts.
      for (;;) {
        auto read = lan->receive();
        if (!read || *read == 0) break;
        for (const auto& frame : lan->frames()) {
          ++frames_back;
          (void)forward_lan_frame(
              frame.datagram, frame.offload, peers, 1380, finisher,
              [&](std::span<std::uint8_t> out) { bytes_to_room += out.size(); });
        }
      }
    }
  };
  run(0, 10);  // warm-up
  const std::size_t warm_frames = frames_back;
  ASSERT_TRUE(testing_support::allocation_counter_in_effect());
  testing_support::AllocationCount count;
  run(10, batches.size());
  EXPECT_EQ(count.stop(), 0u) << "for " << 50 * 24 << " frames each way";
  EXPECT_EQ(lan->drops().send_failed, 0u);
  const auto& c = *writer.coalesce_counters();
  EXPECT_GE(c.super_frames, 60u * 4) << "runs between broadcasts are merged";
  EXPECT_GE(frames_back - warm_frames, 50u * 8) << "super-frames and broadcasts came back in";
  EXPECT_GT(finisher.counters().super_frames, 0u) << "super-frames cut for the room";
  EXPECT_GT(bytes_to_room, 50u * 20 * 1448);
}

}  // namespace
}  // namespace lanparty::gateway
