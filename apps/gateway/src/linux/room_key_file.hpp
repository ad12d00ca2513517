// SPDX-License-Identifier: MIT
// The host's room key on disk (PROTOCOL.md section 7): one line
// "lanparty-room-key-v1 <base64url seed>", mode 0600 from the moment it exists. Whoever reads
// it owns the room, so a file others can read is refused, never silently fixed.
#pragma once

#include <filesystem>

#include "lanparty/base/result.hpp"
#include "lanparty/quic/room_key.hpp"

namespace lanparty::gateway {

// Reads the key at `path`, or, if there is none, generates one and writes it there: a
// temporary file made with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, written, fsync'ed, then
// linked into place (so a crash never leaves a half key and two gateways racing keep one
// key) and the directory fsync'ed. Refuses a symlink, a file group or others may read or
// write, a file owned by another user, and a malformed file, each with how to fix it.
// `created` tells the caller whether a new key was made.
[[nodiscard]] Result<quic::RoomKey> load_or_create_room_key(const std::filesystem::path& path,
                                                            bool* created = nullptr);

// Creates `dir` (and parents) if missing, the last one with mode 0700; refuses a symlink or
// a directory others can write.
[[nodiscard]] Status ensure_private_dir(const std::filesystem::path& dir);

}  // namespace lanparty::gateway
