// SPDX-License-Identifier: MIT
// The crash journal's file format and the start-up repair. One line per entry, fixed field
// order, so a damaged file is detected (kCorruptFile) instead of half-applied.
#include "lanparty/client_route/route_journal.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"

namespace lanparty::client_route {
namespace {

// Bump when a line changes shape; an older binary then refuses the file instead of guessing.
constexpr std::string_view kHeader = "lanparty-route-journal 1";

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// metric luid=<u64> family=<4|6> automatic=<0|1> metric=<u32>
// route luid=<u64> index=<u32> dest=<prefix> via=<address> metric=<u32>
std::string format_entry(const JournalEntry& entry) {
  return std::visit(Overloaded{
                        [](const MetricJournalEntry& m) {
                          return fmt::format("metric luid={} family={} automatic={} metric={}",
                                             m.luid.value, to_string(m.family),
                                             m.original.use_automatic_metric ? 1 : 0,
                                             m.original.metric);
                        },
                        [](const HostRouteJournalEntry& r) {
                          return fmt::format("route luid={} index={} dest={} via={} metric={}",
                                             r.route.luid.value, r.route.interface_index,
                                             r.route.destination.to_string(),
                                             r.route.next_hop.to_string(), r.route.metric);
                        },
                    },
                    entry);
}

// Splits "key=value" tokens in order; nullopt when a key is missing or out of order.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : rest_(line) {}

