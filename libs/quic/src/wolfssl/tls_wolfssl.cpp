// SPDX-License-Identifier: MIT
// The wolfSSL backend of tls.hpp, client side only (the Windows client; modelled on ngtcp2
// examples/tls_client_*_wolfssl.cc at v0.12.1): TLS 1.3, our ALPN, SNI, and trust by exact
// leaf pin or by CA file plus host name, with the same refusal messages as the GnuTLS side.
#include <ngtcp2/ngtcp2_crypto_wolfssl.h>

#include <cstring>
#include <fstream>
#include <mutex>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "tls.hpp"
#include "wolfssl_util.hpp"

// Without it wolfSSL calls the verify callback only on failure, and in pin mode a chain
// whose intermediate our callback let through would verify the leaf without asking us.
#ifndef WOLFSSL_ALWAYS_VERIFY_CB
#error "wolfSSL must be built with WOLFSSL_ALWAYS_VERIFY_CB (scripts/build-mingw-deps.sh)"
#endif

namespace lanparty::quic::detail {

struct ClientTlsContext::Backend {
  explicit Backend(WOLFSSL_CTX* c) noexcept : ctx(c) {}
  ~Backend() { wolfSSL_CTX_free(ctx); }
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
  WOLFSSL_CTX* ctx;
};

struct ServerTlsContext::Backend {};

namespace {

// TLS 1.3 AEADs with 16-byte tags (the datagram budget assumes that).
constexpr const char* kCipherList =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256";

void delete_session(void* ssl) noexcept { wolfSSL_free(static_cast<WOLFSSL*>(ssl)); }

// SSLKEYLOGFILE (read when a context is made): wolfSSL hands us finished NSS
// key log lines. A handful per handshake, so opening the file per line costs nothing.
std::mutex g_keylog_mutex;
std::optional<std::string> g_keylog_path;

void keylog_callback(const WOLFSSL* /*ssl*/, const char* line) noexcept {
  std::lock_guard lock(g_keylog_mutex);
  if (!g_keylog_path || line == nullptr) return;
  std::ofstream out(*g_keylog_path, std::ios::app | std::ios::binary);
  out << line << '\n';
}

std::string subject_of(std::span<const std::uint8_t> der) {
  WOLFSSL_X509* x509 = wolfSSL_X509_d2i(nullptr, der.data(), static_cast<int>(der.size()));
  if (x509 == nullptr) return "?";
  char name[256] = {};
  const char* text = wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(x509), name,
                                               static_cast<int>(sizeof(name)));
  std::string out = text != nullptr ? text : "?";
  wolfSSL_X509_free(x509);
  return out;
}

// Called for every certificate of the chain (intermediates first, the leaf last at depth 0),
// with preverify = wolfSSL's own verdict. Returns 1 to accept.
int verify_callback(int preverify, WOLFSSL_X509_STORE_CTX* store) noexcept {
  auto* anchor = static_cast<TlsAnchor*>(store->userCtx);
  if (anchor == nullptr || anchor->client == nullptr) return 0;
  const ClientTlsContext& ctx = *anchor->client;

  if (ctx.pinned()) {
    // Pin mode trusts no CA, so wolfSSL's verdict is always "no signer": only the leaf's
    // exact bytes decide.
    if (store->error_depth != 0) return 1;
    if (store->certs == nullptr || store->totalCerts < 1) {
      anchor->failure_reason = "the server presented no certificate";
      ctx.record_refusal(obs::HandshakeFailure::kPinMismatch);
      return 0;
    }
    const std::span<const std::uint8_t> leaf(store->certs[0].buffer, store->certs[0].length);
    if (auto reason = ctx.check_pin(leaf, subject_of(leaf))) {
      anchor->failure_reason = std::move(*reason);
      ctx.record_refusal(obs::HandshakeFailure::kPinMismatch);
      return 0;
    }
    return 1;
  }

  if (preverify == 1) return 1;
  // wolfSSL checks the name (wolfSSL_check_domain_name) at the leaf, after the chain.
  ctx.record_refusal(store->error == DOMAIN_NAME_MISMATCH
                         ? obs::HandshakeFailure::kWrongServerName
                         : obs::HandshakeFailure::kUntrustedCertificate);
  std::string subject = "?";
  if (store->certs != nullptr && store->error_depth >= 0 &&
      store->error_depth < store->totalCerts) {
    const WOLFSSL_BUFFER_INFO& cert = store->certs[store->error_depth];
    subject = subject_of({cert.buffer, cert.length});
  }
  anchor->failure_reason =
      fmt::format("server certificate ({}) is not valid for \"{}\" under CA file {}: {}", subject,
                  ctx.server_name(), ctx.trust_path().string(), wolfssl_error_text(store->error));
  return 0;
}

}  // namespace

// --- server: not in this backend ---------------------------------------------------------

