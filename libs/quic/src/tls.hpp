// SPDX-License-Identifier: MIT
// TLS contexts for both sides (TLS 1.3 only, one ALPN, certificate trust by pin or CA) and the
// per-session anchor ngtcp2's crypto helper finds through the session's user pointer. Two
// backends implement this header: gnutls/ (Linux: relay, gateway, Linux client) and wolfssl/
// (the Windows client; client side only).
#pragma once

#include <ngtcp2/ngtcp2_crypto.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/obs/status.hpp"
#include "lanparty/quic/certificate.hpp"
#include "lanparty/quic/client.hpp"
#include "lanparty/quic/connection.hpp"

namespace lanparty::quic::detail {

class ClientTlsContext;
class ServerTlsContext;

// The session's user pointer points here. ngtcp2's crypto helper reads only `ref`; our verify
// callback casts back to the whole anchor (ref is the first member of a standard-layout
// struct) to reach the verifier and to leave a reason a person can read.
struct TlsAnchor {
  ngtcp2_crypto_conn_ref ref{};
  const ClientTlsContext* client = nullptr;  // null on the server
  const ServerTlsContext* server = nullptr;  // null on the client
  std::string failure_reason;                // set when our own check refused the peer
};
static_assert(std::is_standard_layout_v<TlsAnchor>);

// One TLS session (gnutls_session_t or WOLFSSL*), owned; ngtcp2 gets native().
class TlsSession {
 public:
  using Deleter = void (*)(void*) noexcept;

  TlsSession() = default;
  TlsSession(void* native, Deleter deleter) noexcept : native_(native), deleter_(deleter) {}
  ~TlsSession() { reset(); }
  TlsSession(TlsSession&& other) noexcept
      : native_(std::exchange(other.native_, nullptr)), deleter_(other.deleter_) {}
  TlsSession& operator=(TlsSession&& other) noexcept {
    if (this != &other) {
      reset();
      native_ = std::exchange(other.native_, nullptr);
      deleter_ = other.deleter_;
    }
    return *this;
  }
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  [[nodiscard]] void* native() const noexcept { return native_; }
  void reset() noexcept {
    if (native_ != nullptr) deleter_(std::exchange(native_, nullptr));
  }

 private:
  void* native_ = nullptr;
  Deleter deleter_ = nullptr;
};

class ServerTlsContext {
 public:
  // The backend's credentials; defined by the backend.
  struct Backend;

  // kUnsupportedPlatform in a build whose backend has no server side (wolfSSL).
  [[nodiscard]] static Result<ServerTlsContext> create(const CertificateKey& certificate,
                                                       std::string alpn);
  // A server session wired for ngtcp2; anchor must outlive it.
  [[nodiscard]] Result<TlsSession> new_session(TlsAnchor& anchor) const;
  [[nodiscard]] const std::string& alpn() const noexcept { return alpn_; }

 private:
  ServerTlsContext() = default;
  std::shared_ptr<const Backend> backend_;
  std::string alpn_;
};

class ClientTlsContext {
 public:
  struct Backend;

  // Exactly one of trust.pinned_der / pinned_sha256 / ca_file; files are read here so a bad path is
  // a connect() error, not a handshake failure.
  [[nodiscard]] static Result<ClientTlsContext> create(const TrustConfig& trust,
                                                       std::string server_name, std::string alpn);
  // A client session wired for ngtcp2; anchor must outlive it.
  [[nodiscard]] Result<TlsSession> new_session(TlsAnchor& anchor) const;

  [[nodiscard]] const Backend& backend() const noexcept { return *backend_; }
  [[nodiscard]] const std::string& server_name() const noexcept { return server_name_; }
  // Pin mode (a DER file or a SHA-256 pin): only the leaf's hash decides, no CA.
  [[nodiscard]] bool pinned() const noexcept { return pinned_sha256_.has_value(); }
  [[nodiscard]] const std::filesystem::path& trust_path() const noexcept { return trust_path_; }

  // The pin check both backends share: nullopt when the presented leaf is the pinned one,
  // otherwise the reason naming both SHA-256 fingerprints and the subject.
  [[nodiscard]] std::optional<std::string> check_pin(std::span<const std::uint8_t> presented,
                                                     const std::string& subject) const;

  // Why our certificate check refused the peer of the latest session made from this context
  // (a Client owns its context and makes one session), for the Client to classify the close.
  // The backends' verify hooks record it; mutable because they see the context as const.
  void record_refusal(obs::HandshakeFailure failure) const noexcept { refusal_ = failure; }
  [[nodiscard]] std::optional<obs::HandshakeFailure> refusal() const noexcept { return refusal_; }

 private:
  ClientTlsContext() = default;
  // What both backends' create() do first: checks the configuration (kInvalidArgument with the
  // reason), reads the pinned certificate, and fills in everything but backend_.
  [[nodiscard]] static Result<ClientTlsContext> prepare(const TrustConfig& trust,
                                                        std::string server_name, std::string alpn);

  std::shared_ptr<const Backend> backend_;
  std::string server_name_;
  std::string alpn_;
  std::optional<std::array<std::uint8_t, 32>> pinned_sha256_;  // empty in CA mode
  std::filesystem::path trust_path_;                           // for messages
  mutable std::optional<obs::HandshakeFailure> refusal_;
};

// What a client saw besides its CloseInfo when its handshake failed.
struct HandshakeEvidence {
  std::optional<obs::HandshakeFailure> certificate;  // our verify hook's refusal
  int unreachable_errno = 0;  // an ICMP error from the peer's address on the socket, if any
};

// Why a client's handshake failed (kHandshakeFailed or kHandshakeTimeout): our own certificate
// verdict first, then what the close says (a TLS no_application_protocol or protocol_version
// alert, a version negotiation error), then whether the socket heard ICMP unreachable.
[[nodiscard]] obs::HandshakeFailure classify_handshake_failure(
    CloseInfo::Kind kind, std::uint64_t code, const HandshakeEvidence& evidence) noexcept;

// RFC 8446 section 7.5 TLS exporter of a session whose handshake has completed (the caller
// checks: mid-handshake a library may answer with bytes from a secret not derived yet), with
// an EMPTY context (in TLS 1.3 the same as none), filling out. kTlsError if the library refuses,
// kUnsupportedPlatform in a backend without it (wolfSSL as scripts/build-mingw-deps.sh builds it).
[[nodiscard]] Status export_keying_material(const TlsSession& session, std::string_view label,
                                            std::span<std::uint8_t> out);

// SSLKEYLOGFILE, read at context creation: TLS secrets go there in NSS key log format, for
// Wireshark. Never enabled otherwise. (GnuTLS backend only.)
[[nodiscard]] std::optional<std::string> keylog_path_from_env();

// "no_application_protocol (120)" for a TLS alert number (RFC 8446 names), for reasons.
[[nodiscard]] std::string describe_tls_alert(std::uint8_t alert);

// A 32-byte key for stateless reset tokens, derived from the certificate's private key: stable
// across restarts of a server that keeps its key, unknowable without the key.
[[nodiscard]] std::array<std::uint8_t, 32> derive_stateless_reset_secret(
    const CertificateKey& certificate) noexcept;

}  // namespace lanparty::quic::detail
