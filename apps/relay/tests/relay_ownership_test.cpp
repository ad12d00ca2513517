// SPDX-License-Identifier: MIT
// Room ownership over real QUIC (PROTOCOL.md section 7): claims bound to the connection,
// invites, the room records (SQLite in a temp dir), names and invite ids in welcome and
// peer_joined, kick and revoke, and `open` mode ignoring all of it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/directory/memory_room_directory.hpp"
#include "metrics.hpp"
#include "relay_harness.hpp"

namespace lanparty::relay::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr std::uint64_t kAppKicked = ctrl::app_error::kKicked;

const char* const kIdA = "0123456789abcdef";
const char* const kIdB = "fedcba9876543210";

std::unique_ptr<RelayHarness> start_claimed(RoomMode mode = RoomMode::kClaimed,
                                            directory::Limits limits = {}) {
  HarnessOptions options;
  options.relay = claimed_relay_config(mode);
  options.room_records = limits;
  return RelayHarness::start(options);
}

// A claimed relay whose clock (room records, invite expiry) is *now, with a 60 s room TTL:
// a test moves time by changing *now.
std::unique_ptr<RelayHarness> start_claimed_on_clock(std::shared_ptr<directory::Seconds> now) {
  HarnessOptions options;
  options.relay = claimed_relay_config();
  options.relay.clock = [now] { return *now; };
  options.room_records = {.room_ttl = std::chrono::seconds(60)};
  return RelayHarness::start(options);
}

// A peer that sent `hello` and is expected to be rejected with `code`.
::testing::AssertionResult hello_rejected(RelayHarness& h, const HelloJson& hello,
                                          std::string_view code, PeerOptions options = {}) {
  auto peer = h.connect(options);
  if (!peer) return ::testing::AssertionFailure() << "no connection";
  if (auto st = peer->send_hello(hello); !st) {
    return ::testing::AssertionFailure() << "send hello: " << st.error().describe();
  }
  return rejected_with(*peer, code) << " for " << hello.to_json();
}

// A gateway of `key` that is rejected with `code`.
::testing::AssertionResult claim_rejected(RelayHarness& h, const quic::RoomKey& key,
                                          std::string_view code, std::string_view room = "ROOM1") {
  auto peer = h.connect();
  if (!peer) return ::testing::AssertionFailure() << "no connection";
  if (auto st = peer->send_hello(claim_hello(*peer, key, room, kGatewayMac)); !st) {
    return ::testing::AssertionFailure() << "send hello: " << st.error().describe();
  }
  return rejected_with(*peer, code);
}

std::optional<directory::RoomRecord> record_of(RelayHarness& h, std::string_view room) {
  auto record = h.records()->lookup(
      room, std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  EXPECT_TRUE(record.has_value()) << record.error().describe();
  return record ? *record : std::nullopt;
}

// --- claims ------------------------------------------------------------------------------

TEST(RelayClaim, GatewayWithAValidProofClaimsTheRoomBeforeItsWelcome) {
  auto h = start_claimed();
  ASSERT_NE(h, nullptr);
  const quic::RoomKey key = new_room_key();
  auto gw = h->join_gateway(key, "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  const auto record = record_of(*h, "ROOM1");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->owner_key, key.public_key());
  EXPECT_EQ(h->relay().totals().rooms_claimed, 1u);
  const auto claimed = h->log().named("relay.room_claimed");
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].text("outcome"), "claimed");
  EXPECT_EQ(claimed[0].text("key"), public_key_text(key).substr(0, 8));
  EXPECT_THAT(claimed[0].text("remote"), HasSubstr("127.0.0.1:"));
}

