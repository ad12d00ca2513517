// SPDX-License-Identifier: MIT
// Certificate generation, PEM/DER files, fingerprints.
#include "lanparty/quic/certificate.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "lanparty/base/errc.hpp"
#include "test_support.hpp"

namespace lanparty::quic {
namespace {

using testing::TempDir;

TEST(Certificate, SelfSignedHasDerChainAndKey) {
  auto cert = generate_self_signed("relay.example");
  ASSERT_TRUE(cert.has_value()) << cert.error().describe();
  EXPECT_GT(cert->cert_der.size(), 100u);
  EXPECT_NE(cert->cert_chain_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(cert->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto other = generate_self_signed("relay.example");
  ASSERT_TRUE(other.has_value());
  EXPECT_NE(cert->cert_der, other->cert_der);  // fresh key and serial each time
}

TEST(Certificate, SelfSignedRejectsEmptyName) {
  auto cert = generate_self_signed("");
  ASSERT_FALSE(cert.has_value());
  EXPECT_EQ(cert.error().code, Errc::kInvalidArgument);
}

TEST(Certificate, DerFileRoundTrips) {
  TempDir dir;
  auto cert = generate_self_signed("127.0.0.1");
  ASSERT_TRUE(cert.has_value());
  ASSERT_TRUE(write_der(*cert, dir.file("relay.der")).has_value());
  auto der = read_der(dir.file("relay.der"));
  ASSERT_TRUE(der.has_value()) << der.error().describe();
  EXPECT_EQ(*der, cert->cert_der);
}

TEST(Certificate, ReadDerRejectsMissingAndGarbage) {
  TempDir dir;
  auto missing = read_der(dir.file("none.der"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  std::ofstream(dir.file("junk.der")) << "not a certificate";
  auto junk = read_der(dir.file("junk.der"));
  ASSERT_FALSE(junk.has_value());
  EXPECT_EQ(junk.error().code, Errc::kCorruptFile);
}

TEST(Certificate, LoadPemReadsMatchingChainAndKey) {
  TempDir dir;
  auto cert = generate_self_signed("relay.example");
  ASSERT_TRUE(cert.has_value());
  std::ofstream(dir.file("chain.pem")) << cert->cert_chain_pem;
  std::ofstream(dir.file("key.pem")) << cert->key_pem;
  auto loaded = load_pem(dir.file("chain.pem"), dir.file("key.pem"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().describe();
  EXPECT_EQ(loaded->cert_der, cert->cert_der);
}

TEST(Certificate, LoadPemRejectsKeyOfAnotherCertificate) {
  TempDir dir;
  auto a = generate_self_signed("a.example");
  auto b = generate_self_signed("b.example");
  ASSERT_TRUE(a.has_value() && b.has_value());
  std::ofstream(dir.file("chain.pem")) << a->cert_chain_pem;
  std::ofstream(dir.file("key.pem")) << b->key_pem;
  auto loaded = load_pem(dir.file("chain.pem"), dir.file("key.pem"));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, Errc::kCorruptFile);
}

TEST(Certificate, FingerprintIsColonSeparatedSha256) {
  const std::vector<std::uint8_t> empty;
  // SHA-256 of the empty string.
  EXPECT_EQ(sha256_fingerprint(empty),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:"
            "78:52:B8:55");
}

}  // namespace
}  // namespace lanparty::quic
