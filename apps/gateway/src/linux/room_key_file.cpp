// SPDX-License-Identifier: MIT
#include "room_key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "lanparty/base/defer.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"

namespace lanparty::gateway {
namespace {

Status write_all(int fd, std::string_view text, const std::string& what) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(errno, what);
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

Result<quic::RoomKey> read_key(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("room key {} is a symbolic link; point --room-key at the file "
                              "itself",
                              path.string()));
    }
    return fail_errno(errno, fmt::format("open room key {}", path.string()));
  }
  Defer close_fd([fd] { ::close(fd); });
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail_errno(errno, fmt::format("stat {}", path.string()));
  if (!S_ISREG(st.st_mode)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("room key {} is not a regular file", path.string()));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return fail(Errc::kInvalidArgument,
                fmt::format("room key {} can be read by others (mode {:o}): whoever reads it "
                            "owns your room. Run: chmod 600 {}",
                            path.string(), st.st_mode & 07777, path.string()));
  }
  if (st.st_uid != ::geteuid()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("room key {} belongs to another user (uid {}); run the gateway as "
                            "its owner or chown it",
                            path.string(), st.st_uid));
  }
  std::array<char, 256> buf{};
  const ssize_t n = ::read(fd, buf.data(), buf.size());
  if (n < 0) return fail_errno(errno, fmt::format("read {}", path.string()));
  std::string_view text(buf.data(), static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const std::string prefix = fmt::format("{} ", quic::kRoomKeyFileTag);
  auto seed =
      text.starts_with(prefix)
          ? ctrl::base64url_decode_array<quic::kEd25519SeedBytes>(text.substr(prefix.size()))
          : tl::unexpected(ctrl::Base64UrlError::kBadLength);
  if (!text.starts_with(prefix) || !seed) {
    return fail(Errc::kCorruptFile,
                fmt::format("room key {} is not a \"{} <key>\" line; restore it from a backup "
                            "(a new key makes a new room owner: players need new invites)",
                            path.string(), quic::kRoomKeyFileTag));
  }
  return quic::RoomKey::from_seed(*seed);
}

}  // namespace

Status ensure_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(dir, ec))) {
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail_errno(errno, fmt::format("create state directory {}", dir.string()));
    }
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return fail_errno(errno, fmt::format("stat {}", dir.string()));
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("state directory {} is not a plain directory (a symbolic link or "
                            "a file); give --state-dir a real directory",
                            dir.string()));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return fail(Errc::kInvalidArgument,
                fmt::format("state directory {} can be written by others (mode {:o}); run: "
                            "chmod 700 {}",
                            dir.string(), st.st_mode & 07777, dir.string()));
  }
  return ok();
}

Result<quic::RoomKey> load_or_create_room_key(const std::filesystem::path& path, bool* created) {
  if (created != nullptr) *created = false;
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (std::filesystem::exists(status)) return read_key(path);

  auto key = quic::RoomKey::generate();
  if (!key) return tl::unexpected(key.error());
  const std::string line =
      fmt::format("{} {}\n", quic::kRoomKeyFileTag, ctrl::base64url_encode(key->seed()));
  const auto temp = std::filesystem::path(path).concat(fmt::format(".new-{}", ::getpid()));
  const int fd =
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return fail_errno(errno, fmt::format("create room key {}", temp.string()));
  Defer remove_temp([&] { ::unlink(temp.c_str()); });
  {
    Defer close_fd([fd] { ::close(fd); });
    if (auto st = write_all(fd, line, fmt::format("write {}", temp.string())); !st) {
      return tl::unexpected(st.error());
    }
    if (::fsync(fd) != 0) return fail_errno(errno, fmt::format("fsync {}", temp.string()));
  }
  // link() refuses an existing name: a gateway that lost the race reads the winner's key.
  if (::link(temp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return read_key(path);
    return fail_errno(errno, fmt::format("create room key {}", path.string()));
  }
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  if (created != nullptr) *created = true;
  return key;
}

}  // namespace lanparty::gateway