TEST(RelayClaim, AnotherKeyGetsRoomOwnedWhileTheOwnerIsConnected) {
  auto h = start_claimed();
  ASSERT_NE(h, nullptr);
  auto gw = h->join_gateway(new_room_key(), "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  // room_owned comes before gateway_exists (check 8).
  EXPECT_TRUE(claim_rejected(*h, new_room_key(), "room_owned"));
}

TEST(RelayClaim, TheRoomStaysOwnedAfterItsGatewayLeftAndTheRoomEmptied) {
  auto h = start_claimed();
  ASSERT_NE(h, nullptr);
  const quic::RoomKey owner = new_room_key();
  auto gw = h->join_gateway(owner, "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  gw->connection().close(ctrl::app_error::kNoError, "bye");
  ASSERT_TRUE(h->run_until([&] { return h->relay().rooms().room_count() == 0; }));

  EXPECT_TRUE(claim_rejected(*h, new_room_key(), "room_owned"));
  auto back = h->join_gateway(owner, "ROOM1", kGatewayMac);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(h->relay().totals().owners_returned, 1u);
  EXPECT_EQ(h->log().named("relay.room_claimed").back().text("outcome"), "already_owner");
}

TEST(RelayClaim, OneAddressWritesOnlyItsHourlyShareOfNewRoomRecords) {
  // Records outlive their rooms (--room-ttl): fresh keys claiming fresh rooms from one
  // address would otherwise fill --max-room-records for every host.
  HarnessOptions options;
  options.relay = claimed_relay_config();
  options.relay.new_rooms_per_hour_per_source = 2;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  const quic::RoomKey first_owner = new_room_key();
  auto first = h->join_gateway(first_owner, "ROOM1", kGatewayMac);
  ASSERT_NE(first, nullptr);
  auto second = h->join_gateway(new_room_key(), "ROOM2", kGatewayMac);
  ASSERT_NE(second, nullptr);
  auto third = h->connect();
  ASSERT_NE(third, nullptr);
  ASSERT_TRUE(
      succeeded(third->send_hello(claim_hello(*third, new_room_key(), "ROOM3", kGatewayMac))));
  EXPECT_TRUE(rejected_with(*third, "relay_full"));
  EXPECT_EQ(h->relay().totals().new_rooms_refused, 1u);
  EXPECT_EQ(h->relay().rooms().room_count(), 2u);  // the refused gateway left no room behind
  // A returning owner writes no new record: it gets back in with the budget spent.
  first->connection().close(ctrl::app_error::kNoError, "bye");
  ASSERT_TRUE(h->run_until([&] { return h->relay().rooms().room_count() == 1; }));
  EXPECT_NE(h->join_gateway(first_owner, "ROOM1", kGatewayMac), nullptr);
  EXPECT_EQ(h->relay().totals().owners_returned, 1u);
}

TEST(RelayClaim, AProofReplayedFromAnotherConnectionIsAuthFailed) {
  auto h = start_claimed();
  ASSERT_NE(h, nullptr);
  const quic::RoomKey key = new_room_key();
  auto original = h->connect();
  ASSERT_NE(original, nullptr);
  HelloJson replayed = claim_hello(*original, key, "ROOM1", kGatewayMac);
  EXPECT_TRUE(hello_rejected(*h, replayed, "auth_failed"));
  // The proof was good where it was made.
  EXPECT_TRUE(original->join(replayed));
}

TEST(RelayClaim, AProofOverAnotherRoomIsAuthFailed) {
  auto h = start_claimed();
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  HelloJson hello = hello_json("gateway", "ROOM1", kGatewayMac);
  hello.extra = claim_fields(*peer, new_room_key(), "ROOM2");
  ASSERT_TRUE(succeeded(peer->send_hello(hello)));
  EXPECT_TRUE(rejected_with(*peer, "auth_failed"));
}

TEST(RelayClaim, AGatewayRefusedByALaterCheckClaimsNothing) {
  auto h = start_claimed();
  ASSERT_NE(h, nullptr);
  const quic::RoomKey first = new_room_key();
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  // Check 11: a 100-byte datagram budget cannot carry a 576-byte room.
  ASSERT_TRUE(succeeded(peer->send_hello(claim_hello(*peer, first, "ROOM1", kGatewayMac, 100))));
  EXPECT_TRUE(rejected_with(*peer, "mtu_too_small"));
  EXPECT_FALSE(record_of(*h, "ROOM1"));
  // So the name is still free for anyone.
  EXPECT_NE(h->join_gateway(new_room_key(), "ROOM1", kGatewayMac), nullptr);
}

TEST(RelayClaim, OwnersModeLetsOnlyListedKeysClaim) {
  const quic::RoomKey listed = new_room_key();
  HarnessOptions options;
  options.relay = claimed_relay_config(RoomMode::kOwners);
  options.relay.room_owners = {listed.public_key()};
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  EXPECT_TRUE(claim_rejected(*h, new_room_key(), "auth_failed"));
  EXPECT_NE(h->join_gateway(listed, "ROOM1", kGatewayMac), nullptr);
}

TEST(RelayClaim, ARoomIsFreeAgainOnceItsOwnerWasAwayForTheTtl) {
  auto h = start_claimed(RoomMode::kClaimed, {.room_ttl = 1s});
  ASSERT_NE(h, nullptr);
  auto gw = h->join_gateway(new_room_key(), "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  gw->connection().close(ctrl::app_error::kNoError, "bye");
  ASSERT_TRUE(h->run_until([&] { return h->relay().rooms().room_count() == 0; }));
  // Last seen is kept in whole seconds: the record is gone within two.
  (void)h->run_until([] { return false; }, 2100ms);
  EXPECT_NE(h->join_gateway(new_room_key(), "ROOM1", kGatewayMac), nullptr);
  EXPECT_EQ(h->relay().totals().rooms_claimed, 2u);
}

TEST(RelayClaim, AConnectedOwnerKeepsItsRoomPastTheTtl) {
  // Last seen is kept in whole seconds, so a 1 s TTL could lapse between two touches; 2 s
  // with touches every 500 ms cannot.
  HarnessOptions options;
  options.relay = claimed_relay_config();
  options.relay.owner_touch_interval = owner_touch_interval(2s);
  options.room_records = {.room_ttl = 2s};
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto gw = h->join_gateway(new_room_key(), "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  // Untouched, the record would be gone 3 s after the claim.
  (void)h->run_until([] { return false; }, 3100ms);
  EXPECT_TRUE(claim_rejected(*h, new_room_key(), "room_owned"));
}

TEST(RelayClaim, ANewOwnerDoesNotInheritClientsOfAForgottenRecord) {
  // The relay's clock for records and invites is the test's, so a day passes at once.
  auto now = std::make_shared<directory::Seconds>(
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  auto h = start_claimed_on_clock(now);
  ASSERT_NE(h, nullptr);
  const quic::RoomKey old_owner = new_room_key();
  auto gw = h->join_gateway(old_owner, "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  ctrl::InvitePayload payload = invite_payload("ROOM1", kIdA);
  payload.exp += 86400 * 2;
  auto client =
      h->join(invited_hello("ROOM1", "02:5a:00:00:00:01", invite_token(old_owner, payload)));
  ASSERT_NE(client, nullptr);
  gw->connection().close(ctrl::app_error::kNoError, "bye");
  ASSERT_TRUE(client->next<ctrl::PeerLeft>());
  *now += std::chrono::hours(24);

  auto new_gw = h->join_gateway(new_room_key(), "ROOM1", kGatewayMac);
  ASSERT_NE(new_gw, nullptr);
  EXPECT_TRUE(closed_with(*client, kAppKicked, "room_owner_changed"));
  EXPECT_TRUE(new_gw->welcome().peers.empty());
  EXPECT_TRUE(new_gw->probe_fence());
  EXPECT_FALSE(new_gw->next<ctrl::PeerLeft>(0ms));  // it never saw the client
  EXPECT_EQ(h->relay().totals().kicked[static_cast<std::size_t>(KickCause::kOwnerChanged)], 1u);
}

TEST(RelayClaim, TheOldOwnerReturningKeepsItsClients) {
  auto now = std::make_shared<directory::Seconds>(
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  auto h = start_claimed_on_clock(now);
  ASSERT_NE(h, nullptr);
  const quic::RoomKey owner = new_room_key();
  auto gw = h->join_gateway(owner, "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  auto client = h->join(invited_hello("ROOM1", "02:5a:00:00:00:01",
                                      invite_token(owner, invite_payload("ROOM1", kIdA, "dave"))));
  ASSERT_NE(client, nullptr);
  gw->connection().close(ctrl::app_error::kNoError, "bye");
  ASSERT_TRUE(client->next<ctrl::PeerLeft>());
  *now += std::chrono::minutes(2);  // the record is forgotten; the same key claims it anew

  auto back = h->join_gateway(owner, "ROOM1", kGatewayMac);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(h->log().named("relay.room_claimed").back().text("outcome"), "claimed");
  ASSERT_EQ(back->welcome().peers.size(), 1u);
  EXPECT_EQ(back->welcome().peers[0].name, "dave");
  EXPECT_TRUE(client->probe_fence());
  EXPECT_FALSE(client->closed());
}

TEST(RelayClaim, AClaimBeyondMaxRoomRecordsIsRelayFullAndLeavesNoTrace) {
  auto h = start_claimed(RoomMode::kClaimed, {.max_room_records = 1});
  ASSERT_NE(h, nullptr);
  auto gw = h->join_gateway(new_room_key(), "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  EXPECT_TRUE(claim_rejected(*h, new_room_key(), "relay_full", "ROOM2"));
  EXPECT_EQ(h->relay().rooms().room_count(), 1u);
  EXPECT_FALSE(record_of(*h, "ROOM2"));
}

// Room records in memory whose calls fail while `broken` is set, as a full disk would.
class BreakableRecords final : public directory::RoomDirectory {
 public:
  bool broken = false;

  Result<std::optional<directory::RoomRecord>> lookup(std::string_view room,
                                                      directory::Seconds now) override {
    if (broken) return fail(Errc::kCorruptFile, "test: lookup");
    return inner_.lookup(room, now);
  }
  Result<directory::ClaimOutcome> claim(std::string_view room, const directory::OwnerKey& owner,
                                        directory::Seconds now) override {
    if (broken) return fail(Errc::kCorruptFile, "test: claim");
    return inner_.claim(room, owner, now);
  }
  Status touch(std::string_view room, const directory::OwnerKey& owner,
               directory::Seconds now) override {
    if (broken) return fail(Errc::kCorruptFile, "test: touch");
    return inner_.touch(room, owner, now);
  }
  Status revoke(std::string_view room, std::string_view invite_id,
                std::optional<directory::Seconds> exp, directory::Seconds now) override {
    if (broken) return fail(Errc::kCorruptFile, "test: revoke");
    return inner_.revoke(room, invite_id, exp, now);
  }
  Result<bool> is_revoked(std::string_view room, std::string_view invite_id,
                          directory::Seconds now) override {
    if (broken) return fail(Errc::kCorruptFile, "test: is_revoked");
    return inner_.is_revoked(room, invite_id, now);
  }
  Result<directory::Purged> expire(directory::Seconds now) override {
    if (broken) return fail(Errc::kCorruptFile, "test: expire");
    return inner_.expire(now);
  }

 private:
  directory::MemoryRoomDirectory inner_;
};

TEST(RelayRecordsUnavailable, HellosGetRelayFullSayingSoAndTheErrorIsLogged) {
  BreakableRecords records;
  HarnessOptions options;
  options.relay = claimed_relay_config();
  options.records_override = &records;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  const quic::RoomKey owner = new_room_key();
  const std::string token = invite_token(owner, invite_payload("ROOM1", kIdA));
  auto gw = h->join_gateway(owner, "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);

  records.broken = true;
  for (const bool as_gateway : {true, false}) {
    auto peer = h->connect();
    ASSERT_NE(peer, nullptr);
    ASSERT_TRUE(succeeded(
        peer->send_hello(as_gateway ? claim_hello(*peer, owner, "ROOM2", kGatewayMac)
                                    : invited_hello("ROOM1", "02:5a:00:00:00:01", token))));
    EXPECT_TRUE(rejected_with(*peer, "relay_full"));
    const auto& reject = std::get<ctrl::Reject>(peer->messages()[0]);
    EXPECT_THAT(reject.message, HasSubstr("room records"));
  }
  EXPECT_EQ(h->relay().rooms().peer_count(), 1u);
  EXPECT_EQ(h->relay().totals().room_record_errors, 2u);
  const auto errors = h->log().named("relay.room_records_failed");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].level, obs::Level::kError);

  // A revoke that cannot be written still closes the clients, but promises nothing.
  records.broken = false;
  auto c = h->join(invited_hello("ROOM1", "02:5a:00:00:00:01", token));
  ASSERT_NE(c, nullptr);
  records.broken = true;
  ASSERT_TRUE(succeeded(gw->send_message(ctrl::Revoke{.invite_id = kIdA})));
  EXPECT_TRUE(closed_with(*c, kAppKicked, "invite_revoked"));
  EXPECT_TRUE(gw->probe_fence());
  EXPECT_FALSE(gw->next<ctrl::Revoked>(0ms));
  EXPECT_EQ(h->relay().totals().revocations, 0u);
}

// --- hello fields ------------------------------------------------------------------------

struct FieldCase {
  const char* name;
  const char* role;
  std::string extra;  // raw JSON fields; "$KEY" / "$PROOF" stand for valid values
  const char* code;
};

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::vector<FieldCase> field_cases() {
  const std::string key31 = ctrl::base64url_encode(std::string(31, 'k'));
  const std::string proof63 = ctrl::base64url_encode(std::string(63, 'p'));
  return {
      {"GatewayWithoutAnything", "gateway", "", "auth_required"},
      {"GatewayWithoutProof", "gateway", R"(,"room_key":"$KEY")", "auth_required"},
      {"GatewayWithoutKey", "gateway", R"(,"room_proof":"$PROOF")", "auth_required"},
      {"KeyEmpty", "gateway", R"(,"room_key":"","room_proof":"$PROOF")", "auth_failed"},
      {"KeyPadded", "gateway", R"(,"room_key":"$KEY=","room_proof":"$PROOF")", "auth_failed"},
      {"KeyStandardBase64", "gateway",
       R"(,"room_key":"+++++++++++++++++++++++++++++++++++++++++++","room_proof":"$PROOF")",
       "auth_failed"},
      {"Key31Bytes", "gateway", R"(,"room_key":")" + key31 + R"(","room_proof":"$PROOF")",
       "auth_failed"},
      {"Proof63Bytes", "gateway", R"(,"room_key":"$KEY","room_proof":")" + proof63 + "\"",
       "auth_failed"},
      {"ProofWithWhitespace", "gateway", R"(,"room_key":"$KEY","room_proof":" $PROOF")",
       "auth_failed"},
      {"KeyAsNumber", "gateway", R"(,"room_key":5,"room_proof":"$PROOF")", "malformed_hello"},
      {"KeyNull", "gateway", R"(,"room_key":null,"room_proof":"$PROOF")", "malformed_hello"},
      {"ProofAsArray", "gateway", R"(,"room_key":"$KEY","room_proof":[])", "malformed_hello"},
      {"ClientWithoutInvite", "client", "", "auth_required"},
      {"ClientKeyIsNoInvite", "client", R"(,"room_key":"$KEY","room_proof":"$PROOF")",
       "auth_required"},
      {"InviteEmpty", "client", R"(,"invite":"")", "auth_failed"},
      {"InviteGarbage", "client", R"(,"invite":"lpi1.e30.AAAA")", "auth_failed"},
      {"InviteAsNumber", "client", R"(,"invite":1)", "malformed_hello"},
      {"InviteNull", "client", R"(,"invite":null)", "malformed_hello"},
  };
}

class ClaimFieldTest : public ::testing::TestWithParam<FieldCase> {};

TEST_P(ClaimFieldTest, AnswersTheCodeOfSectionSeven) {
  const FieldCase& c = GetParam();
  auto h = start_claimed();
  ASSERT_NE(h, nullptr);
  // ROOM1 has a record, so a client's invite is judged on its own.
  const quic::RoomKey owner = new_room_key();
  auto gw = h->join_gateway(owner, "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  gw->connection().close(ctrl::app_error::kNoError, "bye");
  ASSERT_TRUE(h->run_until([&] { return h->relay().rooms().room_count() == 0; }));

  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  const std::string fields = claim_fields(*peer, owner, "ROOM1");
  const auto value = [&](std::string_view name) {
    const auto at = fields.find(fmt::format(R"("{}":")", name)) + name.size() + 4;
    return fields.substr(at, fields.find('"', at) - at);
  };
  HelloJson hello = hello_json(
      c.role, "ROOM1", std::string(c.role) == "gateway" ? kGatewayMac : "02:5a:00:00:00:01");
  hello.extra =
      replace_all(replace_all(c.extra, "$KEY", value("room_key")), "$PROOF", value("room_proof"));
  ASSERT_TRUE(succeeded(peer->send_hello(hello)));
  EXPECT_TRUE(rejected_with(*peer, c.code)) << hello.to_json();
  EXPECT_EQ(h->relay()
                .totals()
                .rejected_by_code[static_cast<std::size_t>(*ctrl::parse_reject_code(c.code))],
            1u);
}

INSTANTIATE_TEST_SUITE_P(Hellos, ClaimFieldTest, ::testing::ValuesIn(field_cases()),
                         [](const ::testing::TestParamInfo<FieldCase>& case_info) {
                           return std::string(case_info.param.name);
                         });

TEST(RelayClaimOrder, SectionSevenChecksRunAfterInvalidMacAndBeforeDatagramsUnsupported) {
  auto h = start_claimed();
  ASSERT_NE(h, nullptr);
  const PeerOptions no_datagrams{.max_datagram_frame_size = 0};
  EXPECT_TRUE(
      hello_rejected(*h, hello_json("gateway", "ROOM1", "03:00:00:00:00:01"), "invalid_mac"));
  EXPECT_TRUE(hello_rejected(*h, hello_json("gateway", "ROOM1", kGatewayMac), "auth_required",
                             no_datagrams));
  EXPECT_TRUE(hello_rejected(*h, hello_json("client", "ROOM1", "02:5a:00:00:00:01"),
                             "auth_required", no_datagrams));
  // And a well-proven claim still meets check 6.
  auto peer = h->connect(no_datagrams);
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(
      succeeded(peer->send_hello(claim_hello(*peer, new_room_key(), "ROOM1", kGatewayMac))));
  EXPECT_TRUE(rejected_with(*peer, "datagrams_unsupported"));
  EXPECT_FALSE(record_of(*h, "ROOM1"));
}

// --- invites -----------------------------------------------------------------------------

class RelayInviteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = start_claimed();
    ASSERT_NE(h_, nullptr);
    gw_ = h_->join_gateway(owner_, "ROOM1", kGatewayMac);
    ASSERT_NE(gw_, nullptr);
  }

  std::string token(ctrl::InvitePayload payload) { return invite_token(owner_, payload); }
  HelloJson client(std::string_view mac, std::string_view token_text) {
    return invited_hello("ROOM1", mac, token_text);
  }

  const quic::RoomKey owner_ = new_room_key();
  std::unique_ptr<RelayHarness> h_;
  std::unique_ptr<TestPeer> gw_;
};

TEST(RelayWelcomeSize, ARoomWhoseWelcomeWouldPass16KiBIsFullNotAnInvalidFrame) {
  // Invite names of 32 control bytes are legal and JSON-escape to 6 bytes each: about 60 such
  // players make the next welcome longer than a control frame may be (section 2).
  HarnessOptions options;
  options.relay = claimed_relay_config(RoomMode::kClaimed);
  options.relay.limits.max_peers_per_room = 1000;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  const quic::RoomKey owner = new_room_key();
  auto gw = h->join_gateway(owner, "ROOM1", kGatewayMac);
  ASSERT_NE(gw, nullptr);
  std::vector<std::unique_ptr<TestPeer>> players;
  bool refused = false;
  for (int i = 0; i < 120 && !refused; ++i) {
    const std::string id = fmt::format("{:016x}", 0x1000 + i);
    const std::string mac = fmt::format("02:5a:00:00:{:02x}:{:02x}", i >> 8, i & 0xff);
    auto payload = invite_payload("ROOM1", id, std::string(32, '\x01'));
    auto peer = h->connect();
    ASSERT_NE(peer, nullptr);
    ASSERT_TRUE(peer->send_hello(invited_hello("ROOM1", mac, invite_token(owner, payload))));
    ASSERT_TRUE(peer->run_until([&] {
      return std::any_of(peer->messages().begin(), peer->messages().end(),
                         [](const ctrl::Message& m) {
                           return std::holds_alternative<ctrl::Welcome>(m) ||
                                  std::holds_alternative<ctrl::Reject>(m);
                         });
    })) << "player "
        << i << " got neither welcome nor reject";
    if (const auto reject = peer->next<ctrl::Reject>(std::chrono::milliseconds(1))) {
      EXPECT_EQ(reject->code, "room_full") << reject->message;
      EXPECT_GE(i, 40) << "refused while a welcome still fitted easily";
      refused = true;
    } else {
      players.push_back(std::move(peer));
    }
  }
  // Every welcome that did go out was a valid frame: each admitted player decoded it.
  for (const auto& p : players) EXPECT_FALSE(p->decode_error().has_value());
  EXPECT_TRUE(refused);
}

TEST_F(RelayInviteTest, AValidInviteIsAdmitted) {
  auto c = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->welcome().room, "ROOM1");
}

TEST_F(RelayInviteTest, AnExpiredInviteIsInviteExpired) {
  ctrl::InvitePayload payload = invite_payload("ROOM1", kIdA);
  payload.exp = unix_now() - 1;
  EXPECT_TRUE(hello_rejected(*h_, client("02:5a:00:00:00:01", token(payload)), "invite_expired"));
}

TEST_F(RelayInviteTest, AnInviteRevokedInTheRecordsIsInviteRevoked) {
  ASSERT_TRUE(h_->records()->revoke(
      "ROOM1", kIdA, std::nullopt,
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now())));
  EXPECT_TRUE(hello_rejected(*h_, client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))),
                             "invite_revoked"));
  // Another id of the same room is still fine.
  EXPECT_NE(h_->join(client("02:5a:00:00:00:02", token(invite_payload("ROOM1", kIdB)))), nullptr);
}

