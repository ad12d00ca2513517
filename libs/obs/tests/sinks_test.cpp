// SPDX-License-Identifier: MIT
#include "lanparty/obs/sinks.hpp"

#include <gtest/gtest.h>

namespace lanparty::obs {
namespace {

TEST(Logger, DropsBelowThreshold) {
  MemorySink sink;
  Logger log(&sink, Level::kInfo);
  log.debug("t.debug");
  log.info("t.info", {{"n", 1}});
  ASSERT_EQ(sink.records().size(), 1u);
  EXPECT_EQ(sink.records()[0].name, "t.info");
  EXPECT_EQ(sink.records()[0].text("n"), "1");
}

TEST(Logger, WithoutSinkIsDisabled) {
  Logger log;
  EXPECT_FALSE(log.enabled(Level::kError));
}

TEST(ParseLevel, KnowsEveryName) {
  EXPECT_EQ(parse_level("debug"), Level::kDebug);
  EXPECT_EQ(parse_level("warn"), Level::kWarn);
  EXPECT_EQ(parse_level("off"), Level::kOff);
  EXPECT_EQ(parse_level("loud"), std::nullopt);
}

TEST(ToJson, EscapesAndTypesFields) {
  const Field fields[] = {
      {"room", "R\"1"}, {"peer_id", std::uint16_t{2}}, {"ok", true}, {"delta", -3}};
  const std::string json = to_json(Event{Level::kWarn, "relay.x", fields});
  EXPECT_EQ(json,
            R"({"level":"warn","event":"relay.x","room":"R\"1","peer_id":2,"ok":true,"delta":-3})");
}

TEST(MemorySink, CountsByName) {
  MemorySink sink;
  Logger log(&sink, Level::kDebug);
  log.info("a");
  log.info("b");
  log.info("a");
  EXPECT_EQ(sink.count("a"), 2u);
  EXPECT_EQ(sink.named("b").size(), 1u);
}

}  // namespace
}  // namespace lanparty::obs
