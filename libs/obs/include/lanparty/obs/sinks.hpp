// SPDX-License-Identifier: MIT
// The sinks: human text and JSON lines to a stdio stream (stderr in binaries), and an
// in-memory sink for tests to assert on.
#pragma once

#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "lanparty/obs/log.hpp"

namespace lanparty::obs {

// "2026-11-25T10:00:00.123Z info  relay.peer_admitted room=ROOM1 peer_id=2"
// Strings that contain spaces, quotes or '=' are quoted.
class TextSink final : public Sink {
 public:
  explicit TextSink(std::FILE* out = stderr) noexcept : out_(out) {}
  void write(const Event& event) noexcept override;

 private:
  std::mutex mutex_;
  std::FILE* out_;
};

// One JSON object a line: {"ts":"…","level":"info","event":"relay.peer_admitted","room":"ROOM1"}.
class JsonLinesSink final : public Sink {
 public:
  explicit JsonLinesSink(std::FILE* out = stderr) noexcept : out_(out) {}
  void write(const Event& event) noexcept override;

 private:
  std::mutex mutex_;
  std::FILE* out_;
};

// Keeps owned copies of every event, for tests.
class MemorySink final : public Sink {
 public:
  using OwnedValue = std::variant<std::int64_t, std::uint64_t, double, bool, std::string>;
  struct Record {
    Level level;
    std::string name;
    std::vector<std::pair<std::string, OwnedValue>> fields;

    // The field's value, or nullopt when the event has no such field.
    [[nodiscard]] std::optional<OwnedValue> field(std::string_view key) const;
    // Convenience for tests: the field rendered as text ("2", "true", "ROOM1").
    [[nodiscard]] std::string text(std::string_view key) const;
  };

  void write(const Event& event) noexcept override;

  [[nodiscard]] std::vector<Record> records() const;
  [[nodiscard]] std::vector<Record> named(std::string_view name) const;
  [[nodiscard]] std::size_t count(std::string_view name) const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<Record> records_;
};

// Renders one event as the JSON object JsonLinesSink writes (without the timestamp), for
// reuse by tests and tools.
[[nodiscard]] std::string to_json(const Event& event);

}  // namespace lanparty::obs
