// SPDX-License-Identifier: MIT
// crypto.hpp on wolfSSL (the same generator ngtcp2_crypto_wolfssl uses).
#include "crypto.hpp"
#include "wolfssl_util.hpp"
// clang-format off
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/sha256.h>
// clang-format on

#include <cstdlib>

namespace lanparty::quic::detail {

void fill_random(std::span<std::uint8_t> out) noexcept {
  // A CSPRNG that cannot produce bytes leaves us nothing safe to send: connection IDs and
  // tokens would be guessable. The OS generator failing is not recoverable.
  if (wolfSSL_RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

void fill_key_random(std::span<std::uint8_t> out) noexcept { fill_random(out); }

std::optional<Sha256Digest> sha256(std::span<const std::uint8_t> data) noexcept {
  Sha256Digest digest{};
  if (wc_Sha256Hash(data.data(), static_cast<word32>(data.size()), digest.data()) != 0) {
    return std::nullopt;
  }
  return digest;
}

std::optional<Sha256Digest> hmac_sha256(std::span<const std::uint8_t> key,
                                        std::span<const std::uint8_t> data) noexcept {
  Hmac hmac;
  Sha256Digest mac{};
  if (wc_HmacInit(&hmac, nullptr, INVALID_DEVID) != 0) return std::nullopt;
  const bool ok =
      wc_HmacSetKey(&hmac, WC_SHA256, key.data(), static_cast<word32>(key.size())) == 0 &&
      wc_HmacUpdate(&hmac, data.data(), static_cast<word32>(data.size())) == 0 &&
      wc_HmacFinal(&hmac, mac.data()) == 0;
  wc_HmacFree(&hmac);
  if (!ok) return std::nullopt;
  return mac;
}

}  // namespace lanparty::quic::detail
