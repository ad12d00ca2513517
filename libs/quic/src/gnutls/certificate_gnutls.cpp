// SPDX-License-Identifier: MIT
// Certificate generation, PEM loading and DER validation with GnuTLS's X.509 API.
#include "lanparty/quic/certificate.hpp"

#include <arpa/inet.h>
#include <gnutls/crypto.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <system_error>

#include "certificate_io.hpp"
#include "gnutls_util.hpp"

namespace lanparty::quic {
using detail::gnutls_fail;
using detail::read_file;

Result<CertificateKey> generate_self_signed(std::string_view server_name) {
  if (server_name.empty() || server_name.size() > 253) {
    return fail(Errc::kInvalidArgument, "generate_self_signed: server name must be 1..253 bytes");
  }
  auto key = detail::new_privkey();
  if (!key) return tl::unexpected(key.error());
  if (int rv = gnutls_x509_privkey_generate2(key->get(), GNUTLS_PK_ECDSA,
                                             GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
                                             nullptr, 0);
      rv < 0) {
    return gnutls_fail(rv, "generate ECDSA P-256 key");
  }
  auto crt = detail::new_crt();
  if (!crt) return tl::unexpected(crt.error());
  gnutls_x509_crt_t c = crt->get();

  std::array<std::uint8_t, 16> serial{};
  if (int rv = gnutls_rnd(GNUTLS_RND_NONCE, serial.data(), serial.size()); rv < 0) {
    return gnutls_fail(rv, "gnutls_rnd(serial)");
  }
  serial[0] &= 0x7f;  // a positive INTEGER (RFC 5280 4.1.2.2)
  serial[0] |= 0x01;  // and never zero-length after DER minimisation

  const std::string name(server_name);
  const std::time_t now = std::time(nullptr);
  // The hour of slack absorbs clock skew between relay and clients.
  int rv = gnutls_x509_crt_set_version(c, 3);
  if (rv >= 0) rv = gnutls_x509_crt_set_serial(c, serial.data(), serial.size());
  if (rv >= 0) rv = gnutls_x509_crt_set_activation_time(c, now - 3600);
  if (rv >= 0) rv = gnutls_x509_crt_set_expiration_time(c, now + 365L * 24 * 3600);
  if (rv >= 0) {
    rv = gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, name.data(),
                                       static_cast<unsigned>(name.size()));
  }
  if (rv >= 0) {
    std::array<std::uint8_t, 16> ip{};
    if (::inet_pton(AF_INET, name.c_str(), ip.data()) == 1) {
      rv = gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_IPADDRESS, ip.data(), 4,
                                                GNUTLS_FSAN_SET);
    } else if (::inet_pton(AF_INET6, name.c_str(), ip.data()) == 1) {
      rv = gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_IPADDRESS, ip.data(), 16,
                                                GNUTLS_FSAN_SET);
    } else {
      rv = gnutls_x509_crt_set_subject_alt_name(
          c, GNUTLS_SAN_DNSNAME, name.data(), static_cast<unsigned>(name.size()), GNUTLS_FSAN_SET);
    }
  }
  if (rv >= 0) rv = gnutls_x509_crt_set_key(c, key->get());
  if (rv >= 0) rv = gnutls_x509_crt_set_basic_constraints(c, 0, -1);
  if (rv >= 0) rv = gnutls_x509_crt_set_key_usage(c, GNUTLS_KEY_DIGITAL_SIGNATURE);
  if (rv >= 0) rv = gnutls_x509_crt_set_key_purpose_oid(c, GNUTLS_KP_TLS_WWW_SERVER, 0);
  if (rv < 0) return gnutls_fail(rv, "build self-signed certificate");
  if (rv = gnutls_x509_crt_sign2(c, c, key->get(), GNUTLS_DIG_SHA256, 0); rv < 0) {
    return gnutls_fail(rv, "sign self-signed certificate");
  }

  CertificateKey out;
  detail::OwnedDatum der, pem, key_pem;
  if (rv = gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_DER, der.out()); rv < 0) {
    return gnutls_fail(rv, "export certificate DER");
  }
  if (rv = gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_PEM, pem.out()); rv < 0) {
    return gnutls_fail(rv, "export certificate PEM");
  }
  if (rv = gnutls_x509_privkey_export2_pkcs8(key->get(), GNUTLS_X509_FMT_PEM, nullptr,
                                             GNUTLS_PKCS_PLAIN, key_pem.out());
      rv < 0) {
    return gnutls_fail(rv, "export private key");
  }
  out.cert_der.assign(der.bytes().begin(), der.bytes().end());
  out.cert_chain_pem = pem.text();
  out.key_pem = key_pem.text();
  return out;
}

