// SPDX-License-Identifier: MIT
// Invite token shape checks and encoding (PROTOCOL.md section 7); signatures are the
// caller's business.
#include "lanparty/ctrl/invite.hpp"

#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "json_internal.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/ctrl/hello.hpp"

namespace lanparty::ctrl {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxShownKeyBytes = 32;  // a hostile key must not flood an error line

tl::unexpected<Error> malformed(std::string context) {
  return fail(Errc::kParseError, std::move(context));
}

std::string_view explain(Base64UrlError error) noexcept {
  switch (error) {
    case Base64UrlError::kPadding:
      return "it has '=' padding";
    case Base64UrlError::kWhitespace:
      return "it contains whitespace";
    case Base64UrlError::kBadCharacter:
      return "it contains a character outside A-Z a-z 0-9 - _";
    case Base64UrlError::kBadLength:
      return "its length is impossible (cut short?)";
    case Base64UrlError::kNonZeroTrailingBits:
      return "its last character is not canonical";
    case Base64UrlError::kWrongSize:
      return "it has the wrong size";
  }
  return "it is damaged";
}

// Parses the payload, refusing a duplicate key in any object. nlohmann keeps the last value
// of a duplicate silently, so its parser callback watches each object's keys as they arrive.
Result<Json> parse_payload_json(std::string_view text) {
  // nlohmann would skip a byte-order mark; the codec refuses one too (RFC 8259 section 8.1).
  if (text.starts_with("\xEF\xBB\xBF")) {
    return malformed("invite payload is not UTF-8 JSON (it starts with a byte-order mark)");
  }
  std::vector<std::set<std::string, std::less<>>> open_objects;
  std::optional<std::string> duplicate;
  const Json::parser_callback_t watch_keys = [&](int /*depth*/, Json::parse_event_t event,
                                                 Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == Json::parse_event_t::key && !open_objects.empty()) {
      const auto* key = parsed.get_ptr<const std::string*>();
      if (key != nullptr && !open_objects.back().insert(*key).second && !duplicate) {
        duplicate = *key;
      }
    }
    return true;
  };
  try {
    Json document = Json::parse(text.data(), text.data() + text.size(), watch_keys,
                                /*allow_exceptions=*/false, /*ignore_comments=*/false);
    if (document.is_discarded()) {
      return malformed("invite payload is not UTF-8 JSON");
    }
    if (duplicate) {
      return malformed(fmt::format("invite payload has the key \"{}\" twice",
                                   utf8_prefix(*duplicate, kMaxShownKeyBytes)));
    }
    if (!document.is_object()) return malformed("invite payload is not a JSON object");
    return document;
  } catch (...) {
    // Only std::bad_alloc can get here; an input that cannot be held cannot be trusted.
    return malformed("invite payload is too large to read");
  }
}

// The member `key` of `object`, or nullptr when absent.
const Json* find_field(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

Result<InvitePayload> payload_from_json(const Json& object) {
  InvitePayload payload;

  const Json* room = find_field(object, "room");
  if (room == nullptr) return malformed("invite payload has no \"room\"");
  if (!room->is_string()) return malformed("invite payload \"room\" is not a string");
  payload.room = room->get_ref<const std::string&>();

  const Json* id = find_field(object, "id");
  if (id == nullptr) return malformed("invite payload has no \"id\"");
  if (!id->is_string()) return malformed("invite payload \"id\" is not a string");
  payload.id = id->get_ref<const std::string&>();
  if (!is_valid_invite_id(payload.id)) {
    return malformed("invite payload \"id\" is not 16 lower-case hex digits");
  }

  const Json* exp = find_field(object, "exp");
  if (exp == nullptr) return malformed("invite payload has no \"exp\"");
  const auto exp_value = detail::as_int64(*exp);
  if (!exp_value) {
    return malformed("invite payload \"exp\" is not an integer (no fraction, no exponent)");
  }
  payload.exp = *exp_value;

  if (const Json* name = find_field(object, "name")) {
    if (!name->is_string()) return malformed("invite payload \"name\" is not a string");
    const auto& text = name->get_ref<const std::string&>();
    if (text.size() < kMinInviteNameBytes) return malformed("invite payload \"name\" is empty");
    if (text.size() > kMaxInviteNameBytes) {
      return malformed(
          fmt::format("invite payload \"name\" is longer than {} bytes", kMaxInviteNameBytes));
    }
    payload.name = text;
  }
  return payload;
}

}  // namespace

