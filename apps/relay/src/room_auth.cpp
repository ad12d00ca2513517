// SPDX-License-Identifier: MIT
#include "room_auth.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/quic/room_key.hpp"

namespace lanparty::relay {
namespace {

using ctrl::RejectCode;

tl::unexpected<AuthReject> refuse(RejectCode code, std::string why) {
  return tl::unexpected(AuthReject{.code = code, .why = std::move(why)});
}

tl::unexpected<AuthReject> records_unavailable(const Error& error) {
  return tl::unexpected(AuthReject{.code = RejectCode::kRelayFull,
                                   .why = "room records: " + error.describe(),
                                   .records_error = true});
}

}  // namespace

tl::expected<OwnerKey, AuthReject> check_gateway_claim(
    const ctrl::ValidHello& hello, std::span<const std::uint8_t, ctrl::kRoomClaimEkmBytes> ekm,
    const OwnerKeys* listed, directory::RoomDirectory& records, directory::Seconds now) {
  if (!hello.room_key || !hello.room_proof) {
    return refuse(RejectCode::kAuthRequired, "gateway hello without room_key and room_proof");
  }
  const auto key = ctrl::base64url_decode_array<ctrl::kRoomKeyBytes>(*hello.room_key);
  if (!key) {
    return refuse(RejectCode::kAuthFailed, fmt::format("room_key is not 32 bytes of base64url ({})",
                                                       to_string(key.error())));
  }
  const auto proof = ctrl::base64url_decode_array<ctrl::kSignatureBytes>(*hello.room_proof);
  if (!proof) {
    return refuse(RejectCode::kAuthFailed, fmt::format("room_proof is not 64 bytes of base64url "
                                                       "({})",
                                                       to_string(proof.error())));
  }
  // The list is cheaper than a signature check, so a stranger's key costs no curve math.
  if (listed != nullptr && !listed->contains(*key)) {
    return refuse(RejectCode::kAuthFailed,
                  fmt::format("room key {} is not in --room-owners", key_fingerprint(*key)));
  }
  const auto message = ctrl::claim_signing_input(hello.room, ekm);
  if (auto verified = quic::verify_ed25519(*key, message, *proof); !verified) {
    return refuse(RejectCode::kAuthFailed,
                  fmt::format("room_proof of key {} does not verify for this connection and "
                              "room",
                              key_fingerprint(*key)));
  }
  auto record = records.lookup(hello.room, now);
  if (!record) return records_unavailable(record.error());
  if (*record && (*record)->owner_key != *key) {
    return refuse(RejectCode::kRoomOwned,
                  fmt::format("room is owned by key {}, not {}",
                              key_fingerprint((*record)->owner_key), key_fingerprint(*key)));
  }
  return *key;
}

tl::expected<InviteGrant, AuthReject> check_client_invite(const ctrl::ValidHello& hello,
                                                          directory::RoomDirectory& records,
                                                          directory::Seconds now) {
  if (!hello.invite) return refuse(RejectCode::kAuthRequired, "client hello without invite");
  auto token = ctrl::parse_invite_token(*hello.invite);
  if (!token) return refuse(RejectCode::kAuthFailed, token.error().context);
  auto record = records.lookup(hello.room, now);
  if (!record) return records_unavailable(record.error());
  if (!*record) return refuse(RejectCode::kAuthFailed, "the room has no owner record");
  const directory::RoomRecord& room = **record;
  if (auto verified = quic::verify_ed25519(room.owner_key, token->signed_message, token->signature);
      !verified) {
    return refuse(RejectCode::kAuthFailed, fmt::format("invite is not signed by the room key {}",
                                                       key_fingerprint(room.owner_key)));
  }
  // Signed by the owner: from here on the payload may be read.
  const ctrl::InvitePayload& payload = token->payload;
  if (payload.room != hello.room) {
    return refuse(RejectCode::kAuthFailed,
                  fmt::format("invite {} is for another room", payload.id));
  }
  if (payload.exp <= now.time_since_epoch().count()) {
    return refuse(RejectCode::kInviteExpired,
                  fmt::format("invite {} expired at {}", payload.id, payload.exp));
  }
  const bool revoked =
      std::any_of(room.revocations.begin(), room.revocations.end(),
                  [&](const directory::Revocation& r) { return r.invite_id == payload.id; });
  if (revoked) {
    return refuse(RejectCode::kInviteRevoked, fmt::format("invite {} is revoked", payload.id));
  }
  return InviteGrant{.room_key = room.owner_key, .invite_id = payload.id, .name = payload.name};
}

namespace {
auto not_prefetched() {
  return fail(Errc::kInternal, "PrefetchedRecord answers lookup() of its one room only");
}
}  // namespace

std::optional<OwnerKey> PrefetchedRecord::owner() const {
  if (!record_ || !*record_) return std::nullopt;
  return (*record_)->owner_key;
}

Result<std::optional<directory::RoomRecord>> PrefetchedRecord::lookup(std::string_view room,
                                                                      directory::Seconds) {
  if (room != room_) return not_prefetched();
  return record_;
}
Result<directory::ClaimOutcome> PrefetchedRecord::claim(std::string_view, const OwnerKey&,
                                                        directory::Seconds) {
  return not_prefetched();
}
Status PrefetchedRecord::touch(std::string_view, const OwnerKey&, directory::Seconds) {
  return not_prefetched();
}
Status PrefetchedRecord::revoke(std::string_view, std::string_view,
                                std::optional<directory::Seconds>, directory::Seconds) {
  return not_prefetched();
}
Result<bool> PrefetchedRecord::is_revoked(std::string_view, std::string_view, directory::Seconds) {
  return not_prefetched();
}
Result<directory::Purged> PrefetchedRecord::expire(directory::Seconds) { return not_prefetched(); }

}  // namespace lanparty::relay
