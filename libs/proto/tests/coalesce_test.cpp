// SPDX-License-Identifier: MIT
// User-space GRO: the Coalescer rebuilds the kernel's own super-frames from their segments
// byte for byte, merges only what can be cut back into the same segments, and never holds a
// frame past flush(). Inputs are kernel-made (kernel_frames.hpp) or built here by hand;
// checksums are checked with the independent verifier of kernel_frames.hpp.
#include "lanparty/proto/coalesce.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernel_frames.hpp"
#include "lanparty/proto/ip.hpp"
#include "lanparty/proto/offload.hpp"

namespace lanparty::proto {
namespace {

using namespace test_support;

struct Out {
  Bytes frame;
  OffloadInfo info;
};

struct Collect {
  std::vector<Out>* out;
  void operator()(std::span<const std::uint8_t> f, const OffloadInfo& info) const {
    out->push_back({Bytes(f.begin(), f.end()), info});
  }
};

std::vector<Out> coalesce(const std::vector<Bytes>& frames, CoalesceCounters* counters = nullptr) {
  Coalescer c;
  std::vector<Out> out;
  for (const auto& f : frames) c.add(f, Collect{&out});
  c.flush(Collect{&out});
  EXPECT_FALSE(c.pending());
  if (counters != nullptr) *counters = c.counters();
  return out;
}

// Cuts `k` with the Segmenter into frames of at most max_frame bytes.
std::vector<Bytes> segments_of(const Bytes& frame, const OffloadInfo& info, std::size_t max_frame) {
  auto seg = Segmenter::create(frame, info, max_frame);
  EXPECT_TRUE(seg);
  std::vector<Bytes> out;
  if (!seg) return out;
  for (std::size_t i = 0; i < seg->count(); ++i) {
    Bytes b(seg->frame_size(i));
    seg->write(i, b);
    out.push_back(std::move(b));
  }
  return out;
}

// The super-frame as a receiving kernel finishes it: checksum completed.
Bytes completed(const Out& o) {
  Bytes f = o.frame;
  EXPECT_TRUE(complete_checksum(f, o.info.checksum_start, o.info.checksum_offset));
  return f;
}

// --- frames built by hand ------------------------------------------------------------------

struct Tcp {
  bool ipv4 = true;
  std::uint16_t tag = 0;  // 802.1Q TCI, 0 = untagged
  std::uint32_t seq = 1000;
  std::uint32_t ack = 77;
  std::uint8_t flags = kTcpAck;
  std::uint16_t window = 501;
  std::uint16_t ip_id = 0x1234;
  std::uint8_t tos = 0;
  std::uint8_t ttl = 64;
  Bytes ip_options{};   // IPv4, a multiple of 4
  Bytes tcp_options{};  // a multiple of 4
  std::size_t payload = 1000;
  std::uint8_t fill = 0;  // payload byte i is fill + i + seq
  std::size_t padding = 0;
};

void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}

// A finished TCP segment with valid checksums (computed with the test's reference sum).
Bytes tcp_frame(const Tcp& t) {
  Bytes f = {0x02, 0x5a, 0x11, 0x22, 0x33, 0x44, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
  if (t.tag != 0) {
    put16(f, 0x8100);
    put16(f, t.tag);
  }
  put16(f, t.ipv4 ? 0x0800 : 0x86dd);
  const std::size_t l3 = f.size();
  Bytes tcp;
  put16(tcp, 40000);
  put16(tcp, 5201);
  put32(tcp, t.seq);
  put32(tcp, t.ack);
  tcp.push_back(static_cast<std::uint8_t>((20 + t.tcp_options.size()) / 4 << 4));
  tcp.push_back(t.flags);
  put16(tcp, t.window);
  put16(tcp, 0);  // checksum
  put16(tcp, 0);  // urgent pointer
  tcp.insert(tcp.end(), t.tcp_options.begin(), t.tcp_options.end());
  for (std::size_t i = 0; i < t.payload; ++i) {
    tcp.push_back(static_cast<std::uint8_t>(t.fill + i + t.seq));
  }
  Bytes pseudo;
  if (t.ipv4) {
    const std::size_t ihl = 20 + t.ip_options.size();
    f.push_back(static_cast<std::uint8_t>(0x40 | ihl / 4));
    f.push_back(t.tos);
    put16(f, static_cast<std::uint16_t>(ihl + tcp.size()));
    put16(f, t.ip_id);
    put16(f, 0x4000);  // DF
    f.push_back(t.ttl);
    f.push_back(6);
    put16(f, 0);
    f.insert(f.end(), {10, 213, 14, 1, 10, 213, 14, 2});
    f.insert(f.end(), t.ip_options.begin(), t.ip_options.end());
    const Bytes header(f.begin() + static_cast<std::ptrdiff_t>(l3), f.end());
    const auto sum = static_cast<std::uint16_t>(~reference_sum(header));
    f[l3 + 10] = static_cast<std::uint8_t>(sum >> 8);
    f[l3 + 11] = static_cast<std::uint8_t>(sum);
    pseudo = {10, 213, 14, 1, 10, 213, 14, 2, 0, 6};
    put16(pseudo, static_cast<std::uint16_t>(tcp.size()));
  } else {
    f.push_back(static_cast<std::uint8_t>(0x60 | t.tos >> 4));
    f.push_back(static_cast<std::uint8_t>(t.tos << 4 | 0x0a));
    put16(f, 0xbcde);  // flow label
    put16(f, static_cast<std::uint16_t>(tcp.size()));
    f.push_back(6);
    f.push_back(t.ttl);
    Bytes addresses(32, 0);
    addresses[0] = 0xfd;
    addresses[15] = 1;
    addresses[16] = 0xfd;
    addresses[31] = 2;
    f.insert(f.end(), addresses.begin(), addresses.end());
    pseudo = addresses;
    put32(pseudo, static_cast<std::uint32_t>(tcp.size()));
    put32(pseudo, 6);
  }
  Bytes all = pseudo;
  all.insert(all.end(), tcp.begin(), tcp.end());
  const auto sum = static_cast<std::uint16_t>(~reference_sum(all));
  tcp[16] = static_cast<std::uint8_t>(sum >> 8);
  tcp[17] = static_cast<std::uint8_t>(sum);
  f.insert(f.end(), tcp.begin(), tcp.end());
  f.resize(f.size() + t.padding, 0);
  return f;
}

// The segment that follows `t` when `t` carries `payload` bytes.
Tcp next(Tcp t, std::size_t payload) {
  t.seq = static_cast<std::uint32_t>(t.seq + t.payload);
  t.ip_id = static_cast<std::uint16_t>(t.ip_id + 1);
  t.payload = payload;
  return t;
}

// `n` consecutive segments of `mss` bytes (the last `last` bytes when non-zero), as a sender's
// TSO would cut them: sequence and IPv4 ID advancing, PSH on the last.
std::vector<Bytes> stream(Tcp t, std::size_t n, std::size_t mss, std::size_t last = 0) {
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < n; ++i) {
    Tcp s = t;
    s.payload = i + 1 == n && last != 0 ? last : mss;
    s.flags = i + 1 == n ? static_cast<std::uint8_t>(t.flags | kTcpPsh) : t.flags;
    out.push_back(tcp_frame(s));
    t.seq = static_cast<std::uint32_t>(t.seq + s.payload);
    t.ip_id = static_cast<std::uint16_t>(t.ip_id + 1);
  }
  return out;
}

// Checks that `o` is the super-frame of `segments`: valid once completed, described right,
// and cut back by the Segmenter at its gso_size into exactly those segments.
void expect_super_frame_of(const Out& o, const std::vector<Bytes>& segments,
                           const std::string& what) {
  ASSERT_NE(o.info.gso_type, GsoType::kNone) << what;
  EXPECT_TRUE(o.info.needs_checksum) << what;
  EXPECT_EQ(o.info.checksum_offset, 16u) << what;
  EXPECT_TRUE(verify_frame(completed(o))) << what;
  const std::size_t header = o.info.header_size;
  EXPECT_EQ(o.info.gso_size, segments[0].size() - header) << what;
  const auto back = segments_of(o.frame, o.info, header + o.info.gso_size);
  ASSERT_EQ(back.size(), segments.size()) << what;
  for (std::size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i], segments[i]) << what << ": segment " << i;
  }
}

