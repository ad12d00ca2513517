// SPDX-License-Identifier: MIT
// Smoke test of the mingw wolfSSL + ngtcp2 build (scripts/build-mingw-deps.sh): links the three
// lanparty_mingw:: targets statically and checks, under wine, the calls libs/quic's TLS glue makes.

// wolfSSL's generated configuration first, as wolfSSL requires of every consumer.
#include <wolfssl/options.h>

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_wolfssl.h>
#include <wolfssl/quic.h>
#include <wolfssl/ssl.h>
#include <wolfssl/version.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay_identity.hpp"

namespace {

int g_failures = 0;

void check(bool ok, std::string_view what) {
  std::printf("%s %.*s\n", ok ? "ok  " : "FAIL", static_cast<int>(what.size()), what.data());
  if (!ok) ++g_failures;
}

template <size_t N>
bool equal(std::span<const uint8_t> got, const std::array<uint8_t, N>& want) {
  return got.size() >= N && std::memcmp(got.data(), want.data(), N) == 0;
}

// The TLS side of a QUIC client as libs/quic sets it up: context, session, ALPN, SNI, keylog.
void check_tls_client_setup() {
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  check(ctx != nullptr, "wolfSSL_CTX_new(wolfTLSv1_3_client_method())");
  if (ctx == nullptr) return;
  check(ngtcp2_crypto_wolfssl_configure_client_context(ctx) == 0,
        "ngtcp2_crypto_wolfssl_configure_client_context");
  // Keylog (SSLKEYLOGFILE) exists only because the script defines HAVE_SECRET_CALLBACK.
  wolfSSL_CTX_set_keylog_callback(ctx, [](const WOLFSSL*, const char*) {});
  check(wolfSSL_CTX_get_keylog_callback(ctx) != nullptr, "wolfSSL_CTX_set_keylog_callback");

  WOLFSSL* ssl = wolfSSL_new(ctx);
  check(ssl != nullptr, "wolfSSL_new");
  if (ssl != nullptr) {
    wolfSSL_set_connect_state(ssl);
    // Length-prefixed wire form. Unlike OpenSSL's, this returns WOLFSSL_SUCCESS (1): the
    // build has no WOLFSSL_ERROR_CODE_OPENSSL.
    static constexpr unsigned char kAlpn[] = "\x0alanparty/1";
    check(wolfSSL_set_alpn_protos(ssl, kAlpn, sizeof(kAlpn) - 1) == WOLFSSL_SUCCESS,
          "wolfSSL_set_alpn_protos(\"lanparty/1\")");
    static constexpr char kHost[] = "relay.example";
    check(wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, kHost, sizeof(kHost) - 1) == WOLFSSL_SUCCESS,
          "wolfSSL_UseSNI(\"relay.example\")");
    check(wolfSSL_is_quic(ssl) == 1, "the session uses the QUIC method (wolfSSL_is_quic)");
    static constexpr uint8_t kParams[] = {0x01, 0x02, 0x75, 0x30};  // max_idle_timeout 30000
    check(wolfSSL_set_quic_transport_params(ssl, kParams, sizeof(kParams)) == WOLFSSL_SUCCESS,
          "wolfSSL_set_quic_transport_params");
    wolfSSL_free(ssl);
  }
  wolfSSL_CTX_free(ctx);
}

