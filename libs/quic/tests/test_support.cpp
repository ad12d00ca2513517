// SPDX-License-Identifier: MIT
#include "test_support.hpp"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace lanparty::quic::testing {

// --- Recorder ----------------------------------------------------------------------------

void Recorder::on_handshake_completed(Connection& connection) {
  ++handshakes;
  open.push_back(&connection);
  order.emplace_back("handshake");
  if (after_handshake) after_handshake(connection);
}

void Recorder::on_stream_data(Connection& connection, std::int64_t stream_id,
                              std::span<const std::uint8_t> data, bool fin) {
  auto& bytes = stream_bytes[connection.id()];
  bytes.insert(bytes.end(), data.begin(), data.end());
  if (!data.empty()) order.emplace_back("stream");
  if (fin) {
    stream_fin[connection.id()] = true;
    order.emplace_back("fin");
  }
  if (echo_streams) {
    if (!data.empty()) {
      EXPECT_TRUE(connection.send_stream(stream_id, data).has_value());
    }
    if (fin) {
      EXPECT_TRUE(connection.shutdown_stream_write(stream_id).has_value());
    }
  }
  if (after_stream) after_stream(connection, stream_id, data, fin);
}

void Recorder::on_datagram(Connection& connection, std::span<const std::uint8_t> payload) {
  datagrams.emplace_back(payload.begin(), payload.end());
  order.emplace_back("datagram");
  if (echo_datagrams) {
    EXPECT_TRUE(connection.send_datagram(payload).has_value());
  }
  if (after_datagram) after_datagram(connection, payload);
}

void Recorder::on_closed(Connection& connection, const CloseInfo& info) {
  closed.push_back({connection.id(), info});
  order.emplace_back("closed");
  std::erase(open, &connection);
}

// --- TempDir -----------------------------------------------------------------------------

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lanparty-quic-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

// --- test CA -----------------------------------------------------------------------------

namespace {

struct Crt {
  gnutls_x509_crt_t p = nullptr;
  Crt() { gnutls_x509_crt_init(&p); }
  ~Crt() { gnutls_x509_crt_deinit(p); }
};
struct Key {
  gnutls_x509_privkey_t p = nullptr;
  Key() { gnutls_x509_privkey_init(&p); }
  ~Key() { gnutls_x509_privkey_deinit(p); }
};

std::string export_pem(gnutls_x509_crt_t crt) {
  gnutls_datum_t out{};
  EXPECT_GE(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out), 0);
  std::string text(reinterpret_cast<const char*>(out.data), out.size);
  gnutls_free(out.data);
  return text;
}

std::string export_key(gnutls_x509_privkey_t key) {
  gnutls_datum_t out{};
  EXPECT_GE(
      gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN, &out),
      0);
  std::string text(reinterpret_cast<const char*>(out.data), out.size);
  gnutls_free(out.data);
  return text;
}

void common_fields(gnutls_x509_crt_t crt, std::string_view cn, unsigned char serial) {
  const std::time_t now = std::time(nullptr);
  const unsigned char serial_bytes[] = {0x01, serial};
  EXPECT_GE(gnutls_x509_crt_set_version(crt, 3), 0);
  EXPECT_GE(gnutls_x509_crt_set_serial(crt, serial_bytes, sizeof(serial_bytes)), 0);
  EXPECT_GE(gnutls_x509_crt_set_activation_time(crt, now - 3600), 0);
  EXPECT_GE(gnutls_x509_crt_set_expiration_time(crt, now + 86400), 0);
  EXPECT_GE(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn.data(),
                                          static_cast<unsigned>(cn.size())),
            0);
}

}  // namespace

TestCa make_test_ca(std::string_view common_name) {
  Key key;
  EXPECT_GE(
      gnutls_x509_privkey_generate2(
          key.p, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, nullptr, 0),
      0);
  Crt crt;
  common_fields(crt.p, common_name, 1);
  EXPECT_GE(gnutls_x509_crt_set_key(crt.p, key.p), 0);
  EXPECT_GE(gnutls_x509_crt_set_basic_constraints(crt.p, 1, -1), 0);
  EXPECT_GE(gnutls_x509_crt_set_key_usage(crt.p, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN),
            0);
  EXPECT_GE(gnutls_x509_crt_sign2(crt.p, crt.p, key.p, GNUTLS_DIG_SHA256, 0), 0);
  return {export_pem(crt.p), export_key(key.p)};
}