  std::optional<std::string_view> word() {
    if (rest_.empty()) return std::nullopt;
    const std::size_t space = rest_.find(' ');
    const std::string_view w = rest_.substr(0, space);
    rest_ = space == std::string_view::npos ? std::string_view{} : rest_.substr(space + 1);
    if (w.empty()) return std::nullopt;
    return w;
  }
  std::optional<std::string_view> field(std::string_view key) {
    const auto w = word();
    if (!w || w->size() <= key.size() || w->substr(0, key.size()) != key ||
        (*w)[key.size()] != '=') {
      return std::nullopt;
    }
    return w->substr(key.size() + 1);
  }
  template <class T>
  std::optional<T> number(std::string_view key) {
    const auto text = field(key);
    if (!text) return std::nullopt;
    T value{};
    const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || ptr != text->data() + text->size()) return std::nullopt;
    return value;
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

std::optional<JournalEntry> parse_entry(std::string_view line) {
  LineReader in(line);
  const auto kind = in.word();
  if (kind == "metric") {
    const auto luid = in.number<std::uint64_t>("luid");
    const auto family = in.number<unsigned>("family");
    const auto automatic = in.number<unsigned>("automatic");
    const auto metric = in.number<std::uint32_t>("metric");
    if (!luid || !family || (*family != 4 && *family != 6) || !automatic || *automatic > 1 ||
        !metric || !in.done()) {
      return std::nullopt;
    }
    return MetricJournalEntry{
        InterfaceLuid{*luid},
        *family == 4 ? AddressFamily::kIpv4 : AddressFamily::kIpv6,
        InterfaceMetric{*automatic == 1, *metric},
    };
  }
  if (kind == "route") {
    const auto luid = in.number<std::uint64_t>("luid");
    const auto index = in.number<std::uint32_t>("index");
    const auto dest_text = in.field("dest");
    const auto via_text = in.field("via");
    const auto metric = in.number<std::uint32_t>("metric");
    if (!luid || !index || !dest_text || !via_text || !metric || !in.done()) return std::nullopt;
    auto dest = IpPrefix::parse(*dest_text);
    auto via = IpAddress::parse(*via_text);
    if (!dest || !via || dest->address.family() != via->family()) return std::nullopt;
    return HostRouteJournalEntry{RouteEntry{*dest, *via, InterfaceLuid{*luid}, *index, *metric}};
  }
  return std::nullopt;
}

bool same_key(const JournalEntry& a, const JournalEntry& b) {
  const auto* ma = std::get_if<MetricJournalEntry>(&a);
  const auto* mb = std::get_if<MetricJournalEntry>(&b);
  if (ma && mb) return ma->luid == mb->luid && ma->family == mb->family;
  return a == b;
}

std::string describe_entry(const JournalEntry& entry) { return format_entry(entry); }

}  // namespace

Result<RouteJournal> RouteJournal::open(std::filesystem::path path) {
  RouteJournal journal(std::move(path));
  std::error_code ec;
  if (!std::filesystem::exists(journal.path_, ec)) {
    if (ec) return fail(ec, fmt::format("route journal {}", journal.path_.string()));
    return journal;
  }
  std::ifstream in(journal.path_, std::ios::binary);
  if (!in) {
    return fail(std::make_error_code(std::errc::io_error),
                fmt::format("open route journal {}", journal.path_.string()));
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto corrupt = [&](std::size_t line_no) {
    return fail(Errc::kCorruptFile,
                fmt::format("route journal {} line {}: repair by hand, then delete the file",
                            journal.path_.string(), line_no));
  };
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    // Every line, the last included, ends in '\n': a missing one means a torn write.
    if (end == std::string::npos) return corrupt(line_no + 1);
    const std::string_view line(text.data() + pos, end - pos);
    ++line_no;
    pos = end + 1;
    if (line_no == 1) {
      if (line != kHeader) return corrupt(line_no);
      continue;
    }
    auto entry = parse_entry(line);
    if (!entry) return corrupt(line_no);
    journal.entries_.push_back(*entry);
  }
  if (line_no == 0) return corrupt(1);
  return journal;
}

Status RouteJournal::save() const {
  std::error_code ec;
  if (entries_.empty()) {
    std::filesystem::remove(path_, ec);
    if (ec) return fail(ec, fmt::format("remove route journal {}", path_.string()));
    return ok();
  }
  std::string text(kHeader);
  text += '\n';
  for (const auto& entry : entries_) {
    text += format_entry(entry);
    text += '\n';
  }
  // Durable: the journal is what undoes our route changes after a crash or a power cut. On
  // Windows only SYSTEM and Administrators may change it (journal_store.hpp says why).
  if (auto st = write_file_atomically(path_, text, FileAccess::kAdministrators); !st) {
    return fail(st.error().code, fmt::format("save route journal: {}", st.error().context));
  }
  return ok();
}

Result<RouteJournal::Recorded> RouteJournal::record(const JournalEntry& entry) {
  for (const auto& existing : entries_) {
    if (same_key(existing, entry)) return Recorded{existing, false};
  }
  entries_.push_back(entry);
  if (auto saved = save(); !saved) {
    entries_.pop_back();
    return fail(saved.error().code, saved.error().context);
  }
  return Recorded{entry, true};
}

Status RouteJournal::erase(const JournalEntry& entry) {
  const auto it = std::find(entries_.begin(), entries_.end(), entry);
  if (it == entries_.end()) return ok();
  const auto index = static_cast<std::size_t>(it - entries_.begin());
  const JournalEntry removed = *it;
  entries_.erase(it);
  if (auto saved = save(); !saved) {
    entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(index), removed);
    return saved;
  }
  return ok();
}

Result<RepairReport> repair_from_journal(IpHelperApi& api, RouteJournal& journal,
                                         const obs::Logger& log) {
  RepairReport report;
  // Newest first: the reverse of the order the changes were made in.
  const std::vector<JournalEntry> pending(journal.entries().rbegin(), journal.entries().rend());
  for (const auto& entry : pending) {
    const Status undone = std::visit(
        Overloaded{
            [&](const MetricJournalEntry& m) -> Status {
              return api.set_ip_interface_entry(m.luid, m.family, m.original);
            },
            [&](const HostRouteJournalEntry& r) -> Status {
              auto deleted = api.delete_ip_forward_entry2(r.route);
              if (!deleted && deleted.error().code == make_error_code(Errc::kNotFound)) {
                return ok();  // gone already (reboot, adapter removed): nothing left to undo
              }
              return deleted;
            },
        },
        entry);
    const std::string what = describe_entry(entry);
    if (!undone) {
      ++report.failed;
      const std::string error = undone.error().describe();
      log.error("route.journal_repair_failed", {{"entry", what}, {"error", error}});
      continue;
    }
    if (auto erased = journal.erase(entry); !erased) {
      return fail(erased.error().code, erased.error().context);
    }
    ++report.restored;
    log.info("route.journal_repaired", {{"entry", what}});
  }
  return report;
}

}  // namespace lanparty::client_route
