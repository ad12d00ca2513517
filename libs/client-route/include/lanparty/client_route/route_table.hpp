// SPDX-License-Identifier: MIT
// Route-table policy for the Windows client: where the relay is reached from, which adapter is
// the TAP, and guards that own every change to OS routing state (STYLE.md section 3).
#pragma once

#include <cstdint>
#include <optional>

#include "lanparty/base/result.hpp"
#include "lanparty/base/scoped_undo.hpp"
#include "lanparty/client_route/ip_helper_api.hpp"
#include "lanparty/client_route/route_journal.hpp"
#include "lanparty/client_route/types.hpp"
#include "lanparty/obs/log.hpp"

namespace lanparty::client_route {

// The route Windows uses to reach `destination` right now (GetBestRoute2). Call it before the
// TAP is up to learn the pre-TAP next hop and interface. kInternal if the OS answers with a
// route of the other family.
[[nodiscard]] Result<BestRoute> find_best_route(IpHelperApi& api, const IpAddress& destination);

struct AdapterInterface {
  InterfaceLuid luid;
  std::uint32_t index = 0;  // valid until the adapter is re-enabled; prefer the LUID
  friend bool operator==(const AdapterInterface&, const AdapterInterface&) = default;
};

// LUID and index of the adapter whose NetCfgInstanceId is `guid`. kNotFound if absent.
[[nodiscard]] Result<AdapterInterface> resolve_adapter(IpHelperApi& api, const AdapterGuid& guid);

// Owns one interface metric change and restores exactly Metric and UseAutomaticMetric on every
// exit path; changes nothing else. `api` and `journal` must outlive the guard; one thread.
class InterfaceMetricGuard {
 public:
  // Reads the interface, journals its metric, then writes `desired`. Returns a guard only after
  // the write succeeded: on any error nothing was changed and nothing is left in the journal
  // (unless erasing it failed too, in which case the next repair restores the same values).
  // When the interface already has `desired`, nothing is written and the guard is disarmed.
  [[nodiscard]] static Result<InterfaceMetricGuard> apply(IpHelperApi& api, RouteJournal& journal,
                                                          InterfaceLuid luid, AddressFamily family,
                                                          InterfaceMetric desired,
                                                          obs::Logger log = {});

  InterfaceMetricGuard(InterfaceMetricGuard&& other) noexcept = default;  // disarms `other`
  // Restores what this guard holds (logging a failure), then takes over `other`.
  InterfaceMetricGuard& operator=(InterfaceMetricGuard&& other) noexcept = default;
  // Restores (ScopedUndo); a failure is logged (route.metric_restore_failed), never thrown.
  // The journal entry then stays, so the next start's repair retries.
  ~InterfaceMetricGuard() = default;

  // Writes the original metric back and erases the journal entry. Idempotent: after a success
  // it does nothing. On error the guard stays armed, so a later call (or the destructor) retries.
  [[nodiscard]] Status restore() { return restore_.run(); }

  // True while there is something to restore.
  [[nodiscard]] bool armed() const noexcept { return restore_.armed(); }
  // The interface as read before apply() (DisableDefaultRoutes included, for diagnostics).
  [[nodiscard]] const IpInterfaceState& before() const noexcept { return before_; }

 private:
  struct RestoreMetric {
    IpHelperApi* api;
    RouteJournal* journal;
    MetricJournalEntry entry;  // what to write back, as journaled
    obs::Logger log;
    Status undo();
    void on_undo_failed(const Error& error) const noexcept;
  };
  InterfaceMetricGuard(ScopedUndo<RestoreMetric> restore, IpInterfaceState before) noexcept
      : restore_(std::move(restore)), before_(before) {}

  ScopedUndo<RestoreMetric> restore_;  // disarmed == nothing to undo
  IpInterfaceState before_;
};

// The NlMtu range InterfaceMtuGuard accepts, in bytes. 576: every IPv4 host must accept
// datagrams of this size (RFC 791, "Total Length"), and the relay refuses smaller rooms
// (PROTOCOL.md section 4). 1280: the IPv6 link minimum (RFC 8200 section 5). 65535: the largest
// packet either header can describe without jumbograms.
inline constexpr std::uint32_t kMinIpv4Mtu = 576;
inline constexpr std::uint32_t kMinIpv6Mtu = 1280;
inline constexpr std::uint32_t kMaxIpMtu = 65535;

// Owns one change to the TAP adapter's IP MTU (NlMtu) for one family, and writes the old value
// back on every exit path; changes nothing else (the metric included). Not journaled: after a
// crash only the TAP, which nothing else uses, keeps the room MTU, and the next run sets it again.
// So use it on the TAP only. `api` must outlive the guard; one thread.
class InterfaceMtuGuard {
 public:
  // Checks `mtu_bytes` against the family's range (kInvalidArgument, before any call), reads the
  // interface, then writes `mtu_bytes`. Returns a guard only after the write succeeded; on any
  // error nothing was changed. When NlMtu already is `mtu_bytes`, nothing is written and the
  // guard is disarmed (route.mtu_unchanged).
  [[nodiscard]] static Result<InterfaceMtuGuard> apply(IpHelperApi& api, InterfaceLuid luid,
                                                       AddressFamily family,
                                                       std::uint32_t mtu_bytes,
                                                       obs::Logger log = {});