// --- kernel frames -------------------------------------------------------------------------

TEST(Coalescer, RebuildsTheKernelsOwnSuperFramesByteForByte) {
  int checked = 0;
  for (const auto& k : all_frames()) {
    if (k.info.gso_type != GsoType::kTcpV4 && k.info.gso_type != GsoType::kTcpV6) continue;
    const bool tag = k.name.ends_with("_tagged");
    const std::size_t header = k.hdr_len + (tag ? 4u : 0u);
    // Cut as the sending kernel's own segmentation would (its gso_size), then merged back.
    const auto segs = segments_of(k.frame, k.info, header + k.info.gso_size);
    ASSERT_GE(segs.size(), 2u) << k.name;
    CoalesceCounters counters;
    const auto out = coalesce(segs, &counters);
    ASSERT_EQ(out.size(), 1u) << k.name;
    EXPECT_EQ(out[0].frame, k.frame) << k.name << ": the kernel's super-frame, byte for byte";
    EXPECT_EQ(out[0].info.gso_type, k.info.gso_type) << k.name;
    EXPECT_EQ(out[0].info.gso_size, k.info.gso_size) << k.name;
    EXPECT_EQ(out[0].info.checksum_start, k.info.checksum_start) << k.name;
    EXPECT_EQ(out[0].info.checksum_offset, k.info.checksum_offset) << k.name;
    EXPECT_EQ(out[0].info.header_size, header) << k.name;
    EXPECT_EQ(counters.super_frames, 1u);
    EXPECT_EQ(counters.merged, segs.size());
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

TEST(Coalescer, KernelFramesThatAreNotTcpSegmentsPassUnchanged) {
  int checked = 0;
  for (auto k : all_frames()) {
    if (k.info.gso_type != GsoType::kNone) continue;
    ASSERT_TRUE(complete_checksum(k.frame, k.info.checksum_start, k.info.checksum_offset));
    const auto out = coalesce({k.frame, k.frame});
    // A UDP datagram, or a TCP segment followed by itself (the sequence does not continue).
    ASSERT_EQ(out.size(), 2u) << k.name;
    for (const auto& o : out) {
      EXPECT_EQ(o.frame, k.frame) << k.name;
      EXPECT_EQ(o.info.gso_type, GsoType::kNone) << k.name;
      EXPECT_FALSE(o.info.needs_checksum) << k.name;
    }
    ++checked;
  }
  EXPECT_GE(checked, 16);
}

// --- by hand -------------------------------------------------------------------------------

TEST(Coalescer, MergesIpv4AndIpv6TaggedOrNotAndCutsBackToTheSameSegments) {
  for (const bool ipv4 : {true, false}) {
    for (const std::uint16_t tag : {std::uint16_t{0}, std::uint16_t{0x6005}}) {
      for (const std::size_t last : {std::size_t{0}, std::size_t{1}, std::size_t{999}}) {
        Tcp t{.ipv4 = ipv4, .tag = tag};
        const auto segs = stream(t, 7, 1000, last);
        const auto out = coalesce(segs);
        const std::string what = std::string(ipv4 ? "ipv4" : "ipv6") + (tag ? " tagged" : "") +
                                 " last=" + std::to_string(last);
        ASSERT_EQ(out.size(), 1u) << what;
        EXPECT_EQ(out[0].info.gso_type, ipv4 ? GsoType::kTcpV4 : GsoType::kTcpV6) << what;
        EXPECT_EQ(out[0].info.checksum_start, (tag ? 18u : 14u) + (ipv4 ? 20u : 40u)) << what;
        expect_super_frame_of(out[0], segs, what);
      }
    }
  }
}

TEST(Coalescer, IpAndTcpOptionsAreKeptAndMustMatch) {
  Tcp t{.ip_options = {0x94, 0x04, 0x00, 0x00},                            // Router Alert
        .tcp_options = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2}};  // NOP NOP timestamps
  const auto segs = stream(t, 4, 1200);
  auto out = coalesce(segs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].info.checksum_start, 14u + 24u);
  EXPECT_EQ(out[0].info.header_size, 14u + 24u + 32u);
  expect_super_frame_of(out[0], segs, "options");

  // A later timestamp is a different option: the run ends there, as in the kernel's GRO.
  auto changed = segs;
  Tcp first = t;
  first.payload = 1200;
  Tcp later = next(next(first, 1200), 1200);
  later.tcp_options[11] = 3;
  changed[2] = tcp_frame(later);
  out = coalesce({changed[0], changed[1], changed[2]});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].info.gso_type, GsoType::kTcpV4);
  EXPECT_EQ(out[1].frame, changed[2]);
}

