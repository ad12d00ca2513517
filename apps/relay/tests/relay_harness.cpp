// SPDX-License-Identifier: MIT
// The relay integration harness: loop, relay, server and protocol-speaking test peers.
#include "relay_harness.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fmt/format.h>

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

std::unique_ptr<TestPeer> TestPeer::connect(quic::EventLoop& loop, std::uint16_t port,
                                            const std::filesystem::path& der, PeerOptions options) {
  std::unique_ptr<TestPeer> peer(new TestPeer(loop));
  quic::ClientConfig config;
  config.host = "127.0.0.1";
  config.port = port;
  config.server_name = "localhost";
  config.trust.pinned_der = der;
  config.keepalive = options.keepalive;
  config.max_datagram_frame_size = options.max_datagram_frame_size;
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

// --- RelayHarness ------------------------------------------------------------------------

RelayConfig test_relay_config() {
  RelayConfig config;
  config.stats_interval = std::chrono::milliseconds(200);
  return config;
}

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
  auto loop = quic::EventLoop::create();
  if (!loop) {
    ADD_FAILURE() << "EventLoop::create: " << loop.error().describe();
    return nullptr;
  }
  h->loop_ = std::move(*loop);
  h->relay_ =
      std::make_unique<Relay>(*h->loop_, options.relay, obs::Logger(&h->log_, obs::Level::kDebug));
  quic::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.certificate = std::move(*certificate);
  config.idle_timeout = options.idle_timeout;
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
  return TestPeer::connect(*loop_, port(), der_path_, options);
}

std::unique_ptr<TestPeer> RelayHarness::join(const HelloJson& hello, PeerOptions options) {
  auto peer = connect(options);
  if (!peer || !peer->join(hello)) return nullptr;
  return peer;
}

bool RelayHarness::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  return loop_->run_until(done, timeout).has_value();
}

}  // namespace lanparty::relay::testing
