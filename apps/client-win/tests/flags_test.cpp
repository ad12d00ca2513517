// SPDX-License-Identifier: MIT
// lanparty-client-win's command line as the exe parses it: `join LINK` and `--invite LINK`
// (PROTOCOL.md section 7's invite link) beside the relay flags.
#include "flags.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/ctrl/invite_link.hpp"

namespace lanparty::client_win {
namespace {

std::array<std::uint8_t, 32> pin() {
  std::array<std::uint8_t, 32> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i + 1);
  return bytes;
}

// Well-formed, not validly signed: the client never verifies a token, the relay does.
std::string token() {
  auto made = ctrl::encode_invite_token(
      ctrl::InvitePayload{
          .room = "wine-room", .id = "9f2c4e1a7b3d5a60", .exp = 1767225600, .name = "winplayer"},
      [](std::span<const std::uint8_t>) -> Result<ctrl::Signature> {
        ctrl::Signature signature{};
        signature.fill(0x53);
        return signature;
      });
  EXPECT_TRUE(made.has_value());
  return made.value_or("");
}

std::string link(std::string host = "relay.example.net", std::uint16_t port = 4433) {
  return ctrl::format_invite_link(ctrl::InviteLink{.host = std::move(host),
                                                   .port = port,
                                                   .room = "wine-room",
                                                   .server_name = "relay.example.net",
                                                   .pin_sha256 = pin(),
                                                   .invite = token()});
}

// Parses like main() does (program name first), then resolves. CLI errors throw, as in main.
Result<Settings> parse(Flags& flags, const std::vector<std::string>& args) {
  CLI::App app{"lanparty-client-win"};
  add_flags(app, flags);
  std::vector<const char*> argv{"lanparty-client-win.exe"};
  for (const auto& arg : args) argv.push_back(arg.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return resolve(flags);
}

proto::MacAddress mac() { return proto::MacAddress::parse("02:00:5e:10:20:30").value(); }

TEST(Flags, JoinLinkGivesRelayServerNameRoomPinAndInvite) {
  Flags flags;
  auto settings = parse(flags, {"join", link()});
  ASSERT_TRUE(settings) << settings.error().describe();
  EXPECT_EQ(flags.relay.relay, "relay.example.net:4433");
  EXPECT_EQ(settings->quic.host, "relay.example.net");
  EXPECT_EQ(settings->quic.port, 4433);
  EXPECT_EQ(settings->quic.server_name, "relay.example.net");
  // Trust exactly the certificate the link names: no file to copy, no CA.
  EXPECT_EQ(settings->quic.trust.pinned_sha256, pin());
  EXPECT_FALSE(settings->quic.trust.pinned_der.has_value());
  EXPECT_FALSE(settings->quic.trust.ca_file.has_value());
  EXPECT_FALSE(flags.check);
}

TEST(Flags, TheSessionCarriesTheLinksRoomAndInvite) {
  Flags flags;
  ASSERT_TRUE(parse(flags, {"join", link()}));
  const auto session = session_config(flags, mac());
  EXPECT_EQ(session.role, ctrl::Role::kClient);
  EXPECT_EQ(session.room, "wine-room");
  EXPECT_EQ(session.mac, mac());
  EXPECT_EQ(session.invite, token());
  EXPECT_EQ(session.software, kSoftware);
}

TEST(Flags, CheckAndStateDirMayFollowTheLink) {
  Flags flags;
  auto settings = parse(flags, {"join", link(), "--check", "--state-dir", "C:\\lp"});
  ASSERT_TRUE(settings) << settings.error().describe();
  EXPECT_TRUE(flags.check);
  EXPECT_EQ(flags.state_dir, "C:\\lp");
  EXPECT_EQ(flags.relay.room, "wine-room");
}

TEST(Flags, InviteFlagIsTheSameAsJoin) {
  Flags flags;
  auto settings = parse(flags, {"--check", "--invite", link()});
  ASSERT_TRUE(settings) << settings.error().describe();
  EXPECT_TRUE(flags.check);
  EXPECT_EQ(settings->quic.trust.pinned_sha256, pin());
  EXPECT_EQ(session_config(flags, mac()).invite, token());
}

TEST(Flags, AnIpv6LinkConnectsToTheBareAddress) {
  Flags flags;
  auto settings = parse(flags, {"join", link("2001:db8::7", 443)});
  ASSERT_TRUE(settings) << settings.error().describe();
  EXPECT_EQ(flags.relay.relay, "[2001:db8::7]:443");
  EXPECT_EQ(settings->quic.host, "2001:db8::7");
  EXPECT_EQ(settings->quic.port, 443);
}

TEST(Flags, ALinkRefusesTheFlagsItReplaces) {
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"--relay", "203.0.113.7:4433"},
                                                        {"--server-name", "other.example.net"},
                                                        {"--room", "other-room"}}) {
    Flags flags;
    auto settings = parse(flags, {"join", link(), flag, value});
    ASSERT_FALSE(settings) << flag;
    EXPECT_EQ(settings.error().code, make_error_code(Errc::kInvalidArgument));
    EXPECT_EQ(settings.error().context,
              flag +
                  " cannot be combined with an invite link: the link already names the "
                  "relay, the room and its certificate");
  }
}

