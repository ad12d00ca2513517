// SPDX-License-Identifier: MIT
// RapidCheck properties for section 7's text formats: base64url is a bijection between bytes
// and canonical text, and invite tokens and links survive encode -> parse unchanged.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/ctrl/hello.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/ctrl/invite_link.hpp"

namespace lanparty::ctrl {
namespace {

namespace gen = rc::gen;

RC_GTEST_PROP(Base64UrlProperty, DecodeInvertsEncode, (const std::vector<std::uint8_t>& bytes)) {
  const std::string text = base64url_encode(bytes);
  RC_ASSERT(text.size() == base64url_encoded_size(bytes.size()));
  RC_ASSERT(text.find_first_of("=+/ \n") == std::string::npos);
  const auto decoded = base64url_decode(text);
  RC_ASSERT(decoded.has_value());
  RC_ASSERT(*decoded == bytes);
}

// Strictness means one spelling per value: whatever decodes re-encodes to the same text.
RC_GTEST_PROP(Base64UrlProperty, AcceptedTextIsCanonical, ()) {
  const auto text = *gen::container<std::string>(
      gen::oneOf(gen::elementOf(std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789-_")),
                 gen::arbitrary<char>()));
  const auto decoded = base64url_decode(text);
  if (decoded) RC_ASSERT(base64url_encode(*decoded) == text);
}

rc::Gen<std::string> hex_id() {
  return gen::container<std::string>(kInviteIdHexDigits,
                                     gen::elementOf(std::string("0123456789abcdef")));
}

// ASCII and two-byte characters, so names land on both sides of the 32-byte limit.
rc::Gen<std::string> short_utf8(std::size_t max_chars) {
  return gen::map(gen::resize(static_cast<int>(max_chars),
                              gen::container<std::vector<std::uint32_t>>(
                                  gen::oneOf(gen::inRange<std::uint32_t>(0x20, 0x7F),
                                             gen::inRange<std::uint32_t>(0x80, 0x800)))),
                  [](const std::vector<std::uint32_t>& cps) {
                    std::string out;
                    for (const std::uint32_t cp : cps) {
                      if (cp < 0x80) {
                        out += static_cast<char>(cp);
                      } else {
                        out += static_cast<char>(0xC0 | (cp >> 6));
                        out += static_cast<char>(0x80 | (cp & 0x3F));
                      }
                    }
                    return out;
                  });
}

rc::Gen<InvitePayload> invite_payload() {
  return gen::apply(
      [](std::string room, std::string id, std::int64_t exp, std::optional<std::string> name) {
        return InvitePayload{
            .room = std::move(room), .id = std::move(id), .exp = exp, .name = std::move(name)};
      },
      short_utf8(40), hex_id(), gen::arbitrary<std::int64_t>(),
      gen::oneOf(gen::just(std::optional<std::string>()),
                 gen::map(gen::suchThat(short_utf8(16),
                                        [](const std::string& s) {
                                          return !s.empty() && s.size() <= kMaxInviteNameBytes;
                                        }),
                          [](std::string s) { return std::optional(std::move(s)); })));
}

Result<Signature> fake_sign(std::span<const std::uint8_t> message) {
  // Depends on the message so a mix-up of signatures between tokens would show.
  Signature s{};
  for (std::size_t i = 0; i < message.size(); ++i) s[i % s.size()] ^= message[i];
  return s;
}

RC_GTEST_PROP(InviteTokenProperty, ParseInvertsEncode, ()) {
  const InvitePayload payload = *invite_payload();
  const auto token = encode_invite_token(payload, fake_sign);
  RC_ASSERT(token.has_value());
  RC_ASSERT(token->size() <= kMaxInviteTokenBytes);
  const auto parsed = parse_invite_token(*token);
  RC_ASSERT(parsed.has_value());
  RC_ASSERT(parsed->payload == payload);
  RC_ASSERT(parsed->signature == fake_sign(parsed->signed_message).value());
  const std::size_t second_dot = token->rfind('.');
  RC_ASSERT(std::string(parsed->signed_message.begin(), parsed->signed_message.end()) ==
            "lanparty-invite-v1." + token->substr(5, second_dot - 5));
}

// Any single-byte change to a token is either refused or still a well-formed token: parsing
// never crashes, and never accepts a text longer than the limit.
RC_GTEST_PROP(InviteTokenProperty, MutatedTokensParseOrFailCleanly, ()) {
  const auto token = encode_invite_token(*invite_payload(), fake_sign);
  RC_ASSERT(token.has_value());
  std::string mutated = *token;
  const auto at = *gen::inRange<std::size_t>(0, mutated.size());
  mutated[at] = *gen::arbitrary<char>();
  const auto parsed = parse_invite_token(mutated);
  if (parsed) RC_ASSERT(is_valid_invite_id(parsed->payload.id));
}

rc::Gen<std::string> room_name() {
  const std::string first = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const std::string rest_chars = first + "_-";
  const auto rest = gen::mapcat(gen::inRange<std::size_t>(2, 32), [rest_chars](std::size_t n) {
    return gen::container<std::string>(n, gen::elementOf(rest_chars));
  });
  return gen::apply([](char c, std::string tail) { return std::string(1, c) + tail; },
                    gen::elementOf(first), rest);
}

rc::Gen<std::string> dns_name() {
  const auto label = gen::apply(
      [](char first, std::string rest) { return std::string(1, first) + rest; },
      gen::elementOf(std::string("abcdefghijklmnopqrstuvwxyz")),
      gen::resize(10, gen::container<std::string>(
                          gen::elementOf(std::string("abcdefghijklmnopqrstuvwxyz0123456789")))));
  return gen::map(gen::resize(4, gen::nonEmpty(gen::container<std::vector<std::string>>(label))),
                  [](const std::vector<std::string>& labels) {
                    std::string out;
                    for (const auto& l : labels) out += (out.empty() ? "" : ".") + l;
                    return out;
                  });
}

rc::Gen<std::string> ipv6_host() {
  return gen::map(gen::arbitrary<std::array<std::uint16_t, 8>>(),
                  [](const std::array<std::uint16_t, 8>& groups) {
                    std::string out;
                    for (std::size_t i = 0; i < groups.size(); ++i) {
                      char buf[8];
                      std::snprintf(buf, sizeof buf, "%x", static_cast<unsigned>(groups[i]));
                      out += (i == 0 ? "" : ":") + std::string(buf);
                    }
                    return out;
                  });
}

RC_GTEST_PROP(InviteLinkProperty, ParseInvertsFormat, ()) {
  const auto token = encode_invite_token(*invite_payload(), fake_sign);
  RC_ASSERT(token.has_value());
  InviteLink link{.host = *gen::oneOf(dns_name(), ipv6_host(), gen::just(std::string("::1"))),
                  .port = *gen::inRange<std::uint16_t>(1, 65535),
                  .room = *room_name(),
                  .server_name = *dns_name(),
                  .pin_sha256 = *gen::arbitrary<std::array<std::uint8_t, 32>>(),
                  .invite = *token};
  RC_ASSERT(is_valid_room(link.room));
  const std::string text = format_invite_link(link);
  const auto parsed = parse_invite_link(text);
  RC_ASSERT(parsed.has_value());
  RC_ASSERT(*parsed == link);
  // A pasted link keeps working with whitespace around it.
  RC_ASSERT(parse_invite_link(" \n" + text + "\r\n").value() == link);
}

}  // namespace
}  // namespace lanparty::ctrl
