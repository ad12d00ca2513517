// SPDX-License-Identifier: MIT
// The GnuTLS backend of tls.hpp (modelled on ngtcp2 examples/tls_*_gnutls.cc at v0.12.1):
// priorities, ALPN enforcement, pin/CA verification with readable reasons, key logging.
#include "tls.hpp"

#include <fcntl.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "gnutls_util.hpp"
#include "lanparty/base/errc.hpp"

namespace lanparty::quic::detail {

struct ServerTlsContext::Backend {
  UniqueCredentials credentials;
  std::optional<std::string> keylog_path;
};

struct ClientTlsContext::Backend {
  UniqueCredentials credentials;
  std::optional<std::string> keylog_path;
};

namespace {

void delete_session(void* session) noexcept {
  gnutls_deinit(static_cast<gnutls_session_t>(session));
}

// Why our certificate check refused the server: which failure, and the reason for people.
struct Refusal {
  obs::HandshakeFailure failure;
  std::string reason;
};
std::optional<Refusal> verify_peer(const ClientTlsContext& ctx, gnutls_session_t session);

// TLS 1.3 only (QUIC requires it), AEADs with 16-byte tags (the datagram budget assumes
// that), and no middlebox compatibility mode (RFC 9001 section 8.4).
constexpr const char* kPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "+AES-128-CCM:%DISABLE_TLS13_COMPAT_MODE";

TlsAnchor* anchor_of(gnutls_session_t session) noexcept {
  // ref is the first member of the standard-layout TlsAnchor.
  return reinterpret_cast<TlsAnchor*>(gnutls_session_get_ptr(session));
}

// --- key log -----------------------------------------------------------------------------

std::mutex g_keylog_mutex;
int g_keylog_fd = -1;
std::string g_keylog_opened;

int keylog_callback(gnutls_session_t session, const char* label,
                    const gnutls_datum_t* secret) noexcept {
  gnutls_datum_t client_random{};
  gnutls_datum_t server_random{};
  gnutls_session_get_random(session, &client_random, &server_random);
  std::string line;
  line.reserve(std::strlen(label) + 2 + 2 * (client_random.size + secret->size) + 1);
  line += label;
  line += ' ';
  for (unsigned i = 0; i < client_random.size; ++i) {
    line += fmt::format("{:02x}", client_random.data[i]);
  }
  line += ' ';
  for (unsigned i = 0; i < secret->size; ++i) line += fmt::format("{:02x}", secret->data[i]);
  line += '\n';
  std::lock_guard lock(g_keylog_mutex);
  if (g_keylog_fd >= 0) {
    [[maybe_unused]] const ssize_t n = ::write(g_keylog_fd, line.data(), line.size());
  }
  return 0;
}

// --- GnuTLS hooks ------------------------------------------------------------------------

// Server: refuse any ALPN but ours (GNUTLS_ALPN_MANDATORY alone lets a client that sends no
// ALPN extension through).
int server_client_hello_hook(gnutls_session_t session, unsigned int /*htype*/, unsigned /*when*/,
                             unsigned int /*incoming*/, const gnutls_datum_t* /*msg*/) noexcept {
  gnutls_datum_t selected{};
  if (gnutls_alpn_get_selected_protocol(session, &selected) != 0) {
    if (TlsAnchor* anchor = anchor_of(session); anchor != nullptr && anchor->server != nullptr) {
      anchor->failure_reason =
          fmt::format("the client did not offer ALPN \"{}\"", anchor->server->alpn());
    }
    return GNUTLS_E_NO_APPLICATION_PROTOCOL;
  }
  return 0;
}

int client_verify_hook(gnutls_session_t session) noexcept {
  TlsAnchor* anchor = anchor_of(session);
  if (anchor == nullptr || anchor->client == nullptr) return GNUTLS_E_CERTIFICATE_ERROR;
  if (auto refusal = verify_peer(*anchor->client, session)) {
    anchor->failure_reason = std::move(refusal->reason);
    anchor->client->record_refusal(refusal->failure);
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  return 0;
}

Result<UniqueCredentials> new_credentials() {
  gnutls_certificate_credentials_t cred = nullptr;
  if (int rv = gnutls_certificate_allocate_credentials(&cred); rv < 0) {
    return gnutls_fail(rv, "gnutls_certificate_allocate_credentials");
  }
  return UniqueCredentials(cred);
}

Result<UniqueSession> init_session(unsigned flags) {
  gnutls_session_t session = nullptr;
  if (int rv = gnutls_init(&session, flags); rv < 0) return gnutls_fail(rv, "gnutls_init");
  UniqueSession owned(session);
  if (int rv = gnutls_priority_set_direct(session, kPriority, nullptr); rv < 0) {
    return gnutls_fail(rv, "gnutls_priority_set_direct");
  }
  return owned;
}

std::string subject_of(const gnutls_datum_t& der) {
  auto crt = new_crt();
  if (!crt || gnutls_x509_crt_import(crt->get(), &der, GNUTLS_X509_FMT_DER) < 0) return "?";
  OwnedDatum dn;
  if (gnutls_x509_crt_get_dn3(crt->get(), dn.out(), 0) < 0) return "?";
  return dn.text();
}

void maybe_enable_keylog(gnutls_session_t session, const std::optional<std::string>& path) {
  if (!path) return;
  {
    std::lock_guard lock(g_keylog_mutex);
    if (g_keylog_fd < 0 || g_keylog_opened != *path) {
      // 0600: the file holds session secrets.
      const int fd =
          ::open(path->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) return;
      if (g_keylog_fd >= 0) ::close(g_keylog_fd);
      g_keylog_fd = fd;
      g_keylog_opened = *path;
    }
  }
  gnutls_session_set_keylog_function(session, keylog_callback);
}

}  // namespace

// --- server ------------------------------------------------------------------------------

Result<ServerTlsContext> ServerTlsContext::create(const CertificateKey& certificate,
                                                  std::string alpn) {
  if (alpn.empty() || alpn.size() > 255) {
    return fail(Errc::kInvalidArgument, "ALPN must be 1..255 bytes");
  }
  auto cred = new_credentials();
  if (!cred) return tl::unexpected(cred.error());
  const gnutls_datum_t chain = datum_of(std::string_view(certificate.cert_chain_pem));
  const gnutls_datum_t key = datum_of(std::string_view(certificate.key_pem));
  if (int rv = gnutls_certificate_set_x509_key_mem2(cred->get(), &chain, &key, GNUTLS_X509_FMT_PEM,
                                                    nullptr, 0);
      rv < 0) {
    return gnutls_fail(rv, "load server certificate and key");
  }
  ServerTlsContext ctx;
  ctx.backend_ = std::make_shared<const Backend>(Backend{std::move(*cred), keylog_path_from_env()});
  ctx.alpn_ = std::move(alpn);
  return ctx;
}

Result<TlsSession> ServerTlsContext::new_session(TlsAnchor& anchor) const {
  auto session = init_session(GNUTLS_SERVER | GNUTLS_NO_END_OF_EARLY_DATA | GNUTLS_NO_TICKETS);
  if (!session) return tl::unexpected(session.error());
  gnutls_session_t s = session->get();
  gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST,
                                     server_client_hello_hook);
  if (ngtcp2_crypto_gnutls_configure_server_session(s) != 0) {
    return fail(Errc::kTlsError, "ngtcp2_crypto_gnutls_configure_server_session");
  }
  anchor.server = this;
  gnutls_session_set_ptr(s, &anchor.ref);
  if (int rv = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, backend_->credentials.get());
      rv < 0) {
    return gnutls_fail(rv, "gnutls_credentials_set");
  }
  gnutls_datum_t alpn = datum_of(std::string_view(alpn_));
  if (int rv = gnutls_alpn_set_protocols(s, &alpn, 1,
                                         GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE);
      rv < 0) {
    return gnutls_fail(rv, "gnutls_alpn_set_protocols");
  }
  maybe_enable_keylog(s, backend_->keylog_path);
  return TlsSession(session->release(), delete_session);
}