TEST(Flags, ABrokenLinkGivesTheParsersSentence) {
  const std::string good = link();
  const std::string no_invite = good.substr(0, good.find("&invite="));
  for (const std::string& broken : std::vector<std::string>{
           no_invite, "https://relay.example.net:4433/wine-room", good.substr(0, good.size() / 2),
           "lanparty://relay.example.net/wine-room?" + good.substr(good.find("sni="))}) {
    Flags flags;
    auto settings = parse(flags, {"join", broken});
    ASSERT_FALSE(settings) << broken;
    auto expected = ctrl::parse_invite_link(broken);
    ASSERT_FALSE(expected) << broken;
    EXPECT_EQ(settings.error().context, expected.error().context) << broken;
    EXPECT_FALSE(settings.error().context.empty());
  }
}

TEST(Flags, JoinNeedsALink) {
  Flags flags;
  EXPECT_THROW((void)parse(flags, {"join"}), CLI::ParseError);
}

TEST(Flags, ABadTapMetricIsRefusedWithALinkToo) {
  Flags flags;
  auto settings = parse(flags, {"join", link(), "--tap-metric", "0"});
  ASSERT_FALSE(settings);
  EXPECT_NE(settings.error().context.find("--tap-metric 0: expected off, auto"), std::string::npos);
}

TEST(Flags, WithoutALinkTheRelayFlagsWorkAsBeforeAndNoInviteIsSent) {
  const auto der = std::filesystem::temp_directory_path() / "lanparty-flags-test-relay.der";
  std::ofstream(der) << "not read until the connection";
  Flags flags;
  auto settings = parse(flags, {"--relay", "127.0.0.1:4433", "--server-name", "relay.test",
                                "--relay-ca-cert", der.string(), "--room", "wine-room"});
  std::filesystem::remove(der);
  ASSERT_TRUE(settings) << settings.error().describe();
  EXPECT_EQ(settings->quic.trust.pinned_der, std::optional<std::filesystem::path>(der));
  EXPECT_FALSE(settings->quic.trust.pinned_sha256.has_value());
  EXPECT_FALSE(session_config(flags, mac()).invite.has_value());
}

TEST(Flags, NothingGivenSaysToPasteTheLink) {
  Flags flags;
  auto settings = parse(flags, {"--check"});
  ASSERT_FALSE(settings);
  EXPECT_NE(settings.error().context.find("give the host's invite link (join LINK"),
            std::string::npos);
}

}  // namespace
}  // namespace lanparty::client_win
