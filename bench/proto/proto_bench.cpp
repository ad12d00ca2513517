// SPDX-License-Identifier: MIT
// ns per frame for the relay's stateless receive path: overlay header check, then section 5
// rules 1-3, on frames typical of a LAN game session.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "frame_builder.hpp"
#include "lanparty/proto/frame_filter.hpp"
#include "lanparty/proto/mtu.hpp"
#include "lanparty/proto/offload.hpp"
#include "lanparty/proto/overlay_header.hpp"

namespace {

using namespace lanparty::proto;           // NOLINT
using namespace lanparty::proto::testing;  // NOLINT

constexpr std::uint16_t kSenderId = 2;

Bytes datagram_of(const Bytes& frame) {
  Bytes out(kOverlayHeaderSize);
  encode_overlay_header(std::span<std::uint8_t, kOverlayHeaderSize>(out.data(), 4),
                        DatagramKind::kEthernet, kSenderId);
  out.insert(out.end(), frame.begin(), frame.end());
  return out;
}

// An IPv4 UDP frame of exactly `frame_size` bytes (game traffic, client -> gateway).
Bytes ipv4_udp_frame(std::size_t frame_size) {
  const std::size_t headers = kEthernetHeaderSize + 20 + 8;
  const Bytes ip = Ipv4Packet{.payload = udp(27015, 27015, frame_size - headers)}.build();
  return EthernetFrame{.ethertype = kEtherTypeIpv4, .payload = ip}.build();
}

Bytes ipv6_two_extension_headers() {
  const Bytes rest = concat({ipv6_options(43), ipv6_options(17, 16), udp(546, 547, 64)});
  return EthernetFrame{
      .destination = kIpv6AllNodes, .ethertype = kEtherTypeIpv6, .payload = ipv6(0, rest)}
      .build();
}

Bytes arp_broadcast() {
  return EthernetFrame{.destination = kBroadcast, .ethertype = 0x0806, .payload = filler(28)}
      .build();
}

void run(benchmark::State& state, const Bytes& frame) {
  const Bytes datagram = datagram_of(frame);
  for (auto _ : state) {
    const auto view = parse_from_peer(datagram, kSenderId);
    if (!view) state.SkipWithError("overlay header rejected");
    auto verdict = check_frame(view->body, kDefaultMaxMtu, SenderRole::kClient, kClientMac);
    if (!verdict) state.SkipWithError("frame dropped");
    benchmark::DoNotOptimize(verdict);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(datagram.size()));
}

void BM_Ipv4Udp100(benchmark::State& state) { run(state, ipv4_udp_frame(100)); }
void BM_Ipv4Udp1200(benchmark::State& state) { run(state, ipv4_udp_frame(1200)); }
void BM_Ipv6TwoExtensionHeaders(benchmark::State& state) {
  run(state, ipv6_two_extension_headers());
}
void BM_ArpBroadcast(benchmark::State& state) { run(state, arp_broadcast()); }

// The gateway's work on an unfinished LAN frame: one checksum over a full-size UDP frame.
void BM_CompleteChecksum1400(benchmark::State& state) {
  Bytes frame = ipv4_udp_frame(1400);
  for (auto _ : state) {
    auto done = complete_checksum(frame, 34, 6);
    benchmark::DoNotOptimize(done);
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1400);
}
BENCHMARK(BM_CompleteChecksum1400);

// A 64 KiB TCP super-frame (TSO from a local sender) cut into room-MTU frames: per super-frame.
void BM_SegmentTcp64K(benchmark::State& state) {
  const std::size_t headers = kEthernetHeaderSize + 20 + 20;
  Bytes tcp(20 + 65000, 0x5a);
  tcp[12] = 0x50;  // data offset 5
  const Bytes ip = Ipv4Packet{.protocol = 6, .payload = tcp}.build();
  const Bytes frame = EthernetFrame{.ethertype = kEtherTypeIpv4, .payload = ip}.build();
  const OffloadInfo info{.needs_checksum = true,
                         .checksum_start = 34,
                         .checksum_offset = 16,
                         .gso_type = GsoType::kTcpV4,
                         .gso_size = 1448};
  Bytes out(2048);
  std::size_t segments = 0;
  for (auto _ : state) {
    auto seg = Segmenter::create(frame, info, 1380 + kEthernetHeaderSize);
    for (std::size_t i = 0; i < seg->count(); ++i) {
      benchmark::DoNotOptimize(seg->write(i, out));
      ++segments;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (frame.size() - headers)));
  state.counters["segments_per_s"] =
      benchmark::Counter(static_cast<double>(segments), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SegmentTcp64K);

BENCHMARK(BM_Ipv4Udp100);
BENCHMARK(BM_Ipv4Udp1200);
BENCHMARK(BM_Ipv6TwoExtensionHeaders);
BENCHMARK(BM_ArpBroadcast);

}  // namespace

BENCHMARK_MAIN();
