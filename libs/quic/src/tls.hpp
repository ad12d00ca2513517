// SPDX-License-Identifier: MIT
// GnuTLS contexts for both sides (TLS 1.3 only, one ALPN, certificate trust by pin or CA) and
// the per-session anchor ngtcp2_crypto_gnutls finds through gnutls_session_get_ptr.
#pragma once

#include <array>

#include <ngtcp2/ngtcp2_crypto.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gnutls_util.hpp"
#include "lanparty/base/result.hpp"
#include "lanparty/quic/certificate.hpp"
#include "lanparty/quic/client.hpp"

namespace lanparty::quic::detail {

class ClientTlsContext;
class ServerTlsContext;

// gnutls_session_get_ptr() points here. ngtcp2_crypto_gnutls reads only `ref`; our verify
// callback casts back to the whole anchor (ref is the first member of a standard-layout
// struct) to reach the verifier and to leave a reason a person can read.
struct TlsAnchor {
  ngtcp2_crypto_conn_ref ref{};
  const ClientTlsContext* client = nullptr;  // null on the server
  const ServerTlsContext* server = nullptr;  // null on the client
  std::string failure_reason;                // set when our own check refused the peer
};
static_assert(std::is_standard_layout_v<TlsAnchor>);

// Writes TLS secrets in NSS key log format when SSLKEYLOGFILE names a file (read at context
// creation), for Wireshark. Never enabled otherwise.
void maybe_enable_keylog(gnutls_session_t session, const std::optional<std::string>& path);
[[nodiscard]] std::optional<std::string> keylog_path_from_env();

class ServerTlsContext {
 public:
  [[nodiscard]] static Result<ServerTlsContext> create(const CertificateKey& certificate,
                                                       std::string alpn);
  // A server session wired for ngtcp2; anchor must outlive it.
  [[nodiscard]] Result<UniqueSession> new_session(TlsAnchor& anchor) const;
  [[nodiscard]] const std::string& alpn() const noexcept { return alpn_; }

 private:
  ServerTlsContext() = default;
  UniqueCredentials credentials_;
  std::string alpn_;
  std::optional<std::string> keylog_path_;
};

class ClientTlsContext {
 public:
  // Exactly one of trust.pinned_der / trust.ca_file; files are read here so a bad path is a
  // connect() error, not a handshake failure.
  [[nodiscard]] static Result<ClientTlsContext> create(const TrustConfig& trust,
                                                       std::string server_name, std::string alpn);
  [[nodiscard]] Result<UniqueSession> new_session(TlsAnchor& anchor) const;

  // Our certificate check; returns the reason on refusal. Called from GnuTLS's verify hook.
  [[nodiscard]] std::optional<std::string> verify_peer(gnutls_session_t session) const;

 private:
  ClientTlsContext() = default;
  UniqueCredentials credentials_;
  std::string server_name_;
  std::string alpn_;
  std::vector<std::uint8_t> pinned_der_;  // empty in CA mode
  std::filesystem::path trust_path_;      // for messages
  std::optional<std::string> keylog_path_;
};

// "no_application_protocol (120)" for a TLS alert number (RFC 8446 names), for reasons.
[[nodiscard]] std::string describe_tls_alert(std::uint8_t alert);

// A 32-byte key for stateless reset tokens, derived from the certificate's private key: stable
// across restarts of a server that keeps its key, unknowable without the key.
[[nodiscard]] std::array<std::uint8_t, 32> derive_stateless_reset_secret(
    const CertificateKey& certificate) noexcept;

}  // namespace lanparty::quic::detail
