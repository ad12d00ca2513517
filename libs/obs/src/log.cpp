// SPDX-License-Identifier: MIT
#include "lanparty/obs/log.hpp"

namespace lanparty::obs {

std::string_view to_string(Level level) noexcept {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "unknown";
}

std::optional<Level> parse_level(std::string_view text) noexcept {
  for (Level level : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff}) {
    if (text == to_string(level)) return level;
  }
  if (text == "warning") return Level::kWarn;
  return std::nullopt;
}

}  // namespace lanparty::obs
