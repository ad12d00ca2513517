// SPDX-License-Identifier: MIT
#include "lanparty/obs/sinks.hpp"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace lanparty::obs {
namespace {

// Sinks are the I/O edge of obs, so the wall clock is read here and nowhere in the core.
std::string utc_timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = time_point_cast<seconds>(now);
  const auto millis = duration_cast<milliseconds>(now - secs).count();
  const std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_json_value(std::string& out, const FieldValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          append_json_string(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else {
          out += fmt::format("{}", v);
        }
      },
      value);
}

bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  }
  return false;
}

void append_text_value(std::string& out, const FieldValue& value) {
  if (const auto* s = std::get_if<std::string_view>(&value)) {
    if (needs_quotes(*s)) {
      append_json_string(out, *s);
    } else {
      out += *s;
    }
    return;
  }
  append_json_value(out, value);
}

std::string render_text(const Event& event) {
  std::string line = utc_timestamp();
  line += fmt::format(" {:<5} {}", to_string(event.level), event.name);
  for (const Field& f : event.fields) {
    line.push_back(' ');
    line += f.key;
    line.push_back('=');
    append_text_value(line, f.value);
  }
  line.push_back('\n');
  return line;
}

std::string render_json(const Event& event, bool with_timestamp) {
  std::string line = "{";
  if (with_timestamp) {
    line += "\"ts\":";
    append_json_string(line, utc_timestamp());
    line.push_back(',');
  }
  line += "\"level\":";
  append_json_string(line, to_string(event.level));
  line += ",\"event\":";
  append_json_string(line, event.name);
  for (const Field& f : event.fields) {
    line.push_back(',');
    append_json_string(line, f.key);
    line.push_back(':');
    append_json_value(line, f.value);
  }
  line.push_back('}');
  return line;
}

}  // namespace

std::string to_json(const Event& event) { return render_json(event, false); }

void TextSink::write(const Event& event) noexcept {
  try {
    const std::string line = render_text(event);
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  } catch (...) {
    // A log line that cannot be built is lost; logging must never take the process down.
  }
}

void JsonLinesSink::write(const Event& event) noexcept {
  try {
    std::string line = render_json(event, true);
    line.push_back('\n');
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  } catch (...) {
  }
}

std::optional<MemorySink::OwnedValue> MemorySink::Record::field(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::string MemorySink::Record::text(std::string_view key) const {
  const auto value = field(key);
  if (!value) return {};
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else {
          return fmt::format("{}", v);
        }
      },
      *value);
}

void MemorySink::write(const Event& event) noexcept {
  try {
    Record record{event.level, std::string(event.name), {}};
    record.fields.reserve(event.fields.size());
    for (const Field& f : event.fields) {
      OwnedValue owned = std::visit(
          [](const auto& v) -> OwnedValue {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string_view>) {
              return std::string(v);
            } else {
              return v;
            }
          },
          f.value);
      record.fields.emplace_back(std::string(f.key), std::move(owned));
    }
    std::lock_guard lock(mutex_);
    records_.push_back(std::move(record));
  } catch (...) {
  }
}

std::vector<MemorySink::Record> MemorySink::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::vector<MemorySink::Record> MemorySink::named(std::string_view name) const {
  std::lock_guard lock(mutex_);
  std::vector<Record> out;
  for (const auto& r : records_) {
    if (r.name == name) out.push_back(r);
  }
  return out;
}

std::size_t MemorySink::count(std::string_view name) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& r : records_) n += (r.name == name) ? 1 : 0;
  return n;
}

void MemorySink::clear() {
  std::lock_guard lock(mutex_);
  records_.clear();
}

}  // namespace lanparty::obs
