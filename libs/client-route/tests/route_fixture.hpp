// SPDX-License-Identifier: MIT
// Shared test scene: a PC with one Ethernet adapter behind a home router and a TAP adapter,
// a scratch directory for journals, and a way to "crash" with a guard still applied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fakes/fake_ip_helper.hpp"
#include "lanparty/client_route/route_journal.hpp"
#include "lanparty/client_route/types.hpp"

namespace lanparty::client_route::testing {

// PROTOCOL.md's default --max-mtu, the MTU a room's TAP adapter is set to.
inline constexpr std::uint32_t kRoomMtu = 1380;

inline IpAddress ip(std::string_view text) {
  auto parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(IpAddress{});
}

inline IpPrefix prefix(std::string_view text) {
  auto parsed = IpPrefix::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(IpPrefix{});
}

inline AdapterGuid guid(std::string_view text) {
  auto parsed = AdapterGuid::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(AdapterGuid{});
}

inline constexpr InterfaceLuid kEthernetLuid{0x0006'0000'0100'0000};
inline constexpr std::uint32_t kEthernetIndex = 7;
inline constexpr InterfaceLuid kTapLuid{0x0006'0000'0200'0000};
inline constexpr std::uint32_t kTapIndex = 12;
inline constexpr std::string_view kTapGuid = "{3F1F2C4A-5B6D-4E7F-8091-A2B3C4D5E6F7}";
inline constexpr std::string_view kRelay = "198.51.100.7";
inline constexpr std::string_view kRelay6 = "2001:db8:100::7";

// Ethernet: 192.168.1.20/24 and 2001:db8:1::20, default routes via the home router, automatic
// metric 25. TAP: automatic metric 35, no routes yet. Both: NlMtu 1500 in each family (the
// Ethernet default, which TAP-Windows also reports).
inline void make_home_network(FakeIpHelper& fake) {
  fake.add_interface(FakeInterface{
      .guid = guid("{11111111-2222-3333-4444-555555555555}"),
      .luid = kEthernetLuid,
      .index = kEthernetIndex,
      .ipv4 = ip("192.168.1.20"),
      .ipv6 = ip("2001:db8:1::20"),
      .v4_state = {.metric = {.use_automatic_metric = true, .metric = 25}, .nl_mtu = 1500},
      .v6_state = {.metric = {.use_automatic_metric = true, .metric = 25}, .nl_mtu = 1500},
  });
  fake.add_interface(FakeInterface{
      .guid = guid(kTapGuid),
      .luid = kTapLuid,
      .index = kTapIndex,
      .ipv4 = ip("10.77.0.2"),
      .ipv6 = ip("fd00:77::2"),
      .v4_state = {.metric = {.use_automatic_metric = true, .metric = 35}, .nl_mtu = 1500},
      .v6_state = {.metric = {.use_automatic_metric = true, .metric = 35}, .nl_mtu = 1500},
  });
  fake.add_route(
      RouteEntry{prefix("0.0.0.0/0"), ip("192.168.1.1"), kEthernetLuid, kEthernetIndex, 0});
  fake.add_route(
      RouteEntry{prefix("192.168.1.0/24"), ip("0.0.0.0"), kEthernetLuid, kEthernetIndex, 256});
  fake.add_route(RouteEntry{prefix("::/0"), ip("fe80::1"), kEthernetLuid, kEthernetIndex, 0});
  fake.add_route(RouteEntry{prefix("10.77.0.0/24"), ip("0.0.0.0"), kTapLuid, kTapIndex, 256});
}

// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("lanparty-client-route-{:08x}{:08x}", random(), random());
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path journal() const { return path_ / "route-journal.txt"; }

 private:
  std::filesystem::path path_;
};

inline RouteJournal open_journal(const std::filesystem::path& path) {
  auto journal = RouteJournal::open(path);
  if (!journal) {
    ADD_FAILURE() << journal.error().describe();
    std::abort();
  }
  return std::move(*journal);
}

// Simulates the process dying with `guard` applied: the guard's destructor never runs, as
// after a crash. The object is moved into raw storage that is freed without destroying it;
// the guard holds no heap memory, so nothing leaks.
template <class Guard>
void crash_with(Guard&& guard) {
  auto storage = std::make_unique<std::byte[]>(sizeof(std::remove_cvref_t<Guard>));
  ::new (static_cast<void*>(storage.get())) std::remove_cvref_t<Guard>(std::move(guard));
}

}  // namespace lanparty::client_route::testing