TEST_F(RelayInviteTest, AnInviteForAnotherRoomIsAuthFailed) {
  // ROOM2 belongs to the same key, so only the room comparison can fail.
  auto gw2 = h_->join_gateway(owner_, "ROOM2", "00:11:22:33:44:66");
  ASSERT_NE(gw2, nullptr);
  EXPECT_TRUE(hello_rejected(
      *h_, invited_hello("ROOM2", "02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))),
      "auth_failed"));
}

TEST_F(RelayInviteTest, AnInviteForARoomWithNoRecordIsAuthFailed) {
  EXPECT_TRUE(hello_rejected(
      *h_, invited_hello("ROOM9", "02:5a:00:00:00:01", token(invite_payload("ROOM9", kIdA))),
      "auth_failed"));
}

TEST_F(RelayInviteTest, AnInviteSignedByAnotherKeyIsAuthFailed) {
  EXPECT_TRUE(hello_rejected(
      *h_, client("02:5a:00:00:00:01", invite_token(new_room_key(), invite_payload("ROOM1", kIdA))),
      "auth_failed"));
}

TEST_F(RelayInviteTest, ATamperedInviteIsAuthFailed) {
  const std::string good = token(invite_payload("ROOM1", kIdA));
  const auto dot = good.rfind('.');
  // A payload character and a signature character, each swapped for another of the alphabet.
  for (const std::size_t at : {ctrl::kInviteTokenPrefix.size() + 2, dot + 3}) {
    std::string bad = good;
    bad[at] = bad[at] == 'A' ? 'B' : 'A';
    EXPECT_TRUE(hello_rejected(*h_, client("02:5a:00:00:00:01", bad), "auth_failed"))
        << "changed byte " << at;
  }
}

TEST_F(RelayInviteTest, ClientsAreAdmittedWhileTheGatewayIsAway) {
  gw_->connection().close(ctrl::app_error::kNoError, "bye");
  ASSERT_TRUE(h_->run_until([&] { return h_->relay().rooms().room_count() == 0; }));
  auto c = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))));
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->welcome().peers.empty());
}