// RFC 9001 appendix A.1/A.2: client Initial secrets for DCID 8394c8f03e515708 and the header
// protection mask, through ngtcp2_crypto_* over wolfSSL's HKDF and AES-ECB/CTR.
void check_rfc9001_initial_keys() {
  static constexpr std::array<uint8_t, 20> kSaltV1 = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
                                                      0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                                                      0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
  static constexpr std::array<uint8_t, 8> kDcid = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
  static constexpr std::array<uint8_t, 32> kInitialSecret = {
      0x7d, 0xb5, 0xdf, 0x06, 0xe7, 0xa6, 0x9e, 0x43, 0x24, 0x96, 0xad,
      0xed, 0xb0, 0x08, 0x51, 0x92, 0x35, 0x95, 0x22, 0x15, 0x96, 0xae,
      0x2a, 0xe9, 0xfb, 0x81, 0x15, 0xc1, 0xe9, 0xed, 0x0a, 0x44};
  static constexpr std::array<uint8_t, 16> kClientKey = {0x1f, 0x36, 0x96, 0x13, 0xdd, 0x76,
                                                         0xd5, 0x46, 0x77, 0x30, 0xef, 0xcb,
                                                         0xe3, 0xb1, 0xa2, 0x2d};
  static constexpr std::array<uint8_t, 12> kClientIv = {0xfa, 0x04, 0x4b, 0x2f, 0x42, 0xa3,
                                                        0xfd, 0x3b, 0x46, 0xfb, 0x25, 0x5c};
  static constexpr std::array<uint8_t, 16> kClientHp = {0x9f, 0x50, 0x44, 0x9e, 0x04, 0xa0,
                                                        0xe8, 0x10, 0x28, 0x3a, 0x1e, 0x99,
                                                        0x33, 0xad, 0xed, 0xd2};
  static constexpr std::array<uint8_t, 16> kSample = {0xd1, 0xb1, 0xc9, 0x8d, 0xd7, 0x68,
                                                      0x9f, 0xb8, 0xec, 0x11, 0xd2, 0x42,
                                                      0xb1, 0x23, 0xdc, 0x9b};
  static constexpr std::array<uint8_t, 5> kMask = {0x43, 0x7b, 0x9a, 0xec, 0x36};

  ngtcp2_crypto_md md;
  ngtcp2_crypto_md_init(&md, const_cast<WOLFSSL_EVP_MD*>(wolfSSL_EVP_sha256()));

  std::array<uint8_t, 32> initial{};
  check(ngtcp2_crypto_hkdf_extract(initial.data(), &md, kDcid.data(), kDcid.size(), kSaltV1.data(),
                                   kSaltV1.size()) == 0 &&
            equal(initial, kInitialSecret),
        "RFC 9001 A.1 initial_secret (HKDF-Extract)");

  auto expand = [&](std::span<uint8_t> out, std::span<const uint8_t> secret, const char* label) {
    return ngtcp2_crypto_hkdf_expand_label(out.data(), out.size(), &md, secret.data(),
                                           secret.size(), reinterpret_cast<const uint8_t*>(label),
                                           std::strlen(label)) == 0;
  };
  std::array<uint8_t, 32> client{};
  std::array<uint8_t, 16> key{};
  std::array<uint8_t, 12> iv{};
  std::array<uint8_t, 16> hp{};
  check(expand(client, initial, "client in") && expand(key, client, "quic key") &&
            expand(iv, client, "quic iv") && expand(hp, client, "quic hp") &&
            equal(key, kClientKey) && equal(iv, kClientIv) && equal(hp, kClientHp),
        "RFC 9001 A.1 client key, iv, hp (HKDF-Expand-Label)");

  ngtcp2_crypto_cipher cipher{const_cast<WOLFSSL_EVP_CIPHER*>(wolfSSL_EVP_aes_128_ctr())};
  ngtcp2_crypto_cipher_ctx hp_ctx{wolfSSL_quic_crypt_new(
      static_cast<const WOLFSSL_EVP_CIPHER*>(cipher.native_handle), hp.data(), nullptr, 1)};
  std::array<uint8_t, 16> mask{};
  check(hp_ctx.native_handle != nullptr &&
            ngtcp2_crypto_hp_mask(mask.data(), &cipher, &hp_ctx, kSample.data()) == 0 &&
            equal(mask, kMask),
        "RFC 9001 A.2 header protection mask 437b9aec36");
  if (hp_ctx.native_handle != nullptr) {
    wolfSSL_EVP_CIPHER_CTX_free(static_cast<WOLFSSL_EVP_CIPHER_CTX*>(hp_ctx.native_handle));
  }
}