bool is_valid_invite_id(std::string_view id) noexcept {
  if (id.size() != kInviteIdHexDigits) return false;
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::vector<std::uint8_t> invite_signing_input(std::string_view payload_b64) {
  std::vector<std::uint8_t> out;
  out.reserve(kInviteSigningPrefix.size() + payload_b64.size());
  out.insert(out.end(), kInviteSigningPrefix.begin(), kInviteSigningPrefix.end());
  out.insert(out.end(), payload_b64.begin(), payload_b64.end());
  return out;
}

std::vector<std::uint8_t> claim_signing_input(
    std::string_view room, std::span<const std::uint8_t, kRoomClaimEkmBytes> ekm) {
  std::vector<std::uint8_t> out;
  out.reserve(kRoomClaimContext.size() + 1 + room.size() + 1 + ekm.size());
  out.insert(out.end(), kRoomClaimContext.begin(), kRoomClaimContext.end());
  out.push_back(0x00);
  out.insert(out.end(), room.begin(), room.end());
  out.push_back(0x00);
  out.insert(out.end(), ekm.begin(), ekm.end());
  return out;
}

Result<ParsedInvite> parse_invite_token(std::string_view token) {
  if (token.size() > kMaxInviteTokenBytes) {
    return malformed(fmt::format("invite token is longer than {} bytes ({} bytes)",
                                 kMaxInviteTokenBytes, token.size()));
  }
  if (!token.starts_with(kInviteTokenPrefix)) {
    return malformed(fmt::format("invite token does not start with \"{}\"", kInviteTokenPrefix));
  }
  const std::string_view rest = token.substr(kInviteTokenPrefix.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) {
    return malformed("invite token has no signature part (no '.' after the payload)");
  }
  const std::string_view payload_b64 = rest.substr(0, dot);
  const std::string_view signature_b64 = rest.substr(dot + 1);
  if (signature_b64.find('.') != std::string_view::npos) {
    return malformed("invite token has more than three '.'-separated parts");
  }

  const auto payload_bytes = base64url_decode(payload_b64);
  if (!payload_bytes) {
    return malformed(
        fmt::format("invite payload is not valid base64url: {}", explain(payload_bytes.error())));
  }
  const auto signature_bytes = base64url_decode(signature_b64);
  if (!signature_bytes) {
    return malformed(fmt::format("invite signature is not valid base64url: {}",
                                 explain(signature_bytes.error())));
  }
  if (signature_bytes->size() != kSignatureBytes) {
    return malformed(fmt::format("invite signature is {} bytes, not {}", signature_bytes->size(),
                                 kSignatureBytes));
  }

  const std::string_view payload_text(reinterpret_cast<const char*>(payload_bytes->data()),
                                      payload_bytes->size());
  auto json = parse_payload_json(payload_text);
  if (!json) return tl::unexpected<Error>(json.error());
  auto payload = payload_from_json(*json);
  if (!payload) return tl::unexpected<Error>(payload.error());

  ParsedInvite parsed{.payload = std::move(*payload),
                      .signed_message = invite_signing_input(payload_b64),
                      .signature = {}};
  for (std::size_t i = 0; i < kSignatureBytes; ++i) parsed.signature[i] = (*signature_bytes)[i];
  return parsed;
}

Result<std::string> encode_invite_token(const InvitePayload& payload, const InviteSigner& sign) {
  if (!is_valid_invite_id(payload.id)) {
    return fail(Errc::kInvalidArgument, "invite id must be 16 lower-case hex digits");
  }
  if (payload.name &&
      (payload.name->size() < kMinInviteNameBytes || payload.name->size() > kMaxInviteNameBytes)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("invite name must be {} to {} bytes, not {}", kMinInviteNameBytes,
                            kMaxInviteNameBytes, payload.name->size()));
  }
  nlohmann::ordered_json json;
  json["room"] = payload.room;
  json["id"] = payload.id;
  json["exp"] = payload.exp;
  if (payload.name) json["name"] = *payload.name;
  std::string text;
  try {
    // strict: a room or name that is not UTF-8 is refused rather than silently altered.
    text =
        json.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::strict);
  } catch (...) {
    return fail(Errc::kInvalidArgument, "invite room or name is not valid UTF-8");
  }

  const std::string payload_b64 = base64url_encode(text);
  const std::size_t token_size =
      kInviteTokenPrefix.size() + payload_b64.size() + 1 + base64url_encoded_size(kSignatureBytes);
  if (token_size > kMaxInviteTokenBytes) {
    return fail(Errc::kTooLarge,
                fmt::format("invite token would be {} bytes, more than {} (shorten the room or "
                            "name)",
                            token_size, kMaxInviteTokenBytes));
  }
  if (!sign) return fail(Errc::kInvalidArgument, "no invite signer");
  const std::vector<std::uint8_t> message = invite_signing_input(payload_b64);
  auto signature = sign(message);
  if (!signature) return tl::unexpected<Error>(signature.error());

  std::string token;
  token.reserve(token_size);
  token.append(kInviteTokenPrefix).append(payload_b64).append(".");
  token.append(base64url_encode(std::span<const std::uint8_t>(*signature)));
  return token;
}

}  // namespace lanparty::ctrl
