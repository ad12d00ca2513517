// SPDX-License-Identifier: MIT
// ConnectionImpl: one ngtcp2_conn + TLS session behind the public Connection interface: the
// ngtcp2 callbacks and the packet writer. Its parts with one job each: SendStream (a
// stream's unacknowledged bytes), DatagramQueue (DATAGRAM payloads waiting for a write) and
// CloseState (the close state machine).
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "close_state.hpp"
#include "datagram_queue.hpp"
#include "endpoint.hpp"
#include "lanparty/quic/connection.hpp"
#include "send_stream.hpp"
#include "tls.hpp"

namespace lanparty::quic::detail {

struct ConnDeleter {
  void operator()(ngtcp2_conn* conn) const noexcept { ngtcp2_conn_del(conn); }
};
using UniqueConn = std::unique_ptr<ngtcp2_conn, ConnDeleter>;

class ConnectionImpl final : public Connection {
 public:
  // A queue that drained keeps this many slot buffers: enough for a game's bursts, so steady
  // traffic never allocates, and 16 x ~1.4 KiB per connection at most once a backlog is over.
  static constexpr std::size_t kSlotsKeptWhenIdle = 16;

  ConnectionImpl(Endpoint& endpoint, std::uint64_t id, const io::SocketAddress& local,
                 const io::SocketAddress& remote);
  ~ConnectionImpl() override;

  // `retry_odcid`: the client's original DCID when its Initial carried a valid Retry token.
  [[nodiscard]] Status init_server(const ngtcp2_pkt_hd& hd,
                                   std::shared_ptr<const ServerTlsContext> tls,
                                   const ngtcp2_cid* retry_odcid = nullptr);
  // Server side: where the connection comes from, and whether a Retry token proved it.
  void set_source(const io::SourcePrefix& source, bool validated) noexcept {
    source_ = source;
    validated_at_accept_ = validated;
  }
  [[nodiscard]] const io::SourcePrefix& source() const noexcept { return source_; }
  [[nodiscard]] bool validated_at_accept() const noexcept { return validated_at_accept_; }
  [[nodiscard]] Status init_client(const ClientTlsContext& tls);

  // --- Connection ----------------------------------------------------------------------------
  std::uint64_t id() const noexcept override { return id_; }
  bool handshake_completed() const noexcept override { return handshake_completed_; }
  std::string remote_address() const override { return remote_.to_string(); }
  io::SourcePrefix remote_source() const noexcept override { return io::source_prefix(remote_); }
  Result<std::int64_t> open_bidi_stream() override;
  Status send_stream(std::int64_t stream_id, std::span<const std::uint8_t> data) override;
  Status shutdown_stream_write(std::int64_t stream_id) override;
  std::uint64_t peer_max_datagram_frame_size() const noexcept override;
  std::size_t datagram_budget() const noexcept override;
  Status send_datagram(std::span<const std::uint8_t> payload) override;
  void close(std::uint64_t app_error_code, std::string_view reason) override;
  void close_after_ack(std::uint64_t app_error_code, std::string reason,
                       std::chrono::milliseconds deadline,
                       std::chrono::milliseconds linger_after_ack) override;
  ConnectionStats stats() const noexcept override;
  Result<std::array<std::uint8_t, 32>> export_keying_material(
      std::string_view label) const override;

  // --- for the Endpoint ----------------------------------------------------------------------
  void on_packet(const io::RxPacket& packet, ngtcp2_tstamp now) noexcept;
  void on_timer(ngtcp2_tstamp now) noexcept;
  // The socket heard an ICMP error (errno err) from the peer's address. During the handshake
  // nothing else can answer there: the attempt fails as unreachable. An established
  // connection rides it out (routes flap; QUIC's own timers decide).
  void on_unreachable(int err) noexcept;
  // Frees the datagram queue's slots beyond what a quiet connection needs, if it is empty.
  void release_idle_memory() noexcept { datagrams_.release_idle_slots(kSlotsKeptWhenIdle); }
  [[nodiscard]] std::size_t datagram_slots_allocated() const noexcept {
    return datagrams_.allocated_slots();
  }
  // Writes packets until nothing is left, the send quantum is used, or the socket is full
  // (returns false then: call again once it drains).
  [[nodiscard]] bool write(ngtcp2_tstamp now) noexcept;
  // Delivers on_closed if it is due and the handler saw this connection.
  void notify_closed() noexcept;
  [[nodiscard]] bool dirty() const noexcept { return dirty_; }
  void set_dirty(bool dirty) noexcept { dirty_ = dirty; }
  [[nodiscard]] bool notify_queued() const noexcept { return notify_queued_; }
  void set_notify_queued(bool queued) noexcept { notify_queued_ = queued; }
  [[nodiscard]] bool dead_queued() const noexcept { return dead_queued_; }
  void set_dead_queued() noexcept { dead_queued_ = true; }
  // Every CID routed to us, for removal when we are freed.
  [[nodiscard]] const std::vector<CidKey>& routed_cids() const noexcept { return routed_; }
  void add_routed(const CidKey& key) { routed_.push_back(key); }
  // Frees ngtcp2/GnuTLS state of a dead client connection the Client still exposes.
  void release() noexcept;

