// SPDX-License-Identifier: MIT
// room_key.hpp on wolfSSL: the Windows client never signs or verifies room keys (the gateway
// signs and the relay verifies, both on Linux), and scripts/build-mingw-deps.sh does not pass
// --enable-ed25519, so every call says so instead of carrying an untested implementation.
#include "lanparty/base/errc.hpp"
#include "lanparty/quic/room_key.hpp"

namespace lanparty::quic {

Result<RoomKey> RoomKey::generate() {
  return fail(Errc::kUnsupportedPlatform,
              "room keys need the GnuTLS backend (the gateway runs on Linux)");
}

Result<RoomKey> RoomKey::from_seed(std::span<const std::uint8_t> /*seed*/) {
  return fail(Errc::kUnsupportedPlatform,
              "room keys need the GnuTLS backend (the gateway runs on Linux)");
}

Result<Ed25519Signature> RoomKey::sign(std::span<const std::uint8_t> /*message*/) const {
  return fail(Errc::kUnsupportedPlatform,
              "room keys need the GnuTLS backend (the gateway runs on Linux)");
}

Status verify_ed25519(std::span<const std::uint8_t> /*public_key*/,
                      std::span<const std::uint8_t> /*message*/,
                      std::span<const std::uint8_t> /*signature*/) {
  return fail(Errc::kUnsupportedPlatform,
              "Ed25519 verification needs the GnuTLS backend (the relay runs on Linux)");
}

}  // namespace lanparty::quic
