// SPDX-License-Identifier: MIT
// Integration harness: a real quic::Server on loopback with relay::Relay as its handler, and
// TestPeers that speak PROTOCOL.md to it over real QUIC, all on one EventLoop (no sleeps).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "lanparty/base/result.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/ctrl/messages.hpp"
#include "lanparty/directory/room_directory.hpp"
#include "lanparty/directory/sqlite_room_directory.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/sim_network.hpp"
#include "lanparty/obs/sinks.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "lanparty/quic/client.hpp"
#include "lanparty/quic/connection.hpp"
#include "lanparty/quic/room_key.hpp"
#include "lanparty/quic/server.hpp"
#include "relay.hpp"

namespace lanparty::relay::testing {

// How long a helper waits for something that should happen at once on loopback. A test that
// times out fails; it never needs this long to pass.
inline constexpr std::chrono::milliseconds kWait{3000};

// The MAC address the tests' gateways say hello with.
inline constexpr const char* kGatewayMac = "00:11:22:33:44:55";

// For ASSERT_TRUE/EXPECT_TRUE on a Status, printing the error when it failed.
[[nodiscard]] ::testing::AssertionResult succeeded(const Status& status);

// A hello as JSON text. Each field holds the raw JSON value to send ("\"1\"", "1.0" and
// "null" are all fair), or nullopt to leave the field out; `extra` is raw `,"k":v` text
// appended inside the object.
struct HelloJson {
  std::optional<std::string> protocol = "1";
  std::optional<std::string> role = "\"client\"";
  std::optional<std::string> room = "\"ROOM1\"";
  std::optional<std::string> mac = "\"02:5a:00:00:00:01\"";
  std::optional<std::string> max_datagram = "1430";
  std::optional<std::string> software = "\"relay-integration-test\"";
  std::string extra;

  [[nodiscard]] std::string to_json() const;
};

// A valid hello for `role` ("client" or "gateway").
[[nodiscard]] HelloJson hello_json(std::string_view role, std::string_view room,
                                   std::string_view mac, int max_datagram = 1430);

// A scratch directory removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

struct PeerOptions {
  std::uint64_t max_datagram_frame_size = 65535;  // 0: advertise no DATAGRAM support
  std::chrono::milliseconds keepalive{10000};
  quic::StreamLimits streams = {};  // what the peer grants the relay
  // Set by a simulated harness: the relay's address and the peer's own simulated host.
  std::string relay_host = "127.0.0.1";
  io::SimHost* sim_host = nullptr;
};

// One kind-1 or kind-3 datagram a peer received from the relay.
struct ReceivedDatagram {
  std::uint8_t kind = 0;
  std::uint16_t peer_id = 0;
  std::vector<std::uint8_t> body;
};

// A protocol peer: a quic::Client pinned to the relay's certificate, recording what arrives
// on stream 0 (decoded with ctrl::FrameDecoder), the datagrams and the close. Every wait
// helper runs the shared loop, so the relay and every other peer make progress meanwhile.
class TestPeer final : public quic::ConnectionHandler {
 public:
  // Starts the handshake and runs the loop until it completes; nullptr (with a test failure
  // recorded) if it does not within kWait.
  [[nodiscard]] static std::unique_ptr<TestPeer> connect(io::EventLoop& loop, std::uint16_t port,
                                                         const std::filesystem::path& der,
                                                         PeerOptions options = {});
  ~TestPeer() override;
  TestPeer(const TestPeer&) = delete;
  TestPeer& operator=(const TestPeer&) = delete;

