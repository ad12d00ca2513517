// SPDX-License-Identifier: MIT
// JSON <-> Message with nlohmann_json (kept out of the public headers), and frame encoding.
#include "lanparty/ctrl/codec.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "frame_internal.hpp"
#include "json_internal.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/invite_link.hpp"

namespace lanparty::ctrl {
namespace {

// Decoding uses std::map objects: lookups and duplicate keys cost O(log n), so a hostile
// 16 KiB frame with thousands of keys stays cheap (ordered_json's vector map is quadratic).
using InJson = nlohmann::json;
using InObject = InJson::object_t;
// Encoding keeps insertion order so output reads like PROTOCOL.md's examples, `type` first.
using OutJson = nlohmann::ordered_json;

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinPeerId = 1;  // 0 is never assigned (PROTOCOL.md section 2)
constexpr std::int64_t kMaxPeerId = std::numeric_limits<std::uint16_t>::max();
constexpr std::int64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();

[[nodiscard]] tl::unexpected<FrameError> frame_error(FrameError error) noexcept {
  return tl::unexpected<FrameError>(error);
}

using detail::as_int64;

// Reads typed fields of one object. Each getter returns a default on failure and records the
// first problem, so a decoder reads straight down its field list and checks ok() once.
// Strings are moved out of the (throw-away) document.
class FieldReader {
 public:
  explicit FieldReader(InObject& object) noexcept : object_(object) {}

  [[nodiscard]] bool ok() const noexcept { return problem_.empty(); }
  [[nodiscard]] std::string take_problem() { return std::move(problem_); }

  std::int64_t integer(std::string_view key) { return integer_in(key, kInt64Min, kInt64Max); }

  std::int64_t integer_in(std::string_view key, std::int64_t min, std::int64_t max) {
    InJson* value = required(key);
    if (value == nullptr) return 0;
    const auto number = as_int64(*value);
    if (!number) {
      note(key, "is not an integer");
      return 0;
    }
    if (*number < min || *number > max) {
      note(key, "is out of range");
      return 0;
    }
    return *number;
  }

  // Absent -> nullopt; present but not an integer (null included) -> problem.
  std::optional<std::int64_t> optional_integer(std::string_view key) {
    InJson* value = find(key);
    if (value == nullptr) return std::nullopt;
    const auto number = as_int64(*value);
    if (!number) note(key, "is not an integer");
    return number;
  }

  std::string string(std::string_view key) {
    InJson* value = required(key);
    return value == nullptr ? std::string() : take_string(key, *value);
  }

  // Absent -> nullopt; present but not a string (null included) -> problem.
  std::optional<std::string> optional_string(std::string_view key) {
    InJson* value = find(key);
    if (value == nullptr) return std::nullopt;
    return take_string(key, *value);
  }

  // Absent -> nullptr without a problem.
  InObject* optional_object(std::string_view key) {
    InJson* value = find(key);
    return value == nullptr ? nullptr : as_object(key, *value);
  }

  InObject* object(std::string_view key) {
    InJson* value = required(key);
    return value == nullptr ? nullptr : as_object(key, *value);
  }

  InJson::array_t* array(std::string_view key) {
    InJson* value = required(key);
    if (value == nullptr) return nullptr;
    auto* array = value->get_ptr<InJson::array_t*>();
    if (array == nullptr) note(key, "is not an array");
    return array;
  }

 private:
  InJson* find(std::string_view key) noexcept {
    const auto it = object_.find(key);  // std::less<> makes this a heterogeneous lookup
    return it == object_.end() ? nullptr : &it->second;
  }

  InJson* required(std::string_view key) {
    InJson* value = find(key);
    if (value == nullptr) note(key, "is missing");
    return value;
  }

  std::string take_string(std::string_view key, InJson& value) {
    auto* text = value.get_ptr<std::string*>();
    if (text == nullptr) {
      note(key, "is not a string");
      return {};
    }
    return std::move(*text);
  }

  InObject* as_object(std::string_view key, InJson& value) {
    auto* object = value.get_ptr<InObject*>();
    if (object == nullptr) note(key, "is not an object");
    return object;
  }

