// SPDX-License-Identifier: MIT
// The relay's --state-dir: private to the relay's user, so nobody else can swap the
// database for one that hands rooms to another key.
#pragma once

#include <filesystem>

#include "lanparty/base/result.hpp"

namespace lanparty::directory {

// Creates `dir` with mode 0700 if it is missing (missing parents get the default mode).
// An existing `dir` must be a real directory (not a symlink), owned by this process's
// effective user and not writable by group or others; it is not changed. Errors:
// kInvalidArgument with a sentence saying what is wrong and the command that fixes it, or
// the OS error with the path.
[[nodiscard]] Status ensure_state_dir(const std::filesystem::path& dir);

}  // namespace lanparty::directory