  InterfaceMtuGuard(InterfaceMtuGuard&& other) noexcept = default;  // disarms `other`
  // Restores what this guard holds (logging a failure), then takes over `other`.
  InterfaceMtuGuard& operator=(InterfaceMtuGuard&& other) noexcept = default;
  // Restores (ScopedUndo); a failure is logged (route.mtu_restore_failed), never thrown.
  ~InterfaceMtuGuard() = default;

  // Writes the original NlMtu back. Idempotent: after a success it does nothing. On error the
  // guard stays armed, so a later call (or the destructor) retries.
  [[nodiscard]] Status restore() { return restore_.run(); }

  // True while there is something to restore.
  [[nodiscard]] bool armed() const noexcept { return restore_.armed(); }
  // The interface as read before apply(); before().nl_mtu is what restore() writes back.
  [[nodiscard]] const IpInterfaceState& before() const noexcept { return before_; }

 private:
  struct RestoreMtu {
    IpHelperApi* api;
    InterfaceLuid luid;
    AddressFamily family;
    std::uint32_t mtu_bytes;  // before().nl_mtu
    obs::Logger log;
    Status undo();
    void on_undo_failed(const Error& error) const noexcept;
  };
  InterfaceMtuGuard(ScopedUndo<RestoreMtu> restore, IpInterfaceState before) noexcept
      : restore_(std::move(restore)), before_(before) {}

  ScopedUndo<RestoreMtu> restore_;  // disarmed == nothing to undo
  IpInterfaceState before_;
};

// Owns a /32 or /128 route to one destination through the pre-TAP next hop and interface, so
// traffic to the relay never enters the TAP. Removed on destruction. `api` and `journal` must
// outlive the pin; one thread.
class HostRoutePin {
 public:
  // Journals, then creates destination/32 (or /128) via `via.next_hop` on `via`'s interface.
  // If the identical route already exists it was not ours: the pin is disarmed and leaves it
  // (route.host_route_preexisting). kInvalidArgument if the families differ.
  [[nodiscard]] static Result<HostRoutePin> add(IpHelperApi& api, RouteJournal& journal,
                                                const IpAddress& destination, const BestRoute& via,
                                                obs::Logger log = {});
  // find_best_route(destination) then add(): the usual call, made before the TAP is up.
  [[nodiscard]] static Result<HostRoutePin> pin(IpHelperApi& api, RouteJournal& journal,
                                                const IpAddress& destination, obs::Logger log = {});

  HostRoutePin(HostRoutePin&& other) noexcept = default;  // disarms `other`
  // Removes what this pin holds (logging a failure), then takes over `other`.
  HostRoutePin& operator=(HostRoutePin&& other) noexcept = default;
  // Removes (ScopedUndo); a failure is logged (route.host_route_remove_failed).
  ~HostRoutePin() = default;

  // Deletes the route (already gone counts as done) and erases the journal entry. Idempotent;
  // on error the pin stays armed.
  [[nodiscard]] Status remove() { return remove_.run(); }

  [[nodiscard]] bool armed() const noexcept { return remove_.armed(); }
  // The route as requested (also when the pin is disarmed because it pre-existed).
  [[nodiscard]] const RouteEntry& route() const noexcept { return route_; }

 private:
  struct RemoveRoute {
    IpHelperApi* api;
    RouteJournal* journal;
    RouteEntry route;
    obs::Logger log;
    Status undo();
    void on_undo_failed(const Error& error) const noexcept;
  };
  HostRoutePin(ScopedUndo<RemoveRoute> remove, RouteEntry route) noexcept
      : remove_(std::move(remove)), route_(route) {}

  ScopedUndo<RemoveRoute> remove_;
  RouteEntry route_;
};

}  // namespace lanparty::client_route
