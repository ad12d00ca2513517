// SPDX-License-Identifier: MIT
// The relay integration harness: loop, relay, server and protocol-speaking test peers.
#include "relay_harness.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fmt/format.h>

#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/directory/state_dir.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "lanparty/quic/certificate.hpp"

namespace lanparty::relay::testing {

::testing::AssertionResult succeeded(const Status& status) {
  if (status) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.error().describe();
}

// --- HelloJson ---------------------------------------------------------------------------

std::string HelloJson::to_json() const {
  std::string out = R"({"type":"hello")";
  const auto field = [&out](std::string_view key, const std::optional<std::string>& value) {
    if (value) out += fmt::format(R"(,"{}":{})", key, *value);
  };
  field("protocol", protocol);
  field("role", role);
  field("room", room);
  field("mac", mac);
  field("max_datagram", max_datagram);
  field("software", software);
  out += extra;
  out += '}';
  return out;
}

HelloJson hello_json(std::string_view role, std::string_view room, std::string_view mac,
                     int max_datagram) {
  HelloJson hello;
  hello.role = fmt::format(R"("{}")", role);
  hello.room = fmt::format(R"("{}")", room);
  hello.mac = fmt::format(R"("{}")", mac);
  hello.max_datagram = std::to_string(max_datagram);
  return hello;
}

// --- TempDir -----------------------------------------------------------------------------

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "lanparty-relay-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

// --- TestPeer ----------------------------------------------------------------------------

std::unique_ptr<TestPeer> TestPeer::connect(io::EventLoop& loop, std::uint16_t port,
                                            const std::filesystem::path& der, PeerOptions options) {
  std::unique_ptr<TestPeer> peer(new TestPeer(loop));
  quic::ClientConfig config;
  config.host = options.relay_host;
  config.port = port;
  config.sim_host = options.sim_host;
  config.server_name = "localhost";
  config.trust.pinned_der = der;
  config.keepalive = options.keepalive;
  config.max_datagram_frame_size = options.max_datagram_frame_size;
  config.streams = options.streams;
  auto client = quic::Client::connect(loop, config, *peer, obs::Logger{});
  if (!client) {
    ADD_FAILURE() << "Client::connect: " << client.error().describe();
    return nullptr;
  }
  peer->client_ = std::move(*client);
  if (!peer->run_until([&] { return peer->handshake_completed_ || peer->closed(); }) ||
      !peer->handshake_completed_) {
    ADD_FAILURE() << "handshake with the relay did not complete"
                  << (peer->closed() ? ": " + peer->close_->reason : std::string());
    return nullptr;
  }
  return peer;
}

TestPeer::~TestPeer() = default;

void TestPeer::on_handshake_completed(quic::Connection& /*connection*/) {
  handshake_completed_ = true;
}

void TestPeer::on_stream_data(quic::Connection& /*connection*/, std::int64_t stream_id,
                              std::span<const std::uint8_t> data, bool fin) {
  if (stream_id != 0) {
    ADD_FAILURE() << "the relay used stream " << stream_id << "; protocol 1 has only stream 0";
    return;
  }
  stream_bytes_.insert(stream_bytes_.end(), data.begin(), data.end());
  if (fin) fin_ = true;
  decoder_.feed(data);
  while (!decode_error_) {
    auto next_message = decoder_.next();
    if (!next_message) {
      decode_error_ = next_message.error();
      break;
    }
    if (!next_message->has_value()) break;
    messages_.push_back(std::move(**next_message));
    taken_.push_back(false);
  }
}

void TestPeer::on_datagram(quic::Connection& /*connection*/,
                           std::span<const std::uint8_t> payload) {
  auto parsed = proto::parse_from_relay(payload);
  if (!parsed) {
    ADD_FAILURE() << "the relay sent a datagram peers must drop: "
                  << proto::to_string(parsed.error());
    return;
  }
  datagrams_.push_back(ReceivedDatagram{.kind = parsed->header.kind,
                                        .peer_id = parsed->header.peer_id,
                                        .body = {parsed->body.begin(), parsed->body.end()}});
}

void TestPeer::on_closed(quic::Connection& /*connection*/, const quic::CloseInfo& info) {
  close_ = info;
}

Status TestPeer::ensure_stream() {
  if (stream_ >= 0) return ok();
  auto opened = connection().open_bidi_stream();
  if (!opened) return tl::unexpected(opened.error());
  stream_ = *opened;
  return ok();
}

Status TestPeer::send_bytes(std::span<const std::uint8_t> bytes) {
  if (auto st = ensure_stream(); !st) return st;
  return connection().send_stream(stream_, bytes);
}

Status TestPeer::send_bytes(std::string_view bytes) {
  return send_bytes(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

Status TestPeer::send_json(std::string_view json) {
  std::string framed;
  if (auto st = ctrl::append_frame(json, framed); !st) return st;
  return send_bytes(std::string_view(framed));
}

Status TestPeer::send_message(const ctrl::Message& message) {
  std::string framed;
  if (auto st = ctrl::append_frame(message, framed); !st) return st;
  return send_bytes(std::string_view(framed));
}

Status TestPeer::send_datagram(std::uint8_t kind, std::uint16_t peer_id,
                               std::span<const std::uint8_t> body) {
  std::vector<std::uint8_t> payload{proto::kOverlayVersion, kind,
                                    static_cast<std::uint8_t>(peer_id >> 8),
                                    static_cast<std::uint8_t>(peer_id & 0xff)};
  payload.insert(payload.end(), body.begin(), body.end());
  return send_raw_datagram(payload);
}

Status TestPeer::send_frame(std::span<const std::uint8_t> ethernet) {
  return send_datagram(static_cast<std::uint8_t>(proto::DatagramKind::kEthernet), peer_id(),
                       ethernet);
}

Status TestPeer::send_raw_datagram(std::span<const std::uint8_t> payload) {
  return connection().send_datagram(payload);
}

bool TestPeer::join(const HelloJson& hello) {
  if (auto st = send_hello(hello); !st) {
    ADD_FAILURE() << "send hello: " << st.error().describe();
    return false;
  }
  auto welcome = next<ctrl::Welcome>();
  if (!welcome) {
    std::optional<ctrl::Reject> reject;
    for (const auto& m : messages_) {
      if (const auto* r = std::get_if<ctrl::Reject>(&m)) reject = *r;
    }
    ADD_FAILURE() << "no welcome for " << hello.to_json()
                  << (reject ? "; reject " + reject->code + ": " + reject->message : "");
    return false;
  }
  welcome_ = std::move(*welcome);
  return true;
}

bool TestPeer::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  return loop_.run_until(done, timeout).has_value();
}

const quic::CloseInfo* TestPeer::wait_closed(std::chrono::milliseconds timeout) {
  (void)run_until([&] { return closed(); }, timeout);
  return close_ ? &*close_ : nullptr;
}

std::optional<ctrl::Stats> TestPeer::wait_stats(
    const std::function<bool(const ctrl::Stats&)>& matches, std::chrono::milliseconds timeout) {
  std::optional<ctrl::Stats> last;
  (void)run_until(
      [&] {
        // Takes stats in arrival order without nesting another loop run.
        for (std::size_t i = find_untaken<ctrl::Stats>(); i < messages_.size();
             i = find_untaken<ctrl::Stats>()) {
          taken_[i] = true;
          last = std::get<ctrl::Stats>(messages_[i]);
          if (matches(*last)) return true;
        }
        return closed();
      },
      timeout);
  return last;
}

bool TestPeer::probe_fence(std::chrono::milliseconds timeout) {
  const std::uint32_t n = next_probe_++;
  const std::vector<std::uint8_t> body{'f',
                                       'e',
                                       'n',
                                       'c',
                                       'e',
                                       static_cast<std::uint8_t>(n >> 24),
                                       static_cast<std::uint8_t>(n >> 16),
                                       static_cast<std::uint8_t>(n >> 8),
                                       static_cast<std::uint8_t>(n)};
  if (auto st =
          send_datagram(static_cast<std::uint8_t>(proto::DatagramKind::kProbe), peer_id(), body);
      !st) {
    ADD_FAILURE() << "probe: " << st.error().describe();
    return false;
  }
  return run_until(
      [&] {
        for (const auto& d : datagrams_) {
          if (d.kind == static_cast<std::uint8_t>(proto::DatagramKind::kProbeReply) &&
              d.body == body) {
            return true;
          }
        }
        return false;
      },
      timeout);
}

std::string TestPeer::received_text() const {
  return std::string(stream_bytes_.begin(), stream_bytes_.end());
}

std::vector<ReceivedDatagram> TestPeer::frames() const {
  std::vector<ReceivedDatagram> out;
  for (const auto& d : datagrams_) {
    if (d.kind == static_cast<std::uint8_t>(proto::DatagramKind::kEthernet)) out.push_back(d);
  }
  return out;
}

// --- expectations --------------------------------------------------------------------

::testing::AssertionResult rejected_with(TestPeer& peer, std::string_view code) {
  const quic::CloseInfo* close = peer.wait_closed();
  if (close == nullptr) return ::testing::AssertionFailure() << "the relay did not close";
  if (peer.messages().size() != 1 || !std::holds_alternative<ctrl::Reject>(peer.messages()[0])) {
    return ::testing::AssertionFailure()
           << "expected exactly one reject before the close, got " << peer.messages().size()
           << " messages: " << peer.received_text();
  }
  const auto& reject = std::get<ctrl::Reject>(peer.messages()[0]);
  if (reject.code != code) {
    return ::testing::AssertionFailure()
           << "reject code " << reject.code << " (" << reject.message << "), expected " << code;
  }
  if (reject.message.empty()) return ::testing::AssertionFailure() << "reject without message";
  if (!peer.stream_finished()) {
    return ::testing::AssertionFailure() << "the relay did not end its side of stream 0";
  }
  if (close->kind != quic::CloseInfo::Kind::kPeerApplication ||
      close->code != ctrl::app_error::kRejected || close->reason != code) {
    return ::testing::AssertionFailure()
           << "close " << quic::to_string(close->kind) << " code " << close->code << " reason '"
           << close->reason << "', expected application error 2 '" << code << "'";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult closed_with(TestPeer& peer, std::uint64_t code,
                                       std::optional<std::string_view> reason) {
  const quic::CloseInfo* close = peer.wait_closed();
  if (close == nullptr) return ::testing::AssertionFailure() << "the relay did not close";
  if (close->kind != quic::CloseInfo::Kind::kPeerApplication || close->code != code ||
      (reason && close->reason != *reason)) {
    return ::testing::AssertionFailure()
           << "close " << quic::to_string(close->kind) << " code " << close->code << " ('"
           << close->reason << "'), expected application error " << code
           << (reason ? fmt::format(" ('{}')", *reason) : std::string());
  }
  return ::testing::AssertionSuccess();
}

// --- section 7 credentials ---------------------------------------------------------------

quic::RoomKey new_room_key() {
  auto key = quic::RoomKey::generate();
  if (!key) {
    ADD_FAILURE() << "RoomKey::generate: " << key.error().describe();
    const quic::Ed25519Seed zero{};
    return *quic::RoomKey::from_seed(zero);
  }
  return *key;
}

std::string public_key_text(const quic::RoomKey& key) {
  return ctrl::base64url_encode(key.public_key());
}

std::string claim_fields(TestPeer& peer, const quic::RoomKey& key, std::string_view room) {
  auto ekm = peer.connection().export_keying_material(ctrl::kRoomClaimExporterLabel);
  if (!ekm) {
    ADD_FAILURE() << "export_keying_material: " << ekm.error().describe();
    return {};
  }
  auto proof = key.sign(ctrl::claim_signing_input(room, *ekm));
  if (!proof) {
    ADD_FAILURE() << "sign: " << proof.error().describe();
    return {};
  }
  return fmt::format(R"(,"room_key":"{}","room_proof":"{}")", public_key_text(key),
                     ctrl::base64url_encode(*proof));
}

HelloJson claim_hello(TestPeer& peer, const quic::RoomKey& key, std::string_view room,
                      std::string_view mac, int max_datagram) {
  HelloJson hello = hello_json("gateway", room, mac, max_datagram);
  hello.extra = claim_fields(peer, key, room);
  return hello;
}

std::string invite_token(const quic::RoomKey& key, const ctrl::InvitePayload& payload) {
  auto token = ctrl::encode_invite_token(
      payload, [&key](std::span<const std::uint8_t> message) -> Result<ctrl::Signature> {
        return key.sign(message);
      });
  if (!token) {
    ADD_FAILURE() << "encode_invite_token: " << token.error().describe();
    return {};
  }
  return *token;
}

ctrl::InvitePayload invite_payload(std::string_view room, std::string_view id,
                                   std::optional<std::string> name) {
  return ctrl::InvitePayload{
      .room = std::string(room), .id = std::string(id), .exp = unix_now() + 3600, .name = name};
}

HelloJson invited_hello(std::string_view room, std::string_view mac, std::string_view token,
                        int max_datagram) {
  HelloJson hello = hello_json("client", room, mac, max_datagram);
  hello.extra = fmt::format(R"(,"invite":"{}")", token);
  return hello;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- RelayHarness ------------------------------------------------------------------------

RelayConfig test_relay_config() {
  RelayConfig config;
  config.stats_interval = std::chrono::milliseconds(200);
  config.rooms = RoomMode::kOpen;
  return config;
}

RelayConfig claimed_relay_config(RoomMode mode) {
  RelayConfig config = test_relay_config();
  config.rooms = mode;
  return config;
}

namespace {
constexpr const char* kSimRelayAddress = "10.213.97.1";
}  // namespace

std::unique_ptr<RelayHarness> RelayHarness::start(HarnessOptions options) {
  std::unique_ptr<RelayHarness> h(new RelayHarness());
  auto certificate = quic::generate_self_signed("localhost");
  if (!certificate) {
    ADD_FAILURE() << "generate_self_signed: " << certificate.error().describe();
    return nullptr;
  }
  h->der_path_ = h->dir_.path() / "relay.der";
  if (auto st = quic::write_der(*certificate, h->der_path_); !st) {
    ADD_FAILURE() << "write_der: " << st.error().describe();
    return nullptr;
  }
  auto loop = options.sim != nullptr ? io::EventLoop::create_simulated(*options.sim)
                                     : io::EventLoop::create();
  if (!loop) {
    ADD_FAILURE() << "EventLoop::create: " << loop.error().describe();
    return nullptr;
  }
  h->loop_ = std::move(*loop);
  if (options.records_override != nullptr) {
    h->records_in_use_ = options.records_override;
  } else if (options.relay.rooms != RoomMode::kOpen) {
    const std::filesystem::path state =
        options.state_dir.empty() ? h->dir_.path() / "state" : options.state_dir;
    if (auto st = directory::ensure_state_dir(state); !st) {
      ADD_FAILURE() << "ensure_state_dir: " << st.error().describe();
      return nullptr;
    }
    auto records = directory::SqliteRoomDirectory::open(directory::SqliteConfig{
        .path = state / directory::kRoomsFileName, .limits = options.room_records});
    if (!records) {
      ADD_FAILURE() << "SqliteRoomDirectory::open: " << records.error().describe();
      return nullptr;
    }
    h->records_ = std::move(*records);
    h->records_in_use_ = h->records_.get();
  }
  if (options.executor_factory) {
    h->executor_ = options.executor_factory(*h->loop_);
    if (!h->executor_) return nullptr;
    h->records_in_use_ = nullptr;
  }
  h->relay_ =
      std::make_unique<Relay>(*h->loop_, options.relay, obs::Logger(&h->log_, obs::Level::kDebug),
                              h->records_in_use_, h->executor_.get());
  quic::ServerConfig config;
  config.listen = "127.0.0.1:0";
  if (options.sim != nullptr) {
    auto host = options.sim->add_host(kSimRelayAddress);
    if (!host) {
      ADD_FAILURE() << "SimNetwork::add_host: " << host.error().describe();
      return nullptr;
    }
    h->sim_ = options.sim;
    config.listen = std::string(kSimRelayAddress) + ":443";
    config.sim_host = *host;
  }
  config.certificate = std::move(*certificate);
  config.idle_timeout = options.idle_timeout;
  config.streams = options.server_streams;
  config.admission = options.admission;
  auto server = quic::Server::create(*h->loop_, std::move(config), *h->relay_, obs::Logger{});
  if (!server) {
    ADD_FAILURE() << "Server::create: " << server.error().describe();
    return nullptr;
  }
  h->server_ = std::move(*server);
  return h;
}

RelayHarness::~RelayHarness() = default;

std::uint16_t RelayHarness::port() const { return server_->local_address().port(); }

std::unique_ptr<TestPeer> RelayHarness::connect(PeerOptions options) {
  if (sim_ != nullptr && options.sim_host == nullptr) {
    auto host = sim_->add_host("10.213.97." + std::to_string(10 + sim_peers_++));
    if (!host) {
      ADD_FAILURE() << "SimNetwork::add_host: " << host.error().describe();
      return nullptr;
    }
    options.sim_host = *host;
    options.relay_host = kSimRelayAddress;
  }
  return TestPeer::connect(*loop_, port(), der_path_, options);
}

std::unique_ptr<TestPeer> RelayHarness::join(const HelloJson& hello, PeerOptions options) {
  auto peer = connect(options);
  if (!peer || !peer->join(hello)) return nullptr;
  return peer;
}

std::unique_ptr<TestPeer> RelayHarness::join_gateway(const quic::RoomKey& key,
                                                     std::string_view room, std::string_view mac,
                                                     PeerOptions options) {
  auto peer = connect(options);
  if (!peer || !peer->join(claim_hello(*peer, key, room, mac))) return nullptr;
  return peer;
}

bool RelayHarness::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  return loop_->run_until(done, timeout).has_value();
}

}  // namespace lanparty::relay::testing
