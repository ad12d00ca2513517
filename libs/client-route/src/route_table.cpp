// SPDX-License-Identifier: MIT
// Policy over the IpHelperApi seam: journal before change, guard only after a successful write,
// undo in the destructor. Neutral code, tested on Linux against FakeIpHelper.
#include "lanparty/client_route/route_table.hpp"

#include <algorithm>
#include <string>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_route {
namespace {

bool is_not_found(const Error& e) { return e.code == make_error_code(Errc::kNotFound); }
bool is_already_there(const Error& e) { return e.code == std::errc::file_exists; }

// Prefixes the context of an error with what the policy was doing.
tl::unexpected<Error> wrap(const Error& e, std::string_view doing) {
  return fail(e.code, fmt::format("{}: {}", doing, e.context));
}

}  // namespace

Result<BestRoute> find_best_route(IpHelperApi& api, const IpAddress& destination) {
  auto route = api.get_best_route2(destination);
  if (!route) return wrap(route.error(), fmt::format("best route to {}", destination.to_string()));
  if (route->next_hop.family() != destination.family() ||
      route->source.family() != destination.family()) {
    return fail(Errc::kInternal,
                fmt::format("best route to {}: answer is of the other family (next hop {})",
                            destination.to_string(), route->next_hop.to_string()));
  }
  return route;
}

Result<AdapterInterface> resolve_adapter(IpHelperApi& api, const AdapterGuid& guid) {
  auto luid = api.convert_interface_guid_to_luid(guid);
  if (!luid) return wrap(luid.error(), fmt::format("adapter {}", guid.to_string()));
  auto index = api.convert_interface_luid_to_index(*luid);
  if (!index) return wrap(index.error(), fmt::format("adapter {}", guid.to_string()));
  return AdapterInterface{*luid, *index};
}

// ---- InterfaceMetricGuard ----

Result<InterfaceMetricGuard> InterfaceMetricGuard::apply(IpHelperApi& api, RouteJournal& journal,
                                                         InterfaceLuid luid, AddressFamily family,
                                                         InterfaceMetric desired, obs::Logger log) {
  const std::string doing =
      fmt::format("set metric of interface luid={} family={}", luid.value, to_string(family));
  auto before = api.get_ip_interface_entry(luid, family);
  if (!before) return wrap(before.error(), doing);

  if (before->metric == desired) {
    log.info("route.metric_unchanged", {{"luid", luid.value},
                                        {"family", to_string(family)},
                                        {"automatic", desired.use_automatic_metric},
                                        {"metric", desired.metric}});
    return InterfaceMetricGuard({}, *before);
  }

  // Persist the original before touching anything: if we die after the write, the next start
  // finds this entry and puts the metric back.
  auto recorded = journal.record(MetricJournalEntry{luid, family, before->metric});
  if (!recorded) return wrap(recorded.error(), doing);
  // An unrepaired entry from an earlier run holds the true original; restore to that.
  const auto entry = std::get<MetricJournalEntry>(recorded->entry);

  if (auto written = api.set_ip_interface_entry(luid, family, desired); !written) {
    // Nothing changed. Drop only the entry we added; an older one still awaits its repair.
    if (recorded->added) (void)journal.erase(entry);
    return wrap(written.error(), doing);
  }
  log.info("route.metric_applied", {{"luid", luid.value},
                                    {"family", to_string(family)},
                                    {"old_automatic", before->metric.use_automatic_metric},
                                    {"old_metric", before->metric.metric},
                                    {"new_automatic", desired.use_automatic_metric},
                                    {"new_metric", desired.metric},
                                    {"disable_default_routes", before->disable_default_routes}});
  return InterfaceMetricGuard(ScopedUndo(RestoreMetric{&api, &journal, entry, log}), *before);
}

void InterfaceMetricGuard::RestoreMetric::on_undo_failed(const Error& error) const noexcept {
  log.error("route.metric_restore_failed", {{"luid", entry.luid.value},
                                            {"family", to_string(entry.family)},
                                            {"error", error.describe()}});
}

Status InterfaceMetricGuard::RestoreMetric::undo() {
  const std::string doing = fmt::format("restore metric of interface luid={} family={}",
                                        entry.luid.value, to_string(entry.family));
  if (auto written = api->set_ip_interface_entry(entry.luid, entry.family, entry.original);
      !written) {
    return wrap(written.error(), doing);
  }
  log.info("route.metric_restored", {{"luid", entry.luid.value},
                                     {"family", to_string(entry.family)},
                                     {"automatic", entry.original.use_automatic_metric},
                                     {"metric", entry.original.metric}});
  // The OS is back to the original; if the entry cannot be erased, the next repair rewrites
  // the same values, which is harmless. So the guard is done either way.
  if (const auto erased = journal->erase(entry); !erased) {
    const std::string error = erased.error().describe();
    log.warn("route.journal_erase_failed", {{"error", error}});
  }
  return ok();
}

// ---- InterfaceMtuGuard ----
//
// Unlike the metric, the MTU is not journaled: it is only ever set on the TAP adapter, which
// nothing but this client uses, so a crash affects no other traffic, and the next run sets the
// room MTU again anyway. A journal entry would add a repair path (and a way to fail at start)
// for a leftover that harms nothing.

namespace {

Status check_mtu(AddressFamily family, std::uint32_t mtu_bytes, std::string_view doing) {
  const std::uint32_t min =
      family == AddressFamily::kIpv4 ? kMinIpv4Mtu : kMinIpv6Mtu;  // RFC 791 / RFC 8200
  if (mtu_bytes < min || mtu_bytes > kMaxIpMtu) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: {} bytes is outside {}..{}, the IPv{} MTU range", doing, mtu_bytes,
                            min, kMaxIpMtu, to_string(family)));
  }
  return ok();
}

}  // namespace