TEST_F(RelayInviteTest, NamesGoToEveryoneAndInviteIdsOnlyToTheGateway) {
  auto alice = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA, "alice"))));
  ASSERT_NE(alice, nullptr);
  auto anon = h_->join(client("02:5a:00:00:00:02", token(invite_payload("ROOM1", kIdB))));
  ASSERT_NE(anon, nullptr);

  const auto gw_saw_alice = gw_->next<ctrl::PeerJoined>();
  const auto gw_saw_anon = gw_->next<ctrl::PeerJoined>();
  const auto alice_saw_anon = alice->next<ctrl::PeerJoined>();
  ASSERT_TRUE(gw_saw_alice && gw_saw_anon && alice_saw_anon);
  EXPECT_EQ(gw_saw_alice->peer.name, "alice");
  EXPECT_EQ(gw_saw_alice->peer.invite_id, kIdA);
  EXPECT_EQ(gw_saw_anon->peer.name, std::nullopt);
  EXPECT_EQ(gw_saw_anon->peer.invite_id, kIdB);
  EXPECT_EQ(alice_saw_anon->peer.name, std::nullopt);
  EXPECT_EQ(alice_saw_anon->peer.invite_id, std::nullopt);

  // anon's welcome: the gateway, and alice by name without her invite id.
  ASSERT_EQ(anon->welcome().peers.size(), 2u);
  for (const auto& p : anon->welcome().peers) {
    EXPECT_EQ(p.invite_id, std::nullopt);
    EXPECT_EQ(p.name,
              p.role == ctrl::Role::kGateway ? std::nullopt : std::optional<std::string>("alice"));
  }
  EXPECT_THAT(anon->received_text(), Not(HasSubstr("invite_id")));
  EXPECT_THAT(alice->received_text(), Not(HasSubstr("invite_id")));
  EXPECT_THAT(gw_->received_text(), HasSubstr(R"("invite_id":"0123456789abcdef")"));

  // The gateway's own welcome carries them too, when it comes back.
  gw_->connection().close(ctrl::app_error::kNoError, "restart");
  ASSERT_TRUE(alice->next<ctrl::PeerLeft>());
  auto back = h_->join_gateway(owner_, "ROOM1", kGatewayMac);
  ASSERT_NE(back, nullptr);
  ASSERT_EQ(back->welcome().peers.size(), 2u);
  for (const auto& p : back->welcome().peers) {
    EXPECT_EQ(p.invite_id, p.peer_id == alice->peer_id() ? kIdA : kIdB);
    EXPECT_EQ(p.name,
              p.peer_id == alice->peer_id() ? std::optional<std::string>("alice") : std::nullopt);
  }
}

