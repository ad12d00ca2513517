// SPDX-License-Identifier: MIT
#include "lanparty/ctrl/invite_link.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/ctrl/invite.hpp"

namespace lanparty::ctrl {
namespace {

// SHA-256 bytes 0..31 and a well-formed (unsigned) token; links never verify signatures.
constexpr std::string_view kPin = "sha256:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

std::string token() {
  return "lpi1." +
         base64url_encode(
             std::string_view(R"({"room":"ROOM1","id":"9f2c4e1a7b3d5a60","exp":1767225600})")) +
         "." + base64url_encode(std::string(64, 'S'));
}

std::string link(std::string_view authority = "relay.example.net:4433",
                 std::string_view path = "/ROOM1", std::string_view query = "") {
  std::string out = "lanparty://" + std::string(authority) + std::string(path) + "?";
  if (query.empty()) {
    out += "sni=relay.example.net&pin=" + std::string(kPin) + "&invite=" + token();
  } else {
    out += query;
  }
  return out;
}

std::array<std::uint8_t, 32> pin_bytes() {
  std::array<std::uint8_t, 32> pin{};
  for (std::size_t i = 0; i < pin.size(); ++i) pin[i] = static_cast<std::uint8_t>(i);
  return pin;
}

InviteLink parsed(std::string_view text) {
  auto result = parse_invite_link(text);
  EXPECT_TRUE(result.has_value()) << text << "\n" << result.error().describe();
  return result ? *result : InviteLink{};
}

std::string link_error(std::string_view text) {
  auto result = parse_invite_link(text);
  EXPECT_FALSE(result.has_value()) << text;
  if (result) return "";
  EXPECT_EQ(result.error().code, make_error_code(Errc::kParseError));
  return result.error().context;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

TEST(InviteLink, ParsesEveryPart) {
  const InviteLink l = parsed(link());
  EXPECT_EQ(l.host, "relay.example.net");
  EXPECT_EQ(l.port, 4433);
  EXPECT_EQ(l.room, "ROOM1");
  EXPECT_EQ(l.server_name, "relay.example.net");
  EXPECT_EQ(l.pin_sha256, pin_bytes());
  EXPECT_EQ(l.invite, token());
}

TEST(InviteLink, FormatsCanonicallyAndRoundTrips) {
  const InviteLink l = parsed(link());
  EXPECT_EQ(format_invite_link(l), link());
  EXPECT_EQ(parsed(format_invite_link(l)), l);
}

TEST(InviteLink, AcceptsIpv6LiteralsInBrackets) {
  for (const auto& [authority, host] :
       std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"[::1]:4433", "::1"},
           {"[2001:db8::1]:4433", "2001:db8::1"},
           {"[2001:db8:0:0:0:0:0:1]:4433", "2001:db8:0:0:0:0:0:1"},
           {"[::ffff:192.0.2.1]:4433", "::ffff:192.0.2.1"},
           {"[fe80::]:4433", "fe80::"},
           {"[::]:4433", "::"}}) {
    const InviteLink l = parsed(link(authority));
    EXPECT_EQ(l.host, host);
    EXPECT_EQ(l.port, 4433);
    EXPECT_EQ(format_invite_link(l), link(authority)) << authority;
    EXPECT_EQ(parsed(format_invite_link(l)), l);
  }
}

TEST(InviteLink, RefusesBadIpv6Literals) {
  EXPECT_EQ(link_error(link("[::1:4433")), "the link's IPv6 address has no closing ']'");
  for (const std::string_view authority :
       {"[:::1]:4433", "[1::2::3]:4433", "[g::1]:4433", "[1:2:3:4:5:6:7:8:9]:4433",
        "[1:2:3:4:5:6:7]:4433", "[12345::1]:4433", "[::1%25eth0]:4433", "[]:4433",
        "[::1.2.3.4.5]:4433", "[1.2.3.4::]:4433"}) {
    EXPECT_EQ(link_error(link(authority)), "the address in [...] is not a valid IPv6 address")
        << authority;
  }
  EXPECT_EQ(link_error(link("::1:4433")),
            "an IPv6 address in a link must be in brackets, like [::1]:4433");
  EXPECT_EQ(link_error(link("[::1]x:4433")), "the link has something between ']' and the port");
}

TEST(InviteLink, AcceptsIpv4AndRefusesImpossibleOnes) {
  EXPECT_EQ(parsed(link("192.0.2.10:4433")).host, "192.0.2.10");
  for (const std::string_view authority :
       {"999.1.1.1:4433", "01.2.3.4:4433", "1.2.3:4433", "1.2.3.4.5:4433", "bad_name:4433",
        "-relay.example:4433", "relay..example:4433", "relay.example.:4433"}) {
    EXPECT_EQ(link_error(link(authority)),
              "the relay address in the link is not a valid host name or IPv4 address")
        << authority;
  }
}

TEST(InviteLink, ParametersInAnyOrderAndUnknownOnesIgnored) {
  const std::string query =
      "invite=" + token() + "&x=1&pin=" + std::string(kPin) + "&&future&sni=relay.example.net&";
  EXPECT_EQ(parsed(link("relay.example.net:4433", "/ROOM1", query)), parsed(link()));
}

TEST(InviteLink, MissingParametersAreNamed) {
  const std::string sni = "sni=relay.example.net";
  const std::string pin = "pin=" + std::string(kPin);
  const std::string invite = "invite=" + token();
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1", sni + "&" + pin)),
            "the link has no invite=; ask the host for the whole link");
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1", sni + "&" + invite)),
            "the link has no pin=; ask the host for the whole link");
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1", pin + "&" + invite)),
            "the link has no sni=; ask the host for the whole link");
  EXPECT_EQ(link_error("lanparty://relay.example.net:4433/ROOM1"),
            "the link has no sni=; ask the host for the whole link");
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1", sni + "&" + pin + "&invite=")),
            "the link's invite= is empty");
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1", sni + "&" + pin + "&invite")),
            "the link's invite= is empty");
}

