// SPDX-License-Identifier: MIT
// Crash- and power-safe file replacement for the route journal; one implementation per OS.
#pragma once

#include <filesystem>
#include <string_view>

#include "lanparty/base/result.hpp"

namespace lanparty::client_route::detail {

// Replaces `path` with `bytes` so that after a crash or a power cut it holds the old contents
// or the new ones, whole: writes a sibling "<path>.tmp", flushes it to the disk, renames it
// over `path` and flushes the rename. On error `path` is untouched and the sibling removed.
[[nodiscard]] Status replace_file_durably(const std::filesystem::path& path,
                                          std::string_view bytes);

}  // namespace lanparty::client_route::detail
