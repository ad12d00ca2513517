// SPDX-License-Identifier: MIT
// The relay's certificate and key: generation (self-signed ECDSA P-256), PEM loading, and
// the DER file clients pin.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"

namespace lanparty::quic {

// A leaf certificate with its chain and private key. Holds a secret: never log key_pem.
struct CertificateKey {
  std::vector<std::uint8_t> cert_der;  // the leaf, what a client pins
  std::string cert_chain_pem;          // leaf first, then intermediates
  std::string key_pem;                 // PKCS#8 private key
};

// ECDSA P-256, subjectAltName = server_name (a DNS name, or an IP address if it parses as
// one), CN = server_name, valid from one hour ago for one year.
[[nodiscard]] Result<CertificateKey> generate_self_signed(std::string_view server_name);

// Reads a PEM chain (leaf first) and its PEM private key; checks that they belong together.
// kNotFound for a missing file, kCorruptFile for contents GnuTLS cannot use.
[[nodiscard]] Result<CertificateKey> load_pem(const std::filesystem::path& chain,
                                              const std::filesystem::path& key);

// The leaf DER, written atomically (temp file + rename).
[[nodiscard]] Status write_der(const CertificateKey& certificate,
                               const std::filesystem::path& path);
// A DER certificate file; kCorruptFile unless it parses as one X.509 certificate.
[[nodiscard]] Result<std::vector<std::uint8_t>> read_der(const std::filesystem::path& path);

// SHA-256 over a certificate's DER: what an invite link's pin= carries (PROTOCOL.md section 7).
[[nodiscard]] std::array<std::uint8_t, 32> certificate_sha256(std::span<const std::uint8_t> der);

// "AB:CD:..." (SHA-256 over the DER, upper-case hex, colon-separated), as browsers show it.
[[nodiscard]] std::string sha256_fingerprint(std::span<const std::uint8_t> der);

}  // namespace lanparty::quic