  void on_handshake_completed(quic::Connection& connection) override;
  void on_stream_data(quic::Connection& connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_datagram(quic::Connection& connection, std::span<const std::uint8_t> payload) override;
  void on_closed(quic::Connection& connection, const quic::CloseInfo& info) override;

  [[nodiscard]] quic::Connection& connection() noexcept { return client_->connection(); }
  [[nodiscard]] io::EventLoop& loop() noexcept { return loop_; }

  // --- sending on stream 0 (opened on first use) ---------------------------------------
  [[nodiscard]] Status send_bytes(std::span<const std::uint8_t> bytes);
  [[nodiscard]] Status send_bytes(std::string_view bytes);
  // Length prefix + `json` as is (ctrl::append_frame's unchecked overload).
  [[nodiscard]] Status send_json(std::string_view json);
  [[nodiscard]] Status send_message(const ctrl::Message& message);
  [[nodiscard]] Status send_hello(const HelloJson& hello) { return send_json(hello.to_json()); }

  // --- sending datagrams ---------------------------------------------------------------
  // Overlay header (version 1, `kind`, `peer_id`) + body.
  [[nodiscard]] Status send_datagram(std::uint8_t kind, std::uint16_t peer_id,
                                     std::span<const std::uint8_t> body);
  // An Ethernet frame as kind 1 under this peer's own id from welcome.
  [[nodiscard]] Status send_frame(std::span<const std::uint8_t> ethernet);
  [[nodiscard]] Status send_raw_datagram(std::span<const std::uint8_t> payload);

  // --- joining -------------------------------------------------------------------------
  // Sends `hello` and waits for welcome; false (test failure recorded) on anything else.
  [[nodiscard]] bool join(const HelloJson& hello);
  // The welcome join() took; its peer_id is this peer's id.
  [[nodiscard]] const ctrl::Welcome& welcome() const noexcept { return welcome_; }
  [[nodiscard]] std::uint16_t peer_id() const noexcept { return welcome_.peer_id; }

  // --- waiting -------------------------------------------------------------------------
  // Runs the loop until `done` holds; false on timeout.
  [[nodiscard]] bool run_until(const std::function<bool()>& done,
                               std::chrono::milliseconds timeout = kWait);
  // The oldest message of type T not taken yet, waiting for one to arrive; nullopt on
  // timeout or once the connection closed without one.
  template <class T>
  [[nodiscard]] std::optional<T> next(std::chrono::milliseconds timeout = kWait);
  // The close, waiting for it; nullptr on timeout.
  [[nodiscard]] const quic::CloseInfo* wait_closed(std::chrono::milliseconds timeout = kWait);
  // Waits for a `stats` message for which `matches` holds and returns it; otherwise the
  // last stats seen (or nullopt if none came), for the failure message.
  [[nodiscard]] std::optional<ctrl::Stats> wait_stats(
      const std::function<bool(const ctrl::Stats&)>& matches,
      std::chrono::milliseconds timeout = kWait);
  // Sends a probe with a fresh body and waits for its reply. The relay answers after it has
  // sent everything it sent this peer before, so frames it forwarded earlier have arrived.
  [[nodiscard]] bool probe_fence(std::chrono::milliseconds timeout = kWait);

  // --- what arrived --------------------------------------------------------------------
  [[nodiscard]] const std::vector<ctrl::Message>& messages() const noexcept { return messages_; }
  // Every byte received on stream 0, as text (to look at the JSON as sent).
  [[nodiscard]] std::string received_text() const;
  [[nodiscard]] bool stream_finished() const noexcept { return fin_; }
  [[nodiscard]] std::optional<ctrl::FrameError> decode_error() const noexcept {
    return decode_error_;
  }
  [[nodiscard]] const std::vector<ReceivedDatagram>& datagrams() const noexcept {
    return datagrams_;
  }
  // Kind-1 datagrams only (probe replies left out).
  [[nodiscard]] std::vector<ReceivedDatagram> frames() const;
  [[nodiscard]] bool closed() const noexcept { return close_.has_value(); }
  [[nodiscard]] const std::optional<quic::CloseInfo>& close_info() const noexcept { return close_; }

 private:
  explicit TestPeer(io::EventLoop& loop) : loop_(loop) {}
  [[nodiscard]] Status ensure_stream();
  // Index of the oldest untaken T, or messages_.size().
  template <class T>
  [[nodiscard]] std::size_t find_untaken() const;

  io::EventLoop& loop_;
  bool handshake_completed_ = false;
  std::int64_t stream_ = -1;
  ctrl::FrameDecoder decoder_;
  std::vector<std::uint8_t> stream_bytes_;
  bool fin_ = false;
  std::optional<ctrl::FrameError> decode_error_;
  std::vector<ctrl::Message> messages_;
  std::vector<bool> taken_;
  std::vector<ReceivedDatagram> datagrams_;
  std::optional<quic::CloseInfo> close_;
  ctrl::Welcome welcome_;
  std::uint32_t next_probe_ = 1;
  std::unique_ptr<quic::Client> client_;  // last: destroyed first, before what it reports to
};

template <class T>
std::size_t TestPeer::find_untaken() const {
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    if (!taken_[i] && std::holds_alternative<T>(messages_[i])) return i;
  }
  return messages_.size();
}

template <class T>
std::optional<T> TestPeer::next(std::chrono::milliseconds timeout) {
  (void)run_until([&] { return find_untaken<T>() < messages_.size() || closed(); }, timeout);
  const std::size_t i = find_untaken<T>();
  if (i == messages_.size()) return std::nullopt;
  taken_[i] = true;
  return std::get<T>(messages_[i]);
}

// What PROTOCOL.md promises a rejected peer: one `reject` with `code` and a message for
// people, the end of the relay's side of stream 0, then a close with application error 2
// whose reason phrase is the code.
[[nodiscard]] ::testing::AssertionResult rejected_with(TestPeer& peer, std::string_view code);
// The relay closed `peer` with application error `code` (and, if given, this reason phrase).
[[nodiscard]] ::testing::AssertionResult closed_with(
    TestPeer& peer, std::uint64_t code, std::optional<std::string_view> reason = std::nullopt);

// --- section 7 credentials ---------------------------------------------------------------

// A fresh Ed25519 room key (a test failure is recorded if the TLS library cannot make one).
[[nodiscard]] quic::RoomKey new_room_key();
// The key's public half as base64url, as room_key carries it.
[[nodiscard]] std::string public_key_text(const quic::RoomKey& key);
// The claim fields for `room` on `peer`'s own connection, as HelloJson::extra text:
// ,"room_key":"...","room_proof":"..." with the proof over claim_signing_input(room, ekm).
[[nodiscard]] std::string claim_fields(TestPeer& peer, const quic::RoomKey& key,
                                       std::string_view room);
// A gateway hello that claims `room` with `key` on `peer`'s connection.
[[nodiscard]] HelloJson claim_hello(TestPeer& peer, const quic::RoomKey& key, std::string_view room,
                                    std::string_view mac, int max_datagram = 1430);
// An invite token signed by `key` (ctrl::encode_invite_token).
[[nodiscard]] std::string invite_token(const quic::RoomKey& key,
                                       const ctrl::InvitePayload& payload);
// A payload for `room` with `id`, expiring an hour from now, with an optional name.
[[nodiscard]] ctrl::InvitePayload invite_payload(std::string_view room, std::string_view id,
                                                 std::optional<std::string> name = std::nullopt);
// A client hello carrying `token` as its invite.
[[nodiscard]] HelloJson invited_hello(std::string_view room, std::string_view mac,
                                      std::string_view token, int max_datagram = 1430);
// The Unix time now, in seconds (the relay's clock).
[[nodiscard]] std::int64_t unix_now();

// Relay settings for tests: stats every 200 ms so drop counts arrive quickly; rooms open
// (sections 1-6, as the suites written before section 7 expect); the rest as the binary's
// defaults.
[[nodiscard]] RelayConfig test_relay_config();
// The same with rooms claimed (or `mode`).
[[nodiscard]] RelayConfig claimed_relay_config(RoomMode mode = RoomMode::kClaimed);

struct HarnessOptions {
  RelayConfig relay = test_relay_config();
  std::chrono::milliseconds idle_timeout{30000};  // the server's QUIC idle timeout
  // Unless relay.rooms is open: the room records, SQLite in `state_dir` (empty: a fresh
  // directory of the harness's own).
  std::filesystem::path state_dir;
  directory::Limits room_records = {};
  // Used instead of SQLite when set (not owned; outlives the harness): a fake that fails.
  directory::RoomDirectory* records_override = nullptr;
  // Used instead of both when set: makes the executor the relay calls its records through
  // (a DirectoryWorker over Redis), on the harness's loop; the harness owns it.
  std::function<std::unique_ptr<DirectoryExecutor>(io::EventLoop&)> executor_factory = {};
  quic::StreamLimits server_streams = quic::ServerConfig{}.streams;  // what peers may use
  // Every peer of a test comes from 127.0.0.1: per-source limits off unless a test sets them
  // (libs/quic's admission tests cover them; RelayLimits tests the relay's use of them).
  quic::AdmissionLimits admission{.retry = quic::RetryMode::kAuto,
                                  .retry_above_handshakes = 64,
                                  .max_handshakes = 1024,
                                  .max_connections_per_source = 1000000,
                                  .handshakes_per_second_per_source = 1e9,
                                  .handshake_burst_per_source = 1e9};
  // Runs the harness on this simulated network in virtual time instead of loopback (not
  // owned; outlives the harness): the relay on host 10.213.97.1, each peer on a host of its
  // own. Waits (kWait included) are then virtual time.
  io::SimNetwork* sim = nullptr;
};

// Owns the loop, the relay (logging at debug to a MemorySink) and the server on 127.0.0.1:0
// with a fresh self-signed "localhost" certificate whose DER peers pin.
class RelayHarness {
 public:
  // nullptr (with a test failure recorded) if any part cannot start.
  [[nodiscard]] static std::unique_ptr<RelayHarness> start(HarnessOptions options = {});
  ~RelayHarness();
  RelayHarness(const RelayHarness&) = delete;
  RelayHarness& operator=(const RelayHarness&) = delete;