CertificateKey issue_leaf(const TestCa& ca, std::string_view server_name) {
  Crt ca_crt;
  Key ca_key;
  const gnutls_datum_t ca_pem{reinterpret_cast<unsigned char*>(const_cast<char*>(ca.ca_pem.data())),
                              static_cast<unsigned>(ca.ca_pem.size())};
  const gnutls_datum_t ca_key_pem{
      reinterpret_cast<unsigned char*>(const_cast<char*>(ca.ca_key_pem.data())),
      static_cast<unsigned>(ca.ca_key_pem.size())};
  EXPECT_GE(gnutls_x509_crt_import(ca_crt.p, &ca_pem, GNUTLS_X509_FMT_PEM), 0);
  EXPECT_GE(gnutls_x509_privkey_import2(ca_key.p, &ca_key_pem, GNUTLS_X509_FMT_PEM, nullptr, 0), 0);

  Key key;
  EXPECT_GE(
      gnutls_x509_privkey_generate2(
          key.p, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, nullptr, 0),
      0);
  Crt crt;
  common_fields(crt.p, server_name, 2);
  EXPECT_GE(gnutls_x509_crt_set_subject_alt_name(crt.p, GNUTLS_SAN_DNSNAME, server_name.data(),
                                                 static_cast<unsigned>(server_name.size()),
                                                 GNUTLS_FSAN_SET),
            0);
  EXPECT_GE(gnutls_x509_crt_set_key(crt.p, key.p), 0);
  EXPECT_GE(gnutls_x509_crt_set_basic_constraints(crt.p, 0, -1), 0);
  EXPECT_GE(gnutls_x509_crt_set_key_usage(crt.p, GNUTLS_KEY_DIGITAL_SIGNATURE), 0);
  EXPECT_GE(gnutls_x509_crt_set_key_purpose_oid(crt.p, GNUTLS_KP_TLS_WWW_SERVER, 0), 0);
  EXPECT_GE(gnutls_x509_crt_sign2(crt.p, ca_crt.p, ca_key.p, GNUTLS_DIG_SHA256, 0), 0);

  CertificateKey out;
  gnutls_datum_t der{};
  EXPECT_GE(gnutls_x509_crt_export2(crt.p, GNUTLS_X509_FMT_DER, &der), 0);
  out.cert_der.assign(der.data, der.data + der.size);
  gnutls_free(der.data);
  out.cert_chain_pem = export_pem(crt.p) + ca.ca_pem;
  out.key_pem = export_key(key.p);
  return out;
}

// --- servers and clients -----------------------------------------------------------------

std::unique_ptr<TestServer> start_server(io::EventLoop& loop, const TempDir& dir,
                                         const std::function<void(ServerConfig&)>& tweak,
                                         obs::Logger logger) {
  auto out = std::make_unique<TestServer>();
  auto certificate = generate_self_signed("localhost");
  EXPECT_TRUE(certificate.has_value());
  if (!certificate) return nullptr;
  out->certificate = *certificate;
  out->der_path = dir.file("relay.der");
  EXPECT_TRUE(write_der(out->certificate, out->der_path).has_value());
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.certificate = out->certificate;
  // Every test client comes from 127.0.0.1: per-source limits are for the admission tests
  // to set.
  config.admission.max_connections_per_source = 1000000;
  config.admission.handshakes_per_second_per_source = 1e9;
  config.admission.handshake_burst_per_source = 1e9;
  if (tweak) tweak(config);
  auto server = Server::create(loop, config, out->handler, logger);
  EXPECT_TRUE(server.has_value()) << (server ? "" : server.error().describe());
  if (!server) return nullptr;
  out->server = std::move(*server);
  return out;
}

std::unique_ptr<TestClient> connect_client(io::EventLoop& loop, const TestServer& server,
                                           const std::function<void(ClientConfig&)>& tweak,
                                           obs::Logger logger) {
  auto out = std::make_unique<TestClient>();
  const io::SocketAddress address = server.server->local_address();
  ClientConfig config;
  config.host = address.family() == io::AddressFamily::kIPv6 ? "::1" : "127.0.0.1";
  config.port = address.port();
  config.server_name = "localhost";
  config.trust.pinned_der = server.der_path;
  if (tweak) tweak(config);
  auto client = Client::connect(loop, config, out->handler, logger);
  EXPECT_TRUE(client.has_value()) << (client ? "" : client.error().describe());
  if (!client) return nullptr;
  out->client = std::move(*client);
  return out;
}

std::vector<std::uint8_t> pattern_bytes(std::size_t size, std::uint32_t seed) {
  std::vector<std::uint8_t> out(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

}  // namespace lanparty::quic::testing