TEST(Coalescer, EveryHeaderFieldThatMustMatchEndsTheRun) {
  struct Case {
    const char* name;
    void (*change)(Tcp&);
  };
  const Case cases[] = {
      {"ack", [](Tcp& t) { t.ack += 1; }},
      {"window", [](Tcp& t) { t.window = 502; }},
      {"tos", [](Tcp& t) { t.tos = 0x03; }},  // a CE mark
      {"ttl", [](Tcp& t) { t.ttl = 63; }},
      {"ece flag", [](Tcp& t) { t.flags = kTcpAck | kTcpEce; }},
      {"sequence gap", [](Tcp& t) { t.seq += 1; }},
      {"ipv4 id gap", [](Tcp& t) { t.ip_id = static_cast<std::uint16_t>(t.ip_id + 1); }},
      {"vlan", [](Tcp& t) { t.tag = 0x0007; }},
  };
  for (const auto& c : cases) {
    const Tcp a;
    Tcp b = next(a, 1000);
    c.change(b);
    const auto out = coalesce({tcp_frame(a), tcp_frame(b)});
    ASSERT_EQ(out.size(), 2u) << c.name;
    EXPECT_EQ(out[0].info.gso_type, GsoType::kNone) << c.name;
    EXPECT_EQ(out[0].frame, tcp_frame(a)) << c.name;
    EXPECT_EQ(out[1].frame, tcp_frame(b)) << c.name;
  }
}

