// SPDX-License-Identifier: MIT
// libFuzzer target: invite tokens, invite links and strict base64url on arbitrary text.
// Nothing may crash; whatever parses must satisfy section 7's rules and round-trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lanparty/base/check.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/ctrl/hello.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/ctrl/invite_link.hpp"

namespace ctrl = lanparty::ctrl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto token = ctrl::parse_invite_token(text)) {
    LANPARTY_CHECK(text.size() <= ctrl::kMaxInviteTokenBytes);
    LANPARTY_CHECK(ctrl::is_valid_invite_id(token->payload.id));
    LANPARTY_CHECK(!token->payload.name ||
                   (!token->payload.name->empty() &&
                    token->payload.name->size() <= ctrl::kMaxInviteNameBytes));
    // The signed bytes are the prefix plus the payload part, byte for byte.
    const std::string_view rest = text.substr(ctrl::kInviteTokenPrefix.size());
    const std::string expected =
        std::string(ctrl::kInviteSigningPrefix) + std::string(rest.substr(0, rest.find('.')));
    LANPARTY_CHECK(std::string(token->signed_message.begin(), token->signed_message.end()) ==
                   expected);
  }

  if (const auto link = ctrl::parse_invite_link(text)) {
    LANPARTY_CHECK(ctrl::is_valid_room(link->room));
    LANPARTY_CHECK(link->port != 0);
    LANPARTY_CHECK(ctrl::parse_invite_token(link->invite).has_value());
    const auto again = ctrl::parse_invite_link(ctrl::format_invite_link(*link));
    LANPARTY_CHECK(again.has_value() && *again == *link);
  }

  if (const auto bytes = ctrl::base64url_decode(text)) {
    LANPARTY_CHECK(ctrl::base64url_encode(*bytes) == text);
  }
  return 0;
}
