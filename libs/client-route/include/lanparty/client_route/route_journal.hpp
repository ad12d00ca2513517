// SPDX-License-Identifier: MIT
// Crash journal: the original OS state is written here before a guard changes it, so the
// next start can undo what a crashed run left (wireguard-windows removes stale state likewise).
#pragma once

#include <cstddef>
#include <filesystem>
#include <variant>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/client_route/ip_helper_api.hpp"
#include "lanparty/client_route/types.hpp"
#include "lanparty/obs/log.hpp"

namespace lanparty::client_route {

// An interface metric as it was before we changed it.
struct MetricJournalEntry {
  InterfaceLuid luid;
  AddressFamily family = AddressFamily::kIpv4;
  InterfaceMetric original;
  friend bool operator==(const MetricJournalEntry&, const MetricJournalEntry&) = default;
};

// A host route we are adding (undo: delete it).
struct HostRouteJournalEntry {
  RouteEntry route;
  friend bool operator==(const HostRouteJournalEntry&, const HostRouteJournalEntry&) = default;
};

using JournalEntry = std::variant<MetricJournalEntry, HostRouteJournalEntry>;

// The journal file, loaded at open() and rewritten whole (temp file + rename) on each change,
// so a crash leaves either the old or the new contents, never half a line. No journal file
// means nothing to repair. Guards keep a pointer: do not move a RouteJournal that guards use,
// and keep it alive longer than they are. Not thread-safe.
class RouteJournal {
 public:
  // Reads `path` if it exists. Errors: kCorruptFile (unparsable contents; the file is left for
  // an operator), or the OS error reading it.
  [[nodiscard]] static Result<RouteJournal> open(std::filesystem::path path);

  RouteJournal(RouteJournal&&) noexcept = default;
  RouteJournal& operator=(RouteJournal&&) noexcept = default;
  RouteJournal(const RouteJournal&) = delete;
  RouteJournal& operator=(const RouteJournal&) = delete;

  struct Recorded {
    JournalEntry entry;  // the entry now in force
    bool added = false;  // false: an entry with the same key was already there
  };
  // Persists `entry`. For a metric whose (luid, family) is already journaled (a repair that
  // failed earlier), the older entry wins and is returned: it holds the state before any of
  // our runs touched the interface. The same for an identical host route.
  [[nodiscard]] Result<Recorded> record(const JournalEntry& entry);
  // Removes `entry` (no-op when absent) and persists.
  [[nodiscard]] Status erase(const JournalEntry& entry);

  // Oldest first.
  [[nodiscard]] const std::vector<JournalEntry>& entries() const noexcept { return entries_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  explicit RouteJournal(std::filesystem::path path) : path_(std::move(path)) {}
  [[nodiscard]] Status save() const;

  std::filesystem::path path_;
  std::vector<JournalEntry> entries_;
};

struct RepairReport {
  std::size_t restored = 0;  // entries undone and erased
  std::size_t failed = 0;    // entries whose undo failed; they stay for the next start
};

// Undoes every journaled change, newest first: metrics are set back to the original, host
// routes deleted (an already missing route counts as undone). Call at start, before any guard.
// Per-entry failures are logged (error) and counted, not returned; the error value means the
// journal itself could not be rewritten.
[[nodiscard]] Result<RepairReport> repair_from_journal(IpHelperApi& api, RouteJournal& journal,
                                                       const obs::Logger& log = {});

}  // namespace lanparty::client_route
