// SPDX-License-Identifier: MIT
// The section 7 operator options: room modes, --room-ttl values, the --room-owners file.
#include "room_options.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "lanparty/ctrl/base64url.hpp"

namespace lanparty::relay {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(RoomMode, ParsesTheThreeSpellingsExactly) {
  EXPECT_EQ(parse_room_mode("open"), RoomMode::kOpen);
  EXPECT_EQ(parse_room_mode("claimed"), RoomMode::kClaimed);
  EXPECT_EQ(parse_room_mode("owners"), RoomMode::kOwners);
  EXPECT_FALSE(parse_room_mode("Claimed"));
  EXPECT_FALSE(parse_room_mode("closed"));
  EXPECT_FALSE(parse_room_mode(""));
  for (const RoomMode mode : {RoomMode::kOpen, RoomMode::kClaimed, RoomMode::kOwners}) {
    EXPECT_EQ(parse_room_mode(to_string(mode)), mode);
  }
}

struct TtlCase {
  const char* text;
  std::chrono::seconds expected;
};

class RoomTtlTest : public ::testing::TestWithParam<TtlCase> {};

TEST_P(RoomTtlTest, AcceptsSecondsOrOneUnit) {
  const auto ttl = parse_room_ttl(GetParam().text);
  ASSERT_TRUE(ttl.has_value()) << ttl.error().describe();
  EXPECT_EQ(*ttl, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Values, RoomTtlTest,
                         ::testing::Values(TtlCase{"1", 1s}, TtlCase{"3600", 3600s},
                                           TtlCase{"45s", 45s}, TtlCase{"90m", 90min},
                                           TtlCase{"12h", 12h}, TtlCase{"30d", 720h},
                                           TtlCase{"36500d", 36500 * 24h}));

TEST(RoomTtl, RefusesEverythingElseNamingTheFlag) {
  for (const char* bad : {"", "0", "0d", "d", "-5", "+5", "1.5h", "5w", "5 d", " 5", "5dd", "12H",
                          "36501d", "99999999999999999999", "1e3"}) {
    const auto ttl = parse_room_ttl(bad);
    ASSERT_FALSE(ttl.has_value()) << '"' << bad << '"';
    EXPECT_THAT(ttl.error().context, HasSubstr("--room-ttl")) << bad;
    EXPECT_THAT(ttl.error().context, HasSubstr("30d")) << bad;  // says what would do
  }
}

TEST(OwnerTouchInterval, HourlyOrAQuarterOfAShortTtl) {
  EXPECT_EQ(owner_touch_interval(std::chrono::hours(24 * 30)), std::chrono::hours(1));
  EXPECT_EQ(owner_touch_interval(4h), 1h);
  EXPECT_EQ(owner_touch_interval(2h), 30min);
  EXPECT_EQ(owner_touch_interval(1s), 250ms);
}

std::string key_text(std::uint8_t fill) {
  OwnerKey key{};
  key.fill(fill);
  return ctrl::base64url_encode(key);
}

TEST(RoomOwnersFile, ReadsKeysCommentsAndBlankLines) {
  const std::string text = "# room owners\n\n" + key_text(1) + "\n  " + key_text(2) +
                           "\t# bob's gateway\r\n" + key_text(1) + "\n" + key_text(3);
  const auto keys = parse_room_owners(text, "owners.txt");
  ASSERT_TRUE(keys.has_value()) << keys.error().describe();
  OwnerKey one{};
  one.fill(1);
  OwnerKey two{};
  two.fill(2);
  OwnerKey three{};
  three.fill(3);
  EXPECT_EQ(*keys, (OwnerKeys{one, two, three}));
}

struct BadOwnersCase {
  const char* name;
  std::string text;
  const char* location;  // file:line the message must name
};

class BadRoomOwnersTest : public ::testing::TestWithParam<BadOwnersCase> {};

TEST_P(BadRoomOwnersTest, NamesTheFileAndLine) {
  const auto keys = parse_room_owners(GetParam().text, "owners.txt");
  ASSERT_FALSE(keys.has_value());
  EXPECT_THAT(keys.error().context, HasSubstr(GetParam().location));
}

INSTANTIATE_TEST_SUITE_P(
    Lines, BadRoomOwnersTest,
    ::testing::Values(
        BadOwnersCase{"ShortKey", "# ok\n" + key_text(1) + "\nAAAA\n", "owners.txt:3:"},
        BadOwnersCase{"Padded", key_text(1) + "=\n", "owners.txt:1:"},
        BadOwnersCase{"StandardBase64Alphabet", "\n\n\n" + std::string(42, '+') + "A\n",
                      "owners.txt:4:"},
        BadOwnersCase{"TwoKeysOnALine", key_text(1) + " " + key_text(2), "owners.txt:1:"},
        BadOwnersCase{"SignatureSized", ctrl::base64url_encode(std::string(64, 'x')),
                      "owners.txt:1:"},
        BadOwnersCase{"NoKeys", "# nobody yet\n\n", "owners.txt: lists no room key"},
        BadOwnersCase{"Empty", "", "owners.txt: lists no room key"}),
    [](const ::testing::TestParamInfo<BadOwnersCase>& case_info) {
      return std::string(case_info.param.name);
    });

TEST(KeyFingerprint, IsTheFirstEightBase64UrlCharacters) {
  OwnerKey key{};
  key.fill(0xff);
  EXPECT_EQ(key_fingerprint(key), "________");
}

}  // namespace
}  // namespace lanparty::relay