// --- kick --------------------------------------------------------------------------------

TEST_F(RelayInviteTest, KickClosesTheClientWithErrorFourAndTheReason) {
  auto a = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))));
  auto b = h_->join(client("02:5a:00:00:00:02", token(invite_payload("ROOM1", kIdB))));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(
      succeeded(gw_->send_message(ctrl::Kick{.peer_id = a->peer_id(), .reason = "mac_on_lan"})));
  EXPECT_TRUE(closed_with(*a, kAppKicked, "mac_on_lan"));
  for (TestPeer* other : {gw_.get(), b.get()}) {
    const auto left = other->next<ctrl::PeerLeft>();
    ASSERT_TRUE(left);
    EXPECT_EQ(left->peer_id, a->peer_id());
    EXPECT_EQ(left->reason, "kicked");
  }
  EXPECT_FALSE(b->closed());
  EXPECT_EQ(h_->relay().totals().kicked[static_cast<std::size_t>(KickCause::kOwnerKick)], 1u);
  EXPECT_EQ(h_->log().count("relay.kicked"), 1u);
}

TEST_F(RelayInviteTest, KickReasonDefaultsToKickedAndIsCutAt64BytesOnACharacterBoundary) {
  auto a = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))));
  auto b = h_->join(client("02:5a:00:00:00:02", token(invite_payload("ROOM1", kIdB))));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(succeeded(gw_->send_message(ctrl::Kick{.peer_id = a->peer_id()})));
  EXPECT_TRUE(closed_with(*a, kAppKicked, "kicked"));
  const std::string ascii(63, 'r');
  ASSERT_TRUE(succeeded(
      gw_->send_message(ctrl::Kick{.peer_id = b->peer_id(), .reason = ascii + "\u00e9 and more"})));
  EXPECT_TRUE(closed_with(*b, kAppKicked, ascii));
}

