// SPDX-License-Identifier: MIT
// FakeIpHelper: an in-memory interface and route table behind IpHelperApi, with one-shot fault
// injection per call, so guard tests can assert "state after == state before" on every path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/ip_helper_api.hpp"

namespace lanparty::client_route::testing {

enum class Call : std::uint8_t {
  kGetBestRoute2,
  kConvertInterfaceGuidToLuid,
  kConvertInterfaceLuidToIndex,
  kGetIpInterfaceEntry,
  kSetIpInterfaceEntry,
  kCreateIpForwardEntry2,
  kDeleteIpForwardEntry2,
  kSetIpInterfaceMtu,
};
inline constexpr std::size_t kCallKinds = 8;
static_assert(static_cast<std::size_t>(Call::kSetIpInterfaceMtu) + 1 == kCallKinds,
              "kCallKinds sizes the per-call arrays: keep it one past the last Call");

// Everything a guard may change, comparable in one assertion.
struct FakeState {
  std::map<std::pair<std::uint64_t, AddressFamily>, IpInterfaceState> interfaces;
  std::vector<RouteEntry> routes;
  friend bool operator==(const FakeState&, const FakeState&) = default;
};

struct FakeInterface {
  AdapterGuid guid;
  InterfaceLuid luid;
  std::uint32_t index = 0;
  std::optional<IpAddress> ipv4;  // its address; no address == that family is not bound
  std::optional<IpAddress> ipv6;
  IpInterfaceState v4_state;
  IpInterfaceState v6_state;
};

class FakeIpHelper final : public IpHelperApi {
 public:
  void add_interface(const FakeInterface& itf) {
    interfaces_.push_back(itf);
    if (itf.ipv4) state_.interfaces[{itf.luid.value, AddressFamily::kIpv4}] = itf.v4_state;
    if (itf.ipv6) state_.interfaces[{itf.luid.value, AddressFamily::kIpv6}] = itf.v6_state;
  }
  void add_route(const RouteEntry& route) { state_.routes.push_back(route); }
  void remove_interface_state(InterfaceLuid luid, AddressFamily family) {
    state_.interfaces.erase({luid.value, family});
  }

  [[nodiscard]] const FakeState& state() const { return state_; }
  [[nodiscard]] std::size_t calls(Call call) const { return calls_[index(call)]; }
  [[nodiscard]] std::size_t total_calls() const { return total_calls_; }

  // The `nth` call of any kind from now (1 == the next one) fails with `code`, once.
  void fail_nth_call(std::size_t nth,
                     std::error_code code = std::make_error_code(std::errc::permission_denied)) {
    fail_at_ = total_calls_ + nth;
    fail_code_ = code;
  }
  // The `nth` call from now and every call after it fail, as if the OS stopped taking orders
  // from a dying process.
  void fail_from_nth_call(
      std::size_t nth, std::error_code code = std::make_error_code(std::errc::permission_denied)) {
    fail_from_ = total_calls_ + nth;
    fail_code_ = code;
  }
  // Every call of `call` fails with `code` until cleared.
  void fail_always(Call call, std::error_code code) { always_[index(call)] = code; }
  // Called at the start of every call, before faults apply: lets a test look at the world
  // (the journal file) at the exact moment of an OS change.
  std::function<void(Call)> before_call;

  void clear_faults() {
    fail_at_.reset();
    fail_from_.reset();
    always_ = {};
  }

  Result<BestRoute> get_best_route2(const IpAddress& destination) override {
    if (auto f = fault(Call::kGetBestRoute2)) return *f;
    // Longest prefix, then lowest route + interface metric, as Windows chooses.
    const RouteEntry* best = nullptr;
    std::uint64_t best_cost = 0;
    for (const auto& route : state_.routes) {
      if (!route.destination.contains(destination)) continue;
      const auto itf = state_.interfaces.find({route.luid.value, destination.family()});
      if (itf == state_.interfaces.end()) continue;
      const std::uint64_t cost = std::uint64_t{route.metric} + itf->second.metric.metric;
      if (best == nullptr || route.destination.length > best->destination.length ||
          (route.destination.length == best->destination.length && cost < best_cost)) {
        best = &route;
        best_cost = cost;
      }
    }
    if (best == nullptr) return fail(Errc::kNotFound, "fake GetBestRoute2: no route");
    const FakeInterface* itf = find(best->luid);
    const auto& source = destination.family() == AddressFamily::kIpv4 ? itf->ipv4 : itf->ipv6;
    return BestRoute{*source,    best->next_hop,    best->interface_index,
                     best->luid, best->destination, best->metric};
  }

