// SPDX-License-Identifier: MIT
// The few primitives the QUIC glue needs from whichever TLS library is built in (GnuTLS on
// Linux, wolfSSL for the Windows client): randomness, SHA-256, HMAC-SHA-256.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace lanparty::quic::detail {

// Connection IDs, tokens and nonces: unpredictable, from the library's CSPRNG.
void fill_random(std::span<std::uint8_t> out) noexcept;
// Long-lived secrets (the stateless reset key): the strongest generator the library has.
void fill_key_random(std::span<std::uint8_t> out) noexcept;

using Sha256Digest = std::array<std::uint8_t, 32>;

[[nodiscard]] std::optional<Sha256Digest> sha256(std::span<const std::uint8_t> data) noexcept;
[[nodiscard]] std::optional<Sha256Digest> hmac_sha256(std::span<const std::uint8_t> key,
                                                      std::span<const std::uint8_t> data) noexcept;

}  // namespace lanparty::quic::detail
