// SPDX-License-Identifier: MIT
// The RoomDirectory contract, run over the SQLite file, the in-memory twin and Redis alike.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "directory_factories.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/directory/room_directory.hpp"
#include "temp_dir.hpp"

namespace lanparty::directory {
namespace {

using namespace std::chrono_literals;
using testing_support::key;
using testing_support::kId1;
using testing_support::kId2;
using testing_support::kT0;

constexpr std::chrono::seconds kTtl = 3600s;

template <class Impl>
class RoomDirectoryContract : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* why = Impl::unavailable()) GTEST_SKIP() << why;
    make({.room_ttl = kTtl, .max_room_records = 100});
  }
  void make(Limits limits) {
    dir_ = nullptr;
    dir_ = Impl::make(tmp_.path(), limits);
    ASSERT_NE(dir_, nullptr);
  }
  RoomDirectory& dir() { return *dir_; }

  // The record of `room` at `now`, or none; fails the test on an error.
  std::optional<RoomRecord> record(std::string_view room, Seconds now) {
    auto found = dir_->lookup(room, now);
    EXPECT_TRUE(found) << found.error().describe();
    return found ? *found : std::nullopt;
  }
  bool revoked(std::string_view room, std::string_view id, Seconds now) {
    auto r = dir_->is_revoked(room, id, now);
    EXPECT_TRUE(r) << r.error().describe();
    return r && *r;
  }

  testing_support::TempDir tmp_;
  std::unique_ptr<RoomDirectory> dir_;
};

struct ImplName {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using Implementations = ::testing::Types<testing_support::SqliteImpl, testing_support::MemoryImpl,
                                         testing_support::RedisImpl>;
TYPED_TEST_SUITE(RoomDirectoryContract, Implementations, ImplName);

TYPED_TEST(RoomDirectoryContract, LookupOfUnknownRoomIsNone) {
  EXPECT_EQ(this->record("ROOM1", kT0), std::nullopt);
}

TYPED_TEST(RoomDirectoryContract, ClaimThenLookupReturnsTheRecord) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  const auto rec = this->record("ROOM1", kT0 + 10s);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->room, "ROOM1");
  EXPECT_EQ(rec->owner_key, key(1));
  EXPECT_EQ(rec->last_seen, kT0);
  EXPECT_TRUE(rec->revocations.empty());
  EXPECT_EQ(this->record("ROOM2", kT0), std::nullopt);
}

TYPED_TEST(RoomDirectoryContract, ClaimBySecondKeyIsOwnedByOther) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_EQ(this->dir().claim("ROOM1", key(2), kT0 + 5s), ClaimOutcome::kOwnedByOther);
  const auto rec = this->record("ROOM1", kT0 + 5s);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->owner_key, key(1));
  EXPECT_EQ(rec->last_seen, kT0);  // a refused claim does not refresh the owner
}

TYPED_TEST(RoomDirectoryContract, ClaimBySameKeyIsAlreadyOwnerAndRefreshesLastSeen) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_EQ(this->dir().claim("ROOM1", key(1), kT0 + 100s), ClaimOutcome::kAlreadyOwner);
  const auto rec = this->record("ROOM1", kT0 + 100s);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->last_seen, kT0 + 100s);
}

TYPED_TEST(RoomDirectoryContract, RecordIsKeptUntilTheTtlHasPassed) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_TRUE(this->record("ROOM1", kT0 + kTtl - 1s));
  EXPECT_EQ(this->dir().claim("ROOM1", key(2), kT0 + kTtl - 1s), ClaimOutcome::kOwnedByOther);
}

TYPED_TEST(RoomDirectoryContract, RecordPastTtlIsGoneAndAnotherKeyCanClaimIt) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_EQ(this->record("ROOM1", kT0 + kTtl), std::nullopt);
  ASSERT_EQ(this->dir().claim("ROOM1", key(2), kT0 + kTtl + 1s), ClaimOutcome::kClaimed);
  const auto rec = this->record("ROOM1", kT0 + kTtl + 1s);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->owner_key, key(2));
  EXPECT_EQ(rec->last_seen, kT0 + kTtl + 1s);
}

TYPED_TEST(RoomDirectoryContract, ClaimOfStaleRecordWithoutLookupGoesToNewKey) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_EQ(this->dir().claim("ROOM1", key(2), kT0 + 2 * kTtl), ClaimOutcome::kClaimed);
}

TYPED_TEST(RoomDirectoryContract, TouchKeepsTheRecordAlive) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_TRUE(this->dir().touch("ROOM1", key(1), kT0 + kTtl - 1s));
  const auto rec = this->record("ROOM1", kT0 + kTtl + 10s);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->last_seen, kT0 + kTtl - 1s);
  EXPECT_EQ(this->dir().claim("ROOM1", key(2), kT0 + kTtl + 10s), ClaimOutcome::kOwnedByOther);
}