Result<InterfaceMtuGuard> InterfaceMtuGuard::apply(IpHelperApi& api, InterfaceLuid luid,
                                                   AddressFamily family, std::uint32_t mtu_bytes,
                                                   obs::Logger log) {
  const std::string doing =
      fmt::format("set MTU of interface luid={} family={}", luid.value, to_string(family));
  if (auto valid = check_mtu(family, mtu_bytes, doing); !valid) {
    return fail(valid.error().code, valid.error().context);
  }
  auto before = api.get_ip_interface_entry(luid, family);
  if (!before) return wrap(before.error(), doing);

  if (before->nl_mtu == mtu_bytes) {
    log.info("route.mtu_unchanged",
             {{"luid", luid.value}, {"family", to_string(family)}, {"mtu", mtu_bytes}});
    return InterfaceMtuGuard({}, *before);
  }
  if (auto written = api.set_ip_interface_mtu(luid, family, mtu_bytes); !written) {
    return wrap(written.error(), doing);
  }
  log.info("route.mtu_applied", {{"luid", luid.value},
                                 {"family", to_string(family)},
                                 {"old", before->nl_mtu},
                                 {"new", mtu_bytes}});
  return InterfaceMtuGuard(ScopedUndo(RestoreMtu{&api, luid, family, before->nl_mtu, log}),
                           *before);
}

void InterfaceMtuGuard::RestoreMtu::on_undo_failed(const Error& error) const noexcept {
  log.error("route.mtu_restore_failed",
            {{"luid", luid.value}, {"family", to_string(family)}, {"error", error.describe()}});
}

Status InterfaceMtuGuard::RestoreMtu::undo() {
  if (auto written = api->set_ip_interface_mtu(luid, family, mtu_bytes); !written) {
    return wrap(written.error(), fmt::format("restore MTU of interface luid={} family={}",
                                             luid.value, to_string(family)));
  }
  log.info("route.mtu_restored",
           {{"luid", luid.value}, {"family", to_string(family)}, {"mtu", mtu_bytes}});
  return ok();
}

// ---- HostRoutePin ----

Result<HostRoutePin> HostRoutePin::add(IpHelperApi& api, RouteJournal& journal,
                                       const IpAddress& destination, const BestRoute& via,
                                       obs::Logger log) {
  const std::string doing =
      fmt::format("pin host route to {} via {} (luid={})", destination.to_string(),
                  via.next_hop.to_string(), via.luid.value);
  if (via.next_hop.family() != destination.family()) {
    return fail(Errc::kInvalidArgument, fmt::format("{}: address families differ", doing));
  }
  const RouteEntry route{
      .destination = IpPrefix{destination, destination.host_prefix_length()},
      .next_hop = via.next_hop,
      .luid = via.luid,
      .interface_index = via.interface_index,
      .metric = 0,  // the most specific prefix wins anyway; 0 keeps it first among equals
  };
  const JournalEntry entry = HostRouteJournalEntry{route};
  auto recorded = journal.record(entry);
  if (!recorded) return wrap(recorded.error(), doing);
  // Already journaled: a leftover of one of our runs whose repair failed.
  const bool leftover = !recorded->added;

  if (auto created = api.create_ip_forward_entry2(route); !created) {
    if (is_already_there(created.error()) && !leftover) {
      // Someone else's identical route: it already does what we want, and it is not ours to
      // delete.
      (void)journal.erase(entry);
      const std::string dest = destination.to_string();
      log.warn("route.host_route_preexisting", {{"destination", dest}, {"luid", via.luid.value}});
      return HostRoutePin({}, route);
    }
    if (!is_already_there(created.error())) {
      if (!leftover) (void)journal.erase(entry);
      return wrap(created.error(), doing);
    }
    // Our own leftover: adopt it, so this run removes it.
  }
  const std::string dest = route.destination.to_string();
  const std::string next_hop = route.next_hop.to_string();
  log.info("route.host_route_added", {{"destination", dest},
                                      {"next_hop", next_hop},
                                      {"luid", route.luid.value},
                                      {"index", route.interface_index}});
  return HostRoutePin(ScopedUndo(RemoveRoute{&api, &journal, route, log}), route);
}

Result<HostRoutePin> HostRoutePin::pin(IpHelperApi& api, RouteJournal& journal,
                                       const IpAddress& destination, obs::Logger log) {
  auto via = find_best_route(api, destination);
  if (!via) return fail(via.error().code, via.error().context);
  return add(api, journal, destination, *via, log);
}

void HostRoutePin::RemoveRoute::on_undo_failed(const Error& error) const noexcept {
  const std::string dest = route.destination.to_string();
  log.error("route.host_route_remove_failed", {{"destination", dest}, {"error", error.describe()}});
}

Status HostRoutePin::RemoveRoute::undo() {
  if (auto deleted = api->delete_ip_forward_entry2(route);
      !deleted && !is_not_found(deleted.error())) {
    return wrap(deleted.error(),
                fmt::format("remove host route to {}", route.destination.to_string()));
  }
  const std::string dest = route.destination.to_string();
  log.info("route.host_route_removed", {{"destination", dest}});
  if (const auto erased = journal->erase(HostRouteJournalEntry{route}); !erased) {
    const std::string error = erased.error().describe();
    log.warn("route.journal_erase_failed", {{"error", error}});
  }
  return ok();
}

}  // namespace lanparty::client_route