  [[nodiscard]] io::EventLoop& loop() noexcept { return *loop_; }
  [[nodiscard]] Relay& relay() noexcept { return *relay_; }
  [[nodiscard]] quic::Server& server() noexcept { return *server_; }
  [[nodiscard]] obs::MemorySink& log() noexcept { return log_; }
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] const std::filesystem::path& der_path() const noexcept { return der_path_; }

  // A peer with a completed handshake, not joined.
  [[nodiscard]] std::unique_ptr<TestPeer> connect(PeerOptions options = {});
  // A peer that sent `hello` and got its welcome; nullptr (failure recorded) otherwise.
  [[nodiscard]] std::unique_ptr<TestPeer> join(const HelloJson& hello, PeerOptions options = {});
  // A gateway that claimed `room` with `key` and got its welcome; nullptr otherwise.
  [[nodiscard]] std::unique_ptr<TestPeer> join_gateway(const quic::RoomKey& key,
                                                       std::string_view room, std::string_view mac,
                                                       PeerOptions options = {});
  // The room records (null in open mode).
  [[nodiscard]] directory::RoomDirectory* records() noexcept { return records_in_use_; }
  [[nodiscard]] bool run_until(const std::function<bool()>& done,
                               std::chrono::milliseconds timeout = kWait);

 private:
  RelayHarness() = default;

  obs::MemorySink log_;
  TempDir dir_;
  std::filesystem::path der_path_;
  std::unique_ptr<io::EventLoop> loop_;
  io::SimNetwork* sim_ = nullptr;
  std::size_t sim_peers_ = 0;
  std::unique_ptr<directory::SqliteRoomDirectory> records_;  // before relay_: outlives it
  directory::RoomDirectory* records_in_use_ = nullptr;       // records_ or the override
  std::unique_ptr<DirectoryExecutor> executor_;              // before relay_: outlives it
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<quic::Server> server_;  // after relay_: destroyed before its handler
};

}  // namespace lanparty::relay::testing