// AES-128-GCM packet protection: a sealed packet opens again, and one flipped bit is rejected.
void check_aead_round_trip() {
  const auto* gcm = wolfSSL_EVP_aes_128_gcm();
  ngtcp2_crypto_aead aead{const_cast<WOLFSSL_EVP_CIPHER*>(gcm),
                          static_cast<size_t>(wolfSSL_quic_get_aead_tag_len(gcm))};
  static constexpr std::array<uint8_t, 16> kKey = {1, 2,  3,  4,  5,  6,  7,  8,
                                                   9, 10, 11, 12, 13, 14, 15, 16};
  static constexpr std::array<uint8_t, 12> kNonce = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42};
  static constexpr std::array<uint8_t, 4> kAad = {0xc3, 0, 0, 0};
  static constexpr char kPayload[] = "lanparty frame";
  ngtcp2_crypto_aead_ctx enc{};
  ngtcp2_crypto_aead_ctx dec{};
  const bool ctx_ok =
      ngtcp2_crypto_aead_ctx_encrypt_init(&enc, &aead, kKey.data(), kNonce.size()) == 0 &&
      ngtcp2_crypto_aead_ctx_decrypt_init(&dec, &aead, kKey.data(), kNonce.size()) == 0;
  check(ctx_ok && aead.max_overhead == 16, "AES-128-GCM contexts, 16-byte tag");
  if (ctx_ok) {
    std::array<uint8_t, sizeof(kPayload) + 16> sealed{};
    std::array<uint8_t, sizeof(kPayload)> opened{};
    const auto* plain = reinterpret_cast<const uint8_t*>(kPayload);
    const bool sealed_ok =
        ngtcp2_crypto_encrypt(sealed.data(), &aead, &enc, plain, sizeof(kPayload), kNonce.data(),
                              kNonce.size(), kAad.data(), kAad.size()) == 0;
    check(sealed_ok &&
              ngtcp2_crypto_decrypt(opened.data(), &aead, &dec, sealed.data(), sealed.size(),
                                    kNonce.data(), kNonce.size(), kAad.data(), kAad.size()) == 0 &&
              std::memcmp(opened.data(), kPayload, sizeof(kPayload)) == 0,
          "AES-128-GCM seal then open returns the payload");
    sealed[3] ^= 0x01;
    check(ngtcp2_crypto_decrypt(opened.data(), &aead, &dec, sealed.data(), sealed.size(),
                                kNonce.data(), kNonce.size(), kAad.data(), kAad.size()) != 0,
          "AES-128-GCM rejects a tampered packet");
  }
  ngtcp2_crypto_aead_ctx_free(&enc);
  ngtcp2_crypto_aead_ctx_free(&dec);
}

// --- An in-memory TLS 1.3 handshake over wolfSSL's QUIC API, relay and client in one process ---
// No ngtcp2 connection: the CRYPTO stream bytes of each encryption level go straight to the
// peer. It proves the configure flags suffice for what the relay and client actually do:
// ECDSA P-256 certificate, key share, ALPN, SNI, QUIC transport parameters, DER pinning, keylog.

struct Endpoint {
  WOLFSSL* ssl = nullptr;
  Endpoint* peer = nullptr;
  std::array<std::vector<uint8_t>, 4> inbox;  // indexed by WOLFSSL_ENCRYPTION_LEVEL
  uint8_t alert = 0;
};

Endpoint& endpoint_of(WOLFSSL* ssl) { return *static_cast<Endpoint*>(wolfSSL_get_app_data(ssl)); }

int on_secrets(WOLFSSL*, WOLFSSL_ENCRYPTION_LEVEL, const uint8_t*, const uint8_t*, size_t) {
  return 1;
}
int on_handshake_data(WOLFSSL* ssl, WOLFSSL_ENCRYPTION_LEVEL level, const uint8_t* data,
                      size_t len) {
  auto& box = endpoint_of(ssl).peer->inbox[static_cast<size_t>(level)];
  box.insert(box.end(), data, data + len);
  return 1;
}
int on_flush(WOLFSSL*) { return 1; }
int on_alert(WOLFSSL* ssl, WOLFSSL_ENCRYPTION_LEVEL, uint8_t alert) {
  endpoint_of(ssl).alert = alert;
  return 1;
}
const WOLFSSL_QUIC_METHOD kInMemoryQuic = {on_secrets, on_handshake_data, on_flush, on_alert};

std::span<const uint8_t> g_pinned_der;
int g_keylog_lines = 0;

// The relay's certificate is accepted iff its DER equals the pinned bytes, whatever the chain
// check said (a self-signed certificate never chains to a CA).
int verify_pinned(int /*preverify*/, WOLFSSL_X509_STORE_CTX* store) {
  WOLFSSL_X509* cert = wolfSSL_X509_STORE_CTX_get_current_cert(store);
  int len = 0;
  const unsigned char* der = cert != nullptr ? wolfSSL_X509_get_der(cert, &len) : nullptr;
  return der != nullptr && static_cast<size_t>(len) == g_pinned_der.size() &&
         std::memcmp(der, g_pinned_der.data(), g_pinned_der.size()) == 0;
}

