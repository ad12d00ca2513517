// SPDX-License-Identifier: MIT
// room_key.hpp on GnuTLS's abstract key API: Ed25519 generation, seed import, signing and
// verification (RFC 8032 PureEd25519).
#include <gnutls/abstract.h>

#include <algorithm>
#include <memory>

#include "gnutls_util.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/quic/room_key.hpp"

namespace lanparty::quic {
namespace {

using detail::datum_of;
using detail::gnutls_fail;
using detail::OwnedDatum;

struct AbstractPrivkeyDeleter {
  void operator()(gnutls_privkey_st* p) const noexcept { gnutls_privkey_deinit(p); }
};
struct PubkeyDeleter {
  void operator()(gnutls_pubkey_st* p) const noexcept { gnutls_pubkey_deinit(p); }
};
using UniqueAbstractPrivkey = std::unique_ptr<gnutls_privkey_st, AbstractPrivkeyDeleter>;
using UniquePubkey = std::unique_ptr<gnutls_pubkey_st, PubkeyDeleter>;

// RFC 8410 section 7: the PKCS#8 OneAsymmetricKey of an Ed25519 seed is this fixed prefix
// (version 0, algorithm id-Ed25519 1.3.101.112, privateKey OCTET STRING { OCTET STRING (32) })
// and the seed.
constexpr std::array<std::uint8_t, 16> kPkcs8Ed25519Prefix = {
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};

// A datum GnuTLS only reads; never a null pointer, even for an empty message (RFC 8032 TEST 1
// signs zero bytes).
gnutls_datum_t message_datum(std::span<const std::uint8_t> message) noexcept {
  static const std::uint8_t kEmpty = 0;
  if (message.empty()) return {const_cast<std::uint8_t*>(&kEmpty), 0};
  return datum_of(message);
}

// Wipes a secret GnuTLS allocated for us; OwnedDatum frees it afterwards.
void wipe(OwnedDatum& secret) noexcept {
  gnutls_datum_t* d = secret.out();
  if (d->data != nullptr) gnutls_memset(d->data, 0, d->size);
}

// Copies Ed25519 x (public key) and k (seed) as GnuTLS exports them; kTlsError unless both are
// exactly 32 bytes of an Ed25519 key.
Status take_raw(gnutls_ecc_curve_t curve, const OwnedDatum& x, const OwnedDatum& k,
                Ed25519PublicKey& public_key, Ed25519Seed& seed) {
  if (curve != GNUTLS_ECC_CURVE_ED25519 || x.bytes().size() != public_key.size() ||
      k.bytes().size() != seed.size()) {
    return fail(Errc::kTlsError, "GnuTLS exported no 32-byte Ed25519 key");
  }
  std::ranges::copy(x.bytes(), public_key.begin());
  std::ranges::copy(k.bytes(), seed.begin());
  return ok();
}

}  // namespace

Result<RoomKey> RoomKey::generate() {
  gnutls_privkey_t raw = nullptr;
  if (int rv = gnutls_privkey_init(&raw); rv < 0) return gnutls_fail(rv, "gnutls_privkey_init");
  UniqueAbstractPrivkey key(raw);
  if (int rv =
          gnutls_privkey_generate2(key.get(), GNUTLS_PK_EDDSA_ED25519,
                                   GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), 0, nullptr, 0);
      rv < 0) {
    return gnutls_fail(rv, "generate Ed25519 room key");
  }
  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
  OwnedDatum x, k;
  // For Ed25519 GnuTLS exports the public key as "x" and the RFC 8032 seed as "k" ("y" unused).
  const int rv = gnutls_privkey_export_ecc_raw2(key.get(), &curve, x.out(), nullptr, k.out(), 0);
  RoomKey out;
  Status taken = rv < 0 ? Status(gnutls_fail(rv, "export Ed25519 room key"))
                        : take_raw(curve, x, k, out.public_key_, out.seed_);
  wipe(k);
  if (!taken) return tl::unexpected(taken.error());
  return out;
}