TEST_F(RelayInviteTest, AKickIsNotABan) {
  const std::string t = token(invite_payload("ROOM1", kIdA));
  auto a = h_->join(client("02:5a:00:00:00:01", t));
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(succeeded(gw_->send_message(ctrl::Kick{.peer_id = a->peer_id()})));
  ASSERT_TRUE(closed_with(*a, kAppKicked));
  EXPECT_NE(h_->join(client("02:5a:00:00:00:01", t)), nullptr);
}

TEST_F(RelayInviteTest, KicksOfTheGatewayItselfAnotherRoomOrNobodyAreIgnored) {
  const quic::RoomKey other_owner = new_room_key();
  auto gw2 = h_->join_gateway(other_owner, "ROOM2", "00:11:22:33:44:66");
  ASSERT_NE(gw2, nullptr);
  auto elsewhere = h_->join(invited_hello(
      "ROOM2", "02:5a:00:00:00:09", invite_token(other_owner, invite_payload("ROOM2", kIdA))));
  auto a = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))));
  ASSERT_TRUE(elsewhere && a);
  for (const std::uint16_t id :
       {gw_->peer_id(), gw2->peer_id(), elsewhere->peer_id(), std::uint16_t{65000}}) {
    ASSERT_TRUE(succeeded(gw_->send_message(ctrl::Kick{.peer_id = id})));
  }
  ASSERT_TRUE(h_->run_until([&] { return h_->log().count("relay.kick_ignored") == 4; }));
  EXPECT_TRUE(gw_->probe_fence());
  for (TestPeer* p : {gw_.get(), gw2.get(), elsewhere.get(), a.get()}) EXPECT_FALSE(p->closed());
  EXPECT_EQ(h_->relay().totals().owner_messages_ignored, 4u);
  EXPECT_EQ(h_->relay().rooms().peer_count(), 4u);
}

struct OwnerMessageCase {
  const char* name;
  std::string json;
};

class OwnerMessageFromClientTest : public RelayInviteTest,
                                   public ::testing::WithParamInterface<OwnerMessageCase> {};

TEST_P(OwnerMessageFromClientTest, ClosesTheClientWithErrorOne) {
  auto a = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))));
  auto b = h_->join(client("02:5a:00:00:00:02", token(invite_payload("ROOM1", kIdB))));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(
      succeeded(a->send_json(replace_all(GetParam().json, "$B", std::to_string(b->peer_id())))));
  EXPECT_TRUE(closed_with(*a, ctrl::app_error::kProtocolViolation));
  const auto left = gw_->next<ctrl::PeerLeft>();
  ASSERT_TRUE(left);
  EXPECT_EQ(left->peer_id, a->peer_id());
  EXPECT_EQ(left->reason, "kicked");
  EXPECT_FALSE(b->closed());
}

