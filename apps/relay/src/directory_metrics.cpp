// SPDX-License-Identifier: MIT
#include "directory_metrics.hpp"

#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "relay.hpp"

namespace lanparty::relay {
namespace {

void metric(std::string& out, std::string_view type, std::string_view name, std::string_view help,
            std::uint64_t value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

}  // namespace

std::string render_cluster_metrics(const Relay& relay) {
  const auto stats = relay.directory_stats();
  if (!stats) return {};
  const RelayTotals& t = relay.totals();
  std::string out;
  metric(out, "counter", "lanparty_relay_directory_calls_total",
         "Directory and homing calls run on the directory worker.", stats->calls);
  metric(out, "counter", "lanparty_relay_directory_latency_microseconds_sum",
         "Submit-to-completion time of every directory call, summed (divide by calls).",
         stats->latency_us_sum);
  metric(out, "gauge", "lanparty_relay_directory_latency_max_microseconds",
         "The slowest directory call since the relay started.", stats->latency_us_max);
  metric(out, "gauge", "lanparty_relay_directory_latency_last_microseconds",
         "The latest directory call.", stats->last_latency_us);
  metric(out, "gauge", "lanparty_relay_directory_queued", "Directory calls waiting for the worker.",
         stats->queued);
  out +=
      "# HELP lanparty_relay_directory_errors_total Directory calls answered with an error, by "
      "cause.\n# TYPE lanparty_relay_directory_errors_total counter\n";
  out += fmt::format("lanparty_relay_directory_errors_total{{cause=\"queue_expired\"}} {}\n",
                     stats->queue_expired);
  out += fmt::format("lanparty_relay_directory_errors_total{{cause=\"queue_full\"}} {}\n",
                     stats->queue_full);
  out += fmt::format("lanparty_relay_directory_errors_total{{cause=\"room_records\"}} {}\n",
                     t.room_record_errors);
  out += fmt::format("lanparty_relay_directory_errors_total{{cause=\"homing\"}} {}\n",
                     t.homing_errors);
  metric(out, "gauge", "lanparty_relay_rooms_homed", "Rooms whose home lease this relay holds.",
         relay.homed_count());
  metric(out, "counter", "lanparty_relay_rooms_homed_total", "Rooms this relay took the lease of.",
         t.rooms_homed);
  metric(out, "counter", "lanparty_relay_rooms_moved_total",
         "Rooms another relay took the lease of while live here (their peers were closed).",
         t.rooms_moved);
  metric(out, "counter", "lanparty_relay_advertise_conflicts_total",
         "Registrations refused: another live relay process uses this relay's --advertise.",
         t.advertise_conflicts);
  metric(out, "counter", "lanparty_relay_redirects_total",
         "Hellos sent to the room's home relay (reject redirect).", t.redirects);
  return out;
}

}  // namespace lanparty::relay
