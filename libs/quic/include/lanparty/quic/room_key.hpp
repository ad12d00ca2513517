// SPDX-License-Identifier: MIT
// Ed25519 (RFC 8032) for room ownership (PROTOCOL.md section 7): the room key pair a gateway's
// host keeps, and signature verification for the relay. Bytes in, bytes out: no files here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lanparty/base/result.hpp"

namespace lanparty::quic {

inline constexpr std::size_t kEd25519SeedBytes = 32;
inline constexpr std::size_t kEd25519PublicKeyBytes = 32;
inline constexpr std::size_t kEd25519SignatureBytes = 64;

using Ed25519Seed = std::array<std::uint8_t, kEd25519SeedBytes>;
using Ed25519PublicKey = std::array<std::uint8_t, kEd25519PublicKeyBytes>;
using Ed25519Signature = std::array<std::uint8_t, kEd25519SignatureBytes>;

// The room key file a host keeps (written and parsed by the gateway, not here): one line
//   lanparty-room-key-v1 <seed>\n
// where <seed> is the 32-byte RFC 8032 private key, base64url (RFC 4648 section 5) without
// padding: 43 characters. Nothing else is stored: the public key is derived from the seed
// (RoomKey::from_seed), so the two cannot disagree. The file is a secret (mode 0600). A later
// format gets a new tag; a reader refuses tags it does not know.
inline constexpr std::string_view kRoomKeyFileTag = "lanparty-room-key-v1";

// An Ed25519 key pair. A RoomKey that exists is consistent: its public key is the one RFC 8032
// derives from its seed. Holds a secret: never log seed(); copies are wiped when destroyed.
// The GnuTLS (Linux) build only; in the wolfSSL (Windows) build every factory returns
// kUnsupportedPlatform, as the Windows client never signs.
class RoomKey {
 public:
  // A fresh key from the TLS library's key generator. kTlsError if that fails.
  [[nodiscard]] static Result<RoomKey> generate();
  // The key pair of a 32-byte seed (e.g. read back from the key file). kInvalidArgument for any
  // other length; every 32-byte string is a valid seed.
  [[nodiscard]] static Result<RoomKey> from_seed(std::span<const std::uint8_t> seed);

  RoomKey(const RoomKey&) = default;
  RoomKey& operator=(const RoomKey&) = default;
  RoomKey(RoomKey&&) noexcept = default;
  RoomKey& operator=(RoomKey&&) noexcept = default;
  ~RoomKey();

  // The private key as RFC 8032 defines it (what the key file stores).
  [[nodiscard]] const Ed25519Seed& seed() const noexcept { return seed_; }
  [[nodiscard]] const Ed25519PublicKey& public_key() const noexcept { return public_key_; }

  // The RFC 8032 PureEd25519 signature over message (deterministic: same key and message give
  // the same bytes). kTlsError if the library fails (out of memory); never for any input.
  [[nodiscard]] Result<Ed25519Signature> sign(std::span<const std::uint8_t> message) const;

 private:
  RoomKey() = default;
  Ed25519Seed seed_{};
  Ed25519PublicKey public_key_{};
};

// Checks an RFC 8032 PureEd25519 signature. Success means signature is public_key's signature
// over message. Any input is safe, malformed ones included; on failure the error says why:
// - kInvalidArgument: public_key is not 32 bytes or signature is not 64 (a value that did not
//   decode to the exact length, PROTOCOL.md section 7);
// - kProtocolViolation: the signature does not verify: wrong key, altered message or signature,
//   or a public key that is no curve point;
// - kUnsupportedPlatform: the wolfSSL (Windows) build, which never verifies.
[[nodiscard]] Status verify_ed25519(std::span<const std::uint8_t> public_key,
                                    std::span<const std::uint8_t> message,
                                    std::span<const std::uint8_t> signature);

}  // namespace lanparty::quic