INSTANTIATE_TEST_SUITE_P(
    Messages, OwnerMessageFromClientTest,
    ::testing::Values(
        OwnerMessageCase{"Kick", R"({"type":"kick","peer_id":$B})"},
        OwnerMessageCase{"Revoke", R"({"type":"revoke","invite_id":"fedcba9876543210"})"},
        OwnerMessageCase{"RevokeOfABadId", R"({"type":"revoke","invite_id":"x"})"},
        OwnerMessageCase{"RelayOnlyRevoked", R"({"type":"revoked","invite_id":"x","kicked":0})"}),
    [](const ::testing::TestParamInfo<OwnerMessageCase>& case_info) {
      return std::string(case_info.param.name);
    });

TEST_F(RelayInviteTest, AMalformedKickFromTheGatewayIsAProtocolViolation) {
  ASSERT_TRUE(succeeded(gw_->send_json(R"({"type":"kick","peer_id":"1"})")));
  EXPECT_TRUE(closed_with(*gw_, ctrl::app_error::kProtocolViolation));
}

// --- revoke ------------------------------------------------------------------------------

TEST_F(RelayInviteTest, RevokeKicksEveryLiveClientOfThatInviteAndAnswersTheOwner) {
  const std::string shared = token(invite_payload("ROOM1", kIdA, "team"));
  auto a1 = h_->join(client("02:5a:00:00:00:01", shared));
  auto a2 = h_->join(client("02:5a:00:00:00:02", shared));
  auto b = h_->join(client("02:5a:00:00:00:03", token(invite_payload("ROOM1", kIdB))));
  // The same id in another room is another invite: revocations never reach it.
  const quic::RoomKey other_owner = new_room_key();
  auto gw2 = h_->join_gateway(other_owner, "ROOM2", "00:11:22:33:44:66");
  ASSERT_NE(gw2, nullptr);
  auto elsewhere = h_->join(invited_hello(
      "ROOM2", "02:5a:00:00:00:01", invite_token(other_owner, invite_payload("ROOM2", kIdA))));
  ASSERT_TRUE(a1 && a2 && b && elsewhere);

  ASSERT_TRUE(succeeded(gw_->send_message(ctrl::Revoke{.invite_id = kIdA})));
  const auto revoked = gw_->next<ctrl::Revoked>();
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->invite_id, kIdA);
  EXPECT_EQ(revoked->kicked, 2u);
  EXPECT_TRUE(closed_with(*a1, kAppKicked, "invite_revoked"));
  EXPECT_TRUE(closed_with(*a2, kAppKicked, "invite_revoked"));
  std::vector<std::uint16_t> left_ids;
  for (int i = 0; i < 2; ++i) {
    const auto left = b->next<ctrl::PeerLeft>();
    ASSERT_TRUE(left);
    EXPECT_EQ(left->reason, "kicked");
    left_ids.push_back(left->peer_id);
  }
  EXPECT_THAT(left_ids, ::testing::UnorderedElementsAre(a1->peer_id(), a2->peer_id()));
  EXPECT_TRUE(elsewhere->probe_fence());
  EXPECT_FALSE(elsewhere->closed());
  EXPECT_FALSE(b->closed());

  // Durable: a later join with that invite is refused, the room's other invites are not.
  EXPECT_TRUE(hello_rejected(*h_, client("02:5a:00:00:00:04", shared), "invite_revoked"));
  EXPECT_NE(h_->join(client("02:5a:00:00:00:05", token(invite_payload("ROOM1", kIdB)))), nullptr);
  EXPECT_EQ(h_->relay().totals().revocations, 1u);
  EXPECT_EQ(h_->relay().totals().kicked[static_cast<std::size_t>(KickCause::kRevoked)], 2u);
  const auto record = record_of(*h_, "ROOM1");
  ASSERT_TRUE(record);
  ASSERT_EQ(record->revocations.size(), 1u);
  EXPECT_EQ(record->revocations[0].invite_id, kIdA);
  EXPECT_EQ(record->revocations[0].exp, std::nullopt);
}

TEST_F(RelayInviteTest, RevokeWithAnExpiryKeepsItUntilThen) {
  const std::int64_t exp = unix_now() + 600;
  ASSERT_TRUE(succeeded(gw_->send_message(ctrl::Revoke{.invite_id = kIdA, .exp = exp})));
  const auto revoked = gw_->next<ctrl::Revoked>();
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->kicked, 0u);
  const auto record = record_of(*h_, "ROOM1");
  ASSERT_TRUE(record);
  ASSERT_EQ(record->revocations.size(), 1u);
  EXPECT_EQ(record->revocations[0].exp, directory::Seconds(std::chrono::seconds(exp)));
}

TEST_F(RelayInviteTest, RevokeOfAnIdThatIsNotSixteenLowerCaseHexDigitsIsIgnored) {
  auto a = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))));
  ASSERT_NE(a, nullptr);
  for (const char* bad : {"0123456789ABCDEF", "0123456789abcde", "", "0123456789abcdef0"}) {
    ASSERT_TRUE(succeeded(gw_->send_message(ctrl::Revoke{.invite_id = bad})));
  }
  ASSERT_TRUE(h_->run_until([&] { return h_->log().count("relay.revoke_ignored") == 4; }));
  EXPECT_TRUE(gw_->probe_fence());
  EXPECT_FALSE(gw_->next<ctrl::Revoked>(0ms));
  EXPECT_FALSE(a->closed());
  EXPECT_TRUE(record_of(*h_, "ROOM1")->revocations.empty());
}

