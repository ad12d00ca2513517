// SPDX-License-Identifier: MIT
// The TLS policy both backends share: client configuration checks, the pin comparison and its
// message, alert names, and the stateless reset key derivation.
#include "tls.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "crypto.hpp"
#include "lanparty/base/errc.hpp"

namespace lanparty::quic::detail {
namespace {

// RFC 8446 section 6 and RFC 7301 names, as people search for them.
std::string_view alert_name(std::uint8_t alert) noexcept {
  switch (alert) {
    case 0:
      return "close_notify";
    case 10:
      return "unexpected_message";
    case 20:
      return "bad_record_mac";
    case 22:
      return "record_overflow";
    case 40:
      return "handshake_failure";
    case 42:
      return "bad_certificate";
    case 43:
      return "unsupported_certificate";
    case 44:
      return "certificate_revoked";
    case 45:
      return "certificate_expired";
    case 46:
      return "certificate_unknown";
    case 47:
      return "illegal_parameter";
    case 48:
      return "unknown_ca";
    case 49:
      return "access_denied";
    case 50:
      return "decode_error";
    case 51:
      return "decrypt_error";
    case 70:
      return "protocol_version";
    case 71:
      return "insufficient_security";
    case 80:
      return "internal_error";
    case 86:
      return "inappropriate_fallback";
    case 90:
      return "user_canceled";
    case 109:
      return "missing_extension";
    case 110:
      return "unsupported_extension";
    case 112:
      return "unrecognized_name";
    case 113:
      return "bad_certificate_status_response";
    case 115:
      return "unknown_psk_identity";
    case 116:
      return "certificate_required";
    case 120:
      return "no_application_protocol";
    default:
      return "unknown";
  }
}

// TLS alerts that say what went wrong rather than that something did (RFC 8446 section 6.2).
constexpr std::uint8_t kAlertProtocolVersion = 70;
constexpr std::uint8_t kAlertNoApplicationProtocol = 120;
// RFC 9368 section 10.2: VERSION_NEGOTIATION_ERROR (ngtcp2 0.12 knows only the draft code).
constexpr std::uint64_t kVersionNegotiationError = 0x11;

}  // namespace

obs::HandshakeFailure classify_handshake_failure(CloseInfo::Kind kind, std::uint64_t code,
                                                 const HandshakeEvidence& evidence) noexcept {
  if (evidence.certificate) return *evidence.certificate;
  const bool unreachable = evidence.unreachable_errno != 0;
  if (kind == CloseInfo::Kind::kHandshakeTimeout) {
    // Nothing came back but ICMP errors: nothing listens at that address.
    return unreachable ? obs::HandshakeFailure::kUnreachable : obs::HandshakeFailure::kTimeout;
  }
  if (kind != CloseInfo::Kind::kHandshakeFailed) return obs::HandshakeFailure::kOther;
  if (code == (NGTCP2_CRYPTO_ERROR | kAlertNoApplicationProtocol)) {
    return obs::HandshakeFailure::kNoAlpn;
  }
  if (code == (NGTCP2_CRYPTO_ERROR | kAlertProtocolVersion) || code == kVersionNegotiationError ||
      code == NGTCP2_VERSION_NEGOTIATION_ERROR_DRAFT) {
    return obs::HandshakeFailure::kVersionMismatch;
  }
  if (unreachable) return obs::HandshakeFailure::kUnreachable;
  return obs::HandshakeFailure::kOther;
}

Result<ClientTlsContext> ClientTlsContext::prepare(const TrustConfig& trust,
                                                   std::string server_name, std::string alpn) {
  if (int{trust.pinned_der.has_value()} + int{trust.pinned_sha256.has_value()} +
          int{trust.ca_file.has_value()} !=
      1) {
    return fail(Errc::kInvalidArgument,
                "trust: set exactly one of a pinned DER certificate, a SHA-256 pin or a CA file");
  }
  if (server_name.empty()) return fail(Errc::kInvalidArgument, "server_name is empty");
  if (alpn.empty() || alpn.size() > 255) {
    return fail(Errc::kInvalidArgument, "ALPN must be 1..255 bytes");
  }
  ClientTlsContext ctx;
  if (trust.pinned_der) {
    auto der = read_der(*trust.pinned_der);
    if (!der) return tl::unexpected(der.error());
    ctx.pinned_sha256_ = detail::sha256(*der);
    if (!ctx.pinned_sha256_) return fail(Errc::kTlsError, "SHA-256 of the pinned certificate");
    ctx.trust_path_ = *trust.pinned_der;
  } else if (trust.pinned_sha256) {
    ctx.pinned_sha256_ = *trust.pinned_sha256;
    ctx.trust_path_ = "the invite link's pin";
  } else {
    ctx.trust_path_ = *trust.ca_file;
  }
  ctx.server_name_ = std::move(server_name);
  ctx.alpn_ = std::move(alpn);
  return ctx;
}

std::optional<std::string> ClientTlsContext::check_pin(std::span<const std::uint8_t> presented,
                                                       const std::string& subject) const {
  const auto digest = detail::sha256(presented);
  if (pinned_sha256_ && digest && *digest == *pinned_sha256_) return std::nullopt;
  std::string expected;
  for (std::size_t i = 0; pinned_sha256_ && i < pinned_sha256_->size(); ++i) {
    if (i != 0) expected.push_back(':');
    expected += fmt::format("{:02X}", (*pinned_sha256_)[i]);
  }
  return fmt::format(
      "server certificate does not match the pinned certificate {}: expected SHA-256 {}, "
      "presented SHA-256 {} ({})",
      trust_path_.string(), expected, sha256_fingerprint(presented), subject);
}

std::optional<std::string> keylog_path_from_env() {
  const char* path = std::getenv("SSLKEYLOGFILE");
  if (path == nullptr || *path == '\0') return std::nullopt;
  return std::string(path);
}

std::string describe_tls_alert(std::uint8_t alert) {
  return fmt::format("{} ({})", alert_name(alert), alert);
}

std::array<std::uint8_t, 32> derive_stateless_reset_secret(
    const CertificateKey& certificate) noexcept {
  static constexpr std::string_view kLabel = "lanparty/1 stateless reset secret";
  const auto* key = reinterpret_cast<const std::uint8_t*>(certificate.key_pem.data());
  const auto* label = reinterpret_cast<const std::uint8_t*>(kLabel.data());
  if (auto mac = hmac_sha256({key, certificate.key_pem.size()}, {label, kLabel.size()})) {
    return *mac;
  }
  // Without HMAC (never seen) fall back to a random key: resets then work only until restart.
  std::array<std::uint8_t, 32> secret{};
  fill_key_random(secret);
  return secret;
}

}  // namespace lanparty::quic::detail