TEST(Coalescer, FlagsThatMustNotBeMergedPassAlone) {
  for (const std::uint8_t flag : {kTcpSyn, kTcpFin, kTcpRst, kTcpUrg, kTcpCwr}) {
    Tcp t;
    auto segs = stream(t, 3, 1000);
    Tcp odd = next(t, 1000);
    odd.flags = static_cast<std::uint8_t>(kTcpAck | flag);
    segs[1] = tcp_frame(odd);
    CoalesceCounters counters;
    const auto out = coalesce(segs, &counters);
    ASSERT_EQ(out.size(), 3u) << int{flag};
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(out[i].frame, segs[i]) << int{flag};
      EXPECT_EQ(out[i].info.gso_type, GsoType::kNone);
    }
    EXPECT_EQ(counters.passed, 3u);
    EXPECT_EQ(counters.super_frames, 0u);
  }
}

TEST(Coalescer, PshAndAShorterSegmentCloseTheSuperFrameAtOnce) {
  // PSH on the third: the first three go out as one super-frame when the third arrives, not
  // at the end of the batch.
  Tcp t;
  std::vector<Out> out;
  Coalescer c;
  const auto first = stream(t, 3, 1000);
  for (const auto& f : first) c.add(f, Collect{&out});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(c.pending());
  expect_super_frame_of(out[0], first, "psh");
  const auto psh = static_cast<std::uint8_t>(out[0].frame[14 + 20 + 13]);
  EXPECT_EQ(psh & kTcpPsh, kTcpPsh);

  // A shorter segment without PSH ends the run too; the next full one starts a new one.
  out.clear();
  const Tcp a = t;
  const Tcp b = next(a, 500);
  const Tcp d = next(b, 1000);
  c.add(tcp_frame(a), Collect{&out});
  c.add(tcp_frame(b), Collect{&out});
  ASSERT_EQ(out.size(), 1u);
  expect_super_frame_of(out[0], {tcp_frame(a), tcp_frame(b)}, "short last");
  c.add(tcp_frame(d), Collect{&out});
  EXPECT_TRUE(c.pending());
  c.flush(Collect{&out});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].frame, tcp_frame(d));
  EXPECT_EQ(out[1].info.gso_type, GsoType::kNone);

  // A segment larger than the first cannot follow it (the first's size is the gso_size).
  out.clear();
  Tcp small = t;
  small.payload = 600;
  const Tcp large = next(small, 1000);
  EXPECT_EQ(coalesce({tcp_frame(small), tcp_frame(large)}).size(), 2u);
}