 private:
  // ngtcp2 callbacks: noexcept trampolines onto members (STYLE.md section 2).
  static int cb_handshake_completed(ngtcp2_conn* conn, void* user_data) noexcept;
  static int cb_recv_stream_data(ngtcp2_conn* conn, std::uint32_t flags, std::int64_t stream_id,
                                 std::uint64_t offset, const std::uint8_t* data,
                                 std::size_t datalen, void* user_data,
                                 void* stream_user_data) noexcept;
  static int cb_acked_stream_data_offset(ngtcp2_conn* conn, std::int64_t stream_id,
                                         std::uint64_t offset, std::uint64_t datalen,
                                         void* user_data, void* stream_user_data) noexcept;
  static int cb_stream_open(ngtcp2_conn* conn, std::int64_t stream_id, void* user_data) noexcept;
  static int cb_stream_close(ngtcp2_conn* conn, std::uint32_t flags, std::int64_t stream_id,
                             std::uint64_t app_error_code, void* user_data,
                             void* stream_user_data) noexcept;
  static int cb_recv_stateless_reset(ngtcp2_conn* conn, const ngtcp2_pkt_stateless_reset* sr,
                                     void* user_data) noexcept;
  static int cb_extend_max_stream_data(ngtcp2_conn* conn, std::int64_t stream_id,
                                       std::uint64_t max_data, void* user_data,
                                       void* stream_user_data) noexcept;
  static void cb_rand(std::uint8_t* dest, std::size_t destlen,
                      const ngtcp2_rand_ctx* rand_ctx) noexcept;
  static int cb_get_new_connection_id(ngtcp2_conn* conn, ngtcp2_cid* cid, std::uint8_t* token,
                                      std::size_t cidlen, void* user_data) noexcept;
  static int cb_remove_connection_id(ngtcp2_conn* conn, const ngtcp2_cid* cid,
                                     void* user_data) noexcept;
  static int cb_recv_datagram(ngtcp2_conn* conn, std::uint32_t flags, const std::uint8_t* data,
                              std::size_t datalen, void* user_data) noexcept;
  static ngtcp2_conn* cb_get_conn(ngtcp2_crypto_conn_ref* ref) noexcept;

  [[nodiscard]] ngtcp2_callbacks callbacks() const noexcept;
  void settings_and_params(ngtcp2_settings& settings, ngtcp2_transport_params& params) const;
  [[nodiscard]] ngtcp2_path path_of(const io::SocketAddress& local,
                                    const io::SocketAddress& remote) const noexcept;

  // Builds one packet into dest: queued datagrams first (packed with FLAG_MORE), then
  // stream data, then whatever ngtcp2 needs (ACK, PING, ...). Returns bytes, 0, or an error.
  // judge_queue_delay: whether the datagram queue's delay bound may drop (past slow start).
  [[nodiscard]] ngtcp2_ssize write_packet(std::uint8_t* dest, std::size_t destlen,
                                          ngtcp2_path_storage& ps, ngtcp2_tstamp now,
                                          bool judge_queue_delay) noexcept;
  [[nodiscard]] SendStream* next_stream() noexcept;

  bool user_visible() const noexcept;  // API calls still allowed
  // A close now (the first one wins), carried out at the next write.
  void request_close(CloseInfo::Kind kind, std::uint64_t code, std::string reason) noexcept;
  // Enters the closing period with ccerr (writes and sends CONNECTION_CLOSE).
  void start_closing(const ngtcp2_connection_close_error& ccerr, ngtcp2_tstamp now) noexcept;
  void start_draining(ngtcp2_tstamp now) noexcept;
  // Terminal failure from an ngtcp2 call (read, expiry, write).
  void on_liberr(int liberr, ngtcp2_tstamp now) noexcept;
  void finish(CloseInfo info) noexcept;  // records info (first one wins) and queues on_closed
  [[nodiscard]] CloseInfo peer_close_info() const;
  void go_dead() noexcept;
  void update_timer() noexcept;
  void check_close_after_ack() noexcept;
  void send_close_packet() noexcept;

  Endpoint& endpoint_;
  const std::uint64_t id_;
  io::SocketAddress local_;
  io::SocketAddress remote_;
  // A server connection's TLS context, kept for the connection's life: session_ uses its
  // credentials, and a certificate reload must not free them under it. Declared before
  // session_, so it is destroyed after it.
  std::shared_ptr<const ServerTlsContext> server_tls_;
  TlsAnchor anchor_;
  UniqueConn conn_;
  TlsSession session_;
  bool handshake_completed_ = false;
  io::SourcePrefix source_{};
  bool validated_at_accept_ = false;
  bool reported_ = false;  // the handler knows this connection
  bool dirty_ = false;
  bool notify_queued_ = false;
  bool dead_queued_ = false;
  bool stateless_reset_ = false;

  CloseState close_;

  std::map<std::int64_t, SendStream> streams_;
  std::int64_t last_written_stream_ = -1;
  DatagramQueue datagrams_;
  std::uint32_t front_datagram_misses_ = 0;
  ConnectionStats stats_;
  std::vector<CidKey> routed_;
  std::deque<CidKey> retired_;

  io::EventLoop::Timer expiry_timer_;
  io::EventLoop::Timer close_deadline_timer_;
};

}  // namespace lanparty::quic::detail
