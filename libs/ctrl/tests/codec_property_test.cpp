// SPDX-License-Identifier: MIT
// RapidCheck properties for the codec: encode -> decode is the identity for every message
// type, and the frame decoder's result does not depend on how the bytes are split.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ctrl_test_support.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/hello.hpp"

namespace lanparty::ctrl {
namespace {

namespace gen = rc::gen;

constexpr int kMaxTextChars = 24;
constexpr int kMaxEntries = 8;

std::string to_utf8(const std::vector<std::uint32_t>& code_points) {
  std::string out;
  for (const std::uint32_t cp : code_points) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// Any Unicode scalar value (surrogates excluded), every encoded length, NUL and quotes too.
rc::Gen<std::string> utf8_text() {
  const auto code_point = gen::oneOf(
      gen::inRange<std::uint32_t>(0, 0x80), gen::inRange<std::uint32_t>(0x80, 0x800),
      gen::inRange<std::uint32_t>(0x800, 0xD800), gen::inRange<std::uint32_t>(0xE000, 0x10000),
      gen::inRange<std::uint32_t>(0x10000, 0x110000), gen::element<std::uint32_t>('"', '\\', 0));
  return gen::map(
      gen::resize(kMaxTextChars, gen::container<std::vector<std::uint32_t>>(code_point)), to_utf8);
}

rc::Gen<std::int64_t> any_int64() {
  return gen::oneOf(
      gen::arbitrary<std::int64_t>(),
      gen::element(std::numeric_limits<std::int64_t>::min(),
                   std::numeric_limits<std::int64_t>::max(), std::int64_t{0}, std::int64_t{-1}));
}

// Counts as the wire carries them: 0..INT64_MAX.
rc::Gen<std::uint64_t> wire_count() {
  return gen::oneOf(
      gen::map(gen::arbitrary<std::uint64_t>(), [](std::uint64_t v) { return v >> 1; }),
      gen::element(std::uint64_t{0}, std::uint64_t{std::numeric_limits<std::int64_t>::max()}));
}

rc::Gen<std::uint16_t> peer_id() {
  return gen::map(gen::inRange<std::uint32_t>(1, 65536),
                  [](std::uint32_t v) { return static_cast<std::uint16_t>(v); });
}

rc::Gen<std::uint32_t> any_uint32() {
  return gen::oneOf(gen::arbitrary<std::uint32_t>(),
                    gen::element(std::uint32_t{0}, std::numeric_limits<std::uint32_t>::max()));
}

rc::Gen<std::optional<std::string>> optional_text() {
  return gen::oneOf(
      gen::just(std::optional<std::string>()),
      gen::map(utf8_text(), [](std::string t) { return std::optional(std::move(t)); }));
}

rc::Gen<PeerInfo> peer_info() {
  return gen::apply(
      [](std::uint16_t id, Role role, std::array<std::uint8_t, 6> bytes,
         std::optional<std::string> name, std::optional<std::string> invite_id) {
        return PeerInfo{.peer_id = id,
                        .role = role,
                        .mac = proto::MacAddress(bytes),
                        .name = std::move(name),
                        .invite_id = std::move(invite_id)};
      },
      peer_id(), gen::element(Role::kClient, Role::kGateway),
      gen::arbitrary<std::array<std::uint8_t, 6>>(), optional_text(), optional_text());
}

// Decoding sorts counts by name and keeps one entry per name, so generate them that way.
rc::Gen<Stats::Counts> counts() {
  return gen::map(gen::resize(kMaxEntries, gen::container<std::map<std::string, std::uint64_t>>(
                                               utf8_text(), wire_count())),
                  [](const std::map<std::string, std::uint64_t>& m) {
                    return Stats::Counts(m.begin(), m.end());
                  });
}

rc::Gen<Hello> hello() {
  return gen::apply(
      [](std::int64_t protocol, std::string role, std::string room, std::string mac,
         std::int64_t max_datagram, std::optional<std::string> software,
         std::optional<std::string> room_key, std::optional<std::string> room_proof,
         std::optional<std::string> invite) {
        return Hello{.protocol = protocol,
                     .role = std::move(role),
                     .room = std::move(room),
                     .mac = std::move(mac),
                     .max_datagram = max_datagram,
                     .software = std::move(software),
                     .room_key = std::move(room_key),
                     .room_proof = std::move(room_proof),
                     .invite = std::move(invite)};
      },
      any_int64(), utf8_text(), utf8_text(), utf8_text(), any_int64(), optional_text(),
      optional_text(), optional_text(), optional_text());
}

rc::Gen<Welcome> welcome() {
  return gen::apply(
      [](std::int64_t protocol, std::uint16_t id, std::string room, std::uint32_t mtu,
         std::uint32_t max_datagram, std::vector<PeerInfo> peers) {
        return Welcome{.protocol = protocol,
                       .peer_id = id,
                       .room = std::move(room),
                       .mtu = mtu,
                       .max_datagram = max_datagram,
                       .peers = std::move(peers)};
      },
      any_int64(), peer_id(), utf8_text(), any_uint32(), any_uint32(),
      gen::resize(kMaxEntries, gen::container<std::vector<PeerInfo>>(peer_info())));
}

rc::Gen<Reject> reject() {
  return gen::apply(
      [](std::string code, std::string message) {
        return Reject{.code = std::move(code), .message = std::move(message)};
      },
      gen::oneOf(utf8_text(), gen::map(gen::element(RejectCode::kRoomFull, RejectCode::kInvalidMac),
                                       [](RejectCode c) { return std::string(to_string(c)); })),
      utf8_text());
}

rc::Gen<PeerJoined> peer_joined() {
  return gen::map(peer_info(), [](PeerInfo p) { return PeerJoined{p}; });
}

rc::Gen<PeerLeft> peer_left() {
  return gen::apply(
      [](std::uint16_t id, std::string reason) {
        return PeerLeft{.peer_id = id, .reason = std::move(reason)};
      },
      peer_id(), utf8_text());
}

rc::Gen<Stats> stats() {
  return gen::apply(
      [](std::uint64_t rxf, std::uint64_t rxb, std::uint64_t txf, std::uint64_t txb,
         Stats::Counts dropped, Stats::Counts tx_dropped) {
        return Stats{.rx_frames = rxf,
                     .rx_bytes = rxb,
                     .tx_frames = txf,
                     .tx_bytes = txb,
                     .dropped = std::move(dropped),
                     .tx_dropped = std::move(tx_dropped)};
      },
      wire_count(), wire_count(), wire_count(), wire_count(), counts(), counts());
}

rc::Gen<Disconnect> disconnect() {
  return gen::map(utf8_text(), [](std::string r) { return Disconnect{std::move(r)}; });
}

rc::Gen<Kick> kick() {
  return gen::apply(
      [](std::uint16_t id, std::optional<std::string> reason) {
        return Kick{.peer_id = id, .reason = std::move(reason)};
      },
      peer_id(), optional_text());
}

rc::Gen<Revoke> revoke() {
  return gen::apply(
      [](std::string id, bool has_exp, std::int64_t exp) {
        return Revoke{.invite_id = std::move(id),
                      .exp = has_exp ? std::optional(exp) : std::nullopt};
      },
      utf8_text(), gen::arbitrary<bool>(), any_int64());
}

rc::Gen<Revoked> revoked() {
  return gen::apply(
      [](std::string id, std::uint64_t kicked) {
        return Revoked{.invite_id = std::move(id), .kicked = kicked};
      },
      utf8_text(), wire_count());
}

rc::Gen<Message> any_message() {
  const auto as_message = [](auto g) {
    return gen::map(std::move(g), [](auto m) { return Message(std::move(m)); });
  };
  return gen::oneOf(as_message(hello()), as_message(welcome()), as_message(reject()),
                    as_message(peer_joined()), as_message(peer_left()), as_message(stats()),
                    as_message(disconnect()), as_message(kick()), as_message(revoke()),
                    as_message(revoked()));
}

template <class T>
void check_round_trip(const T& original) {
  const std::string json = encode_json(original);
  RC_ASSERT(!json.empty());
  RC_ASSERT(json.size() <= kMaxFrameBytes);  // generator bounds keep every message framable
  const auto decoded = decode_message(json);
  RC_ASSERT(decoded.has_value());
  const T* back = std::get_if<T>(&*decoded);
  RC_ASSERT(back != nullptr);
  RC_ASSERT(*back == original);
}

RC_GTEST_PROP(CodecRoundTrip, Hello, ()) { check_round_trip(*hello()); }
RC_GTEST_PROP(CodecRoundTrip, Welcome, ()) { check_round_trip(*welcome()); }
RC_GTEST_PROP(CodecRoundTrip, Reject, ()) { check_round_trip(*reject()); }
RC_GTEST_PROP(CodecRoundTrip, PeerJoined, ()) { check_round_trip(*peer_joined()); }
RC_GTEST_PROP(CodecRoundTrip, PeerLeft, ()) { check_round_trip(*peer_left()); }
RC_GTEST_PROP(CodecRoundTrip, Stats, ()) { check_round_trip(*stats()); }
RC_GTEST_PROP(CodecRoundTrip, Disconnect, ()) { check_round_trip(*disconnect()); }
RC_GTEST_PROP(CodecRoundTrip, Kick, ()) { check_round_trip(*kick()); }
RC_GTEST_PROP(CodecRoundTrip, Revoke, ()) { check_round_trip(*revoke()); }
RC_GTEST_PROP(CodecRoundTrip, Revoked, ()) { check_round_trip(*revoked()); }

// An `open` relay's decoder sees sections 1-6 only: whatever section 7 adds comes back as
// absent fields or UnknownMessage, and everything else exactly as the full decoder sees it.
RC_GTEST_PROP(CodecOpenRelay, SeesSections1To6Only, ()) {
  const Message original = *any_message();
  const std::string json = encode_json(original);
  const auto full = decode_message(json);
  const auto open = decode_message(json, DecodeOptions{.room_ownership = false});
  RC_ASSERT(full.has_value());
  RC_ASSERT(open.has_value());
  Message expected = *full;
  if (auto* h = std::get_if<Hello>(&expected)) {
    h->room_key.reset();
    h->room_proof.reset();
    h->invite.reset();
  } else if (auto* w = std::get_if<Welcome>(&expected)) {
    for (PeerInfo& p : w->peers) {
      p.name.reset();
      p.invite_id.reset();
    }
  } else if (auto* j = std::get_if<PeerJoined>(&expected)) {
    j->peer.name.reset();
    j->peer.invite_id.reset();
  } else if (std::holds_alternative<Kick>(expected) || std::holds_alternative<Revoke>(expected) ||
             std::holds_alternative<Revoked>(expected)) {
    expected = UnknownMessage{std::string(message_type(expected))};
  }
  RC_ASSERT(*open == expected);
}

// Cuts `bytes` at the given piece sizes (cycled; each at least 1 byte).
std::vector<std::vector<std::uint8_t>> split(const std::vector<std::uint8_t>& bytes,
                                             const std::vector<std::size_t>& sizes) {
  std::vector<std::vector<std::uint8_t>> pieces;
  std::size_t at = 0;
  for (std::size_t i = 0; at < bytes.size(); ++i) {
    const std::size_t want = sizes.empty() ? bytes.size() : 1 + sizes[i % sizes.size()];
    const std::size_t n = std::min(want, bytes.size() - at);
    pieces.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                        bytes.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
  return pieces;
}

struct Outcome {
  std::vector<Message> messages;
  std::optional<FrameError> error;
  std::size_t buffered = 0;
  bool partial = false;

  bool operator==(const Outcome&) const = default;
};

void drain_into(FrameDecoder& decoder, Outcome& outcome) {
  while (!outcome.error) {
    auto next = decoder.next();
    if (!next) {
      outcome.error = next.error();
    } else if (!*next) {
      return;
    } else {
      outcome.messages.push_back(std::move(**next));
    }
  }
}

Outcome decode_pieces(const std::vector<std::vector<std::uint8_t>>& pieces) {
  FrameDecoder decoder;
  Outcome outcome;
  for (const auto& piece : pieces) {
    decoder.feed(piece);
    drain_into(decoder, outcome);
    RC_ASSERT(decoder.buffered_bytes() < kLengthPrefixBytes + kMaxFrameBytes);
  }
  outcome.buffered = decoder.buffered_bytes();
  outcome.partial = decoder.has_partial_frame();
  return outcome;
}

RC_GTEST_PROP(FrameDecoderProperty, FramedMessagesSurviveAnySplit, ()) {
  const auto messages =
      *gen::resize(kMaxEntries, gen::container<std::vector<Message>>(any_message()));
  const auto sizes = *gen::container<std::vector<std::size_t>>(gen::inRange<std::size_t>(0, 64));
  std::string stream;
  for (const Message& m : messages) RC_ASSERT(append_frame(m, stream).has_value());
  const std::vector<std::uint8_t> bytes(stream.begin(), stream.end());

  const Outcome outcome = decode_pieces(split(bytes, sizes));
  RC_ASSERT(!outcome.error);
  RC_ASSERT(outcome.messages == messages);
  RC_ASSERT(outcome.buffered == 0u);
}

// A stream mixing good frames, frames with junk bodies, bad length headers and loose bytes.
rc::Gen<std::vector<std::uint8_t>> hostile_stream() {
  const auto chunk = gen::oneOf(
      gen::map(any_message(),
               [](const Message& m) {
                 std::string out;
                 (void)append_frame(m, out);  // the rare oversized message contributes nothing
                 return std::vector<std::uint8_t>(out.begin(), out.end());
               }),
      gen::map(gen::arbitrary<std::string>(),
               [](const std::string& body) {
                 return test::raw_frame(static_cast<std::uint32_t>(body.size()), body);
               }),
      gen::map(gen::element<std::uint32_t>(0, kMaxFrameBytes + 1, 0xFFFFFFFF),
               [](std::uint32_t length) { return test::raw_frame(length, ""); }),
      gen::arbitrary<std::vector<std::uint8_t>>());
  return gen::map(
      gen::resize(kMaxEntries, gen::container<std::vector<std::vector<std::uint8_t>>>(chunk)),
      [](const std::vector<std::vector<std::uint8_t>>& chunks) {
        std::vector<std::uint8_t> all;
        for (const auto& c : chunks) all.insert(all.end(), c.begin(), c.end());
        return all;
      });
}

RC_GTEST_PROP(FrameDecoderProperty, AnyBytesInAnySplitMatchAllAtOnce, ()) {
  const auto bytes = *hostile_stream();
  const auto sizes = *gen::container<std::vector<std::size_t>>(gen::inRange<std::size_t>(0, 40));
  const Outcome whole = decode_pieces({bytes});
  const Outcome pieces = decode_pieces(split(bytes, sizes));
  RC_ASSERT(pieces == whole);
}

RC_GTEST_PROP(ValidateHelloProperty, KeptSoftwareIsABoundedPrefixOnACharacterBoundary, ()) {
  Hello h = *hello();
  h.protocol = 1;
  h.role = "client";
  h.room = "ROOM1";
  h.mac = "02:00:00:00:00:01";
  h.max_datagram = 1400;
  h.software = *gen::map(gen::resize(80, gen::container<std::vector<std::string>>(utf8_text())),
                         [](const std::vector<std::string>& parts) {
                           std::string s;
                           for (const auto& p : parts) s += p;
                           return s;
                         });
  const auto valid = validate_hello(h);
  RC_ASSERT(valid.has_value());
  const std::string& kept = valid->software;
  RC_ASSERT(kept.size() <= kMaxSoftwareBytes);
  RC_ASSERT(h.software->compare(0, kept.size(), kept) == 0);
  if (h.software->size() > kMaxSoftwareBytes) RC_ASSERT(kept.size() + 3 >= kMaxSoftwareBytes);
  // The next byte, if any, starts a character: nothing was split.
  if (kept.size() < h.software->size()) {
    RC_ASSERT((static_cast<unsigned char>((*h.software)[kept.size()]) & 0xC0) != 0x80);
  }
}

}  // namespace
}  // namespace lanparty::ctrl