Result<RoomKey> RoomKey::from_seed(std::span<const std::uint8_t> seed) {
  if (seed.size() != kEd25519SeedBytes) {
    return fail(Errc::kInvalidArgument,
                fmt::format("an Ed25519 seed is {} bytes, not {}", kEd25519SeedBytes, seed.size()));
  }
  // gnutls_privkey_import_ecc_raw wants the public key as well and trusts it unchecked (a wrong
  // one yields wrong signatures); a PKCS#8 import derives it from the seed instead.
  std::array<std::uint8_t, kPkcs8Ed25519Prefix.size() + kEd25519SeedBytes> der{};
  std::ranges::copy(kPkcs8Ed25519Prefix, der.begin());
  std::ranges::copy(seed, der.begin() + kPkcs8Ed25519Prefix.size());

  auto key = detail::new_privkey();
  if (!key) return tl::unexpected(key.error());
  const gnutls_datum_t der_datum = datum_of(der);
  int rv = gnutls_x509_privkey_import_pkcs8(key->get(), &der_datum, GNUTLS_X509_FMT_DER, nullptr,
                                            GNUTLS_PKCS_PLAIN);
  gnutls_memset(der.data(), 0, der.size());
  if (rv < 0) return gnutls_fail(rv, "import Ed25519 seed");

  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
  OwnedDatum x, y, k;
  rv = gnutls_x509_privkey_export_ecc_raw(key->get(), &curve, x.out(), y.out(), k.out());
  RoomKey out;
  Status taken = rv < 0 ? Status(gnutls_fail(rv, "export Ed25519 room key"))
                        : take_raw(curve, x, k, out.public_key_, out.seed_);
  wipe(k);
  if (!taken) return tl::unexpected(taken.error());
  if (!std::ranges::equal(out.seed_, seed)) {
    return fail(Errc::kTlsError, "GnuTLS changed the Ed25519 seed on import");
  }
  return out;
}

Result<Ed25519Signature> RoomKey::sign(std::span<const std::uint8_t> message) const {
  gnutls_privkey_t raw = nullptr;
  if (int rv = gnutls_privkey_init(&raw); rv < 0) return gnutls_fail(rv, "gnutls_privkey_init");
  UniqueAbstractPrivkey key(raw);
  // GnuTLS copies both and wipes its copy of the seed when the key is freed.
  const gnutls_datum_t x = datum_of(public_key_);
  const gnutls_datum_t k = datum_of(seed_);
  if (int rv = gnutls_privkey_import_ecc_raw(key.get(), GNUTLS_ECC_CURVE_ED25519, &x, nullptr, &k);
      rv < 0) {
    return gnutls_fail(rv, "import Ed25519 room key");
  }
  const gnutls_datum_t data = message_datum(message);
  OwnedDatum signature;
  if (int rv = gnutls_privkey_sign_data2(key.get(), GNUTLS_SIGN_EDDSA_ED25519, 0, &data,
                                         signature.out());
      rv < 0) {
    return gnutls_fail(rv, "Ed25519 sign");
  }
  if (signature.bytes().size() != kEd25519SignatureBytes) {
    return fail(Errc::kTlsError,
                fmt::format("GnuTLS made a {}-byte Ed25519 signature", signature.bytes().size()));
  }
  Ed25519Signature out{};
  std::ranges::copy(signature.bytes(), out.begin());
  return out;
}

Status verify_ed25519(std::span<const std::uint8_t> public_key,
                      std::span<const std::uint8_t> message,
                      std::span<const std::uint8_t> signature) {
  if (public_key.size() != kEd25519PublicKeyBytes) {
    return fail(Errc::kInvalidArgument, fmt::format("an Ed25519 public key is {} bytes, not {}",
                                                    kEd25519PublicKeyBytes, public_key.size()));
  }
  if (signature.size() != kEd25519SignatureBytes) {
    return fail(Errc::kInvalidArgument, fmt::format("an Ed25519 signature is {} bytes, not {}",
                                                    kEd25519SignatureBytes, signature.size()));
  }
  gnutls_pubkey_t raw = nullptr;
  if (int rv = gnutls_pubkey_init(&raw); rv < 0) return gnutls_fail(rv, "gnutls_pubkey_init");
  UniquePubkey key(raw);
  // Only the length is checked here; a string that is no curve point fails verification below.
  const gnutls_datum_t x = datum_of(public_key);
  if (int rv = gnutls_pubkey_import_ecc_raw(key.get(), GNUTLS_ECC_CURVE_ED25519, &x, nullptr);
      rv < 0) {
    return fail(Errc::kProtocolViolation,
                fmt::format("not an Ed25519 public key: {}", gnutls_strerror(rv)));
  }
  const gnutls_datum_t data = message_datum(message);
  const gnutls_datum_t sig = datum_of(signature);
  if (int rv = gnutls_pubkey_verify_data2(key.get(), GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &sig);
      rv < 0) {
    return fail(
        Errc::kProtocolViolation,
        rv == GNUTLS_E_PK_SIG_VERIFY_FAILED
            ? std::string("the Ed25519 signature does not verify under the key")
            : fmt::format("the Ed25519 signature does not verify: {}", gnutls_strerror(rv)));
  }
  return ok();
}

}  // namespace lanparty::quic
