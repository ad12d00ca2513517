// SPDX-License-Identifier: MIT
// Certificate file handling and fingerprints, whatever the TLS backend; generation, PEM
// loading and DER validation live with the backend (gnutls/, wolfssl/).
#include "lanparty/quic/certificate.hpp"

#include <cerrno>
#include <fstream>
#include <iterator>
#include <system_error>

#include <fmt/format.h>

#include "certificate_io.hpp"
#include "crypto.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"

namespace lanparty::quic {

namespace detail {

Result<std::string> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(Errc::kNotFound, fmt::format("read {}", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_errno(errno, fmt::format("open {}", path.string()));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return fail_errno(errno, fmt::format("read {}", path.string()));
  return data;
}

}  // namespace detail

std::array<std::uint8_t, 32> certificate_sha256(std::span<const std::uint8_t> der) {
  // SHA-256 of a buffer cannot fail short of memory exhaustion; the fallback never matches a pin.
  return detail::sha256(der).value_or(std::array<std::uint8_t, 32>{});
}

std::string sha256_fingerprint(std::span<const std::uint8_t> der) {
  const auto digest = detail::sha256(der);
  if (!digest) return "(hash failed)";
  std::string out;
  out.reserve(digest->size() * 3);
  for (std::size_t i = 0; i < digest->size(); ++i) {
    if (i != 0) out.push_back(':');
    out += fmt::format("{:02X}", (*digest)[i]);
  }
  return out;
}

Status write_der(const CertificateKey& certificate, const std::filesystem::path& path) {
  if (certificate.cert_der.empty()) {
    return fail(Errc::kInvalidArgument, "write_der: empty certificate");
  }
  // Public (clients pin it, hosts copy it), but written like a secret: no link followed, no
  // half file after a crash.
  const std::string_view bytes(reinterpret_cast<const char*>(certificate.cert_der.data()),
                               certificate.cert_der.size());
  return write_file_atomically(path, bytes, FileAccess::kPublic);
}

Result<std::vector<std::uint8_t>> read_der(const std::filesystem::path& path) {
  auto data = detail::read_file(path);
  if (!data) return tl::unexpected(data.error());
  std::vector<std::uint8_t> der(data->begin(), data->end());
  if (auto why = detail::der_certificate_problem(der)) {
    return fail(Errc::kCorruptFile,
                fmt::format("{}: not a DER X.509 certificate ({})", path.string(), *why));
  }
  return der;
}

}  // namespace lanparty::quic