TEST(InviteLink, DuplicateParametersAreRefused) {
  const std::string base = "sni=relay.example.net&pin=" + std::string(kPin) + "&invite=" + token();
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1", base + "&sni=other.example")),
            "the link has sni= twice; ask the host for the link again");
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1", base + "&invite=" + token())),
            "the link has invite= twice; ask the host for the link again");
}

TEST(InviteLink, ValuesArePercentDecoded) {
  std::string t = token();
  std::string escaped_token = "lpi1%2e" + t.substr(5);  // "." as %2e, lower-case hex
  const std::string query = "sni=relay%2Eexample.net&pin=sha256%3A" + std::string(kPin.substr(7)) +
                            "&invite=" + escaped_token;
  EXPECT_EQ(parsed(link("relay.example.net:4433", "/RO%4FM1", query)), parsed(link()));
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1",
                            "sni=relay.example.net%zz&pin=x&invite=y")),
            "the link's sni= has a broken %-escape");
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1",
                            "sni=relay.example.net&pin=" + std::string(kPin) + "&invite=x%4")),
            "the link's invite= has a broken %-escape");
}

TEST(InviteLink, RefusesABadPin) {
  const auto with_pin = [](std::string_view pin) {
    return link("relay.example.net:4433", "/ROOM1",
                "sni=relay.example.net&pin=" + std::string(pin) + "&invite=" + token());
  };
  const std::string not_hash =
      "the link's pin= is not a SHA-256 hash (43 base64url characters after sha256:); ask the "
      "host for the link again";
  EXPECT_EQ(link_error(with_pin("sha1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")),
            "the link's pin= does not start with sha256:; ask the host for the link again");
  EXPECT_EQ(link_error(with_pin("SHA256:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")),
            "the link's pin= does not start with sha256:; ask the host for the link again");
  EXPECT_EQ(link_error(with_pin("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")),
            "the link's pin= does not start with sha256:; ask the host for the link again");
  EXPECT_EQ(link_error(with_pin("sha256:" + base64url_encode(std::string(31, 'x')))), not_hash);
  EXPECT_EQ(link_error(with_pin("sha256:" + base64url_encode(std::string(33, 'x')))), not_hash);
  EXPECT_EQ(link_error(with_pin("sha256:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")), not_hash);
  EXPECT_EQ(link_error(with_pin("sha256:")), not_hash);
}

TEST(InviteLink, RefusesABadPort) {
  const std::string bad_port = "the link's port is not a number from 1 to 65535";
  for (const std::string_view authority :
       {"relay.example.net:0", "relay.example.net:65536", "relay.example.net:99999",
        "relay.example.net:443a", "relay.example.net:-1",
        "relay.example.net:", "relay.example.net:+443", "relay.example.net:004433"}) {
    EXPECT_EQ(link_error(link(authority)), bad_port) << authority;
  }
  EXPECT_EQ(parsed(link("relay.example.net:65535")).port, 65535);
  EXPECT_EQ(parsed(link("relay.example.net:1")).port, 1);
  EXPECT_EQ(link_error(link("relay.example.net")),
            "the link has no port (expected HOST:PORT, like relay.example:4433)");
  EXPECT_EQ(link_error(link(":4433")), "the link has no relay address before the port");
}

TEST(InviteLink, RefusesABadRoom) {
  const std::string bad_room =
      "the room name in the link is not valid (3 to 32 letters, digits, '-' or '_', starting "
      "with a letter or digit)";
  for (const std::string_view path : {"/ab", "/-abc", "/ROOM%201",
                                      "/" /* too long: */
                                      "A23456789012345678901234567890123"}) {
    EXPECT_EQ(link_error(link("relay.example.net:4433", path)), bad_room) << path;
  }
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/")),
            "the link has no room name (expected lanparty://HOST:PORT/ROOM?...)");
  EXPECT_EQ(link_error(link("relay.example.net:4433", "")),
            "the link has no room name (expected lanparty://HOST:PORT/ROOM?...)");
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1/")),
            "the link has more than a room name after the port");
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/RO%zzM1")),
            "the room name in the link has a broken %-escape");
}

