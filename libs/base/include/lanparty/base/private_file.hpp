// SPDX-License-Identifier: MIT
// Files that hold secrets or state others must not change (keys, identities, the route
// journal): created with their final permissions, never through a link, replaced atomically
// and durably. One implementation per OS (src/linux/, src/win/).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"

namespace lanparty {

// Who may open a file written here.
enum class FileAccess {
  // POSIX: mode 0600. Windows: a protected DACL (nothing inherited) giving full control to
  // this process's user, SYSTEM and Administrators.
  kPrivate,
  // POSIX: mode 0600, as kPrivate. Windows: owner Administrators, a protected DACL giving full
  // control to SYSTEM and Administrators and read to Users; needs an elevated process (the
  // owner cannot be set otherwise), so a program without Administrator rights can neither
  // create nor change the file.
  kAdministrators,
  // POSIX: mode 0644 (less what the umask takes). Windows: the directory's inherited ACL. For
  // files that are public but must still be written safely (a certificate clients pin).
  kPublic,
};

// What to do when `path` already exists.
enum class IfExists {
  kReplace,  // the new contents take its place, atomically
  kKeep,     // leave it alone and fail with std::errc::file_exists (create-once files)
};

// Writes `bytes` to `path` so that a crash or power cut leaves the old contents or the new
// ones, whole, and no moment exists in which the file has wider permissions than `access`:
// the temporary sibling temp_path_for(path) is created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW
// with its final mode; CREATE_NEW with its final DACL on Windows), written, flushed to disk,
// then renamed over `path` (kReplace) or linked to it (kKeep: never replaces, so two racing
// writers keep one file), and the directory is flushed. A leftover sibling of a dead process
// with this process's id is removed first. Errors: kInvalidArgument when `path` is a symbolic
// link or reparse point (it is refused and its target left untouched); std::errc::file_exists
// for kKeep; otherwise the OS error with what was attempted. On every error the temporary
// sibling is gone, and `path` is as it was unless only the final directory flush failed.
// Not for concurrent writers of one path inside one process.
[[nodiscard]] Status write_file_atomically(const std::filesystem::path& path,
                                           std::string_view bytes,
                                           FileAccess access = FileAccess::kPrivate,
                                           IfExists if_exists = IfExists::kReplace);

// write_file_atomically(path, bytes, FileAccess::kPrivate, IfExists::kReplace).
[[nodiscard]] inline Status write_private_file(const std::filesystem::path& path,
                                               std::string_view bytes) {
  return write_file_atomically(path, bytes, FileAccess::kPrivate, IfExists::kReplace);
}

// Appends `bytes` to `path` (created with kPrivate permissions if missing) and flushes it to
// disk. Refuses (kInvalidArgument, with the fix) what read_private_file refuses, so nothing
// is appended to a file others can read. For small logs many commands append to.
[[nodiscard]] Status append_private_file(const std::filesystem::path& path, std::string_view bytes);

// The whole of `path`, opened without following a final symbolic link. POSIX: refuses
// (kInvalidArgument, a sentence with the fix, e.g. "chmod 600 FILE") a symbolic link, anything
// but a regular file, a file group or others may read or write, and a file owned by another
// user than this process's effective one. Windows: refuses a reparse point or a directory;
// the ACL is not checked here. kNotFound when it does not exist; kTooLarge above `max_bytes`.
[[nodiscard]] Result<std::string> read_private_file(const std::filesystem::path& path,
                                                    std::size_t max_bytes);

// "<path>.tmp-<process id>": the sibling write_file_atomically creates first.
[[nodiscard]] std::filesystem::path temp_path_for(const std::filesystem::path& path);

}  // namespace lanparty