// Feeds what the peer queued, then advances the handshake. False on a fatal TLS error.
bool pump(Endpoint& e) {
  for (size_t level = 0; level < e.inbox.size(); ++level) {
    auto& box = e.inbox[level];
    if (box.empty()) continue;
    if (wolfSSL_provide_quic_data(e.ssl, static_cast<WOLFSSL_ENCRYPTION_LEVEL>(level), box.data(),
                                  box.size()) != WOLFSSL_SUCCESS) {
      return false;
    }
    box.clear();
  }
  const int rv = wolfSSL_quic_do_handshake(e.ssl);
  if (rv == WOLFSSL_SUCCESS) return true;
  const int err = wolfSSL_get_error(e.ssl, rv);
  return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE;
}

struct HandshakeResult {
  bool completed = false;
  uint8_t client_alert = 0;
  std::string alpn;  // a copy: wolfSSL's buffer dies with the session
  bool sni_matched = false;
  std::string cipher;
  std::string group;
};

// cipher_list: the client's TLS 1.3 suites (wolfSSL names), or nullptr for the defaults.
HandshakeResult run_handshake(std::span<const uint8_t> pinned_der, const char* cipher_list) {
  using lanparty_mingw_smoke::kRelayCertDer;
  using lanparty_mingw_smoke::kRelayKeyDer;
  static constexpr char kHost[] = "relay.example";
  static constexpr char kAlpn[] = "lanparty/1";
  static constexpr uint8_t kParams[] = {0x01, 0x02, 0x75, 0x30};  // max_idle_timeout 30000
  HandshakeResult result;
  g_pinned_der = pinned_der;

  WOLFSSL_CTX* server_ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
  WOLFSSL_CTX* client_ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  Endpoint server;
  Endpoint client;
  server.peer = &client;
  client.peer = &server;
  bool ready =
      server_ctx != nullptr && client_ctx != nullptr &&
      wolfSSL_CTX_set_quic_method(server_ctx, &kInMemoryQuic) == WOLFSSL_SUCCESS &&
      wolfSSL_CTX_use_certificate_buffer(server_ctx, kRelayCertDer.data(), kRelayCertDer.size(),
                                         WOLFSSL_FILETYPE_ASN1) == WOLFSSL_SUCCESS &&
      wolfSSL_CTX_use_PrivateKey_buffer(server_ctx, kRelayKeyDer.data(), kRelayKeyDer.size(),
                                        WOLFSSL_FILETYPE_ASN1) == WOLFSSL_SUCCESS &&
      ngtcp2_crypto_wolfssl_configure_client_context(client_ctx) == 0 &&
      // X25519 first, P-256 as the fallback: what the ngtcp2 examples and most stacks offer.
      wolfSSL_CTX_set1_curves_list(client_ctx, "X25519:P-256") == WOLFSSL_SUCCESS;
  if (ready) {
    // The ngtcp2 hook installed its own QUIC method; this test carries the bytes itself.
    wolfSSL_CTX_set_quic_method(client_ctx, &kInMemoryQuic);
    wolfSSL_CTX_set_verify(client_ctx, WOLFSSL_VERIFY_PEER, verify_pinned);
    ready = cipher_list == nullptr ||
            wolfSSL_CTX_set_cipher_list(client_ctx, cipher_list) == WOLFSSL_SUCCESS;
    wolfSSL_CTX_set_keylog_callback(client_ctx,
                                    [](const WOLFSSL*, const char*) { ++g_keylog_lines; });
    server.ssl = wolfSSL_new(server_ctx);
    client.ssl = wolfSSL_new(client_ctx);
    ready = ready && server.ssl != nullptr && client.ssl != nullptr;
  }
  if (ready) {
    wolfSSL_set_app_data(server.ssl, &server);
    wolfSSL_set_app_data(client.ssl, &client);
    wolfSSL_set_accept_state(server.ssl);
    wolfSSL_set_connect_state(client.ssl);
    ready =
        wolfSSL_UseALPN(server.ssl, const_cast<char*>(kAlpn), sizeof(kAlpn) - 1,
                        WOLFSSL_ALPN_FAILED_ON_MISMATCH) == WOLFSSL_SUCCESS &&
        wolfSSL_UseALPN(client.ssl, const_cast<char*>(kAlpn), sizeof(kAlpn) - 1,
                        WOLFSSL_ALPN_FAILED_ON_MISMATCH) == WOLFSSL_SUCCESS &&
        wolfSSL_UseSNI(server.ssl, WOLFSSL_SNI_HOST_NAME, kHost, sizeof(kHost) - 1) ==
            WOLFSSL_SUCCESS &&
        wolfSSL_UseSNI(client.ssl, WOLFSSL_SNI_HOST_NAME, kHost, sizeof(kHost) - 1) ==
            WOLFSSL_SUCCESS &&
        wolfSSL_set_quic_transport_params(server.ssl, kParams, sizeof(kParams)) ==
            WOLFSSL_SUCCESS &&
        wolfSSL_set_quic_transport_params(client.ssl, kParams, sizeof(kParams)) == WOLFSSL_SUCCESS;
  }
  // A TLS 1.3 handshake needs two round trips; a few spare rounds cost nothing.
  for (int round = 0; ready && round < 8 && !result.completed; ++round) {
    ready = pump(client) && pump(server);
    result.completed = wolfSSL_is_init_finished(client.ssl) && wolfSSL_is_init_finished(server.ssl);
  }
  result.client_alert = client.alert;
  if (result.completed) {
    char* name = nullptr;
    unsigned short size = 0;
    if (wolfSSL_ALPN_GetProtocol(client.ssl, &name, &size) == WOLFSSL_SUCCESS) {
      result.alpn.assign(name, size);
    }
    result.sni_matched =
        wolfSSL_SNI_Status(server.ssl, WOLFSSL_SNI_HOST_NAME) == WOLFSSL_SNI_REAL_MATCH;
    const char* cipher = wolfSSL_get_cipher_name(client.ssl);
    const char* group = wolfSSL_get_curve_name(client.ssl);
    result.cipher = cipher != nullptr ? cipher : "";
    result.group = group != nullptr ? group : "";
  }
  wolfSSL_free(client.ssl);
  wolfSSL_free(server.ssl);
  wolfSSL_CTX_free(client_ctx);
  wolfSSL_CTX_free(server_ctx);
  return result;
}