// --- client ------------------------------------------------------------------------------

Result<ClientTlsContext> ClientTlsContext::create(const TrustConfig& trust, std::string server_name,
                                                  std::string alpn) {
  auto ctx = prepare(trust, std::move(server_name), std::move(alpn));
  if (!ctx) return ctx;
  auto cred = new_credentials();
  if (!cred) return tl::unexpected(cred.error());
  if (!ctx->pinned()) {
    const int n = gnutls_certificate_set_x509_trust_file(cred->get(), trust.ca_file->c_str(),
                                                         GNUTLS_X509_FMT_PEM);
    if (n < 0) {
      return fail(Errc::kCorruptFile,
                  fmt::format("CA file {}: {}", trust.ca_file->string(), gnutls_strerror(n)));
    }
    if (n == 0) {
      return fail(Errc::kCorruptFile,
                  fmt::format("CA file {}: no PEM certificate", trust.ca_file->string()));
    }
  }
  gnutls_certificate_set_verify_function(cred->get(), client_verify_hook);
  ctx->backend_ =
      std::make_shared<const Backend>(Backend{std::move(*cred), keylog_path_from_env()});
  return ctx;
}

Result<TlsSession> ClientTlsContext::new_session(TlsAnchor& anchor) const {
  auto session = init_session(GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA | GNUTLS_NO_TICKETS);
  if (!session) return tl::unexpected(session.error());
  gnutls_session_t s = session->get();
  if (ngtcp2_crypto_gnutls_configure_client_session(s) != 0) {
    return fail(Errc::kTlsError, "ngtcp2_crypto_gnutls_configure_client_session");
  }
  anchor.client = this;
  refusal_.reset();
  gnutls_session_set_ptr(s, &anchor.ref);
  if (int rv = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, backend_->credentials.get());
      rv < 0) {
    return gnutls_fail(rv, "gnutls_credentials_set");
  }
  gnutls_datum_t alpn = datum_of(std::string_view(alpn_));
  if (int rv = gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY); rv < 0) {
    return gnutls_fail(rv, "gnutls_alpn_set_protocols");
  }
  if (int rv = gnutls_server_name_set(s, GNUTLS_NAME_DNS, server_name_.data(), server_name_.size());
      rv < 0) {
    return gnutls_fail(rv, "gnutls_server_name_set");
  }
  maybe_enable_keylog(s, backend_->keylog_path);
  return TlsSession(session->release(), delete_session);
}

