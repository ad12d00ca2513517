// SPDX-License-Identifier: MIT
// The status report: collected from the runner, carried as JSON, printed in words.
#include "status.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lanparty/base/errc.hpp"
#include "linux/control_socket.hpp"

namespace lanparty::apps {
namespace {

using nlohmann::json;

void add_nonzero(std::vector<NamedCount>& out, std::string_view name, std::uint64_t count) {
  if (count != 0) out.push_back(NamedCount{std::string(name), count});
}

json counts_to_json(const std::vector<NamedCount>& counts) {
  json out = json::object();
  for (const auto& c : counts) out[c.name] = c.count;
  return out;
}

std::string utc_time(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string ago(std::int64_t seconds) {
  if (seconds < 60) return fmt::format("{} s ago", std::max<std::int64_t>(seconds, 0));
  if (seconds < 3600) return fmt::format("{} min ago", seconds / 60);
  if (seconds < 86400) return fmt::format("{} h {} min ago", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{} days ago", seconds / 86400);
}

std::string describe_counts(const std::vector<NamedCount>& counts) {
  if (counts.empty()) return "none";
  std::string out;
  for (const auto& c : counts) {
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", c.count, c.name);
  }
  return out;
}

// Reads field `key` of `object` into `out` when present with the right type; a field of the
// wrong type is an error (a newer daemon may add fields, never change their type).
template <class T>
bool read_field(const json& object, const char* key, T& out, std::string& error) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  bool fits = false;
  if constexpr (std::is_same_v<T, std::string>) {
    fits = it->is_string();
  } else if constexpr (std::is_same_v<T, bool>) {
    fits = it->is_boolean();
  } else {
    fits = it->is_number_integer();
  }
  if (!fits) {
    error = fmt::format("field '{}' has the wrong type", key);
    return false;
  }
  out = it->get<T>();
  return true;
}

template <class T>
bool read_optional(const json& object, const char* key, std::optional<T>& out, std::string& error) {
  if (!object.contains(key) || object[key].is_null()) return true;
  T value{};
  if (!read_field(object, key, value, error)) return false;
  out = value;
  return true;
}

bool read_counts(const json& object, const char* key, std::vector<NamedCount>& out,
                 std::string& error) {
  const auto it = object.find(key);
  if (it == object.end()) return true;
  if (!it->is_object()) {
    error = fmt::format("field '{}' is not an object", key);
    return false;
  }
  for (const auto& [name, count] : it->items()) {
    if (!count.is_number_unsigned()) {
      error = fmt::format("count '{}.{}' is not a number", key, name);
      return false;
    }
    out.push_back(NamedCount{name, count.get<std::uint64_t>()});
  }
  return true;
}

}  // namespace

StatusReport collect_status(std::string program, const client_core::Runner& runner,
                            const quic::ClientConfig& relay, std::string device,
                            const std::vector<NamedCount>& local_drops,
                            client_core::Timestamp steady_now) {
  StatusReport report;
  report.program = std::move(program);
  report.state = std::string(obs::to_string(runner.state()));
  const client_core::Session& session = runner.session();
  report.relay = runner.relay();  // where it is now (a cluster's redirect), not the first
  report.server_name = relay.server_name;
  report.room = session.config().room;
  report.device = std::move(device);
  report.mac = session.config().mac.to_string();
  report.in_room = runner.joined() && runner.joined_at().has_value();
  if (report.in_room) {
    // The loop's clock is monotonic; people read wall-clock time.
    const auto in_room_for = steady_now - *runner.joined_at();
    const auto since = std::chrono::system_clock::now() -
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(in_room_for);
    report.since_unix =
        std::chrono::duration_cast<std::chrono::seconds>(since.time_since_epoch()).count();
    const ctrl::Welcome& welcome = *session.welcome();
    report.peer_id = welcome.peer_id;
    report.mtu = welcome.mtu;
    for (const auto& [id, peer] : session.peers().peers()) {
      report.peers.push_back(StatusReport::Peer{.id = id,
                                                .role = std::string(ctrl::to_string(peer.role)),
                                                .mac = peer.mac.to_string(),
                                                .name = peer.name.value_or(""),
                                                .invite_id = peer.invite_id.value_or("")});
    }
    std::sort(report.peers.begin(), report.peers.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
  }
  const auto stats = runner.connection_stats();
  if (stats && stats->smoothed_rtt.count() > 0) report.rtt_us = stats->smoothed_rtt.count();
  const client_core::RunnerCounters& counters = runner.counters();
  report.frames_sent = counters.frames_to_relay;
  report.frames_received = counters.frames_from_relay;
  report.connects = counters.connects;
  report.joins = counters.joins;
  add_nonzero(report.drops, "not_in_room", counters.dropped_not_joined);
  add_nonzero(report.drops, "over_datagram_budget", counters.dropped_too_large);
  add_nonzero(report.drops, "bad_datagram", counters.dropped_bad_datagram);
  if (stats) {
    add_nonzero(report.drops, "queue_full", stats->datagrams_dropped_queue_full);
    add_nonzero(report.drops, "unsendable", stats->datagrams_dropped_unsendable);
  }
  for (const auto& drop : local_drops) add_nonzero(report.drops, drop.name, drop.count);
  if (session.last_stats()) {
    for (const auto& [name, count] : session.last_stats()->dropped) {
      add_nonzero(report.relay_drops, name, count);
    }
  }
  return report;
}

std::string to_json(const StatusReport& r) {
  json out = {{"program", r.program},
              {"state", r.state},
              {"in_room", r.in_room},
              {"since_unix", r.since_unix ? json(*r.since_unix) : json(nullptr)},
              {"relay", r.relay},
              {"server_name", r.server_name},
              {"room", r.room},
              {"device", r.device},
              {"mac", r.mac},
              {"peer_id", r.peer_id ? json(*r.peer_id) : json(nullptr)},
              {"mtu", r.mtu ? json(*r.mtu) : json(nullptr)},
              {"rtt_us", r.rtt_us ? json(*r.rtt_us) : json(nullptr)},
              {"frames_sent", r.frames_sent},
              {"frames_received", r.frames_received},
              {"drops", counts_to_json(r.drops)},
              {"relay_drops", counts_to_json(r.relay_drops)},
              {"connects", r.connects},
              {"joins", r.joins}};
  json peers = json::array();
  for (const auto& p : r.peers) {
    peers.push_back({{"id", p.id},
                     {"role", p.role},
                     {"mac", p.mac},
                     {"name", p.name},
                     {"invite_id", p.invite_id}});
  }
  out["peers"] = std::move(peers);
  return out.dump();
}

Result<StatusReport> status_from_json(std::string_view text) {
  const json in = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object()) {
    return fail(Errc::kInvalidArgument, "the answer is not a JSON object");
  }
  StatusReport r;
  std::string error;
  const bool ok =
      read_field(in, "program", r.program, error) && read_field(in, "state", r.state, error) &&
      read_field(in, "in_room", r.in_room, error) &&
      read_optional(in, "since_unix", r.since_unix, error) &&
      read_field(in, "relay", r.relay, error) &&
      read_field(in, "server_name", r.server_name, error) &&
      read_field(in, "room", r.room, error) && read_field(in, "device", r.device, error) &&
      read_field(in, "mac", r.mac, error) && read_optional(in, "peer_id", r.peer_id, error) &&
      read_optional(in, "mtu", r.mtu, error) && read_optional(in, "rtt_us", r.rtt_us, error) &&
      read_field(in, "frames_sent", r.frames_sent, error) &&
      read_field(in, "frames_received", r.frames_received, error) &&
      read_counts(in, "drops", r.drops, error) &&
      read_counts(in, "relay_drops", r.relay_drops, error) &&
      read_field(in, "connects", r.connects, error) && read_field(in, "joins", r.joins, error);
  if (!ok) return fail(Errc::kInvalidArgument, error);
  if (const auto peers = in.find("peers"); peers != in.end()) {
    if (!peers->is_array()) return fail(Errc::kInvalidArgument, "field 'peers' is not a list");
    for (const auto& p : *peers) {
      if (!p.is_object()) return fail(Errc::kInvalidArgument, "a peer is not an object");
      StatusReport::Peer peer;
      if (!read_field(p, "id", peer.id, error) || !read_field(p, "role", peer.role, error) ||
          !read_field(p, "mac", peer.mac, error) || !read_field(p, "name", peer.name, error) ||
          !read_field(p, "invite_id", peer.invite_id, error)) {
        return fail(Errc::kInvalidArgument, error);
      }
      r.peers.push_back(std::move(peer));
    }
  }
  return r;
}

std::string describe(const StatusReport& r, std::int64_t now_unix) {
  std::string out;
  if (r.in_room && r.since_unix) {
    out += fmt::format("{}: connected to room {} since {} ({}).\n", r.program, r.room,
                       utc_time(*r.since_unix), ago(now_unix - *r.since_unix));
  } else {
    out += fmt::format("{}: not in room {} right now ({}); it keeps trying.\n", r.program, r.room,
                       r.state);
  }
  out += fmt::format("  Relay:        {} ({})\n", r.relay, r.server_name);
  out += fmt::format("  This side:    {} on {}{}\n", r.mac, r.device,
                     r.peer_id ? fmt::format(", peer {}", *r.peer_id) : "");
  if (r.mtu) out += fmt::format("  Room MTU:     {} bytes\n", *r.mtu);
  if (r.rtt_us) {
    out += fmt::format("  Relay RTT:    {:.1f} ms\n", static_cast<double>(*r.rtt_us) / 1000.0);
  }
  out += fmt::format("  Frames:       {} sent, {} received\n", r.frames_sent, r.frames_received);
  out += fmt::format("  Dropped here: {}\n", describe_counts(r.drops));
  out += fmt::format("  Dropped by the relay: {}\n", describe_counts(r.relay_drops));
  if (r.joins > 1) out += fmt::format("  Rejoined:     {} times\n", r.joins - 1);
  if (r.in_room) {
    if (r.peers.empty()) {
      out += "  Nobody else is in the room.\n";
    } else {
      out += fmt::format("  In the room with {} other{}:\n", r.peers.size(),
                         r.peers.size() == 1 ? "" : "s");
      out += fmt::format("    {:<6} {:<8} {:<18} {}\n", "PEER", "ROLE", "MAC", "NAME");
      for (const auto& p : r.peers) {
        out += fmt::format("    {:<6} {:<8} {:<18} {}\n", p.id, p.role, p.mac,
                           p.name.empty() ? "-" : p.name);
      }
    }
  }
  return out;
}

int run_status_command(std::string_view program, const std::filesystem::path& socket,
                       bool json_out) {
  auto answer = control_request(socket, "status", std::chrono::seconds(5));
  if (!answer) {
    if (nobody_listening(answer.error())) {
      std::printf("%.*s is not running (nothing answers on %s).\n",
                  static_cast<int>(program.size()), program.data(), socket.c_str());
      return 3;
    }
    std::fprintf(stderr, "%.*s: status: %s\n", static_cast<int>(program.size()), program.data(),
                 answer.error().describe().c_str());
    return 1;
  }
  auto report = status_from_json(*answer);
  if (!report) {
    std::fprintf(stderr, "%.*s: status: unexpected answer from %s: %s\n",
                 static_cast<int>(program.size()), program.data(), socket.c_str(),
                 report.error().context.c_str());
    return 1;
  }
  if (json_out) {
    std::fputs(answer->c_str(), stdout);
    if (!answer->ends_with('\n')) std::fputc('\n', stdout);
    return 0;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::fputs(describe(*report, now).c_str(), stdout);
  return 0;
}

}  // namespace lanparty::apps