TYPED_TEST(RoomDirectoryContract, TouchByAnotherKeyOrOfUnknownRoomIsNotFound) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  const Status other = this->dir().touch("ROOM1", key(2), kT0 + 1s);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Errc::kNotFound);
  const Status unknown = this->dir().touch("ROOM2", key(1), kT0 + 1s);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::kNotFound);
  EXPECT_EQ(this->record("ROOM1", kT0 + 1s)->last_seen, kT0);
}

TYPED_TEST(RoomDirectoryContract, TouchOfStaleRecordIsNotFound) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  const Status s = this->dir().touch("ROOM1", key(1), kT0 + kTtl);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kNotFound);
}

TYPED_TEST(RoomDirectoryContract, ClaimBeyondMaxRoomRecordsIsFull) {
  this->make({.room_ttl = kTtl, .max_room_records = 3});
  for (const char* room : {"ROOMA", "ROOMB", "ROOMC"}) {
    ASSERT_EQ(this->dir().claim(room, key(1), kT0), ClaimOutcome::kClaimed) << room;
  }
  EXPECT_EQ(this->dir().claim("ROOMD", key(1), kT0 + 1s), ClaimOutcome::kFull);
  EXPECT_EQ(this->record("ROOMD", kT0 + 1s), std::nullopt);
  // Existing records answer as before: being full only refuses new names.
  EXPECT_EQ(this->dir().claim("ROOMA", key(1), kT0 + 1s), ClaimOutcome::kAlreadyOwner);
  EXPECT_EQ(this->dir().claim("ROOMB", key(2), kT0 + 1s), ClaimOutcome::kOwnedByOther);
}

TYPED_TEST(RoomDirectoryContract, StaleRecordsDoNotHoldPlaces) {
  this->make({.room_ttl = kTtl, .max_room_records = 2});
  ASSERT_EQ(this->dir().claim("ROOMA", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_EQ(this->dir().claim("ROOMB", key(1), kT0 + 10s), ClaimOutcome::kClaimed);
  EXPECT_EQ(this->dir().claim("ROOMC", key(1), kT0 + kTtl), ClaimOutcome::kClaimed);
  EXPECT_EQ(this->record("ROOMA", kT0 + kTtl), std::nullopt);
  EXPECT_TRUE(this->record("ROOMB", kT0 + kTtl));
  EXPECT_EQ(this->dir().claim("ROOMD", key(1), kT0 + kTtl), ClaimOutcome::kFull);
}

TYPED_TEST(RoomDirectoryContract, RevocationWithoutExpLastsWhileTheRecordLives) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_FALSE(this->revoked("ROOM1", kId1, kT0));
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, std::nullopt, kT0));
  EXPECT_TRUE(this->revoked("ROOM1", kId1, kT0 + kTtl - 1s));
  EXPECT_FALSE(this->revoked("ROOM1", kId2, kT0));
  ASSERT_TRUE(this->dir().touch("ROOM1", key(1), kT0 + kTtl - 1s));
  EXPECT_TRUE(this->revoked("ROOM1", kId1, kT0 + 2 * kTtl - 2s));
}

TYPED_TEST(RoomDirectoryContract, RevocationWithExpStopsCountingAtExp) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, kT0 + 60s, kT0));
  EXPECT_TRUE(this->revoked("ROOM1", kId1, kT0 + 59s));
  EXPECT_FALSE(this->revoked("ROOM1", kId1, kT0 + 60s));  // as invite exp: <= now is over
  EXPECT_TRUE(this->record("ROOM1", kT0 + 60s)->revocations.empty());
}

TYPED_TEST(RoomDirectoryContract, RevokingAgainNeverShortens) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, kT0 + 100s, kT0));
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, kT0 + 50s, kT0));
  EXPECT_TRUE(this->revoked("ROOM1", kId1, kT0 + 99s));
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, std::nullopt, kT0));
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, kT0 + 10s, kT0));
  EXPECT_TRUE(this->revoked("ROOM1", kId1, kT0 + 1000s));
  EXPECT_EQ(this->record("ROOM1", kT0)->revocations,
            (std::vector<Revocation>{{kId1, std::nullopt}}));
}

TYPED_TEST(RoomDirectoryContract, RevokeWithPastExpWritesNothing) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, kT0, kT0));
  EXPECT_FALSE(this->revoked("ROOM1", kId1, kT0 - 10s));
  EXPECT_TRUE(this->record("ROOM1", kT0)->revocations.empty());
}

TYPED_TEST(RoomDirectoryContract, RevokeInRoomWithoutRecordIsNotFound) {
  const Status s = this->dir().revoke("ROOM1", kId1, std::nullopt, kT0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kNotFound);
  EXPECT_FALSE(this->revoked("ROOM1", kId1, kT0));
}

