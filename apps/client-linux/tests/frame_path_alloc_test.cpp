// SPDX-License-Identifier: MIT
// No heap allocation per frame on the client's TAP paths, once warm: frames from the room
// through TapWriter (merged TCP super-frames and plain frames) into a real TAP with offloads,
// and frames the kernel sends out of that TAP through read_frame and LocalFrameFinisher. A
// counting operator new (this binary only) counts every allocation while the frames go through.
// Needs root and /dev/net/tun; runs in a network namespace of its own (10.213.77.0/24).
#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "allocation_counter.hpp"
#include "lanparty/proto/offload.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "linux/tap_device.hpp"
#include "linux/tap_writer.hpp"
#include "tcp_stream.hpp"

namespace lanparty::client_linux {
namespace {

using Bytes = std::vector<std::uint8_t>;
using testing_support::AllocationCount;

// A private network namespace (gone with the process) and a TAP with offloads in it, up.
std::unique_ptr<TapDevice> open_tap_or_skip() {
  if (::geteuid() != 0 || ::access("/dev/net/tun", R_OK | W_OK) != 0) return nullptr;
  if (::unshare(CLONE_NEWNET) != 0) return nullptr;
  auto tap = TapDevice::open("lpalloc0", /*offloads=*/true);
  if (!tap) return nullptr;
  EXPECT_TRUE((*tap)->set_mac(*proto::MacAddress::parse("02:5a:00:77:00:01")));
  EXPECT_TRUE((*tap)->set_mtu(1500));
  EXPECT_TRUE((*tap)->set_up(true));
  return std::move(*tap);
}

TEST(FramePathAllocations, RoomToTapWritesWithoutAllocating) {
  auto tap = open_tap_or_skip();
  if (!tap) GTEST_SKIP() << "needs root, /dev/net/tun and a network namespace";
  TapWriter writer(*tap);
  ASSERT_NE(writer.coalesce_counters(), nullptr);
  // An ARP request: never merged, written from the caller's buffer.
  const Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x5a, 0x00, 0x77, 0x00, 0x02,
                     0x08, 0x06, 0,    1,    8,    0,    6,    4,    0,    1,    2,    0x5a,
                     0,    0x77, 0,    2,    10,   213,  77,   2,    0,    0,    0,    0,
                     0,    0,    0,    0,    10,   213,  77,   1,    0,    0,    0,    0,
                     0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0};
  std::vector<std::vector<Bytes>> batches;
  const auto tap_mac = *proto::MacAddress::parse("02:5a:00:77:00:01");
  const auto peer_mac = *proto::MacAddress::parse("02:5a:00:77:00:02");
  for (std::uint32_t i = 0; i < 60; ++i) {
    batches.push_back(proto::test_support::tcp_segments(tap_mac, peer_mac, 1 + i * 40 * 1448, 40));
    ASSERT_EQ(batches.back().size(), 40u);
  }
  auto run = [&](std::size_t from, std::size_t to) {
    for (std::size_t b = from; b < to; ++b) {
      for (std::size_t s = 0; s < batches[b].size(); ++s) {
        writer.write(batches[b][s]);
        if (s == 20) writer.write(arp);  // another frame in the middle of the run
      }
      writer.end_of_batch();
    }
  };
  run(0, 10);  // warm-up
  ASSERT_TRUE(testing_support::allocation_counter_in_effect());
  AllocationCount count;
  run(10, batches.size());
  const auto allocations = count.stop();
  EXPECT_EQ(allocations, 0u) << "for " << 50 * 41 << " frames";
  EXPECT_EQ(writer.write_errors(), 0u);
  const auto& c = *writer.coalesce_counters();
  EXPECT_EQ(c.super_frames, 120u) << "two super-frames a batch: before and after the ARP";
  EXPECT_EQ(c.merged, 60u * 40u);
}

TEST(FramePathAllocations, TapToRoomReadsAndFinishesWithoutAllocating) {
  auto tap = open_tap_or_skip();
  if (!tap) GTEST_SKIP() << "needs root, /dev/net/tun and a network namespace";
  // 10.213.77.1/24 on the TAP, and a neighbour 10.213.77.2 with a fixed MAC, so datagrams to
  // it leave through the TAP at once.
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, tap->name().c_str(), IFNAMSIZ - 1);
  auto* addr = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  addr->sin_family = AF_INET;
  ::inet_pton(AF_INET, "10.213.77.1", &addr->sin_addr);
  ASSERT_EQ(::ioctl(sock, SIOCSIFADDR, &ifr), 0);
  ::inet_pton(AF_INET, "255.255.255.0", &addr->sin_addr);
  ASSERT_EQ(::ioctl(sock, SIOCSIFNETMASK, &ifr), 0);
  arpreq arp{};
  auto* pa = reinterpret_cast<sockaddr_in*>(&arp.arp_pa);
  pa->sin_family = AF_INET;
  ::inet_pton(AF_INET, "10.213.77.2", &pa->sin_addr);
  arp.arp_ha.sa_family = ARPHRD_ETHER;
  const std::uint8_t peer_mac[6] = {0x02, 0x5a, 0x00, 0x77, 0x00, 0x02};
  std::memcpy(arp.arp_ha.sa_data, peer_mac, 6);
  arp.arp_flags = ATF_COM | ATF_PERM;
  std::strncpy(arp.arp_dev, tap->name().c_str(), sizeof(arp.arp_dev) - 1);
  ASSERT_EQ(::ioctl(sock, SIOCSARP, &arp), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  ::inet_pton(AF_INET, "10.213.77.2", &to.sin_addr);

  std::vector<std::uint8_t> buffer(proto::kOverlayHeaderSize + TapDevice::kMaxReadBytes);
  proto::LocalFrameFinisher finisher(proto::kOverlayHeaderSize);
  const Bytes payload(1200, 0x5a);
  std::size_t sent_on = 0;
  auto round = [&](int frames) {
    int got = 0;
    for (int i = 0; i < frames; ++i) {
      (void)::sendto(sock, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof(to));
      // The kernel may send other frames of its own (IPv6 router solicitations...): read
      // until the datagram's frame came.
      for (int tries = 0; tries < 8; ++tries) {
        auto read = tap->read_frame(std::span(buffer).subspan(proto::kOverlayHeaderSize));
        if (!read || read->size == 0) break;
        auto datagram = std::span(buffer).first(proto::kOverlayHeaderSize + read->size);
        (void)finisher.finish(datagram, read->offload, 1500,
                              [&](std::span<std::uint8_t> out) { sent_on += out.size(); });
        if (read->size >= 14 + 28 + payload.size()) {
          ++got;
          break;
        }
      }
    }
    return got;
  };
  EXPECT_EQ(round(20), 20);  // warm-up
  ASSERT_TRUE(testing_support::allocation_counter_in_effect());
  AllocationCount count;
  const int got = round(500);
  const auto allocations = count.stop();
  EXPECT_EQ(got, 500);
  EXPECT_EQ(allocations, 0u) << "for " << got << " frames";
  EXPECT_GT(finisher.counters().checksum_completed, 0u) << "the TAP left checksums to us";
  EXPECT_GT(sent_on, 500u * 1200u);
  ::close(sock);
}

}  // namespace
}  // namespace lanparty::client_linux
