// SPDX-License-Identifier: MIT
// crypto.hpp on GnuTLS.
#include <gnutls/crypto.h>

#include "crypto.hpp"

namespace lanparty::quic::detail {

void fill_random(std::span<std::uint8_t> out) noexcept {
  gnutls_rnd(GNUTLS_RND_RANDOM, out.data(), out.size());
}

void fill_key_random(std::span<std::uint8_t> out) noexcept {
  gnutls_rnd(GNUTLS_RND_KEY, out.data(), out.size());
}

std::optional<Sha256Digest> sha256(std::span<const std::uint8_t> data) noexcept {
  Sha256Digest digest{};
  if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data(), data.size(), digest.data()) < 0) {
    return std::nullopt;
  }
  return digest;
}

std::optional<Sha256Digest> hmac_sha256(std::span<const std::uint8_t> key,
                                        std::span<const std::uint8_t> data) noexcept {
  Sha256Digest mac{};
  if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key.data(), key.size(), data.data(), data.size(),
                       mac.data()) < 0) {
    return std::nullopt;
  }
  return mac;
}

}  // namespace lanparty::quic::detail
