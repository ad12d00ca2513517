// SPDX-License-Identifier: MIT
// RAII owners for GnuTLS objects and error helpers; the only GnuTLS vocabulary shared by
// the certificate and TLS code.
#pragma once

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::quic::detail {

struct CrtDeleter {
  void operator()(gnutls_x509_crt_int* p) const noexcept { gnutls_x509_crt_deinit(p); }
};
struct PrivkeyDeleter {
  void operator()(gnutls_x509_privkey_int* p) const noexcept { gnutls_x509_privkey_deinit(p); }
};
struct CredentialsDeleter {
  void operator()(gnutls_certificate_credentials_st* p) const noexcept {
    gnutls_certificate_free_credentials(p);
  }
};
struct SessionDeleter {
  void operator()(gnutls_session_int* p) const noexcept { gnutls_deinit(p); }
};

using UniqueCrt = std::unique_ptr<gnutls_x509_crt_int, CrtDeleter>;
using UniquePrivkey = std::unique_ptr<gnutls_x509_privkey_int, PrivkeyDeleter>;
using UniqueCredentials = std::unique_ptr<gnutls_certificate_credentials_st, CredentialsDeleter>;
using UniqueSession = std::unique_ptr<gnutls_session_int, SessionDeleter>;

// A gnutls_datum_t whose data GnuTLS allocated (export2 functions).
class OwnedDatum {
 public:
  OwnedDatum() = default;
  ~OwnedDatum() { gnutls_free(datum_.data); }
  OwnedDatum(const OwnedDatum&) = delete;
  OwnedDatum& operator=(const OwnedDatum&) = delete;
  gnutls_datum_t* out() noexcept { return &datum_; }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept {
    return {datum_.data, datum_.size};
  }
  [[nodiscard]] std::string text() const {
    return {reinterpret_cast<const char*>(datum_.data), datum_.size};
  }

 private:
  gnutls_datum_t datum_{nullptr, 0};
};

// Non-owning datum over bytes GnuTLS only reads.
inline gnutls_datum_t datum_of(std::span<const std::uint8_t> bytes) noexcept {
  return {const_cast<unsigned char*>(bytes.data()), static_cast<unsigned int>(bytes.size())};
}
inline gnutls_datum_t datum_of(std::string_view text) noexcept {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
          static_cast<unsigned int>(text.size())};
}

[[nodiscard]] inline tl::unexpected<Error> gnutls_fail(int rv, std::string_view what) {
  return fail(Errc::kTlsError, fmt::format("{}: {}", what, gnutls_strerror(rv)));
}

[[nodiscard]] inline Result<UniqueCrt> new_crt() {
  gnutls_x509_crt_t crt = nullptr;
  if (int rv = gnutls_x509_crt_init(&crt); rv < 0) return gnutls_fail(rv, "gnutls_x509_crt_init");
  return UniqueCrt(crt);
}

[[nodiscard]] inline Result<UniquePrivkey> new_privkey() {
  gnutls_x509_privkey_t key = nullptr;
  if (int rv = gnutls_x509_privkey_init(&key); rv < 0) {
    return gnutls_fail(rv, "gnutls_x509_privkey_init");
  }
  return UniquePrivkey(key);
}

}  // namespace lanparty::quic::detail
