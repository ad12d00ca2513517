// SPDX-License-Identifier: MIT
// Structured events: a stable dotted name, a level, typed fields (STYLE.md section 6).
// The core emits through a Logger; only binaries and tests choose the Sink.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace lanparty::obs {

// error = operator must act; warn = degraded, self-recovered; info = lifecycle;
// debug = per frame, off by default.
enum class Level : std::uint8_t { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

[[nodiscard]] std::string_view to_string(Level level) noexcept;
// Accepts "debug", "info", "warn", "error", "off".
[[nodiscard]] std::optional<Level> parse_level(std::string_view text) noexcept;

using FieldValue = std::variant<std::int64_t, std::uint64_t, double, bool, std::string_view>;

// One key/value of an event. Views only: valid for the duration of the log call.
struct Field {
  std::string_view key;
  FieldValue value;

  Field(std::string_view k, bool v) : key(k), value(v) {}
  template <std::signed_integral I>
  Field(std::string_view k, I v) : key(k), value(static_cast<std::int64_t>(v)) {}
  template <std::unsigned_integral I>
  requires(!std::same_as<I, bool>) Field(std::string_view k, I v)
      : key(k), value(static_cast<std::uint64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
};

struct Event {
  Level level;
  std::string_view name;  // stable dotted name: "relay.peer_admitted"
  std::span<const Field> fields;
};

// Receives events. Implementations must be safe to call from any thread and never throw.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(const Event& event) noexcept = 0;
};

// Cheap handle: a sink pointer and a threshold. A Logger with no sink drops everything,
// so library code can always log.
class Logger {
 public:
  Logger() = default;
  explicit Logger(Sink* sink, Level min_level = Level::kInfo) noexcept
      : sink_(sink), min_level_(min_level) {}

  // Check before building expensive fields (per-frame events).
  [[nodiscard]] bool enabled(Level level) const noexcept {
    return sink_ != nullptr && level >= min_level_ && level != Level::kOff;
  }
  void log(Level level, std::string_view name, std::initializer_list<Field> fields) const noexcept {
    if (enabled(level)) sink_->write(Event{level, name, std::span(fields.begin(), fields.size())});
  }
  void debug(std::string_view name, std::initializer_list<Field> fields = {}) const noexcept {
    log(Level::kDebug, name, fields);
  }
  void info(std::string_view name, std::initializer_list<Field> fields = {}) const noexcept {
    log(Level::kInfo, name, fields);
  }
  void warn(std::string_view name, std::initializer_list<Field> fields = {}) const noexcept {
    log(Level::kWarn, name, fields);
  }
  void error(std::string_view name, std::initializer_list<Field> fields = {}) const noexcept {
    log(Level::kError, name, fields);
  }

  [[nodiscard]] Level min_level() const noexcept { return min_level_; }
  [[nodiscard]] Sink* sink() const noexcept { return sink_; }

 private:
  Sink* sink_ = nullptr;
  Level min_level_ = Level::kInfo;
};

}  // namespace lanparty::obs
