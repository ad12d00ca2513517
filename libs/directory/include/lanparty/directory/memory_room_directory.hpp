// SPDX-License-Identifier: MIT
// RoomDirectory in memory, for unit tests of relay policy. Same behaviour as the SQLite one
// (the same contract tests run over both), nothing durable.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lanparty/directory/room_directory.hpp"

namespace lanparty::directory {

class MemoryRoomDirectory final : public RoomDirectory {
 public:
  // `limits` must be positive (LANPARTY_CHECK: a test's own mistake).
  explicit MemoryRoomDirectory(Limits limits = {});

  [[nodiscard]] Result<std::optional<RoomRecord>> lookup(std::string_view room,
                                                         Seconds now) override;
  [[nodiscard]] Result<ClaimOutcome> claim(std::string_view room, const OwnerKey& owner,
                                           Seconds now) override;
  [[nodiscard]] Status touch(std::string_view room, const OwnerKey& owner, Seconds now) override;
  [[nodiscard]] Status revoke(std::string_view room, std::string_view invite_id,
                              std::optional<Seconds> exp, Seconds now) override;
  [[nodiscard]] Result<bool> is_revoked(std::string_view room, std::string_view invite_id,
                                        Seconds now) override;
  [[nodiscard]] Result<Purged> expire(Seconds now) override;

 private:
  struct Entry {
    OwnerKey owner_key{};
    Seconds last_seen{};
    std::map<std::string, std::optional<Seconds>, std::less<>> revocations;
  };
  using Rooms = std::map<std::string, Entry, std::less<>>;

  // The live entry of `room`; a stale one is erased and end() returned.
  Rooms::iterator find_live(std::string_view room, Seconds now);
  [[nodiscard]] bool is_stale(const Entry& entry, Seconds now) const noexcept;
  std::size_t purge_stale(Seconds now);

  Limits limits_;
  Rooms rooms_;
};

}  // namespace lanparty::directory
