// SPDX-License-Identifier: MIT
#include "invites.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lanparty/ctrl/invite_link.hpp"

namespace lanparty::gateway {
namespace {

TEST(InviteLifetime, AcceptsSecondsAndUnits) {
  EXPECT_EQ(*parse_invite_lifetime("90"), std::chrono::seconds(90));
  EXPECT_EQ(*parse_invite_lifetime("45s"), std::chrono::seconds(45));
  EXPECT_EQ(*parse_invite_lifetime("30m"), std::chrono::minutes(30));
  EXPECT_EQ(*parse_invite_lifetime("24h"), std::chrono::hours(24));
  EXPECT_EQ(*parse_invite_lifetime("7d"), std::chrono::hours(24 * 7));
}

TEST(InviteLifetime, RefusesEverythingElseSayingWhatWorks) {
  for (const char* bad : {"", "h", "5x", "-1h", "0", "1.5h", "24 h", "h24", "3651d", "1e3"}) {
    auto d = parse_invite_lifetime(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_NE(d.error().context.find("24h"), std::string::npos) << d.error().context;
  }
}

InviteRequest request() {
  InviteRequest r;
  r.room = "ROOM1";
  r.relay = "relay.example.net:4433";
  r.relay_cert_sha256.fill(0xab);
  r.valid_for = std::chrono::hours(24);
  r.name = "alice";
  r.now_unix = 1767225600;
  r.id = "9f2c4e1a7b3d5a60";
  return r;
}

TEST(MakeInvite, LinkCarriesEverythingAndTheSignatureVerifies) {
  auto key = quic::RoomKey::generate();
  ASSERT_TRUE(key);
  auto invite = make_invite(request(), *key);
  ASSERT_TRUE(invite) << invite.error().describe();
  auto link = ctrl::parse_invite_link(invite->link);
  ASSERT_TRUE(link) << link.error().describe();
  EXPECT_EQ(link->host, "relay.example.net");
  EXPECT_EQ(link->port, 4433);
  EXPECT_EQ(link->room, "ROOM1");
  EXPECT_EQ(link->server_name, "relay.example.net");  // the host name by default
  EXPECT_EQ(link->pin_sha256, request().relay_cert_sha256);
  EXPECT_EQ(link->invite, invite->token);
  auto token = ctrl::parse_invite_token(link->invite);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->payload.room, "ROOM1");
  EXPECT_EQ(token->payload.id, "9f2c4e1a7b3d5a60");
  EXPECT_EQ(token->payload.exp, 1767225600 + 86400);
  EXPECT_EQ(token->payload.name, "alice");
  EXPECT_TRUE(quic::verify_ed25519(key->public_key(), token->signed_message, token->signature));
  auto other = quic::RoomKey::generate();
  ASSERT_TRUE(other);
  EXPECT_FALSE(quic::verify_ed25519(other->public_key(), token->signed_message, token->signature));
}

TEST(MakeInvite, IpRelaysGetTheDevelopmentCertificatesNameAndIpv6Brackets) {
  auto key = quic::RoomKey::generate();
  ASSERT_TRUE(key);
  auto r = request();
  r.relay = "[2001:db8::7]:4433";
  auto invite = make_invite(r, *key);
  ASSERT_TRUE(invite) << invite.error().describe();
  EXPECT_NE(invite->link.find("lanparty://[2001:db8::7]:4433/ROOM1?sni=lanparty-relay&"),
            std::string::npos)
      << invite->link;
  r.relay = "203.0.113.7:4433";
  r.server_name = "relay.lan";
  invite = make_invite(r, *key);
  ASSERT_TRUE(invite);
  EXPECT_NE(invite->link.find("sni=relay.lan&"), std::string::npos) << invite->link;
}

TEST(MakeInvite, RefusesABadRelayOrName) {
  auto key = quic::RoomKey::generate();
  ASSERT_TRUE(key);
  auto r = request();
  r.relay = "relay.example.net";
  EXPECT_FALSE(make_invite(r, *key));
  r = request();
  r.relay = "relay.example.net:0";
  EXPECT_FALSE(make_invite(r, *key));
  r = request();
  r.name = std::string(33, 'a');
  EXPECT_FALSE(make_invite(r, *key));
}

TEST(MakeInvite, FurtherRelaysOfAClusterGoIntoTheLinksRelays) {
  auto key = quic::RoomKey::generate();
  ASSERT_TRUE(key);
  auto r = request();
  r.more_relays = {"relay-2.example.net:4433", "[2001:db8::2]:4433"};
  auto invite = make_invite(r, *key);
  ASSERT_TRUE(invite) << invite.error().describe();
  auto link = ctrl::parse_invite_link(invite->link);
  ASSERT_TRUE(link) << invite->link;
  ASSERT_EQ(link->more_relays.size(), 2u);
  EXPECT_EQ(ctrl::format_relay_address(link->more_relays[0]), "relay-2.example.net:4433");
  EXPECT_EQ(ctrl::format_relay_address(link->more_relays[1]), "[2001:db8::2]:4433");
  // One relay: no relays= at all, the link as before.
  EXPECT_EQ(make_invite(request(), *key)->link.find("relays="), std::string::npos);

  r.more_relays = {"relay-2.example.net"};
  const auto bad = make_invite(r, *key);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().context.find("--relay"), std::string::npos) << bad.error().context;
}

TEST(RandomInviteId, IsSixteenLowerHexAndVaries) {
  const auto a = random_invite_id();
  const auto b = random_invite_id();
  EXPECT_TRUE(ctrl::is_valid_invite_id(a)) << a;
  EXPECT_NE(a, b);
}

TEST(IssuedInvites, TheRunningGatewayFindsAnInvitesExpiry) {
  const auto file =
      std::filesystem::temp_directory_path() / ("lanparty-invites-" + random_invite_id());
  ASSERT_TRUE(record_issued_invite(file, {.room = "ROOM1", .id = "00000000000000aa", .exp = 7}));
  ASSERT_TRUE(record_issued_invite(
      file, {.room = "ROOM1", .id = "00000000000000bb", .exp = 9, .name = "bob"}));
  EXPECT_EQ(issued_invite_expiry(file, "00000000000000aa"), 7);
  EXPECT_EQ(issued_invite_expiry(file, "00000000000000bb"), 9);
  EXPECT_EQ(issued_invite_expiry(file, "00000000000000cc"), std::nullopt);
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::remove(file);
}

TEST(IssuedInvites, AFileOthersCanReadOrALinkIsRefusedAndNothingAppended) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("lanparty-invites-dir-" + random_invite_id());
  std::filesystem::create_directories(dir);
  const ctrl::InvitePayload payload{.room = "ROOM1", .id = "00000000000000aa", .exp = 7};
  ASSERT_TRUE(record_issued_invite(dir / "invites", payload));
  std::filesystem::permissions(dir / "invites", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  auto refused = record_issued_invite(dir / "invites", payload);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().context.find("chmod 600"), std::string::npos)
      << refused.error().context;
  EXPECT_EQ(std::filesystem::file_size(dir / "invites"), 21u) << "one line, not two";

  std::filesystem::create_symlink(dir / "elsewhere", dir / "linked");
  EXPECT_FALSE(record_issued_invite(dir / "linked", payload));
  EXPECT_FALSE(std::filesystem::exists(dir / "elsewhere"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lanparty::gateway