Result<ServerTlsContext> ServerTlsContext::create(const CertificateKey& /*certificate*/,
                                                  std::string /*alpn*/) {
  return fail(
      Errc::kUnsupportedPlatform,
      "a QUIC server needs the GnuTLS backend (Linux); this build has wolfSSL, client only");
}

Result<TlsSession> ServerTlsContext::new_session(TlsAnchor& /*anchor*/) const {
  return fail(Errc::kUnsupportedPlatform, "a QUIC server needs the GnuTLS backend");
}

// --- client ------------------------------------------------------------------------------

Result<ClientTlsContext> ClientTlsContext::create(const TrustConfig& trust, std::string server_name,
                                                  std::string alpn) {
  auto ctx = prepare(trust, std::move(server_name), std::move(alpn));
  if (!ctx) return ctx;
  WOLFSSL_CTX* raw = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  if (raw == nullptr) return fail(Errc::kTlsError, "wolfSSL_CTX_new(TLS 1.3 client)");
  auto backend = std::make_shared<Backend>(raw);
  if (ngtcp2_crypto_wolfssl_configure_client_context(raw) != 0) {
    return fail(Errc::kTlsError, "ngtcp2_crypto_wolfssl_configure_client_context");
  }
  if (wolfSSL_CTX_set_cipher_list(raw, kCipherList) != WOLFSSL_SUCCESS) {
    return fail(Errc::kTlsError, fmt::format("wolfSSL_CTX_set_cipher_list({})", kCipherList));
  }

  // X25519 first, as GnuTLS and most QUIC stacks prefer; wolfSSL would start with P-256 and
  // pay a HelloRetryRequest round trip with servers that want X25519.
  if (wolfSSL_CTX_set1_curves_list(raw, const_cast<char*>("X25519:P-256")) != WOLFSSL_SUCCESS) {
    return fail(Errc::kTlsError, "wolfSSL_CTX_set1_curves_list(X25519:P-256)");
  }

  if (auto keylog = keylog_path_from_env()) {
    {
      std::lock_guard lock(g_keylog_mutex);
      g_keylog_path = std::move(keylog);
    }
    wolfSSL_CTX_set_keylog_callback(raw, keylog_callback);
  }

  if (!ctx->pinned()) {
    const std::string path = trust.ca_file->string();
    if (const int rv = wolfSSL_CTX_load_verify_locations(raw, path.c_str(), nullptr);
        rv != WOLFSSL_SUCCESS) {
      return fail(Errc::kCorruptFile, fmt::format("CA file {}: {}", path, wolfssl_error_text(rv)));
    }
  }
  wolfSSL_CTX_set_verify(raw, WOLFSSL_VERIFY_PEER, verify_callback);
  ctx->backend_ = std::move(backend);
  return ctx;
}

Result<TlsSession> ClientTlsContext::new_session(TlsAnchor& anchor) const {
  WOLFSSL* ssl = wolfSSL_new(backend_->ctx);
  if (ssl == nullptr) return fail(Errc::kTlsError, "wolfSSL_new");
  TlsSession session(ssl, delete_session);
  anchor.client = this;
  refusal_.reset();
  // ngtcp2_crypto_wolfssl finds the connection through the app data; our verify callback
  // finds the anchor through the certificate callback context.
  wolfSSL_set_app_data(ssl, &anchor.ref);
  wolfSSL_SetCertCbCtx(ssl, &anchor);
  wolfSSL_set_connect_state(ssl);
  // wolfSSL_UseALPN takes a comma-separated list (ours has one name) and, unlike the
  // OpenSSL-style set_alpn_protos, can insist on a match.
  std::string alpn = alpn_;
  if (wolfSSL_UseALPN(ssl, alpn.data(), static_cast<unsigned>(alpn.size()),
                      WOLFSSL_ALPN_FAILED_ON_MISMATCH) != WOLFSSL_SUCCESS) {
    return fail(Errc::kTlsError, "wolfSSL_UseALPN");
  }
  if (wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, server_name_.data(),
                     static_cast<unsigned short>(server_name_.size())) != WOLFSSL_SUCCESS) {
    return fail(Errc::kTlsError, "wolfSSL_UseSNI");
  }
  if (!pinned() && wolfSSL_check_domain_name(ssl, server_name_.c_str()) != WOLFSSL_SUCCESS) {
    return fail(Errc::kTlsError, "wolfSSL_check_domain_name");
  }
  return session;
}

// --- exporter: not in this build ---------------------------------------------------------

// wolfSSL_export_keying_material exists only with HAVE_KEYING_MATERIAL, which
// scripts/build-mingw-deps.sh does not enable (no --enable-keying-material; recent wolfSSL also
// wants wolfSSL_KeepArrays per session for it). The room claim it serves is the gateway's, on
// Linux.
Status export_keying_material(const TlsSession& /*session*/, std::string_view /*label*/,
                              std::span<std::uint8_t> /*out*/) {
  return fail(Errc::kUnsupportedPlatform,
              "the TLS exporter needs the GnuTLS backend (the gateway runs on Linux)");
}

}  // namespace lanparty::quic::detail