void check_handshake() {
  g_keylog_lines = 0;
  const HandshakeResult good = run_handshake(lanparty_mingw_smoke::kRelayCertDer, nullptr);
  check(good.completed, "TLS 1.3 handshake over the QUIC API with the pinned P-256 certificate");
  check(good.alpn == "lanparty/1", "ALPN negotiated lanparty/1");
  check(good.sni_matched, "the relay saw SNI relay.example");
  check(good.group == "X25519", "X25519 key share");
  check(g_keylog_lines >= 4, "keylog callback saw the handshake and traffic secrets");
  std::printf("     cipher %s, key share %s, %d keylog lines\n", good.cipher.c_str(),
              good.group.c_str(), g_keylog_lines);

  const HandshakeResult chacha =
      run_handshake(lanparty_mingw_smoke::kRelayCertDer, "TLS13-CHACHA20-POLY1305-SHA256");
  check(chacha.completed && chacha.cipher == "TLS13-CHACHA20-POLY1305-SHA256",
        "handshake restricted to TLS_CHACHA20_POLY1305_SHA256");

  auto wrong_pin = lanparty_mingw_smoke::kRelayCertDer;
  wrong_pin[wrong_pin.size() - 1] ^= 0x01;
  const HandshakeResult bad = run_handshake(wrong_pin, nullptr);
  check(!bad.completed && bad.client_alert != 0,
        "a certificate that differs from the pin aborts the handshake with an alert");
}

}  // namespace

int main() {
  const ngtcp2_info* info = ngtcp2_version(0);
  // Headers and libraries come from the same prefix.
  check(info != nullptr && std::strcmp(info->version_str, NGTCP2_VERSION) == 0,
        "ngtcp2_version(0) matches <ngtcp2/version.h>");
  check(std::strcmp(wolfSSL_lib_version(), LIBWOLFSSL_VERSION_STRING) == 0,
        "wolfSSL_lib_version() matches <wolfssl/version.h>");
  check(wolfSSL_Init() == WOLFSSL_SUCCESS, "wolfSSL_Init");
  check_tls_client_setup();
  check_rfc9001_initial_keys();
  check_aead_round_trip();
  check_handshake();
  wolfSSL_Cleanup();
  std::printf("mingw-deps smoke: ngtcp2 %s, wolfSSL %s: %s\n", info ? info->version_str : "?",
              wolfSSL_lib_version(), g_failures == 0 ? "SUCCESS" : "FAILED");
  return g_failures == 0 ? 0 : 1;
}