namespace {

std::optional<Refusal> verify_peer(const ClientTlsContext& ctx, gnutls_session_t session) {
  unsigned int count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
  if (chain == nullptr || count == 0) {
    return Refusal{ctx.pinned() ? obs::HandshakeFailure::kPinMismatch
                                : obs::HandshakeFailure::kUntrustedCertificate,
                   "the server presented no certificate"};
  }

  if (ctx.pinned()) {
    auto reason = ctx.check_pin(std::span<const std::uint8_t>(chain[0].data, chain[0].size),
                                subject_of(chain[0]));
    if (!reason) return std::nullopt;
    return Refusal{obs::HandshakeFailure::kPinMismatch, std::move(*reason)};
  }

  unsigned int status = 0;
  if (int rv = gnutls_certificate_verify_peers3(session, ctx.server_name().c_str(), &status);
      rv < 0) {
    return Refusal{obs::HandshakeFailure::kUntrustedCertificate,
                   fmt::format("could not verify the server certificate: {}", gnutls_strerror(rv))};
  }
  if (status == 0) return std::nullopt;
  OwnedDatum text;
  std::string why = "verification failed";
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, text.out(), 0) >= 0) {
    why = text.text();
  }
  // GnuTLS sets INVALID with every other flag: a chain that is fine apart from its name says
  // INVALID | UNEXPECTED_OWNER and nothing else.
  const bool only_the_name =
      (status & GNUTLS_CERT_UNEXPECTED_OWNER) != 0 &&
      (status & ~static_cast<unsigned>(GNUTLS_CERT_INVALID | GNUTLS_CERT_UNEXPECTED_OWNER)) == 0;
  return Refusal{
      only_the_name ? obs::HandshakeFailure::kWrongServerName
                    : obs::HandshakeFailure::kUntrustedCertificate,
      fmt::format("server certificate ({}) is not valid for \"{}\" under CA file {}: {}",
                  subject_of(chain[0]), ctx.server_name(), ctx.trust_path().string(), why)};
}

}  // namespace

// --- exporter ----------------------------------------------------------------------------

Status export_keying_material(const TlsSession& session, std::string_view label,
                              std::span<std::uint8_t> out) {
  auto* s = static_cast<gnutls_session_t>(session.native());
  if (s == nullptr) return fail(Errc::kClosed, "export_keying_material: no TLS session");
  // Our priority string allows nothing else; checked because the empty-context rule below holds
  // only in TLS 1.3.
  if (gnutls_protocol_get_version(s) != GNUTLS_TLS1_3) {
    return fail(Errc::kTlsError, "export_keying_material: the session is not TLS 1.3");
  }
  // GnuTLS 3.7 (lib/prf.c) runs TLS 1.3 sessions through _tls13_derive_exporter, which hashes
  // context_size bytes of context: size 0 gives Hash(""), RFC 8446's exporter with an empty
  // context, whether the pointer is NULL or not. Non-null all the same, so the call means
  // "empty context" under the TLS 1.2 rules too, where GnuTLS reads NULL as "no context".
  static constexpr char kEmptyContext[] = "";
  if (int rv = gnutls_prf_rfc5705(s, label.size(), label.data(), 0, kEmptyContext, out.size(),
                                  reinterpret_cast<char*>(out.data()));
      rv < 0) {
    return gnutls_fail(rv, "gnutls_prf_rfc5705");
  }
  return ok();
}

}  // namespace lanparty::quic::detail
