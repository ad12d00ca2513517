// SPDX-License-Identifier: MIT
#include "lanparty/obs/frame_event.hpp"

#include <gtest/gtest.h>

#include "lanparty/obs/sinks.hpp"

namespace lanparty::obs {
namespace {

FrameDecision sample_drop() {
  return FrameDecision{.room = "ROOM1",
                       .peer_id = 2,
                       .source = {0x02, 0x5a, 0x11, 0x22, 0x33, 0x44},
                       .destination = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                       .ethertype = 0x0800,
                       .length_bytes = 342,
                       .action = FrameAction::kDrop,
                       .drop_reason = "dhcp_server",
                       .targets = 0};
}

TEST(FrameDecision, CarriesEveryFieldSectionFiveNames) {
  MemorySink sink;
  Logger log(&sink, Level::kDebug);
  log_frame_decision(log, sample_drop());
  const auto events = sink.named(kFrameDecisionEvent);
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.level, Level::kDebug);
  EXPECT_EQ(e.text("room"), "ROOM1");
  EXPECT_EQ(e.text("peer_id"), "2");
  EXPECT_EQ(e.text("src"), "02:5a:11:22:33:44");
  EXPECT_EQ(e.text("dst"), "ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(e.text("ethertype"), "0x0800");
  EXPECT_EQ(e.text("length"), "342");
  EXPECT_EQ(e.text("action"), "drop");
  EXPECT_EQ(e.text("reason"), "dhcp_server");
  EXPECT_EQ(e.text("targets"), "0");
}

TEST(FrameDecision, SilentUnlessDebug) {
  MemorySink sink;
  Logger log(&sink, Level::kInfo);
  log_frame_decision(log, sample_drop());
  EXPECT_EQ(sink.records().size(), 0u);
}

TEST(FrameAction, NamesMatchProtocol) {
  EXPECT_EQ(to_string(FrameAction::kForward), "forward");
  EXPECT_EQ(to_string(FrameAction::kFlood), "flood");
  EXPECT_EQ(to_string(FrameAction::kDrop), "drop");
}

}  // namespace
}  // namespace lanparty::obs
