// SPDX-License-Identifier: MIT
// ensure_state_dir: create 0700, or check an existing directory's type, owner and mode.
#include "lanparty/directory/state_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::directory {
namespace {

// lstat("link/") follows the link, so a trailing slash would hide a symlink.
std::string without_trailing_slashes(const std::filesystem::path& dir) {
  std::string s = dir.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

Status create(const std::string& dir) {
  const std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return fail(ec, fmt::format("creating {} (parent of the state dir)", parent.string()));
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return ok();  // created meanwhile: checked like any existing dir
    return fail_errno(errno, fmt::format("creating state dir {}", dir));
  }
  // mkdir applies the umask, which may have taken the owner's own bits; set 0700 exactly.
  if (::chmod(dir.c_str(), 0700) != 0) {
    return fail_errno(errno, fmt::format("chmod 700 {}", dir));
  }
  return ok();
}

}  // namespace

Status ensure_state_dir(const std::filesystem::path& path) {
  const std::string dir = without_trailing_slashes(path);
  if (dir.empty()) return fail(Errc::kInvalidArgument, "state dir: empty path");

  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return fail_errno(errno, fmt::format("lstat state dir {}", dir));
    if (Status s = create(dir); !s) return s;
    if (::lstat(dir.c_str(), &st) != 0) {
      return fail_errno(errno, fmt::format("lstat state dir {}", dir));
    }
  }

  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    const std::filesystem::path target = std::filesystem::read_symlink(dir, ec);
    return fail(Errc::kInvalidArgument,
                fmt::format("state dir {} is a symbolic link (to {}); the relay refuses links "
                            "there, since whoever can change the link can swap the room "
                            "records: pass the real directory instead",
                            dir, ec ? std::string("?") : target.string()));
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("state dir {} exists but is not a directory: remove it or pass "
                            "another --state-dir",
                            dir));
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    return fail(Errc::kInvalidArgument,
                fmt::format("state dir {} belongs to uid {}, not to the relay's user (uid {}): "
                            "chown {} {}, or run the relay as its owner",
                            dir, st.st_uid, me, me, dir));
  }
  const mode_t writable = st.st_mode & (S_IWGRP | S_IWOTH);
  if (writable != 0) {
    const char* who = writable == (S_IWGRP | S_IWOTH) ? "group and others"
                      : (writable & S_IWGRP) != 0     ? "its group"
                                                      : "others";
    return fail(Errc::kInvalidArgument,
                fmt::format("state dir {} is writable by {} (mode {:04o}), who could replace "
                            "the room records: chmod 700 {}",
                            dir, who, st.st_mode & 07777, dir));
  }
  return ok();
}

}  // namespace lanparty::directory