TEST(Coalescer, NeverExceedsSixtyFourKibOfIpPacket) {
  Tcp t;
  const auto segs = stream(t, 100, 1448);
  const auto out = coalesce(segs);
  ASSERT_GE(out.size(), 3u);
  std::size_t i = 0;
  for (const auto& o : out) {
    EXPECT_LE(o.frame.size() - 14, 65535u);
    const std::size_t n = (o.frame.size() - 54 + 1447) / 1448;
    expect_super_frame_of(o,
                          std::vector<Bytes>(segs.begin() + static_cast<std::ptrdiff_t>(i),
                                             segs.begin() + static_cast<std::ptrdiff_t>(i + n)),
                          "64k");
    i += n;
  }
  EXPECT_EQ(i, segs.size());
  EXPECT_EQ(out[0].frame.size() - 14, 20u + 20u + 45 * 1448u);  // 45 segments fit, 46 do not
}

TEST(Coalescer, WrongChecksumsAreNeverMerged) {
  Tcp t;
  auto segs = stream(t, 4, 1000);
  segs[2][14 + 20 + 20 + 5] ^= 0x01;  // payload byte: the TCP checksum no longer holds
  CoalesceCounters counters;
  auto out = coalesce(segs, &counters);
  ASSERT_EQ(out.size(), 3u);
  expect_super_frame_of(out[0], {segs[0], segs[1]}, "before the bad one");
  EXPECT_EQ(out[1].frame, segs[2]);
  EXPECT_EQ(out[2].frame, segs[3]);
  EXPECT_EQ(counters.bad_checksum, 1u);

  segs = stream(t, 2, 1000);
  segs[1][14 + 8] = 63;  // TTL changed without the IPv4 header checksum
  out = coalesce(segs, &counters);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(counters.bad_checksum, 1u);
}

TEST(Coalescer, OtherFramesFlushWhatIsPendingAndKeepTheOrder) {
  Tcp t;
  const auto segs = stream(t, 4, 1000);
  Tcp other = t;  // another flow, in the middle
  other.ack = 5;
  other.seq = 90000;
  const Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0x11, 0x22, 0x33, 0x44,
                     0x55, 0x08, 0x06, 0,    1,    8,    0, 6,    4,    0,    1};
  std::vector<Out> out;
  Coalescer c;
  c.add(segs[0], Collect{&out});
  c.add(segs[1], Collect{&out});
  EXPECT_TRUE(out.empty()) << "held until something ends the run";
  c.add(arp, Collect{&out});
  ASSERT_EQ(out.size(), 2u);
  expect_super_frame_of(out[0], {segs[0], segs[1]}, "before arp");
  EXPECT_EQ(out[1].frame, arp);
  c.add(segs[2], Collect{&out});
  c.add(tcp_frame(other), Collect{&out});
  c.add(segs[3], Collect{&out});
  c.flush(Collect{&out});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[2].frame, segs[2]);
  EXPECT_EQ(out[3].frame, tcp_frame(other));
  EXPECT_EQ(out[4].frame, segs[3]);
}

TEST(Coalescer, EthernetPaddingIsNotPayload) {
  Tcp t{.payload = 2, .padding = 4};
  const auto a = tcp_frame(t);
  ASSERT_EQ(a.size(), 60u);
  const Tcp u = next(t, 2);
  const auto out = coalesce({a, tcp_frame(u)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].frame.size(), 14u + 40u + 4u);
  EXPECT_TRUE(verify_frame(completed(out[0])));
  // Truncated: the IP length says more than the frame holds.
  Bytes cut = a;
  cut.resize(14 + 40 + 1);
  const auto alone = coalesce({cut});
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_EQ(alone[0].frame, cut);
}

TEST(Coalescer, PureAcksAndGarbagePassAsTheyAre) {
  Tcp ack{.payload = 0};
  const Bytes garbage = {1, 2, 3};
  const Bytes whole = tcp_frame(Tcp{});
  const Bytes almost(whole.begin(), whole.begin() + 30);
  CoalesceCounters counters;
  const auto out = coalesce({tcp_frame(ack), tcp_frame(ack), garbage, almost}, &counters);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].frame, tcp_frame(ack));
  EXPECT_EQ(out[2].frame, garbage);
  EXPECT_EQ(out[3].frame, almost);
  EXPECT_EQ(counters.frames, 4u);
  EXPECT_EQ(counters.passed, 4u);
}

}  // namespace
}  // namespace lanparty::proto