  void note(std::string_view key, std::string_view what) {
    if (!ok()) return;
    problem_.reserve(key.size() + what.size() + 3);
    problem_.append("\"").append(key).append("\" ").append(what);
  }

  InObject& object_;
  std::string problem_;
};

Message decode_hello(InObject& object, DecodeOptions options) {
  FieldReader fields(object);
  Hello hello;
  hello.protocol = fields.integer("protocol");
  hello.role = fields.string("role");
  hello.room = fields.string("room");
  hello.mac = fields.string("mac");
  hello.max_datagram = fields.integer("max_datagram");
  hello.software = fields.optional_string("software");
  if (options.room_ownership) {
    hello.room_key = fields.optional_string("room_key");
    hello.room_proof = fields.optional_string("room_proof");
    hello.invite = fields.optional_string("invite");
  }
  if (!fields.ok()) return MalformedHello{fields.take_problem()};
  return hello;
}

std::optional<PeerInfo> decode_peer(InObject* object, DecodeOptions options) {
  if (object == nullptr) return std::nullopt;
  FieldReader fields(*object);
  const auto peer_id = fields.integer_in("peer_id", kMinPeerId, kMaxPeerId);
  const std::string role_text = fields.string("role");
  const std::string mac_text = fields.string("mac");
  // Malformed like every other mistyped field of a relay->peer message: the relay built it.
  std::optional<std::string> name;
  std::optional<std::string> invite_id;
  if (options.room_ownership) {
    name = fields.optional_string("name");
    invite_id = fields.optional_string("invite_id");
  }
  if (!fields.ok()) return std::nullopt;
  const auto role = parse_role(role_text);
  if (!role) return std::nullopt;
  auto mac = proto::MacAddress::parse(mac_text);
  if (!mac) return std::nullopt;
  return PeerInfo{.peer_id = static_cast<std::uint16_t>(peer_id),
                  .role = *role,
                  .mac = *mac,
                  .name = std::move(name),
                  .invite_id = std::move(invite_id)};
}

tl::expected<Message, FrameError> decode_welcome(InObject& object, DecodeOptions options) {
  FieldReader fields(object);
  Welcome welcome;
  welcome.protocol = fields.integer("protocol");
  welcome.peer_id =
      static_cast<std::uint16_t>(fields.integer_in("peer_id", kMinPeerId, kMaxPeerId));
  welcome.room = fields.string("room");
  welcome.mtu = static_cast<std::uint32_t>(fields.integer_in("mtu", 0, kMaxU32));
  welcome.max_datagram = static_cast<std::uint32_t>(fields.integer_in("max_datagram", 0, kMaxU32));
  auto* peers = fields.array("peers");
  if (!fields.ok()) return frame_error(FrameError::kMalformed);
  welcome.peers.reserve(peers->size());
  for (InJson& entry : *peers) {
    auto peer = decode_peer(entry.get_ptr<InObject*>(), options);
    if (!peer) return frame_error(FrameError::kMalformed);
    welcome.peers.push_back(std::move(*peer));
  }
  return welcome;
}

// Our redirect extension: a relay only with code "redirect", and a real HOST:PORT.
bool is_valid_redirect(const Reject& reject) {
  return reject.relay && reject.code == to_string(RejectCode::kRedirect) &&
         reject.relay->size() <= kMaxRedirectRelayBytes && parse_relay_address(*reject.relay);
}

tl::expected<Message, FrameError> decode_reject(InObject& object) {
  FieldReader fields(object);
  Reject reject;
  reject.code = fields.string("code");
  reject.message = fields.optional_string("message").value_or(std::string());
  reject.relay = fields.optional_string("relay");
  if (!fields.ok()) return frame_error(FrameError::kMalformed);
  if (reject.relay && !is_valid_redirect(reject)) return frame_error(FrameError::kMalformed);
  return reject;
}

tl::expected<Message, FrameError> decode_peer_joined(InObject& object, DecodeOptions options) {
  FieldReader fields(object);
  auto* peer_object = fields.object("peer");
  if (!fields.ok()) return frame_error(FrameError::kMalformed);
  auto peer = decode_peer(peer_object, options);
  if (!peer) return frame_error(FrameError::kMalformed);
  return PeerJoined{std::move(*peer)};
}

tl::expected<Message, FrameError> decode_peer_left(InObject& object) {
  FieldReader fields(object);
  PeerLeft left;
  left.peer_id = static_cast<std::uint16_t>(fields.integer_in("peer_id", kMinPeerId, kMaxPeerId));
  left.reason = fields.string("reason");
  if (!fields.ok()) return frame_error(FrameError::kMalformed);
  return left;
}

// name -> count object; std::map order gives the documented sorted-by-name result.
std::optional<Stats::Counts> decode_counts(InObject* object) {
  Stats::Counts counts;
  if (object == nullptr) return counts;
  counts.reserve(object->size());
  for (auto& [name, value] : *object) {
    const auto count = as_int64(value);
    if (!count || *count < 0) return std::nullopt;
    counts.emplace_back(name, static_cast<std::uint64_t>(*count));
  }
  return counts;
}

tl::expected<Message, FrameError> decode_stats(InObject& object) {
  FieldReader fields(object);
  Stats stats;
  stats.rx_frames = static_cast<std::uint64_t>(fields.integer_in("rx_frames", 0, kInt64Max));
  stats.rx_bytes = static_cast<std::uint64_t>(fields.integer_in("rx_bytes", 0, kInt64Max));
  stats.tx_frames = static_cast<std::uint64_t>(fields.integer_in("tx_frames", 0, kInt64Max));
  stats.tx_bytes = static_cast<std::uint64_t>(fields.integer_in("tx_bytes", 0, kInt64Max));
  auto* dropped = fields.optional_object("dropped");
  auto* tx_dropped = fields.optional_object("tx_dropped");
  if (!fields.ok()) return frame_error(FrameError::kMalformed);
  auto dropped_counts = decode_counts(dropped);
  auto tx_dropped_counts = decode_counts(tx_dropped);
  if (!dropped_counts || !tx_dropped_counts) return frame_error(FrameError::kMalformed);
  stats.dropped = std::move(*dropped_counts);
  stats.tx_dropped = std::move(*tx_dropped_counts);
  return stats;
}

tl::expected<Message, FrameError> decode_disconnect(InObject& object) {
  FieldReader fields(object);
  Disconnect disconnect;
  disconnect.reason = fields.optional_string("reason").value_or(std::string());
  if (!fields.ok()) return frame_error(FrameError::kMalformed);
  return disconnect;
}

tl::expected<Message, FrameError> decode_kick(InObject& object) {
  FieldReader fields(object);
  Kick kick;
  kick.peer_id = static_cast<std::uint16_t>(fields.integer_in("peer_id", kMinPeerId, kMaxPeerId));
  kick.reason = fields.optional_string("reason");
  if (!fields.ok()) return frame_error(FrameError::kMalformed);
  return kick;
}

tl::expected<Message, FrameError> decode_revoke(InObject& object) {
  FieldReader fields(object);
  Revoke revoke;
  revoke.invite_id = fields.string("invite_id");
  revoke.exp = fields.optional_integer("exp");
  if (!fields.ok()) return frame_error(FrameError::kMalformed);
  return revoke;
}

tl::expected<Message, FrameError> decode_revoked(InObject& object) {
  FieldReader fields(object);
  Revoked revoked;
  revoked.invite_id = fields.string("invite_id");
  revoked.kicked = static_cast<std::uint64_t>(fields.integer_in("kicked", 0, kInt64Max));
  if (!fields.ok()) return frame_error(FrameError::kMalformed);
  return revoked;
}

tl::expected<Message, FrameError> decode_object(InObject& object, DecodeOptions options) {
  const auto type_it = object.find(std::string_view("type"));
  if (type_it == object.end()) return frame_error(FrameError::kNoType);
  auto* type = type_it->second.get_ptr<std::string*>();
  if (type == nullptr) return frame_error(FrameError::kNoType);

  if (*type == "hello") return decode_hello(object, options);
  if (*type == "welcome") return decode_welcome(object, options);
  if (*type == "reject") return decode_reject(object);
  if (*type == "peer_joined") return decode_peer_joined(object, options);
  if (*type == "peer_left") return decode_peer_left(object);
  if (*type == "stats") return decode_stats(object);
  if (*type == "disconnect") return decode_disconnect(object);
  if (options.room_ownership) {
    if (*type == "kick") return decode_kick(object);
    if (*type == "revoke") return decode_revoke(object);
    if (*type == "revoked") return decode_revoked(object);
  }
  return UnknownMessage{std::move(*type)};
}

OutJson peer_json(const PeerInfo& peer) {
  OutJson json;
  json["peer_id"] = peer.peer_id;
  json["role"] = to_string(peer.role);
  json["mac"] = peer.mac.to_string();
  if (peer.name) json["name"] = *peer.name;
  if (peer.invite_id) json["invite_id"] = *peer.invite_id;
  return json;
}

std::uint64_t wire_count(std::uint64_t count) noexcept {
  return std::min(count, static_cast<std::uint64_t>(kInt64Max));
}

OutJson counts_json(const Stats::Counts& counts) {
  OutJson json = OutJson::object();  // {} rather than null when empty
  for (const auto& [name, count] : counts) json[name] = wire_count(count);
  return json;
}

// One object per encodable message; nullopt for the decode-only ones.
struct EncodeVisitor {
  std::optional<OutJson> operator()(const Hello& hello) const {
    OutJson json;
    json["type"] = "hello";
    json["protocol"] = hello.protocol;
    json["role"] = hello.role;
    json["room"] = hello.room;
    json["mac"] = hello.mac;
    json["max_datagram"] = hello.max_datagram;
    if (hello.software) json["software"] = *hello.software;
    if (hello.room_key) json["room_key"] = *hello.room_key;
    if (hello.room_proof) json["room_proof"] = *hello.room_proof;
    if (hello.invite) json["invite"] = *hello.invite;
    return json;
  }
  std::optional<OutJson> operator()(const MalformedHello&) const { return std::nullopt; }
  std::optional<OutJson> operator()(const Welcome& welcome) const {
    OutJson json;
    json["type"] = "welcome";
    json["protocol"] = welcome.protocol;
    json["peer_id"] = welcome.peer_id;
    json["room"] = welcome.room;
    json["mtu"] = welcome.mtu;
    json["max_datagram"] = welcome.max_datagram;
    OutJson peers = OutJson::array();
    for (const PeerInfo& peer : welcome.peers) peers.push_back(peer_json(peer));
    json["peers"] = std::move(peers);
    return json;
  }
  std::optional<OutJson> operator()(const Reject& reject) const {
    OutJson json;
    json["type"] = "reject";
    json["code"] = reject.code;
    json["message"] = reject.message;
    if (reject.relay) {
      if (!is_valid_redirect(reject)) return std::nullopt;
      json["relay"] = *reject.relay;
    }
    return json;
  }
  std::optional<OutJson> operator()(const PeerJoined& joined) const {
    OutJson json;
    json["type"] = "peer_joined";
    json["peer"] = peer_json(joined.peer);
    return json;
  }
  std::optional<OutJson> operator()(const PeerLeft& left) const {
    OutJson json;
    json["type"] = "peer_left";
    json["peer_id"] = left.peer_id;
    json["reason"] = left.reason;
    return json;
  }
  std::optional<OutJson> operator()(const Stats& stats) const {
    OutJson json;
    json["type"] = "stats";
    json["rx_frames"] = wire_count(stats.rx_frames);
    json["rx_bytes"] = wire_count(stats.rx_bytes);
    json["tx_frames"] = wire_count(stats.tx_frames);
    json["tx_bytes"] = wire_count(stats.tx_bytes);
    json["dropped"] = counts_json(stats.dropped);
    json["tx_dropped"] = counts_json(stats.tx_dropped);
    return json;
  }
  std::optional<OutJson> operator()(const Disconnect& disconnect) const {
    OutJson json;
    json["type"] = "disconnect";
    json["reason"] = disconnect.reason;
    return json;
  }
  std::optional<OutJson> operator()(const UnknownMessage&) const { return std::nullopt; }
  std::optional<OutJson> operator()(const Kick& kick) const {
    OutJson json;
    json["type"] = "kick";
    json["peer_id"] = kick.peer_id;
    if (kick.reason) json["reason"] = *kick.reason;
    return json;
  }
  std::optional<OutJson> operator()(const Revoke& revoke) const {
    OutJson json;
    json["type"] = "revoke";
    json["invite_id"] = revoke.invite_id;
    if (revoke.exp) json["exp"] = *revoke.exp;
    return json;
  }
  std::optional<OutJson> operator()(const Revoked& revoked) const {
    OutJson json;
    json["type"] = "revoked";
    json["invite_id"] = revoked.invite_id;
    json["kicked"] = wire_count(revoked.kicked);
    return json;
  }
};

}  // namespace

std::string_view to_string(FrameError error) noexcept {
  switch (error) {
    case FrameError::kEmpty:
      return "empty_frame";
    case FrameError::kTooLong:
      return "frame_too_long";
    case FrameError::kNotJson:
      return "not_json";
    case FrameError::kNotObject:
      return "not_object";
    case FrameError::kNoType:
      return "no_type";
    case FrameError::kMalformed:
      return "malformed";
  }
  return "unknown";
}

Error to_error(FrameError error) {
  return Error{make_error_code(Errc::kProtocolViolation),
               fmt::format("ctrl frame: {}", to_string(error))};
}

tl::expected<Message, FrameError> decode_message(std::string_view json) noexcept {
  return decode_message(json, DecodeOptions{});
}

tl::expected<Message, FrameError> decode_message(std::string_view json,
                                                 DecodeOptions options) noexcept {
  if (json.empty()) return frame_error(FrameError::kEmpty);
  if (json.size() > kMaxFrameBytes) return frame_error(FrameError::kTooLong);
  // nlohmann skips a UTF-8 byte-order mark; RFC 8259 forbids sending one and Python's and
  // Go's decoders refuse it, so refuse it too rather than accept what peers reject.
  if (json.starts_with("\xEF\xBB\xBF")) return frame_error(FrameError::kNotJson);
  try {
    // No exceptions for bad input; comments are not JSON. Strings come back valid UTF-8
    // (nlohmann rejects bad sequences and lone surrogates), so re-encoding never replaces.
    InJson document = InJson::parse(json.data(), json.data() + json.size(), nullptr,
                                    /*allow_exceptions=*/false, /*ignore_comments=*/false);
    if (document.is_discarded()) return frame_error(FrameError::kNotJson);
    auto* object = document.get_ptr<InObject*>();
    if (object == nullptr) return frame_error(FrameError::kNotObject);
    return decode_object(*object, options);
  } catch (...) {
    // Only std::bad_alloc can get here (all access above is type-checked); a frame that
    // cannot be held is treated as one that cannot be parsed rather than ending the process.
    return frame_error(FrameError::kNotJson);
  }
}

std::string encode_json(const Message& message) {
  if (message.valueless_by_exception()) return {};
  const std::optional<OutJson> json = std::visit(EncodeVisitor{}, message);
  if (!json) return {};
  // replace: a caller's string that is not UTF-8 becomes U+FFFD instead of a throw.
  return json->dump(-1, ' ', /*ensure_ascii=*/false, OutJson::error_handler_t::replace);
}

Status append_frame(const Message& message, std::string& out) {
  const std::string json = encode_json(message);
  if (json.empty()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("ctrl append_frame: {} is decode-only", message_type(message)));
  }
  return append_frame(std::string_view(json), out);
}

Status append_frame(std::string_view json, std::string& out) {
  if (json.empty()) return fail(Errc::kInvalidArgument, "ctrl append_frame: empty frame body");
  if (json.size() > kMaxFrameBytes) {
    return fail(Errc::kTooLarge, fmt::format("ctrl append_frame: {} bytes of JSON, limit {}",
                                             json.size(), kMaxFrameBytes));
  }
  std::array<std::uint8_t, kLengthPrefixBytes> prefix{};
  store_be32(prefix, static_cast<std::uint32_t>(json.size()));
  out.reserve(out.size() + prefix.size() + json.size());
  out.append(reinterpret_cast<const char*>(prefix.data()), prefix.size());
  out.append(json);
  return ok();
}

}  // namespace lanparty::ctrl