TEST_F(RelayInviteTest, ARevokeFloodIsCutToTheOwnersRateAndTheRoomKeepsForwarding) {
  // Each revoke is an fsync on the relay's loop: 300 back to back would stall every room.
  auto a = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))));
  ASSERT_NE(a, nullptr);
  constexpr int kRevokes = 300;
  for (int i = 0; i < kRevokes; ++i) {
    const std::string id = fmt::format("{:016x}", 0xa000 + i);
    ASSERT_TRUE(succeeded(gw_->send_message(ctrl::Revoke{.invite_id = id})));
  }
  ASSERT_TRUE(h_->run_until([&] {
    const RelayTotals& t = h_->relay().totals();
    return t.revocations + t.revokes_rate_limited == kRevokes;
  }));
  const RelayTotals& t = h_->relay().totals();
  // The burst (100) and what 10/s refills meanwhile were recorded; the rest was not.
  EXPECT_GE(t.revocations, 100u);
  EXPECT_LE(t.revocations, 150u);
  EXPECT_EQ(t.revokes_rate_limited, kRevokes - t.revocations);
  EXPECT_TRUE(a->probe_fence());
  EXPECT_FALSE(gw_->closed());
}

// --- metrics -----------------------------------------------------------------------------

TEST_F(RelayInviteTest, MetricsCountRejectCodesClaimsKicksAndRevocations) {
  EXPECT_TRUE(
      hello_rejected(*h_, hello_json("client", "ROOM1", "02:5a:00:00:00:09"), "auth_required"));
  auto a = h_->join(client("02:5a:00:00:00:01", token(invite_payload("ROOM1", kIdA))));
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(succeeded(gw_->send_message(ctrl::Revoke{.invite_id = kIdA})));
  ASSERT_TRUE(gw_->next<ctrl::Revoked>());
  const std::string text = render_metrics(h_->relay());
  EXPECT_THAT(text, HasSubstr("lanparty_relay_rejects_total{code=\"auth_required\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lanparty_relay_rejects_total{code=\"invite_revoked\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("lanparty_relay_room_claims_total{outcome=\"claimed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lanparty_relay_kicks_total{cause=\"invite_revoked\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lanparty_relay_revocations_total 1\n"));
  EXPECT_THAT(text, HasSubstr("lanparty_relay_rejected_total 1\n"));
}

TEST_F(RelayInviteTest, LogsNeverCarryATokenOrAWholeKey) {
  const std::string t = token(invite_payload("ROOM1", kIdA));
  ctrl::InvitePayload expired = invite_payload("ROOM1", kIdB);
  expired.exp = unix_now() - 5;
  EXPECT_TRUE(hello_rejected(*h_, client("02:5a:00:00:00:02", token(expired)), "invite_expired"));
  EXPECT_TRUE(claim_rejected(*h_, new_room_key(), "room_owned"));
  ASSERT_NE(h_->join(client("02:5a:00:00:00:01", t)), nullptr);
  const std::string key = public_key_text(owner_);
  for (const auto& record : h_->log().records()) {
    for (const auto& [name, value] : record.fields) {
      const std::string text = record.text(name);
      EXPECT_THAT(text, Not(HasSubstr(key))) << record.name << "." << name;
      EXPECT_THAT(text, Not(HasSubstr("lpi1."))) << record.name << "." << name;
    }
  }
  const auto rejected = h_->log().named("relay.rejected");
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_THAT(rejected[0].text("why"), HasSubstr(kIdB));
  EXPECT_THAT(rejected[1].text("why"), HasSubstr(key.substr(0, 8)));
}

// --- open mode ---------------------------------------------------------------------------

TEST(RelayOpenRooms, SectionSevenFieldsAreIgnoredWhateverTheirType) {
  auto h = RelayHarness::start();  // test_relay_config(): open
  ASSERT_NE(h, nullptr);
  HelloJson gw_hello = hello_json("gateway", "ROOM1", kGatewayMac);
  gw_hello.extra = R"(,"room_key":5,"room_proof":null)";
  auto gw = h->join(gw_hello);
  ASSERT_NE(gw, nullptr);
  HelloJson c_hello = hello_json("client", "ROOM1", "02:5a:00:00:00:01");
  c_hello.extra = R"(,"invite":["not","a","string"])";
  auto c = h->join(c_hello);
  ASSERT_NE(c, nullptr);
  // A real invite changes nothing either: no name, no invite id.
  auto named =
      h->join(invited_hello("ROOM1", "02:5a:00:00:00:02",
                            invite_token(new_room_key(), invite_payload("ROOM1", kIdA, "n"))));
  ASSERT_NE(named, nullptr);
  EXPECT_THAT(gw->received_text(), Not(HasSubstr("invite_id")));
  EXPECT_THAT(gw->received_text(), Not(HasSubstr("\"name\"")));
  EXPECT_EQ(h->records(), nullptr);
}

TEST(RelayOpenRooms, KickAndRevokeAreUnknownTypesIgnoredFromAnyone) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", kGatewayMac));
  auto c = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  ASSERT_TRUE(gw && c);
  const std::string kick = fmt::format(R"({{"type":"kick","peer_id":{}}})", c->peer_id());
  const std::string revoke = R"({"type":"revoke","invite_id":"0123456789abcdef"})";
  for (TestPeer* p : {gw.get(), c.get()}) {
    ASSERT_TRUE(succeeded(p->send_json(kick)));
    ASSERT_TRUE(succeeded(p->send_json(revoke)));
    // Malformed as section 7 reads them; unknown types here.
    ASSERT_TRUE(succeeded(p->send_json(R"({"type":"kick","peer_id":"x"})")));
  }
  ASSERT_TRUE(h->run_until([&] { return h->log().count("relay.ignored_message") == 6; }));
  EXPECT_TRUE(gw->probe_fence());
  EXPECT_TRUE(c->probe_fence());
  EXPECT_FALSE(gw->closed());
  EXPECT_FALSE(c->closed());
  EXPECT_FALSE(gw->next<ctrl::Revoked>(0ms));
  EXPECT_FALSE(gw->next<ctrl::PeerLeft>(0ms));
}

}  // namespace
}  // namespace lanparty::relay::testing