TYPED_TEST(RoomDirectoryContract, RevocationsStayInTheirRoom) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_EQ(this->dir().claim("ROOM2", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, std::nullopt, kT0));
  EXPECT_TRUE(this->revoked("ROOM1", kId1, kT0));
  EXPECT_FALSE(this->revoked("ROOM2", kId1, kT0));
}

TYPED_TEST(RoomDirectoryContract, LookupListsRevocationsInForceSortedById) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, kT0 + 100s, kT0));
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId2, std::nullopt, kT0));
  ASSERT_TRUE(this->dir().revoke("ROOM1", "aaaaaaaaaaaaaaaa", kT0 + 10s, kT0));
  EXPECT_EQ(this->record("ROOM1", kT0 + 10s)->revocations,
            (std::vector<Revocation>{{kId2, std::nullopt}, {kId1, kT0 + 100s}}));
}

TYPED_TEST(RoomDirectoryContract, NewOwnerDoesNotInheritRevocations) {
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_TRUE(this->dir().revoke("ROOM1", kId1, std::nullopt, kT0));
  ASSERT_EQ(this->dir().claim("ROOM1", key(2), kT0 + kTtl), ClaimOutcome::kClaimed);
  EXPECT_FALSE(this->revoked("ROOM1", kId1, kT0 + kTtl));
  EXPECT_TRUE(this->record("ROOM1", kT0 + kTtl)->revocations.empty());
}

TYPED_TEST(RoomDirectoryContract, ExpireCountsWhatItPurges) {
  ASSERT_EQ(this->dir().claim("OLD1", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_EQ(this->dir().claim("OLD2", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_EQ(this->dir().claim("LIVE", key(1), kT0 + 100s), ClaimOutcome::kClaimed);
  ASSERT_TRUE(this->dir().revoke("OLD1", kId1, std::nullopt, kT0));
  ASSERT_TRUE(this->dir().revoke("OLD1", kId2, kT0 + 10s, kT0));
  ASSERT_TRUE(this->dir().revoke("LIVE", kId1, kT0 + 200s, kT0 + 100s));
  ASSERT_TRUE(this->dir().revoke("LIVE", kId2, std::nullopt, kT0 + 100s));

  // OLD1's kId2 is past its exp.
  EXPECT_EQ(this->dir().expire(kT0 + 20s), (Purged{.rooms = 0, .revocations = 1}));
  // OLD1 and OLD2 are past the TTL (with OLD1's kId1); LIVE's kId1 is past its exp.
  EXPECT_EQ(this->dir().expire(kT0 + kTtl), (Purged{.rooms = 2, .revocations = 2}));
  EXPECT_EQ(this->dir().expire(kT0 + kTtl), Purged{});
  EXPECT_EQ(this->record("OLD1", kT0 + kTtl), std::nullopt);
  EXPECT_TRUE(this->revoked("LIVE", kId2, kT0 + kTtl));
  EXPECT_EQ(this->dir().expire(kT0 + 100s + kTtl), (Purged{.rooms = 1, .revocations = 1}));
}

TYPED_TEST(RoomDirectoryContract, ExpireOnEmptyDirectoryPurgesNothing) {
  EXPECT_EQ(this->dir().expire(kT0), Purged{});
}

TYPED_TEST(RoomDirectoryContract, RefusesInvalidArguments) {
  const std::string long_room(kMaxRoomNameBytes + 1, 'a');
  for (const std::string_view room : {std::string_view(), std::string_view(long_room)}) {
    EXPECT_EQ(this->dir().claim(room, key(1), kT0).error().code, Errc::kInvalidArgument);
    EXPECT_EQ(this->dir().lookup(room, kT0).error().code, Errc::kInvalidArgument);
    EXPECT_EQ(this->dir().touch(room, key(1), kT0).error().code, Errc::kInvalidArgument);
  }
  ASSERT_EQ(this->dir().claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  for (const char* id :
       {"", "9F2C4E1A7B3D5A60", "9f2c4e1a7b3d5a6", "9f2c4e1a7b3d5a60a", "9f2c4e1a7b3d5a6g"}) {
    EXPECT_EQ(this->dir().revoke("ROOM1", id, std::nullopt, kT0).error().code,
              Errc::kInvalidArgument)
        << id;
    EXPECT_EQ(this->dir().is_revoked("ROOM1", id, kT0).error().code, Errc::kInvalidArgument) << id;
  }
}

TYPED_TEST(RoomDirectoryContract, RoomNamesAreExactBytes) {
  ASSERT_EQ(this->dir().claim("room1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_EQ(this->dir().claim("ROOM1", key(2), kT0), ClaimOutcome::kClaimed);
  const std::string with_nul("a\0b", 3);
  ASSERT_EQ(this->dir().claim(with_nul, key(3), kT0), ClaimOutcome::kClaimed);
  EXPECT_EQ(this->record(with_nul, kT0)->room, with_nul);
  EXPECT_EQ(this->record("a", kT0), std::nullopt);
}

}  // namespace
}  // namespace lanparty::directory
