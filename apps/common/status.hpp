// SPDX-License-Identifier: MIT
// `lanparty-client status` and `lanparty-gateway status`: what the running daemon reports
// about its room (built from client-core's runner and session, plus the app's own drop
// counters), as JSON over the control socket and in plain words for people.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/client_core/runner.hpp"

namespace lanparty::apps {

struct NamedCount {
  std::string name;
  std::uint64_t count = 0;
};

struct StatusReport {
  struct Peer {
    std::uint16_t id = 0;
    std::string role;  // gateway or client
    std::string mac;
    std::string name;       // the invite's name; empty if none
    std::string invite_id;  // empty if none
  };
  std::string program;  // lanparty-client, lanparty-gateway
  std::string state;    // obs::to_string(ConnectionState): connected, reconnecting, ...
  bool in_room = false;
  std::optional<std::int64_t> since_unix;  // when this connection joined the room
  std::string relay;                       // HOST:PORT
  std::string server_name;
  std::string room;
  std::string device;  // the TAP or LAN interface
  std::string mac;     // ours, as in hello
  std::optional<std::uint16_t> peer_id;
  std::optional<std::uint32_t> mtu;
  std::optional<std::int64_t> rtt_us;   // ngtcp2's smoothed RTT to the relay
  std::uint64_t frames_sent = 0;        // to the relay
  std::uint64_t frames_received = 0;    // from the relay
  std::vector<NamedCount> drops;        // frames this side dropped, by reason (non-zero only)
  std::vector<NamedCount> relay_drops;  // the relay's last `stats`: our frames it dropped
  std::uint64_t connects = 0;
  std::uint64_t joins = 0;
  std::vector<Peer> peers;  // everyone else in the room, by peer id
};

// The daemon's side: the report from the runner. `local_drops` are the app's own counters
// (TAP or LAN side), listed with the runner's; zero counts are left out.
[[nodiscard]] StatusReport collect_status(std::string program, const client_core::Runner& runner,
                                          const quic::ClientConfig& relay, std::string device,
                                          const std::vector<NamedCount>& local_drops,
                                          client_core::Timestamp steady_now);

[[nodiscard]] std::string to_json(const StatusReport& report);
// kInvalidArgument with what was wrong when `json` is not a status report.
[[nodiscard]] Result<StatusReport> status_from_json(std::string_view json);

// The report in plain words, one fact a line; `now_unix` for "12 min ago".
[[nodiscard]] std::string describe(const StatusReport& report, std::int64_t now_unix);

// The `status [--json]` command: asks the daemon at `socket` and prints its answer. Returns
// the exit code: 0; 3 when no daemon runs there (one sentence saying so, as systemctl status
// of a stopped unit); 1 on any other failure.
[[nodiscard]] int run_status_command(std::string_view program, const std::filesystem::path& socket,
                                     bool json);

}  // namespace lanparty::apps