Result<CertificateKey> load_pem(const std::filesystem::path& chain,
                                const std::filesystem::path& key) {
  auto chain_text = read_file(chain);
  if (!chain_text) return tl::unexpected(chain_text.error());
  auto key_text = read_file(key);
  if (!key_text) return tl::unexpected(key_text.error());

  gnutls_x509_crt_t* certs = nullptr;
  unsigned int count = 0;
  const gnutls_datum_t chain_datum = detail::datum_of(std::string_view(*chain_text));
  if (int rv = gnutls_x509_crt_list_import2(&certs, &count, &chain_datum, GNUTLS_X509_FMT_PEM, 0);
      rv < 0 || count == 0) {
    return fail(Errc::kCorruptFile, fmt::format("{}: no PEM certificate ({})", chain.string(),
                                                rv < 0 ? gnutls_strerror(rv) : "empty"));
  }
  std::vector<detail::UniqueCrt> owned;
  for (unsigned i = 0; i < count; ++i) owned.emplace_back(certs[i]);
  gnutls_free(certs);

  auto pkey = detail::new_privkey();
  if (!pkey) return tl::unexpected(pkey.error());
  const gnutls_datum_t key_datum = detail::datum_of(std::string_view(*key_text));
  if (int rv =
          gnutls_x509_privkey_import2(pkey->get(), &key_datum, GNUTLS_X509_FMT_PEM, nullptr, 0);
      rv < 0) {
    return fail(Errc::kCorruptFile, fmt::format("{}: not a usable PEM private key ({})",
                                                key.string(), gnutls_strerror(rv)));
  }

  // A leaf and a key from different pairs would only fail at the first handshake.
  std::array<unsigned char, 64> crt_id{}, key_id{};
  std::size_t crt_id_len = crt_id.size(), key_id_len = key_id.size();
  if (gnutls_x509_crt_get_key_id(owned[0].get(), GNUTLS_KEYID_USE_SHA256, crt_id.data(),
                                 &crt_id_len) < 0 ||
      gnutls_x509_privkey_get_key_id(pkey->get(), GNUTLS_KEYID_USE_SHA256, key_id.data(),
                                     &key_id_len) < 0 ||
      crt_id_len != key_id_len ||
      !std::equal(crt_id.begin(), crt_id.begin() + static_cast<std::ptrdiff_t>(crt_id_len),
                  key_id.begin())) {
    return fail(Errc::kCorruptFile, fmt::format("{} does not belong to the first certificate of {}",
                                                key.string(), chain.string()));
  }

  CertificateKey out;
  detail::OwnedDatum der;
  if (int rv = gnutls_x509_crt_export2(owned[0].get(), GNUTLS_X509_FMT_DER, der.out()); rv < 0) {
    return gnutls_fail(rv, "export leaf DER");
  }
  out.cert_der.assign(der.bytes().begin(), der.bytes().end());
  out.cert_chain_pem = std::move(*chain_text);
  out.key_pem = std::move(*key_text);
  return out;
}

namespace detail {

std::optional<std::string> der_certificate_problem(std::span<const std::uint8_t> der) {
  auto crt = new_crt();
  if (!crt) return crt.error().context;
  const gnutls_datum_t datum = datum_of(der);
  if (int rv = gnutls_x509_crt_import(crt->get(), &datum, GNUTLS_X509_FMT_DER); rv < 0) {
    return std::string(gnutls_strerror(rv));
  }
  return std::nullopt;
}

}  // namespace detail

}  // namespace lanparty::quic
