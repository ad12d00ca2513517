// SPDX-License-Identifier: MIT
// Overlay header: golden bytes and the per-direction check order of PROTOCOL.md section 3.
// The round-trip and no-overread properties are in overlay_header_property_test.cpp.
#include "lanparty/proto/overlay_header.hpp"

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace lanparty::proto {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(OverlayHeader, EncodesGoldenBytes) {
  std::array<std::uint8_t, kOverlayHeaderSize> out{};
  encode_overlay_header(out, DatagramKind::kEthernet, 0x1234);
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{0x01, 0x01, 0x12, 0x34}));
  encode_overlay_header(out, DatagramKind::kProbe, 2);
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{0x01, 0x02, 0x00, 0x02}));
  encode_overlay_header(out, DatagramKind::kProbeReply, 0);
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{0x01, 0x03, 0x00, 0x00}));
  encode_overlay_header(out, DatagramKind::kEthernet, 0xffff);
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{0x01, 0x01, 0xff, 0xff}));
}

TEST(OverlayHeader, ParsesHeaderFieldsAndAliasesBody) {
  const Bytes datagram = {0x01, 0x01, 0x00, 0x07, 0xaa, 0xbb, 0xcc};
  const auto view = parse_from_peer(datagram, 7);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->header.version, 1);
  EXPECT_EQ(view->kind(), DatagramKind::kEthernet);
  EXPECT_EQ(view->header.peer_id, 7);
  EXPECT_EQ(view->body.data(), datagram.data() + 4);
  EXPECT_EQ(view->body.size(), 3U);
}

TEST(OverlayHeader, AcceptsEmptyBody) {
  const Bytes datagram = {0x01, 0x02, 0x00, 0x01};
  const auto view = parse_from_peer(datagram, 1);
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->body.empty());
}

struct HeaderCase {
  const char* name;
  Bytes datagram;
  std::optional<DropReason> from_peer;   // sender id 0x0102; nullopt = accepted
  std::optional<DropReason> from_relay;  // nullopt = accepted
};

void PrintTo(const HeaderCase& c, std::ostream* os) { *os << c.name; }

class OverlayHeaderChecks : public ::testing::TestWithParam<HeaderCase> {};

// "accepted" or the drop reason's name, so a mismatch prints both sides readably.
std::string header_outcome(const tl::expected<OverlayView, DropReason>& result) {
  return result ? "accepted" : std::string(to_string(result.error()));
}

std::string header_outcome(const std::optional<DropReason>& expected) {
  return expected ? std::string(to_string(*expected)) : "accepted";
}

TEST_P(OverlayHeaderChecks, DropOrAcceptInEachDirection) {
  const auto& c = GetParam();
  EXPECT_EQ(header_outcome(parse_from_peer(c.datagram, 0x0102)), header_outcome(c.from_peer));
  EXPECT_EQ(header_outcome(parse_from_relay(c.datagram)), header_outcome(c.from_relay));
}

std::string header_case_name(const ::testing::TestParamInfo<HeaderCase>& param) {
  return param.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Section3, OverlayHeaderChecks,
    ::testing::Values(
        HeaderCase{"empty", {}, DropReason::kBadHeader, DropReason::kBadHeader},
        HeaderCase{
            "three_bytes", {0x01, 0x01, 0x01}, DropReason::kBadHeader, DropReason::kBadHeader},
        // Length is checked before version: a short datagram is bad_header whatever it says.
        HeaderCase{"three_bytes_bad_version",
                   {0x09, 0x09, 0x01},
                   DropReason::kBadHeader,
                   DropReason::kBadHeader},
        HeaderCase{"version_0",
                   {0x00, 0x01, 0x01, 0x02},
                   DropReason::kBadVersion,
                   DropReason::kBadVersion},
        HeaderCase{"version_2",
                   {0x02, 0x01, 0x01, 0x02},
                   DropReason::kBadVersion,
                   DropReason::kBadVersion},
        // Version is checked before kind and peer id.
        HeaderCase{"version_2_kind_9_wrong_id",
                   {0x02, 0x09, 0x00, 0x09},
                   DropReason::kBadVersion,
                   DropReason::kBadVersion},
        HeaderCase{"kind_0", {0x01, 0x00, 0x01, 0x02}, DropReason::kBadKind, DropReason::kBadKind},
        HeaderCase{"ethernet", {0x01, 0x01, 0x01, 0x02, 0xee}, std::nullopt, std::nullopt},
        HeaderCase{"probe", {0x01, 0x02, 0x01, 0x02, 0xee}, std::nullopt, DropReason::kBadKind},
        // Kind 3 flows only from the relay, and kind is checked before the peer id.
        HeaderCase{"probe_reply", {0x01, 0x03, 0x00, 0x00}, DropReason::kBadKind, std::nullopt},
        HeaderCase{"kind_4", {0x01, 0x04, 0x01, 0x02}, DropReason::kBadKind, DropReason::kBadKind},
        HeaderCase{
            "kind_255", {0x01, 0xff, 0x01, 0x02}, DropReason::kBadKind, DropReason::kBadKind},
        // The relay does not check the origin id it stamped; the relay checks the sender's.
        HeaderCase{"wrong_peer_id", {0x01, 0x01, 0x02, 0x01}, DropReason::kBadPeerId, std::nullopt},
        HeaderCase{
            "peer_id_0", {0x01, 0x02, 0x00, 0x00}, DropReason::kBadPeerId, DropReason::kBadKind}),
    header_case_name);

TEST(OverlayHeader, ProbeKindIsVisibleBeforeParsing) {
  EXPECT_TRUE(has_probe_kind(Bytes{0x01, 0x02, 0x00, 0x05}));
  // Counted as a probe even when the header is otherwise bad (PROTOCOL.md section 2 stats).
  EXPECT_TRUE(has_probe_kind(Bytes{0x07, 0x02}));
  EXPECT_FALSE(has_probe_kind(Bytes{0x01}));
  EXPECT_FALSE(has_probe_kind(Bytes{0x01, 0x01, 0x00, 0x05}));
}

}  // namespace
}  // namespace lanparty::proto