TEST(InviteLink, TrimsSurroundingWhitespaceButNotInside) {
  EXPECT_EQ(parsed("  \t" + link() + "\r\n"), parsed(link()));
  const std::string l = link();
  EXPECT_EQ(link_error(l.substr(0, 60) + "\n" + l.substr(60)),
            "the link contains a space or line break; copy it again in one piece");
  EXPECT_EQ(link_error(l.substr(0, 60) + " " + l.substr(60)),
            "the link contains a space or line break; copy it again in one piece");
  EXPECT_EQ(link_error(l + "\xC3\xA9"),
            "the link contains characters a lanparty link never has; copy it again");
  EXPECT_EQ(link_error("   "), "the link is empty; paste the whole link the host sent");
}

TEST(InviteLink, SchemeIsCaseInsensitiveAndRequired) {
  const std::string l = link();
  EXPECT_EQ(parsed("LanParty" + l.substr(8)), parsed(l));
  for (const std::string& other : {"https" + l.substr(8), l.substr(11), "lanparty:" + l.substr(11),
                                   "lanparty:/" + l.substr(11)}) {
    EXPECT_EQ(link_error(other), "this is not a lanparty link (it must start with lanparty://)")
        << other;
  }
}

TEST(InviteLink, RefusesUserInfoAndFragments) {
  EXPECT_EQ(link_error(link("me@relay.example.net:4433")),
            "the link contains a user name ('@'); lanparty links have none");
  EXPECT_EQ(link_error(link() + "#x"),
            "the link has a '#' part a lanparty link never has; copy it again");
}

TEST(InviteLink, RefusesABadServerName) {
  EXPECT_EQ(link_error(link("relay.example.net:4433", "/ROOM1",
                            "sni=bad_name&pin=" + std::string(kPin) + "&invite=" + token())),
            "the link's sni= is not a valid server name; ask the host for the link again");
}

TEST(InviteLink, RefusesADamagedInvite) {
  const std::string error = link_error(
      link("relay.example.net:4433", "/ROOM1",
           "sni=relay.example.net&pin=" + std::string(kPin) + "&invite=" + token() + "x"));
  EXPECT_TRUE(contains(error, "the invite in the link is damaged (invite signature")) << error;
  EXPECT_TRUE(contains(error, "ask the host for the whole link")) << error;
}

TEST(InviteLink, FormatEscapesWhatIsNotUnreserved) {
  InviteLink l = parsed(link());
  l.server_name = "a b";
  EXPECT_TRUE(contains(format_invite_link(l), "sni=a%20b&")) << format_invite_link(l);
}

// --- relays=: our extension for a cluster of relays (docs/protocol.md) ----------------------

TEST(InviteLinkRelays, ALinkWithoutRelaysNamesOnlyItsOwnRelay) {
  EXPECT_TRUE(parsed(link()).more_relays.empty());
  EXPECT_FALSE(contains(format_invite_link(parsed(link())), "relays="));
}

TEST(InviteLinkRelays, FurtherRelaysAreParsedInOrderAndRoundTrip) {
  const std::string text =
      link() + "&relays=relay-2.example.net:4433,10.213.5.3:4434,%5B2001:db8::3%5D:443";
  const InviteLink l = parsed(text);
  ASSERT_EQ(l.more_relays.size(), 3u);
  EXPECT_EQ(l.more_relays[0], (RelayAddress{.host = "relay-2.example.net", .port = 4433}));
  EXPECT_EQ(l.more_relays[1], (RelayAddress{.host = "10.213.5.3", .port = 4434}));
  EXPECT_EQ(l.more_relays[2], (RelayAddress{.host = "2001:db8::3", .port = 443}));
  EXPECT_EQ(format_invite_link(l), text);
  EXPECT_EQ(parsed(format_invite_link(l)), l);
  // Raw brackets, as someone may type them, mean the same.
  EXPECT_EQ(parsed(link() + "&relays=[2001:db8::3]:443").more_relays[0], l.more_relays[2]);
}

TEST(InviteLinkRelays, ADamagedListIsAnErrorSayingSo) {
  EXPECT_TRUE(contains(link_error(link() + "&relays="), "empty entry"));
  EXPECT_TRUE(contains(link_error(link() + "&relays=a.example:1,,b.example:2"), "empty entry"));
  EXPECT_TRUE(contains(link_error(link() + "&relays=a.example"), "relays= is damaged"));
  EXPECT_TRUE(contains(link_error(link() + "&relays=a.example:1&relays=b.example:2"), "twice"));
  std::string many = link() + "&relays=";
  for (int i = 0; i <= 16; ++i)
    many += (i == 0 ? "" : ",") + std::string("r.example:") + std::to_string(i + 1);
  EXPECT_TRUE(contains(link_error(many), "more than 16 relays"));
}

}  // namespace
}  // namespace lanparty::ctrl
