// SPDX-License-Identifier: MIT
// private_file.hpp with POSIX calls: open(O_CREAT|O_EXCL|O_NOFOLLOW) with the final mode,
// write, fsync, rename (or link), fsync the directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "lanparty/base/defer.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"

namespace lanparty {
namespace {

Status write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(errno, fmt::format("write {}", path.string()));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

tl::unexpected<Error> refuse_symlink(const std::filesystem::path& path) {
  return fail(Errc::kInvalidArgument,
              fmt::format("{} is a symbolic link; refusing to follow it (whoever can change the "
                          "link would choose where this goes): give the real file's path",
                          path.string()));
}

// A rename or link is durable only once the directory holding the name is flushed too.
Status fsync_directory_of(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, fmt::format("open {} to flush it", dir.string()));
  Defer close_fd([fd] { ::close(fd); });
  // EINVAL: this file system cannot flush a directory (it has nothing to flush, then).
  if (::fsync(fd) != 0 && errno != EINVAL) {
    return fail_errno(errno, fmt::format("fsync {}", dir.string()));
  }
  return ok();
}

// The checks read_private_file and append_private_file share, on an open descriptor.
Status check_private(int fd, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail_errno(errno, fmt::format("stat {}", path.string()));
  if (!S_ISREG(st.st_mode)) {
    return fail(Errc::kInvalidArgument, fmt::format("{} is not a regular file", path.string()));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{} can be read or written by others (mode {:04o}); it must be "
                            "private to its owner. Run: chmod 600 {}",
                            path.string(), st.st_mode & 07777, path.string()));
  }
  if (st.st_uid != ::geteuid()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{} belongs to another user (uid {}, this process runs as uid {}): "
                            "run as its owner, or chown {} {}",
                            path.string(), st.st_uid, ::geteuid(), ::geteuid(), path.string()));
  }
  return ok();
}

}  // namespace

std::filesystem::path temp_path_for(const std::filesystem::path& path) {
  std::filesystem::path temp = path;
  temp += fmt::format(".tmp-{}", ::getpid());
  return temp;
}

Status write_file_atomically(const std::filesystem::path& path, std::string_view bytes,
                             FileAccess access, IfExists if_exists) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) return refuse_symlink(path);
    if (if_exists == IfExists::kKeep) {
      return fail(std::make_error_code(std::errc::file_exists),
                  fmt::format("create {}", path.string()));
    }
  } else if (errno != ENOENT) {
    return fail_errno(errno, fmt::format("stat {}", path.string()));
  }

  const std::filesystem::path temp = temp_path_for(path);
  // The final mode from the start: the umask can only narrow it, and nothing chmods later.
  const mode_t mode = access == FileAccess::kPublic ? 0644 : 0600;
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::open(temp.c_str(), flags, mode);
  if (fd < 0 && errno == EEXIST) {
    // No live process but this one has our id: the sibling is a dead run's leftover. unlink()
    // removes a link itself, never its target; a directory there makes it fail.
    if (::unlink(temp.c_str()) != 0) {
      return fail_errno(errno, fmt::format("remove the leftover {}", temp.string()));
    }
    fd = ::open(temp.c_str(), flags, mode);
  }
  if (fd < 0) return fail_errno(errno, fmt::format("create {}", temp.string()));
  bool temp_exists = true;
  Defer remove_temp([&] {
    if (temp_exists) ::unlink(temp.c_str());
  });
  {
    bool fd_open = true;
    Defer close_fd([&] {
      if (fd_open) ::close(fd);
    });
    if (auto st_write = write_all(fd, bytes, temp); !st_write) return st_write;
    if (::fsync(fd) != 0) return fail_errno(errno, fmt::format("fsync {}", temp.string()));
    fd_open = false;
    if (::close(fd) != 0) return fail_errno(errno, fmt::format("close {}", temp.string()));
  }
  if (if_exists == IfExists::kReplace) {
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      return fail_errno(errno, fmt::format("rename {} to {}", temp.string(), path.string()));
    }
    temp_exists = false;
  } else {
    // link() never replaces: of two racing writers exactly one creates `path`.
    if (::link(temp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        return fail(std::make_error_code(std::errc::file_exists),
                    fmt::format("create {}", path.string()));
      }
      return fail_errno(errno, fmt::format("link {} to {}", temp.string(), path.string()));
    }
  }
  return fsync_directory_of(path);
}

Status append_private_file(const std::filesystem::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == ELOOP) return refuse_symlink(path);
    return fail_errno(errno, fmt::format("open {} to append", path.string()));
  }
  Defer close_fd([fd] { ::close(fd); });
  if (auto st = check_private(fd, path); !st) return st;
  if (auto st = write_all(fd, bytes, path); !st) return st;
  if (::fsync(fd) != 0) return fail_errno(errno, fmt::format("fsync {}", path.string()));
  // The file may be new: its name must reach the disk too.
  return fsync_directory_of(path);
}

Result<std::string> read_private_file(const std::filesystem::path& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(Errc::kNotFound, fmt::format("read {}", path.string()));
    if (errno == ELOOP) return refuse_symlink(path);
    return fail_errno(errno, fmt::format("open {}", path.string()));
  }
  Defer close_fd([fd] { ::close(fd); });
  if (auto st = check_private(fd, path); !st) return tl::unexpected(st.error());
  std::string data;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(errno, fmt::format("read {}", path.string()));
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > max_bytes) {
      return fail(Errc::kTooLarge,
                  fmt::format("{} is larger than {} bytes", path.string(), max_bytes));
    }
  }
  return data;
}

}  // namespace lanparty
