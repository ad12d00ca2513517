// SPDX-License-Identifier: MIT
// certificate.hpp on wolfSSL: the client reads and checks a pinned DER file; generating or
// loading a server certificate is the relay's business and needs the GnuTLS backend.
#include "certificate_io.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/quic/certificate.hpp"
#include "wolfssl_util.hpp"

namespace lanparty::quic {

Result<CertificateKey> generate_self_signed(std::string_view /*server_name*/) {
  return fail(Errc::kUnsupportedPlatform,
              "generate_self_signed needs the GnuTLS backend (the relay runs on Linux)");
}

Result<CertificateKey> load_pem(const std::filesystem::path& /*chain*/,
                                const std::filesystem::path& /*key*/) {
  return fail(Errc::kUnsupportedPlatform,
              "load_pem needs the GnuTLS backend (the relay runs on Linux)");
}

namespace detail {

std::optional<std::string> der_certificate_problem(std::span<const std::uint8_t> der) {
  if (der.empty() || der.size() > 65535) return std::string("empty or larger than 64 KiB");
  WOLFSSL_X509* x509 = wolfSSL_X509_d2i(nullptr, der.data(), static_cast<int>(der.size()));
  if (x509 == nullptr) return std::string("wolfSSL cannot parse it");
  wolfSSL_X509_free(x509);
  return std::nullopt;
}

}  // namespace detail

}  // namespace lanparty::quic