  Result<InterfaceLuid> convert_interface_guid_to_luid(const AdapterGuid& guid) override {
    if (auto f = fault(Call::kConvertInterfaceGuidToLuid)) return *f;
    for (const auto& itf : interfaces_) {
      if (itf.guid == guid) return itf.luid;
    }
    return fail(Errc::kNotFound, "fake ConvertInterfaceGuidToLuid");
  }

  Result<std::uint32_t> convert_interface_luid_to_index(InterfaceLuid luid) override {
    if (auto f = fault(Call::kConvertInterfaceLuidToIndex)) return *f;
    if (const FakeInterface* itf = find(luid)) return itf->index;
    return fail(Errc::kNotFound, "fake ConvertInterfaceLuidToIndex");
  }

  Result<IpInterfaceState> get_ip_interface_entry(InterfaceLuid luid,
                                                  AddressFamily family) override {
    if (auto f = fault(Call::kGetIpInterfaceEntry)) return *f;
    const auto it = state_.interfaces.find({luid.value, family});
    if (it == state_.interfaces.end()) return fail(Errc::kNotFound, "fake GetIpInterfaceEntry");
    return it->second;
  }

  Status set_ip_interface_entry(InterfaceLuid luid, AddressFamily family,
                                const InterfaceMetric& metric) override {
    if (auto f = fault(Call::kSetIpInterfaceEntry)) return *f;
    const auto it = state_.interfaces.find({luid.value, family});
    if (it == state_.interfaces.end()) return fail(Errc::kNotFound, "fake SetIpInterfaceEntry");
    // Like Windows: a manual metric keeps the stored Metric when automatic is switched on.
    it->second.metric = metric;
    return ok();
  }

  Status set_ip_interface_mtu(InterfaceLuid luid, AddressFamily family,
                              std::uint32_t mtu) override {
    if (auto f = fault(Call::kSetIpInterfaceMtu)) return *f;
    const auto it = state_.interfaces.find({luid.value, family});
    if (it == state_.interfaces.end()) return fail(Errc::kNotFound, "fake SetIpInterfaceMtu");
    it->second.nl_mtu = mtu;
    return ok();
  }

  Status create_ip_forward_entry2(const RouteEntry& route) override {
    if (auto f = fault(Call::kCreateIpForwardEntry2)) return *f;
    if (find_route(route) != state_.routes.end()) {
      return fail(std::make_error_code(std::errc::file_exists), "fake CreateIpForwardEntry2");
    }
    state_.routes.push_back(route);
    return ok();
  }

  Status delete_ip_forward_entry2(const RouteEntry& route) override {
    if (auto f = fault(Call::kDeleteIpForwardEntry2)) return *f;
    const auto it = find_route(route);
    if (it == state_.routes.end()) return fail(Errc::kNotFound, "fake DeleteIpForwardEntry2");
    state_.routes.erase(it);
    return ok();
  }

 private:
  static std::size_t index(Call call) { return static_cast<std::size_t>(call); }

  std::optional<tl::unexpected<Error>> fault(Call call) {
    if (before_call) before_call(call);
    ++calls_[index(call)];
    ++total_calls_;
    if (always_[index(call)]) {
      return fail(always_[index(call)], fmt::format("fake call {} (always)", index(call)));
    }
    if (fail_from_ && total_calls_ >= *fail_from_) {
      return fail(fail_code_, fmt::format("fake call {} (dead)", index(call)));
    }
    if (fail_at_ && *fail_at_ == total_calls_) {
      fail_at_.reset();
      return fail(fail_code_, fmt::format("fake call {} (injected)", index(call)));
    }
    return std::nullopt;
  }

  const FakeInterface* find(InterfaceLuid luid) const {
    for (const auto& itf : interfaces_) {
      if (itf.luid == luid) return &itf;
    }
    return nullptr;
  }

  // Windows keys a route on interface, destination prefix and next hop.
  std::vector<RouteEntry>::iterator find_route(const RouteEntry& route) {
    for (auto it = state_.routes.begin(); it != state_.routes.end(); ++it) {
      if (it->luid == route.luid && it->destination == route.destination &&
          it->next_hop == route.next_hop) {
        return it;
      }
    }
    return state_.routes.end();
  }

  std::vector<FakeInterface> interfaces_;
  FakeState state_;
  std::array<std::size_t, kCallKinds> calls_{};
  std::array<std::error_code, kCallKinds> always_{};
  std::size_t total_calls_ = 0;
  std::optional<std::size_t> fail_at_;
  std::optional<std::size_t> fail_from_;
  std::error_code fail_code_;
};

}  // namespace lanparty::client_route::testing
