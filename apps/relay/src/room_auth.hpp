// SPDX-License-Identifier: MIT
// PROTOCOL.md section 7's admission checks for `claimed` and `owners` rooms: a gateway's room
// key proof and a client's invite, against the room records. They run between check 5
// (invalid_mac) and check 6 (datagrams_unsupported), once per hello and never per frame.
// Time is passed in; the records are the caller's.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <tl/expected.hpp>

#include "lanparty/ctrl/hello.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/ctrl/messages.hpp"
#include "lanparty/directory/room_directory.hpp"
#include "room_options.hpp"

namespace lanparty::relay {

// Why a hello was refused by these checks.
struct AuthReject {
  ctrl::RejectCode code;
  std::string why;             // for the relay's log: the rule that failed, never a secret
  bool records_error = false;  // the room records could not be read (code is kRelayFull)
};

// What the relay learns about a client from its invite once every check passed.
struct InviteGrant {
  OwnerKey room_key{};  // the key that signed the invite (the room's owner key)
  std::string invite_id;
  std::optional<std::string> name;
};

// A gateway's claim, in order: room_key and room_proof present (else auth_required), each
// strict base64url of exactly 32 / 64 bytes (else auth_failed), the key in `listed` when that
// is given (`owners` mode; else auth_failed), the proof an Ed25519 signature by the key over
// ctrl::claim_signing_input(room, ekm) (else auth_failed), and no live record of the room with
// another owner key (else room_owned). `ekm` is this connection's exporter output for
// ctrl::kRoomClaimExporterLabel. Returns the proven key; writes nothing.
[[nodiscard]] tl::expected<OwnerKey, AuthReject> check_gateway_claim(
    const ctrl::ValidHello& hello, std::span<const std::uint8_t, ctrl::kRoomClaimEkmBytes> ekm,
    const OwnerKeys* listed, directory::RoomDirectory& records, directory::Seconds now);

// A client's invite, in order: present (else auth_required); well-formed, the room has a
// live record, the signature verifies with its owner key, and the token's room is the
// hello's (else auth_failed: nothing of the token is read before the signature verifies);
// exp > now (else invite_expired); the id not revoked (else invite_revoked).
[[nodiscard]] tl::expected<InviteGrant, AuthReject> check_client_invite(
    const ctrl::ValidHello& hello, directory::RoomDirectory& records, directory::Seconds now);

// The one room record that section 7's checks read, fetched beforehand (on the directory's
// worker thread) and served to check_gateway_claim / check_client_invite on the loop. Only
// lookup() of that room answers; anything else is a bug and fails with kInternal.
class PrefetchedRecord final : public directory::RoomDirectory {
 public:
  PrefetchedRecord(std::string room, Result<std::optional<directory::RoomRecord>> record)
      : room_(std::move(room)), record_(std::move(record)) {}

  // The record's owner key, when the fetch found one.
  [[nodiscard]] std::optional<OwnerKey> owner() const;

  Result<std::optional<directory::RoomRecord>> lookup(std::string_view room,
                                                      directory::Seconds now) override;
  Result<directory::ClaimOutcome> claim(std::string_view, const OwnerKey&,
                                        directory::Seconds) override;
  Status touch(std::string_view, const OwnerKey&, directory::Seconds) override;
  Status revoke(std::string_view, std::string_view, std::optional<directory::Seconds>,
                directory::Seconds) override;
  Result<bool> is_revoked(std::string_view, std::string_view, directory::Seconds) override;
  Result<directory::Purged> expire(directory::Seconds) override;

 private:
  std::string room_;
  Result<std::optional<directory::RoomRecord>> record_;
};

}  // namespace lanparty::relay
